/* SPDX-License-Identifier: MIT */
/* test_validate.c: request validation of api/validate.h that is a pure function of the body:
 * the resize body (§3.3.4): larger than the current disk, at most the operator maximum, an
 * integer, an object. */
#include <jansson.h>
#include <string.h>

#include "daemon/api/validate.h"
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
