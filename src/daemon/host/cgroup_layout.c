/* SPDX-License-Identifier: MIT */
/* cgroup_layout.c: cgroup v1 or v2 behind struct cgroup_layout (cgroup.h): detection at start
 * (the v2 root check, else the v1 hierarchies of /proc/self/mountinfo under hearthd's own
 * cgroup), a VM's directories on every hierarchy, the cgroup.procs fds a child joins before
 * exec, removal, pruning and usage. Owns only the directories under the roots it computed. */
#include "daemon/host/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/herr.h"
#include "common/parse.h"
#include "daemon/host/cgroup_backend.h"

static const char *const ctrl_names[CGROUP_CTRL_COUNT] = {
    [CGROUP_CTRL_CPU] = "cpu",     [CGROUP_CTRL_CPUACCT] = "cpuacct",
    [CGROUP_CTRL_MEMORY] = "memory", [CGROUP_CTRL_PIDS] = "pids",
    [CGROUP_CTRL_BLKIO] = "blkio",
};

const char *cgroup_ctrl_name(enum cgroup_ctrl c)
{
    return (unsigned)c < CGROUP_CTRL_COUNT ? ctrl_names[c] : "unknown";
}

/* True when the comma-separated list (len bytes) holds word. */
static bool list_has(const char *list, size_t len, const char *word)
{
    size_t wl = strlen(word);
    const char *end = list + len;
    for (const char *p = list; p < end;) {
        const char *c = memchr(p, ',', (size_t)(end - p));
        size_t n = (size_t)((c ? c : end) - p);
        if (n == wl && memcmp(p, word, wl) == 0)
            return true;
        p += n + 1;
    }
    return false;
}

/* The next whitespace-separated field of the line [*p, end): its start and length. */
static bool field_next(const char **p, const char *end, const char **ret, size_t *ret_len)
{
    const char *s = *p;
    while (s < end && *s == ' ')
        s++;
    const char *e = s;
    while (e < end && *e != ' ')
        e++;
    if (e == s)
        return false;
    *ret = s;
    *ret_len = (size_t)(e - s);
    *p = e;
    return true;
}

/* In mountinfo: the mount point and root of the v1 hierarchy with ctrl. */
static int find_mount(const char *mountinfo, const char *ctrl, char *mnt, char *mroot,
                      size_t len)
{
    for (const char *line = mountinfo; line && *line;) {
        const char *end = strchr(line, '\n');
        if (!end)
            end = line + strlen(line);
        const char *p = line, *f[12];
        size_t fl[12], n = 0;
        /* id parent maj:min root mountpoint options [optional...] - fstype source super */
        while (n < 12 && field_next(&p, end, &f[n], &fl[n])) {
            if (fl[n] == 1 && f[n][0] == '-' && n >= 6) {
                n++;
                break;
            }
            n++;
        }
        const char *fs, *src, *super;
        size_t fsl, srcl, superl;
        if (n >= 7 && fl[n - 1] == 1 && f[n - 1][0] == '-' && field_next(&p, end, &fs, &fsl) &&
            field_next(&p, end, &src, &srcl) && field_next(&p, end, &super, &superl) &&
            fsl == 6 && memcmp(fs, "cgroup", 6) == 0 && list_has(super, superl, ctrl)) {
            if (fl[4] >= len || fl[3] >= len)
                return -ENAMETOOLONG;
            memcpy(mnt, f[4], fl[4]);
            mnt[fl[4]] = 0;
            memcpy(mroot, f[3], fl[3]);
            mroot[fl[3]] = 0;
            /* mountinfo escapes space, tab, newline and '\' as octal: refuse those paths */
            if (strchr(mnt, '\\') || strchr(mroot, '\\'))
                return -EINVAL;
            return 0;
        }
        line = *end ? end + 1 : end;
    }
    return -ENOENT;
}

/* In /proc/self/cgroup: our path in the v1 hierarchy holding ctrl. */
static int find_self(const char *self_cgroup, const char *ctrl, char *out, size_t len)
{
    for (const char *line = self_cgroup; line && *line;) {
        const char *end = strchr(line, '\n');
        if (!end)
            end = line + strlen(line);
        /* "4:memory:/path" (v1) or "0::/path" (v2) */
        const char *c1 = memchr(line, ':', (size_t)(end - line));
        const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
        if (c2 && list_has(c1 + 1, (size_t)(c2 - c1 - 1), ctrl)) {
            size_t n = (size_t)(end - c2 - 1);
            if (n == 0 || c2[1] != '/')
                return -EINVAL;
            if (n >= len)
                return -ENAMETOOLONG;
            memcpy(out, c2 + 1, n);
            out[n] = 0;
            return 0;
        }
        line = *end ? end + 1 : end;
    }
    return -ENOENT;
}

