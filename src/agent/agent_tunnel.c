/* SPDX-License-Identifier: MIT */
/* agent_tunnel.c: tunnels (agent_tunnel.h). A non-blocking connect to 127.0.0.1:port with a
 * 5 s limit, then a byte pipe: socket bytes go out as DATA only while the stream has credit and
 * the output queue has room, host bytes wait in a buffer no larger than the window we granted.
 * The stream ends with DONE once both directions reached EOF, or ERROR when the socket fails. */
#include "agent/agent_tunnel.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/agent.h"

#define TUNNEL_CONNECT_MS 5000u

void tunnel_abort(struct agent *ag, struct stream *s)
{
    (void)ag;
    if (s->tcp.fd >= 0)
        close(s->tcp.fd);
    s->tcp.fd = -1;
    buf_release(&s->tcp.in_buf);
    stream_remove(&ag->streams, s);
}

static void tunnel_fail(struct agent *ag, struct stream *s, int err, const char *msg)
{
    agent_send_error(ag, s->id, err, "%s", msg);
    tunnel_abort(ag, s);
}

/* Both directions ended: DONE {} and the stream is gone. */
static void maybe_finish(struct agent *ag, struct stream *s)
{
    if (!s->tcp.rd_done || !s->tcp.wr_done)
        return;
    (void)agent_send_json(ag, WIRE_DONE, s->id, json_object());
    tunnel_abort(ag, s);
}

void tunnel_open(struct agent *ag, const struct wire_frame *f)
{
    json_t *root = agent_parse_json(ag, f);
    if (!root)
        return;
    json_t *jp = json_object_get(root, "port");
    json_int_t port = json_is_integer(jp) ? json_integer_value(jp) : 0;
    json_decref(root);
    if (port < 1 || port > 65535) {
        agent_send_error(ag, f->stream, EINVAL, "'port' must be an integer from 1 to 65535");
        return;
    }
    int err = 0;
    struct stream *s = stream_add(&ag->streams, f->stream, STREAM_TCP, &err);
    if (!s) {
        agent_send_error(ag, f->stream, -err, "cannot open a stream");
        return;
    }
    s->tcp.fd = -1;
    buf_init(&s->tcp.in_buf, WIRE_INITIAL_WINDOW);
    s->tcp.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->tcp.fd < 0) {
        tunnel_fail(ag, s, errno, "cannot create a socket");
        return;
    }
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (connect(s->tcp.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        if (errno != EINPROGRESS) {
            tunnel_fail(ag, s, errno, "cannot connect");
            return;
        }
        s->tcp.connecting = true;
        s->tcp.deadline_ms = agent_now_ms() + TUNNEL_CONNECT_MS;
        return;
    }
    (void)agent_send_json(ag, WIRE_TCP_CONNECTED, s->id, json_object());
}

/* Writes what the socket takes and returns the credit for it; shuts the writing half once
 * the host's EOF came and everything before it went out. */
static void feed(struct agent *ag, struct stream *s)
{
    struct tcp_state *t = &s->tcp;
    /* once the guest side is gone for writing (EPIPE, ECONNRESET), what is left and what comes
     * later goes nowhere, its credit returned all the same */
    if (!t->connecting && !agent_feed_fd(ag, s, &t->in_buf, t->wr_done ? -1 : t->fd))
        t->wr_done = true;
    if (!t->connecting && t->in_eof && t->in_buf.len == 0 && !t->wr_done) {
        (void)shutdown(t->fd, SHUT_WR);
        t->wr_done = true;
    }
    maybe_finish(ag, s);
}

static void on_data(struct agent *ag, struct stream *s, const struct wire_frame *f)
{
    struct tcp_state *t = &s->tcp;
    if (t->in_eof) {
        tunnel_fail(ag, s, EPROTO, "data after end of file");
        return;
    }
    if (f->len > s->recv_credit) {
        tunnel_fail(ag, s, EPROTO, "data beyond the flow-control window");
        return;
    }
    s->recv_credit -= f->len;
    if (f->flags & WIRE_F_EOF)
        t->in_eof = true;
    /* Cannot fail: the buffer's maximum is the window the host has to respect. */
    if (buf_append(&t->in_buf, f->payload, f->len) < 0) {
        tunnel_fail(ag, s, ENOMEM, "cannot buffer tunnel data");
        return;
    }
    feed(ag, s);
}

