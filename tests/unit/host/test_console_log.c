/* SPDX-License-Identifier: MIT */
/* test_console_log.c: the console log cap (host/console_log.h) on real files: within the cap
 * nothing moves; past it the newest cap bytes go to .1 and the log restarts empty; a writer
 * holding the file O_APPEND (as QEMU does) continues at the new end; a missing file is fine;
 * a symlink, a hard link to another file, a directory or a FIFO in its place is refused and
 * left alone. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/host/console_log.h"
#include "harness.h"

static bool mkroot(char root[64])
{
    snprintf(root, 64, "/tmp/hearth-conlog-XXXXXX");
    return mkdtemp(root) != NULL;
}

static long long fsize(const char *path)
{
    struct stat st;
    return stat(path, &st) < 0 ? -1 : (long long)st.st_size;
}

static bool write_n(int fd, char c, size_t n)
{
    char buf[4096];
    memset(buf, c, sizeof(buf));
    while (n > 0) {
        size_t k = n < sizeof(buf) ? n : sizeof(buf);
        if (write(fd, buf, k) != (ssize_t)k)
            return false;
        n -= k;
    }
    return true;
}

static void cleanup(const char *root)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    (void)!system(cmd);
}

TEST(rotates_past_the_cap_and_the_appender_continues)
{
    char root[64], log[128], old[128];
    CHECK(mkroot(root));
    snprintf(log, sizeof(log), "%s/console.log", root);
    snprintf(old, sizeof(old), "%s/console.log.1", root);
    CHECK_EQ(console_log_cap(log, 1000), 0); /* missing: nothing to do */
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    CHECK(fd >= 0);
    CHECK(write_n(fd, 'a', 1000));
    CHECK_EQ(console_log_cap(log, 1000), 0); /* at the cap: kept */
    CHECK_EQ(fsize(log), 1000);
    CHECK_EQ(fsize(old), -1);
    CHECK(write_n(fd, 'b', 500));
    CHECK_EQ(console_log_cap(log, 1000), 1);
    CHECK_EQ(fsize(log), 0);
    CHECK_EQ(fsize(old), 1000);
    /* the newest bytes are kept: 500 'a' then 500 'b' */
    char buf[1000];
    int ofd = open(old, O_RDONLY | O_CLOEXEC);
    CHECK(ofd >= 0);
    CHECK_EQ(read(ofd, buf, sizeof(buf)), 1000);
    close(ofd);
    CHECK(buf[0] == 'a' && buf[499] == 'a' && buf[500] == 'b' && buf[999] == 'b');
    /* O_APPEND: the writer's next bytes start the file again, no hole */
    CHECK(write_n(fd, 'c', 10));
    CHECK_EQ(fsize(log), 10);
    struct stat st;
    CHECK_EQ(stat(log, &st), 0);
    CHECK(st.st_blocks * 512 < 65536);
    /* a second rotation replaces .1 */
    CHECK(write_n(fd, 'd', 3000));
    CHECK_EQ(console_log_cap(log, 1000), 1);
    CHECK_EQ(fsize(old), 1000);
    CHECK_EQ(fsize(log), 0);
    char tmp[160];
    snprintf(tmp, sizeof(tmp), "%s.1.tmp", log);
    CHECK_EQ(fsize(tmp), -1);
    close(fd);
    cleanup(root);
}

TEST(refuses_what_is_not_a_regular_file)
{
    char root[64], log[128], target[128];
    CHECK(mkroot(root));
    snprintf(log, sizeof(log), "%s/console.log", root);
    snprintf(target, sizeof(target), "%s/precious", root);
    int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    CHECK(fd >= 0);
    CHECK(write_n(fd, 'p', 5000));
    close(fd);
    /* a jailed QEMU could put a symlink where its log was: never followed */
    CHECK(symlink(target, log) == 0);
    CHECK_EQ(console_log_cap(log, 100), -ELOOP);
    CHECK_EQ(fsize(target), 5000);
    CHECK(unlink(log) == 0);
    CHECK(link(target, log) == 0); /* or a hard link to it */
    CHECK_EQ(console_log_cap(log, 100), -EMLINK);
    CHECK_EQ(fsize(target), 5000);
    CHECK(unlink(log) == 0);
    CHECK(mkdir(log, 0700) == 0);
    int r = console_log_cap(log, 100);
    CHECK(r == -EISDIR || r == -EINVAL);
    CHECK(rmdir(log) == 0);
    CHECK(mkfifo(log, 0600) == 0);
    CHECK_EQ(console_log_cap(log, 100), -EINVAL);
    cleanup(root);
}

TEST(a_huge_file_keeps_only_the_cap)
{
    char root[64], log[128], old[128];
    CHECK(mkroot(root));
    snprintf(log, sizeof(log), "%s/console.log", root);
    snprintf(old, sizeof(old), "%s/console.log.1", root);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    CHECK(fd >= 0);
    CHECK(write_n(fd, 'x', 8 << 20));
    CHECK_EQ(console_log_cap(log, 65536), 1);
    CHECK_EQ(fsize(old), 65536);
    CHECK_EQ(fsize(log), 0);
    close(fd);
    cleanup(root);
}
