/* SPDX-License-Identifier: MIT */
/* cgroup.h: one cgroup per VM holding its QEMU with memory, CPU and pids limits (DESIGN.md §4),
 * on cgroup v2 (<root>/<sandbox id>/) or on cgroup v1 (one directory per controller hierarchy,
 * <hierarchy>/<hearthd's own cgroup>/<leaf>/<sandbox id>/), detected at start behind struct
 * cgroup_layout. The formatting, path and /proc parsing rules are pure and unit-tested; the rest
 * are a few small, blocking reads and writes to cgroupfs (microseconds, no waiting). Knows
 * nothing of sandboxes, shapes or the store; host_local.c decides when to call it. Never logs. */
#pragma once

#include <limits.h>
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
/* pids.max of a VM's cgroup: QEMU's threads (one per vCPU, up to 64; its block thread pool of
 * up to 64; main, RCU, migration and I/O threads), never processes of the guest. QEMU runs
 * with spawn=deny, so this caps a compromised QEMU's threads, with room for 64 vCPUs. */
#define CGROUP_PIDS_MAX 256u

struct cgroup_limits {
    uint64_t memory_max;        /* bytes; 0: "max" (no limit) */
    uint32_t cpu_quota_pct;     /* percent of one CPU (25 = a quarter); 0: "max" (no cap) */
    uint32_t pids_max;          /* tasks (threads); 0: "max" */
    /* I/O throttle on the disk that holds the VM's files ("MAJ:MIN" of the whole disk, from
     * cgroup_disk_of(); "": none): bytes and operations per second, each way; 0: no limit.
     * v2 io.max; v1 blkio.throttle.{read,write}_{bps,iops}_device */
    char io_dev[24];
    uint64_t io_bps;
    uint32_t io_iops;
};

/* The whole disk ("MAJ:MIN") holding path, for io_dev: the file system's block device, or the
 * disk a partition of it belongs to (throttles apply to whole disks). 0, or -ENODEV when path
 * is not on a block device (tmpfs, overlay, NFS) / -errno. */
int cgroup_disk_of(const char *path, char out[24]);

/* The limits of a VM: memory.max = (guest_mib + CGROUP_QEMU_OVERHEAD_MIB) MiB; cpu.max from
 * cpu_quota_pct (0: uncapped); pids.max = CGROUP_PIDS_MAX. Pure. */
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

/* --- cgroup v1 or v2, detected at start --- */

/* The controllers a VM's cgroup uses. On v1 each may be its own hierarchy (cpu and cpuacct
 * are often one). */
enum cgroup_ctrl {
    CGROUP_CTRL_CPU,        /* cpu.max / cpu.cfs_quota_us */
    CGROUP_CTRL_CPUACCT,    /* v1 only: cpuacct.usage (v2 has cpu.stat in every cgroup) */
    CGROUP_CTRL_MEMORY,     /* memory.max / memory.limit_in_bytes */
    CGROUP_CTRL_PIDS,       /* pids.max */
    CGROUP_CTRL_BLKIO,      /* v1 only: membership, for I/O accounting (blkio.throttle.*) */
    CGROUP_CTRL_COUNT,
};

/* "cpu", "cpuacct", "memory", "pids", "blkio". */
const char *cgroup_ctrl_name(enum cgroup_ctrl c);

enum cgroup_kind {
    CGROUP_NONE = 0,        /* VMs get no cgroup */
    CGROUP_V2,              /* root[0]: the v2 root holding <root>/<id> */
    CGROUP_V1,              /* root[c]: controller c's directory holding <root>/<id>; "" when
                               that controller is not mounted (its limit is skipped) */
};

struct cgroup_layout {
    enum cgroup_kind kind;
    char root[CGROUP_CTRL_COUNT][PATH_MAX];
};

