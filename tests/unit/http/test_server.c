/* SPDX-License-Identifier: MIT */
/* test_server.c: the HTTP server end to end over real sockets on 127.0.0.1: keep-alive,
 * pipelining, HTTP/1.0, bodies (Content-Length, chunked, 100-continue, limits), JSend errors,
 * timeouts, the HTTP/2 preface, hostile input, streaming both ways with backpressure, aborts,
 * upgrades and graceful shutdown. The server runs in a forked child (http_test.h). */
#include "http_test.h"

#include <dirent.h>
#include <netinet/tcp.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <jansson.h>

#include "daemon/api/jsend.h"
#include "daemon/http/request.h"
#include "daemon/http/response.h"

/* ---------------- the test handler (runs in the server child) ---------------- */

static struct event_base *child_base(void)
{
    return tsrv_base;
}

static unsigned count_fds(void)
{
    unsigned n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}
#define FNV_INIT 0xcbf29ce484222325ull

static uint8_t pattern_byte(uint64_t i)
{
    return (uint8_t)((i * 131 + 7) ^ (i >> 11));
}

static void on_echo_body(struct http_request *req, int err, void *ud)
{
    if (err)
        return;
    size_t len;
    const uint8_t *b = http_request_body(req, &len);
    (void)jsend_reply_success(req, json_pack("{s:i,s:s%}", "len", (json_int_t)len, "body",
                                            b ? (const char *)b : "", len));
}

/* upload: a slow sink that pauses the body and resumes from a timer */
struct upload {
    struct http_request *req;
    struct event *resume;
    uint64_t sum, bytes, since_pause;
    unsigned pauses;
};

static void upload_free(struct upload *u)
{
    event_free(u->resume);
    http_request_unref(u->req);
    free(u);
}

static void upload_on_resume(evutil_socket_t fd, short what, void *ud)
{
    struct upload *u = ud;
    http_request_resume_body(u->req);
}

static int upload_on_data(struct http_request *req, const uint8_t *p, size_t len, void *ud)
{
    struct upload *u = ud;
    u->sum = fnv1a(u->sum, p, len);
    u->bytes += len;
    u->since_pause += len;
    if (u->since_pause >= 512 * 1024) { /* the sink is "busy": stop reading for a moment */
        u->since_pause = 0;
        u->pauses++;
        http_request_pause_body(req);
        struct timeval tv = { 0, 1000 };
        evtimer_add(u->resume, &tv);
    }
    return 0;
}

static void upload_on_end(struct http_request *req, int err, void *ud)
{
    struct upload *u = ud;
    if (err == 0) {
        char sum[17];
        snprintf(sum, sizeof(sum), "%016llx", (unsigned long long)u->sum);
        (void)jsend_reply_success(req, json_pack("{s:I,s:s,s:i}", "bytes", (json_int_t)u->bytes,
                                                "sum", sum, "pauses", (int)u->pauses));
    } else {
        char ev[64];
        snprintf(ev, sizeof(ev), "upload err %d\n", err);
        tsrv_event(ev);
    }
    upload_free(u);
}

static void upload_on_abort(struct http_request *req, void *ud)
{
    tsrv_event("abort upload\n");
    upload_free(ud);
}

static void start_upload(struct http_request *req)
{
    struct upload *u = calloc(1, sizeof(*u));
    u->req = http_request_ref(req);
    u->sum = FNV_INIT;
    u->resume = evtimer_new(child_base(), upload_on_resume, u);
    http_request_on_abort(req, upload_on_abort, u);
    int64_t max = 128 << 20;
    const char *m = http_query_get(http_request_query(req), "max");
    if (m)
        max = strtoll(m, NULL, 10);
    if (http_request_stream_body(req, (uint64_t)max, upload_on_data, upload_on_end, u) < 0)
        upload_free(u);
}

/* download: raw bytes with Content-Length, produced as the socket drains */
struct download {
    struct http_request *req;
    uint64_t size, sent;
    size_t max_pending;
};

static void download_free(struct download *d)
{
    char ev[96];
    snprintf(ev, sizeof(ev), "download maxpending %zu sent %llu\n", d->max_pending,
             (unsigned long long)d->sent);
    tsrv_event(ev);
    http_request_unref(d->req);
    free(d);
}

static void download_pump(struct http_request *req, void *ud)
{
    struct download *d = ud;
    uint8_t chunk[65536];
    while (d->sent < d->size && http_response_pending(req) < 1024 * 1024) {
        size_t n = d->size - d->sent < sizeof(chunk) ? (size_t)(d->size - d->sent) : sizeof(chunk);
        for (size_t i = 0; i < n; i++)
            chunk[i] = pattern_byte(d->sent + i);
        if (http_response_write(req, chunk, n) < 0)
            return;
        d->sent += n;
        if (http_response_pending(req) > d->max_pending)
            d->max_pending = http_response_pending(req);
    }
    if (d->sent == d->size) {
        http_response_on_drain(req, NULL, NULL);
        http_response_end(req);
        download_free(d);
    }
}

static void download_on_abort(struct http_request *req, void *ud)
{
    tsrv_event("abort download\n");
    download_free(ud);
}

static void start_download(struct http_request *req)
{
    struct download *d = calloc(1, sizeof(*d));
    d->req = http_request_ref(req);
    int64_t size = 0;
    if (http_query_get_int(http_request_query(req), "size", 0, &size) < 0)
        size = 0;
    d->size = (uint64_t)size;
    http_request_on_abort(req, download_on_abort, d);
    (void)http_response_add_header(req, "Cache-Control", "no-store");
    if (http_response_start(req, 200, "application/octet-stream", size) < 0) {
        download_free(d);
        return;
    }
    http_response_on_drain(req, download_pump, d);
    download_pump(req, d);
}

/* ndjson: one line per /next request, so the test controls the pace */
static struct http_request *g_stream;
static int g_stream_line;

