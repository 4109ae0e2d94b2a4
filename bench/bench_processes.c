/* SPDX-License-Identifier: MIT */
/* bench_processes.c: managed processes through the real API of a `hearthd serve` this program
 * starts (apiclient.h), on one real microVM. Prints medians; asserts nothing:
 *
 * - replay of 10 MiB of buffered output through connect?follow=false (the process's ring set to
 *   16 MiB so all of it is kept): wall time and MB/s of output bytes;
 * - memory held by hearthd per attached process: 256 connects to 32 idle processes held open
 *   (RSS moves in pages, so one connect alone would not show), hearthd's VmRSS before and
 *   after, divided by the connects.
 *
 * BENCH_PROC_RUNS overrides the 5 runs per measurement. Talks only to 127.0.0.1. */
#include "apiclient.h"
#include "stats.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_RUNS 32
#define ATTACHED 32     /* idle processes */
#define CONNECTS 256    /* connects held open across them (8 each) */
#define REPLAY_BYTES (10u << 20)

static char g_key[128];
static uint16_t g_port;

static int runs(void)
{
    const char *r = getenv("BENCH_PROC_RUNS");
    int n = r ? atoi(r) : 5;
    return n < 1 ? 1 : n > MAX_RUNS ? MAX_RUNS : n;
}

/* Sends a GET with Connection: close; the socket, or -1. */
static int open_get(const char *target)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(g_port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-Key: %s\r\n"
                     "Connection: close\r\n\r\n", target, g_key);
    if (write(fd, head, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One JSON call; the data.<field> string into out (may be NULL). The HTTP status. */
static int api(const char *method, const char *target, const char *body, const char *field,
               char *out, size_t max)
{
    struct conn c;
    struct resp r = { 0 };
    if (conn_open(&c, g_port) < 0)
        return -1;
    int st = request(&c, method, target, g_key, body, &r) < 0 ? -1 : r.status;
    if (field && out && r.body && !json_field(r.body, field, out, max))
        out[0] = '\0';
    resp_free(&r);
    conn_close(&c);
    return st;
}

static bool start_proc(const char *id, const char *body, char pid[64])
{
    char t[160];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/processes", id);
    return api("POST", t, body, "process_id", pid, 64) == 200 && strncmp(pid, "proc_", 5) == 0;
}

/* Replays everything of pid once: the wall time in ms, or -1. */
static double replay_once(const char *id, const char *pid, size_t *ret_bytes)
{
    char t[256];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/processes/%s/connect?follow=false", id, pid);
    int64_t t0 = wall_ms();
    int fd = open_get(t);
    if (fd < 0)
        return -1;
    static char buf[1 << 16];
    size_t total = 0;
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        total += (size_t)n;
    close(fd);
    *ret_bytes = total;
    return (double)(wall_ms() - t0);
}

static void bench_replay(const char *id)
{
    char pid[64], t[256];
    /* 10 MiB of output in 64 KiB writes, then exit */
    if (!start_proc(id, "{\"cmd\":\"sh\",\"args\":[\"-c\",\"head -c 10485760 /dev/zero | "
                        "tr '\\\\000' a\"]}", pid)) {
        printf("replay: cannot start the writer\n");
        return;
    }
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/processes/%s/wait?timeout_ms=300000", id, pid);
    api("GET", t, NULL, NULL, NULL, 0);
    double ms[MAX_RUNS], mbs[MAX_RUNS];
    int n = 0;
    size_t wire = 0;
    for (int i = 0; i < runs(); i++) {
        double v = replay_once(id, pid, &wire);
        if (v <= 0 || wire < REPLAY_BYTES)
            continue;
        ms[n] = v;
        mbs[n] = (double)REPLAY_BYTES / 1e6 / (v / 1000.0);
        n++;
    }
    if (!n) {
        printf("replay of 10 MiB: no successful runs\n");
        return;
    }
    printf("replay of 10 MiB through connect (%zu bytes of NDJSON), %d runs: median %.0f ms, "
           "%.1f MB/s of output\n", wire, n, bench_percentile(ms, (size_t)n, 50),
           bench_percentile(mbs, (size_t)n, 50));
}

static void bench_attached_memory(struct daemon *d, const char *id)
{
    static char pids[ATTACHED][64];
    for (int i = 0; i < ATTACHED; i++)
        if (!start_proc(id, "{\"cmd\":\"sleep\",\"args\":[\"100000\"]}", pids[i])) {
            printf("attached memory: cannot start process %d\n", i);
            return;
        }
    double per[MAX_RUNS];
    int n = 0;
    for (int r = 0; r < runs(); r++) {
        usleep(300 * 1000);
        long before = vm_rss_kib(d->pid);
        int fds[CONNECTS];
        int open_n = 0;
        for (int i = 0; i < CONNECTS; i++) {
            char t[4096];
            snprintf(t, sizeof(t), "/v1/sandboxes/%s/processes/%s/connect", id,
                     pids[i % ATTACHED]);
            if ((fds[open_n] = open_get(t)) >= 0)
                open_n++;
        }
        /* every stream answered its head: the attach is in place */
        for (int i = 0; i < open_n; i++) {
            struct pollfd p = { .fd = fds[i], .events = POLLIN };
            char tmp[4096];
            if (poll(&p, 1, 30000) > 0)
                (void)!read(fds[i], tmp, sizeof(tmp));
        }
        usleep(300 * 1000);
        long after = vm_rss_kib(d->pid);
        for (int i = 0; i < open_n; i++)
            close(fds[i]);
        if (before > 0 && after > 0 && open_n)
            per[n++] = (double)(after - before) / open_n;
    }
    if (n)
        printf("hearthd memory per attached connect, first run (fresh heap): %.1f KiB\n",
               per[0]);
    if (n)
        printf("hearthd memory per attached connect (%d connects to %d idle processes), %d runs: "
               "median %.1f KiB\n", CONNECTS, ATTACHED, n, bench_percentile(per, (size_t)n, 50));
    for (int i = 0; i < ATTACHED; i++) {
        char t[4096];
        snprintf(t, sizeof(t), "/v1/sandboxes/%s/processes/%s?grace_ms=0", id, pids[i]);
        api("DELETE", t, NULL, NULL, NULL, 0);
    }
}

int main(void)
{
    struct daemon d = { .pid = -1 };
    bool failed;
    if (!daemon_start_vm_bench(&d, "bench_processes", "process_output_bytes = 16777216\n", g_key, sizeof(g_key),
                               &failed))
        return failed ? 1 : 0;
    g_port = d.port;
    char id[STORE_ID_SIZE], why[256];
    double ms;
    if (create_one(d.port, g_key, "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"minimal\"}",
                          id, &ms, why, sizeof(why)) != 0) {
        printf("bench_processes: no sandbox: %s\n", why);
        daemon_stop(&d);
        return 1;
    }
    /* memory first: a replay's freed buffers would let later connects reuse heap for free */
    bench_attached_memory(&d, id);
    bench_replay(id);
    destroy_one(d.port, g_key, id);
    daemon_stop(&d);
    return 0;
}
