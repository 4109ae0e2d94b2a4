/* SPDX-License-Identifier: MIT */
/* s3fx.h: a real s3rver (tests/s3/s3rver.sh) on 127.0.0.1 for the disk tests, with one bucket
 * made at start, plus the two unhelpful peers the failure paths need: a listener that accepts
 * and never answers, and a port nothing listens on. Header-only; run from the repository root.
 * s3rver knows the access key S3RVER (secret S3RVER) and refuses others with 403. */
#pragma once

#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct s3fx {
    pid_t pid;
    unsigned port;
    char dir[64];
    char bucket[64];
    char endpoint[64];           /* http://127.0.0.1:<port> */
};

/* A port free right now on 127.0.0.1 (bound then closed). */
static inline unsigned s3fx_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    close(fd);
    return ntohs(a.sin_port);
}

/* A listener on 127.0.0.1 that never accepts: the kernel finishes handshakes into its backlog
 * and nothing ever answers. Returns the fd (close it at the end), *port its port. */
static inline int s3fx_blackhole(unsigned *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 64) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

static inline bool s3fx_connects(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* A tiny HTTP server (a child process) that answers every request with a 301 to the metadata
 * address, as AWS does for a wrong region: redirects must not be followed. Returns its pid. */
static inline pid_t s3fx_redirector(unsigned *port)
{
    int fd = s3fx_blackhole(port);
    if (fd < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        for (;;) {
            int c = accept(fd, NULL, NULL);
            if (c < 0)
                continue;
            char buf[4096];
            (void)!read(c, buf, sizeof(buf));
            static const char resp[] = "HTTP/1.1 301 Moved Permanently\r\nLocation: "
                                       "http://169.254.169.254/\r\nContent-Length: 0\r\n\r\n";
            (void)!write(c, resp, sizeof(resp) - 1);
            close(c);
        }
    }
    close(fd);
    return pid;
}

/* Starts s3rver with bucket; skips the test when node or s3rver is not installed. */
static inline bool s3fx_start(struct s3fx *f, const char *bucket)
{
    memset(f, 0, sizeof(*f));
    if (access("tests/s3/s3rver.sh", X_OK) != 0)
        harness_skip("no tests/s3/s3rver.sh here (run from the repository root)");
    if (system("tests/s3/s3rver.sh path >/dev/null 2>&1") != 0)
        harness_skip("s3rver is not installed (node/npm missing?)");
    snprintf(f->dir, sizeof(f->dir), "/tmp/hearth-s3-XXXXXX");
    if (!mkdtemp(f->dir))
        harness_skip("mkdtemp: %s", strerror(errno));
    snprintf(f->bucket, sizeof(f->bucket), "%s", bucket);
    f->port = s3fx_free_port();
    snprintf(f->endpoint, sizeof(f->endpoint), "http://127.0.0.1:%u", f->port);
    char port[16];
    snprintf(port, sizeof(port), "%u", f->port);
    f->pid = fork();
    if (f->pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a test that ends early leaves no server behind */
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
        }
        execl("tests/s3/s3rver.sh", "s3rver.sh", "run", "-d", f->dir, "-a", "127.0.0.1", "-p",
              port, "--silent", "--configure-bucket", bucket, (char *)NULL);
        _exit(127);
    }
    if (f->pid < 0)
        return false;
    for (int i = 0; i < 300; i++) { /* node starts in about a second; allow 30 under load */
        if (s3fx_connects(f->port))
            return true;
        int st;
        if (waitpid(f->pid, &st, WNOHANG) == f->pid) {
            f->pid = 0;
            harness_fail(__FILE__, __LINE__, "s3rver exited at start");
            return false;
        }
        struct timespec ts = { 0, 100 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    harness_fail(__FILE__, __LINE__, "s3rver did not listen on %u", f->port);
    return false;
}

static inline void s3fx_stop(struct s3fx *f)
{
    if (f->pid > 0) {
        kill(-f->pid, SIGTERM);
        kill(f->pid, SIGTERM);
        int st;
        (void)waitpid(f->pid, &st, 0);
        f->pid = 0;
    }
    if (f->dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
        (void)system(cmd);
        f->dir[0] = '\0';
    }
}
