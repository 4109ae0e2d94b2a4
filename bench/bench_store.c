/* SPDX-License-Identifier: MIT */
/* bench_store.c: the API on each store backend in one run (docs/scale-out.md "The store"):
 * SQLite (the embedded default) and PostgreSQL (a throwaway cluster: bench/run.sh runs this
 * under tests/pg/pgserver.sh, which sets HEARTH_TEST_PG; without it the PostgreSQL half is
 * skipped with the reason). For each: a real `hearthd serve` on 127.0.0.1 whose store holds
 * 10,000 sandbox rows inserted through the store API, then GET /v1/sandboxes/{id} over 2,000
 * requests on one keep-alive connection, GET /v1/sandboxes?limit=50, and create -> running
 * (golden snapshot restores of s-1vcpu-256mb) serially; prints medians, p90s and the
 * PostgreSQL/SQLite ratios. Asserts nothing. */
#include "apiclient.h"
#include "stats.h"
#include "common/mono.h"
#include "daemon/store/ids.h"
#include "daemon/store/store.h"
#include "pgtest.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROWS 10000
#define GET_RUNS 2000
#define GET_WARMUP 200
#define LIST_RUNS 200
#define CREATES 10
#define SHAPE "s-1vcpu-256mb"

struct result {
    double get_p50, get_p90, list_p50, create_p50, create_p90;
    bool have_create;
};

static bool seed(const char *location, char key[APIKEY_LEN + 1], char id[STORE_ID_SIZE])
{
    char err[256] = "";
    struct store *st;
    if (store_open(location, &st, err, sizeof(err)) != 0) {
        fprintf(stderr, "bench_store: store_open: %s\n", err);
        return false;
    }
    struct store_key k;
    int64_t now = wall_ms();
    bool ok = store_key_create(st, "bench", "bench", false, now, &k, key) == 0;
    struct store_sandbox *rows = ok ? calloc(ROWS, sizeof(*rows)) : NULL;
    ok = rows != NULL;
    for (size_t i = 0; ok && i < ROWS; i++) {
        struct store_sandbox *sb = &rows[i];
        store_sandbox_init(sb);
        ok = ids_new_sandbox(sb->id) == 0;
        snprintf(sb->user_id, sizeof(sb->user_id), "bench");
        snprintf(sb->name, sizeof(sb->name), "bench-%05zu", i);
        sb->status = i % 2 ? STORE_PAUSED : STORE_DESTROYED;
        snprintf(sb->shape, sizeof(sb->shape), "s-1vcpu-1gb");
        sb->vcpu = 1;
        sb->mem_mib = 1024;
        sb->disk_mib = 10240;
        snprintf(sb->rootfs, sizeof(sb->rootfs), "devbox:1");
        snprintf(sb->region, sizeof(sb->region), "local");
        sb->created_at = now - 86400000 + (int64_t)i * 1000;
        sb->running_at = sb->created_at + 800;
        if (sb->status == STORE_PAUSED)
            sb->paused_at = sb->created_at + 4000;
        else
            sb->destroyed_at = sb->created_at + 4000;
        snprintf(sb->created_by, sizeof(sb->created_by), "%s", k.id);
        sb->bw_quota_bytes = 5368709120;
    }
    if (ok) {
        memcpy(id, rows[ROWS / 2 + 1].id, STORE_ID_SIZE); /* a paused one */
        ok = store_sandbox_insert_many(st, rows, ROWS) == 0;
        if (!ok)
            fprintf(stderr, "bench_store: insert: %s\n", store_errmsg(st));
    }
    if (rows)
        store_sandbox_array_free(rows, ROWS);
    store_close(st);
    return ok;
}

static bool timed_gets(uint16_t port, const char *key, const char *target, int runs, int warmup,
                       double *p50, double *p90)
{
    struct conn c = { .fd = -1, .port = port };
    double *ms = calloc((size_t)runs, sizeof(*ms));
    if (!ms)
        return false;
    bool ok = true;
    for (int i = -warmup; ok && i < runs; i++) {
        struct resp r;
        int64_t t0 = mono_now_us();
        int e = request(&c, "GET", target, key, NULL, &r);
        double dt = (double)(mono_now_us() - t0) / 1000.0;
        ok = e == 0 && r.status == 200;
        if (e == 0)
            resp_free(&r);
        if (ok && i >= 0)
            ms[i] = dt;
    }
    conn_close(&c);
    if (ok) {
        *p50 = bench_percentile(ms, (size_t)runs, 50);
        *p90 = bench_percentile(ms, (size_t)runs, 90);
    }
    free(ms);
    return ok;
}

