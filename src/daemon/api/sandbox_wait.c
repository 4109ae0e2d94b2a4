/* SPDX-License-Identifier: MIT */
/* sandbox_wait.c: waiting for a sandbox's status over HTTP (docs/api.md §5.10, a hearth
 * extension): GET /v1/sandboxes/{id}?wait_for=…&timeout_ms=… answers the moment the row is in
 * one of the wanted states, and pause and resume hold their answer a short while so that a fast
 * transition answers 200 with the settled view instead of 202. Both park the request on the
 * control layer's waiter registry (ctl/status_wait.h), which wakes them after each transition
 * of the row; a client that goes away drops its waiter through the abort callback. */
#include "daemon/api/sandbox_wait.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api/api.h"
#include "daemon/api/jsend.h"
#include "daemon/api/reply.h"
#include "daemon/api/sandbox_view.h"
#include "daemon/api/sandboxes.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/status_wait.h"
#include "daemon/http/request.h"
#include "daemon/http/response.h"
#include "daemon/http/route.h"

#define WAIT_FOR_MAX_LEN 200

enum wait_kind { WAIT_STATUS, WAIT_HOLD };

struct status_wait {
    struct api_call call;                /* req referenced */
    char id[STORE_ID_SIZE];
    enum wait_kind kind;
    unsigned want;                       /* WAIT_STATUS: STORE_STATE_BIT()s */
    struct ctl_status_waiter *waiter;    /* NULL once the registry freed it */
};

/* Transitional states a hold waits out (pause, resume). */
#define MOVING_STATES                                                                           \
    (STORE_STATE_BIT(STORE_PAUSING) | STORE_STATE_BIT(STORE_RESUMING) |                          \
     STORE_STATE_BIT(STORE_FORKING))

/* States from which the row never reaches what was not wanted: failed and destroyed are final,
 * error waits for someone's resume, destroying only ends in destroyed. */
static bool dead_end(enum store_state s, unsigned want)
{
    return s == STORE_ERROR || s == STORE_FAILED || s == STORE_DESTROYED ||
           (s == STORE_DESTROYING && !(want & STORE_STATE_BIT(STORE_DESTROYED)));
}

static bool status_done(enum store_state s, unsigned want)
{
    return (want & STORE_STATE_BIT(s)) || dead_end(s, want);
}

/* The view of sb with the wait's marker: 200 and X-Wait-Timed-Out: 0 or 1. */
static void reply_waited(const struct api_call *call, const struct store_sandbox *sb,
                         bool timed_out)
{
    (void)http_response_add_header(call->req, "X-Wait-Timed-Out", timed_out ? "1" : "0");
    json_t *v = api_sandbox_view(&call->ctx->ctl->set, sb);
    api_sandbox_view_pause_cause(call, sb, v);
    api_reply_ok(call, v);
}

/* A pause's or resume's answer: 200 with a settled row, 202 and X-Poll-After while it moves. */
static void reply_lifecycle(const struct api_call *call, const struct store_sandbox *sb)
{
    if (STORE_STATE_BIT(sb->status) & MOVING_STATES) {
        (void)http_response_add_header(call->req, "X-Poll-After", "1");
        (void)jsend_reply_success_status(call->req, 202,
                                         api_sandbox_view(&call->ctx->ctl->set, sb));
        api_reply_done(call, 202);
    } else {
        api_reply_ok(call, api_sandbox_view(&call->ctx->ctl->set, sb));
    }
}

static void wait_free(struct status_wait *w)
{
    api_call_unhold(&w->call);
    free(w);
}

static void on_abort(struct http_request *req, void *ud)
{
    (void)req;
    struct status_wait *w = ud;
    ctl_status_wait_remove(w->waiter);
    w->waiter = NULL;
    api_call_unhold(&w->call);
    free(w);
}

static bool on_wake(void *ud, bool timed_out)
{
    struct status_wait *w = ud;
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    int r = store_sandbox_get(w->call.ctx->ctl->store, w->call.auth.user_id, w->id, &sb);
    bool done = r < 0 || timed_out ||
                (w->kind == WAIT_STATUS ? status_done(sb.status, w->want)
                                        : !(STORE_STATE_BIT(sb.status) & MOVING_STATES));
    if (done) {
        if (r == -ENOENT)
            api_reply_fail_str(&w->call, 404, "sandbox not found");
        else if (r < 0)
            api_reply_internal(&w->call, "read sandbox", r);
        else if (w->kind == WAIT_STATUS)
            reply_waited(&w->call, &sb, timed_out);
        else
            reply_lifecycle(&w->call, &sb);
        w->waiter = NULL; /* the registry frees it when we return false */
        wait_free(w);
    }
    store_sandbox_release(&sb);
    return !done;
}

