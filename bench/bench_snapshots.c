/* SPDX-License-Identifier: MIT */
/* bench_snapshots.c: the snapshot-native lifecycle, measured through the real API of a
 * `hearthd serve` this program starts (apiclient.h), plus one comparison below the API. Prints
 * p50/p90 next to the targets of issue 4; asserts nothing. All in one run:
 *
 * - pause (POST …/pause until GET says paused) of 256 MiB and 1 GiB sandboxes, idle and with
 *   RAM touched (100 MB at 256 MiB, 500 MB at 1 GiB, random bytes in /dev/shm), for a VM with
 *   a RAM file of its own (booted or resumed) and for the first pause of one created from the
 *   golden snapshot (its RAM split out of the stream);
 * - resume (POST …/resume until running: the agent answered READY);
 * - fork of a paused source to a running child, single and 10 at once, at 256 MiB and 2 GiB
 *   with 10 MB and 1 GB written to the disk first, and at 1 GiB idle and with 500 MB touched;
 * - create from the golden snapshot against a cold boot (a second hearthd, golden off);
 * - our save/restore against a plain full-RAM migration of the same guest (benchvm.h, no
 *   API): an idle 256 MiB guest and a 1 GiB guest with 500 MB touched (target >= 10x);
 * - memory added per idle fork (PSS of its QEMU) and creates per second sustained.
 *
 * BENCH_SNAP_RUNS overrides the 10 runs per measurement; BENCH_SNAP_ONLY=pause runs only the
 * pause/resume rows (a quick check of the pause's cost), BENCH_SNAP_ONLY=plain only the
 * comparisons with a plain migration. Talks only to 127.0.0.1. */
#include "apiclient.h"
#include "stats.h"

#include "common/herr.h"
#include "common/mono.h"
#include "benchvm.h"
#include "plainmig.h"
#include "daemon/host/snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_RUNS 64

static int runs(void)
{
    const char *r = getenv("BENCH_SNAP_RUNS");
    int n = r ? atoi(r) : 10;
    return n < 1 ? 1 : n > MAX_RUNS ? MAX_RUNS : n;
}

static void report(const char *what, double *v, int n, const char *target)
{
    if (n <= 0) {
        printf("%s: no successful runs\n", what);
        return;
    }
    double p50 = bench_percentile(v, (size_t)n, 50), p90 = bench_percentile(v, (size_t)n, 90);
    printf("%s, %d runs: p50 %.1f ms, p90 %.1f ms", what, n, p50, p90);
    if (target)
        printf("  (target %s)", target);
    printf("\n");
}

/* ---- API helpers ---- */

static const char *g_key;
static uint16_t g_port;
static const char *g_data; /* the running hearthd's data dir */

static int post(const char *id, const char *what, const char *body, char *out_id, char *st)
{
    return post_op(g_port, g_key, id, what, body, out_id, st);
}

static bool get_status(struct conn *c, const char *id, char st[32])
{
    char t[128];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", id);
    struct resp r;
    st[0] = 0;
    if (request(c, "GET", t, g_key, NULL, &r) != 0)
        return false;
    json_field(r.body, "status", st, 32);
    resp_free(&r);
    return true;
}

/* Polls GET every 1 ms until want (≤ 60 s); the wall time since t0 (µs, monotonic). */
static double wait_for(const char *id, const char *want, int64_t t0)
{
    struct conn c = { .fd = -1, .port = g_port };
    char st[32];
    double ms = -1;
    for (int i = 0; i < 60000; i++) {
        if (get_status(&c, id, st) && strcmp(st, want) == 0) {
            ms = (double)(mono_now_us() - t0) / 1000.0;
            break;
        }
        if (strcmp(st, "failed") == 0 || strcmp(st, "error") == 0)
            break;
        usleep(1000);
    }
    conn_close(&c);
    return ms;
}

static bool sh(const char *id, const char *script)
{
    return exec_sh_ok(g_port, g_key, id, script);
}

static bool create(const char *shape, char id[STORE_ID_SIZE], double *ms)
{
    char body[128], why[160];
    double t;
    snprintf(body, sizeof(body), "{\"shape\":\"%s\",\"rootfs\":\"minimal\"}", shape);
    if (create_one(g_port, g_key, body, id, ms ? ms : &t, why, sizeof(why)) != 0) {
        printf("create %s: %s\n", shape, why);
        return false;
    }
    return true;
}

