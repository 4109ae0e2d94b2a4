/* SPDX-License-Identifier: MIT */
/* test_snapshot.c: the snapshot primitive on real microVMs: save, restore with a running
 * process, two clones of one snapshot at once, a snapshot of a restored VM (its RAM split out
 * of the migration stream), refusal of corrupted or mismatched snapshots, the guest clock
 * after a restore; a live snapshot (the VM runs on) and its failure after the stop. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/herr.h"
#include "common/mono.h"
#include "daemon/host/host_sync.h"
#include "harness.h"
#include "vmtest.h"

#define SEC 1000000

/* A counter in the guest: every second it writes the count to /tmp/cnt (memory; renamed into
 * place, so a read never sees it empty) and appends it to /root/disk.log (disk); its pid is in
 * /tmp/pid. */
#define COUNTER                                                                                  \
    "setsid sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/cnt.t; mv /tmp/cnt.t /tmp/cnt;"  \
    " echo $i >> /root/disk.log;"                                                                \
    " sleep 1; done' </dev/null >/dev/null 2>&1 & echo $! > /tmp/pid; echo before > /root/marker;" \
    " sync"

static long sh_long(struct vmt *vm, const char *script)
{
    struct agent_exec_result r;
    if (vmtest_sh(vm, script, NULL, &r) < 0)
        return -1;
    long v = r.exit_code == 0 ? strtol((char *)r.out, NULL, 10) : -1;
    agent_exec_result_release(&r);
    return v;
}

static void snapdir_new(char *out)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(out, PATH_MAX, "%s/hearth-snap.XXXXXX", tmp && *tmp == '/' ? tmp : "/tmp");
    if (!mkdtemp(out))
        harness_fail(__FILE__, __LINE__, "mkdtemp: %s", strerror(errno));
}

static void rm_rf(const char *dir)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

/* Boots, starts the counter, waits for a count of 2, saves into snap. */
static int make_snapshot(const struct vmtest_config *cfg, const char *snap)
{
    struct vmt *vm = vmtest_start(cfg);
    if (!vm)
        return -1;
    struct agent_exec_result r;
    int rc = vmtest_sh(vm, COUNTER, NULL, &r);
    agent_exec_result_release(&r);
    int64_t until = mono_now_us() + 30 * SEC;
    while (rc == 0 && sh_long(vm, "cat /tmp/cnt 2>/dev/null || echo 0") < 2 &&
           mono_now_us() < until)
        usleep(100000);
    struct herr e = { 0 };
    if (rc == 0 && (rc = vmtest_save(vm, snap, &e)) < 0)
        harness_fail(__FILE__, __LINE__, "host_vm_pause: %s", e.msg);
    if (vmtest_alive(vm))
        harness_fail(__FILE__, __LINE__, "QEMU still runs after host_vm_pause");
    vmtest_free(vm);
    return rc;
}

static struct vmt *restore(const struct vmtest_config *cfg, const char *snap)
{
    struct vmt *vm = NULL;
    struct herr e = { 0 };
    herr_clear(&e);
    int r = vmtest_try_start(cfg, snap, &vm, &e);
    if (r < 0) {
        harness_fail(__FILE__, __LINE__, "restore (host_vm_create with a snapshot): %s", e.msg);
        return NULL;
    }
    return vm;
}

