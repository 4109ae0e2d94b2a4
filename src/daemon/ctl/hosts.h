/* SPDX-License-Identifier: MIT */
/* hosts.h: the host registry seen from the control layer (docs/scale-out.md "Hosts"). This
 * hearthd reports its host (region, labels, memory, CPUs, VMs, images) at start and every
 * heartbeat; a host's status is derived: `draining` when the operator drained it, `dead` when
 * its last report is older than host_dead_after_s, else `active`. Each heartbeat also fails the
 * sandboxes a dead host was running (their VMs cannot be reached: `error` with the reason), and
 * new sandboxes are placed only on an active host (placement.h). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "daemon/store/store.h"

struct ctl;
struct ctl_error;
struct ctl_selector;

enum ctl_host_status {
    CTL_HOST_ACTIVE,
    CTL_HOST_DRAINING,
    CTL_HOST_DEAD,
};

const char *ctl_host_status_name(enum ctl_host_status s);
/* The status of h at now_ms, with hosts dead after dead_after_ms without a report. */
enum ctl_host_status ctl_host_status_of(const struct store_host *h, int64_t now_ms,
                                        int64_t dead_after_ms);

/* Writes this host's report now (start-up, and each heartbeat). 0 or -errno (logged). */
int ctl_hosts_report(struct ctl *c);
/* First report, then a heartbeat every host_heartbeat_s on c->base. 0 or -errno. */
int ctl_hosts_start(struct ctl *c);
/* A control plane's part (role = control): no report, but the same sweep of dead hosts every
 * host_heartbeat_s. 0 or -errno. */
int ctl_hosts_watch_start(struct ctl *c);
/* Stops the heartbeat and frees it (at exit). */
void ctl_hosts_release(struct ctl *c);

/* True when the registry holds at least one active host. */
bool ctl_hosts_any_active(struct ctl *c);

/* Every registered host with its status (statuses[i] for hosts[i]); free(*ret_hosts). */
__attribute__((warn_unused_result))
int ctl_hosts_list(struct ctl *c, struct store_host **ret_hosts,
                   enum ctl_host_status **ret_statuses, size_t *ret_n, struct ctl_error *e);

/* Drains (on) or undrains host id: 0 with *ret (its row after), CTL_E_NOT_FOUND,
 * CTL_E_INTERNAL. */
__attribute__((warn_unused_result))
int ctl_host_drain(struct ctl *c, const char *id, bool on, struct store_host *ret,
                   struct ctl_error *e);

/* Before a new sandbox is stored (create, fork): chooses an active host of this region whose
 * labels hold selector (NULL: any) with room for mem_mib and vcpus (placement.h). With
 * ret_host, any such host may be chosen (another one runs the create through the work queue,
 * jobs.h) and its id is written there; without, only this host (when it runs VMs) may be.
 * host_id (NULL: any) pins one (admin). 0; CTL_E_UNKNOWN_REF "no host matches" (field
 * node_selector); CTL_E_INVALID "unknown host" / "host is not active" (field host_id);
 * CTL_E_NO_CAPACITY "no active host" / "no host has room"; CTL_E_INTERNAL. */
__attribute__((warn_unused_result))
int ctl_hosts_place(struct ctl *c, const struct ctl_selector *selector, const char *host_id,
                    int64_t mem_mib, int64_t vcpus, char ret_host[STORE_HOST_SIZE],
                    struct ctl_error *e);
