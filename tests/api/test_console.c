/* SPDX-License-Identifier: MIT */
/* test_console.c: how hearthd serves the web console (docs/console.md "Serving, headers and
 * the CSP") over real HTTP: GET and HEAD of / and /console/{app.js,app.css} with the strict
 * Content-Security-Policy, nosniff, an ETag and 304 on If-None-Match; unknown files, traversal,
 * encoded and overlong paths answer 404 or 400 and never a 5xx; other methods 405; no
 * credential needed nor looked at; and `console = off` makes them unknown paths (404). */
#include "apitest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/api/routes.h"

static bool start(struct hd_server *s, const char *conf)
{
    memset(s, 0, sizeof(*s));
    REQUIRE(hd_prepare(s, conf, true));
    REQUIRE(hd_start(s));
    return true;
}

static int status_of(struct hd_server *s, const char *method, const char *target,
                     const char *hdr)
{
    return http_status(s->port, method, target, hdr, NULL);
}

/* The headers every console answer carries; the ETag into etag. */
static bool console_headers(const struct hresp *r, char *etag, size_t etag_len)
{
    static const struct {
        const char *name, *want;
    } fixed[] = {
        { "Content-Security-Policy", api_console_csp },
        { "X-Content-Type-Options", "nosniff" },
        { "X-Frame-Options", "DENY" },
        { "Referrer-Policy", "no-referrer" },
        { "Cross-Origin-Opener-Policy", "same-origin" },
    };
    char v[1024];
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        REQUIRE(hresp_header(r, fixed[i].name, v, sizeof(v)));
        if (strcmp(v, fixed[i].want) != 0)
            harness_fail(__FILE__, __LINE__, "%s: \"%s\", want \"%s\"", fixed[i].name, v,
                         fixed[i].want);
    }
    REQUIRE(strstr(api_console_csp, "script-src 'self'"));
    REQUIRE(strstr(api_console_csp, "default-src 'none'"));
    REQUIRE(!strstr(api_console_csp, "unsafe-inline") && !strstr(api_console_csp, "unsafe-eval"));
    REQUIRE(hresp_header(r, "ETag", etag, etag_len));
    REQUIRE(etag[0] == '"' && strlen(etag) > 2 && etag[strlen(etag) - 1] == '"');
    return true;
}

TEST(console_files_with_csp_etag_and_304)
{
    struct hd_server s;
    if (!start(&s, NULL))
        return;
    static const struct {
        const char *path, *type, *has;
    } files[] = {
        { "/", "text/html; charset=utf-8", "<script" },
        { "/console/app.js", "text/javascript; charset=utf-8", "hearth" },
        { "/console/app.css", "text/css; charset=utf-8", "--accent" },
    };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        struct hresp r;
        CHECK_EQ(http_do(s.port, "GET", files[i].path, NULL, NULL, &r), 0);
        CHECK_EQ(r.status, 200);
        char ct[128], etag[128] = "", etag2[128] = "";
        CHECK(hresp_header(&r, "Content-Type", ct, sizeof(ct)));
        CHECK_STR(ct, files[i].type);
        CHECK(r.body_len > 100 && strstr(r.body, files[i].has));
        CHECK(console_headers(&r, etag, sizeof(etag)));
        size_t len = r.body_len;
        hresp_free(&r);
        /* a bad credential is not even looked at */
        CHECK_EQ(status_of(&s, "GET", files[i].path, "X-Api-Key: hk_nope\r\n"), 200);
        /* the ETag: 304 without a body; another tag or none: 200 */
        char hdr[256];
        snprintf(hdr, sizeof(hdr), "If-None-Match: %s\r\n", etag);
        CHECK_EQ(http_do(s.port, "GET", files[i].path, hdr, NULL, &r), 0);
        CHECK_EQ(r.status, 304);
        CHECK_EQ(r.body_len, 0);
        CHECK(console_headers(&r, etag2, sizeof(etag2)));
        CHECK_STR(etag2, etag);
        hresp_free(&r);
        snprintf(hdr, sizeof(hdr), "If-None-Match: \"other\", %s\r\n", etag);
        CHECK_EQ(status_of(&s, "GET", files[i].path, hdr), 304);
        CHECK_EQ(status_of(&s, "GET", files[i].path, "If-None-Match: \"other\"\r\n"), 200);
        /* HEAD: the same status and headers, no body */
        CHECK_EQ(http_do(s.port, "HEAD", files[i].path, NULL, NULL, &r), 0);
        CHECK_EQ(r.status, 200);
        CHECK_EQ(r.body_len, 0);
        CHECK(console_headers(&r, etag2, sizeof(etag2)));
        char cl[32];
        CHECK(hresp_header(&r, "Content-Length", cl, sizeof(cl)));
        CHECK_EQ(strtoull(cl, NULL, 10), len);
        hresp_free(&r);
    }
    hd_cleanup(&s);
}

