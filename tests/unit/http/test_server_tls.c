/* SPDX-License-Identifier: MIT */
/* test_server_tls.c: the HTTP server over TLS (server.h http_server_listen_tls) with a real
 * OpenSSL client on 127.0.0.1: requests and keep-alive, a chunked response, an upgrade with a
 * TLS half-close, streamed bodies both ways (8 MiB), curl verifying the ingress's self-signed
 * wildcard (ingress/ingress_cert.h) by SNI, the SNI name, TLS flag and peer address a handler sees, and hostile clients
 * (a plaintext or garbage handshake, a handshake that stalls, an old protocol version). The
 * server runs in a forked child (http_test.h). */
#include "http_test.h"

#include <stdio.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/herr.h"
#include "daemon/api/jsend.h"
#include "daemon/ingress/ingress_cert.h"
#include "daemon/http/request.h"
#include "daemon/http/response.h"

/* ---------------- the test handler (runs in the server child) ---------------- */

static void up_write(struct bufferevent *bev, void *ud)
{
    /* the echo of "bye" has left: half-close the TLS way, then wait for the client's EOF */
    http_bev_shutdown_write(bev);
}

static void up_event(struct bufferevent *bev, short what, void *ud)
{
    tsrv_event("upgrade closed\n");
    bufferevent_free(bev);
}

static void up_read_bye(struct bufferevent *bev, void *ud)
{
    struct evbuffer *in = bufferevent_get_input(bev);
    char b[64] = { 0 };
    if (evbuffer_remove(in, b, sizeof(b) - 1) <= 0)
        return;
    bufferevent_write(bev, b, strlen(b)); /* echo */
    if (strstr(b, "bye"))
        bufferevent_setcb(bev, NULL, up_write, up_event, NULL);
}

/* count: a streamed upload, its length and byte sum answered at the end */
struct count {
    uint64_t n, sum;
};

static int count_data(struct http_request *req, const uint8_t *p, size_t len, void *ud)
{
    struct count *k = ud;
    for (size_t i = 0; i < len; i++)
        k->sum += p[i];
    k->n += len;
    return 0;
}

static void count_end(struct http_request *req, int err, void *ud)
{
    struct count *k = ud;
    if (!err)
        (void)jsend_reply_success(req, json_pack("{s:I,s:I}", "n", (json_int_t)k->n, "sum",
                                                (json_int_t)k->sum));
    free(k);
}

/* big: a download of ?size bytes produced as the TLS connection drains */
struct big {
    uint64_t size, sent;
};

static void big_pump(struct http_request *req, void *ud)
{
    struct big *b = ud;
    uint8_t chunk[16384];
    while (b->sent < b->size && http_response_pending(req) < 256 * 1024) {
        size_t n = b->size - b->sent < sizeof(chunk) ? (size_t)(b->size - b->sent) : sizeof(chunk);
        for (size_t i = 0; i < n; i++)
            chunk[i] = (uint8_t)((b->sent + i) * 7);
        if (http_response_write(req, chunk, n) < 0)
            return;
        b->sent += n;
    }
    if (b->sent >= b->size) {
        http_response_on_drain(req, NULL, NULL);
        (void)http_response_end(req);
        http_request_on_abort(req, NULL, NULL);
        http_request_unref(req);
        free(b);
    }
}

static void big_abort(struct http_request *req, void *ud)
{
    http_request_unref(req);
    free(ud);
}

