/* SPDX-License-Identifier: MIT */
/* ingress_stats.h: the ingress proxy's operator metrics (docs/operations.md "Metrics"): counters
 * kept in the proxy's own struct, rendered in the Prometheus text format by the metrics
 * listener. Labels come from fixed sets (a status class or one of the proxy's own statuses, a
 * direction, a wake's result), never a sandbox or a user. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct buf;

/* The `code` label: the guest's answers by class, the proxy's own answers (error_page.c) by
 * their exact status, so an operator tells "the app said 404" from "no such sandbox". */
enum ingress_code {
    INGRESS_C_1XX, INGRESS_C_2XX, INGRESS_C_3XX, INGRESS_C_4XX, INGRESS_C_5XX,
    INGRESS_C_400, INGRESS_C_401, INGRESS_C_404, INGRESS_C_421, INGRESS_C_429,
    INGRESS_C_502, INGRESS_C_503, INGRESS_C_504, INGRESS_C_OTHER, INGRESS_C_N
};

#define INGRESS_STATS_BUCKETS 12

struct ingress_stats {
    uint64_t requests[INGRESS_C_N];
    uint64_t bucket[INGRESS_STATS_BUCKETS]; /* time to the response head, per bucket */
    uint64_t heads;
    double head_seconds;
    uint64_t bytes_in, bytes_out;           /* to the guests, from the guests to clients */
    uint64_t wakes_ok, wakes_failed;        /* requests that had to resume their sandbox */
    unsigned websockets;                    /* upgraded connections open now */
    /* gauges read at render time (ingress_metrics_render() fills them) */
    unsigned connections, pooled;
};

/* One response head sent, seconds after the request's head came; own: the proxy's answer. */
void ingress_stats_response(struct ingress_stats *st, int status, bool own, double seconds);
/* Appends every hearth_ingress_* family. 0 or -ENOBUFS. */
__attribute__((warn_unused_result))
int ingress_stats_render(const struct ingress_stats *st, struct buf *out);