int cgroup_v1_root(const char *mountinfo, const char *self_cgroup, const char *ctrl,
                   const char *leaf, char *out, size_t len)
{
    char mnt[PATH_MAX], mroot[PATH_MAX], self[PATH_MAX];
    if (!mountinfo || !self_cgroup || !ctrl || !cgroup_name_valid(leaf))
        return -EINVAL;
    int r = find_mount(mountinfo, ctrl, mnt, mroot, sizeof(mnt));
    if (r < 0)
        return r;
    r = find_self(self_cgroup, ctrl, self, sizeof(self));
    if (r < 0)
        return r == -ENOENT ? -EINVAL : r;
    /* a mount of a sub-tree (a container's) shows paths below its root */
    const char *rel = self;
    size_t rl = strlen(mroot);
    if (strcmp(mroot, "/") != 0) {
        if (strncmp(self, mroot, rl) != 0 || (self[rl] != '/' && self[rl] != 0))
            return -EINVAL; /* our cgroup is outside what is mounted */
        rel = self + rl;
    }
    if (strcmp(rel, "/") == 0)
        rel = "";
    if (strstr(rel, "/../") || strstr(rel, "/./") ||
        (strlen(rel) >= 3 && strcmp(rel + strlen(rel) - 3, "/..") == 0))
        return -EINVAL;
    int n = snprintf(out, len, "%s%s/%s", mnt, rel, leaf);
    if (n < 0 || (size_t)n >= len)
        return -ENAMETOOLONG;
    return cgroup_root_valid(out) ? 0 : -EINVAL;
}

/* Reads a small /proc file whole (NUL-terminated) into a malloc'd buffer; NULL on failure. */
static char *slurp(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 == cap) {
            char *nb = cap < (4u << 20) ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (buf)
        buf[n] = 0;
    return buf;
}

/* The directory that root would be made in (its parent) is writable. */
static bool parent_writable(const char *root)
{
    char parent[PATH_MAX];
    const char *slash = strrchr(root, '/');
    size_t n = slash ? (size_t)(slash - root) : 0;
    if (n == 0 || n >= sizeof(parent))
        return false;
    memcpy(parent, root, n);
    parent[n] = 0;
    struct stat st;
    return (stat(root, &st) == 0 && access(root, W_OK) == 0) || access(parent, W_OK) == 0;
}

int cgroup_detect(const char *root, struct cgroup_layout *ret, char *note, size_t note_len)
{
    memset(ret, 0, sizeof(*ret));
    if (note_len)
        note[0] = 0;
    if (!root || !root[0]) {
        snprintf(note, note_len, "cgroups are turned off");
        return 0;
    }
    if (!cgroup_root_valid(root))
        return -EINVAL;
    struct herr e = { 0 };
    char missing[64] = "";
    if (cgroup_root_check(root, missing, sizeof(missing), &e) == 0) {
        ret->kind = CGROUP_V2;
        snprintf(ret->root[0], sizeof(ret->root[0]), "%s", root);
        if (missing[0])
            snprintf(note, note_len, "cgroup root '%s' cannot have the %s controller(s): those "
                     "limits are skipped", root, missing);
        return 0;
    }
    /* not v2: the v1 hierarchies, each under our own cgroup, named by root's last segment */
    char *mi = slurp("/proc/self/mountinfo"), *self = slurp("/proc/self/cgroup");
    if (!mi || !self) {
        free(mi);
        free(self);
        snprintf(note, note_len, "%s; /proc/self/mountinfo unreadable", e.msg);
        return 0;
    }
    const char *leaf = strrchr(root, '/') + 1;
    char miss[128] = "";
    for (int c = 0; c < CGROUP_CTRL_COUNT; c++) {
        int r = cgroup_v1_root(mi, self, ctrl_names[c], leaf, ret->root[c], sizeof(ret->root[c]));
        if (r == 0 && !parent_writable(ret->root[c]))
            r = -EACCES;
        if (r < 0) {
            ret->root[c][0] = 0;
            size_t l = strlen(miss);
            snprintf(miss + l, sizeof(miss) - l, "%s%s", l ? " " : "", ctrl_names[c]);
        }
    }
    free(mi);
    free(self);
    if (!ret->root[CGROUP_CTRL_MEMORY][0] && !ret->root[CGROUP_CTRL_CPU][0] &&
        !ret->root[CGROUP_CTRL_PIDS][0]) {
        snprintf(note, note_len, "%s; no writable cgroup v1 memory, cpu or pids hierarchy "
                 "either", e.msg);
        return 0;
    }
    ret->kind = CGROUP_V1;
    if (miss[0])
        snprintf(note, note_len, "cgroup v1 without the %s controller(s): those limits are "
                 "skipped", miss);
    return 0;
}

