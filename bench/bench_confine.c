/* SPDX-License-Identifier: MIT */
/* bench_confine.c: what QEMU's confinement costs (docs/security.md), in one run: two `hearthd
 * serve` (apiclient.h), one with `jail = off` and one with the jail on, both with golden
 * snapshots and cgroups, measured in alternation (off, on, on, off, ...) so load drift hits
 * both alike:
 *
 * - create -> running from the golden snapshot (a shared-base restore: the jail copies the
 *   base's RAM extents);
 * - resume -> running of a paused sandbox (its own snapshot, consumed);
 * - fork -> running child of a paused sandbox (a shared-base restore).
 *
 * Prints p50/p90 per mode and the on/off ratio of the medians (target: within 5 %); asserts
 * nothing. BENCH_CONFINE_RUNS overrides the 10 rounds. Talks only to 127.0.0.1. */
#include "apiclient.h"
#include "stats.h"

#include "common/mono.h"
#include "daemon/host/cgroup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_ROUNDS 64
#define SHAPE_BODY "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"minimal\"}"

enum { OFF, ON, MODES };
enum { CREATE, RESUME, FORK, OPS };
static const char *const op_names[OPS] = { "create (golden) -> running", "resume -> running",
                                           "fork -> running child" };

struct mode {
    struct daemon d;
    char key[128];
    double v[OPS][MAX_ROUNDS];
    int n[OPS];
};

static int rounds(void)
{
    const char *r = getenv("BENCH_CONFINE_RUNS");
    int n = r ? atoi(r) : 10;
    return n < 1 ? 1 : n > MAX_ROUNDS ? MAX_ROUNDS : n;
}

/* ms from t0 until GET shows want (polled every ms, <= 60 s); -1 when it never does. */
static double until_status(struct mode *m, const char *id, const char *want, int64_t t0)
{
    struct conn c = { .fd = -1, .port = m->d.port };
    char t[128], st[32] = "";
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", id);
    double ms = -1;
    for (int i = 0; i < 60000 && ms < 0; i++) {
        struct resp r;
        if (request(&c, "GET", t, m->key, NULL, &r) == 0) {
            json_field(r.body, "status", st, sizeof(st));
            resp_free(&r);
        }
        if (strcmp(st, want) == 0)
            ms = (double)(mono_now_us() - t0) / 1000.0;
        else if (strcmp(st, "failed") == 0 || strcmp(st, "error") == 0)
            break;
        else
            usleep(1000);
    }
    conn_close(&c);
    return ms;
}

static void add(struct mode *m, int op, double ms)
{
    if (ms >= 0 && m->n[op] < MAX_ROUNDS)
        m->v[op][m->n[op]++] = ms;
}

/* One round on one mode: create, pause, resume, pause, fork; everything destroyed. */
static void round_once(struct mode *m)
{
    char id[STORE_ID_SIZE], child[STORE_ID_SIZE] = "", why[160], st[32] = "";
    double ms;
    if (create_one(m->d.port, m->key, SHAPE_BODY, id, &ms, why, sizeof(why)) != 0) {
        printf("  create failed: %s\n", why);
        return;
    }
    add(m, CREATE, ms);
    int64_t t0 = mono_now_us();
    if (post_op(m->d.port, m->key, id, "pause", NULL, NULL, NULL) == 202 &&
        until_status(m, id, "paused", t0) >= 0) {
        t0 = mono_now_us();
        if (post_op(m->d.port, m->key, id, "resume", NULL, NULL, NULL) == 202)
            add(m, RESUME, until_status(m, id, "running", t0));
    }
    t0 = mono_now_us();
    if (post_op(m->d.port, m->key, id, "pause", NULL, NULL, NULL) == 202 &&
        until_status(m, id, "paused", t0) >= 0) {
        t0 = mono_now_us();
        int s = post_op(m->d.port, m->key, id, "fork", "{}", child, st);
        ms = (double)(mono_now_us() - t0) / 1000.0;
        if (s == 200 && strcmp(st, "running") == 0)
            add(m, FORK, ms);
    }
    if (child[0])
        destroy_one(m->d.port, m->key, child);
    destroy_one(m->d.port, m->key, id);
}

