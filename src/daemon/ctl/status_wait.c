/* SPDX-License-Identifier: MIT */
/* status_wait.c: the waiter registry of status_wait.h. One doubly linked list (a few hundred
 * waiters at most); a settle of sandbox id makes every waiter of id active through its timer,
 * which then calls the waiter from the loop. */
#include "daemon/ctl/status_wait.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "daemon/ctl/ctl.h"
#include "daemon/ctl/events.h"
#include "daemon/store/store.h"

struct ctl_status_waiter {
    struct ctl_status_waits *W;
    struct ctl_status_waiter *prev, *next;
    char id[STORE_ID_SIZE];
    char user_id[STORE_USER_SIZE];
    struct event *ev;             /* the deadline, and the deferred wake (event_active) */
    struct timeval deadline;      /* on the loop's clock */
    bool woken;                   /* ev is active for a transition, not the deadline */
    ctl_status_wait_fn fn;
    void *ud;
};

struct ctl_status_waits {
    struct ctl *c;
    struct ctl_status_waiter *head;
    unsigned n;
    bool listening;
};

static void unlink_free(struct ctl_status_waiter *w)
{
    struct ctl_status_waits *W = w->W;
    if (w->prev)
        w->prev->next = w->next;
    else
        W->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    W->n--;
    event_free(w->ev);
    free(w);
}

static void wake(struct ctl_status_waits *W, const char *id)
{
    for (struct ctl_status_waiter *w = W->head; w; w = w->next) {
        if (!w->woken && strcmp(w->id, id) == 0) {
            w->woken = true;
            event_active(w->ev, EV_TIMEOUT, 0);
        }
    }
}

static void on_settle(void *ud, const char *id, enum store_state from, enum store_state to,
                      int64_t at_ms)
{
    (void)from, (void)to, (void)at_ms;
    wake(ud, id);
}

void ctl_status_wait_wake(struct ctl *c, const char *id)
{
    if (c->status_waits)
        wake(c->status_waits, id);
}

static void on_timer(evutil_socket_t fd, short what, void *ud)
{
    (void)fd, (void)what;
    struct ctl_status_waiter *w = ud;
    struct timeval now;
    event_base_gettimeofday_cached(w->W->c->base, &now);
    bool timed_out = !w->woken || !evutil_timercmp(&now, &w->deadline, <);
    w->woken = false;
    if (w->fn(w->ud, timed_out) && !timed_out) {
        /* still waiting: the deadline again (a wake replaced the pending timeout) */
        struct timeval left;
        evutil_timersub(&w->deadline, &now, &left);
        evtimer_add(w->ev, &left);
        return;
    }
    unlink_free(w);
}

static struct ctl_status_waits *waits(struct ctl *c)
{
    if (!c->status_waits) {
        c->status_waits = calloc(1, sizeof(*c->status_waits));
        if (c->status_waits)
            c->status_waits->c = c;
    }
    struct ctl_status_waits *W = c->status_waits;
    if (W && !W->listening && ctl_events_listen(c, on_settle, W) == 0)
        W->listening = true;
    return W && W->listening ? W : NULL;
}

int ctl_status_wait_add(struct ctl *c, const char *user_id, const char *id, uint32_t timeout_ms,
                        ctl_status_wait_fn fn, void *ud, struct ctl_status_waiter **ret)
{
    *ret = NULL;
    struct ctl_status_waits *W = waits(c);
    if (!W)
        return -ENOMEM;
    if (W->n >= CTL_STATUS_WAITERS_MAX)
        return -EAGAIN;
    unsigned mine = 0;
    for (struct ctl_status_waiter *w = W->head; w; w = w->next)
        mine += strcmp(w->user_id, user_id ? user_id : "") == 0;
    if (mine >= CTL_STATUS_WAITERS_USER)
        return -EAGAIN;
    struct ctl_status_waiter *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->ev = evtimer_new(c->base, on_timer, w);
    if (!w->ev) {
        free(w);
        return -ENOMEM;
    }
    w->W = W;
    w->fn = fn;
    w->ud = ud;
    snprintf(w->id, sizeof(w->id), "%s", id);
    snprintf(w->user_id, sizeof(w->user_id), "%s", user_id ? user_id : "");
    struct timeval now, span = { .tv_sec = timeout_ms / 1000,
                                 .tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000 };
    event_base_gettimeofday_cached(c->base, &now);
    evutil_timeradd(&now, &span, &w->deadline);
    evtimer_add(w->ev, &span);
    w->next = W->head;
    if (W->head)
        W->head->prev = w;
    W->head = w;
    W->n++;
    *ret = w;
    return 0;
}

void ctl_status_wait_end_all(struct ctl *c)
{
    struct ctl_status_waits *W = c->status_waits;
    if (!W)
        return;
    struct timeval now;
    event_base_gettimeofday_cached(c->base, &now);
    for (struct ctl_status_waiter *w = W->head; w; w = w->next) {
        w->deadline = now;
        if (!w->woken) {
            w->woken = true; /* on_timer sees the deadline passed: a timeout */
            event_active(w->ev, EV_TIMEOUT, 0);
        }
    }
}

void ctl_status_wait_remove(struct ctl_status_waiter *w)
{
    if (w)
        unlink_free(w);
}

unsigned ctl_status_wait_count(const struct ctl *c)
{
    return c->status_waits ? c->status_waits->n : 0;
}

void ctl_status_wait_release(struct ctl *c)
{
    struct ctl_status_waits *W = c->status_waits;
    if (!W)
        return;
    while (W->head)
        unlink_free(W->head);
    if (W->listening)
        ctl_events_unlisten(c, W);
    free(W);
    c->status_waits = NULL;
}
