/* SPDX-License-Identifier: MIT */
/* usage_routes.c: the metrics routes of docs/api.md §3.14: one sandbox's use, the caller's
 * totals and the caller's time series. Parses ids and the time series' query (from, to, step_s),
 * asks the control layer's sampler (ctl/usage.h) and shapes the JSON. */
#include "daemon/api/routes.h"

#include <stdlib.h>
#include <string.h>

#include "common/mono.h"
#include "common/timefmt.h"
#include "daemon/api/api.h"
#include "daemon/api/reply.h"
#include "daemon/api/sandboxes.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/ctl/usage.h"
#include "daemon/http/request.h"
#include "daemon/http/route.h"
#include "daemon/store/ids.h"

#define SERIES_MAX_POINTS 1440
#define SERIES_KEEP_MS (30LL * 24 * 3600 * 1000)   /* how far back `from` may go (§3.14) */
#define SERIES_DEFAULT_MS (24LL * 3600 * 1000)
#define SERIES_DEFAULT_STEP 300

/* v (not negative) rounded to 1/scale, without libm */
static double rounded(double v, double scale)
{
    return (double)(int64_t)(v * scale + 0.5) / scale;
}

static json_t *ts_json(int64_t ms)
{
    char t[TIMEFMT_RFC3339_LEN + 1];
    if (timefmt_rfc3339_ms(ms, t) < 0)
        return json_null();
    return json_string(t);
}

/* A number when known, else null (§3.14: use fields only while running). */
static json_t *known_int(bool known, int64_t v)
{
    return known ? json_integer(v) : json_null();
}

static struct ctl_usage *usage(struct api_call *call)
{
    if (!call->ctx->usage)
        api_reply_error(call, 503, "usage metrics are not available", "unavailable");
    return call->ctx->usage;
}

void api_sandbox_metrics(struct api_call *call)
{
    char id[STORE_ID_SIZE];
    struct ctl_usage *u = usage(call);
    if (!u || !api_sandbox_path_id(call, 2, id))
        return;
    struct ctl_caller who = api_caller(call);
    struct ctl_error e;
    struct ctl_sandbox_metrics m;
    if (ctl_sandbox_metrics(u, &who, id, &m, &e) < 0) {
        api_reply_ctl(call, &e);
        return;
    }
    /* one decimal: a 10 s average does not carry more */
    json_t *cpu = m.has_cpu_pct ? json_real(rounded(m.cpu_pct, 10)) : json_null();
    json_t *o = json_pack("{s:s,s:o,s:s,s:i,s:I,s:I,s:o,s:o,s:o,s:o,s:I,s:I}", "id", m.id, "ts",
                          ts_json(m.ts_ms), "status", store_state_to_string(m.status), "vcpu",
                          (int)m.vcpu, "mem_mib", (json_int_t)m.mem_mib, "disk_mib",
                          (json_int_t)m.disk_mib, "cpu_pct", cpu, "mem_used_mib",
                          known_int(m.has_mem_used, m.mem_used_mib), "disk_used_mib",
                          known_int(m.has_disk_used, m.disk_used_mib), "pids",
                          known_int(m.has_pids, (int64_t)m.pids), "egress_bytes",
                          (json_int_t)m.egress_bytes, "ingress_bytes",
                          (json_int_t)m.ingress_bytes);
    api_reply_ok(call, o);
}

void api_user_metrics(struct api_call *call)
{
    struct ctl_usage *u = usage(call);
    if (!u)
        return;
    struct ctl_caller who = api_caller(call);
    struct ctl_error e;
    struct ctl_user_metrics m;
    if (ctl_user_metrics(u, &who, &m, &e) < 0) {
        api_reply_ctl(call, &e);
        return;
    }
    api_reply_ok(call, json_pack("{s:s,s:o,s:{s:I,s:I,s:I,s:I},s:I,s:I,s:I,s:I,s:I,s:I}",
                                 "user_id", call->auth.user_id, "ts",
                                 ts_json(timefmt_now_ms()), "sandboxes", "running",
                                 (json_int_t)m.running, "paused", (json_int_t)m.paused, "other",
                                 (json_int_t)m.other, "total", (json_int_t)m.total,
                                 "vcpu_running", (json_int_t)m.vcpu_running, "mem_mib_running",
                                 (json_int_t)m.mem_mib_running, "disk_mib_allocated",
                                 (json_int_t)m.disk_mib_allocated, "egress_bytes",
                                 (json_int_t)m.egress_bytes, "ingress_bytes",
                                 (json_int_t)m.ingress_bytes, "running_seconds",
                                 (json_int_t)m.running_seconds));
}

/* An RFC 3339 query parameter into *ms (absent: def). false when it answered 400. */
static bool time_param(struct api_call *call, const char *name, int64_t def, int64_t *ms)
{
    const char *v = http_query_get(http_request_query(call->req), name);
    if (!v) {
        *ms = def;
        return true;
    }
    if (timefmt_parse_rfc3339(v, strlen(v), ms) < 0) {
        api_reply_field(call, name, "must be an RFC 3339 timestamp", "invalid_request");
        return false;
    }
    return true;
}

