/* SPDX-License-Identifier: MIT */
/* sandbox_wake.h: traffic wakes a paused sandbox (docs/ingress-ssh.md "Waking on traffic").
 * The edges (the ingress proxy, the SSH gateway) call ctl_sandbox_wake() before they open a
 * stream: a running sandbox answers at once; a paused one (or one still pausing) is resumed,
 * recorded in its event log with the edge as actor, and the callback runs once it is running
 * again or the resume failed. Concurrent wakers of one sandbox share one resume. A sandbox the
 * idle timer paused keeps its processes: a resume restores the whole memory snapshot. Everything
 * runs on the loop thread. */
#pragma once

#include <stdbool.h>

struct ctl;
struct ctl_error;
struct ctl_wake;

#define CTL_ACTOR_INGRESS "ingress"
#define CTL_ACTOR_SSH "ssh"
#define CTL_WAKE_TIMEOUT_MS 30000 /* a resume not done by then fails the waiter (503) */
#define CTL_WAKE_WAITERS_MAX 1024 /* waiters pending across all sandboxes; more: CTL_E_UNAVAILABLE */

/* The end of a pending wake: e->code CTL_OK when sandbox id is running now, else why not
 * (CTL_E_NOT_FOUND when it was destroyed meanwhile, CTL_E_UNAVAILABLE for a failed resume or
 * the timeout, CTL_E_NO_CAPACITY when host_max_vms is reached). Runs exactly once per pending
 * wake unless cancelled, from the loop: never inside ctl_sandbox_wake() nor inside another
 * control-layer call. The waiter is freed before fn runs. */
typedef void (*ctl_wake_fn)(void *ud, const struct ctl_error *e);

/* Makes sure sandbox id of user_id runs. Returns 0 when it is running now (fn never runs,
 * *ret NULL); 1 when a resume is under way (fn runs later; *ret is the waiter, which the caller
 * may cancel until then); or < 0 with e filled: CTL_E_NOT_FOUND (no such sandbox of user_id,
 * destroyed), CTL_E_INVALID_STATE (error, failed, destroying, creating, forking: not wakeable
 * by traffic), CTL_E_UNAVAILABLE (no VM layer, or CTL_WAKE_WAITERS_MAX waiters pending),
 * CTL_E_NO_CAPACITY, CTL_E_INTERNAL. actor (CTL_ACTOR_INGRESS, CTL_ACTOR_SSH) names the edge in
 * the event log. A paused row is resumed at once; a pausing one once its pause settles; a
 * resuming one (resumed by someone else) is waited for; all waiters of one sandbox share that
 * one resume. Waking, and answering 0, count as activity for the idle auto-pauser (idle.h). */
__attribute__((warn_unused_result))
int ctl_sandbox_wake(struct ctl *c, const char *user_id, const char *id, const char *actor,
                     ctl_wake_fn fn, void *ud, struct ctl_wake **ret, struct ctl_error *e);
/* Forgets a pending waiter: its fn will not run. NULL is fine. */
void ctl_wake_cancel(struct ctl *c, struct ctl_wake *w);
/* Waiters pending now (tests, metrics). */
unsigned ctl_wake_pending(const struct ctl *c);
/* Frees the waiters without telling them, and the settle listener (ctl_service_release, at
 * exit: the edges have cancelled theirs by then). */
void ctl_wake_release(struct ctl *c);
