/* SPDX-License-Identifier: MIT */
/* stats.h: the order statistics every benchmark reports, and the run's accelerator. */
#pragma once

#include <stddef.h>

/* Nearest-rank percentile p (0..100) of n > 0 samples; sorts v in place. */
double bench_percentile(double *v, size_t n, double p);

/* The accelerator benchmarks ask for: $HEARTH_ACCEL when it is auto, kvm or tcg, else "auto"
 * (hearthd's own default: KVM where /dev/kvm runs guests, TCG elsewhere). One word switches a
 * whole `make bench` run, e.g. HEARTH_ACCEL=tcg on a KVM host to compare the two. */
const char *bench_accel(void);
