/* SPDX-License-Identifier: MIT */
/* host_usage.c: host_vm_usage() (host.h): a running VM's CPU time, memory and tasks from its
 * cgroup (v1 or v2, cgroup_layout_stats) when it has one, else from its QEMU's /proc entry, and the bytes its disk layer takes
 * on the host. Blocking reads of pseudo-files and one stat: microseconds, on the loop. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/host/cgroup.h"
#include "daemon/host/host.h"
#include "daemon/host/host_internal.h"
#include "daemon/host/proc_usage.h"

int host_vm_usage(struct host *h, const char *id, struct host_vm_usage *out)
{
    memset(out, 0, sizeof(*out));
    pid_t pid = host_vm_pid(h, id);
    if (!host_vm_running(h, id) || pid <= 0)
        return -ENOENT;
    struct proc_usage u = { 0 };
    struct cgroup_stats cs;
    if (cgroup_layout_stats(&h->cg, id, &cs) == 0) {
        /* UINT64_MAX: a counter this layout cannot tell */
        u.has_cpu = cs.cpu_usage_ns != UINT64_MAX;
        u.cpu_usec = u.has_cpu ? cs.cpu_usage_ns / 1000u : 0;
        u.has_memory = cs.memory_current != UINT64_MAX;
        u.memory_bytes = u.has_memory ? cs.memory_current : 0;
        u.has_pids = cs.pids_current != UINT64_MAX;
        u.pids = u.has_pids ? cs.pids_current : 0;
        out->from_cgroup = u.has_cpu || u.has_memory || u.has_pids;
    }
    /* what the cgroup does not account (no cgroup, or a controller missing) comes from the
     * QEMU process itself */
    (void)proc_read_usage(pid, &u);
    out->cpu_usec = u.cpu_usec;
    out->memory_bytes = u.memory_bytes;
    out->pids = u.pids;
    out->has_cpu = u.has_cpu;
    out->has_memory = u.has_memory;
    out->has_pids = u.has_pids;
    char dir[PATH_MAX], disk[PATH_MAX];
    struct stat st;
    if (host_vm_run_dir(h, id, dir, sizeof(dir)) == 0 &&
        (size_t)snprintf(disk, sizeof(disk), "%s/disk.qcow2", dir) < sizeof(disk) &&
        stat(disk, &st) == 0) {
        out->disk_bytes = (uint64_t)st.st_blocks * 512u;
        out->has_disk = true;
    }
    return 0;
}
