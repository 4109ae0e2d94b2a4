/* SPDX-License-Identifier: MIT */
/* jail.c: QEMU's confinement (jail.h, docs/security.md): the plan hearthd builds before the
 * fork (uid, binds, backing chain, cgroup fds) and jail_enter(), the child's steps before exec.
 * The child part uses only system calls, libcap and string copies into its stack: hearthd may
 * have a helper thread (snapshot warming) when it forks. Owns nothing outside the plan. */
#include "daemon/host/jail.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/herr.h"

int jail_uid_pick(uint32_t base, uint32_t count, const char *id,
                  bool (*taken)(void *ud, uint32_t uid), void *ud, uint32_t *ret)
{
    if (count == 0 || base < 1000 || (uint64_t)base + count > (uint64_t)UINT32_MAX || !id)
        return -EINVAL;
    /* FNV-1a of the id: ULIDs differ in their last characters, which it mixes well */
    uint32_t h = 2166136261u;
    for (const char *c = id; *c; c++)
        h = (h ^ (uint8_t)*c) * 16777619u;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t uid = base + (h + i) % count;
        if (!taken || !taken(ud, uid)) {
            *ret = uid;
            return 0;
        }
    }
    return -EBUSY;
}

struct jail_plan *jail_plan_new(bool confine, uid_t uid, gid_t gid, const char *root)
{
    struct jail_plan *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->confine = confine;
    p->uid = uid;
    p->gid = gid;
    if (confine && !(p->root = strdup(root ? root : ""))) {
        free(p);
        return NULL;
    }
    return p;
}

void jail_plan_free(struct jail_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n_binds; i++) {
        free(p->binds[i].src);
        free(p->binds[i].at);
    }
    for (size_t i = 0; i < p->n_links; i++) {
        free(p->links[i][0]);
        free(p->links[i][1]);
    }
    for (size_t i = 0; i < p->n_cg; i++)
        close(p->cg_fds[i]);
    free(p->root);
    free(p);
}

static bool path_clean(const char *path)
{
    size_t n = path ? strlen(path) : 0;
    return n > 1 && path[0] == '/' && !strstr(path, "/../") && !strstr(path, "/./") &&
           !(n >= 3 && strcmp(path + n - 3, "/..") == 0);
}

int jail_plan_bind(struct jail_plan *p, const char *src, const char *path, unsigned flags)
{
    if (!path_clean(path) || !src || src[0] != '/')
        return -EINVAL;
    char at[PATH_MAX];
    if ((size_t)snprintf(at, sizeof(at), "%s%s", p->root, path) >= sizeof(at))
        return -ENAMETOOLONG;
    for (size_t i = 0; i < p->n_binds; i++)
        if (strcmp(p->binds[i].at, at) == 0)
            return 0;
    if (p->n_binds == JAIL_BINDS_MAX)
        return -E2BIG;
    struct jail_bind *b = &p->binds[p->n_binds];
    b->src = strdup(src);
    b->at = strdup(at);
    b->flags = flags;
    if (!b->src || !b->at) {
        free(b->src);
        free(b->at);
        return -ENOMEM;
    }
    p->n_binds++;
    return 0;
}

/* /lib and friends: a symlink into /usr on a merged-/usr host (Debian 12), else a bind. */
static int system_dir(struct jail_plan *p, const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (S_ISLNK(st.st_mode)) {
        char target[256], at[PATH_MAX];
        ssize_t n = readlink(path, target, sizeof(target) - 1);
        if (n <= 0 || p->n_links == sizeof(p->links) / sizeof(p->links[0]))
            return n < 0 ? -errno : -E2BIG;
        target[n] = 0;
        if ((size_t)snprintf(at, sizeof(at), "%s%s", p->root, path) >= sizeof(at))
            return -ENAMETOOLONG;
        p->links[p->n_links][0] = strdup(at);
        p->links[p->n_links][1] = strdup(target);
        p->n_links++;
        return p->links[p->n_links - 1][0] && p->links[p->n_links - 1][1] ? 0 : -ENOMEM;
    }
    if (!S_ISDIR(st.st_mode))
        return 0;
    return jail_plan_bind(p, path, path, JAIL_RO | JAIL_DIR | JAIL_EXEC | JAIL_REC);
}

