/* SPDX-License-Identifier: MIT */
/* bench_api.c: the REST API benchmarks, against a real `hearthd serve` this program starts on
 * 127.0.0.1 (ephemeral port, temp data dir, images from $HEARTH_IMAGES, the binary from
 * $HEARTH_BIN or build/bin). Prints medians and p90s next to the targets; asserts nothing.
 *
 * - hearthd RSS (VmRSS) with 0 sandboxes, on an empty store;
 * - GET /v1/sandboxes/{id} latency over 2,000 requests on one keep-alive connection;
 * - GET /v1/sandboxes?limit=500 (one page) and the full walk of 10,000 rows (20 pages), the rows
 *   inserted through the store API before hearthd starts;
 * - VM-backed, skipped with the reason while POST /v1/sandboxes answers 503/501: create → running
 *   serially and 10 at once, the exec `true` round trip through the API vs the agent alone (a VM
 *   this program boots itself, in the same run), and hearthd's RSS with 50 sandboxes
 *   (BENCH_API_SANDBOXES overrides 50).
 * - with HEARTH_TEST_PG (bench/bench_pg_store.sh starts a throwaway PostgreSQL cluster): only the
 *   store-backed runs (GET, page, walk over 10,000 rows), on SQLite and then on a fresh
 *   PostgreSQL database as the store, one after the other, for the comparison.
 *
 * Talks only to 127.0.0.1. */
#include "apiclient.h"
#include "stats.h"
#include "benchvm.h"
#include "common/herr.h"
#include "common/mono.h"
#include "daemon/store/ids.h"
#include "daemon/store/store.h"
#include "../tests/pgtest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GET_RUNS 2000
#define GET_WARMUP 200
#define LIST_ROWS 10000
#define PAGE_RUNS 50
#define WALK_RUNS 10
#define SERIAL_CREATES 20
#define CONCURRENT_CREATES 10
#define EXEC_RUNS 200
#define SHAPE "s-1vcpu-256mb"

/* ---- fixtures ---- */

/* Seeds the store at db (a file or a postgresql:// URI). */
static bool seed(const char *db, char key[APIKEY_LEN + 1], char first_id[STORE_ID_SIZE])
{
    char err[512] = "";
    struct store *st;
    if (store_open(db, &st, err, sizeof(err)) != 0) {
        fprintf(stderr, "bench: store_open: %s\n", err);
        return false;
    }
    struct store_key k;
    int64_t now = wall_ms();
    bool ok = store_key_create(st, "bench", "bench", false, now, &k, key) == 0;
    struct store_sandbox *rows = ok ? calloc(LIST_ROWS, sizeof(*rows)) : NULL;
    ok = rows != NULL;
    for (size_t i = 0; ok && i < LIST_ROWS; i++) {
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
        sb->spawn_ms = 800.5;
        if (sb->status == STORE_PAUSED)
            sb->paused_at = sb->created_at + 4000;
        else
            sb->destroyed_at = sb->created_at + 4000;
        snprintf(sb->created_by, sizeof(sb->created_by), "%s", k.id);
        sb->bw_quota_bytes = 5368709120;
    }
    if (ok) {
        memcpy(first_id, rows[LIST_ROWS / 2].id, STORE_ID_SIZE);
        int r = store_sandbox_insert_many(st, rows, LIST_ROWS);
        if (r)
            fprintf(stderr, "bench: insert %d rows: %d %s\n", LIST_ROWS, r, store_errmsg(st));
        ok = r == 0;
    }
    if (rows)
        store_sandbox_array_free(rows, LIST_ROWS);
    store_close(st);
    return ok;
}

/* ---- store-backed benchmarks ---- */

static void bench_get(uint16_t port, const char *key, const char *id)
{
    struct conn c = { .fd = -1, .port = port };
    char target[128];
    snprintf(target, sizeof(target), "/v1/sandboxes/%s", id);
    static double ms[GET_RUNS];
    for (int i = -GET_WARMUP; i < GET_RUNS; i++) {
        struct resp r;
        int64_t t0 = mono_now_us();
        int e = request(&c, "GET", target, key, NULL, &r);
        double dt = (double)(mono_now_us() - t0) / 1000.0;
        if (e || r.status != 200) {
            printf("GET /v1/sandboxes/{id}: failed (%d, status %d)\n", e, r.status);
            resp_free(&r);
            conn_close(&c);
            return;
        }
        resp_free(&r);
        if (i >= 0)
            ms[i] = dt;
    }
    conn_close(&c);
    printf("GET /v1/sandboxes/{id}, keep-alive, %d requests: p50 %.3f ms, p90 %.3f ms"
           "  (target p50 <= 1 ms)\n", GET_RUNS, bench_percentile(ms, GET_RUNS, 50),
           bench_percentile(ms, GET_RUNS, 90));
}

