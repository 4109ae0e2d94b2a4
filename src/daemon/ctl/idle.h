/* SPDX-License-Identifier: MIT */
/* idle.h: auto-pause (§2.14.8) of running sandboxes nobody addresses. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct ctl;

/* Marks sandbox id active now (the control layer's own calls: a create or resume that just
 * finished), or opens/closes a long-lived stream (exec) that keeps it active while open. */
void ctl_idle_touch(struct ctl *c, const char *id);
/* An API request by user_id addressed to sandbox id: activity only when id is user_id's own
 * running sandbox with auto-pause on. Anything else (another user's sandbox, a made-up id) is
 * ignored before it reaches the table, so a caller can neither keep a neighbour's sandbox
 * awake nor grow the table with ids. */
void ctl_idle_touch_request(struct ctl *c, const char *user_id, const char *id);
void ctl_idle_stream(struct ctl *c, const char *id, bool open);
/* How many sandboxes the auto-pauser follows now (tests, metrics). */
size_t ctl_idle_tracked(const struct ctl *c);
/* Starts the auto-pause timer on c->base (checks every few seconds). 0 or -ENOMEM. */
int ctl_idle_start(struct ctl *c);
/* Frees the bookkeeping and the timer (ctl_release). */
void ctl_idle_release(struct ctl *c);
