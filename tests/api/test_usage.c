/* SPDX-License-Identifier: MIT */
/* test_usage.c: the operator-facing routes against a real `hearthd serve`: GET /v1/openapi.json
 * (no credentials, the checked-in document byte for byte), the metrics routes of docs/api.md
 * §3.14 (shapes, ownership, unknown ids, hostile query parameters) from seeded rows, the usage
 * gauges on the Prometheus listener, and, with real images, a running microVM's CPU, memory and
 * disk use read back from its cgroup (or its QEMU's /proc entry), and the per-step timelines of
 * its create, pause, fork and resume (docs/performance.md "Where the time goes"): a step
 * histogram series for each, and each settling event's timeline, whose steps add up. */
#include "apitest.h"
#include "vmfx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/timefmt.h"
#include "daemon/store/ids.h"
#include "daemon/store/store.h"

struct ufx {
    struct hd_server s;
    char hdr_alice[128], hdr_bob[128];
    char sb_run[STORE_ID_SIZE], sb_paused[STORE_ID_SIZE], sb_bob[STORE_ID_SIZE];
};

static bool add_row(struct store *st, const char *user, const char *key_id, const char *name,
                    enum store_state state, int64_t egress, char *ret_id)
{
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    REQUIRE(ids_new_sandbox(sb.id) == 0);
    snprintf(sb.user_id, sizeof(sb.user_id), "%s", user);
    snprintf(sb.name, sizeof(sb.name), "%s", name);
    sb.status = state;
    snprintf(sb.shape, sizeof(sb.shape), "s-2vcpu-2gb");
    sb.vcpu = 2;
    sb.mem_mib = 2048;
    sb.disk_mib = 10240;
    snprintf(sb.rootfs, sizeof(sb.rootfs), "devbox:1");
    snprintf(sb.region, sizeof(sb.region), "local");
    sb.created_at = timefmt_now_ms() - 60000;
    sb.running_at = sb.created_at + 1000;
    sb.bw_quota_bytes = 5368709120LL;
    sb.bw_used_bytes = egress;
    sb.bw_ingress_bytes = egress * 10;
    snprintf(sb.created_by, sizeof(sb.created_by), "%s", key_id);
    int r = store_sandbox_insert(st, &sb, NULL, 0);
    store_sandbox_release(&sb);
    REQUIRE(r == 0);
    memcpy(ret_id, sb.id, STORE_ID_SIZE);
    return true;
}

static bool ufx_start(struct ufx *f)
{
    memset(f, 0, sizeof(*f));
    REQUIRE(hd_prepare(&f->s, NULL, true));
    REQUIRE(hd_start(&f->s));
    char db[256], err[256], alice[APIKEY_LEN + 1], bob[APIKEY_LEN + 1];
    snprintf(db, sizeof(db), "%s", hd_store(&f->s));
    struct store *st;
    REQUIRE(store_open(db, &st, err, sizeof(err)) == 0);
    struct store_key k, kb;
    bool ok = store_key_create(st, "alice", "t", false, 1000, &k, alice) == 0 &&
              store_key_create(st, "bob", "t", false, 1000, &kb, bob) == 0 &&
              add_row(st, "alice", k.id, "run-1", STORE_RUNNING, 1000, f->sb_run) &&
              add_row(st, "alice", k.id, "paused-1", STORE_PAUSED, 500, f->sb_paused) &&
              add_row(st, "bob", kb.id, "bob-1", STORE_RUNNING, 7, f->sb_bob);
    store_close(st);
    REQUIRE(ok);
    snprintf(f->hdr_alice, sizeof(f->hdr_alice), "X-Api-Key: %s\r\n", alice);
    snprintf(f->hdr_bob, sizeof(f->hdr_bob), "X-Api-Key: %s\r\n", bob);
    return true;
}

static bool get(struct ufx *f, const char *target, const char *hdr, int want, struct hresp *r)
{
    REQUIRE(http_do(f->s.port, "GET", target, hdr, NULL, r) == 0);
    if (r->status != want)
        harness_fail(__FILE__, __LINE__, "GET %s: %d, want %d: %s", target, r->status, want,
                     r->body);
    return r->status == want;
}

