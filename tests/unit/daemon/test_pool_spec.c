/* SPDX-License-Identifier: MIT */
/* test_pool_spec.c: the warm_pool value's syntax (daemon/pool_spec.h): entries, separators,
 * limits, and what is refused with a reason naming the entry. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/pool_spec.h"
#include "harness.h"

TEST(entries)
{
    struct pool_spec p[POOL_SPEC_MAX];
    size_t n = 99;
    char why[256] = "";
    CHECK_EQ(pool_spec_parse("", p, &n, why, sizeof(why)), 0);
    CHECK_EQ(n, 0);
    CHECK_EQ(pool_spec_parse("off", p, &n, why, sizeof(why)), 0);
    CHECK_EQ(n, 0);
    CHECK_EQ(pool_spec_parse(" minimal/s-1vcpu-256mb=2,devbox:1/s-2vcpu-1gb/4096=64\t", p, &n,
                             why, sizeof(why)), 0);
    CHECK_EQ(n, 2);
    CHECK_STR(p[0].rootfs, "minimal");
    CHECK_STR(p[0].shape, "s-1vcpu-256mb");
    CHECK_EQ(p[0].disk_mib, 0);
    CHECK_EQ(p[0].count, 2);
    CHECK_STR(p[0].label, "minimal/s-1vcpu-256mb");
    CHECK_STR(p[1].rootfs, "devbox:1");
    CHECK_STR(p[1].shape, "s-2vcpu-1gb");
    CHECK_EQ(p[1].disk_mib, 4096);
    CHECK_EQ(p[1].count, 64);
    CHECK_STR(p[1].label, "devbox:1/s-2vcpu-1gb/4096");
    /* the same image and shape with another disk is another pool */
    CHECK_EQ(pool_spec_parse("minimal/s=1 minimal/s/2048=1", p, &n, why, sizeof(why)), 0);
    CHECK_EQ(n, 2);
}

TEST(refused)
{
    static const char *const bad[] = {
        "minimal", "minimal=1", "minimal:s-1vcpu-256mb=2", "minimal/s-1vcpu-256mb",
        "minimal/s-1vcpu-256mb=0", "minimal/s-1vcpu-256mb=65", "minimal/s-1vcpu-256mb=01",
        "minimal/s-1vcpu-256mb=-1", "minimal/s-1vcpu-256mb=1x", "minimal/=1", "/s=1",
        "minimal/S-1=1", "minimal/s/0=1", "minimal/s/16777217=1", "minimal/s/1/2=1",
        "min imal/s=1", "mini;mal/s=1", "minimal/s=1 minimal/s=2", "minimal/s/=1",
        "a/s=1 b/s=1 c/s=1 d/s=1 e/s=1 f/s=1 g/s=1 h/s=1 i/s=1 j/s=1 k/s=1 l/s=1 m/s=1 "
        "n/s=1 o/s=1 p/s=1 q/s=1",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/s=1",
        "minimal/s=99999999999999999999",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct pool_spec p[POOL_SPEC_MAX];
        size_t n = 7;
        char why[256] = "";
        if (pool_spec_parse(bad[i], p, &n, why, sizeof(why)) != -EINVAL || n != 0 || !why[0])
            harness_fail(__FILE__, __LINE__, "accepted: %s", bad[i]);
        else if (!strstr(why, "warm_pool"))
            harness_fail(__FILE__, __LINE__, "reason without the key: %s", why);
    }
}
