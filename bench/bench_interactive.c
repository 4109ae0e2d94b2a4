/* SPDX-License-Identifier: MIT */
/* bench_interactive.c: the upgrade routes (docs/api.md §3.12) against a real `hearthd serve`
 * this program starts (images from $HEARTH_IMAGES, the binary from $HEARTH_BIN or build/bin),
 * on one minimal sandbox. Prints medians and p90s next to the targets; asserts nothing.
 *
 * - shell keystroke echo: one input frame of one byte to its echo by the terminal (target
 *   p50 <= 5 ms);
 * - tunnel throughput guest -> host (cat /dev/zero) and host -> guest (into dd of=/dev/null),
 *   BENCH_TUNNEL_MIB (default 256) each (target >= 100 MB/s);
 * - a 1-byte request/response through an open tunnel (busybox nc echo), a new tunnel per
 *   request, and an exec of `true` through the API, for the added cost of each;
 * - hearthd's resident memory per open idle tunnel (64 of them). */
#include "apiclient.h"
#include "benchio.h"
#include "stats.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/mono.h"

#define RUNS 200
#define IDLE_TUNNELS 64

static uint16_t g_port;
static char g_key[128];
static char g_id[STORE_ID_SIZE];

static double ms_since(int64_t t0_us)
{
    return (double)(mono_now_us() - t0_us) / 1000.0;
}

/* An upgraded connection to route ("shell", "tunnel/7000"), or -1 (apiclient.h). */
static int upgraded(const char *route)
{
    return upgrade_open(g_port, g_key, g_id, route);
}

/* Waits for at least one byte; false on EOF or 10 s of silence. */
static bool read_some(int fd, char *buf, size_t max, size_t *got)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (poll(&p, 1, 10000) <= 0)
        return false;
    ssize_t n = read(fd, buf, max);
    *got = n > 0 ? (size_t)n : 0;
    return n > 0;
}

static void drain(int fd, int quiet_ms)
{
    char buf[4096];
    struct pollfd p = { .fd = fd, .events = POLLIN };
    while (poll(&p, 1, quiet_ms) > 0 && read(fd, buf, sizeof(buf)) > 0)
        ;
}

static void bench_keystroke(void)
{
    int fd = upgraded("shell");
    if (fd < 0) {
        printf("  shell: no upgrade\n");
        return;
    }
    drain(fd, 1500); /* the prompt */
    double v[RUNS];
    int n = 0;
    for (int i = 0; i < RUNS; i++) {
        uint8_t fr[6] = { 0, 0, 0, 0, 1, (uint8_t)('a' + i % 26) };
        int64_t t0 = mono_now_us();
        if (write(fd, fr, sizeof(fr)) != (ssize_t)sizeof(fr))
            break;
        char buf[256];
        size_t got;
        if (!read_some(fd, buf, sizeof(buf), &got))
            break;
        v[n++] = ms_since(t0);
        if (i % 50 == 49) { /* Ctrl-U: keep the line short */
            uint8_t cu[6] = { 0, 0, 0, 0, 1, 0x15 };
            (void)write(fd, cu, sizeof(cu));
            drain(fd, 50);
        }
    }
    bench_report("shell keystroke echo", v, n, "ms", "p50 <= 5 ms");
    close(fd);
}

static void bench_throughput(size_t mib)
{
    size_t total = mib << 20, bytes;
    double s, mbps;
    /* guest -> host */
    int fd = upgraded("tunnel/7001");
    if (fd >= 0) {
        mbps = bench_read_mbps(fd, total, &bytes, &s);
        printf("  %-52s %8.1f MB/s (%zu MiB in %.2f s)  target >= 100 MB/s\n",
               "tunnel throughput guest -> host", mbps, bytes >> 20, s);
        close(fd);
    }
    /* host -> guest: until the guest's dd has taken it all (its EOF comes after) */
    fd = upgraded("tunnel/7003");
    if (fd >= 0) {
        mbps = bench_write_mbps(fd, total, &bytes, &s);
        printf("  %-52s %8.1f MB/s (%zu MiB in %.2f s)  target >= 100 MB/s\n",
               "tunnel throughput host -> guest", mbps, bytes >> 20, s);
        close(fd);
    }
}