void tunnel_on_frame(struct agent *ag, struct stream *s, const struct wire_frame *f)
{
    if (f->type == WIRE_DATA)
        on_data(ag, s, f);
    else if (f->type == WIRE_CANCEL)
        tunnel_fail(ag, s, ECANCELED, "cancelled by the host");
    else
        tunnel_fail(ag, s, EPROTO, "frame type not valid on a tunnel");
}

void tunnel_poll_add(struct agent *ag, struct stream *s, struct agent_pollset *ps)
{
    struct tcp_state *t = &s->tcp;
    short ev = 0;
    if (t->connecting)
        ev = POLLOUT;
    else {
        if (!t->rd_done && s->send_credit > 0 && agent_out_room(ag))
            ev |= POLLIN;
        if (!t->wr_done && t->in_buf.len)
            ev |= POLLOUT;
    }
    if (ev)
        agent_poll_add(ps, t->fd, ev, s->id, ROLE_TCP);
}

static void on_connected(struct agent *ag, struct stream *s)
{
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(s->tcp.fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err == EINPROGRESS || err == EALREADY)
        return;
    if (err) {
        tunnel_fail(ag, s, err, "cannot connect");
        return;
    }
    s->tcp.connecting = false;
    (void)agent_send_json(ag, WIRE_TCP_CONNECTED, s->id, json_object());
    feed(ag, s); /* DATA that came before the connect finished */
}

/* Reads one chunk of the socket straight into the output queue as a DATA frame; EOF goes out
 * as an empty DATA with the EOF flag. True when a full chunk came (more may be waiting) and
 * the stream is still open. */
static bool forward(struct agent *ag, struct stream *s)
{
    size_t want = s->send_credit < WIRE_DATA_CHUNK ? (size_t)s->send_credit : WIRE_DATA_CHUNK;
    if (want == 0 || !agent_out_room(ag))
        return false;
    uint8_t *p = buf_reserve(&ag->out, WIRE_HEADER_SIZE + want, NULL);
    if (!p)
        return false; /* queue at its ceiling: try again when it drains */
    ssize_t n = recv(s->tcp.fd, p + WIRE_HEADER_SIZE, want, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return false;
    if (n < 0) {
        tunnel_fail(ag, s, errno, "the guest connection failed");
        return false;
    }
    if (n == 0) {
        s->tcp.rd_done = true;
        (void)agent_send(ag, WIRE_DATA, WIRE_F_EOF, s->id, NULL, 0);
        maybe_finish(ag, s);
        return false;
    }
    wire_header_put(p, WIRE_DATA, 0, s->id, (uint32_t)n);
    buf_commit(&ag->out, WIRE_HEADER_SIZE + (size_t)n);
    s->send_credit -= (uint64_t)n;
    return (size_t)n == want;
}

void tunnel_on_poll(struct agent *ag, struct stream *s, short revents)
{
    uint32_t id = s->id;
    if (s->tcp.connecting) {
        on_connected(ag, s);
        return;
    }
    if (revents & (POLLOUT | POLLHUP | POLLERR))
        feed(ag, s); /* a hang-up must show as a write error, or poll() spins on it */
    /* feed() may have finished the stream */
    /* a few chunks per turn while they come full: one poll() per 64 KiB costs throughput */
    if ((s = stream_find(&ag->streams, id)) && (revents & (POLLIN | POLLHUP | POLLERR)))
        for (int i = 0; i < 4 && !s->tcp.rd_done && forward(ag, s); i++)
            ;
}

int tunnel_check_deadlines(struct agent *ag, uint64_t now_ms)
{
    int next = -1;
    for (size_t i = ag->streams.n; i-- > 0;) {
        struct stream *s = ag->streams.s[i];
        if (s->kind != STREAM_TCP || !s->tcp.connecting)
            continue;
        if (now_ms >= s->tcp.deadline_ms) {
            tunnel_fail(ag, s, ETIMEDOUT, "no connection within 5 s");
            continue;
        }
        uint64_t left = s->tcp.deadline_ms - now_ms;
        if (next < 0 || left < (uint64_t)next)
            next = (int)left;
    }
    return next;
}
