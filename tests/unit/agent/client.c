/* SPDX-License-Identifier: MIT */
/* client.c: the test host for hearth-agent (see client.h). Blocking and simple on purpose. */
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/loop.h"

int client_start(struct client *c, const char *spec)
{
    int sv[2] = { -1, -1 };
    *c = (struct client){ .fd = -1 };
    wire_reader_init(&c->rd);
    if (!spec && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        char arg[32];
        if (!spec) {
            close(sv[0]);
            snprintf(arg, sizeof(arg), "fd:%d", sv[1]);
            spec = arg;
        }
        exit(agent_run(spec, false));
    }
    c->agent = pid;
    if (!spec) {
        close(sv[1]);
        c->fd = sv[0];
    }
    return 0;
}

int client_connect(struct client *c, const char *path)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    wire_reader_reset(&c->rd);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    for (int i = 0; i < 200; i++) {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -errno;
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
            c->fd = fd;
            return 0;
        }
        close(fd);
        usleep(10000); /* the agent is still starting to listen */
    }
    return -ETIMEDOUT;
}

int client_stop(struct client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    int status = -1;
    if (c->agent > 0) {
        kill(c->agent, SIGTERM);
        waitpid(c->agent, &status, 0);
    }
    wire_reader_release(&c->rd);
    return status;
}

int client_send_raw(struct client *c, const void *p, size_t len)
{
    const uint8_t *b = p;
    while (len) {
        ssize_t n = write(c->fd, b, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -errno;
        b += n;
        len -= (size_t)n;
    }
    return 0;
}

int client_send(struct client *c, uint16_t type, uint16_t flags, uint32_t stream, const void *p,
                size_t len)
{
    uint8_t hdr[WIRE_HEADER_SIZE];
    wire_header_put(hdr, type, flags, stream, (uint32_t)len);
    int r = client_send_raw(c, hdr, sizeof(hdr));
    return r < 0 || !len ? r : client_send_raw(c, p, len);
}

int client_send_str(struct client *c, uint16_t type, uint32_t stream, const char *s)
{
    return client_send(c, type, 0, stream, s, strlen(s));
}

int client_recv(struct client *c, struct wire_frame *f, int timeout_ms)
{
    for (;;) {
        if (wire_reader_next(&c->rd, f) == 1)
            return 1;
        struct pollfd p = { .fd = c->fd, .events = POLLIN };
        int n = poll(&p, 1, timeout_ms);
        if (n == 0)
            return 0;
        if (n < 0)
            return -1;
        uint8_t *space = wire_reader_space(&c->rd, 65536);
        ssize_t got = read(c->fd, space, 65536);
        if (got <= 0)
            return -1;
        wire_reader_commit(&c->rd, (size_t)got);
    }
}

int client_expect(struct client *c, uint16_t type, uint32_t stream, struct wire_frame *f,
                  int timeout_ms)
{
    for (;;) {
        int r = client_recv(c, f, timeout_ms);
        if (r <= 0)
            return r;
        if (f->type == type && f->stream == stream)
            return 1;
    }
}

bool client_ping(struct client *c)
{
    static unsigned seq;
    char payload[32];
    int len = snprintf(payload, sizeof(payload), "ping-%u", ++seq);
    if (client_send(c, WIRE_PING, 0, 0, payload, (size_t)len) < 0)
        return false;
    struct wire_frame f;
    for (;;) {
        if (client_expect(c, WIRE_PONG, 0, &f, 5000) != 1)
            return false;
        if (f.len == (uint32_t)len && memcmp(f.payload, payload, f.len) == 0)
            return true;
    }
}

void client_error_name(const struct wire_frame *f, char *out, size_t size)
{
    json_t *o = json_loadb((const char *)f->payload, f->len, 0, NULL);
    snprintf(out, size, "%s", o ? json_string_value(json_object_get(o, "error")) ?: "?" : "?");
    json_decref(o);
}

void exec_result_release(struct exec_result *r)
{
    buf_release(&r->out);
    buf_release(&r->err);
}

int client_exec(struct client *c, uint32_t stream, const char *json, const void *in,
                size_t in_len, struct exec_result *r)
{
    *r = (struct exec_result){ .exit_code = -1 };
    buf_init(&r->out, 64u * 1024 * 1024);
    buf_init(&r->err, 64u * 1024 * 1024);
    if (client_send_str(c, WIRE_EXEC, stream, json) < 0)
        return -1;
    if (in && client_send(c, WIRE_STDIN, WIRE_F_EOF, stream, in, in_len) < 0)
        return -1;
    uint64_t outstanding = 0;
    for (;;) {
        struct wire_frame f;
        if (client_recv(c, &f, 20000) != 1)
            return -1;
        if (f.stream != stream)
            continue;
        if (f.type == WIRE_STDOUT || f.type == WIRE_STDERR) {
            outstanding += f.len;
            if (outstanding > r->max_outstanding)
                r->max_outstanding = outstanding;
            if (buf_append(f.type == WIRE_STDOUT ? &r->out : &r->err, f.payload, f.len) < 0)
                return -1;
            struct buf b;
            buf_init(&b, WIRE_HEADER_SIZE + 4);
            if (wire_append_window(&b, stream, f.len) == 0)
                (void)client_send_raw(c, b.data, b.len);
            buf_release(&b);
            outstanding -= f.len;
        } else if (f.type == WIRE_EXIT) {
            json_t *o = json_loadb((const char *)f.payload, f.len, 0, NULL);
            if (!o)
                return -1;
            if (json_object_get(o, "exit_code"))
                r->exit_code = (int)json_integer_value(json_object_get(o, "exit_code"));
            r->signal = (int)json_integer_value(json_object_get(o, "signal"));
            r->timed_out = json_is_true(json_object_get(o, "timed_out"));
            json_decref(o);
            return 0;
        } else if (f.type == WIRE_ERROR) {
            client_error_name(&f, r->error, sizeof(r->error));
            return 0;
        }
    }
}

bool client_buf_has(const struct buf *out, const char *needle)
{
    return out->len && memmem(out->data, out->len, needle, strlen(needle)) != NULL;
}

enum collect_end client_collect(struct client *c, uint32_t stream, struct buf *out,
                                const char *until, int timeout_ms, json_t **ret_end)
{
    if (ret_end)
        *ret_end = NULL;
    if (until && client_buf_has(out, until))
        return COLLECT_FOUND;
    for (;;) {
        struct wire_frame f;
        if (client_recv(c, &f, timeout_ms) != 1)
            return COLLECT_TIMEOUT;
        if (f.stream != stream)
            continue;
        if (f.type == WIRE_STDOUT || f.type == WIRE_STDERR) {
            if (buf_append(out, f.payload, f.len) < 0)
                return COLLECT_TIMEOUT;
            struct buf b;
            buf_init(&b, WIRE_HEADER_SIZE + 4);
            if (f.len && wire_append_window(&b, stream, f.len) == 0)
                (void)client_send_raw(c, b.data, b.len);
            buf_release(&b);
            if (until && client_buf_has(out, until))
                return COLLECT_FOUND;
        } else if (f.type == WIRE_EXIT || f.type == WIRE_ERROR) {
            if (ret_end)
                *ret_end = json_loadb((const char *)f.payload, f.len, 0, NULL);
            return f.type == WIRE_EXIT ? COLLECT_EXIT : COLLECT_ERROR;
        }
    }
}
