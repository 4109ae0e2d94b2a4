/* SPDX-License-Identifier: MIT */
/* sandbox_self.h: a guest's own pause or delete request (docs/api.md §3.15): the agent relays
 * what 127.0.0.1:1029 or /run/self inside the guest was asked, and the control layer performs it as
 * the sandbox's owner under the normal state rules. The VM id the frame came from is the only
 * identity: nothing in the request names a sandbox, so a sandbox can only signal itself. */
#pragma once

struct buf;
struct ctl;

#define CTL_SELF_PENDING_MAX 64    /* requests waiting for the next loop turn, all sandboxes */

/* Makes the host pass every VM's SELF requests here (after the host is set). */
void ctl_self_start(struct ctl *c);
/* One request of sandbox id, as the host passes it: action "pause" or "delete", reason (may be
 * ""). Acted on from the next loop turn (never inside the agent client's read); while one of
 * the same sandbox waits, more are dropped and counted. */
void ctl_self_request(struct ctl *c, const char *id, const char *action, const char *reason);
/* Frees the requests still waiting (they are not acted on). */
void ctl_self_release(struct ctl *c);
/* Appends hearth_self_requests_total{result} (docs/api.md §5.2): acted on, refused by the
 * state rules, dropped here, rate-limited by the host. 0 or -ENOBUFS. */
int ctl_self_render(struct ctl *c, struct buf *out);