/* Fetches one page; returns its count (from "count":N) or -1. */
static long page(struct conn *c, const char *key, size_t offset, size_t *bytes)
{
    char target[128];
    snprintf(target, sizeof(target), "/v1/sandboxes?limit=500&offset=%zu", offset);
    struct resp r;
    int e = request(c, "GET", target, key, NULL, &r);
    long count = -1;
    if (!e && r.status == 200) {
        const char *p = strstr(r.body, "\"count\":");
        if (p)
            count = atol(p + 8);
        if (bytes)
            *bytes = r.len;
    }
    resp_free(&r);
    return count;
}

static void bench_list(uint16_t port, const char *key)
{
    struct conn c = { .fd = -1, .port = port };
    double one[PAGE_RUNS], walk[WALK_RUNS];
    size_t bytes = 0;
    for (int i = -3; i < PAGE_RUNS; i++) {
        int64_t t0 = mono_now_us();
        if (page(&c, key, 0, &bytes) != 500) {
            printf("GET /v1/sandboxes?limit=500: failed\n");
            conn_close(&c);
            return;
        }
        if (i >= 0)
            one[i] = (double)(mono_now_us() - t0) / 1000.0;
    }
    printf("GET /v1/sandboxes?limit=500 (%zu KiB), %d runs: p50 %.2f ms, p90 %.2f ms\n",
           bytes / 1024, PAGE_RUNS, bench_percentile(one, PAGE_RUNS, 50),
           bench_percentile(one, PAGE_RUNS, 90));
    for (int i = 0; i < WALK_RUNS; i++) {
        int64_t t0 = mono_now_us();
        size_t got = 0;
        for (;;) {
            long n = page(&c, key, got, NULL);
            if (n < 0) {
                printf("list walk: failed at offset %zu\n", got);
                conn_close(&c);
                return;
            }
            got += (size_t)n;
            if (n == 0 || got >= LIST_ROWS)
                break;
        }
        walk[i] = (double)(mono_now_us() - t0) / 1000.0;
        if (got != LIST_ROWS) {
            printf("list walk: got %zu rows, want %d\n", got, LIST_ROWS);
            conn_close(&c);
            return;
        }
    }
    conn_close(&c);
    printf("list walk of %d rows (%d pages of 500), %d runs: p50 %.1f ms, p90 %.1f ms\n",
           LIST_ROWS, LIST_ROWS / 500, WALK_RUNS, bench_percentile(walk, WALK_RUNS, 50),
           bench_percentile(walk, WALK_RUNS, 90));
}

/* ---- VM-backed benchmarks (skipped until create works) ---- */

struct create_job {
    uint16_t port;
    const char *key;
    char id[STORE_ID_SIZE];
    double ms;
    int rc;
    char why[128];
};

static void *create_thread(void *arg)
{
    struct create_job *j = arg;
    j->rc = create_one(j->port, j->key, "{\"shape\":\"" SHAPE "\"}", j->id, &j->ms, j->why,
                       sizeof(j->why));
    return NULL;
}

/* Creates n at once (at most `width` in flight); returns how many succeeded. */
static size_t create_many(uint16_t port, const char *key, struct create_job *jobs, size_t n,
                          size_t width, double *wall)
{
    int64_t t0 = mono_now_us();
    size_t ok = 0;
    for (size_t base = 0; base < n; base += width) {
        size_t m = n - base < width ? n - base : width;
        pthread_t th[64];
        for (size_t i = 0; i < m; i++) {
            jobs[base + i] = (struct create_job){ .port = port, .key = key };
            pthread_create(&th[i], NULL, create_thread, &jobs[base + i]);
        }
        for (size_t i = 0; i < m; i++) {
            pthread_join(th[i], NULL);
            ok += jobs[base + i].rc == 0;
        }
    }
    *wall = (double)(mono_now_us() - t0) / 1000.0;
    return ok;
}

/* One `true` through the API on a keep-alive connection; milliseconds, or < 0 on failure. */
static double exec_api_once(struct conn *c, const char *key, const char *target)
{
    struct resp r;
    int64_t t0 = mono_now_us();
    int e = request(c, "POST", target, key, "{\"cmd\":\"true\"}", &r);
    double dt = (double)(mono_now_us() - t0) / 1000.0;
    bool ok = !e && r.status == 200 && strstr(r.body, "\"exit_code\":0");
    if (!ok)
        printf("exec via API: failed (%d, status %d)\n", e, r.status);
    resp_free(&r);
    return ok ? dt : -1;
}

