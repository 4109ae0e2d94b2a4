/* SPDX-License-Identifier: MIT */
/* test_disks.c: libhearth's S3 disk calls (docs/api.md §3.9) against the scripted HTTP server of
 * tests/fakehttp.c: requests as sent (method, escaped path and query, body), answers parsed,
 * the server's errors typed (probe failure, in_use, 503 not configured), and bad arguments
 * refused before any request. */
#include "fakehttp.h"
#include "harness.h"
#include "hearth/hearth.h"

#include <stdlib.h>
#include <string.h>

static hearth_client *client_for(const struct fake_http *f)
{
    hearth_client *c = hearth_client_new(f->url, "hk_test");
    if (c)
        hearth_client_set_retries(c, 0);
    return c;
}

#define OK(data) "{\"status\":\"success\",\"data\":" data "}"
#define DISK                                                                                     \
    "{\"id\":\"disk_01J\",\"name\":\"data\",\"kind\":\"s3\",\"config\":{\"bucket\":\"b1\","      \
    "\"endpoint\":\"http://10.0.0.1:9000\",\"use_path_style\":true},"                            \
    "\"created_at\":\"2026-12-07T11:00:00Z\"}"

TEST(disk_crud_on_the_wire)
{
    static const struct fake_reply s[] = {
        { 200, NULL, OK(DISK) },
        { 200, NULL, OK("{\"data\":[" DISK "],\"pagination\":{\"total\":3,\"limit\":1,"
                        "\"offset\":2,\"count\":1}}") },
        { 200, NULL, OK(DISK) },
        { 200, NULL, OK(DISK) },
        { 200, NULL, OK("{\"deleted\":true}") },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 5))
        return;
    hearth_client *c = client_for(&f);
    hearth_body *b = hearth_body_new();
    CHECK_EQ(hearth_body_set_str(b, "name", "data"), HEARTH_OK);
    CHECK_EQ(hearth_body_set_str(b, "kind", "s3"), HEARTH_OK);
    CHECK_EQ(hearth_body_set_map(b, "config", "bucket", "b1"), HEARTH_OK);
    CHECK_EQ(hearth_body_set_map(b, "config", "endpoint", "http://10.0.0.1:9000"), HEARTH_OK);
    CHECK_EQ(hearth_body_set_map_bool(b, "config", "use_path_style", true), HEARTH_OK);
    CHECK_EQ(hearth_body_set_map(b, "credentials", "access_key", "AK"), HEARTH_OK);
    CHECK_EQ(hearth_body_set_map(b, "credentials", "secret_key", "SK/+="), HEARTH_OK);
    hearth_obj *d = NULL, *g = NULL, *r = NULL, *x = NULL;
    hearth_list *l = NULL;
    struct hearth_error e;
    int rc1 = hearth_disk_create(c, b, &d, &e);
    struct hearth_page page = { .limit = 1, .offset = 2, .status = "running" };
    int rc2 = hearth_disk_list(c, &page, &l, &e);
    int rc3 = hearth_disk_get(c, "my disk/x", &g, &e);
    int rc4 = hearth_disk_rotate(c, "data", "AK2", "SK2\"", &r, &e);
    int rc5 = hearth_disk_delete(c, "disk_01J", &x, &e);
    fake_http_stop(&f);
    CHECK_EQ(rc1, HEARTH_OK);
    CHECK_EQ(rc2, HEARTH_OK);
    CHECK_EQ(rc3, HEARTH_OK);
    CHECK_EQ(rc4, HEARTH_OK);
    CHECK_EQ(rc5, HEARTH_OK);
    CHECK_STR(hearth_obj_str(d, "id"), "disk_01J");
    CHECK_STR(hearth_obj_str(d, "config.bucket"), "b1");
    CHECK(hearth_obj_bool(d, "config.use_path_style", false));
    CHECK(!hearth_obj_has(d, "config.region"));
    CHECK_EQ(hearth_list_count(l), 1);
    CHECK_EQ(hearth_list_total(l), 3);
    CHECK_STR(hearth_obj_str(g, "name"), "data");
    CHECK(hearth_obj_bool(x, "deleted", false));
    CHECK(strstr(f.log, "POST /v1/disks HTTP/1.1\n{\"name\":\"data\",\"kind\":\"s3\",\"config\":"
                        "{\"bucket\":\"b1\",\"endpoint\":\"http://10.0.0.1:9000\","
                        "\"use_path_style\":true},\"credentials\":{\"access_key\":\"AK\","
                        "\"secret_key\":\"SK/+=\"}}\n") == f.log);
    /* no status filter for disks */
    CHECK(strstr(f.log, "GET /v1/disks?offset=2&limit=1 HTTP/1.1\n") != NULL);
    CHECK(strstr(f.log, "GET /v1/disks/my%20disk%2Fx HTTP/1.1\n") != NULL);
    CHECK(strstr(f.log, "PATCH /v1/disks/data HTTP/1.1\n{\"credentials\":{\"access_key\":"
                        "\"AK2\",\"secret_key\":\"SK2\\\"\"}}\n") != NULL);
    CHECK(strstr(f.log, "DELETE /v1/disks/disk_01J HTTP/1.1\n") != NULL);
    hearth_body_free(b);
    hearth_obj_free(d);
    hearth_obj_free(g);
    hearth_obj_free(r);
    hearth_obj_free(x);
    hearth_list_free(l);
    hearth_client_free(c);
}