int jail_plan_system(struct jail_plan *p, bool kvm)
{
    int r = jail_plan_bind(p, "/usr", "/usr", JAIL_RO | JAIL_DIR | JAIL_EXEC | JAIL_REC);
    static const char *const dirs[] = { "/lib", "/lib64", "/bin", "/sbin" };
    for (size_t i = 0; r == 0 && i < sizeof(dirs) / sizeof(dirs[0]); i++)
        r = system_dir(p, dirs[i]);
    if (r == 0 && access("/etc/ld.so.cache", R_OK) == 0)
        r = jail_plan_bind(p, "/etc/ld.so.cache", "/etc/ld.so.cache", JAIL_RO);
    static const char *const devs[] = { "/dev/null", "/dev/zero", "/dev/urandom", "/dev/random" };
    for (size_t i = 0; r == 0 && i < sizeof(devs) / sizeof(devs[0]); i++)
        r = jail_plan_bind(p, devs[i], devs[i], JAIL_DEV);
    if (r == 0 && kvm)
        r = jail_plan_bind(p, "/dev/kvm", "/dev/kvm", JAIL_DEV);
    if (r == 0 && kvm && p->confine)
        r = jail_plan_device_group(p, "/dev/kvm");
    return r;
}

int jail_plan_device_group(struct jail_plan *p, const char *dev)
{
    struct stat st;
    if (stat(dev, &st) < 0)
        return -errno;
    if ((st.st_mode & (S_IRGRP | S_IWGRP)) != (S_IRGRP | S_IWGRP) || st.st_gid == 0)
        return -EACCES;
    p->has_dev_gid = true;
    p->dev_gid = st.st_gid;
    return 0;
}

static uint64_t be64(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | b[i];
    return v;
}

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Header extensions of a v3 image (they follow the 104+ byte header): an external data file
 * (0x44415441) would be opened by path, outside what we checked, so it is refused. */
static int qcow2_extensions_ok(int fd, const unsigned char *h)
{
    if (be32(h + 4) < 3)
        return 0;
    uint32_t hlen = be32(h + 100);
    if (hlen < 104 || hlen > 4096)
        return -EINVAL;
    if (be64(h + 72) & 2) /* incompatible feature bit 2: external data file */
        return -EINVAL;
    unsigned char e[8];
    uint64_t off = hlen;
    for (int i = 0; i < 64; i++) {
        if (pread(fd, e, sizeof(e), (off_t)off) != (ssize_t)sizeof(e))
            return -EINVAL;
        uint32_t type = be32(e), len = be32(e + 4);
        if (type == 0)
            return 0;
        if (type == 0x44415441u)
            return -EINVAL;
        off += 8 + (((uint64_t)len + 7) & ~7ull);
        if (off > 65536)
            return -EINVAL;
    }
    return -EINVAL;
}

int jail_qcow2_backing(const char *path, char *out, size_t len)
{
    if (len == 0)
        return -ENAMETOOLONG;
    out[0] = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    unsigned char h[104] = { 0 };
    ssize_t n = pread(fd, h, sizeof(h), 0);
    int r = 0;
    if (n < 72 || memcmp(h, "QFI\xfb", 4) != 0)
        goto out; /* not qcow2: raw, the bottom of a chain */
    if (n < 104 && be32(h + 4) >= 3) {
        r = -EINVAL;
        goto out;
    }
    if ((r = qcow2_extensions_ok(fd, h)) < 0)
        goto out;
    uint64_t off = be64(h + 8);
    uint32_t blen = be32(h + 16);
    if (off == 0 || blen == 0)
        goto out;
    if (blen > 1023) {
        r = -EINVAL;
        goto out;
    }
    if (blen >= len) {
        r = -ENAMETOOLONG;
        goto out;
    }
    if (pread(fd, out, blen, (off_t)off) != (ssize_t)blen) {
        r = -EINVAL;
        goto out;
    }
    out[blen] = 0;
    if (strlen(out) != blen)
        r = -EINVAL;
out:
    if (r < 0)
        out[0] = 0;
    close(fd);
    return r;
}