/* The API's cost on top of the agent, measured fairly: a sandbox created through the API and a
 * VM this program boots itself from the same image (minimal: a static `true`, so the guest's
 * own process start is small and steady), both alive at once, the two paths interleaved run by
 * run so that machine noise hits both alike. */
static void exec_compare(uint16_t port, const char *key)
{
    char id[STORE_ID_SIZE], target[128];
    struct conn c = { .fd = -1, .port = port };
    struct resp r;
    int e = request(&c, "POST", "/v1/sandboxes", key,
                    "{\"shape\":\"" SHAPE "\",\"rootfs\":\"minimal\"}", &r);
    bool created = !e && r.status == 200 && json_field(r.body, "id", id, sizeof(id));
    resp_free(&r);
    conn_close(&c);
    if (!created) {
        printf("exec `true` round trip: create of a minimal sandbox failed (%d)\n", e);
        return;
    }
    char kernel[PATH_MAX], rootfs[PATH_MAX];
    snprintf(kernel, sizeof(kernel), "%s/vmlinux", images_dir());
    snprintf(rootfs, sizeof(rootfs), "%s/minimal.ext4", images_dir());
    struct bvm_config cfg = { .kernel = kernel, .rootfs = rootfs, .vcpus = 1, .memory_mib = 256,
                              .boot_timeout_ms = 60000 };
    struct herr he = { 0 };
    struct bvm *vm = NULL;
    if (bvm_start(&cfg, NULL, &vm, &he) < 0) {
        printf("exec `true` round trip: boot failed: %s\n", he.msg);
        destroy_one(port, key, id);
        return;
    }
    snprintf(target, sizeof(target), "/v1/sandboxes/%s/exec", id);
    const char *argv[] = { "true", NULL };
    struct agent_exec_req req = { .argv = argv };
    static double api[EXEC_RUNS], agent[EXEC_RUNS];
    bool ok = true;
    for (int i = -10; ok && i < EXEC_RUNS; i++) {
        double a = exec_api_once(&c, key, target);
        struct agent_exec_result res = { 0 };
        int64_t t1 = mono_now_us();
        int rc = host_sync_exec(vm->s, vm->id, &req, 4096, mono_now_us() + 10000000, &res, &he);
        double g = (double)(mono_now_us() - t1) / 1000.0;
        agent_exec_result_release(&res);
        if (rc < 0)
            printf("exec via agent alone: failed: %s\n", he.msg);
        if (a < 0 || rc < 0)
            ok = false;
        else if (i >= 0) {
            api[i] = a;
            agent[i] = g;
        }
    }
    conn_close(&c);
    bvm_free(vm);
    destroy_one(port, key, id);
    if (!ok)
        return;
    double api50 = bench_percentile(api, EXEC_RUNS, 50), ag50 = bench_percentile(agent, EXEC_RUNS, 50);
    printf("exec `true` round trip (minimal), %d interleaved runs: API p50 %.2f ms (p90 %.2f), "
           "agent alone p50 %.2f ms (p90 %.2f): the API adds %.2f ms  (target <= 2 ms)\n",
           EXEC_RUNS, api50, bench_percentile(api, EXEC_RUNS, 90), ag50,
           bench_percentile(agent, EXEC_RUNS, 90), api50 - ag50);
}