TEST_SLOW(save_restore_keeps_process_files_and_clock, 300)
{
    char kernel[PATH_MAX], rootfs[PATH_MAX], snap[PATH_MAX];
    vmtest_paths(kernel, rootfs);
    struct vmtest_config cfg = vmtest_config(kernel, rootfs);
    snapdir_new(snap);
    CHECK_EQ(make_snapshot(&cfg, snap), 0);
    char p[PATH_MAX + 16];
    /* the empty layer template (layer.qcow2) is hearthd's engine's to make lazily: the
     * first clone leaves it (host_snapshot.c); it must exist once a clone ran */
    const char *files[] = { "mem", "state", "disk.qcow2", "meta.json", "layer.qcow2" };
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof(p), "%s/%s", snap, files[i]);
        CHECK_EQ(access(p, R_OK), 0);
    }
    sleep(3); /* the guest clock stood still meanwhile; HELLO's time_ns must correct it */
    struct vmt *vm = restore(&cfg, snap);
    CHECK(vm);
    snprintf(p, sizeof(p), "%s/%s", snap, files[4]);
    CHECK_EQ(access(p, R_OK), 0);
    long now = (long)time(NULL);
    long guest = sh_long(vm, "date +%s");
    CHECK(labs(guest - now) <= 2);
    long c1 = sh_long(vm, "cat /tmp/cnt");
    CHECK(c1 >= 2);
    CHECK_EQ(sh_long(vm, "kill -0 $(cat /tmp/pid) && echo 1"), 1);
    sleep(3);
    long c2 = sh_long(vm, "cat /tmp/cnt");
    CHECK(c2 > c1);
    CHECK(sh_long(vm, "tail -n 1 /root/disk.log") >= c2 - 1);
    /* the disk log is gapless across the snapshot */
    CHECK_EQ(sh_long(vm, "n=$(wc -l < /root/disk.log); l=$(tail -n 1 /root/disk.log); "
                         "[ \"$n\" = \"$l\" ] && echo 1"), 1);
    struct agent_exec_result r;
    CHECK_EQ(vmtest_sh(vm, "cat /root/marker; echo exec works", NULL, &r), 0);
    CHECK_STR((char *)r.out, "before\nexec works\n");
    agent_exec_result_release(&r);
    struct herr e = { 0 };
    CHECK_EQ(vmtest_stop(vm, &e), 0);
    vmtest_free(vm);
    rm_rf(snap);
}

/* Output of script (exit 0) without its trailing newline, into out. */
static bool sh_str(struct vmt *vm, const char *script, char *out, size_t len)
{
    struct agent_exec_result r;
    REQUIRE(vmtest_sh(vm, script, NULL, &r) == 0);
    bool ok = r.exit_code == 0;
    snprintf(out, len, "%s", ok ? (char *)r.out : "");
    agent_exec_result_release(&r);
    out[strcspn(out, "\n")] = 0;
    if (!ok)
        harness_fail(__FILE__, __LINE__, "'%s' failed", script);
    return ok;
}

/* A restored VM maps its RAM private: its snapshot gets the RAM out of the migration stream
 * (migsplit) into a sparse RAM file of its own, and a small state like a cold-booted VM's. */
