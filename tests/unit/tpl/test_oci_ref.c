/* SPDX-License-Identifier: MIT */
/* test_oci_ref.c: the strict OCI reference parser and the registry allow list of tpl/oci_ref.c
 * (docs/templates.md "OCI bases"): good references split right, hostile ones (schemes, shell
 * metacharacters, whitespace, uppercase, path tricks, overlong parts) refused. */
#include <errno.h>
#include <string.h>

#include "daemon/tpl/oci.h"
#include "daemon/tpl/oci_ref.h"
#include "harness.h"

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static bool parses(const char *ref)
{
    struct tpl_oci_ref r;
    const char *why = NULL;
    return tpl_oci_ref_parse(ref, &r, &why) == 0;
}

TEST(good_references_split)
{
    struct tpl_oci_ref r;
    const char *why;
    CHECK_EQ(tpl_oci_ref_parse("127.0.0.1:5000/test/busybox:1", &r, &why), 0);
    CHECK_STR(r.host, "127.0.0.1:5000");
    CHECK_STR(r.repo, "test/busybox");
    CHECK_STR(r.tag, "1");
    CHECK_STR(r.digest, "");
    CHECK_EQ(tpl_oci_ref_parse("registry.example.com/a/b/c", &r, &why), 0);
    CHECK_STR(r.repo, "a/b/c");
    CHECK_STR(r.tag, "");
    CHECK_EQ(tpl_oci_ref_parse("localhost/app@sha256:" HEX64, &r, &why), 0);
    CHECK_STR(r.host, "localhost");
    CHECK_STR(r.digest, "sha256:" HEX64);
    CHECK_EQ(tpl_oci_ref_parse("reg.io:443/my_app__x.y-z/a--b:V1.2_rc-3@sha256:" HEX64, &r,
                               &why), 0);
    CHECK_STR(r.repo, "my_app__x.y-z/a--b");
    CHECK_STR(r.tag, "V1.2_rc-3");
    CHECK(parses("a.b/c:_tag"));
}

TEST(no_registry_host_is_not_an_oci_ref)
{
    CHECK(!parses("busybox"));
    CHECK(!parses("busybox:1"));
    CHECK(!parses("library/busybox:1"));
    CHECK(!parses("devbox:1"));
    CHECK(!parses("nodeops/sandbox:debian"));
    CHECK(!parses("localhost")); /* no repository */
    CHECK(!parses("reg.io"));
    CHECK(!parses("reg.io/"));
}

TEST(hostile_references_refused)
{
    static const char *const bad[] = {
        "", "docker://reg.io/a", "https://reg.io/a", "reg.io/a b", "reg.io/a\tb", "reg.io/a\n",
        " reg.io/a", "reg.io/a;rm -rf /", "reg.io/a$(id)", "reg.io/a`id`", "reg.io/a|b",
        "reg.io/a&b", "reg.io/a>b", "reg.io/../a", "reg.io/a/../b", "reg.io/./a", "reg.io//a",
        "reg.io/a/", "reg.io/A", "reg.io/a:", "reg.io/a:-x", "reg.io/a:.x", "reg.io/a@",
        "reg.io/a@sha256:", "reg.io/a@sha256:" HEX64 "0", "reg.io/a@sha512:" HEX64,
        "reg.io/a@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
        "reg.io/a:t@sha256:xyz", "reg.io/a_", "reg.io/_a", "reg.io/a___b", "reg.io/a..b",
        "reg.io/a.-b", "-reg.io/a", "reg-.io/a", "reg..io/a", "reg.io./a", "reg.io:/a",
        "reg.io:0/a", "reg.io:65536/a", "reg.io:099/a", "reg.io:12a/a", "reg.io:1:2/a",
        "re g.io/a", "reg.io\\a/b", "reg.io/a\\b", "reg_x.io/a", "[::1]:5000/a", "reg.io/a%2f",
        "reg.io/a\x01", "reg.io/\xc3\xa9", "reg.io/a:t:u", "reg.io/a@sha256:" HEX64 "@sha256:" HEX64,
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct tpl_oci_ref r;
        const char *why = NULL;
        if (tpl_oci_ref_parse(bad[i], &r, &why) != -EINVAL) {
            harness_fail(__FILE__, __LINE__, "accepted '%s'", bad[i]);
            return;
        }
        CHECK(why && why[0]);
    }
}

