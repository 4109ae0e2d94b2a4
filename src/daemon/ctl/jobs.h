/* SPDX-License-Identifier: MIT */
/* jobs.h: the work queue seen from the control layer (docs/scale-out.md "Work queue"). A
 * control plane that places a new sandbox on another host queues a job for that host and waits
 * for its result; every host claims its own jobs (oldest first) and runs them through the runner
 * the API layer registers (it parses and checks the request as if it had arrived over HTTP), then
 * writes the result. Jobs are durable: a control plane that dies while waiting loses nothing
 * (the host finishes the job); a host that dies has its unfinished jobs failed by the others'
 * dead-host sweep (hosts.c), so no waiter waits forever. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "daemon/store/store.h"

struct ctl;

/* How a job ended, for the waiter: the HTTP status and JSend body (borrowed for the call) the
 * host produced, and the sandbox it made ("" when none). status 0: the wait itself failed (why
 * in body, a plain message). */
typedef void (*ctl_job_done_fn)(void *ud, int status, const char *body, const char *sandbox_id);

/* The runner of one claimed job (the API layer's): starts it and, later or at once, calls
 * ctl_job_finished() exactly once with job_id. */
typedef void (*ctl_job_run_fn)(void *ud, struct ctl *c, const struct store_job *job);

/* Starts claiming this host's jobs (a host with a VM layer): fails what a previous run of this
 * host left running (its outcome is unknown: 500 with a message), then polls for queued jobs
 * every CTL_JOBS_POLL_MS and runs at most CTL_JOBS_MAX_RUNNING at once. 0 or -errno. */
int ctl_jobs_start(struct ctl *c, ctl_job_run_fn run, void *ud);
/* Stops claiming and waiting, and frees the waiters (their callbacks are not called). */
void ctl_jobs_release(struct ctl *c);

/* Records the result of a job this host ran (status and JSend body; sandbox_id may be NULL). */
void ctl_job_finished(struct ctl *c, const char *job_id, bool ok, int status, const char *body,
                      const char *sandbox_id);

/* Queues kind ("create") with request (JSON text) for host_id, acting for the caller, and calls
 * done when it finishes (or after timeout_ms: status 0). 0, or -errno (nothing queued, done
 * never called). */
int ctl_job_submit(struct ctl *c, const char *host_id, const char *kind, const char *user_id,
                   const char *key_id, bool admin, const char *request, uint32_t timeout_ms,
                   ctl_job_done_fn done, void *ud);
