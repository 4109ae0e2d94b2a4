/* SPDX-License-Identifier: MIT */
/* test_network.c: `hearth sb firewall|bandwidth|network` and the networking parts of `sb create`
 * and `sb get`, run through the dispatcher against the scripted HTTP server of tests/fakehttp.c:
 * usage errors before any request, the requests on the wire, human and JSON output, warnings on
 * stderr and exit codes. */
#include "clirun.h"
#include "fakehttp.h"

#define SB(st) OK("{\"id\":\"sb-1\",\"name\":\"Web_1.x\",\"status\":\"" st "\",\"vcpu\":1," \
                  "\"mem_mib\":256,\"disk_mib\":10240,\"shape\":\"s-1vcpu-256mb\"}")

TEST(usage_errors_before_any_request)
{
    static const struct {
        const char *argv[8];
        const char *want;
    } cases[] = {
        { { "sb", "fw" }, "missing subcommand" },
        { { "sb", "egress", "show" }, "missing argument <sb>" },
        { { "sb", "firewall", "set", "box" }, "missing argument <rule>..." },
        { { "sb", "fw", "add", "box" }, "missing argument <rule>..." },
        { { "sb", "fw", "remove", "box" }, "missing argument <rule>..." },
        { { "sb", "fw", "set", "box", ", ," }, "empty rule ', ,'" },
        { { "sb", "fw", "clear", "box" }, "without confirmation; pass --yes" },
        { { "sb", "fw", "clear", "box", "--force=1" }, "takes no value" },
        { { "sb", "fw", "drop", "box" }, "unknown subcommand 'drop'" },
        { { "sb", "bw", "show" }, "missing argument <sb>" },
        { { "sb", "bw", "add", "box", "1", "2" }, "unexpected argument '2'" },
        { { "sb", "bw", "add", "box", "0" }, "size '0' is not from 1 byte to 1024TiB" },
        { { "sb", "bw", "topup", "box", "1.5GiB" }, "size '1.5GiB'" },
        { { "sb", "bandwidth", "recharge", "box", "-5G" }, "unknown flag '-5'" },
        { { "sb", "bw", "add", "box", "1025T" }, "size '1025T'" },
        { { "sb", "bw", "add", "box", "5 GiB" }, "size '5 GiB'" },
        { { "sb", "net", "create" }, "missing argument <name>" },
        { { "sb", "networks", "ls", "--limit", "0" }, "--limit '0'" },
        { { "sb", "network", "list", "--limit", "501" }, "--limit '501'" },
        { { "sb", "net", "ls", "--offset", "-1" }, "--offset '-1' is not a number" },
        { { "sb", "net", "ls", "--offset", "x" }, "--offset 'x'" },
        { { "sb", "net", "ls", "extra" }, "unexpected argument 'extra'" },
        { { "sb", "net", "rm", "backend" }, "refusing to delete 1 network" },
        { { "sb", "net", "delete", "a", "b" }, "refusing to delete 2 networks" },
        { { "sb", "net", "attach", "box" }, "missing argument <net>" },
        { { "sb", "net", "attach", "box", "n", "--yes" }, "unknown flag '--yes'" },
        { { "sb", "net", "detach", "box", "backend" }, "refusing to detach 'box'" },
        { { "sb", "net", "show", "a", "b" }, "unexpected argument 'b'" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct run r;
        run_cli(NULL, false, cases[i].argv, &r);
        if (r.rc != CLI_EXIT_USAGE || !has(r.err, cases[i].want) || !has(r.err, "hint: ") ||
            r.out[0])
            harness_fail(__FILE__, __LINE__, "case %zu: rc %d, stderr: %s (want '%s')", i, r.rc,
                         r.err, cases[i].want);
    }
}

TEST(firewall_show_human_and_json)
{
    static const struct fake_reply s[] = {
        { 200, NULL, SB("running") },
        { 200, NULL,
          OK("{\"id\":\"sb-1\",\"egress\":[\"api.example.com:443\",\"*.example.org\"]}") },
        { 200, NULL, SB("running") },
        { 200, NULL, OK("{\"id\":\"sb-1\",\"egress\":[]}") },
        { 200, NULL, SB("running") },
        { 200, NULL, OK("{\"id\":\"sb-1\",\"egress\":[\"*\"]}") },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 6))
        return;
    struct run a, b, c;
    run_cli(f.url, false, ARGV("sb", "fw", "show", "sb-1"), &a);
    run_cli(f.url, false, ARGV("sandbox", "egress", "show", "sb-1"), &b);
    run_cli(f.url, true, ARGV("sb", "firewall", "show", "sb-1"), &c);
    fake_http_stop(&f);
    EXPECT(a, 0, "api.example.com:443\n*.example.org\n", "");
    EXPECT(b, 0, "all outbound traffic allowed\n", "");
    EXPECT(c, 0, "{\"id\":\"sb-1\",\"egress\":[\"*\"]}\n", "");
    CHECK_EQ(fake_http_count(f.log, "GET /v1/sandboxes/sb-1/egress "), 3);
}

