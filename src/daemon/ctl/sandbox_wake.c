/* SPDX-License-Identifier: MIT */
/* sandbox_wake.c: waking a paused sandbox on traffic (sandbox_wake.h, docs/ingress-ssh.md
 * "Waking on traffic"). Waiters are grouped per sandbox so that a burst of requests starts one
 * resume; the group follows the row through the settle listener (events.h) and ends every
 * waiter of it at once. Each waiter has its own timer, which also carries its end to the loop,
 * so no callback ever runs inside ctl_sandbox_wake() or inside a settle. */
#include "daemon/ctl/sandbox_wake.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "daemon/ctl/ctl.h"
#include "daemon/ctl/events.h"
#include "daemon/ctl/idle.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/log.h"
#include "daemon/store/store.h"

struct wake_group;

struct ctl_wake {
    struct ctl *ctx;
    struct wake_group *g;
    struct ctl_wake *next;
    struct event *ev;            /* the timeout, and the deferred end (event_active) */
    bool ended;                  /* e holds the end; ev only delivers it */
    struct ctl_error e;
    ctl_wake_fn fn;
    void *ud;
};

struct wake_group {
    char id[STORE_ID_SIZE];
    char user_id[STORE_ID_SIZE];
    char actor[24];
    bool resume_on_pause;        /* the row was pausing: resume once it is paused */
    struct ctl_wake *waiters;
    struct wake_group *next;
};

struct ctl_wakes {
    struct wake_group *groups;
    unsigned n;                  /* waiters pending */
    bool listening;              /* the settle listener is registered */
};

static struct wake_group *group_find(struct ctl_wakes *W, const char *id)
{
    for (struct wake_group *g = W->groups; g; g = g->next)
        if (strcmp(g->id, id) == 0)
            return g;
    return NULL;
}

static void group_unlink(struct ctl_wakes *W, struct wake_group *g)
{
    for (struct wake_group **p = &W->groups; *p; p = &(*p)->next) {
        if (*p == g) {
            *p = g->next;
            return;
        }
    }
}

/* Takes w out of its group (freeing the group when it was the last) and frees w. */
static void waiter_drop(struct ctl_wake *w)
{
    struct ctl_wakes *W = w->ctx->wakes;
    struct wake_group *g = w->g;
    for (struct ctl_wake **p = &g->waiters; *p; p = &(*p)->next) {
        if (*p == w) {
            *p = w->next;
            break;
        }
    }
    if (!g->waiters) {
        group_unlink(W, g);
        free(g);
    }
    W->n--;
    event_free(w->ev);
    free(w);
}

static void on_waiter_ev(evutil_socket_t fd, short what, void *ud)
{
    struct ctl_wake *w = ud;
    struct ctl_error e = w->e;
    if (!w->ended)
        (void)ctl_error_set(&e, CTL_E_UNAVAILABLE, NULL, NULL,
                            "the sandbox did not resume within %d s", CTL_WAKE_TIMEOUT_MS / 1000);
    ctl_wake_fn fn = w->fn;
    void *ud2 = w->ud;
    waiter_drop(w);
    fn(ud2, &e);
}

/* Ends every waiter of g with code (CTL_OK: the sandbox runs): each one's callback runs from
 * the loop right after. The group goes once its last waiter has been told. */
static void group_end(struct ctl *ctx, struct wake_group *g, enum ctl_code code,
                      const char *state, const char *msg)
{
    if (code == CTL_OK)
        ctl_idle_touch(ctx, g->id); /* woken by traffic: not idle, whatever the clock said */
    for (struct ctl_wake *w = g->waiters; w; w = w->next) {
        if (w->ended)
            continue;
        w->ended = true;
        w->e = (struct ctl_error){ .code = CTL_OK };
        if (code != CTL_OK)
            (void)ctl_error_set(&w->e, code, NULL, state, "%s", msg);
        event_active(w->ev, EV_TIMEOUT, 0);
    }
    g->resume_on_pause = false;
}

/* The shared resume, with the edge as the actor of the "resumed" event. */
static int group_resume(struct ctl *ctx, struct wake_group *g, struct ctl_error *e)
{
    struct ctl_caller who = { .user_id = g->user_id, .actor = g->actor,
                              .reason = "traffic for a paused sandbox" };
    log_info(NULL, "sandbox wake: resuming on traffic", "{s:s,s:s}", "sandbox", g->id, "actor",
             g->actor);
    return ctl_sandbox_resume(ctx, &who, g->id, e);
}

/* Every settle of every row: the ones of a sandbox with waiters move its group on. */
static void on_settle(void *ud, const char *id, enum store_state from, enum store_state to,
                      int64_t at_ms)
{
    struct ctl *ctx = ud;
    struct wake_group *g = ctx->wakes ? group_find(ctx->wakes, id) : NULL;
    if (!g)
        return;
    switch (to) {
    case STORE_RUNNING: /* resumed, or a pause that failed and left it running */
        group_end(ctx, g, CTL_OK, NULL, NULL);
        break;
    case STORE_PAUSED:
        if (g->resume_on_pause) {
            g->resume_on_pause = false;
            struct ctl_error e = { .code = CTL_OK };
            if (group_resume(ctx, g, &e) < 0)
                group_end(ctx, g, e.code, e.state[0] ? e.state : NULL, e.msg);
        }
        break;
    case STORE_ERROR:
    case STORE_FAILED:
        group_end(ctx, g, CTL_E_UNAVAILABLE, NULL, "the sandbox could not be resumed");
        break;
    case STORE_DESTROYING:
    case STORE_DESTROYED:
        group_end(ctx, g, CTL_E_NOT_FOUND, NULL, "sandbox not found");
        break;
    default:
        break;
    }
}