TEST(lengths_are_bounded)
{
    char ref[1200];
    /* a 128-byte tag is the most */
    snprintf(ref, sizeof(ref), "reg.io/a:%0128d", 0);
    CHECK(parses(ref));
    snprintf(ref, sizeof(ref), "reg.io/a:%0129d", 0);
    CHECK(!parses(ref));
    /* the name (host/repo) is at most 255 bytes */
    memset(ref, 'a', sizeof(ref));
    memcpy(ref, "reg.io/", 7);
    ref[255] = '\0';
    CHECK(parses(ref));
    ref[255] = 'a';
    ref[256] = '\0';
    CHECK(!parses(ref));
    /* a reference over 512 bytes, however made */
    memset(ref, 'a', sizeof(ref) - 1);
    memcpy(ref, "reg.io/", 7);
    ref[sizeof(ref) - 1] = '\0';
    CHECK(!parses(ref));
    /* a 64-byte DNS label is too long */
    char host[100];
    memset(host, 'h', 64);
    snprintf(host + 64, sizeof(host) - 64, ".io/a");
    CHECK(!parses(host));
}

TEST(allow_list_matches_the_host_exactly)
{
    struct tpl_oci_config c = { 0 };
    const char *why = NULL;
    CHECK_EQ(tpl_oci_registries_parse("Registry.Example.com, 127.0.0.1:5000 insecure", &c, &why),
             0);
    CHECK_EQ(c.n_reg, 2);
    CHECK(!c.reg[0].insecure);
    CHECK(c.reg[1].insecure);
    size_t i = 99;
    CHECK(tpl_oci_ref_allowed(&c, "registry.example.com/a:1", &i));
    CHECK_EQ(i, 0);
    CHECK(tpl_oci_ref_allowed(&c, "127.0.0.1:5000/test/busybox:1", &i));
    CHECK_EQ(i, 1);
    CHECK(!tpl_oci_ref_allowed(&c, "127.0.0.1:5001/test/busybox:1", &i));
    CHECK(!tpl_oci_ref_allowed(&c, "127.0.0.1/test/busybox:1", &i));
    CHECK(!tpl_oci_ref_allowed(&c, "registry.example.com.evil.io/a", &i));
    CHECK(!tpl_oci_ref_allowed(&c, "evil.io/registry.example.com/a", &i));
    CHECK(!tpl_oci_ref_allowed(&c, "registry.example.com/A", &i));
    CHECK(!tpl_oci_ref_allowed(&c, NULL, &i));
    CHECK(!tpl_oci_ref_allowed(NULL, "registry.example.com/a", &i));
    struct tpl_oci_config none = { 0 };
    CHECK(!tpl_oci_ref_allowed(&none, "registry.example.com/a", NULL));
}

TEST(registry_list_values)
{
    struct tpl_oci_config c = { 0 };
    const char *why = NULL;
    CHECK_EQ(tpl_oci_registries_parse("", &c, &why), 0);
    CHECK_EQ(c.n_reg, 0);
    CHECK_EQ(tpl_oci_registries_parse("  ", &c, &why), 0);
    CHECK_EQ(c.n_reg, 0);
    CHECK_EQ(tpl_oci_registries_parse("localhost:5000\tinsecure ,reg.io", &c, &why), 0);
    CHECK_EQ(c.n_reg, 2);
    CHECK_STR(c.reg[0].host, "localhost:5000");
    CHECK_STR(c.reg[1].host, "reg.io");
    static const char *const bad[] = { ",", "reg.io,", ",reg.io", "reg.io,,x.io", "reg.io secure",
                                       "reg.io insecure x", "reg.io insecurex", "http://reg.io",
                                       "reg.io/x", "reg.io:0", "reg.io:70000", "a b",
                                       "reg.io;rm", "reg.io , " };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (tpl_oci_registries_parse(bad[i], &c, &why) != -EINVAL) {
            harness_fail(__FILE__, __LINE__, "accepted '%s'", bad[i]);
            return;
        }
    }
    char many[1024] = "";
    for (int i = 0; i < 17; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "%sr%d.io", i ? "," : "", i);
    CHECK_EQ(tpl_oci_registries_parse(many, &c, &why), -EINVAL);
    *strrchr(many, ',') = '\0';
    CHECK_EQ(tpl_oci_registries_parse(many, &c, &why), 0);
    CHECK_EQ(c.n_reg, 16);
}
