/* SPDX-License-Identifier: MIT */
/* proc_usage.h: what a VM's QEMU uses right now (CPU time, memory, tasks) read from
 * /proc/<pid>, for a QEMU without a cgroup or a counter its cgroup layout cannot tell (the
 * cgroup side is cgroup_layout_stats() in cgroup.h). The parsers are pure and unit-tested;
 * reading is two small blocking reads of pseudo-files. Knows nothing of sandboxes;
 * host_usage.c calls it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_usage {
    uint64_t cpu_usec;          /* CPU time used since the process started */
    uint64_t memory_bytes;      /* memory charged now (v2 memory.current, v1
                                   memory.usage_in_bytes, /proc: RSS) */
    uint64_t pids;              /* tasks now (processes and threads) */
    bool has_cpu, has_memory, has_pids;
};

/* Adds what /proc/<pid>/stat (utime + stime) and /proc/<pid>/status (VmRSS, Threads) say to *u;
 * fields it already has are kept. 0 or -errno (-ESRCH: gone). */
int proc_read_usage(pid_t pid, struct proc_usage *u);

/* Pure parsers, for the tests: the utime + stime fields of a /proc/<pid>/stat line in clock
 * ticks (0 or -EINVAL); a "Name:  N" field of a /proc/<pid>/status text, scaled by 1024 when it
 * ends in " kB" (0 or -ENOENT). */
int proc_parse_stat_ticks(const char *text, uint64_t *ret_ticks);
int proc_parse_status_field(const char *text, const char *name, uint64_t *ret);
