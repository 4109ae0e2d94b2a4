/* SPDX-License-Identifier: MIT */
/* reply.c: the one funnel for API answers (reply.h): JSend envelopes via http/jsend.h, one log
 * line and one metrics sample per request, JSON bodies and pagination parameters. */
#include "daemon/api/reply.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api/api.h"
#include "daemon/ctl/ctl.h"
#include "common/mono.h"
#include "daemon/api/jsend.h"
#include "daemon/http/request.h"
#include "daemon/http/response.h"
#include "daemon/http/route.h"
#include "daemon/log.h"

#define PAGE_DEFAULT 50
#define PAGE_MAX 500

void api_reply_done(const struct api_call *call, int status)
{
    double secs = (double)(mono_now_us() - call->start_us) / 1e6;
    const char *route = call->route ? call->route->pattern : "unmatched";
    api_metrics_observe(&call->ctx->metrics, route, call->method, status, secs);
    enum log_level l = status >= 500 ? LOG_LEVEL_WARN : LOG_LEVEL_INFO;
    if (!log_enabled(l))
        return;
    /* the target may carry a query; never credentials (they travel in headers) */
    log_emit(l, http_request_id(call->req), "request", "{s:s,s:s,s:s,s:i,s:f,s:s?}", "method",
             call->method, "route", route, "path", http_request_target(call->req), "status",
             status, "ms", secs * 1000.0, "user", call->auth.user_id[0] ? call->auth.user_id
                                                                      : NULL);
}

void api_reply_ok(const struct api_call *call, json_t *data)
{
    (void)jsend_reply_success(call->req, data);
    api_reply_done(call, 200);
}

void api_reply_fail(const struct api_call *call, int status, json_t *data)
{
    (void)jsend_reply_fail(call->req, status, data);
    api_reply_done(call, status);
}

void api_reply_fail_str(const struct api_call *call, int status, const char *msg)
{
    (void)jsend_reply_fail_str(call->req, status, msg);
    api_reply_done(call, status);
}

void api_reply_fail_code(const struct api_call *call, int status, const char *code,
                         const char *msg)
{
    (void)jsend_reply_fail_code(call->req, status, code, msg);
    api_reply_done(call, status);
}

void api_reply_field(const struct api_call *call, const char *field, const char *msg,
                     const char *code)
{
    api_reply_fail(call, 400, json_pack("{s:s,s:s}", field, msg, "code", code));
}

void api_reply_invalid_state(const struct api_call *call, const char *state, const char *msg)
{
    api_reply_fail(call, 409, json_pack("{s:s,s:s,s:s}", "code", "invalid_state", "state", state,
                                        "message", msg));
}

void api_reply_error(const struct api_call *call, int status, const char *msg, const char *code)
{
    if (status == 503)
        (void)http_response_retry_after(call->req, 5);
    (void)jsend_reply_error(call->req, status, msg, code);
    api_reply_done(call, status);
}

void api_reply_internal(const struct api_call *call, const char *what, int err)
{
    log_error(http_request_id(call->req), "request failed", "{s:s,s:s}", "what", what, "err",
              strerror(err < 0 ? -err : err));
    api_reply_error(call, 500, "internal error", "internal");
}

void api_reply_ctl(const struct api_call *call, const struct ctl_error *e)
{
    switch (e->code) {
    case CTL_E_INVALID:
        api_reply_field(call, e->field, e->msg, "invalid_request");
        return;
    case CTL_E_NAME_TAKEN:
        api_reply_field(call, e->field, e->msg, "name_taken");
        return;
    case CTL_E_UNKNOWN_REF:
        api_reply_field(call, e->field, e->msg, "unknown_reference");
        return;
    case CTL_E_FORBIDDEN:
        api_reply_fail_code(call, 403, "forbidden", e->msg);
        return;
    case CTL_E_QUOTA:
        api_reply_fail_code(call, 403, "quota_exceeded", e->msg);
        return;
    case CTL_E_NOT_FOUND:
        api_reply_fail_str(call, 404, e->msg);
        return;
    case CTL_E_INVALID_STATE:
        api_reply_invalid_state(call, e->state, e->msg);
        return;
    case CTL_E_LIMIT_REACHED:
        api_reply_fail_code(call, 409, "limit_reached", e->msg);
        return;
    case CTL_E_IN_USE:
        api_reply_fail_code(call, 409, "in_use", e->msg);
        return;
    case CTL_E_UNAVAILABLE:
        api_reply_error(call, 503, e->msg, "unavailable");
        return;
    case CTL_E_NO_CAPACITY:
        api_reply_error(call, 503, e->msg, "no_capacity");
        return;
    case CTL_E_BOOT_FAILED:
        api_reply_error(call, 500, e->msg, "boot_failed");
        return;
    case CTL_E_FAILED:
        api_reply_error(call, 500, e->msg, "internal");
        return;
    default:
        api_reply_internal(call, e->what ? e->what : ctl_code_name(e->code), e->err);
        return;
    }
}

