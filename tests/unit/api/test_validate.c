/* SPDX-License-Identifier: MIT */
/* test_validate.c: request validation of api/validate.h that is a pure function of the body:
 * the resize body (§3.3.4): larger than the current disk, at most the operator maximum, an
 * integer, an object; the exec body (§3.4.1): each bad field named, what is taken; field names
 * and messages that quote the body stay valid UTF-8 where they cut it (found by fuzz_validate). */
#include <jansson.h>
#include <string.h>

#include "daemon/api/auth.h"
#include "daemon/api/validate.h"
#include "daemon/ctl/ctl.h"
#include "harness.h"

TEST(resize_body)
{
    static const struct { const char *body; int ret; long long want; const char *msg; } cases[] = {
        { "{\"disk_mib\":10241}", 0, 10241, NULL },
        { "{\"disk_mib\":262144}", 0, 262144, NULL },
        { "{\"disk_mib\":20480,\"other\":1}", 0, 20480, NULL },
        { "{\"disk_mib\":10240}", 400, 0, "must be larger than 10240" },
        { "{\"disk_mib\":1024}", 400, 0, "must be larger than 10240" },
        { "{\"disk_mib\":0}", 400, 0, "must be larger than 10240" },
        { "{\"disk_mib\":-1}", 400, 0, "must be larger than 10240" },
        { "{\"disk_mib\":262145}", 400, 0, "must be at most 262144" },
        { "{\"disk_mib\":9223372036854775807}", 400, 0, "must be at most 262144" },
        { "{\"disk_mib\":\"20480\"}", 400, 0, "must be an integer" },
        { "{\"disk_mib\":20480.5}", 400, 0, "must be an integer" },
        { "{\"disk_mib\":true}", 400, 0, "must be an integer" },
        { "{\"disk_mib\":[20480]}", 400, 0, "must be an integer" },
        { "{\"disk_mib\":null}", 400, 0, "is required" },
        { "{}", 400, 0, "is required" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *body = json_loads(cases[i].body, 0, NULL);
        CHECK(body != NULL);
        int64_t mib = -7;
        json_t *fail = NULL;
        int r = api_validate_resize(body, 10240, 262144, &mib, &fail);
        if (r != cases[i].ret)
            harness_fail(__FILE__, __LINE__, "case %zu (%s): %d", i, cases[i].body, r);
        CHECK_EQ(r, cases[i].ret);
        if (r == 0) {
            CHECK_EQ(mib, cases[i].want);
            CHECK(fail == NULL);
        } else {
            CHECK_EQ(mib, -7); /* written only on success */
            CHECK_STR(json_string_value(json_object_get(fail, "disk_mib")), cases[i].msg);
            CHECK_STR(json_string_value(json_object_get(fail, "code")), "invalid_request");
        }
        json_decref(fail);
        json_decref(body);
    }
    /* not an object */
    static const char *const bad[] = { "[]", "1", "\"x\"", "null" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *body = json_loads(bad[i], JSON_DECODE_ANY, NULL);
        json_t *fail = NULL;
        int64_t mib;
        CHECK_EQ(api_validate_resize(body, 10240, 262144, &mib, &fail), 400);
        CHECK(json_object_get(fail, "body") != NULL);
        json_decref(fail);
        json_decref(body);
    }
}

/* The exec body (§3.4.1): the first bad field is named, with the handler's messages. */
TEST(exec_body)
{
    static const char *const declared[] = { "FOO", "X" };
    static const struct { const char *body; const char *field, *msg; } bad[] = {
        { "{}", "cmd", "is required" },
        { "{\"cmd\":null}", "cmd", "is required" },
        { "{\"cmd\":\"\"}", "cmd", "must be a non-empty string" },
        { "{\"cmd\":\"a\\u0000b\"}", "cmd", "must be a non-empty string" },
        { "{\"cmd\":\"ls\",\"args\":\"-l\"}", "args", "must be an array of strings" },
        { "{\"cmd\":\"ls\",\"args\":[\"-l\",1]}", "args[1]", "must be a string without NUL" },
        { "{\"cmd\":\"ls\",\"stdin\":5}", "stdin", "must be a string" },
        { "{\"cmd\":\"ls\",\"env\":[]}", "env", "must be an object of strings" },
        { "{\"cmd\":\"ls\",\"env\":{\"NOPE\":\"1\"}}", "env.NOPE", "not declared at create" },
        { "{\"cmd\":\"ls\",\"env\":{\"X\":1}}", "env.X", "must be a string without NUL" },
        { "{\"cmd\":\"ls\",\"stream\":\"yes\"}", "stream", "must be a boolean" },
        { "{\"cmd\":\"ls\",\"cwd\":\"tmp\"}", "cwd", "must be an absolute path" },
        { "{\"cmd\":\"ls\",\"timeout_ms\":-1}", "timeout_ms",
          "must be an integer from 0 to 4294967295" },
        { "{\"cmd\":\"ls\",\"timeout_ms\":4294967296}", "timeout_ms",
          "must be an integer from 0 to 4294967295" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *body = json_loads(bad[i].body, JSON_ALLOW_NUL, NULL);
        CHECK(body != NULL);
        struct api_exec_req r;
        json_t *fail = NULL;
        int st = api_validate_exec(body, declared, 2, &r, &fail);
        if (st != 400)
            harness_fail(__FILE__, __LINE__, "case %zu (%s): %d", i, bad[i].body, st);
        CHECK_EQ(st, 400);
        CHECK_STR(json_string_value(json_object_get(fail, bad[i].field)), bad[i].msg);
        CHECK_STR(json_string_value(json_object_get(fail, "code")), "invalid_request");
        json_decref(fail);
        json_decref(body);
    }
    json_t *body = json_loads("{\"cmd\":\"sh\",\"args\":[\"-c\",\"cat\"],\"stdin\":\"a\\u0000b\","
                              "\"env\":{\"X\":\"2\"},\"stream\":true,\"cwd\":\"/tmp\","
                              "\"timeout_ms\":300,\"extra\":1}", JSON_ALLOW_NUL, NULL);
    CHECK(body != NULL);
    struct api_exec_req r;
    json_t *fail = NULL;
    CHECK_EQ(api_validate_exec(body, declared, 2, &r, &fail), 0);
    CHECK_STR(r.argv[0], "sh");
    CHECK_STR(r.argv[1], "-c");
    CHECK_STR(r.argv[2], "cat");
    CHECK(r.argv[3] == NULL);
    CHECK_EQ(r.stdin_len, 3);
    CHECK(memcmp(r.stdin_data, "a\0b", 3) == 0);
    CHECK_EQ(r.n_env, 1);
    CHECK_STR(r.env_keys[0], "X");
    CHECK_STR(r.env_values[0], "2");
    CHECK(r.streaming);
    CHECK_STR(r.cwd, "/tmp");
    CHECK_EQ(r.timeout_ms, 300);
    api_exec_req_release(&r);
    api_exec_req_release(&r); /* released twice: zeroed the first time */
    json_decref(body);
    /* not an object */
    body = json_loads("[1]", 0, NULL);
    CHECK_EQ(api_validate_exec(body, declared, 2, &r, &fail), 400);
    CHECK(json_object_get(fail, "body") != NULL);
    json_decref(fail);
    json_decref(body);
}

/* A value or key quoted cut to a length ("unknown shape: %.100s", "envs.%.200s") must not end
 * inside a UTF-8 sequence: the error would be dropped and the 400 would name no field. */
TEST(quoted_values_cut_on_utf8_boundaries)
{
    char shape[200] = "a", key[400] = "a";
    for (int i = 0; i < 60; i++)
        strcat(shape, "\xC3\xA9");
    for (int i = 0; i < 120; i++)
        strcat(key, "\xC3\xA9");
    json_t *body = json_pack("{s:s,s:{s:s}}", "shape", shape, "envs", key, "x");
    CHECK(body != NULL);
    struct ctl ctx;
    memset(&ctx, 0, sizeof(ctx));
    struct api_auth auth = { .admin = false };
    struct ctl_create_req r;
    json_t *fail = NULL;
    CHECK_EQ(api_validate_create(&ctx, &auth, body, &r, &fail), 400);
    const char *msg = json_string_value(json_object_get(fail, "shape"));
    CHECK(msg != NULL);
    CHECK_EQ(strncmp(msg, "unknown shape: a\xC3\xA9", 18), 0);
    CHECK_EQ(strlen(msg) % 2, 0); /* "unknown shape: a" and whole é only */
    size_t named = 0;
    const char *k;
    json_t *v;
    json_object_foreach(fail, k, v)
        named += strncmp(k, "envs.a\xC3\xA9", 8) == 0;
    CHECK_EQ(named, 1);
    json_decref(fail);
    json_decref(body);
    /* exec: "env.%.250s" */
    char envkey[400] = "a";
    for (int i = 0; i < 130; i++)
        strcat(envkey, "\xC3\xA9");
    body = json_pack("{s:s,s:{s:s}}", "cmd", "ls", "env", envkey, "1");
    CHECK(body != NULL);
    struct api_exec_req er;
    static const char *const none[] = { "A" };
    CHECK_EQ(api_validate_exec(body, none, 1, &er, &fail), 400);
    CHECK(fail != NULL);
    CHECK_STR(json_string_value(json_object_get(fail, "code")), "invalid_request");
    CHECK_EQ(json_object_size(fail), 2);
    json_decref(fail);
    json_decref(body);
}
