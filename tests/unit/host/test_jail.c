/* SPDX-License-Identifier: MIT */
/* test_jail.c: the pure and file-level parts of host/jail.h: the uid pick (range checks,
 * stability, probing past taken uids), the qcow2 backing reader on real qemu-img layers and
 * on hostile headers (external data files, oversized or NUL-holding names, truncation), the
 * plan's path rules, and the chown that never follows a symlink. jail_enter() itself runs in
 * the VM tests (tests/api/test_sandboxes_vm.c vm_jail). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/herr.h"
#include "daemon/host/jail.h"
#include "harness.h"

static bool taken_below(void *ud, uint32_t uid)
{
    return uid < *(uint32_t *)ud;
}

static bool all_taken(void *ud, uint32_t uid)
{
    return true;
}

TEST(uid_pick)
{
    uint32_t a, b;
    CHECK_EQ(jail_uid_pick(200000, 65536, "sb-01ABC", NULL, NULL, &a), 0);
    CHECK(a >= 200000 && a < 200000 + 65536);
    CHECK_EQ(jail_uid_pick(200000, 65536, "sb-01ABC", NULL, NULL, &b), 0);
    CHECK_EQ(a, b); /* the same id, the same uid */
    CHECK_EQ(jail_uid_pick(200000, 65536, "sb-01ABD", NULL, NULL, &b), 0);
    CHECK(a != b);
    /* one uid in the range: always it; every uid taken: EBUSY */
    CHECK_EQ(jail_uid_pick(5000, 1, "x", NULL, NULL, &a), 0);
    CHECK_EQ(a, 5000);
    CHECK_EQ(jail_uid_pick(5000, 16, "x", all_taken, NULL, &a), -EBUSY);
    /* probing wraps inside the range */
    uint32_t floor = 5015;
    CHECK_EQ(jail_uid_pick(5000, 16, "x", taken_below, &floor, &a), 0);
    CHECK_EQ(a, 5015);
    CHECK_EQ(jail_uid_pick(0, 100, "x", NULL, NULL, &a), -EINVAL);   /* root's neighbourhood */
    CHECK_EQ(jail_uid_pick(999, 100, "x", NULL, NULL, &a), -EINVAL);
    CHECK_EQ(jail_uid_pick(200000, 0, "x", NULL, NULL, &a), -EINVAL);
    CHECK_EQ(jail_uid_pick(UINT32_MAX - 10, 100, "x", NULL, NULL, &a), -EINVAL);
    CHECK_EQ(jail_uid_pick(200000, 10, NULL, NULL, NULL, &a), -EINVAL);
}

static void put_be32(unsigned char *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[i] = (unsigned char)(v >> (24 - 8 * i));
}

static void put_be64(unsigned char *b, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(v >> (56 - 8 * i));
}

/* A v3 qcow2 header (what the reader looks at) with backing name at 512, extensions after. */
static void write_header(const char *path, const char *backing, uint32_t blen, uint64_t incompat,
                         uint32_t ext_type)
{
    unsigned char h[1024] = { 0 };
    memcpy(h, "QFI\xfb", 4);
    put_be32(h + 4, 3);
    if (backing) {
        put_be64(h + 8, 512);
        put_be32(h + 16, blen);
        memcpy(h + 512, backing, strlen(backing) + 1);
    }
    put_be64(h + 72, incompat);
    put_be32(h + 100, 112);
    if (ext_type) {
        put_be32(h + 112, ext_type);
        put_be32(h + 116, 4);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, h, sizeof(h)), (ssize_t)sizeof(h));
    close(fd);
}