static void handler(struct http_request *req, void *ud)
{
    const struct http_path *p = http_request_path(req);
    const char *s0 = p->n ? p->seg[0] : "";
    if (!strcmp(s0, "whoami")) {
        const struct sockaddr *sa = http_request_peer(req);
        char addr[INET6_ADDRSTRLEN] = "";
        if (sa && sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, addr, sizeof(addr));
        (void)jsend_reply_success(req, json_pack("{s:b,s:s?,s:s}", "tls", http_request_tls(req),
                                                "sni", http_request_sni(req), "peer", addr));
    } else if (!strcmp(s0, "count")) {
        struct count *k = calloc(1, sizeof(*k));
        if (http_request_stream_body(req, 64 << 20, count_data, count_end, k) < 0)
            free(k);
    } else if (!strcmp(s0, "big")) {
        struct big *b = calloc(1, sizeof(*b));
        int64_t size = 0;
        if (http_query_get_int(http_request_query(req), "size", 0, &size) < 0)
            size = 0;
        b->size = (uint64_t)size;
        http_request_ref(req);
        http_request_on_abort(req, big_abort, b);
        if (http_response_start(req, 200, "application/octet-stream", size) < 0) {
            big_abort(req, b);
            return;
        }
        http_response_on_drain(req, big_pump, b);
        big_pump(req, b);
    } else if (!strcmp(s0, "chunks")) {
        if (http_response_start(req, 200, "text/plain", -1) < 0)
            return;
        (void)http_response_write(req, "one|", 4);
        (void)http_response_write(req, "two|", 4);
        (void)http_response_write(req, "three", 5);
        (void)http_response_end(req);
    } else if (!strcmp(s0, "upgrade")) {
        struct bufferevent *bev;
        if (http_response_upgrade(req, "tcp-tunnel", &bev) < 0) {
            (void)jsend_reply_error(req, 500, "upgrade failed", "internal");
            return;
        }
        bufferevent_setcb(bev, up_read_bye, NULL, up_event, NULL);
        bufferevent_enable(bev, EV_READ | EV_WRITE);
        if (evbuffer_get_length(bufferevent_get_input(bev)))
            up_read_bye(bev, NULL);
    } else {
        (void)jsend_reply_not_found(req);
    }
}

/* A throwaway self-signed P-256 certificate for CN=localhost, in a fresh server context. */
static SSL_CTX *server_ctx(void)
{
    EVP_PKEY *key = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    REQUIRE(key && x);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"localhost", -1,
                               -1, 0);
    X509_set_issuer_name(x, n);
    REQUIRE(X509_sign(x, key, EVP_sha256()) > 0);
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    REQUIRE(ctx && SSL_CTX_use_certificate(ctx, x) == 1 && SSL_CTX_use_PrivateKey(ctx, key) == 1);
    X509_free(x);
    EVP_PKEY_free(key);
    return ctx;
}

static bool start(struct tserver *ts, const struct http_limits *l)
{
    tsrv_tls = server_ctx();
    bool ok = tsrv_start(ts, l, handler, NULL);
    SSL_CTX_free(tsrv_tls); /* the parent's copy; the child listens with its own */
    tsrv_tls = NULL;
    return ok;
}

/* ---------------- helpers ---------------- */

static json_t *get_json(struct tconn *c, const char *path)
{
    char req[256];
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);
    REQUIRE(tc_sends(c, req) == 0);
    struct tresp r;
    REQUIRE(tc_response(c, &r) == 0);
    json_t *j = r.status == 200 ? json_loads(r.body, 0, NULL) : NULL;
    if (!j)
        harness_fail(__FILE__, __LINE__, "GET %s: %d %s", path, r.status, r.body);
    tr_free(&r);
    return json_object_get(j, "data") ? j : NULL;
}

static bool tls_healthy(struct tserver *ts)
{
    struct tconn c;
    REQUIRE(tc_connect(&c, ts->port) == 0);
    REQUIRE(tc_tls_start(&c, NULL) == 0);
    json_t *j = get_json(&c, "/whoami");
    tc_close(&c);
    bool ok = j && json_is_true(json_object_get(json_object_get(j, "data"), "tls"));
    json_decref(j);
    return ok;
}

/* ---------------- tests ---------------- */

