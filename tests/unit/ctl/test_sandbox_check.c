/* SPDX-License-Identifier: MIT */
/* test_sandbox_check.c: the checks of typed sandbox values (ctl/sandbox_check.h) that any
 * front end gets: egress rules into their stored form, the egress list (duplicates, "*"),
 * OpenSSH keys, names, env keys, mount paths, the auto-pause range. Pure functions. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/ctl/sandbox_check.h"
#include "harness.h"

#define ED25519 "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"

TEST(egress_rule_forms)
{
    static const struct {
        const char *in;
        int ret;
        const char *want;           /* stored form, or the reason */
    } cases[] = {
        { "api.example.com:443", 0, "api.example.com:443" },
        { "API.Example.COM.", 0, "api.example.com" },
        { "*.example.com", 0, "*.example.com" },
        { "10.1.2.3/8", 0, "10.0.0.0/8" },
        { "1.2.3.4:0080", 0, "1.2.3.4:80" },
        { "*", 1, NULL },
        { "", -EINVAL, "must be 1-260 characters" },
        { "::1", -EINVAL, "ipv6 is not supported" },
        { "[::1]:80", -EINVAL, "ipv6 is not supported" },
        { "1.2.3.4:70000", -EINVAL, "port must be 1-65535" },
        { "1.2.3.4:0", -EINVAL, "port must be 1-65535" },
        { "10.0.0.0/33", -EINVAL, "invalid cidr" },
        { "*.1.2.3.4", -EINVAL, "a wildcard needs a host name" },
        { "-a.com", -EINVAL, "invalid host name" },
        { "a..b", -EINVAL, "invalid host name" },
        { "1.2.3.999", -EINVAL, "invalid ipv4 address" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[CTL_MAX_EGRESS_RULE + 1];
        const char *why = NULL;
        int r = ctl_egress_rule_parse(cases[i].in, strlen(cases[i].in), out, &why);
        CHECK_EQ(r, cases[i].ret);
        if (r == 0)
            CHECK_STR(out, cases[i].want);
        else if (r < 0)
            CHECK_STR(why, cases[i].want);
    }
    /* embedded NUL and over-long input */
    char out[CTL_MAX_EGRESS_RULE + 1];
    const char *why;
    CHECK_EQ(ctl_egress_rule_parse("a.com\0b", 7, out, &why), -EINVAL);
    char big[CTL_MAX_EGRESS_RULE + 2];
    memset(big, 'a', sizeof(big));
    CHECK_EQ(ctl_egress_rule_parse(big, sizeof(big), out, &why), -EINVAL);
}

TEST(egress_list_dedupes_and_allows_all)
{
    char *v[4] = { 0 };
    size_t n = 0;
    const char *why;
    CHECK_EQ(ctl_egress_list_add(v, &n, "A.com", 5, &why), 0);
    CHECK_EQ(ctl_egress_list_add(v, &n, "a.com.", 6, &why), 0); /* the same rule */
    CHECK_EQ(n, 1);
    CHECK_EQ(ctl_egress_list_add(v, &n, "b.com", 5, &why), 0);
    CHECK_EQ(ctl_egress_list_add(v, &n, "b c", 3, &why), -EINVAL);
    CHECK_EQ(n, 2);
    CHECK_STR(v[0], "a.com");
    CHECK_STR(v[1], "b.com");
    CHECK_EQ(ctl_egress_list_add(v, &n, "*", 1, &why), 1);
    ctl_egress_allow_all(v, &n);
    CHECK_EQ(n, 0);
}

