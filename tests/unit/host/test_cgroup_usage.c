/* SPDX-License-Identifier: MIT */
/* test_cgroup_usage.c: host/cgroup_usage.h: the accounting-file parsers on real and hostile
 * text (missing fields, junk, overflow, a comm with spaces and parentheses), a v2 and a v1
 * directory laid out in a temp dir, and this process's own /proc entry. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/host/cgroup_usage.h"
#include "harness.h"

TEST(cpu_stat)
{
    uint64_t v = 7;
    CHECK_EQ(cgroup_parse_cpu_stat("usage_usec 123456\nuser_usec 1\nsystem_usec 2\n", &v), 0);
    CHECK_EQ(v, 123456);
    CHECK_EQ(cgroup_parse_cpu_stat("user_usec 1\nusage_usec 9\n", &v), 0);
    CHECK_EQ(v, 9);
    const char *bad[] = { "", "usage_usec\n", "usage_usec x\n", "usage_usec -1\n",
                          "usage_usec 1 2\n", "usage_usec 99999999999999999999999\n",
                          "xusage_usec 5\n", "usage_usecs 5\n" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (cgroup_parse_cpu_stat(bad[i], &v) == 0)
            harness_fail(__FILE__, __LINE__, "accepted '%s'", bad[i]);
}

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

static void put(const char *dir, const char *name, const char *text)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (!f)
        harness_fail(__FILE__, __LINE__, "cannot write %s", p);
    fputs(text, f);
    fclose(f);
}

TEST(read_v2_and_v1_dirs)
{
    char dir[] = "/tmp/hearth-cgusage.XXXXXX";
    if (!mkdtemp(dir))
        harness_fail(__FILE__, __LINE__, "mkdtemp");
    char v2[600], cpu1[600], mem1[600];
    snprintf(v2, sizeof(v2), "%s/v2", dir);
    snprintf(cpu1, sizeof(cpu1), "%s/cpuacct", dir);
    snprintf(mem1, sizeof(mem1), "%s/memory", dir);
    mkdir(v2, 0700);
    mkdir(cpu1, 0700);
    mkdir(mem1, 0700);
    put(v2, "cpu.stat", "usage_usec 2000000\nuser_usec 1\n");
    put(v2, "memory.current", "104857600\n");
    put(v2, "pids.current", "7\n");
    struct cgroup_usage u = { 0 };
    CHECK_EQ(cgroup_read_usage(v2, &u), 0);
    CHECK(u.has_cpu && u.has_memory && u.has_pids);
    CHECK_EQ(u.cpu_usec, 2000000);
    CHECK_EQ(u.memory_bytes, 104857600);
    CHECK_EQ(u.pids, 7);
    /* v1: one directory per controller, merged; nanoseconds become microseconds */
    put(cpu1, "cpuacct.usage", "3000000000\n");
    put(mem1, "memory.usage_in_bytes", "4096\n");
    put(mem1, "memory.current", "junk\n"); /* junk is not a number: the field stays unknown */
    struct cgroup_usage w = { 0 };
    CHECK_EQ(cgroup_read_usage(cpu1, &w), 0);
    CHECK_EQ(cgroup_read_usage(mem1, &w), 0);
    CHECK(w.has_cpu && !w.has_pids);
    CHECK_EQ(w.cpu_usec, 3000000);
    CHECK(!w.has_memory); /* memory.current exists but is junk; usage_in_bytes is not tried */
    struct cgroup_usage x = { 0 };
    CHECK_EQ(cgroup_read_usage("/nonexistent/hearth", &x), -ENOENT);
    CHECK(!x.has_cpu && !x.has_memory && !x.has_pids);
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK_EQ(system(cmd), 0);
}

TEST(proc_self)
{
    struct cgroup_usage u = { 0 };
    CHECK_EQ(proc_read_usage(getpid(), &u), 0);
    CHECK(u.has_cpu && u.has_memory && u.has_pids);
    CHECK(u.memory_bytes > 1024 * 1024);
    CHECK(u.pids >= 1);
    struct cgroup_usage v = { 0 };
    CHECK_EQ(proc_read_usage(0, &v), -EINVAL);
    CHECK_EQ(proc_read_usage(-1, &v), -EINVAL);
}
