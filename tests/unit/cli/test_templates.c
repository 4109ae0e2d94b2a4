/* SPDX-License-Identifier: MIT */
/* test_templates.c: `hearth template …` (and its aliases, and `hearth sb template`) run through
 * the dispatcher against the scripted HTTP server of tests/fakehttp.c: usage errors before any
 * request (ready flags that exclude each other, bad numbers, a missing Dockerfile), the submit
 * body on the wire, the followed build with its "Step" lines and exit 0 on ready / 1 on failed,
 * --no-follow, ls columns, show --dockerfile, logs plain and followed, rm with --yes. */
#include "clirun.h"
#include "fakehttp.h"

#define NDJSON "Content-Type: application/x-ndjson\r\n"
#define TPL_JSON(st, extra)                                                                      \
    "{\"id\":\"tpl_01J\",\"name\":\"web\",\"base\":\"devbox:1\",\"status\":\"" st "\","          \
    "\"ext4_size_bytes\":1048576,\"created_at\":\"2026-12-07T11:00:00.000Z\"" extra "}"
#define TPL(st, extra) OK(TPL_JSON(st, extra))
#define LINE(text, lvl)                                                                          \
    "{\"ts\":\"2026-12-07T11:00:00.000Z\",\"level\":\"" lvl "\",\"line\":\"" text "\","         \
    "\"attempt\":1}\n"

/* A Dockerfile in a new temporary file; path receives its name. */
static bool dockerfile(char path[64], const char *text)
{
    snprintf(path, 64, "/tmp/hearth-test-df-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return false;
    bool ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
    close(fd);
    return ok;
}

TEST(template_usage_errors_before_any_request)
{
    char df[64];
    CHECK(dockerfile(df, "FROM devbox:1\n"));
    struct {
        const char *const *argv;
        const char *err;
    } cases[] = {
        { ARGV("template", "build", "web", "-f", df, "--ready-port", "80", "--ready-file", "/x"),
          "exclude each other" },
        { ARGV("tpl", "build", "web", "-f", df, "--ready-port", "0"), "from 1 to 65535" },
        { ARGV("tpl", "build", "web", "-f", df, "--ready-port", "70000"), "from 1 to 65535" },
        { ARGV("tpl", "build", "web", "-f", df, "--ready-delay", "x"), "--ready-delay" },
        { ARGV("tpl", "build", "web", "-f", df, "--ready-timeout", "5"), "needs one of" },
        { ARGV("tpl", "build", "web", "-f", df, "--ready-cmd", "true", "--ready-timeout",
               "601"),
          "from 1 to 600" },
        { ARGV("tpl", "build", "web", "-f", "/nonexistent/Dockerfile"),
          "cannot read the Dockerfile" },
        { ARGV("tpl", "build", "web", "/nonexistent-dir", "-f", df), "is not a directory" },
        { ARGV("tpl", "build"), "missing argument" },
        { ARGV("tpl", "logs", "web", "--attempt", "0"), "--attempt" },
        { ARGV("tpl", "logs", "web", "--attempt", "-3"), "--attempt" },
        { ARGV("templates", "rm", "web"), "--yes" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct run r;
        run_cli(NULL, false, cases[i].argv, &r); /* port 9: no request may work */
        if (r.rc != 2 || !has(r.err, cases[i].err))
            harness_fail(__FILE__, __LINE__, "case %zu: rc %d\nstderr: %s", i, r.rc, r.err);
    }
    unlink(df);
}

TEST(template_build_follows_to_ready_and_failed)
{
    static const struct fake_reply s[] = {
        { 200, NULL, TPL("pending", "") },
        { 200, NDJSON,
          LINE("Step 1/2 : FROM devbox:1", "info") "\n" LINE("Step 2/2 : RUN make", "info")
              LINE("cc -o app", "info") "{\"final\":true,\"status\":\"ready\"}\n" },
        { 200, NULL, TPL("ready", ",\"built_at\":\"2026-12-07T11:01:00.000Z\"") },
        { 200, NULL, TPL("pending", "") },
        { 200, NDJSON,
          LINE("Step 2/2 : RUN false", "info") LINE("step 2 exited with 1", "error")
              "{\"final\":true,\"status\":\"failed\"}\n" },
        { 200, NULL, TPL("failed", ",\"error\":\"step 2 exited with 1\"") },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 6))
        return;
    char df[64];
    CHECK(dockerfile(df, "FROM devbox:1\nRUN make\n"));
    struct run a, b;
    run_cli(f.url, false,
            ARGV("template", "build", "web", "-f", df, "--ready-port", "8080", "--ready-timeout",
                 "30", "--start-cmd", "./app", "--no-cache", "--base", "devbox:1"),
            &a);
    run_cli(f.url, false, ARGV("sb", "template", "submit", "web", "-f", df), &b);
    fake_http_stop(&f);
    unlink(df);
    EXPECT(a, 0, "==> Step 2/2 : RUN make\ncc -o app\n", "ready");
    CHECK(has(a.out, "==> Step 1/2 : FROM devbox:1"));
    CHECK(has(f.log, "POST /v1/templates HTTP/1.1\n{\"ready\":{\"port\":8080,\"timeout_seconds\":"
                     "30},\"name\":\"web\",\"dockerfile\":\"FROM devbox:1\\nRUN make\\n\","
                     "\"base\":\"devbox:1\",\"start_cmd\":\"./app\",\"no_cache\":true}\n"));
    CHECK(has(f.log, "GET /v1/templates/tpl_01J/logs?follow=true HTTP/1.1\n"));
    EXPECT(b, 1, "error: step 2 exited with 1", "failed: step 2 exited with 1");
}

TEST(template_build_no_follow_and_json)
{
    static const struct fake_reply s[] = {
        { 200, NULL, TPL("pending", "") },
        { 200, NULL, TPL("pending", "") },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 2))
        return;
    char df[64];
    CHECK(dockerfile(df, "FROM devbox:1\n"));
    struct run a, b;
    run_cli(f.url, false, ARGV("tpl", "create", "web", "-f", df, "--no-follow"), &a);
    run_in(f.url, true, "FROM devbox:1\nRUN true\n",
           ARGV("tpl", "build", "web", "-f", "-", "--no-follow", "--ready-file", "/tmp/up"), &b);
    fake_http_stop(&f);
    unlink(df);
    EXPECT(a, 0, "status", "");
    CHECK(has(a.out, "tpl_01J") && has(a.out, "pending"));
    EXPECT(b, 0, "{\"id\":\"tpl_01J\"", "");
    CHECK(has(f.log, "{\"ready\":{\"file\":\"/tmp/up\"},\"name\":\"web\",\"dockerfile\":"
                     "\"FROM devbox:1\\nRUN true\\n\"}"));
}

