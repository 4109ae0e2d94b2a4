/* SPDX-License-Identifier: MIT */
/* sandbox_self.c: acting on a guest's own pause or delete request (sandbox_self.h). The
 * request runs from the next loop turn: the host hands it over while reading the VM's agent
 * channel, and a pause or a destroy of that very VM must not run under that read. Each request is logged in the
 * sandbox's event log ("self_request"); one the state forbids (a pause of a paused sandbox, any
 * request while the sandbox is moving) is dropped with a "self_dropped" event naming why. */
#include "daemon/ctl/sandbox_self.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/buf.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/events.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/host/host.h"
#include "daemon/log.h"
#include "daemon/store/store.h"

struct self_req {
    struct ctl *c;
    struct self_req *next;
    struct event *turn;           /* fires on the next loop turn; freed with the request */
    char id[STORE_ID_SIZE];
    bool pause;
    char reason[STORE_EVENT_REASON_SIZE];
};

/* The requests waiting for their turn (one per sandbox at most) and what came of the others.
 * Only the loop thread touches it. */
struct ctl_self {
    struct self_req *pending;
    unsigned npending;
    unsigned long long acted, refused, dropped;
};

static struct ctl_self *state(struct ctl *c)
{
    if (!c->self)
        c->self = calloc(1, sizeof(*c->self));
    return c->self;
}

static void req_free(struct self_req *q)
{
    if (q->turn)
        event_free(q->turn);
    free(q);
}

static void unlink_req(struct ctl_self *st, struct self_req *q)
{
    for (struct self_req **p = &st->pending; *p; p = &(*p)->next) {
        if (*p == q) {
            *p = q->next;
            st->npending--;
            return;
        }
    }
}

static void act(struct self_req *q)
{
    struct ctl *c = q->c;
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    int r = store_sandbox_get(c->store, NULL, q->id, &sb);
    char user[STORE_USER_SIZE];
    snprintf(user, sizeof(user), "%s", r == 0 ? sb.user_id : "");
    enum store_state s = sb.status;
    store_sandbox_release(&sb);
    if (r < 0) {
        log_warn(NULL, "self request for an unknown sandbox, dropped", "{s:s}", "sandbox", q->id);
        return;
    }
    char req_id[64];
    snprintf(req_id, sizeof(req_id), "self-%s", q->id);
    const char *action = q->pause ? "pause" : "delete";
    ctl_event_add(c, q->id, "self_request", CTL_ACTOR_SELF, q->reason, action);
    log_info(req_id, "sandbox asked for itself", "{s:s,s:s,s:s}", "sandbox", q->id, "action",
             action, "reason", q->reason);
    /* the owner's own request, with the owner's state rules (docs/api.md §3.15) */
    struct ctl_caller who = { .user_id = user, .req_id = req_id, .actor = CTL_ACTOR_SELF,
                              .reason = q->reason };
    struct ctl_error e = { 0 };
    enum store_state after = STORE_STATE_NONE;
    if (q->pause && s != STORE_RUNNING)
        r = ctl_error_set(&e, CTL_E_INVALID_STATE, NULL, store_state_to_string(s),
                          "only a running sandbox can be paused");
    else if (q->pause)
        r = ctl_sandbox_pause(c, &who, q->id, &e);
    else
        r = ctl_sandbox_destroy(c, &who, q->id, &after, &e);
    if (r >= 0)
        c->self->acted++;
    else
        c->self->refused++;
    if (r < 0) {
        char detail[256];
        snprintf(detail, sizeof(detail), "%s in state %s: %.180s", action,
                 store_state_to_string(s), e.msg);
        ctl_event_add(c, q->id, "self_dropped", CTL_ACTOR_SELF, q->reason, detail);
        log_warn(req_id, "self request dropped", "{s:s,s:s,s:s}", "sandbox", q->id, "action",
                 action, "why", e.msg);
    }
}

static void on_turn(evutil_socket_t fd, short what, void *ud)
{
    struct self_req *q = ud;
    unlink_req(q->c->self, q);
    act(q);
    req_free(q);
}

void ctl_self_request(struct ctl *c, const char *id, const char *action, const char *reason)
{
    bool pause = strcmp(action, "pause") == 0;
    struct ctl_self *st = state(c);
    if ((!pause && strcmp(action, "delete") != 0) || !st)
        return;
    for (struct self_req *p = st->pending; p; p = p->next) {
        if (strcmp(p->id, id) == 0) { /* one in flight per sandbox */
            st->dropped++;
            return;
        }
    }
    struct self_req *q = st->npending < CTL_SELF_PENDING_MAX ? calloc(1, sizeof(*q)) : NULL;
    if (q && c->base)
        q->turn = evtimer_new(c->base, on_turn, q);
    struct timeval now = { 0 };
    if (!q || !q->turn || evtimer_add(q->turn, &now) < 0) {
        if (q)
            req_free(q);
        st->dropped++;
        return;
    }
    q->c = c;
    q->pause = pause;
    snprintf(q->id, sizeof(q->id), "%s", id);
    snprintf(q->reason, sizeof(q->reason), "%s", reason ? reason : "");
    q->next = st->pending;
    st->pending = q;
    st->npending++;
}

static void on_host_self(void *ud, const char *id, const char *action, const char *reason)
{
    ctl_self_request(ud, id, action, reason);
}

void ctl_self_start(struct ctl *c)
{
    if (c->host)
        host_set_self_handler(c->host, on_host_self, c);
}

void ctl_self_release(struct ctl *c)
{
    if (!c->self)
        return;
    while (c->self->pending) {
        struct self_req *q = c->self->pending;
        c->self->pending = q->next;
        req_free(q);
    }
    free(c->self);
    c->self = NULL;
}

int ctl_self_render(struct ctl *c, struct buf *out)
{
    const struct ctl_self none = { 0 };
    const struct ctl_self *st = c->self ? c->self : &none;
    return buf_appendf(out,
                       "# HELP hearth_self_requests_total Requests of guests to pause or delete "
                       "their own sandbox, by outcome.\n"
                       "# TYPE hearth_self_requests_total counter\n"
                       "hearth_self_requests_total{result=\"acted\"} %llu\n"
                       "hearth_self_requests_total{result=\"refused\"} %llu\n"
                       "hearth_self_requests_total{result=\"dropped\"} %llu\n"
                       "hearth_self_requests_total{result=\"rate_limited\"} %llu\n",
                       st->acted, st->refused, st->dropped,
                       (unsigned long long)host_self_rate_limited(c->host));
}
