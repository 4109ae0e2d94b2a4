/* SPDX-License-Identifier: MIT */
/* test_usercg.c: the limits of the guest's user cgroup (agent/usercg.h) for guest sizes from
 * tiny to huge, and the procs file absent outside a guest. Joining and the limits themselves
 * run in tests/api/test_confine_vm.c (a fork bomb as guest root). */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "agent/usercg.h"
#include "harness.h"

TEST(pids_max)
{
    static const struct { uint64_t mib; uint32_t want; } cases[] = {
        { 0, 256 }, { 64, 256 }, { 255, 256 }, { 256, 256 }, { 1024, 1024 },
        { 16384, 16384 }, { 16385, 16384 }, { UINT64_MAX, 16384 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK_EQ(usercg_pids_max(cases[i].mib), cases[i].want);
}

TEST(memory_max)
{
    CHECK_EQ(usercg_memory_max(0), 0);
    CHECK_EQ(usercg_memory_max(128), 0);
    CHECK_EQ(usercg_memory_max(129), (uint64_t)(129 - USERCG_RESERVE_MIB) << 20);
    CHECK_EQ(usercg_memory_max(256), 224ull << 20);
    CHECK_EQ(usercg_memory_max(65536), (65536ull - 32) << 20);
}

TEST(procs_outside_a_guest)
{
    if (access(USERCG_DIR, F_OK) == 0)
        harness_skip("running inside a guest");
    CHECK_EQ(usercg_procs_open(), -1);
    CHECK_EQ(errno, ENOENT);
}
