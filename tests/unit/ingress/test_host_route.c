/* SPDX-License-Identifier: MIT */
/* test_host_route.c: the ingress Host parser (daemon/ingress/host_route.h), table-driven:
 * the template's own form, case, ports and ":port" suffixes, names, and the malformed or
 * foreign hosts that must be a 400. */
#include "daemon/ingress/host_route.h"
#include "harness.h"

#include <errno.h>
#include <string.h>

TEST(ingress_host_parse_table)
{
    static const struct { const char *host, *domain; int ret; unsigned port; const char *ref; }
        cases[] = {
        { "8080-sb-01hx5zq3v2k4m6n8p0r2s4t6v8.localhost", "localhost", 0, 8080,
          "sb-01hx5zq3v2k4m6n8p0r2s4t6v8" },
        { "8080-SB-01HX5ZQ3V2K4M6N8P0R2S4T6V8.LocalHost:8081", "localhost", 0, 8080,
          "sb-01hx5zq3v2k4m6n8p0r2s4t6v8" },
        { "3000-my-app.sb.example.com", "sb.example.com", 0, 3000, "my-app" },
        { "3000-my-app.SB.Example.com.", "sb.example.com", 0, 3000, "my-app" },
        { "1-a.d", "d", 0, 1, "a" },
        { "65535-a.d:443", "d", 0, 65535, "a" },
        { "65536-a.d", "d", -EINVAL, 0, NULL },
        { "0-a.d", "d", -EINVAL, 0, NULL },
        { "080-a.d", "d", -EINVAL, 0, NULL },
        { "99999999-a.d", "d", -EINVAL, 0, NULL },
        { "-a.d", "d", -EINVAL, 0, NULL },
        { "80a.d", "d", -EINVAL, 0, NULL },
        { "80-.d", "d", -EINVAL, 0, NULL },
        { "80-a-.d", "d", -EINVAL, 0, NULL },
        { "80--a.d", "d", -EINVAL, 0, NULL },
        { "80-a_b.d", "d", -EINVAL, 0, NULL },
        { "80-a b.d", "d", -EINVAL, 0, NULL },
        { "80-a.d:0", "d", -EINVAL, 0, NULL },
        { "80-a.d:65536", "d", -EINVAL, 0, NULL },
        { "80-a.d:", "d", -EINVAL, 0, NULL },
        { "80-a.d:x", "d", -EINVAL, 0, NULL },
        { "[::1]:80", "d", -EINVAL, 0, NULL },
        { "", "d", -EINVAL, 0, NULL },
        { "80-a.other", "d", -EDOM, 0, NULL },
        { "80-a.b.d", "d", -EDOM, 0, NULL },
        { "d", "d", -EDOM, 0, NULL },
        { ".d", "d", -EDOM, 0, NULL },
        { "80-a.xd", "d", -EDOM, 0, NULL },
        { "127.0.0.1:8081", "localhost", -EDOM, 0, NULL },
        { "80-a.d", "", -EDOM, 0, NULL },
        { "80-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.d", "d", 0, 80,
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" },
        { "80-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.d", "d", -EINVAL,
          0, NULL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ingress_host h;
        memset(&h, 0x55, sizeof(h));
        int r = ingress_host_parse(cases[i].host, strlen(cases[i].host), cases[i].domain, &h);
        if (r != cases[i].ret)
            harness_fail(__FILE__, __LINE__, "case %zu (%s): got %d, want %d", i,
                         cases[i].host, r, cases[i].ret);
        if (r == 0) {
            CHECK_EQ(h.port, cases[i].port);
            CHECK_STR(h.ref, cases[i].ref);
        }
    }
}

TEST(ingress_host_parse_embedded_nul_and_controls)
{
    struct ingress_host h;
    CHECK_EQ(ingress_host_parse("80-a\0b.d", 8, "d", &h), -EINVAL);
    CHECK_EQ(ingress_host_parse("80-a.d\r", 7, "d", &h), -EINVAL);
    CHECK_EQ(ingress_host_parse("80-\xc3\xa9.d", 7, "d", &h), -EINVAL);
    CHECK_EQ(ingress_host_parse(NULL, 0, "d", &h), -EINVAL);
}

TEST(ingress_host_sni_agrees)
{
    CHECK(ingress_host_same("8080-a.example.com", "8080-A.Example.com:8443", 23));
    CHECK(ingress_host_same("8080-a.example.com.", "8080-a.example.com", 18));
    CHECK(!ingress_host_same("8080-b.example.com", "8080-a.example.com", 18));
    CHECK(!ingress_host_same("", "", 0));
    CHECK(!ingress_host_same(NULL, "a", 1));
}
