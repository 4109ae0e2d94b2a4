/* SPDX-License-Identifier: MIT */
/* test_confine_vm.c: QEMU's confinement on real microVMs through `hearthd serve`
 * (docs/security.md): a sandbox's QEMU runs as a uid of the jail range with no capabilities,
 * NoNewPrivs and a seccomp filter, sees only its jail (mountinfo), sits in its own cgroup on
 * every hierarchy (v1 or v2, whatever this host has) with the memory, CPU and pids limits of
 * its shape, and stays so through pause, resume, fork and an adopt after kill -9 of hearthd;
 * destroy removes its cgroups. A fork bomb as guest root stops at the guest's pids.max while
 * the sandbox and a neighbour keep answering. `jail = off` runs QEMU as root. */
#include "apitest.h"
#include "vmfx.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/host/cgroup.h"

#define COLD "golden_snapshots = off\n"
#define SHAPE "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"minimal\"}"

static bool read_file(const char *path, char *out, size_t len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, out, len - 1);
    close(fd);
    out[n > 0 ? n : 0] = 0;
    return n >= 0;
}

static int qemu_pid(struct vfx *f, const char *id)
{
    char p[512], buf[64];
    snprintf(p, sizeof(p), "%s/vms/%s/qemu.pid", f->s.data, id);
    return read_file(p, buf, sizeof(buf)) ? atoi(buf) : 0;
}

/* The value after "<key>:\t" in /proc/<pid>/status ("" when absent). */
static const char *status_field(int pid, const char *key, char *out, size_t len)
{
    char p[64], buf[8192], k[64];
    snprintf(p, sizeof(p), "/proc/%d/status", pid);
    out[0] = 0;
    if (!read_file(p, buf, sizeof(buf)))
        return out;
    snprintf(k, sizeof(k), "\n%s:", key);
    const char *s = strstr(buf, k);
    if (s) {
        s += strlen(k);
        s += strspn(s, " \t");
        snprintf(out, len, "%.*s", (int)strcspn(s, "\n"), s);
    }
    return out;
}

static bool wait_for(struct vfx *f, const char *id, const char *want)
{
    char st[32];
    for (int i = 0; i < 6000; i++) {
        if (strcmp(status_of(f, id, st), want) == 0)
            return true;
        usleep(10 * 1000);
    }
    harness_fail(__FILE__, __LINE__, "%s is %s, want %s", id, st, want);
    return false;
}

static bool post_op(struct vfx *f, const char *id, const char *what, int want, char *ret_child);

/* POST …/<what> (pause or resume: 202), then wait for the status it leads to. */
static bool op_wait(struct vfx *f, const char *id, const char *what, const char *until)
{
    return post_op(f, id, what, 202, NULL) && wait_for(f, id, until);
}

static bool post_op(struct vfx *f, const char *id, const char *what, int want, char *ret_child)
{
    char t[160];
    struct hresp r;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/%s", id, what);
    REQUIRE(call(f, "POST", t, strcmp(what, "fork") == 0 ? "{}" : NULL, want, &r));
    if (ret_child)
        snprintf(ret_child, 64, "%s", jstr(r.json, "data.id") ? jstr(r.json, "data.id") : "");
    hresp_free(&r);
    return true;
}