/* One backend: location "" = SQLite in the data dir. */
static bool run(const char *name, const char *location, struct result *res)
{
    struct daemon d;
    char conf[700] = "golden_snapshots = on\n";
    if (location[0])
        snprintf(conf, sizeof(conf), "golden_snapshots = on\nstore = %s\n", location);
    if (!daemon_prepare_conf(&d, conf)) {
        printf("%s: cannot prepare a data dir\n", name);
        return false;
    }
    char where[700], key[APIKEY_LEN + 1], id[STORE_ID_SIZE];
    snprintf(where, sizeof(where), "%s", location[0] ? location : "");
    if (!location[0])
        snprintf(where, sizeof(where), "%s/hearth.db", d.data);
    if (!seed(where, key, id) || !daemon_start(&d)) {
        printf("%s: cannot seed the store or start hearthd\n", name);
        daemon_stop(&d);
        return false;
    }
    char target[128];
    snprintf(target, sizeof(target), "/v1/sandboxes/%s", id);
    double p90;
    bool ok = timed_gets(d.port, key, target, GET_RUNS, GET_WARMUP, &res->get_p50, &res->get_p90);
    ok = ok && timed_gets(d.port, key, "/v1/sandboxes?limit=50", LIST_RUNS, 20, &res->list_p50,
                          &p90);
    if (!ok) {
        printf("%s: GET failed\n", name);
        daemon_stop(&d);
        return false;
    }
    printf("%s: GET /v1/sandboxes/{id} (%d rows stored), %d runs: p50 %.3f ms, p90 %.3f ms\n",
           name, ROWS, GET_RUNS, res->get_p50, res->get_p90);
    printf("%s: GET /v1/sandboxes?limit=50, %d runs: p50 %.3f ms\n", name, LIST_RUNS,
           res->list_p50);
    /* creates: the first boots cold and makes the golden snapshot; the rest restore it */
    char sid[STORE_ID_SIZE], why[160];
    double ms;
    int rc = create_one(d.port, key, "{\"shape\":\"" SHAPE "\"}", sid, &ms, why, sizeof(why));
    if (rc != 0) {
        printf("%s: create -> running: skipped: %s\n", name, why);
        daemon_stop(&d);
        return true;
    }
    destroy_one(d.port, key, sid);
    (void)daemon_golden_ready(&d, 1);
    double v[CREATES];
    int n = 0;
    for (; n < CREATES; n++) {
        if (create_one(d.port, key, "{\"shape\":\"" SHAPE "\"}", sid, &v[n], why, sizeof(why))) {
            printf("%s: create failed: %s\n", name, why);
            break;
        }
        destroy_one(d.port, key, sid);
    }
    if (n > 0) {
        res->have_create = true;
        res->create_p50 = bench_percentile(v, (size_t)n, 50);
        res->create_p90 = bench_percentile(v, (size_t)n, 90);
        printf("%s: create -> running (" SHAPE ", golden), serial, %d runs: p50 %.0f ms, p90 "
               "%.0f ms\n", name, n, res->create_p50, res->create_p90);
    }
    daemon_stop(&d);
    return true;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    printf("store backends (accel %s)\n", bench_accel());
    struct result lite = { 0 }, pg = { 0 };
    bool have_lite = run("sqlite", "", &lite);
    if (!pgtest_uri()) {
        printf("postgresql: skipped: no cluster (run under tests/pg/pgserver.sh, as bench/run.sh "
               "does)\n");
        return 0;
    }
    char uri[600];
    if (pgtest_db_create(uri, sizeof(uri)) != 0) {
        printf("postgresql: skipped: cannot create a database\n");
        return 0;
    }
    bool have_pg = run("postgresql", uri, &pg);
    pgtest_db_drop(uri);
    if (have_lite && have_pg) {
        printf("postgresql/sqlite: GET p50 %.2fx, list p50 %.2fx", pg.get_p50 / lite.get_p50,
               pg.list_p50 / lite.list_p50);
        if (lite.have_create && pg.have_create)
            printf(", create p50 %.2fx", pg.create_p50 / lite.create_p50);
        printf("\n");
    }
    return 0;
}