TEST(openapi_document_served_without_credentials)
{
    struct ufx f;
    if (!ufx_start(&f))
        return;
    struct hresp r;
    if (get(&f, "/v1/openapi.json", NULL, 200, &r)) {
        char ct[64];
        CHECK(hresp_header(&r, "Content-Type", ct, sizeof(ct)));
        CHECK(strncmp(ct, "application/json", 16) == 0);
        CHECK_STR(jstr(r.json, "openapi"), "3.1.0");
        FILE *doc = fopen("docs/openapi.json", "r");
        if (doc) { /* the build embeds the checked-in file unchanged */
            char *want = calloc(1, r.body_len + 2);
            size_t n = want ? fread(want, 1, r.body_len + 1, doc) : 0;
            CHECK_EQ(n, r.body_len);
            CHECK(want && memcmp(want, r.body, r.body_len) == 0);
            free(want);
            fclose(doc);
        }
    }
    hresp_free(&r);
    /* other methods are 405 with Allow; a query is ignored */
    CHECK(http_do(f.s.port, "POST", "/v1/openapi.json", NULL, "{}", &r) == 0);
    CHECK_EQ(r.status, 405);
    hresp_free(&r);
    CHECK(get(&f, "/v1/openapi.json?x=1", NULL, 200, &r));
    hresp_free(&r);
    hd_cleanup(&f.s);
}

TEST(sandbox_metrics_shape_and_ownership)
{
    struct ufx f;
    if (!ufx_start(&f))
        return;
    struct hresp r;
    char t[128];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/metrics", f.sb_run);
    if (get(&f, t, f.hdr_alice, 200, &r)) {
        CHECK_STR(jstr(r.json, "status"), "success");
        CHECK_STR(jstr(r.json, "data.id"), f.sb_run);
        CHECK_STR(jstr(r.json, "data.status"), "running");
        CHECK_EQ(jint(r.json, "data.vcpu"), 2);
        CHECK_EQ(jint(r.json, "data.mem_mib"), 2048);
        CHECK_EQ(jint(r.json, "data.disk_mib"), 10240);
        CHECK_EQ(jint(r.json, "data.egress_bytes"), 1000);
        CHECK_EQ(jint(r.json, "data.ingress_bytes"), 10000);
        CHECK(jstr(r.json, "data.ts") != NULL);
        /* a row without a VM on this host: the live fields are null, not made up */
        CHECK(json_is_null(jpath(r.json, "data.cpu_pct")));
        CHECK(json_is_null(jpath(r.json, "data.mem_used_mib")));
        CHECK(json_is_null(jpath(r.json, "data.disk_used_mib")));
    }
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/metrics", f.sb_paused);
    if (get(&f, t, f.hdr_alice, 200, &r))
        CHECK_STR(jstr(r.json, "data.status"), "paused");
    hresp_free(&r);
    /* another user's sandbox, an unknown id, a malformed id: 404; no key: 401 */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/metrics", f.sb_bob);
    CHECK(get(&f, t, f.hdr_alice, 404, &r));
    hresp_free(&r);
    CHECK(get(&f, "/v1/sandboxes/sb-01JZZZZZZZZZZZZZZZZZZZZZZZ/metrics", f.hdr_alice, 404, &r));
    hresp_free(&r);
    CHECK(get(&f, "/v1/sandboxes/..%2f..%2fetc/metrics", f.hdr_alice, 404, &r));
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/metrics", f.sb_run);
    CHECK(get(&f, t, NULL, 401, &r));
    hresp_free(&r);
    hd_cleanup(&f.s);
}

TEST(user_metrics_totals)
{
    struct ufx f;
    if (!ufx_start(&f))
        return;
    struct hresp r;
    if (get(&f, "/v1/metrics", f.hdr_alice, 200, &r)) {
        CHECK_STR(jstr(r.json, "data.user_id"), "alice");
        CHECK_EQ(jint(r.json, "data.sandboxes.running"), 1);
        CHECK_EQ(jint(r.json, "data.sandboxes.paused"), 1);
        CHECK_EQ(jint(r.json, "data.sandboxes.other"), 0);
        CHECK_EQ(jint(r.json, "data.sandboxes.total"), 2);
        CHECK_EQ(jint(r.json, "data.vcpu_running"), 2);
        CHECK_EQ(jint(r.json, "data.mem_mib_running"), 2048);
        CHECK_EQ(jint(r.json, "data.disk_mib_allocated"), 20480);
        CHECK_EQ(jint(r.json, "data.egress_bytes"), 1500);
        CHECK_EQ(jint(r.json, "data.ingress_bytes"), 15000);
        CHECK(jpath(r.json, "data.running_seconds") != NULL);
    }
    hresp_free(&r);
    if (get(&f, "/v1/metrics", f.hdr_bob, 200, &r)) /* only one's own */
        CHECK_EQ(jint(r.json, "data.egress_bytes"), 7);
    hresp_free(&r);
    CHECK(get(&f, "/v1/metrics", NULL, 401, &r));
    hresp_free(&r);
    hd_cleanup(&f.s);
}

