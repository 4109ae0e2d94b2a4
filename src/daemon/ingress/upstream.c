/* SPDX-License-Identifier: MIT */
/* upstream.c: the proxy's connections into sandboxes (ingress_internal.h): one agent TCP stream
 * each, a send queue drained under the stream's credit, and a bounded pool of idle keep-alive
 * connections per (sandbox, port) so that a busy site does not pay a guest connect per request.
 * A pooled connection is not counted as use of the sandbox (idle auto-pause goes on), is
 * dropped after INGRESS_POOL_IDLE_MS, and is closed with every other connection of a sandbox
 * whose ingress was switched off or which stopped running (checked once a second). */
#include "daemon/ingress/ingress_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/util.h>

#include "common/mono.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/idle.h"
#include "daemon/ctl/sandbox_stream.h"
#include "daemon/host/host.h"

static void up_free(struct upstream *u)
{
    struct ingress *ing = u->ing;
    if (u->prev)
        u->prev->next = u->next;
    else
        ing->ups = u->next;
    if (u->next)
        u->next->prev = u->prev;
    if (u->tx)
        evbuffer_free(u->tx);
    free(u);
}

static void enter(struct upstream *u)
{
    u->depth++;
}

static void leave(struct upstream *u)
{
    if (--u->depth == 0 && u->dead)
        up_free(u);
}

static void unpool(struct upstream *u)
{
    if (u->pooled) {
        u->pooled = false;
        u->ing->npooled--;
    }
}

void upstream_kill(struct upstream *u)
{
    enter(u);
    if (u->open)
        (void)host_vm_exec_cancel(u->ing->ctl->host, u->id, u->stream); /* on_end inside */
    u->open = false;
    u->dead = true;
    leave(u);
}

/* Moves queued bytes into the stream while it takes them; EOF after the last when asked. The
 * owner hears of room only from the stream's own callbacks (notify), never from inside its
 * upstream_send(), which would recurse. */
static void pump(struct upstream *u, bool notify)
{
    struct host *h = u->ing->ctl->host;
    while (u->open && u->connected && evbuffer_get_length(u->tx) > 0) {
        size_t len = evbuffer_get_contiguous_space(u->tx);
        const unsigned char *p = evbuffer_pullup(u->tx, (ssize_t)len);
        ssize_t n = host_stream_write(h, u->id, u->stream, p, len);
        if (!u->open || u->dead)
            return;
        if (n < 0) {
            upstream_kill(u);
            return;
        }
        ingress_meter_add(u->ing, u->id, (uint64_t)n);
        u->ing->stats.bytes_in += (uint64_t)n;
        evbuffer_drain(u->tx, (size_t)n);
        if ((size_t)n < len)
            break; /* on_credit follows */
    }
    if (u->open && u->connected && u->finish_queued && !u->finished &&
        evbuffer_get_length(u->tx) == 0) {
        u->finished = true;
        if (host_stream_finish(h, u->id, u->stream) < 0 && !u->dead) {
            upstream_kill(u);
            return;
        }
    }
    if (notify && u->open && u->owner && evbuffer_get_length(u->tx) <= INGRESS_HIGH / 2 &&
        u->oops->on_room)
        u->oops->on_room(u->owner);
}

static int u_on_data(void *ud, uint16_t type, const uint8_t *p, size_t len, bool eof)
{
    struct upstream *u = ud;
    (void)type;
    if (eof)
        u->guest_eof = true;
    if (!u->owner)
        return -ECONNRESET; /* a pooled connection must stay silent: not reusable any more */
    enter(u);
    u->ing->stats.bytes_out += len; /* every guest byte an owner takes goes to its client */
    int r = u->oops->on_data(u->owner, p, len, eof);
    leave(u);
    return r;
}

static void u_on_credit(void *ud, size_t room)
{
    struct upstream *u = ud;
    (void)room;
    enter(u);
    pump(u, true);
    leave(u);
}

static void u_on_open(void *ud)
{
    struct upstream *u = ud;
    enter(u);
    u->connected = true;
    if (u->owner && u->oops->on_open)
        u->oops->on_open(u->owner);
    if (!u->dead)
        pump(u, false);
    leave(u);
}

static void u_on_end(void *ud, const struct agent_end *end)
{
    struct upstream *u = ud;
    enter(u);
    u->open = false;
    if (u->counted) {
        u->counted = false;
        ctl_sandbox_tunnel_closed(u->ing->ctl, u->id);
    }
    unpool(u);
    void *owner = u->owner;
    u->owner = NULL;
    if (owner)
        u->oops->on_end(owner, end);
    u->dead = true;
    leave(u);
}

