/* SPDX-License-Identifier: MIT */
/* test_disks.c: the disk routes (docs/api.md §3.9.1-§3.9.5) against a real `hearthd serve`
 * and a real s3rver on 127.0.0.1 (allowed with disk_endpoint_allow): create, read, list,
 * credential rotation and delete; every bucket-check failure; hostile bodies; the endpoint
 * policy without the allow list; the quota; 409 in_use with a mount row; 503 with disks off;
 * and a scan of the data dir and logs that finds no credential in the clear, before and after
 * `hearthd disk-key rotate`. */
#include "apitest.h"
#include "s3/s3fx.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/timefmt.h"
#include "daemon/disk/seal.h"
#include "daemon/store/ids.h"
#include "daemon/store/store.h"

#define BUCKET "hearth-disks"
#define SECRET "hearth-secret-9f2c7d1e5a"   /* s3rver does not check secrets */

struct dfx {
    struct hd_server s;
    struct s3fx s3;
    char hdr[128];
    char key_id[STORE_ID_SIZE];
};

/* hearthd with extra config, alice's key, and (with_s3) s3rver. */
static bool dfx_start(struct dfx *f, const char *extra, bool with_s3)
{
    memset(f, 0, sizeof(*f));
    if (with_s3 && !s3fx_start(&f->s3, BUCKET))
        return false;
    REQUIRE(hd_prepare(&f->s, extra, false));
    REQUIRE(hd_start(&f->s));
    char db[256], err[256], key[APIKEY_LEN + 1];
    snprintf(db, sizeof(db), "%s", hd_store(&f->s));
    struct store *st;
    REQUIRE(store_open(db, &st, err, sizeof(err)) == 0);
    struct store_key k;
    int r = store_key_create(st, "alice", "t", false, 1000, &k, key);
    store_close(st);
    REQUIRE(r == 0);
    memcpy(f->key_id, k.id, sizeof(k.id));
    snprintf(f->hdr, sizeof(f->hdr), "X-Api-Key: %s\r\n", key);
    return true;
}

static void dfx_end(struct dfx *f)
{
    hd_cleanup(&f->s);
    s3fx_stop(&f->s3);
}

static bool req(struct dfx *f, const char *method, const char *target, const char *body,
                int want, struct hresp *r)
{
    REQUIRE(http_do(f->s.port, method, target, f->hdr, body, r) == 0);
    if (r->status != want)
        harness_fail(__FILE__, __LINE__, "%s %s: %d, want %d: %s", method, target, r->status,
                     want, r->body);
    return r->status == want;
}

static void body_of(char *out, size_t size, const char *name, const char *endpoint,
                    const char *bucket, const char *access)
{
    snprintf(out, size,
             "{\"name\":\"%s\",\"kind\":\"s3\",\"config\":{\"bucket\":\"%s\",\"endpoint\":\"%s\","
             "\"use_path_style\":true},\"credentials\":{\"access_key\":\"%s\",\"secret_key\":\""
             SECRET "\"}}", name, bucket, endpoint, access);
}

#define ALLOW "disk_endpoint_allow = 127.0.0.1/32\n"