void api_user_metrics_timeseries(struct api_call *call)
{
    struct ctl_usage *u = usage(call);
    if (!u)
        return;
    int64_t now = timefmt_now_ms(), to, from, step;
    if (!time_param(call, "to", now, &to) ||
        !time_param(call, "from", to - SERIES_DEFAULT_MS, &from))
        return;
    if (http_query_get_int(http_request_query(call->req), "step_s", SERIES_DEFAULT_STEP,
                           &step) < 0 || step < 60 || step % 60 != 0 || step > 86400 * 30) {
        api_reply_field(call, "step_s", "must be an integer of seconds, at least 60 and a "
                        "multiple of 60", "invalid_request");
        return;
    }
    if (from >= to) {
        api_reply_field(call, "from", "must be before to", "invalid_request");
        return;
    }
    if (from < now - SERIES_KEEP_MS) {
        api_reply_field(call, "from", "must be within the last 30 days", "invalid_request");
        return;
    }
    if ((to - from + step * 1000 - 1) / (step * 1000) > SERIES_MAX_POINTS) {
        api_reply_field(call, "step_s", "gives more than 1440 points; use a larger step",
                        "invalid_request");
        return;
    }
    struct ctl_caller who = api_caller(call);
    struct ctl_error e;
    struct ctl_usage_point *pts = NULL;
    size_t n = 0;
    if (ctl_user_timeseries(u, &who, from, to, step, &pts, &n, &e) < 0) {
        api_reply_ctl(call, &e);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++) {
        const struct ctl_usage_point *p = &pts[i];
        json_array_append_new(
            arr, json_pack("{s:o,s:f,s:f,s:f,s:f,s:I,s:I}", "ts", ts_json(p->ts_ms), "running",
                           rounded(p->running, 1000), "paused",
                           rounded(p->paused, 1000), "vcpu_running",
                           rounded(p->vcpu_running, 1000), "mem_mib_running",
                           rounded(p->mem_mib_running, 10), "egress_bytes",
                           (json_int_t)p->egress_bytes, "ingress_bytes",
                           (json_int_t)p->ingress_bytes));
    }
    free(pts);
    api_reply_ok(call, json_pack("{s:o,s:o,s:I,s:o}", "from", ts_json(from), "to", ts_json(to),
                                 "step_s", (json_int_t)step, "points", arr));
}

/* ---- lifecycle metrics of finished requests (docs/api.md §5.2) ---- */

static bool route_is(const struct api_call *call, const char *method, const char *pattern)
{
    return call->route && strcmp(call->method, method) == 0 &&
           strcmp(call->route->pattern, pattern) == 0;
}

void api_usage_observe(const struct api_call *call, int status)
{
    struct ctl_usage *u = call->ctx->usage;
    if (!u || !call->route || status < 200 || (status >= 300 && status < 500))
        return; /* refused before anything started: not an operation */
    bool ok = status < 300;
    double secs = (double)(mono_now_us() - call->start_us) / 1e6;
    if (route_is(call, "POST", "/v1/sandboxes")) {
        ctl_usage_op_done(u, CTL_USAGE_OP_CREATE, secs, ok);
        return;
    }
    if (route_is(call, "POST", "/v1/sandboxes/*/fork")) {
        ctl_usage_op_done(u, CTL_USAGE_OP_FORK, secs, ok);
        return;
    }
    static const struct {
        const char *method, *pattern;
        enum ctl_usage_op op;
    } sync_ops[] = {
        /* answered when done: the request's time is the operation's */
        { "POST", "/v1/sandboxes/*/networks", CTL_USAGE_OP_NET_ATTACH },
        { "DELETE", "/v1/sandboxes/*/networks/*", CTL_USAGE_OP_NET_DETACH },
        { "POST", "/v1/networks", CTL_USAGE_OP_NET_CREATE },
        { "DELETE", "/v1/networks/*", CTL_USAGE_OP_NET_DELETE },
        { "PUT", "/v1/sandboxes/*/egress", CTL_USAGE_OP_EGRESS_SET },
    };
    for (size_t i = 0; i < sizeof(sync_ops) / sizeof(sync_ops[0]); i++) {
        if (route_is(call, sync_ops[i].method, sync_ops[i].pattern)) {
            ctl_usage_op_done(u, sync_ops[i].op, secs, ok);
            return;
        }
    }
    if (route_is(call, "POST", "/v1/sandboxes/*/exec")) {
        bool stream = false;
        if (ok && http_query_get_bool(http_request_query(call->req), "stream", false, &stream) == 0)
            ctl_usage_exec(u, stream);
        return;
    }
    enum ctl_usage_op op = route_is(call, "POST", "/v1/sandboxes/*/pause")    ? CTL_USAGE_OP_PAUSE
                           : route_is(call, "POST", "/v1/sandboxes/*/resume") ? CTL_USAGE_OP_RESUME
                           : route_is(call, "DELETE", "/v1/sandboxes/*") ? CTL_USAGE_OP_DESTROY
                                                                         : CTL_USAGE_OP__COUNT;
    if (op == CTL_USAGE_OP__COUNT)
        return;
    if (!ok) {
        ctl_usage_op_done(u, op, secs, false);
        return;
    }
    const struct http_path *p = http_request_path(call->req);
    char id[STORE_ID_SIZE];
    if (p->n < 3 || ids_canonical(IDS_SANDBOX_PREFIX, p->seg[2], p->seg_len[2], id, sizeof(id)) < 0)
        return;
    /* the request's start on the wall clock, which the row's updated_at is on */
    int64_t start_ms = timefmt_now_ms() - (mono_now_us() - call->start_us) / 1000;
    ctl_usage_watch(u, op, id, start_ms);
}
