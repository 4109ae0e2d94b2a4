/* SPDX-License-Identifier: MIT */
/* test_server_limits.c: the HTTP server's resource limits over real sockets (server.h): a
 * server out of file descriptors pauses its listener instead of spinning on it, reports once
 * per interval and accepts again once clients leave; a client that stops sending a body is
 * answered 408 and dropped after body_timeout_ms, one that stops reading a download is dropped
 * after write_timeout_ms (the producer's abort callback frees it). */
#include "http_test.h"

#include <stdio.h>

#include <jansson.h>

#include "daemon/http/request.h"
#include "daemon/http/response.h"

/* ---- the handler (runs in the server child) ---- */

struct dl {
    struct http_request *req;
    uint64_t size, sent;
};

static void dl_free(struct dl *d)
{
    http_request_unref(d->req);
    free(d);
}

static void dl_pump(struct http_request *req, void *ud)
{
    struct dl *d = ud;
    static uint8_t chunk[65536];
    while (d->sent < d->size && http_response_pending(req) < 1024 * 1024) {
        if (http_response_write(req, chunk, sizeof(chunk)) < 0)
            return;
        d->sent += sizeof(chunk);
    }
    if (d->sent >= d->size) {
        http_response_on_drain(req, NULL, NULL);
        http_response_end(req);
        tsrv_event("download done\n");
        dl_free(d);
    }
}

static void dl_on_abort(struct http_request *req, void *ud)
{
    tsrv_event("download aborted\n");
    dl_free(ud);
}

static void on_body_done(struct http_request *req, int err, void *ud)
{
    char ev[64];
    snprintf(ev, sizeof(ev), "body %d\n", err);
    tsrv_event(ev);
    if (!err)
        (void)jsend_reply_success(req, json_pack("{s:b}", "ok", 1));
    http_request_unref(req);
}

static void on_body_abort(struct http_request *req, void *ud)
{
    tsrv_event("body aborted\n");
    http_request_unref(req);
}

static void handler(struct http_request *req, void *ud)
{
    const struct http_path *p = http_request_path(req);
    const char *s0 = p->n > 0 ? p->seg[0] : "";
    if (!strcmp(s0, "download")) {
        struct dl *d = calloc(1, sizeof(*d));
        d->req = http_request_ref(req);
        d->size = 1ull << 30;
        http_request_on_abort(req, dl_on_abort, d);
        if (http_response_start(req, 200, "application/octet-stream", (int64_t)d->size) < 0) {
            dl_free(d);
            return;
        }
        http_response_on_drain(req, dl_pump, d);
        dl_pump(req, d);
    } else if (!strcmp(s0, "upload")) {
        http_request_ref(req);
        http_request_on_abort(req, on_body_abort, NULL);
        if (http_request_read_body(req, 0, on_body_done, NULL) < 0)
            http_request_unref(req);
    } else {
        (void)jsend_reply_success(req, json_pack("{s:s}", "hello", "world"));
    }
}

static bool healthy(uint16_t port)
{
    struct tconn c;
    REQUIRE(tc_connect(&c, port) == 0);
    REQUIRE(tc_sends(&c, "GET /hello HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
    struct tresp r;
    bool ok = tc_response(&c, &r) == 0 && r.status == 200;
    if (ok)
        tr_free(&r);
    tc_close(&c);
    return ok;
}

static void on_accept_error(int err, unsigned long count, void *ud)
{
    char ev[96];
    snprintf(ev, sizeof(ev), "accept error %d count %lu\n", err, count);
    tsrv_event(ev);
}

TEST_SLOW(http_out_of_fds_pauses_accepting_without_spinning, 60)
{
    struct tserver ts;
    tsrv_accept_error = on_accept_error;
    tsrv_nofile = 32; /* the child's own: the loop, the listener, the pipes, a few clients */
    if (!tsrv_start(&ts, NULL, handler, NULL))
        return;
    enum { N = 80 };
    struct tconn cs[N];
    int n = 0;
    for (int i = 0; i < N; i++)
        if (tc_connect(&cs[i], ts.port) == 0)
            n++;
        else
            cs[i].fd = -1;
    CHECK(n > 40);
    char ev[128];
    CHECK(tsrv_wait_event(&ts, "accept error", ev, sizeof(ev), 5000));
    CHECK(strstr(ev, "accept error -24 ") != NULL); /* -EMFILE */
    /* paused, not spinning: the child's CPU over 2 s is far below the 2 s a spin burns */
    double t0 = harness_cpu_s(ts.pid);
    usleep(2000 * 1000);
    double t1 = harness_cpu_s(ts.pid);
    CHECK(t0 >= 0 && t1 >= t0);
    if (t1 - t0 > 0.5)
        harness_fail(__FILE__, __LINE__, "server used %.2f s of CPU in 2 s", t1 - t0);
    /* one report per interval, not one per failure (many failures happened by now) */
    CHECK(!tsrv_wait_event(&ts, "accept error", NULL, 0, 500));
    for (int i = 0; i < N; i++)
        tc_close(&cs[i]);
    bool ok = false;
    for (int i = 0; i < 50 && !ok; i++) {
        ok = healthy(ts.port);
        if (!ok)
            usleep(100 * 1000);
    }
    CHECK(ok);
    CHECK(tsrv_stop(&ts));
}

TEST(http_stalled_upload_gets_408_and_is_dropped)
{
    struct tserver ts;
    struct http_limits l;
    http_limits_default(&l);
    l.body_timeout_ms = 1000;
    if (!tsrv_start(&ts, &l, handler, NULL))
        return;
    struct tconn c;
    CHECK(tc_connect(&c, ts.port) == 0);
    CHECK(tc_sends(&c, "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n"
                       "0123456789") == 0);
    struct tresp r;
    CHECK(tc_response(&c, &r) == 0);
    CHECK_EQ(r.status, 408);
    CHECK(strstr(r.body, "request body not received in time") != NULL);
    tr_free(&r);
    CHECK(tc_closed(&c));
    tc_close(&c);
    char ev[64];
    CHECK(tsrv_wait_event(&ts, "body ", ev, sizeof(ev), 5000));
    CHECK_STR(ev, "body -110"); /* -ETIMEDOUT: the handler's resources are released */
    CHECK(healthy(ts.port));
    CHECK(tsrv_stop(&ts));
}

TEST(http_download_nobody_reads_is_dropped)
{
    struct tserver ts;
    struct http_limits l;
    http_limits_default(&l);
    l.write_timeout_ms = 1000;
    if (!tsrv_start(&ts, &l, handler, NULL))
        return;
    struct tconn c;
    CHECK(tc_connect_rcvbuf(&c, ts.port, 4096) == 0);
    CHECK(tc_sends(&c, "GET /download HTTP/1.1\r\nHost: t\r\n\r\n") == 0);
    /* not one byte read: the socket fills, no write progress, the server gives up */
    CHECK(tsrv_wait_event(&ts, "download aborted", NULL, 0, 10000));
    tc_close(&c);
    CHECK(healthy(ts.port));
    CHECK(tsrv_stop(&ts));
}
