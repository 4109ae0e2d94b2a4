/* SPDX-License-Identifier: MIT */
/* reply.c: the one funnel for API answers (reply.h): JSend envelopes via http/jsend.h, one log
 * line and one metrics sample per request, JSON bodies and pagination parameters. */
#include "daemon/api/reply.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api/api.h"
#include "daemon/ctl/ctl.h"
#include "common/mono.h"
#include "common/timefmt.h"
#include "daemon/api/jsend.h"
#include "daemon/http/request.h"
#include "daemon/http/response.h"
#include "daemon/http/route.h"
#include "daemon/log.h"

#define PAGE_DEFAULT 50
#define PAGE_MAX 500

/* target with every api_key=… query value replaced by REDACTED (cut to max). */
static void redact_api_key(const char *target, char *out, size_t max)
{
    const char *q = strchr(target, '?');
    size_t o = 0;
    for (const char *s = target; *s && o + 1 < max;) {
        if (q && s > q && (s[-1] == '?' || s[-1] == '&') && strncmp(s, "api_key=", 8) == 0) {
            int n = snprintf(out + o, max - o, "api_key=REDACTED");
            o += n > 0 && (size_t)n < max - o ? (size_t)n : 0;
            s += strcspn(s, "&");
            continue;
        }
        out[o++] = *s++;
    }
    out[o] = 0;
}