TEST_SLOW(restored_vm_saves_a_snapshot_of_its_own, 600)
{
    char kernel[PATH_MAX], rootfs[PATH_MAX], a[PATH_MAX], b[PATH_MAX];
    vmtest_paths(kernel, rootfs);
    struct vmtest_config cfg = vmtest_config(kernel, rootfs);
    snapdir_new(a);
    snapdir_new(b);
    int64_t t0 = mono_now_us();
    CHECK_EQ(make_snapshot(&cfg, a), 0);
    fprintf(stderr, "boot + counter + save A: %lld ms\n",
            (long long)(mono_now_us() - t0) / 1000);
    struct vmt *vm = restore(&cfg, a);
    CHECK(vm);
    /* 20 MiB of random bytes in tmpfs (guest RAM only), a file on disk */
    char sum[128], sum_b[128];
    CHECK(sh_str(vm, "head -c 20971520 /dev/urandom > /tmp/blob && "
                     "sha256sum /tmp/blob | cut -c1-64", sum, sizeof(sum)));
    CHECK_EQ(strlen(sum), 64);
    struct agent_exec_result r;
    CHECK_EQ(vmtest_sh(vm, "echo after > /root/marker2; sync", NULL, &r), 0);
    agent_exec_result_release(&r);
    long c_saved = sh_long(vm, "cat /tmp/cnt");
    CHECK(c_saved >= 2);
    struct herr e = { 0 };
    t0 = mono_now_us();
    int rc = vmtest_save(vm, b, &e);
    int64_t save_us = mono_now_us() - t0;
    if (rc < 0)
        harness_fail(__FILE__, __LINE__, "host_vm_pause of a restored VM: %s", e.msg);
    CHECK_EQ(rc, 0);
    CHECK(!vmtest_alive(vm));
    vmtest_free(vm);
    /* B has its own files: a RAM file of the guest's size holding about what the guest wrote,
     * and device state only in state */
    char p[PATH_MAX + 16];
    const char *files[] = { "mem", "state", "disk.qcow2", "meta.json", "layer.qcow2" };
    for (size_t i = 0; i < 4; i++) { /* layer.qcow2: once B was restored, below */
        snprintf(p, sizeof(p), "%s/%s", b, files[i]);
        CHECK_EQ(access(p, R_OK), 0);
    }
    struct stat st_mem, st_state, st_a_mem;
    snprintf(p, sizeof(p), "%s/mem", b);
    CHECK_EQ(stat(p, &st_mem), 0);
    snprintf(p, sizeof(p), "%s/state", b);
    CHECK_EQ(stat(p, &st_state), 0);
    snprintf(p, sizeof(p), "%s/mem", a);
    CHECK_EQ(stat(p, &st_a_mem), 0);
    CHECK_EQ(st_mem.st_size, 256LL << 20);
    CHECK(st_mem.st_ino != st_a_mem.st_ino);
    CHECK((long long)st_mem.st_blocks * 512 >= 20LL << 20);
    CHECK((long long)st_mem.st_blocks * 512 < 256LL << 20);
    CHECK(st_state.st_size < 256 * 1024);
    fprintf(stderr, "save of a restored VM: %.1f ms; state %lld bytes; RAM file %lld MiB "
            "allocated of 256 (A's: %lld MiB)\n",
            (double)save_us / 1000, (long long)st_state.st_size,
            (long long)st_mem.st_blocks * 512 >> 20, (long long)st_a_mem.st_blocks * 512 >> 20);
    /* B restores with its memory, process and disk */
    vm = restore(&cfg, b);
    CHECK(vm);
    snprintf(p, sizeof(p), "%s/%s", b, files[4]);
    CHECK_EQ(access(p, R_OK), 0);
    CHECK(sh_str(vm, "sha256sum /tmp/blob | cut -c1-64", sum_b, sizeof(sum_b)));
    CHECK_STR(sum_b, sum);
    long c1 = sh_long(vm, "cat /tmp/cnt");
    CHECK(c1 >= c_saved);
    CHECK_EQ(sh_long(vm, "kill -0 $(cat /tmp/pid) && echo 1"), 1);
    CHECK_EQ(vmtest_sh(vm, "cat /root/marker /root/marker2", NULL, &r), 0);
    CHECK_STR((char *)r.out, "before\nafter\n");
    agent_exec_result_release(&r);
    sleep(2);
    CHECK(sh_long(vm, "cat /tmp/cnt") > c1);
    CHECK_EQ(vmtest_stop(vm, &e), 0);
    vmtest_free(vm);
    /* A is unchanged: no blob, no second marker, its counter from before */
    vm = restore(&cfg, a);
    CHECK(vm);
    CHECK_EQ(sh_long(vm, "test -e /tmp/blob || test -e /root/marker2 || echo 7"), 7);
    CHECK(sh_long(vm, "cat /tmp/cnt") < c_saved);
    CHECK_EQ(vmtest_stop(vm, &e), 0);
    vmtest_free(vm);
    rm_rf(b);
    rm_rf(a);
}