TEST(tls_requests_keepalive_peer_and_sni)
{
    struct tserver ts;
    CHECK(start(&ts, NULL));
    struct tconn c;
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    CHECK_EQ(tc_tls_start(&c, "3000-web.sb.example.test"), 0);
    CHECK_STR(SSL_get_version(c.ssl), "TLSv1.3");
    for (int i = 0; i < 3; i++) { /* one TLS connection, three requests */
        json_t *j = get_json(&c, "/whoami");
        CHECK(j != NULL);
        json_t *d = json_object_get(j, "data");
        CHECK(json_is_true(json_object_get(d, "tls")));
        CHECK_STR(json_string_value(json_object_get(d, "sni")), "3000-web.sb.example.test");
        CHECK_STR(json_string_value(json_object_get(d, "peer")), "127.0.0.1");
        json_decref(j);
    }
    tc_close(&c);
    /* without the extension the handler sees no name */
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    CHECK_EQ(tc_tls_start(&c, NULL), 0);
    json_t *j = get_json(&c, "/whoami");
    CHECK(j != NULL);
    CHECK(json_is_null(json_object_get(json_object_get(j, "data"), "sni")) ||
          !json_object_get(json_object_get(j, "data"), "sni"));
    json_decref(j);
    tc_close(&c);
    CHECK(tsrv_stop(&ts));
}

TEST(tls_plain_listener_reports_peer_and_no_tls)
{
    struct tserver ts;
    CHECK(tsrv_start(&ts, NULL, handler, NULL));
    struct tconn c;
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    json_t *j = get_json(&c, "/whoami");
    CHECK(j != NULL);
    json_t *d = json_object_get(j, "data");
    CHECK(json_is_false(json_object_get(d, "tls")));
    CHECK_STR(json_string_value(json_object_get(d, "peer")), "127.0.0.1");
    json_decref(j);
    tc_close(&c);
    CHECK(tsrv_stop(&ts));
}

