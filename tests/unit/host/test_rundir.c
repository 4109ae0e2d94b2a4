/* SPDX-License-Identifier: MIT */
/* test_rundir.c: run-dir ids, pid file parsing (hostile content), /proc/PID/stat start time,
 * pid file round trip and validation against a live and a dead process. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/host/rundir.h"
#include "harness.h"

TEST(id_validation)
{
    static const struct { const char *id; bool ok; } cases[] = {
        { "sb-01HZX3K4M5N6P7Q8R9S0T1V2W3", true },
        { "sb-7ZZZZZZZZZZZZZZZZZZZZZZZZZ", true },
        { "sb-8ZZZZZZZZZZZZZZZZZZZZZZZZZ", false }, /* timestamp overflow */
        { "sb-01HZX3K4M5N6P7Q8R9S0T1V2W", false },  /* 25 chars */
        { "sb-01HZX3K4M5N6P7Q8R9S0T1V2W33", false }, /* 27 chars */
        { "sb-01hzx3k4m5n6p7q8r9s0t1v2w3", false }, /* lowercase */
        { "sb-01HZX3K4M5N6P7Q8R9S0T1V2WI", false }, /* I is not Crockford */
        { "sb-01HZX3K4M5N6P7Q8R9S0T1V2WL", false },
        { "sb-01HZX3K4M5N6P7Q8R9S0T1V2WO", false },
        { "sb-01HZX3K4M5N6P7Q8R9S0T1V2WU", false },
        { "sb-../../../../etc/passwd0000", false },
        { "sb-01HZX3K4M5N6P7Q8R9S0T1/2W3", false },
        { "../sb-01HZX3K4M5N6P7Q8R9S0T1V2W3", false },
        { "sb_01HZX3K4M5N6P7Q8R9S0T1V2W3", false },
        { "SB-01HZX3K4M5N6P7Q8R9S0T1V2W3", false },
        { "sb-", false },
        { "", false },
        { ".", false },
        { "..", false },
        { "sb-01HZX3K4M5N6P7Q8R9S0T1V2W ", false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (rundir_id_valid(cases[i].id) != cases[i].ok)
            harness_fail(__FILE__, __LINE__, "id '%s': want %d", cases[i].id, cases[i].ok);
    }
    CHECK(!rundir_id_valid(NULL));
    /* an embedded NUL cuts the id short: "sb-0" is not valid */
    char nul[] = "sb-0\0HZX3K4M5N6P7Q8R9S0T1V2W3";
    CHECK(!rundir_id_valid(nul));
}