/* Writes len bytes to a new temp file; its path into path. */
static bool write_tmp(const char *body, size_t len, char *path, size_t path_len)
{
    snprintf(path, path_len, "/tmp/hearth-console-XXXXXX");
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    bool ok = write(fd, body, len) == (ssize_t)len;
    close(fd);
    REQUIRE(ok);
    return true;
}

/* The gzip copy made at build time goes to clients that accept gzip (q > 0, any case, or "*"),
 * with Vary and its own ETag; it unpacks to exactly the identity bytes. */
TEST(console_gzip_when_accepted)
{
    struct hd_server s;
    if (!start(&s, NULL))
        return;
    struct hresp plain, gz;
    CHECK_EQ(http_do(s.port, "GET", "/console/app.js", NULL, NULL, &plain), 0);
    CHECK_EQ(plain.status, 200);
    char v[256], plain_tag[128] = "", gz_tag[128] = "";
    CHECK(!hresp_header(&plain, "Content-Encoding", v, sizeof(v)));
    CHECK(hresp_header(&plain, "Vary", v, sizeof(v)) && strcmp(v, "Accept-Encoding") == 0);
    CHECK(hresp_header(&plain, "ETag", plain_tag, sizeof(plain_tag)));
    CHECK_EQ(http_do(s.port, "GET", "/console/app.js", "Accept-Encoding: gzip, deflate, br\r\n",
                     NULL, &gz), 0);
    CHECK_EQ(gz.status, 200);
    CHECK(hresp_header(&gz, "Content-Encoding", v, sizeof(v)) && strcmp(v, "gzip") == 0);
    CHECK(hresp_header(&gz, "ETag", gz_tag, sizeof(gz_tag)));
    CHECK(strcmp(gz_tag, plain_tag) != 0);
    CHECK(gz.body_len > 2 && (unsigned char)gz.body[0] == 0x1f && (unsigned char)gz.body[1] == 0x8b);
    CHECK(gz.body_len < plain.body_len / 2);
    char a[64], b[64], cmd[256];
    if (write_tmp(gz.body, gz.body_len, a, sizeof(a)) &&
        write_tmp(plain.body, plain.body_len, b, sizeof(b))) {
        snprintf(cmd, sizeof(cmd), "gzip -dc <%s | cmp -s - %s", a, b);
        CHECK_EQ(system(cmd), 0);
        unlink(a);
        unlink(b);
    }
    /* each variant's tag gives a 304 for that variant only */
    char hdr[256];
    snprintf(hdr, sizeof(hdr), "Accept-Encoding: gzip\r\nIf-None-Match: %s\r\n", gz_tag);
    CHECK_EQ(status_of(&s, "GET", "/console/app.js", hdr), 304);
    snprintf(hdr, sizeof(hdr), "Accept-Encoding: gzip\r\nIf-None-Match: %s\r\n", plain_tag);
    CHECK_EQ(status_of(&s, "GET", "/console/app.js", hdr), 200);
    snprintf(hdr, sizeof(hdr), "If-None-Match: %s\r\n", gz_tag);
    CHECK_EQ(status_of(&s, "GET", "/console/app.js", hdr), 200);
    hresp_free(&plain);
    hresp_free(&gz);

    static const struct {
        const char *accept;
        bool gzip;
    } cases[] = {
        { "GZIP", true },           { "*", true },
        { "gzip;q=0.5", true },     { "br;q=1, gzip ; q=0.001", true },
        { "gzip;q=0", false },      { "gzip;q=0.000", false },
        { "identity", false },      { "deflate, br", false },
        { "gzipx, xgzip", false },  { ";;;,,,=q", false },
        { "", false },              { "*;q=0", false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct hresp r;
        snprintf(hdr, sizeof(hdr), "Accept-Encoding: %s\r\n", cases[i].accept);
        CHECK_EQ(http_do(s.port, "GET", "/console/app.css", hdr, NULL, &r), 0);
        CHECK_EQ(r.status, 200);
        bool enc = hresp_header(&r, "Content-Encoding", v, sizeof(v));
        if (enc != cases[i].gzip)
            harness_fail(__FILE__, __LINE__, "Accept-Encoding \"%s\": gzip %d, want %d",
                         cases[i].accept, enc, cases[i].gzip);
        hresp_free(&r);
    }
    /* a huge header is still only a preference */
    char *big = malloc(12000);
    if (big) {
        memcpy(big, "Accept-Encoding: ", 17);
        memset(big + 17, 'g', 11000);
        memcpy(big + 17 + 11000, "\r\n", 3);
        int st = status_of(&s, "GET", "/", big);
        CHECK(st == 200 || st == 431 || st == 400);
        free(big);
    }
    hd_cleanup(&s);
}

TEST(console_refuses_odd_paths_and_methods)
{
    struct hd_server s;
    if (!start(&s, NULL))
        return;
    /* unknown files and shapes: 404 route not found */
    const char *missing[] = {
        "/console/nope.js", "/console/index.html", "/console/app.js/x", "/console/app.js//",
        "/console", "/console/APP.JS", "/console/app.js.map", "/console/..%2fapp.js",
        "/console/..%2f..%2fetc%2fpasswd", "/console/%2e%2e", "/console/app%2ejs%2fx",
        "/console/.", "/index.html", "/app.js", "/console/app.js%20",
    };
    for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++) {
        struct hresp r;
        CHECK_EQ(http_do(s.port, "GET", missing[i], NULL, NULL, &r), 0);
        if (r.status != 404)
            harness_fail(__FILE__, __LINE__, "GET %s: %d, want 404", missing[i], r.status);
        else
            CHECK_STR(r.body, "{\"status\":\"fail\",\"data\":\"route not found\"}");
        hresp_free(&r);
    }
    /* what the HTTP layer may refuse first: 400 or 404, never a 5xx, and no file */
    char longp[9000];
    snprintf(longp, sizeof(longp), "/console/");
    memset(longp + 9, 'a', sizeof(longp) - 10);
    longp[sizeof(longp) - 1] = '\0';
    char deep[4000] = "";
    for (int i = 0; i < 400; i++)
        memcpy(deep + 8 * i, "/console", 9);
    const char *odd[] = {
        "//console/app.js", "/console//app.js", "/console/../console/app.js",
        "/console/./app.js", "/console/app.js%00", "/console/%", "/console/%zz",
        "/console/%c0%ae%c0%ae/app.js", "/console/app.js?x=%00", "/console/app.js#frag",
        "console/app.js", "*", "/console/app.js/", longp, deep,
    };
    for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
        struct hresp r;
        int e = http_do(s.port, "GET", odd[i], NULL, NULL, &r);
        if (e != 0)
            continue; /* closed without an answer: refused too */
        /* 200 only where the target still names app.js (a query, a trailing slash) */
        bool ok = r.status == 400 || r.status == 404 || r.status == 414 || r.status == 431 ||
                  (r.status == 200 && strstr(r.head, "text/javascript"));
        if (!ok)
            harness_fail(__FILE__, __LINE__, "GET %.60s: %d", odd[i], r.status);
        hresp_free(&r);
    }
    /* methods: 405 with Allow: GET, HEAD */
    const char *methods[] = { "POST", "PUT", "PATCH", "DELETE", "OPTIONS" };
    const char *paths[] = { "/", "/console/app.js", "/console/nope" };
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        for (size_t k = 0; k < sizeof(paths) / sizeof(paths[0]); k++) {
            struct hresp r;
            CHECK_EQ(http_do(s.port, methods[i], paths[k], NULL, "{}", &r), 0);
            CHECK_EQ(r.status, 405);
            char allow[64];
            CHECK(hresp_header(&r, "Allow", allow, sizeof(allow)));
            CHECK_STR(allow, "GET, HEAD");
            hresp_free(&r);
        }
    }
    /* still serving */
    CHECK_EQ(status_of(&s, "GET", "/console/app.js", NULL), 200);
    CHECK_EQ(status_of(&s, "GET", "/healthz", NULL), 200);
    hd_cleanup(&s);
}