TEST(tls_chunked_response)
{
    struct tserver ts;
    CHECK(start(&ts, NULL));
    struct tconn c;
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    CHECK_EQ(tc_tls_start(&c, "x.test"), 0);
    CHECK_EQ(tc_sends(&c, "GET /chunks HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
    struct tresp r;
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_EQ(r.status, 200);
    CHECK(r.chunked);
    CHECK_STR(r.body, "one|two|three");
    tr_free(&r);
    /* and the connection goes on after the last chunk */
    json_t *j = get_json(&c, "/whoami");
    CHECK(j != NULL);
    json_decref(j);
    tc_close(&c);
    CHECK(tsrv_stop(&ts));
}

TEST(tls_streamed_bodies_both_ways)
{
    struct tserver ts;
    CHECK(start(&ts, NULL));
    struct tconn c;
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    CHECK_EQ(tc_tls_start(&c, NULL), 0);
    /* 8 MiB up, streamed through the handler, on the connection's read high-water mark */
    const size_t up = 8u << 20;
    char head[128];
    snprintf(head, sizeof(head), "POST /count HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n",
             up);
    CHECK_EQ(tc_sends(&c, head), 0);
    static uint8_t block[65536];
    uint64_t sum = 0;
    for (size_t i = 0; i < sizeof(block); i++) {
        block[i] = (uint8_t)(i * 13 + 1);
        sum += block[i];
    }
    for (size_t off = 0; off < up; off += sizeof(block))
        CHECK_EQ(tc_send(&c, block, sizeof(block)), 0);
    sum *= up / sizeof(block);
    struct tresp r;
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_EQ(r.status, 200);
    json_t *j = json_loads(r.body, 0, NULL);
    CHECK_EQ(json_integer_value(json_object_get(json_object_get(j, "data"), "n")), (long long)up);
    CHECK_EQ(json_integer_value(json_object_get(json_object_get(j, "data"), "sum")),
             (long long)sum);
    json_decref(j);
    tr_free(&r);
    /* 8 MiB down, produced as the connection drains, then the connection goes on */
    CHECK_EQ(tc_sends(&c, "GET /big?size=8388608 HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_EQ(r.status, 200);
    CHECK_EQ(r.body_len, 8u << 20);
    bool same = true;
    for (size_t i = 0; i < r.body_len && same; i++)
        same = (uint8_t)r.body[i] == (uint8_t)(i * 7);
    CHECK(same);
    tr_free(&r);
    j = get_json(&c, "/whoami");
    CHECK(j != NULL);
    json_decref(j);
    tc_close(&c);
    CHECK(tsrv_stop(&ts));
}

TEST(tls_upgrade_hands_over_and_half_closes)
{
    struct tserver ts;
    CHECK(start(&ts, NULL));
    struct tconn c;
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    CHECK_EQ(tc_tls_start(&c, NULL), 0);
    CHECK_EQ(tc_sends(&c, "POST /upgrade HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\n"
                          "Upgrade: tcp-tunnel\r\n\r\nearly|"), 0);
    struct tresp r;
    CHECK_EQ(tc_response_ex(&c, &r, true), 0);
    CHECK_EQ(r.status, 101);
    tr_free(&r);
    char got[32] = { 0 };
    CHECK_EQ(tc_read_exact(&c, got, 6), 0);
    CHECK_STR(got, "early|");
    CHECK_EQ(tc_sends(&c, "bye"), 0);
    memset(got, 0, sizeof(got));
    CHECK_EQ(tc_read_exact(&c, got, 3), 0);
    CHECK_STR(got, "bye");
    /* the server half-closed with close_notify: a clean TLS EOF, and we may still write */
    CHECK_EQ(tc_fill(&c), 0);
    CHECK_EQ(SSL_get_error(c.ssl, 0) == SSL_ERROR_ZERO_RETURN ||
                 (SSL_get_shutdown(c.ssl) & SSL_RECEIVED_SHUTDOWN),
             true);
    tc_close(&c);
    CHECK(tsrv_wait_event(&ts, "upgrade closed", NULL, 0, 5000));
    CHECK(tls_healthy(&ts));
    CHECK(tsrv_stop(&ts));
}

TEST(tls_plaintext_and_garbage_handshakes_are_dropped)
{
    struct tserver ts;
    CHECK(start(&ts, NULL));
#define B(s) { s, sizeof(s) - 1 }
    const struct { const char *p; size_t n; } bad[] = {
        B("GET /whoami HTTP/1.1\r\nHost: t\r\n\r\n"), /* plain HTTP on the TLS port */
        B("\x16\x03\x01\xff\xff garbage that claims to be a huge record"),
        B("\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00"), /* a ClientHello of one byte */
        B("\x15\x03\x03\x00\x02\x02\x28"), /* an alert before any hello */
        B("\x80\x80\x80\x80\x80\x80\x80\x80"),
    };
#undef B
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct tconn c;
        CHECK_EQ(tc_connect(&c, ts.port), 0);
        CHECK_EQ(tc_send(&c, bad[i].p, bad[i].n), 0);
        uint64_t t0 = harness_now_us();
        /* closed at once (an alert at most), not at a timeout */
        for (;;) {
            c.len = 0;
            ssize_t n = tc_fill(&c);
            if (n <= 0)
                break;
        }
        if (harness_now_us() - t0 >= 5 * 1000000ull)
            harness_fail(__FILE__, __LINE__, "bad handshake %zu not dropped at once", i);
        tc_close(&c);
    }
    CHECK(tls_healthy(&ts));
    CHECK(tsrv_stop(&ts));
}

TEST(tls_stalled_handshake_is_cut_at_header_timeout)
{
    struct http_limits l;
    http_limits_default(&l);
    l.header_timeout_ms = 600;
    struct tserver ts;
    CHECK(start(&ts, &l));
    /* one client sends nothing, one the first bytes of a ClientHello and no more */
    struct tconn quiet, half;
    CHECK_EQ(tc_connect(&quiet, ts.port), 0);
    CHECK_EQ(tc_connect(&half, ts.port), 0);
    CHECK_EQ(tc_send(&half, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11), 0);
    uint64_t t0 = harness_now_us();
    CHECK(tc_closed(&quiet));
    CHECK(tc_closed(&half));
    uint64_t dt = harness_now_us() - t0;
    CHECK(dt >= 300000 && dt < 5000000);
    tc_close(&quiet);
    tc_close(&half);
    /* a well-behaved client still gets through meanwhile and afterwards */
    CHECK(tls_healthy(&ts));
    CHECK(tsrv_stop(&ts));
}

TEST(tls_old_protocol_versions_are_refused)
{
    struct tserver ts;
    CHECK(start(&ts, NULL));
    SSL_CTX *old = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_security_level(old, 0);
    SSL_CTX_set_min_proto_version(old, TLS1_VERSION);
    SSL_CTX_set_max_proto_version(old, TLS1_1_VERSION);
    struct tconn c;
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    c.ssl = SSL_new(old);
    SSL_set_fd(c.ssl, c.fd);
    CHECK(SSL_connect(c.ssl) != 1);
    tc_close(&c);
    SSL_CTX_free(old);
    /* TLS 1.2 is the floor and works */
    SSL_CTX *v12 = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_max_proto_version(v12, TLS1_2_VERSION);
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    c.ssl = SSL_new(v12);
    SSL_set_fd(c.ssl, c.fd);
    CHECK_EQ(SSL_connect(c.ssl), 1);
    CHECK_STR(SSL_get_version(c.ssl), "TLSv1.2");
    CHECK_EQ(SSL_get_current_compression(c.ssl) == NULL, true);
    json_t *j = get_json(&c, "/whoami");
    CHECK(j != NULL);
    json_decref(j);
    /* a renegotiation the client starts is refused (the connection ends; the server lives) */
    SSL_renegotiate(c.ssl);
    (void)SSL_do_handshake(c.ssl);
    char req[] = "GET /whoami HTTP/1.1\r\nHost: t\r\n\r\n";
    bool served = SSL_write(c.ssl, req, sizeof(req) - 1) > 0;
    if (served) {
        struct tresp r;
        served = tc_response(&c, &r) == 0 && r.status == 200;
        tr_free(&r);
    }
    CHECK(!served);
    tc_close(&c);
    SSL_CTX_free(v12);
    CHECK(tls_healthy(&ts));
    CHECK(tsrv_stop(&ts));
}

/* Runs a shell command; its exit status, and its stdout in out. */
static int run(const char *cmd, char *out, size_t max)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = fread(out, 1, max - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

TEST(tls_curl_verifies_the_ingress_wildcard_by_sni)
{
    if (system("curl --version >/dev/null 2>&1") != 0)
        harness_skip("curl is not installed");
    char dir[] = "/tmp/hearth-tlscurl-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    struct ingress_cert *ic;
    struct herr err = { 0 };
    struct ingress_cert_cfg cfg = { .data_dir = dir, .domain = "sb.example.test" };
    CHECK_EQ(ingress_cert_open(&cfg, &ic, &err), 0);
    tsrv_tls = ingress_cert_ctx(ic);
    CHECK_EQ(SSL_CTX_up_ref(tsrv_tls), 1); /* the child frees its copy after listening */
    struct tserver ts;
    bool ok = tsrv_start(&ts, NULL, handler, NULL);
    SSL_CTX_free(tsrv_tls);
    tsrv_tls = NULL;
    CHECK(ok);
    char cmd[1024], out[4096];
    /* a name under the wildcard: verified against the kept certificate, SNI seen */
    snprintf(cmd, sizeof(cmd),
             "curl -sS --max-time 10 --cacert %s/ingress/tls-cert.pem --resolve "
             "3000-web.sb.example.test:%u:127.0.0.1 https://3000-web.sb.example.test:%u/whoami",
             dir, ts.port, ts.port);
    CHECK_EQ(run(cmd, out, sizeof(out)), 0);
    CHECK(strstr(out, "\"sni\":\"3000-web.sb.example.test\"") != NULL);
    CHECK(strstr(out, "\"tls\":true") != NULL);
    /* the bare domain too; a name two labels down or elsewhere fails verification (60) */
    snprintf(cmd, sizeof(cmd),
             "curl -sS --max-time 10 --cacert %s/ingress/tls-cert.pem --resolve "
             "sb.example.test:%u:127.0.0.1 https://sb.example.test:%u/whoami",
             dir, ts.port, ts.port);
    CHECK_EQ(run(cmd, out, sizeof(out)), 0);
    snprintf(cmd, sizeof(cmd),
             "curl -sS --max-time 10 --cacert %s/ingress/tls-cert.pem --resolve "
             "a.b.sb.example.test:%u:127.0.0.1 https://a.b.sb.example.test:%u/whoami 2>/dev/null",
             dir, ts.port, ts.port);
    CHECK_EQ(run(cmd, out, sizeof(out)), 60);
    CHECK(tsrv_stop(&ts));
    ingress_cert_free(ic);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK_EQ(system(cmd), 0);
}