TEST_SLOW(disks_crud_and_views, 180)
{
    struct dfx f;
    if (!dfx_start(&f, ALLOW, true)) {
        dfx_end(&f);
        return;
    }
    struct hresp r;
    char body[1024], t[160], id[STORE_ID_SIZE] = "";
    CHECK(req(&f, "GET", "/v1/disks", NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 0);
    hresp_free(&r);
    body_of(body, sizeof(body), "data", f.s3.endpoint, BUCKET, "S3RVER");
    CHECK(req(&f, "POST", "/v1/disks", body, 200, &r));
    CHECK(strncmp(jstr(r.json, "data.id"), "disk_", 5) == 0);
    snprintf(id, sizeof(id), "%s", jstr(r.json, "data.id"));
    CHECK_STR(jstr(r.json, "data.name"), "data");
    CHECK_STR(jstr(r.json, "data.kind"), "s3");
    CHECK_STR(jstr(r.json, "data.config.bucket"), BUCKET);
    CHECK_STR(jstr(r.json, "data.config.endpoint"), f.s3.endpoint);
    CHECK(json_is_true(jpath(r.json, "data.config.use_path_style")));
    CHECK(jpath(r.json, "data.config.region") == NULL);
    CHECK(jstr(r.json, "data.created_at") != NULL);
    CHECK(jpath(r.json, "data.credentials") == NULL);
    CHECK(!strstr(r.body, SECRET) && !strstr(r.body, "S3RVER"));
    hresp_free(&r);
    /* with a region; the name is taken */
    snprintf(body, sizeof(body),
             "{\"name\":\"eu\",\"kind\":\"s3\",\"config\":{\"bucket\":\"" BUCKET "\",\"endpoint\":"
             "\"%s\",\"region\":\"eu-west-1\",\"use_path_style\":true,\"extra\":1},\"credentials\":"
             "{\"access_key\":\"S3RVER\",\"secret_key\":\"x\"},\"host_id\":\"ignored\"}",
             f.s3.endpoint);
    CHECK(req(&f, "POST", "/v1/disks", body, 200, &r));
    CHECK_STR(jstr(r.json, "data.config.region"), "eu-west-1");
    hresp_free(&r);
    body_of(body, sizeof(body), "data", f.s3.endpoint, BUCKET, "S3RVER");
    CHECK(req(&f, "POST", "/v1/disks", body, 400, &r));
    CHECK(hresp_field_is(&r, "name", "name_taken", "already in use"));
    hresp_free(&r);
    /* by id (either case), by name; unknown */
    snprintf(t, sizeof(t), "/v1/disks/%s", id);
    CHECK(req(&f, "GET", t, NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.name"), "data");
    hresp_free(&r);
    char lower[STORE_ID_SIZE];
    snprintf(lower, sizeof(lower), "%s", id);
    for (char *p = lower + 5; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    snprintf(t, sizeof(t), "/v1/disks/%s", lower);
    CHECK(req(&f, "GET", t, NULL, 200, &r));
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/disks/data", NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.id"), id);
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/disks/nope", NULL, 404, &r));
    CHECK_STR(r.body, "{\"status\":\"fail\",\"data\":\"disk not found\"}");
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/disks/disk_01ARZ3NDEKTSV4RRFFQ69G5FAV", NULL, 404, &r));
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/disks/%ff%20x", NULL, 404, &r));
    hresp_free(&r);
    /* paging: newest first */
    CHECK(req(&f, "GET", "/v1/disks?limit=1", NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 2);
    CHECK_EQ(jint(r.json, "data.pagination.count"), 1);
    CHECK_STR(jstr(r.json, "data.data.0.name"), "eu");
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/disks?limit=1&offset=1", NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.data.0.name"), "data");
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/disks?limit=-1", NULL, 400, &r));
    hresp_free(&r);

    /* rotation: probed with the new credentials; a refused one keeps the old */
    CHECK(req(&f, "PATCH", "/v1/disks/data",
              "{\"credentials\":{\"access_key\":\"S3RVER\",\"secret_key\":\"rotated-1\"}}", 200,
              &r));
    CHECK_STR(jstr(r.json, "data.id"), id);
    CHECK(!strstr(r.body, "rotated-1"));
    hresp_free(&r);
    CHECK(req(&f, "PATCH", "/v1/disks/data",
              "{\"credentials\":{\"access_key\":\"WRONG\",\"secret_key\":\"rotated-2\"}}", 400,
              &r));
    CHECK(hresp_field_is(&r, "config", "disk_probe_failed", "bucket check failed: access denied (403)"));
    CHECK(!strstr(r.body, "rotated-2") && !strstr(r.body, "WRONG"));
    hresp_free(&r);
    CHECK(req(&f, "PATCH", "/v1/disks/data", "{}", 400, &r));
    CHECK(hresp_field_is(&r, "credentials", "invalid_request", NULL));
    hresp_free(&r);
    CHECK(req(&f, "PATCH", "/v1/disks/data", "{\"credentials\":{\"access_key\":\"S3RVER\"}}", 400,
              &r));
    CHECK(hresp_field_is(&r, "credentials.secret_key", "invalid_request", NULL));
    hresp_free(&r);
    CHECK(req(&f, "PATCH", "/v1/disks/nope",
              "{\"credentials\":{\"access_key\":\"a\",\"secret_key\":\"b\"}}", 404, &r));
    hresp_free(&r);

    /* 409 while a sandbox mounts it (rows made with the store API) */
    char db[256], err[256];
    snprintf(db, sizeof(db), "%s", hd_store(&f.s));
    struct store *st;
    CHECK(store_open(db, &st, err, sizeof(err)) == 0);
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    CHECK(ids_new_sandbox(sb.id) == 0);
    snprintf(sb.user_id, sizeof(sb.user_id), "alice");
    snprintf(sb.name, sizeof(sb.name), "m1");
    sb.status = STORE_RUNNING;
    snprintf(sb.shape, sizeof(sb.shape), "s-1vcpu-1gb");
    sb.vcpu = 1;
    sb.mem_mib = 1024;
    sb.disk_mib = 10240;
    snprintf(sb.rootfs, sizeof(sb.rootfs), "devbox:1");
    snprintf(sb.region, sizeof(sb.region), "local");
    snprintf(sb.created_by, sizeof(sb.created_by), "%s", f.key_id);
    sb.created_at = timefmt_now_ms();
    int ir = store_sandbox_insert(st, &sb, NULL, 0);
    store_sandbox_release(&sb);
    struct store_mount m = { .status = STORE_MOUNT_MOUNTED, .created_at = timefmt_now_ms() };
    snprintf(m.sandbox_id, sizeof(m.sandbox_id), "%s", sb.id);
    snprintf(m.mount_path, sizeof(m.mount_path), "/mnt/data");
    snprintf(m.disk_id, sizeof(m.disk_id), "%s", id);
    int mr = ir == 0 ? store_mount_add(st, &m) : ir;
    CHECK_EQ(mr, 0);
    CHECK(req(&f, "DELETE", "/v1/disks/data", NULL, 409, &r));
    CHECK_STR(jstr(r.json, "data.code"), "in_use");
    CHECK_STR(jstr(r.json, "data.message"), "disk is attached to 1 sandbox");
    hresp_free(&r);
    CHECK_EQ(store_mount_remove(st, sb.id, "/mnt/data"), 0);
    store_close(st);

    /* delete by name; a repeat by id answers the same; by name it is gone */
    CHECK(req(&f, "DELETE", "/v1/disks/data", NULL, 200, &r));
    CHECK_STR(r.body, "{\"status\":\"success\",\"data\":{\"deleted\":true}}");
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/disks/%s", id);
    CHECK(req(&f, "DELETE", t, NULL, 200, &r));
    CHECK_STR(r.body, "{\"status\":\"success\",\"data\":{\"deleted\":true}}");
    hresp_free(&r);
    CHECK(req(&f, "DELETE", "/v1/disks/data", NULL, 404, &r));
    hresp_free(&r);
    CHECK(req(&f, "GET", t, NULL, 404, &r));
    hresp_free(&r);
    CHECK(req(&f, "PATCH", t, "{\"credentials\":{\"access_key\":\"a\",\"secret_key\":\"b\"}}",
              404, &r));
    hresp_free(&r);
    /* the name is free again */
    body_of(body, sizeof(body), "data", f.s3.endpoint, BUCKET, "S3RVER");
    CHECK(req(&f, "POST", "/v1/disks", body, 200, &r));
    CHECK(strcmp(jstr(r.json, "data.id"), id) != 0);
    hresp_free(&r);
    dfx_end(&f);
}

TEST_SLOW(disks_probe_failures, 180)
{
    struct dfx f;
    if (!dfx_start(&f, ALLOW, true)) {
        dfx_end(&f);
        return;
    }
    struct hresp r;
    char body[1024], ep[96];
    static const char prefix[] = "bucket check failed: ";
    struct {
        const char *endpoint, *bucket, *access, *reason;
    } cases[6];
    unsigned closed = s3fx_free_port(), bh_port = 0, rd_port = 0;
    int bh = s3fx_blackhole(&bh_port);
    pid_t rd = s3fx_redirector(&rd_port);
    CHECK(bh >= 0 && rd > 0);
    char e_closed[64], e_bh[64], e_rd[64], e_tls[64];
    snprintf(e_closed, sizeof(e_closed), "http://127.0.0.1:%u", closed);
    snprintf(e_bh, sizeof(e_bh), "http://127.0.0.1:%u", bh_port);
    snprintf(e_rd, sizeof(e_rd), "http://127.0.0.1:%u", rd_port);
    snprintf(e_tls, sizeof(e_tls), "https://127.0.0.1:%u", f.s3.port);
    cases[0] = (typeof(cases[0])){ f.s3.endpoint, BUCKET, "NOBODY", "access denied (403)" };
    cases[1] = (typeof(cases[0])){ f.s3.endpoint, "no-such-bucket", "S3RVER",
                                   "no such bucket (404)" };
    cases[2] = (typeof(cases[0])){ e_closed, BUCKET, "S3RVER", "cannot connect" };
    cases[3] = (typeof(cases[0])){ e_bh, BUCKET, "S3RVER", "timed out" };
    cases[4] = (typeof(cases[0])){ e_rd, BUCKET, "S3RVER",
                                   "redirect (301): wrong region or endpoint" };
    cases[5] = (typeof(cases[0])){ e_tls, BUCKET, "S3RVER", "tls: " };
    for (size_t i = 0; i < 6; i++) {
        body_of(body, sizeof(body), "probe", cases[i].endpoint, cases[i].bucket, cases[i].access);
        uint64_t t0 = harness_now_us();
        CHECK(req(&f, "POST", "/v1/disks", body, 400, &r));
        snprintf(ep, sizeof(ep), "%s%s", prefix, cases[i].reason);
        CHECK(hresp_field_is(&r, "config", "disk_probe_failed", ep));
        CHECK(!strstr(r.body, SECRET));
        /* a hung peer is cut at the 3 s deadline, not later (loose: a hang would be 60 s) */
        CHECK(harness_now_us() - t0 < 20 * 1000000ull);
        hresp_free(&r);
    }
    /* nothing was stored */
    CHECK(req(&f, "GET", "/v1/disks", NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 0);
    hresp_free(&r);
    /* the host name is not resolvable */
    body_of(body, sizeof(body), "probe", "http://no-such-host.invalid:9000", BUCKET, "S3RVER");
    CHECK(req(&f, "POST", "/v1/disks", body, 400, &r));
    CHECK(hresp_field_is(&r, "config", "disk_probe_failed", "cannot resolve host"));
    hresp_free(&r);
    close(bh);
    kill(rd, SIGKILL);
    waitpid(rd, NULL, 0);
    dfx_end(&f);
}

TEST(disks_hostile_bodies)
{
    struct dfx f;
    if (!dfx_start(&f, ALLOW, false)) {
        dfx_end(&f);
        return;
    }
#define C                                                                                        \
    "\"config\":{\"bucket\":\"bkt\",\"endpoint\":\"http://127.0.0.1:9\",\"use_path_style\":true}"
#define K "\"credentials\":{\"access_key\":\"a\",\"secret_key\":\"b\"}"
    static char huge[20000];
    memset(huge, 0, sizeof(huge));
    int n = snprintf(huge, sizeof(huge), "{\"name\":\"d\",\"kind\":\"s3\"," C
                     ",\"credentials\":{\"access_key\":\"");
    memset(huge + n, 'A', 300);
    snprintf(huge + n + 300, sizeof(huge) - (size_t)n - 300, "\",\"secret_key\":\"b\"}}");
    static const struct {
        const char *body, *field;
    } cases[] = {
        { "[]", "body" },
        { "\"str\"", "body" },
        { "{}", "name" },
        { "{\"name\":5,\"kind\":\"s3\"," C "," K "}", "name" },
        { "{\"name\":\"Bad_Name\",\"kind\":\"s3\"," C "," K "}", "name" },
        { "{\"name\":\"-x\",\"kind\":\"s3\"," C "," K "}", "name" },
        { "{\"name\":\"disk_01ARZ3NDEKTSV4RRFFQ69G5FAV\",\"kind\":\"s3\"," C "," K "}", "name" },
        { "{\"name\":\"a\\u0000b\",\"kind\":\"s3\"," C "," K "}", "name" },
        { "{\"name\":\"d\"," C "," K "}", "kind" },
        { "{\"name\":\"d\",\"kind\":\"gcs\"," C "," K "}", "kind" },
        { "{\"name\":\"d\",\"kind\":[\"s3\"]," C "," K "}", "kind" },
        { "{\"name\":\"d\",\"kind\":\"s3\"," K "}", "config" },
        { "{\"name\":\"d\",\"kind\":\"s3\",\"config\":\"x\"," K "}", "config" },
        { "{\"name\":\"d\",\"kind\":\"s3\",\"config\":{\"endpoint\":\"http://h\"}," K "}",
          "config.bucket" },
        { "{\"name\":\"d\",\"kind\":\"s3\",\"config\":{\"bucket\":\"ab\",\"endpoint\":"
          "\"http://h\"}," K "}", "config.bucket" },
        { "{\"name\":\"d\",\"kind\":\"s3\",\"config\":{\"bucket\":\"Upper\",\"endpoint\":"
          "\"http://h\"}," K "}", "config.bucket" },
        { "{\"name\":\"d\",\"kind\":\"s3\",\"config\":{\"bucket\":\"-bkt\",\"endpoint\":"
          "\"http://h\"}," K "}", "config.bucket" },
        { "{\"name\":\"d\",\"kind\":\"s3\",\"config\":{\"bucket\":\"bkt.\",\"endpoint\":"
          "\"http://h\"}," K "}", "config.bucket" },
        { "{\"name\":\"d\",\"kind\":\"s3\",\"config\":{\"bucket\":\"b_k\",\"endpoint\":"
          "\"http://h\"}," K "}", "config.bucket" },
        { "{\"name\":\"d\",\"kind\":\"s3\",\"config\":{\"bucket\":7,\"endpoint\":\"http://h\"},"
          K "}", "config.bucket" },
        { "{\"name\":\"d\",\"kind\":\"s3\",\"config\":{\"bucket\":\"bkt\"}," K "}",
          "config.endpoint" },
        { "{\"name\":\"d\",\"kind\":\"s3\",\"config\":{\"bucket\":\"bkt\",\"endpoint\":"
          "\"ftp://h\"}," K "}", "config.endpoint" },
        { "{\"name\":\"d\",\"kind\":\"s3\",\"config\":{\"bucket\":\"bkt\",\"endpoint\":"
          "\"http://u:p@h\"}," K "}", "config.endpoint" },
        { "{\"name\":\"d\",\"kind\":\"s3\",\"config\":{\"bucket\":\"bkt\",\"endpoint\":"
          "\"http://h/?x=1\"}," K "}", "config.endpoint" },
        { "{\"name\":\"d\",\"kind\":\"s3\",\"config\":{\"bucket\":\"bkt\",\"endpoint\":"
          "\"http://h\\r\\nX: y\"}," K "}", "config.endpoint" },
        { "{\"name\":\"d\",\"kind\":\"s3\",\"config\":{\"bucket\":\"bkt\",\"endpoint\":"
          "\"http://10.0.0.1\"}," K "}", "config.endpoint" }, /* IP without path style */
        { "{\"name\":\"d\",\"kind\":\"s3\",\"config\":{\"bucket\":\"bkt\",\"endpoint\":"
          "\"http://h\",\"region\":\"EU WEST\"}," K "}", "config.region" },
        { "{\"name\":\"d\",\"kind\":\"s3\",\"config\":{\"bucket\":\"bkt\",\"endpoint\":"
          "\"http://h\",\"region\":\"\"}," K "}", "config.region" },
        { "{\"name\":\"d\",\"kind\":\"s3\",\"config\":{\"bucket\":\"bkt\",\"endpoint\":"
          "\"http://h\",\"region\":3}," K "}", "config.region" },
        { "{\"name\":\"d\",\"kind\":\"s3\",\"config\":{\"bucket\":\"bkt\",\"endpoint\":"
          "\"http://h\",\"use_path_style\":\"yes\"}," K "}", "config.use_path_style" },
        { "{\"name\":\"d\",\"kind\":\"s3\"," C "}", "credentials" },
        { "{\"name\":\"d\",\"kind\":\"s3\"," C ",\"credentials\":[]}", "credentials" },
        { "{\"name\":\"d\",\"kind\":\"s3\"," C ",\"credentials\":{\"secret_key\":\"b\"}}",
          "credentials.access_key" },
        { "{\"name\":\"d\",\"kind\":\"s3\"," C ",\"credentials\":{\"access_key\":\"\","
          "\"secret_key\":\"b\"}}", "credentials.access_key" },
        { "{\"name\":\"d\",\"kind\":\"s3\"," C ",\"credentials\":{\"access_key\":\"a\\nb\","
          "\"secret_key\":\"b\"}}", "credentials.access_key" },
        { "{\"name\":\"d\",\"kind\":\"s3\"," C ",\"credentials\":{\"access_key\":\"a\","
          "\"secret_key\":1}}", "credentials.secret_key" },
        { "{\"name\":\"d\",\"kind\":\"s3\"," C ",\"credentials\":{\"access_key\":\"a\","
          "\"secret_key\":\"x\\u0000y\"}}", "credentials.secret_key" },
        { huge, "credentials.access_key" },
    };
    struct hresp r;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK(http_do(f.s.port, "POST", "/v1/disks", f.hdr, cases[i].body, &r) == 0);
        json_t *data = jpath(r.json, "data");
        if (r.status != 400 || !json_object_get(data, cases[i].field) ||
            strcmp(jstr(r.json, "data.code") ? jstr(r.json, "data.code") : "",
                   "invalid_request") != 0)
            harness_fail(__FILE__, __LINE__, "case %zu: want 400 %s, got %d %s", i,
                         cases[i].field, r.status, r.body);
        hresp_free(&r);
    }
    /* a huge endpoint, malformed JSON, and a body over the limit */
    static char big[1 << 16];
    n = snprintf(big, sizeof(big), "{\"name\":\"d\",\"kind\":\"s3\",\"config\":{\"bucket\":\"bkt\","
                 "\"endpoint\":\"http://h/");
    memset(big + n, 'p', 60000);
    snprintf(big + n + 60000, sizeof(big) - (size_t)n - 60000, "\"}," K "}");
    CHECK(req(&f, "POST", "/v1/disks", big, 400, &r));
    CHECK(hresp_field_is(&r, "config.endpoint", "invalid_request", "too long"));
    hresp_free(&r);
    CHECK(req(&f, "POST", "/v1/disks", "{\"name\":", 400, &r));
    hresp_free(&r);
    CHECK(req(&f, "PATCH", "/v1/disks/x", "[1]", 400, &r));
    hresp_free(&r);
    /* nothing was stored, and hearthd is fine */
    CHECK(req(&f, "GET", "/v1/disks", NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 0);
    hresp_free(&r);
#undef C
#undef K
    dfx_end(&f);
}

TEST_SLOW(disks_endpoint_policy, 120)
{
    struct dfx f;
    /* no allow list: loopback is refused like any inward address */
    if (!dfx_start(&f, NULL, true)) {
        dfx_end(&f);
        return;
    }
    static const struct {
        const char *endpoint, *part;
    } cases[] = {
        { NULL, "loopback" }, /* the s3rver itself */
        { "http://169.254.169.254", "link-local" },
        { "http://[::1]:9000", "loopback" },
        { "http://[::ffff:127.0.0.1]:9000", "loopback" },
        { "http://localhost:9000", "refused" },
        { "http://10.88.0.1:9000", "hearth's own networks" },
        { "http://10.89.3.7:9000", "hearth's own networks" },
        { "http://0.0.0.0:9000", "unspecified" },
        { "http://224.0.0.1", "multicast" },
    };
    struct hresp r;
    char body[1024];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        body_of(body, sizeof(body), "pol", cases[i].endpoint ? cases[i].endpoint : f.s3.endpoint,
                BUCKET, "S3RVER");
        CHECK(req(&f, "POST", "/v1/disks", body, 400, &r));
        CHECK(hresp_field_is(&r, "config.endpoint", "invalid_request", cases[i].part));
        hresp_free(&r);
    }
    dfx_end(&f);
}

TEST_SLOW(disks_quota, 120)
{
    struct dfx f;
    if (!dfx_start(&f, ALLOW "max_disks = 2\n", true)) {
        dfx_end(&f);
        return;
    }
    struct hresp r;
    char body[1024];
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof(name), "q%d", i);
        body_of(body, sizeof(body), name, f.s3.endpoint, BUCKET, "S3RVER");
        CHECK(req(&f, "POST", "/v1/disks", body, i < 2 ? 200 : 403, &r));
        if (i == 2)
            CHECK_STR(jstr(r.json, "data.code"), "quota_exceeded");
        hresp_free(&r);
    }
    /* a deleted one frees its place */
    CHECK(req(&f, "DELETE", "/v1/disks/q0", NULL, 200, &r));
    hresp_free(&r);
    CHECK(req(&f, "POST", "/v1/disks", body, 200, &r));
    hresp_free(&r);
    dfx_end(&f);
}