/* The QEMU of id is jailed: an unprivileged uid of the range, nothing else. Its uid in *uid. */
static void check_jailed(struct vfx *f, const char *id, unsigned *uid)
{
    int pid = qemu_pid(f, id);
    CHECK(pid > 0);
    char v[256];
    unsigned u = (unsigned)strtoul(status_field(pid, "Uid", v, sizeof(v)), NULL, 10);
    CHECK(u >= 200000 && u < 200000 + 65536);
    if (uid)
        *uid = u;
    char want[64];
    snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", u, u, u, u);
    CHECK_STR(status_field(pid, "Uid", v, sizeof(v)), want);
    CHECK_STR(status_field(pid, "Gid", v, sizeof(v)), want);
    CHECK_STR(status_field(pid, "Groups", v, sizeof(v)), "");
    CHECK_STR(status_field(pid, "CapEff", v, sizeof(v)), "0000000000000000");
    CHECK_STR(status_field(pid, "CapPrm", v, sizeof(v)), "0000000000000000");
    CHECK_STR(status_field(pid, "CapInh", v, sizeof(v)), "0000000000000000");
    CHECK_STR(status_field(pid, "CapBnd", v, sizeof(v)), "0000000000000000");
    CHECK_STR(status_field(pid, "CapAmb", v, sizeof(v)), "0000000000000000");
    CHECK_STR(status_field(pid, "NoNewPrivs", v, sizeof(v)), "1");
    CHECK_STR(status_field(pid, "Seccomp", v, sizeof(v)), "2");
    /* its root is the jail's tmpfs; every other mount is one of the few it may see */
    char p[64], mi[16384];
    snprintf(p, sizeof(p), "/proc/%d/mountinfo", pid);
    CHECK(read_file(p, mi, sizeof(mi)));
    char run_dir[512];
    snprintf(run_dir, sizeof(run_dir), "%s/vms/%s", f->s.data, id);
    int mounts = 0;
    for (char *line = strtok(mi, "\n"); line; line = strtok(NULL, "\n")) {
        char root[1024], at[1024];
        if (sscanf(line, "%*s %*s %*s %1023s %1023s", root, at) != 2)
            continue;
        mounts++;
        if (strcmp(at, "/") == 0) {
            CHECK(strstr(line, " - tmpfs hearth-jail ") != NULL);
            CHECK(strstr(line, " / / ro,") != NULL);
            continue;
        }
        bool ok = strcmp(at, "/usr") == 0 || strcmp(at, "/etc/ld.so.cache") == 0 ||
                  strncmp(at, "/dev/", 5) == 0 || strcmp(at, run_dir) == 0 ||
                  strstr(at, "/vmlinux") || strstr(at, ".ext4") || strstr(at, "disk.qcow2") ||
                  strstr(at, "/mem");
        if (!ok)
            harness_fail(__FILE__, __LINE__, "qemu %d sees '%s'", pid, at);
        /* nothing but its run dir and device nodes is writable */
        if (strcmp(at, run_dir) != 0 && strncmp(at, "/dev/", 5) != 0)
            CHECK(strstr(line, " ro,") != NULL);
    }
    CHECK(mounts >= 6 && mounts < 40);
}

