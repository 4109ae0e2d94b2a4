/* SPDX-License-Identifier: MIT */
/* metrics.h: request counters and latency histograms of the API (docs/api.md §5.2), rendered in
 * the Prometheus text format by the metrics listener. Labels are route templates, never ids. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct buf;

#define API_METRICS_BUCKETS 10

struct api_metric_series {
    const char *route;          /* static string: the route's pattern */
    const char *method;         /* static string */
    int code;
    uint64_t count;
};

struct api_metric_hist {
    const char *route;
    const char *method;
    uint64_t bucket[API_METRICS_BUCKETS]; /* cumulative at render time, per bucket here */
    uint64_t count;
    double sum;
};

struct api_metrics {
    struct api_metric_series *series;   /* owned */
    size_t n_series, cap_series;
    struct api_metric_hist *hist;       /* owned */
    size_t n_hist, cap_hist;
};

/* Records one finished request. route and method must be static strings. Out of memory drops
 * the sample. */
void api_metrics_observe(struct api_metrics *m, const char *route, const char *method, int code,
                         double seconds);
/* Appends hearth_http_requests_total and hearth_http_request_duration_seconds. 0 or -errno. */
__attribute__((warn_unused_result))
int api_metrics_render(const struct api_metrics *m, struct buf *out);
void api_metrics_release(struct api_metrics *m);
