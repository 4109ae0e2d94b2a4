/* SPDX-License-Identifier: MIT */
/* cgroup_usage.h: what a VM's QEMU uses right now (CPU time, memory, tasks), read from its
 * cgroup's accounting files (v2, or one v1 controller directory at a time) or, without a
 * cgroup, from /proc/<pid>. The parsers are pure and unit-tested; reading is a few small
 * blocking reads of pseudo-files. Knows nothing of sandboxes; host_usage.c calls it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct cgroup_usage {
    uint64_t cpu_usec;          /* CPU time used since the cgroup (process) started */
    uint64_t memory_bytes;      /* memory charged now (v2 memory.current, v1
                                   memory.usage_in_bytes, /proc: RSS) */
    uint64_t pids;              /* tasks now (processes and threads) */
    bool has_cpu, has_memory, has_pids;
};

/* Adds what dir's accounting files say to *u (fields it already has are kept): v2 cpu.stat
 * (usage_usec), memory.current, pids.current; v1 cpuacct.usage (ns), memory.usage_in_bytes,
 * pids.current. A v1 host keeps each controller in its own hierarchy: call once per
 * controller directory of the same cgroup. Returns 0 when dir exists (even with none of the
 * files), -errno otherwise. */
int cgroup_read_usage(const char *dir, struct cgroup_usage *u);

/* The same from /proc/<pid>/stat (utime + stime) and /proc/<pid>/status (VmRSS, Threads), for a
 * QEMU without a cgroup. 0 or -errno (-ESRCH: gone). */
int proc_read_usage(pid_t pid, struct cgroup_usage *u);

/* Pure parsers, for the tests: "usage_usec N" in a cpu.stat text (0 or -ENOENT); the
 * utime + stime fields of a /proc/<pid>/stat line in clock ticks (0 or -EINVAL); a "Name:  N"
 * field of a /proc/<pid>/status text, scaled by 1024 when it ends in " kB" (0 or -ENOENT). */
int cgroup_parse_cpu_stat(const char *text, uint64_t *ret_usec);
int proc_parse_stat_ticks(const char *text, uint64_t *ret_ticks);
int proc_parse_status_field(const char *text, const char *name, uint64_t *ret);
