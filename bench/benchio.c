/* SPDX-License-Identifier: MIT */
/* benchio.c: timed bulk transfers and report lines for the stream benchmarks (benchio.h). */
#include "benchio.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/mono.h"
#include "stats.h"

static char g_buf[1 << 16];

static double finish(size_t bytes, int64_t t0, size_t *ret_bytes, double *ret_s)
{
    double s = (double)(mono_now_us() - t0) / 1e6;
    *ret_bytes = bytes;
    *ret_s = s;
    return s > 0 ? (double)bytes / 1e6 / s : 0;
}

double bench_read_mbps(int fd, size_t total, size_t *ret_bytes, double *ret_s)
{
    size_t got = 0;
    int64_t t0 = mono_now_us();
    while (got < total) {
        ssize_t n = read(fd, g_buf, sizeof(g_buf));
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    return finish(got, t0, ret_bytes, ret_s);
}

double bench_write_mbps(int fd, size_t total, size_t *ret_bytes, double *ret_s)
{
    memset(g_buf, 'x', sizeof(g_buf));
    size_t sent = 0;
    int64_t t0 = mono_now_us();
    while (sent < total) {
        ssize_t n = write(fd, g_buf, sizeof(g_buf));
        if (n <= 0)
            break;
        sent += (size_t)n;
    }
    shutdown(fd, SHUT_WR);
    while (read(fd, g_buf, sizeof(g_buf)) > 0) /* the sink's last words, then EOF */
        ;
    return finish(sent, t0, ret_bytes, ret_s);
}

void bench_report(const char *what, double *v, int n, const char *unit, const char *target)
{
    if (n == 0) {
        printf("  %-52s no samples\n", what);
        return;
    }
    double p50 = bench_percentile(v, (size_t)n, 50), p90 = bench_percentile(v, (size_t)n, 90);
    printf("  %-52s p50 %8.2f %s  p90 %8.2f %s  (n=%d)%s%s\n", what, p50, unit, p90, unit, n,
           target ? "  target " : "", target ? target : "");
}
