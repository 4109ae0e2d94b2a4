/* SPDX-License-Identifier: MIT */
/* cgroup.c: per-VM cgroup v2 directories with memory.max and cpu.max (cgroup.h). Owns nothing
 * but the directories it makes under the root it is given; never touches a cgroup outside it
 * (beyond asking the root's parent to hand the memory and cpu controllers down) and never a v1
 * hierarchy. Pure helpers first, then the few writes to cgroupfs. */
#include "daemon/host/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "common/herr.h"
#include "daemon/host/cgroup_backend.h"

#define NAME_MAX_LEN 64

struct cgroup_limits cgroup_vm_limits(unsigned guest_mib, uint32_t cpu_quota_pct)
{
    return (struct cgroup_limits){
        .memory_max = ((uint64_t)guest_mib + CGROUP_QEMU_OVERHEAD_MIB) << 20,
        .cpu_quota_pct = cpu_quota_pct,
        .pids_max = CGROUP_PIDS_MAX,
    };
}

int cgroup_disk_of(const char *path, char out[24])
{
    struct stat st;
    if (stat(path, &st) < 0)
        return -errno;
    unsigned maj = major(st.st_dev), min = minor(st.st_dev);
    if (maj == 0)
        return -ENODEV; /* an anonymous device: tmpfs, overlay, btrfs subvolume, NFS */
    char sys[96], real[PATH_MAX], dev[32];
    snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u", maj, min);
    if (!realpath(sys, real))
        return -ENODEV;
    /* a partition's sysfs directory sits inside its disk's, which holds the disk's "dev" */
    char probe[PATH_MAX + 16];
    snprintf(probe, sizeof(probe), "%s/partition", real);
    if (access(probe, F_OK) == 0) {
        snprintf(probe, sizeof(probe), "%s/../dev", real);
        FILE *f = fopen(probe, "re");
        bool ok = f && fgets(dev, sizeof(dev), f) && sscanf(dev, "%u:%u", &maj, &min) == 2;
        if (f)
            fclose(f);
        if (!ok)
            return -ENODEV;
    }
    snprintf(out, 24, "%u:%u", maj, min);
    return 0;
}

static int fmt_ret(int n, size_t len)
{
    if (n < 0)
        return -EINVAL;
    return (size_t)n >= len ? -ENOSPC : n;
}

int cgroup_format_memory_max(uint64_t bytes, char *out, size_t len)
{
    if (bytes == 0)
        return fmt_ret(snprintf(out, len, "max"), len);
    return fmt_ret(snprintf(out, len, "%" PRIu64, bytes), len);
}

int cgroup_format_cpu_max(uint32_t pct, char *out, size_t len)
{
    if (pct > 100000)
        return -EINVAL;
    if (pct == 0)
        return fmt_ret(snprintf(out, len, "max %u", CGROUP_CPU_PERIOD_US), len);
    /* pct of one CPU over a 100 ms period: 1 % = 1000 µs (the kernel's minimum quota) */
    uint64_t quota = (uint64_t)pct * (CGROUP_CPU_PERIOD_US / 100);
    return fmt_ret(snprintf(out, len, "%" PRIu64 " %u", quota, CGROUP_CPU_PERIOD_US), len);
}

bool cgroup_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > NAME_MAX_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

bool cgroup_root_valid(const char *root)
{
    if (!root || root[0] != '/' || strstr(root, "/../") || strstr(root, "/./") ||
        strstr(root, "//"))
        return false;
    size_t n = strlen(root);
    /* no trailing "/..", "/." or "/" (the root directory itself is no place for VMs) */
    return !(n >= 3 && strcmp(root + n - 3, "/..") == 0) &&
           !(n >= 2 && strcmp(root + n - 2, "/.") == 0) && root[n - 1] != '/';
}

int cgroup_path(const char *root, const char *name, char *out, size_t len)
{
    if (!cgroup_root_valid(root) || !cgroup_name_valid(name))
        return -EINVAL;
    if ((size_t)snprintf(out, len, "%s/%s", root, name) >= len)
        return -ENAMETOOLONG;
    return 0;
}

