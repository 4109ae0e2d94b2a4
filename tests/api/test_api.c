/* SPDX-License-Identifier: MIT */
/* test_api.c: the REST API over real HTTP against a real `hearthd serve` on 127.0.0.1 (ephemeral
 * port, temp data dir): probes, catalog, auth, routing errors, pagination, the sandbox routes on
 * rows inserted through the store API, every create/PATCH validation rule, HTTP-level errors,
 * the keys CLI, config errors, logs and shutdown. */
#include "apitest.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/mono.h"
#include "daemon/store/ids.h"
#include "daemon/store/store.h"

/* ---- fixture: a server, and users alice/bob with keys and rows ---- */

struct fx {
    struct hd_server s;
    char alice[APIKEY_LEN + 1], bob[APIKEY_LEN + 1], alice_key_id[STORE_ID_SIZE];
    char hdr_alice[128], hdr_bob[128], hdr_admin[128];
    char sb_running[STORE_ID_SIZE], sb_paused[STORE_ID_SIZE], sb_destroyed[STORE_ID_SIZE];
    char sb_bob[STORE_ID_SIZE];
};

static bool add_row(struct store *st, const char *user, const char *key_id, const char *name,
                    enum store_state state, const char *ip, int64_t created, char *ret_id)
{
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    REQUIRE(ids_new_sandbox(sb.id) == 0);
    snprintf(sb.user_id, sizeof(sb.user_id), "%s", user);
    snprintf(sb.name, sizeof(sb.name), "%s", name);
    sb.status = state;
    snprintf(sb.shape, sizeof(sb.shape), "s-1vcpu-1gb");
    sb.vcpu = 1;
    sb.mem_mib = 1024;
    sb.disk_mib = 10240;
    snprintf(sb.rootfs, sizeof(sb.rootfs), "devbox:1");
    snprintf(sb.region, sizeof(sb.region), "local");
    snprintf(sb.ip, sizeof(sb.ip), "%s", ip ? ip : "");
    sb.created_at = created;
    if (state != STORE_CREATING) {
        sb.running_at = created + 1234;
        sb.spawn_ms = 1234.567;
    }
    if (state == STORE_DESTROYED)
        sb.destroyed_at = created + 5000;
    snprintf(sb.created_by, sizeof(sb.created_by), "%s", key_id);
    const char *egress[] = { "api.example.com:443" };
    sb.egress.v = (char **)egress;
    sb.egress.n = 1;
    struct store_env envs[] = { { "SECRET_TOKEN", "hunter2", 7 }, { "A_KEY", "v", 1 } };
    int r = store_sandbox_insert(st, &sb, envs, 2);
    sb.egress = (struct store_strv){ 0 };
    store_sandbox_release(&sb);
    if (r)
        harness_fail(__FILE__, __LINE__, "insert %s: %d", name, r);
    REQUIRE(r == 0);
    memcpy(ret_id, sb.id, STORE_ID_SIZE);
    return true;
}

static bool fx_start(struct fx *f, const char *extra_conf)
{
    memset(f, 0, sizeof(*f));
    REQUIRE(hd_prepare(&f->s, extra_conf, true));
    REQUIRE(hd_start(&f->s));
    REQUIRE(strncmp(f->s.admin_key, "hk_", 3) == 0);
    char db[256], err[256];
    snprintf(db, sizeof(db), "%s", hd_store(&f->s));
    struct store *st;
    REQUIRE(store_open(db, &st, err, sizeof(err)) == 0);
    struct store_key k, kb;
    REQUIRE(store_key_create(st, "alice", "t", false, 1000, &k, f->alice) == 0);
    REQUIRE(store_key_create(st, "bob", "t", false, 1000, &kb, f->bob) == 0);
    memcpy(f->alice_key_id, k.id, sizeof(k.id));
    int64_t t = 1767225600000; /* 2026-01-01 */
    bool ok = add_row(st, "alice", k.id, "run-1", STORE_RUNNING, "10.0.0.2", t, f->sb_running) &&
              add_row(st, "alice", k.id, "paused-1", STORE_PAUSED, "10.0.0.3", t + 1000,
                      f->sb_paused) &&
              add_row(st, "alice", k.id, "gone-1", STORE_DESTROYED, NULL, t + 2000,
                      f->sb_destroyed) &&
              add_row(st, "bob", kb.id, "bob-1", STORE_RUNNING, "10.0.0.9", t, f->sb_bob);
    store_close(st);
    REQUIRE(ok);
    snprintf(f->hdr_alice, sizeof(f->hdr_alice), "X-Api-Key: %s\r\n", f->alice);
    snprintf(f->hdr_bob, sizeof(f->hdr_bob), "X-Api-Key: %s\r\n", f->bob);
    snprintf(f->hdr_admin, sizeof(f->hdr_admin), "X-Api-Key: %s\r\n", f->s.admin_key);
    return true;
}

static void fx_end(struct fx *f)
{
    hd_cleanup(&f->s);
}

/* Request and check status (and envelope status when given). */
static bool req(struct fx *f, const char *method, const char *target, const char *hdr,
                const char *body, int want, struct hresp *r)
{
    REQUIRE(http_do(f->s.port, method, target, hdr, body, r) == 0);
    if (r->status != want)
        harness_fail(__FILE__, __LINE__, "%s %s: status %d, want %d; body %s", method, target,
                     r->status, want, r->body);
    REQUIRE(r->status == want);
    char id[200];
    REQUIRE(hresp_header(r, "X-Request-Id", id, sizeof(id)));
    if (r->body_len) {
        char ct[100];
        REQUIRE(hresp_header(r, "Content-Type", ct, sizeof(ct)));
    }
    return true;
}

/* The fail data object of a 4xx holds field with code. */
static bool fail_field(struct hresp *r, const char *field, const char *code)
{
    REQUIRE(r->json);
    json_t *d = json_object_get(r->json, "data");
    if (!json_object_get(d, field) || !jstr(r->json, "data.code") ||
        strcmp(jstr(r->json, "data.code"), code) != 0) {
        harness_fail(__FILE__, __LINE__, "want field '%s' code '%s' in %s", field, code,
                     r->body);
        return false;
    }
    return true;
}

/* ---- probes and catalog ---- */

TEST(healthz_readyz_and_head)
{
    struct fx f;
    if (!fx_start(&f, NULL))
        return;
    struct hresp r;
    CHECK(req(&f, "GET", "/healthz", "X-Api-Key: garbage\r\n", NULL, 200, &r));
    CHECK_STR(r.body, "{\"status\":\"success\",\"data\":{\"up\":true}}");
    hresp_free(&r);
    CHECK(req(&f, "HEAD", "/healthz", NULL, NULL, 200, &r));
    CHECK_EQ(r.body_len, 0);
    hresp_free(&r);
    CHECK(req(&f, "HEAD", "/readyz", NULL, NULL, 200, &r));
    hresp_free(&r);
    CHECK(req(&f, "GET", "/readyz", NULL, NULL, 200, &r));
    CHECK(json_is_true(jpath(r.json, "data.ready")));
    hresp_free(&r);
    char allow[100];
    CHECK(req(&f, "HEAD", "/v1/shapes", NULL, NULL, 405, &r));
    CHECK(hresp_header(&r, "Allow", allow, sizeof(allow)));
    CHECK_STR(allow, "GET");
    hresp_free(&r);
    fx_end(&f);
}

TEST(readyz_503_without_images)
{
    struct hd_server s;
    CHECK(hd_prepare(&s, NULL, false));
    CHECK(hd_start(&s));
    struct hresp r;
    CHECK(http_do(s.port, "GET", "/readyz", NULL, NULL, &r) == 0);
    CHECK_EQ(r.status, 503);
    CHECK_STR(jstr(r.json, "status"), "fail");
    CHECK(json_is_false(jpath(r.json, "data.ready")));
    CHECK(jstr(r.json, "data.reason") && strstr(jstr(r.json, "data.reason"), "kernel"));
    char ra[20];
    CHECK(hresp_header(&r, "Retry-After", ra, sizeof(ra)));
    hresp_free(&r);
    /* healthz does not depend on anything */
    CHECK(http_do(s.port, "GET", "/healthz", NULL, NULL, &r) == 0);
    CHECK_EQ(r.status, 200);
    hresp_free(&r);
    /* rootfs lists no image when none is present */
    CHECK(http_do(s.port, "GET", "/v1/rootfs", NULL, NULL, &r) == 0);
    CHECK_EQ(json_array_size(jpath(r.json, "data.rootfs")), 0);
    hresp_free(&r);
    hd_cleanup(&s);
}

TEST(shapes_catalog_and_pagination)
{
    struct fx f;
    if (!fx_start(&f, NULL))
        return;
    struct hresp r;
    CHECK(req(&f, "GET", "/v1/shapes", "X-Api-Key: hk_garbage\r\n", NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 8);
    CHECK_EQ(jint(r.json, "data.pagination.count"), 8);
    CHECK_EQ(jint(r.json, "data.pagination.limit"), 50);
    static const char *const want[] = { "s-1vcpu-256mb", "s-1vcpu-512mb", "s-1vcpu-1gb",
                                        "s-1vcpu-2gb",   "s-2vcpu-2gb",   "s-2vcpu-4gb",
                                        "s-4vcpu-4gb",   "s-4vcpu-8gb" };
    for (size_t i = 0; i < 8; i++) {
        char p[64];
        snprintf(p, sizeof(p), "data.data.%zu.id", i);
        CHECK_STR(jstr(r.json, p), want[i]);
        snprintf(p, sizeof(p), "data.data.%zu.default_disk_mib", i);
        CHECK_EQ(jint(r.json, p), 10240);
        snprintf(p, sizeof(p), "data.data.%zu.cpu_quota_pct", i);
        CHECK(jpath(r.json, p) == NULL);
    }
    CHECK_EQ(jint(r.json, "data.data.7.vcpu"), 4);
    CHECK_EQ(jint(r.json, "data.data.7.mem_mib"), 8192);
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/shapes?limit=1000", NULL, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.limit"), 500);
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/shapes?limit=2&offset=3", NULL, NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.data.0.id"), "s-1vcpu-2gb");
    CHECK_EQ(jint(r.json, "data.pagination.count"), 2);
    CHECK_EQ(jint(r.json, "data.pagination.offset"), 3);
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/shapes?offset=100", NULL, NULL, 200, &r));
    CHECK_EQ(json_array_size(jpath(r.json, "data.data")), 0);
    CHECK_EQ(jint(r.json, "data.pagination.total"), 8);
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/shapes?limit=0", NULL, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.limit"), 50);
    hresp_free(&r);
    static const char *const bad[] = { "?limit=-1", "?limit=abc", "?offset=-5", "?limit=1.5",
                                       "?offset=99999999999999999999", "?limit=+1" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char t[100];
        snprintf(t, sizeof(t), "/v1/shapes%s", bad[i]);
        CHECK(req(&f, "GET", t, NULL, NULL, 400, &r));
        CHECK_STR(jstr(r.json, "data.code"), "invalid_request");
        hresp_free(&r);
    }
    fx_end(&f);
}

TEST(rootfs_catalog)
{
    struct fx f;
    if (!fx_start(&f, NULL))
        return;
    struct hresp r;
    CHECK(req(&f, "GET", "/v1/rootfs", "X-Auth-Token: nope\r\n", NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.default"), "devbox:1");
    CHECK_STR(jstr(r.json, "data.rootfs.0"), "devbox:1");
    CHECK_STR(jstr(r.json, "data.rootfs.1"), "minimal");
    /* only present images (node and debian-12 are not in this images dir), and no alias
     * (rootfs_aliases' default nodeops/sandbox:debian) */
    CHECK_EQ(json_array_size(jpath(r.json, "data.rootfs")), 2);
    CHECK(strstr(r.body, "nodeops") == NULL);
    CHECK_STR(jstr(r.json, "data.entries.0.name"), "devbox:1");
    CHECK(jstr(r.json, "data.entries.0.description"));
    CHECK(jpath(r.json, "data.pagination") == NULL);
    hresp_free(&r);
    fx_end(&f);
}

TEST(whoami_and_hosts)
{
    struct fx f;
    if (!fx_start(&f, NULL))
        return;
    struct hresp r;
    CHECK(req(&f, "GET", "/v1/whoami", f.hdr_alice, NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.user_id"), "alice");
    CHECK(json_is_false(jpath(r.json, "data.admin")));
    CHECK_EQ(jint(r.json, "data.stats.running"), 1);
    CHECK_EQ(jint(r.json, "data.stats.paused"), 1);
    CHECK_EQ(jint(r.json, "data.stats.other"), 0);
    CHECK_EQ(jint(r.json, "data.stats.total"), 2);
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/hosts", f.hdr_alice, NULL, 403, &r));
    CHECK_STR(jstr(r.json, "data.code"), "forbidden");
    CHECK_STR(jstr(r.json, "data.message"), "admin key required");
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/hosts", NULL, NULL, 401, &r));
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/hosts", f.hdr_admin, NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.data.0.id"), "test-host");
    CHECK_STR(jstr(r.json, "data.data.0.status"), "active");
    CHECK(jint(r.json, "data.data.0.free_mib") >= 0);
    CHECK_EQ(jint(r.json, "data.data.0.vm_count"), 0);
    CHECK_STR(jstr(r.json, "data.data.0.rootfses.0"), "devbox:1");
    CHECK_EQ(jint(r.json, "data.pagination.total"), 1);
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/whoami", f.hdr_admin, NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.user_id"), "admin");
    CHECK(json_is_true(jpath(r.json, "data.admin")));
    hresp_free(&r);
    fx_end(&f);
}

/* ---- authentication ---- */