TEST(template_ls_show_logs_rm)
{
    static const struct fake_reply s[] = {
        { 200, NULL, OK("{\"data\":[" TPL_JSON("ready", "") "],\"pagination\":{\"total\":1,"
                        "\"limit\":50,\"offset\":0,\"count\":1}}") },
        { 200, NULL, TPL("ready", ",\"dockerfile\":\"FROM devbox:1\\nRUN true\"") },
        { 200, NULL, TPL("ready", ",\"start_cmd\":\"./app\",\"ready\":{\"port\":80},\"attempt\":1") },
        { 200, "Content-Type: text/plain; charset=utf-8\r\n", "Step 1/1 : FROM devbox:1\n" },
        { 200, NDJSON, LINE("Step 1/1 : FROM devbox:1", "info")
                           "{\"final\":true,\"status\":\"cancelled\"}\n" },
        { 200, NULL, TPL("ready", "") },
        { 200, NULL, OK("{\"ok\":true}") },
        { 404, NULL, "{\"status\":\"fail\",\"data\":\"template not found\"}" },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 8))
        return;
    struct run a, b, c, d, e, g, h;
    run_cli(f.url, false, ARGV("tpl", "ls"), &a);
    run_cli(f.url, false, ARGV("tpl", "show", "web", "--dockerfile"), &b);
    run_cli(f.url, false, ARGV("tpl", "get", "web"), &c);
    run_cli(f.url, false, ARGV("tpl", "logs", "web", "--attempt", "2"), &d);
    run_cli(f.url, true, ARGV("tpl", "logs", "web", "-f"), &e);
    run_cli(f.url, false, ARGV("tpl", "rm", "web", "--yes"), &g);
    run_cli(f.url, false, ARGV("tpl", "show", "gone"), &h);
    fake_http_stop(&f);
    EXPECT(a, 0, "ID", "");
    CHECK(has(a.out, "NAME") && has(a.out, "BASE") && has(a.out, "STATUS") &&
          has(a.out, "SIZE") && has(a.out, "CREATED") && has(a.out, "1.0 MiB"));
    EXPECT(b, 0, "FROM devbox:1\nRUN true\n", "");
    CHECK(has(f.log, "GET /v1/templates/web?include=dockerfile HTTP/1.1\n"));
    EXPECT(c, 0, "start cmd", "");
    CHECK(has(c.out, "./app") && has(c.out, "{\"port\":80}"));
    EXPECT(d, 0, "Step 1/1 : FROM devbox:1\n", "");
    CHECK(has(f.log, "GET /v1/templates/web/logs?attempt=2 HTTP/1.1\n"));
    /* --json -f: the NDJSON lines unchanged */
    EXPECT(e, 0, "{\"final\":true,\"status\":\"cancelled\"}\n", "");
    CHECK(has(e.out, "\"line\":\"Step 1/1 : FROM devbox:1\""));
    EXPECT(g, 0, "tpl_01J deleted", "");
    CHECK(has(f.log, "DELETE /v1/templates/tpl_01J HTTP/1.1\n"));
    EXPECT(h, 4, "", "template not found");
}