TEST(sandbox_mounts_on_the_wire)
{
    static const struct fake_reply s[] = {
        { 200, NULL, OK("{\"id\":\"sb-1\",\"ok\":true}") },
        { 200, NULL, OK("{\"id\":\"sb-1\",\"ok\":true}") },
        { 200, NULL, OK("{\"data\":[{\"disk_id\":\"disk_01J\",\"name\":\"data\",\"kind\":\"s3\","
                        "\"config\":{\"bucket\":\"b1\",\"endpoint\":\"http://e\","
                        "\"use_path_style\":false},\"mount_path\":\"/mnt/a b\","
                        "\"mount_status\":\"error\",\"mount_error\":\"403 Forbidden\"}],"
                        "\"pagination\":{\"total\":1,\"limit\":50,\"offset\":0,\"count\":1}}") },
        { 200, NULL, OK("{\"detached\":true}") },
        { 200, NULL, OK("{\"detached\":false}") },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 5))
        return;
    hearth_client *c = client_for(&f);
    hearth_obj *a = NULL, *a2 = NULL, *d1 = NULL, *d2 = NULL;
    hearth_list *l = NULL;
    struct hearth_error e;
    int rc1 = hearth_sandbox_disk_attach(c, "sb-1", "data", "/mnt/data", NULL, &a, &e);
    int rc2 = hearth_sandbox_disk_attach(c, "sb-1", "data", "/mnt/x", "team/a", &a2, &e);
    int rc3 = hearth_sandbox_disk_list(c, "sb-1", NULL, &l, &e);
    int rc4 = hearth_sandbox_disk_detach(c, "sb-1", "data", "/mnt/a b&c=d?", &d1, &e);
    int rc5 = hearth_sandbox_disk_detach(c, "sb-1", "disk 2", "/mnt/none", &d2, &e);
    fake_http_stop(&f);
    CHECK_EQ(rc1, HEARTH_OK);
    CHECK_EQ(rc2, HEARTH_OK);
    CHECK_EQ(rc3, HEARTH_OK);
    CHECK_EQ(rc4, HEARTH_OK);
    CHECK_EQ(rc5, HEARTH_OK);
    CHECK_STR(hearth_obj_str(a, "id"), "sb-1");
    CHECK_EQ(hearth_list_count(l), 1);
    const hearth_obj *m = hearth_list_item(l, 0);
    CHECK_STR(hearth_obj_str(m, "mount_status"), "error");
    CHECK_STR(hearth_obj_str(m, "mount_error"), "403 Forbidden");
    CHECK(hearth_obj_bool(d1, "detached", false));
    CHECK(!hearth_obj_bool(d2, "detached", true));
    CHECK(strstr(f.log, "POST /v1/sandboxes/sb-1/disks HTTP/1.1\n{\"disk_id\":\"data\","
                        "\"mount_path\":\"/mnt/data\"}\n") == f.log);
    CHECK(strstr(f.log, "{\"disk_id\":\"data\",\"mount_path\":\"/mnt/x\","
                        "\"sub_path\":\"team/a\"}\n") != NULL);
    CHECK(strstr(f.log, "GET /v1/sandboxes/sb-1/disks?offset=0 HTTP/1.1\n") != NULL);
    /* the mount path is one query value: every reserved byte escaped */
    CHECK(strstr(f.log, "DELETE /v1/sandboxes/sb-1/disks/data?mount_path="
                        "%2Fmnt%2Fa%20b%26c%3Dd%3F HTTP/1.1\n") != NULL);
    CHECK(strstr(f.log, "DELETE /v1/sandboxes/sb-1/disks/disk%202?mount_path=%2Fmnt%2Fnone "
                        "HTTP/1.1\n") != NULL);
    hearth_obj_free(a);
    hearth_obj_free(a2);
    hearth_obj_free(d1);
    hearth_obj_free(d2);
    hearth_list_free(l);
    hearth_client_free(c);
}

