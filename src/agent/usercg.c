/* SPDX-License-Identifier: MIT */
/* usercg.c: the guest cgroup for user commands (usercg.h): made by PID 1 at boot with its
 * pids and memory limits; exec's children join it before exec. Touches nothing in cgroupfs
 * outside the root's subtree_control and its own directory. */
#include "agent/usercg.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"

uint32_t usercg_pids_max(uint64_t mem_mib)
{
    if (mem_mib < 256)
        return 256;
    return mem_mib > 16384 ? 16384 : (uint32_t)mem_mib;
}

uint64_t usercg_memory_max(uint64_t mem_mib)
{
    if (mem_mib <= 128)
        return 0;
    return (mem_mib - USERCG_RESERVE_MIB) << 20;
}

static int write_file(const char *path, const char *value)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, value, strlen(value));
    int r = n < 0 ? -errno : 0;
    close(fd);
    return r;
}

/* MemTotal from /proc/meminfo in MiB; 0 when unreadable. */
static uint64_t mem_total_mib(void)
{
    FILE *f = fopen("/proc/meminfo", "re");
    if (!f)
        return 0;
    char line[128];
    uint64_t kib = 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "MemTotal: %" SCNu64 " kB", &kib) == 1)
            break;
    fclose(f);
    return kib >> 10;
}

void usercg_setup(void)
{
    int r;
    /* the controllers must be handed down before the child has any process; with cpu the
     * whole cgroup weighs as much as the agent does, so however many processes a command
     * forks, the agent keeps about half the CPU to answer the host */
    static const char *const ctrls[] = { "+pids", "+memory", "+cpu" };
    for (size_t i = 0; i < sizeof(ctrls) / sizeof(ctrls[0]); i++)
        if ((r = write_file("/sys/fs/cgroup/cgroup.subtree_control", ctrls[i])) < 0)
            agent_log("cannot enable the cgroup controller '%s': %s, ignoring", ctrls[i] + 1,
                      strerror(-r));
    if (mkdir(USERCG_DIR, 0755) < 0 && errno != EEXIST) {
        agent_log("cannot create '%s': %s; commands run without limits", USERCG_DIR,
                  strerror(errno));
        return;
    }
    uint64_t mib = mem_total_mib();
    char v[32];
    snprintf(v, sizeof(v), "%" PRIu32, usercg_pids_max(mib));
    if ((r = write_file(USERCG_DIR "/pids.max", v)) < 0)
        agent_log("cannot set pids.max of '%s': %s, ignoring", USERCG_DIR, strerror(-r));
    uint64_t mem = usercg_memory_max(mib);
    if (mem) {
        snprintf(v, sizeof(v), "%" PRIu64, mem);
        if ((r = write_file(USERCG_DIR "/memory.max", v)) < 0)
            agent_log("cannot set memory.max of '%s': %s, ignoring", USERCG_DIR, strerror(-r));
    }
}

int usercg_procs_open(void)
{
    return open(USERCG_DIR "/cgroup.procs", O_WRONLY | O_CLOEXEC);
}