TEST(disks_not_configured_503)
{
    struct dfx f;
    if (!dfx_start(&f, "disk_key_file = off\n", false)) {
        dfx_end(&f);
        return;
    }
    static const struct {
        const char *method, *target, *body;
    } routes[] = {
        { "GET", "/v1/disks", NULL },
        { "POST", "/v1/disks", "{\"name\":\"d\"}" },
        { "POST", "/v1/disks", "not json" },
        { "GET", "/v1/disks/d", NULL },
        { "PATCH", "/v1/disks/d", "{}" },
        { "DELETE", "/v1/disks/disk_01ARZ3NDEKTSV4RRFFQ69G5FAV", NULL },
    };
    struct hresp r;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        CHECK(req(&f, routes[i].method, routes[i].target, routes[i].body, 503, &r));
        CHECK_STR(jstr(r.json, "status"), "error");
        CHECK_STR(jstr(r.json, "message"), "disks API not configured");
        CHECK_STR(jstr(r.json, "data.code"), "disks_not_configured");
        char ra[16];
        CHECK(hresp_header(&r, "Retry-After", ra, sizeof(ra)));
        hresp_free(&r);
    }
    char key[256];
    snprintf(key, sizeof(key), "%s/disk.key", f.s.data);
    CHECK(access(key, F_OK) != 0); /* off makes no key file */
    /* the rotation command refuses what it cannot do, with a usage status */
    char out[1024], err[1024];
    const char *off[] = { "disk-key", "rotate", "--config", f.s.conf, NULL };
    CHECK_EQ(hd_run(off, out, sizeof(out), err, sizeof(err)), 2);
    CHECK(strstr(err, "disks are off") != NULL);
    const char *noverb[] = { "disk-key", NULL };
    CHECK_EQ(hd_run(noverb, out, sizeof(out), err, sizeof(err)), 2);
    const char *bogus[] = { "disk-key", "rotate", "--bogus", NULL };
    CHECK_EQ(hd_run(bogus, out, sizeof(out), err, sizeof(err)), 2);
    const char *novalue[] = { "disk-key", "rotate", "--config", NULL };
    CHECK_EQ(hd_run(novalue, out, sizeof(out), err, sizeof(err)), 2);
    const char *missing[] = { "disk-key", "rotate", "--config", "/nonexistent/h.conf", NULL };
    CHECK_EQ(hd_run(missing, out, sizeof(out), err, sizeof(err)), 2);
    const char *help[] = { "disk-key", "rotate", "--help", NULL };
    CHECK_EQ(hd_run(help, out, sizeof(out), err, sizeof(err)), 0);
    CHECK(strstr(out, "usage: hearthd disk-key rotate") != NULL);
    dfx_end(&f);
}

