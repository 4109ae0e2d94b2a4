/* SPDX-License-Identifier: MIT */
/* events.c: the sandbox event log's writer and the settle listeners (events.h). The cause of
 * a transition (who, why) is kept in memory from the request to its settle, in a bounded table:
 * when it is full the oldest cause is forgotten and that event names no actor. */
#include "daemon/ctl/events.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timefmt.h"
#include "common/timeline.h"
#include "common/utf8.h"
#include "daemon/ctl/ctl.h"
#include "daemon/log.h"

/* What the two bounded per-sandbox tables below share, first in each entry: whose it is ("":
 * a free slot) and its age, so that a full table forgets its oldest entry. */
struct slot_key {
    char id[STORE_ID_SIZE];
    uint64_t order;
};

struct cause {
    struct slot_key key;
    char actor[24];
    char reason[STORE_EVENT_REASON_SIZE];
};

/* An operation's timeline waiting for its settle (ctl_event_timeline). */
struct op_timeline {
    struct slot_key key;
    int op;                     /* enum ctl_usage_op */
    struct timeline tl;
};

struct ctl_events {
    struct { ctl_settle_fn fn; void *ud; } l[CTL_EVENT_LISTENERS];
    struct cause cause[CTL_EVENT_CAUSES];
    struct op_timeline tls[CTL_EVENT_TIMELINES];
    const struct op_timeline *settling;     /* while the listeners hear of a settle */
    uint64_t next_order;
};

static struct ctl_events *events(struct ctl *c)
{
    if (!c->events)
        c->events = calloc(1, sizeof(*c->events));
    return c->events;
}

int ctl_events_listen(struct ctl *c, ctl_settle_fn fn, void *ud)
{
    struct ctl_events *ev = events(c);
    if (!ev)
        return -ENOMEM;
    for (size_t i = 0; i < CTL_EVENT_LISTENERS; i++) {
        if (!ev->l[i].fn) {
            ev->l[i].fn = fn;
            ev->l[i].ud = ud;
            return 0;
        }
    }
    return -ENOSPC;
}

void ctl_events_unlisten(struct ctl *c, void *ud)
{
    for (size_t i = 0; c->events && i < CTL_EVENT_LISTENERS; i++)
        if (c->events->l[i].ud == ud)
            c->events->l[i].fn = NULL;
}

#define SLOT_AT(base, stride, i) ((struct slot_key *)((char *)(base) + (i) * (stride)))

/* The entry of id in a table of n entries of stride bytes, each starting with a slot_key;
 * NULL when it has none. */
static struct slot_key *slot_find(void *base, size_t stride, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (SLOT_AT(base, stride, i)->id[0] && strcmp(SLOT_AT(base, stride, i)->id, id) == 0)
            return SLOT_AT(base, stride, i);
    return NULL;
}

/* The entry for id to (over)write: its own, else a free one, else the oldest (forgotten),
 * keyed to id and made the newest. */
static struct slot_key *slot_claim(struct ctl_events *ev, void *base, size_t stride, size_t n,
                                   const char *id)
{
    struct slot_key *slot = slot_find(base, stride, n, id);
    for (size_t i = 0; i < n && !slot; i++)
        if (!SLOT_AT(base, stride, i)->id[0])
            slot = SLOT_AT(base, stride, i);
    if (!slot) { /* full: the oldest entry is forgotten */
        slot = SLOT_AT(base, stride, 0);
        for (size_t i = 1; i < n; i++)
            if (SLOT_AT(base, stride, i)->order < slot->order)
                slot = SLOT_AT(base, stride, i);
    }
    snprintf(slot->id, sizeof(slot->id), "%s", id);
    slot->order = ++ev->next_order;
    return slot;
}

/* Takes id's cause out of the table into actor and reason ("" when none). */
static void take_cause(struct ctl *c, const char *id, char *actor, size_t actor_size,
                       char *reason, size_t reason_size)
{
    actor[0] = reason[0] = 0;
    struct cause *k = c->events ? (struct cause *)slot_find(c->events->cause, sizeof(*k),
                                                            CTL_EVENT_CAUSES, id)
                                : NULL;
    if (!k)
        return;
    snprintf(actor, actor_size, "%s", k->actor);
    snprintf(reason, reason_size, "%s", k->reason);
    memset(k, 0, sizeof(*k));
}

void ctl_event_cause(struct ctl *c, const char *id, const char *actor, const char *reason)
{
    struct ctl_events *ev = events(c);
    if (!ev || !id)
        return;
    if (!actor) {
        char a[24], r[STORE_EVENT_REASON_SIZE];
        take_cause(c, id, a, sizeof(a), r, sizeof(r));
        return;
    }
    struct cause *slot = (struct cause *)slot_claim(ev, ev->cause, sizeof(*slot),
                                                    CTL_EVENT_CAUSES, id);
    snprintf(slot->actor, sizeof(slot->actor), "%s", actor ? actor : "");
    snprintf(slot->reason, sizeof(slot->reason), "%s", reason ? reason : "");
    utf8_cut_partial(slot->reason);
}