TEST(ssh_keys)
{
    char *canon = NULL;
    const char *why = NULL;
    CHECK_EQ(ctl_ssh_key_parse("  " ED25519 "  me@host \n", strlen(ED25519) + 13, &canon, &why), 0);
    CHECK_STR(canon, ED25519 " me@host");
    free(canon);
    static const struct {
        const char *in;
        const char *why;
    } bad[] = {
        { "nonsense", "unsupported key type" },
        { "ssh-dss AAAAB3NzaC1kc3M=", "unsupported key type" },
        { "ssh-ed25519 AAAA!!!!", "key data is not valid" },
        /* an ed25519 blob under the rsa name */
        { "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
          "key data is not valid" },
        { "", "not an openssh public key" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        canon = NULL;
        CHECK_EQ(ctl_ssh_key_parse(bad[i].in, strlen(bad[i].in), &canon, &why), -EINVAL);
        CHECK_STR(why, bad[i].why);
        CHECK(canon == NULL);
    }
}

TEST(names_keys_paths_ranges)
{
    CHECK(ctl_sandbox_name_valid("web-1.a_b", 9));
    CHECK(!ctl_sandbox_name_valid("-web", 4));
    CHECK(!ctl_sandbox_name_valid("", 0));
    CHECK(ctl_network_name_valid("backend-2", 9));
    CHECK(!ctl_network_name_valid("net-x", 5));
    CHECK(!ctl_network_name_valid("Upper", 5));
    CHECK(!ctl_network_name_valid("a\0b", 3));
    CHECK(ctl_env_key_valid("_A1"));
    CHECK(!ctl_env_key_valid("1A"));
    CHECK(!ctl_env_key_valid("A-B"));
    CHECK(ctl_mount_path_valid("/data/x"));
    CHECK(!ctl_mount_path_valid("/"));
    CHECK(!ctl_mount_path_valid("/data/../etc"));
    CHECK(!ctl_mount_path_valid("/proc/x"));
    CHECK(!ctl_mount_path_valid("data"));
    CHECK(ctl_mount_path_valid("/processes"));
    /* docs/api.md §3.9.6: system directories, blanks and control characters, length */
    static const char *const refused[] = { "/etc", "/etc/ssh", "/bin", "/sbin/x", "/usr",
                                           "/usr/local/data", "/lib", "/lib64", "/libx32/a",
                                           "/boot", "/var", "/root", "/home", "/tmp", "/opt",
                                           "/srv", "/mnt", "/media", "/run/x", "/dev/shm",
                                           "/data/a b", "/data/a\tb", "/data/a\\b", "/data//x",
                                           "/data/./x", "/data/x/", "/sys" };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        if (ctl_mount_path_valid(refused[i]))
            harness_fail(__FILE__, __LINE__, "mount path %s accepted", refused[i]);
    static const char *const allowed[] = { "/data", "/var/data", "/home/me/bucket", "/mnt/s3",
                                           "/tmp/x", "/opt/app/cache", "/etcetera", "/usrdata" };
    for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
        if (!ctl_mount_path_valid(allowed[i]))
            harness_fail(__FILE__, __LINE__, "mount path %s refused", allowed[i]);
    char longp[600] = "/";
    memset(longp + 1, 'a', 520);
    longp[521] = '\0';
    CHECK(!ctl_mount_path_valid(longp));
    longp[400] = '\0';
    CHECK(ctl_mount_path_valid(longp));
    CHECK(ctl_sub_path_valid(""));
    CHECK(ctl_sub_path_valid("a/b/c"));
    CHECK(ctl_sub_path_valid("a/b/"));
    CHECK(!ctl_sub_path_valid("/a"));
    CHECK(!ctl_sub_path_valid("a/../b"));
    CHECK(!ctl_sub_path_valid(".."));
    CHECK(!ctl_sub_path_valid("./a"));
    CHECK(!ctl_sub_path_valid("a//b"));
    CHECK(!ctl_sub_path_valid("a b"));
    CHECK(!ctl_sub_path_valid("a\nb"));
    char longs[1100];
    memset(longs, 'a', 1025);
    longs[1025] = '\0';
    CHECK(!ctl_sub_path_valid(longs));
    longs[1024] = '\0';
    CHECK(ctl_sub_path_valid(longs));
    CHECK(ctl_auto_pause_valid(60));
    CHECK(ctl_auto_pause_valid(86400));
    CHECK(!ctl_auto_pause_valid(59));
    CHECK(!ctl_auto_pause_valid(86401));
    char name[STORE_NAME_SIZE];
    ctl_name_generate(false, name);
    CHECK(ctl_sandbox_name_valid(name, strlen(name)));
    ctl_name_generate(true, name);
    CHECK(ctl_sandbox_name_valid(name, strlen(name)));
}
