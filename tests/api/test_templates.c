/* SPDX-License-Identifier: MIT */
/* test_templates.c: the template routes (docs/api.md §3.10) against a real `hearthd serve`,
 * without VMs: every submit field validated (wrong types, huge strings, NUL bytes, unknown and
 * doubled ready kinds) and the Dockerfile rules with their line numbers; name_taken and the
 * max_templates quota; the view (with include=dockerfile and the hearth extensions), the list,
 * 404s, deletes (idempotent by id, the name freed, a pending template cancelled); the logs of
 * a template the builder has not picked up (rows written through the store, so nothing races):
 * plain text, follow's replay and its final frame; and the build context upload: a good tar,
 * entries that leave the context, garbage, and sizes over the limit (413 before and while
 * reading). */
#include "apitest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/store/ids.h"
#include "daemon/store/store.h"

struct tfx {
    struct hd_server s;
    char hdr[128];
    char key[APIKEY_LEN + 1];
    char db[256];
};

/* hearthd with extra config and alice's key. */
static bool tfx_start(struct tfx *f, const char *extra)
{
    memset(f, 0, sizeof(*f));
    REQUIRE(hd_prepare(&f->s, extra, true));
    REQUIRE(hd_start(&f->s));
    char err[256];
    snprintf(f->db, sizeof(f->db), "%s", hd_store(&f->s));
    struct store *st;
    REQUIRE(store_open(f->db, &st, err, sizeof(err)) == 0);
    struct store_key k;
    int r = store_key_create(st, "alice", "t", false, 1000, &k, f->key);
    store_close(st);
    REQUIRE(r == 0);
    snprintf(f->hdr, sizeof(f->hdr), "X-Api-Key: %s\r\n", f->key);
    return true;
}

static void tfx_end(struct tfx *f)
{
    (void)hd_stop(&f->s);
    hd_cleanup(&f->s);
}

static bool req(struct tfx *f, const char *method, const char *target, const char *body,
                int want, struct hresp *r)
{
    REQUIRE(http_do(f->s.port, method, target, f->hdr, body, r) == 0);
    if (r->status != want)
        harness_fail(__FILE__, __LINE__, "%s %s: %d, want %d: %s", method, target, r->status,
                     want, r->body);
    return r->status == want;
}

/* Inserts a template row for alice as the builder would have left it; its id into id. */
static bool add_tpl(struct tfx *f, const char *name, enum store_tpl_status st_, const char *opts,
                    char id[STORE_ID_SIZE])
{
    struct store *st;
    char err[256];
    REQUIRE(store_open(f->db, &st, err, sizeof(err)) == 0);
    struct store_template t;
    store_template_init(&t);
    char tid[IDS_TEMPLATE_LEN + 1];
    REQUIRE(ids_new_template(tid) == 0);
    snprintf(t.id, sizeof(t.id), "%s", tid);
    snprintf(t.user_id, sizeof(t.user_id), "alice");
    snprintf(t.name, sizeof(t.name), "%s", name);
    snprintf(t.base, sizeof(t.base), "devbox:1");
    snprintf(t.options, sizeof(t.options), "%s", opts ? opts : "{}");
    t.dockerfile = (char *)"FROM devbox:1\nRUN echo hi\n";
    t.status = st_;
    t.created_at = 1765100000000;
    if (st_ == STORE_TPL_FAILED) {
        t.attempt = 1;
        snprintf(t.error, sizeof(t.error), "step 2 exited with 1");
    }
    int r = store_template_insert(st, &t);
    if (r == 0 && st_ == STORE_TPL_FAILED) {
        struct store_tpl_log l[] = {
            { .attempt = 1, .seq = 0, .ts = 1765100001000, .line = (char *)"Step 1/2 : FROM devbox:1" },
            { .attempt = 1, .seq = 1, .ts = 1765100002000, .line = (char *)"bad \xff byte" },
            { .attempt = 1, .seq = 2, .ts = 1765100003000, .error = true,
              .line = (char *)"step 2 exited with 1" },
        };
        r = store_template_log_append(st, t.id, l, 3);
    }
    store_close(st);
    REQUIRE(r == 0);
    memcpy(id, t.id, STORE_ID_SIZE);
    return true;
}

#define DF_OK "FROM devbox:1\\nRUN echo hi\\n" /* JSON-escaped */

/* ---- the submit body ---- */

