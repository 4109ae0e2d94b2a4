/* SPDX-License-Identifier: MIT */
/* test_proc_calls.c: libhearth's managed-process calls (src/lib/proc_calls.c) against the
 * scripted HTTP server of tests/fakehttp.c: methods, escaped paths, queries and bodies on the
 * wire (input base64-encoded, pty set), connect's events decoded (data bytes, gap, exit with its
 * signal, heartbeat), a malformed event or bad base64 refused as a protocol error, and bad
 * arguments refused before any request. */
#include "fakehttp.h"
#include "harness.h"
#include "hearth/hearth.h"

#include <stdlib.h>
#include <string.h>

#define OK(data) "{\"status\":\"success\",\"data\":" data "}"
#define NDJSON "Content-Type: application/x-ndjson\r\n"

static hearth_client *client_for(const struct fake_http *f)
{
    hearth_client *c = hearth_client_new(f->url, "hk_test");
    if (c)
        hearth_client_set_retries(c, 0);
    return c;
}

TEST(calls_on_the_wire)
{
    static const struct fake_reply s[] = {
        { 200, NULL, OK("{\"process_id\":\"proc_A\",\"kind\":\"pty\"}") },
        { 200, NULL, OK("{\"input_seq\":1}") },
        { 200, NULL, OK("{\"ok\":true}") },
        { 200, NULL, OK("{\"ok\":true}") },
        { 200, NULL, OK("{\"process_id\":\"proc_A\",\"leader_exited\":true}") },
        { 200, NULL, OK("{\"process_id\":\"proc_A\"}") },
        { 200, NULL, OK("{\"processes\":[]}") },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 7))
        return;
    hearth_client *c = client_for(&f);
    hearth_body *b = hearth_body_new();
    struct hearth_error e;
    hearth_obj *p = NULL, *in = NULL, *w = NULL, *d = NULL, *l = NULL;
    int rc0 = hearth_body_set_str(b, "cmd", "sh") || hearth_body_set_pty(b, 30, 100);
    int rc1 = hearth_process_start(c, "sb-1", b, &p, &e);
    int rc2 = hearth_process_input(c, "sb-1", "proc_A", "\x03hi", 3, &in, &e);
    int rc3 = hearth_process_resize(c, "sb-1", "proc_A", 30, 100, &e);
    int rc4 = hearth_process_signal(c, "sb-1", "proc_A", "SIGINT", &e);
    int rc5 = hearth_process_wait(c, "sb-1", "proc_A", true, 5000, &w, &e);
    int rc6 = hearth_process_delete(c, "sb-1", "proc_A", 250, &d, &e);
    int rc7 = hearth_process_list(c, "sb-1", &l, &e);
    fake_http_stop(&f);
    CHECK(!rc0 && !rc1 && !rc2 && !rc3 && !rc4 && !rc5 && !rc6 && !rc7);
    CHECK(strstr(f.log, "POST /v1/sandboxes/sb-1/processes HTTP/1.1\n"
                        "{\"cmd\":\"sh\",\"pty\":{\"rows\":30,\"cols\":100}}\n") != NULL);
    CHECK(strstr(f.log, "POST /v1/sandboxes/sb-1/processes/proc_A/input HTTP/1.1\n"
                        "{\"data_base64\":\"A2hp\"}\n") != NULL);
    CHECK(strstr(f.log, "POST /v1/sandboxes/sb-1/processes/proc_A/resize HTTP/1.1\n"
                        "{\"rows\":30,\"cols\":100}\n") != NULL);
    CHECK(strstr(f.log, "{\"signal\":\"SIGINT\"}") != NULL);
    CHECK(strstr(f.log, "GET /v1/sandboxes/sb-1/processes/proc_A/wait?scope=tree&timeout_ms=5000 ")
          != NULL);
    CHECK(strstr(f.log, "DELETE /v1/sandboxes/sb-1/processes/proc_A?grace_ms=250 ") != NULL);
    CHECK(strstr(f.log, "GET /v1/sandboxes/sb-1/processes HTTP/1.1") != NULL);
    CHECK_EQ(hearth_obj_int(in, "input_seq", 0), 1);
    CHECK(hearth_obj_bool(w, "leader_exited", false));
    hearth_obj_free(p);
    hearth_obj_free(in);
    hearth_obj_free(w);
    hearth_obj_free(d);
    hearth_obj_free(l);
    hearth_body_free(b);
    hearth_client_free(c);
}

