/* SPDX-License-Identifier: MIT */
/* test_netcfg.c: the net object of HELLO and NETCFG: the parser on good and hostile input
 * (wrong types, huge arrays, overlong strings, embedded NULs), its canonical text and the
 * resolv.conf it asks for, and a forked agent answering NETCFG and HELLO with a net object.
 * The forked agent is not PID 1, so it validates but never touches the test machine's network. */
#include "agent/netcfg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "harness.h"

#define GOOD "{\"mac\":\"02:aa:bb:cc:dd:ee\",\"addrs\":[\"10.88.0.5/32\",\"10.89.3.7/32\"]," \
             "\"gateway\":\"10.88.0.1\",\"routes\":[{\"dst\":\"10.89.3.0/24\",\"src\":"       \
             "\"10.89.3.7\"}],\"dns\":[\"10.88.0.1\"],\"search\":[\"backend.hearth.internal\"]}"

/* Parses text (JSON, NULs allowed) and returns netcfg_parse()'s result; why gets the message. */
static int parse_text(const char *text, size_t len, struct netcfg *c, char *why, size_t wlen)
{
    json_t *j = json_loadb(text, len, JSON_ALLOW_NUL | JSON_DECODE_ANY, NULL);
    if (!j) {
        snprintf(why, wlen, "(not JSON)");
        return -999;
    }
    int r = netcfg_parse(j, c, why, wlen);
    json_decref(j);
    return r;
}

static int parse(const char *text, struct netcfg *c, char *why, size_t wlen)
{
    return parse_text(text, strlen(text), c, why, wlen);
}

TEST(netcfg_parse_good)
{
    struct netcfg c;
    char why[200];
    CHECK_EQ(parse(GOOD, &c, why, sizeof(why)), 0);
    CHECK_STR(why, "");
    CHECK(c.has_mac);
    CHECK_EQ(c.mac[0], 0x02);
    CHECK_EQ(c.mac[5], 0xee);
    CHECK_EQ(c.n_addrs, 2);
    CHECK_EQ(c.addrs[0].ip, 0x0a580005);
    CHECK_EQ(c.addrs[0].prefix, 32);
    CHECK_EQ(c.gateway, 0x0a580001);
    CHECK_EQ(c.n_routes, 1);
    CHECK_EQ(c.routes[0].dst.ip, 0x0a590300);
    CHECK_EQ(c.routes[0].dst.prefix, 24);
    CHECK_EQ(c.routes[0].src, 0x0a590307);
    CHECK_EQ(c.n_dns, 1);
    CHECK_EQ(c.n_search, 1);
    CHECK_STR(c.search[0], "backend.hearth.internal");
    char canon[NETCFG_CANON_MAX], rc[512];
    CHECK_EQ(netcfg_canonical(&c, canon, sizeof(canon)), 0);
    CHECK_STR(canon, "mac=02:aa:bb:cc:dd:ee;addrs=10.88.0.5/32,10.89.3.7/32;gw=10.88.0.1;"
                     "routes=10.89.3.0/24>10.89.3.7;dns=10.88.0.1;search=backend.hearth.internal");
    CHECK_EQ(netcfg_resolv_conf(&c, rc, sizeof(rc)), 0);
    CHECK_STR(rc, "nameserver 10.88.0.1\nsearch backend.hearth.internal\n");
    CHECK_EQ(netcfg_canonical(&c, canon, 10), -ENOSPC);
}

TEST(netcfg_parse_minimal_and_canonical_ignores_spelling)
{
    struct netcfg a, b;
    char why[200], ca[NETCFG_CANON_MAX], cb[NETCFG_CANON_MAX];
    CHECK_EQ(parse("{\"addrs\":[\"10.0.0.2/24\"],\"gateway\":\"10.0.0.1\"}", &a, why,
                   sizeof(why)), 0);
    CHECK(!a.has_mac);
    CHECK_EQ(a.n_routes + a.n_dns + a.n_search, 0);
    /* key order, hex case and unknown keys do not change the configuration */
    CHECK_EQ(parse("{\"gateway\":\"10.0.0.1\",\"future\":[1,2],\"addrs\":[\"10.0.0.2/24\"],"
                   "\"mac\":\"02:AA:bb:CC:dd:EE\"}", &b, why, sizeof(why)), 0);
    CHECK_EQ(parse("{\"mac\":\"02:aa:bb:cc:dd:ee\",\"addrs\":[\"10.0.0.2/24\"],"
                   "\"gateway\":\"10.0.0.1\"}", &a, why, sizeof(why)), 0);
    CHECK_EQ(netcfg_canonical(&a, ca, sizeof(ca)), 0);
    CHECK_EQ(netcfg_canonical(&b, cb, sizeof(cb)), 0);
    CHECK_STR(ca, cb);
    char rc[64];
    CHECK_EQ(netcfg_resolv_conf(&a, rc, sizeof(rc)), 0);
    CHECK_STR(rc, "");
}