/* --- cgroupfs --- */

/* Opens dir/file with flags: the fd, or -errno. */
static int open_in(const char *dir, const char *file, int flags)
{
    char p[PATH_MAX];
    if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, file) >= sizeof(p))
        return -ENAMETOOLONG;
    int fd = open(p, flags | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int cgroup_file_write(const char *dir, const char *file, const char *value)
{
    int fd = open_in(dir, file, O_WRONLY);
    if (fd < 0)
        return fd;
    size_t n = strlen(value);
    ssize_t w = write(fd, value, n);
    int r = w < 0 ? -errno : (size_t)w != n ? -EIO : 0;
    close(fd);
    return r;
}

int cgroup_file_read(const char *dir, const char *file, char *out, size_t len)
{
    int fd = open_in(dir, file, O_RDONLY);
    if (fd < 0)
        return fd;
    ssize_t n = read(fd, out, len - 1);
    int r = n < 0 ? -errno : 0;
    close(fd);
    out[n > 0 ? n : 0] = 0;
    return r;
}

/* The parent directory of root (root is valid: absolute, no trailing '/'). */
static int parent_of(const char *root, char *out, size_t len)
{
    const char *slash = strrchr(root, '/');
    size_t n = (size_t)(slash - root);
    if (n == 0)
        n = 1; /* "/x" → "/" */
    if (n >= len)
        return -ENAMETOOLONG;
    memcpy(out, root, n);
    out[n] = 0;
    return 0;
}

/* True when the space-separated list holds word. */
static bool has_word(const char *list, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = list; (p = strstr(p, word)); p += wl)
        if ((p == list || p[-1] == ' ') && (p[wl] == 0 || p[wl] == ' ' || p[wl] == '\n'))
            return true;
    return false;
}

int cgroup_root_check(const char *root, char *ret_missing, size_t missing_len, struct herr *e)
{
    if (!cgroup_root_valid(root))
        return herr_set(e, -EINVAL, "cgroup root '%s' is not a clean absolute path",
                        root ? root : "");
    char parent[PATH_MAX];
    int r = parent_of(root, parent, sizeof(parent));
    if (r < 0)
        return herr_set(e, r, "cgroup root '%s': path too long", root);
    struct stat st;
    const char *probe = stat(root, &st) == 0 ? root : parent;
    struct statfs sf;
    if (statfs(probe, &sf) < 0) {
        r = -errno;
        return herr_set(e, r, "cgroup root '%s': cannot read '%s': %s", root, probe,
                        strerror(-r));
    }
    if (sf.f_type != CGROUP2_SUPER_MAGIC)
        return herr_set(e, -ENOTSUP, "'%s' is not a cgroup v2 file system (cgroup v1 or "
                        "hybrid layout?)", probe);
    if (access(probe, W_OK) < 0) {
        r = -errno;
        return herr_set(e, r, "cgroup root '%s': '%s' is not writable: %s", root, probe,
                        strerror(-r));
    }
    if (ret_missing && missing_len) {
        char avail[512];
        ret_missing[0] = 0;
        if (cgroup_file_read(parent, "cgroup.controllers", avail, sizeof(avail)) < 0)
            avail[0] = 0;
        static const char *const want[] = { "memory", "cpu" };
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
            if (has_word(avail, want[i]))
                continue;
            size_t l = strlen(ret_missing);
            snprintf(ret_missing + l, missing_len - l, "%s%s", l ? " " : "", want[i]);
        }
    }
    return 0;
}

/* Asks dir to hand memory, cpu and pids down to its children; each may fail on its own (not
 * available, or processes in dir): then that limit is skipped. */
static void enable_controllers(const char *dir)
{
    (void)cgroup_file_write(dir, "cgroup.subtree_control", "+memory"); /* best effort, see above */
    (void)cgroup_file_write(dir, "cgroup.subtree_control", "+cpu");
    (void)cgroup_file_write(dir, "cgroup.subtree_control", "+pids");
    (void)cgroup_file_write(dir, "cgroup.subtree_control", "+io");
}

