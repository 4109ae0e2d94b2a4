/* SPDX-License-Identifier: MIT */
/* events.h: a sandbox's event log (docs/api.md "Events"): the control layer appends one event
 * at each settle point (a row leaving a transitional state, a fork, a guest's own request) to
 * the store, naming who asked and why, and tells in-process listeners (the usage histograms)
 * of every settle with its exact time. Nothing here fails an operation: a store error is logged. */
#pragma once

#include <stdint.h>

#include "daemon/store/store.h"

struct ctl;
struct timeline;

#define CTL_EVENT_LISTENERS 4
#define CTL_EVENT_CAUSES 256        /* sandboxes with a cause waiting for their settle */
#define CTL_EVENT_TIMELINES 64      /* sandboxes with a timeline waiting for their settle */

/* Who asked for a transition (the event's "actor"). */
#define CTL_ACTOR_API "api"
#define CTL_ACTOR_AUTO_PAUSE "auto_pause"
#define CTL_ACTOR_SELF "self"
#define CTL_ACTOR_HEARTHD "hearthd"

/* A row settled: from → to at at_ms (wall clock, the row's updated_at). */
typedef void (*ctl_settle_fn)(void *ud, const char *id, enum store_state from,
                              enum store_state to, int64_t at_ms);
/* Adds (fn NULL: removes ud's) a listener; at most CTL_EVENT_LISTENERS. 0 or -ENOSPC. */
int ctl_events_listen(struct ctl *c, ctl_settle_fn fn, void *ud);
void ctl_events_unlisten(struct ctl *c, void *ud);

/* Records who asked for sandbox id's next transition (reason may be NULL): the event of its
 * settle carries them. A newer cause replaces an older one; actor NULL forgets id's cause (the
 * transition did not start). */
void ctl_event_cause(struct ctl *c, const char *id, const char *actor, const char *reason);
/* The steps so far of sandbox id's operation op (an enum ctl_usage_op of usage.h: create,
 * pause, resume, fork), handed over just before the store write that settles it
 * (docs/performance.md "Where the time goes"): that settle marks "settle", stores the timeline
 * with the event and shows it to the listeners (ctl_event_settling_timeline: usage.c logs it
 * and feeds the step histograms). A newer one replaces an older; when the
 * table is full the oldest is forgotten (that settle has no timeline). */
void ctl_event_timeline(struct ctl *c, const char *id, int op, const struct timeline *tl);
/* Inside a settle listener: the timeline of the operation that settle ends and its op, or
 * NULL when it has none. Borrowed for the listener's call. */
const struct timeline *ctl_event_settling_timeline(struct ctl *c, int *ret_op);
/* A row of id went from → to at at_ms: appends the matching event ("created", "paused",
 * "pause_failed", "resumed", "resume_failed", "destroyed", "failed", ...; a move into a
 * transitional state appends nothing) with the recorded cause and detail (may be NULL), and
 * tells the listeners. */
void ctl_event_settled(struct ctl *c, const char *id, enum store_state from, enum store_state to,
                       int64_t at_ms, const char *detail);
/* Appends one event of kind outside a transition (a fork, a dropped self request). */
void ctl_event_add(struct ctl *c, const char *id, const char *kind, const char *actor,
                   const char *reason, const char *detail);
/* Frees the causes and listeners (service.c, at exit). */
void ctl_events_release(struct ctl *c);