/* Each case: a JSON text, the field the message must name. */
TEST(netcfg_parse_hostile)
{
    static const struct { const char *json; const char *field; } cases[] = {
        { "[]", "'net'" },
        { "\"x\"", "'net'" },
        { "{}", "'gateway'" },
        { "{\"gateway\":\"10.0.0.1\"}", "'addrs'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[]}", "'addrs'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":\"10.0.0.2/32\"}", "'addrs'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"1/32\",\"2/32\",\"3/32\",\"4/32\",\"5/32\","
          "\"6/32\",\"7/32\",\"8/32\",\"9/32\",\"10/32\"]}", "'addrs'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2\"]}", "'addrs[0]'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/33\"]}", "'addrs[0]'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/0\"]}", "'addrs[0]'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.256/32\"]}", "'addrs[0]'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0/32\"]}", "'addrs[0]'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2.3/32\"]}", "'addrs[0]'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"010.0.0.2/32\"]}", "'addrs[0]'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\" 10.0.0.2/32\"]}", "'addrs[0]'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32 \"]}", "'addrs[0]'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/+2\"]}", "'addrs[0]'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"224.0.0.2/32\"]}", "'addrs[0]'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"127.0.0.2/32\"]}", "'addrs[0]'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"0.0.0.0/32\"]}", "'addrs[0]'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[12]}", "'addrs[0]'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\",\"10.0.0.2/24\"]}",
          "'addrs[1]'" },
        { "{\"gateway\":\"10.0.0.2\",\"addrs\":[\"10.0.0.2/32\"]}", "'gateway'" },
        { "{\"gateway\":7,\"addrs\":[\"10.0.0.2/32\"]}", "'gateway'" },
        { "{\"gateway\":\"10.0.0.1/32\",\"addrs\":[\"10.0.0.2/32\"]}", "'gateway'" },
        { "{\"gateway\":\"255.255.255.255\",\"addrs\":[\"10.0.0.2/32\"]}", "'gateway'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\"],\"mac\":\"03:00:00:00:00:01\"}",
          "'mac'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\"],\"mac\":\"00:00:00:00:00:00\"}",
          "'mac'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\"],\"mac\":\"02:00:00:00:00\"}",
          "'mac'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\"],\"mac\":\"02-00-00-00-00-01\"}",
          "'mac'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\"],\"mac\":\"02:00:00:00:00:0g\"}",
          "'mac'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\"],\"mac\":null}", "'mac'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\"],\"routes\":{}}", "'routes'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\"],\"routes\":[1]}",
          "'routes[0]'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\"],\"routes\":[{}]}",
          "'routes[0].dst'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\"],\"routes\":[{\"dst\":"
          "\"10.9.0.1/24\"}]}", "'routes[0].dst'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\"],\"routes\":[{\"dst\":"
          "\"0.0.0.0/0\"}]}", "'routes[0].dst'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\"],\"routes\":[{\"dst\":"
          "\"10.9.0.0/24\"},{\"dst\":\"10.9.0.0/24\"}]}", "'routes[1].dst'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\"],\"routes\":[{\"dst\":"
          "\"10.9.0.0/24\",\"src\":\"10.0.0.3\"}]}", "'routes[0].src'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\"],\"routes\":[{\"dst\":"
          "\"10.9.0.0/24\",\"src\":[]}]}", "'routes[0].src'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\"],\"routes\":[{\"dst\":"
          "\"10.0.0.1/32\"}]}", "'routes[0].dst'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\"],\"dns\":[\"1.1.1.1\","
          "\"1.1.1.2\",\"1.1.1.3\",\"1.1.1.4\"]}", "'dns'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\"],\"dns\":[\"x\"]}", "'dns[0]'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\"],\"dns\":\"1.1.1.1\"}",
          "'dns'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\"],\"search\":[\"\"]}",
          "'search[0]'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\"],\"search\":[\"a..b\"]}",
          "'search[0]'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\"],\"search\":[\"a b\"]}",
          "'search[0]'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\"],\"search\":[\"a\\nnameserver "
          "6.6.6.6\"]}", "'search[0]'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\"],\"search\":[\"-a.b\"]}",
          "'search[0]'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\"],\"search\":[\"a.b.\"]}",
          "'search[0]'" },
        { "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\"],\"search\":[\"a\",\"b\",\"c\","
          "\"d\",\"e\",\"f\",\"g\",\"h\",\"i\"]}", "'search'" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct netcfg c;
        char why[200];
        int r = parse(cases[i].json, &c, why, sizeof(why));
        if (r != -EINVAL || !strstr(why, cases[i].field)) {
            harness_fail(__FILE__, __LINE__, "%s: got %d '%s', want -EINVAL naming %s",
                         cases[i].json, r, why, cases[i].field);
            return;
        }
        CHECK_EQ(c.n_addrs, 0); /* zeroed on failure */
    }
}

TEST(netcfg_parse_nul_and_overlong)
{
    struct netcfg c;
    char why[200];
    /* an embedded NUL must not make "10.0.0.2/32\0junk" pass as its prefix */
    static const char nul_addr[] = "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\\u0000x\"]}";
    CHECK_EQ(parse(nul_addr, &c, why, sizeof(why)), -EINVAL);
    CHECK(strstr(why, "'addrs[0]'"));
    static const char nul_search[] =
        "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\"],\"search\":[\"a\\u0000b\"]}";
    CHECK_EQ(parse(nul_search, &c, why, sizeof(why)), -EINVAL);
    CHECK(strstr(why, "'search[0]'"));
    /* names: 253 characters pass, 254 do not; a 64-character label does not */
    char *text = malloc(100000);
    CHECK(text);
    char name[300];
    memset(name, 'a', sizeof(name));
    for (int i = 63; i < 253; i += 64)
        name[i] = '.';
    name[253] = 0;
    snprintf(text, 100000, "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\"],"
                           "\"search\":[\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\",\"%s\"]}",
             name, name, name, name, name, name, name, name);
    int r = parse(text, &c, why, sizeof(why));
    if (r != 0)
        harness_fail(__FILE__, __LINE__, "8 names of 253: %d %s", r, why);
    char canon[NETCFG_CANON_MAX], rc[4096];
    CHECK_EQ(netcfg_canonical(&c, canon, sizeof(canon)), 0);
    CHECK_EQ(netcfg_resolv_conf(&c, rc, sizeof(rc)), 0);
    name[253] = 'a';
    name[254] = 0;
    snprintf(text, 100000, "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\"],"
                           "\"search\":[\"%s\"]}", name);
    CHECK_EQ(parse(text, &c, why, sizeof(why)), -EINVAL);
    memset(name, 'a', 64);
    name[64] = 0;
    snprintf(text, 100000, "{\"gateway\":\"10.0.0.1\",\"addrs\":[\"10.0.0.2/32\"],"
                           "\"search\":[\"%s\"]}", name);
    CHECK_EQ(parse(text, &c, why, sizeof(why)), -EINVAL);
    /* a huge array is refused by its size, before any entry is looked at */
    size_t off = (size_t)snprintf(text, 100000, "{\"gateway\":\"10.0.0.1\",\"addrs\":[");
    for (int i = 0; i < 10000; i++)
        off += (size_t)snprintf(text + off, 100000 - off, "%s1", i ? "," : "");
    snprintf(text + off, 100000 - off, "]}");
    CHECK_EQ(parse(text, &c, why, sizeof(why)), -EINVAL);
    CHECK(strstr(why, "10000 entries"));
    free(text);
}

/* --- the forked agent: NETCFG and HELLO with a net object --- */

static bool expect_end(struct client *c, uint32_t stream, uint16_t type, const char *has)
{
    struct wire_frame f;
    for (;;) {
        REQUIRE(client_recv(c, &f, 5000) == 1);
        if (f.stream != stream)
            continue;
        if (f.type != type || (has && !memmem(f.payload, f.len, has, strlen(has)))) {
            harness_fail(__FILE__, __LINE__, "stream %u: got %s '%.*s'", stream,
                         wire_type_to_string(f.type), (int)f.len, (const char *)f.payload);
            return false;
        }
        return true;
    }
}

TEST(netcfg_agent_answers)
{
    struct client c;
    CHECK_EQ(client_start(&c, NULL), 0);
    struct wire_frame f;
    CHECK_EQ(client_expect(&c, WIRE_READY, 0, &f, 5000), 1);
    CHECK_EQ(client_send_str(&c, WIRE_NETCFG, 3, GOOD), 0);
    CHECK(expect_end(&c, 3, WIRE_DONE, "{}"));
    CHECK_EQ(client_send_str(&c, WIRE_NETCFG, 4, "{\"gateway\":\"10.0.0.1\",\"addrs\":[1]}"), 0);
    CHECK(expect_end(&c, 4, WIRE_ERROR, "'addrs[0]'"));
    CHECK_EQ(client_send_str(&c, WIRE_NETCFG, 5, "[1]"), 0);
    CHECK(expect_end(&c, 5, WIRE_ERROR, "EINVAL"));
    CHECK_EQ(client_send_str(&c, WIRE_NETCFG, 0, GOOD), 0);
    CHECK(expect_end(&c, 0, WIRE_ERROR, "stream 0"));
    /* a HELLO with a bad net object is still answered */
    CHECK_EQ(client_send_str(&c, WIRE_HELLO, 0,
                             "{\"version\":1,\"session\":\"s1\",\"net\":{\"addrs\":7}}"), 0);
    CHECK(expect_end(&c, 0, WIRE_READY, "s1"));
    CHECK_EQ(client_send_str(&c, WIRE_HELLO, 0,
                             "{\"version\":1,\"session\":\"s2\",\"net\":" GOOD "}"), 0);
    CHECK(expect_end(&c, 0, WIRE_READY, "s2"));
    CHECK(client_ping(&c));
    client_stop(&c);
}