void ctl_event_timeline(struct ctl *c, const char *id, int op, const struct timeline *tl)
{
    struct ctl_events *ev = events(c);
    if (!ev || !id || !tl->start_us)
        return;
    struct op_timeline *slot = (struct op_timeline *)slot_claim(ev, ev->tls, sizeof(*slot),
                                                                CTL_EVENT_TIMELINES, id);
    slot->op = op;
    slot->tl = *tl;
}

const struct timeline *ctl_event_settling_timeline(struct ctl *c, int *ret_op)
{
    const struct op_timeline *t = c->events ? c->events->settling : NULL;
    *ret_op = t ? t->op : -1;
    return t ? &t->tl : NULL;
}

/* The settle of id's timed operation: taken out of the table into cur (cur->key.id "" when id
 * has none waiting), "settle" marked, its text into out. */
static void settle_timeline(struct ctl *c, const char *id, struct op_timeline *cur, char *out,
                            size_t len)
{
    out[0] = '\0';
    struct op_timeline *t =
        c->events ? (struct op_timeline *)slot_find(c->events->tls, sizeof(*t),
                                                    CTL_EVENT_TIMELINES, id)
                  : NULL;
    if (!t)
        return;
    *cur = *t;
    memset(t, 0, sizeof(*t));
    timeline_mark(&cur->tl, "settle");
    timeline_format(&cur->tl, out, len);
}

static void append(struct ctl *c, const char *id, const char *kind, const char *actor,
                   const char *reason, const char *detail, const char *timeline, int64_t at_ms)
{
    struct store_event e = { .at = at_ms };
    snprintf(e.timeline, sizeof(e.timeline), "%s", timeline ? timeline : "");
    snprintf(e.kind, sizeof(e.kind), "%s", kind);
    snprintf(e.actor, sizeof(e.actor), "%s", actor ? actor : "");
    snprintf(e.reason, sizeof(e.reason), "%s", reason ? reason : "");
    snprintf(e.detail, sizeof(e.detail), "%s", detail ? detail : "");
    utf8_cut_partial(e.reason);
    utf8_cut_partial(e.detail);
    int r = store_event_append(c->store, id, &e, NULL);
    if (r < 0 && r != -ENOENT)
        log_warn(NULL, "cannot record sandbox event", "{s:s,s:s,s:s}", "sandbox", id, "event",
                 kind, "err", strerror(-r));
}

/* The event a settle from → to is, or NULL for none (a move into a transitional state, whose
 * own settle follows). */
static const char *settle_kind(enum store_state from, enum store_state to)
{
    switch (to) {
    case STORE_RUNNING:
        return from == STORE_CREATING   ? "created"
               : from == STORE_RESUMING ? "resumed"
               : from == STORE_FORKING  ? "started"
               : from == STORE_PAUSING  ? "pause_failed"
                                        : "running";
    case STORE_PAUSED:
        /* from resuming: the snapshot could not be fetched from S3, the sandbox stays paused */
        return from == STORE_PAUSING    ? "paused"
               : from == STORE_FORKING  ? "created"
               : from == STORE_RESUMING ? "resume_failed"
                                        : "paused";
    case STORE_DESTROYED:
        return "destroyed";
    case STORE_FAILED:
        return from == STORE_CREATING || from == STORE_FORKING ? "create_failed" : "failed";
    case STORE_ERROR:
        return from == STORE_RESUMING ? "resume_failed" : "error";
    default:
        return NULL;
    }
}

void ctl_event_settled(struct ctl *c, const char *id, enum store_state from, enum store_state to,
                       int64_t at_ms, const char *detail)
{
    const char *kind = settle_kind(from, to);
    struct op_timeline cur = { .op = -1 };
    if (kind) {
        char actor[24], reason[STORE_EVENT_REASON_SIZE];
        take_cause(c, id, actor, sizeof(actor), reason, sizeof(reason));
        /* what no one asked for (a VM that died, a failed pause) is hearthd's own doing */
        if (!actor[0] && (to == STORE_FAILED || to == STORE_ERROR || from == STORE_PAUSING))
            snprintf(actor, sizeof(actor), "%s", CTL_ACTOR_HEARTHD);
        char tl[STORE_EVENT_TIMELINE_SIZE];
        settle_timeline(c, id, &cur, tl, sizeof(tl));
        append(c, id, kind, actor, reason, detail, tl, at_ms);
    }
    if (c->events)
        c->events->settling = cur.key.id[0] ? &cur : NULL;
    for (size_t i = 0; c->events && i < CTL_EVENT_LISTENERS; i++)
        if (c->events->l[i].fn)
            c->events->l[i].fn(c->events->l[i].ud, id, from, to, at_ms);
    if (c->events)
        c->events->settling = NULL;
}

void ctl_event_add(struct ctl *c, const char *id, const char *kind, const char *actor,
                   const char *reason, const char *detail)
{
    append(c, id, kind, actor, reason, detail, NULL, timefmt_now_ms());
}

void ctl_events_release(struct ctl *c)
{
    free(c->events);
    c->events = NULL;
}
