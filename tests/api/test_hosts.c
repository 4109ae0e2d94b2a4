/* SPDX-License-Identifier: MIT */
/* test_hosts.c: the host registry over real HTTP against a real `hearthd serve` (fake images, no
 * VM boots): this host's report and heartbeat, labels and node_selector placement, drain and
 * undrain through the API and `hearthd host`, readyz and creates while drained, a second host
 * registered in the store that stops reporting (dead, its running sandboxes turn error with the
 * reason, its paused ones stay paused), and hostile route arguments and config values. */
#include "apitest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/mono.h"
#include "common/timefmt.h"
#include "daemon/store/ids.h"
#include "daemon/store/store.h"

#define CONF "host_labels = zone=b, gpu=none\nhost_heartbeat_s = 1\nhost_dead_after_s = 3\n"
#define SHAPE "{\"shape\":\"s-1vcpu-256mb\""

struct fx {
    struct hd_server s;
    char hdr_admin[128];
};

static bool fx_start(struct fx *f, const char *conf)
{
    memset(f, 0, sizeof(*f));
    REQUIRE(hd_prepare(&f->s, conf, true));
    REQUIRE(hd_start(&f->s));
    snprintf(f->hdr_admin, sizeof(f->hdr_admin), "X-API-Key: %s\r\n", f->s.admin_key);
    return true;
}

static void fx_end(struct fx *f)
{
    hd_stop(&f->s);
    hd_cleanup(&f->s);
}

static bool call(struct fx *f, const char *method, const char *target, const char *body,
                 int want, struct hresp *r)
{
    REQUIRE(http_do(f->s.port, method, target, f->hdr_admin, body, r) == 0);
    if (r->status != want)
        harness_fail(__FILE__, __LINE__, "%s %s: status %d, want %d; %s", method, target,
                     r->status, want, r->body);
    REQUIRE(r->status == want);
    return true;
}

static struct store *open_store(struct fx *f)
{
    char err[256];
    struct store *st = NULL;
    if (store_open(hd_store(&f->s), &st, err, sizeof(err)) < 0)
        harness_fail(__FILE__, __LINE__, "store_open: %s", err);
    return st;
}