/* Whether needle appears in any file under dir (recursively). */
static bool found_in_tree(const char *dir, const char *needle, char *where, size_t where_len)
{
    DIR *d = opendir(dir);
    if (!d)
        return false;
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char p[1024];
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(p, &sb) < 0)
            continue;
        if (S_ISDIR(sb.st_mode)) {
            found = found_in_tree(p, needle, where, where_len);
            continue;
        }
        if (!S_ISREG(sb.st_mode))
            continue;
        FILE *f = fopen(p, "rb");
        if (!f)
            continue;
        char *buf = malloc((size_t)sb.st_size + 1);
        size_t n = buf ? fread(buf, 1, (size_t)sb.st_size, f) : 0;
        fclose(f);
        if (buf && memmem(buf, n, needle, strlen(needle))) {
            found = true;
            snprintf(where, where_len, "%s", p);
        }
        free(buf);
    }
    closedir(d);
    return found;
}

TEST_SLOW(disks_credentials_never_in_the_clear, 180)
{
    struct dfx f;
    if (!dfx_start(&f, ALLOW "log_level = debug\n", true)) {
        dfx_end(&f);
        return;
    }
    struct hresp r;
    char body[1024], where[1100];
    body_of(body, sizeof(body), "secret", f.s3.endpoint, BUCKET, "S3RVER");
    CHECK(req(&f, "POST", "/v1/disks", body, 200, &r));
    char id[STORE_ID_SIZE];
    snprintf(id, sizeof(id), "%s", jstr(r.json, "data.id"));
    hresp_free(&r);
    CHECK(req(&f, "PATCH", "/v1/disks/secret",
              "{\"credentials\":{\"access_key\":\"S3RVER\",\"secret_key\":\"" SECRET "-2\"}}", 200,
              &r));
    hresp_free(&r);
    /* the hearthd log names the key file and key id, and no credential */
    char key[256];
    snprintf(key, sizeof(key), "%s/disk.key", f.s.data);
    struct stat ks;
    CHECK(stat(key, &ks) == 0 && (ks.st_mode & 0777) == 0600);
    CHECK(found_in_tree(f.s.dir, "disks enabled", where, sizeof(where)));
    CHECK(!found_in_tree(f.s.dir, SECRET, where, sizeof(where)));
    CHECK(!found_in_tree(f.s.dir, "S3RVER", where, sizeof(where)));
    /* rotate the key with hearthd stopped (docs/disks.md), then start it again */
    CHECK_EQ(hd_stop(&f.s), 0);
    char out[2048], err[2048];
    const char *argv[] = { "disk-key", "rotate", "--config", f.s.conf, NULL };
    int rc = hd_run(argv, out, sizeof(out), err, sizeof(err));
    if (rc != 0)
        harness_fail(__FILE__, __LINE__, "rotate: %d %s %s", rc, out, err);
    CHECK(strstr(out, "re-sealed 1 disk(s)") != NULL);
    CHECK(!strstr(out, SECRET) && !strstr(err, SECRET));
    CHECK(stat(key, &ks) == 0 && (ks.st_mode & 0777) == 0600);
    struct seal_keyring *ring = NULL;
    const char *why;
    CHECK_EQ(seal_keyring_load(key, false, &ring, &why), 0);
    char db[256], e2[256];
    snprintf(db, sizeof(db), "%s", hd_store(&f.s));
    struct store *st;
    CHECK(store_open(db, &st, e2, sizeof(e2)) == 0);
    struct store_disk d;
    CHECK_EQ(store_disk_get(st, "alice", id, &d), 0);
    store_close(st);
    CHECK(seal_is_current(ring, d.sealed, d.sealed_len));
    uint8_t plain[1024];
    size_t pn = 0;
    CHECK_EQ(seal_open(ring, id, d.sealed, d.sealed_len, plain, sizeof(plain), &pn), 0);
    CHECK(memmem(plain, pn, SECRET "-2", strlen(SECRET) + 2) != NULL);
    CHECK_EQ(seal_open(ring, "disk_other", d.sealed, d.sealed_len, plain, sizeof(plain), &pn),
             -EBADMSG);
    seal_keyring_free(ring);
    CHECK(hd_start(&f.s));
    CHECK(req(&f, "GET", "/v1/disks/secret", NULL, 200, &r));
    hresp_free(&r);
    CHECK(req(&f, "PATCH", "/v1/disks/secret",
              "{\"credentials\":{\"access_key\":\"S3RVER\",\"secret_key\":\"" SECRET "-3\"}}", 200,
              &r));
    hresp_free(&r);
    CHECK(!found_in_tree(f.s.dir, SECRET, where, sizeof(where)));
    CHECK(!found_in_tree(f.s.dir, "S3RVER", where, sizeof(where)));
    /* a key file others may read stops disks, not hearthd */
    CHECK_EQ(hd_stop(&f.s), 0);
    CHECK_EQ(chmod(key, 0644), 0);
    CHECK(hd_start(&f.s));
    CHECK(req(&f, "GET", "/v1/disks", NULL, 503, &r));
    hresp_free(&r);
    CHECK(found_in_tree(f.s.dir, "group or others", where, sizeof(where)));
    dfx_end(&f);
}