TEST(firewall_set_replaces_and_warns)
{
    static const struct fake_reply s[] = {
        { 200, NULL, SB("paused") },
        { 200, NULL,
          OK("{\"id\":\"sb-1\",\"egress\":[\"github.com\",\"10.0.0.0/8\",\"pypi.org:443\"]}") },
        { 200, NULL, SB("paused") },
        { 200, NULL, OK("{\"id\":\"sb-1\",\"egress\":[\"*\"]}") },
        { 200, NULL, SB("paused") },
        { 400, NULL, "{\"status\":\"fail\",\"data\":{\"egress[0]\":\"invalid rule\","
                     "\"code\":\"invalid_request\"}}" },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 6))
        return;
    struct run a, b, c;
    run_cli(f.url, false, ARGV("sb", "fw", "set", "sb-1", "GitHub.com,10.1.2.3/8", "pypi.org:443"),
            &a);
    run_cli(f.url, false, ARGV("sb", "fw", "set", "sb-1", "*"), &b);
    run_cli(f.url, false, ARGV("sb", "fw", "set", "sb-1", "::1"), &c);
    fake_http_stop(&f);
    EXPECT(a, 0, "github.com\n10.0.0.0/8\npypi.org:443\n", "everything not listed is blocked");
    EXPECT(b, 0, "all outbound traffic allowed", "");
    CHECK(!has(b.err, "blocked"));
    EXPECT(c, CLI_EXIT_REJECTED, "", "invalid rule (HTTP 400 invalid_request");
    CHECK(has(f.log, "PUT /v1/sandboxes/sb-1/egress HTTP/1.1\n"
                     "{\"egress\":[\"GitHub.com\",\"10.1.2.3/8\",\"pypi.org:443\"]}\n"));
    CHECK(has(f.log, "{\"egress\":[\"*\"]}\n"));
}

TEST(firewall_add_merges_without_duplicates)
{
    static const struct fake_reply s[] = {
        { 200, NULL, SB("running") },
        { 200, NULL, OK("{\"id\":\"sb-1\",\"egress\":[]}") },
        { 200, NULL, OK("{\"id\":\"sb-1\",\"egress\":[\"a.example.com\"]}") },
        { 200, NULL, SB("running") },
        { 200, NULL, OK("{\"id\":\"sb-1\",\"egress\":[\"a.example.com\"]}") },
        { 200, NULL, OK("{\"id\":\"sb-1\",\"egress\":[\"a.example.com\",\"b.example.com\"]}") },
        { 200, NULL, SB("running") },
        { 200, NULL, OK("{\"id\":\"sb-1\",\"egress\":[\"a.example.com\"]}") },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 8))
        return;
    struct run a, b, c;
    run_cli(f.url, false, ARGV("sb", "fw", "add", "sb-1", "a.example.com"), &a);
    run_cli(f.url, false, ARGV("sb", "fw", "add", "sb-1", "A.example.com b.example.com"), &b);
    run_cli(f.url, true, ARGV("sb", "fw", "add", "sb-1", "a.example.com"), &c); /* no change */
    fake_http_stop(&f);
    EXPECT(a, 0, "a.example.com\n", "everything not listed is blocked"); /* was allow-all */
    EXPECT(b, 0, "a.example.com\nb.example.com\n", "");
    CHECK(!has(b.err, "blocked"));
    EXPECT(c, 0, "{\"id\":\"sb-1\",\"egress\":[\"a.example.com\"]}\n", "");
    CHECK(has(f.log, "{\"egress\":[\"a.example.com\"]}\n"));
    CHECK(has(f.log, "{\"egress\":[\"a.example.com\",\"b.example.com\"]}\n"));
    CHECK_EQ(fake_http_count(f.log, "PUT "), 2); /* nothing new: no PUT */
}

