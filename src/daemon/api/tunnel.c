/* SPDX-License-Identifier: MIT */
/* tunnel.c: POST /v1/sandboxes/{id}/tunnel/{port} (docs/api.md §3.12.2). Checks the request as
 * ordinary JSend, has the control layer open the guest connection (ctl/sandbox_stream.h), and
 * only once it is up answers 101 and pipes bytes between the client's socket and the agent
 * stream: the socket is not read while the stream has no room, and the agent's credit is held
 * while the socket's output is backed up, so hearthd never buffers more than a window. */
#include "daemon/api/routes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/parse.h"
#include "common/wire.h"
#include "daemon/api/api.h"
#include "daemon/api/reply.h"
#include "daemon/api/stream_credit.h"
#include "daemon/api/upgrade_check.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/ctl/sandbox_stream.h"
#include "daemon/host/host.h"
#include "daemon/http/request.h"
#include "daemon/http/response.h"
#include "daemon/http/route.h"
#include "daemon/log.h"
#include "daemon/store/ids.h"
#include "daemon/store/store.h"

#define TUNNEL_OUT_HIGH (256u * 1024u) /* hold the agent's credit past this much unsent */
#define TUNNEL_READ_MAX (64u * 1024u)  /* one read of the client's socket */

struct tunnel {
    struct api_call call;        /* req referenced until the upgrade (or the error reply) */
    struct api_ctx *ctx;
    char id[STORE_ID_SIZE];
    uint16_t port;
    uint32_t stream;
    struct agent_stream_ops ops;
    struct bufferevent *bev;     /* the client's connection after the 101; owned */
    bool open;                   /* the agent stream has not ended */
    bool upgraded;               /* 101 sent */
    bool client_eof;             /* the client shut its writing half ... */
    bool finish_sent;            /* ... and the stream was told (after every byte before it) */
    bool guest_eof;              /* the guest side's EOF came ... */
    bool shut_wr;                /* ... and the client's socket was half-closed after it */
    bool closing;                /* the stream ended: close once the output is written */
    bool read_blocked;           /* the stream refused bytes: reading waits for on_credit */
    int depth;                   /* callbacks of ours on the stack */
    bool dead;                   /* free once depth drops to 0 */
    size_t held;                 /* credit held back while the socket drains */
};

static void tunnel_free(struct tunnel *t)
{
    if (!t->upgraded)
        api_call_unhold(&t->call);
    if (t->bev)
        bufferevent_free(t->bev);
    free(t);
}

/* Callbacks nest (a write to the stream can end it): the struct outlives the outermost. */
static void enter(struct tunnel *t)
{
    t->depth++;
}

static void leave(struct tunnel *t)
{
    if (--t->depth == 0 && t->dead)
        tunnel_free(t);
}

static void kill_tunnel(struct tunnel *t)
{
    if (t->open) {
        /* CANCEL for any stream kind, dropped at once: on_end runs inside and marks it dead */
        (void)host_vm_exec_cancel(t->ctx->ctl->host, t->id, t->stream);
        return;
    }
    t->dead = true;
}

/* Moves what the client sent into the stream while it takes bytes; forwards the client's EOF
 * once everything before it went in. */
static void pump_client(struct tunnel *t)
{
    struct evbuffer *in = bufferevent_get_input(t->bev);
    while (t->open && evbuffer_get_length(in) > 0) {
        size_t len = evbuffer_get_contiguous_space(in);
        const unsigned char *p = evbuffer_pullup(in, (ssize_t)len);
        ssize_t n = host_stream_write(t->ctx->ctl->host, t->id, t->stream, p, len);
        if (t->dead || !t->open)
            return;
        if (n < 0) {
            kill_tunnel(t);
            return;
        }
        evbuffer_drain(in, (size_t)n);
        if ((size_t)n < len) {
            t->read_blocked = true;
            bufferevent_disable(t->bev, EV_READ);
            return;
        }
    }
    if (t->read_blocked) {
        t->read_blocked = false;
        if (!t->client_eof)
            bufferevent_enable(t->bev, EV_READ);
    }
    if (t->open && t->client_eof && !t->finish_sent && evbuffer_get_length(in) == 0) {
        t->finish_sent = true;
        if (host_stream_finish(t->ctx->ctl->host, t->id, t->stream) < 0 && !t->dead)
            kill_tunnel(t);
    }
}

static void on_client_read(struct bufferevent *bev, void *ud)
{
    struct tunnel *t = ud;
    enter(t);
    pump_client(t);
    leave(t);
}

/* The socket's output drained: credit back to the agent, the guest's EOF passed on, or the
 * connection closed once the stream has ended. */
static void on_client_write(struct bufferevent *bev, void *ud)
{
    struct tunnel *t = ud;
    enter(t);
    size_t pending = evbuffer_get_length(bufferevent_get_output(bev));
    if (pending <= TUNNEL_OUT_HIGH / 2)
        api_stream_credit_return(t->ctx->ctl->host, t->id, t->stream, t->open, &t->held);
    if (pending == 0 && t->guest_eof && !t->shut_wr) {
        t->shut_wr = true;
        (void)shutdown(bufferevent_getfd(bev), SHUT_WR); /* the half-close, §3.12.2 */
    }
    if (pending == 0 && t->closing)
        t->dead = true;
    leave(t);
}

