/* SPDX-License-Identifier: MIT */
/* test_proc_usage.c: host/proc_usage.h: the /proc parsers on real and hostile text (missing
 * fields, junk, overflow, a comm with spaces and parentheses) and this process's own /proc
 * entry. The cgroup side (v1 and v2 files) is tests/unit/host/test_cgroup.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/host/proc_usage.h"
#include "harness.h"

TEST(proc_stat_ticks)
{
    uint64_t v = 0;
    const char *line = "4242 (qemu-system-x86) S 1 4242 4242 0 -1 4194560 1000 0 0 0 "
                       "150 25 0 0 20 0 5 0 12345 1000000 2000 18446744073709551615\n";
    CHECK_EQ(proc_parse_stat_ticks(line, &v), 0);
    CHECK_EQ(v, 175);
    /* a comm with spaces and ')' cannot shift the fields */
    const char *evil = "7 (a) b ) c) R 1 7 7 0 -1 0 0 0 0 0 3 4 0 0\n";
    CHECK_EQ(proc_parse_stat_ticks(evil, &v), 0);
    CHECK_EQ(v, 7);
    const char *bad[] = { "", "1 (x", "1 (x) S 1 2 3", "1 (x) S 1 2 3 4 5 6 7 8 9 10 x 4\n",
                          "1 (x) S 1 2 3 4 5 6 7 8 9 10 -5 4\n" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (proc_parse_stat_ticks(bad[i], &v) == 0)
            harness_fail(__FILE__, __LINE__, "accepted '%s'", bad[i]);
}

TEST(proc_status_fields)
{
    const char *text = "Name:\tqemu\nVmRSS:\t  131072 kB\nThreads:\t5\nVmRSSx: 1 kB\n";
    uint64_t v = 0;
    CHECK_EQ(proc_parse_status_field(text, "VmRSS", &v), 0);
    CHECK_EQ(v, 131072ull * 1024);
    CHECK_EQ(proc_parse_status_field(text, "Threads", &v), 0);
    CHECK_EQ(v, 5);
    CHECK_EQ(proc_parse_status_field(text, "VmSwap", &v), -ENOENT);
    CHECK_EQ(proc_parse_status_field("VmRSS:\tlots kB\n", "VmRSS", &v), -ENOENT);
    CHECK_EQ(proc_parse_status_field("VmRSS: 99999999999999999999 kB\n", "VmRSS", &v), -ENOENT);
    CHECK_EQ(proc_parse_status_field("VmRSS: 18446744073709551 kB\n", "VmRSS", &v), -ENOENT);
}

TEST(proc_self)
{
    struct proc_usage u = { 0 };
    CHECK_EQ(proc_read_usage(getpid(), &u), 0);
    CHECK(u.has_cpu && u.has_memory && u.has_pids);
    CHECK(u.memory_bytes > 1024 * 1024);
    CHECK(u.pids >= 1);
    struct proc_usage v = { 0 };
    CHECK_EQ(proc_read_usage(0, &v), -EINVAL);
    CHECK_EQ(proc_read_usage(-1, &v), -EINVAL);
}
