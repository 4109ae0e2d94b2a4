/* SPDX-License-Identifier: MIT */
/* test_oci_cmd.c: the tool runner of the OCI import (tpl/oci_cmd.c): output line by line to the
 * log, stdout collected under its cap, the last line as the error, missing tools, and the
 * deadline killing the whole process group (a tool's own children included), even when the
 * tool closed its output and lingers. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/mono.h"
#include "daemon/tpl/oci_cmd.h"
#include "harness.h"

struct lines {
    char buf[8192];
    int n;
};

static void on_line(void *ud, const char *line)
{
    struct lines *l = ud;
    size_t len = strlen(l->buf);
    snprintf(l->buf + len, sizeof(l->buf) - len, "[%s]", line);
    l->n++;
}

TEST(output_lines_go_to_the_log)
{
    char *argv[] = { "sh", "-c", "printf 'one\\ntwo\\r\\n\\n  \\nthree'; echo err >&2", NULL };
    struct lines l = { 0 };
    struct oci_cmd c = { .argv = argv, .timeout_s = 10, .log = on_line, .ud = &l };
    char err[256] = "";
    CHECK_EQ(oci_cmd_run(&c, err, sizeof(err)), 0);
    /* CR and blank lines dropped; stdout and stderr both logged */
    CHECK(strstr(l.buf, "[one]") && strstr(l.buf, "[two]") && strstr(l.buf, "[three]") &&
          strstr(l.buf, "[err]"));
    CHECK_EQ(l.n, 4);
}

TEST(failure_names_the_tool_and_its_last_line)
{
    char *argv[] = { "sh", "-c", "echo first >&2; echo 'reason: \\033[31mno' >&2; exit 3", NULL };
    struct oci_cmd c = { .argv = argv, .timeout_s = 10 };
    char err[256];
    CHECK_EQ(oci_cmd_run(&c, err, sizeof(err)), -EIO);
    CHECK(strstr(err, "sh: exited with status 3: reason:"));
    CHECK(!strchr(err, '\033')); /* control bytes of a hostile tool do not reach the log */
    char *nx[] = { "/no/such/tool", NULL };
    c.argv = nx;
    CHECK(oci_cmd_run(&c, err, sizeof(err)) == -ENOENT);
    CHECK(strstr(err, "/no/such/tool"));
}

TEST(stdout_is_collected_under_its_cap)
{
    char out[16];
    char *argv[] = { "printf", "hello", NULL };
    struct oci_cmd c = { .argv = argv, .timeout_s = 10, .out = out, .out_cap = sizeof(out) };
    char err[256];
    CHECK_EQ(oci_cmd_run(&c, err, sizeof(err)), 0);
    CHECK_STR(out, "hello");
    /* more than the cap: drained (the tool is not stuck) and refused */
    char *big[] = { "head", "-c", "1000000", "/dev/zero", NULL };
    c.argv = big;
    CHECK_EQ(oci_cmd_run(&c, err, sizeof(err)), -E2BIG);
}

/* Gone, or a zombie its new parent (init or a subreaper) has not collected yet. */
static bool running(int pid)
{
    char path[64], st[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(st, 1, sizeof(st) - 1, f);
    fclose(f);
    st[n] = '\0';
    const char *paren = strrchr(st, ')');
    return paren && paren[1] == ' ' && paren[2] != 'Z';
}

TEST_SLOW(deadline_kills_the_group, 30)
{
    /* the tool leaves a grandchild that would outlive it */
    char pidfile[] = "/tmp/hearth-oci-cmd.XXXXXX";
    int fd = mkstemp(pidfile);
    CHECK(fd >= 0);
    close(fd);
    char script[256];
    snprintf(script, sizeof(script), "sleep 100 & echo $! > %s; sleep 100", pidfile);
    char *argv[] = { "sh", "-c", script, NULL };
    struct oci_cmd c = { .argv = argv, .timeout_s = 1 };
    char err[256];
    int64_t t0 = mono_now_us();
    CHECK_EQ(oci_cmd_run(&c, err, sizeof(err)), -ETIMEDOUT);
    CHECK(mono_now_us() - t0 < 10 * 1000000);
    CHECK(strstr(err, "no result in 1 s"));
    FILE *f = fopen(pidfile, "r");
    CHECK(f);
    int gc = 0;
    CHECK_EQ(fscanf(f, "%d", &gc), 1);
    fclose(f);
    unlink(pidfile);
    usleep(100000);
    CHECK(!running(gc)); /* the grandchild went with the group */

    /* output closed, process lingering: still bounded */
    char *quiet[] = { "sh", "-c", "exec >/dev/null 2>&1; sleep 100", NULL };
    c.argv = quiet;
    t0 = mono_now_us();
    CHECK_EQ(oci_cmd_run(&c, err, sizeof(err)), -ETIMEDOUT);
    CHECK(mono_now_us() - t0 < 10 * 1000000);
}

static int stop_now(void *ud)
{
    int *calls = ud;
    return ++*calls >= 2 ? -EFBIG : 0;
}

TEST(watch_stops_the_tool)
{
    int calls = 0;
    char *argv[] = { "sleep", "100", NULL };
    struct oci_cmd c = { .argv = argv, .timeout_s = 30, .watch = stop_now, .wud = &calls };
    char err[256];
    int64_t t0 = mono_now_us();
    CHECK_EQ(oci_cmd_run(&c, err, sizeof(err)), -EFBIG);
    CHECK(mono_now_us() - t0 < 10 * 1000000);
}
