/* SPDX-License-Identifier: MIT */
/* auth_limit.h: brute force is slowed down (docs/ingress-ssh.md "Limits"). Every edge that
 * checks a credential (the API, private ingress, the SSH gateway's password and key logins)
 * reports failures per source address here and asks before it checks: an address with too many
 * recent failures is refused without a check until its window has passed. Bounded memory: the
 * table forgets the oldest addresses first. Everything runs on the loop thread.
 *
 * The numbers: more than AUTH_LIMIT_FAILURES failures from one source within
 * AUTH_LIMIT_WINDOW_S seconds limit it for AUTH_LIMIT_BLOCK_S seconds. A source is an IPv4
 * address or an IPv6 /64 (one host usually holds a whole /64; an IPv4-mapped IPv6 address
 * counts as its IPv4 address). The table holds AUTH_LIMIT_ENTRIES sources. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define AUTH_LIMIT_FAILURES 10
#define AUTH_LIMIT_WINDOW_S 60
#define AUTH_LIMIT_BLOCK_S 60
#define AUTH_LIMIT_ENTRIES 4096

struct buf;
struct ctl;

/* The edge that asks: only a label of the operator metrics (hearth_auth_failures_total and
 * hearth_auth_limited_total); every edge shares the one table. */
enum ctl_auth_edge { CTL_AUTH_API, CTL_AUTH_INGRESS, CTL_AUTH_SSH, CTL_AUTH_EDGES };

/* True when peer may not try now (answer 429 / refuse the login; counted as limited for
 * edge). NULL peer: never limited. */
bool ctl_auth_limited(struct ctl *c, enum ctl_auth_edge edge, const struct sockaddr *peer);
/* The same as the whole seconds until peer may try again (for Retry-After; at least 1), or 0
 * when it may try now. */
unsigned ctl_auth_retry_after(struct ctl *c, enum ctl_auth_edge edge,
                              const struct sockaddr *peer);
/* One failed credential from peer at edge (counted; NULL, or an address family other than
 * IPv4/IPv6: nothing else). */
void ctl_auth_failed(struct ctl *c, enum ctl_auth_edge edge, const struct sockaddr *peer);
/* Appends hearth_auth_failures_total{edge}, hearth_auth_limited_total{edge} and the gauge
 * hearth_auth_limited_sources (docs/operations.md "Metrics"). 0 or -ENOBUFS. */
__attribute__((warn_unused_result))
int ctl_auth_limit_render(struct ctl *c, struct buf *out);

/* Tests: the clock (monotonic µs) the table reads; NULL restores the real one. Returns 0 or
 * -ENOMEM. */
int ctl_auth_limit_set_clock(struct ctl *c, int64_t (*now_us)(void));
/* Frees the table (ctl_service_release()). */
void ctl_auth_limit_release(struct ctl *c);
