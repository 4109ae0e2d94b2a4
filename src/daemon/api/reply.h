/* SPDX-License-Identifier: MIT */
/* reply.h: what a route handler gets (struct api_call) and how it answers. Every answer goes
 * through these helpers so that each request is logged once and counted in the metrics with
 * its status. Also the shared request helpers: JSON bodies and pagination (docs/api.md §1.10). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/api/auth.h"
#include "daemon/ctl/sandbox_ops.h"

struct api_ctx;
struct ctl_error;
struct http_request;

enum api_auth_need {
    API_AUTH_NONE = 0,   /* credential headers ignored */
    API_AUTH_KEY,        /* any valid key; a delegated token gets 403 */
    API_AUTH_ADMIN,      /* admin key, else 403 */
    API_AUTH_SANDBOX,    /* any valid key, or the delegated token of the sandbox in the path
                            (docs/api.md §3.13): the routes a token grants */
};

struct api_call;
typedef void (*api_handler_fn)(struct api_call *call);

struct api_route {
    int method;              /* enum http_method */
    const char *pattern;     /* "/v1/sandboxes/{*}" form: a "*" segment matches one
                                segment, a final "**" one or more */
    enum api_auth_need auth;
    bool head_ok;            /* HEAD served like GET (health probes only) */
    api_handler_fn fn;       /* NULL: 501 not_implemented */
};

/* One request as a handler sees it. Synchronous handlers get it on the router's stack; handlers
 * that read a body get a heap copy through api_read_json() that lives until their callback
 * returns. */
struct api_call {
    struct api_ctx *ctx;
    struct http_request *req;        /* borrowed */
    const struct api_route *route;
    struct api_auth auth;            /* filled when route->auth != API_AUTH_NONE */
    const char *method;              /* "GET" … (static) */
    int64_t start_us;                /* monotonic */
};

/* 200 success with data (stolen; NULL → {}). */
void api_reply_ok(const struct api_call *call, json_t *data);
/* 4xx fail with an object (stolen), which must carry "code". */
void api_reply_fail(const struct api_call *call, int status, json_t *data);
/* 4xx fail with a string (401/404/405 forms). */
void api_reply_fail_str(const struct api_call *call, int status, const char *msg);
/* 4xx fail {"code":code,"message":msg}. */
void api_reply_fail_code(const struct api_call *call, int status, const char *code,
                         const char *msg);
/* 400 {"<field>":msg,"code":code}. */
void api_reply_field(const struct api_call *call, const char *field, const char *msg,
                     const char *code);
/* 409 {"code":"invalid_state","state":state,"message":msg}. */
void api_reply_invalid_state(const struct api_call *call, const char *state, const char *msg);
/* 5xx error envelope; 503 gets Retry-After: 5. */
void api_reply_error(const struct api_call *call, int status, const char *msg, const char *code);
/* 500 internal, logged with the errno and what failed. */
void api_reply_internal(const struct api_call *call, const char *what, int err);
/* The answer for a control-layer error (docs/api.md §1.4): 400 field errors
 * (invalid_request, name_taken, unknown_reference), 403, 404, 409 (invalid_state and its
 * state, limit_reached, in_use), 503 (unavailable, no_capacity), 500 (boot_failed, internal
 * with the message, or the logged internal error). */
void api_reply_ctl(const struct api_call *call, const struct ctl_error *e);
/* The JSend envelope ({"status":…}) and HTTP status api_reply_ctl() answers for e, as JSON
 * (an internal error without its detail); NULL when out of memory. */
json_t *api_ctl_envelope(const struct ctl_error *e, int *ret_status);
/* Answers a JSend envelope (stolen) with status, as a host produced it for the work queue
 * (api/create_remote.c): success 200, fail 4xx, error 5xx; anything else 502 bad_gateway. */
void api_reply_envelope(const struct api_call *call, int status, json_t *env);
/* For paths that answered through the http layer directly (e.g. 405): counts and logs. */
void api_reply_done(const struct api_call *call, int status);
/* Lifecycle and exec metrics of a finished request (usage_routes.c; api_reply_done calls it):
 * create and fork time their held request, pause, resume and delete have the sampler time the
 * row's transition (ctl/usage.h). */
void api_usage_observe(const struct api_call *call, int status);

/* A heap object of size bytes that begins with a copy of call, whose request it references,
 * for a handler that answers later; NULL (500 answered) when out of memory. */
void *api_call_hold(const struct api_call *call, size_t size, const char *what);
/* Drops what api_call_hold took (the request reference and its abort callback); the caller
 * frees the object. */
void api_call_unhold(struct api_call *held);
/* {"ok":true} when r is 0, else the control-layer error e. */
void api_reply_ctl_ok(const struct api_call *call, int r, const struct ctl_error *e);

struct ctl_caller;
/* The caller of a control operation: call's user and key and its request id (borrowed from
 * call). */
struct ctl_caller api_caller(const struct api_call *call);

/* Called with the parsed JSON body (borrowed; {} for an empty body; any JSON type). call is
 * freed when fn returns: copy it (and http_request_ref the request) to answer later. */
typedef void (*api_json_fn)(struct api_call *call, json_t *body);
/* Reads the body (≤ 8 MiB), parses it and calls fn; answers 400 for malformed JSON and lets the
 * HTTP layer answer 413. On a dead connection fn never runs. */
void api_read_json(const struct api_call *call, api_json_fn fn);

/* Sets o[key] to ms as an RFC 3339 time with milliseconds (docs/api.md §1.8 item 4); nothing
 * when ms is 0 or less (optional times are left out, §1.8 item 1). */
void api_json_set_time(json_t *o, const char *key, int64_t ms);
/* obj[key] when obj is an object, with JSON null as absent (docs/api.md §1.8); else NULL. */
json_t *api_json_member(json_t *obj, const char *key);
/* A string field of obj: false (400 invalid_request keyed path answered) when present but not a
 * string, or when it holds a NUL (a JSON \u0000 would cut it short behind the checks' back).
 * *ret NULL when absent. */
bool api_string_field(const struct api_call *call, json_t *obj, const char *key,
                      const char *path, const char **ret);

struct api_page {
    size_t limit;    /* effective: default 50, clamped to 500 */
    size_t offset;
};
/* Query parameter name as an integer from lo to hi into *ret, def when it is absent; false
 * after answering 400 "must be an integer from lo to hi" (not an integer, or out of range). */
bool api_query_int_in(const struct api_call *call, const char *name, int64_t lo, int64_t hi,
                      int64_t def, int64_t *ret);
/* Parses limit/offset (§1.10). Returns 0, or answers 400 itself and returns -EINVAL. */
__attribute__((warn_unused_result))
int api_page_parse(const struct api_call *call, struct api_page *ret);
/* {"data":items,"pagination":{total,limit,offset,count}}; items stolen. */
json_t *api_page_wrap(json_t *items, const struct api_page *pg, uint64_t total);