/* The v1 root of controller ctrl for the leaf name (one path segment, as cgroup_path()'s names):
 * from the text of /proc/self/mountinfo (the "cgroup" mount whose super options name ctrl) and
 * of /proc/self/cgroup (our own path in that hierarchy, less the mount's root for a mount of a
 * sub-tree), "<mount point><own path>/<leaf>". Nesting under our own cgroup keeps VMs inside
 * whatever limits hearthd itself runs under (a systemd unit with Delegate=yes, a container).
 * Returns 0; -ENOENT (the controller is not mounted as v1); -EINVAL (bad leaf or text);
 * -ENAMETOOLONG. Pure. */
int cgroup_v1_root(const char *mountinfo, const char *self_cgroup, const char *ctrl,
                   const char *leaf, char *out, size_t len);

/* Picks the layout for the configured v2 root (its last segment is the v1 leaf): v2 when
 * cgroup_root_check() accepts root, else v1 when /proc/self/mountinfo holds v1 hierarchies for
 * memory, cpu or pids and their directories are writable, else CGROUP_NONE. root "" is
 * CGROUP_NONE. Returns 0 (ret filled; note says what is missing or why none, "" when all is
 * there); -EINVAL for a bad root; -ENOMEM. */
__attribute__((warn_unused_result))
int cgroup_detect(const char *root, struct cgroup_layout *ret, char *note, size_t note_len);

/* cgroup_vm_setup() on every hierarchy of l (v1: cpu.cfs_period_us/cfs_quota_us,
 * memory.limit_in_bytes, pids.max; v2: cpu.max, memory.max, pids.max). 0 or -errno, detail in
 * e. CGROUP_NONE: 0, nothing done. */
__attribute__((warn_unused_result))
int cgroup_layout_setup(const struct cgroup_layout *l, const char *name,
                        const struct cgroup_limits *lim, struct herr *e);
/* Opens the cgroup.procs file of every hierarchy of <name> (O_WRONLY | O_CLOEXEC) into fds
 * (at most max): a child writes "0" to each before exec, so QEMU runs inside its limits from
 * its first instruction. Returns how many (0 for CGROUP_NONE) or -errno (every fd closed).
 * The caller closes them. */
__attribute__((warn_unused_result))
int cgroup_layout_procs_open(const struct cgroup_layout *l, const char *name, int *fds,
                             size_t max);
/* cgroup_vm_remove() on every hierarchy: 0, or the first error (-EBUSY while a process is in). */
int cgroup_layout_remove(const struct cgroup_layout *l, const char *name);
/* cgroup_prune() on every hierarchy; returns how many directories went (a v1 cgroup counts
 * once per hierarchy), or the first -errno other than -ENOENT. */
int cgroup_layout_prune(const struct cgroup_layout *l, bool (*keep)(void *ud, const char *name),
                        void *ud);
/* The path of <name>'s directory for controller c (v2: the one directory, any c). 0, -ENOENT
 * (no such hierarchy), -EINVAL, -ENAMETOOLONG. */
int cgroup_layout_dir(const struct cgroup_layout *l, enum cgroup_ctrl c, const char *name,
                      char *out, size_t len);

/* Usage of a VM's cgroup, for metrics. A counter the layout cannot tell is UINT64_MAX. */
struct cgroup_stats {
    uint64_t cpu_usage_ns;      /* CPU time of every task, user + system (v2 cpu.stat
                                   usage_usec * 1000; v1 cpuacct.usage) */
    uint64_t memory_current;    /* bytes charged now (memory.current / memory.usage_in_bytes) */
    uint64_t memory_peak;       /* high-water mark (memory.peak, kernel >= 5.19 /
                                   memory.max_usage_in_bytes) */
    uint64_t pids_current;      /* tasks now (pids.current) */
};

/* Reads <name>'s usage. 0 (each counter read or UINT64_MAX), -ENOENT (no such cgroup or
 * CGROUP_NONE), -EINVAL (bad name). Blocking reads of cgroupfs, microseconds. */
int cgroup_layout_stats(const struct cgroup_layout *l, const char *name,
                        struct cgroup_stats *ret);
/* Parses "usage_usec N" out of a v2 cpu.stat text into nanoseconds. 0, -ENOENT (no such
 * line), -ERANGE. Pure. */
int cgroup_parse_cpu_stat(const char *text, uint64_t *ret_ns);
