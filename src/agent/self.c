/* SPDX-License-Identifier: MIT */
/* self.c: serves the in-guest self endpoint (self.h). Any guest process may connect or write,
 * and the agent is PID 1, so everything is bounded: at most SELF_CONN_MAX connections (the
 * listener is not polled while they are all busy), an 8 KiB request head read within 5 s, the
 * reply and then a short drain of what the client still sends, lines of the FIFO at most
 * SELF_LINE_MAX bytes. The reply is written before the SELF frame is queued, so a caller that
 * asked for a pause has its answer before the snapshot freezes it. While no host is connected
 * the newest request waits (one slot: a later one replaces it) and goes out once one is. */
#include "agent/self.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/self_req.h"

_Static_assert(SELF_POLL_MAX <= AGENT_SELF_POLL_MAX, "agent.h must poll every self fd");

#define HEAD_TIMEOUT_MS 5000u
#define DRAIN_TIMEOUT_MS 1000u
#define DRAIN_MAX (64u * 1024u)
#define ID_LISTEN 0xfffffff0u
#define ID_FIFO 0xfffffff1u

struct self_conn {
    int fd;                       /* -1: free slot */
    uint64_t deadline_ms;
    bool draining;                /* the reply is out; reading what is left until EOF */
    size_t len, drained;
    char head[SELF_HEAD_MAX];
    char out[512];
    size_t out_len, out_off;
    struct self_req req;          /* acted on once out is written */
};

struct agent_self {
    int listen_fd, fifo_fd, fifo_keep_fd;
    struct self_conn conn[SELF_CONN_MAX];
    char line[SELF_LINE_MAX];
    size_t line_len;
    bool line_skip;               /* inside an overlong line: ignored up to its newline */
    enum self_action pending;
    char pending_reason[SELF_REASON_SIZE];
};

static int open_listener(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* loopback only: a connection can come from this guest alone (docs/security.md) */
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

static void open_fifo(struct agent_self *s, const char *path)
{
    struct stat st;
    if (lstat(path, &st) == 0 && !S_ISFIFO(st.st_mode))
        (void)unlink(path);
    if (mkfifo(path, 0622) < 0 && errno != EEXIST) {
        agent_log("cannot make %s: %s", path, strerror(errno));
        return;
    }
    (void)chmod(path, 0622); /* writable by every guest user, whatever the umask */
    s->fifo_fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    /* our own writer keeps the FIFO from reading EOF (and POLLHUP) between writers */
    s->fifo_keep_fd = s->fifo_fd >= 0 ? open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC) : -1;
    if (s->fifo_fd < 0 || s->fifo_keep_fd < 0)
        agent_log("cannot open %s: %s", path, strerror(errno));
}

void self_init(struct agent *ag)
{
    struct agent_self *s = calloc(1, sizeof(*s));
    if (!s) {
        agent_log("self endpoint: out of memory");
        return;
    }
    s->listen_fd = s->fifo_fd = s->fifo_keep_fd = -1;
    for (size_t i = 0; i < SELF_CONN_MAX; i++)
        s->conn[i].fd = -1;
    ag->self = s;
    const char *env_port = getenv("HEARTH_AGENT_SELF_PORT");
    const char *env_fifo = getenv("HEARTH_AGENT_SELF_FIFO");
    unsigned port = ag->pid1 ? SELF_PORT : 0;
    if (env_port) {
        char *end;
        unsigned long v = strtoul(env_port, &end, 10);
        port = *env_port && !*end && v <= 65535 ? (unsigned)v : 0;
    }
    const char *fifo = env_fifo ? env_fifo : ag->pid1 ? SELF_FIFO : "";
    if (port) {
        s->listen_fd = open_listener(port);
        if (s->listen_fd < 0)
            agent_log("cannot listen on 127.0.0.1:%u: %s", port, strerror(-s->listen_fd));
    }
    if (*fifo)
        open_fifo(s, fifo);
}

static void conn_close(struct self_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

/* Queues (or keeps pending) the request: the newest one wins. */
static void request(struct agent *ag, enum self_action a, const char *reason)
{
    struct agent_self *s = ag->self;
    s->pending = a;
    snprintf(s->pending_reason, sizeof(s->pending_reason), "%s", reason);
    agent_log("self request: %s%s%s", self_action_name(a), *reason ? ", reason: " : "", reason);
}

static void send_pending(struct agent *ag)
{
    struct agent_self *s = ag->self;
    if (s->pending == SELF_ACTION_NONE || !ag->ch.connected || !agent_out_room(ag))
        return;
    json_t *j = json_pack("{s:s, s:s}", "action", self_action_name(s->pending), "reason",
                          s->pending_reason);
    if (agent_send_json(ag, WIRE_SELF, 0, j) == 0)
        s->pending = SELF_ACTION_NONE;
}

static void make_reply(struct self_conn *c)
{
    const struct self_req *q = &c->req;
    char body[160];
    if (q->status == 202)
        snprintf(body, sizeof(body),
                 "{\"status\":\"success\",\"data\":{\"accepted\":true,\"action\":\"%s\"}}",
                 self_action_name(q->action));
    else
        snprintf(body, sizeof(body), "{\"status\":\"fail\",\"data\":\"%s\"}",
                 q->status == 404 ? "route not found"
                 : q->status == 405 ? "method not allowed"
                 : q->status == 408 ? "request timeout"
                 : q->status == 431 ? "request head too large"
                                    : "bad request");
    int n = snprintf(c->out, sizeof(c->out),
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n%sContent-Length: "
                     "%zu\r\nConnection: close\r\n\r\n%s",
                     q->status, self_status_text(q->status),
                     q->status == 405 ? "Allow: POST\r\n" : "", strlen(body), body);
    c->out_len = n > 0 && (size_t)n < sizeof(c->out) ? (size_t)n : 0;
    c->out_off = 0;
}

/* Writes what is left of the reply; once it is all out, acts and starts draining. */
static void conn_write(struct agent *ag, struct self_conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            conn_close(c);
            return;
        }
        c->out_off += (size_t)n;
    }
    if (c->req.status == 202) {
        request(ag, c->req.action, c->req.reason);
        c->req.status = 0; /* acted on */
        send_pending(ag);
    }
    (void)shutdown(c->fd, SHUT_WR);
    c->draining = true;
    c->deadline_ms = agent_now_ms() + DRAIN_TIMEOUT_MS;
}

