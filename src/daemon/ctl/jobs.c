/* SPDX-License-Identifier: MIT */
/* jobs.c: claiming this host's jobs and waiting for the ones this control plane queued
 * (jobs.h). Both sides poll the store on the loop (an indexed read of a few rows); a job's
 * latency is at most one poll period on top of its own work. */
#include "daemon/ctl/jobs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/timefmt.h"
#include "daemon/ctl/ctl.h"
#include "daemon/log.h"
#include "daemon/store/ids.h"

#define CTL_JOBS_POLL_MS 100       /* a host looks for queued jobs */
#define CTL_JOBS_WAIT_POLL_MS 50   /* a waiter looks at its job */
#define CTL_JOBS_MAX_RUNNING 8     /* jobs a host runs at once */
#define CTL_JOBS_KEEP_MS (24 * 3600 * 1000) /* finished jobs kept for inspection */

struct job_wait {
    struct ctl_jobs *owner;
    struct event *timer;
    char id[STORE_ID_SIZE];
    int64_t deadline_ms;
    ctl_job_done_fn done;
    void *ud;
    struct job_wait *next;
};

struct ctl_jobs {
    struct ctl *c;
    struct event *claim_timer;     /* NULL: this hearthd runs no jobs */
    ctl_job_run_fn run;
    void *run_ud;
    unsigned running;
    int64_t last_purge_ms;
    struct job_wait *waits;
};

static struct ctl_jobs *jobs_of(struct ctl *c)
{
    if (!c->jobs)
        c->jobs = calloc(1, sizeof(*c->jobs));
    if (c->jobs)
        c->jobs->c = c;
    return c->jobs;
}

static void arm(struct event *ev, unsigned ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    event_add(ev, &tv);
}

/* ---- the host side ---- */

static void on_claim(evutil_socket_t fd, short what, void *arg)
{
    struct ctl_jobs *J = arg;
    struct ctl *c = J->c;
    int64_t now = timefmt_now_ms();
    while (J->running < CTL_JOBS_MAX_RUNNING && !c->draining) {
        struct store_job j;
        int r = store_job_claim(c->store, c->set.host_id, now, &j);
        if (r == -ENOENT)
            break;
        if (r < 0) {
            if (r != -EBUSY)
                log_warn(NULL, "cannot claim jobs", "{s:s,s:s}", "err", strerror(-r), "detail",
                         store_errmsg(c->store));
            break;
        }
        J->running++;
        log_info(NULL, "job claimed", "{s:s,s:s,s:s}", "job", j.id, "kind", j.kind, "user",
                 j.user_id);
        J->run(J->run_ud, c, &j);
        store_job_release(&j);
    }
    if (now - J->last_purge_ms > 3600 * 1000) {
        J->last_purge_ms = now;
        if (store_job_purge(c->store, now - CTL_JOBS_KEEP_MS) < 0) {
            /* kept until the next try: finished jobs only cost space */
        }
    }
    arm(J->claim_timer, CTL_JOBS_POLL_MS);
}

int ctl_jobs_start(struct ctl *c, ctl_job_run_fn run, void *ud)
{
    struct ctl_jobs *J = jobs_of(c);
    if (!J)
        return -ENOMEM;
    J->run = run;
    J->run_ud = ud;
    J->claim_timer = evtimer_new(c->base, on_claim, J);
    if (!J->claim_timer)
        return -ENOMEM;
    uint64_t n = 0;
    const char *body = "{\"status\":\"error\",\"message\":\"the host restarted while running "
                       "this job; a sandbox it made, if any, is in the list\",\"code\":"
                       "\"internal\"}";
    if (store_job_fail_host(c->store, c->set.host_id, true, 500, body, timefmt_now_ms(), &n) ==
            0 && n)
        log_warn(NULL, "jobs left running by a previous start failed", "{s:I}", "jobs",
                 (json_int_t)n);
    arm(J->claim_timer, 0);
    return 0;
}

