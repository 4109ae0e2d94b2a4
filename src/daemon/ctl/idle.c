/* SPDX-License-Identifier: MIT */
/* idle.c: the auto-pauser (idle.h, §2.14.8): remembers when each running sandbox was last
 * addressed and how many long-lived streams it has open, and every few seconds pauses those
 * idle for longer than their auto_pause_after_seconds (sandbox_ops.h's pause). */
#include "daemon/ctl/idle.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/timefmt.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/events.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/log.h"
#include "daemon/store/store.h"

#define IDLE_CHECK_MS 2000

struct idle_entry {
    char id[STORE_ID_SIZE];
    int64_t last_ms;          /* last activity */
    unsigned streams;         /* open exec streams */
};

struct ctl_idle {
    struct idle_entry *v;
    size_t n, cap;
    struct event *timer;
};

static struct idle_entry *idle_get(struct ctl *ctx, const char *id, bool add)
{
    struct ctl_idle *I = ctx->idle;
    if (!I)
        return NULL;
    for (size_t i = 0; i < I->n; i++)
        if (strcmp(I->v[i].id, id) == 0)
            return &I->v[i];
    if (!add)
        return NULL;
    if (I->n == I->cap) {
        size_t cap = I->cap ? I->cap * 2 : 16;
        struct idle_entry *v = realloc(I->v, cap * sizeof(*v));
        if (!v)
            return NULL;
        I->v = v;
        I->cap = cap;
    }
    struct idle_entry *e = &I->v[I->n++];
    *e = (struct idle_entry){ .last_ms = timefmt_now_ms() };
    snprintf(e->id, sizeof(e->id), "%s", id);
    return e;
}

void ctl_idle_touch(struct ctl *ctx, const char *id)
{
    struct idle_entry *e = idle_get(ctx, id, true);
    if (e)
        e->last_ms = timefmt_now_ms();
}

void ctl_idle_touch_request(struct ctl *ctx, const char *user_id, const char *id)
{
    if (!ctx->idle || !user_id || !user_id[0])
        return;
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    bool mine = store_sandbox_get(ctx->store, user_id, id, &sb) == 0 &&
                sb.status == STORE_RUNNING && sb.auto_pause_after_seconds > 0;
    store_sandbox_release(&sb);
    if (mine)
        ctl_idle_touch(ctx, id);
}

size_t ctl_idle_tracked(const struct ctl *ctx)
{
    return ctx->idle ? ctx->idle->n : 0;
}

void ctl_idle_stream(struct ctl *ctx, const char *id, bool open)
{
    struct idle_entry *e = idle_get(ctx, id, true);
    if (!e)
        return;
    if (open)
        e->streams++;
    else if (e->streams)
        e->streams--;
    e->last_ms = timefmt_now_ms();
}

static void on_idle_timer(evutil_socket_t fd, short what, void *arg)
{
    struct ctl *ctx = arg;
    struct ctl_idle *I = ctx->idle;
    int64_t now = timefmt_now_ms();
    for (size_t i = 0; i < I->n;) {
        struct idle_entry *e = &I->v[i];
        struct store_sandbox sb;
        store_sandbox_init(&sb);
        int r = store_sandbox_get(ctx->store, NULL, e->id, &sb);
        bool drop = r < 0 || sb.status != STORE_RUNNING || sb.auto_pause_after_seconds <= 0;
        if (!drop && sb.auto_pause_after_seconds > 0 && e->streams == 0 &&
            now - e->last_ms >= sb.auto_pause_after_seconds * 1000 && ctx->host &&
            !ctx->draining) {
            log_info(NULL, "sandbox idle: auto-pause", "{s:s,s:I}", "sandbox", e->id,
                     "idle_s", (json_int_t)((now - e->last_ms) / 1000));
            ctl_event_cause(ctx, e->id, CTL_ACTOR_AUTO_PAUSE, NULL);
            if (ctl_sandbox_pause_start(ctx, e->id, NULL) < 0)
                ctl_event_cause(ctx, e->id, NULL, NULL);
            drop = true;
        }
        store_sandbox_release(&sb);
        if (drop && e->streams == 0) {
            I->v[i] = I->v[--I->n];
            continue;
        }
        i++;
    }
    struct timeval tv = { IDLE_CHECK_MS / 1000, (IDLE_CHECK_MS % 1000) * 1000 };
    event_add(I->timer, &tv);
}

int ctl_idle_start(struct ctl *ctx)
{
    struct ctl_idle *I = calloc(1, sizeof(*I));
    if (!I)
        return -ENOMEM;
    I->timer = evtimer_new(ctx->base, on_idle_timer, ctx);
    if (!I->timer) {
        free(I);
        return -ENOMEM;
    }
    ctx->idle = I;
    /* running sandboxes with auto-pause are picked up as they are touched; after a restart
     * each gets a fresh idle period from its first touch (the timer restarts at resume) */
    struct timeval tv = { IDLE_CHECK_MS / 1000, (IDLE_CHECK_MS % 1000) * 1000 };
    event_add(I->timer, &tv);
    return 0;
}

void ctl_idle_release(struct ctl *ctx)
{
    if (ctx->idle) {
        if (ctx->idle->timer)
            event_free(ctx->idle->timer);
        free(ctx->idle->v);
        free(ctx->idle);
        ctx->idle = NULL;
    }
}
