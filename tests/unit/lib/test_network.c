/* SPDX-License-Identifier: MIT */
/* test_network.c: the networking calls of libhearth (egress, bandwidth, networks, attach and
 * detach) against the scripted HTTP server of tests/fakehttp.c: the method, path (escaped) and
 * body on the wire, the parsed replies, typed errors, and bad arguments refused before any
 * request. */
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

#define OK(data) "{\"status\":\"success\",\"data\":" data "}"

TEST(egress_get_and_put_on_the_wire)
{
    static const struct fake_reply s[] = {
        { 200, NULL,
          OK("{\"id\":\"sb-1\",\"egress\":[\"api.example.com:443\",\"*.example.org\"]}") },
        { 200, NULL, OK("{\"id\":\"sb-1\",\"egress\":[\"github.com\",\"10.0.0.0/8\"]}") },
        { 200, NULL, OK("{\"id\":\"sb-1\",\"egress\":[]}") },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 3))
        return;
    hearth_client *c = client_for(&f);
    hearth_obj *g = NULL, *p = NULL, *z = NULL;
    struct hearth_error e;
    int rc1 = hearth_egress_get(c, "sb-1", &g, &e);
    const char *rules[] = { "GitHub.com", "10.1.2.3/8" };
    int rc2 = hearth_egress_put(c, "sb-1", rules, 2, &p, &e);
    int rc3 = hearth_egress_put(c, "sb-1", NULL, 0, &z, &e);
    fake_http_stop(&f);
    CHECK_EQ(rc1, HEARTH_OK);
    CHECK_EQ(rc2, HEARTH_OK);
    CHECK_EQ(rc3, HEARTH_OK);
    CHECK_EQ(hearth_obj_array_len(g, "egress"), 2);
    CHECK_STR(hearth_obj_array_str(g, "egress", 1), "*.example.org");
    CHECK_STR(hearth_obj_array_str(p, "egress", 0), "github.com");
    CHECK(hearth_obj_has(z, "egress"));
    CHECK_EQ(hearth_obj_array_len(z, "egress"), 0);
    CHECK(strstr(f.log, "GET /v1/sandboxes/sb-1/egress HTTP/1.1\n\n") == f.log);
    CHECK(strstr(f.log, "PUT /v1/sandboxes/sb-1/egress HTTP/1.1\n"
                        "{\"egress\":[\"GitHub.com\",\"10.1.2.3/8\"]}\n") != NULL);
    /* an empty list is sent as [] (allow all), never as a missing field */
    CHECK(strstr(f.log, "PUT /v1/sandboxes/sb-1/egress HTTP/1.1\n{\"egress\":[]}\n") != NULL);
    hearth_obj_free(g);
    hearth_obj_free(p);
    hearth_obj_free(z);
    hearth_client_free(c);
}

TEST(egress_put_rejection_is_typed)
{
    static const struct fake_reply s[] = {
        { 400, NULL, "{\"status\":\"fail\",\"data\":{\"egress[1]\":\"invalid rule: ::1\","
                     "\"code\":\"invalid_request\"}}" },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 1))
        return;
    hearth_client *c = hearth_client_new(f.url, "hk_test"); /* default retries: 400 is final */
    hearth_obj *o = NULL;
    struct hearth_error e;
    const char *rules[] = { "github.com", "::1" };
    int rc = hearth_egress_put(c, "sb-1", rules, 2, &o, &e);
    fake_http_stop(&f);
    CHECK_EQ(rc, HEARTH_ERR_REJECTED);
    CHECK(o == NULL);
    CHECK_EQ(e.http_status, 400);
    CHECK_STR(e.api_code, "invalid_request");
    CHECK(strstr(e.message, "invalid rule: ::1") != NULL);
    CHECK_EQ(fake_http_count(f.log, "PUT "), 1);
    hearth_client_free(c);
}

