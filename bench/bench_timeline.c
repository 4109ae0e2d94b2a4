/* SPDX-License-Identifier: MIT */
/* bench_timeline.c: where the time of a lifecycle operation goes (docs/performance.md "Where
 * the time goes"), through the real API of a `hearthd serve` this program starts (images from
 * $HEARTH_IMAGES, the binary from $HEARTH_BIN or build/bin). Each settling event carries its
 * operation's per-step timeline (docs/api.md §5.6); this prints the median of every step per
 * operation on the `minimal` image, s-1vcpu-256mb:
 *
 * - 3 cold boots (a hearthd with golden snapshots off);
 * - 10 creates from the golden snapshot (made by a first cold boot), each followed by two
 *   `true` execs: the first one after a restore runs guest code TCG has not translated yet in
 *   this QEMU, the second mostly translated code (the gap is the translation warm-up);
 * - 10 pause + resume of one sandbox;
 * - 10 forks of a paused sandbox (each child waited for running, then destroyed).
 *
 * BENCH_TIMELINE_RUNS overrides 10. Asserts nothing; prints the load average it ran under. */
#include "apiclient.h"
#include "stats.h"

#include "common/mono.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_RUNS 32
#define MAX_STEPS 32
#define SHAPE "s-1vcpu-256mb"

static const char *g_key;
static uint16_t g_port;

/* Per operation: each step's ms in every run (a repeated step summed within its run). */
struct op_steps {
    const char *what;
    int runs;
    int n;
    char name[MAX_STEPS][24];
    double ms[MAX_STEPS][MAX_RUNS];
    int count[MAX_STEPS];
    double total[MAX_RUNS];
    double pos[MAX_STEPS];          /* sum of the step's index in the runs that had it */
    int npos[MAX_STEPS];
};

static int runs(void)
{
    const char *r = getenv("BENCH_TIMELINE_RUNS");
    int n = r ? atoi(r) : 10;
    return n < 1 ? 1 : n > MAX_RUNS ? MAX_RUNS : n;
}

static int step_slot(struct op_steps *o, const char *name)
{
    for (int i = 0; i < o->n; i++)
        if (strcmp(o->name[i], name) == 0)
            return i;
    if (o->n == MAX_STEPS)
        return -1;
    snprintf(o->name[o->n], sizeof(o->name[0]), "%s", name);
    return o->n++;
}

/* Adds one run's timeline (the event's JSON array). */
static void add_run(struct op_steps *o, json_t *tl)
{
    if (o->runs == MAX_RUNS || !json_is_array(tl))
        return;
    int run = o->runs++;
    double total = 0;
    for (size_t i = 0; i < json_array_size(tl); i++) {
        json_t *s = json_array_get(tl, i);
        const char *name = json_string_value(json_object_get(s, "step"));
        double ms = json_number_value(json_object_get(s, "ms"));
        int k = name ? step_slot(o, name) : -1;
        if (k < 0)
            continue;
        o->pos[k] += (double)i;
        o->npos[k]++;
        while (o->count[k] < run) /* a step this run's predecessors lacked */
            o->ms[k][o->count[k]++] = 0;
        if (o->count[k] == run)
            o->ms[k][o->count[k]++] = 0;
        o->ms[k][run] += ms;
        total += ms;
    }
    o->total[run] = total;
}

