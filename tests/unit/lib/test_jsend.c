/* SPDX-License-Identifier: MIT */
/* test_jsend.c: JSend decoding into typed errors, with malformed and hostile bodies. */
#include "lib/jsend_read.h"
#include "harness.h"

#include <stdlib.h>

TEST(jsend_status_mapping)
{
    static const struct { int status, err; } cases[] = {
        { 200, HEARTH_OK }, { 202, HEARTH_OK }, { 400, HEARTH_ERR_REJECTED },
        { 401, HEARTH_ERR_AUTH }, { 403, HEARTH_ERR_FORBIDDEN }, { 404, HEARTH_ERR_NOT_FOUND },
        { 405, HEARTH_ERR_REJECTED }, { 408, HEARTH_ERR_TIMEOUT }, { 409, HEARTH_ERR_REJECTED },
        { 413, HEARTH_ERR_REJECTED }, { 422, HEARTH_ERR_REJECTED },
        { 429, HEARTH_ERR_RATE_LIMITED }, { 500, HEARTH_ERR_SERVER },
        { 501, HEARTH_ERR_NOT_IMPLEMENTED }, { 502, HEARTH_ERR_SERVER },
        { 503, HEARTH_ERR_UNAVAILABLE }, { 505, HEARTH_ERR_SERVER }, { 302, HEARTH_ERR_PROTOCOL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK_EQ(jsend_err_from_status(cases[i].status), cases[i].err);
}

TEST(jsend_fail_string)
{
    struct hearth_error e;
    const char *b = "{\"status\":\"fail\",\"data\":\"sandbox not found\"}";
    CHECK_EQ(jsend_decode_error(404, b, strlen(b), "req_1", &e), HEARTH_ERR_NOT_FOUND);
    CHECK_STR(e.message, "sandbox not found");
    CHECK_STR(e.request_id, "req_1");
    CHECK_STR(e.api_code, "");
    CHECK_EQ(e.http_status, 404);
}

TEST(jsend_fail_object_with_message_and_state)
{
    struct hearth_error e;
    const char *b = "{\"status\":\"fail\",\"data\":{\"code\":\"invalid_state\",\"state\":\"paused\","
                    "\"message\":\"sandbox is paused; exec needs running\"}}";
    CHECK_EQ(jsend_decode_error(409, b, strlen(b), NULL, &e), HEARTH_ERR_REJECTED);
    CHECK_STR(e.api_code, "invalid_state");
    CHECK_STR(e.state, "paused");
    CHECK_STR(e.message, "sandbox is paused; exec needs running");
}

TEST(jsend_fail_object_fields)
{
    struct hearth_error e;
    const char *b = "{\"status\":\"fail\",\"data\":{\"shape\":\"unknown shape: s-bad\","
                    "\"envs.A\":\"too long\",\"code\":\"unknown_reference\"}}";
    CHECK_EQ(jsend_decode_error(400, b, strlen(b), NULL, &e), HEARTH_ERR_REJECTED);
    CHECK_STR(e.api_code, "unknown_reference");
    CHECK_STR(e.message, "shape: unknown shape: s-bad; envs.A: too long");
}

TEST(jsend_error_form)
{
    struct hearth_error e;
    const char *b = "{\"status\":\"error\",\"message\":\"no host can take it\",\"code\":503,"
                    "\"data\":{\"code\":\"no_capacity\"}}";
    CHECK_EQ(jsend_decode_error(503, b, strlen(b), NULL, &e), HEARTH_ERR_UNAVAILABLE);
    CHECK_STR(e.api_code, "no_capacity");
    CHECK_STR(e.message, "no host can take it");
}

TEST(jsend_malformed_bodies_still_give_an_error)
{
    static const char *const bodies[] = {
        "", "<html>502 Bad Gateway</html>", "{", "{\"status\":\"fail\"}",
        "{\"status\":\"fail\",\"data\":null}", "{\"status\":\"fail\",\"data\":42}",
        "{\"status\":\"error\"}", "{\"status\":\"error\",\"message\":7,\"data\":\"x\"}",
        "{\"status\":5,\"data\":\"x\"}", "[]", "null", "\"fail\"",
        "{\"status\":\"fail\",\"data\":{\"code\":7,\"message\":[1]}}",
        "{\"status\":\"fail\",\"data\":{\"f\":{\"nested\":1}}}",
    };
    for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
        struct hearth_error e;
        CHECK_EQ(jsend_decode_error(502, bodies[i], strlen(bodies[i]), NULL, &e),
                 HEARTH_ERR_SERVER);
        CHECK(e.message[0] != '\0');
        CHECK(strlen(e.message) < sizeof(e.message));
    }
}

TEST(jsend_message_is_one_line_and_bounded)
{
    struct hearth_error e;
    char body[4096];
    char big[2000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    snprintf(body, sizeof(body), "{\"status\":\"fail\",\"data\":\"a\\nb\\u001b[31m%s\"}", big);
    jsend_decode_error(400, body, strlen(body), "id\x01\n", &e);
    CHECK(strchr(e.message, '\n') == NULL);
    CHECK(strchr(e.message, '\x1b') == NULL);
    CHECK_EQ(strlen(e.message), sizeof(e.message) - 1);
    CHECK(strchr(e.request_id, '\n') == NULL);
}

TEST(jsend_success)
{
    json_t *data = NULL;
    struct hearth_error e;
    const char *b = "{\"status\":\"success\",\"data\":{\"up\":true}}";
    CHECK_EQ(jsend_decode_success(b, strlen(b), &data, &e), HEARTH_OK);
    CHECK(json_is_true(json_object_get(data, "up")));
    json_decref(data);
    static const char *const bad[] = { "", "{}", "{\"status\":\"fail\",\"data\":{}}",
                                       "{\"status\":\"success\"}", "[1]", "{\"data\":1}" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        data = NULL;
        CHECK_EQ(jsend_decode_success(bad[i], strlen(bad[i]), &data, &e), HEARTH_ERR_PROTOCOL);
        CHECK(data == NULL);
    }
}

TEST(strerror_table)
{
    CHECK_STR(hearth_strerror(HEARTH_OK), "success");
    CHECK_STR(hearth_strerror(HEARTH_ERR_NOT_FOUND), "not found");
    CHECK_STR(hearth_strerror(12345), "unknown error");
    CHECK_STR(hearth_err_name(HEARTH_ERR_ABORTED), "ABORTED");
    CHECK_EQ(HEARTH_ERR_ABORTED, -15); /* values are append-only */
}