static double pause_ms(const char *id)
{
    int64_t t0 = mono_now_us();
    int s = post(id, "pause", NULL, NULL, NULL);
    if (s != 200 && s != 202) /* 200: settled within lifecycle_hold_ms */
        return -1;
    return wait_for(id, "paused", t0);
}

static double resume_ms(const char *id)
{
    int64_t t0 = mono_now_us();
    int s = post(id, "resume", NULL, NULL, NULL);
    if (s != 200 && s != 202)
        return -1;
    return wait_for(id, "running", t0);
}

static bool golden_ready(const struct daemon *d, int want)
{
    return daemon_golden_ready(d, want);
}

/* ---- pause and resume ---- */

/* What the RAM file's durability cost the pause that just wrote id's snapshot (meta.json's
 * mem_sum_ms, mem_sync_ms, mem_data_bytes; docs/snapshots.md "Durability"). */
static bool pause_costs(const char *id, double *sum_ms, double *sync_ms, double *data_mib)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/snapshots/%s/*/meta.json", g_data ? g_data : "/nonexistent", id);
    glob_t g;
    if (glob(p, 0, NULL, &g) != 0)
        return false;
    json_t *j = g.gl_pathc ? json_load_file(g.gl_pathv[g.gl_pathc - 1], 0, NULL) : NULL;
    globfree(&g);
    bool ok = j && json_is_number(json_object_get(j, "mem_sum_ms"));
    if (ok) {
        *sum_ms = json_number_value(json_object_get(j, "mem_sum_ms"));
        *sync_ms = json_number_value(json_object_get(j, "mem_sync_ms"));
        *data_mib = (double)json_integer_value(json_object_get(j, "mem_data_bytes")) / 1048576.0;
    }
    json_decref(j);
    return ok;
}

/* Guest RAM touched with data migration cannot skip as zero pages: random bytes in a tmpfs
 * (guest RAM). 100 MB in a 256 MiB guest, 500 MB in a 1 GiB one (tmpfs takes up to half). */
#define TOUCH_100MB "rm -f /dev/shm/t; head -c 100000000 /dev/urandom > /dev/shm/t; sync"
#define TOUCH_500MB "rm -f /dev/shm/t; head -c 500000000 /dev/urandom > /dev/shm/t; sync"

static const char *touch_for(const char *label)
{
    return label[0] == '1' ? TOUCH_500MB : TOUCH_100MB;
}
static const char *touched_label(const char *label)
{
    return label[0] == '1' ? ", 500 MB touched" : ", 100 MB touched";
}

static void bench_pause_resume(const char *shape, const char *label, bool dirty)
{
    int n = runs();
    double p[MAX_RUNS], r[MAX_RUNS], sum[MAX_RUNS], sync[MAX_RUNS], mib[MAX_RUNS];
    int np = 0, nr = 0, nc = 0;
    char id[STORE_ID_SIZE];
    if (!create(shape, id, NULL))
        return;
    for (int i = 0; i < n; i++) {
        if (dirty && !sh(id, touch_for(label)))
            printf("  (touching the RAM failed)\n");
        double a = pause_ms(id);
        if (a >= 0 && pause_costs(id, &sum[nc], &sync[nc], &mib[nc]))
            nc++;
        double b = a >= 0 ? resume_ms(id) : -1;
        if (a >= 0)
            p[np++] = a;
        if (b >= 0)
            r[nr++] = b;
    }
    char what[160];
    snprintf(what, sizeof(what), "pause %s%s (own RAM file)", label,
             dirty ? touched_label(label) : ", idle");
    report(what, p, np, label[0] == '1' && dirty ? "<= 100 ms" : NULL);
    if (nc > 0)
        printf("  of which the RAM file's checksum %.1f ms (%.0f MiB of data read) and its fsync "
               "%.1f ms (p50)\n",
               bench_percentile(sum, (size_t)nc, 50), bench_percentile(mib, (size_t)nc, 50),
               bench_percentile(sync, (size_t)nc, 50));
    snprintf(what, sizeof(what), "resume %s%s to agent-ready", label,
             dirty ? touched_label(label) : ", idle");
    report(what, r, nr, "<= 60 ms");
    destroy_one(g_port, g_key, id);
}