void api_reply_done(const struct api_call *call, int status)
{
    double secs = (double)(mono_now_us() - call->start_us) / 1e6;
    const char *route = call->route ? call->route->pattern : "unmatched";
    api_metrics_observe(&call->ctx->metrics, route, call->method, status, secs);
    api_usage_observe(call, status);
    enum log_level l = status >= 500 ? LOG_LEVEL_WARN : LOG_LEVEL_INFO;
    if (!log_enabled(l))
        return;
    /* the target may carry a query; credentials travel in headers, except the WebSocket
     * shell's api_key (docs/api.md §3.12.3), whose value is redacted here */
    char target[1024];
    redact_api_key(http_request_target(call->req), target, sizeof(target));
    log_emit(l, http_request_id(call->req), "request", "{s:s,s:s,s:s,s:i,s:f,s:s?}", "method",
             call->method, "route", route, "path", target, "status",
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

/* How each control-layer code answers (docs/api.md §1.4). */
enum ctl_reply_kind {
    KIND_FIELD,     /* 400 {"<field>":msg,"code":code} */
    KIND_CODE,      /* status {"code":code,"message":msg} */
    KIND_STR,       /* status "msg" */
    KIND_STATE,     /* 409 invalid_state with the state */
    KIND_ERROR,     /* status error envelope with msg */
    KIND_INTERNAL,  /* 500 "internal error", what and err logged */
};

static const struct {
    enum ctl_reply_kind kind;
    int status;
    const char *code;
} ctl_replies[CTL_CODE__COUNT] = {
    [CTL_E_INVALID] = { KIND_FIELD, 400, "invalid_request" },
    [CTL_E_NAME_TAKEN] = { KIND_FIELD, 400, "name_taken" },
    [CTL_E_UNKNOWN_REF] = { KIND_FIELD, 400, "unknown_reference" },
    [CTL_E_FORBIDDEN] = { KIND_CODE, 403, "forbidden" },
    [CTL_E_QUOTA] = { KIND_CODE, 403, "quota_exceeded" },
    [CTL_E_NOT_FOUND] = { KIND_STR, 404, NULL },
    [CTL_E_INVALID_STATE] = { KIND_STATE, 409, "invalid_state" },
    [CTL_E_LIMIT_REACHED] = { KIND_CODE, 409, "limit_reached" },
    [CTL_E_IN_USE] = { KIND_CODE, 409, "in_use" },
    [CTL_E_UNAVAILABLE] = { KIND_ERROR, 503, "unavailable" },
    [CTL_E_NO_CAPACITY] = { KIND_ERROR, 503, "no_capacity" },
    [CTL_E_BOOT_FAILED] = { KIND_ERROR, 500, "boot_failed" },
    [CTL_E_FAILED] = { KIND_ERROR, 500, "internal" },
    [CTL_E_INTERNAL] = { KIND_INTERNAL, 500, "internal" },
    /* 507, not 503: a full disk does not clear in Retry-After seconds, and §1.11's clients
     * retry 503s; nothing was done either way */
    [CTL_E_NO_SPACE] = { KIND_ERROR, 507, "insufficient_storage" },
    [CTL_E_SPAWN_FAILED] = { KIND_FIELD, 400, "spawn_failed" }, /* §3.11.1 */
    [CTL_E_EXISTS] = { KIND_CODE, 409, "already_exists" },       /* §3.13 */
    [CTL_E_NOT_CONFIGURED] = { KIND_ERROR, 503, "disks_not_configured" }, /* §3.9 */
    [CTL_E_PROBE_FAILED] = { KIND_FIELD, 400, "disk_probe_failed" },      /* §3.9.2 */
    [CTL_E_BAD_DOCKERFILE] = { KIND_FIELD, 400, "bad_dockerfile" },       /* §3.10.1 */
    [CTL_E_TEMPLATE_NOT_READY] = { KIND_CODE, 409, "template_not_ready" }, /* §3.2.1 */
    [CTL_E_LAST_ADMIN_KEY] = { KIND_CODE, 409, "last_admin_key" },         /* §5.1 */
};

json_t *api_ctl_envelope(const struct ctl_error *e, int *ret_status)
{
    bool known = e->code > CTL_OK && e->code < CTL_CODE__COUNT;
    enum ctl_reply_kind kind = known ? ctl_replies[e->code].kind : KIND_INTERNAL;
    int status = known ? ctl_replies[e->code].status : 500;
    const char *code = known ? ctl_replies[e->code].code : "internal";
    json_t *data = NULL;
    switch (kind) {
    case KIND_FIELD:
        status = 400;
        data = json_pack("{s:s,s:s}", e->field, e->msg, "code", code);
        break;
    case KIND_CODE:
        data = json_pack("{s:s,s:s}", "code", code, "message", e->msg);
        break;
    case KIND_STR:
        data = json_string(e->msg);
        break;
    case KIND_STATE:
        status = 409;
        data = json_pack("{s:s,s:s,s:s}", "code", "invalid_state", "state", e->state, "message",
                         e->msg);
        break;
    case KIND_ERROR:
        *ret_status = status;
        return json_pack("{s:s,s:s,s:s}", "status", "error", "message", e->msg, "code", code);
    case KIND_INTERNAL:
        *ret_status = 500;
        return json_pack("{s:s,s:s,s:s}", "status", "error", "message", "internal error",
                         "code", "internal");
    }
    *ret_status = status;
    return json_pack("{s:s,s:o}", "status", "fail", "data", data ? data : json_null());
}

void api_reply_envelope(const struct api_call *call, int status, json_t *env)
{
    const char *kind = json_string_value(json_object_get(env, "status"));
    json_t *data = json_object_get(env, "data");
    if (kind && strcmp(kind, "success") == 0 && status == 200) {
        api_reply_ok(call, json_incref(data));
    } else if (kind && strcmp(kind, "fail") == 0 && status >= 400 && status < 500 && data) {
        if (json_is_string(data))
            api_reply_fail_str(call, status, json_string_value(data));
        else
            api_reply_fail(call, status, json_incref(data));
    } else if (kind && strcmp(kind, "error") == 0 && status >= 500 && status < 600) {
        const char *msg = json_string_value(json_object_get(env, "message"));
        const char *code = json_string_value(json_object_get(env, "code"));
        api_reply_error(call, status, msg ? msg : "error", code ? code : "internal");
    } else {
        api_reply_error(call, 502, "a host answered something that is not an API answer",
                        "bad_gateway");
    }
    json_decref(env);
}

void api_reply_ctl(const struct api_call *call, const struct ctl_error *e)
{
    bool known = e->code > CTL_OK && e->code < CTL_CODE__COUNT;
    if (!known || ctl_replies[e->code].kind == KIND_INTERNAL) {
        api_reply_internal(call, e->what ? e->what : ctl_code_to_string(e->code), e->err);
        return;
    }
    int status;
    json_t *env = api_ctl_envelope(e, &status);
    if (env)
        api_reply_envelope(call, status, env);
    else
        api_reply_internal(call, "reply", -ENOMEM);
}

void api_reply_ctl_ok(const struct api_call *call, int r, const struct ctl_error *e)
{
    if (r < 0)
        api_reply_ctl(call, e);
    else
        api_reply_ok(call, json_pack("{s:b}", "ok", 1));
}

void *api_call_hold(const struct api_call *call, size_t size, const char *what)
{
    struct api_call *held = calloc(1, size);
    if (!held) {
        api_reply_internal(call, what, -ENOMEM);
        return NULL;
    }
    *held = *call;
    http_request_ref(call->req);
    return held;
}

void api_call_unhold(struct api_call *held)
{
    http_request_on_abort(held->req, NULL, NULL);
    http_request_unref(held->req);
}

struct ctl_caller api_caller(const struct api_call *call)
{
    return (struct ctl_caller){ .user_id = call->auth.user_id, .key_id = call->auth.key_id,
                                .req_id = http_request_id(call->req),
                                .start_us = call->start_us };
}

/* ---- JSON bodies ---- */

struct body_wait {
    struct api_call call;   /* the heap copy handed to fn */
    api_json_fn fn;
};

/* Keeps the abort callback: fn may have registered its own for the response phase. */
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
    struct body_wait *w = api_call_hold(call, sizeof(*w), "body");
    if (!w)
        return;
    w->fn = fn;
    http_request_on_abort(call->req, on_body_abort, w);
    int r = http_request_read_body(call->req, 0, on_body, w);
    if (r < 0) {
        http_request_on_abort(call->req, NULL, NULL);
        api_reply_internal(call, "read body", r);
        body_free(w);
    }
}

/* ---- query parameters ---- */

bool api_query_int_in(const struct api_call *call, const char *name, int64_t lo, int64_t hi,
                      int64_t def, int64_t *ret)
{
    const struct http_query *q = http_request_query(call->req);
    int64_t v;
    if (http_query_get_int(q, name, def, &v) < 0 ||
        (http_query_get(q, name) && (v < lo || v > hi))) {
        char msg[96];
        snprintf(msg, sizeof(msg), "must be an integer from %lld to %lld", (long long)lo,
                 (long long)hi);
        api_reply_field(call, name, msg, "invalid_request");
        return false;
    }
    *ret = v;
    return true;
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

void api_json_set_time(json_t *o, const char *key, int64_t ms)
{
    char t[TIMEFMT_RFC3339_LEN + 1];
    if (ms > 0 && timefmt_rfc3339_ms(ms, t) == 0)
        json_object_set_new(o, key, json_string(t));
}

json_t *api_json_member(json_t *obj, const char *key)
{
    json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_null(v) ? NULL : v;
}

bool api_string_field(const struct api_call *call, json_t *obj, const char *key,
                      const char *path, const char **ret)
{
    json_t *v = api_json_member(obj, key);
    *ret = NULL;
    if (!v)
        return true;
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
        api_reply_field(call, path, "must be a string", "invalid_request");
        return false;
    }
    *ret = json_string_value(v);
    return true;
}