/* id's cgroup directories exist on every hierarchy of l, hold QEMU, and carry its limits. */
static void check_cgroup(const struct cgroup_layout *l, const char *id, int pid, bool present)
{
    char dir[PATH_MAX], p[PATH_MAX + 32], v[4096], want[64];
    for (int c = 0; c < CGROUP_CTRL_COUNT; c++) {
        if (cgroup_layout_dir(l, (enum cgroup_ctrl)c, id, dir, sizeof(dir)) < 0)
            continue;
        if (!present) {
            CHECK(access(dir, F_OK) != 0);
            continue;
        }
        snprintf(p, sizeof(p), "%s/cgroup.procs", dir);
        CHECK(read_file(p, v, sizeof(v)));
        snprintf(want, sizeof(want), "%d\n", pid);
        CHECK(strncmp(v, want, strlen(want)) == 0 || strstr(v, want));
    }
    if (!present)
        return;
    /* /proc/<pid>/cgroup names the VM's cgroup on each line we use */
    snprintf(p, sizeof(p), "/proc/%d/cgroup", pid);
    CHECK(read_file(p, v, sizeof(v)));
    snprintf(want, sizeof(want), "/%s\n", id);
    CHECK(strstr(v, want) != NULL);
    static const struct { enum cgroup_ctrl c; const char *file, *want; } v1[] = {
        { CGROUP_CTRL_MEMORY, "memory.limit_in_bytes", "536870912\n" }, /* 256 + 256 MiB */
        { CGROUP_CTRL_CPU, "cpu.cfs_quota_us", "150000\n" },           /* 1 vCPU + 50 % */
        { CGROUP_CTRL_CPU, "cpu.cfs_period_us", "100000\n" },
        { CGROUP_CTRL_PIDS, "pids.max", "256\n" },
    }, v2[] = {
        { CGROUP_CTRL_MEMORY, "memory.max", "536870912\n" },
        { CGROUP_CTRL_CPU, "cpu.max", "150000 100000\n" },
        { CGROUP_CTRL_PIDS, "pids.max", "256\n" },
    };
    bool is_v1 = l->kind == CGROUP_V1;
    size_t n = is_v1 ? sizeof(v1) / sizeof(v1[0]) : sizeof(v2) / sizeof(v2[0]);
    for (size_t i = 0; i < n; i++) {
        const char *file = is_v1 ? v1[i].file : v2[i].file;
        if (cgroup_layout_dir(l, is_v1 ? v1[i].c : v2[i].c, id, dir, sizeof(dir)) < 0)
            continue;
        snprintf(p, sizeof(p), "%s/%s", dir, file);
        if (read_file(p, v, sizeof(v)))
            CHECK_STR(v, is_v1 ? v1[i].want : v2[i].want);
    }
    /* the disk I/O throttle (vm_io_bps, vm_io_iops defaults) on the disk holding the run dirs
     * (the test's data dir is under /tmp); none when that is not a block device */
    char disk[24], io_want[96];
    if (cgroup_disk_of("/tmp", disk) == 0) {
        bool is_v1_io = l->kind == CGROUP_V1;
        if (cgroup_layout_dir(l, is_v1_io ? CGROUP_CTRL_BLKIO : CGROUP_CTRL_CPU, id, dir,
                              sizeof(dir)) == 0) {
            snprintf(p, sizeof(p), "%s/%s", dir,
                     is_v1_io ? "blkio.throttle.write_bps_device" : "io.max");
            snprintf(io_want, sizeof(io_want),
                     is_v1_io ? "%s 268435456\n" : "%s rbps=268435456 wbps=268435456 "
                                                  "riops=8192 wiops=8192\n", disk);
            if (read_file(p, v, sizeof(v)))
                CHECK_STR(v, io_want);
        }
    }
    /* QEMU's threads count against pids.max: a handful, far below it */
    struct cgroup_stats st;
    CHECK_EQ(cgroup_layout_stats(l, id, &st), 0);
    if (st.pids_current != UINT64_MAX)
        CHECK(st.pids_current >= 2 && st.pids_current < 256);
    if (st.memory_current != UINT64_MAX)
        CHECK(st.memory_current > (16u << 20) && st.memory_current <= 536870912u);
    if (st.cpu_usage_ns != UINT64_MAX)
        CHECK(st.cpu_usage_ns > 0);
}

/* hearthd itself holds exactly its 11 capabilities (docs/security.md "hearthd's capabilities"):
 * CHOWN, DAC_OVERRIDE, FOWNER, KILL, SETGID, SETUID, SETPCAP, NET_BIND_SERVICE, NET_ADMIN,
 * SYS_ADMIN, SYS_RESOURCE, in its effective, permitted and bounding sets. */
static void check_daemon_caps(pid_t pid)
{
    char p[64], st[8192], self[8192], want[32];
    snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
    CHECK(read_file(p, st, sizeof(st)));
    /* what this machine allows at all (a container may lack some, e.g. CAP_SYS_RESOURCE) */
    CHECK(read_file("/proc/self/status", self, sizeof(self)));
    const char *bnd = strstr(self, "CapBnd:\t");
    unsigned long long allowed = bnd ? strtoull(bnd + 8, NULL, 16) : ~0ull;
    snprintf(want, sizeof(want), "%016llx\n", 0x12015ebull & allowed);
    static const char *const fields[] = { "CapEff:\t", "CapPrm:\t", "CapBnd:\t" };
    for (size_t i = 0; i < 3; i++) {
        const char *v = strstr(st, fields[i]);
        CHECK(v != NULL);
        if (v && strncmp(v + strlen(fields[i]), want, 17) != 0)
            harness_fail(__FILE__, __LINE__, "hearthd %.24s, want %s", v, want);
    }
    const char *inh = strstr(st, "CapInh:\t");
    CHECK(inh && strncmp(inh + 8, "0000000000000000\n", 17) == 0);
}