/* The first pause of sandboxes created from the golden snapshot (RAM mapped private). */
static void bench_first_pause(const char *shape, const char *label)
{
    int n = runs() / 2 > 0 ? runs() / 2 : 1;
    double p[MAX_RUNS];
    int np = 0;
    for (int i = 0; i < n; i++) {
        char id[STORE_ID_SIZE];
        if (!create(shape, id, NULL))
            return;
        double a = pause_ms(id);
        if (a >= 0)
            p[np++] = a;
        destroy_one(g_port, g_key, id);
    }
    char what[160];
    snprintf(what, sizeof(what), "first pause %s, idle, created from the golden snapshot (RAM "
                                 "split out of the stream)", label);
    report(what, p, np, NULL);
}

/* ---- fork ---- */

struct fork_job {
    char src[STORE_ID_SIZE], child[STORE_ID_SIZE];
    double ms;
    int status;
};

static void *fork_thread(void *arg)
{
    struct fork_job *j = arg;
    int64_t t0 = mono_now_us();
    char st[32] = "";
    j->status = post(j->src, "fork", "{}", j->child, st);
    j->ms = (double)(mono_now_us() - t0) / 1000.0;
    if (j->status == 200 && strcmp(st, "running") != 0)
        j->status = -1;
    return NULL;
}

static void bench_fork(const char *shape, const char *label, const char *written)
{
    char src[STORE_ID_SIZE];
    if (!create(shape, src, NULL))
        return;
    if (written && !sh(src, written))
        printf("  (writing failed)\n");
    if (pause_ms(src) < 0) {
        printf("fork %s: the source did not pause\n", label);
        destroy_one(g_port, g_key, src);
        return;
    }
    int n = runs();
    double v[MAX_RUNS];
    int nv = 0;
    for (int i = 0; i < n; i++) {
        struct fork_job j = { 0 };
        snprintf(j.src, sizeof(j.src), "%s", src);
        fork_thread(&j);
        if (j.status == 200)
            v[nv++] = j.ms;
        if (j.child[0])
            destroy_one(g_port, g_key, j.child);
    }
    char what[200];
    snprintf(what, sizeof(what), "fork -> running child, %s", label);
    report(what, v, nv, "<= 100 ms");
    destroy_one(g_port, g_key, src);
}

static void bench_fork_many(const char *shape)
{
    char src[STORE_ID_SIZE];
    if (!create(shape, src, NULL) || pause_ms(src) < 0)
        return;
    struct fork_job jobs[10];
    pthread_t th[10];
    int64_t t0 = mono_now_us();
    for (int i = 0; i < 10; i++) {
        jobs[i] = (struct fork_job){ 0 };
        snprintf(jobs[i].src, sizeof(jobs[i].src), "%s", src);
        pthread_create(&th[i], NULL, fork_thread, &jobs[i]);
    }
    double v[10];
    int nv = 0;
    for (int i = 0; i < 10; i++) {
        pthread_join(th[i], NULL);
        if (jobs[i].status == 200)
            v[nv++] = jobs[i].ms;
    }
    double wall = (double)(mono_now_us() - t0) / 1000.0;
    printf("fork, 10 at once (%s): %d ok, all running in %.0f ms\n", shape, nv, wall);
    report("  per fork", v, nv, NULL);
    /* memory each idle child adds: its QEMU's PSS (shared pages split among their users) */
    sleep(2);
    double pss_sum = 0, rss_sum = 0;
    int counted = 0;
    for (int i = 0; i < 10; i++) {
        if (jobs[i].status != 200)
            continue;
        long pss = -1, rss = -1;
        DIR *d = opendir("/proc");
        for (struct dirent *e; d && (e = readdir(d));) {
            if (e->d_name[0] < '1' || e->d_name[0] > '9')
                continue;
            char p[300], cmd[8192];
            snprintf(p, sizeof(p), "/proc/%s/cmdline", e->d_name);
            int fd = open(p, O_RDONLY | O_CLOEXEC);
            ssize_t len = fd >= 0 ? read(fd, cmd, sizeof(cmd) - 1) : -1;
            if (fd >= 0)
                close(fd);
            if (len <= 0)
                continue;
            for (ssize_t k = 0; k < len; k++)
                if (!cmd[k])
                    cmd[k] = ' ';
            cmd[len] = 0;
            if (!strstr(cmd, "qemu") || !strstr(cmd, jobs[i].child))
                continue;
            snprintf(p, sizeof(p), "/proc/%s/smaps_rollup", e->d_name);
            FILE *f = fopen(p, "r");
            char l[256];
            while (f && fgets(l, sizeof(l), f)) {
                sscanf(l, "Pss: %ld kB", &pss);
                sscanf(l, "Rss: %ld kB", &rss);
            }
            if (f)
                fclose(f);
        }
        if (d)
            closedir(d);
        if (pss > 0) {
            pss_sum += (double)pss;
            rss_sum += (double)rss;
            counted++;
        }
    }
    if (counted)
        printf("memory per idle fork (%s, %d children): PSS %.1f MiB, RSS %.1f MiB  (target <= "
               "10 MiB plus touched pages)\n",
               shape, counted, pss_sum / counted / 1024.0, rss_sum / counted / 1024.0);
    for (int i = 0; i < 10; i++)
        if (jobs[i].child[0])
            destroy_one(g_port, g_key, jobs[i].child);
    destroy_one(g_port, g_key, src);
}