static void print_op(struct op_steps *o)
{
    if (o->runs == 0) {
        printf("%s: no timelines\n", o->what);
        return;
    }
    printf("%s, %d runs (median ms per step; a step a run lacked counts 0):\n", o->what,
           o->runs);
    /* in the order the steps ran (their mean place in the runs that had them) */
    int order[MAX_STEPS];
    double at[MAX_STEPS];
    for (int k = 0; k < o->n; k++) {
        order[k] = k;
        at[k] = o->pos[k] / (o->npos[k] ? o->npos[k] : 1);
    }
    for (int a = 1; a < o->n; a++)
        for (int b = a; b > 0 && at[order[b]] < at[order[b - 1]]; b--) {
            int x = order[b];
            order[b] = order[b - 1];
            order[b - 1] = x;
        }
    for (int j = 0; j < o->n; j++) {
        int k = order[j];
        while (o->count[k] < o->runs)
            o->ms[k][o->count[k]++] = 0;
        double v[MAX_RUNS];
        memcpy(v, o->ms[k], sizeof(double) * (size_t)o->runs);
        printf("  %-14s %8.1f\n", o->name[k], bench_percentile(v, (size_t)o->runs, 50));
    }
    double t[MAX_RUNS];
    memcpy(t, o->total, sizeof(double) * (size_t)o->runs);
    printf("  %-14s %8.1f   (p90 %.1f)\n", "total", bench_percentile(t, (size_t)o->runs, 50),
           bench_percentile(t, (size_t)o->runs, 90));
}

/* The timeline of the last event of kind in id's log (a new reference), or NULL. */
static json_t *last_timeline(const char *id, const char *kind)
{
    struct conn c = { .fd = -1, .port = g_port };
    char t[160];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/events?limit=256", id);
    struct resp r;
    json_t *out = NULL;
    if (request(&c, "GET", t, g_key, NULL, &r) == 0) {
        json_t *j = r.status == 200 ? json_loads(r.body, 0, NULL) : NULL;
        json_t *evs = json_object_get(json_object_get(j, "data"), "events");
        for (size_t i = 0; i < json_array_size(evs); i++) {
            json_t *e = json_array_get(evs, i);
            const char *k = json_string_value(json_object_get(e, "kind"));
            if (k && strcmp(k, kind) == 0 && json_object_get(e, "timeline")) {
                json_decref(out);
                out = json_incref(json_object_get(e, "timeline"));
            }
        }
        json_decref(j);
        resp_free(&r);
    }
    conn_close(&c);
    return out;
}

static bool timeline_has(json_t *tl, const char *step)
{
    for (size_t i = 0; i < json_array_size(tl); i++) {
        const char *s = json_string_value(json_object_get(json_array_get(tl, i), "step"));
        if (s && strcmp(s, step) == 0)
            return true;
    }
    return false;
}

static bool wait_status(const char *id, const char *want)
{
    struct conn c = { .fd = -1, .port = g_port };
    char t[128], st[32] = "";
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", id);
    for (int i = 0; i < 6000; i++) {
        struct resp r;
        if (request(&c, "GET", t, g_key, NULL, &r) == 0) {
            json_field(r.body, "status", st, sizeof(st));
            resp_free(&r);
        }
        if (strcmp(st, want) == 0)
            break;
        usleep(10000);
    }
    conn_close(&c);
    return strcmp(st, want) == 0;
}

static bool create(char id[STORE_ID_SIZE])
{
    char why[160];
    double ms;
    if (create_one(g_port, g_key, "{\"shape\":\"" SHAPE "\",\"rootfs\":\"minimal\"}", id, &ms,
                   why, sizeof(why)) != 0) {
        printf("create: %s\n", why);
        return false;
    }
    return true;
}

/* One `true` through the API's exec: its wall time in ms, or -1. */
static double exec_true_ms(const char *id)
{
    struct conn c = { .fd = -1, .port = g_port };
    char t[128];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/exec", id);
    struct resp r;
    int64_t t0 = mono_now_us();
    int e = request(&c, "POST", t, g_key, "{\"cmd\":\"true\"}", &r);
    double ms = (double)(mono_now_us() - t0) / 1000.0;
    bool ok = e == 0 && r.status == 200;
    if (e == 0)
        resp_free(&r);
    conn_close(&c);
    return ok ? ms : -1;
}

static bool op(const char *id, const char *what, const char *want)
{
    int s = post_op(g_port, g_key, id, what, NULL, NULL, NULL);
    return (s == 200 || s == 202) && wait_status(id, want);
}

