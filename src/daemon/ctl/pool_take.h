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

/* Runs once, from the loop: err 0, or -errno with a one-line msg; tl has the steps
 * "pool_take", "net_apply" and "identity" (docs/performance.md "Where the time goes"). */
typedef void (*ctl_pool_applied_fn)(void *ud, int err, const char *msg,
                                    const struct timeline *tl);

/* Applies sandbox id's identity to its VM, a pooled one taken at taken_us (monotonic).
 * hostname and keys are copied. */
void ctl_pool_apply(struct ctl *c, const char *id, int64_t taken_us, const char *hostname,
                    const char *const *keys, size_t n_keys, ctl_pool_applied_fn done, void *ud);