TEST_SLOW(two_clones_of_one_snapshot, 300)
{
    char kernel[PATH_MAX], rootfs[PATH_MAX], snap[PATH_MAX];
    vmtest_paths(kernel, rootfs);
    struct vmtest_config cfg = vmtest_config(kernel, rootfs);
    snapdir_new(snap);
    CHECK_EQ(make_snapshot(&cfg, snap), 0);
    struct vmt *a = restore(&cfg, snap);
    CHECK(a);
    struct vmt *b = restore(&cfg, snap);
    CHECK(b);
    struct agent_exec_result r;
    CHECK_EQ(vmtest_sh(a, "echo A > /root/who; echo A > /tmp/who; sync", NULL, &r), 0);
    agent_exec_result_release(&r);
    CHECK_EQ(vmtest_sh(b, "echo B > /root/who; echo B > /tmp/who; sync", NULL, &r), 0);
    agent_exec_result_release(&r);
    CHECK_EQ(vmtest_sh(a, "cat /root/who /tmp/who /root/marker", NULL, &r), 0);
    CHECK_STR((char *)r.out, "A\nA\nbefore\n");
    agent_exec_result_release(&r);
    CHECK_EQ(vmtest_sh(b, "cat /root/who /tmp/who /root/marker", NULL, &r), 0);
    CHECK_STR((char *)r.out, "B\nB\nbefore\n");
    agent_exec_result_release(&r);
    CHECK_EQ(sh_long(a, "kill -0 $(cat /tmp/pid) && echo 1"), 1);
    CHECK_EQ(sh_long(b, "kill -0 $(cat /tmp/pid) && echo 1"), 1);
    struct herr e = { 0 };
    CHECK_EQ(vmtest_stop(a, &e), 0);
    vmtest_free(a);
    /* b is untouched by a's end; a third clone starts from the snapshot, not from b */
    CHECK_EQ(vmtest_sh(b, "cat /root/who", NULL, &r), 0);
    CHECK_STR((char *)r.out, "B\n");
    agent_exec_result_release(&r);
    /* a snapshot whose agent was not seen between frames: the restore sends the resync
     * preamble first; without a layer template it runs qemu-img */
    char cmd[4 * PATH_MAX + 256];
    snprintf(cmd, sizeof(cmd), "sed -i 's/\"agent_aligned\": true/\"agent_aligned\": false/' "
             "'%s/meta.json' && grep -q '\"agent_aligned\": false' '%s/meta.json' && "
             "rm '%s/layer.qcow2'", snap, snap, snap);
    CHECK_EQ(system(cmd), 0);
    struct vmt *c = restore(&cfg, snap);
    CHECK(c);
    CHECK_EQ(sh_long(c, "test -e /root/who || echo 7"), 7);
    CHECK_EQ(vmtest_stop(c, &e), 0);
    vmtest_free(c);
    CHECK_EQ(vmtest_stop(b, &e), 0);
    vmtest_free(b);
    rm_rf(snap);
}

/* Clones of one snapshot each get their HELLO's identity: their own hostname, a reseeded CRNG
 * and the host's clock, even after the snapshot sat for 10 s. Each clone reads /dev/urandom
 * first thing: the snapshot's CRNG state would give both the same bytes until the kernel's own
 * reseed (every ~1.5 s in a guest this young, every 60 s after two minutes of uptime). */
TEST_SLOW(clones_get_own_hostname_entropy_and_clock, 300)
{
    char kernel[PATH_MAX], rootfs[PATH_MAX], snap[PATH_MAX];
    vmtest_paths(kernel, rootfs);
    struct vmtest_config cfg = vmtest_config(kernel, rootfs);
    snapdir_new(snap);
    CHECK_EQ(make_snapshot(&cfg, snap), 0);
    sleep(10);
    const char *rnd = "head -c 32 /dev/urandom | od -An -tx1";
    struct agent_exec_result ra, rb;
    struct vmtest_config ca = cfg, cb = cfg;
    ca.hostname = "clone-a";
    cb.hostname = "clone-b";
    struct vmt *a = restore(&ca, snap);
    CHECK(a);
    CHECK_EQ(vmtest_sh(a, rnd, NULL, &ra), 0);
    long before = (long)time(NULL);
    long guest = sh_long(a, "date +%s");
    long after = (long)time(NULL);
    CHECK(guest >= before - 1 && guest <= after + 1);
    struct vmt *b = restore(&cb, snap);
    CHECK(b);
    CHECK_EQ(vmtest_sh(b, rnd, NULL, &rb), 0);
    CHECK(ra.out_len > 64 && rb.out_len > 64);
    fprintf(stderr, "clone-a urandom:%sclone-b urandom:%s", (char *)ra.out, (char *)rb.out);
    CHECK(strcmp((char *)ra.out, (char *)rb.out) != 0);
    agent_exec_result_release(&ra);
    agent_exec_result_release(&rb);
    CHECK_EQ(vmtest_sh(a, "hostname; cat /etc/hostname", NULL, &ra), 0);
    CHECK_STR((char *)ra.out, "clone-a\nclone-a\n");
    agent_exec_result_release(&ra);
    CHECK_EQ(vmtest_sh(b, "hostname; cat /etc/hostname", NULL, &rb), 0);
    CHECK_STR((char *)rb.out, "clone-b\nclone-b\n");
    agent_exec_result_release(&rb);
    struct herr e = { 0 };
    struct vmt *c = NULL;
    struct vmtest_config bad = cfg;
    bad.hostname = "Not_A_Hostname";
    CHECK_EQ(vmtest_try_start(&bad, snap, &c, &e), -EINVAL);
    CHECK_EQ(vmtest_stop(a, &e), 0);
    vmtest_free(a);
    CHECK_EQ(vmtest_stop(b, &e), 0);
    vmtest_free(b);
    rm_rf(snap);
}

