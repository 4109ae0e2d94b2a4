/* SPDX-License-Identifier: MIT */
/* benchio.h: what the stream benchmarks share (bench_interactive's tunnels, bench_ssh's -L):
 * timing a connection's bytes in either direction, and one report line of a sample set. */
#pragma once

#include <stddef.h>

/* Reads until total bytes came (or EOF / an error): MB/s (1e6 bytes), the bytes in *ret_bytes
 * and the seconds in *ret_s. */
double bench_read_mbps(int fd, size_t total, size_t *ret_bytes, double *ret_s);
/* Writes total bytes, half-closes and reads until the peer's EOF (the sink has taken it all):
 * MB/s, the bytes written and the seconds as above. */
double bench_write_mbps(int fd, size_t total, size_t *ret_bytes, double *ret_s);
/* "  what  p50 … unit  p90 … unit  (n=N)[  target …]", or "no samples". Sorts v. */
void bench_report(const char *what, double *v, int n, const char *unit, const char *target);