TEST_SLOW(templates_submit_validation, 120)
{
    struct tfx f;
    if (!tfx_start(&f, NULL)) {
        tfx_end(&f);
        return;
    }
    struct hresp r;
    static const struct {
        const char *body, *field, *code, *part;
    } cases[] = {
        { "[1,2]", "body", "invalid_request", NULL },
        { "\"x\"", "body", "invalid_request", NULL },
        { "{\"dockerfile\":\"" DF_OK "\"}", "name", "invalid_request", NULL },
        { "{\"name\":7,\"dockerfile\":\"" DF_OK "\"}", "name", "invalid_request", NULL },
        { "{\"name\":\"Bad_Name\",\"dockerfile\":\"" DF_OK "\"}", "name", "invalid_request", NULL },
        { "{\"name\":\"-x\",\"dockerfile\":\"" DF_OK "\"}", "name", "invalid_request", NULL },
        { "{\"name\":\"a\\u0000b\",\"dockerfile\":\"" DF_OK "\"}", "name", "invalid_request",
          NULL },
        { "{\"name\":\"web\"}", "dockerfile", "bad_dockerfile", NULL },
        { "{\"name\":\"web\",\"dockerfile\":42}", "dockerfile", "bad_dockerfile", NULL },
        { "{\"name\":\"web\",\"dockerfile\":\"\"}", "dockerfile", "bad_dockerfile", NULL },
        { "{\"name\":\"web\",\"dockerfile\":\"FROM devbox:1\\nRUN a\\u0000b\\n\"}", "dockerfile",
          "bad_dockerfile", "line 2" },
        { "{\"name\":\"web\",\"dockerfile\":\"FROM devbox:1\\nRUN true\\nFROM devbox:1\\n\"}",
          "dockerfile", "bad_dockerfile", "line 3" },
        { "{\"name\":\"web\",\"dockerfile\":\"FROM devbox:1\\n\\nFOO bar\\n\"}", "dockerfile",
          "bad_dockerfile", "line 3" },
        { "{\"name\":\"web\",\"dockerfile\":\"FROM nope-image:7\\n\"}", "dockerfile",
          "bad_dockerfile", "line 1" },
        { "{\"name\":\"web\",\"dockerfile\":\"FROM scratch\\n\"}", "dockerfile",
          "bad_dockerfile", "line 1" },
        { "{\"name\":\"web\",\"dockerfile\":\"FROM devbox:1\\nCOPY a /a\\n\"}", "dockerfile",
          "bad_dockerfile", "line 2" },
        { "{\"name\":\"web\",\"dockerfile\":\"FROM devbox:1\\nONBUILD RUN x\\n\"}", "dockerfile",
          "bad_dockerfile", "line 2" },
        { "{\"name\":\"web\",\"dockerfile\":\"" DF_OK "\",\"base\":5}", "base", "invalid_request",
          NULL },
        { "{\"name\":\"web\",\"dockerfile\":\"" DF_OK "\",\"base\":\"minimal\"}", "base",
          "invalid_request", NULL },
        { "{\"name\":\"web\",\"dockerfile\":\"" DF_OK "\",\"context\":[]}", "context",
          "invalid_request", NULL },
        { "{\"name\":\"web\",\"dockerfile\":\"" DF_OK "\",\"context\":\"ctx_zz\"}", "context",
          "invalid_request", NULL },
        { "{\"name\":\"web\",\"dockerfile\":\"" DF_OK "\",\"context\":\"ctx_"
          "0000000000000000000000000000000000000000000000000000000000000000\"}",
          "context", "invalid_request", NULL },
        { "{\"name\":\"web\",\"dockerfile\":\"" DF_OK "\",\"start_cmd\":true}", "start_cmd",
          "invalid_request", NULL },
        { "{\"name\":\"web\",\"dockerfile\":\"" DF_OK "\",\"start_cmd\":\"\"}", "start_cmd",
          "invalid_request", NULL },
        { "{\"name\":\"web\",\"dockerfile\":\"" DF_OK "\",\"ready\":80}", "ready",
          "invalid_request", NULL },
        { "{\"name\":\"web\",\"dockerfile\":\"" DF_OK "\",\"ready\":{}}", "ready",
          "invalid_request", NULL },
        { "{\"name\":\"web\",\"dockerfile\":\"" DF_OK "\",\"ready\":{\"http\":\"/\"}}", "ready",
          "invalid_request", NULL },
        { "{\"name\":\"web\",\"dockerfile\":\"" DF_OK "\",\"ready\":{\"port\":80,\"file\":\"/x\"}}",
          "ready", "invalid_request", NULL },
        { "{\"name\":\"web\",\"dockerfile\":\"" DF_OK "\",\"ready\":{\"port\":0}}", "ready.port",
          "invalid_request", NULL },
        { "{\"name\":\"web\",\"dockerfile\":\"" DF_OK "\",\"ready\":{\"port\":65536}}",
          "ready.port", "invalid_request", NULL },
        { "{\"name\":\"web\",\"dockerfile\":\"" DF_OK "\",\"ready\":{\"port\":\"80\"}}",
          "ready.port", "invalid_request", NULL },
        { "{\"name\":\"web\",\"dockerfile\":\"" DF_OK "\",\"ready\":{\"delay_ms\":1.5}}",
          "ready.delay_ms", "invalid_request", NULL },
        { "{\"name\":\"web\",\"dockerfile\":\"" DF_OK "\",\"ready\":{\"delay_ms\":600001}}",
          "ready.delay_ms", "invalid_request", NULL },
        { "{\"name\":\"web\",\"dockerfile\":\"" DF_OK "\",\"ready\":{\"timeout_seconds\":5}}",
          "ready", "invalid_request", NULL },
        { "{\"name\":\"web\",\"dockerfile\":\"" DF_OK "\",\"ready\":{\"port\":80,"
          "\"timeout_seconds\":0}}", "ready.timeout_seconds", "invalid_request", NULL },
        { "{\"name\":\"web\",\"dockerfile\":\"" DF_OK "\",\"ready\":{\"file\":7}}", "ready.file",
          "invalid_request", NULL },
        { "{\"name\":\"web\",\"dockerfile\":\"" DF_OK "\",\"ready\":{\"file\":\"rel/path\"}}",
          "ready", "invalid_request", NULL },
        { "{\"name\":\"web\",\"dockerfile\":\"" DF_OK "\",\"ready\":{\"command\":\"\"}}", "ready",
          "invalid_request", NULL },
        { "{\"name\":\"web\",\"dockerfile\":\"" DF_OK "\",\"no_cache\":\"yes\"}", "no_cache",
          "invalid_request", NULL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK(http_do(f.s.port, "POST", "/v1/templates", f.hdr, cases[i].body, &r) == 0);
        if (!hresp_field_is(&r, cases[i].field, cases[i].code, cases[i].part))
            harness_fail(__FILE__, __LINE__, "case %zu: %s", i, cases[i].body);
        hresp_free(&r);
    }
    /* malformed JSON, and huge strings */
    CHECK(http_do(f.s.port, "POST", "/v1/templates", f.hdr, "{\"name\":", &r) == 0);
    CHECK(hresp_field_is(&r, "body", "invalid_request", NULL));
    hresp_free(&r);
    size_t big = 65 * 1024;
    char *body = malloc(big + 4096);
    CHECK(body != NULL);
    int n = snprintf(body, 4096, "{\"name\":\"web\",\"dockerfile\":\"FROM devbox:1\\nRUN ");
    memset(body + n, 'a', big);
    snprintf(body + n + big, 64, "\\n\"}");
    CHECK(http_do(f.s.port, "POST", "/v1/templates", f.hdr, body, &r) == 0);
    CHECK(hresp_field_is(&r, "dockerfile", "bad_dockerfile", NULL));
    hresp_free(&r);
    n = snprintf(body, 64, "{\"name\":\"");
    memset(body + n, 'n', big);
    snprintf(body + n + big, 4096, "\",\"dockerfile\":\"" DF_OK "\"}");
    CHECK(http_do(f.s.port, "POST", "/v1/templates", f.hdr, body, &r) == 0);
    CHECK(hresp_field_is(&r, "name", "invalid_request", NULL));
    hresp_free(&r);
    n = snprintf(body, 4096, "{\"name\":\"web\",\"dockerfile\":\"" DF_OK "\",\"start_cmd\":\"");
    memset(body + n, 's', 5000);
    snprintf(body + n + 5000, 64, "\"}");
    CHECK(http_do(f.s.port, "POST", "/v1/templates", f.hdr, body, &r) == 0);
    CHECK(hresp_field_is(&r, "start_cmd", "invalid_request", NULL));
    hresp_free(&r);
    /* a huge base and a huge context are refused by name, not looked up */
    n = snprintf(body, 4096, "{\"name\":\"web\",\"dockerfile\":\"" DF_OK "\",\"base\":\"");
    memset(body + n, 'b', big);
    snprintf(body + n + big, 64, "\"}");
    CHECK(http_do(f.s.port, "POST", "/v1/templates", f.hdr, body, &r) == 0);
    CHECK(hresp_field_is(&r, "base", "invalid_request", NULL));
    hresp_free(&r);
    n = snprintf(body, 4096, "{\"name\":\"web\",\"dockerfile\":\"" DF_OK "\",\"context\":\"ctx_");
    memset(body + n, 'c', big);
    snprintf(body + n + big, 64, "\"}");
    CHECK(http_do(f.s.port, "POST", "/v1/templates", f.hdr, body, &r) == 0);
    CHECK(hresp_field_is(&r, "context", "invalid_request", NULL));
    hresp_free(&r);
    /* nesting deeper than the parser takes */
    n = snprintf(body, 64, "{\"name\":");
    memset(body + n, '[', 5000);
    body[n + 5000] = '\0';
    CHECK(http_do(f.s.port, "POST", "/v1/templates", f.hdr, body, &r) == 0);
    CHECK(hresp_field_is(&r, "body", "invalid_request", NULL));
    hresp_free(&r);
    free(body);
    /* no key */
    CHECK(http_do(f.s.port, "POST", "/v1/templates", NULL, "{}", &r) == 0);
    CHECK_EQ(r.status, 401);
    hresp_free(&r);
    /* nothing was stored */
    CHECK(req(&f, "GET", "/v1/templates", NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 0);
    hresp_free(&r);
    tfx_end(&f);
}

TEST_SLOW(templates_name_taken_and_quota, 120)
{
    struct tfx f;
    if (!tfx_start(&f, "max_templates = 2\n")) {
        tfx_end(&f);
        return;
    }
    char a[STORE_ID_SIZE], b[STORE_ID_SIZE];
    CHECK(add_tpl(&f, "web", STORE_TPL_PENDING, NULL, a));
    struct hresp r;
    CHECK(http_do(f.s.port, "POST", "/v1/templates", f.hdr,
                  "{\"name\":\"web\",\"dockerfile\":\"" DF_OK "\"}", &r) == 0);
    CHECK(hresp_field_is(&r, "name", "name_taken", NULL));
    hresp_free(&r);
    CHECK(add_tpl(&f, "db", STORE_TPL_READY, NULL, b));
    CHECK(req(&f, "POST", "/v1/templates", "{\"name\":\"third\",\"dockerfile\":\"" DF_OK "\"}",
              403, &r));
    CHECK_STR(jstr(r.json, "data.code"), "quota_exceeded");
    hresp_free(&r);
    /* a delete frees a slot and the name */
    char path[96];
    snprintf(path, sizeof(path), "/v1/templates/%s", b);
    CHECK(req(&f, "DELETE", path, NULL, 200, &r));
    hresp_free(&r);
    CHECK(http_do(f.s.port, "POST", "/v1/templates", f.hdr,
                  "{\"name\":\"db\",\"dockerfile\":\"" DF_OK "\",\"base\":\"devbox:1\","
                  "\"start_cmd\":\"sleep 1000 &\",\"ready\":{\"port\":8080,"
                  "\"timeout_seconds\":30},\"no_cache\":true}",
                  &r) == 0);
    /* accepted (200 pending) when the host has a VM layer, else 503 */
    CHECK(r.status == 200 || r.status == 503);
    if (r.status == 200) {
        CHECK(strncmp(jstr(r.json, "data.id") ?: "", "tpl_", 4) == 0);
        CHECK_STR(jstr(r.json, "data.name"), "db");
        CHECK_STR(jstr(r.json, "data.status"), "pending");
        CHECK_STR(jstr(r.json, "data.base"), "devbox:1");
        CHECK_STR(jstr(r.json, "data.start_cmd"), "sleep 1000 &");
        CHECK_EQ(jint(r.json, "data.ready.port"), 8080);
        CHECK_EQ(jint(r.json, "data.ready.timeout_seconds"), 30);
        CHECK(json_is_true(jpath(r.json, "data.no_cache")));
        CHECK(jpath(r.json, "data.dockerfile") == NULL);
        CHECK(jpath(r.json, "data.built_at") == NULL);
    }
    hresp_free(&r);
    /* the submit woke the builder: cancel both builds before hearthd stops */
    CHECK(req(&f, "DELETE", "/v1/templates/db", NULL, 200, &r));
    hresp_free(&r);
    CHECK(req(&f, "DELETE", "/v1/templates/web", NULL, 200, &r));
    hresp_free(&r);
    tfx_end(&f);
}

/* ---- views, delete, logs ---- */

TEST_SLOW(templates_view_list_delete, 120)
{
    struct tfx f;
    if (!tfx_start(&f, NULL)) {
        tfx_end(&f);
        return;
    }
    char a[STORE_ID_SIZE], b[STORE_ID_SIZE];
    CHECK(add_tpl(&f, "web", STORE_TPL_PENDING,
                  "{\"ready\":{\"file\":\"/tmp/up\"},\"start_cmd\":\"./srv\"}", a));
    CHECK(add_tpl(&f, "broken", STORE_TPL_FAILED, NULL, b));
    struct hresp r;
    char path[160];
    snprintf(path, sizeof(path), "/v1/templates/%s", a);
    CHECK(req(&f, "GET", path, NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.id"), a);
    CHECK_STR(jstr(r.json, "data.name"), "web");
    CHECK_STR(jstr(r.json, "data.base"), "devbox:1");
    CHECK_STR(jstr(r.json, "data.status"), "pending");
    CHECK_EQ(jint(r.json, "data.ext4_size_bytes"), 0);
    CHECK_STR(jstr(r.json, "data.created_at"), "2025-12-07T09:33:20.000Z");
    CHECK_STR(jstr(r.json, "data.start_cmd"), "./srv");
    CHECK_STR(jstr(r.json, "data.ready.file"), "/tmp/up");
    CHECK(jpath(r.json, "data.dockerfile") == NULL);
    CHECK(jpath(r.json, "data.attempt") == NULL);
    CHECK(jpath(r.json, "data.error") == NULL);
    CHECK(jpath(r.json, "data.no_cache") == NULL);
    CHECK(jpath(r.json, "data.built_at") == NULL);
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/templates/web?include=dockerfile", NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.dockerfile"), "FROM devbox:1\nRUN echo hi\n");
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/templates/web?include=layers", NULL, 400, &r));
    CHECK(hresp_field_is(&r, "include", "invalid_request", NULL));
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/templates/broken", NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.status"), "failed");
    CHECK_EQ(jint(r.json, "data.attempt"), 1);
    CHECK_STR(jstr(r.json, "data.error"), "step 2 exited with 1");
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/templates?limit=1", NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 2);
    CHECK_EQ(json_array_size(jpath(r.json, "data.data")), 1);
    CHECK(jpath(r.json, "data.data.0.dockerfile") == NULL);
    hresp_free(&r);
    /* 404s */
    CHECK(req(&f, "GET", "/v1/templates/nope", NULL, 404, &r));
    CHECK_STR(jstr(r.json, "data"), "template not found");
    hresp_free(&r);
    char longref[400] = "/v1/templates/";
    memset(longref + strlen(longref), 'x', 300);
    CHECK(req(&f, "GET", longref, NULL, 404, &r));
    hresp_free(&r);
    CHECK(req(&f, "DELETE", "/v1/templates/nope", NULL, 404, &r));
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/templates/nope/logs", NULL, 404, &r));
    hresp_free(&r);
    /* another user's template is not found */
    {
        struct store *st;
        char err[256], key2[APIKEY_LEN + 1], hdr2[128];
        CHECK(store_open(f.db, &st, err, sizeof(err)) == 0);
        struct store_key k;
        CHECK(store_key_create(st, "bob", "t", false, 1000, &k, key2) == 0);
        store_close(st);
        snprintf(hdr2, sizeof(hdr2), "X-Api-Key: %s\r\n", key2);
        CHECK(http_do(f.s.port, "GET", path, hdr2, NULL, &r) == 0);
        CHECK_EQ(r.status, 404);
        hresp_free(&r);
        CHECK(http_do(f.s.port, "DELETE", path, hdr2, NULL, &r) == 0);
        CHECK_EQ(r.status, 404);
        hresp_free(&r);
    }
    /* delete by name; repeat by id answers the same; the name is gone, the row cancelled */
    CHECK(req(&f, "DELETE", "/v1/templates/web", NULL, 200, &r));
    CHECK(json_is_true(jpath(r.json, "data.ok")));
    hresp_free(&r);
    CHECK(req(&f, "DELETE", path, NULL, 200, &r));
    CHECK(json_is_true(jpath(r.json, "data.ok")));
    hresp_free(&r);
    CHECK(req(&f, "DELETE", "/v1/templates/web", NULL, 404, &r));
    hresp_free(&r);
    CHECK(req(&f, "GET", path, NULL, 404, &r));
    hresp_free(&r);
    {
        struct store *st;
        char err[256];
        CHECK(store_open(f.db, &st, err, sizeof(err)) == 0);
        struct store_template t;
        CHECK(store_template_get(st, NULL, a, false, &t) == 0);
        CHECK(t.status == STORE_TPL_CANCELLED && t.deleted_at > 0);
        store_template_release(&t);
        store_close(st);
    }
    CHECK(req(&f, "GET", "/v1/templates", NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 1);
    hresp_free(&r);
    /* the builds counter is exported (no build ended here) */
    CHECK(http_do(f.s.metrics_port, "GET", "/metrics", NULL, NULL, &r) == 0);
    CHECK(strstr(r.body, "# TYPE hearth_template_builds_total counter\n") != NULL);
    CHECK(strstr(r.body, "hearth_template_builds_total{result=\"ready\"} 0\n") != NULL);
    CHECK(strstr(r.body, "hearth_template_builds_total{result=\"cancelled\"} ") != NULL);
    hresp_free(&r);
    tfx_end(&f);
}

/* Reads from fd until needle has arrived (or 10 s, or the peer closed) into buf. */
static bool read_until(int fd, char *buf, size_t size, size_t *len, const char *needle)
{
    while (!strstr(buf, needle)) {
        if (*len + 1 >= size)
            return false;
        ssize_t n = recv(fd, buf + *len, size - 1 - *len, 0);
        if (n <= 0)
            return false;
        *len += (size_t)n;
        buf[*len] = '\0';
    }
    return true;
}

TEST_SLOW(templates_logs_plain_and_follow, 120)
{
    struct tfx f;
    if (!tfx_start(&f, NULL)) {
        tfx_end(&f);
        return;
    }
    char a[STORE_ID_SIZE], b[STORE_ID_SIZE];
    CHECK(add_tpl(&f, "fresh", STORE_TPL_PENDING, NULL, a));
    CHECK(add_tpl(&f, "broken", STORE_TPL_FAILED, NULL, b));
    struct hresp r;
    char ct[128];
    /* a fresh template: an empty plain body */
    CHECK(req(&f, "GET", "/v1/templates/fresh/logs", NULL, 200, &r));
    CHECK_EQ(r.body_len, 0);
    CHECK(hresp_header(&r, "Content-Type", ct, sizeof(ct)));
    CHECK(strncmp(ct, "text/plain", 10) == 0);
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/templates/broken/logs", NULL, 200, &r));
    CHECK(strstr(r.body, "Step 1/2 : FROM devbox:1\n") != NULL);
    CHECK(strstr(r.body, "step 2 exited with 1\n") != NULL);
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/templates/broken/logs?attempt=1", NULL, 200, &r));
    CHECK(strstr(r.body, "Step 1/2") != NULL);
    hresp_free(&r);
    /* bad parameters: JSend before any body */
    CHECK(req(&f, "GET", "/v1/templates/broken/logs?attempt=0", NULL, 400, &r));
    CHECK(hresp_field_is(&r, "attempt", "invalid_request", NULL));
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/templates/broken/logs?attempt=x", NULL, 400, &r));
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/templates/broken/logs?attempt=99999999999", NULL, 400, &r));
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/templates/broken/logs?follow=maybe", NULL, 400, &r));
    CHECK(hresp_field_is(&r, "follow", "invalid_request", NULL));
    hresp_free(&r);
    CHECK(req(&f, "GET", "/v1/templates/broken/logs?attempt=7", NULL, 400, &r));
    CHECK(hresp_field_is(&r, "attempt", "invalid_request", NULL));
    hresp_free(&r);
    /* follow of an ended build: the replay, then the final frame, then the end */
    CHECK(req(&f, "GET", "/v1/templates/broken/logs?follow=true", NULL, 200, &r));
    CHECK(hresp_header(&r, "Content-Type", ct, sizeof(ct)));
    CHECK(strncmp(ct, "application/x-ndjson", 20) == 0);
    /* (the body is chunked: one line per chunk) */
    if (!strstr(r.body, "\r\n{\"ts\":\"2025-12-07T09:33:21.000Z\",\"level\":\"info\",\"line\":"
                        "\"Step 1/2 : FROM devbox:1\",\"attempt\":1}\n\r\n"))
        harness_fail(__FILE__, __LINE__, "follow body: %s", r.body);
    CHECK(strstr(r.body, "\"line\":\"bad \xef\xbf\xbd byte\"") != NULL); /* U+FFFD */
    CHECK(strstr(r.body, "\"level\":\"error\",\"line\":\"step 2 exited with 1\"") != NULL);
    CHECK(strstr(r.body, "{\"final\":true,\"status\":\"failed\"}\n\r\n0\r\n\r\n") != NULL);
    hresp_free(&r);
    /* follow of a pending template: nothing yet; its delete ends the stream with cancelled */
    int fd = connect_local(f.s.port);
    CHECK(fd >= 0);
    char q[512];
    int qn = snprintf(q, sizeof(q), "GET /v1/templates/fresh/logs?follow=true HTTP/1.1\r\n"
                      "Host: x\r\n%s\r\n", f.hdr);
    CHECK(send(fd, q, (size_t)qn, 0) == qn);
    char buf[8192] = "";
    size_t len = 0;
    CHECK(read_until(fd, buf, sizeof(buf), &len, "\r\n\r\n"));
    CHECK(strstr(buf, "200") != NULL);
    CHECK(req(&f, "DELETE", "/v1/templates/fresh", NULL, 200, &r));
    hresp_free(&r);
    CHECK(read_until(fd, buf, sizeof(buf), &len, "{\"final\":true,\"status\":\"cancelled\"}"));
    close(fd);
    tfx_end(&f);
}

/* ---- build contexts ---- */

/* Appends a ustar header for name (type '0' file of size bytes, '2' symlink to link, '5' dir)
 * at out; returns 512. */
static size_t ustar(uint8_t *out, const char *name, char type, size_t size, const char *link)
{
    memset(out, 0, 512);
    snprintf((char *)out, 100, "%s", name);
    snprintf((char *)out + 100, 8, "%07o", type == '5' ? 0755 : 0644);
    snprintf((char *)out + 108, 8, "%07o", 0);
    snprintf((char *)out + 116, 8, "%07o", 0);
    snprintf((char *)out + 124, 12, "%011o", (unsigned)(size & 07777777777));
    snprintf((char *)out + 136, 12, "%011o", 0);
    out[156] = (uint8_t)type;
    if (link)
        snprintf((char *)out + 157, 100, "%s", link);
    memcpy(out + 257, "ustar", 6);
    memcpy(out + 263, "00", 2);
    memset(out + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < 512; i++)
        sum += out[i];
    snprintf((char *)out + 148, 8, "%06o", sum);
    return 512;
}

/* A tar of one entry (plus content for a file) and the end blocks, in out (at least 4096
 * bytes); returns its length. */
static size_t one_entry(uint8_t *out, const char *name, char type, const char *content,
                        const char *link)
{
    size_t n = content ? strlen(content) : 0;
    size_t len = ustar(out, name, type, n, link);
    if (n) {
        memset(out + len, 0, 512);
        memcpy(out + len, content, n);
        len += 512;
    }
    memset(out + len, 0, 1024);
    return len + 1024;
}

/* POST /v1/template-contexts with body (len bytes) over a raw connection. */
static bool upload(struct tfx *f, const uint8_t *body, size_t len, struct hresp *r)
{
    char head[512];
    int hn = snprintf(head, sizeof(head),
                      "POST /v1/template-contexts HTTP/1.1\r\nHost: x\r\n%sContent-Type: "
                      "application/x-tar\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                      f->hdr, len);
    uint8_t *all = malloc((size_t)hn + len);
    REQUIRE(all);
    memcpy(all, head, (size_t)hn);
    memcpy(all + hn, body, len);
    int rc = http_raw(f->s.port, all, (size_t)hn + len, r, false);
    free(all);
    REQUIRE(rc == 0);
    return true;
}

TEST_SLOW(templates_context_upload, 120)
{
    struct tfx f;
    if (!tfx_start(&f, "template_context_max_mib = 1\n")) {
        tfx_end(&f);
        return;
    }
    uint8_t tar[8192];
    struct hresp r;
    /* a good one: its id is the SHA-256 of the bytes, the same twice */
    size_t len = one_entry(tar, "app/main.sh", '0', "echo hi\n", NULL);
    CHECK(upload(&f, tar, len, &r));
    CHECK_EQ(r.status, 200);
    const char *id = jstr(r.json, "data.id");
    CHECK(id && strncmp(id, "ctx_", 4) == 0 && strlen(id) == 68);
    CHECK_EQ(jint(r.json, "data.size_bytes"), (long long)len);
    char first[80];
    snprintf(first, sizeof(first), "%s", id ? id : "");
    hresp_free(&r);
    CHECK(upload(&f, tar, len, &r));
    CHECK_STR(jstr(r.json, "data.id"), first);
    hresp_free(&r);
    /* hostile entries: 400 keyed context */
    static const struct {
        const char *name;
        char type;
        const char *content, *link;
    } bad[] = {
        { "../escape", '0', "x", NULL },
        { "a/../../escape", '0', "x", NULL },
        { "/etc/passwd", '0', "x", NULL },
        { "link", '2', NULL, "../../etc/shadow" },
        { "abs-link", '2', NULL, "/etc/shadow" },
        { "dev", '3', NULL, NULL },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        len = one_entry(tar, bad[i].name, bad[i].type, bad[i].content, bad[i].link);
        CHECK(upload(&f, tar, len, &r));
        if (!hresp_field_is(&r, "context", "invalid_request", NULL))
            harness_fail(__FILE__, __LINE__, "entry %s", bad[i].name);
        hresp_free(&r);
    }
    /* garbage and emptiness */
    CHECK(upload(&f, (const uint8_t *)"hello, not a tar", 16, &r));
    CHECK(hresp_field_is(&r, "context", "invalid_request", NULL));
    hresp_free(&r);
    CHECK(upload(&f, tar, 0, &r));
    if (r.status != 400)
        harness_fail(__FILE__, __LINE__, "empty: %d %s", r.status, r.body);
    hresp_free(&r);
    /* over the limit: announced (413 before reading), and chunked (413 while reading) */
    char head[512];
    int hn = snprintf(head, sizeof(head),
                      "POST /v1/template-contexts HTTP/1.1\r\nHost: x\r\n%sContent-Length: "
                      "2097152\r\n\r\n", f.hdr);
    CHECK(http_raw(f.s.port, head, (size_t)hn, &r, false) == 0);
    CHECK_EQ(r.status, 413);
    CHECK_STR(jstr(r.json, "data.code"), "payload_too_large");
    hresp_free(&r);
    size_t chunk = 64 * 1024, total = 0;
    size_t cap = 2 * 1024 * 1024 + 64 * 1024;
    char *raw = malloc(cap);
    CHECK(raw != NULL);
    size_t off = (size_t)snprintf(raw, 512,
                                  "POST /v1/template-contexts HTTP/1.1\r\nHost: x\r\n%s"
                                  "Transfer-Encoding: chunked\r\n\r\n", f.hdr);
    while (total < (size_t)(1.5 * 1024 * 1024)) {
        off += (size_t)snprintf(raw + off, 32, "%zx\r\n", chunk);
        memset(raw + off, 0, chunk);
        off += chunk;
        memcpy(raw + off, "\r\n", 2);
        off += 2;
        total += chunk;
    }
    memcpy(raw + off, "0\r\n\r\n", 5);
    off += 5;
    CHECK(http_raw(f.s.port, raw, off, &r, false) == 0);
    CHECK_EQ(r.status, 413);
    hresp_free(&r);
    free(raw);
    /* no upload is left behind */
    char cmd[512], out[256] = "";
    snprintf(cmd, sizeof(cmd), "find %s -name 'upload-*' | wc -l", f.s.data);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    CHECK(fgets(out, sizeof(out), p) != NULL);
    pclose(p);
    CHECK_EQ(atoi(out), 0);
    /* no key: 401 */
    CHECK(http_do(f.s.port, "POST", "/v1/template-contexts", NULL, "x", &r) == 0);
    CHECK_EQ(r.status, 401);
    hresp_free(&r);
    tfx_end(&f);
}

/* ---- waiting for a template's status (docs/api.md §5.10) ---- */

TEST_SLOW(templates_wait_for, 120)
{
    struct tfx f;
    if (!tfx_start(&f, NULL)) {
        tfx_end(&f);
        return;
    }
    char a[STORE_ID_SIZE], b[STORE_ID_SIZE], path[256], m[8], buf[8192];
    CHECK(add_tpl(&f, "waited", STORE_TPL_PENDING, NULL, a));
    CHECK(add_tpl(&f, "broken", STORE_TPL_FAILED, NULL, b));
    struct hresp r;
    /* a final status answers at once whatever was wanted; by name too */
    CHECK(req(&f, "GET", "/v1/templates/broken?wait_for=ready&timeout_ms=60000", NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.status"), "failed");
    CHECK(hresp_header(&r, "X-Wait-Timed-Out", m, sizeof(m)) && strcmp(m, "0") == 0);
    hresp_free(&r);
    /* not there by the timeout: the current view, marker 1 */
    snprintf(path, sizeof(path), "/v1/templates/%s?wait_for=ready&timeout_ms=200", a);
    CHECK(req(&f, "GET", path, NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.status"), "pending");
    CHECK(hresp_header(&r, "X-Wait-Timed-Out", m, sizeof(m)) && strcmp(m, "1") == 0);
    hresp_free(&r);
    static const char *const bad[] = { "wait_for=running", "wait_for=", "wait_for=ready,,failed",
                                       "wait_for=ready&timeout_ms=60001", "timeout_ms=5" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(path, sizeof(path), "/v1/templates/%s?%s", a, bad[i]);
        CHECK(req(&f, "GET", path, NULL, 400, &r));
        hresp_free(&r);
    }
    /* a wait is woken by the delete that cancels the build: 404, as a plain GET then answers */
    snprintf(path, sizeof(path), "/v1/templates/%s?wait_for=ready,failed,cancelled", a);
    int fd = http_park(f.s.port, path, f.hdr);
    CHECK(fd >= 0);
    usleep(200 * 1000);
    snprintf(path, sizeof(path), "/v1/templates/%s", a);
    CHECK(req(&f, "DELETE", path, NULL, 200, &r));
    hresp_free(&r);
    if (fd >= 0)
        CHECK_EQ(http_collect(fd, buf, sizeof(buf)), 404);
    tfx_end(&f);
}