static bool start(struct mode *m, const char *conf)
{
    m->d.pid = -1;
    if (!daemon_prepare_conf(&m->d, conf) || !daemon_start(&m->d))
        return false;
    char p[256];
    snprintf(p, sizeof(p), "%s/admin.key", m->d.data);
    FILE *f = fopen(p, "r");
    bool ok = f && fscanf(f, "%127s", m->key) == 1;
    if (f)
        fclose(f);
    return ok;
}

/* The first create of a kind boots cold and builds the golden snapshot in the background. */
static bool warm_golden(struct mode *m)
{
    char id[STORE_ID_SIZE], why[160];
    double ms;
    if (create_one(m->d.port, m->key, SHAPE_BODY, id, &ms, why, sizeof(why)) != 0) {
        printf("bench_confine: first create failed: %s\n", why);
        return false;
    }
    destroy_one(m->d.port, m->key, id);
    if (daemon_golden_ready(&m->d, 1))
        return true;
    printf("bench_confine: no golden snapshot after 60 s\n");
    return false;
}

int main(void)
{
    char kpath[512];
    snprintf(kpath, sizeof(kpath), "%s/vmlinux", images_dir());
    if (access(kpath, R_OK) != 0) {
        printf("bench_confine: skipped: no %s (make images)\n", kpath);
        return 0;
    }
    if (geteuid() != 0) {
        printf("bench_confine: skipped: the jail needs root\n");
        return 0;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    static struct mode modes[MODES];
    char conf[MODES][256];
    /* cgroups for both (own roots: two hearthds must not prune each other's) */
    snprintf(conf[OFF], sizeof(conf[OFF]), "jail = off\ncgroup_root = /sys/fs/cgroup/"
             "hearth-bench-%d-off\n", (int)getpid());
    snprintf(conf[ON], sizeof(conf[ON]), "jail = on\ncgroup_root = /sys/fs/cgroup/"
             "hearth-bench-%d-on\n", (int)getpid());
    bool ok = true;
    for (int i = 0; i < MODES && ok; i++)
        ok = start(&modes[i], conf[i]) && warm_golden(&modes[i]);
    int n = rounds();
    for (int r = 0; ok && r < n; r++) {
        /* off, on / on, off: neither mode always goes first */
        int first = r % 2;
        round_once(&modes[first]);
        round_once(&modes[!first]);
    }
    if (ok) {
        for (int op = 0; op < OPS; op++) {
            double p50[MODES];
            for (int i = 0; i < MODES; i++) {
                struct mode *m = &modes[i];
                p50[i] = m->n[op] ? bench_percentile(m->v[op], (size_t)m->n[op], 50) : -1;
                printf("%s, jail %s, %d runs: p50 %.1f ms, p90 %.1f ms\n", op_names[op],
                       i == ON ? "on" : "off", m->n[op], p50[i],
                       m->n[op] ? bench_percentile(m->v[op], (size_t)m->n[op], 90) : -1);
            }
            if (p50[OFF] > 0 && p50[ON] > 0)
                printf("%s: jail on / off = %.3f  (target <= 1.05)\n", op_names[op],
                       p50[ON] / p50[OFF]);
        }
    }
    for (int i = 0; i < MODES; i++)
        if (modes[i].d.pid > 0)
            daemon_stop(&modes[i].d);
    /* the cgroup roots, empty once both hearthds stopped (each removed its VMs' cgroups) */
    for (int i = 0; i < MODES; i++) {
        char root[128], note[512];
        struct cgroup_layout l;
        snprintf(root, sizeof(root), "/sys/fs/cgroup/hearth-bench-%d-%s", (int)getpid(),
                 i == ON ? "on" : "off");
        if (cgroup_detect(root, &l, note, sizeof(note)) == 0)
            for (int c = 0; c < CGROUP_CTRL_COUNT; c++)
                if (l.root[c][0])
                    (void)rmdir(l.root[c]); /* absent, or shared with cpu: fine */
    }
    return 0;
}