TEST(timeseries_ranges)
{
    struct ufx f;
    if (!ufx_start(&f))
        return;
    struct hresp r;
    if (get(&f, "/v1/metrics/timeseries", f.hdr_alice, 200, &r)) {
        CHECK_EQ(jint(r.json, "data.step_s"), 300);
        json_t *pts = jpath(r.json, "data.points");
        CHECK_EQ(json_array_size(pts), 288); /* 24 h of 5 min */
        CHECK(jpath(r.json, "data.points.0.ts") != NULL);
        CHECK(jpath(r.json, "data.points.0.running") != NULL);
        CHECK(jpath(r.json, "data.points.0.egress_bytes") != NULL);
    }
    hresp_free(&r);
    char t[256], from[TIMEFMT_RFC3339_LEN + 1], to[TIMEFMT_RFC3339_LEN + 1];
    int64_t now = timefmt_now_ms();
    CHECK(timefmt_rfc3339_ms(now - 3600 * 1000, from) == 0);
    CHECK(timefmt_rfc3339_ms(now, to) == 0);
    snprintf(t, sizeof(t), "/v1/metrics/timeseries?from=%s&to=%s&step_s=60", from, to);
    if (get(&f, t, f.hdr_alice, 200, &r))
        CHECK_EQ(json_array_size(jpath(r.json, "data.points")), 60);
    hresp_free(&r);
    char old[TIMEFMT_RFC3339_LEN + 1];
    CHECK(timefmt_rfc3339_ms(now - 40LL * 86400 * 1000, old) == 0);
    char bad_old[128], bad_order[160], too_many[160];
    snprintf(bad_old, sizeof(bad_old), "/v1/metrics/timeseries?from=%s", old);
    snprintf(bad_order, sizeof(bad_order), "/v1/metrics/timeseries?from=%s&to=%s", to, from);
    snprintf(too_many, sizeof(too_many), "/v1/metrics/timeseries?from=%s&to=%s&step_s=60",
             old, to); /* also too old, but first: */
    const char *bad[] = {
        "/v1/metrics/timeseries?step_s=61", "/v1/metrics/timeseries?step_s=30",
        "/v1/metrics/timeseries?step_s=0", "/v1/metrics/timeseries?step_s=-60",
        "/v1/metrics/timeseries?step_s=abc", "/v1/metrics/timeseries?step_s=",
        "/v1/metrics/timeseries?step_s=99999999999999999999999",
        "/v1/metrics/timeseries?from=yesterday", "/v1/metrics/timeseries?to=2026-13-45T99:00:00Z",
        "/v1/metrics/timeseries?from=%00", bad_old, bad_order,
        "/v1/metrics/timeseries?step_s=60", /* 24 h of minutes: 1440 points is the most */
        too_many,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(http_do(f.s.port, "GET", bad[i], f.hdr_alice, NULL, &r) == 0);
        if (i == 12) { /* exactly 1440 points is allowed */
            CHECK_EQ(r.status, 200);
        } else if (r.status != 400 && r.status != 404) {
            harness_fail(__FILE__, __LINE__, "%s: %d, want 400: %s", bad[i], r.status, r.body);
        } else if (r.status == 400) {
            CHECK_STR(jstr(r.json, "status"), "fail");
        }
        hresp_free(&r);
    }
    CHECK(get(&f, "/v1/metrics/timeseries", NULL, 401, &r));
    hresp_free(&r);
    hd_cleanup(&f.s);
}