int jail_plan_chain(struct jail_plan *p, const char *top, struct herr *e)
{
    char cur[PATH_MAX], name[PATH_MAX], full[PATH_MAX], real[PATH_MAX];
    snprintf(cur, sizeof(cur), "%s", top);
    for (int depth = 0;; depth++) {
        int r = jail_qcow2_backing(cur, name, sizeof(name));
        if (r < 0)
            return herr_set(e, r, "disk layer '%s': unusable qcow2 header: %s", cur, strerror(-r));
        if (!name[0])
            return 0;
        if (depth == JAIL_CHAIN_MAX)
            return herr_set(e, -ELOOP, "disk '%s': backing chain deeper than %d", top,
                            JAIL_CHAIN_MAX);
        /* QEMU resolves a relative name against the directory of the layer naming it */
        if (name[0] != '/') {
            const char *slash = strrchr(cur, '/');
            int dl = slash ? (int)(slash - cur) : 0;
            if ((size_t)snprintf(full, sizeof(full), "%.*s/%s", dl, cur, name) >= sizeof(full))
                return herr_set(e, -ENAMETOOLONG, "disk '%s': backing name too long", cur);
        } else {
            snprintf(full, sizeof(full), "%s", name);
        }
        struct stat st;
        if (!realpath(full, real) || stat(real, &st) < 0)
            return herr_set(e, -errno, "backing file '%s' of '%s': %s", full, cur,
                            strerror(errno));
        if (!S_ISREG(st.st_mode))
            return herr_set(e, -EINVAL, "backing file '%s' of '%s' is not a regular file", full,
                            cur);
        r = jail_plan_bind(p, real, full, JAIL_RO);
        if (r < 0)
            return herr_set(e, r, "backing file '%s': cannot add it to the jail: %s", full,
                            strerror(-r));
        snprintf(cur, sizeof(cur), "%s", real);
    }
}

int jail_chown_at(const char *dir, const char *name, uid_t uid, gid_t gid)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (dfd < 0)
        return -errno;
    struct stat st;
    int r = 0;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        r = -errno;
    else if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISSOCK(st.st_mode))
        r = -EPERM;
    else if (fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
        r = -errno;
    close(dfd);
    return r;
}

/* --- the child's side: system calls and stack copies only --- */

/* Writes "hearth jail: <what> '<arg>' failed: errno <n>\n" to fd 2 and returns -err. */
static int fail(const char *what, const char *arg, int err)
{
    char line[PATH_MAX + 128], num[12];
    size_t o = 0;
    const char *parts[] = { "hearth jail: ", what, " '", arg ? arg : "", "' failed: errno " };
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        size_t n = strnlen(parts[i], sizeof(line) - 16 - o);
        memcpy(line + o, parts[i], n);
        o += n;
    }
    int d = 0, v = err;
    do {
        num[d++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && d < 11);
    while (d)
        line[o++] = num[--d];
    line[o++] = '\n';
    (void)!write(2, line, o);
    return -err;
}

/* mkdir -p of the directories above at (inside the jail's tmpfs), then the mount point
 * itself: a directory, or an empty file for a file or device bind. */
