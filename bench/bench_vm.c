/* SPDX-License-Identifier: MIT */
/* bench_vm.c: the Foundation benchmarks. Cold boot to agent-ready (minimal and debian-12), the
 * exec round trip and a PING through the agent, file transfer both ways, and QEMU's resident
 * memory per idle VM. Prints medians (and p90 where asked) next to the targets of this machine
 * class; asserts nothing. Images come from $HEARTH_IMAGES. BENCH_BOOT_RUNS overrides the
 * number of boots per image (default 20). Snapshot save and restore-to-ready (minimal, 10 runs
 * each) are printed next to the cold boot of the same run, then the save of a restored VM (its
 * RAM split out of the migration stream); BENCH_SNAPSHOT_ONLY=1 stops there. */
#include "benchvm.h"
#include "stats.h"
#include "common/herr.h"
#include "common/mono.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXEC_RUNS 200
#define XFER_MB 64
#define XFER_RUNS 5
#define SNAP_RUNS 10


static void image_path(char *out, const char *name)
{
    const char *dir = getenv("HEARTH_IMAGES");
    snprintf(out, PATH_MAX, "%s/%s", dir ? dir : "build/images", name);
}

static struct bvm_config config_for(const char *kernel, const char *rootfs)
{
    return (struct bvm_config){
        .kernel = kernel, .rootfs = rootfs, .vcpus = 1, .memory_mib = 256,
        .boot_timeout_ms = 60000,
    };
}

static struct bvm *boot(const struct bvm_config *c)
{
    struct herr e = { 0 };
    struct bvm *vm = NULL;
    if (bvm_start(c, NULL, &vm, &e) < 0) {
        fprintf(stderr, "bench: boot failed: %s\n", e.msg);
        return NULL;
    }
    return vm;
}

static int bench_boot(const char *label, const char *kernel, const char *rootfs, int runs,
                      unsigned memory_mib, double *ret_p50)
{
    double *ms = calloc((size_t)runs, sizeof(*ms));
    if (!ms)
        return -ENOMEM;
    struct bvm_config c = config_for(kernel, rootfs);
    c.memory_mib = memory_mib;
    for (int i = 0; i < runs; i++) {
        int64_t t0 = mono_now_us();
        struct bvm *vm = boot(&c);
        if (!vm) {
            free(ms);
            return -EIO;
        }
        ms[i] = (double)(mono_now_us() - t0) / 1000.0;
        bvm_free(vm);
    }
    double p50 = bench_percentile(ms, (size_t)runs, 50), p90 = bench_percentile(ms, (size_t)runs, 90);
    printf("boot %-10s 1 vCPU %u MiB, %d runs: p50 %.0f ms, p90 %.0f ms%s\n", label, memory_mib,
           runs, p50, p90, strcmp(label, "minimal") == 0 ? "  (target p50 <= 1500 ms)" : "");
    free(ms);
    if (ret_p50)
        *ret_p50 = p50;
    return 0;
}

/* Restores snap and times a save of that restored VM into a new dir; the first run prints the
 * sizes of what it wrote. */
static int bench_save_restored(const struct bvm_config *c, const char *snap, double *ret_ms)
{
    static bool printed;
    struct herr e = { 0 };
    struct bvm *vm = NULL;
    if (bvm_start(c, snap, &vm, &e) < 0) {
        printf("snapshot restore: failed: %s\n", e.msg);
        return -EIO;
    }
    char dir[] = "/tmp/hearth-bench-snap-XXXXXX";
    if (!mkdtemp(dir)) {
        bvm_free(vm);
        return -errno;
    }
    int64_t t0 = mono_now_us();
    int r = bvm_save(vm, dir, &e);
    *ret_ms = (double)(mono_now_us() - t0) / 1000.0;
    bvm_free(vm);
    if (r < 0)
        printf("snapshot save of a restored VM: failed: %s\n", e.msg);
    char p[PATH_MAX + 16];
    struct stat st, sm;
    snprintf(p, sizeof(p), "%s/state", dir);
    int have = stat(p, &st);
    snprintf(p, sizeof(p), "%s/mem", dir);
    if (r == 0 && !printed && have == 0 && stat(p, &sm) == 0) {
        printf("snapshot of a restored VM: device state %lld bytes, RAM file %.1f MiB "
               "allocated of %lld MiB\n", (long long)st.st_size,
               (double)sm.st_blocks * 512 / (1 << 20), (long long)sm.st_size >> 20);
        printed = true;
    }
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench: cannot remove %s\n", dir);
    return r;
}

/* Save (stop, device state, quit, move files, meta.json) of a freshly booted VM, then restores
 * of one snapshot, each timed from the call to the agent's READY. */
