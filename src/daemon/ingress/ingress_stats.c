/* SPDX-License-Identifier: MIT */
/* ingress_stats.c: the ingress proxy's metrics (ingress_stats.h): a status mapped onto the
 * fixed `code` label set, the head-latency histogram, and the text rendering. */
#include "daemon/ingress/ingress_stats.h"

#include <stddef.h>

#include "common/buf.h"

/* a head comes fast from a running app, in seconds when the request woke the sandbox */
static const double bounds[INGRESS_STATS_BUCKETS] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                      0.5,   1,    2.5,   5,    10,  30 };

static const char *const code_names[INGRESS_C_N] = {
    "1xx", "2xx", "3xx", "4xx", "5xx", "400", "401", "404", "421", "429", "502", "503", "504",
    "other",
};

static enum ingress_code code_of(int status, bool own)
{
    static const int exact[] = { 400, 401, 404, 421, 429, 502, 503, 504 };
    if (own)
        for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
            if (status == exact[i])
                return (enum ingress_code)(INGRESS_C_400 + i);
    if (status < 100 || status > 599)
        return INGRESS_C_OTHER;
    return (enum ingress_code)(INGRESS_C_1XX + status / 100 - 1);
}

void ingress_stats_response(struct ingress_stats *st, int status, bool own, double seconds)
{
    st->requests[code_of(status, own)]++;
    if (seconds < 0)
        seconds = 0;
    for (size_t b = 0; b < INGRESS_STATS_BUCKETS; b++) {
        if (seconds <= bounds[b]) {
            st->bucket[b]++;
            break;
        }
    }
    st->heads++;
    st->head_seconds += seconds;
}

int ingress_stats_render(const struct ingress_stats *st, struct buf *out)
{
    int r = buf_appendf(out, "# HELP hearth_ingress_requests_total Ingress requests answered, by "
                             "status class (the guest's answer) or exact status (the proxy's "
                             "own).\n"
                             "# TYPE hearth_ingress_requests_total counter\n");
    for (int i = 0; r == 0 && i < INGRESS_C_N; i++)
        r = buf_appendf(out, "hearth_ingress_requests_total{code=\"%s\"} %llu\n", code_names[i],
                        (unsigned long long)st->requests[i]);
    if (r == 0)
        r = buf_appendf(out, "# HELP hearth_ingress_request_duration_seconds Time from a "
                             "request's head to its response head.\n"
                             "# TYPE hearth_ingress_request_duration_seconds histogram\n");
    uint64_t cum = 0;
    for (int b = 0; r == 0 && b < INGRESS_STATS_BUCKETS; b++) {
        cum += st->bucket[b];
        r = buf_appendf(out, "hearth_ingress_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                        bounds[b], (unsigned long long)cum);
    }
    if (r == 0)
        r = buf_appendf(
            out,
            "hearth_ingress_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
            "hearth_ingress_request_duration_seconds_sum %.6f\n"
            "hearth_ingress_request_duration_seconds_count %llu\n"
            "# HELP hearth_ingress_bytes_total Ingress bytes: in to the guests, out to clients.\n"
            "# TYPE hearth_ingress_bytes_total counter\n"
            "hearth_ingress_bytes_total{direction=\"in\"} %llu\n"
            "hearth_ingress_bytes_total{direction=\"out\"} %llu\n"
            "# HELP hearth_ingress_connections Open ingress client connections.\n"
            "# TYPE hearth_ingress_connections gauge\n"
            "hearth_ingress_connections %u\n"
            "# HELP hearth_ingress_upstream_pool Idle guest connections kept for reuse.\n"
            "# TYPE hearth_ingress_upstream_pool gauge\n"
            "hearth_ingress_upstream_pool %u\n"
            "# HELP hearth_ingress_wakes_total Ingress requests that resumed a paused sandbox, "
            "by result.\n"
            "# TYPE hearth_ingress_wakes_total counter\n"
            "hearth_ingress_wakes_total{result=\"ok\"} %llu\n"
            "hearth_ingress_wakes_total{result=\"failed\"} %llu\n"
            "# HELP hearth_ingress_websockets Open upgraded (WebSocket) ingress connections.\n"
            "# TYPE hearth_ingress_websockets gauge\n"
            "hearth_ingress_websockets %u\n",
            (unsigned long long)st->heads, st->head_seconds, (unsigned long long)st->heads,
            (unsigned long long)st->bytes_in, (unsigned long long)st->bytes_out,
            st->connections, st->pooled, (unsigned long long)st->wakes_ok,
            (unsigned long long)st->wakes_failed, st->websockets);
    return r;
}