static int mount_point(const char *root, const char *at, bool dir)
{
    char p[PATH_MAX];
    size_t n = strlen(at), rl = strlen(root);
    if (n >= sizeof(p))
        return -ENAMETOOLONG;
    memcpy(p, at, n + 1);
    for (size_t i = rl + 1; i < n; i++) {
        if (p[i] != '/')
            continue;
        p[i] = 0;
        if (mkdir(p, 0755) < 0 && errno != EEXIST)
            return -errno;
        p[i] = '/';
    }
    if (dir)
        return mkdir(p, 0755) < 0 && errno != EEXIST ? -errno : 0;
    int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return errno == EISDIR ? 0 : -errno;
    close(fd);
    return 0;
}

static int enter_mounts(const struct jail_plan *p)
{
    if (unshare(CLONE_NEWNS) < 0)
        return fail("unshare(CLONE_NEWNS)", NULL, errno);
    /* nothing we mount may propagate back to the host's namespace */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        return fail("mount --make-rprivate", "/", errno);
    if (mount("hearth-jail", p->root, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "size=1m,nr_inodes=4096,mode=0755") < 0)
        return fail("mount tmpfs", p->root, errno);
    for (size_t i = 0; i < p->n_binds; i++) {
        const struct jail_bind *b = &p->binds[i];
        bool dir = b->flags & JAIL_DIR;
        int r = mount_point(p->root, b->at, dir);
        if (r < 0)
            return fail("mount point", b->at, -r);
        if (mount(b->src, b->at, NULL, MS_BIND | ((b->flags & JAIL_REC) ? MS_REC : 0), NULL) < 0)
            return fail("bind mount", b->src, errno);
        unsigned long fl = MS_BIND | MS_REMOUNT | MS_NOSUID;
        fl |= (b->flags & JAIL_RO) ? MS_RDONLY : 0;
        fl |= (b->flags & JAIL_DEV) ? 0 : MS_NODEV;
        fl |= (b->flags & (JAIL_EXEC | JAIL_DEV)) ? 0 : MS_NOEXEC;
        if (mount(NULL, b->at, NULL, fl, NULL) < 0)
            return fail("remount bind", b->at, errno);
    }
    for (size_t i = 0; i < p->n_links; i++)
        if (symlink(p->links[i][1], p->links[i][0]) < 0)
            return fail("symlink", p->links[i][0], errno);
    /* pivot_root(".", "."): the old root ends up on top of the new one, then goes */
    if (chdir(p->root) < 0)
        return fail("chdir", p->root, errno);
    if (syscall(SYS_pivot_root, ".", ".") < 0)
        return fail("pivot_root", p->root, errno);
    if (umount2(".", MNT_DETACH) < 0)
        return fail("umount old root", NULL, errno);
    if (chdir("/") < 0)
        return fail("chdir", "/", errno);
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
              NULL) < 0)
        return fail("remount read-only", "/", errno);
    return 0;
}

static int drop_privileges(const struct jail_plan *p)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return fail("prctl(PR_SET_NO_NEW_PRIVS)", NULL, errno);
    /* the bounding set first: dropping it needs CAP_SETPCAP, which setuid takes away */
    for (unsigned c = 0; c < (unsigned)cap_max_bits(); c++)
        if (CAP_IS_SUPPORTED(c) && cap_drop_bound((cap_value_t)c) < 0)
            return fail("drop bounding capability", NULL, errno);
    if (cap_reset_ambient() < 0 && errno != EINVAL)
        return fail("clear ambient capabilities", NULL, errno);
    /* no supplementary group but the device's (KVM), which only grants opening /dev/kvm */
    if (setgroups(p->has_dev_gid ? 1 : 0, p->has_dev_gid ? &p->dev_gid : NULL) < 0)
        return fail("setgroups", NULL, errno);
    if (setresgid(p->gid, p->gid, p->gid) < 0)
        return fail("setresgid", NULL, errno);
    /* leaving uid 0 for good clears permitted and effective (no SECBIT_KEEP_CAPS) */
    if (setresuid(p->uid, p->uid, p->uid) < 0)
        return fail("setresuid", NULL, errno);
    cap_t none = cap_init(); /* all clear, inheritable included */
    if (!none || cap_set_proc(none) < 0) {
        int err = none ? errno : ENOMEM;
        cap_free(none);
        return fail("clear capabilities", NULL, err);
    }
    cap_free(none);
    return 0;
}

