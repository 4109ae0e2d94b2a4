/* SPDX-License-Identifier: MIT */
/* test_cgroup.c: the pure parts of host/cgroup.h (limit values, memory.max and cpu.max
 * formatting, path validation against traversal and control-file names) and the cgroupfs
 * helpers on a plain directory, where the root check must refuse (not cgroup2). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/host/cgroup.h"
#include "common/herr.h"
#include "harness.h"

TEST(vm_limits)
{
    struct cgroup_limits l = cgroup_vm_limits(256, 0);
    CHECK_EQ(l.memory_max, (256ull + CGROUP_QEMU_OVERHEAD_MIB) << 20);
    CHECK_EQ(l.cpu_quota_pct, 0);
    l = cgroup_vm_limits(8192, 25);
    CHECK_EQ(l.memory_max, (8192ull + 256) << 20);
    CHECK_EQ(l.cpu_quota_pct, 25);
}

TEST(format_memory_max)
{
    static const struct { uint64_t in; const char *want; } cases[] = {
        { 0, "max" },
        { 1, "1" },
        { 536870912, "536870912" },
        { UINT64_MAX, "18446744073709551615" },
    };
    char out[32];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK_EQ(cgroup_format_memory_max(cases[i].in, out, sizeof(out)),
                 (int)strlen(cases[i].want));
        CHECK_STR(out, cases[i].want);
    }
    CHECK_EQ(cgroup_format_memory_max(536870912, out, 9), -ENOSPC);
    CHECK_EQ(cgroup_format_memory_max(0, out, 3), -ENOSPC);
}

TEST(format_cpu_max)
{
    static const struct { uint32_t pct; int ret; const char *want; } cases[] = {
        { 0, 10, "max 100000" },
        { 1, 11, "1000 100000" },
        { 25, 12, "25000 100000" },
        { 100, 13, "100000 100000" },
        { 200, 13, "200000 100000" },
        { 100000, 16, "100000000 100000" },
        { 100001, -EINVAL, NULL },
        { UINT32_MAX, -EINVAL, NULL },
    };
    char out[32];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK_EQ(cgroup_format_cpu_max(cases[i].pct, out, sizeof(out)), cases[i].ret);
        if (cases[i].want)
            CHECK_STR(out, cases[i].want);
    }
    CHECK_EQ(cgroup_format_cpu_max(25, out, 12), -ENOSPC);
}

TEST(path_validation)
{
    static const struct { const char *root, *name; int ret; const char *want; } cases[] = {
        { "/sys/fs/cgroup/hearth", "sb-01HZX3K4M5N6P7Q8R9S0T1V2W3", 0,
          "/sys/fs/cgroup/hearth/sb-01HZX3K4M5N6P7Q8R9S0T1V2W3" },
        { "/x", "a_b-C9", 0, "/x/a_b-C9" },
        { "/sys/fs/cgroup/hearth", "..", -EINVAL, NULL },
        { "/sys/fs/cgroup/hearth", ".", -EINVAL, NULL },
        { "/sys/fs/cgroup/hearth", "../../etc", -EINVAL, NULL },
        { "/sys/fs/cgroup/hearth", "a/b", -EINVAL, NULL },
        { "/sys/fs/cgroup/hearth", "memory.max", -EINVAL, NULL },
        { "/sys/fs/cgroup/hearth", "cgroup.procs", -EINVAL, NULL },
        { "/sys/fs/cgroup/hearth", "", -EINVAL, NULL },
        { "/sys/fs/cgroup/hearth", NULL, -EINVAL, NULL },
        { "/sys/fs/cgroup/hearth", "a b", -EINVAL, NULL },
        { "/sys/fs/cgroup/hearth", "a\nb", -EINVAL, NULL },
        /* 65 bytes */
        { "/sys/fs/cgroup/hearth",
          "a1234567890123456789012345678901234567890123456789012345678901234", -EINVAL, NULL },
        { "relative/root", "sb-1", -EINVAL, NULL },
        { "", "sb-1", -EINVAL, NULL },
        { NULL, "sb-1", -EINVAL, NULL },
        { "/", "sb-1", -EINVAL, NULL },
        { "/sys/fs/cgroup/../../etc", "sb-1", -EINVAL, NULL },
        { "/sys/fs/cgroup/..", "sb-1", -EINVAL, NULL },
        { "/sys/fs/cgroup/.", "sb-1", -EINVAL, NULL },
        { "/sys/fs/./cgroup", "sb-1", -EINVAL, NULL },
        { "/sys//fs", "sb-1", -EINVAL, NULL },
        { "/sys/fs/cgroup/hearth/", "sb-1", -EINVAL, NULL },
    };
    char out[PATH_MAX];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int r = cgroup_path(cases[i].root, cases[i].name, out, sizeof(out));
        if (r != cases[i].ret)
            harness_fail(__FILE__, __LINE__, "case %zu: %d, want %d", i, r, cases[i].ret);
        CHECK_EQ(r, cases[i].ret);
        if (cases[i].want)
            CHECK_STR(out, cases[i].want);
    }
    /* 64 bytes is the longest name; a too small buffer is ENAMETOOLONG */
    CHECK_EQ(cgroup_path("/r", "a123456789012345678901234567890123456789012345678901234567890123",
                         out, sizeof(out)), 0);
    CHECK_EQ(cgroup_path("/root", "sb-1", out, 8), -ENAMETOOLONG);
}

