/* SPDX-License-Identifier: MIT */
/* fakehttp.c: the scripted HTTP server of fakehttp.h. One request per connection, each answered
 * with "Connection: close"; the child exits after the script or after 20 s. */
#include "fakehttp.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* Reads one request (head, then Content-Length bytes) into buf. Returns its length or -1. */
static ssize_t read_request(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    char *end = NULL;
    while (!end) {
        if (len + 1 >= cap)
            return -1;
        ssize_t got = read(fd, buf + len, cap - 1 - len);
        if (got <= 0)
            return -1;
        len += (size_t)got;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    const char *cl = strcasestr(buf, "\r\nContent-Length:");
    size_t want = (size_t)(end + 4 - buf) + (cl ? strtoul(cl + 17, NULL, 10) : 0);
    while (len < want && len + 1 < cap) {
        ssize_t got = read(fd, buf + len, cap - 1 - len);
        if (got <= 0)
            return -1;
        len += (size_t)got;
    }
    buf[len] = '\0';
    return (ssize_t)len;
}

/* The server: one response per connection, in order, then exit. */
static void serve(int ls, int log_fd, const struct fake_reply *script, size_t n)
{
    alarm(20);
    static char req[FAKEHTTP_LOG_MAX];
    for (size_t i = 0; i < n; i++) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0)
            _exit(1);
        ssize_t len = read_request(fd, req, sizeof(req));
        if (len < 0)
            _exit(2);
        char *eol = strstr(req, "\r\n");
        char *body = strstr(req, "\r\n\r\n") + 4;
        dprintf(log_fd, "%.*s\n%s\n", (int)(eol - req), req, body);
        const struct fake_reply *c = &script[i];
        dprintf(fd,
                "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                "X-Request-Id: req_%zu\r\nConnection: close\r\n%s\r\n%s",
                c->status, strlen(c->body), i, c->headers ? c->headers : "", c->body);
        close(fd);
    }
    _exit(0);
}

bool fake_http_start(struct fake_http *f, const struct fake_reply *script, size_t n)
{
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof(a);
    int p[2];
    REQUIRE(ls >= 0);
    REQUIRE(bind(ls, (struct sockaddr *)&a, sizeof(a)) == 0);
    REQUIRE(listen(ls, 16) == 0);
    REQUIRE(getsockname(ls, (struct sockaddr *)&a, &alen) == 0);
    REQUIRE(pipe2(p, O_CLOEXEC) == 0);
    fflush(NULL); /* the child must not flush the parent's buffered output again */
    f->pid = fork();
    REQUIRE(f->pid >= 0);
    if (f->pid == 0) {
        close(p[0]);
        serve(ls, p[1], script, n);
    }
    close(ls);
    close(p[1]);
    f->log_fd = p[0];
    f->log[0] = '\0';
    snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u", ntohs(a.sin_port));
    return true;
}

void fake_http_stop(struct fake_http *f)
{
    kill(f->pid, SIGTERM);
    waitpid(f->pid, NULL, 0);
    size_t len = 0;
    ssize_t got;
    while (len + 1 < sizeof(f->log) &&
           (got = read(f->log_fd, f->log + len, sizeof(f->log) - 1 - len)) > 0)
        len += (size_t)got;
    f->log[len] = '\0';
    close(f->log_fd);
}

size_t fake_http_count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}
