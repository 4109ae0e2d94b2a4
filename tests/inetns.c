/* SPDX-License-Identifier: MIT */
/* inetns.c: see inetns.h. Uses iproute2, as a user following docs/networking.md would. */
#include "inetns.h"

#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int inetns_sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(cmd))
        return -1;
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

bool inetns_up(char name[64], const char *tag, const char *const *addrs, size_t n)
{
    name[0] = '\0';
    if (unshare(CLONE_NEWNET) != 0 || inetns_sh("ip link set lo up") != 0)
        return false;
    char ns[64];
    snprintf(ns, sizeof(ns), "hearth-%s-%d", tag, (int)getpid());
    if (inetns_sh("set -e; ip netns add %1$s; "
                  "ip link add %2$s0 type veth peer name eth0 netns %1$s; "
                  "ip addr add 198.51.100.1/30 dev %2$s0; ip link set %2$s0 up; "
                  "ip route add default via 198.51.100.2; "
                  "ip -n %1$s link set lo up; ip -n %1$s addr add 198.51.100.2/30 dev eth0; "
                  "ip -n %1$s link set eth0 up; ip -n %1$s route add default via 198.51.100.1",
                  ns, tag) != 0) {
        inetns_down(ns);
        return false;
    }
    for (size_t i = 0; i < n; i++)
        if (inetns_sh("ip -n %s addr add %s/32 dev lo", ns, addrs[i]) != 0) {
            inetns_down(ns);
            return false;
        }
    memcpy(name, ns, sizeof(ns));
    return true;
}

pid_t inetns_spawn(const char *name, const char *cmd)
{
    pid_t p = fork();
    if (p == 0) {
        setpgid(0, 0);
        execlp("ip", "ip", "netns", "exec", name, "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return p;
}

void inetns_kill(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(-pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

void inetns_down(const char *name)
{
    if (name[0])
        inetns_sh("ip netns del %s 2>/dev/null", name);
}