TEST(bandwidth_get_and_recharge)
{
    static const struct fake_reply s[] = {
        { 200, NULL, OK("{\"id\":\"sb-1\",\"quota_bytes\":5368709120,\"used_bytes\":5368709120,"
                        "\"ingress_bytes\":12,\"remaining_bytes\":0,\"capped\":true}") },
        { 200, NULL, OK("{\"id\":\"sb-1\",\"quota_bytes\":10737418240,\"used_bytes\":5368709120,"
                        "\"ingress_bytes\":12,\"remaining_bytes\":5368709120,\"capped\":false}") },
        { 200, NULL, OK("{\"id\":\"sb-1\",\"quota_bytes\":-1,\"used_bytes\":7,"
                        "\"ingress_bytes\":0,\"remaining_bytes\":-1,\"capped\":false}") },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 3))
        return;
    hearth_client *c = client_for(&f);
    hearth_obj *a = NULL, *b = NULL, *u = NULL;
    struct hearth_error e;
    int rc1 = hearth_bandwidth_get(c, "sb-1", &a, &e);
    int rc2 = hearth_bandwidth_recharge(c, "sb-1", (int64_t)5 << 30, &b, &e);
    int rc3 = hearth_bandwidth_recharge(c, "sb-1", HEARTH_RECHARGE_MAX, &u, &e);
    fake_http_stop(&f);
    CHECK_EQ(rc1, HEARTH_OK);
    CHECK_EQ(rc2, HEARTH_OK);
    CHECK_EQ(rc3, HEARTH_OK);
    CHECK(hearth_obj_bool(a, "capped", false));
    CHECK_EQ(hearth_obj_int(a, "quota_bytes", 0), 5368709120LL);
    CHECK_EQ(hearth_obj_int(b, "quota_bytes", 0) - hearth_obj_int(a, "quota_bytes", 0),
             (int64_t)5 << 30);
    CHECK_EQ(hearth_obj_int(u, "quota_bytes", 0), -1);
    CHECK(strstr(f.log, "GET /v1/sandboxes/sb-1/bandwidth HTTP/1.1\n") == f.log);
    CHECK(strstr(f.log, "POST /v1/sandboxes/sb-1/bandwidth/recharge HTTP/1.1\n"
                        "{\"add_bytes\":5368709120}\n") != NULL);
    CHECK(strstr(f.log, "{\"add_bytes\":1125899906842624}\n") != NULL);
    hearth_obj_free(a);
    hearth_obj_free(b);
    hearth_obj_free(u);
    hearth_client_free(c);
}