int cgroup_write_limit(const char *dir, const char *file, const char *value, struct herr *e)
{
    int r = cgroup_file_write(dir, file, value);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return herr_set(e, r, "cgroup '%s': cannot write %s '%s': %s", dir, file, value,
                        strerror(-r));
    return 0;
}

int cgroup_vm_setup(const char *root, const char *name, const struct cgroup_limits *l,
                    struct herr *e)
{
    char dir[PATH_MAX], parent[PATH_MAX];
    int r = cgroup_path(root, name, dir, sizeof(dir));
    if (r < 0)
        return herr_set(e, r, "invalid cgroup '%.200s' under '%.200s'", name ? name : "",
                        root ? root : "");
    if (mkdir(root, 0755) < 0 && errno != EEXIST) {
        r = -errno;
        return herr_set(e, r, "cannot create cgroup root '%s': %s", root, strerror(-r));
    }
    /* idempotent, and repairs a root made before its parent handed the controllers down */
    if (parent_of(root, parent, sizeof(parent)) == 0)
        enable_controllers(parent);
    enable_controllers(root);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        r = -errno;
        return herr_set(e, r, "cannot create cgroup '%s': %s", dir, strerror(-r));
    }
    char v[64];
    if ((r = cgroup_format_memory_max(l->memory_max, v, sizeof(v))) < 0 ||
        (r = cgroup_write_limit(dir, "memory.max", v, e)) < 0)
        return herr_set(e, r, "cgroup '%s': bad memory.max", dir);
    if ((r = cgroup_format_cpu_max(l->cpu_quota_pct, v, sizeof(v))) < 0 ||
        (r = cgroup_write_limit(dir, "cpu.max", v, e)) < 0)
        return herr_set(e, r, "cgroup '%s': bad cpu.max", dir);
    if ((r = cgroup_format_memory_max(l->pids_max, v, sizeof(v))) < 0 ||
        (r = cgroup_write_limit(dir, "pids.max", v, e)) < 0)
        return herr_set(e, r, "cgroup '%s': bad pids.max", dir);
    if (l->io_dev[0] && (l->io_bps || l->io_iops)) {
        char io[160], b[24] = "max", o[24] = "max";
        if (l->io_bps)
            snprintf(b, sizeof(b), "%llu", (unsigned long long)l->io_bps);
        if (l->io_iops)
            snprintf(o, sizeof(o), "%u", l->io_iops);
        snprintf(io, sizeof(io), "%s rbps=%s wbps=%s riops=%s wiops=%s", l->io_dev, b, b, o, o);
        if ((r = cgroup_write_limit(dir, "io.max", io, e)) < 0)
            return r;
    }
    return 0;
}

int cgroup_vm_attach(const char *root, const char *name, pid_t pid, struct herr *e)
{
    char dir[PATH_MAX], v[32];
    int r = cgroup_path(root, name, dir, sizeof(dir));
    if (r < 0 || pid <= 0)
        return herr_set(e, -EINVAL, "invalid cgroup '%.200s' or pid %d", name ? name : "",
                        (int)pid);
    snprintf(v, sizeof(v), "%d", (int)pid);
    r = cgroup_file_write(dir, "cgroup.procs", v);
    if (r < 0)
        return herr_set(e, r, "cannot move pid %d into cgroup '%s': %s", (int)pid, dir,
                        strerror(-r));
    return 0;
}

int cgroup_vm_remove(const char *root, const char *name)
{
    char dir[PATH_MAX];
    int r = cgroup_path(root, name, dir, sizeof(dir));
    if (r < 0)
        return r;
    if (rmdir(dir) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

int cgroup_prune(const char *root, bool (*keep)(void *ud, const char *name), void *ud)
{
    if (!cgroup_root_valid(root))
        return -EINVAL;
    DIR *d = opendir(root);
    if (!d)
        return -errno;
    int n = 0;
    for (struct dirent *de; (de = readdir(d));) {
        if (!cgroup_name_valid(de->d_name) || (keep && keep(ud, de->d_name)))
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
            continue;
        /* cgroupfs directories go with rmdir; one with a live process answers EBUSY: kept */
        if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) == 0)
            n++;
    }
    closedir(d);
    return n;
}