void ctl_job_finished(struct ctl *c, const char *job_id, bool ok, int status, const char *body,
                      const char *sandbox_id)
{
    struct ctl_jobs *J = c->jobs;
    if (J && J->running)
        J->running--;
    int r = store_job_finish(c->store, job_id, ok, status, body, sandbox_id, timefmt_now_ms());
    if (r == -EMSGSIZE)
        r = store_job_finish(c->store, job_id, false, 500,
                             "{\"status\":\"error\",\"message\":\"result too large\",\"code\":"
                             "\"internal\"}",
                             sandbox_id, timefmt_now_ms());
    if (r < 0)
        log_warn(NULL, "cannot record a job's result", "{s:s,s:s}", "job", job_id, "err",
                 strerror(-r));
    else
        log_info(NULL, "job finished", "{s:s,s:i}", "job", job_id, "status", status);
}

/* ---- the waiting side ---- */

static void wait_free(struct job_wait *w)
{
    struct job_wait **p = &w->owner->waits;
    while (*p && *p != w)
        p = &(*p)->next;
    if (*p)
        *p = w->next;
    event_free(w->timer);
    free(w);
}

static void on_wait(evutil_socket_t fd, short what, void *arg)
{
    struct job_wait *w = arg;
    struct ctl *c = w->owner->c;
    struct store_job j;
    int r = store_job_get(c->store, w->id, &j);
    if (r == 0 && (j.state == STORE_JOB_DONE || j.state == STORE_JOB_FAILED)) {
        w->done(w->ud, j.status_code, j.result, j.sandbox_id);
        store_job_release(&j);
        wait_free(w);
        return;
    }
    if (r == 0)
        store_job_release(&j);
    if (r == -ENOENT || timefmt_now_ms() > w->deadline_ms) {
        w->done(w->ud, 0,
                r == -ENOENT ? "the job is gone from the store" : "the host did not finish in time",
                "");
        wait_free(w);
        return;
    }
    arm(w->timer, CTL_JOBS_WAIT_POLL_MS);
}

int ctl_job_submit(struct ctl *c, const char *host_id, const char *kind, const char *user_id,
                   const char *key_id, bool admin, const char *request, uint32_t timeout_ms,
                   ctl_job_done_fn done, void *ud)
{
    struct ctl_jobs *J = jobs_of(c);
    struct job_wait *w = J ? calloc(1, sizeof(*w)) : NULL;
    if (!w)
        return -ENOMEM;
    struct store_job j = { .admin = admin, .created_at = timefmt_now_ms(),
                           .request = (char *)request };
    int r = ids_new_job(j.id);
    if (r < 0) {
        free(w);
        return r;
    }
    snprintf(j.host_id, sizeof(j.host_id), "%s", host_id);
    snprintf(j.kind, sizeof(j.kind), "%s", kind);
    snprintf(j.user_id, sizeof(j.user_id), "%s", user_id);
    snprintf(j.key_id, sizeof(j.key_id), "%s", key_id ? key_id : "");
    w->owner = J;
    w->done = done;
    w->ud = ud;
    w->deadline_ms = j.created_at + timeout_ms;
    memcpy(w->id, j.id, sizeof(w->id));
    w->timer = evtimer_new(c->base, on_wait, w);
    if (!w->timer) {
        free(w);
        return -ENOMEM;
    }
    r = store_job_enqueue(c->store, &j);
    if (r < 0) {
        event_free(w->timer);
        free(w);
        return r;
    }
    w->next = J->waits;
    J->waits = w;
    log_info(NULL, "job queued", "{s:s,s:s,s:s}", "job", j.id, "kind", kind, "host", host_id);
    arm(w->timer, CTL_JOBS_WAIT_POLL_MS);
    return 0;
}

void ctl_jobs_release(struct ctl *c)
{
    struct ctl_jobs *J = c->jobs;
    if (!J)
        return;
    while (J->waits)
        wait_free(J->waits);
    if (J->claim_timer)
        event_free(J->claim_timer);
    free(J);
    c->jobs = NULL;
}
