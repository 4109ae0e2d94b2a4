/* SPDX-License-Identifier: MIT */
/* oci_cmd.c: one child process of the OCI import under a deadline (oci_cmd.h). posix_spawn,
 * not fork: the import runs on a thread of hearthd, where only an exec right after the fork is
 * safe. Output is read with poll() until both pipes close, so a tool that forks a daemon
 * holding our pipes still ends at the deadline. */
#include "daemon/tpl/oci_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/mono.h"

extern char **environ;

#define LINE_MAX_BYTES 1024             /* longer output lines are cut */

struct linebuf {
    char buf[LINE_MAX_BYTES];
    size_t n;
    char last[256];                     /* the last non-empty line: the error's detail */
};

static void line_emit(const struct oci_cmd *c, struct linebuf *lb)
{
    lb->buf[lb->n] = '\0';
    lb->n = 0;
    /* drop trailing CR/space and control bytes a terminal would act on */
    for (char *p = lb->buf; *p; p++)
        if ((unsigned char)*p < 0x20 && *p != '\t')
            *p = ' ';
    size_t len = strlen(lb->buf);
    while (len > 0 && lb->buf[len - 1] == ' ')
        lb->buf[--len] = '\0';
    if (len == 0)
        return;
    snprintf(lb->last, sizeof(lb->last), "%.255s", lb->buf);
    if (c->log)
        c->log(c->ud, lb->buf);
}

static void line_feed(const struct oci_cmd *c, struct linebuf *lb, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n') {
            line_emit(c, lb);
            continue;
        }
        if (lb->n < sizeof(lb->buf) - 1)
            lb->buf[lb->n++] = p[i];
    }
}

static int spawn(const struct oci_cmd *c, int out_fd, int err_fd, pid_t *ret)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    int r = posix_spawn_file_actions_init(&fa);
    if (r)
        return -r;
    r = posix_spawnattr_init(&at);
    if (r) {
        posix_spawn_file_actions_destroy(&fa);
        return -r;
    }
    sigset_t none, def;
    sigemptyset(&none);
    sigemptyset(&def);
    sigaddset(&def, SIGPIPE);
    sigaddset(&def, SIGTERM);
    sigaddset(&def, SIGINT);
    sigaddset(&def, SIGCHLD);
    /* a group of its own: the deadline kills the tool and whatever it started */
    if (!r)
        r = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                              POSIX_SPAWN_SETSIGDEF);
    if (!r)
        r = posix_spawnattr_setpgroup(&at, 0);
    if (!r)
        r = posix_spawnattr_setsigmask(&at, &none);
    if (!r)
        r = posix_spawnattr_setsigdefault(&at, &def);
    if (!r)
        r = posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (!r)
        r = posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    if (!r)
        r = posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
    if (!r)
        r = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    if (!r)
        r = posix_spawnp(ret, c->argv[0], &fa, &at, c->argv, environ);
    posix_spawnattr_destroy(&at);
    posix_spawn_file_actions_destroy(&fa);
    return -r;
}

int oci_cmd_run(const struct oci_cmd *c, char *err, size_t errlen)
{
    const char *tool = c->argv[0];
    int po[2] = { -1, -1 }, pe[2] = { -1, -1 };
    if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
        int e = errno;
        if (po[0] >= 0) {
            close(po[0]);
            close(po[1]);
        }
        snprintf(err, errlen, "%s: pipe: %s", tool, strerror(e));
        return -e;
    }
    pid_t pid;
    int r = spawn(c, po[1], pe[1], &pid);
    close(po[1]);
    close(pe[1]);
    if (r < 0) {
        close(po[0]);
        close(pe[0]);
        snprintf(err, errlen, "%s: cannot run: %s", tool, strerror(-r));
        return r;
    }
    struct linebuf lo = { 0 }, le = { 0 };
    size_t out_n = 0;
    bool too_big = false, timed_out = false;
    int watch_r = 0;
    int64_t deadline = (int64_t)mono_now_us() + (int64_t)c->timeout_s * 1000000;
    struct pollfd pf[2] = { { .fd = po[0], .events = POLLIN }, { .fd = pe[0], .events = POLLIN } };
    while (pf[0].fd >= 0 || pf[1].fd >= 0) {
        int64_t left = deadline - (int64_t)mono_now_us();
        if (left <= 0) {
            timed_out = true;
            break;
        }
        int ms = left > 500000 ? 500 : (int)(left / 1000) + 1;
        int n = poll(pf, 2, ms);
        if (n < 0 && errno != EINTR)
            break;
        if (c->watch && (watch_r = c->watch(c->wud)) < 0)
            break;
        for (int i = 0; i < 2 && n > 0; i++) {
            if (pf[i].fd < 0 || !pf[i].revents)
                continue;
            char buf[4096];
            ssize_t got = read(pf[i].fd, buf, sizeof(buf));
            if (got < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (got <= 0) {
                close(pf[i].fd);
                pf[i].fd = -1;
                continue;
            }
            if (i == 0 && c->out) {
                if (out_n + (size_t)got >= c->out_cap) {
                    too_big = true;
                    continue; /* keep draining so the tool is not stuck on a full pipe */
                }
                memcpy(c->out + out_n, buf, (size_t)got);
                out_n += (size_t)got;
            } else {
                line_feed(c, i == 0 ? &lo : &le, buf, (size_t)got);
            }
        }
    }
    bool killed = pf[0].fd >= 0 || pf[1].fd >= 0;
    if (killed)
        (void)kill(-pid, SIGKILL); /* the deadline, a watch or a poll failure: the group goes */
    for (int i = 0; i < 2; i++)
        if (pf[i].fd >= 0)
            close(pf[i].fd);
    /* the pipes closed; a tool that closed them and lingers still meets the deadline */
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, killed ? 0 : WNOHANG);
        if (w == pid || (w < 0 && errno != EINTR))
            break;
        if (w == 0 && mono_now_us() >= deadline) {
            timed_out = killed = true;
            (void)kill(-pid, SIGKILL);
            continue;
        }
        if (w == 0)
            (void)poll(NULL, 0, 20);
    }
    if (lo.n)
        line_emit(c, &lo);
    if (le.n)
        line_emit(c, &le);
    if (c->out)
        c->out[out_n] = '\0';
    const char *detail = le.last[0] ? le.last : lo.last;
    if (timed_out) {
        snprintf(err, errlen, "%s: no result in %u s", tool, c->timeout_s);
        return -ETIMEDOUT;
    }
    if (watch_r < 0)
        return watch_r;
    if (killed) {
        snprintf(err, errlen, "%s: cannot read its output", tool);
        return -EIO;
    }
    if (too_big) {
        snprintf(err, errlen, "%s: output over %zu bytes", tool, c->out_cap - 1);
        return -E2BIG;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && !detail[0]) {
        snprintf(err, errlen, "%s: not found", tool);
        return -ENOENT;
    }
    if (WIFEXITED(status))
        snprintf(err, errlen, "%s: exited with status %d%s%s", tool, WEXITSTATUS(status),
                 detail[0] ? ": " : "", detail);
    else
        snprintf(err, errlen, "%s: killed by signal %d%s%s", tool, WTERMSIG(status),
                 detail[0] ? ": " : "", detail);
    return -EIO;
}