TEST(networks_crud_on_the_wire)
{
    static const struct fake_reply s[] = {
        { 200, NULL, OK("{\"id\":\"net-01\",\"name\":\"backend\",\"created_at\":"
                        "\"2026-03-01T14:07:09.412Z\",\"member_count\":0}") },
        { 200, NULL, OK("{\"data\":[{\"id\":\"net-02\",\"name\":\"front\",\"member_count\":1},"
                        "{\"id\":\"net-01\",\"name\":\"backend\",\"member_count\":0}],"
                        "\"pagination\":{\"total\":7,\"limit\":2,\"offset\":3,\"count\":2}}") },
        { 200, NULL, OK("{\"id\":\"net-01\",\"name\":\"backend\",\"member_count\":2,\"members\":["
                        "{\"sandbox_id\":\"sb-2\",\"name\":\"db\",\"status\":\"running\","
                        "\"ip\":\"10.77.0.3\"},{\"sandbox_id\":\"sb-1\",\"name\":\"web\","
                        "\"status\":\"paused\"}]}") },
        { 200, NULL, OK("{\"ok\":true}") },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 4))
        return;
    hearth_client *c = client_for(&f);
    hearth_obj *n = NULL, *g = NULL, *d = NULL;
    hearth_list *l = NULL;
    struct hearth_error e;
    int rc1 = hearth_network_create(c, "backend", &n, &e);
    /* the status filter of hearth_page means nothing for networks and is not sent */
    struct hearth_page page = { .limit = 2, .offset = 3, .status = "running" };
    int rc2 = hearth_network_list(c, &page, &l, &e);
    int rc3 = hearth_network_get(c, "back end/x", &g, &e);
    int rc4 = hearth_network_delete(c, "net-01", &d, &e);
    fake_http_stop(&f);
    CHECK_EQ(rc1, HEARTH_OK);
    CHECK_EQ(rc2, HEARTH_OK);
    CHECK_EQ(rc3, HEARTH_OK);
    CHECK_EQ(rc4, HEARTH_OK);
    CHECK_STR(hearth_obj_str(n, "id"), "net-01");
    CHECK_EQ(hearth_obj_int(n, "member_count", -1), 0);
    CHECK_EQ(hearth_list_count(l), 2);
    CHECK_EQ(hearth_list_total(l), 7);
    CHECK_STR(hearth_obj_str(hearth_list_item(l, 0), "name"), "front");
    char *members = hearth_obj_value_json(g, "members");
    CHECK(members && strstr(members, "\"ip\":\"10.77.0.3\""));
    free(members);
    /* a decimal path segment indexes an array; anything else there reads as absent */
    CHECK_EQ(hearth_obj_array_len(g, "members"), 2);
    CHECK_STR(hearth_obj_str(g, "members.0.ip"), "10.77.0.3");
    CHECK_STR(hearth_obj_str(g, "members.1.sandbox_id"), "sb-1");
    static const char *const absent[] = { "members.2.name", "members.01.name", "members.-1.name",
                                          "members..name", "members.x.name", "members.0.ip.x",
                                          "members.9999999999.name", "name.0" };
    for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
        if (hearth_obj_has(g, absent[i]))
            harness_fail(__FILE__, __LINE__, "'%s' found", absent[i]);
    CHECK(hearth_obj_bool(d, "ok", false));
    CHECK(strstr(f.log, "POST /v1/networks HTTP/1.1\n{\"name\":\"backend\"}\n") == f.log);
    CHECK(strstr(f.log, "GET /v1/networks?offset=3&limit=2 HTTP/1.1\n") != NULL);
    CHECK(strstr(f.log, "GET /v1/networks/back%20end%2Fx HTTP/1.1\n") != NULL);
    CHECK(strstr(f.log, "DELETE /v1/networks/net-01 HTTP/1.1\n") != NULL);
    hearth_obj_free(n);
    hearth_obj_free(g);
    hearth_obj_free(d);
    hearth_list_free(l);
    hearth_client_free(c);
}

TEST(network_errors_are_typed)
{
    static const struct fake_reply s[] = {
        { 400, NULL, "{\"status\":\"fail\",\"data\":{\"name\":\"name already in use: backend\","
                     "\"code\":\"name_taken\"}}" },
        { 404, NULL, "{\"status\":\"fail\",\"data\":\"network not found\"}" },
        { 409, NULL, "{\"status\":\"fail\",\"data\":{\"code\":\"in_use\","
                     "\"message\":\"network has 2 members\"}}" },
        { 409, NULL, "{\"status\":\"fail\",\"data\":{\"code\":\"limit_reached\","
                     "\"message\":\"a sandbox joins at most 8 networks\"}}" },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 4))
        return;
    hearth_client *c = client_for(&f);
    struct hearth_error e1, e2, e3, e4;
    int rc1 = hearth_network_create(c, "backend", NULL, &e1);
    int rc2 = hearth_network_get(c, "nope", NULL, &e2);
    int rc3 = hearth_network_delete(c, "backend", NULL, &e3);
    int rc4 = hearth_sandbox_network_attach(c, "sb-1", "ninth", NULL, &e4);
    fake_http_stop(&f);
    CHECK_EQ(rc1, HEARTH_ERR_REJECTED);
    CHECK_STR(e1.api_code, "name_taken");
    CHECK_EQ(rc2, HEARTH_ERR_NOT_FOUND);
    CHECK_STR(e2.message, "network not found");
    CHECK_EQ(rc3, HEARTH_ERR_REJECTED);
    CHECK_STR(e3.api_code, "in_use");
    CHECK_STR(e3.message, "network has 2 members");
    CHECK_EQ(rc4, HEARTH_ERR_REJECTED);
    CHECK_STR(e4.api_code, "limit_reached");
    CHECK_STR(e4.request_id, "req_3");
    hearth_client_free(c);
}

