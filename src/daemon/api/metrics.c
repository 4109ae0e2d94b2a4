/* SPDX-License-Identifier: MIT */
/* metrics.c: API request metrics (metrics.h). Series are found by linear search: there are a
 * few dozen route templates, so a table would buy nothing. */
#include "daemon/api/metrics.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

static const double bounds[API_METRICS_BUCKETS] = { 0.001, 0.005, 0.01, 0.025, 0.05,
                                                    0.1,   0.25,  0.5,  1,     5 };

static void *grow(void *p, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return p;
    size_t nc = *cap ? *cap * 2 : 16;
    void *q = realloc(p, nc * elem);
    if (q)
        *cap = nc;
    return q;
}

void api_metrics_observe(struct api_metrics *m, const char *route, const char *method, int code,
                         double seconds)
{
    size_t i;
    for (i = 0; i < m->n_series; i++) {
        struct api_metric_series *s = &m->series[i];
        if (s->code == code && strcmp(s->route, route) == 0 && strcmp(s->method, method) == 0)
            break;
    }
    if (i == m->n_series) {
        void *q = grow(m->series, &m->cap_series, m->n_series, sizeof(*m->series));
        if (!q)
            return;
        m->series = q;
        m->series[m->n_series++] =
            (struct api_metric_series){ .route = route, .method = method, .code = code };
    }
    m->series[i].count++;
    for (i = 0; i < m->n_hist; i++)
        if (strcmp(m->hist[i].route, route) == 0 && strcmp(m->hist[i].method, method) == 0)
            break;
    if (i == m->n_hist) {
        void *q = grow(m->hist, &m->cap_hist, m->n_hist, sizeof(*m->hist));
        if (!q)
            return;
        m->hist = q;
        memset(&m->hist[m->n_hist], 0, sizeof(*m->hist));
        m->hist[m->n_hist].route = route;
        m->hist[m->n_hist].method = method;
        m->n_hist++;
    }
    struct api_metric_hist *h = &m->hist[i];
    for (size_t b = 0; b < API_METRICS_BUCKETS; b++) {
        if (seconds <= bounds[b]) {
            h->bucket[b]++;
            break;
        }
    }
    h->count++;
    h->sum += seconds;
}

int api_metrics_render(const struct api_metrics *m, struct buf *out)
{
    int r = buf_appendf(out, "# HELP hearth_http_requests_total API requests answered.\n"
                             "# TYPE hearth_http_requests_total counter\n");
    for (size_t i = 0; r == 0 && i < m->n_series; i++) {
        const struct api_metric_series *s = &m->series[i];
        r = buf_appendf(out, "hearth_http_requests_total{route=\"%s\",method=\"%s\",code=\"%d\"}"
                             " %llu\n", s->route, s->method, s->code,
                        (unsigned long long)s->count);
    }
    if (r == 0)
        r = buf_appendf(out, "# HELP hearth_http_request_duration_seconds API request latency.\n"
                             "# TYPE hearth_http_request_duration_seconds histogram\n");
    for (size_t i = 0; r == 0 && i < m->n_hist; i++) {
        const struct api_metric_hist *h = &m->hist[i];
        uint64_t cum = 0;
        for (size_t b = 0; r == 0 && b < API_METRICS_BUCKETS; b++) {
            cum += h->bucket[b];
            r = buf_appendf(out, "hearth_http_request_duration_seconds_bucket{route=\"%s\","
                                 "method=\"%s\",le=\"%g\"} %llu\n", h->route, h->method,
                            bounds[b], (unsigned long long)cum);
        }
        if (r == 0)
            r = buf_appendf(out, "hearth_http_request_duration_seconds_bucket{route=\"%s\","
                                 "method=\"%s\",le=\"+Inf\"} %llu\n"
                                 "hearth_http_request_duration_seconds_sum{route=\"%s\","
                                 "method=\"%s\"} %.6f\n"
                                 "hearth_http_request_duration_seconds_count{route=\"%s\","
                                 "method=\"%s\"} %llu\n",
                            h->route, h->method, (unsigned long long)h->count, h->route,
                            h->method, h->sum, h->route, h->method,
                            (unsigned long long)h->count);
    }
    return r;
}

void api_metrics_release(struct api_metrics *m)
{
    free(m->series);
    free(m->hist);
    memset(m, 0, sizeof(*m));
}