TEST(firewall_remove_and_clear)
{
    static const struct fake_reply s[] = {
        { 200, NULL, SB("running") },
        { 200, NULL, OK("{\"id\":\"sb-1\",\"egress\":[\"a.example.com\",\"b.example.com\"]}") },
        { 200, NULL, OK("{\"id\":\"sb-1\",\"egress\":[\"b.example.com\"]}") },
        { 200, NULL, SB("running") },
        { 200, NULL, OK("{\"id\":\"sb-1\",\"egress\":[\"b.example.com\"]}") },
        { 200, NULL, OK("{\"id\":\"sb-1\",\"egress\":[]}") },
        { 200, NULL, SB("running") },
        { 200, NULL, OK("{\"id\":\"sb-1\",\"egress\":[]}") },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 8))
        return;
    struct run a, b, c;
    run_cli(f.url, false, ARGV("sb", "fw", "remove", "sb-1", "a.example.com,nope.org"), &a);
    run_cli(f.url, false, ARGV("sb", "fw", "remove", "sb-1", "B.example.com"), &b);
    run_cli(f.url, false, ARGV("sb", "fw", "clear", "sb-1", "-y"), &c);
    fake_http_stop(&f);
    EXPECT(a, 0, "b.example.com\n", "rule 'nope.org' is not in the list, ignoring");
    CHECK(!has(a.err, "all outbound"));
    EXPECT(b, 0, "all outbound traffic allowed", "the last rule was removed; all outbound");
    EXPECT(c, 0, "all outbound traffic allowed", "");
    CHECK(has(f.log, "{\"egress\":[\"b.example.com\"]}\n"));
    CHECK_EQ(fake_http_count(f.log, "{\"egress\":[]}\n"), 2);
}

TEST(bandwidth_show_and_add)
{
    static const struct fake_reply s[] = {
        { 200, NULL, SB("running") },
        { 200, NULL, OK("{\"id\":\"sb-1\",\"quota_bytes\":5368709120,\"used_bytes\":6442450944,"
                        "\"ingress_bytes\":1024,\"remaining_bytes\":-1073741824,"
                        "\"capped\":true}") },
        { 200, NULL, SB("running") },
        { 200, NULL, OK("{\"id\":\"sb-1\",\"quota_bytes\":10737418240,\"used_bytes\":6442450944,"
                        "\"ingress_bytes\":1024,\"remaining_bytes\":4294967296,"
                        "\"capped\":false}") },
        { 200, NULL, SB("running") },
        { 200, NULL, OK("{\"id\":\"sb-1\",\"quota_bytes\":-1,\"used_bytes\":0,"
                        "\"ingress_bytes\":0,\"remaining_bytes\":-1,\"capped\":false}") },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 6))
        return;
    struct run a, b, c;
    run_cli(f.url, false, ARGV("sb", "bw", "show", "sb-1"), &a);
    run_cli(f.url, false, ARGV("sb", "bandwidth", "add", "sb-1"), &b);
    run_cli(f.url, false, ARGV("sb", "bw", "recharge", "sb-1", "512MiB"), &c);
    fake_http_stop(&f);
    EXPECT(a, 0, "quota:     5.0 GiB\nused:      6.0 GiB\nremaining: none (1.0 GiB over)\n", "");
    CHECK(has(a.out, "ingress:   1.0 KiB\ncapped:    yes\n"));
    EXPECT(b, 0, "quota:     10.0 GiB\n", "");
    EXPECT(c, 0, "quota:     unmetered\n", "unmetered; nothing was added");
    CHECK(has(c.out, "remaining: unmetered\n"));
    CHECK(has(f.log, "POST /v1/sandboxes/sb-1/bandwidth/recharge HTTP/1.1\n"
                     "{\"add_bytes\":5368709120}\n"));
    CHECK(has(f.log, "{\"add_bytes\":536870912}\n"));
}