static void bench_small_rr(void)
{
    double v[RUNS];
    int n = 0;
    int fd = upgraded("tunnel/7000");
    for (int i = 0; fd >= 0 && i < RUNS; i++) {
        char c = 'x', buf[16];
        size_t got;
        int64_t t0 = mono_now_us();
        if (write(fd, &c, 1) != 1 || !read_some(fd, buf, sizeof(buf), &got))
            break;
        v[n++] = ms_since(t0);
    }
    if (fd >= 0)
        close(fd);
    bench_report("1-byte request/response, open tunnel (nc echo)", v, n, "ms", NULL);

    n = 0;
    for (int i = 0; i < RUNS / 4; i++) {
        int64_t t0 = mono_now_us();
        int k = upgraded("tunnel/7000");
        char c = 'x', buf[16];
        size_t got;
        if (k < 0 || write(k, &c, 1) != 1 || !read_some(k, buf, sizeof(buf), &got)) {
            if (k >= 0)
                close(k);
            break;
        }
        v[n++] = ms_since(t0);
        close(k);
    }
    bench_report("1-byte request/response, new tunnel each", v, n, "ms", NULL);

    n = 0;
    struct conn c;
    if (conn_open(&c, g_port) == 0) {
        char t[256];
        snprintf(t, sizeof(t), "/v1/sandboxes/%s/exec", g_id);
        for (int i = 0; i < RUNS / 4; i++) {
            struct resp r;
            int64_t t0 = mono_now_us();
            if (request(&c, "POST", t, g_key, "{\"cmd\":\"true\"}", &r) != 0)
                break;
            v[n++] = ms_since(t0);
            resp_free(&r);
        }
        conn_close(&c);
    }
    bench_report("exec `true` through the API (for comparison)", v, n, "ms", NULL);
}

static void bench_idle_memory(pid_t pid)
{
    int fds[IDLE_TUNNELS];
    int n = 0;
    usleep(500 * 1000);
    long before = vm_rss_kib(pid);
    for (; n < IDLE_TUNNELS; n++)
        if ((fds[n] = upgraded("tunnel/7000")) < 0)
            break;
    usleep(500 * 1000);
    long after = vm_rss_kib(pid);
    printf("  %-52s %8.1f KiB (RSS %ld -> %ld KiB over %d tunnels)\n",
           "hearthd memory per open idle tunnel", n ? (double)(after - before) / n : 0.0, before,
           after, n);
    for (int i = 0; i < n; i++)
        close(fds[i]);
}

int main(void)
{
    struct daemon d = { .pid = -1 };
    bool failed;
    if (!daemon_start_vm_bench(&d, "bench_interactive", "golden_snapshots = off\n", g_key, sizeof(g_key),
                               &failed))
        return failed ? 1 : 0;
    g_port = d.port;
    char why[256] = "";
    double ms;
    if (create_one(g_port, g_key, "{\"shape\":\"s-1vcpu-512mb\",\"rootfs\":\"minimal\"}",
                          g_id, &ms, why, sizeof(why)) != 0) {
        printf("bench_interactive: no sandbox: %s\n", why);
        daemon_stop(&d);
        return 1;
    }
    struct conn c;
    struct resp r = { 0 };
    char t[256];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/exec", g_id);
    /* the guest's servers: echo, an endless source, a sink */
    if (conn_open(&c, g_port) == 0) {
        (void)request(&c, "POST", t, g_key,
                      "{\"cmd\":\"sh\",\"args\":[\"-c\",\"setsid nc -ll -p 7000 -e cat "
                      "</dev/null >/dev/null 2>&1 & setsid nc -ll -p 7001 -e cat /dev/zero "
                      "</dev/null >/dev/null 2>&1 & setsid nc -ll -p 7003 -e dd of=/dev/null "
                      "bs=65536 </dev/null >/dev/null 2>&1 & sleep 0.5\"]}",
                      &r);
        resp_free(&r);
        conn_close(&c);
    }
    printf("bench_interactive: minimal sandbox, 1 vCPU, 512 MiB\n");
    bench_keystroke();
    const char *mib = getenv("BENCH_TUNNEL_MIB");
    bench_throughput(mib ? strtoul(mib, NULL, 10) : 256);
    bench_small_rr();
    bench_idle_memory(d.pid);
    destroy_one(g_port, g_key, g_id);
    daemon_stop(&d);
    return 0;
}
