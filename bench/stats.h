/* SPDX-License-Identifier: MIT */
/* stats.h: the order statistics every benchmark reports. */
#pragma once

#include <stddef.h>

/* Nearest-rank percentile p (0..100) of n > 0 samples; sorts v in place. */
double bench_percentile(double *v, size_t n, double p);
