/* SPDX-License-Identifier: MIT */
/* metrics.c: API request metrics (metrics.h). Series are found by linear search: there are a
 * few dozen route templates, so a table would buy nothing. */
#include "daemon/api/metrics.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

static const double bounds[API_METRICS_BUCKETS] = { 0.001, 0.005, 0.01, 0.025, 0.05,
                                                    0.1,   0.25,  0.5,  1,     5 };

/* Element i of the array *v (*n elements of elem bytes), or, when i == *n, a new zeroed one
 * appended (the array grows by doubling). NULL when out of memory. */
static void *slot(void **v, size_t *n, size_t *cap, size_t elem, size_t i)
{
    if (i < *n)
        return (char *)*v + i * elem;
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        void *q = realloc(*v, nc * elem);
        if (!q)
            return NULL;
        *v = q;
        *cap = nc;
    }
    void *e = (char *)*v + (*n)++ * elem;
    memset(e, 0, elem);
    return e;
}

static bool same(const char *route, const char *method, const char *r, const char *me)
{
    return strcmp(route, r) == 0 && strcmp(method, me) == 0;
}

void api_metrics_observe(struct api_metrics *m, const char *route, const char *method, int code,
                         double seconds)
{
    size_t i = 0;
    while (i < m->n_series && !(m->series[i].code == code &&
                                same(m->series[i].route, m->series[i].method, route, method)))
        i++;
    void *v = m->series;
    struct api_metric_series *s = slot(&v, &m->n_series, &m->cap_series, sizeof(*s), i);
    m->series = v;
    if (!s)
        return;
    *s = (struct api_metric_series){ .route = route, .method = method, .code = code,
                                     .count = s->count + 1 };
    i = 0;
    while (i < m->n_hist && !same(m->hist[i].route, m->hist[i].method, route, method))
        i++;
    v = m->hist;
    struct api_metric_hist *h = slot(&v, &m->n_hist, &m->cap_hist, sizeof(*h), i);
    m->hist = v;
    if (!h)
        return;
    h->route = route;
    h->method = method;
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
