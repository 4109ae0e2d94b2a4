/* SPDX-License-Identifier: MIT */
/* test_rules.c: the egress rule list of `hearth sb firewall` (cli/rules.h) and the formatting of
 * bandwidth and network member names (cli/output.h). */
#include "cli/output.h"
#include "cli/rules.h"
#include "harness.h"

#include <errno.h>
#include <stdlib.h>

/* The list as "a|b|c". */
static void joined(const struct cli_rules *r, char *buf, size_t n)
{
    buf[0] = '\0';
    for (size_t i = 0; i < r->n; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, n - used, "%s%s", i ? "|" : "", r->v[i]);
    }
}

TEST(rules_split_on_commas_and_spaces)
{
    static const struct {
        const char *in;
        int ret;
        const char *want;
    } cases[] = {
        { "a.com", 1, "a.com" },
        { "a.com,b.com", 2, "a.com|b.com" },
        { " a.com ,\tb.com:443 , ", 2, "a.com|b.com:443" },
        { "a.com A.COM a.com", 3, "a.com" }, /* duplicates count as pieces, kept once */
        { ",,, ", 0, "" },
        { "", 0, "" },
        { "10.0.0.0/8:22,*.x.org", 2, "10.0.0.0/8:22|*.x.org" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct cli_rules r;
        cli_rules_init(&r);
        int ret = cli_rules_add_split(&r, cases[i].in);
        char got[256];
        joined(&r, got, sizeof(got));
        if (ret != cases[i].ret || strcmp(got, cases[i].want) != 0)
            harness_fail(__FILE__, __LINE__, "'%s': %d '%s'", cases[i].in, ret, got);
        cli_rules_release(&r);
    }
}

TEST(rules_add_remove_allow_all)
{
    struct cli_rules r;
    char got[256];
    cli_rules_init(&r);
    CHECK(cli_rules_allow_all(&r));
    CHECK_EQ(cli_rules_add(&r, ""), -EINVAL);
    for (int i = 0; i < 20; i++) { /* grows past the first allocation */
        char rule[32];
        snprintf(rule, sizeof(rule), "h%d.example.com", i);
        CHECK_EQ(cli_rules_add(&r, rule), 1);
    }
    CHECK_EQ(r.n, 20);
    CHECK(!cli_rules_allow_all(&r));
    CHECK_EQ(cli_rules_add(&r, "H3.Example.COM"), 0);
    CHECK(cli_rules_remove(&r, "H0.EXAMPLE.com"));
    CHECK(!cli_rules_remove(&r, "h0.example.com"));
    CHECK(!cli_rules_remove(&r, "h1.example.com:443"));
    CHECK(cli_rules_remove(&r, "h19.example.com"));
    CHECK_EQ(r.n, 18);
    CHECK_STR(r.v[0], "h1.example.com");
    CHECK_STR(r.v[17], "h18.example.com");
    CHECK_EQ(cli_rules_add(&r, "*"), 1);
    CHECK(cli_rules_allow_all(&r));
    cli_rules_release(&r);
    CHECK_EQ(r.n, 0);
    CHECK_EQ(cli_rules_add(&r, "x"), 1);
    CHECK(cli_rules_remove(&r, "X"));
    joined(&r, got, sizeof(got));
    CHECK_STR(got, "");
    CHECK(cli_rules_allow_all(&r));
    cli_rules_release(&r);
}

TEST(member_fqdn)
{
    static const struct {
        const char *name, *net, *want;
    } cases[] = {
        { "web", "backend", "web.backend.hearth.internal" },
        { "My_Box.v2", "n1", "my-box-v2.n1.hearth.internal" },
        { "A-b_C", "x", "a-b-c.x.hearth.internal" },
        { "", "x", ".x.hearth.internal" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[128];
        out_member_fqdn(cases[i].name, cases[i].net, buf, sizeof(buf));
        CHECK_STR(buf, cases[i].want);
    }
    char tiny[8];
    out_member_fqdn("abcdefghijkl", "n", tiny, sizeof(tiny));
    CHECK_STR(tiny, "abcdefg");
}

TEST(quota_and_bandwidth_summary)
{
    char buf[96];
    out_quota(-1, buf, sizeof(buf));
    CHECK_STR(buf, "unmetered");
    out_quota(5368709120LL, buf, sizeof(buf));
    CHECK_STR(buf, "5.0 GiB");
    out_quota(0, buf, sizeof(buf));
    CHECK_STR(buf, "0 B");
}
