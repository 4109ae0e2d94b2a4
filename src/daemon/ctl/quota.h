/* SPDX-License-Identifier: MIT */
/* quota.h: the counted limits (docs/operations.md "Limits"): per user, the non-terminal
 * sandboxes (max_sandboxes, 403 quota_exceeded) and live networks (max_networks); per host,
 * the VMs it runs at once (host_max_vms, 503 no_capacity), whose default is derived from the
 * host's memory. Every check runs before anything is stored (docs/api.md §1.11). */
#pragma once

#include <stdint.h>

struct ctl;
struct ctl_error;

/* The user's non-terminal sandboxes against max_sandboxes: 0, or CTL_E_QUOTA (-EDQUOT),
 * CTL_E_INTERNAL when the store cannot count. */
__attribute__((warn_unused_result))
int ctl_quota_sandboxes(struct ctl *c, const char *user_id, struct ctl_error *e);

/* The user's live networks against max_networks: 0, CTL_E_QUOTA, CTL_E_INTERNAL. */
__attribute__((warn_unused_result))
int ctl_quota_networks(struct ctl *c, const char *user_id, struct ctl_error *e);

/* One more VM on this host (a create, a resume, a fork's child) against host_max_vms: 0, or
 * CTL_E_NO_CAPACITY (-EADDRNOTAVAIL): the host is full, nothing was done, retry later. */
__attribute__((warn_unused_result))
int ctl_quota_host_vm(struct ctl *c, struct ctl_error *e);

/* The default of host_max_vms: (mem_total_mib - reserve_mib) / the smallest shape's RAM, at
 * least 1 (a host with less memory than its reserve still runs one). */
uint32_t ctl_quota_host_vms_from_memory(uint64_t mem_total_mib, uint64_t reserve_mib);

/* The field (e.g. "MemAvailable") of a /proc/meminfo-format file, in KiB: 0, or -ENOENT (no
 * such line), -EINVAL (a malformed one: not "<digits> kB"), -errno from open/read. */
__attribute__((warn_unused_result))
int ctl_meminfo_kib(const char *path, const char *field, uint64_t *ret_kib);
/* MemTotal of a /proc/meminfo-format file, in MiB: 0, or -ENOENT (no MemTotal line), -EINVAL
 * (a malformed one), -errno from open/read. */
__attribute__((warn_unused_result))
int ctl_quota_meminfo_mib(const char *path, uint64_t *ret_mib);