static struct ctl_wakes *wakes(struct ctl *ctx)
{
    if (!ctx->wakes)
        ctx->wakes = calloc(1, sizeof(*ctx->wakes));
    struct ctl_wakes *W = ctx->wakes;
    if (W && !W->listening && ctl_events_listen(ctx, on_settle, ctx) == 0)
        W->listening = true;
    return W && W->listening ? W : NULL;
}

/* What a row's state means for traffic: 0 running, 1 wait (paused, pausing, resuming), or an
 * error for the states traffic must not change. */
static int state_gate(enum store_state s, struct ctl_error *e)
{
    switch (s) {
    case STORE_RUNNING:
        return 0;
    case STORE_PAUSED:
    case STORE_PAUSING:
    case STORE_RESUMING:
        return 1;
    case STORE_DESTROYED:
        return ctl_error_set(e, CTL_E_NOT_FOUND, NULL, NULL, "sandbox not found");
    default:
        return ctl_error_set(e, CTL_E_INVALID_STATE, NULL, store_state_to_string(s),
                             "a %s sandbox is not woken by traffic", store_state_to_string(s));
    }
}

int ctl_sandbox_wake(struct ctl *c, const char *user_id, const char *id, const char *actor,
                     ctl_wake_fn fn, void *ud, struct ctl_wake **ret, struct ctl_error *e)
{
    *ret = NULL;
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    int r = store_sandbox_get(c->store, user_id, id, &sb);
    enum store_state s = sb.status;
    store_sandbox_release(&sb);
    if (r == -ENOENT)
        return ctl_error_set(e, CTL_E_NOT_FOUND, NULL, NULL, "sandbox not found");
    if (r < 0)
        return ctl_error_internal(e, "read sandbox", r);
    r = state_gate(s, e);
    if (r == 0) {
        ctl_idle_touch(c, id);
        return 0;
    }
    if (r < 0)
        return r;
    if (!c->host || !c->base)
        return ctl_error_set(e, CTL_E_UNAVAILABLE, NULL, NULL, "the VM layer is not running");
    struct ctl_wakes *W = wakes(c);
    if (!W)
        return ctl_error_internal(e, "wake bookkeeping", -ENOMEM);
    if (W->n >= CTL_WAKE_WAITERS_MAX)
        return ctl_error_set(e, CTL_E_UNAVAILABLE, NULL, NULL,
                             "too many requests are waiting for sandboxes to resume");
    struct ctl_wake *w = calloc(1, sizeof(*w));
    struct wake_group *g = group_find(W, id);
    bool new_group = !g;
    if (new_group)
        g = calloc(1, sizeof(*g));
    if (w)
        w->ev = evtimer_new(c->base, on_waiter_ev, w);
    if (!w || !g || !w->ev) {
        if (w && w->ev)
            event_free(w->ev);
        free(w);
        if (new_group)
            free(g);
        return ctl_error_internal(e, "wake waiter", -ENOMEM);
    }
    if (new_group) {
        snprintf(g->id, sizeof(g->id), "%s", id);
        snprintf(g->user_id, sizeof(g->user_id), "%s", user_id ? user_id : "");
        snprintf(g->actor, sizeof(g->actor), "%s", actor ? actor : CTL_ACTOR_HEARTHD);
        /* a paused row is resumed now; a pausing one once its pause settles; a resuming one
         * (someone else's resume) is only waited for */
        if (s == STORE_PAUSED) {
            r = group_resume(c, g, e);
            if (r < 0) {
                event_free(w->ev);
                free(w);
                free(g);
                return r;
            }
        }
        g->resume_on_pause = s == STORE_PAUSING;
        g->next = W->groups;
        W->groups = g;
    }
    *w = (struct ctl_wake){ .ctx = c, .g = g, .next = g->waiters, .ev = w->ev, .fn = fn,
                            .ud = ud };
    g->waiters = w;
    W->n++;
    struct timeval tv = { CTL_WAKE_TIMEOUT_MS / 1000, (CTL_WAKE_TIMEOUT_MS % 1000) * 1000 };
    evtimer_add(w->ev, &tv);
    *ret = w;
    return 1;
}

void ctl_wake_cancel(struct ctl *c, struct ctl_wake *w)
{
    if (w)
        waiter_drop(w);
}

unsigned ctl_wake_pending(const struct ctl *c)
{
    return c->wakes ? c->wakes->n : 0;
}

void ctl_wake_release(struct ctl *c)
{
    struct ctl_wakes *W = c->wakes;
    if (!W)
        return;
    while (W->groups)
        waiter_drop(W->groups->waiters); /* at exit: nobody is told */
    if (W->listening)
        ctl_events_unlisten(c, c);
    free(W);
    c->wakes = NULL;
}