TEST(attach_and_detach_on_the_wire)
{
    static const struct fake_reply s[] = {
        { 200, NULL, OK("{\"ok\":true}") },
        { 200, NULL, OK("{\"ok\":true}") },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 2))
        return;
    hearth_client *c = client_for(&f);
    hearth_obj *a = NULL, *d = NULL;
    struct hearth_error e;
    int rc1 = hearth_sandbox_network_attach(c, "sb-1", "backend", &a, &e);
    int rc2 = hearth_sandbox_network_detach(c, "sb-1", "my net", &d, &e);
    fake_http_stop(&f);
    CHECK_EQ(rc1, HEARTH_OK);
    CHECK_EQ(rc2, HEARTH_OK);
    CHECK(hearth_obj_bool(a, "ok", false) && hearth_obj_bool(d, "ok", false));
    CHECK(strstr(f.log, "POST /v1/sandboxes/sb-1/networks HTTP/1.1\n{\"id\":\"backend\"}\n") ==
          f.log);
    CHECK(strstr(f.log, "DELETE /v1/sandboxes/sb-1/networks/my%20net HTTP/1.1\n") != NULL);
    hearth_obj_free(a);
    hearth_obj_free(d);
    hearth_client_free(c);
}

TEST(bad_arguments_make_no_request)
{
    /* port 9 (discard) would refuse; none of these may even try */
    hearth_client *c = hearth_client_new("http://127.0.0.1:9", "hk_test");
    struct hearth_error e;
    const char *bad_utf8[] = { "ok.example.com", "\xff\xfe" };
    const char *with_null[] = { "a.example.com", NULL };
    static const int64_t bad_sizes[] = { 0, -1, HEARTH_RECHARGE_MAX + 1, INT64_MIN };
    CHECK_EQ(hearth_egress_get(c, "", NULL, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_egress_put(c, NULL, NULL, 0, NULL, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_egress_put(c, "sb-1", NULL, 2, NULL, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_egress_put(c, "sb-1", bad_utf8, 2, NULL, &e), HEARTH_ERR_INVALID);
    CHECK(strstr(e.message, "egress rule 1") != NULL);
    CHECK_EQ(hearth_egress_put(c, "sb-1", with_null, 2, NULL, &e), HEARTH_ERR_INVALID);
    for (size_t i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++)
        CHECK_EQ(hearth_bandwidth_recharge(c, "sb-1", bad_sizes[i], NULL, &e),
                 HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_bandwidth_recharge(c, "", 1, NULL, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_bandwidth_get(c, NULL, NULL, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_network_create(c, "", NULL, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_network_create(c, NULL, NULL, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_network_create(c, "\xc3", NULL, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_network_get(c, "", NULL, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_network_delete(c, NULL, NULL, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_sandbox_network_attach(c, "sb-1", "", NULL, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_sandbox_network_attach(c, "", "n", NULL, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_sandbox_network_detach(c, "sb-1", NULL, NULL, &e), HEARTH_ERR_INVALID);
    CHECK_EQ(hearth_sandbox_network_detach(c, NULL, "n", NULL, NULL), HEARTH_ERR_INVALID);
    hearth_client_free(c);
}

TEST(hostile_replies_give_protocol_errors)
{
    static const struct fake_reply s[] = {
        { 200, NULL, "{\"status\":\"success\"}" },
        { 200, NULL, OK("{\"data\":\"not a list\",\"pagination\":{\"total\":1}}") },
        { 200, NULL, "<html>ok</html>" },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 3))
        return;
    hearth_client *c = client_for(&f);
    hearth_obj *o = NULL;
    hearth_list *l = NULL;
    struct hearth_error e;
    CHECK_EQ(hearth_egress_get(c, "sb-1", &o, &e), HEARTH_ERR_PROTOCOL);
    CHECK_EQ(hearth_network_list(c, NULL, &l, &e), HEARTH_ERR_PROTOCOL);
    CHECK_EQ(hearth_bandwidth_get(c, "sb-1", &o, &e), HEARTH_ERR_PROTOCOL);
    fake_http_stop(&f);
    CHECK(o == NULL && l == NULL);
    hearth_client_free(c);
}
