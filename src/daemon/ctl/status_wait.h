/* SPDX-License-Identifier: MIT */
/* status_wait.h: requests waiting for a sandbox's row to change (docs/api.md §5, "Waiting for a
 * status"): the long polls GET /v1/sandboxes/{id}?wait_for= and GET /v1/templates/{ref}?wait_for=
 * and the short hold of pause and resume. A waiter names one sandbox or template; the settle
 * listener (events.h) wakes every waiter of a sandbox after each of its transitions, the
 * template builder every waiter of a template after each status change, through the waiter's own timer, so the callback runs
 * from the loop and never inside a settle. The same timer ends the wait at its deadline. No
 * polling. Bounded: CTL_STATUS_WAITERS_MAX in all and CTL_STATUS_WAITERS_USER per user. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct ctl;
struct ctl_status_waiter;

#define CTL_STATUS_WAITERS_MAX 1024  /* waiters pending across all users */
#define CTL_STATUS_WAITERS_USER 64   /* waiters pending for one user (all their keys, tokens) */

/* A wake: timed_out false after a transition of the sandbox (read the row and decide), true at
 * the deadline. Return true to keep waiting (only when not timed out), false to end: the
 * registry then frees the waiter (do not remove it yourself). */
typedef bool (*ctl_status_wait_fn)(void *ud, bool timed_out);

/* Registers a waiter on sandbox id for user_id, ending after timeout_ms at the latest. 0 with
 * *ret set, -EAGAIN when a cap is reached, -ENOMEM. */
int ctl_status_wait_add(struct ctl *c, const char *user_id, const char *id, uint32_t timeout_ms,
                        ctl_status_wait_fn fn, void *ud, struct ctl_status_waiter **ret);
/* Wakes every waiter of id (a sandbox's or a template's) from the loop: the template builder
 * calls it after each status change of a template; sandboxes come through the settle listener. */
void ctl_status_wait_wake(struct ctl *c, const char *id);
/* Ends every wait now, as at its deadline (from the loop): hearthd is shutting down and its
 * in-flight requests should not hold the drain for up to a minute. */
void ctl_status_wait_end_all(struct ctl *c);
/* Drops a waiter whose request went away; its fn never runs again. NULL is fine. */
void ctl_status_wait_remove(struct ctl_status_waiter *w);
/* Waiters pending (all users), for tests and metrics. */
unsigned ctl_status_wait_count(const struct ctl *c);
/* Frees every waiter without calling it and unregisters the listener (service.c, at exit). */
void ctl_status_wait_release(struct ctl *c);
