/* SPDX-License-Identifier: MIT */
/* idle.h: auto-pause (§2.14.8) of running sandboxes nobody addresses. */
#pragma once

#include <stdbool.h>

struct ctl;

/* Marks sandbox id active now (an API request addressed to it), or opens/closes a long-lived
 * stream (exec) that keeps it active while open. */
void ctl_idle_touch(struct ctl *c, const char *id);
void ctl_idle_stream(struct ctl *c, const char *id, bool open);
/* Starts the auto-pause timer on c->base (checks every few seconds). 0 or -ENOMEM. */
int ctl_idle_start(struct ctl *c);
/* Frees the bookkeeping and the timer (ctl_release). */
void ctl_idle_release(struct ctl *c);