TEST(prometheus_usage_gauges)
{
    struct ufx f;
    if (!ufx_start(&f))
        return;
    struct hresp r;
    /* a network created through the API is a timed network operation (or a failed one
     * where this host has no networking) */
    CHECK(http_do(f.s.port, "POST", "/v1/networks", f.hdr_alice, "{\"name\":\"n1\"}", &r) == 0);
    int created = r.status;
    hresp_free(&r);
    CHECK(http_do(f.s.metrics_port, "GET", "/metrics", NULL, NULL, &r) == 0);
    CHECK_EQ(r.status, 200);
    if (created == 200)
        CHECK(r.body && strstr(r.body, "hearth_network_op_duration_seconds_count{op=\""
                                       "network_create\"} 1\n"));
    else if (created >= 500)
        CHECK(r.body && strstr(r.body, "hearth_network_op_failures_total{op=\"network_create\"} "
                                       "1\n"));
    else
        harness_fail(__FILE__, __LINE__, "POST /v1/networks: %d", created);
    CHECK(r.body && strstr(r.body, "# TYPE hearth_network_op_duration_seconds histogram"));
    CHECK(r.body && strstr(r.body, "# TYPE hearth_sandboxes gauge"));
    CHECK(r.body && strstr(r.body, "hearth_sandboxes{state=\"running\"}"));
    CHECK(r.body && strstr(r.body, "hearth_network_bytes_total{direction=\"egress\"}"));
    CHECK(r.body && strstr(r.body, "hearth_vm_memory_bytes"));
    hresp_free(&r);
    hd_cleanup(&f.s);
}

/* A real microVM: while it runs, its memory, disk and tasks are read back (from its cgroup, or
 * its QEMU's /proc entry where cgroups are off), and two readings a second apart give a CPU
 * percentage; its create, pause, resume and destroy land in the lifecycle histograms; once
 * destroyed the sandbox still answers, with the live fields null. */
/* The last event of kind in id's log has a timeline of known steps whose ms add up to (about)
 * the operation's time, which is at least the host's "ready" or "quit" step. */
static void check_timeline(struct vfx *f, const char *id, const char *kind, const char *host_step)
{
    char t[160];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/events", id);
    struct hresp r;
    if (!call(f, "GET", t, NULL, 200, &r))
        return;
    json_t *evs = jpath(r.json, "data.events"), *found = NULL;
    for (size_t i = 0; i < json_array_size(evs); i++)
        if (strcmp(json_string_value(json_object_get(json_array_get(evs, i), "kind")), kind) == 0)
            found = json_array_get(evs, i);
    json_t *tl = found ? json_object_get(found, "timeline") : NULL;
    if (!json_is_array(tl) || json_array_size(tl) < 3) {
        harness_fail(__FILE__, __LINE__, "%s: event %s has no timeline", id, kind);
        hresp_free(&r);
        return;
    }
    double sum = 0;
    bool host = false, settle = false;
    for (size_t i = 0; i < json_array_size(tl); i++) {
        json_t *s = json_array_get(tl, i);
        const char *step = json_string_value(json_object_get(s, "step"));
        double ms = json_number_value(json_object_get(s, "ms"));
        CHECK(step && step[0]);
        CHECK(ms >= 0);
        sum += ms;
        host = host || (step && strcmp(step, host_step) == 0);
        settle = settle || (step && strcmp(step, "settle") == 0);
    }
    CHECK(host);
    CHECK(settle);
    CHECK(sum > 0);
    /* no timing assertion: the operation took the sum (each step is since the one before) */
    CHECK_STR(json_string_value(json_object_get(json_array_get(tl, json_array_size(tl) - 1),
                                                "step")), "settle");
    hresp_free(&r);
}