/* ---- creates ---- */

static void bench_creates(const struct daemon *d, const char *shape, double *golden_p50)
{
    int n = runs();
    double v[MAX_RUNS];
    int nv = 0;
    char first[STORE_ID_SIZE];
    if (!create(shape, first, NULL) || !golden_ready(d, 1)) {
        printf("create from golden: no golden snapshot\n");
        return;
    }
    destroy_one(g_port, g_key, first);
    for (int i = 0; i < n; i++) {
        char id[STORE_ID_SIZE];
        double ms;
        if (create(shape, id, &ms))
            v[nv++] = ms;
        destroy_one(g_port, g_key, id);
    }
    report("create -> running from the golden snapshot (" "minimal" ")", v, nv, "<= 100 ms");
    *golden_p50 = nv ? bench_percentile(v, (size_t)nv, 50) : -1;
}

struct create_job {
    char id[STORE_ID_SIZE];
    double ms;
    bool ok;
    const char *shape;
};

static void *create_thread(void *arg)
{
    struct create_job *j = arg;
    j->ok = create(j->shape, j->id, &j->ms);
    return NULL;
}

/* Creates from the golden snapshot, 2 in flight, for a fixed count: the sustained rate. */
static void bench_create_rate(const char *shape)
{
    enum { N = 20, WIDTH = 2 };
    struct create_job jobs[N];
    int64_t t0 = mono_now_us();
    int ok = 0;
    for (int base = 0; base < N; base += WIDTH) {
        pthread_t th[WIDTH];
        for (int i = 0; i < WIDTH; i++) {
            jobs[base + i] = (struct create_job){ .shape = shape };
            pthread_create(&th[i], NULL, create_thread, &jobs[base + i]);
        }
        for (int i = 0; i < WIDTH; i++) {
            pthread_join(th[i], NULL);
            ok += jobs[base + i].ok;
        }
    }
    double s = (double)(mono_now_us() - t0) / 1e6;
    printf("creates sustained (%s, golden, %d in flight, %d creates, all left running): %d ok in "
           "%.2f s = %.1f creates/s  (target >= 10)\n",
           shape, WIDTH, N, ok, s, ok / s);
    for (int i = 0; i < N; i++)
        if (jobs[i].ok)
            destroy_one(g_port, g_key, jobs[i].id);
}

/* ---- below the API: ours against a plain full-RAM migration ---- */

/* Migrates vm's whole state (RAM included: the VM maps its RAM private) to path. The socket
 * lives in the VM's run dir, the one host directory its confined QEMU sees, and is opened to
 * QEMU's uid; QEMU has 60 s to connect. */