struct seen {
    char data[64];
    size_t len;
    int events[8];
    int n;
    long long gap;
    char signal[16];
};

static bool on_event(void *ud, const struct hearth_proc_event *ev)
{
    struct seen *s = ud;
    if (s->n < 8)
        s->events[s->n++] = ev->kind;
    if (ev->kind == HEARTH_PROC_DATA && s->len + ev->len < sizeof(s->data)) {
        memcpy(s->data + s->len, ev->data, ev->len);
        s->len += ev->len;
    }
    if (ev->kind == HEARTH_PROC_GAP)
        s->gap = ev->oldest_available_seq;
    if (ev->kind == HEARTH_PROC_EXIT && ev->signal)
        snprintf(s->signal, sizeof(s->signal), "%s", ev->signal);
    return true;
}

TEST(connect_events_decoded)
{
    static const struct fake_reply s[] = {
        { 200, NDJSON,
          "{\"type\":\"error\",\"error\":\"output before seq 5 was discarded\","
          "\"oldest_available_seq\":5}\n"
          "{\"type\":\"data\",\"seq\":5,\"stream\":\"stdout\",\"data_base64\":\"aGk=\"}\n"
          "{\"type\":\"heartbeat\"}\n"
          "{\"type\":\"data\",\"seq\":6,\"stream\":\"pty\",\"data_base64\":\"AA==\"}\n"
          "{\"type\":\"exit\",\"exit_code\":130,\"signal\":\"SIGINT\"}\n" },
        { 200, NDJSON, "{\"type\":\"data\",\"seq\":1,\"stream\":\"stdout\",\"data_base64\":\"a\"}\n" },
        { 200, NDJSON, "{\"type\":\"data\",\"seq\":1}\n" },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 3))
        return;
    hearth_client *c = client_for(&f);
    struct hearth_error e;
    struct seen a = { 0 }, b = { 0 };
    int code = 0;
    int rc1 = hearth_process_connect(c, "sb-1", "proc_A", 2, false, on_event, &a, &code, &e);
    int rc2 = hearth_process_connect(c, "sb-1", "proc_A", 0, true, on_event, &b, NULL, &e);
    int rc3 = hearth_process_connect(c, "sb-1", "proc_A", 0, true, on_event, &b, NULL, &e);
    fake_http_stop(&f);
    CHECK_EQ(rc1, HEARTH_OK);
    CHECK_EQ(code, 130);
    CHECK_EQ(a.n, 5);
    CHECK_EQ(a.events[0], HEARTH_PROC_GAP);
    CHECK_EQ(a.gap, 5);
    CHECK_EQ(a.events[2], HEARTH_PROC_HEARTBEAT);
    CHECK_EQ(a.len, 3);
    CHECK(memcmp(a.data, "hi\0", 3) == 0);
    CHECK_STR(a.signal, "SIGINT");
    CHECK(strstr(f.log, "GET /v1/sandboxes/sb-1/processes/proc_A/connect?after=2&follow=false ")
          != NULL);
    CHECK_EQ(rc2, HEARTH_ERR_PROTOCOL); /* "a" is not base64 */
    CHECK_EQ(rc3, HEARTH_ERR_PROTOCOL); /* data without its fields */
    hearth_client_free(c);
}

TEST(bad_arguments_refused_before_any_request)
{
    hearth_client *c = hearth_client_new("http://127.0.0.1:1", "hk_test");
    struct hearth_error e;
    static char big[(1 << 20) + 1];
    CHECK_EQ(hearth_process_get(c, "", "proc_A", NULL, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_process_get(c, "sb-1", "", NULL, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_process_input(c, "sb-1", "proc_A", big, sizeof(big), NULL, &e),
             HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_process_signal(c, "sb-1", "proc_A", NULL, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_process_connect(c, "sb-1", NULL, 0, true, NULL, NULL, NULL, &e),
             HEARTH_ERR_INVALID);
    hearth_client_free(c);
}