TEST(qcow2_backing)
{
    char dir[] = "/tmp/hearth-jail-XXXXXX", p[PATH_MAX], out[PATH_MAX];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(p, sizeof(p), "%s/l.qcow2", dir);
    write_header(p, "/images/minimal.ext4", 20, 0, 0);
    CHECK_EQ(jail_qcow2_backing(p, out, sizeof(out)), 0);
    CHECK_STR(out, "/images/minimal.ext4");
    CHECK_EQ(jail_qcow2_backing(p, out, 10), -ENAMETOOLONG);
    write_header(p, NULL, 0, 0, 0); /* no backing */
    CHECK_EQ(jail_qcow2_backing(p, out, sizeof(out)), 0);
    CHECK_STR(out, "");
    write_header(p, "/a\0/etc/shadow", 14, 0, 0); /* a NUL inside the name */
    CHECK_EQ(jail_qcow2_backing(p, out, sizeof(out)), -EINVAL);
    write_header(p, "/a", 4000, 0, 0); /* over 1023 bytes */
    CHECK_EQ(jail_qcow2_backing(p, out, sizeof(out)), -EINVAL);
    write_header(p, "/a", 2, 2, 0); /* incompatible bit: external data file */
    CHECK_EQ(jail_qcow2_backing(p, out, sizeof(out)), -EINVAL);
    write_header(p, "/a", 2, 0, 0x44415441u); /* the data-file header extension */
    CHECK_EQ(jail_qcow2_backing(p, out, sizeof(out)), -EINVAL);
    write_header(p, "/a", 2, 0, 0x6803f857u); /* a feature table, then the end: fine */
    CHECK_EQ(jail_qcow2_backing(p, out, sizeof(out)), 0);
    CHECK_STR(out, "/a");
    /* not qcow2 (a raw image): the bottom of a chain; a truncated header too */
    int fd = open(p, O_WRONLY | O_TRUNC);
    CHECK_EQ(write(fd, "QFI\xfb\0\0\0\3", 8), 8);
    close(fd);
    CHECK_EQ(jail_qcow2_backing(p, out, sizeof(out)), 0);
    CHECK_STR(out, "");
    fd = open(p, O_WRONLY | O_TRUNC);
    CHECK_EQ(write(fd, "hsqs raw bytes", 14), 14);
    close(fd);
    CHECK_EQ(jail_qcow2_backing(p, out, sizeof(out)), 0);
    CHECK_STR(out, "");
    /* a symlink is not followed */
    char l[PATH_MAX];
    snprintf(l, sizeof(l), "%s/link", dir);
    CHECK(symlink(p, l) == 0);
    CHECK_EQ(jail_qcow2_backing(l, out, sizeof(out)), -ELOOP);
    CHECK_EQ(jail_qcow2_backing("/no/such/file", out, sizeof(out)), -ENOENT);
    /* a real layer from qemu-img, and a chain of two over a raw file */
    char raw[PATH_MAX], top[PATH_MAX], mid[PATH_MAX];
    snprintf(raw, sizeof(raw), "%s/raw.img", dir);
    snprintf(mid, sizeof(mid), "%s/mid.qcow2", dir);
    snprintf(top, sizeof(top), "%s/top.qcow2", dir);
    fd = open(raw, O_WRONLY | O_CREAT, 0644);
    CHECK(fd >= 0 && ftruncate(fd, 1 << 20) == 0);
    close(fd);
    char cmd[4 * PATH_MAX];
    snprintf(cmd, sizeof(cmd), "qemu-img create -q -f qcow2 -F raw -b %s %s && "
             "qemu-img create -q -f qcow2 -F qcow2 -b mid.qcow2 %s", raw, mid, top);
    if (system(cmd) != 0)
        harness_skip("qemu-img is missing");
    CHECK_EQ(jail_qcow2_backing(mid, out, sizeof(out)), 0);
    CHECK_STR(out, raw);
    struct jail_plan *pl = jail_plan_new(true, 300000, 300000, "/r");
    CHECK(pl != NULL);
    struct herr e = { 0 };
    CHECK_EQ(jail_plan_chain(pl, top, &e), 0);
    CHECK_EQ(pl->n_binds, 2);
    char want[PATH_MAX + 8];
    snprintf(want, sizeof(want), "/r%s", mid); /* a relative name, resolved by its layer */
    CHECK_STR(pl->binds[0].at, want);
    CHECK_STR(pl->binds[1].src, raw);
    CHECK(pl->binds[1].flags & JAIL_RO);
    jail_plan_free(pl);
    /* a backing that is a directory is refused */
    write_header(p, dir, (uint32_t)strlen(dir), 0, 0);
    pl = jail_plan_new(true, 300000, 300000, "/r");
    herr_clear(&e);
    CHECK_EQ(jail_plan_chain(pl, p, &e), -EINVAL);
    CHECK(strstr(e.msg, "not a regular file") != NULL);
    jail_plan_free(pl);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK_EQ(system(cmd), 0);
}