static void stream_on_abort(struct http_request *req, void *ud)
{
    tsrv_event("abort ndjson\n");
    http_request_unref(g_stream);
    g_stream = NULL;
}

static void stream_next(void)
{
    if (!g_stream)
        return;
    char line[64];
    g_stream_line++;
    if (g_stream_line <= 2) {
        snprintf(line, sizeof(line), "{\"stdout\":\"line %d\"}\n", g_stream_line);
        (void)http_response_write(g_stream, line, strlen(line));
        return;
    }
    snprintf(line, sizeof(line), "{\"exit_code\":0}\n");
    (void)http_response_write(g_stream, line, strlen(line));
    http_response_end(g_stream);
    http_request_unref(g_stream);
    g_stream = NULL;
}

/* hang: never answers; reports the abort */
static void hang_on_abort(struct http_request *req, void *ud)
{
    tsrv_event("abort hang\n");
    http_request_unref(req);
}

/* delayed: answers after 300 ms (for graceful shutdown) */
struct delayed {
    struct event *ev;
    struct http_request *req;
};

static void delayed_fire(evutil_socket_t fd, short what, void *ud)
{
    struct delayed *d = ud;
    (void)jsend_reply_success(d->req, json_string("late"));
    http_request_unref(d->req);
    event_free(d->ev);
    free(d);
}

/* upgrade: 101 then echo on the raw bufferevent */
static void up_read(struct bufferevent *bev, void *ud)
{
    bufferevent_write_buffer(bev, bufferevent_get_input(bev));
}

static void up_event(struct bufferevent *bev, short what, void *ud)
{
    bufferevent_free(bev);
}

static void handler(struct http_request *req, void *ud)
{
    const struct http_path *p = http_request_path(req);
    const char *s0 = p->n ? p->seg[0] : "";
    int m = http_request_method(req);
    if (!strcmp(s0, "hello")) {
        if (m != HTTP_GET && m != HTTP_HEAD) {
            (void)jsend_reply_method_not_allowed(req, "GET, HEAD");
            return;
        }
        (void)jsend_reply_success(req, json_pack("{s:s}", "hello", "world"));
    } else if (!strcmp(s0, "echo")) {
        if (http_request_read_body(req, 0, on_echo_body, NULL) < 0)
            (void)jsend_reply_error(req, 500, "read body failed", "internal");
    } else if (!strcmp(s0, "peer")) {
        /* the client's address as the socket saw it (the limiter's key) */
        const struct sockaddr *sa = http_request_peer(req);
        char ip[INET6_ADDRSTRLEN] = "none";
        if (sa && sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, sizeof(ip));
        (void)jsend_reply_success(req, json_pack("{s:s}", "peer", ip));
    } else if (!strcmp(s0, "nocontent")) {
        /* a 204 as a proxy passes it on: whatever length it is given, no framing header */
        if (http_response_start(req, 204, NULL, 0) == 0)
            (void)http_response_end(req);
    } else if (!strcmp(s0, "reject")) {
        (void)jsend_reply_fail_str(req, 401, "missing or invalid credential");
    } else if (!strcmp(s0, "upload")) {
        start_upload(req);
    } else if (!strcmp(s0, "download")) {
        start_download(req);
    } else if (!strcmp(s0, "ndjson")) {
        if (g_stream) {
            (void)jsend_reply_fail_code(req, 409, "in_use", "one stream at a time");
            return;
        }
        g_stream = http_request_ref(req);
        g_stream_line = 0;
        http_request_on_abort(req, stream_on_abort, NULL);
        (void)http_response_start_ndjson(req, 200);
        stream_next();
    } else if (!strcmp(s0, "next")) {
        stream_next();
        (void)jsend_reply_success(req, json_true());
    } else if (!strcmp(s0, "hang")) {
        http_request_ref(req);
        http_request_on_abort(req, hang_on_abort, NULL);
        tsrv_event("hang started\n");
    } else if (!strcmp(s0, "delayed")) {
        struct delayed *d = calloc(1, sizeof(*d));
        d->req = http_request_ref(req);
        d->ev = evtimer_new(child_base(), delayed_fire, d);
        struct timeval tv = { 0, 300000 };
        evtimer_add(d->ev, &tv);
        tsrv_event("delayed started\n");
    } else if (!strcmp(s0, "route")) {
        json_t *segs = json_array();
        for (unsigned i = 0; i < p->n; i++)
            json_array_append_new(segs, json_string(p->seg[i]));
        const char *path = http_query_get(http_request_query(req), "path");
        bool stream = false;
        if (http_query_get_bool(http_request_query(req), "stream", false, &stream) < 0) {
            json_decref(segs);
            (void)jsend_reply_fail(req, 400, json_pack("{s:s,s:s}", "stream",
                                                      "must be true or false", "code",
                                                      "invalid_request"));
            return;
        }
        (void)jsend_reply_success(req, json_pack("{s:o,s:s?,s:b}", "segs", segs, "path", path,
                                                "stream", stream));
    } else if (!strcmp(s0, "upgrade")) {
        struct bufferevent *bev;
        if (http_response_upgrade(req, "tcp-tunnel", &bev) < 0) {
            (void)jsend_reply_error(req, 500, "upgrade failed", "internal");
            return;
        }
        bufferevent_setcb(bev, up_read, NULL, up_event, NULL);
        bufferevent_enable(bev, EV_READ | EV_WRITE);
        if (evbuffer_get_length(bufferevent_get_input(bev)))
            up_read(bev, NULL);
    } else if (!strcmp(s0, "stats")) {
        (void)jsend_reply_success(req, json_pack("{s:i}", "fds", (int)count_fds()));
    } else if (!strcmp(s0, "busy")) {
        (void)http_response_retry_after(req, 120);
        (void)jsend_reply_error(req, 503, "no capacity", "no_capacity");
    } else {
        (void)jsend_reply_not_found(req);
    }
}