#define NET_FULL                                                                                 \
    OK("{\"id\":\"net-01\",\"name\":\"backend\",\"created_at\":\"2026-03-01T14:07:09.412Z\","     \
       "\"member_count\":2,\"members\":[{\"sandbox_id\":\"sb-2\",\"name\":\"DB_main\","            \
       "\"status\":\"running\",\"ip\":\"10.77.0.3\"},{\"sandbox_id\":\"sb-1\","                \
       "\"name\":\"web\","                                                                         \
       "\"status\":\"paused\"}]}")

TEST(network_create_ls_show)
{
    static const struct fake_reply s[] = {
        { 200, NULL, OK("{\"id\":\"net-01\",\"name\":\"backend\",\"created_at\":"
                        "\"2026-03-01T14:07:09.412Z\",\"member_count\":0}") },
        { 200, NULL, OK("{\"data\":[{\"id\":\"net-02\",\"name\":\"front\",\"member_count\":1,"
                        "\"created_at\":\"2026-03-01T14:07:09.412Z\"},{\"id\":\"net-01\","
                        "\"name\":\"backend\",\"member_count\":0}],\"pagination\":{\"total\":2,"
                        "\"limit\":50,\"offset\":0,\"count\":2}}") },
        { 200, NULL, OK("{\"data\":[{\"id\":\"net-02\"},{\"id\":\"net-01\"}],\"pagination\":"
                        "{\"total\":9,\"limit\":2,\"offset\":5,\"count\":2}}") },
        { 200, NULL, OK("{\"data\":[{\"id\":\"net-02\"}],\"pagination\":{\"total\":1}}") },
        { 200, NULL, NET_FULL },
        { 400, NULL, "{\"status\":\"fail\",\"data\":{\"name\":\"name already in use: backend\","
                     "\"code\":\"name_taken\"}}" },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 6))
        return;
    struct run a, b, c, d, e, g;
    run_cli(f.url, false, ARGV("sb", "net", "create", "backend"), &a);
    run_cli(f.url, false, ARGV("sb", "networks", "ls"), &b);
    run_cli(f.url, false, ARGV("sb", "network", "list", "-q", "--limit", "2", "--offset", "5"),
            &c);
    run_cli(f.url, true, ARGV("sb", "net", "ls"), &d);
    run_cli(f.url, false, ARGV("sb", "net", "show", "backend"), &e);
    run_cli(f.url, false, ARGV("sb", "net", "create", "backend"), &g);
    fake_http_stop(&f);
    EXPECT(a, 0, "id:      net-01\nname:    backend\nmembers: 0\n", "");
    EXPECT(b, 0, "ID      NAME     MEMBERS  CREATED\nnet-02  front    1        ", "");
    CHECK(has(b.out, "\nnet-01  backend  0        -\n"));
    EXPECT(c, 0, "net-02\nnet-01\n", "");
    CHECK(!has(c.out, "ID"));
    EXPECT(d, 0, "[{\"id\":\"net-02\"}]\n", "");
    EXPECT(e, 0, "members: 2\n", "");
    CHECK(has(e.out, "SANDBOX  NAME     STATUS   IP         REACHABLE AS\n"));
    CHECK(has(e.out, "sb-2     DB_main  running  10.77.0.3  db-main.backend.hearth.internal\n"));
    CHECK(has(e.out, "sb-1     web      paused   -          web.backend.hearth.internal\n"));
    EXPECT(g, CLI_EXIT_REJECTED, "", "name already in use: backend (HTTP 400 name_taken");
    CHECK(has(f.log, "POST /v1/networks HTTP/1.1\n{\"name\":\"backend\"}\n"));
    CHECK(has(f.log, "GET /v1/networks?offset=0&limit=50 HTTP/1.1\n"));
    CHECK(has(f.log, "GET /v1/networks?offset=5&limit=2 HTTP/1.1\n"));
    CHECK(has(f.log, "GET /v1/networks/backend HTTP/1.1\n"));
}

