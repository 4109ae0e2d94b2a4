/* SPDX-License-Identifier: MIT */
/* test_quota.c: the counted limits' pure parts (ctl/quota.h, ctl/space.h): the host-wide VM
 * count derived from memory (small, exact and absurd hosts), MemTotal read from real and
 * hostile meminfo files (missing line, no unit, junk, overflow, empty, a directory), and the
 * free-space threshold arithmetic at its edges (no overflow at 2^64). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/ctl/quota.h"
#include "daemon/ctl/space.h"
#include "harness.h"

TEST(host_vms_from_memory)
{
    /* the smallest built-in shape has 256 MiB */
    CHECK_EQ(ctl_quota_host_vms_from_memory(24105, 1024), 90);
    CHECK_EQ(ctl_quota_host_vms_from_memory(1024 + 256, 1024), 1);
    CHECK_EQ(ctl_quota_host_vms_from_memory(1024 + 511, 1024), 1);
    CHECK_EQ(ctl_quota_host_vms_from_memory(1024 + 512, 1024), 2);
    CHECK_EQ(ctl_quota_host_vms_from_memory(512, 1024), 1);   /* under the reserve: one */
    CHECK_EQ(ctl_quota_host_vms_from_memory(0, 0), 1);
    CHECK_EQ(ctl_quota_host_vms_from_memory(UINT64_MAX >> 10, 0), 100000); /* clamped */
}

static bool meminfo(const char *text, int want_r, uint64_t want_mib)
{
    char path[] = "/tmp/hearth-meminfo-XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    uint64_t mib = 12345;
    int r = ctl_quota_meminfo_mib(path, &mib);
    unlink(path);
    if (r != want_r || (r == 0 && mib != want_mib)) {
        harness_fail(__FILE__, __LINE__, "'%.40s': r=%d mib=%llu", text, r,
                     (unsigned long long)mib);
        return false;
    }
    return true;
}

TEST(meminfo_parsing)
{
    uint64_t mib = 0;
    CHECK_EQ(ctl_quota_meminfo_mib("/proc/meminfo", &mib), 0);
    CHECK(mib > 0);
    CHECK(meminfo("MemTotal:       24683772 kB\nMemFree: 1 kB\n", 0, 24105));
    CHECK(meminfo("MemFree: 1 kB\nMemTotal:\t2048 kB\n", 0, 2));
    CHECK(meminfo("MemFree: 1 kB\n", -ENOENT, 0));
    CHECK(meminfo("", -ENOENT, 0));
    CHECK(meminfo("MemTotal: 2048\n", -EINVAL, 0));
    CHECK(meminfo("MemTotal: 2048 MB\n", -EINVAL, 0));
    CHECK(meminfo("MemTotal: -2048 kB\n", -EINVAL, 0));
    CHECK(meminfo("MemTotal: x kB\n", -EINVAL, 0));
    CHECK(meminfo("MemTotal: 0 kB\n", -EINVAL, 0));
    CHECK(meminfo("MemTotal: 99999999999999999999999 kB\n", -EINVAL, 0));
    CHECK(meminfo("XMemTotal: 5 kB\n", -ENOENT, 0));
    CHECK_EQ(ctl_quota_meminfo_mib("/nonexistent/meminfo", &mib), -ENOENT);
    CHECK_EQ(ctl_quota_meminfo_mib("/tmp", &mib), -EISDIR);
}

/* Any field by name, in KiB (warm pools' floor and GET /v1/hosts read MemAvailable): the name
 * must be the whole field before the colon; 0 kB is a value here (MemTotal refuses it). */
TEST(meminfo_field)
{
    char path[] = "/tmp/hearth-meminfo-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    const char *text = "MemTotal: 2048 kB\nMemAvailableX: 7 kB\nMemAvailable:   1536 kB\n"
                       "SwapFree: 0 kB\nBad: 12\n";
    CHECK_EQ(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    uint64_t kib = 1;
    CHECK_EQ(ctl_meminfo_kib(path, "MemAvailable", &kib), 0);
    CHECK_EQ(kib, 1536);
    CHECK_EQ(ctl_meminfo_kib(path, "SwapFree", &kib), 0);
    CHECK_EQ(kib, 0);
    CHECK_EQ(ctl_meminfo_kib(path, "Bad", &kib), -EINVAL);
    CHECK_EQ(ctl_meminfo_kib(path, "MemAvail", &kib), -ENOENT);
    CHECK_EQ(ctl_meminfo_kib("/proc/meminfo", "MemAvailable", &kib), 0);
    unlink(path);
}

TEST(space_threshold_and_fit)
{
    uint64_t G = 1ull << 30;
    CHECK_EQ(ctl_space_threshold(2048, 5, 100 * G), 5 * G);
    CHECK_EQ(ctl_space_threshold(2048, 5, 10 * G), 2 * G);
    CHECK_EQ(ctl_space_threshold(0, 0, 100 * G), 0);
    CHECK_EQ(ctl_space_threshold(16777216, 90, UINT64_MAX), UINT64_MAX / 100 * 90);
    CHECK(ctl_space_fits(3 * G, 1 * G, 2 * G));
    CHECK(!ctl_space_fits(3 * G, 1 * G + 1, 2 * G));
    CHECK(!ctl_space_fits(1 * G, 2 * G, 0));   /* need more than free: never fits */
    CHECK(ctl_space_fits(0, 0, 0));
    CHECK(!ctl_space_fits(0, 0, 1));
    CHECK(ctl_space_fits(UINT64_MAX, UINT64_MAX, 0));
}