static int bench_snapshot(const char *kernel, const char *rootfs, double cold_p50)
{
    struct bvm_config c = config_for(kernel, rootfs);
    double save[SNAP_RUNS], restore[SNAP_RUNS], resave[SNAP_RUNS];
    char snap[PATH_MAX] = "";
    struct herr e = { 0 };
    for (int i = 0; i < SNAP_RUNS; i++) {
        char dir[] = "/tmp/hearth-bench-snap-XXXXXX";
        if (!mkdtemp(dir))
            return -errno;
        struct bvm *vm = boot(&c);
        if (!vm)
            return -EIO;
        int64_t t0 = mono_now_us();
        int r = bvm_save(vm, dir, &e);
        save[i] = (double)(mono_now_us() - t0) / 1000.0;
        bvm_free(vm);
        if (r < 0) {
            printf("snapshot save: failed: %s\n", e.msg);
            return r;
        }
        if (i == 0) {
            snprintf(snap, sizeof(snap), "%s", dir);
            char st[PATH_MAX + 16];
            snprintf(st, sizeof(st), "%s/state", dir);
            struct stat sb;
            if (stat(st, &sb) == 0)
                printf("snapshot device state: %lld bytes\n", (long long)sb.st_size);
        } else {
            char cmd[PATH_MAX + 16];
            snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
            if (system(cmd) != 0)
                fprintf(stderr, "bench: cannot remove %s\n", dir);
        }
    }
    int rc = 0;
    for (int i = 0; i < SNAP_RUNS && rc == 0; i++)
        rc = bench_save_restored(&c, snap, &resave[i]);
    for (int i = 0; i < SNAP_RUNS && rc == 0; i++) {
        struct bvm *vm = NULL;
        int64_t t0 = mono_now_us();
        int r = bvm_start(&c, snap, &vm, &e);
        restore[i] = (double)(mono_now_us() - t0) / 1000.0;
        if (r < 0) {
            printf("snapshot restore: failed: %s\n", e.msg);
            rc = r;
            break;
        }
        bvm_free(vm);
    }
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", snap);
    if (system(cmd) != 0)
        fprintf(stderr, "bench: cannot remove %s\n", snap);
    if (rc < 0)
        return rc;
    double sp50 = bench_percentile(save, SNAP_RUNS, 50), sp90 = bench_percentile(save, SNAP_RUNS, 90);
    double rp50 = bench_percentile(restore, SNAP_RUNS, 50), rp90 = bench_percentile(restore, SNAP_RUNS, 90);
    printf("snapshot save minimal 256 MiB, %d runs: p50 %.1f ms, p90 %.1f ms\n", SNAP_RUNS, sp50,
           sp90);
    printf("snapshot restore to agent ready, minimal, %d runs: p50 %.1f ms, p90 %.1f ms "
           "(cold boot p50 %.0f ms: %.1fx faster)\n",
           SNAP_RUNS, rp50, rp90, cold_p50, rp50 > 0 ? cold_p50 / rp50 : 0.0);
    printf("snapshot save of a restored VM (RAM split out of the stream), minimal 256 MiB, %d "
           "runs: p50 %.1f ms, p90 %.1f ms\n", SNAP_RUNS, bench_percentile(resave, SNAP_RUNS, 50),
           bench_percentile(resave, SNAP_RUNS, 90));
    return 0;
}

static void bench_exec(struct bvm *vm, const char *label)
{
    double ms[EXEC_RUNS], ping[EXEC_RUNS];
    const char *argv[] = { "true", NULL };
    struct agent_exec_req req = { .argv = argv };
    for (int i = 0; i < EXEC_RUNS; i++) {
        struct agent_exec_result r = { 0 };
        struct herr e = { 0 };
        int64_t t0 = mono_now_us();
        int rc = host_sync_exec(vm->s, vm->id, &req, 4096, mono_now_us() + 10000000, &r, &e);
        ms[i] = (double)(mono_now_us() - t0) / 1000.0;
        agent_exec_result_release(&r);
        if (rc < 0) {
            printf("exec true: failed: %s\n", e.msg);
            return;
        }
        t0 = mono_now_us();
        if (host_sync_vm_ping(vm->s, vm->id, mono_now_us() + 10000000, &e) < 0) {
            printf("ping: failed: %s\n", e.msg);
            return;
        }
        ping[i] = (double)(mono_now_us() - t0) / 1000.0;
    }
    printf("exec `true` round trip, %-9s %d runs: p50 %.2f ms, p90 %.2f ms%s\n", label,
           EXEC_RUNS, bench_percentile(ms, EXEC_RUNS, 50), bench_percentile(ms, EXEC_RUNS, 90),
           strcmp(label, "minimal") == 0 ? "  (target p50 <= 10 ms)" : "");
    printf("agent ping round trip, %-9s %d runs: p50 %.3f ms, p90 %.3f ms\n", label, EXEC_RUNS,
           bench_percentile(ping, EXEC_RUNS, 50), bench_percentile(ping, EXEC_RUNS, 90));
}