static int plain_save(struct bvm *vm, const char *path, struct herr *e)
{
    int64_t dl = mono_now_us() + 60000000;
    char sock[PATH_MAX];
    if (host_vm_run_dir(vm->h, vm->id, sock, sizeof(sock) - 16) < 0)
        return herr_set(e, -ENAMETOOLONG, "run dir path too long");
    strcat(sock, "/plain.sock");
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(sock) >= sizeof(sa.sun_path))
        return herr_set(e, -ENAMETOOLONG, "socket path too long");
    memcpy(sa.sun_path, sock, strlen(sock) + 1);
    unlink(sock);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0 ||
        chmod(sock, 0666) < 0)
        return herr_set(e, -errno, "socket: %s", strerror(errno));
    const char *caps = "{\"capabilities\":[{\"capability\":\"x-ignore-shared\",\"state\":true}]}";
    const char *bw = "{\"max-bandwidth\":1099511627776}";
    char mig[PATH_MAX + 32];
    snprintf(mig, sizeof(mig), "{\"uri\":\"unix:%s\"}", sock);
    int r = host_sync_vm_qmp(vm->s, vm->id, "stop", NULL, dl, NULL, e);
    if (r == 0)
        r = host_sync_vm_qmp(vm->s, vm->id, "migrate-set-capabilities", caps, dl, NULL, e);
    if (r == 0)
        r = host_sync_vm_qmp(vm->s, vm->id, "migrate-set-parameters", bw, dl, NULL, e);
    if (r == 0)
        r = host_sync_vm_qmp(vm->s, vm->id, "migrate", mig, dl, NULL, e);
    struct pollfd pfd = { .fd = lfd, .events = POLLIN };
    int cfd = r == 0 && poll(&pfd, 1, 60000) == 1 ? accept4(lfd, NULL, NULL, SOCK_CLOEXEC) : -1;
    int out = cfd >= 0 ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    static char buf[1 << 20];
    for (ssize_t n; out >= 0 && (n = read(cfd, buf, sizeof(buf))) > 0;)
        if (write(out, buf, (size_t)n) != n)
            r = -EIO;
    if (out >= 0) {
        fsync(out);
        close(out);
    }
    if (cfd >= 0)
        close(cfd);
    close(lfd);
    if (r == 0 && cfd < 0)
        r = herr_set(e, -EIO, "QEMU did not connect");
    for (int i = 0; r == 0 && i < 10000; i++) {
        char *ret = NULL;
        if ((r = host_sync_vm_qmp(vm->s, vm->id, "query-migrate", NULL, dl, &ret, e)) < 0)
            break;
        json_t *j = json_loads(ret, 0, NULL);
        free(ret);
        const char *st = json_string_value(json_object_get(j, "status"));
        bool done = st && strcmp(st, "completed") == 0;
        json_decref(j);
        if (done)
            break;
        usleep(1000);
    }
    /* QEMU may close the socket before its answer: the exit shows on the pidfd */
    (void)host_sync_vm_qmp(vm->s, vm->id, "quit", NULL, dl, NULL, NULL);
    return r;
}

/* Touches the guest's RAM through the agent (touch_for()); true when it ran. */
static bool bvm_touch(struct bvm *vm, const char *script)
{
    const char *argv[] = { "sh", "-c", script, NULL };
    struct agent_exec_req req = { .argv = argv };
    struct agent_exec_result r = { 0 };
    struct herr e = { 0 };
    int rc = host_sync_exec(vm->s, vm->id, &req, 4096, mono_now_us() + 300000000, &r, &e);
    bool ok = rc == 0 && r.exit_code == 0;
    agent_exec_result_release(&r);
    if (!ok)
        printf("plain migration: touching the RAM failed: %s\n", rc < 0 ? e.msg : "exit");
    return ok;
}

/* Ours against QEMU's plain full-RAM migration of the same guest: mem_mib of RAM, touch (a
 * script, NULL: idle) run once after the boot, so both sides carry the same pages. */
