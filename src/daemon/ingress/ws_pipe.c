/* SPDX-License-Identifier: MIT */
/* ws_pipe.c: an upgraded ingress connection (WebSocket or any protocol the guest answered 101
 * for): raw bytes both ways between the client's socket and the guest connection, like a
 * tunnel (api/tunnel.c): the client is not read while the guest connection's queue is full,
 * the guest's credit is held while the client's output is backed up, and each side's EOF is
 * passed on as a half-close after the bytes before it. */
#include "daemon/ingress/ingress_internal.h"

#include <errno.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "daemon/http/response.h"

#define PIPE_READ_MAX (64u * 1024u)

struct ws_pipe {
    struct ingress *ing;
    struct bufferevent *bev;   /* the client's connection; owned */
    struct upstream *up;       /* NULL once the guest side ended */
    size_t held;               /* guest credit held while the client's output drains */
    bool client_eof, guest_eof, shut_wr, closing;
    int depth;
    bool dead;
};

static void p_free(struct ws_pipe *p)
{
    p->ing->stats.websockets--;
    if (p->up) {
        struct upstream *u = p->up;
        p->up = NULL;
        u->owner = NULL; /* no on_end into a pipe being freed */
        upstream_kill(u);
    }
    if (p->bev)
        bufferevent_free(p->bev);
    free(p);
}

static void enter(struct ws_pipe *p)
{
    p->depth++;
}

static void leave(struct ws_pipe *p)
{
    if (--p->depth == 0 && p->dead)
        p_free(p);
}

static void pump_client(struct ws_pipe *p)
{
    struct evbuffer *in = bufferevent_get_input(p->bev);
    while (p->up && evbuffer_get_length(in) > 0 && upstream_queued(p->up) < INGRESS_HIGH) {
        size_t len = evbuffer_get_contiguous_space(in);
        const unsigned char *d = evbuffer_pullup(in, (ssize_t)len);
        if (upstream_send(p->up, d, len) < 0) {
            p->dead = true;
            return;
        }
        evbuffer_drain(in, len);
    }
    if (!p->up)
        return;
    if (upstream_queued(p->up) >= INGRESS_HIGH)
        bufferevent_disable(p->bev, EV_READ); /* on_room reads again */
    else if (!p->client_eof)
        bufferevent_enable(p->bev, EV_READ);
    if (p->client_eof && evbuffer_get_length(in) == 0)
        upstream_finish(p->up);
}

static void on_client_read(struct bufferevent *bev, void *ud)
{
    struct ws_pipe *p = ud;
    (void)bev;
    enter(p);
    pump_client(p);
    leave(p);
}

static void on_client_write(struct bufferevent *bev, void *ud)
{
    struct ws_pipe *p = ud;
    enter(p);
    size_t pending = evbuffer_get_length(bufferevent_get_output(bev));
    if (pending <= INGRESS_HIGH / 2 && p->held && p->up) {
        upstream_consumed(p->up, p->held);
        p->held = 0;
    }
    if (pending == 0 && p->guest_eof && !p->shut_wr) {
        p->shut_wr = true;
        http_bev_shutdown_write(bev); /* close_notify first over TLS */
    }
    if (pending == 0 && p->closing)
        p->dead = true;
    leave(p);
}

static void on_client_event(struct bufferevent *bev, short what, void *ud)
{
    struct ws_pipe *p = ud;
    enter(p);
    if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
        p->client_eof = true;
        bufferevent_disable(bev, EV_READ);
        pump_client(p);
        if (!p->up && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
            p->dead = true;
    } else {
        p->dead = true; /* reset or error: both directions are gone */
    }
    leave(p);
}

static int p_on_data(void *owner, const uint8_t *d, size_t len, bool eof)
{
    struct ws_pipe *p = owner;
    struct evbuffer *out = bufferevent_get_output(p->bev);
    if (len > 0 && evbuffer_add(out, d, len) < 0)
        return -ENOMEM;
    if (eof) {
        p->guest_eof = true;
        if (evbuffer_get_length(out) == 0)
            on_client_write(p->bev, p);
    }
    if (len > 0 && evbuffer_get_length(out) > INGRESS_HIGH) {
        p->held += len;
        return AGENT_DATA_HOLD;
    }
    return 0;
}

static void p_on_room(void *owner)
{
    struct ws_pipe *p = owner;
    enter(p);
    if (!p->client_eof)
        pump_client(p);
    leave(p);
}

static void p_on_end(void *owner, const struct agent_end *end)
{
    struct ws_pipe *p = owner;
    enter(p);
    p->up = NULL;
    if (end->kind == AGENT_END_DONE) {
        p->closing = true; /* both directions ended: flush, then close */
        bufferevent_disable(p->bev, EV_READ);
        if (evbuffer_get_length(bufferevent_get_output(p->bev)) == 0)
            p->dead = true;
    } else {
        p->dead = true;
    }
    leave(p);
}

static const struct upstream_owner_ops pipe_ops = {
    .on_data = p_on_data, .on_room = p_on_room, .on_end = p_on_end,
};

void ws_pipe_start(struct ingress *ing, struct bufferevent *bev, struct upstream *u,
                   const uint8_t *rest, size_t rest_len)
{
    struct ws_pipe *p = calloc(1, sizeof(*p));
    if (!p) {
        bufferevent_free(bev);
        upstream_kill(u);
        return;
    }
    p->ing = ing;
    ing->stats.websockets++;
    p->bev = bev;
    p->up = u;
    u->oops = &pipe_ops;
    u->owner = p;
    p->depth = 1;
    bufferevent_setcb(bev, on_client_read, on_client_write, on_client_event, p);
    bufferevent_setwatermark(bev, EV_WRITE, INGRESS_HIGH / 2, 0);
    bufferevent_set_max_single_read(bev, PIPE_READ_MAX);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    /* what the guest sent right after its 101 (its credit goes back with the exchange's) */
    if (rest_len > 0 && evbuffer_add(bufferevent_get_output(bev), rest, rest_len) < 0)
        p->dead = true;
    pump_client(p); /* what the client sent right after its head */
    leave(p);
}