static void bench_files(struct bvm *vm)
{
    char src[] = "/tmp/hearth-bench-src-XXXXXX", dst[] = "/tmp/hearth-bench-dst-XXXXXX";
    int sfd = mkstemp(src), dfd = mkstemp(dst);
    if (sfd < 0 || dfd < 0) {
        printf("files: cannot make temp files: %s\n", strerror(errno));
        goto out;
    }
    /* incompressible-looking bytes, in the page cache so the disk is not what we measure */
    static uint8_t chunk[1 << 20];
    for (size_t i = 0; i < sizeof(chunk); i++)
        chunk[i] = (uint8_t)(i * 2654435761u >> 13);
    for (int i = 0; i < XFER_MB; i++)
        if (write(sfd, chunk, sizeof(chunk)) != (ssize_t)sizeof(chunk)) {
            printf("files: write: %s\n", strerror(errno));
            goto out;
        }
    double up[XFER_RUNS], down[XFER_RUNS];
    for (int i = 0; i < XFER_RUNS; i++) {
        struct herr e = { 0 };
        uint64_t size = 0;
        lseek(sfd, 0, SEEK_SET);
        int64_t t0 = mono_now_us();
        if (host_sync_file_put(vm->s, vm->id, "/root/bench.bin", 0644, sfd,
                               mono_now_us() + 120000000, &size, &e) < 0) {
            printf("files: upload failed: %s\n", e.msg);
            goto out;
        }
        up[i] = (double)XFER_MB / ((double)(mono_now_us() - t0) / 1e6);
        if (ftruncate(dfd, 0) < 0 || lseek(dfd, 0, SEEK_SET) < 0)
            goto out;
        t0 = mono_now_us();
        if (host_sync_file_get(vm->s, vm->id, "/root/bench.bin", dfd, mono_now_us() + 120000000,
                               &size, &e) < 0) {
            printf("files: download failed: %s\n", e.msg);
            goto out;
        }
        down[i] = (double)XFER_MB / ((double)(mono_now_us() - t0) / 1e6);
    }
    printf("file upload to disk %d MiB, %d runs: median %.0f MiB/s  (target >= 50 MB/s)\n", XFER_MB,
           XFER_RUNS, bench_percentile(up, XFER_RUNS, 50));
    printf("file download from disk %d MiB, %d runs: median %.0f MiB/s  (target >= 50 MB/s)\n", XFER_MB,
           XFER_RUNS, bench_percentile(down, XFER_RUNS, 50));
out:
    if (sfd >= 0) {
        close(sfd);
        unlink(src);
    }
    if (dfd >= 0) {
        close(dfd);
        unlink(dst);
    }
}

/* Resident and proportional memory of QEMU, from /proc. */
static void print_rss(struct bvm *vm, const char *label)
{
    char path[64], line[256];
    long pid = (long)bvm_pid(vm);
    FILE *f;
    if (pid <= 0) {
        printf("qemu rss: cannot find QEMU's pid\n");
        return;
    }
    long rss = -1, pss = -1;
    snprintf(path, sizeof(path), "/proc/%ld/smaps_rollup", pid);
    f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f)) {
        sscanf(line, "Rss: %ld kB", &rss);
        sscanf(line, "Pss: %ld kB", &pss);
    }
    if (f)
        fclose(f);
    printf("qemu memory, idle %s VM (256 MiB guest): RSS %.1f MiB, PSS %.1f MiB\n", label,
           (double)rss / 1024, (double)pss / 1024);
}

int main(void)
{
    char kernel[PATH_MAX], minimal[PATH_MAX], debian[PATH_MAX];
    image_path(kernel, "vmlinux");
    image_path(minimal, "minimal.ext4");
    image_path(debian, "debian-12.ext4");
    if (access(kernel, R_OK) || access(minimal, R_OK) || access(debian, R_OK)) {
        fprintf(stderr, "bench: images missing under $HEARTH_IMAGES; run make images\n");
        return 1;
    }
    int runs = 20;
    const char *env = getenv("BENCH_BOOT_RUNS");
    if (env && atoi(env) > 0)
        runs = atoi(env);

    double cold = 0;
    if (bench_boot("minimal", kernel, minimal, runs, 256, &cold) < 0 ||
        bench_snapshot(kernel, minimal, cold) < 0)
        return 1;
    env = getenv("BENCH_SNAPSHOT_ONLY");
    if (env && strcmp(env, "1") == 0)
        return 0;
    if (bench_boot("debian-12", kernel, debian, runs, 256, NULL) < 0)
        return 1;

    /* the exec round trip is mostly the guest starting a process: static busybox in minimal,
     * a dynamically linked coreutils in debian-12 (the dynamic loader is slow under TCG) */
    struct bvm_config c = config_for(kernel, minimal);
    struct bvm *vm = boot(&c);
    if (!vm)
        return 1;
    bench_exec(vm, "minimal");
    usleep(2000000); /* let the guest settle into idle before reading its footprint */
    print_rss(vm, "minimal");
    bvm_free(vm);

    /* files go to the guest's disk (a qcow2 layer); 1 GiB of guest RAM so the page cache,
     * not the guest's memory pressure, is what a 64 MiB file meets */
    c = config_for(kernel, debian);
    c.memory_mib = 1024;
    vm = boot(&c);
    if (!vm)
        return 1;
    bench_exec(vm, "debian-12");
    bench_files(vm);
    bvm_free(vm);
    return 0;
}
