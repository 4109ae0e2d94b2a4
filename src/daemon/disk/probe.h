/* SPDX-License-Identifier: MIT */
/* probe.h: the bucket check of a disk create or credential rotation (docs/api.md §3.9.2): on a
 * worker thread, resolve the endpoint's host, judge every address (endpoint.h), then a signed
 * HEAD of the bucket pinned to the first address (s3.h); the result comes back on the libevent
 * loop. A bounded number run at once; each has a total deadline that the loop enforces even
 * when the resolver hangs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "daemon/disk/endpoint.h"
#include "daemon/disk/s3.h"

struct event_base;
struct disk_probe;

#define DISK_PROBE_MAX 8                 /* at once; more are refused (-EBUSY) */

enum disk_probe_outcome {
    DISK_PROBE_OK,
    DISK_PROBE_REFUSED,                  /* an address the policy refuses: why names it */
    DISK_PROBE_FAILED,                   /* resolve, connect, TLS, HTTP: why is the reason */
};

/* What to probe. Every string is copied at start (the credentials too, wiped when done). */
struct disk_probe_req {
    const char *endpoint;                /* the URL as given (parsed again here) */
    const char *bucket;
    const char *region;                  /* NULL or "": us-east-1 */
    bool path_style;
    const char *access_key;
    const char *secret_key;
    const struct disk_addr_policy *policy; /* copied too */
    long timeout_ms;
};

/* Runs once on the loop thread: outcome and a one-line why ("" when OK). */
typedef void (*disk_probe_done_fn)(void *ud, enum disk_probe_outcome outcome, const char *why);

/* Starts a probe. 0 (done runs later, exactly once, unless disk_probe_cancel()), -EBUSY (too
 * many running), -ENOMEM, -EAGAIN (no thread). */
__attribute__((warn_unused_result))
int disk_probe_start(struct event_base *base, const struct disk_probe_req *req,
                     disk_probe_done_fn done, void *ud, struct disk_probe **ret);
/* Forgets a probe whose done has not run: done never runs. The thread ends by itself. */
void disk_probe_cancel(struct disk_probe *p);
/* Probes running now (threads not yet finished). */
size_t disk_probe_running(void);
/* Waits for every probe thread to finish (at exit, after cancels). */
void disk_probe_drain(void);

/* The same check without threads or a loop (blocking): for the tests, the CLI-less tools and
 * the benchmark. Fills why (DISK_S3_WHY_SIZE). */
enum disk_probe_outcome disk_probe_run(const struct disk_probe_req *req,
                                       char why[DISK_S3_WHY_SIZE]);