static void vm_jail_body(struct vfx *f, const struct cgroup_layout *l)
{
    char a[64], b[64], child[64], out[256];
    unsigned ua = 0, ub = 0;
    check_daemon_caps(f->s.pid);
    CHECK(create(f, SHAPE, a));
    CHECK(create(f, SHAPE, b));
    check_jailed(f, a, &ua);
    check_jailed(f, b, &ub);
    CHECK(ua != ub); /* one uid per sandbox */
    check_cgroup(l, a, qemu_pid(f, a), true);
    CHECK(exec_stdout(f, a, "{\"cmd\":\"sh\",\"args\":[\"-c\",\"echo hi > /root/f; cat /root/f\"]}",
                      out, sizeof(out)));
    CHECK_STR(out, "hi\n");
    /* pause and resume: the snapshot taken from a jailed QEMU restores into a new jail */
    CHECK(op_wait(f, a, "pause", "paused"));
    check_cgroup(l, a, 0, false); /* QEMU gone: its cgroups too */
    CHECK(op_wait(f, a, "resume", "running"));
    check_jailed(f, a, NULL);
    check_cgroup(l, a, qemu_pid(f, a), true);
    CHECK(exec_stdout(f, a, "{\"cmd\":\"cat\",\"args\":[\"/root/f\"]}", out, sizeof(out)));
    CHECK_STR(out, "hi\n");
    /* a fork restores the paused source's snapshot as a shared base: its RAM copied, its
     * disk read-only in the child's jail */
    CHECK(op_wait(f, a, "pause", "paused"));
    CHECK(post_op(f, a, "fork", 200, child));
    CHECK(wait_for(f, child, "running"));
    CHECK(op_wait(f, a, "resume", "running"));
    check_jailed(f, child, NULL);
    check_cgroup(l, child, qemu_pid(f, child), true);
    CHECK(exec_stdout(f, child, "{\"cmd\":\"cat\",\"args\":[\"/root/f\"]}", out, sizeof(out)));
    CHECK_STR(out, "hi\n");
    /* kill -9 of hearthd: the jailed QEMUs are adopted, their cgroups kept */
    int pa = qemu_pid(f, a);
    CHECK(crash_restart(f));
    CHECK(wait_for(f, a, "running"));
    CHECK_EQ(qemu_pid(f, a), pa);
    check_cgroup(l, a, pa, true);
    CHECK(exec_stdout(f, a, "{\"cmd\":\"cat\",\"args\":[\"/root/f\"]}", out, sizeof(out)));
    CHECK_STR(out, "hi\n");
    /* destroy removes every cgroup */
    CHECK(destroy(f, a));
    CHECK(destroy(f, b));
    CHECK(destroy(f, child));
    for (int i = 0; i < 50; i++) {
        char d[PATH_MAX];
        if (cgroup_layout_dir(l, CGROUP_CTRL_PIDS, a, d, sizeof(d)) < 0 || access(d, F_OK) != 0)
            break;
        usleep(100 * 1000);
    }
    check_cgroup(l, a, 0, false);
    check_cgroup(l, b, 0, false);
    check_cgroup(l, child, 0, false);
}

TEST_SLOW(vm_jail, 400)
{
    if (geteuid() != 0)
        harness_skip("the jail needs root");
    char root[128], conf[256], note[512];
    snprintf(root, sizeof(root), "/sys/fs/cgroup/hearth-test-%d", (int)getpid());
    struct cgroup_layout l;
    CHECK_EQ(cgroup_detect(root, &l, note, sizeof(note)), 0);
    if (l.kind == CGROUP_NONE) /* no cgroup here: look for the v2 part of a hybrid layout */
        snprintf(root, sizeof(root), "/sys/fs/cgroup/unified/hearth-test-%d", (int)getpid());
    CHECK_EQ(cgroup_detect(root, &l, note, sizeof(note)), 0);
    snprintf(conf, sizeof(conf), "cgroup_root = %s\n" COLD, root);
    struct vfx f;
    if (vfx_start_conf(&f, conf))
        vm_jail_body(&f, &l);
    vfx_end(&f);
    (void)cgroup_layout_prune(&l, NULL, NULL);
    for (int c = 0; c < CGROUP_CTRL_COUNT; c++)
        if (l.root[c][0])
            (void)rmdir(l.root[c]);
}

