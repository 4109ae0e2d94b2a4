/* SPDX-License-Identifier: MIT */
/* test_lifecycle.c: hearth_sandbox_pause/resume/fork and hearth_sandbox_wait against a scripted
 * HTTP server on 127.0.0.1 (tests/fakehttp.c: one canned response per connection):
 * 200 vs 202 and X-Poll-After, 409 invalid_state, the fork body on the wire, and the wait loop
 * (target reached, dead ends, the failed-pause case, timeout, abort, hostile replies). */
#include "fakehttp.h"
#include "harness.h"
#include "hearth/hearth.h"

#include <stdlib.h>

static hearth_client *client_for(const struct fake_http *f)
{
    hearth_client *c = hearth_client_new(f->url, "hk_test");
    if (c)
        hearth_client_set_retries(c, 0);
    return c;
}

#define VIEW(st) "{\"status\":\"success\",\"data\":{\"id\":\"sb-1\",\"name\":\"n\",\"status\":\"" st "\"}}"

TEST(pause_202_carries_poll_after)
{
    static const struct fake_reply s[] = { { 202, "X-Poll-After: 3\r\n", VIEW("pausing") } };
    struct fake_http f;
    if (!fake_http_start(&f, s, 1))
        return;
    hearth_client *c = client_for(&f);
    hearth_obj *o = NULL;
    struct hearth_async as = { -1, -1 };
    struct hearth_error e;
    int rc = hearth_sandbox_pause(c, "sb-1", &o, &as, &e);
    fake_http_stop(&f);
    CHECK_EQ(rc, HEARTH_OK);
    CHECK_EQ(as.http_status, 202);
    CHECK_EQ(as.poll_after_ms, 3000);
    CHECK_STR(hearth_obj_str(o, "status"), "pausing");
    CHECK(strncmp(f.log, "POST /v1/sandboxes/sb-1/pause HTTP/1.1\n", 39) == 0);
    hearth_obj_free(o);
    hearth_client_free(c);
}

TEST(pause_and_resume_200_already_there)
{
    static const struct fake_reply s[] = { { 200, "X-Poll-After: 9\r\n", VIEW("paused") },
                                       { 200, NULL, VIEW("running") } };
    struct fake_http f;
    if (!fake_http_start(&f, s, 2))
        return;
    hearth_client *c = client_for(&f);
    hearth_obj *o = NULL, *o2 = NULL;
    struct hearth_async as = { -1, -1 }, as2 = { -1, -1 };
    int rc = hearth_sandbox_pause(c, "sb-1", &o, &as, NULL);
    int rc2 = hearth_sandbox_resume(c, "sb-1", &o2, &as2, NULL);
    fake_http_stop(&f);
    CHECK_EQ(rc, HEARTH_OK);
    CHECK_EQ(rc2, HEARTH_OK);
    CHECK_EQ(as.http_status, 200);
    CHECK_EQ(as.poll_after_ms, 0); /* only a 202 asks for a poll */
    CHECK_EQ(as2.http_status, 200);
    CHECK_STR(hearth_obj_str(o2, "status"), "running");
    CHECK(strstr(f.log, "POST /v1/sandboxes/sb-1/resume ") != NULL);
    hearth_obj_free(o);
    hearth_obj_free(o2);
    hearth_client_free(c);
}

TEST(poll_after_missing_or_bad_reads_as_one_second)
{
    static const struct fake_reply s[] = { { 202, NULL, VIEW("resuming") },
                                       { 202, "X-Poll-After: soon\r\n", VIEW("resuming") },
                                       { 202, "X-Poll-After: 0\r\n", VIEW("resuming") },
                                       { 202, "X-Poll-After: 99999999999999999999\r\n",
                                         VIEW("resuming") } };
    struct fake_http f;
    if (!fake_http_start(&f, s, 4))
        return;
    hearth_client *c = client_for(&f);
    int want[] = { 1000, 1000, 1000, 3600000 };
    for (size_t i = 0; i < 4; i++) {
        struct hearth_async as = { -1, -1 };
        int rc = hearth_sandbox_resume(c, "sb-1", NULL, &as, NULL);
        if (rc != HEARTH_OK || as.http_status != 202 || as.poll_after_ms != want[i])
            harness_fail(__FILE__, __LINE__, "case %zu: rc %d status %d poll %d", i, rc,
                         as.http_status, as.poll_after_ms);
    }
    fake_http_stop(&f);
    hearth_client_free(c);
}