TEST(pidfile_parse)
{
    static const struct { const char *in; int ret; pid_t pid; uint64_t st; } cases[] = {
        { "1234 5678\n", 0, 1234, 5678 },
        { "1234 5678", 0, 1234, 5678 },
        { "2 1", 0, 2, 1 },
        { "4194304 18446744073709551615\n", 0, 4194304, UINT64_MAX },
        { "4194305 1\n", -EBADMSG, 0, 0 },           /* over the kernel's pid ceiling */
        { "1 5\n", -EBADMSG, 0, 0 },                 /* init is never ours */
        { "0 5\n", -EBADMSG, 0, 0 },
        { "-1 5\n", -EBADMSG, 0, 0 },
        { "+12 5\n", -EBADMSG, 0, 0 },
        { "012 5\n", -EBADMSG, 0, 0 },
        { "12 05\n", -EBADMSG, 0, 0 },
        { "12 0\n", -EBADMSG, 0, 0 },
        { "12 18446744073709551616\n", -EBADMSG, 0, 0 }, /* overflow */
        { "99999999999999999999999 5\n", -EBADMSG, 0, 0 },
        { "12  5\n", -EBADMSG, 0, 0 },
        { "12\t5\n", -EBADMSG, 0, 0 },
        { " 12 5\n", -EBADMSG, 0, 0 },
        { "12 5\n\n", -EBADMSG, 0, 0 },
        { "12 5 7\n", -EBADMSG, 0, 0 },
        { "12 5x\n", -EBADMSG, 0, 0 },
        { "12\n", -EBADMSG, 0, 0 },
        { "12 ", -EBADMSG, 0, 0 },
        { "", -EBADMSG, 0, 0 },
        { "\n", -EBADMSG, 0, 0 },
        { "abc def\n", -EBADMSG, 0, 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        pid_t pid = 0;
        uint64_t st = 0;
        int r = rundir_pidfile_parse(cases[i].in, strlen(cases[i].in), &pid, &st);
        if (r != cases[i].ret || (r == 0 && (pid != cases[i].pid || st != cases[i].st)))
            harness_fail(__FILE__, __LINE__, "'%s': got %d (%d %" PRIu64 ")", cases[i].in, r,
                         (int)pid, st);
    }
    pid_t pid;
    uint64_t st;
    /* embedded NUL, and a body past the size cap */
    CHECK_EQ(rundir_pidfile_parse("12\0 5\n", 6, &pid, &st), -EBADMSG);
    CHECK_EQ(rundir_pidfile_parse("12 5\n\0", 6, &pid, &st), -EBADMSG);
    char big[200];
    memset(big, '1', sizeof(big));
    big[2] = ' ';
    CHECK_EQ(rundir_pidfile_parse(big, sizeof(big), &pid, &st), -EBADMSG);
    CHECK_EQ(rundir_pidfile_parse(NULL, 0, &pid, &st), -EBADMSG);
    /* every truncation of a good body: parses or fails cleanly, never reads past len */
    const char *good = "31337 424242\n";
    for (size_t n = 0; n <= strlen(good); n++) {
        char *copy = malloc(n ? n : 1);
        memcpy(copy, good, n);
        int r = rundir_pidfile_parse(copy, n, &pid, &st);
        free(copy);
        CHECK(r == 0 || r == -EBADMSG);
        if (n >= 7)
            CHECK_EQ(r, 0);
    }
    /* format round trip */
    char out[RUNDIR_PIDFILE_MAX];
    int n = rundir_pidfile_format(4242, 987654321, out, sizeof(out));
    CHECK(n > 0);
    CHECK_EQ(rundir_pidfile_parse(out, (size_t)n, &pid, &st), 0);
    CHECK_EQ(pid, 4242);
    CHECK_EQ(st, 987654321);
    CHECK_EQ(rundir_pidfile_format(4242, 987654321, out, 4), -ENOSPC);
}

TEST(stat_starttime)
{
    uint64_t st = 0;
    const char *line = "1234 (qemu-system-x86) S 1 1234 1234 0 -1 4194560 1000 0 0 0 10 5 0 0 "
                       "20 0 3 0 987654 1000000 100 18446744073709551615\n";
    CHECK_EQ(rundir_stat_starttime(line, strlen(line), &st), 0);
    CHECK_EQ(st, 987654);
    /* comm with spaces and a ')' of its own */
    const char *evil = "1234 (a) b) c 1 2 3) S 1 1234 1234 0 -1 4194560 1000 0 0 0 10 5 0 0 "
                       "20 0 3 0 555 1000000\n";
    CHECK_EQ(rundir_stat_starttime(evil, strlen(evil), &st), 0);
    CHECK_EQ(st, 555);
    const char *shortl = "1234 (x) S 1 2 3";
    CHECK_EQ(rundir_stat_starttime(shortl, strlen(shortl), &st), -EBADMSG);
    const char *noparen = "1234 x S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20";
    CHECK_EQ(rundir_stat_starttime(noparen, strlen(noparen), &st), -EBADMSG);
    const char *junk = "1234 (x) S 1 1234 1234 0 -1 4194560 1000 0 0 0 10 5 0 0 20 0 3 0 9x9 1";
    CHECK_EQ(rundir_stat_starttime(junk, strlen(junk), &st), -EBADMSG);
    CHECK_EQ(rundir_stat_starttime("", 0, &st), -EBADMSG);
    /* our own process */
    CHECK_EQ(rundir_proc_starttime(getpid(), &st), 0);
    CHECK(st > 0);
}

TEST(pidfile_write_open_and_reuse_guard)
{
    char dir[] = "/tmp/hearth-rundir.XXXXXX";
    CHECK(mkdtemp(dir));
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(0);
    }
    CHECK(child > 0);
    CHECK_EQ(rundir_pidfile_write(dir, child), 0);
    pid_t pid = 0;
    int pidfd = -1;
    CHECK_EQ(rundir_pidfile_open(dir, &pid, &pidfd), 0);
    CHECK_EQ(pid, child);
    CHECK(pidfd >= 0);
    close(pidfd);
    /* a start time that does not match (pid reuse) is refused */
    char path[PATH_MAX], body[64];
    snprintf(path, sizeof(path), "%s/%s", dir, RUNDIR_PIDFILE);
    int n = snprintf(body, sizeof(body), "%d 1\n", (int)child);
    int fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, body, (size_t)n), n);
    close(fd);
    CHECK_EQ(rundir_pidfile_open(dir, &pid, &pidfd), -ESRCH);
    /* garbage is -EBADMSG; a dead process is -ESRCH */
    fd = open(path, O_WRONLY | O_TRUNC);
    CHECK_EQ(write(fd, "garbage", 7), 7);
    close(fd);
    CHECK_EQ(rundir_pidfile_open(dir, &pid, &pidfd), -EBADMSG);
    CHECK_EQ(rundir_pidfile_write(dir, child), 0);
    kill(child, SIGKILL);
    CHECK_EQ(waitpid(child, NULL, 0), child);
    CHECK_EQ(rundir_pidfile_open(dir, &pid, &pidfd), -ESRCH);
    /* a symlink instead of a pid file is refused */
    unlink(path);
    CHECK_EQ(symlink("/proc/self/stat", path), 0);
    CHECK(rundir_pidfile_open(dir, &pid, &pidfd) < 0);
    unlink(path);
    CHECK_EQ(rundir_pidfile_open(dir, &pid, &pidfd), -ENOENT);
    rundir_remove(dir);
    struct stat st;
    CHECK(stat(dir, &st) < 0);
}

