/* SPDX-License-Identifier: MIT */
/* test_templates.c: libhearth's template calls (docs/api.md §3.10) against the scripted HTTP
 * server of tests/fakehttp.c: requests as sent (method, escaped path and query, body, the tar
 * upload with its Content-Type), answers parsed, the followed log decoded line by line with
 * keep-alive blank lines skipped and the final status returned, malformed events refused, and
 * bad arguments refused before any request. */
#include "fakehttp.h"
#include "harness.h"
#include "hearth/hearth.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static hearth_client *client_for(const struct fake_http *f)
{
    hearth_client *c = hearth_client_new(f->url, "hk_test");
    if (c)
        hearth_client_set_retries(c, 0);
    return c;
}

#define OK(data) "{\"status\":\"success\",\"data\":" data "}"
#define NDJSON "Content-Type: application/x-ndjson\r\n"
#define TPL                                                                                      \
    "{\"id\":\"tpl_01J\",\"name\":\"web\",\"base\":\"devbox:1\",\"status\":\"pending\","         \
    "\"ext4_size_bytes\":0,\"created_at\":\"2026-12-07T11:00:00.000Z\"}"

TEST(template_crud_on_the_wire)
{
    static const struct fake_reply s[] = {
        { 200, NULL, OK(TPL) },
        { 200, NULL, OK("{\"data\":[" TPL "],\"pagination\":{\"total\":4,\"limit\":1,"
                        "\"offset\":1,\"count\":1}}") },
        { 200, NULL, OK(TPL) },
        { 200, NULL, OK(TPL) },
        { 200, NULL, OK("{\"ok\":true}") },
        { 400, NULL, "{\"status\":\"fail\",\"data\":{\"dockerfile\":\"line 3: ONBUILD is not "
                     "supported\",\"code\":\"bad_dockerfile\"}}" },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 6))
        return;
    hearth_client *c = client_for(&f);
    hearth_body *b = hearth_body_new();
    CHECK_EQ(hearth_body_set_str(b, "name", "web"), HEARTH_OK);
    CHECK_EQ(hearth_body_set_str(b, "dockerfile", "FROM devbox:1\nRUN true\n"), HEARTH_OK);
    CHECK_EQ(hearth_body_set_map_int(b, "ready", "port", 8080), HEARTH_OK);
    CHECK_EQ(hearth_body_set_map_int(b, "ready", "timeout_seconds", 30), HEARTH_OK);
    hearth_obj *t = NULL, *g = NULL, *g2 = NULL, *d = NULL, *bad = NULL;
    hearth_list *l = NULL;
    struct hearth_error e, e6;
    int rc1 = hearth_template_create(c, b, &t, &e);
    struct hearth_page page = { .limit = 1, .offset = 1, .status = "ready" };
    int rc2 = hearth_template_list(c, &page, &l, &e);
    int rc3 = hearth_template_get(c, "my tpl/x", false, &g, &e);
    int rc4 = hearth_template_get(c, "web", true, &g2, &e);
    int rc5 = hearth_template_delete(c, "tpl_01J", &d, &e);
    int rc6 = hearth_template_create(c, b, &bad, &e6);
    fake_http_stop(&f);
    hearth_body_free(b);
    CHECK_EQ(rc1, HEARTH_OK);
    CHECK_EQ(rc2, HEARTH_OK);
    CHECK_EQ(rc3, HEARTH_OK);
    CHECK_EQ(rc4, HEARTH_OK);
    CHECK_EQ(rc5, HEARTH_OK);
    CHECK_EQ(rc6, HEARTH_ERR_REJECTED);
    CHECK_STR(e6.api_code, "bad_dockerfile");
    CHECK(strstr(e6.message, "line 3") != NULL);
    CHECK(bad == NULL);
    CHECK_STR(hearth_obj_str(t, "id"), "tpl_01J");
    CHECK_EQ(hearth_list_count(l), 1);
    CHECK_EQ(hearth_list_total(l), 4);
    CHECK(hearth_obj_bool(d, "ok", false));
    CHECK(strstr(f.log, "POST /v1/templates HTTP/1.1\n{\"name\":\"web\",\"dockerfile\":"
                        "\"FROM devbox:1\\nRUN true\\n\",\"ready\":{\"port\":8080,"
                        "\"timeout_seconds\":30}}\n") == f.log);
    CHECK(strstr(f.log, "GET /v1/templates?offset=1&limit=1 HTTP/1.1\n") != NULL);
    CHECK(strstr(f.log, "GET /v1/templates/my%20tpl%2Fx HTTP/1.1\n") != NULL);
    CHECK(strstr(f.log, "GET /v1/templates/web?include=dockerfile HTTP/1.1\n") != NULL);
    CHECK(strstr(f.log, "DELETE /v1/templates/tpl_01J HTTP/1.1\n") != NULL);
    hearth_obj_free(t);
    hearth_obj_free(g);
    hearth_obj_free(g2);
    hearth_obj_free(d);
    hearth_list_free(l);
    hearth_client_free(c);
}

struct seen {
    int lines, finals, errors;
    char last[128];
    int attempt;
};

static bool on_event(void *ud, const struct hearth_tpl_event *ev)
{
    struct seen *s = ud;
    if (ev->kind == HEARTH_TPL_LINE) {
        s->lines++;
        s->errors += ev->error;
        s->attempt = ev->attempt;
        snprintf(s->last, sizeof(s->last), "%s", ev->line);
    } else if (ev->kind == HEARTH_TPL_FINAL) {
        s->finals++;
    }
    return true;
}

