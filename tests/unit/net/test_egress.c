/* SPDX-License-Identifier: MIT */
/* test_egress.c: the egress rule grammar (docs/api.md §3.6.3) as the data plane parses and matches
 * it: every form, ports, wildcard depth, "*", and hostile strings. */
#include <errno.h>
#include <stdlib.h>

#include "daemon/net/egress_rules.h"
#include "harness.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

TEST(egress_parse_forms)
{
    static const struct {
        const char *in;
        enum egress_kind kind;
        const char *host;
        uint32_t addr;
        unsigned prefix, port;
    } cases[] = {
        { "*", EGRESS_ALL, "", 0, 0, 0 },
        { "api.example.com", EGRESS_HOST, "api.example.com", 0, 0, 0 },
        { "API.Example.COM.", EGRESS_HOST, "api.example.com", 0, 0, 0 },
        { "api.example.com:443", EGRESS_HOST, "api.example.com", 0, 0, 443 },
        { "localhost", EGRESS_HOST, "localhost", 0, 0, 0 },
        { "*.example.org", EGRESS_SUFFIX, "example.org", 0, 0, 0 },
        { "*.example.org:8443", EGRESS_SUFFIX, "example.org", 0, 0, 8443 },
        { "203.0.113.7", EGRESS_NET, "", IP(203, 0, 113, 7), 32, 0 },
        { "203.0.113.7:53", EGRESS_NET, "", IP(203, 0, 113, 7), 32, 53 },
        { "198.51.100.0/24", EGRESS_NET, "", IP(198, 51, 100, 0), 24, 0 },
        { "198.51.100.9/24:8080", EGRESS_NET, "", IP(198, 51, 100, 0), 24, 8080 },
        { "0.0.0.0/0", EGRESS_NET, "", 0, 0, 0 },
        { "1.2.3.4/32:65535", EGRESS_NET, "", IP(1, 2, 3, 4), 32, 65535 },
        /* the grammar's host labels may be all digits: not addresses, just names */
        { "1.2.3", EGRESS_HOST, "1.2.3", 0, 0, 0 },
        { "256.1.1.1", EGRESS_HOST, "256.1.1.1", 0, 0, 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct egress_rule r;
        int ret = egress_parse(cases[i].in, &r);
        if (ret != 0) {
            harness_fail(__FILE__, __LINE__, "'%s': %d", cases[i].in, ret);
            continue;
        }
        CHECK_EQ(r.kind, cases[i].kind);
        if (r.kind == EGRESS_HOST || r.kind == EGRESS_SUFFIX)
            CHECK_STR(r.host, cases[i].host);
        if (r.kind == EGRESS_NET) {
            CHECK_EQ(r.addr, cases[i].addr);
            CHECK_EQ(r.prefix, cases[i].prefix);
        }
        CHECK_EQ(r.port, cases[i].port);
    }
}

TEST(egress_parse_rejects_hostile)
{
    static const char *const bad[] = {
        "", ":", ":80", "host:", "host:0", "host:65536", "host:-1", "host:+80", "host:080",
        "host:80:80", "host:8o", "*.", "*", "**.a", "*.*.a", "a.*.b", "*a.b", "-a.b", "a-.b",
        "a..b", ".a", "a b", "a\tb", "a;b", "a\"b", "a}b", "a/b", "1.2.3.4/33", "1.2.3.4/",
        "1.2.3.4/-1", "1.2.3.4/08", "256.1.1.1/8", "1.2.3.04/8", "1.2.3.4.5/8", "::1", "[::1]:80",
        "2001:db8::1", "caf\xc3\xa9.com", "\xff", "a_b.com", "exa mple.com",
        "a234567890123456789012345678901234567890123456789012345678901234.com",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct egress_rule r;
        if (bad[i][0] == '*' && bad[i][1] == '\0')
            continue;       /* "*" is valid; listed to keep the table honest */
        int ret = egress_parse(bad[i], &r);
        if (ret != -EINVAL)
            harness_fail(__FILE__, __LINE__, "'%s': want -EINVAL, got %d", bad[i], ret);
    }
    CHECK_EQ(egress_parse(NULL, &(struct egress_rule){ 0 }), -EINVAL);
    /* 253 characters is the longest name; 254 is refused; a rule longer than 260 too */
    char name[300];
    memset(name, 'a', sizeof(name));
    for (size_t i = 63; i < 253; i += 64)
        name[i] = '.';
    name[253] = '\0';
    struct egress_rule r;
    CHECK_EQ(egress_parse(name, &r), 0);
    name[253] = 'a';
    name[254] = '\0';
    CHECK_EQ(egress_parse(name, &r), -EINVAL);
    name[299] = '\0';
    CHECK_EQ(egress_parse(name, &r), -EINVAL);
}

TEST(egress_parse_list_star_and_limits)
{
    struct egress_rule out[4];
    bool all = false;
    size_t bad = 99;
    CHECK_EQ(egress_parse_list(NULL, 0, out, 4, &all, &bad), 0);
    CHECK(all);
    const char *with_star[] = { "a.com", "*", "1.2.3.4" };
    CHECK_EQ(egress_parse_list(with_star, 3, out, 4, &all, &bad), 0);
    CHECK(all);
    const char *two[] = { "a.com", "1.2.3.4:80" };
    CHECK_EQ(egress_parse_list(two, 2, out, 4, &all, &bad), 2);
    CHECK(!all);
    const char *badl[] = { "a.com", "bad host" };
    CHECK_EQ(egress_parse_list(badl, 2, out, 4, &all, &bad), -EINVAL);
    CHECK_EQ(bad, 1);
    const char *many[] = { "a.com", "b.com", "c.com" };
    CHECK_EQ(egress_parse_list(many, 3, out, 2, &all, &bad), -E2BIG);
}

TEST(egress_match_names)
{
    const char *rules_s[] = { "api.example.com:443", "api.example.com:8443", "*.example.org",
                              "*.svc.example.net:80", "exact.io", "1.2.3.4" };
    struct egress_rule rules[8];
    bool all;
    int n = egress_parse_list(rules_s, 6, rules, 8, &all, NULL);
    CHECK_EQ(n, 6);
    struct egress_match *m = malloc(sizeof(*m));
    CHECK(m);
    egress_match_name(rules, (size_t)n, "api.example.com", m);
    CHECK(m->any && !m->all_ports);
    CHECK_EQ(m->n_ports, 2);
    CHECK_EQ(m->ports[0], 443);
    CHECK_EQ(m->ports[1], 8443);
    egress_match_name(rules, (size_t)n, "API.EXAMPLE.COM.", m);
    CHECK(m->any && m->n_ports == 2);
    egress_match_name(rules, (size_t)n, "x.api.example.com", m);
    CHECK(!m->any);
    egress_match_name(rules, (size_t)n, "a.example.org", m);
    CHECK(m->any && m->all_ports);
    egress_match_name(rules, (size_t)n, "a.b.c.example.org", m);      /* any depth */
    CHECK(m->any && m->all_ports);
    egress_match_name(rules, (size_t)n, "example.org", m);            /* not itself */
    CHECK(!m->any);
    egress_match_name(rules, (size_t)n, "badexample.org", m);
    CHECK(!m->any);
    egress_match_name(rules, (size_t)n, "x.svc.example.net", m);
    CHECK(m->any && !m->all_ports && m->n_ports == 1 && m->ports[0] == 80);
    egress_match_name(rules, (size_t)n, "exact.io", m);
    CHECK(m->any && m->all_ports);
    egress_match_name(rules, (size_t)n, "1.2.3.4", m);                /* IP rules are not names */
    CHECK(!m->any);
    /* hostile names never match */
    static const char *const hostile[] = { "", ".", "a..example.org", "x\".example.org",
                                           "x y.example.org", "x;.example.org", NULL };
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        egress_match_name(rules, (size_t)n, hostile[i], m);
        if (m->any)
            harness_fail(__FILE__, __LINE__, "hostile name %zu matched", i);
    }
    free(m);
    CHECK(egress_name_valid("a.example.org."));
    CHECK(!egress_name_valid("a\".example.org"));
    CHECK(!egress_name_valid(NULL));
}

