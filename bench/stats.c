/* SPDX-License-Identifier: MIT */
/* stats.c: percentiles for the benchmarks (stats.h). */
#include "stats.h"

#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_percentile(double *v, size_t n, double p)
{
    qsort(v, n, sizeof(*v), cmp_double);
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    return v[rank > n ? n - 1 : rank - 1];
}

const char *bench_accel(void)
{
    const char *a = getenv("HEARTH_ACCEL");
    if (a && (!strcmp(a, "auto") || !strcmp(a, "kvm") || !strcmp(a, "tcg")))
        return a;
    return "auto";
}