static bool start(struct daemon *d, const char *conf, char *key)
{
    bool failed;
    if (!daemon_start_vm_bench(d, "bench_timeline", conf, key, 128, &failed))
        return false;
    g_key = key;
    g_port = d->port;
    return true;
}

static void print_load(const char *when)
{
    double l[3];
    if (getloadavg(l, 3) == 3)
        printf("load average %s: %.2f %.2f %.2f\n", when, l[0], l[1], l[2]);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    static char key[128];
    int n = runs();
    print_load("at start");
    static struct op_steps cold = { .what = "create, cold boot (minimal, " SHAPE ")" };
    static struct op_steps golden = { .what = "create from the golden snapshot" };
    static struct op_steps pause = { .what = "pause (own RAM file after the first)" };
    static struct op_steps resume = { .what = "resume (consumed snapshot)" };
    static struct op_steps fork = { .what = "fork of a paused sandbox, child to running" };
    double ex1[MAX_RUNS], ex2[MAX_RUNS];
    int nex = 0;

    struct daemon dc = { .pid = -1 };
    if (start(&dc, "golden_snapshots = off\n", key)) {
        for (int i = 0; i < 3; i++) {
            char id[STORE_ID_SIZE];
            if (!create(id))
                continue;
            json_t *tl = last_timeline(id, "created");
            add_run(&cold, tl);
            json_decref(tl);
            destroy_one(g_port, g_key, id);
        }
    }
    daemon_stop(&dc);

    struct daemon d = { .pid = -1 };
    if (!start(&d, NULL, key)) {
        daemon_stop(&d);
        print_op(&cold);
        return 1;
    }
    char id[STORE_ID_SIZE];
    /* the first cold boot makes the golden snapshot */
    if (create(id)) {
        destroy_one(g_port, g_key, id);
        if (!daemon_golden_ready(&d, 1))
            printf("no golden snapshot: creates below are cold boots\n");
    }
    for (int i = 0; i < n; i++) {
        if (!create(id))
            continue;
        json_t *tl = last_timeline(id, "created");
        if (tl && !timeline_has(tl, "incoming"))
            printf("  (create %d was a cold boot)\n", i);
        else
            add_run(&golden, tl);
        json_decref(tl);
        double a = exec_true_ms(id), b = exec_true_ms(id);
        if (a >= 0 && b >= 0) {
            ex1[nex] = a;
            ex2[nex++] = b;
        }
        destroy_one(g_port, g_key, id);
    }
    if (create(id)) {
        for (int i = 0; i < n; i++) {
            if (!op(id, "pause", "paused"))
                continue;
            json_t *tl = last_timeline(id, "paused");
            add_run(&pause, tl);
            json_decref(tl);
            if (!op(id, "resume", "running"))
                continue;
            tl = last_timeline(id, "resumed");
            add_run(&resume, tl);
            json_decref(tl);
        }
        if (op(id, "pause", "paused")) {
            for (int i = 0; i < n; i++) {
                char child[STORE_ID_SIZE] = "";
                int s = post_op(g_port, g_key, id, "fork", "{}", child, NULL);
                if ((s != 200 && s != 202) || !child[0] || !wait_status(child, "running")) {
                    printf("  (fork %d: status %d)\n", i, s);
                    if (child[0])
                        destroy_one(g_port, g_key, child);
                    continue;
                }
                json_t *tl = last_timeline(child, "resumed");
                add_run(&fork, tl);
                json_decref(tl);
                destroy_one(g_port, g_key, child);
            }
        }
        destroy_one(g_port, g_key, id);
    }
    daemon_stop(&d);
    print_op(&cold);
    print_op(&golden);
    print_op(&pause);
    print_op(&resume);
    print_op(&fork);
    if (nex) {
        printf("exec `true` right after a golden create: first p50 %.1f ms, second p50 %.1f ms "
               "(%d runs; the first runs code TCG has not translated yet in this QEMU)\n",
               bench_percentile(ex1, (size_t)nex, 50), bench_percentile(ex2, (size_t)nex, 50),
               nex);
    }
    print_load("at end");
    return 0;
}