TEST(this_host_reports_and_heartbeats)
{
    struct fx f;
    CHECK(fx_start(&f, CONF));
    struct hresp r;
    CHECK(call(&f, "GET", "/v1/hosts", NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 1);
    CHECK_STR(jstr(r.json, "data.data.0.id"), "test-host");
    CHECK_STR(jstr(r.json, "data.data.0.status"), "active");
    CHECK_STR(jstr(r.json, "data.data.0.region"), "local");
    CHECK_STR(jstr(r.json, "data.data.0.labels.zone"), "b");
    CHECK_STR(jstr(r.json, "data.data.0.labels.gpu"), "none");
    CHECK(jint(r.json, "data.data.0.vcpus") >= 1);
    CHECK(jint(r.json, "data.data.0.mem_mib") > 0);
    CHECK(jint(r.json, "data.data.0.free_mib") > 0);
    CHECK_STR(jstr(r.json, "data.data.0.rootfses.0"), "devbox:1");
    char first[64];
    snprintf(first, sizeof(first), "%s", jstr(r.json, "data.data.0.heartbeat_at"));
    hresp_free(&r);
    /* the heartbeat refreshes the report (every second here) */
    bool moved = false;
    for (int i = 0; i < 40 && !moved; i++) {
        usleep(100 * 1000);
        CHECK(call(&f, "GET", "/v1/hosts", NULL, 200, &r));
        moved = strcmp(first, jstr(r.json, "data.data.0.heartbeat_at")) != 0;
        hresp_free(&r);
    }
    CHECK(moved);
    /* pagination past the one host */
    CHECK(call(&f, "GET", "/v1/hosts?offset=1", NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.count"), 0);
    hresp_free(&r);
    fx_end(&f);
}

TEST(node_selector_places_by_labels)
{
    struct fx f;
    CHECK(fx_start(&f, CONF));
    struct hresp r;
    /* a matching selector passes placement: with fake images the boot then fails (500) */
    CHECK(call(&f, "POST", "/v1/sandboxes", SHAPE ",\"node_selector\":{\"zone\":\"b\"}}", 500,
               &r));
    CHECK_STR(jstr(r.json, "data.code"), "boot_failed");
    hresp_free(&r);
    CHECK(call(&f, "POST", "/v1/sandboxes",
               SHAPE ",\"node_selector\":{\"zone\":\"b\",\"gpu\":\"none\"}}", 500, &r));
    hresp_free(&r);
    static const char *miss[] = {
        SHAPE ",\"node_selector\":{\"zone\":\"a\"}}",
        SHAPE ",\"node_selector\":{\"zone\":\"b\",\"gpu\":\"a100\"}}",
        SHAPE ",\"node_selector\":{\"rack\":\"b\"}}",
        SHAPE ",\"node_selector\":{\"zone\":\"b=c\"}}",
        SHAPE ",\"node_selector\":{\"\":\"b\"}}",
        SHAPE ",\"node_selector\":{\"zone,gpu\":\"b\"}}",
    };
    for (size_t i = 0; i < sizeof(miss) / sizeof(miss[0]); i++) {
        CHECK(call(&f, "POST", "/v1/sandboxes", miss[i], 400, &r));
        CHECK(hresp_field_is(&r, "node_selector", "unknown_reference", "no host matches"));
        hresp_free(&r);
    }
    CHECK(call(&f, "POST", "/v1/sandboxes", SHAPE ",\"node_selector\":{\"zone\":1}}", 400, &r));
    CHECK(hresp_field_is(&r, "node_selector", "invalid_request", NULL));
    hresp_free(&r);
    /* an admin's host_id: this host passes, another is unknown */
    CHECK(call(&f, "POST", "/v1/sandboxes", SHAPE ",\"host_id\":\"test-host\"}", 500, &r));
    hresp_free(&r);
    CHECK(call(&f, "POST", "/v1/sandboxes", SHAPE ",\"host_id\":\"elsewhere\"}", 400, &r));
    CHECK(hresp_field_is(&r, "host_id", "invalid_request", "unknown host"));
    hresp_free(&r);
    fx_end(&f);
}

TEST(drain_and_undrain)
{
    struct fx f;
    CHECK(fx_start(&f, CONF));
    struct hresp r;
    CHECK(call(&f, "POST", "/v1/hosts/test-host/drain", NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.status"), "draining");
    hresp_free(&r);
    CHECK(call(&f, "GET", "/v1/hosts", NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.data.0.status"), "draining");
    hresp_free(&r);
    /* a drained host takes no new sandbox; readiness says why */
    CHECK(call(&f, "POST", "/v1/sandboxes", SHAPE "}", 503, &r));
    CHECK_STR(jstr(r.json, "data.code"), "no_capacity");
    CHECK(strstr(r.body, "no active host"));
    char ra[32];
    CHECK(hresp_header(&r, "Retry-After", ra, sizeof(ra)));
    hresp_free(&r);
    CHECK(call(&f, "POST", "/v1/sandboxes", SHAPE ",\"host_id\":\"test-host\"}", 400, &r));
    CHECK(hresp_field_is(&r, "host_id", "invalid_request", "not active"));
    hresp_free(&r);
    CHECK(call(&f, "GET", "/readyz", NULL, 503, &r));
    CHECK_STR(jstr(r.json, "data.reason"), "no active host");
    hresp_free(&r);
    /* the drain survives the host's own reports */
    sleep(2);
    CHECK(call(&f, "GET", "/v1/hosts", NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.data.0.status"), "draining");
    hresp_free(&r);
    /* undrain through the CLI, while serve runs */
    char out[4096], err[4096];
    const char *undrain[] = { "host", "--config", f.s.conf, "undrain", "test-host", NULL };
    CHECK_EQ(hd_run(undrain, out, sizeof(out), err, sizeof(err)), 0);
    CHECK(strstr(out, "test-host active"));
    CHECK(call(&f, "GET", "/readyz", NULL, 200, &r));
    hresp_free(&r);
    CHECK(call(&f, "POST", "/v1/sandboxes", SHAPE "}", 500, &r)); /* placed; fake boot fails */
    hresp_free(&r);
    const char *drain[] = { "host", "--config", f.s.conf, "drain", "test-host", NULL };
    CHECK_EQ(hd_run(drain, out, sizeof(out), err, sizeof(err)), 0);
    CHECK(call(&f, "POST", "/v1/sandboxes", SHAPE "}", 503, &r));
    hresp_free(&r);
    const char *ls[] = { "host", "--config", f.s.conf, "ls", NULL };
    CHECK_EQ(hd_run(ls, out, sizeof(out), err, sizeof(err)), 0);
    CHECK(strstr(out, "test-host"));
    CHECK(strstr(out, "draining"));
    CHECK(strstr(out, "gpu=none,zone=b")); /* canonical: sorted by key */
    CHECK(call(&f, "POST", "/v1/hosts/test-host/undrain", NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.status"), "active");
    hresp_free(&r);
    /* the CLI's bad arguments */
    const char *bad1[] = { "host", "--config", f.s.conf, "drain", NULL };
    CHECK_EQ(hd_run(bad1, out, sizeof(out), err, sizeof(err)), 2);
    const char *bad2[] = { "host", "--config", f.s.conf, "explode", "x", NULL };
    CHECK_EQ(hd_run(bad2, out, sizeof(out), err, sizeof(err)), 2);
    const char *bad3[] = { "host", "--config", f.s.conf, "drain", "nope", NULL };
    CHECK_EQ(hd_run(bad3, out, sizeof(out), err, sizeof(err)), 1);
    CHECK(strstr(err, "no host 'nope'"));
    fx_end(&f);
}

TEST(drain_routes_are_admin_and_hostile_ids_are_404)
{
    struct fx f;
    CHECK(fx_start(&f, CONF));
    struct hresp r;
    static const char *ids[] = { "nope", "%00", "a%2Fb", "..",
                                 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                                 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" };
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        char target[300];
        snprintf(target, sizeof(target), "/v1/hosts/%s/drain", ids[i]);
        CHECK(http_do(f.s.port, "POST", target, f.hdr_admin, NULL, &r) == 0);
        /* not found, or refused by the HTTP layer before routing (%00) */
        if (r.status != 404 && r.status != 400)
            harness_fail(__FILE__, __LINE__, "%s: %d %s", ids[i], r.status, r.body);
        CHECK(r.status == 404 || r.status == 400);
        hresp_free(&r);
    }
    /* a user key may not drain */
    struct store *st = open_store(&f);
    CHECK(st);
    struct store_key k;
    char secret[APIKEY_LEN + 1], hdr[128];
    CHECK(store_key_create(st, "alice", "t", false, timefmt_now_ms(), &k, secret) == 0);
    store_close(st);
    snprintf(hdr, sizeof(hdr), "X-API-Key: %s\r\n", secret);
    CHECK(http_do(f.s.port, "POST", "/v1/hosts/test-host/drain", hdr, NULL, &r) == 0);
    CHECK_EQ(r.status, 403);
    hresp_free(&r);
    CHECK(http_do(f.s.port, "POST", "/v1/hosts/test-host/drain", NULL, NULL, &r) == 0);
    CHECK_EQ(r.status, 401);
    hresp_free(&r);
    CHECK(call(&f, "GET", "/v1/hosts", NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.data.0.status"), "active");
    hresp_free(&r);
    fx_end(&f);
}

TEST(a_host_that_stops_reporting_is_dead)
{
    struct fx f;
    CHECK(fx_start(&f, CONF));
    struct store *st = open_store(&f);
    CHECK(st);
    struct store_key k;
    char secret[APIKEY_LEN + 1];
    CHECK(store_key_create(st, "alice", "t", false, timefmt_now_ms(), &k, secret) == 0);
    /* host "other" reported a moment ago, with a running and a paused sandbox */
    struct store_host h = { .mem_mib = 4096, .free_mib = 4000, .vcpus = 2, .vm_count = 1 };
    snprintf(h.id, sizeof(h.id), "other");
    snprintf(h.region, sizeof(h.region), "local");
    snprintf(h.labels, sizeof(h.labels), "zone=z");
    h.started_at = h.heartbeat_at = timefmt_now_ms();
    CHECK(store_host_report(st, &h) == 0);
    char running[STORE_ID_SIZE], paused[STORE_ID_SIZE];
    CHECK(hd_add_row_on_host(st, k.id, "other", STORE_RUNNING, running));
    CHECK(hd_add_row_on_host(st, k.id, "other", STORE_PAUSED, paused));
    struct hresp r;
    CHECK(call(&f, "GET", "/v1/hosts", NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 2);
    CHECK_STR(jstr(r.json, "data.data.0.id"), "other"); /* ordered by id */
    CHECK_STR(jstr(r.json, "data.data.0.status"), "active");
    hresp_free(&r);
    /* a selector only "other" matches: the create is queued for it, and since "other" never
       claims it, the job fails when "other" is found dead: 503, not a wait without end */
    CHECK(call(&f, "POST", "/v1/sandboxes", SHAPE ",\"node_selector\":{\"zone\":\"z\"}}", 503,
               &r));
    CHECK_STR(jstr(r.json, "data.code"), "unavailable");
    CHECK(strstr(r.body, "host other stopped reporting"));
    hresp_free(&r);
    /* silence: dead after 3 s, and the next heartbeat fails its running sandbox */
    uint64_t t0 = (mono_now_us() / 1000);
    bool dead = false, failed = false;
    while ((mono_now_us() / 1000) - t0 < 15000 && !(dead && failed)) {
        usleep(200 * 1000);
        CHECK(call(&f, "GET", "/v1/hosts", NULL, 200, &r));
        dead = strcmp(jstr(r.json, "data.data.0.status"), "dead") == 0;
        hresp_free(&r);
        struct store_sandbox sb;
        store_sandbox_init(&sb);
        CHECK(store_sandbox_get(st, NULL, running, &sb) == 0);
        failed = sb.status == STORE_ERROR;
        store_sandbox_release(&sb);
    }
    CHECK(dead);
    CHECK(failed);
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    CHECK(store_sandbox_get(st, NULL, paused, &sb) == 0);
    CHECK_EQ(sb.status, STORE_PAUSED); /* a paused sandbox needs no host */
    store_sandbox_release(&sb);
    store_close(st);
    char hdr[128];
    snprintf(hdr, sizeof(hdr), "X-API-Key: %s\r\n", secret);
    char target[128];
    snprintf(target, sizeof(target), "/v1/sandboxes/%s/events", running);
    CHECK(http_do(f.s.port, "GET", target, hdr, NULL, &r) == 0);
    CHECK_EQ(r.status, 200);
    CHECK(strstr(r.body, "host other stopped reporting"));
    hresp_free(&r);
    /* a dead host with sandboxes cannot be forgotten; after they are gone it can */
    char out[4096], err[4096];
    const char *rm[] = { "host", "--config", f.s.conf, "rm", "other", NULL };
    CHECK_EQ(hd_run(rm, out, sizeof(out), err, sizeof(err)), 1);
    CHECK(strstr(err, "still has sandboxes"));
    fx_end(&f);
}

TEST(bad_host_config_is_refused)
{
    static const char *bad[] = {
        "host_labels = zone\n",          "host_labels = =b\n",
        "host_labels = a=b,a=c\n",       "host_labels = a b=c\n",
        "host_labels = k=v!\n",          "host_address = nohost\n",
        "host_address = h:0\n",          "host_address = h:99999\n",
        "host_address = h:1x\n",         "host_heartbeat_s = 0\n",
        "host_dead_after_s = 1\n",       "host_heartbeat_s = 61\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct hd_server s;
        CHECK(hd_prepare(&s, bad[i], true));
        char out[4096], err[4096];
        const char *argv[] = { "serve", "--config", s.conf, NULL };
        int rc = hd_run(argv, out, sizeof(out), err, sizeof(err));
        if (rc != 2)
            harness_fail(__FILE__, __LINE__, "%s: exit %d: %s", bad[i], rc, err);
        CHECK_EQ(rc, 2);
        CHECK(strstr(err, "host_"));
        hd_cleanup(&s);
    }
}