TEST(resume_409_invalid_state_is_typed_and_not_retried)
{
    static const struct fake_reply s[] = {
        { 409, NULL,
          "{\"status\":\"fail\",\"data\":{\"code\":\"invalid_state\",\"state\":\"creating\","
          "\"message\":\"sandbox is creating; resume needs paused or error\"}}" },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 1))
        return;
    hearth_client *c = hearth_client_new(f.url, "hk_test"); /* default retries */
    hearth_obj *o = NULL;
    struct hearth_async as = { -1, -1 };
    struct hearth_error e;
    int rc = hearth_sandbox_resume(c, "sb-1", &o, &as, &e);
    fake_http_stop(&f);
    CHECK_EQ(rc, HEARTH_ERR_REJECTED);
    CHECK(o == NULL);
    CHECK_EQ(as.http_status, -1); /* untouched on failure */
    CHECK_EQ(e.http_status, 409);
    CHECK_STR(e.api_code, "invalid_state");
    CHECK_STR(e.state, "creating");
    CHECK_STR(e.request_id, "req_0");
    CHECK_EQ(fake_http_count(f.log, "POST "), 1);
    hearth_client_free(c);
}

TEST(fork_sends_every_body_field_and_returns_the_child)
{
    static const struct fake_reply s[] = {
        { 202, "X-Poll-After: 1\r\n",
          "{\"status\":\"success\",\"data\":{\"id\":\"sb-2\",\"status\":\"forking\","
          "\"forked_from\":\"sb-1\"}}" },
        { 409, NULL,
          "{\"status\":\"fail\",\"data\":{\"code\":\"invalid_state\",\"state\":\"running\","
          "\"message\":\"pause the source first\"}}" },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 2))
        return;
    hearth_client *c = client_for(&f);
    hearth_body *b = hearth_body_new();
    CHECK(b);
    CHECK_EQ(hearth_body_set_bool(b, "start_paused", true), HEARTH_OK);
    CHECK_EQ(hearth_body_set_str(b, "name", "kid-1"), HEARTH_OK);
    CHECK_EQ(hearth_body_append_str(b, "ssh_pubkeys", "ssh-ed25519 AAAA k"), HEARTH_OK);
    CHECK_EQ(hearth_body_append_str(b, "egress", "github.com"), HEARTH_OK);
    CHECK_EQ(hearth_body_set_bool(b, "ingress_enabled", false), HEARTH_OK);
    CHECK_EQ(hearth_body_set_map(b, "envs", "A", "1"), HEARTH_OK);
    CHECK_EQ(hearth_body_set_int(b, "bandwidth_quota_bytes", -1), HEARTH_OK);
    CHECK_EQ(hearth_body_set_int(b, "auto_pause_after_seconds", 600), HEARTH_OK);
    hearth_obj *o = NULL;
    struct hearth_async as = { 0 };
    struct hearth_error e;
    int rc = hearth_sandbox_fork(c, "sb-1", b, &o, &as, &e);
    int rc2 = hearth_sandbox_fork(c, "sb-1", NULL, NULL, NULL, &e);
    fake_http_stop(&f);
    CHECK_EQ(rc, HEARTH_OK);
    CHECK_EQ(as.http_status, 202);
    CHECK_EQ(as.poll_after_ms, 1000);
    CHECK_STR(hearth_obj_str(o, "id"), "sb-2");
    CHECK_STR(hearth_obj_str(o, "forked_from"), "sb-1");
    CHECK(strstr(f.log, "POST /v1/sandboxes/sb-1/fork HTTP/1.1\n{") == f.log);
    static const char *const fields[] = {
        "\"start_paused\":true", "\"name\":\"kid-1\"", "\"ssh_pubkeys\":[\"ssh-ed25519 AAAA k\"]",
        "\"egress\":[\"github.com\"]", "\"ingress_enabled\":false", "\"envs\":{\"A\":\"1\"}",
        "\"bandwidth_quota_bytes\":-1", "\"auto_pause_after_seconds\":600",
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (!strstr(f.log, fields[i]))
            harness_fail(__FILE__, __LINE__, "body lacks %s: %s", fields[i], f.log);
    /* a NULL body is sent as {} */
    CHECK(strstr(f.log, "/fork HTTP/1.1\n{}\n") != NULL);
    CHECK_EQ(rc2, HEARTH_ERR_REJECTED);
    CHECK_STR(e.state, "running");
    hearth_obj_free(o);
    hearth_body_free(b);
    hearth_client_free(c);
}