TEST(network_rm_detaches_members_first)
{
    static const struct fake_reply s[] = {
        { 200, NULL, NET_FULL },
        { 200, NULL, OK("{\"ok\":true}") },
        { 200, NULL, OK("{\"ok\":true}") },
        { 200, NULL, OK("{\"ok\":true}") },
        { 404, NULL, "{\"status\":\"fail\",\"data\":\"network not found\"}" },
        { 404, NULL, "{\"status\":\"fail\",\"data\":\"network not found\"}" },
        { 200, NULL, OK("{\"id\":\"net-03\",\"name\":\"empty\",\"member_count\":0}") },
        { 200, NULL, OK("{\"ok\":true}") },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 8))
        return;
    struct run a, b, c;
    run_cli(f.url, false, ARGV("sb", "net", "rm", "backend", "--yes"), &a);
    run_cli(f.url, false, ARGV("sb", "net", "rm", "-y", "nope"), &b);
    run_cli(f.url, true, ARGV("sb", "net", "delete", "--force", "gone", "empty"), &c);
    fake_http_stop(&f);
    EXPECT(a, 0, "net-01 deleted (2 members detached)\n", "");
    EXPECT(b, CLI_EXIT_NOT_FOUND, "", "network 'nope': network not found (HTTP 404");
    EXPECT(c, CLI_EXIT_FAIL, "[{\"ref\":\"gone\",\"detached\":0,\"error\":\"network not found\"},"
                             "{\"ref\":\"empty\",\"id\":\"net-03\",\"detached\":0,"
                             "\"status\":\"deleted\"}]\n", "");
    /* the order on the wire: read the members, detach each by the network's id, delete */
    const char *g = strstr(f.log, "GET /v1/networks/backend ");
    const char *d1 = strstr(f.log, "DELETE /v1/sandboxes/sb-2/networks/net-01 ");
    const char *d2 = strstr(f.log, "DELETE /v1/sandboxes/sb-1/networks/net-01 ");
    const char *del = strstr(f.log, "DELETE /v1/networks/net-01 ");
    CHECK(g && d1 && d2 && del && g < d1 && d1 < d2 && d2 < del);
    CHECK(has(f.log, "DELETE /v1/networks/net-03 "));
    CHECK(!has(f.log, "DELETE /v1/networks/nope"));
}

