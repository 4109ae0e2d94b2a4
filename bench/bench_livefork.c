/* SPDX-License-Identifier: MIT */
/* bench_livefork.c: fork of a running sandbox (docs/performance.md "Live fork") through the
 * API of a real hearthd, at 256 MiB and 1 GiB, the source busy with a counter and 64 MiB
 * written to /dev/shm:
 * - source stopped: from `stop` sent to `cont` answered, as hearthd logs it with the steps
 *   ("sandbox live snapshot": stopped_ms, timeline) — target <= 100 ms under TCG;
 * - one child: the fork request until it answered with the child running (agent READY) —
 *   target <= 250 ms for the child's part (the request minus the source's snapshot);
 * - 10 children from one request ({"count":10}) until all run — target <= 1 s.
 * No assertions; medians with their targets. BENCH_LIVEFORK_RUNS (default 8) runs each. */
#include "apiclient.h"
#include "benchio.h"
#include "stats.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/mono.h"

#define MAX_RUNS 32

static const char *g_key;
static uint16_t g_port;
static const char *g_log;

static int runs(void)
{
    const char *r = getenv("BENCH_LIVEFORK_RUNS");
    int n = r ? atoi(r) : 8;
    return n < 1 ? 1 : n > MAX_RUNS ? MAX_RUNS : n;
}

static bool sh(const char *id, const char *script)
{
    return exec_sh_ok(g_port, g_key, id, script);
}

/* The last "sandbox live snapshot" line of hearthd's log after byte from: stopped_ms, and the
 * timeline into tl. -1 when none. */
static double last_stopped_ms(long from, char *tl, size_t tl_len)
{
    FILE *f = fopen(g_log, "r");
    double ms = -1;
    tl[0] = 0;
    if (!f)
        return -1;
    fseek(f, from, SEEK_SET);
    char line[8192];
    while (fgets(line, sizeof(line), f)) {
        if (!strstr(line, "\"sandbox live snapshot\""))
            continue;
        json_t *j = json_loads(line, 0, NULL);
        json_t *v = json_object_get(j, "stopped_ms");
        if (json_is_number(v))
            ms = json_number_value(v);
        const char *s = json_string_value(json_object_get(j, "timeline"));
        snprintf(tl, tl_len, "%s", s ? s : "");
        json_decref(j);
    }
    fclose(f);
    return ms;
}