static void write_file(const char *path, const char *s)
{
    FILE *f = fopen(path, "w");
    CHECK(f);
    fputs(s, f);
    fclose(f);
}

TEST_SLOW(corrupted_or_mismatched_snapshot_is_refused, 300)
{
    char kernel[PATH_MAX], rootfs[PATH_MAX], snap[PATH_MAX];
    vmtest_paths(kernel, rootfs);
    struct vmtest_config cfg = vmtest_config(kernel, rootfs);
    snapdir_new(snap);
    CHECK_EQ(make_snapshot(&cfg, snap), 0);
    char state[PATH_MAX + 16], meta[PATH_MAX + 16], saved[PATH_MAX + 32];
    snprintf(state, sizeof(state), "%s/state", snap);
    snprintf(meta, sizeof(meta), "%s/meta.json", snap);
    snprintf(saved, sizeof(saved), "%s/meta.saved", snap);
    struct vmt *vm = NULL;
    struct herr e = { 0 };
    /* another shape */
    struct vmtest_config big = cfg;
    big.memory_mib = 512;
    herr_clear(&e);
    CHECK_EQ(vmtest_try_start(&big, snap, &vm, &e), -ESTALE);
    CHECK(strstr(e.msg, "256 MiB"));
    /* one flipped byte in the device state */
    int fd = open(state, O_RDWR);
    CHECK(fd >= 0);
    unsigned char byte;
    CHECK_EQ(pread(fd, &byte, 1, 100), 1);
    byte ^= 0x40;
    CHECK_EQ(pwrite(fd, &byte, 1, 100), 1);
    int64_t t0 = mono_now_us();
    herr_clear(&e);
    CHECK_EQ(vmtest_try_start(&cfg, snap, &vm, &e), -EBADMSG);
    CHECK(strstr(e.msg, "checksum"));
    CHECK(mono_now_us() - t0 < 5 * SEC);
    byte ^= 0x40;
    CHECK_EQ(pwrite(fd, &byte, 1, 100), 1);
    close(fd);
    /* metadata: garbage, another format, missing */
    CHECK_EQ(rename(meta, saved), 0);
    herr_clear(&e);
    CHECK_EQ(vmtest_try_start(&cfg, snap, &vm, &e), -ENOENT);
    write_file(meta, "{not json");
    herr_clear(&e);
    CHECK_EQ(vmtest_try_start(&cfg, snap, &vm, &e), -EBADMSG);
    CHECK(strstr(e.msg, "meta.json"));
    write_file(meta, "{\"format\": 99}");
    herr_clear(&e);
    CHECK_EQ(vmtest_try_start(&cfg, snap, &vm, &e), -EBADMSG);
    CHECK_EQ(rename(saved, meta), 0);
    /* a state QEMU cannot load, with a matching checksum: QEMU refuses it, we report, no hang */
    char cmd[4 * PATH_MAX + 512];
    snprintf(cmd, sizeof(cmd),
             "head -c 40000 /dev/urandom > '%s' && s=$(sha256sum '%s' | cut -c1-64) && "
             "sed -i -e \"s/\\\"state_sha256\\\": \\\"[0-9a-f]*\\\"/"
             "\\\"state_sha256\\\": \\\"$s\\\"/\" "
             "-e 's/\"state_size\": [0-9]*/\"state_size\": 40000/' '%s'",
             state, state, meta);
    CHECK_EQ(system(cmd), 0);
    t0 = mono_now_us();
    herr_clear(&e);
    int r = vmtest_try_start(&cfg, snap, &vm, &e);
    CHECK(r < 0);
    fprintf(stderr, "garbage state: %d %s\n", r, e.msg);
    CHECK(mono_now_us() - t0 < 60 * SEC);
    rm_rf(snap);
}