/* A process whose argv[0] is qemu-<...> and which names <dir>/ in an argument. */
static pid_t fake_qemu(const char *argv0, const char *arg)
{
    pid_t pid = fork();
    if (pid == 0) {
        (void)setpgid(0, 0); /* reap() kills the group: the shell and its sleep */
        /* "; :" keeps the shell from exec'ing sleep, so this command line stays */
        execl("/bin/sh", argv0, "-c", "sleep 30; :", arg, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void reap(pid_t pid)
{
    kill(-pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* A QEMU spawned by a hearthd killed before it wrote qemu.pid is found by its command line;
 * a process of another name, a run dir that is only a prefix, and no process at all are not. */
TEST(find_qemu_without_pidfile)
{
    char dir[64] = "/tmp/hearth-rundir-XXXXXX", arg[160], prefix[160];
    CHECK(mkdtemp(dir) != NULL);
    pid_t pid;
    int pidfd = -1;
    CHECK_EQ(rundir_find_qemu(dir, &pid, &pidfd), -ESRCH);
    snprintf(arg, sizeof(arg), "socket,id=agent,path=%s/agent.sock,server=on", dir);
    snprintf(prefix, sizeof(prefix), "path=%s0/agent.sock", dir); /* "<dir>0/": not ours */
    pid_t other = fake_qemu("python3", arg);
    pid_t near = fake_qemu("qemu-system-x86_64", prefix);
    usleep(300 * 1000); /* both exec'd */
    CHECK_EQ(rundir_find_qemu(dir, &pid, &pidfd), -ESRCH);
    pid_t q = fake_qemu("/usr/bin/qemu-system-x86_64", arg);
    int found = -ESRCH;
    for (int i = 0; i < 50 && found == -ESRCH; i++) {
        found = rundir_find_qemu(dir, &pid, &pidfd);
        if (found == -ESRCH)
            usleep(50 * 1000);
    }
    CHECK_EQ(found, 0);
    CHECK_EQ(pid, q);
    CHECK(pidfd >= 0);
    close(pidfd);
    reap(q);
    reap(other);
    reap(near);
    CHECK_EQ(rundir_find_qemu(dir, &pid, &pidfd), -ESRCH);
    rmdir(dir);
}
