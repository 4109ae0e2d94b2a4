/* SPDX-License-Identifier: MIT */
/* pool_take.h: a taken pooled VM (pool.h) becomes sandbox id's: the sandbox's data plane on
 * the VM's tap (ctl_net_vm_prepare: address, egress, memberships, cap, as for any sandbox
 * VM), its network in the guest (NETCFG: MAC, addresses, routes, DNS), then its hostname,
 * /etc/hostname and SSH keys (the identity script create runs after a golden restore). The
 * sandbox's row must exist (it holds what is applied). */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct ctl;
struct timeline;

/* Runs once, from the loop: err 0, or -errno with a one-line msg. */
typedef void (*ctl_pool_applied_fn)(void *ud, int err, const char *msg);

/* Applies sandbox id's identity to its VM, a pooled one it took. hostname and keys are
 * copied. tl (the create's timeline, borrowed until done runs; may be NULL) gets the step
 * "net_apply" (the data plane on the tap); the caller marks "identity" when done runs (the
 * new session and the keys' command) as after any boot, and "pool_take" at the take
 * (docs/performance.md "Where the time goes"). */
void ctl_pool_apply(struct ctl *c, const char *id, struct timeline *tl, const char *hostname,
                    const char *const *keys, size_t n_keys, ctl_pool_applied_fn done, void *ud);
