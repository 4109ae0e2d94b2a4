/* SPDX-License-Identifier: MIT */
/* cgroup.h: one cgroup v2 directory per VM, <root>/<sandbox id>/, holding its QEMU with
 * memory.max and cpu.max (DESIGN.md §4). The formatting and path rules are pure and unit-tested;
 * the rest are a few small, blocking writes to cgroupfs (microseconds, no waiting). Knows nothing
 * of sandboxes, shapes or the store; host_local.c decides when to call it. Never logs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct herr;

/* What QEMU itself needs on top of guest RAM (its own heap, TCG translation cache, device
 * state, page tables). Measured: a 256 MiB guest's QEMU holds ~100-130 MiB RSS of its own under
 * TCG; 256 MiB leaves room for bursts (TCG's cache grows with code run) without letting one VM
 * take the host's memory. See docs/operations.md. */
#define CGROUP_QEMU_OVERHEAD_MIB 256u
/* cpu.max period: the kernel default. */
#define CGROUP_CPU_PERIOD_US 100000u

struct cgroup_limits {
    uint64_t memory_max;        /* bytes; 0: "max" (no limit) */
    uint32_t cpu_quota_pct;     /* percent of one CPU (25 = a quarter); 0: "max" (no cap) */
};

/* The limits of a VM: memory.max = (guest_mib + CGROUP_QEMU_OVERHEAD_MIB) MiB; cpu.max from
 * cpu_quota_pct (0: uncapped). Pure. */
struct cgroup_limits cgroup_vm_limits(unsigned guest_mib, uint32_t cpu_quota_pct);

/* The memory.max value: "max" for 0, else the byte count in decimal. Returns the length, or
 * -ENOSPC when out is too small. Pure. */
int cgroup_format_memory_max(uint64_t bytes, char *out, size_t len);
/* The cpu.max value: "max 100000" for 0, else "<pct * 1000> 100000" ("25000 100000" for 25;
 * 200 % = two CPUs = "200000 100000"). pct above 100000 is -EINVAL. Returns the length, or
 * -ENOSPC. Pure. */
int cgroup_format_cpu_max(uint32_t pct, char *out, size_t len);

/* "<root>/<name>" for a cgroup name that is one path segment of [A-Za-z0-9_-] (1..64 bytes; no
 * '.', '/', NUL or spaces, so no traversal and no clash with the cgroupfs control files,
 * which all hold a '.'). root must be absolute and free of "/../" and "/./" segments. Returns
 * 0, -EINVAL (bad root or name) or -ENAMETOOLONG. Pure. */
int cgroup_path(const char *root, const char *name, char *out, size_t len);

/* Checks that root (or, when it does not exist yet, its parent) is on a writable cgroup2 file
 * system. Returns 0; -ENOTSUP (not cgroup2: not mounted, or a v1/hybrid layout where root is
 * tmpfs); -EACCES / -EROFS (not writable); -EINVAL (bad root); -errno; detail in e. When
 * ret_missing is set, it gets the controllers of "memory cpu" that the parent cannot hand down
 * (a space-separated list, "" when both are available): those limits are then skipped. */
__attribute__((warn_unused_result))
int cgroup_root_check(const char *root, char *ret_missing, size_t missing_len, struct herr *e);

/* Creates root if missing (enabling +memory +cpu in its parent's and its own
 * cgroup.subtree_control, best effort) and <root>/<name> with limits l. A controller that is not
 * available leaves its file unwritten (not an error). Returns 0; -EEXIST is not an error (the
 * directory is reused, limits rewritten); -errno otherwise, detail in e. */
__attribute__((warn_unused_result))
int cgroup_vm_setup(const char *root, const char *name, const struct cgroup_limits *l,
                    struct herr *e);
/* Moves pid into <root>/<name> (writes cgroup.procs). 0 or -errno, detail in e. */
int cgroup_vm_attach(const char *root, const char *name, pid_t pid, struct herr *e);
/* Removes <root>/<name>. 0, also when it does not exist; -EBUSY while a process is inside;
 * -EINVAL (bad name); -errno. */
int cgroup_vm_remove(const char *root, const char *name);
/* Removes every <root>/<name> with a valid name for which keep(ud, name) is false and that no
 * process holds. Returns the number removed, or -errno when root cannot be read (-ENOENT: no
 * root, nothing to do). */
int cgroup_prune(const char *root, bool (*keep)(void *ud, const char *name), void *ud);
