/* SPDX-License-Identifier: MIT */
/* netns.c: named network namespaces. Mirrors iproute2's `ip netns add`: /run/netns is made a
 * shared mount (so namespaces created later appear in other mount namespaces too), the
 * namespace is made with unshare(CLONE_NEWNET) on this thread and pinned by a bind mount of
 * /proc/thread-self/ns/net, then the thread goes back where it was. No process is forked. */
#include "daemon/net/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

static int ns_path(const char *name, char out[PATH_MAX])
{
    if (!name || !*name || strchr(name, '/') || strcmp(name, ".") == 0 ||
        strcmp(name, "..") == 0)
        return -EINVAL;
    int n = snprintf(out, PATH_MAX, "%s/%s", NETNS_RUN_DIR, name);
    return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/* Like iproute2: make /run/netns a shared mount point, binding it onto itself the first time. */
static int prepare_run_dir(void)
{
    if (mkdir(NETNS_RUN_DIR, 0755) < 0 && errno != EEXIST)
        return -errno;
    if (mount("", NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL) == 0)
        return 0;
    if (errno != EINVAL)
        return -errno;
    if (mount(NETNS_RUN_DIR, NETNS_RUN_DIR, "none", MS_BIND | MS_REC, NULL) < 0)
        return -errno;
    if (mount("", NETNS_RUN_DIR, "none", MS_SHARED | MS_REC, NULL) < 0)
        return -errno;
    return 0;
}

int netns_open(const char *name, int *ret_fd)
{
    char path[PATH_MAX];
    int r = ns_path(name, path);
    if (r < 0)
        return r;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    /* a file left behind without its mount (a reboot, a crash mid-create) is not a namespace */
    struct statfs sf;
    if (fstatfs(fd, &sf) < 0 || sf.f_type != NSFS_MAGIC) {
        close(fd);
        return -ENOENT;
    }
    *ret_fd = fd;
    return 0;
}

int netns_open_current(int *ret_fd)
{
    int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    *ret_fd = fd;
    return 0;
}

int netns_enter(int nsfd)
{
    return setns(nsfd, CLONE_NEWNET) < 0 ? -errno : 0;
}

int netns_create(const char *name)
{
    char path[PATH_MAX];
    int r = ns_path(name, path);
    if (r < 0)
        return r;
    int fd;
    if (netns_open(name, &fd) == 0) {
        close(fd);
        return 0;
    }
    r = prepare_run_dir();
    if (r < 0)
        return r;
    fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0444);
    if (fd < 0)
        return -errno;
    close(fd);
    int home = -1;
    r = netns_open_current(&home);
    if (r < 0)
        goto out_unlink;
    if (unshare(CLONE_NEWNET) < 0) {
        r = -errno;
        goto out_home;
    }
    if (mount("/proc/thread-self/ns/net", path, "none", MS_BIND, NULL) < 0)
        r = -errno;
    /* going back cannot fail short of a kernel bug; the thread would be stranded otherwise */
    if (setns(home, CLONE_NEWNET) < 0 && r == 0)
        r = -errno;
out_home:
    close(home);
out_unlink:
    if (r < 0)
        (void)unlink(path);     /* best effort: the error that matters is r */
    return r;
}

int netns_delete(const char *name)
{
    char path[PATH_MAX];
    int r = ns_path(name, path);
    if (r < 0)
        return r;
    if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
        return -errno;
    if (unlink(path) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}
