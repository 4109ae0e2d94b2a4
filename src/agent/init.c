/* SPDX-License-Identifier: MIT */
/* init.c: boot-time setup when the agent is PID 1. Works with a busybox or a Debian root
 * filesystem and a kernel that may or may not have mounted devtmpfs itself; anything already
 * mounted is left alone and any failure is reported on the console and skipped, because PID 1
 * must come up to serve the host whatever the image looks like. */
#include "agent/init.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/identity.h"
#include "agent/usercg.h"

/* True when path is a mount point: its device differs from its parent's (or it is /). */
static bool is_mountpoint(const char *path)
{
    char parent[256];
    struct stat a, b;
    snprintf(parent, sizeof(parent), "%s/..", path);
    if (stat(path, &a) < 0 || stat(parent, &b) < 0)
        return false;
    return a.st_dev != b.st_dev || a.st_ino == b.st_ino;
}

static void mount_one(const char *src, const char *target, const char *type, unsigned long flags,
                      const char *data)
{
    if (mkdir(target, 0755) < 0 && errno != EEXIST) {
        agent_log("cannot create '%s': %s, not mounting %s there", target, strerror(errno), type);
        return;
    }
    if (is_mountpoint(target))
        return; /* the kernel (devtmpfs automount) or the image did it */
    if (mount(src, target, type, flags, data) < 0 && errno != EBUSY)
        agent_log("cannot mount %s on '%s': %s, ignoring", type, target, strerror(errno));
}

/* /tmp becomes a tmpfs only when the image left nothing in it, so we never hide files. */
static bool dir_empty(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return true;
    bool empty = true;
    struct dirent *e;
    while (empty && (e = readdir(d)))
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    return empty;
}

/* The kernel gives init fds 0-2 only when /dev/console existed; without them the first files
 * we open would become "stderr", and log lines would go into the channel. */
static void std_fds(void)
{
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) >= 0)
            continue;
        int c = open("/dev/console", O_RDWR | O_NOCTTY);
        if (c < 0)
            c = open("/dev/null", O_RDWR);
        if (c >= 0 && c != fd) {
            (void)dup2(c, fd); /* nothing to report to when this fails */
            close(c);
        }
    }
}

/* The value of `hearth.<key>=` on the kernel command line into out ("" when absent). The host
 * passes a sandbox's identity there so that it costs nothing at boot (no command to run after
 * READY); values are plain tokens (hostnames: [a-z0-9-]). */
static void cmdline_value(const char *key, char *out, size_t len)
{
    out[0] = 0;
    char line[4096];
    int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, line, sizeof(line) - 1);
    close(fd);
    line[n > 0 ? n : 0] = 0;
    char want[64];
    int wl = snprintf(want, sizeof(want), "hearth.%s=", key);
    for (char *tok = strtok(line, " \n"); tok; tok = strtok(NULL, " \n"))
        if (strncmp(tok, want, (size_t)wl) == 0) {
            snprintf(out, len, "%s", tok + wl);
            return;
        }
}

/* Hostname: `hearth.hostname=` from the host, else /etc/hostname, else "sandbox"; the one
 * chosen is also written to /etc/hostname so that guest tools agree. A restored guest gets its
 * hostname from HELLO instead (identity.c), since it never reads the command line again. */
static void set_hostname(void)
{
    char name[65] = "", file[65] = "";
    int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t n = read(fd, file, sizeof(file) - 1);
        close(fd);
        file[n > 0 ? n : 0] = 0;
        file[strcspn(file, "\n \t")] = 0;
    }
    cmdline_value("hostname", name, sizeof(name));
    if (!name[0])
        snprintf(name, sizeof(name), "%s", file[0] ? file : "sandbox");
    identity_set_hostname(name);
}

static void loopback_up(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        agent_log("cannot bring up 'lo': %s, ignoring", strerror(errno));
        return;
    }
    struct ifreq ifr = { 0 };
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
        goto out_fail;
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
        goto out_fail;
    close(fd);
    return;
out_fail:
    agent_log("cannot bring up 'lo': %s, ignoring", strerror(errno));
    close(fd);
}

/* Links scripts expect in /dev; devtmpfs does not make them. */
static void dev_links(void)
{
    static const char *const links[][2] = {
        { "/proc/self/fd", "/dev/fd" },     { "/proc/self/fd/0", "/dev/stdin" },
        { "/proc/self/fd/1", "/dev/stdout" }, { "/proc/self/fd/2", "/dev/stderr" },
    };
    for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
        (void)symlink(links[i][0], links[i][1]); /* EEXIST is the common, fine case */
}

void init_system(void)
{
    const unsigned long nse = MS_NOSUID | MS_NODEV | MS_NOEXEC;
    umask(022);
    if (chdir("/") < 0)
        agent_log("cannot change to '/': %s, ignoring", strerror(errno));
    mount_one("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
    std_fds();
    mount_one("proc", "/proc", "proc", nse, NULL);
    mount_one("sysfs", "/sys", "sysfs", nse, NULL);
    mount_one("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
              "gid=5,mode=0620,ptmxmode=0666");
    mount_one("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
    mount_one("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
    if (dir_empty("/tmp"))
        mount_one("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
    mount_one("cgroup2", "/sys/fs/cgroup", "cgroup2", nse, NULL);
    usercg_setup();
    dev_links();
    set_hostname();
    loopback_up();
    setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);
    setenv("HOME", "/root", 1);
}