TEST(template_logs_plain_and_followed)
{
    static const struct fake_reply s[] = {
        { 200, "Content-Type: text/plain; charset=utf-8\r\n",
          "--- attempt 1 ---\nStep 1/2 : FROM devbox:1\n" },
        { 200, NDJSON,
          "{\"ts\":\"2026-12-07T11:00:00.000Z\",\"level\":\"info\",\"line\":\"Step 1/2 : FROM "
          "devbox:1\",\"attempt\":2}\n"
          "\n"
          "\n"
          "{\"ts\":\"2026-12-07T11:00:01.000Z\",\"level\":\"error\",\"line\":\"exit 1\","
          "\"attempt\":2}\n"
          "{\"final\":true,\"status\":\"failed\"}\n" },
        { 200, NDJSON, "{\"line\":7,\"attempt\":1}\n" },
        { 200, NDJSON, "{\"ts\":\"x\",\"level\":\"info\",\"line\":\"cut\",\"attempt\":1}\n" },
        { 404, NULL, "{\"status\":\"fail\",\"data\":\"template not found\"}" },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 5))
        return;
    hearth_client *c = client_for(&f);
    char path[] = "/tmp/hearth-tpl-log-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    struct hearth_error e;
    struct seen a = { 0 }, b = { 0 }, d = { 0 };
    char st[16] = "x", st3[16] = "x";
    int rc1 = hearth_template_logs(c, "web", 0, fd, &e);
    int rc2 = hearth_template_follow(c, "web", 2, on_event, &a, st, &e);
    int rc3 = hearth_template_follow(c, "web", 0, on_event, &b, NULL, &e);
    int rc4 = hearth_template_follow(c, "web", 0, on_event, &d, st3, &e);
    int rc5 = hearth_template_follow(c, "gone", 0, on_event, &d, NULL, &e);
    fake_http_stop(&f);
    char got[128] = "";
    ssize_t n = pread(fd, got, sizeof(got) - 1, 0);
    close(fd);
    unlink(path);
    CHECK_EQ(rc1, HEARTH_OK);
    CHECK(n > 0);
    CHECK_STR(got, "--- attempt 1 ---\nStep 1/2 : FROM devbox:1\n");
    CHECK_EQ(rc2, HEARTH_OK);
    CHECK_EQ(a.lines, 2); /* the keep-alive blank lines are no events */
    CHECK_EQ(a.errors, 1);
    CHECK_EQ(a.finals, 1);
    CHECK_EQ(a.attempt, 2);
    CHECK_STR(a.last, "exit 1");
    CHECK_STR(st, "failed");
    CHECK_EQ(rc3, HEARTH_ERR_PROTOCOL); /* a line that is not a string */
    CHECK_EQ(rc4, HEARTH_OK);
    CHECK_STR(st3, ""); /* ended without the final event */
    CHECK_EQ(rc5, HEARTH_ERR_NOT_FOUND);
    CHECK(strstr(f.log, "GET /v1/templates/web/logs HTTP/1.1\n") == f.log);
    CHECK(strstr(f.log, "GET /v1/templates/web/logs?attempt=2&follow=true HTTP/1.1\n") != NULL);
    CHECK(strstr(f.log, "GET /v1/templates/web/logs?follow=true HTTP/1.1\n") != NULL);
    hearth_client_free(c);
}

TEST(template_context_upload)
{
    static const struct fake_reply s[] = {
        { 200, NULL, OK("{\"id\":\"ctx_abc\",\"size_bytes\":5}") },
        { 413, NULL, "{\"status\":\"fail\",\"data\":{\"code\":\"payload_too_large\","
                     "\"message\":\"too big\"}}" },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 2))
        return;
    hearth_client *c = client_for(&f);
    char path[] = "/tmp/hearth-tpl-ctx-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, "hello", 5), 5);
    close(fd);
    hearth_obj *o = NULL, *o2 = NULL;
    struct hearth_error e, e2;
    int rc1 = hearth_template_context_upload_path(c, path, &o, &e);
    int rc2 = hearth_template_context_upload_path(c, path, &o2, &e2);
    fake_http_stop(&f);
    unlink(path);
    CHECK_EQ(rc1, HEARTH_OK);
    CHECK_STR(hearth_obj_str(o, "id"), "ctx_abc");
    CHECK_EQ(hearth_obj_int(o, "size_bytes", 0), 5);
    CHECK(rc2 != HEARTH_OK);
    CHECK_EQ(e2.http_status, 413);
    CHECK(strstr(f.log, "POST /v1/template-contexts HTTP/1.1\nhello\n") == f.log);
    hearth_obj_free(o);
    hearth_client_free(c);
}

TEST(template_bad_arguments_refused_before_any_request)
{
    hearth_client *c = hearth_client_new("http://127.0.0.1:9", "hk_test");
    struct hearth_error e;
    hearth_obj *o = NULL;
    CHECK_EQ(hearth_template_get(c, "", false, &o, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_template_get(c, NULL, false, &o, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_template_delete(c, "", NULL, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_template_create(c, NULL, &o, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_template_logs(c, "", 0, 1, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_template_follow(c, "", 0, NULL, NULL, NULL, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_template_context_upload_fd(c, -1, 0, &o, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_template_context_upload_path(c, "/nonexistent/x.tar", &o, &e),
             HEARTH_ERR_IO);
    CHECK_EQ(hearth_template_context_upload_path(c, "/tmp", &o, &e), HEARTH_ERR_IO);
    CHECK(o == NULL);
    hearth_client_free(c);
}