/* Polls script (which prints a number) in vm until it prints more than above (<= 20 s). */
static bool grows_past(struct vmt *vm, const char *script, long above)
{
    int64_t until = mono_now_us() + 20 * SEC;
    while (mono_now_us() < until) {
        if (sh_long(vm, script) > above)
            return true;
        usleep(100000);
    }
    return false;
}

/* host_vm_snapshot_live(): the VM is stopped only for the copy and runs on with its process; a
 * clone of the snapshot starts at the fork point and the two diverge. A live snapshot that
 * fails after the stop (its directory already holds a disk layer) continues the VM and leaves
 * no directory behind. */
TEST_SLOW(live_snapshot_runs_on_and_clones_start_at_the_fork_point, 300)
{
    char kernel[PATH_MAX], rootfs[PATH_MAX], snap[PATH_MAX], bad[PATH_MAX];
    vmtest_paths(kernel, rootfs);
    struct vmtest_config cfg = vmtest_config(kernel, rootfs);
    struct vmt *vm = vmtest_start(&cfg);
    CHECK(vm);
    struct agent_exec_result r;
    CHECK_EQ(vmtest_sh(vm, COUNTER, NULL, &r), 0);
    agent_exec_result_release(&r);
    CHECK(grows_past(vm, "cat /tmp/cnt 2>/dev/null || echo 0", 1));
    snapdir_new(snap);
    struct herr e = { 0 };
    int64_t stopped = -1;
    CHECK_EQ(host_sync_vm_snapshot_live(vm->s, vm->id, snap, &stopped, &e), 0);
    CHECK(stopped > 0);
    CHECK(vmtest_alive(vm));
    long at = sh_long(vm, "cat /tmp/cnt");
    CHECK(at >= 2);
    CHECK(grows_past(vm, "cat /tmp/cnt", at)); /* the source runs on */
    CHECK_EQ(vmtest_sh(vm, "echo after > /root/marker; sync", NULL, &r), 0);
    agent_exec_result_release(&r);
    struct vmt *c = restore(&cfg, snap);
    CHECK(c);
    CHECK_EQ(sh_long(c, "kill -0 $(cat /tmp/pid) && echo 1"), 1); /* the process came along */
    CHECK_EQ(vmtest_sh(c, "cat /root/marker", NULL, &r), 0);
    CHECK_STR((char *)r.out, "before\n"); /* the fork point, not the source's later write */
    agent_exec_result_release(&r);
    CHECK(grows_past(c, "cat /tmp/cnt", 1));
    CHECK_EQ(vmtest_sh(vm, "cat /root/marker", NULL, &r), 0);
    CHECK_STR((char *)r.out, "after\n");
    agent_exec_result_release(&r);
    /* a failure after the stop: the VM is continued, the directory removed */
    snapdir_new(bad);
    char layer[PATH_MAX + 16];
    snprintf(layer, sizeof(layer), "%s/disk.qcow2", bad);
    int fd = open(layer, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    CHECK(host_sync_vm_snapshot_live(vm->s, vm->id, bad, NULL, &e) < 0);
    CHECK(strstr(e.msg, "disk.qcow2") != NULL);
    CHECK(access(bad, F_OK) != 0);
    long now = sh_long(vm, "cat /tmp/cnt");
    CHECK(grows_past(vm, "cat /tmp/cnt", now)); /* running again */
    CHECK_EQ(vmtest_stop(c, &e), 0);
    vmtest_free(c);
    CHECK_EQ(vmtest_stop(vm, &e), 0);
    vmtest_free(vm);
    rm_rf(snap);
    rm_rf(bad);
}