/* Whether hierarchy c of l is one to act on: present and not the same directory as an
 * earlier controller's (cpu and cpuacct often share one hierarchy). */
static bool ctrl_used(const struct cgroup_layout *l, int c)
{
    if (l->kind == CGROUP_V2)
        return c == 0;
    if (l->kind != CGROUP_V1 || !l->root[c][0])
        return false;
    for (int i = 0; i < c; i++)
        if (strcmp(l->root[i], l->root[c]) == 0)
            return false;
    return true;
}

int cgroup_layout_dir(const struct cgroup_layout *l, enum cgroup_ctrl c, const char *name,
                      char *out, size_t len)
{
    if ((unsigned)c >= CGROUP_CTRL_COUNT)
        return -EINVAL;
    const char *root = l->kind == CGROUP_V2 ? l->root[0] : l->kind == CGROUP_V1 ? l->root[c] : "";
    if (!root[0])
        return -ENOENT;
    return cgroup_path(root, name, out, len);
}

/* The v1 limit files of one hierarchy's directory (cgroup_vm_setup() wrote pids.max). */
static int v1_limits(const char *dir, const struct cgroup_limits *lim, struct herr *e)
{
    char v[64];
    int r = 0;
    if (lim->memory_max)
        snprintf(v, sizeof(v), "%" PRIu64, lim->memory_max);
    else
        snprintf(v, sizeof(v), "-1");
    if ((r = cgroup_write_limit(dir, "memory.limit_in_bytes", v, e)) < 0)
        return r;
    if ((r = cgroup_write_limit(dir, "cpu.cfs_period_us", "100000", e)) < 0)
        return r;
    if (lim->cpu_quota_pct > 100000)
        return herr_set(e, -EINVAL, "cgroup '%s': cpu quota %u %% is out of range", dir,
                        lim->cpu_quota_pct);
    if (lim->cpu_quota_pct)
        snprintf(v, sizeof(v), "%" PRIu64,
                 (uint64_t)lim->cpu_quota_pct * (CGROUP_CPU_PERIOD_US / 100));
    else
        snprintf(v, sizeof(v), "-1");
    if ((r = cgroup_write_limit(dir, "cpu.cfs_quota_us", v, e)) < 0)
        return r;
    /* the blkio hierarchy's throttles (absent elsewhere: ENOENT is skipped) */
    static const char *const io_files[] = { "blkio.throttle.read_bps_device",
                                            "blkio.throttle.write_bps_device",
                                            "blkio.throttle.read_iops_device",
                                            "blkio.throttle.write_iops_device" };
    for (int i = 0; lim->io_dev[0] && i < 4 && r == 0; i++) {
        uint64_t val = i < 2 ? lim->io_bps : lim->io_iops;
        if (!val)
            continue;
        snprintf(v, sizeof(v), "%s %llu", lim->io_dev, (unsigned long long)val);
        r = cgroup_write_limit(dir, io_files[i], v, e);
    }
    return r;
}

int cgroup_layout_setup(const struct cgroup_layout *l, const char *name,
                        const struct cgroup_limits *lim, struct herr *e)
{
    for (int c = 0; c < CGROUP_CTRL_COUNT; c++) {
        if (!ctrl_used(l, c))
            continue;
        int r = cgroup_vm_setup(l->root[c], name, lim, e);
        if (r < 0)
            return r;
        if (l->kind == CGROUP_V1) {
            char dir[PATH_MAX];
            if ((r = cgroup_path(l->root[c], name, dir, sizeof(dir))) < 0 ||
                (r = v1_limits(dir, lim, e)) < 0)
                return e->code ? r : herr_set(e, r, "cgroup '%s': bad name", name);
        }
    }
    return 0;
}

