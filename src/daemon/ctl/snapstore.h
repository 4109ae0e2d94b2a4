/* SPDX-License-Identifier: MIT */
/* snapstore.h: snapshots on S3 for the control layer (docs/snapshots.md "Snapshots on S3"):
 * after a pause answered `paused`, the snapshot is uploaded in the background (a bounded
 * number at once, retried with backoff for as long as it takes, resumed at start), and marked
 * durable in the store only after its manifest was written; the local copies of durable
 * snapshots form a cache with LRU eviction; a resume or fork of a snapshot that is no longer
 * local fetches it first. Off (every call a no-op, every snapshot local) unless the operator
 * configured `snapshot_store = s3`. A snapshot directory removed for good (snapdir.c) is noticed
 * here, not told: its queued upload is dropped when it would start, a running one ends as
 * usual, and its record goes at the next sweep once no row names it. Loop thread only. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "daemon/snapstore/remote.h"

struct ctl;
struct buf;

struct ctl_snapstore_cfg {
    struct snap_remote remote;            /* copied */
    uint64_t cache_bytes;                 /* local budget for durable snapshots */
    unsigned concurrency;                 /* uploads and fetches at once (>= 1) */
};

/* Turns the store on (cfg NULL: stays off) and queues an upload for every paused sandbox of
 * this host whose snapshot is not durable. 0 or -ENOMEM. */
__attribute__((warn_unused_result))
int ctl_snapstore_start(struct ctl *c, const struct ctl_snapstore_cfg *cfg);
/* At exit: cancels the transfers under way, waits for their threads and frees everything. */
void ctl_snapstore_stop(struct ctl *c);
/* Whether the store is on. */
bool ctl_snapstore_on(const struct ctl *c);
/* Sandbox id paused into dir (committed): record it and queue its upload. */
void ctl_snapstore_paused(struct ctl *c, const char *id, const char *dir);
/* A restore consumes dir (its RAM file becomes the VM's, written from now on): stop its
 * upload, keeping the record (a restore that fails leaves the snapshot, uploaded at the next
 * start). */
void ctl_snapstore_cancel(struct ctl *c, const char *dir);
/* The end of ctl_snapstore_ensure_local()'s fetch: err 0 (dir is local now) or -errno with a
 * one-line why. */
typedef void (*ctl_snapstore_local_fn)(void *ud, int err, const char *why);
/* Before a restore from dir: 1 when dir is local (or the store is off, or the store has no
 * durable copy: the restore then fails as it would without one); 0 when a fetch is under way
 * and done(ud, …) runs later, once. Concurrent callers for one dir share one fetch. */
int ctl_snapstore_ensure_local(struct ctl *c, const char *dir, ctl_snapstore_local_fn done,
                               void *ud);
/* Evicts least recently used durable snapshots that nothing needs locally until the cache
 * fits its budget (also runs after each upload and every 30 s). */
void ctl_snapcache_sweep(struct ctl *c);
/* What GET /v1/hosts shows of the store (docs/api.md §3.1.6). */
struct ctl_snapstore_stat {
    unsigned pending;                     /* snapshots not durable yet */
    unsigned fetching;                    /* fetches under way */
    uint64_t uploads, upload_failures;    /* since start */
    uint64_t cache_used, cache_budget;    /* bytes */
    uint64_t evictions;
};
/* Fills *ret; false when the store is off. */
bool ctl_snapstore_stat(struct ctl *c, struct ctl_snapstore_stat *ret);
/* Appends the store's Prometheus series (hearth_snapshot_*). 0 or -ENOMEM. Off: nothing. */
int ctl_snapstore_render(struct ctl *c, struct buf *b);
