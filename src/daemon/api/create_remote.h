/* SPDX-License-Identifier: MIT */
/* create_remote.h: creates placed on another host (docs/scale-out.md "Work queue"). The
 * control plane queues the checked request for the chosen host and answers with what that host
 * answered; the host runs it as if it had arrived over HTTP, pinned to itself. */
#pragma once

#include <jansson.h>

#include "daemon/api/reply.h"
#include "daemon/store/store.h"

struct ctl;

/* Queues call's create body for host_id and answers call when it finishes (held meanwhile). */
void api_create_remote(const struct api_call *call, json_t *body, const char *host_id);

/* The runner of this host's jobs (ctl/jobs.h ctl_job_run_fn; ud unused). */
void api_jobs_run(void *ud, struct ctl *c, const struct store_job *job);
