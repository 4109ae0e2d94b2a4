/* SPDX-License-Identifier: MIT */
/* test_access_token.c: libhearth's delegated access token calls (docs/api.md §3.13) against the
 * scripted HTTP server of tests/fakehttp.c: method and path on the wire, the parsed replies,
 * the typed 409 and 404, and a bad id refused before any request. */
#include "fakehttp.h"
#include "harness.h"
#include "hearth/hearth.h"

#include <stdlib.h>
#include <string.h>

#define OK(data) "{\"status\":\"success\",\"data\":" data "}"
#define TOK "hst_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

TEST(access_token_calls_on_the_wire)
{
    static const struct fake_reply s[] = {
        { 200, NULL, OK("{\"token\":\"" TOK "\",\"enabled\":true,\"created_at\":\"t\"}") },
        { 409, NULL, "{\"status\":\"fail\",\"data\":{\"code\":\"already_exists\","
                     "\"message\":\"m\"}}" },
        { 200, NULL, OK("{\"enabled\":true,\"token_hint\":\"\\u2026AAAA\"}") },
        { 404, NULL, "{\"status\":\"fail\",\"data\":\"access token not found\"}" },
        { 200, NULL, OK("{\"enabled\":false}") },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 5))
        return;
    hearth_client *c = hearth_client_new(f.url, "hk_test");
    if (c)
        hearth_client_set_retries(c, 0);
    hearth_obj *a = NULL, *g = NULL, *d = NULL, *x = NULL;
    struct hearth_error e, e2, e4;
    int rc1 = hearth_access_token_create(c, "sb-1", &a, &e);
    int rc2 = hearth_access_token_create(c, "sb-1", &x, &e2);
    int rc3 = hearth_access_token_get(c, "sb-1", &g, &e);
    int rc4 = hearth_access_token_rotate(c, "sb-1", &x, &e4);
    int rc5 = hearth_access_token_delete(c, "sb-1", &d, &e);
    fake_http_stop(&f);
    CHECK_EQ(rc1, HEARTH_OK);
    CHECK_STR(hearth_obj_str(a, "token"), TOK);
    CHECK_EQ(rc2, HEARTH_ERR_REJECTED);
    CHECK_STR(e2.api_code, "already_exists");
    CHECK_EQ(rc3, HEARTH_OK);
    CHECK_STR(hearth_obj_str(g, "token_hint"), "\u2026AAAA");
    CHECK_EQ(rc4, HEARTH_ERR_NOT_FOUND);
    CHECK(strstr(e4.message, "access token not found") != NULL);
    CHECK_EQ(rc5, HEARTH_OK);
    CHECK(!hearth_obj_bool(d, "enabled", true));
    CHECK(strstr(f.log, "POST /v1/sandboxes/sb-1/access-token HTTP/1.1\n") == f.log);
    CHECK(strstr(f.log, "GET /v1/sandboxes/sb-1/access-token HTTP/1.1\n") != NULL);
    CHECK(strstr(f.log, "POST /v1/sandboxes/sb-1/access-token/rotate HTTP/1.1\n") != NULL);
    CHECK(strstr(f.log, "DELETE /v1/sandboxes/sb-1/access-token HTTP/1.1\n") != NULL);
    CHECK_EQ(hearth_access_token_get(c, "", &x, &e), HEARTH_ERR_INVALID);
    hearth_obj_free(a);
    hearth_obj_free(g);
    hearth_obj_free(d);
    hearth_client_free(c);
}
