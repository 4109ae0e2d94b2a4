/* SPDX-License-Identifier: MIT */
/* usercg.h: the guest cgroup every user command runs in (/sys/fs/cgroup/hearth-user), with a
 * pids.max and a memory.max below the guest's RAM, and the cpu controller on, so a fork bomb
 * or a memory hog in the guest stops at its limits while the agent (PID 1, outside it) keeps
 * its share of the CPU and answers the host
 * (docs/security.md). */
#pragma once

#include <stdint.h>

#define USERCG_DIR "/sys/fs/cgroup/hearth-user"
/* Memory kept out of the user cgroup's reach: the agent, the kernel's own needs. */
#define USERCG_RESERVE_MIB 32u

/* pids.max for a guest of mem_mib MiB: one task per MiB, at least 256, at most 16384. Pure. */
uint32_t usercg_pids_max(uint64_t mem_mib);
/* memory.max in bytes: mem_mib less USERCG_RESERVE_MIB; 0 ("max") for guests of 128 MiB or
 * less, where a reserve would starve the commands. Pure. */
uint64_t usercg_memory_max(uint64_t mem_mib);
/* PID 1, once at boot, after cgroup2 is mounted: creates the cgroup with its limits (from
 * /proc/meminfo). Failures are logged and skipped: commands then run without limits. */
void usercg_setup(void);
/* The cgroup's cgroup.procs opened O_WRONLY | O_CLOEXEC for one exec's child to write "0" to
 * before exec; -1 when there is no such cgroup. The caller closes it. */
int usercg_procs_open(void);