/* On a plain directory the root check refuses (not cgroup2), and setup, remove and prune
 * never leave root: names are validated before any file is touched. */
TEST(not_cgroup2)
{
    char dir[] = "/tmp/hearth-cg-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char root[PATH_MAX];
    snprintf(root, sizeof(root), "%s/hearth", dir);
    struct herr e = { 0 };
    char missing[64];
    CHECK_EQ(cgroup_root_check(root, missing, sizeof(missing), &e), -ENOTSUP);
    CHECK(strstr(e.msg, "not a cgroup v2") != NULL);
    herr_clear(&e);
    CHECK_EQ(cgroup_root_check("relative", NULL, 0, &e), -EINVAL);
    herr_clear(&e);
    CHECK_EQ(cgroup_root_check("/no/such/dir/at/all", NULL, 0, &e), -ENOENT);
    /* setup on a plain dir: directories made, limit files absent → skipped, not an error */
    struct cgroup_limits l = cgroup_vm_limits(256, 50);
    herr_clear(&e);
    CHECK_EQ(cgroup_vm_setup(root, "sb-1", &l, &e), 0);
    herr_clear(&e);
    CHECK_EQ(cgroup_vm_setup(root, "../escape", &l, &e), -EINVAL);
    char p[PATH_MAX + 32];
    snprintf(p, sizeof(p), "%s/escape", dir);
    CHECK(access(p, F_OK) != 0);
    CHECK_EQ(cgroup_vm_remove(root, ".."), -EINVAL);
    CHECK_EQ(cgroup_vm_remove(root, "sb-1"), 0);
    CHECK_EQ(cgroup_vm_remove(root, "sb-1"), 0); /* gone already: fine */
    /* prune: removes unclaimed valid dirs, skips dotted names and files */
    CHECK_EQ(cgroup_vm_setup(root, "sb-2", &l, &e), 0);
    CHECK_EQ(cgroup_vm_setup(root, "sb-3", &l, &e), 0);
    snprintf(p, sizeof(p), "%s/keep.me", root);
    CHECK(mkdir(p, 0755) == 0);
    CHECK_EQ(cgroup_prune(root, NULL, NULL), 2);
    CHECK(rmdir(p) == 0);
    CHECK(rmdir(root) == 0);
    CHECK(rmdir(dir) == 0);
    CHECK_EQ(cgroup_prune("/no/such/root", NULL, NULL), -ENOENT);
}
