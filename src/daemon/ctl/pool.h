/* SPDX-License-Identifier: MIT */
/* pool.h: warm pools (docs/performance.md "Warm pools"). Per configured (rootfs, shape, disk)
 * hearthd keeps VMs restored from that combination's golden snapshot, agent-ready and without
 * identity: no sandbox row, no user, no address, a tap with no data plane. Each has a fresh
 * sandbox id ("sb-<ULID>", the host layer's key: run dir, cgroup, jail, tap name) that nobody
 * was ever given. A create that matches takes one: the sandbox's row is inserted under the
 * pooled VM's id, so the VM already is the sandbox's VM with no rename anywhere, and create
 * then applies the identity (pool_take.h). Misses take today's path. One restore at a time
 * refills a pool in the background, never while the host is at host_max_vms or its memory is
 * under the floor. Pooled VMs never outlive hearthd: stop kills them; after a crash the next
 * start's orphan reconcile removes them (they have no row). Everything runs on the loop. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct ctl;

/* Reads the warm_pool value (daemon/pool_spec.h) and checks every name against the catalog
 * (a present image, a shape, a disk the image fits); the first refill runs from the loop.
 * min_free_mib: the MemAvailable floor (0: none). "" is no pools (0). -EINVAL with a one-line
 * reason in err (hearthd does not start), -ENOMEM. */
int ctl_pool_start(struct ctl *c, const char *spec, uint32_t min_free_mib, char *err,
                   size_t len);
/* Shutdown: every pooled VM is killed (host_vm_discard()) and its tap let go. */
void ctl_pool_stop(struct ctl *c);
/* Frees the bookkeeping (after ctl_pool_stop, while the loop exists). NULL-safe. */
void ctl_pool_release(struct ctl *c);

/* What a create would boot. */
struct ctl_pool_key {
    const char *image;          /* absolute image path (catalog.h ctl_rootfs_image) */
    unsigned vcpus, mem_mib;
    uint64_t disk_mib;
    uint32_t cpu_quota_pct;
};

/* Whether a ready pooled VM matches k (a create taking it adds no VM to the host). */
bool ctl_pool_ready(struct ctl *c, const struct ctl_pool_key *k);
/* Takes a ready pooled VM matching k out of its pool: its id into id (STORE_ID_SIZE: the new
 * sandbox's id), the golden snapshot it was restored from into golden (PATH_MAX) and the
 * address held for it into ip (STORE_IP_SIZE; "" without networking: the row's then): 1. A
 * pool of k that is empty counts a miss: 0. Either way the create is now in flight for the
 * pools (no refill starts meanwhile) until ctl_pool_create_ended(). No pool of k: -1, nothing
 * counted. A VM whose QEMU is gone is discarded, never handed out. */
int ctl_pool_take(struct ctl *c, const struct ctl_pool_key *k, char *id, char *golden,
                  char *ip);
/* The taken VM's row is stored (with its address): the row holds the address from now on. */
void ctl_pool_taken(struct ctl *c, const char *id);
/* Gives a taken VM up (the create failed before its row was stored): it is destroyed. */
void ctl_pool_drop(struct ctl *c, const char *id);
/* A create at host_max_vms that no pooled VM serves: the newest pooled VM is killed so that the
 * create's VM fits; true when one was. */
bool ctl_pool_evict(struct ctl *c);
/* The host reported VM id exited unasked: true when it was a pooled VM (now discarded). */
bool ctl_pool_vm_exited(struct ctl *c, const char *id);
/* A create that ctl_pool_take() counted has ended (answered, or failed before): the refill
 * may start once no such create is in flight and they have been quiet for 50 ms. */
void ctl_pool_create_ended(struct ctl *c);
/* What GET /v1/hosts shows of pool i (< ctl_pool_count()); label borrowed from the pool. */
struct ctl_pool_stat {
    const char *label;          /* "minimal/s-1vcpu-256mb" */
    unsigned target, ready, warming;
    uint64_t hits, misses;
};
size_t ctl_pool_count(struct ctl *c);
void ctl_pool_stat(struct ctl *c, size_t i, struct ctl_pool_stat *out);
/* hearth_pool_vms{pool,state} and hearth_pool_takes_total{pool,result} in Prometheus text;
 * nothing without pools. 0 or -ENOMEM. */
int ctl_pool_render(struct ctl *c, struct buf *b);
