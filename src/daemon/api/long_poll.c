/* SPDX-License-Identifier: MIT */
/* long_poll.c: waiting for a status over HTTP (docs/api.md §5.10, a hearth extension):
 * GET /v1/sandboxes/{id}?wait_for=…&timeout_ms=… (and the same for /v1/templates/{ref}) answers
 * the moment the row is in one of the wanted states, and pause and resume hold their answer a
 * short while so that a fast transition answers 200 with the settled view instead of 202. All
 * park the request on the control layer's waiter registry (ctl/status_wait.h), which wakes them
 * after each change of the row; a client that goes away drops its waiter through the abort
 * callback. */
#include "daemon/api/long_poll.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api/api.h"
#include "daemon/api/jsend.h"
#include "daemon/api/reply.h"
#include "daemon/api/routes.h"
#include "daemon/api/sandbox_view.h"
#include "daemon/api/sandboxes.h"
#include "daemon/api/template_view.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/status_wait.h"
#include "daemon/ctl/template.h"
#include "daemon/http/request.h"
#include "daemon/http/response.h"
#include "daemon/http/route.h"

#define WAIT_FOR_MAX_LEN 200

enum wait_kind { WAIT_STATUS, WAIT_HOLD, WAIT_TEMPLATE };

struct status_wait {
    struct api_call call;                /* req referenced */
    char id[STORE_ID_SIZE];
    enum wait_kind kind;
    unsigned want;                       /* STORE_STATE_BIT()s, or template status bits */
    bool with_dockerfile;                /* WAIT_TEMPLATE: ?include=dockerfile */
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

/* A template is done when its status is wanted or final (ready, failed, cancelled). */
static bool template_done(enum store_tpl_status s, unsigned want)
{
    return (want & (1u << s)) || s == STORE_TPL_READY || s == STORE_TPL_FAILED ||
           s == STORE_TPL_CANCELLED;
}

/* A template's view with the wait's marker, or 404 once deleted (as a plain GET answers). */
static void reply_template(const struct api_call *call, const struct store_template *t,
                           bool with_dockerfile, bool timed_out)
{
    if (t->deleted_at) {
        api_reply_fail_str(call, 404, "template not found");
        return;
    }
    (void)http_response_add_header(call->req, "X-Wait-Timed-Out", timed_out ? "1" : "0");
    api_reply_ok(call, api_template_view(t, with_dockerfile));
}

static bool on_template_wake(struct status_wait *w, bool timed_out)
{
    struct ctl_caller who = api_caller(&w->call);
    struct ctl_error e;
    struct store_template t;
    store_template_init(&t);
    int r = ctl_template_get(w->call.ctx->ctl, &who, w->id, w->with_dockerfile, &t, &e);
    bool done = r < 0 || timed_out || t.deleted_at || template_done(t.status, w->want);
    if (done) {
        if (r < 0)
            api_reply_ctl(&w->call, &e);
        else
            reply_template(&w->call, &t, w->with_dockerfile, timed_out);
        w->waiter = NULL;
        wait_free(w);
    }
    store_template_release(&t);
    return !done;
}

static bool on_wake(void *ud, bool timed_out)
{
    struct status_wait *w = ud;
    if (w->kind == WAIT_TEMPLATE)
        return on_template_wake(w, timed_out);
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
                 bool with_dockerfile, uint32_t timeout_ms, int *ret_err)
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
    w->with_dockerfile = with_dockerfile;
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

/* One status name of len bytes: its bit, or 0 when unknown. */
typedef unsigned (*status_bit_fn)(const char *name, size_t len);

static unsigned sandbox_bit(const char *name, size_t len)
{
    enum store_state st;
    return store_state_from_string(name, len, &st) < 0 ? 0 : STORE_STATE_BIT(st);
}

static unsigned template_bit(const char *name, size_t len)
{
    char buf[16];
    if (len == 0 || len >= sizeof(buf))
        return 0;
    memcpy(buf, name, len);
    buf[len] = '\0';
    int s = store_tpl_status_parse(buf);
    return s < 0 ? 0 : 1u << s;
}

/* wait_for's list into a mask; false when it answered 400. max: how many names at most, names:
 * the valid ones, for the message. */
static bool parse_wait_for(const struct api_call *call, const char *s, status_bit_fn bit,
                           unsigned max, const char *names, unsigned *ret)
{
    unsigned want = 0, count = 0;
    char msg[200];
    snprintf(msg, sizeof(msg), "must be 1 to %u statuses separated by commas (%s)", max, names);
    if (!*s || strlen(s) > WAIT_FOR_MAX_LEN) {
        api_reply_field(call, "wait_for", msg, "invalid_request");
        return false;
    }
    for (const char *p = s;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        unsigned b = bit(p, len);
        if (++count > max || !b) {
            api_reply_field(call, "wait_for", msg, "invalid_request");
            return false;
        }
        want |= b;
        if (!comma)
            break;
        p = comma + 1;
    }
    *ret = want;
    return true;
}

/* wait_for and timeout_ms of call: 1 with both, 0 without wait_for (nor timeout_ms), -1 when it
 * answered 400. */
static int wait_params(const struct api_call *call, status_bit_fn bit, unsigned max,
                       const char *names, unsigned *ret_want, int64_t *ret_timeout)
{
    const struct http_query *q = http_request_query(call->req);
    const char *wait_for = http_query_get(q, "wait_for");
    if (!wait_for) {
        if (!http_query_get(q, "timeout_ms"))
            return 0;
        api_reply_field(call, "timeout_ms", "needs wait_for", "invalid_request");
        return -1;
    }
    if (!parse_wait_for(call, wait_for, bit, max, names, ret_want) ||
        !api_query_int_in(call, "timeout_ms", 0, API_WAIT_MAX_MS, API_WAIT_DEFAULT_MS,
                          ret_timeout))
        return -1;
    return 1;
}

/* Parks call for timeout ms or answers why it cannot: 429 at a cap, else 500. */
static void park_or_refuse(const struct api_call *call, const char *id, enum wait_kind kind,
                           unsigned want, bool with_dockerfile, int64_t timeout)
{
    int err = 0;
    if (park(call, id, kind, want, with_dockerfile, (uint32_t)timeout, &err))
        return;
    if (err == -EAGAIN) {
        (void)http_response_retry_after(call->req, 1);
        api_reply_error(call, 429, "too many requests waiting for a status; retry later",
                        "too_many_waiters");
    } else {
        api_reply_internal(call, "wait", err);
    }
}

bool api_sandbox_wait_get(struct api_call *call)
{
    unsigned want;
    int64_t timeout;
    int p = wait_params(call, sandbox_bit, STORE_STATE__COUNT,
                        "creating, running, pausing, paused, resuming, forking, error, "
                        "destroying, destroyed, failed",
                        &want, &timeout);
    if (p <= 0)
        return p < 0;
    char id[STORE_ID_SIZE];
    struct store_sandbox sb;
    if (!api_sandbox_path_id(call, 2, id) || !api_sandbox_load(call, id, &sb))
        return true;
    if (status_done(sb.status, want) || timeout == 0)
        reply_waited(call, &sb, !status_done(sb.status, want));
    else
        park_or_refuse(call, id, WAIT_STATUS, want, false, timeout);
    store_sandbox_release(&sb);
    return true;
}

bool api_template_wait_get(struct api_call *call, bool with_dockerfile)
{
    unsigned want;
    int64_t timeout;
    int p = wait_params(call, template_bit, 5, "pending, building, ready, failed, cancelled",
                        &want, &timeout);
    if (p <= 0)
        return p < 0;
    char ref[API_TEMPLATE_REF_SIZE];
    if (!api_template_ref(call, ref))
        return true;
    struct ctl_caller who = api_caller(call);
    struct ctl_error e;
    struct store_template t;
    store_template_init(&t);
    if (ctl_template_get(call->ctx->ctl, &who, ref, with_dockerfile, &t, &e) < 0)
        api_reply_ctl(call, &e);
    else if (t.deleted_at || template_done(t.status, want) || timeout == 0)
        reply_template(call, &t, with_dockerfile, !template_done(t.status, want));
    else
        park_or_refuse(call, t.id, WAIT_TEMPLATE, want, with_dockerfile, timeout);
    store_template_release(&t);
    return true;
}

void api_sandbox_get_or_wait(struct api_call *call)
{
    if (!api_sandbox_wait_get(call))
        api_sandbox_get(call);
}

void api_sandbox_reply_lifecycle(const struct api_call *call, const char *id)
{
    struct store_sandbox sb;
    if (!api_sandbox_load(call, id, &sb))
        return;
    int err;
    uint32_t hold = call->ctx->ctl->set.lifecycle_hold_ms;
    if (!(STORE_STATE_BIT(sb.status) & MOVING_STATES) || hold == 0 ||
        !park(call, id, WAIT_HOLD, 0, false, hold, &err))
        reply_lifecycle(call, &sb); /* settled, or no room to hold: answer now */
    store_sandbox_release(&sb);
}