TEST(console_off_is_404)
{
    struct hd_server s;
    if (!start(&s, "console = off\n"))
        return;
    const char *paths[] = { "/", "/console/app.js", "/console/app.css", "/console/nope" };
    const char *methods[] = { "GET", "HEAD", "POST", "DELETE" };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        for (size_t k = 0; k < sizeof(methods) / sizeof(methods[0]); k++) {
            struct hresp r;
            CHECK_EQ(http_do(s.port, methods[k], paths[i], NULL, NULL, &r), 0);
            if (r.status != 404)
                harness_fail(__FILE__, __LINE__, "%s %s: %d, want 404", methods[k], paths[i],
                             r.status);
            if (strcmp(methods[k], "HEAD") != 0)
                CHECK_STR(r.body, "{\"status\":\"fail\",\"data\":\"route not found\"}");
            char v[256];
            CHECK(!hresp_header(&r, "ETag", v, sizeof(v)));
            hresp_free(&r);
        }
    }
    /* the API is unaffected */
    CHECK_EQ(status_of(&s, "GET", "/healthz", NULL), 200);
    char hdr[128];
    snprintf(hdr, sizeof(hdr), "X-Api-Key: %s\r\n", s.admin_key);
    CHECK_EQ(status_of(&s, "GET", "/v1/whoami", hdr), 200);
    hd_cleanup(&s);
}