static void conn_read(struct agent *ag, struct self_conn *c)
{
    if (c->draining) {
        char sink[4096];
        ssize_t n = read(c->fd, sink, sizeof(sink));
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            return;
        if (n <= 0 || (c->drained += (size_t)n) > DRAIN_MAX)
            conn_close(c);
        return;
    }
    ssize_t n = read(c->fd, c->head + c->len, sizeof(c->head) - c->len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        conn_close(c);
        return;
    }
    c->len += (size_t)n;
    if (self_req_parse(c->head, c->len, &c->req) == 0)
        return;
    make_reply(c);
    conn_write(ag, c);
}

static void on_accept(struct agent_self *s)
{
    for (size_t i = 0; i < SELF_CONN_MAX; i++) {
        struct self_conn *c = &s->conn[i];
        if (c->fd >= 0)
            continue;
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        memset(c, 0, offsetof(struct self_conn, head));
        c->fd = fd;
        c->deadline_ms = agent_now_ms() + HEAD_TIMEOUT_MS;
        return;
    }
}

static void on_fifo(struct agent *ag)
{
    struct agent_self *s = ag->self;
    char b[512];
    ssize_t n = read(s->fifo_fd, b, sizeof(b));
    for (ssize_t i = 0; i < n; i++) {
        if (b[i] != '\n') {
            if (s->line_len < sizeof(s->line))
                s->line[s->line_len++] = b[i];
            else
                s->line_skip = true;
            continue;
        }
        enum self_action a = s->line_skip ? SELF_ACTION_NONE
                                          : self_fifo_line(s->line, s->line_len);
        s->line_len = 0;
        s->line_skip = false;
        if (a != SELF_ACTION_NONE) {
            request(ag, a, "");
            send_pending(ag);
        }
    }
}

void self_poll_add(struct agent *ag, struct agent_pollset *ps, int *timeout_ms)
{
    struct agent_self *s = ag->self;
    if (!s)
        return;
    send_pending(ag);
    uint64_t now = agent_now_ms();
    bool room = false;
    for (uint32_t i = 0; i < SELF_CONN_MAX; i++) {
        struct self_conn *c = &s->conn[i];
        if (c->fd >= 0 && now >= c->deadline_ms) {
            if (c->draining || c->out_len) {
                conn_close(c);
            } else { /* head not complete in time */
                c->req = (struct self_req){ .status = 408 };
                make_reply(c);
                conn_write(ag, c);
            }
        }
        if (c->fd < 0) {
            room = true;
            continue;
        }
        uint64_t left = c->deadline_ms > now ? c->deadline_ms - now : 0;
        if (*timeout_ms < 0 || left < (uint64_t)*timeout_ms)
            *timeout_ms = (int)left;
        bool wr = c->out_off < c->out_len;
        agent_poll_add(ps, c->fd, wr ? POLLOUT : POLLIN, i, ROLE_SELF);
    }
    if (s->listen_fd >= 0 && room)
        agent_poll_add(ps, s->listen_fd, POLLIN, ID_LISTEN, ROLE_SELF);
    if (s->fifo_fd >= 0)
        agent_poll_add(ps, s->fifo_fd, POLLIN, ID_FIFO, ROLE_SELF);
}

void self_on_poll(struct agent *ag, uint32_t id, short revents)
{
    struct agent_self *s = ag->self;
    if (!s)
        return;
    if (id == ID_LISTEN) {
        on_accept(s);
        return;
    }
    if (id == ID_FIFO) {
        on_fifo(ag);
        return;
    }
    if (id >= SELF_CONN_MAX || s->conn[id].fd < 0)
        return;
    struct self_conn *c = &s->conn[id];
    if (c->out_off < c->out_len && (revents & (POLLOUT | POLLERR | POLLHUP)))
        conn_write(ag, c);
    else if (revents & (POLLIN | POLLERR | POLLHUP))
        conn_read(ag, c);
}

void self_free(struct agent *ag)
{
    struct agent_self *s = ag->self;
    if (!s)
        return;
    for (size_t i = 0; i < SELF_CONN_MAX; i++)
        conn_close(&s->conn[i]);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    if (s->fifo_fd >= 0)
        close(s->fifo_fd);
    if (s->fifo_keep_fd >= 0)
        close(s->fifo_keep_fd);
    free(s);
    ag->self = NULL;
}