static long log_size(void)
{
    FILE *f = fopen(g_log, "r");
    if (!f)
        return 0;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

/* POST fork with body; the wall ms until it answered, the ids of the children in ids. */
static double fork_ms(const char *src, const char *body, char ids[][STORE_ID_SIZE], int max,
                      int *n)
{
    struct conn c = { .fd = -1, .port = g_port };
    char t[128];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/fork", src);
    struct resp r;
    int64_t t0 = mono_now_us();
    int e = request(&c, "POST", t, g_key, body, &r);
    double ms = (double)(mono_now_us() - t0) / 1000.0;
    conn_close(&c);
    *n = 0;
    if (e != 0)
        return -1;
    json_t *j = json_loads(r.body, 0, NULL);
    json_t *data = json_object_get(j, "data");
    json_t *kids = json_object_get(data, "children");
    const char *st = json_string_value(json_object_get(data, "status"));
    if (kids) {
        size_t i;
        json_t *it;
        json_array_foreach(kids, i, it) if (*n < max)
            snprintf(ids[(*n)++], STORE_ID_SIZE, "%s", json_string_value(it));
    } else if (json_string_value(json_object_get(data, "id"))) {
        snprintf(ids[(*n)++], STORE_ID_SIZE, "%s", json_string_value(json_object_get(data, "id")));
    }
    bool ok = r.status == 200 && st && strcmp(st, "running") == 0;
    if (!ok)
        printf("  fork: %d %.300s\n", r.status, r.body);
    json_decref(j);
    resp_free(&r);
    return ok ? ms : -1;
}

static void bench_shape(const char *shape, const char *label)
{
    char src[STORE_ID_SIZE], why[160], body[128];
    double cms;
    snprintf(body, sizeof(body), "{\"shape\":\"%s\",\"rootfs\":\"minimal\"}", shape);
    if (create_one(g_port, g_key, body, src, &cms, why, sizeof(why)) != 0) {
        printf("live fork %s: create: %s\n", label, why);
        return;
    }
    /* a busy source: a counter in memory and on disk, 64 MiB of tmpfs pages */
    if (!sh(src, "mkdir -p /dev/shm; mountpoint -q /dev/shm || mount -t tmpfs shm /dev/shm; "
                 "yes A | head -c 67108864 > /dev/shm/big; setsid sh -c 'i=0; while :; do "
                 "i=$((i+1)); echo $i > /tmp/cnt; sleep 0.05; done' </dev/null >/dev/null 2>&1 &"))
        printf("live fork %s: the source's workload did not start\n", label);
    int n = runs();
    double stop[MAX_RUNS], one[MAX_RUNS], child[MAX_RUNS], ten[MAX_RUNS], tenstop[MAX_RUNS];
    int ns = 0, n1 = 0, nc = 0, n10 = 0, n10s = 0;
    char tl[512] = "", ids[16][STORE_ID_SIZE];
    for (int i = 0; i < n; i++) {
        long off = log_size();
        int k = 0;
        double ms = fork_ms(src, "{}", ids, 16, &k);
        double s = last_stopped_ms(off, tl, sizeof(tl));
        if (ms > 0) {
            one[n1++] = ms;
            if (s >= 0)
                child[nc++] = ms - s; /* what the child adds to the source's stop */
        }
        if (s >= 0)
            stop[ns++] = s;
        for (int c = 0; c < k; c++)
            destroy_one(g_port, g_key, ids[c]);
    }
    int n10runs = n / 2 > 2 ? n / 2 : 3;
    for (int i = 0; i < n10runs; i++) {
        long off = log_size();
        int k = 0;
        double ms = fork_ms(src, "{\"count\":10}", ids, 16, &k);
        double s = last_stopped_ms(off, tl, sizeof(tl));
        if (ms > 0 && k == 10)
            ten[n10++] = ms;
        if (s >= 0)
            tenstop[n10s++] = s;
        for (int c = 0; c < k; c++)
            destroy_one(g_port, g_key, ids[c]);
    }
    char what[160];
    snprintf(what, sizeof(what), "live fork %s: source stopped", label);
    bench_report(what, stop, ns, "ms", "<= 100 ms");
    if (tl[0])
        printf("  last timeline: %s\n", tl);
    snprintf(what, sizeof(what), "live fork %s: fork -> running child (whole request)", label);
    bench_report(what, one, n1, "ms", NULL);
    snprintf(what, sizeof(what), "live fork %s: child agent-ready after the snapshot", label);
    bench_report(what, child, nc, "ms", "<= 250 ms");
    snprintf(what, sizeof(what), "live fork %s: 10 children in one request, all running", label);
    bench_report(what, ten, n10, "ms", "<= 1000 ms");
    snprintf(what, sizeof(what), "live fork %s: source stopped (10-child requests)", label);
    bench_report(what, tenstop, n10s, "ms", "<= 100 ms");
    destroy_one(g_port, g_key, src);
}

int main(void)
{
    struct daemon d;
    static char key[128];
    bool failed = false;
    /* 10 children at once need the room (one VM each); the live snapshot's line is info */
    if (!daemon_start_vm_bench(&d, "bench_livefork", "host_max_vms = 64\nlog_level = info\n",
                               key, sizeof(key), &failed))
        return failed ? 1 : 0;
    g_key = key;
    g_port = d.port;
    g_log = d.log;
    bench_shape("s-1vcpu-256mb", "256 MiB");
    if (!getenv("BENCH_LIVEFORK_SMALL_ONLY"))
        bench_shape("s-1vcpu-1gb", "1 GiB");
    daemon_stop(&d);
    return 0;
}
