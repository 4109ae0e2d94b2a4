/* SPDX-License-Identifier: MIT */
/* create_remote.c: both ends of a create that runs on another host (create_remote.h). What
 * crosses the store is the request's JSON body and the caller (user, key, admin) on the way
 * there, and the JSend envelope and HTTP status on the way back, so the client sees exactly
 * what a create on that host would have answered. */
#include "daemon/api/create_remote.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api/api.h"
#include "daemon/api/auth.h"
#include "daemon/api/sandbox_view.h"
#include "daemon/api/validate.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/jobs.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/http/request.h"
#include "daemon/log.h"

/* How long a control plane waits for the host (a cold template create can take minutes). */
#define REMOTE_CREATE_TIMEOUT_MS (15 * 60 * 1000)

/* ---- the control plane's side ---- */

struct remote_wait {
    struct api_call call;           /* req referenced */
    bool client_gone;
};

static void on_remote_abort(struct http_request *req, void *ud)
{
    struct remote_wait *w = ud;
    w->client_gone = true; /* §2.14.5: the create still completes, on its host */
}

static void on_remote_done(void *ud, int status, const char *body, const char *sandbox_id)
{
    struct remote_wait *w = ud;
    if (!w->client_gone) {
        json_t *env = status ? json_loads(body, 0, NULL) : NULL;
        if (env)
            api_reply_envelope(&w->call, status, env);
        else
            api_reply_error(&w->call, 503, status ? "the host's answer is unreadable" : body,
                            "unavailable");
    }
    api_call_unhold(&w->call);
    free(w);
}

void api_create_remote(const struct api_call *call, json_t *body, const char *host_id)
{
    char *text = json_dumps(body, JSON_COMPACT);
    if (!text) {
        api_reply_internal(call, "create", -ENOMEM);
        return;
    }
    if (strlen(text) > STORE_JOB_REQUEST_MAX) {
        free(text);
        api_reply_fail_code(call, 413, "payload_too_large",
                            "a create placed on another host is at most 256 KiB of JSON");
        return;
    }
    struct remote_wait *w = api_call_hold(call, sizeof(*w), "create");
    if (!w) {
        free(text);
        return;
    }
    http_request_on_abort(call->req, on_remote_abort, w);
    int r = ctl_job_submit(call->ctx->ctl, host_id, "create", call->auth.user_id,
                           call->auth.key_id, call->auth.admin, text, REMOTE_CREATE_TIMEOUT_MS,
                           on_remote_done, w);
    free(text);
    if (r < 0) {
        api_call_unhold(&w->call);
        free(w);
        api_reply_internal(call, "queue a create", r);
    }
}

/* ---- the host's side ---- */

struct job_run {
    struct ctl *c;
    char job_id[STORE_ID_SIZE];
};

static void finish(struct ctl *c, const char *job_id, bool ok, int status, json_t *env,
                   const char *sandbox_id)
{
    char *text = env ? json_dumps(env, JSON_COMPACT) : NULL;
    ctl_job_finished(c, job_id, ok, text ? status : 500,
                     text ? text
                          : "{\"status\":\"error\",\"message\":\"internal error\",\"code\":"
                            "\"internal\"}",
                     sandbox_id);
    free(text);
    json_decref(env);
}

static void finish_ctl(struct ctl *c, const char *job_id, const struct ctl_error *e,
                       const char *sandbox_id)
{
    int status = 500;
    json_t *env = api_ctl_envelope(e, &status);
    finish(c, job_id, false, status, env, sandbox_id);
}

static void on_job_created(void *ud, const struct ctl_error *e, const char *id,
                           const struct store_sandbox *sb)
{
    struct job_run *jr = ud;
    if (e->code == CTL_OK && sb)
        finish(jr->c, jr->job_id, true, 200,
               json_pack("{s:s,s:o}", "status", "success", "data",
                         api_sandbox_create_view(&jr->c->set, sb)),
               id);
    else
        finish_ctl(jr->c, jr->job_id, e, id);
    free(jr);
}

void api_jobs_run(void *ud, struct ctl *c, const struct store_job *job)
{
    (void)ud;
    struct ctl_error e = { 0 };
    if (strcmp(job->kind, "create") != 0) {
        ctl_error_set(&e, CTL_E_FAILED, NULL, NULL, "this host cannot run that kind of job");
        finish_ctl(c, job->id, &e, NULL);
        return;
    }
    json_error_t jerr;
    json_t *body = json_loads(job->request, JSON_REJECT_DUPLICATES, &jerr);
    if (!body) {
        finish(c, job->id, false, 400,
               json_pack("{s:s,s:{s:s,s:s}}", "status", "fail", "data", "body",
                         "malformed JSON", "code", "invalid_request"),
               NULL);
        return;
    }
    /* the caller as the control plane authenticated it */
    struct api_auth auth = { .admin = job->admin };
    snprintf(auth.user_id, sizeof(auth.user_id), "%s", job->user_id);
    snprintf(auth.key_id, sizeof(auth.key_id), "%s", job->key_id);
    struct ctl_create_req cr;
    json_t *fail = NULL;
    int st = api_validate_create(c, &auth, body, &cr, &fail);
    if (st) {
        finish(c, job->id, false, st, json_pack("{s:s,s:o}", "status", "fail", "data", fail),
               NULL);
        json_decref(body);
        return;
    }
    cr.host_id = c->set.host_id; /* placed here: never placed again */
    struct job_run *jr = calloc(1, sizeof(*jr));
    if (!jr) {
        ctl_create_req_release(&cr);
        json_decref(body);
        ctl_error_internal(&e, "run a job", -ENOMEM);
        finish_ctl(c, job->id, &e, NULL);
        return;
    }
    jr->c = c;
    memcpy(jr->job_id, job->id, sizeof(jr->job_id));
    struct ctl_caller who = { .user_id = auth.user_id, .key_id = auth.key_id,
                              .req_id = jr->job_id };
    if (ctl_sandbox_create(c, &who, &cr, on_job_created, jr, &e) < 0) {
        finish_ctl(c, job->id, &e, NULL);
        free(jr);
    }
    ctl_create_req_release(&cr);
    json_decref(body);
}