static void bench_plain_migration(unsigned mem_mib, const char *touch, const char *label,
                                  const char *target)
{
    char kernel[PATH_MAX], rootfs[PATH_MAX], tmp[] = "/tmp/hearth-bench-mig.XXXXXX";
    snprintf(kernel, sizeof(kernel), "%s/vmlinux", images_dir());
    snprintf(rootfs, sizeof(rootfs), "%s/minimal.ext4", images_dir());
    if (!mkdtemp(tmp))
        return;
    /* unconfined on both sides: a confined clone copies the base's RAM into a file it maps
     * shared, which x-ignore-shared (both sides need it: it changes the stream's format) would
     * then leave out of the plain stream; unconfined, the clone maps the snapshot's RAM
     * private and the plain stream carries every page, as a plain migration does */
    struct bvm_config c = { .kernel = kernel, .rootfs = rootfs, .vcpus = 1,
                            .memory_mib = mem_mib, .boot_timeout_ms = 120000, .no_jail = true };
    struct herr e = { 0 };
    char ours[PATH_MAX], plain[PATH_MAX], path[PATH_MAX + 32];
    snprintf(ours, sizeof(ours), "%s/ours", tmp);
    snprintf(plain, sizeof(plain), "%s/plain", tmp);
    int n = runs();
    double os[MAX_RUNS], orr[MAX_RUNS], ps[MAX_RUNS], pr[MAX_RUNS];
    int nos = 0, nor = 0, nps = 0, npr = 0;
    struct bvm *vm = NULL;
    if (bvm_start(&c, NULL, &vm, &e) < 0) {
        printf("plain migration: boot failed: %s\n", e.msg);
        goto out;
    }
    if (touch && !bvm_touch(vm, touch)) {
        bvm_free(vm);
        goto out;
    }
    int64_t t0 = mono_now_us();
    if (bvm_save(vm, ours, &e) < 0) {
        printf("plain migration: our save failed: %s\n", e.msg);
        bvm_free(vm);
        goto out;
    }
    os[nos++] = (double)(mono_now_us() - t0) / 1000.0;
    bvm_free(vm);
    for (int i = 0; i < n; i++) {
        /* ours: restore (RAM mapped from the snapshot's file) */
        t0 = mono_now_us();
        if (bvm_start(&c, ours, &vm, &e) < 0) {
            printf("plain migration: our restore failed: %s\n", e.msg);
            goto out;
        }
        orr[nor++] = (double)(mono_now_us() - t0) / 1000.0;
        /* plain: the same guest's whole state (every RAM page) into one stream file */
        mkdir(plain, 0700);
        snprintf(path, sizeof(path), "%s/state", plain);
        t0 = mono_now_us();
        int r = plain_save(vm, path, &e);
        double save = (double)(mono_now_us() - t0) / 1000.0;
        (void)host_sync_vm_wait_exit(vm->s, vm->id, mono_now_us() + 10000000, NULL);
        bvm_free(vm);
        vm = NULL;
        if (r < 0) {
            printf("plain migration: save failed: %s\n", e.msg);
            goto out;
        }
        ps[nps++] = save;
        /* a restore from it: an empty RAM file, every page loaded from the stream */
        char disk[PATH_MAX + 32];
        snprintf(disk, sizeof(disk), "%s/disk.qcow2", ours);
        double ms = 0;
        if (plainmig_restore(kernel, disk, mem_mib, path, plain, &ms, &e) < 0) {
            printf("plain migration: restore failed: %s\n", e.msg);
            goto out;
        }
        pr[npr++] = ms;
        struct stat st;
        snprintf(path, sizeof(path), "%s/state", plain);
        if (i == 0 && stat(path, &st) == 0)
            printf("plain migration stream, %s minimal guest: %.1f MiB (ours: ~0.05 MiB of "
                   "device state)\n",
                   label, (double)st.st_size / 1048576.0);
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", plain);
        if (system(cmd) != 0)
            break;
    }
    char what[200];
    snprintf(what, sizeof(what), "ours, %s: save (cold-booted VM, device state only)", label);
    report(what, os, nos, NULL);
    snprintf(what, sizeof(what), "ours, %s: restore to READY", label);
    report(what, orr, nor, NULL);
    snprintf(what, sizeof(what), "plain full-RAM migration, %s: save", label);
    report(what, ps, nps, NULL);
    snprintf(what, sizeof(what), "plain full-RAM migration, %s: restore to running (QEMU "
             "alone, no agent round trip)", label);
    report(what, pr, npr, NULL);
    if (nor && npr)
        printf("restore %s, plain / ours: %.1fx%s%s%s\n", label,
               bench_percentile(pr, (size_t)npr, 50) / bench_percentile(orr, (size_t)nor, 50),
               target ? "  (target " : "", target ? target : "", target ? ")" : "");
out:
    bvm_free(vm);
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", tmp);
}

/* ---- main ---- */

