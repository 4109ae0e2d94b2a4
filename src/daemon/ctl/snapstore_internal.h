/* SPDX-License-Identifier: MIT */
/* snapstore_internal.h: what snapstore.c (uploads, durability, metrics) and snapcache.c (the
 * local cache: eviction and fetches) share. Internal to src/daemon/ctl. */
#pragma once

#include <limits.h>
#include <stdint.h>

#include "daemon/ctl/snapstore.h"
#include "daemon/snapstore/paths.h"

struct event;
struct up_job;
struct fetch_job;

struct ctl_snapstore {
    struct ctl *ctx;
    struct snap_remote remote;
    struct snap_paths paths;              /* into ctx->set */
    uint64_t cache_bytes;
    unsigned concurrency;
    struct up_job *ups;                   /* queued, running or waiting to retry */
    struct fetch_job *fetches;            /* under way */
    unsigned running;                     /* upload threads */
    unsigned running_fetches;             /* fetch threads */
    struct event *tick;                   /* every 2 s: progress, the periodic sweep */
    unsigned ticks;
    /* counters since start (/metrics) */
    uint64_t uploads, upload_failures, upload_plain_bytes, upload_wire_bytes;
    uint64_t chunks_sent, chunks_present;
    double upload_seconds;                /* of successful uploads, start to manifest */
    uint64_t fetches_ok, fetch_failures, fetch_wire_bytes;
    double fetch_seconds;
    uint64_t evictions, evicted_bytes;
    uint64_t cache_used;                  /* local bytes of recorded snapshots, last sweep */
};

/* The sandbox id of a snapshot dir <snapshots_dir>/<id>/<ulid> into out; false otherwise. */
bool ctl_snapstore_dir_owner(struct ctl *c, const char *dir, char *out, size_t size);
/* Disk space the files of dir take (allocated blocks). */
uint64_t ctl_snapstore_dir_bytes(const char *dir);
/* Whether an upload of dir is queued or running. */
bool ctl_snapstore_uploading(struct ctl *c, const char *dir);
/* Whether a fetch of dir is under way. */
bool ctl_snapcache_fetching(struct ctl *c, const char *dir);
/* At exit, after the worker threads were joined: tells the fetches' waiters (-ECANCELED)
 * and frees them. */
void ctl_snapcache_stop(struct ctl *c);
