/* SPDX-License-Identifier: MIT */
/* auth_limit.h: brute force is slowed down (docs/ingress-ssh.md "Limits"). Every edge that
 * checks a credential (the API, private ingress, the SSH gateway's password and key logins)
 * reports failures per source address here and asks before it checks: an address with too many
 * recent failures is refused without a check until its window has passed. Bounded memory: the
 * table forgets the oldest addresses first. Everything runs on the loop thread. */
#pragma once

#include <stdbool.h>
#include <sys/socket.h>

struct ctl;

/* True when peer may not try now (answer 429 / refuse the login). NULL peer: never limited. */
bool ctl_auth_limited(struct ctl *c, const struct sockaddr *peer);
/* One failed credential from peer (NULL: nothing). */
void ctl_auth_failed(struct ctl *c, const struct sockaddr *peer);