static bool start(struct daemon *d, const char *conf, char key[128])
{
    if (!daemon_prepare_conf(d, conf) || !daemon_start(d))
        return false;
    char p[256];
    snprintf(p, sizeof(p), "%s/admin.key", d->data);
    FILE *f = fopen(p, "r");
    bool ok = f && fscanf(f, "%127s", key) == 1;
    if (f)
        fclose(f);
    g_key = key;
    g_port = d->port;
    g_data = d->data;
    return ok;
}

int main(void)
{
    char kpath[PATH_MAX];
    snprintf(kpath, sizeof(kpath), "%s/vmlinux", images_dir());
    if (access(kpath, R_OK) != 0) {
        printf("bench_snapshots: skipped: no %s (make images)\n", kpath);
        return 0;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    static char key[128];
    const char *only = getenv("BENCH_SNAP_ONLY");
    if (only && strcmp(only, "pause") == 0) {
        struct daemon d = { .pid = -1 };
        bool ok = start(&d, NULL, key);
        if (ok) {
            bench_pause_resume("s-1vcpu-1gb", "1 GiB", false);
            bench_pause_resume("s-1vcpu-1gb", "1 GiB", true);
        }
        daemon_stop(&d);
        return ok ? 0 : 1;
    }
    if (only && strcmp(only, "plain") == 0) {
        bench_plain_migration(256, NULL, "idle 256 MiB", NULL);
        bench_plain_migration(1024, TOUCH_500MB, "1 GiB, 500 MB touched", ">= 10x");
        return 0;
    }
    struct daemon cold = { .pid = -1 };
    double cold_p50 = -1;
    /* cold boots: a hearthd with golden snapshots off */
    if (start(&cold, "golden_snapshots = off\n", key)) {
        int n = runs() / 2 > 2 ? runs() / 2 : 3;
        double v[MAX_RUNS];
        int nv = 0;
        for (int i = 0; i < n; i++) {
            char id[STORE_ID_SIZE];
            double ms;
            if (create("s-1vcpu-256mb", id, &ms))
                v[nv++] = ms;
            destroy_one(g_port, g_key, id);
        }
        report("create -> running, cold boot (minimal)", v, nv, NULL);
        cold_p50 = nv ? bench_percentile(v, (size_t)nv, 50) : -1;
    }
    daemon_stop(&cold);

    struct daemon d = { .pid = -1 };
    if (!start(&d, NULL, key)) {
        printf("bench_snapshots: hearthd did not start\n");
        daemon_stop(&d);
        return 1;
    }
    double golden_p50 = -1;
    bench_creates(&d, "s-1vcpu-256mb", &golden_p50);
    if (golden_p50 > 0 && cold_p50 > 0)
        printf("create: cold boot / golden restore: %.1fx\n", cold_p50 / golden_p50);
    bench_pause_resume("s-1vcpu-256mb", "256 MiB", false);
    bench_pause_resume("s-1vcpu-256mb", "256 MiB", true);
    bench_pause_resume("s-1vcpu-1gb", "1 GiB", false);
    bench_pause_resume("s-1vcpu-1gb", "1 GiB", true);
    bench_first_pause("s-1vcpu-256mb", "256 MiB");
    bench_first_pause("s-1vcpu-1gb", "1 GiB");
    bench_fork("s-1vcpu-256mb", "256 MiB, 10 MB written",
               "head -c 10000000 /dev/urandom > /root/w; sync");
    bench_fork("s-1vcpu-256mb", "256 MiB, 1 GB written",
               "dd if=/dev/zero of=/root/w bs=1M count=1000 2>/dev/null; sync");
    bench_fork("s-1vcpu-2gb", "2 GiB, 10 MB written",
               "head -c 10000000 /dev/urandom > /root/w; sync");
    bench_fork("s-1vcpu-2gb", "2 GiB, 1 GB written",
               "dd if=/dev/zero of=/root/w bs=1M count=1000 2>/dev/null; sync");
    bench_fork("s-1vcpu-1gb", "1 GiB, idle", NULL);
    bench_fork("s-1vcpu-1gb", "1 GiB, 500 MB touched", TOUCH_500MB);
    bench_fork_many("s-1vcpu-256mb");
    bench_create_rate("s-1vcpu-256mb");
    daemon_stop(&d);
    bench_plain_migration(256, NULL, "idle 256 MiB", NULL);
    bench_plain_migration(1024, TOUCH_500MB, "1 GiB, 500 MB touched", ">= 10x");
    return 0;
}