static void on_client_event(struct bufferevent *bev, short what, void *ud)
{
    struct tunnel *t = ud;
    enter(t);
    if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
        t->client_eof = true;
        bufferevent_disable(bev, EV_READ);
        pump_client(t);
        if (!t->open && !t->dead && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
            t->dead = true;
    } else {
        kill_tunnel(t); /* reset or error: both directions are gone */
    }
    leave(t);
}

static void on_credit(void *ud, size_t room)
{
    struct tunnel *t = ud;
    if (!t->bev)
        return;
    enter(t);
    pump_client(t);
    leave(t);
}

static int on_data(void *ud, uint16_t type, const uint8_t *p, size_t len, bool eof)
{
    struct tunnel *t = ud;
    if (!t->bev)
        return -EPROTO; /* the agent sent data before TCP_CONNECTED: agent_client rejects it */
    struct evbuffer *out = bufferevent_get_output(t->bev);
    if (len > 0 && evbuffer_add(out, p, len) < 0)
        return -ENOMEM;
    if (eof) {
        t->guest_eof = true;
        if (evbuffer_get_length(out) == 0)
            on_client_write(t->bev, t);
    }
    if (len > 0 && evbuffer_get_length(out) > TUNNEL_OUT_HIGH) {
        t->held += len;
        return AGENT_DATA_HOLD;
    }
    return 0;
}

/* The guest connection is up: 101, and the connection is ours. */
static void on_open(void *ud)
{
    struct tunnel *t = ud;
    enter(t);
    http_request_on_abort(t->call.req, NULL, NULL);
    struct bufferevent *bev = NULL;
    int r = http_response_upgrade(t->call.req, "tcp-tunnel", &bev);
    if (r < 0) {
        /* the client went away meanwhile, or the request cannot be upgraded */
        kill_tunnel(t);
        leave(t);
        return;
    }
    api_reply_done(&t->call, 101);
    api_call_unhold(&t->call);
    t->upgraded = true;
    t->bev = bev;
    bufferevent_setcb(bev, on_client_read, on_client_write, on_client_event, t);
    bufferevent_setwatermark(bev, EV_WRITE, TUNNEL_OUT_HIGH / 2, 0);
    bufferevent_set_max_single_read(bev, TUNNEL_READ_MAX);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    pump_client(t); /* what the client sent right after its head (§1.13) */
    leave(t);
}

static void on_end(void *ud, const struct agent_end *end)
{
    struct tunnel *t = ud;
    enter(t);
    t->open = false;
    ctl_sandbox_tunnel_closed(t->ctx->ctl, t->id);
    if (!t->upgraded) {
        if (end->kind == AGENT_END_LOST && end->err == -ECANCELED) {
            api_reply_done(&t->call, 499); /* the client went away first */
        } else if (end->kind == AGENT_END_LOST) {
            api_reply_error(&t->call, 503, "the sandbox's vm is not reachable; retry later",
                            "unavailable");
        } else {
            char msg[160];
            snprintf(msg, sizeof(msg), "port %u in the sandbox is unreachable (%s)", t->port,
                     end->error[0] ? end->error : "closed");
            api_reply_error(&t->call, 502, msg, "port_unreachable");
        }
        t->dead = true;
    } else if (end->kind == AGENT_END_DONE) {
        /* both directions ended: what is still queued goes out, then the close */
        t->closing = true;
        bufferevent_disable(t->bev, EV_READ);
        if (evbuffer_get_length(bufferevent_get_output(t->bev)) == 0)
            t->dead = true;
    } else {
        t->dead = true; /* the guest connection failed: the client sees a close */
    }
    leave(t); /* inside the start, the starter holds a depth and frees */
}

static void on_abort(struct http_request *req, void *ud)
{
    struct tunnel *t = ud;
    enter(t);
    kill_tunnel(t);
    leave(t);
}

/* 0 with the port, or 400 answered. */
static int parse_port(const struct api_call *call, uint16_t *ret)
{
    const struct http_path *p = http_request_path(call->req);
    uint64_t v;
    if (p->n < 5 || strlen(p->seg[4]) != p->seg_len[4] || parse_u64(p->seg[4], 1, 65535, &v) < 0) {
        api_reply_field(call, "port", "must be an integer from 1 to 65535", "invalid_request");
        return -EINVAL;
    }
    *ret = (uint16_t)v;
    return 0;
}

void api_sandbox_tunnel(struct api_call *call)
{
    struct api_ctx *ctx = call->ctx;
    char id[STORE_ID_SIZE];
    uint16_t port;
    if (parse_port(call, &port) < 0 || !api_upgrade_sandbox(call, "tcp-tunnel", id))
        return;
    struct tunnel *t = api_call_hold(call, sizeof(*t), "tunnel");
    if (!t)
        return;
    t->ctx = ctx;
    snprintf(t->id, sizeof(t->id), "%s", id);
    t->port = port;
    t->ops = (struct agent_stream_ops){ .on_data = on_data, .on_credit = on_credit,
                                        .on_open = on_open, .on_end = on_end };
    t->open = true;
    t->depth = 1; /* on_end may run inside the open: the struct lives until leave() below */
    struct ctl_error e;
    int r = ctl_sandbox_tunnel_open(ctx->ctl, id, port, &t->ops, t, &t->stream, &e);
    if (r < 0) {
        t->open = false;
        api_reply_ctl(call, &e);
        t->dead = true;
    } else if (t->open) {
        http_request_on_abort(call->req, on_abort, t);
    } else {
        t->dead = true; /* ended (and answered) inside the open */
    }
    leave(t);
}