int cgroup_layout_procs_open(const struct cgroup_layout *l, const char *name, int *fds,
                             size_t max)
{
    size_t n = 0;
    for (int c = 0; c < CGROUP_CTRL_COUNT; c++) {
        if (!ctrl_used(l, c))
            continue;
        char dir[PATH_MAX], p[PATH_MAX + 16];
        int r = cgroup_path(l->root[c], name, dir, sizeof(dir));
        if (r == 0 && n == max)
            r = -E2BIG;
        if (r == 0 && (size_t)snprintf(p, sizeof(p), "%s/cgroup.procs", dir) >= sizeof(p))
            r = -ENAMETOOLONG;
        if (r == 0 && (fds[n] = open(p, O_WRONLY | O_CLOEXEC)) < 0)
            r = -errno;
        if (r < 0) {
            while (n)
                close(fds[--n]);
            return r;
        }
        n++;
    }
    return (int)n;
}

int cgroup_layout_remove(const struct cgroup_layout *l, const char *name)
{
    int first = 0;
    for (int c = 0; c < CGROUP_CTRL_COUNT; c++) {
        if (!ctrl_used(l, c))
            continue;
        int r = cgroup_vm_remove(l->root[c], name);
        if (r < 0 && !first)
            first = r;
    }
    return first;
}

int cgroup_layout_prune(const struct cgroup_layout *l, bool (*keep)(void *ud, const char *name),
                        void *ud)
{
    int n = 0;
    for (int c = 0; c < CGROUP_CTRL_COUNT; c++) {
        if (!ctrl_used(l, c))
            continue;
        int r = cgroup_prune(l->root[c], keep, ud);
        if (r < 0 && r != -ENOENT)
            return r;
        n += r > 0 ? r : 0;
    }
    return n;
}

int cgroup_parse_cpu_stat(const char *text, uint64_t *ret_ns)
{
    for (const char *p = text; p && *p;) {
        if (strncmp(p, "usage_usec ", 11) == 0) {
            char num[32];
            size_t n = strcspn(p + 11, "\n");
            if (n == 0 || n >= sizeof(num))
                return -ERANGE;
            memcpy(num, p + 11, n);
            num[n] = 0;
            uint64_t us;
            if (parse_u64(num, 0, UINT64_MAX / 1000, &us) < 0)
                return -ERANGE;
            *ret_ns = us * 1000;
            return 0;
        }
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return -ENOENT;
}

/* One decimal counter file of <name> under controller c; UINT64_MAX when unreadable. */
static uint64_t read_u64(const struct cgroup_layout *l, enum cgroup_ctrl c, const char *name,
                         const char *file)
{
    char dir[PATH_MAX], v[64];
    uint64_t x;
    if (cgroup_layout_dir(l, c, name, dir, sizeof(dir)) < 0 ||
        cgroup_file_read(dir, file, v, sizeof(v)) < 0)
        return UINT64_MAX;
    v[strcspn(v, "\n")] = 0;
    return parse_u64(v, 0, UINT64_MAX, &x) == 0 ? x : UINT64_MAX;
}

int cgroup_layout_stats(const struct cgroup_layout *l, const char *name,
                        struct cgroup_stats *ret)
{
    char dir[PATH_MAX];
    if (!cgroup_name_valid(name))
        return -EINVAL;
    if (l->kind == CGROUP_NONE)
        return -ENOENT;
    /* the cgroup exists on the first hierarchy we use, or not at all */
    int first = l->kind == CGROUP_V2 ? 0 : -1;
    for (int c = 0; first < 0 && c < CGROUP_CTRL_COUNT; c++)
        if (ctrl_used(l, c))
            first = c;
    struct stat st;
    if (first < 0 || cgroup_layout_dir(l, (enum cgroup_ctrl)first, name, dir, sizeof(dir)) < 0 ||
        stat(dir, &st) < 0)
        return -ENOENT;
    struct cgroup_stats s = { UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX };
    if (l->kind == CGROUP_V2) {
        char text[1024];
        if (cgroup_file_read(dir, "cpu.stat", text, sizeof(text)) == 0)
            (void)cgroup_parse_cpu_stat(text, &s.cpu_usage_ns); /* stays UINT64_MAX */
        s.memory_current = read_u64(l, CGROUP_CTRL_MEMORY, name, "memory.current");
        s.memory_peak = read_u64(l, CGROUP_CTRL_MEMORY, name, "memory.peak");
    } else {
        s.cpu_usage_ns = read_u64(l, CGROUP_CTRL_CPUACCT, name, "cpuacct.usage");
        s.memory_current = read_u64(l, CGROUP_CTRL_MEMORY, name, "memory.usage_in_bytes");
        s.memory_peak = read_u64(l, CGROUP_CTRL_MEMORY, name, "memory.max_usage_in_bytes");
    }
    s.pids_current = read_u64(l, CGROUP_CTRL_PIDS, name, "pids.current");
    *ret = s;
    return 0;
}