TEST(egress_static_nets_drops_overlaps)
{
    const char *rules_s[] = { "10.0.0.0/8:443", "10.1.0.0/16:443", "10.1.2.3:80", "10.1.2.3:80",
                              "1.2.3.0/24", "1.2.3.4", "1.2.3.5:22", "9.9.9.9:53",
                              "9.9.9.9", "a.com" };
    struct egress_rule rules[16];
    bool all;
    int n = egress_parse_list(rules_s, 10, rules, 16, &all, NULL);
    CHECK_EQ(n, 10);
    struct egress_net out[16];
    size_t k = egress_static_nets(rules, (size_t)n, out);
    CHECK_EQ(k, 4);
    /* every-port entries first, in rule order */
    CHECK(out[0].addr == IP(1, 2, 3, 0) && out[0].prefix == 24 && out[0].port == 0);
    CHECK(out[1].addr == IP(9, 9, 9, 9) && out[1].prefix == 32 && out[1].port == 0);
    CHECK(out[2].addr == IP(10, 0, 0, 0) && out[2].prefix == 8 && out[2].port == 443);
    CHECK(out[3].addr == IP(10, 1, 2, 3) && out[3].port == 80);
}

TEST(egress_private_blocks_and_exceptions)
{
    CHECK(egress_net_private(IP(10, 1, 2, 3), 32));
    CHECK(egress_net_private(IP(10, 0, 0, 0), 8));
    CHECK(egress_net_private(IP(169, 254, 169, 254), 32));
    CHECK(egress_net_private(IP(172, 31, 255, 255), 32));
    CHECK(!egress_net_private(IP(172, 32, 0, 0), 32));
    CHECK(egress_net_private(IP(192, 168, 1, 0), 24));
    CHECK(egress_net_private(IP(100, 127, 0, 1), 32));
    CHECK(!egress_net_private(IP(100, 128, 0, 1), 32));
    CHECK(egress_net_private(IP(127, 0, 0, 1), 32));
    CHECK(egress_net_private(IP(0, 0, 0, 0), 8));
    CHECK(!egress_net_private(IP(0, 0, 0, 0), 0));   /* wider than every block */
    CHECK(!egress_net_private(IP(8, 0, 0, 0), 7));
    CHECK(!egress_net_private(IP(203, 0, 113, 7), 32));
    CHECK(!egress_net_private(IP(192, 0, 0, 0), 8)); /* contains 192.168/16, not inside it */
    const char *rules_s[] = { "*", "10.0.0.5", "192.168.0.0/16:443", "0.0.0.0/0", "a.com",
                              "*.b.com", "169.254.169.254:80", "203.0.113.0/24", "bad rule" };
    struct egress_rule out[16];
    size_t k = egress_private_rules(rules_s, 9, out, 16);
    CHECK_EQ(k, 3);
    CHECK(out[0].addr == IP(10, 0, 0, 5) && out[0].prefix == 32 && out[0].port == 0);
    CHECK(out[1].addr == IP(192, 168, 0, 0) && out[1].prefix == 16 && out[1].port == 443);
    CHECK(out[2].addr == IP(169, 254, 169, 254) && out[2].port == 80);
    CHECK_EQ(egress_private_rules(rules_s, 9, out, 2), 2);
    CHECK_EQ(egress_private_rules(NULL, 0, out, 2), 0);
}