int upstream_open(struct ingress *ing, const char *id, uint16_t port,
                  const struct upstream_owner_ops *oops, void *owner, struct upstream **ret,
                  struct ctl_error *e)
{
    *ret = NULL;
    struct upstream *u = calloc(1, sizeof(*u));
    if (!u || !(u->tx = evbuffer_new())) {
        free(u);
        return ctl_error_internal(e, "ingress connection", -ENOMEM);
    }
    u->ing = ing;
    snprintf(u->id, sizeof(u->id), "%s", id);
    u->port = port;
    u->oops = oops;
    u->owner = owner;
    u->ops = (struct agent_stream_ops){ .on_data = u_on_data, .on_credit = u_on_credit,
                                        .on_open = u_on_open, .on_end = u_on_end };
    u->next = ing->ups;
    if (ing->ups)
        ing->ups->prev = u;
    ing->ups = u;
    u->open = u->counted = true;
    u->depth = 1; /* on_end may run inside the open */
    int r = ctl_sandbox_tunnel_open(ing->ctl, id, port, &u->ops, u, &u->stream, e);
    if (r < 0) {
        u->open = u->counted = false;
        u->owner = NULL;
        u->dead = true;
        leave(u);
        return r;
    }
    *ret = u->open ? u : NULL;
    leave(u);
    return 0;
}

struct upstream *upstream_take(struct ingress *ing, const char *id, uint16_t port,
                               const struct upstream_owner_ops *oops, void *owner)
{
    for (struct upstream *u = ing->ups; u; u = u->next) {
        if (!u->pooled || !u->open || u->guest_eof || u->port != port || strcmp(u->id, id))
            continue;
        unpool(u);
        u->oops = oops;
        u->owner = owner;
        u->counted = true;
        ctl_idle_stream(ing->ctl, id, true); /* in use again: the sandbox counts active */
        return u;
    }
    return NULL;
}

int upstream_send(struct upstream *u, const void *p, size_t len)
{
    if (!u->open)
        return -EPIPE;
    if (evbuffer_add(u->tx, p, len) < 0)
        return -ENOMEM;
    enter(u);
    pump(u, false);
    leave(u);
    return 0;
}

size_t upstream_queued(const struct upstream *u)
{
    return evbuffer_get_length(u->tx);
}

void upstream_consumed(struct upstream *u, size_t len)
{
    if (u->open && len)
        (void)host_stream_consumed(u->ing->ctl->host, u->id, u->stream, len);
}

void upstream_finish(struct upstream *u)
{
    u->finish_queued = true;
    enter(u);
    pump(u, false);
    leave(u);
}

static unsigned pooled_for(const struct ingress *ing, const struct upstream *x)
{
    unsigned n = 0;
    for (const struct upstream *u = ing->ups; u; u = u->next)
        n += u->pooled && u->port == x->port && strcmp(u->id, x->id) == 0;
    return n;
}

void upstream_release(struct upstream *u, bool reusable)
{
    struct ingress *ing = u->ing;
    u->owner = NULL;
    if (!reusable || !u->open || !u->connected || u->guest_eof || u->finish_queued ||
        evbuffer_get_length(u->tx) > 0 || ing->npooled >= INGRESS_POOL_MAX ||
        pooled_for(ing, u) >= INGRESS_POOL_PER_PORT) {
        upstream_kill(u);
        return;
    }
    u->pooled = true;
    ing->npooled++;
    u->idle_since_us = mono_now_us();
    if (u->counted) {
        u->counted = false;
        ctl_sandbox_tunnel_closed(ing->ctl, u->id); /* an idle spare is not use */
    }
}

/* Sandboxes checked in this tick and the answer, so a busy sandbox costs one store read. */
struct seen {
    char id[STORE_ID_SIZE];
    bool ok;
};

void upstream_tick(struct ingress *ing)
{
    struct seen seen[32];
    size_t nseen = 0;
    int64_t now = mono_now_us();
    struct upstream *next;
    for (struct upstream *u = ing->ups; u; u = next) {
        next = u->next;
        if (!u->open)
            continue;
        if (u->pooled && now - u->idle_since_us > (int64_t)INGRESS_POOL_IDLE_MS * 1000) {
            upstream_kill(u);
            continue;
        }
        size_t i;
        for (i = 0; i < nseen && strcmp(seen[i].id, u->id); i++)
            ;
        bool ok;
        if (i < nseen) {
            ok = seen[i].ok;
        } else {
            ok = ctl_ingress_open_ok(ing->ctl, u->id);
            if (nseen < sizeof(seen) / sizeof(seen[0])) {
                snprintf(seen[nseen].id, sizeof(seen[nseen].id), "%s", u->id);
                seen[nseen++].ok = ok;
            }
        }
        if (!ok)
            upstream_kill(u); /* ingress switched off, or the sandbox stopped: close */
    }
}

void upstream_close_all(struct ingress *ing)
{
    struct upstream *next;
    for (struct upstream *u = ing->ups; u; u = next) {
        next = u->next;
        if (u->open)
            upstream_kill(u);
    }
}