/* A fork bomb as guest root: the user cgroup's pids.max stops it; exec still answers in the
 * same sandbox and in a neighbour, and the host's QEMU is unharmed. */
static void vm_fork_bomb_body(struct vfx *f)
{
    char a[64], b[64], out[512];
    CHECK(create(f, SHAPE, a));
    CHECK(create(f, SHAPE, b));
    int pa = qemu_pid(f, a);
    struct hresp r;
    CHECK(exec_json(f, a, "{\"cmd\":\"sh\",\"args\":[\"-c\",\"bomb() { bomb | bomb & }; bomb\"],"
                          "\"timeout_ms\":5000}", 200, &r));
    hresp_free(&r);
    /* the limit was hit (forks refused) and the guest answers at once */
    CHECK(exec_stdout(f, a, "{\"cmd\":\"sh\",\"args\":[\"-c\",\"cat "
                            "/sys/fs/cgroup/hearth-user/pids.max; grep -c . "
                            "/sys/fs/cgroup/hearth-user/pids.events\"]}", out, sizeof(out)));
    CHECK(strncmp(out, "256\n", 4) == 0);
    CHECK(exec_stdout(f, a, "{\"cmd\":\"sh\",\"args\":[\"-c\",\"sed -n 's/^max //p' "
                            "/sys/fs/cgroup/hearth-user/pids.events\"]}", out, sizeof(out)));
    CHECK(strtol(out, NULL, 10) > 0);
    /* whatever the bomb left is killed with its process group at the timeout; let it drain */
    for (int i = 0; i < 100; i++) {
        CHECK(exec_stdout(f, a, "{\"cmd\":\"cat\",\"args\":[\"/sys/fs/cgroup/hearth-user/"
                                "pids.current\"]}", out, sizeof(out)));
        if (strtol(out, NULL, 10) <= 2)
            break;
        usleep(100 * 1000);
    }
    CHECK(strtol(out, NULL, 10) <= 2);
    CHECK(exec_stdout(f, a, "{\"cmd\":\"echo\",\"args\":[\"alive\"]}", out, sizeof(out)));
    CHECK_STR(out, "alive\n");
    CHECK(exec_stdout(f, b, "{\"cmd\":\"echo\",\"args\":[\"neighbour\"]}", out, sizeof(out)));
    CHECK_STR(out, "neighbour\n");
    CHECK_EQ(qemu_pid(f, a), pa);
    CHECK(kill(pa, 0) == 0);
    CHECK(destroy(f, a));
    CHECK(destroy(f, b));
}

TEST_SLOW(vm_fork_bomb, 300)
{
    struct vfx f;
    if (vfx_start_conf(&f, COLD))
        vm_fork_bomb_body(&f);
    vfx_end(&f);
}

/* jail = off: the switch for debugging and the benchmark's baseline runs QEMU as root. */
TEST_SLOW(vm_jail_off, 180)
{
    struct vfx f;
    char id[64], v[128];
    if (vfx_start_conf(&f, "jail = off\ncgroup_root = off\n" COLD) &&
        create(&f, SHAPE, id)) {
        int pid = qemu_pid(&f, id);
        CHECK(pid > 0);
        CHECK(strncmp(status_field(pid, "Uid", v, sizeof(v)), "0\t", 2) == 0);
        CHECK(strcmp(status_field(pid, "CapEff", v, sizeof(v)), "0000000000000000") != 0);
        CHECK(strstr(status_field(pid, "Seccomp", v, sizeof(v)), "2") != NULL); /* -sandbox on */
        CHECK(destroy(&f, id));
    }
    vfx_end(&f);
}