static bool start(struct tserver *ts, const struct http_limits *l)
{
    return tsrv_start(ts, l, handler, NULL);
}

/* ---------------- helpers for the tests ---------------- */

static bool get_ok(struct tconn *c, const char *path)
{
    char req[256];
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path);
    REQUIRE(tc_sends(c, req) == 0);
    struct tresp r;
    REQUIRE(tc_response(c, &r) == 0);
    bool ok = r.status == 200 && strstr(r.body, "\"status\":\"success\"");
    if (!ok)
        harness_fail(__FILE__, __LINE__, "GET %s: %d %s", path, r.status, r.body);
    tr_free(&r);
    return ok;
}

/* A fresh connection still gets answered. */
static bool server_healthy(struct tserver *ts)
{
    struct tconn c;
    REQUIRE(tc_connect(&c, ts->port) == 0);
    bool ok = get_ok(&c, "/hello");
    tc_close(&c);
    return ok;
}

/* ---------------- tests ---------------- */

TEST(http_keepalive_several_requests)
{
    struct tserver ts;
    CHECK(start(&ts, NULL));
    struct tconn c;
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    for (int i = 0; i < 5; i++) {
        CHECK_EQ(tc_sends(&c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
        struct tresp r;
        CHECK_EQ(tc_response(&c, &r), 0);
        CHECK_EQ(r.status, 200);
        CHECK_STR(r.body, "{\"status\":\"success\",\"data\":{\"hello\":\"world\"}}");
        char v[128];
        CHECK(tr_header(&r, "Content-Type", v, sizeof(v)));
        CHECK_STR(v, "application/json");
        CHECK(!tr_header(&r, "Connection", v, sizeof(v)));
        CHECK(tr_header(&r, "X-Request-Id", v, sizeof(v)));
        tr_free(&r);
    }
    tc_close(&c);
    CHECK(tsrv_stop(&ts));
}

TEST(http_pipelining_in_order)
{
    struct tserver ts;
    CHECK(start(&ts, NULL));
    struct tconn c;
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    CHECK_EQ(tc_sends(&c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n"
                          "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
                          "GET /route/x?path=a+b HTTP/1.1\r\nHost: t\r\n\r\n"
                          "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
    struct tresp r;
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_STR(r.body, "{\"status\":\"success\",\"data\":{\"hello\":\"world\"}}");
    tr_free(&r);
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_STR(r.body, "{\"status\":\"success\",\"data\":{\"len\":3,\"body\":\"abc\"}}");
    tr_free(&r);
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK(strstr(r.body, "\"path\":\"a b\""));
    tr_free(&r);
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_EQ(r.status, 404);
    CHECK_STR(r.body, "{\"status\":\"fail\",\"data\":\"route not found\"}");
    tr_free(&r);
    tc_close(&c);
    CHECK(tsrv_stop(&ts));
}

TEST(http_10_closes_after_response)
{
    struct tserver ts;
    CHECK(start(&ts, NULL));
    struct tconn c;
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    CHECK_EQ(tc_sends(&c, "GET /hello HTTP/1.0\r\n\r\n"), 0);
    struct tresp r;
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_EQ(r.status, 200);
    CHECK(strncmp(r.head, "HTTP/1.1 200 OK\r\n", 17) == 0);
    char v[64];
    CHECK(tr_header(&r, "Connection", v, sizeof(v)));
    CHECK_STR(v, "close");
    tr_free(&r);
    CHECK(tc_closed(&c));
    tc_close(&c);
    /* Connection: close on 1.1 too */
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    CHECK_EQ(tc_sends(&c, "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n"), 0);
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK(tr_header(&r, "Connection", v, sizeof(v)));
    tr_free(&r);
    CHECK(tc_closed(&c));
    tc_close(&c);
    CHECK(tsrv_stop(&ts));
}

TEST(http_head_and_405)
{
    struct tserver ts;
    CHECK(start(&ts, NULL));
    struct tconn c;
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    CHECK_EQ(tc_sends(&c, "HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
    struct tresp r;
    CHECK_EQ(tc_response_ex(&c, &r, true), 0);
    CHECK_EQ(r.status, 200);
    char v[64];
    CHECK(tr_header(&r, "Content-Length", v, sizeof(v)));
    CHECK_STR(v, "45");
    tr_free(&r);
    CHECK_EQ(tc_sends(&c, "DELETE /hello HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_EQ(r.status, 405);
    CHECK(tr_header(&r, "Allow", v, sizeof(v)));
    CHECK_STR(v, "GET, HEAD");
    CHECK_STR(r.body, "{\"status\":\"fail\",\"data\":\"method not allowed\"}");
    tr_free(&r);
    CHECK_EQ(tc_sends(&c, "GET /busy HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_EQ(r.status, 503);
    CHECK(tr_header(&r, "Retry-After", v, sizeof(v)));
    CHECK_STR(v, "60");
    CHECK_STR(r.body, "{\"status\":\"error\",\"message\":\"no capacity\",\"code\":503,"
                      "\"data\":{\"code\":\"no_capacity\"}}");
    tr_free(&r);
    CHECK(get_ok(&c, "/hello"));
    tc_close(&c);
    CHECK(tsrv_stop(&ts));
}

/* RFC 9110 §8.6: a 204 carries neither Content-Length nor Transfer-Encoding; the connection
 * stays usable after it. */
TEST(http_204_has_no_framing_header)
{
    struct tserver ts;
    CHECK(start(&ts, NULL));
    struct tconn c;
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    CHECK_EQ(tc_sends(&c, "GET /nocontent HTTP/1.1\r\nHost: t\r\n\r\n"), 0);
    struct tresp r;
    CHECK_EQ(tc_response_ex(&c, &r, true), 0);
    CHECK_EQ(r.status, 204);
    char v[64];
    CHECK(!tr_header(&r, "Content-Length", v, sizeof(v)));
    CHECK(!tr_header(&r, "Transfer-Encoding", v, sizeof(v)));
    tr_free(&r);
    CHECK(get_ok(&c, "/hello"));
    tc_close(&c);
    CHECK(tsrv_stop(&ts));
}

TEST(http_chunked_request_body)
{
    struct tserver ts;
    CHECK(start(&ts, NULL));
    struct tconn c;
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    CHECK_EQ(tc_sends(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: y\r\n\r\n"), 0);
    struct tresp r;
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_EQ(r.status, 200);
    CHECK_STR(r.body, "{\"status\":\"success\",\"data\":{\"len\":11,\"body\":\"hello world\"}}");
    tr_free(&r);
    /* the same request one byte per send: the parser is incremental */
    const char *req = "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "3\r\nabc\r\nA\r\n0123456789\r\n0\r\n\r\n";
    int one = 1;
    setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    for (size_t i = 0; req[i]; i++)
        CHECK_EQ(tc_send(&c, req + i, 1), 0);
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_STR(r.body, "{\"status\":\"success\",\"data\":{\"len\":13,\"body\":\"abc0123456789\"}}");
    tr_free(&r);
    tc_close(&c);
    CHECK(tsrv_stop(&ts));
}

TEST(http_content_length_body_and_empty_body)
{
    struct tserver ts;
    CHECK(start(&ts, NULL));
    struct tconn c;
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    CHECK_EQ(tc_sends(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 12\r\n\r\n"), 0);
    CHECK_EQ(tc_sends(&c, "{\"cmd\":\"ls\"}"), 0);
    struct tresp r;
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_EQ(r.status, 200);
    CHECK(strstr(r.body, "\"len\":12"));
    tr_free(&r);
    CHECK_EQ(tc_sends(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"), 0);
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_STR(r.body, "{\"status\":\"success\",\"data\":{\"len\":0,\"body\":\"\"}}");
    tr_free(&r);
    CHECK(get_ok(&c, "/hello"));
    tc_close(&c);
    CHECK(tsrv_stop(&ts));
}

TEST(http_expect_continue_accepted)
{
    struct tserver ts;
    CHECK(start(&ts, NULL));
    struct tconn c;
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    CHECK_EQ(tc_sends(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
                          "Expect: 100-continue\r\n\r\n"), 0);
    struct tresp r;
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_EQ(r.status, 100);
    tr_free(&r);
    CHECK_EQ(tc_sends(&c, "hello"), 0);
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_EQ(r.status, 200);
    CHECK(strstr(r.body, "\"body\":\"hello\""));
    tr_free(&r);
    CHECK(get_ok(&c, "/hello"));
    tc_close(&c);
    CHECK(tsrv_stop(&ts));
}

TEST(http_expect_continue_rejected)
{
    struct tserver ts;
    CHECK(start(&ts, NULL));
    struct tconn c;
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    CHECK_EQ(tc_sends(&c, "POST /reject HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n"
                          "Expect: 100-continue\r\n\r\n"), 0);
    struct tresp r;
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_EQ(r.status, 401); /* final status straight away, no 100 */
    CHECK_STR(r.body, "{\"status\":\"fail\",\"data\":\"missing or invalid credential\"}");
    char v[32];
    CHECK(tr_header(&r, "Connection", v, sizeof(v)));
    CHECK_STR(v, "close");
    tr_free(&r);
    CHECK(tc_closed(&c));
    tc_close(&c);
    /* an over-limit Content-Length with 100-continue: 413 without reading */
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    CHECK_EQ(tc_sends(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 9000000\r\n"
                          "Expect: 100-continue\r\n\r\n"), 0);
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_EQ(r.status, 413);
    tr_free(&r);
    CHECK(tc_closed(&c));
    tc_close(&c);
    CHECK(server_healthy(&ts));
    CHECK(tsrv_stop(&ts));
}

TEST(http_413_over_json_limit)
{
    struct tserver ts;
    CHECK(start(&ts, NULL));
    struct tconn c;
    /* Content-Length over 8 MiB: refused before the body */
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    CHECK_EQ(tc_sends(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 8388609\r\n\r\n"), 0);
    struct tresp r;
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_EQ(r.status, 413);
    CHECK_STR(r.body, "{\"status\":\"fail\",\"data\":{\"code\":\"payload_too_large\","
                      "\"message\":\"request body too large\"}}");
    tr_free(&r);
    CHECK(tc_closed(&c));
    tc_close(&c);
    /* chunked: the server stops at the limit */
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    CHECK_EQ(tc_sends(&c, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"), 0);
    static char chunk[65536 + 16];
    int hl = snprintf(chunk, sizeof(chunk), "10000\r\n");
    memset(chunk + hl, 'x', 65536);
    memcpy(chunk + hl + 65536, "\r\n", 2);
    bool answered = false;
    for (int i = 0; i < 200 && !answered; i++) {
        if (tc_send(&c, chunk, (size_t)hl + 65538) < 0)
            break;
        struct pollfd pfd = { .fd = c.fd, .events = POLLIN };
        answered = poll(&pfd, 1, 0) == 1;
    }
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_EQ(r.status, 413);
    CHECK(strstr(r.body, "payload_too_large"));
    tr_free(&r);
    tc_close(&c);
    CHECK(server_healthy(&ts));
    CHECK(tsrv_stop(&ts));
}

TEST(http_431_on_huge_headers)
{
    struct tserver ts;
    CHECK(start(&ts, NULL));
    struct tconn c;
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    static char big[80 * 1024];
    int n = snprintf(big, sizeof(big), "GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: ");
    memset(big + n, 'a', 70 * 1024);
    memcpy(big + n + 70 * 1024, "\r\n\r\n", 4);
    (void)tc_send(&c, big, (size_t)n + 70 * 1024 + 4); /* the server may stop reading early */
    struct tresp r;
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_EQ(r.status, 431);
    CHECK(strstr(r.body, "\"status\":\"fail\""));
    tr_free(&r);
    tc_close(&c);
    /* too many header fields */
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    n = snprintf(big, sizeof(big), "GET /hello HTTP/1.1\r\n");
    for (int i = 0; i < 200; i++)
        n += snprintf(big + n, sizeof(big) - (size_t)n, "X-H%d: v\r\n", i);
    n += snprintf(big + n, sizeof(big) - (size_t)n, "\r\n");
    (void)tc_send(&c, big, (size_t)n);
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_EQ(r.status, 431);
    tr_free(&r);
    tc_close(&c);
    /* just under the limit is fine */
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    n = snprintf(big, sizeof(big), "GET /hello HTTP/1.1\r\nHost: t\r\nX-Big: ");
    memset(big + n, 'a', 60 * 1024);
    memcpy(big + n + 60 * 1024, "\r\n\r\n", 4);
    CHECK_EQ(tc_send(&c, big, (size_t)n + 60 * 1024 + 4), 0);
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_EQ(r.status, 200);
    tr_free(&r);
    tc_close(&c);
    CHECK(tsrv_stop(&ts));
}

TEST(http_408_on_slow_headers)
{
    struct http_limits l;
    http_limits_default(&l);
    l.header_timeout_ms = 700;
    struct tserver ts;
    CHECK(start(&ts, &l));
    struct tconn c;
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    CHECK_EQ(tc_sends(&c, "GET /hello HTTP/1.1\r\nHost: t\r\n"), 0); /* never finished */
    struct tresp r;
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_EQ(r.status, 408);
    CHECK(strstr(r.body, "request_timeout"));
    tr_free(&r);
    CHECK(tc_closed(&c));
    tc_close(&c);
    /* a client that connects and says nothing gets the same */
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_EQ(r.status, 408);
    tr_free(&r);
    tc_close(&c);
    CHECK(server_healthy(&ts));
    CHECK(tsrv_stop(&ts));
}

TEST(http_idle_keepalive_closes)
{
    struct http_limits l;
    http_limits_default(&l);
    l.idle_timeout_ms = 300;
    struct tserver ts;
    CHECK(start(&ts, &l));
    struct tconn c;
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    CHECK(get_ok(&c, "/hello"));
    CHECK(tc_closed(&c)); /* silently, after the idle timeout */
    tc_close(&c);
    CHECK(tsrv_stop(&ts));
}

TEST(http_505_on_http2_preface)
{
    static const char want[] =
        "{\"status\":\"error\",\"message\":\"HTTP/2 is not supported; use HTTP/1.1\","
        "\"code\":505,\"data\":{\"code\":\"http_version\"}}";
    struct tserver ts;
    CHECK(start(&ts, NULL));
    for (int variant = 0; variant < 2; variant++) {
        struct tconn c;
        CHECK_EQ(tc_connect(&c, ts.port), 0);
        /* full preface, then only the request line: the reply must not wait for more */
        CHECK_EQ(tc_sends(&c, variant == 0 ? "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" : "PRI * HTTP/2.0"), 0);
        struct tresp r;
        CHECK_EQ(tc_response(&c, &r), 0);
        CHECK(strncmp(r.head, "HTTP/1.1 505 HTTP Version Not Supported\r\n", 41) == 0);
        char v[64];
        CHECK(tr_header(&r, "Content-Type", v, sizeof(v)));
        CHECK_STR(v, "application/json");
        CHECK(tr_header(&r, "Connection", v, sizeof(v)));
        CHECK_STR(v, "close");
        CHECK(tr_header(&r, "X-Request-Id", v, sizeof(v)));
        CHECK_STR(r.body, want);
        tr_free(&r);
        CHECK(tc_closed(&c));
        tc_close(&c);
    }
    CHECK(server_healthy(&ts));
    CHECK(tsrv_stop(&ts));
}

TEST(http_malformed_input_gets_400)
{
    static const struct { const char *req; size_t len; int status; } cases[] = {
#define C(s, st) { s, sizeof(s) - 1, st }
        C("GARBAGE\r\n\r\n", 400),
        C("GET\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nHost t\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\n: empty\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nX(y): z\r\n\r\n", 400),
        C("POST /echo HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello", 400),
        C("POST /echo HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello", 400),
        C("POST /echo HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        C("POST /echo HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
        C("POST /echo HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 400),
        C("POST /echo HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400),
        C("POST /echo HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", 400),
        C("POST /echo HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", 400),
        C("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400),
        C("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", 400),
        C("POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n", 400),
        C("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", 400),
        C("GET /\0 HTTP/1.1\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nX: caf\xc3\xa9\r\n\r\n", 400),
        C("GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nX\xff: y\r\n\r\n", 400),
        C("GET http://example.com/ HTTP/1.1\r\n\r\n", 400),
        C("GET / HTTP/2.0\r\n\r\n", 505),
        C("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", 400),
#undef C
    };
    struct tserver ts;
    CHECK(start(&ts, NULL));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tconn c;
        CHECK_EQ(tc_connect(&c, ts.port), 0);
        CHECK_EQ(tc_send(&c, cases[i].req, cases[i].len), 0);
        struct tresp r;
        int e = tc_response(&c, &r);
        if (e < 0 || r.status != cases[i].status) {
            harness_fail(__FILE__, __LINE__, "case %zu: err %d status %d", i, e, r.status);
            return;
        }
        char v[32];
        CHECK(tr_header(&r, "Content-Type", v, sizeof(v)));
        CHECK_STR(v, "application/json");
        CHECK(strstr(r.body, cases[i].status == 400 ? "{\"status\":\"fail\",\"data\":{\"code\":\"invalid_request\""
                                                    : "{\"status\":\"error\""));
        tr_free(&r);
        CHECK(tc_closed(&c));
        tc_close(&c);
        CHECK(server_healthy(&ts));
    }
    /* an overlong chunk-size line (extensions without end) */
    struct tconn c;
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    CHECK_EQ(tc_sends(&c, "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;"), 0);
    static char ext[32768];
    memset(ext, 'e', sizeof(ext));
    (void)tc_send(&c, ext, sizeof(ext));
    struct tresp r;
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_EQ(r.status, 400);
    tr_free(&r);
    tc_close(&c);
    CHECK(server_healthy(&ts));
    CHECK(tsrv_stop(&ts));
}

TEST(http_bad_escape_in_target_is_400_and_connection_lives)
{
    struct tserver ts;
    CHECK(start(&ts, NULL));
    struct tconn c;
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    const char *bad[] = { "/route/%zz", "/route/%", "/route?path=%g1", "/route/%00" };
    for (size_t i = 0; i < 4; i++) {
        char req[128];
        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", bad[i]);
        CHECK_EQ(tc_sends(&c, req), 0);
        struct tresp r;
        CHECK_EQ(tc_response(&c, &r), 0);
        CHECK_EQ(r.status, 400);
        CHECK(strstr(r.body, "invalid_request"));
        tr_free(&r);
    }
    CHECK_EQ(tc_sends(&c, "GET /route/a%2Fb/c%20d/?path=/srv/my+file.txt&path=/x&stream=1 HTTP/1.1\r\n\r\n"), 0);
    struct tresp r;
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_STR(r.body, "{\"status\":\"success\",\"data\":{\"segs\":[\"route\",\"a/b\",\"c d\"],"
                      "\"path\":\"/srv/my file.txt\",\"stream\":true}}");
    tr_free(&r);
    CHECK_EQ(tc_sends(&c, "GET /route?stream=yes HTTP/1.1\r\n\r\n"), 0);
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_EQ(r.status, 400);
    tr_free(&r);
    tc_close(&c);
    CHECK(tsrv_stop(&ts));
}

TEST(http_request_id_echo_or_generated)
{
    struct tserver ts;
    CHECK(start(&ts, NULL));
    struct tconn c;
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    static char longid[200];
    memset(longid, 'a', 129);
    char l128[129];
    memset(l128, 'b', 128);
    l128[128] = '\0';
    const struct { const char *sent; bool echoed; } cases[] = {
        { "abc-123.x:y_Z", true }, { l128, true }, { longid, false }, { "bad id", false },
        { "bad/id", false }, { "", false }, { NULL, false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char req[512];
        if (cases[i].sent)
            snprintf(req, sizeof(req), "GET /hello HTTP/1.1\r\nX-Request-Id: %s\r\n\r\n",
                     cases[i].sent);
        else
            snprintf(req, sizeof(req), "GET /hello HTTP/1.1\r\n\r\n");
        CHECK_EQ(tc_sends(&c, req), 0);
        struct tresp r;
        CHECK_EQ(tc_response(&c, &r), 0);
        char v[256];
        CHECK(tr_header(&r, "X-Request-Id", v, sizeof(v)));
        if (cases[i].echoed) {
            CHECK_STR(v, cases[i].sent);
        } else {
            CHECK_EQ(strlen(v), 30);
            CHECK(strncmp(v, "req_", 4) == 0);
            CHECK_EQ(strspn(v + 4, "0123456789ABCDEFGHJKMNPQRSTVWXYZ"), 26);
        }
        tr_free(&r);
    }
    /* errors carry it too */
    CHECK_EQ(tc_sends(&c, "GET /nope HTTP/1.1\r\nX-Request-Id: mine\r\n\r\n"), 0);
    struct tresp r;
    CHECK_EQ(tc_response(&c, &r), 0);
    char v[64];
    CHECK(tr_header(&r, "X-Request-Id", v, sizeof(v)));
    CHECK_STR(v, "mine");
    tr_free(&r);
    tc_close(&c);
    CHECK(tsrv_stop(&ts));
}

TEST(http_request_peer_is_the_socket_address)
{
    struct tserver ts;
    CHECK(start(&ts, NULL));
    struct tconn c;
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    /* a forwarding header changes nothing: only the socket's peer counts */
    CHECK_EQ(tc_sends(&c, "GET /peer HTTP/1.1\r\nX-Forwarded-For: 203.0.113.9\r\n\r\n"), 0);
    struct tresp r;
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_EQ(r.status, 200);
    CHECK(strstr(r.body, "\"peer\":\"127.0.0.1\"") != NULL);
    tr_free(&r);
    tc_close(&c);
    CHECK(tsrv_stop(&ts));
}

TEST(http_ndjson_arrives_chunk_by_chunk)
{
    struct tserver ts;
    CHECK(start(&ts, NULL));
    struct tconn c, ctl;
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    CHECK_EQ(tc_sends(&c, "GET /ndjson HTTP/1.1\r\n\r\n"), 0);
    char line[256];
    /* head */
    struct tresp r = { 0 };
    size_t hl = 0;
    for (;;) {
        CHECK_EQ(tc_line(&c, line, sizeof(line)), 0);
        hl += (size_t)snprintf(r.head + hl, sizeof(r.head) - hl, "%s\r\n", line);
        if (!line[0])
            break;
    }
    CHECK(strncmp(r.head, "HTTP/1.1 200 OK", 15) == 0);
    char v[64];
    CHECK(tr_header(&r, "Content-Type", v, sizeof(v)));
    CHECK_STR(v, "application/x-ndjson");
    CHECK(tr_header(&r, "Transfer-Encoding", v, sizeof(v)));
    CHECK_STR(v, "chunked");
    CHECK(tr_header(&r, "Cache-Control", v, sizeof(v)));
    CHECK_STR(v, "no-store");
    CHECK(tr_header(&r, "X-Accel-Buffering", v, sizeof(v)));
    CHECK_STR(v, "no");
    /* each line arrives as its own chunk before the next one is even produced */
    for (int i = 1; i <= 3; i++) {
        CHECK_EQ(tc_line(&c, line, sizeof(line)), 0);
        size_t n = strtoul(line, NULL, 16);
        char data[128] = { 0 };
        CHECK_EQ(tc_read_exact(&c, data, n + 2), 0);
        data[n] = '\0';
        if (i < 3) {
            char want[64];
            snprintf(want, sizeof(want), "{\"stdout\":\"line %d\"}\n", i);
            CHECK_STR(data, want);
            CHECK_EQ(tc_connect(&ctl, ts.port), 0);
            CHECK(get_ok(&ctl, "/next"));
            tc_close(&ctl);
        } else {
            CHECK_STR(data, "{\"exit_code\":0}\n");
        }
    }
    CHECK_EQ(tc_line(&c, line, sizeof(line)), 0);
    CHECK_STR(line, "0");
    CHECK_EQ(tc_line(&c, line, sizeof(line)), 0);
    CHECK_STR(line, "");
    CHECK(get_ok(&c, "/hello")); /* the connection is reusable after the stream */
    tc_close(&c);
    CHECK(tsrv_stop(&ts));
}

TEST(http_client_disconnect_fires_abort)
{
    struct tserver ts;
    CHECK(start(&ts, NULL));
    struct tconn c;
    /* mid-stream */
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    CHECK_EQ(tc_sends(&c, "GET /ndjson HTTP/1.1\r\n\r\n"), 0);
    char line[256];
    do
        CHECK_EQ(tc_line(&c, line, sizeof(line)), 0);
    while (line[0]);
    CHECK_EQ(tc_line(&c, line, sizeof(line)), 0); /* first chunk size */
    tc_close(&c);
    CHECK(tsrv_wait_event(&ts, "abort ndjson", NULL, 0, 5000));
    /* while the handler is still working, before any byte of the response */
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    CHECK_EQ(tc_sends(&c, "GET /hang HTTP/1.1\r\n\r\n"), 0);
    CHECK(tsrv_wait_event(&ts, "hang started", NULL, 0, 5000));
    tc_close(&c);
    CHECK(tsrv_wait_event(&ts, "abort hang", NULL, 0, 5000));
    CHECK(server_healthy(&ts));
    CHECK(tsrv_stop(&ts));
}

TEST_SLOW(http_large_streamed_upload_with_backpressure, 120)
{
    struct tserver ts;
    CHECK(start(&ts, NULL));
    struct tconn c;
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    const uint64_t total = 64ull << 20;
    char head[256];
    snprintf(head, sizeof(head), "PUT /upload HTTP/1.1\r\nHost: t\r\nContent-Length: %llu\r\n"
                                 "Expect: 100-continue\r\n\r\n", (unsigned long long)total);
    CHECK_EQ(tc_sends(&c, head), 0);
    struct tresp r;
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_EQ(r.status, 100);
    tr_free(&r);
    static uint8_t block[1 << 20];
    uint64_t sum = FNV_INIT;
    for (uint64_t off = 0; off < total; off += sizeof(block)) {
        for (size_t i = 0; i < sizeof(block); i++)
            block[i] = pattern_byte(off + i);
        sum = fnv1a(sum, block, sizeof(block));
        CHECK_EQ(tc_send(&c, block, sizeof(block)), 0);
    }
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_EQ(r.status, 200);
    json_t *j = json_loads(r.body, 0, NULL);
    CHECK(j);
    json_t *d = json_object_get(j, "data");
    CHECK_EQ(json_integer_value(json_object_get(d, "bytes")), (long long)total);
    char want[17];
    snprintf(want, sizeof(want), "%016llx", (unsigned long long)sum);
    CHECK_STR(json_string_value(json_object_get(d, "sum")), want);
    CHECK(json_integer_value(json_object_get(d, "pauses")) >= 100);
    json_decref(j);
    tr_free(&r);
    CHECK(get_ok(&c, "/hello"));
    tc_close(&c);
    /* chunked upload over its limit: 413, partial body discarded */
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    CHECK_EQ(tc_sends(&c, "PUT /upload?max=1000 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "3e8\r\n"), 0);
    memset(block, 'u', 1000);
    CHECK_EQ(tc_send(&c, block, 1000), 0);
    CHECK_EQ(tc_sends(&c, "\r\n1\r\nu\r\n0\r\n\r\n"), 0);
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_EQ(r.status, 413);
    tr_free(&r);
    CHECK(tsrv_wait_event(&ts, "upload err", NULL, 0, 5000));
    tc_close(&c);
    CHECK(tsrv_stop(&ts));
}

TEST_SLOW(http_large_download_slow_reader, 120)
{
    struct tserver ts;
    CHECK(start(&ts, NULL));
    struct tconn c;
    CHECK_EQ(tc_connect_rcvbuf(&c, ts.port, 16384), 0);
    const uint64_t total = 32ull << 20;
    char req[128];
    snprintf(req, sizeof(req), "GET /download?size=%llu HTTP/1.1\r\n\r\n", (unsigned long long)total);
    CHECK_EQ(tc_sends(&c, req), 0);
    char line[256];
    bool have_cl = false;
    for (;;) {
        CHECK_EQ(tc_line(&c, line, sizeof(line)), 0);
        if (!line[0])
            break;
        if (!strncasecmp(line, "Content-Length: ", 16))
            have_cl = strtoull(line + 16, NULL, 10) == total;
    }
    CHECK(have_cl);
    static char piece[4096];
    uint64_t off = 0;
    unsigned reads = 0;
    while (off < total) {
        size_t want = total - off < sizeof(piece) ? (size_t)(total - off) : sizeof(piece);
        CHECK_EQ(tc_read_exact(&c, piece, want), 0);
        for (size_t i = 0; i < want; i++)
            if ((uint8_t)piece[i] != pattern_byte(off + i)) {
                harness_fail(__FILE__, __LINE__, "byte %llu differs", (unsigned long long)(off + i));
                return;
            }
        off += want;
        if (++reads % 512 == 0) {
            struct timespec ts2 = { 0, 2000000 }; /* a slow reader, on purpose */
            nanosleep(&ts2, NULL);
        }
    }
    char ev[128];
    CHECK(tsrv_wait_event(&ts, "download maxpending", ev, sizeof(ev), 5000));
    size_t maxpend = strtoull(ev + strlen("download maxpending "), NULL, 10);
    CHECK(maxpend < 2 * 1024 * 1024); /* the producer waited for the socket to drain */
    CHECK(get_ok(&c, "/hello"));
    tc_close(&c);
    /* a reader that goes away mid-download aborts the producer */
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    CHECK_EQ(tc_sends(&c, "GET /download?size=1000000000 HTTP/1.1\r\n\r\n"), 0);
    CHECK_EQ(tc_read_exact(&c, piece, 1000), 0);
    tc_close(&c);
    CHECK(tsrv_wait_event(&ts, "abort download", NULL, 0, 5000));
    CHECK(tsrv_stop(&ts));
}

TEST(http_upgrade_hands_over_connection)
{
    struct tserver ts;
    CHECK(start(&ts, NULL));
    struct tconn c;
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    CHECK_EQ(tc_sends(&c, "POST /upgrade HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\n"
                          "Upgrade: tcp-tunnel\r\nX-Request-Id: up1\r\n\r\nearly bytes|"), 0);
    struct tresp r;
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_EQ(r.status, 101);
    char v[64];
    CHECK(tr_header(&r, "Upgrade", v, sizeof(v)));
    CHECK_STR(v, "tcp-tunnel");
    CHECK(tr_header(&r, "Connection", v, sizeof(v)));
    CHECK_STR(v, "Upgrade");
    CHECK(tr_header(&r, "X-Request-Id", v, sizeof(v)));
    CHECK_STR(v, "up1");
    tr_free(&r);
    char got[32] = { 0 };
    CHECK_EQ(tc_read_exact(&c, got, 12), 0);
    CHECK_STR(got, "early bytes|");
    CHECK_EQ(tc_sends(&c, "more"), 0);
    memset(got, 0, sizeof(got));
    CHECK_EQ(tc_read_exact(&c, got, 4), 0);
    CHECK_STR(got, "more");
    tc_close(&c);
    /* Upgrade: h2c on an ordinary route is served as HTTP/1.1 */
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    CHECK_EQ(tc_sends(&c, "GET /hello HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                          "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"), 0);
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_EQ(r.status, 200);
    tr_free(&r);
    CHECK(get_ok(&c, "/hello"));
    tc_close(&c);
    CHECK(tsrv_stop(&ts));
}

TEST_SLOW(http_1000_requests_one_connection_no_leaks, 120)
{
    struct tserver ts;
    CHECK(start(&ts, NULL));
    struct tconn c;
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    CHECK_EQ(tc_sends(&c, "GET /stats HTTP/1.1\r\n\r\n"), 0);
    struct tresp r;
    CHECK_EQ(tc_response(&c, &r), 0);
    json_t *j = json_loads(r.body, 0, NULL);
    long long fds0 = json_integer_value(json_object_get(json_object_get(j, "data"), "fds"));
    json_decref(j);
    tr_free(&r);
    for (int i = 0; i < 1000; i++) {
        const char *req = i % 3 == 0 ? "GET /hello HTTP/1.1\r\n\r\n"
                        : i % 3 == 1 ? "POST /echo HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"
                                     : "GET /nope?x=1 HTTP/1.1\r\n\r\n";
        CHECK_EQ(tc_sends(&c, req), 0);
        CHECK_EQ(tc_response(&c, &r), 0);
        CHECK_EQ(r.status, i % 3 == 2 ? 404 : 200);
        tr_free(&r);
    }
    CHECK_EQ(tc_sends(&c, "GET /stats HTTP/1.1\r\n\r\n"), 0);
    CHECK_EQ(tc_response(&c, &r), 0);
    j = json_loads(r.body, 0, NULL);
    long long fds1 = json_integer_value(json_object_get(json_object_get(j, "data"), "fds"));
    json_decref(j);
    tr_free(&r);
    CHECK_EQ(fds1, fds0);
    tc_close(&c);
    /* and 200 short connections */
    for (int i = 0; i < 200; i++) {
        CHECK_EQ(tc_connect(&c, ts.port), 0);
        CHECK(get_ok(&c, "/hello"));
        tc_close(&c);
    }
    CHECK(tsrv_stop(&ts)); /* exit status 0: LeakSanitizer found nothing in the server */
}

TEST(http_graceful_shutdown_finishes_inflight)
{
    struct tserver ts;
    CHECK(start(&ts, NULL));
    struct tconn c, idle;
    CHECK_EQ(tc_connect(&idle, ts.port), 0);
    CHECK(get_ok(&idle, "/hello"));
    CHECK_EQ(tc_connect(&c, ts.port), 0);
    CHECK_EQ(tc_sends(&c, "GET /delayed HTTP/1.1\r\n\r\n"), 0);
    CHECK(tsrv_wait_event(&ts, "delayed started", NULL, 0, 5000));
    kill(ts.pid, SIGTERM);
    struct tresp r;
    CHECK_EQ(tc_response(&c, &r), 0);
    CHECK_EQ(r.status, 200);
    CHECK_STR(r.body, "{\"status\":\"success\",\"data\":\"late\"}");
    char v[32];
    CHECK(tr_header(&r, "Connection", v, sizeof(v)));
    CHECK_STR(v, "close");
    tr_free(&r);
    CHECK(tc_closed(&c));
    CHECK(tc_closed(&idle));
    tc_close(&c);
    tc_close(&idle);
    int st = 0;
    CHECK_EQ(waitpid(ts.pid, &st, 0), ts.pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(ts.events);
}

TEST(http_listen_on_inherited_fd)
{
    tsrv_use_fd = true;
    struct tserver ts;
    CHECK(start(&ts, NULL));
    CHECK(ts.port != 0);
    CHECK(server_healthy(&ts));
    CHECK(tsrv_stop(&ts));
}