TEST(network_attach_detach)
{
    static const struct fake_reply s[] = {
        { 200, NULL, SB("running") },
        { 200, NULL, OK("{\"ok\":true}") },
        { 200, NULL, SB("running") },
        { 200, NULL, OK("{\"ok\":true}") },
        { 200, NULL, SB("running") },
        { 404, NULL, "{\"status\":\"fail\",\"data\":\"network not found\"}" },
        { 200, NULL, SB("running") },
        { 409, NULL, "{\"status\":\"fail\",\"data\":{\"code\":\"limit_reached\","
                     "\"message\":\"a sandbox joins at most 8 networks\"}}" },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 8))
        return;
    struct run a, b, c, d;
    run_cli(f.url, false, ARGV("sb", "net", "attach", "sb-1", "backend"), &a);
    run_cli(f.url, true, ARGV("sb", "net", "detach", "sb-1", "backend", "-y"), &b);
    run_cli(f.url, false, ARGV("sb", "net", "attach", "sb-1", "nope"), &c);
    run_cli(f.url, true, ARGV("sb", "net", "attach", "sb-1", "ninth"), &d);
    fake_http_stop(&f);
    EXPECT(a, 0, "sb-1 attached to network backend\n", "");
    EXPECT(b, 0, "{\"ok\":true}\n", "");
    EXPECT(c, CLI_EXIT_NOT_FOUND, "", "error: network not found (HTTP 404");
    EXPECT(d, CLI_EXIT_REJECTED, "", "\"code\":\"limit_reached\"");
    CHECK(has(f.log, "POST /v1/sandboxes/sb-1/networks HTTP/1.1\n{\"id\":\"backend\"}\n"));
    CHECK(has(f.log, "DELETE /v1/sandboxes/sb-1/networks/backend HTTP/1.1\n"));
}

TEST(sb_get_adds_bandwidth_when_running_or_paused)
{
    static const struct fake_reply s[] = {
        { 200, NULL, SB("running") },
        { 200, NULL, OK("{\"id\":\"sb-1\",\"quota_bytes\":5368709120,\"used_bytes\":0,"
                        "\"ingress_bytes\":0,\"remaining_bytes\":5368709120,\"capped\":false}") },
        { 200, NULL, SB("paused") },
        { 200, NULL, OK("{\"id\":\"sb-1\",\"quota_bytes\":-1,\"used_bytes\":7,"
                        "\"ingress_bytes\":0,\"remaining_bytes\":-1,\"capped\":false}") },
        { 200, NULL, SB("creating") },
        { 200, NULL, SB("running") },
        { 501, NULL, "{\"status\":\"error\",\"message\":\"not implemented\",\"code\":501,"
                     "\"data\":{\"code\":\"not_implemented\"}}" },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 7))
        return;
    struct run a, b, c, d;
    run_cli(f.url, true, ARGV("sb", "get", "sb-1"), &a);
    run_cli(f.url, false, ARGV("sb", "get", "sb-1"), &b);
    run_cli(f.url, true, ARGV("sb", "get", "sb-1"), &c);
    run_cli(f.url, true, ARGV("sb", "get", "sb-1"), &d);
    fake_http_stop(&f);
    EXPECT(a, 0, "\"shape\":\"s-1vcpu-256mb\",\"bandwidth\":{\"id\":\"sb-1\","
                 "\"quota_bytes\":5368709120,", "");
    CHECK(has(a.out, "\"capped\":false}}\n"));
    EXPECT(b, 0, "bandwidth:", "");
    CHECK(has(b.out, "7 B used, unmetered\n"));
    EXPECT(c, 0, "\"status\":\"creating\"", "");
    CHECK(!has(c.out, "bandwidth"));
    /* a server without the route: get still works, silently without bandwidth */
    EXPECT(d, 0, "\"status\":\"running\"", "");
    CHECK(!has(d.out, "bandwidth"));
    CHECK(d.err[0] == '\0');
    CHECK_EQ(fake_http_count(f.log, "/bandwidth "), 3);
}

TEST(sb_create_sends_networks)
{
    static const struct fake_reply s[] = {
        { 200, NULL, SB("running") },
    };
    struct fake_http f;
    if (!fake_http_start(&f, s, 1))
        return;
    struct run a;
    run_cli(f.url, true, ARGV("sb", "create", "--network", "a,b", "--net=c", "--net", "net-01"),
            &a);
    fake_http_stop(&f);
    EXPECT(a, 0, "\"id\":\"sb-1\"", "");
    CHECK(has(f.log, "\"networks\":[{\"id\":\"a\"},{\"id\":\"b\"},{\"id\":\"c\"},"
                     "{\"id\":\"net-01\"}]"));
}