TEST(auth_headers_and_errors)
{
    struct fx f;
    if (!fx_start(&f, NULL))
        return;
    struct hresp r;
    const char *want401 = "{\"status\":\"fail\",\"data\":\"missing or invalid credential\"}";
    char h[400];
    static const char *const bad[] = {
        NULL,
        "X-Api-Key: garbage\r\n",
        "X-Api-Key: hk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n", /* well-formed, unknown */
        "Authorization: Bearer whatever\r\n",
        "X-Api-Key: hst_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(req(&f, "GET", "/v1/whoami", bad[i], NULL, 401, &r));
        CHECK_STR(r.body, want401);
        hresp_free(&r);
    }
    /* precedence: X-Auth-Token, X-Access-Token, X-Api-Key; an invalid first one never falls
     * back */
    snprintf(h, sizeof(h), "X-Auth-Token: nope\r\nX-Api-Key: %s\r\n", f.alice);
    CHECK(req(&f, "GET", "/v1/whoami", h, NULL, 401, &r));
    hresp_free(&r);
    snprintf(h, sizeof(h), "X-Access-Token: %s\r\nX-Api-Key: %s\r\n", f.bob, f.alice);
    CHECK(req(&f, "GET", "/v1/whoami", h, NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.user_id"), "bob");
    hresp_free(&r);
    snprintf(h, sizeof(h), "X-Auth-Token: %s\r\nX-Access-Token: %s\r\n", f.alice, f.bob);
    CHECK(req(&f, "GET", "/v1/whoami", h, NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.user_id"), "alice");
    hresp_free(&r);
    snprintf(h, sizeof(h), "X-Auth-Token: \r\nX-Api-Key: %s\r\n", f.bob); /* empty: skipped */
    CHECK(req(&f, "GET", "/v1/whoami", h, NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.user_id"), "bob");
    hresp_free(&r);
    /* revoked through the CLI */
    char out[4096], err[4096];
    const char *list[] = { "keys", "--config", f.s.conf, "list", "--user", "alice", NULL };
    CHECK_EQ(hd_run(list, out, sizeof(out), err, sizeof(err)), 0);
    CHECK(strstr(out, f.alice_key_id));
    CHECK(strstr(out, "alice"));
    CHECK(!strstr(out, f.alice)); /* never the secret */
    const char *rev[] = { "keys", "--config", f.s.conf, "revoke", f.alice_key_id, NULL };
    CHECK_EQ(hd_run(rev, out, sizeof(out), err, sizeof(err)), 0);
    CHECK(req(&f, "GET", "/v1/whoami", f.hdr_alice, NULL, 401, &r));
    CHECK_STR(r.body, want401);
    hresp_free(&r);
    fx_end(&f);
}

/* ---- routing ---- */

TEST(routing_404_405_501)
{
    struct fx f;
    if (!fx_start(&f, NULL))
        return;
    struct hresp r;
    static const char *const missing[] = { "/console", "/v1", "/v2/sandboxes", "/v1/admin/keys",
                                           "/metrics", "/v1/sandboxes/x/y/z/q", "/v1/nope" };
    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
        CHECK(req(&f, "GET", missing[i], f.hdr_alice, NULL, 404, &r));
        CHECK_STR(r.body, "{\"status\":\"fail\",\"data\":\"route not found\"}");
        hresp_free(&r);
    }
    struct {
        const char *method, *path, *allow;
    } m405[] = {
        { "DELETE", "/v1/shapes", "GET" },
        { "POST", "/healthz", "GET, HEAD" },
        { "OPTIONS", "/v1/sandboxes", "GET, POST" },
        { "PUT", "/v1/sandboxes/sb-x", "GET, PATCH, DELETE" },
        { "HEAD", "/v1/sandboxes", "GET, POST" },
        { "GET", "/v1/sandboxes/sb-x/pause", "POST" },
    };
    for (size_t i = 0; i < sizeof(m405) / sizeof(m405[0]); i++) {
        CHECK(req(&f, m405[i].method, m405[i].path, f.hdr_alice, NULL, 405, &r));
        char allow[100];
        CHECK(hresp_header(&r, "Allow", allow, sizeof(allow)));
        CHECK_STR(allow, m405[i].allow);
        if (strcmp(m405[i].method, "HEAD"))
            CHECK_STR(r.body, "{\"status\":\"fail\",\"data\":\"method not allowed\"}");
        hresp_free(&r);
    }
    struct {
        const char *method, *path;
    } ni[] = {
        { "GET", "/v1/sandboxes/sb-x/computer/screenshot" },
        { "POST", "/v1/sandboxes/sb-x/computer/windows/w1/focus" },
        { "GET", "/v1/devices" },                 { "DELETE", "/v1/devices/d/sessions/s" },
    };
    for (size_t i = 0; i < sizeof(ni) / sizeof(ni[0]); i++) {
        CHECK(req(&f, ni[i].method, ni[i].path, f.hdr_alice, NULL, 501, &r));
        CHECK_STR(jstr(r.json, "status"), "error");
        CHECK_EQ(jint(r.json, "code"), 501);
        CHECK_STR(jstr(r.json, "data.code"), "not_implemented");
        hresp_free(&r);
    }
    CHECK(req(&f, "POST", "/v1/sandboxes/sb-x/pause", NULL, NULL, 401, &r));
    hresp_free(&r);
    /* trailing slash and X-Request-Id echo */
    CHECK(req(&f, "GET", "/v1/shapes/", "X-Request-Id: my-req.1\r\n", NULL, 200, &r));
    char id[200];
    CHECK(hresp_header(&r, "X-Request-Id", id, sizeof(id)));
    CHECK_STR(id, "my-req.1");
    hresp_free(&r);
    fx_end(&f);
}

/* ---- HTTP-level errors ---- */

/* The upgrade routes' checks before any VM is involved (docs/api.md §3.12, §1.13), and the
 * api_key query credential: the WebSocket shell only, redacted from the log. */
TEST(upgrade_routes_checks_and_query_key)
{
    struct fx f;
    if (!fx_start(&f, NULL))
        return;
    struct hresp r;
    char t[256], h[256];
    const char *up = "Connection: Upgrade\r\nUpgrade: tcp-tunnel\r\n";
    snprintf(h, sizeof(h), "%s%s", f.hdr_alice, up);
    const char *ports[] = { "0", "65536", "x", "99999999999999999999", "1e3" };
    for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
        snprintf(t, sizeof(t), "/v1/sandboxes/%s/tunnel/%s", f.sb_running, ports[i]);
        CHECK(req(&f, "POST", t, h, NULL, 400, &r));
        CHECK_STR(jstr(r.json, "data.code"), "invalid_request");
        hresp_free(&r);
    }
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/tunnel/80", f.sb_paused);
    CHECK(req(&f, "POST", t, h, NULL, 409, &r));
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/tunnel/80", f.sb_bob);
    CHECK(req(&f, "POST", t, h, NULL, 404, &r));
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/shell", f.sb_paused);
    CHECK(req(&f, "POST", t, h, NULL, 409, &r));
    hresp_free(&r);
    /* the query credential: accepted by shell-ws alone */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/shell-ws?api_key=%s", f.sb_paused, f.alice);
    CHECK(req(&f, "GET", t, "Connection: Upgrade\r\nUpgrade: websocket\r\n", NULL, 409, &r));
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/shell-ws?api_key=nope", f.sb_paused);
    CHECK(req(&f, "GET", t, NULL, NULL, 401, &r));
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes?api_key=%s", f.alice);
    CHECK(req(&f, "GET", t, NULL, NULL, 401, &r));
    hresp_free(&r);
    /* the key never reaches the log */
    char cmd[400];
    snprintf(cmd, sizeof(cmd), "grep -c '%s' %s", f.alice, f.s.log);
    FILE *p = popen(cmd, "r");
    char out[32] = "";
    if (p) {
        if (!fgets(out, sizeof(out), p))
            out[0] = 0;
        pclose(p);
    }
    CHECK_EQ(atoi(out), 0);
    fx_end(&f);
}

TEST(http_413_431_505)
{
    struct fx f;
    if (!fx_start(&f, NULL))
        return;
    struct hresp r;
    char h[300];
    snprintf(h, sizeof(h),
             "POST /v1/sandboxes HTTP/1.1\r\nHost: x\r\nX-Api-Key: %s\r\n"
             "Content-Length: 9437184\r\n\r\n{",
             f.alice);
    CHECK(http_raw(f.s.port, h, strlen(h), &r, false) == 0);
    CHECK_EQ(r.status, 413);
    CHECK_STR(jstr(r.json, "data.code"), "payload_too_large");
    hresp_free(&r);
    size_t big = 70 * 1024;
    char *huge = malloc(big + 200);
    int n = snprintf(huge, 200, "GET /healthz HTTP/1.1\r\nX-Big: ");
    memset(huge + n, 'a', big);
    memcpy(huge + n + big, "\r\n\r\n", 5);
    CHECK(http_raw(f.s.port, huge, (size_t)n + big + 4, &r, false) == 0);
    free(huge);
    CHECK_EQ(r.status, 431);
    hresp_free(&r);
    const char pri[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    CHECK(http_raw(f.s.port, pri, sizeof(pri) - 1, &r, false) == 0);
    CHECK_EQ(r.status, 505);
    CHECK_STR(r.body, "{\"status\":\"error\",\"message\":\"HTTP/2 is not supported; use "
                      "HTTP/1.1\",\"code\":505,\"data\":{\"code\":\"http_version\"}}");
    hresp_free(&r);
    /* still healthy */
    CHECK(req(&f, "GET", "/healthz", NULL, NULL, 200, &r));
    hresp_free(&r);
    fx_end(&f);
}

/* ---- sandboxes on the store ---- */

static bool is_ts(const char *s)
{
    /* YYYY-MM-DDTHH:MM:SS.mmmZ */
    return s && strlen(s) == 24 && s[10] == 'T' && s[19] == '.' && s[23] == 'Z';
}

static bool no_nulls(json_t *j)
{
    if (json_is_null(j))
        return false;
    const char *k;
    json_t *v;
    size_t i;
    if (json_is_object(j)) {
        json_object_foreach(j, k, v)
            if (!no_nulls(v))
                return false;
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v)
            if (!no_nulls(v))
                return false;
    }
    return true;
}

TEST(sandbox_get_view_and_ownership)
{
    struct fx f;
    if (!fx_start(&f, NULL))
        return;
    struct hresp r;
    char t[128];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", f.sb_running);
    CHECK(req(&f, "GET", t, f.hdr_alice, NULL, 200, &r));
    CHECK(no_nulls(r.json));
    CHECK_STR(jstr(r.json, "data.id"), f.sb_running);
    CHECK_STR(jstr(r.json, "data.name"), "run-1");
    CHECK_STR(jstr(r.json, "data.status"), "running");
    CHECK_STR(jstr(r.json, "data.ip"), "10.0.0.2");
    CHECK_EQ(jint(r.json, "data.vcpu"), 1);
    CHECK_EQ(jint(r.json, "data.mem_mib"), 1024);
    CHECK_EQ(jint(r.json, "data.disk_mib"), 10240);
    CHECK_STR(jstr(r.json, "data.shape"), "s-1vcpu-1gb");
    CHECK_STR(jstr(r.json, "data.rootfs"), "devbox:1");
    CHECK_STR(jstr(r.json, "data.region"), "local");
    CHECK_STR(jstr(r.json, "data.created_at"), "2026-01-01T00:00:00.000Z");
    CHECK(is_ts(jstr(r.json, "data.running_at")));
    CHECK(json_is_real(jpath(r.json, "data.spawn_ms")));
    CHECK(strstr(r.body, "\"spawn_ms\":1234.567,")); /* at most three decimals (§1.8) */
    CHECK(json_is_false(jpath(r.json, "data.ingress_enabled")));
    CHECK_STR(jstr(r.json, "data.egress.0"), "api.example.com:443");
    /* envs: key names only, sorted, never values */
    CHECK_EQ(json_array_size(jpath(r.json, "data.envs")), 2);
    CHECK_STR(jstr(r.json, "data.envs.0"), "A_KEY");
    CHECK_STR(jstr(r.json, "data.envs.1"), "SECRET_TOKEN");
    CHECK(!strstr(r.body, "hunter2"));
    CHECK_STR(jstr(r.json, "data.created_by"), f.alice_key_id);
    CHECK_EQ(jint(r.json, "data.bandwidth_ingress_bytes"), 0);
    static const char *const absent[] = { "data.paused_at", "data.last_resumed_at",
                                          "data.destroyed_at", "data.ingress_url_template",
                                          "data.ssh_pubkeys", "data.forked_from",
                                          "data.auto_pause_after_seconds", "data.user_id",
                                          "data.host_id", "data.qemu_pid", "data.run_dir" };
    for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
        CHECK(jpath(r.json, absent[i]) == NULL);
    hresp_free(&r);
    /* the ULID part matches case-insensitively */
    char lower[200];
    snprintf(lower, sizeof(lower), "/v1/sandboxes/sb-%s", f.sb_running + 3);
    for (char *p = lower + 17; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    CHECK(req(&f, "GET", lower, f.hdr_alice, NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.id"), f.sb_running);
    hresp_free(&r);
    /* destroyed rows stay readable, without ip */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", f.sb_destroyed);
    CHECK(req(&f, "GET", t, f.hdr_alice, NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.status"), "destroyed");
    CHECK(is_ts(jstr(r.json, "data.destroyed_at")));
    CHECK(jpath(r.json, "data.ip") == NULL);
    hresp_free(&r);
    /* another user's sandbox, junk and unknown ids: 404 with the string form */
    const char *nf = "{\"status\":\"fail\",\"data\":\"sandbox not found\"}";
    char other[128];
    snprintf(other, sizeof(other), "/v1/sandboxes/%s", f.sb_bob);
    const char *ids[] = { other, "/v1/sandboxes/garbage", "/v1/sandboxes/sb-",
                          "/v1/sandboxes/sb-01ARZ3NDEKTSV4RRFFQ69G5FAV", "/v1/sandboxes/%00" };
    for (size_t i = 0; i < 4; i++) {
        CHECK(req(&f, "GET", ids[i], f.hdr_alice, NULL, 404, &r));
        CHECK_STR(r.body, nf);
        hresp_free(&r);
        CHECK(req(&f, "DELETE", ids[i], f.hdr_alice, NULL, 404, &r));
        hresp_free(&r);
        CHECK(req(&f, "PATCH", ids[i], f.hdr_alice, "{\"ingress_enabled\":true}", 404, &r));
        hresp_free(&r);
    }
    CHECK(req(&f, "GET", other, f.hdr_bob, NULL, 200, &r));
    hresp_free(&r);
    fx_end(&f);
}

TEST(sandbox_list_filter_pagination)
{
    struct fx f;
    if (!fx_start(&f, NULL))
        return;
    struct hresp r;
    CHECK(req(&f, "GET", "/v1/sandboxes", f.hdr_alice, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 3);
    CHECK_EQ(jint(r.json, "data.pagination.count"), 3);
    CHECK_STR(jstr(r.json, "data.data.0.id"), f.sb_destroyed); /* newest first */
    CHECK_STR(jstr(r.json, "data.data.2.id"), f.sb_running);
    CHECK(no_nulls(r.json));
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/sandboxes?status=paused", f.hdr_alice, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 1);
    CHECK_STR(jstr(r.json, "data.data.0.id"), f.sb_paused);
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/sandboxes?status=failed", f.hdr_alice, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 0);
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/sandboxes?limit=1&offset=1", f.hdr_alice, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 3);
    CHECK_EQ(jint(r.json, "data.pagination.count"), 1);
    CHECK_EQ(jint(r.json, "data.pagination.limit"), 1);
    CHECK_STR(jstr(r.json, "data.data.0.id"), f.sb_paused);
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/sandboxes?limit=501&offset=3", f.hdr_alice, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.limit"), 500);
    CHECK_EQ(jint(r.json, "data.pagination.count"), 0);
    CHECK_EQ(jint(r.json, "data.pagination.total"), 3);
    hresp_free(&r);
    /* hostile bytes in the status (invalid UTF-8, control characters) still get a 400 that
     * names the field */
    static const char *const bad[] = { "?status=RUNNING", "?status=bogus", "?limit=-1",
                                       "?limit=x", "?offset=1e3", "?status=%C3%28",
                                       "?status=%FF%FE", "?status=a%00b", "?status=%1B[31m" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char t[100];
        snprintf(t, sizeof(t), "/v1/sandboxes%s", bad[i]);
        CHECK(req(&f, "GET", t, f.hdr_alice, NULL, 400, &r));
        CHECK_STR(jstr(r.json, "data.code"), "invalid_request");
        const char *why = jstr(r.json, "data.status");
        /* (%00 is refused earlier, as a malformed request target) */
        if (strstr(bad[i], "status") && !strstr(bad[i], "%00") &&
            (!why || strncmp(why, "unknown status", 14) != 0))
            harness_fail(__FILE__, __LINE__, "%s: %s", bad[i], r.body);
        hresp_free(&r);
    }
    CHECK(req(&f, "GET", "/v1/sandboxes", f.hdr_bob, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 1);
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/sandboxes", NULL, NULL, 401, &r));
    hresp_free(&r);
    fx_end(&f);
}

TEST(sandbox_by_ip)
{
    struct fx f;
    if (!fx_start(&f, NULL))
        return;
    struct hresp r;
    CHECK(req(&f, "GET", "/v1/sandboxes/by-ip/10.0.0.2", f.hdr_alice, NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.id"), f.sb_running);
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/sandboxes/by-ip/10.0.0.9", f.hdr_alice, NULL, 404, &r));
    CHECK_STR(r.body, "{\"status\":\"fail\",\"data\":\"sandbox not found\"}");
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/sandboxes/by-ip/10.9.9.9", f.hdr_alice, NULL, 404, &r));
    hresp_free(&r);
    static const char *const bad[] = { "1.2.3", "1.2.3.256", "::1", "abc", "1.2.3.4%20" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char t[200];
        snprintf(t, sizeof(t), "/v1/sandboxes/by-ip/%s", bad[i]);
        CHECK(req(&f, "GET", t, f.hdr_alice, NULL, 400, &r));
        CHECK(fail_field(&r, "ip", "invalid_request"));
        hresp_free(&r);
    }
    fx_end(&f);
}

TEST(sandbox_patch)
{
    struct fx f;
    if (!fx_start(&f, NULL))
        return;
    struct hresp r;
    char t[128];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", f.sb_running);
    CHECK(req(&f, "PATCH", t, f.hdr_alice, "{\"ingress_enabled\":true}", 200, &r));
    CHECK(json_is_true(jpath(r.json, "data.ingress_enabled")));
    /* the default ingress_domain (localhost) and the ingress listener's port */
    CHECK(jstr(r.json, "data.ingress_url_template") &&
          strncmp(jstr(r.json, "data.ingress_url_template"), "http://<port>-sb-", 17) == 0 &&
          strstr(jstr(r.json, "data.ingress_url_template"), ".sb.localhost:"));
    CHECK_STR(jstr(r.json, "data.status"), "running");
    hresp_free(&r);
    CHECK(req(&f, "PATCH", t, f.hdr_alice, "{\"auto_pause_after_seconds\":120}", 200, &r));
    CHECK_EQ(jint(r.json, "data.auto_pause_after_seconds"), 120);
    CHECK(json_is_true(jpath(r.json, "data.ingress_enabled")));
    hresp_free(&r);
    CHECK(req(&f, "GET", t, f.hdr_alice, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.auto_pause_after_seconds"), 120);
    hresp_free(&r);
    CHECK(req(&f, "PATCH", t, f.hdr_alice,
              "{\"disable_auto_pause\":true,\"ingress_enabled\":false,\"x\":1}", 200, &r));
    CHECK(jpath(r.json, "data.auto_pause_after_seconds") == NULL);
    CHECK(json_is_false(jpath(r.json, "data.ingress_enabled")));
    hresp_free(&r);
    CHECK(req(&f, "PATCH", t, f.hdr_alice, "{\"disable_auto_pause\":false}", 200, &r));
    hresp_free(&r);
    struct {
        const char *body, *field;
    } bad[] = {
        { "{}", "message" },
        { "", "message" },
        { "{\"name\":\"x\"}", "message" },
        { "{\"auto_pause_after_seconds\":59}", "auto_pause_after_seconds" },
        { "{\"auto_pause_after_seconds\":86401}", "auto_pause_after_seconds" },
        { "{\"auto_pause_after_seconds\":120.5}", "auto_pause_after_seconds" },
        { "{\"auto_pause_after_seconds\":\"120\"}", "auto_pause_after_seconds" },
        { "{\"auto_pause_after_seconds\":120,\"disable_auto_pause\":true}",
          "disable_auto_pause" },
        { "{\"ingress_enabled\":\"yes\"}", "ingress_enabled" },
        { "{\"ingress_enabled\":1}", "ingress_enabled" },
        { "{\"disable_auto_pause\":\"true\"}", "disable_auto_pause" },
        { "{", "body" },
        { "[]", "body" },
        { "{\"a\":1}}", "body" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(req(&f, "PATCH", t, f.hdr_alice, bad[i].body, 400, &r));
        CHECK(fail_field(&r, bad[i].field, "invalid_request"));
        hresp_free(&r);
    }
    CHECK(req(&f, "PATCH", t, f.hdr_alice, "{}", 400, &r));
    CHECK_STR(jstr(r.json, "data.message"), "nothing to update");
    hresp_free(&r);
    /* stored while paused; 409 once destroyed */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", f.sb_paused);
    CHECK(req(&f, "PATCH", t, f.hdr_alice, "{\"ingress_enabled\":true}", 200, &r));
    CHECK_STR(jstr(r.json, "data.status"), "paused");
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", f.sb_destroyed);
    CHECK(req(&f, "PATCH", t, f.hdr_alice, "{\"ingress_enabled\":true}", 409, &r));
    CHECK_STR(jstr(r.json, "data.code"), "invalid_state");
    CHECK_STR(jstr(r.json, "data.state"), "destroyed");
    hresp_free(&r);
    fx_end(&f);
}

TEST(sandbox_patch_ingress_template)
{
    struct fx f;
    if (!fx_start(&f, "ingress_domain = sb.example.com\ningress_scheme = https\n"
                      "ingress_public_port = 443\n"))
        return;
    struct hresp r;
    char t[128], want[200], lower[STORE_ID_SIZE];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", f.sb_running);
    for (size_t i = 0; i < sizeof(lower); i++)
        lower[i] = (char)((f.sb_running[i] >= 'A' && f.sb_running[i] <= 'Z')
                              ? f.sb_running[i] - 'A' + 'a'
                              : f.sb_running[i]);
    snprintf(want, sizeof(want), "https://<port>-%s.sb.example.com", lower);
    CHECK(req(&f, "PATCH", t, f.hdr_alice, "{\"ingress_enabled\":true}", 200, &r));
    CHECK_STR(jstr(r.json, "data.ingress_url_template"), want);
    hresp_free(&r);
    CHECK(req(&f, "PATCH", t, f.hdr_alice, "{\"ingress_enabled\":false}", 200, &r));
    CHECK(jpath(r.json, "data.ingress_url_template") == NULL);
    hresp_free(&r);
    fx_end(&f);
}

TEST(sandbox_delete)
{
    struct fx f;
    if (!fx_start(&f, NULL))
        return;
    struct hresp r;
    char t[128];
    const char *ids[] = { f.sb_paused, f.sb_running, f.sb_destroyed };
    for (size_t i = 0; i < 3; i++) {
        snprintf(t, sizeof(t), "/v1/sandboxes/%s", ids[i]);
        /* a running row goes through the host (destroying, then destroyed: this fixture has no
         * VM, so the teardown finds nothing); the others need no teardown */
        CHECK(req(&f, "DELETE", t, f.hdr_alice, NULL, 200, &r));
        CHECK_STR(jstr(r.json, "data.id"), ids[i]);
        CHECK_STR(jstr(r.json, "data.status"), ids[i] == f.sb_running ? "destroying"
                                                                        : "destroyed");
        CHECK_EQ(json_object_size(jpath(r.json, "data")), 2);
        hresp_free(&r);
        bool destroyed = false;
        for (int k = 0; k < 100 && !destroyed; k++) {
            CHECK(req(&f, "GET", t, f.hdr_alice, NULL, 200, &r));
            destroyed = strcmp(jstr(r.json, "data.status"), "destroyed") == 0;
            hresp_free(&r);
            if (!destroyed)
                usleep(50 * 1000);
        }
        CHECK(destroyed);
        CHECK(req(&f, "DELETE", t, f.hdr_alice, NULL, 200, &r)); /* idempotent */
        CHECK_STR(jstr(r.json, "data.status"), "destroyed");
        CHECK_EQ(json_object_size(jpath(r.json, "data")), 2);
        hresp_free(&r);
        CHECK(req(&f, "GET", t, f.hdr_alice, NULL, 200, &r));
        CHECK_STR(jstr(r.json, "data.status"), "destroyed");
        CHECK(is_ts(jstr(r.json, "data.destroyed_at")));
        CHECK(jpath(r.json, "data.ip") == NULL);
        hresp_free(&r);
    }
    /* the address is free again: by-ip finds nothing */
    CHECK(req(&f, "GET", "/v1/sandboxes/by-ip/10.0.0.2", f.hdr_alice, NULL, 404, &r));
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/whoami", f.hdr_alice, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.stats.total"), 0);
    hresp_free(&r);
    /* bodiless DELETE with Content-Length: 0 */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", f.sb_bob);
    CHECK(req(&f, "DELETE", t, f.hdr_bob, "", 200, &r));
    hresp_free(&r);
    fx_end(&f);
}

/* ---- pause, resume, fork: the state machine without VMs (§2.14.3) ---- */

static bool wait_row(struct fx *f, const char *id, const char *want)
{
    char t[128];
    struct hresp r;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", id);
    for (int i = 0; i < 200; i++) {
        REQUIRE(req(f, "GET", t, f->hdr_alice, NULL, 200, &r));
        bool ok = strcmp(jstr(r.json, "data.status"), want) == 0;
        hresp_free(&r);
        if (ok)
            return true;
        usleep(20 * 1000);
    }
    harness_fail(__FILE__, __LINE__, "%s never became %s", id, want);
    return false;
}

static bool lc(struct fx *f, const char *id, const char *op, const char *hdr, const char *body,
               int want, const char *state)
{
    char t[160];
    struct hresp r;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/%s", id, op);
    REQUIRE(req(f, "POST", t, hdr, body, want, &r));
    if (want == 409) {
        REQUIRE(jstr(r.json, "data.code") && strcmp(jstr(r.json, "data.code"), "invalid_state") == 0);
        if (state && (!jstr(r.json, "data.state") || strcmp(jstr(r.json, "data.state"), state)))
            harness_fail(__FILE__, __LINE__, "%s %s: state %s, want %s", op, id,
                         jstr(r.json, "data.state"), state);
    } else if (state && want < 300) {
        if (!jstr(r.json, "data.status") || strcmp(jstr(r.json, "data.status"), state))
            harness_fail(__FILE__, __LINE__, "%s %s: status %s, want %s", op, id,
                         jstr(r.json, "data.status"), state);
    }
    char poll[16];
    if (want == 202 && !hresp_header(&r, "X-Poll-After", poll, sizeof(poll)))
        harness_fail(__FILE__, __LINE__, "202 without X-Poll-After");
    hresp_free(&r);
    return true;
}

/* A pause or resume as alice that answers 202 with status moving, or 200 with settled. */
static bool lc_either(struct fx *f, const char *id, const char *op, const char *moving,
                      const char *settled)
{
    char t[160];
    struct hresp r;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/%s", id, op);
    REQUIRE(http_do(f->s.port, "POST", t, f->hdr_alice, NULL, &r) == 0);
    const char *st = jstr(r.json, "data.status");
    bool ok = (r.status == 202 && st && strcmp(st, moving) == 0) ||
              (r.status == 200 && st && strcmp(st, settled) == 0);
    if (!ok)
        harness_fail(__FILE__, __LINE__, "%s %s: %d %s", op, id, r.status, st ? st : "-");
    hresp_free(&r);
    return ok;
}

TEST(lifecycle_state_machine)
{
    struct fx f;
    if (!fx_start(&f, NULL))
        return;
    const char *A = f.hdr_alice;
    /* already there: 200 with the view */
    CHECK(lc(&f, f.sb_paused, "pause", A, NULL, 200, "paused"));
    CHECK(lc(&f, f.sb_running, "resume", A, NULL, 200, "running"));
    /* wrong state: 409 invalid_state naming it */
    CHECK(lc(&f, f.sb_destroyed, "pause", A, NULL, 409, "destroyed"));
    CHECK(lc(&f, f.sb_destroyed, "resume", A, NULL, 409, "destroyed"));
    CHECK(lc(&f, f.sb_destroyed, "fork", A, "{}", 409, "destroyed"));
    CHECK(lc(&f, f.sb_running, "fork", A, "{}", 409, "running"));
    CHECK(lc(&f, f.sb_running, "fork", A, NULL, 409, "running"));
    /* not yours, not a sandbox id: 404; no key: 401 */
    CHECK(lc(&f, f.sb_bob, "pause", A, NULL, 404, NULL));
    CHECK(lc(&f, f.sb_bob, "fork", A, "{}", 404, NULL));
    CHECK(lc(&f, "sb-01J0000000000000000000000Z", "resume", A, NULL, 404, NULL));
    CHECK(lc(&f, "not-an-id", "fork", A, "{}", 404, NULL));
    CHECK(lc(&f, "sb-01J0000000000000000000000Z", "pause", "", NULL, 401, NULL));
    /* hostile fork bodies: 400 naming the field, before anything is created */
    static const struct {
        const char *body, *field;
    } bad[] = {
        { "{\"start_paused\":\"yes\"}", "start_paused" },
        { "{\"name\":\"" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", "name" },
        { "{\"name\":\"\u00e9t\u00e9\"}", "name" },
        { "{\"envs\":[1]}", "envs" },
        { "{\"envs\":{\"A B\":\"x\"}}", "envs.A B" },
        { "{\"egress\":\"x\"}", "egress" },
        { "{\"egress\":[\"not a rule!\"]}", "egress[0]" },
        { "{\"ssh_pubkeys\":[\"ssh-rsa garbage\"]}", "ssh_pubkeys[0]" },
        { "{\"bandwidth_quota_bytes\":-5}", "bandwidth_quota_bytes" },
        { "{\"bandwidth_quota_bytes\":\"1\"}", "bandwidth_quota_bytes" },
        { "{\"auto_pause_after_seconds\":5}", "auto_pause_after_seconds" },
        { "{\"ingress_enabled\":1}", "ingress_enabled" },
        { "[]", "body" },
        { "{", "body" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char t[160];
        struct hresp r;
        snprintf(t, sizeof(t), "/v1/sandboxes/%s/fork", f.sb_paused);
        CHECK(req(&f, "POST", t, A, bad[i].body, 400, &r));
        CHECK(fail_field(&r, bad[i].field, "invalid_request"));
        hresp_free(&r);
    }
    struct hresp r;
    CHECK(req(&f, "GET", "/v1/whoami", A, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.stats.total"), 2); /* no child was created */
    hresp_free(&r);
    /* a paused row whose snapshot is missing: resume ends in error (recoverable), the fork is
     * refused */
    CHECK(lc(&f, f.sb_paused, "fork", A, "{\"start_paused\":true}", 409, "paused"));
    /* (the answer is held up to 250 ms for the row to settle: 200 with the settled view, or
     * 202 while it still moves; docs/api.md §5.10) */
    CHECK(lc_either(&f, f.sb_paused, "resume", "resuming", "error"));
    CHECK(wait_row(&f, f.sb_paused, "error"));
    CHECK(lc(&f, f.sb_paused, "pause", A, NULL, 409, "error"));
    /* a running row whose VM is not there: the pause fails and the sandbox keeps running */
    CHECK(lc_either(&f, f.sb_running, "pause", "pausing", "running"));
    CHECK(wait_row(&f, f.sb_running, "running"));
    /* error and paused rows are destroyed at once */
    char t[128];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", f.sb_paused);
    CHECK(req(&f, "DELETE", t, A, NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.status"), "destroyed");
    hresp_free(&r);
    fx_end(&f);
}

/* ---- create validation ---- */

#define ED25519 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"

TEST(create_validation)
{
    struct fx f;
    if (!fx_start(&f, NULL))
        return;
    struct hresp r;
    static char long_name[160], big_env[5200], many_envs[4000], total_envs[80000],
        many_keys[8000], many_rules[6000], long_rule[400], nine_nets[400], disks17[2000];
    memset(long_name, 0, sizeof(long_name));
    snprintf(long_name, sizeof(long_name), "{\"shape\":\"s-1vcpu-1gb\",\"name\":\"%064d\"}", 0);
    int n = snprintf(big_env, sizeof(big_env), "{\"shape\":\"s-1vcpu-1gb\",\"envs\":{\"A\":\"");
    memset(big_env + n, 'x', 4097);
    snprintf(big_env + n + 4097, sizeof(big_env) - (size_t)n - 4097, "\"}}");
    n = snprintf(many_envs, sizeof(many_envs), "{\"shape\":\"s-1vcpu-1gb\",\"envs\":{");
    for (int i = 0; i < 65; i++)
        n += snprintf(many_envs + n, sizeof(many_envs) - (size_t)n, "%s\"K%d\":\"v\"",
                      i ? "," : "", i);
    snprintf(many_envs + n, sizeof(many_envs) - (size_t)n, "}}");
    n = snprintf(total_envs, sizeof(total_envs), "{\"shape\":\"s-1vcpu-1gb\",\"envs\":{");
    for (int i = 0; i < 17; i++) {
        n += snprintf(total_envs + n, sizeof(total_envs) - (size_t)n, "%s\"K%d\":\"",
                      i ? "," : "", i);
        memset(total_envs + n, 'v', 4000);
        n += 4000;
        total_envs[n++] = '"';
    }
    snprintf(total_envs + n, sizeof(total_envs) - (size_t)n, "}}");
    n = snprintf(many_keys, sizeof(many_keys), "{\"shape\":\"s-1vcpu-1gb\",\"ssh_pubkeys\":[");
    for (int i = 0; i < 65; i++)
        n += snprintf(many_keys + n, sizeof(many_keys) - (size_t)n, "%s\"%s\"", i ? "," : "",
                      ED25519);
    snprintf(many_keys + n, sizeof(many_keys) - (size_t)n, "]}");
    n = snprintf(many_rules, sizeof(many_rules), "{\"shape\":\"s-1vcpu-1gb\",\"egress\":[");
    for (int i = 0; i < 257; i++)
        n += snprintf(many_rules + n, sizeof(many_rules) - (size_t)n, "%s\"h%d\"", i ? "," : "",
                      i);
    snprintf(many_rules + n, sizeof(many_rules) - (size_t)n, "]}");
    n = snprintf(long_rule, sizeof(long_rule), "{\"shape\":\"s-1vcpu-1gb\",\"egress\":[\"");
    for (int i = 0; i < 5; i++)
        n += snprintf(long_rule + n, sizeof(long_rule) - (size_t)n, "%s%060d", i ? "." : "", 0);
    snprintf(long_rule + n, sizeof(long_rule) - (size_t)n, "a\"]}");
    n = snprintf(nine_nets, sizeof(nine_nets), "{\"shape\":\"s-1vcpu-1gb\",\"networks\":[");
    for (int i = 0; i < 9; i++)
        n += snprintf(nine_nets + n, sizeof(nine_nets) - (size_t)n, "%s{\"id\":\"n%d\"}",
                      i ? "," : "", i);
    snprintf(nine_nets + n, sizeof(nine_nets) - (size_t)n, "]}");
    n = snprintf(disks17, sizeof(disks17), "{\"shape\":\"s-1vcpu-1gb\",\"disks\":[");
    for (int i = 0; i < 17; i++)
        n += snprintf(disks17 + n, sizeof(disks17) - (size_t)n,
                      "%s{\"disk_id\":\"d\",\"mount_path\":\"/m%d\"}", i ? "," : "", i);
    snprintf(disks17 + n, sizeof(disks17) - (size_t)n, "]}");

#define S "{\"shape\":\"s-1vcpu-1gb\","
    struct {
        const char *body, *field, *code;
        int status;
    } cases[] = {
        { "{}", "shape", "invalid_request", 400 },
        { "{\"shape\":null}", "shape", "invalid_request", 400 },
        { "{\"shape\":5}", "shape", "invalid_request", 400 },
        { "{\"shape\":\"s-bad\"}", "shape", "unknown_reference", 400 },
        { S "\"rootfs\":\"nope\"}", "rootfs", "unknown_reference", 400 },
        { S "\"rootfs\":\"debian-12\"}", "rootfs", "unknown_reference", 400 },
        /* a catalog image not in the images dir; an alias of none */
        { S "\"rootfs\":\"node\"}", "rootfs", "unknown_reference", 400 },
        { S "\"rootfs\":\"nodeops/sandbox:node\"}", "rootfs", "unknown_reference", 400 },
        { S "\"rootfs\":\"nodeops/sandbox:debian \"}", "rootfs", "unknown_reference", 400 },
        { S "\"rootfs\":[]}", "rootfs", "invalid_request", 400 },
        { S "\"name\":\"-bad\"}", "name", "invalid_request", 400 },
        { S "\"name\":\"a b\"}", "name", "invalid_request", 400 },
        { S "\"name\":\"\"}", "name", "invalid_request", 400 },
        { long_name, "name", "invalid_request", 400 },
        { S "\"name\":\"a\\u0000b\"}", "name", "invalid_request", 400 },
        { S "\"disk_mib\":512}", "disk_mib", "invalid_request", 400 },
        { S "\"disk_mib\":262145}", "disk_mib", "invalid_request", 400 },
        { S "\"disk_mib\":-1}", "disk_mib", "invalid_request", 400 },
        { S "\"disk_mib\":2048.5}", "disk_mib", "invalid_request", 400 },
        { S "\"disk_mib\":\"2048\"}", "disk_mib", "invalid_request", 400 },
        { S "\"envs\":[]}", "envs", "invalid_request", 400 },
        { S "\"envs\":{\"1X\":\"a\"}}", "envs.1X", "invalid_request", 400 },
        { S "\"envs\":{\"A-B\":\"a\"}}", "envs.A-B", "invalid_request", 400 },
        { S "\"envs\":{\"\":\"a\"}}", "envs.", "invalid_request", 400 },
        { S "\"envs\":{\"A\":1}}", "envs.A", "invalid_request", 400 },
        { S "\"envs\":{\"A\":\"x\\u0000y\"}}", "envs.A", "invalid_request", 400 },
        { big_env, "envs.A", "invalid_request", 400 },
        { many_envs, "envs", "invalid_request", 400 },
        { total_envs, "envs", "invalid_request", 400 },
        { S "\"ssh_pubkeys\":\"x\"}", "ssh_pubkeys", "invalid_request", 400 },
        { S "\"ssh_pubkeys\":[\"nonsense\"]}", "ssh_pubkeys[0]", "invalid_request", 400 },
        { S "\"ssh_pubkeys\":[\"" ED25519 "\",\"ssh-dss AAAAB3NzaC1kc3M=\"]}", "ssh_pubkeys[1]",
          "invalid_request", 400 },
        { S "\"ssh_pubkeys\":[\"ssh-ed25519 AAAA!!!!\"]}", "ssh_pubkeys[0]", "invalid_request",
          400 },
        { S "\"ssh_pubkeys\":[\"ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9"
            "okWi0dh2l9GKJl\"]}", "ssh_pubkeys[0]", "invalid_request", 400 },
        { S "\"ssh_pubkeys\":[7]}", "ssh_pubkeys[0]", "invalid_request", 400 },
        { many_keys, "ssh_pubkeys", "invalid_request", 400 },
        { S "\"egress\":\"x\"}", "egress", "invalid_request", 400 },
        { S "\"egress\":[\"a..b\"]}", "egress[0]", "invalid_request", 400 },
        { S "\"egress\":[\"ok.com\",\"::1\"]}", "egress[1]", "invalid_request", 400 },
        { S "\"egress\":[\"[::1]:80\"]}", "egress[0]", "invalid_request", 400 },
        { S "\"egress\":[\"1.2.3.4:70000\"]}", "egress[0]", "invalid_request", 400 },
        { S "\"egress\":[\"1.2.3.4:0\"]}", "egress[0]", "invalid_request", 400 },
        { S "\"egress\":[\"10.0.0.0/33\"]}", "egress[0]", "invalid_request", 400 },
        { S "\"egress\":[\"*.1.2.3.4\"]}", "egress[0]", "invalid_request", 400 },
        { S "\"egress\":[\"-a.com\"]}", "egress[0]", "invalid_request", 400 },
        { S "\"egress\":[\"999.1.1.1\"]}", "egress[0]", "invalid_request", 400 },
        { S "\"egress\":[\"\"]}", "egress[0]", "invalid_request", 400 },
        { S "\"egress\":[1]}", "egress[0]", "invalid_request", 400 },
        { many_rules, "egress", "invalid_request", 400 },
        { long_rule, "egress[0]", "invalid_request", 400 },
        { S "\"ingress_enabled\":\"yes\"}", "ingress_enabled", "invalid_request", 400 },
        { S "\"networks\":{}}", "networks", "invalid_request", 400 },
        { S "\"networks\":[{\"id\":\"backend\"}]}", "networks[0].id", "unknown_reference", 400 },
        { S "\"networks\":[{}]}", "networks[0].id", "invalid_request", 400 },
        { nine_nets, "networks", "invalid_request", 400 },
        { S "\"disks\":[{\"disk_id\":\"d\",\"mount_path\":\"/proc/x\"}]}",
          "disks[0].mount_path", "invalid_request", 400 },
        { S "\"disks\":[{\"disk_id\":\"d\",\"mount_path\":\"rel\"}]}", "disks[0].mount_path",
          "invalid_request", 400 },
        { S "\"disks\":[{\"disk_id\":\"d\",\"mount_path\":\"/a/../b\"}]}",
          "disks[0].mount_path", "invalid_request", 400 },
        { S "\"disks\":[{\"disk_id\":\"d\",\"mount_path\":\"/a\",\"sub_path\":\"/x\"}]}",
          "disks[0].sub_path", "invalid_request", 400 },
        { S "\"disks\":[{\"disk_id\":\"d\",\"mount_path\":\"/data\"}]}", "disks[0].disk_id",
          "unknown_reference", 400 },
        { disks17, "disks", "invalid_request", 400 },
        { S "\"auto_pause_after_seconds\":59}", "auto_pause_after_seconds", "invalid_request",
          400 },
        { S "\"auto_pause_after_seconds\":86401}", "auto_pause_after_seconds",
          "invalid_request", 400 },
        { S "\"auto_pause_after_seconds\":true}", "auto_pause_after_seconds",
          "invalid_request", 400 },
        { S "\"region\":\"mars\"}", "region", "invalid_request", 400 },
        { S "\"region\":1}", "region", "invalid_request", 400 },
        { S "\"node_selector\":{\"gpu\":\"a100\"}}", "node_selector", "unknown_reference", 400 },
        { S "\"node_selector\":[]}", "node_selector", "invalid_request", 400 },
        { S "\"bandwidth_quota_bytes\":5}", "bandwidth_quota_bytes", "invalid_request", 400 },
        { S "\"bandwidth_quota_bytes\":-1}", "bandwidth_quota_bytes", "invalid_request", 400 },
        { S "\"bandwidth_quota_bytes\":\"0\"}", "bandwidth_quota_bytes", "invalid_request",
          400 },
        { "[]", "body", "invalid_request", 400 },
        { "{", "body", "invalid_request", 400 },
        { "\"shape\"", "body", "invalid_request", 400 },
        { S "\"host_id\":\"test-host\"}", "message", "forbidden", 403 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK(http_do(f.s.port, "POST", "/v1/sandboxes", f.hdr_alice, cases[i].body, &r) == 0);
        if (r.status != cases[i].status)
            harness_fail(__FILE__, __LINE__, "case %zu: status %d; %s", i, r.status, r.body);
        CHECK_EQ(r.status, cases[i].status);
        if (!fail_field(&r, cases[i].field, cases[i].code))
            harness_fail(__FILE__, __LINE__, "case %zu", i);
        CHECK(fail_field(&r, cases[i].field, cases[i].code));
        hresp_free(&r);
    }
    /* several errors at once are all reported */
    CHECK(req(&f, "POST", "/v1/sandboxes", f.hdr_alice,
              "{\"shape\":\"nope\",\"disk_mib\":1,\"region\":\"x\"}", 400, &r));
    CHECK(json_object_get(jpath(r.json, "data"), "disk_mib"));
    CHECK(json_object_get(jpath(r.json, "data"), "region"));
    hresp_free(&r);
    /* admin may name a host, but only this one */
    CHECK(req(&f, "POST", "/v1/sandboxes", f.hdr_admin, S "\"host_id\":\"elsewhere\"}", 400,
              &r));
    CHECK(fail_field(&r, "host_id", "invalid_request"));
    hresp_free(&r);
    CHECK(req(&f, "POST", "/v1/sandboxes", NULL, "{}", 401, &r));
    hresp_free(&r);
    fx_end(&f);
}

/* Valid bodies reach the host; with the fake images of these tests the boot fails at once
 * (QEMU cannot load the kernel): 500 boot_failed, and the row is left failed. */
TEST(create_valid_boot_fails_with_fake_images)
{
    struct fx f;
    if (!fx_start(&f, NULL))
        return;
    struct hresp r;
    static const char *const ok[] = {
        "{\"shape\":\"s-1vcpu-256mb\"}",
        "{\"shape\":\"s-2vcpu-4gb\",\"rootfs\":\"minimal\",\"name\":\"My_Box.1\",\"disk_mib\":0,"
        "\"envs\":{\"A\":\"1\",\"_b2\":\"\"},\"ssh_pubkeys\":[\"" ED25519 " me@host\"],"
        "\"egress\":[\"API.Example.com.\",\"*.example.org:443\",\"10.1.2.3/8\",\"1.2.3.4:53\"],"
        "\"ingress_enabled\":true,\"auto_pause_after_seconds\":60,\"region\":\"local\","
        "\"node_selector\":{},\"bandwidth_quota_bytes\":0,\"disk_mib\":1024}",
        "{\"shape\":\"s-1vcpu-1gb\",\"stream\":false,\"start_paused\":false,\"name\":null,"
        "\"envs\":null,\"egress\":[\"*\"],\"host_id\":null,\"unknown\":{\"x\":[1]}}",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        CHECK(req(&f, "POST", "/v1/sandboxes", f.hdr_alice, ok[i], 500, &r));
        CHECK_STR(jstr(r.json, "status"), "error");
        CHECK_STR(jstr(r.json, "data.code"), "boot_failed");
        CHECK(strstr(jstr(r.json, "message"), "kernel") != NULL);
        hresp_free(&r);
    }
    CHECK(req(&f, "GET", "/v1/sandboxes?status=failed", f.hdr_alice, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 3);
    CHECK(jpath(r.json, "data.data.0.ip") == NULL);
    CHECK(jpath(r.json, "data.data.0.running_at") == NULL);
    hresp_free(&r);
    /* no run dir is left behind */
    char vms[256];
    snprintf(vms, sizeof(vms), "%s/vms", f.s.data);
    DIR *d = opendir(vms);
    CHECK(d != NULL);
    int left = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        left += e->d_name[0] != '.';
    if (d)
        closedir(d);
    CHECK_EQ(left, 0);
    fx_end(&f);
}

/* Without a VM layer (the run root cannot be created) create answers 503 and stores nothing. */
TEST(create_is_503_without_vm_layer)
{
    struct fx f;
    memset(&f, 0, sizeof(f));
    CHECK(hd_prepare(&f.s, NULL, true));
    char vms[256];
    mkdir(f.s.data, 0700);
    snprintf(vms, sizeof(vms), "%s/vms", f.s.data);
    int fd = open(vms, O_CREAT | O_WRONLY | O_CLOEXEC, 0600); /* a file where the dir goes */
    CHECK(fd >= 0);
    close(fd);
    CHECK(hd_start(&f.s));
    char hdr[128];
    snprintf(hdr, sizeof(hdr), "X-Api-Key: %s\r\n", f.s.admin_key);
    struct hresp r;
    CHECK(req(&f, "POST", "/v1/sandboxes", hdr, "{\"shape\":\"s-1vcpu-256mb\"}", 503, &r));
    CHECK_EQ(jint(r.json, "code"), 503);
    CHECK_STR(jstr(r.json, "data.code"), "unavailable");
    char ra[16];
    CHECK(hresp_header(&r, "Retry-After", ra, sizeof(ra)));
    CHECK(atoi(ra) >= 1 && atoi(ra) <= 60);
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/sandboxes", hdr, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 0);
    hresp_free(&r);
    fx_end(&f);
}

/* ---- egress, bandwidth, networks (§3.6–§3.8) without VMs ---- */

static bool egress_is(struct fx *f, const char *id, const char *want_json)
{
    char t[128];
    struct hresp r;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/egress", id);
    REQUIRE(req(f, "GET", t, f->hdr_alice, NULL, 200, &r));
    char *got = json_dumps(jpath(r.json, "data.egress"), JSON_COMPACT);
    bool ok = got && strcmp(got, want_json) == 0;
    if (!ok)
        harness_fail(__FILE__, __LINE__, "egress %s, want %s", got ? got : "?", want_json);
    free(got);
    hresp_free(&r);
    return ok;
}

TEST(egress_api_and_hostile_rules)
{
    struct fx f;
    if (!fx_start(&f, NULL))
        return;
    struct hresp r;
    char t[128];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/egress", f.sb_running);
    CHECK(req(&f, "GET", t, f.hdr_alice, NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.id"), f.sb_running);
    hresp_free(&r);
    CHECK(egress_is(&f, f.sb_running, "[\"api.example.com:443\"]"));
    /* stored form: lowercased, no trailing dot, host bits cleared, duplicates dropped */
    CHECK(req(&f, "PUT", t, f.hdr_alice,
              "{\"egress\":[\"API.Example.COM.\",\"10.1.2.3/8\",\"x.org:443\",\"x.org:443\","
              "\"*.Wild.org\",\"203.0.113.7:53\"]}", 200, &r));
    hresp_free(&r);
    CHECK(egress_is(&f, f.sb_running,
                    "[\"api.example.com\",\"10.0.0.0/8\",\"x.org:443\",\"*.wild.org\","
                    "\"203.0.113.7:53\"]"));
    /* every spelling of allow-all is stored as [] */
    static const char *const all[] = { "{\"egress\":null}", "{}", "{\"egress\":[]}",
                                       "{\"egress\":[\"a.com\",\"*\"]}" };
    for (size_t i = 0; i < 4; i++) {
        CHECK(req(&f, "PUT", t, f.hdr_alice, "{\"egress\":[\"a.com\"]}", 200, &r));
        hresp_free(&r);
        CHECK(req(&f, "PUT", t, f.hdr_alice, all[i], 200, &r));
        hresp_free(&r);
        CHECK(egress_is(&f, f.sb_running, "[]"));
    }
    CHECK(req(&f, "PUT", t, f.hdr_alice, "{\"egress\":[\"keep.me\"]}", 200, &r));
    hresp_free(&r);
    /* one bad rule: 400 naming it, nothing stored */
    static const struct {
        const char *body, *field;
    } bad[] = {
        { "{\"egress\":[\"ok.com\",\"ok2.com\",\"bad host\"]}", "egress[2]" },
        { "{\"egress\":[\"::1\"]}", "egress[0]" },
        { "{\"egress\":[\"[2001:db8::1]:443\"]}", "egress[0]" },
        { "{\"egress\":[\"a.com:0\"]}", "egress[0]" },
        { "{\"egress\":[\"a.com:65536\"]}", "egress[0]" },
        { "{\"egress\":[\"a.com:-1\"]}", "egress[0]" },
        { "{\"egress\":[\"10.0.0.0/33\"]}", "egress[0]" },
        { "{\"egress\":[\"*.10.0.0.0/8\"]}", "egress[0]" },
        { "{\"egress\":[\"b\u00fccher.de\"]}", "egress[0]" },
        { "{\"egress\":[\"-a.com\"]}", "egress[0]" },
        { "{\"egress\":[\"a..com\"]}", "egress[0]" },
        { "{\"egress\":[\"\"]}", "egress[0]" },
        { "{\"egress\":[\"a\\u0000b.com\"]}", "egress[0]" },
        { "{\"egress\":[42]}", "egress[0]" },
        { "{\"egress\":[\"x.com\",null]}", "egress[1]" },
        { "{\"egress\":\"a.com\"}", "egress" },
        { "{\"egress\":{}}", "egress" },
        { "[]", "body" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(req(&f, "PUT", t, f.hdr_alice, bad[i].body, 400, &r));
        CHECK(json_object_get(json_object_get(r.json, "data"), bad[i].field) != NULL);
        hresp_free(&r);
    }
    /* overlong rule, 257 and 10,000 rules */
    char *big = malloc(400000);
    if (!big) {
        fx_end(&f);
        return;
    }
    size_t n = (size_t)snprintf(big, 400000, "{\"egress\":[\"");
    memset(big + n, 'a', 300);
    n += 300;
    n += (size_t)snprintf(big + n, 400000 - n, ".com\"]}");
    CHECK(req(&f, "PUT", t, f.hdr_alice, big, 400, &r));
    CHECK(json_object_get(json_object_get(r.json, "data"), "egress[0]") != NULL);
    hresp_free(&r);
    size_t counts[] = { 257, 10000 };
    for (size_t c = 0; c < 2; c++) {
        n = (size_t)snprintf(big, 400000, "{\"egress\":[");
        for (size_t i = 0; i < counts[c]; i++)
            n += (size_t)snprintf(big + n, 400000 - n, "%s\"h%zu.example.com\"", i ? "," : "",
                                  i);
        snprintf(big + n, 400000 - n, "]}");
        CHECK(req(&f, "PUT", t, f.hdr_alice, big, 400, &r));
        CHECK(json_object_get(json_object_get(r.json, "data"), "egress") != NULL);
        hresp_free(&r);
    }
    /* 256 rules are fine */
    n = (size_t)snprintf(big, 400000, "{\"egress\":[");
    for (size_t i = 0; i < 256; i++)
        n += (size_t)snprintf(big + n, 400000 - n, "%s\"10.%zu.%zu.0/24:%zu\"", i ? "," : "",
                              i / 200, i % 200, 1000 + i);
    snprintf(big + n, 400000 - n, "]}");
    CHECK(req(&f, "PUT", t, f.hdr_alice, big, 200, &r));
    CHECK_EQ(json_array_size(jpath(r.json, "data.egress")), 256);
    hresp_free(&r);
    free(big);
    CHECK(req(&f, "PUT", t, f.hdr_alice, "{\"egress\":[\"keep.me\"]}", 200, &r));
    hresp_free(&r);
    CHECK(egress_is(&f, f.sb_running, "[\"keep.me\"]"));
    /* paused: stored; destroyed: 409; someone else's: 404 */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/egress", f.sb_paused);
    CHECK(req(&f, "PUT", t, f.hdr_alice, "{\"egress\":[\"p.com\"]}", 200, &r));
    hresp_free(&r);
    CHECK(egress_is(&f, f.sb_paused, "[\"p.com\"]"));
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/egress", f.sb_destroyed);
    CHECK(req(&f, "PUT", t, f.hdr_alice, "{\"egress\":[]}", 409, &r));
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/egress", f.sb_bob);
    CHECK(req(&f, "PUT", t, f.hdr_alice, "{\"egress\":[]}", 404, &r));
    hresp_free(&r);
    CHECK(req(&f, "GET", t, f.hdr_alice, NULL, 404, &r));
    hresp_free(&r);
    fx_end(&f);
}

TEST(bandwidth_api)
{
    struct fx f;
    if (!fx_start(&f, NULL))
        return;
    struct hresp r;
    char t[160];
    /* unmetered (a seeded row): -1 everywhere, recharge is a no-op */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/bandwidth", f.sb_running);
    CHECK(req(&f, "GET", t, f.hdr_alice, NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.id"), f.sb_running);
    CHECK_EQ(jint(r.json, "data.quota_bytes"), -1);
    CHECK_EQ(jint(r.json, "data.remaining_bytes"), -1);
    CHECK_EQ(jint(r.json, "data.used_bytes"), 0);
    CHECK(json_is_false(jpath(r.json, "data.capped")));
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/bandwidth/recharge", f.sb_running);
    CHECK(req(&f, "POST", t, f.hdr_alice, "{\"add_bytes\":5}", 200, &r));
    CHECK_EQ(jint(r.json, "data.quota_bytes"), -1);
    hresp_free(&r);
    /* metered and capped: a recharge adds exactly add_bytes and uncaps */
    char db[256], err[256];
    snprintf(db, sizeof(db), "%s", hd_store(&f.s));
    struct store *st;
    if (store_open(db, &st, err, sizeof(err)) != 0) {
        CHECK(!"store_open");
        fx_end(&f);
        return;
    }
    struct store_sandbox_patch p = { .fields = STORE_PATCH_BW_QUOTA | STORE_PATCH_BW_COUNTERS,
                                     .bw_quota_bytes = 1000, .bw_used_bytes = 1500,
                                     .bw_ingress_bytes = 77, .bw_capped = true, .now_ms = 1 };
    CHECK_EQ(store_sandbox_update(st, NULL, f.sb_paused, &p), 0);
    store_close(st);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/bandwidth", f.sb_paused);
    CHECK(req(&f, "GET", t, f.hdr_alice, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.remaining_bytes"), -500);
    CHECK_EQ(jint(r.json, "data.ingress_bytes"), 77);
    CHECK(json_is_true(jpath(r.json, "data.capped")));
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/bandwidth/recharge", f.sb_paused);
    CHECK(req(&f, "POST", t, f.hdr_alice, "{\"add_bytes\":1000}", 200, &r));
    CHECK_EQ(jint(r.json, "data.quota_bytes"), 2000);
    CHECK_EQ(jint(r.json, "data.used_bytes"), 1500);
    CHECK_EQ(jint(r.json, "data.remaining_bytes"), 500);
    CHECK(json_is_false(jpath(r.json, "data.capped")));
    hresp_free(&r);
    static const char *const bad[] = {
        "{\"add_bytes\":0}", "{\"add_bytes\":-1}", "{\"add_bytes\":1125899906842625}",
        "{\"add_bytes\":\"5\"}", "{\"add_bytes\":1.5}", "{}", "[]", "{\"add_bytes\":null}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(req(&f, "POST", t, f.hdr_alice, bad[i], 400, &r));
        CHECK(fail_field(&r, "add_bytes", "invalid_request"));
        hresp_free(&r);
    }
    CHECK(req(&f, "POST", t, f.hdr_alice, "{\"add_bytes\":1125899906842624}", 200, &r));
    hresp_free(&r);
    /* ownership first */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/bandwidth/recharge", f.sb_bob);
    CHECK(req(&f, "POST", t, f.hdr_alice, "{\"add_bytes\":0}", 404, &r));
    hresp_free(&r);
    fx_end(&f);
}

static bool net_create(struct fx *f, const char *hdr, const char *body, int want, char id[64])
{
    struct hresp r;
    REQUIRE(req(f, "POST", "/v1/networks", hdr, body, want, &r));
    if (id && want == 200)
        snprintf(id, 64, "%s", jstr(r.json, "data.id") ? jstr(r.json, "data.id") : "");
    hresp_free(&r);
    return true;
}

TEST(networks_api_and_hostile_names)
{
    struct fx f;
    if (!fx_start(&f, NULL))
        return;
    struct hresp r;
    char t[200], id[64], id2[64];
    CHECK(req(&f, "GET", "/v1/networks", f.hdr_alice, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 0);
    hresp_free(&r);
    CHECK(req(&f, "POST", "/v1/networks", f.hdr_alice, "{\"name\":\"backend\"}", 200, &r));
    CHECK(strncmp(jstr(r.json, "data.id"), "net-", 4) == 0);
    CHECK_STR(jstr(r.json, "data.name"), "backend");
    CHECK_EQ(jint(r.json, "data.member_count"), 0);
    CHECK(jstr(r.json, "data.created_at") != NULL);
    CHECK(jpath(r.json, "data.members") == NULL);
    snprintf(id, sizeof(id), "%s", jstr(r.json, "data.id"));
    hresp_free(&r);
    CHECK(req(&f, "POST", "/v1/networks", f.hdr_alice, "{\"name\":\"backend\"}", 400, &r));
    CHECK(fail_field(&r, "name", "name_taken"));
    hresp_free(&r);
    CHECK(net_create(&f, f.hdr_bob, "{\"name\":\"backend\"}", 200, id2)); /* per user */
    char longname[80];
    memset(longname, 'a', 64);
    longname[64] = '\0';
    char lbody[128];
    snprintf(lbody, sizeof(lbody), "{\"name\":\"%s\"}", longname);
    const char *bad[] = { "{\"name\":\"\"}", "{\"name\":\"Net\"}", "{\"name\":\"net-x\"}",
                          "{\"name\":\"-a\"}", "{\"name\":\"b\u00fccher\"}",
                          "{\"name\":\"a b\"}", "{\"name\":\"a\\u0000b\"}",
                          "{\"name\":7}", "{}", "[]", lbody };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(req(&f, "POST", "/v1/networks", f.hdr_alice, bad[i], 400, &r));
        CHECK(fail_field(&r, "name", "invalid_request"));
        hresp_free(&r);
    }
    longname[63] = '\0';
    snprintf(lbody, sizeof(lbody), "{\"name\":\"%s\"}", longname);
    CHECK(net_create(&f, f.hdr_alice, lbody, 200, NULL));
    /* get by name and by id (lower-case ULID); someone else's is 404 */
    CHECK(req(&f, "GET", "/v1/networks/backend", f.hdr_alice, NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.id"), id);
    CHECK_EQ(json_array_size(jpath(r.json, "data.members")), 0);
    hresp_free(&r);
    char lower[64];
    for (size_t i = 0; i <= strlen(id); i++)
        lower[i] = (char)tolower((unsigned char)id[i]);
    snprintf(t, sizeof(t), "/v1/networks/%s", lower);
    CHECK(req(&f, "GET", t, f.hdr_alice, NULL, 200, &r));
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/networks/%s", id2);
    CHECK(req(&f, "GET", t, f.hdr_alice, NULL, 404, &r));
    CHECK_STR(r.body, "{\"status\":\"fail\",\"data\":\"network not found\"}");
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/networks/nope", f.hdr_alice, NULL, 404, &r));
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/networks?limit=1", f.hdr_alice, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 2);
    CHECK_EQ(json_array_size(jpath(r.json, "data.data")), 1);
    hresp_free(&r);

    /* attach a paused sandbox (stored), twice; states and references */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/networks", f.sb_paused);
    CHECK(req(&f, "POST", t, f.hdr_alice, "{\"id\":\"backend\"}", 200, &r));
    CHECK(json_is_true(jpath(r.json, "data.ok")));
    hresp_free(&r);
    CHECK(req(&f, "POST", t, f.hdr_alice, "{\"id\":\"backend\"}", 200, &r));
    hresp_free(&r);
    CHECK(req(&f, "POST", t, f.hdr_alice, "{\"id\":\"nope\"}", 404, &r));
    hresp_free(&r);
    snprintf(lbody, sizeof(lbody), "{\"id\":\"%s\"}", id2); /* bob's */
    CHECK(req(&f, "POST", t, f.hdr_alice, lbody, 404, &r));
    hresp_free(&r);
    CHECK(req(&f, "POST", t, f.hdr_alice, "{\"id\":5}", 400, &r));
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/networks", f.sb_destroyed);
    CHECK(req(&f, "POST", t, f.hdr_alice, "{\"id\":\"backend\"}", 409, &r));
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/networks", f.sb_bob);
    CHECK(req(&f, "POST", t, f.hdr_alice, "{\"id\":\"backend\"}", 404, &r));
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/networks/backend", f.hdr_alice, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.member_count"), 1);
    CHECK_STR(jstr(r.json, "data.members.0.sandbox_id"), f.sb_paused);
    CHECK_STR(jstr(r.json, "data.members.0.name"), "paused-1");
    CHECK_STR(jstr(r.json, "data.members.0.status"), "paused");
    CHECK(jstr(r.json, "data.members.0.ip") != NULL);
    hresp_free(&r);
    CHECK(req(&f, "DELETE", "/v1/networks/backend", f.hdr_alice, NULL, 409, &r));
    CHECK_STR(jstr(r.json, "data.code"), "in_use");
    CHECK_STR(jstr(r.json, "data.message"), "network has 1 member");
    hresp_free(&r);
    /* at most 8 networks per sandbox */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/networks", f.sb_paused);
    for (int i = 0; i < 8; i++) {
        char body[64], nm[32];
        snprintf(nm, sizeof(nm), "n%d", i);
        snprintf(body, sizeof(body), "{\"name\":\"%s\"}", nm);
        CHECK(net_create(&f, f.hdr_alice, body, 200, NULL));
        snprintf(body, sizeof(body), "{\"id\":\"%s\"}", nm);
        CHECK(req(&f, "POST", t, f.hdr_alice, body, i < 7 ? 200 : 409, &r));
        if (i == 7)
            CHECK_STR(jstr(r.json, "data.code"), "limit_reached");
        hresp_free(&r);
    }
    /* detach: 200 also when not a member; 404 for an unknown network */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/networks/backend", f.sb_paused);
    CHECK(req(&f, "DELETE", t, f.hdr_alice, NULL, 200, &r));
    hresp_free(&r);
    CHECK(req(&f, "DELETE", t, f.hdr_alice, NULL, 200, &r));
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/networks/nope", f.sb_paused);
    CHECK(req(&f, "DELETE", t, f.hdr_alice, NULL, 404, &r));
    hresp_free(&r);
    /* delete, repeat by id, then the name is free and unknown */
    snprintf(t, sizeof(t), "/v1/networks/%s", id);
    CHECK(req(&f, "DELETE", t, f.hdr_alice, NULL, 200, &r));
    hresp_free(&r);
    CHECK(req(&f, "DELETE", t, f.hdr_alice, NULL, 200, &r));
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/networks/backend", f.hdr_alice, NULL, 404, &r));
    hresp_free(&r);
    CHECK(net_create(&f, f.hdr_alice, "{\"name\":\"backend\"}", 200, NULL));
    /* create naming an unknown network: 400 before anything is stored */
    CHECK(req(&f, "POST", "/v1/sandboxes", f.hdr_alice,
              "{\"shape\":\"s-1vcpu-1gb\",\"networks\":[{\"id\":\"backend\"},{\"id\":\"nope\"}]}",
              400, &r));
    CHECK(fail_field(&r, "networks[1].id", "unknown_reference"));
    hresp_free(&r);
    fx_end(&f);
}

/* ---- CLI, config, logs, lifecycle of the daemon ---- */

TEST(keys_cli)
{
    struct fx f;
    if (!fx_start(&f, NULL))
        return;
    char out[8192], err[4096], h[200];
    const char *create[] = { "keys", "--config", f.s.conf, "create", "--user", "carol",
                             "--label", "ci runner", NULL };
    CHECK_EQ(hd_run(create, out, sizeof(out), err, sizeof(err)), 0);
    CHECK(strncmp(out, "hk_", 3) == 0);
    out[strcspn(out, "\n")] = '\0';
    CHECK_EQ(strlen(out), APIKEY_LEN);
    char carol[APIKEY_LEN + 1];
    memcpy(carol, out, APIKEY_LEN);
    carol[APIKEY_LEN] = '\0';
    CHECK(strstr(err, "key_"));
    struct hresp r;
    snprintf(h, sizeof(h), "X-Api-Key: %s\r\n", carol);
    CHECK(req(&f, "GET", "/v1/whoami", h, NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.user_id"), "carol");
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/hosts", h, NULL, 403, &r));
    hresp_free(&r);
    const char *adm[] = { "keys", "--data-dir", f.s.data, "--config", f.s.conf, "create",
                          "--user", "carol", "--admin", NULL };
    CHECK_EQ(hd_run(adm, out, sizeof(out), err, sizeof(err)), 0);
    out[strcspn(out, "\n")] = '\0';
    out[APIKEY_LEN] = '\0';
    snprintf(h, sizeof(h), "X-Api-Key: %.*s\r\n", APIKEY_LEN, out);
    CHECK(req(&f, "GET", "/v1/hosts", h, NULL, 200, &r));
    hresp_free(&r);
    const char *list[] = { "keys", "--config", f.s.conf, "list", "--user", "carol", NULL };
    CHECK_EQ(hd_run(list, out, sizeof(out), err, sizeof(err)), 0);
    CHECK(strstr(out, "ci runner"));
    CHECK(strstr(out, "yes"));
    CHECK(!strstr(out, carol));
    CHECK(!strstr(out, "alice"));
    char key_id[64] = "";
    out[sizeof(out) - 100] = '\0';
    const char *line = strstr(out, "\nkey_");
    CHECK(line);
    /* newest first: the admin key; the labelled one is the second row */
    line = strstr(line + 1, "\nkey_");
    CHECK(line);
    snprintf(key_id, sizeof(key_id), "%.30s", line + 1);
    const char *all[] = { "keys", "--config", f.s.conf, "list", NULL };
    CHECK_EQ(hd_run(all, out, sizeof(out), err, sizeof(err)), 0);
    CHECK(strstr(out, "alice") && strstr(out, "admin") && strstr(out, "carol"));
    const char *rev[] = { "keys", "--config", f.s.conf, "revoke", key_id, NULL };
    CHECK_EQ(hd_run(rev, out, sizeof(out), err, sizeof(err)), 0);
    snprintf(h, sizeof(h), "X-Api-Key: %s\r\n", carol);
    CHECK(req(&f, "GET", "/v1/whoami", h, NULL, 401, &r));
    hresp_free(&r);
    CHECK_EQ(hd_run(rev, out, sizeof(out), err, sizeof(err)), 0); /* already revoked */
    CHECK(strstr(err, "already"));
    const char *unk[] = { "keys", "--config", f.s.conf, "revoke",
                          "key_01ARZ3NDEKTSV4RRFFQ69G5FAV", NULL };
    CHECK_EQ(hd_run(unk, out, sizeof(out), err, sizeof(err)), 1);
    const char *badu[] = { "keys", "--config", f.s.conf, "create", "--user", "Bad!", NULL };
    CHECK_EQ(hd_run(badu, out, sizeof(out), err, sizeof(err)), 2);
    CHECK_STR(out, "");
    const char *noverb[] = { "keys", "--config", f.s.conf, NULL };
    CHECK_EQ(hd_run(noverb, out, sizeof(out), err, sizeof(err)), 2);
    const char *badverb[] = { "keys", "--config", f.s.conf, "rotate", NULL };
    CHECK_EQ(hd_run(badverb, out, sizeof(out), err, sizeof(err)), 2);
    const char *norev[] = { "keys", "--config", f.s.conf, "revoke", NULL };
    CHECK_EQ(hd_run(norev, out, sizeof(out), err, sizeof(err)), 2);
    const char *badopt[] = { "keys", "--config", f.s.conf, "list", "--admin", NULL };
    CHECK_EQ(hd_run(badopt, out, sizeof(out), err, sizeof(err)), 2);
    fx_end(&f);
}

TEST(config_errors)
{
    struct hd_server s;
    char out[4096], err[4096];
    struct {
        const char *extra, *want;
    } cases[] = {
        { "bogus = 1\n", ":9: unknown key 'bogus'" },
        { "bandwidth_quota_bytes = 0\n", ":9: bad value for 'bandwidth_quota_bytes'" },
        { "ingress_domain = -bad\n", ":9: bad value for 'ingress_domain'" },
        { "listen = 127.0.0.1:1\n", ":9: duplicate key 'listen'" },
        { "accel = fast\n", ":9: bad value for 'accel'" },
        { "log_level = loud\n", ":9: bad value for 'log_level'" },
        { "max_sandboxes = -1\n", ":9: bad value for 'max_sandboxes'" },
        { "region = local\n", ":9: duplicate key 'region'" },
        { "just words\n", ":9: expected 'key = value'" },
        { "data_dir = relative\n", ":9: duplicate key 'data_dir'" },
        { "retention_hours = 0\n", ":9: bad value for 'retention_hours'" },
        { "rootfs_aliases = a=node,a=node\n", ":9: bad value for 'rootfs_aliases'" },
        { "rootfs_aliases = a=devbox:2\n", "'rootfs_aliases': 'devbox:2' is not a catalog name" },
        { "rootfs_aliases = minimal=devbox:1\n", "'rootfs_aliases': 'minimal' is a catalog name" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK(hd_prepare(&s, cases[i].extra, true));
        const char *argv[] = { "serve", "--config", s.conf, NULL };
        int rc = hd_run(argv, out, sizeof(out), err, sizeof(err));
        if (!strstr(err, cases[i].want))
            harness_fail(__FILE__, __LINE__, "case %zu: stderr '%s'", i, err);
        CHECK(strstr(err, cases[i].want));
        CHECK_EQ(rc, 2);
        CHECK(strstr(err, s.conf));
        hd_cleanup(&s);
    }
    CHECK(hd_prepare(&s, NULL, true));
    const char *missing[] = { "serve", "--config", "/nonexistent/hearthd.conf", NULL };
    CHECK_EQ(hd_run(missing, out, sizeof(out), err, sizeof(err)), 2);
    CHECK(strstr(err, "/nonexistent/hearthd.conf"));
    const char *badlisten[] = { "serve", "--config", s.conf, "--listen", "nope", NULL };
    CHECK_EQ(hd_run(badlisten, out, sizeof(out), err, sizeof(err)), 2);
    CHECK(strstr(err, "--listen"));
    const char *badopt[] = { "serve", "--frobnicate", NULL };
    CHECK_EQ(hd_run(badopt, out, sizeof(out), err, sizeof(err)), 2);
    const char *relative[] = { "serve", "--config", s.conf, "--data-dir", "rel", NULL };
    CHECK_EQ(hd_run(relative, out, sizeof(out), err, sizeof(err)), 2);
    hd_cleanup(&s);
}

/* --images takes a relative path against the working directory hearthd starts in (the way an
 * operator runs `hearthd serve --images build/images`); a relative path that becomes too long
 * is refused with the flag's name. */
TEST(images_flag_relative_to_working_dir)
{
    struct hd_server s;
    char out[4096], err[8192];
    CHECK(hd_prepare(&s, NULL, true));
    char rel[256], line[4096];
    snprintf(rel, sizeof(rel), "%s/rel", s.dir);
    CHECK_EQ(mkdir(rel, 0700), 0);
    snprintf(rel, sizeof(rel), "%s/rel/imgs", s.dir);
    CHECK_EQ(mkdir(rel, 0700), 0);
    s.cwd = s.dir;
    s.images_arg = "./rel/imgs";
    CHECK(hd_start(&s));
    CHECK_EQ(hd_stop(&s), 0);
    /* the "hearthd ready" line names the absolute directory */
    char want[300];
    snprintf(want, sizeof(want), "\"images_dir\":\"%s/rel/imgs\"", s.dir);
    bool found = false;
    FILE *l = fopen(s.log, "r");
    while (l && !found && fgets(line, sizeof(line), l))
        found = strstr(line, "hearthd ready") && strstr(line, want);
    if (l)
        fclose(l);
    CHECK(found);
    /* too long once joined to the working directory: refused, naming the flag */
    static char longrel[5000];
    memset(longrel, 'a', sizeof(longrel) - 1);
    const char *toolong[] = { "serve", "--config", s.conf, "--images", longrel, NULL };
    CHECK_EQ(hd_run(toolong, out, sizeof(out), err, sizeof(err)), 2);
    CHECK(strstr(err, "--images") != NULL);
    hd_cleanup(&s);
}

TEST(first_start_logs_metrics_shutdown)
{
    struct fx f;
    if (!fx_start(&f, NULL))
        return;
    char p[256];
    struct stat st;
    snprintf(p, sizeof(p), "%s/admin.key", f.s.data);
    CHECK(stat(p, &st) == 0);
    CHECK_EQ(st.st_mode & 0777, 0600);
    struct hresp r;
    CHECK(req(&f, "GET", "/v1/whoami", f.hdr_admin, NULL, 200, &r));
    hresp_free(&r);
    CHECK(http_do(f.s.metrics_port, "GET", "/metrics", NULL, NULL, &r) == 0);
    CHECK_EQ(r.status, 200);
    CHECK(strstr(r.body, "hearth_http_requests_total{route=\"/v1/whoami\",method=\"GET\","
                         "code=\"200\"} 1"));
    CHECK(strstr(r.body, "hearth_http_request_duration_seconds_bucket"));
    hresp_free(&r);
    CHECK(http_do(f.s.metrics_port, "GET", "/v1/shapes", NULL, NULL, &r) == 0);
    CHECK_EQ(r.status, 404);
    hresp_free(&r);
    CHECK_EQ(hd_stop(&f.s), 0);
    snprintf(p, sizeof(p), "%s/hearthd.port", f.s.data);
    CHECK(access(p, F_OK) != 0);
    /* every log line is one JSON object with ts, level, msg; the key never appears */
    FILE *lf = fopen(f.s.log, "r");
    CHECK(lf);
    char line[8192];
    unsigned lines = 0;
    bool saw_first = false, saw_req = false;
    while (fgets(line, sizeof(line), lf)) {
        json_t *j = json_loads(line, 0, NULL);
        if (!j)
            harness_fail(__FILE__, __LINE__, "not json: %s", line);
        CHECK(j);
        CHECK(jstr(j, "ts") && jstr(j, "level") && jstr(j, "msg"));
        if (strstr(jstr(j, "msg"), "first start"))
            saw_first = strstr(line, "admin.key") != NULL;
        if (strcmp(jstr(j, "msg"), "request") == 0 && jstr(j, "req"))
            saw_req = true;
        json_decref(j);
        CHECK(!strstr(line, f.s.admin_key));
        CHECK(!strstr(line, "hk_"));
        lines++;
    }
    fclose(lf);
    CHECK(lines > 3);
    CHECK(saw_first);
    CHECK(saw_req);
    /* a restart keeps the same admin key and creates none */
    char key[64];
    snprintf(key, sizeof(key), "%s", f.s.admin_key);
    CHECK(hd_start(&f.s));
    CHECK_STR(f.s.admin_key, key);
    CHECK(req(&f, "GET", "/v1/whoami", f.hdr_admin, NULL, 200, &r));
    hresp_free(&r);
    fx_end(&f);
}

/* ---- delegated access tokens (docs/api.md §3.13) and the failed-credential limiter ---- */

/* True when hearthd's log so far contains s anywhere. */
static bool log_has(struct fx *f, const char *s)
{
    FILE *lf = fopen(f->s.log, "r");
    if (!lf)
        return false;
    char line[16384];
    bool hit = false;
    while (!hit && fgets(line, sizeof(line), lf))
        hit = strstr(line, s) != NULL;
    fclose(lf);
    return hit;
}

/* POST …/access-token[/rotate] of sandbox id as alice: the new token into out. */
static bool token_issue(struct fx *f, const char *id, bool rotate, char out[64])
{
    char t[200];
    struct hresp r;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/access-token%s", id, rotate ? "/rotate" : "");
    REQUIRE(req(f, "POST", t, f->hdr_alice, NULL, 200, &r));
    const char *tok = jstr(r.json, "data.token");
    bool ok = tok && strlen(tok) == 47 && strncmp(tok, "hst_", 4) == 0 &&
              json_is_true(jpath(r.json, "data.enabled")) && jstr(r.json, "data.created_at") &&
              (!rotate || jstr(r.json, "data.rotated_at"));
    if (ok)
        snprintf(out, 64, "%s", tok);
    hresp_free(&r);
    REQUIRE(ok);
    return true;
}

/* method target with the token in header name; the status. */
static int with_token(struct fx *f, const char *name, const char *tok, const char *method,
                      const char *target, const char *body)
{
    char h[300];
    struct hresp r;
    snprintf(h, sizeof(h), "%s: %s\r\n", name, tok);
    if (http_do(f->s.port, method, target, h, body, &r) != 0)
        return -1;
    int st = r.status;
    hresp_free(&r);
    return st;
}

TEST(access_token_crud_and_scope)
{
    struct fx f;
    if (!fx_start(&f, NULL))
        return;
    struct hresp r;
    char t[300], tok[64], tok2[64];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/access-token", f.sb_running);
    CHECK(req(&f, "GET", t, f.hdr_alice, NULL, 200, &r));
    CHECK_STR(r.body, "{\"status\":\"success\",\"data\":{\"enabled\":false}}");
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/access-token/rotate", f.sb_running);
    CHECK(req(&f, "POST", t, f.hdr_alice, NULL, 404, &r));
    CHECK_STR(jstr(r.json, "data"), "access token not found");
    hresp_free(&r);
    if (!token_issue(&f, f.sb_running, false, tok))
        return;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/access-token", f.sb_running);
    CHECK(req(&f, "POST", t, f.hdr_alice, NULL, 409, &r));
    CHECK_STR(jstr(r.json, "data.code"), "already_exists");
    hresp_free(&r);
    /* GET: metadata, never the plaintext */
    CHECK(req(&f, "GET", t, f.hdr_alice, NULL, 200, &r));
    CHECK(json_is_true(jpath(r.json, "data.enabled")));
    char hint[64];
    snprintf(hint, sizeof(hint), "\u2026%s", tok + 43);
    CHECK_STR(jstr(r.json, "data.token_hint"), hint);
    CHECK(jstr(r.json, "data.created_at") != NULL);
    CHECK(!jpath(r.json, "data.token"));
    CHECK(!strstr(r.body, tok + 4));
    hresp_free(&r);
    /* someone else's sandbox, an unknown one: 404 */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/access-token", f.sb_running);
    CHECK(req(&f, "POST", t, f.hdr_bob, NULL, 404, &r));
    hresp_free(&r);
    CHECK(req(&f, "GET", t, f.hdr_bob, NULL, 404, &r));
    hresp_free(&r);
    CHECK(req(&f, "DELETE", t, f.hdr_bob, NULL, 404, &r));
    hresp_free(&r);
    /* a destroyed sandbox: no create (409), GET and DELETE answer */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/access-token", f.sb_destroyed);
    CHECK(req(&f, "POST", t, f.hdr_alice, NULL, 409, &r));
    CHECK_STR(jstr(r.json, "data.code"), "invalid_state");
    CHECK_STR(jstr(r.json, "data.state"), "destroyed");
    hresp_free(&r);
    CHECK(req(&f, "GET", t, f.hdr_alice, NULL, 200, &r));
    hresp_free(&r);
    CHECK(req(&f, "DELETE", t, f.hdr_alice, NULL, 200, &r));
    hresp_free(&r);

    /* the granted routes of its own sandbox, in every credential header */
    static const char *const hdrs[] = { "X-Api-Key", "X-Auth-Token", "X-Access-Token" };
    for (size_t i = 0; i < 3; i++) {
        snprintf(t, sizeof(t), "/v1/sandboxes/%s", f.sb_running);
        CHECK_EQ(with_token(&f, hdrs[i], tok, "GET", t, NULL), 200);
    }
    static const char *const granted[] = { "egress", "bandwidth", "events", "metrics" };
    for (size_t i = 0; i < sizeof(granted) / sizeof(granted[0]); i++) {
        snprintf(t, sizeof(t), "/v1/sandboxes/%s/%s", f.sb_running, granted[i]);
        int st = with_token(&f, "X-Api-Key", tok, "GET", t, NULL);
        CHECK(st == 200 || st == 503); /* metrics need the sampler */
    }
    /* runtime routes pass the scope (no VM here: not 401/403/404) */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/exec", f.sb_running);
    int st = with_token(&f, "X-Api-Key", tok, "POST", t, "{\"cmd\":[\"true\"]}");
    CHECK(st != 401 && st != 403 && st != 404 && st > 0);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/processes", f.sb_running);
    st = with_token(&f, "X-Api-Key", tok, "GET", t, NULL);
    CHECK(st != 401 && st != 403 && st != 404 && st > 0);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/shell-ws?api_key=%s", f.sb_paused, tok);
    CHECK(req(&f, "GET", t, "Connection: Upgrade\r\nUpgrade: websocket\r\n", NULL, 404, &r));
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/shell-ws?api_key=%s", f.sb_running, tok);
    CHECK(http_do(f.s.port, "GET", t, "Connection: Upgrade\r\nUpgrade: websocket\r\n", NULL,
                  &r) == 0);
    CHECK(r.status != 401 && r.status != 403 && r.status != 404);
    hresp_free(&r);

    /* another sandbox (alice's own, bob's, unknown): 404 whatever the route */
    const char *others[] = { f.sb_paused, f.sb_bob, f.sb_destroyed,
                             "sb-01HZZZZZZZZZZZZZZZZZZZZZZZ" };
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        snprintf(t, sizeof(t), "/v1/sandboxes/%s", others[i]);
        CHECK_EQ(with_token(&f, "X-Api-Key", tok, "GET", t, NULL), 404);
        CHECK_EQ(with_token(&f, "X-Api-Key", tok, "DELETE", t, NULL), 404);
        snprintf(t, sizeof(t), "/v1/sandboxes/%s/exec", others[i]);
        CHECK_EQ(with_token(&f, "X-Api-Key", tok, "POST", t, "{\"cmd\":[\"true\"]}"), 404);
    }
    /* account and management routes: 403 forbidden */
    char own[200];
    snprintf(own, sizeof(own), "/v1/sandboxes/%s", f.sb_running);
    const struct {
        const char *method, *target, *suffix, *body;
    } denied[] = {
        { "GET", "/v1/sandboxes", NULL, NULL },
        { "POST", "/v1/sandboxes", NULL, "{}" },
        { "GET", "/v1/sandboxes/by-ip/10.0.0.2", NULL, NULL },
        { "GET", "/v1/networks", NULL, NULL },
        { "POST", "/v1/networks", NULL, "{\"name\":\"n\"}" },
        { "GET", "/v1/whoami", NULL, NULL },
        { "GET", "/v1/hosts", NULL, NULL },
        { "GET", "/v1/metrics", NULL, NULL },
        { "GET", "/v1/disks", NULL, NULL },
        { "PATCH", own, "", "{\"ingress_enabled\":true}" },
        { "DELETE", own, "", NULL },
        { "POST", own, "/pause", NULL },
        { "POST", own, "/resume", NULL },
        { "POST", own, "/fork", "{}" },
        { "POST", own, "/resize", "{\"disk_mib\":20480}" },
        { "POST", own, "/ssh-pubkeys", "{}" },
        { "PUT", own, "/egress", "{\"egress\":[]}" },
        { "POST", own, "/bandwidth/recharge", "{}" },
        { "POST", own, "/networks", "{}" },
        { "GET", own, "/access-token", NULL },
        { "POST", own, "/access-token", NULL },
        { "POST", own, "/access-token/rotate", NULL },
        { "DELETE", own, "/access-token", NULL },
    };
    for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
        char h[300];
        snprintf(t, sizeof(t), "%s%s", denied[i].target, denied[i].suffix ? denied[i].suffix : "");
        snprintf(h, sizeof(h), "X-Api-Key: %s\r\n", tok);
        CHECK(req(&f, denied[i].method, t, h, denied[i].body, 403, &r));
        CHECK_STR(jstr(r.json, "data.code"), "forbidden");
        hresp_free(&r);
    }
    /* the token did nothing: still running, still there */
    CHECK(req(&f, "GET", own, f.hdr_alice, NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.status"), "running");
    CHECK(json_is_false(jpath(r.json, "data.ingress_enabled")));
    hresp_free(&r);

    /* rotate: the old token fails at once, the new one works */
    if (!token_issue(&f, f.sb_running, true, tok2))
        return;
    CHECK(strcmp(tok, tok2) != 0);
    CHECK_EQ(with_token(&f, "X-Api-Key", tok, "GET", own, NULL), 401);
    CHECK_EQ(with_token(&f, "X-Api-Key", tok2, "GET", own, NULL), 200);
    /* delete: revoked at once; again: 200 */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/access-token", f.sb_running);
    CHECK(req(&f, "DELETE", t, f.hdr_alice, NULL, 200, &r));
    CHECK(json_is_false(jpath(r.json, "data.enabled")));
    CHECK(jstr(r.json, "data.created_at") != NULL);
    hresp_free(&r);
    CHECK_EQ(with_token(&f, "X-Api-Key", tok2, "GET", own, NULL), 401);
    CHECK(req(&f, "DELETE", t, f.hdr_alice, NULL, 200, &r));
    CHECK_STR(r.body, "{\"status\":\"success\",\"data\":{\"enabled\":false}}");
    hresp_free(&r);
    /* a destroy takes the token with it */
    if (!token_issue(&f, f.sb_paused, false, tok))
        return;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", f.sb_paused);
    CHECK_EQ(with_token(&f, "X-Api-Key", tok, "GET", t, NULL), 200);
    CHECK(req(&f, "DELETE", t, f.hdr_alice, NULL, 200, &r));
    hresp_free(&r);
    CHECK_EQ(with_token(&f, "X-Api-Key", tok, "GET", t, NULL), 401);
    /* tokens never reach the log, not even through the shell-ws query */
    CHECK(!log_has(&f, tok + 4));
    CHECK(!log_has(&f, tok2 + 4));
    fx_end(&f);
}

TEST(hostile_credentials_then_rate_limited)
{
    struct fx f;
    if (!fx_start(&f, NULL))
        return;
    struct hresp r;
    char big[6000], h[6200];
    memset(big, 'A', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "hst_", 4);
    const char *hostile[] = {
        "hst_", "hst_x", "hst_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        "hst_AAAAAAAAAAAAAAAAAAAAA AAAAAAAAAAAAAAAAAAAAA", "hst_\xc3\xa9\xc3\xa9\xff\xfe",
        "hst_%00%00", "HST_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", big,
        "hst_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    };
    size_t n = 0; /* failures counted: a value the HTTP layer refuses (400) is none */
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        snprintf(h, sizeof(h), "X-Api-Key: %s\r\n", hostile[i]);
        CHECK(http_do(f.s.port, "GET", "/v1/whoami", h, NULL, &r) == 0);
        CHECK(r.status == 401 || (r.status == 400 && i == 4)); /* 4: not a header value */
        n += r.status == 401;
        hresp_free(&r);
    }
    /* the limiter: up to 10 failures within a minute are answered 401 … */
    for (size_t i = n; i <= 10; i++) {
        CHECK(req(&f, "GET", "/v1/whoami", "X-Api-Key: nope\r\n", NULL, 401, &r));
        hresp_free(&r);
    }
    /* … then even a good credential from this address gets 429 before it is checked */
    CHECK(req(&f, "GET", "/v1/whoami", f.hdr_alice, NULL, 429, &r));
    CHECK_STR(jstr(r.json, "data.code"), "rate_limited");
    char ra[16];
    CHECK(hresp_header(&r, "Retry-After", ra, sizeof(ra)));
    CHECK(atoi(ra) >= 1 && atoi(ra) <= 60);
    hresp_free(&r);
    /* no credential: the usual 401; unauthenticated routes answer */
    CHECK(req(&f, "GET", "/v1/whoami", NULL, NULL, 401, &r));
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/shapes", NULL, NULL, 200, &r));
    hresp_free(&r);
    CHECK(!log_has(&f, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    /* the metrics listener counts them for this edge (docs/operations.md "Metrics") */
    CHECK(http_do(f.s.metrics_port, "GET", "/metrics", NULL, NULL, &r) == 0);
    CHECK(r.body && strstr(r.body, "\nhearth_auth_failures_total{edge=\"api\"} 11\n"));
    CHECK(r.body && strstr(r.body, "\nhearth_auth_limited_total{edge=\"api\"} 1\n"));
    CHECK(r.body && strstr(r.body, "\nhearth_auth_failures_total{edge=\"ssh\"} 0\n"));
    CHECK(r.body && strstr(r.body, "\nhearth_auth_limited_sources 1\n"));
    hresp_free(&r);
    fx_end(&f);
}

/* docs/api.md §5.8: the gateway's port and exactly the .pub host keys of <data_dir>/ssh; a
 * sandbox token is not a key for it; with ssh_listen off the answer says so. */
TEST(ssh_gateway_route)
{
    struct fx f;
    if (!fx_start(&f, "ssh_listen = 127.0.0.1:0\n"))
        return;
    struct hresp r;
    char p[400], line[2048];
    uint16_t port = 0;
    snprintf(p, sizeof(p), "%s/ssh.port", f.s.data);
    FILE *pf = fopen(p, "r");
    CHECK(pf && fscanf(pf, "%hu", &port) == 1 && port > 0);
    if (pf)
        fclose(pf);
    CHECK(req(&f, "GET", "/v1/ssh-gateway", NULL, NULL, 401, &r));
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/ssh-gateway", f.hdr_alice, NULL, 200, &r));
    CHECK(json_is_true(jpath(r.json, "data.enabled")));
    CHECK_EQ(jint(r.json, "data.port"), port);
    CHECK(json_is_false(jpath(r.json, "data.password_auth")));
    CHECK_EQ(json_array_size(jpath(r.json, "data.host_keys")), 2);
    const char *files[] = { "ssh_host_ed25519_key.pub", "ssh_host_ecdsa_key.pub" };
    for (size_t i = 0; i < 2; i++) {
        snprintf(p, sizeof(p), "%s/ssh/%s", f.s.data, files[i]);
        FILE *kf = fopen(p, "r");
        CHECK(kf && fgets(line, sizeof(line), kf));
        if (kf)
            fclose(kf);
        line[strcspn(line, "\n")] = '\0';
        CHECK_STR(json_string_value(json_array_get(jpath(r.json, "data.host_keys"), i)), line);
    }
    hresp_free(&r);
    char tok[64];
    if (token_issue(&f, f.sb_running, false, tok))
        CHECK_EQ(with_token(&f, "X-Api-Key", tok, "GET", "/v1/ssh-gateway", NULL), 403);
    fx_end(&f);

    if (!fx_start(&f, "ssh_listen = off\n"))
        return;
    CHECK(req(&f, "GET", "/v1/ssh-gateway", f.hdr_bob, NULL, 200, &r));
    CHECK_STR(r.body, "{\"status\":\"success\",\"data\":{\"enabled\":false}}");
    hresp_free(&r);
    fx_end(&f);
}

/* ---- waiting for a status: GET /v1/sandboxes/{id}?wait_for= (docs/api.md §5.10) ---- */

/* GET target as alice: status want, data.status state and X-Wait-Timed-Out marker. */
static bool wait_get(struct fx *f, const char *target, const char *hdr, const char *state,
                     const char *marker)
{
    struct hresp r;
    REQUIRE(req(f, "GET", target, hdr, NULL, 200, &r));
    char m[8] = "";
    bool ok = hresp_header(&r, "X-Wait-Timed-Out", m, sizeof(m)) && strcmp(m, marker) == 0 &&
              jstr(r.json, "data.status") && strcmp(jstr(r.json, "data.status"), state) == 0;
    if (!ok)
        harness_fail(__FILE__, __LINE__, "GET %s: status %s, marker '%s'", target,
                     jstr(r.json, "data.status"), m);
    hresp_free(&r);
    return ok;
}

TEST(wait_for_answers_times_out_and_refuses_bad_params)
{
    struct fx f;
    if (!fx_start(&f, NULL))
        return;
    const char *A = f.hdr_alice;
    char t[256];
    struct hresp r;
    /* already there: at once, marker 0; a list names any of several */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s?wait_for=running", f.sb_running);
    CHECK(wait_get(&f, t, A, "running", "0"));
    snprintf(t, sizeof(t), "/v1/sandboxes/%s?wait_for=running,paused&timeout_ms=0", f.sb_paused);
    CHECK(wait_get(&f, t, A, "paused", "0"));
    /* a dead end answers at once whatever was wanted: destroyed never becomes running */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s?wait_for=running&timeout_ms=60000", f.sb_destroyed);
    CHECK(wait_get(&f, t, A, "destroyed", "0"));
    /* the timeout: the current view with marker 1, not before the time (a lower bound only) */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s?wait_for=paused&timeout_ms=300", f.sb_running);
    int64_t t0 = mono_now_us();
    CHECK(wait_get(&f, t, A, "running", "1"));
    CHECK(mono_now_us() - t0 >= 280000);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s?wait_for=paused&timeout_ms=0", f.sb_running);
    CHECK(wait_get(&f, t, A, "running", "1"));
    /* a plain GET has no marker */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", f.sb_running);
    CHECK(req(&f, "GET", t, A, NULL, 200, &r));
    char m[8];
    CHECK(!hresp_header(&r, "X-Wait-Timed-Out", m, sizeof(m)));
    hresp_free(&r);
    /* bad parameters: 400 naming the field */
    static const struct {
        const char *q, *field;
    } bad[] = {
        { "wait_for=", "wait_for" },
        { "wait_for=bogus", "wait_for" },
        { "wait_for=RUNNING", "wait_for" },
        { "wait_for=running,,paused", "wait_for" },
        { "wait_for=running,", "wait_for" },
        { "wait_for=running,running,running,running,running,running,running,running,running,"
          "running,running", "wait_for" },
        { "wait_for=running&timeout_ms=60001", "timeout_ms" },
        { "wait_for=running&timeout_ms=-1", "timeout_ms" },
        { "wait_for=running&timeout_ms=soon", "timeout_ms" },
        { "timeout_ms=100", "timeout_ms" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(t, sizeof(t), "/v1/sandboxes/%s?%s", f.sb_running, bad[i].q);
        CHECK(req(&f, "GET", t, A, NULL, 400, &r));
        CHECK(fail_field(&r, bad[i].field, "invalid_request"));
        hresp_free(&r);
    }
    /* someone else's sandbox: 404 before any wait */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s?wait_for=paused&timeout_ms=60000", f.sb_bob);
    CHECK(req(&f, "GET", t, A, NULL, 404, &r));
    hresp_free(&r);
    fx_end(&f);
}

TEST(wait_for_wakes_on_a_transition_caps_waiters_and_drops_gone_clients)
{
    struct fx f;
    if (!fx_start(&f, NULL))
        return;
    char t[256], buf[16384];
    /* woken by the destroy of a paused row (no VM needed): answered with the settled view */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s?wait_for=destroyed&timeout_ms=60000", f.sb_paused);
    int fd = http_park(f.s.port, t, f.hdr_alice);
    CHECK(fd >= 0);
    usleep(200 * 1000);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", f.sb_paused);
    CHECK_EQ(http_status(f.s.port, "DELETE", t, f.hdr_alice, NULL), 200);
    if (fd >= 0) {
        CHECK_EQ(http_collect(fd, buf, sizeof(buf)), 200);
        CHECK(strstr(buf, "X-Wait-Timed-Out: 0\r\n") && strstr(buf, "\"status\":\"destroyed\""));
    }
    /* a delegated token waits on its own sandbox */
    char tok[64], th[128];
    if (token_issue(&f, f.sb_running, false, tok)) {
        snprintf(t, sizeof(t), "/v1/sandboxes/%s?wait_for=running", f.sb_running);
        snprintf(th, sizeof(th), "X-Api-Key: %s\r\n", tok);
        CHECK(wait_get(&f, t, th, "running", "0"));
    }
    /* 64 waiters per user; the 65th is 429 with Retry-After; clients that go away free their
     * places (the abort callback drops the waiter), and hearthd keeps answering */
    enum { N = 64 };
    int fds[N];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s?wait_for=paused&timeout_ms=60000", f.sb_running);
    for (int i = 0; i < N; i++)
        fds[i] = http_park(f.s.port, t, f.hdr_alice);
    usleep(500 * 1000);
    struct hresp r;
    CHECK(req(&f, "GET", t, f.hdr_alice, NULL, 429, &r));
    char ra[8];
    CHECK(hresp_header(&r, "Retry-After", ra, sizeof(ra)));
    CHECK_STR(jstr(r.json, "data.code"), "too_many_waiters");
    hresp_free(&r);
    /* another user has room of their own */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s?wait_for=paused&timeout_ms=100", f.sb_bob);
    CHECK(wait_get(&f, t, f.hdr_bob, "running", "1"));
    CHECK(http_do(f.s.metrics_port, "GET", "/metrics", NULL, NULL, &r) == 0);
    CHECK(r.body && strstr(r.body, "\nhearth_status_waiters 64\n"));
    hresp_free(&r);
    for (int i = 0; i < N; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    usleep(500 * 1000);
    CHECK(http_do(f.s.metrics_port, "GET", "/metrics", NULL, NULL, &r) == 0);
    CHECK(r.body && strstr(r.body, "\nhearth_status_waiters 0\n"));
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s?wait_for=paused&timeout_ms=100", f.sb_running);
    CHECK(wait_get(&f, t, f.hdr_alice, "running", "1"));
    /* a shutdown answers the waits at once (marker 1) instead of holding its drain */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s?wait_for=paused&timeout_ms=60000", f.sb_running);
    fd = http_park(f.s.port, t, f.hdr_alice);
    usleep(200 * 1000);
    CHECK_EQ(hd_stop(&f.s), 0);
    if (fd >= 0) {
        CHECK_EQ(http_collect(fd, buf, sizeof(buf)), 200);
        CHECK(strstr(buf, "X-Wait-Timed-Out: 1\r\n") && strstr(buf, "\"status\":\"running\""));
    }
    fx_end(&f);
}