int jail_enter(const struct jail_plan *p)
{
    /* "0" is the writer itself: QEMU is in its cgroups before its first instruction */
    for (size_t i = 0; i < p->n_cg; i++)
        if (write(p->cg_fds[i], "0", 1) != 1)
            return fail("join cgroup", NULL, errno);
    if (!p->confine)
        return 0;
    int r = enter_mounts(p);
    if (r == 0)
        r = drop_privileges(p);
    return r;
}

/* --- hearthd's own bounding set --- */

/* What hearthd does with each (docs/security.md keeps the same table). */
static const cap_value_t daemon_caps[] = {
    CAP_SYS_ADMIN,        /* QEMU's mount namespace, pivot_root; network namespaces */
    CAP_NET_ADMIN,        /* taps, veths, routes, nftables */
    CAP_NET_BIND_SERVICE, /* the sandboxes' DNS on port 53; an API port below 1024 */
    CAP_SETUID,           /* QEMU's jail uid */
    CAP_SETGID,           /* its gid, no supplementary groups */
    CAP_SETPCAP,          /* emptying QEMU's bounding set */
    CAP_CHOWN,            /* run dirs and disk layers to the jail uid, snapshots back */
    CAP_FOWNER,           /* making a QEMU-written snapshot file readable for a clone */
    CAP_DAC_OVERRIDE,     /* run dirs owned by jail uids (0700): logs, sockets, removal */
    CAP_KILL,             /* signals to QEMUs of other uids */
    CAP_SYS_RESOURCE,     /* RLIMIT_NOFILE above the hard limit */
};

int jail_daemon_bounding(void)
{
    int n = 0;
    for (unsigned c = 0; c < (unsigned)cap_max_bits(); c++) {
        bool keep = false;
        for (size_t i = 0; i < sizeof(daemon_caps) / sizeof(daemon_caps[0]); i++)
            keep |= daemon_caps[i] == (cap_value_t)c;
        if (keep || !CAP_IS_SUPPORTED(c) || cap_get_bound((cap_value_t)c) != 1)
            continue;
        if (cap_drop_bound((cap_value_t)c) < 0)
            return -errno;
        n++;
    }
    /* and hearthd's own sets: permitted and effective hold only those it needs (the ones it
     * lacks stay lacking), inheritable nothing */
    cap_t now = cap_get_proc(), want = cap_init();
    int r = 0;
    if (!now || !want) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < sizeof(daemon_caps) / sizeof(daemon_caps[0]); i++) {
        cap_flag_value_t had = CAP_CLEAR;
        if (cap_get_flag(now, daemon_caps[i], CAP_PERMITTED, &had) == 0 && had == CAP_SET) {
            cap_value_t v = daemon_caps[i];
            if (cap_set_flag(want, CAP_PERMITTED, 1, &v, CAP_SET) < 0 ||
                cap_set_flag(want, CAP_EFFECTIVE, 1, &v, CAP_SET) < 0) {
                r = -errno;
                goto out;
            }
        }
    }
    if (cap_set_proc(want) < 0)
        r = -errno;
out:
    if (now)
        cap_free(now);
    if (want)
        cap_free(want);
    return r < 0 ? r : n;
}

void jail_daemon_caps(char *out, size_t len)
{
    size_t o = 0;
    if (len)
        out[0] = 0;
    for (size_t i = 0; i < sizeof(daemon_caps) / sizeof(daemon_caps[0]) && o < len; i++) {
        char *name = cap_to_name(daemon_caps[i]);
        int w = snprintf(out + o, len - o, "%s%s", i ? " " : "", name ? name : "?");
        cap_free(name);
        if (w < 0)
            break;
        o += (size_t)w;
    }
}