struct seen {
    char list[256];
    unsigned calls;
};

static void on_status(void *ud, const char *status)
{
    struct seen *s = ud;
    size_t used = strlen(s->list);
    snprintf(s->list + used, sizeof(s->list) - used, "%s%s", used ? "," : "", status);
    s->calls++;
}

TEST(wait_honours_first_poll_and_reports_each_change)
{
    static const struct fake_reply s[] = { { 200, NULL, VIEW("pausing") },
                                       { 200, NULL, VIEW("pausing") },
                                       { 200, NULL, VIEW("paused") } };
    struct fake_http f;
    if (!fake_http_start(&f, s, 3))
        return;
    hearth_client *c = client_for(&f);
    struct seen seen = { "", 0 };
    struct hearth_wait w = { .target = "paused", .timeout_ms = 10000, .first_poll_ms = 400,
                             .on_status = on_status, .userdata = &seen };
    hearth_obj *o = NULL;
    struct hearth_error e;
    uint64_t t0 = harness_now_us();
    int rc = hearth_sandbox_wait(c, "sb-1", &w, &o, &e);
    uint64_t took_ms = (harness_now_us() - t0) / 1000;
    fake_http_stop(&f);
    CHECK_EQ(rc, HEARTH_OK);
    CHECK_STR(hearth_obj_str(o, "status"), "paused");
    CHECK_STR(seen.list, "pausing,paused");
    /* a server without the long poll (no X-Wait-Timed-Out) answers the first GET at once;
     * then the polling as before: X-Poll-After, then 250 ms intervals (lower bounds only) */
    CHECK_EQ(fake_http_count(f.log, "GET /v1/sandboxes/sb-1?wait_for=paused,pausing&"), 1);
    CHECK_EQ(fake_http_count(f.log, "GET /v1/sandboxes/sb-1 HTTP/1.1"), 2);
    CHECK_INT(took_ms, >=, 400 + 250);
    hearth_obj_free(o);
    hearth_client_free(c);
}

/* docs/api.md §5.10: the server holds each GET until the status is wanted; no sleeping here. A
 * wait for paused asks for pausing first, then for paused or running (a failed pause). */
TEST(wait_long_polls_when_the_server_knows_wait_for)
{
    static const struct fake_reply s[] = {
        { 200, "X-Wait-Timed-Out: 1\r\n", VIEW("running") },
        { 200, "X-Wait-Timed-Out: 0\r\n", VIEW("pausing") },
        { 200, "X-Wait-Timed-Out: 0\r\n", VIEW("paused") },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 3))
        return;
    hearth_client *c = client_for(&f);
    struct seen seen = { "", 0 };
    struct hearth_wait w = { .target = "paused", .timeout_ms = 100000, .first_poll_ms = 5000,
                             .on_status = on_status, .userdata = &seen };
    hearth_obj *o = NULL;
    struct hearth_error e;
    int rc = hearth_sandbox_wait(c, "sb-1", &w, &o, &e);
    fake_http_stop(&f);
    CHECK_EQ(rc, HEARTH_OK);
    CHECK_STR(hearth_obj_str(o, "status"), "paused");
    CHECK_STR(seen.list, "running,pausing,paused");
    CHECK_EQ(fake_http_count(f.log, "sb-1?wait_for=paused,pausing&timeout_ms=25000 "), 2);
    CHECK_EQ(fake_http_count(f.log, "sb-1?wait_for=paused,running&timeout_ms=25000 "), 1);
    CHECK_EQ(fake_http_count(f.log, "GET /v1/sandboxes/sb-1 HTTP/1.1"), 0);
    hearth_obj_free(o);
    hearth_client_free(c);
}