TEST(disk_errors_are_typed)
{
    static const struct fake_reply s[] = {
        { 400, NULL, "{\"status\":\"fail\",\"data\":{\"config\":\"bucket check failed: 403 "
                     "Forbidden\",\"code\":\"disk_probe_failed\"}}" },
        { 409, NULL, "{\"status\":\"fail\",\"data\":{\"code\":\"in_use\","
                     "\"message\":\"disk is attached to 1 sandbox\"}}" },
        { 404, NULL, "{\"status\":\"fail\",\"data\":\"disk not found\"}" },
        { 503, NULL, "{\"status\":\"error\",\"message\":\"disks API not configured\","
                     "\"data\":{\"code\":\"disks_not_configured\"}}" },
        { 400, NULL, "{\"status\":\"fail\",\"data\":{\"mount_path\":\"already in use\"}}" },
        { 409, NULL, "{\"status\":\"fail\",\"data\":{\"code\":\"invalid_state\","
                     "\"message\":\"sandbox is paused\",\"state\":\"paused\"}}" },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 6))
        return;
    hearth_client *c = client_for(&f);
    hearth_body *b = hearth_body_new();
    CHECK_EQ(hearth_body_set_str(b, "name", "data"), HEARTH_OK);
    struct hearth_error e1, e2, e3, e4, e5, e6;
    int rc1 = hearth_disk_create(c, b, NULL, &e1);
    int rc2 = hearth_disk_delete(c, "data", NULL, &e2);
    int rc3 = hearth_disk_get(c, "nope", NULL, &e3);
    int rc4 = hearth_disk_list(c, NULL, &(hearth_list *){ NULL }, &e4);
    int rc5 = hearth_sandbox_disk_attach(c, "sb-1", "data", "/mnt/d", NULL, NULL, &e5);
    int rc6 = hearth_sandbox_disk_attach(c, "sb-1", "data", "/mnt/d", NULL, NULL, &e6);
    fake_http_stop(&f);
    CHECK_EQ(rc1, HEARTH_ERR_REJECTED);
    CHECK_STR(e1.api_code, "disk_probe_failed");
    CHECK(strstr(e1.message, "bucket check failed: 403 Forbidden") != NULL);
    CHECK_EQ(rc2, HEARTH_ERR_REJECTED);
    CHECK_STR(e2.api_code, "in_use");
    CHECK_EQ(rc3, HEARTH_ERR_NOT_FOUND);
    CHECK_STR(e3.message, "disk not found");
    CHECK_EQ(rc4, HEARTH_ERR_UNAVAILABLE);
    CHECK_EQ(e4.http_status, 503);
    CHECK_STR(e4.api_code, "disks_not_configured");
    CHECK_EQ(rc5, HEARTH_ERR_REJECTED);
    CHECK(strstr(e5.message, "already in use") != NULL);
    CHECK_EQ(rc6, HEARTH_ERR_REJECTED);
    CHECK_STR(e6.api_code, "invalid_state");
    CHECK_STR(e6.state, "paused");
    hearth_body_free(b);
    hearth_client_free(c);
}

TEST(bad_disk_arguments_make_no_request)
{
    /* port 9 (discard) would refuse; none of these may even try */
    hearth_client *c = hearth_client_new("http://127.0.0.1:9", "hk_test");
    struct hearth_error e;
    hearth_obj *o = NULL;
    CHECK_EQ(hearth_disk_create(c, NULL, &o, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_disk_get(c, "", &o, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_disk_get(c, NULL, &o, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_disk_delete(c, "", &o, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_disk_rotate(c, "d", "", "s", &o, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_disk_rotate(c, "d", "a", NULL, &o, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_disk_rotate(c, "d", "a", "\xff\xfe", &o, &e), HEARTH_ERR_INVALID);
    CHECK(strstr(e.message, "\xff") == NULL); /* the secret is not echoed */
    CHECK_EQ(hearth_disk_rotate(c, "", "a", "s", &o, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_sandbox_disk_attach(c, "sb-1", "", "/m", NULL, &o, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_sandbox_disk_attach(c, "sb-1", "d", NULL, NULL, &o, &e),
             HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_sandbox_disk_attach(c, "", "d", "/m", NULL, &o, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_sandbox_disk_attach(c, "sb-1", "d", "/m", "\xc3", &o, &e),
             HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_sandbox_disk_detach(c, "sb-1", "d", "", &o, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_sandbox_disk_detach(c, "", "d", "/m", &o, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_sandbox_disk_list(c, "", NULL, &(hearth_list *){ NULL }, &e),
             HEARTH_ERR_INVALID);
    CHECK(o == NULL);
    hearth_body *b = hearth_body_new();
    CHECK_EQ(hearth_body_set_map_bool(b, NULL, "x", true), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_body_set_str(b, "config", "s"), HEARTH_OK);
    /* config is a string now: no object to set a member in */
    CHECK_EQ(hearth_body_set_map_bool(b, "config", "use_path_style", true), HEARTH_ERR_INVALID);
    hearth_body_free(b);
    hearth_client_free(c);
}