TEST(plan_paths)
{
    struct jail_plan *p = jail_plan_new(true, 300000, 300000, "/run/x/jail");
    CHECK(p != NULL);
    CHECK_EQ(jail_plan_bind(p, "/usr", "/usr", JAIL_RO | JAIL_DIR), 0);
    CHECK_EQ(jail_plan_bind(p, "/usr", "/usr", JAIL_RO | JAIL_DIR), 0); /* once */
    CHECK_EQ(p->n_binds, 1);
    CHECK_STR(p->binds[0].at, "/run/x/jail/usr");
    static const char *const bad[] = { "relative", "/", "/a/../etc", "/a/./b", "/a/..", NULL };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_EQ(jail_plan_bind(p, "/src", bad[i], 0), -EINVAL);
    CHECK_EQ(jail_plan_bind(p, "relative", "/x", 0), -EINVAL);
    CHECK_EQ(jail_plan_bind(p, NULL, "/x", 0), -EINVAL);
    char path[32];
    int r = 0;
    for (int i = 0; i < JAIL_BINDS_MAX + 1 && r == 0; i++) {
        snprintf(path, sizeof(path), "/f%d", i);
        r = jail_plan_bind(p, "/src", path, 0);
    }
    CHECK_EQ(r, -E2BIG);
    jail_plan_free(p);
    /* the system paths of this host: /usr, and /lib as a link or a bind */
    p = jail_plan_new(true, 300000, 300000, "/j");
    CHECK_EQ(jail_plan_system(p, false), 0);
    CHECK_STR(p->binds[0].at, "/j/usr");
    bool dev_null = false, kvm = false;
    for (size_t i = 0; i < p->n_binds; i++) {
        dev_null |= strcmp(p->binds[i].at, "/j/dev/null") == 0;
        kvm |= strcmp(p->binds[i].at, "/j/dev/kvm") == 0;
    }
    CHECK(dev_null && !kvm);
    jail_plan_free(p);
    jail_plan_free(NULL);
    /* off: no root, only cgroups */
    p = jail_plan_new(false, 0, 0, NULL);
    CHECK(p != NULL && !p->confine && p->root == NULL);
    CHECK_EQ(jail_enter(p), 0); /* nothing to join, nothing to enter */
    jail_plan_free(p);
}

/* KVM under the jail: QEMU gets /dev/kvm's group only when that group may read and write the
 * node; a root-only node (0600) or a root-group one is refused with -EACCES, never opened up. */
TEST(device_group)
{
    char dir[] = "/tmp/hearth-jaild-XXXXXX", dev[PATH_MAX];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(dev, sizeof(dev), "%s/kvm", dir);
    int fd = open(dev, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    close(fd);
    struct jail_plan *p = jail_plan_new(true, 300000, 300000, "/j");
    CHECK(p != NULL);
    CHECK_EQ(chown(dev, 0, 4242), 0);
    CHECK_EQ(jail_plan_device_group(p, dev), -EACCES); /* 0600 */
    CHECK(!p->has_dev_gid);
    CHECK_EQ(chmod(dev, 0640), 0);
    CHECK_EQ(jail_plan_device_group(p, dev), -EACCES); /* the group may not write */
    CHECK_EQ(chmod(dev, 0660), 0);
    CHECK_EQ(jail_plan_device_group(p, dev), 0);
    CHECK(p->has_dev_gid && p->dev_gid == 4242);
    struct jail_plan *q = jail_plan_new(true, 300000, 300000, "/j");
    CHECK_EQ(chown(dev, 0, 0), 0);
    CHECK_EQ(jail_plan_device_group(q, dev), -EACCES); /* root's group: never given */
    CHECK_EQ(jail_plan_device_group(q, "/nonexistent/kvm"), -ENOENT);
    jail_plan_free(q);
    jail_plan_free(p);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK_EQ(system(cmd), 0);
}

TEST(chown_at)
{
    char dir[] = "/tmp/hearth-jailc-XXXXXX", p[PATH_MAX];
    CHECK(mkdtemp(dir) != NULL);
    snprintf(p, sizeof(p), "%s/f", dir);
    CHECK(close(open(p, O_CREAT | O_WRONLY, 0600)) == 0);
    CHECK_EQ(jail_chown_at(dir, "f", 300001, 300001), 0);
    struct stat st;
    CHECK(stat(p, &st) == 0 && st.st_uid == 300001 && st.st_gid == 300001);
    /* a symlink to a host file is refused and the file untouched */
    char t[PATH_MAX];
    snprintf(t, sizeof(t), "%s/target", dir);
    CHECK(close(open(t, O_CREAT | O_WRONLY, 0600)) == 0);
    snprintf(p, sizeof(p), "%s/l", dir);
    CHECK(symlink(t, p) == 0);
    CHECK_EQ(jail_chown_at(dir, "l", 300001, 300001), -EPERM);
    CHECK(stat(t, &st) == 0 && st.st_uid == 0);
    CHECK_EQ(jail_chown_at(dir, "none", 300001, 300001), -ENOENT);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK_EQ(system(cmd), 0);
}

/* jail_enter() in a child with confine false and one "cgroup.procs" stand-in: it writes "0". */
TEST(enter_joins)
{
    char path[] = "/tmp/hearth-jailp-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    struct jail_plan *p = jail_plan_new(false, 0, 0, NULL);
    p->cg_fds[0] = fd;
    p->n_cg = 1;
    pid_t pid = fork();
    if (pid == 0)
        _exit(jail_enter(p) == 0 ? 0 : 1);
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    char buf[4] = { 0 };
    CHECK_EQ(pread(fd, buf, sizeof(buf), 0), 1);
    CHECK_STR(buf, "0");
    jail_plan_free(p); /* closes fd */
    unlink(path);
}
