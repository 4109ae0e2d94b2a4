/* SPDX-License-Identifier: MIT */
/* test_multihost.c: two real `hearthd serve` processes, each its own host (host_id, data dir,
 * network namespace, labels), on one store (PostgreSQL when HEARTH_TEST_PG is set, else one
 * SQLite file both open): each sees both hosts in GET /v1/hosts; a drain set through one is seen
 * by the other and stops the drained one's creates; a node_selector only the other host matches
 * is placed nowhere (503, until hosts take queued work); kill -9 of one → the survivor marks it
 * dead and fails its VM-holding sandboxes, keeps its paused ones paused; the killed host, back,
 * reports again and is active. Fake images: no VM boots. */
#include "apitest.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/mono.h"
#include "common/timefmt.h"
#include "daemon/store/ids.h"
#include "daemon/store/store.h"

#define SHAPE "{\"shape\":\"s-1vcpu-256mb\""

/* How many times needle occurs in the file at path. */
static int count_in_file(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char line[8192];
    int n = 0;
    while (fgets(line, sizeof(line), f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}

static bool get_hosts(uint16_t port, const char *hdr, struct hresp *r)
{
    REQUIRE(http_do(port, "GET", "/v1/hosts", hdr, NULL, r) == 0);
    REQUIRE(r->status == 200);
    return true;
}

/* The status of host id in a GET /v1/hosts answer, or "". */
static const char *status_of(struct hresp *r, const char *id)
{
    json_t *items = jpath(r->json, "data.data");
    for (size_t i = 0; i < json_array_size(items); i++) {
        json_t *h = json_array_get(items, i);
        if (strcmp(json_string_value(json_object_get(h, "id")), id) == 0)
            return json_string_value(json_object_get(h, "status"));
    }
    return "";
}

TEST_SLOW(two_hosts_one_store, 120)
{
    struct hd_server a, b;
    CHECK(hd_prepare(&a, "host_labels = zone=a\nhost_heartbeat_s = 1\nhost_dead_after_s = 3\n",
                     true));
    CHECK(hd_reconfigure(&a, "host-a", NULL, ""));
    CHECK(hd_start(&a));
    CHECK(hd_prepare(&b, NULL, true));
    /* b shares a's store: a's database (PostgreSQL) or a's SQLite file */
    CHECK(hd_reconfigure(&b, "host-b", a.store,
                      "host_labels = zone=b\nhost_heartbeat_s = 1\nhost_dead_after_s = 3\n"));
    CHECK(hd_start(&b));
    char hdr_a[128];
    snprintf(hdr_a, sizeof(hdr_a), "X-API-Key: %s\r\n", a.admin_key);
    /* b's first start found a's admin key in the store, so it made none: a's serves both */
    struct hresp r;
    uint64_t t0 = mono_now_us();
    bool both = false;
    while (!both && mono_now_us() - t0 < 10 * 1000000ull) {
        CHECK(get_hosts(b.port, hdr_a, &r));
        both = strcmp(status_of(&r, "host-a"), "active") == 0 &&
               strcmp(status_of(&r, "host-b"), "active") == 0;
        hresp_free(&r);
        if (!both)
            usleep(100 * 1000);
    }
    CHECK(both);
    CHECK(get_hosts(a.port, hdr_a, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 2);
    CHECK_STR(jstr(r.json, "data.data.0.id"), "host-a");
    CHECK_STR(jstr(r.json, "data.data.1.labels.zone"), "b");
    hresp_free(&r);

    /* drain b through a; b sees it: a create that reaches b is placed on a (through the work
       queue; a's fake kernel fails the boot, and b relays a's answer) */
    CHECK(http_do(a.port, "POST", "/v1/hosts/host-b/drain", hdr_a, NULL, &r) == 0);
    CHECK_EQ(r.status, 200);
    hresp_free(&r);
    CHECK(http_do(b.port, "POST", "/v1/sandboxes", hdr_a, SHAPE ",\"name\":\"from-b\"}", &r) ==
          0);
    CHECK_EQ(r.status, 500);
    CHECK_STR(jstr(r.json, "data.code"), "boot_failed");
    hresp_free(&r);
    CHECK(http_do(a.port, "POST", "/v1/sandboxes", hdr_a, SHAPE "}", &r) == 0);
    CHECK_EQ(r.status, 500); /* placed on host-a; the fake kernel does not boot */
    hresp_free(&r);
    /* zone=b lives on b only, and b is drained */
    CHECK(http_do(a.port, "POST", "/v1/sandboxes", hdr_a,
                  SHAPE ",\"node_selector\":{\"zone\":\"b\"}}", &r) == 0);
    CHECK_EQ(r.status, 503);
    CHECK(strstr(r.body, "no active host"));
    hresp_free(&r);
    CHECK(http_do(b.port, "POST", "/v1/hosts/host-b/undrain", hdr_a, NULL, &r) == 0);
    CHECK_EQ(r.status, 200);
    hresp_free(&r);
    /* undrained, b takes it: a queues the create for b, b runs it (its fake kernel fails the
       boot) and a relays b's answer */
    CHECK(http_do(a.port, "POST", "/v1/sandboxes", hdr_a,
                  SHAPE ",\"name\":\"via-queue\",\"node_selector\":{\"zone\":\"b\"}}", &r) == 0);
    CHECK_EQ(r.status, 500);
    CHECK_STR(jstr(r.json, "data.code"), "boot_failed");
    hresp_free(&r);
    /* a control plane on the same store: no host itself, it places on a or b */
    struct hd_server c;
    CHECK(hd_prepare(&c, NULL, true));
    CHECK(hd_reconfigure(&c, "control-1", a.store,
                      "role = control\nhost_heartbeat_s = 1\nhost_dead_after_s = 3\n"));
    CHECK(hd_start(&c));
    CHECK(get_hosts(c.port, hdr_a, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 2); /* a control plane is no host */
    hresp_free(&r);
    CHECK(http_do(c.port, "GET", "/readyz", NULL, NULL, &r) == 0);
    CHECK_EQ(r.status, 200);
    hresp_free(&r);
    CHECK(http_do(c.port, "POST", "/v1/sandboxes", hdr_a,
                  SHAPE ",\"node_selector\":{\"zone\":\"a\"}}", &r) == 0);
    CHECK_EQ(r.status, 500);
    CHECK_STR(jstr(r.json, "data.code"), "boot_failed");
    hresp_free(&r);
    /* its checks run before anything is queued */
    CHECK(http_do(c.port, "POST", "/v1/sandboxes", hdr_a, "{\"shape\":\"s-nope\"}", &r) == 0);
    CHECK_EQ(r.status, 400);
    hresp_free(&r);
    CHECK(http_do(c.port, "POST", "/v1/sandboxes", hdr_a,
                  SHAPE ",\"node_selector\":{\"zone\":\"q\"}}", &r) == 0);
    CHECK_EQ(r.status, 400);
    hresp_free(&r);

    /* b holds a running and a paused sandbox, then dies by SIGKILL */
    char err[256];
    struct store *st = NULL;
    CHECK(store_open(a.store, &st, err, sizeof(err)) == 0);
    /* where the queued creates ran: from-b on a, via-queue on b (each host logs the jobs it
       claims) */
    CHECK(count_in_file(a.log, "\"msg\":\"job claimed\"") >= 1);
    CHECK(count_in_file(b.log, "\"msg\":\"job claimed\"") >= 1);
    struct store_key k;
    char secret[APIKEY_LEN + 1];
    CHECK(store_key_create(st, "alice", "t", false, timefmt_now_ms(), &k, secret) == 0);
    char running[STORE_ID_SIZE], paused[STORE_ID_SIZE];
    CHECK(hd_add_row_on_host(st, k.id, "host-b", STORE_RUNNING, running));
    CHECK(hd_add_row_on_host(st, k.id, "host-b", STORE_PAUSED, paused));
    kill(b.pid, SIGKILL);
    waitpid(b.pid, NULL, 0);
    b.pid = -1;
    /* a create placed on b before anyone noticed: its job is failed by the dead-host sweep,
       and the waiting control plane answers 503 instead of waiting forever */
    uint64_t q0 = mono_now_us();
    CHECK(http_do(c.port, "POST", "/v1/sandboxes", hdr_a,
                  SHAPE ",\"node_selector\":{\"zone\":\"b\"}}", &r) == 0);
    uint64_t waited_ms = (mono_now_us() - q0) / 1000;
    CHECK(r.status == 503);
    CHECK(strstr(r.body, "host-b"));
    CHECK(waited_ms < 15000);
    hresp_free(&r);
    t0 = mono_now_us();
    bool dead = false, failed = false;
    while (!(dead && failed) && mono_now_us() - t0 < 20 * 1000000ull) {
        usleep(200 * 1000);
        CHECK(get_hosts(a.port, hdr_a, &r));
        dead = strcmp(status_of(&r, "host-b"), "dead") == 0;
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
    CHECK_EQ(sb.status, STORE_PAUSED);
    store_sandbox_release(&sb);
    store_close(st);

    /* b comes back: it reports again and is active (its old port files go first, so the
       restart is waited for) */
    char pf[300];
    snprintf(pf, sizeof(pf), "%s/hearthd.port", b.data);
    unlink(pf);
    snprintf(pf, sizeof(pf), "%s/metrics.port", b.data);
    unlink(pf);
    b.port = 0;
    CHECK(hd_start(&b));
    t0 = mono_now_us();
    bool back = false;
    while (!back && mono_now_us() - t0 < 10 * 1000000ull) {
        CHECK(get_hosts(a.port, hdr_a, &r));
        back = strcmp(status_of(&r, "host-b"), "active") == 0;
        hresp_free(&r);
        if (!back)
            usleep(100 * 1000);
    }
    CHECK(back);
    hd_cleanup(&c);
    hd_cleanup(&b);
    hd_cleanup(&a);
}