/* Parks call on id's waiter list for timeout_ms. false when that failed: -EAGAIN (a cap) or
 * -ENOMEM in *ret_err, nothing answered. */
static bool park(const struct api_call *call, const char *id, enum wait_kind kind, unsigned want,
                 uint32_t timeout_ms, int *ret_err)
{
    struct status_wait *w = calloc(1, sizeof(*w));
    if (!w) {
        *ret_err = -ENOMEM;
        return false;
    }
    w->call = *call;
    snprintf(w->id, sizeof(w->id), "%s", id);
    w->kind = kind;
    w->want = want;
    int r = ctl_status_wait_add(call->ctx->ctl, call->auth.user_id, id, timeout_ms, on_wake, w,
                                &w->waiter);
    if (r < 0) {
        free(w);
        *ret_err = r;
        return false;
    }
    http_request_ref(call->req);
    http_request_on_abort(call->req, on_abort, w);
    return true;
}

/* wait_for's list into a state mask; false when it answered 400. */
static bool parse_wait_for(const struct api_call *call, const char *s, unsigned *ret)
{
    unsigned want = 0;
    size_t n = strlen(s);
    if (n == 0 || n > WAIT_FOR_MAX_LEN) {
        api_reply_field(call, "wait_for",
                        "must be 1 to 10 sandbox statuses separated by commas", "invalid_request");
        return false;
    }
    unsigned count = 0;
    for (const char *p = s;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        enum store_state st;
        if (++count > STORE_STATE__COUNT) {
            api_reply_field(call, "wait_for", "names more than 10 statuses", "invalid_request");
            return false;
        }
        if (store_state_from_string(p, len, &st) < 0) {
            api_reply_field(call, "wait_for",
                            "must list sandbox statuses (creating, running, pausing, paused, "
                            "resuming, forking, error, destroying, destroyed, failed)",
                            "invalid_request");
            return false;
        }
        want |= STORE_STATE_BIT(st);
        if (!comma)
            break;
        p = comma + 1;
    }
    *ret = want;
    return true;
}

bool api_sandbox_wait_get(struct api_call *call)
{
    const struct http_query *q = http_request_query(call->req);
    const char *wait_for = http_query_get(q, "wait_for");
    if (!wait_for) {
        if (http_query_get(q, "timeout_ms")) {
            api_reply_field(call, "timeout_ms", "needs wait_for", "invalid_request");
            return true;
        }
        return false;
    }
    unsigned want;
    int64_t timeout;
    if (!parse_wait_for(call, wait_for, &want) ||
        !api_query_int_in(call, "timeout_ms", 0, API_WAIT_MAX_MS, API_WAIT_DEFAULT_MS, &timeout))
        return true;
    char id[STORE_ID_SIZE];
    struct store_sandbox sb;
    if (!api_sandbox_path_id(call, 2, id) || !api_sandbox_load(call, id, &sb))
        return true;
    int err = 0;
    if (status_done(sb.status, want) || timeout == 0)
        reply_waited(call, &sb, !status_done(sb.status, want));
    else if (!park(call, id, WAIT_STATUS, want, (uint32_t)timeout, &err)) {
        if (err == -EAGAIN) {
            (void)http_response_retry_after(call->req, 1);
            api_reply_error(call, 429, "too many requests waiting for a status; retry later",
                            "too_many_waiters");
        } else {
            api_reply_internal(call, "wait", err);
        }
    }
    store_sandbox_release(&sb);
    return true;
}

void api_sandbox_reply_lifecycle(const struct api_call *call, const char *id)
{
    struct store_sandbox sb;
    if (!api_sandbox_load(call, id, &sb))
        return;
    int err;
    uint32_t hold = call->ctx->ctl->set.lifecycle_hold_ms;
    if (!(STORE_STATE_BIT(sb.status) & MOVING_STATES) || hold == 0 ||
        !park(call, id, WAIT_HOLD, 0, hold, &err))
        reply_lifecycle(call, &sb); /* settled, or no room to hold: answer now */
    store_sandbox_release(&sb);
}