TEST_SLOW(running_vm_metrics, 300)
{
    struct vfx f;
    if (!vfx_start(&f))
        return;
    char id[64];
    if (!create(&f, "{\"rootfs\":\"minimal\",\"shape\":\"s-1vcpu-1gb\"}", id)) {
        vfx_end(&f);
        return;
    }
    char t[160];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/metrics", id);
    struct hresp r;
    CHECK(call(&f, "GET", t, NULL, 200, &r));
    hresp_free(&r);
    sleep(2);
    if (call(&f, "GET", t, NULL, 200, &r)) {
        CHECK_STR(jstr(r.json, "data.status"), "running");
        json_t *cpu = jpath(r.json, "data.cpu_pct");
        CHECK(json_is_number(cpu));
        CHECK(json_number_value(cpu) >= 0 && json_number_value(cpu) <= 100.0 * 1 + 50);
        CHECK(jint(r.json, "data.mem_used_mib") > 16);   /* a QEMU holds more than this */
        CHECK(jint(r.json, "data.mem_used_mib") < 1024 + 512);
        CHECK(jint(r.json, "data.disk_used_mib") >= 0);
        CHECK(json_is_integer(jpath(r.json, "data.disk_used_mib")));
        CHECK(jint(r.json, "data.pids") >= 1);
    }
    hresp_free(&r);
    /* a pause and a resume, timed by the sampler from the rows' transitions */
    char p[160], st[32];
    snprintf(p, sizeof(p), "/v1/sandboxes/%s/pause", id);
    CHECK(http_do(f.s.port, "POST", p, f.hdr, NULL, &r) == 0 && (r.status == 202 || r.status == 200));
    hresp_free(&r);
    for (int i = 0; i < 600 && strcmp(status_of(&f, id, st), "paused") != 0; i++)
        usleep(100 * 1000);
    CHECK_STR(st, "paused");
    /* a fork of the paused sandbox: its child runs from the shared snapshot */
    char child[64] = "";
    snprintf(p, sizeof(p), "/v1/sandboxes/%s/fork", id);
    CHECK(http_do(f.s.port, "POST", p, f.hdr, "{}", &r) == 0 &&
          (r.status == 200 || r.status == 202));
    snprintf(child, sizeof(child), "%s", jstr(r.json, "data.id") ? jstr(r.json, "data.id") : "");
    hresp_free(&r);
    for (int i = 0; child[0] && i < 600 && strcmp(status_of(&f, child, st), "running") != 0; i++)
        usleep(100 * 1000);
    CHECK(child[0]);
    if (child[0]) {
        CHECK_STR(status_of(&f, child, st), "running");
        check_timeline(&f, child, "resumed", "ready");
        CHECK(destroy(&f, child));
    }
    snprintf(p, sizeof(p), "/v1/sandboxes/%s/resume", id);
    CHECK(http_do(f.s.port, "POST", p, f.hdr, NULL, &r) == 0 && (r.status == 202 || r.status == 200));
    hresp_free(&r);
    for (int i = 0; i < 600 && strcmp(status_of(&f, id, st), "running") != 0; i++)
        usleep(100 * 1000);
    CHECK_STR(st, "running");
    check_timeline(&f, id, "created", "ready");
    check_timeline(&f, id, "paused", "quit");
    check_timeline(&f, id, "resumed", "ready");
    CHECK(destroy(&f, id));
    usleep(500 * 1000); /* the watch reads rows every 100 ms */
    CHECK(http_do(f.s.metrics_port, "GET", "/metrics", NULL, NULL, &r) == 0);
    const char *want[] = {
        "hearth_lifecycle_duration_seconds_count{op=\"create\"} 1\n",
        "hearth_lifecycle_duration_seconds_count{op=\"pause\"} 1\n",
        "hearth_lifecycle_duration_seconds_count{op=\"resume\"} 1\n",
        "hearth_lifecycle_duration_seconds_count{op=\"destroy\"} 2\n",
        "hearth_lifecycle_failures_total{op=\"create\"} 0\n",
        /* one of each, with its host steps and the settle (counts only: no timing) */
        "hearth_lifecycle_step_duration_seconds_count{op=\"create\",step=\"spawn\"} 1\n",
        "hearth_lifecycle_step_duration_seconds_count{op=\"create\",step=\"ready\"} 1\n",
        "hearth_lifecycle_step_duration_seconds_count{op=\"create\",step=\"settle\"} 1\n",
        "hearth_lifecycle_step_duration_seconds_count{op=\"pause\",step=\"stop\"} 1\n",
        "hearth_lifecycle_step_duration_seconds_count{op=\"pause\",step=\"quit\"} 1\n",
        "hearth_lifecycle_step_duration_seconds_count{op=\"pause\",step=\"settle\"} 1\n",
        "hearth_lifecycle_step_duration_seconds_count{op=\"resume\",step=\"cont\"} 1\n",
        "hearth_lifecycle_step_duration_seconds_count{op=\"resume\",step=\"settle\"} 1\n",
        "hearth_lifecycle_step_duration_seconds_count{op=\"fork\",step=\"cont\"} 1\n",
        "hearth_lifecycle_step_duration_seconds_count{op=\"fork\",step=\"settle\"} 1\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!r.body || !strstr(r.body, want[i]))
            harness_fail(__FILE__, __LINE__, "/metrics lacks %s", want[i]);
    hresp_free(&r);
    if (call(&f, "GET", t, NULL, 200, &r)) {
        CHECK_STR(jstr(r.json, "data.status"), "destroyed");
        CHECK(json_is_null(jpath(r.json, "data.cpu_pct")));
        CHECK(json_is_null(jpath(r.json, "data.mem_used_mib")));
    }
    hresp_free(&r);
    vfx_end(&f);
}