/* All of the server's waiters taken (429 too_many_waiters): the wait polls instead. */
TEST(wait_polls_when_the_server_has_no_room_to_wait)
{
    static const struct fake_reply s[] = {
        { 429, "Retry-After: 1\r\n",
          "{\"status\":\"error\",\"message\":\"too many\",\"code\":\"too_many_waiters\"}" },
        { 200, NULL, VIEW("paused") },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 2))
        return;
    hearth_client *c = client_for(&f);
    struct hearth_wait w = { .target = "paused", .timeout_ms = 10000 };
    struct hearth_error e;
    int rc = hearth_sandbox_wait(c, "sb-1", &w, NULL, &e);
    fake_http_stop(&f);
    CHECK_EQ(rc, HEARTH_OK);
    CHECK_EQ(fake_http_count(f.log, "GET /v1/sandboxes/sb-1?wait_for=paused,pausing&"), 1);
    CHECK_EQ(fake_http_count(f.log, "GET /v1/sandboxes/sb-1 HTTP/1.1"), 1);
    hearth_client_free(c);
}

TEST(wait_fails_fast_on_dead_ends)
{
    static const struct {
        const char *target;
        const char *states[3];
        int rc;
        const char *state;
    } cases[] = {
        { "running", { "resuming", "error" }, HEARTH_ERR_STATE, "error" },
        { "running", { "forking", "failed" }, HEARTH_ERR_STATE, "failed" },
        { "running", { "destroying" }, HEARTH_ERR_STATE, "destroying" },
        { "paused", { "destroyed" }, HEARTH_ERR_STATE, "destroyed" },
        { "paused", { "pausing", "running" }, HEARTH_ERR_STATE, "running" },
        { "destroyed", { "destroying", "destroyed" }, HEARTH_OK, "" },
        { "destroyed", { "failed" }, HEARTH_ERR_STATE, "failed" },
        { "running", { "forking", "resuming", "running" }, HEARTH_OK, "" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        static char bodies[3][160];
        struct fake_reply s[3];
        size_t n = 0;
        for (; n < 3 && cases[i].states[n]; n++) {
            snprintf(bodies[n], sizeof(bodies[n]),
                     "{\"status\":\"success\",\"data\":{\"id\":\"sb-1\",\"status\":\"%s\"}}",
                     cases[i].states[n]);
            s[n] = (struct fake_reply){ 200, NULL, bodies[n] };
        }
        struct fake_http f;
        if (!fake_http_start(&f, s, n))
            return;
        hearth_client *c = client_for(&f);
        struct hearth_wait w = { .target = cases[i].target, .timeout_ms = 10000 };
        struct hearth_error e;
        int rc = hearth_sandbox_wait(c, "sb-1", &w, NULL, &e);
        fake_http_stop(&f);
        hearth_client_free(c);
        if (rc != cases[i].rc || (rc != HEARTH_OK && strcmp(e.state, cases[i].state) != 0) ||
            fake_http_count(f.log, "GET ") != n)
            harness_fail(__FILE__, __LINE__, "case %zu: rc %d state '%s' (%s) after %zu GETs",
                         i, rc, e.state, e.message, fake_http_count(f.log, "GET "));
    }
}

TEST(wait_times_out_with_the_last_state)
{
    struct fake_reply s[40];
    for (size_t i = 0; i < 40; i++)
        s[i] = (struct fake_reply){ 200, NULL, VIEW("resuming") };
    struct fake_http f;
    if (!fake_http_start(&f, s, 40))
        return;
    hearth_client *c = client_for(&f);
    struct hearth_wait w = { .target = "running", .timeout_ms = 700 };
    struct hearth_error e;
    int rc = hearth_sandbox_wait(c, "sb-1", &w, NULL, &e);
    fake_http_stop(&f);
    CHECK_EQ(rc, HEARTH_ERR_TIMEOUT);
    CHECK_STR(e.state, "resuming");
    CHECK(strstr(e.message, "timed out") != NULL);
    CHECK_INT(fake_http_count(f.log, "GET "), >=, 2);
    hearth_client_free(c);
}

static bool stop_now(void *ud)
{
    return false;
}

TEST(wait_stops_when_progress_says_so)
{
    static const struct fake_reply s[] = { { 200, NULL, VIEW("pausing") } };
    struct fake_http f;
    if (!fake_http_start(&f, s, 1))
        return;
    hearth_client *c = client_for(&f);
    hearth_client_set_progress(c, stop_now, NULL);
    struct hearth_wait w = { .target = "paused", .first_poll_ms = 5000 };
    struct hearth_error e;
    int rc = hearth_sandbox_wait(c, "sb-1", &w, NULL, &e);
    fake_http_stop(&f);
    CHECK_EQ(rc, HEARTH_ERR_ABORTED);
    CHECK_EQ(fake_http_count(f.log, "GET "), 0);
    hearth_client_free(c);
}

TEST(wait_rejects_bad_arguments_without_a_request)
{
    hearth_client *c = hearth_client_new("http://127.0.0.1:9", "hk_test");
    struct hearth_error e;
    static const char *const bad[] = { "error", "", "RUNNING", "running ", "pausing" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct hearth_wait w = { .target = bad[i] };
        CHECK_EQ(hearth_sandbox_wait(c, "sb-1", &w, NULL, &e), HEARTH_ERR_INVALID);
    }
    struct hearth_wait none = { 0 };
    CHECK_EQ(hearth_sandbox_wait(c, "sb-1", &none, NULL, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_sandbox_wait(c, "sb-1", NULL, NULL, &e), HEARTH_ERR_INVALID);
    struct hearth_wait ok = { .target = "running" };
    CHECK_EQ(hearth_sandbox_wait(c, "", &ok, NULL, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_sandbox_pause(c, "", NULL, NULL, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_sandbox_fork(c, NULL, NULL, NULL, NULL, &e), HEARTH_ERR_INVALID);
    hearth_client_free(c);
}

TEST(hostile_replies_give_protocol_errors)
{
    static const struct fake_reply s[] = {
        { 202, "X-Poll-After: 1\r\n", "<html>accepted</html>" },
        { 202, NULL, "{\"status\":\"success\"}" },
        { 200, NULL, "{\"status\":\"success\",\"data\":{\"id\":\"sb-1\"}}" },
        { 200, NULL, "{\"status\":\"success\",\"data\":{\"id\":\"sb-1\",\"status\":"
                     "\"\\u001b[31mrunning-and-more-than-thirty-two-bytes-long\"}}" },
        { 200, NULL, "{\"status\":\"success\",\"data\":{\"id\":\"sb-1\",\"status\":"
                     "\"\\u001b[31mrunning-and-more-than-thirty-two-bytes-long\"}}" },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 5))
        return;
    hearth_client *c = client_for(&f);
    struct hearth_async as = { -1, -1 };
    struct hearth_error e;
    CHECK_EQ(hearth_sandbox_pause(c, "sb-1", NULL, &as, &e), HEARTH_ERR_PROTOCOL);
    CHECK_EQ(as.http_status, -1);
    CHECK_EQ(hearth_sandbox_fork(c, "sb-1", NULL, NULL, &as, &e), HEARTH_ERR_PROTOCOL);
    struct hearth_wait w = { .target = "running", .timeout_ms = 300 };
    CHECK_EQ(hearth_sandbox_wait(c, "sb-1", &w, NULL, &e), HEARTH_ERR_PROTOCOL);
    /* an unknown status is waited on (not a dead end); it is shown cleaned and cut */
    struct seen seen = { "", 0 };
    /* a budget of a few polls: a 1 ms one raced the request itself on a loaded machine */
    w = (struct hearth_wait){ .target = "running", .timeout_ms = 100, .on_status = on_status,
                              .userdata = &seen };
    CHECK_EQ(hearth_sandbox_wait(c, "sb-1", &w, NULL, &e), HEARTH_ERR_TIMEOUT);
    fake_http_stop(&f);
    CHECK_EQ(seen.calls, 1);
    CHECK(strchr(seen.list, '\x1b') == NULL);
    CHECK_INT(strlen(e.state), <, sizeof(e.state));
    hearth_client_free(c);
}