static void bench_vm(struct daemon *d, const char *key)
{
    static const char *const what[] = {
        "create -> running, serial",
        "create -> running, 10 concurrent",
        "exec `true` round trip, API vs agent alone",
        "hearthd RSS with N sandboxes",
    };
    char id[STORE_ID_SIZE], why[160];
    double ms;
    int rc = create_one(d->port, key, "{\"shape\":\"" SHAPE "\"}", id, &ms, why, sizeof(why));
    if (rc != 0) {
        bool unwired = rc == 503 || rc == 501;
        for (size_t i = 0; i < sizeof(what) / sizeof(what[0]); i++)
            printf("%s: skipped: %s%s\n", what[i], why,
                   unwired ? " (create is not wired to VMs yet)" : "");
        return;
    }
    /* serial: the probe was the first */
    double serial[SERIAL_CREATES];
    serial[0] = ms;
    destroy_one(d->port, key, id);
    int n_serial = 1;
    for (; n_serial < SERIAL_CREATES; n_serial++) {
        if (create_one(d->port, key, "{\"shape\":\"" SHAPE "\"}", id, &serial[n_serial], why,
                       sizeof(why)) != 0) {
            printf("create serial: failed: %s\n", why);
            break;
        }
        destroy_one(d->port, key, id);
    }
    printf("create -> running (" SHAPE ", devbox:1), serial, %d runs: p50 %.0f ms, p90 %.0f ms\n",
           n_serial, bench_percentile(serial, (size_t)n_serial, 50),
           bench_percentile(serial, (size_t)n_serial, 90));

    struct create_job jobs[CONCURRENT_CREATES];
    double wall;
    size_t ok = create_many(d->port, key, jobs, CONCURRENT_CREATES, CONCURRENT_CREATES, &wall);
    double each[CONCURRENT_CREATES];
    size_t ne = 0;
    for (size_t i = 0; i < CONCURRENT_CREATES; i++)
        if (jobs[i].rc == 0)
            each[ne++] = jobs[i].ms;
    if (ne)
        printf("create -> running, %d concurrent: %zu ok, all done in %.0f ms, per create p50 "
               "%.0f ms, p90 %.0f ms\n", CONCURRENT_CREATES, ok, wall,
               bench_percentile(each, ne, 50), bench_percentile(each, ne, 90));
    else
        printf("create -> running, %d concurrent: all failed: %s\n", CONCURRENT_CREATES,
               jobs[0].why);

    for (size_t i = 0; i < CONCURRENT_CREATES; i++)
        if (jobs[i].rc == 0)
            destroy_one(d->port, key, jobs[i].id);
    exec_compare(d->port, key);

    /* hearthd's own memory with many sandboxes */
    size_t want = 50;
    const char *env = getenv("BENCH_API_SANDBOXES");
    if (env && atoi(env) > 0 && atoi(env) <= 500)
        want = (size_t)atoi(env);
    struct create_job *many = calloc(want, sizeof(*many));
    if (!many)
        return;
    ok = create_many(d->port, key, many, want, 10, &wall);
    usleep(2000000);
    printf("hearthd RSS with %zu sandboxes running (of %zu asked, created in %.0f ms): %.1f MiB\n",
           ok, want, wall, (double)vm_rss_kib(d->pid) / 1024);
    for (size_t i = 0; i < want; i++)
        if (many[i].rc == 0)
            destroy_one(d->port, key, many[i].id);
    free(many);
}

/* The store-backed runs on SQLite, then on PostgreSQL (a fresh database of HEARTH_TEST_PG's
 * cluster). */
static int compare_stores(void)
{
    for (int pg = 0; pg < 2; pg++) {
        struct daemon d;
        char key[APIKEY_LEN + 1], id[STORE_ID_SIZE], db[300], line[340] = "";
        if (pg && pgtest_db_create(db, sizeof(db)) < 0)
            return 1;
        if (pg)
            snprintf(line, sizeof(line), "store = %s\n", db);
        if (!daemon_prepare_conf(&d, line))
            return 1;
        if (!pg)
            snprintf(db, sizeof(db), "%s/hearth.db", d.data);
        printf("-- store: %s\n", pg ? "PostgreSQL (unix socket, same machine)" : "SQLite");
        if (!seed(db, key, id) || !daemon_start(&d)) {
            fprintf(stderr, "bench: cannot prepare the store or start hearthd\n");
            daemon_stop(&d);
            return 1;
        }
        bench_get(d.port, key, id);
        bench_list(d.port, key);
        daemon_stop(&d);
        if (pg)
            pgtest_db_drop(db);
    }
    return 0;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (pgtest_uri())
        return compare_stores();
    /* RSS with 0 sandboxes: a fresh daemon on an empty store, idle */
    struct daemon d;
    if (!daemon_prepare(&d) || !daemon_start(&d)) {
        fprintf(stderr, "bench: cannot start hearthd\n");
        daemon_stop(&d);
        return 1;
    }
    usleep(500000);
    printf("hearthd RSS, 0 sandboxes, empty store, idle: %.1f MiB\n",
           (double)vm_rss_kib(d.pid) / 1024);
    daemon_stop(&d);

    /* the main daemon: 10,000 rows inserted through the store before it starts */
    char key[APIKEY_LEN + 1], id[STORE_ID_SIZE];
    char db[300];
    if (!daemon_prepare(&d) || snprintf(db, sizeof(db), "%s/hearth.db", d.data) < 0 ||
        !seed(db, key, id) || !daemon_start(&d)) {
        fprintf(stderr, "bench: cannot prepare the store or start hearthd\n");
        daemon_stop(&d);
        return 1;
    }
    printf("hearthd RSS, 0 sandboxes running, %d rows stored, after start: %.1f MiB\n",
           LIST_ROWS, (double)vm_rss_kib(d.pid) / 1024);
    bench_get(d.port, key, id);
    bench_list(d.port, key);
    printf("hearthd RSS, 0 sandboxes running, after the GET and list runs: %.1f MiB\n",
           (double)vm_rss_kib(d.pid) / 1024);
    bench_vm(&d, key);
    daemon_stop(&d);
    return 0;
}