struct ctl_caller api_caller(const struct api_call *call)
{
    return (struct ctl_caller){ .user_id = call->auth.user_id, .key_id = call->auth.key_id,
                                .req_id = http_request_id(call->req) };
}

/* ---- JSON bodies ---- */

struct body_wait {
    struct api_call call;   /* the heap copy handed to fn */
    api_json_fn fn;
};

static void body_free(struct body_wait *w)
{
    http_request_unref(w->call.req);
    free(w);
}

static void on_body_abort(struct http_request *req, void *ud)
{
    struct body_wait *w = ud;
    api_reply_done(&w->call, 499); /* client closed the request (nginx's convention) */
    body_free(w);
}

static void on_body(struct http_request *req, int err, void *ud)
{
    struct body_wait *w = ud;
    /* the body phase is over: fn may register its own abort callback for the response phase */
    http_request_on_abort(req, NULL, NULL);
    if (err) {
        /* the HTTP layer answered (413, 400) */
        api_reply_done(&w->call, err == -EMSGSIZE ? 413 : 400);
        body_free(w);
        return;
    }
    size_t len = 0;
    const uint8_t *p = http_request_body(req, &len);
    json_t *body;
    if (!p || len == 0) {
        body = json_object();
    } else {
        json_error_t jerr;
        body = json_loadb((const char *)p, len, JSON_ALLOW_NUL, &jerr);
        if (!body) {
            char msg[300];
            snprintf(msg, sizeof(msg), "invalid json: %s", jerr.text);
            api_reply_field(&w->call, "body", msg, "invalid_request");
            body_free(w);
            return;
        }
    }
    if (!body) {
        api_reply_internal(&w->call, "body", -ENOMEM);
    } else {
        w->fn(&w->call, body);
        json_decref(body);
    }
    body_free(w);
}

void api_read_json(const struct api_call *call, api_json_fn fn)
{
    struct body_wait *w = calloc(1, sizeof(*w));
    if (!w) {
        api_reply_internal(call, "body", -ENOMEM);
        return;
    }
    w->call = *call;
    w->fn = fn;
    http_request_ref(call->req);
    http_request_on_abort(call->req, on_body_abort, w);
    int r = http_request_read_body(call->req, 0, on_body, w);
    if (r < 0) {
        http_request_on_abort(call->req, NULL, NULL);
        api_reply_internal(call, "read body", r);
        body_free(w);
    }
}

/* ---- pagination ---- */

static int page_param(const struct api_call *call, const char *name, int64_t *v)
{
    int r = http_query_get_int(http_request_query(call->req), name, 0, v);
    if (r < 0) {
        api_reply_field(call, name, "must be an integer", "invalid_request");
        return -EINVAL;
    }
    if (*v < 0) {
        api_reply_field(call, name, "must not be negative", "invalid_request");
        return -EINVAL;
    }
    return 0;
}

int api_page_parse(const struct api_call *call, struct api_page *ret)
{
    int64_t limit, offset;
    if (page_param(call, "limit", &limit) < 0 || page_param(call, "offset", &offset) < 0)
        return -EINVAL;
    if (limit == 0)
        limit = PAGE_DEFAULT;
    if (limit > PAGE_MAX)
        limit = PAGE_MAX;
    ret->limit = (size_t)limit;
    ret->offset = (size_t)offset;
    return 0;
}

json_t *api_page_wrap(json_t *items, const struct api_page *pg, uint64_t total)
{
    size_t count = json_array_size(items);
    return json_pack("{s:o,s:{s:I,s:I,s:I,s:I}}", "data", items, "pagination", "total",
                     (json_int_t)total, "limit", (json_int_t)pg->limit, "offset",
                     (json_int_t)pg->offset, "count", (json_int_t)count);
}
