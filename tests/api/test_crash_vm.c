/* SPDX-License-Identifier: MIT */
/* test_crash_vm.c: the crash-point harness (docs/operations.md "Crash points"). For each named
 * step of create, pause, resume, fork (paused and live), destroy, resize and network attach/detach, hearthd is
 * started with HEARTH_CRASH_AT=<step>, the operation is driven through the HTTP API, hearthd
 * must die by SIGKILL at that step, and a restart without the variable must leave: no row in a
 * transition, every QEMU a running row's (none orphaned), one run dir per running row, taps
 * only for running and paused rows, and every row usable: running ones answer an exec, paused
 * and error ones resume, failed ones can be deleted. At the end every sandbox is deleted and
 * nothing may be left: no QEMU, run dir, tap, cgroup or snapshot file (one cgroup per running
 * row after every restart: the cgroup layout of this host, v1 or v2). Real VMs and a real hearthd;
 * one sandbox is shared by most steps (it survives each crash), so the run is a few minutes. */
#include "apitest.h"
#include "daemon/config.h"
#include "daemon/host/cgroup.h"
#include "vmfx.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define SMALL "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"minimal\"}"

static int snap_files;

/* The cgroup layout the test's hearthd uses (cgroup_root of its own), CGROUP_NONE without. */
static struct cgroup_layout cg;

/* VM cgroups now: the sandbox directories under the layout's root of the pids controller
 * (every VM has one in each hierarchy, so one controller tells). */
static int cgroups_left(void)
{
    if (cg.kind == CGROUP_NONE || !cg.root[CGROUP_CTRL_PIDS][0])
        return 0;
    DIR *d = opendir(cg.root[CGROUP_CTRL_PIDS]);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += strncmp(de->d_name, "sb-", 3) == 0;
    closedir(d);
    return n;
}
static int count_file(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    snap_files += flag == FTW_F;
    return 0;
}

/* Regular files under data/snapshots. */
static int snapshot_files(const struct vfx *f)
{
    char p[300];
    snprintf(p, sizeof(p), "%s/snapshots", f->s.data);
    snap_files = 0;
    (void)nftw(p, count_file, 16, FTW_PHYS);
    return snap_files;
}

/* Rows in state st. */
static long long rows(struct vfx *f, const char *st)
{
    char t[128];
    struct hresp r;
    snprintf(t, sizeof(t), "/v1/sandboxes?status=%s&limit=100", st);
    if (http_do(f->s.port, "GET", t, f->hdr, NULL, &r) != 0)
        return -1;
    long long n = r.status == 200 ? jint(r.json, "data.pagination.total") : -1;
    hresp_free(&r);
    return n;
}

/* The ids of the rows in state st, up to max. */
static size_t ids_in(struct vfx *f, const char *st, char ids[][64], size_t max)
{
    char t[128];
    struct hresp r;
    snprintf(t, sizeof(t), "/v1/sandboxes?status=%s&limit=100", st);
    size_t n = 0;
    if (http_do(f->s.port, "GET", t, f->hdr, NULL, &r) == 0 && r.status == 200) {
        size_t i;
        json_t *it;
        json_array_foreach(jpath(r.json, "data.data"), i, it) {
            const char *id = json_string_value(json_object_get(it, "id"));
            if (id && n < max)
                snprintf(ids[n++], 64, "%s", id);
        }
    }
    hresp_free(&r);
    return n;
}

/* The invariants after a restart (see the file comment). */
static bool world_ok(struct vfx *f, const char *step)
{
    static const char *const moving[] = { "creating", "pausing", "resuming", "forking",
                                           "destroying" };
    for (size_t i = 0; i < sizeof(moving) / sizeof(moving[0]); i++)
        if (rows(f, moving[i]) != 0)
            harness_fail(__FILE__, __LINE__, "step %s: %lld rows left %s", step,
                         rows(f, moving[i]), moving[i]);
    long long running = rows(f, "running"), paused = rows(f, "paused");
    int q = qemu_left(f, false), d = run_dirs(f), t = vfx_taps(f), c = cgroups_left();
    bool cg_ok = cg.kind == CGROUP_NONE || c == running;
    if (q != running || d != running || t > running + paused || !cg_ok)
        harness_fail(__FILE__, __LINE__, "step %s: %lld running, %lld paused rows; %d QEMUs, "
                                         "%d run dirs, %d taps, %d cgroups", step, running,
                     paused, q, d, t, c);
    REQUIRE(q == running && d == running && t <= running + paused && cg_ok);
    /* every running row answers */
    char ids[32][64], out[256];
    size_t n = ids_in(f, "running", ids, 32);
    for (size_t i = 0; i < n; i++)
        REQUIRE(exec_stdout(f, ids[i], "{\"cmd\":\"true\"}", out, sizeof(out)));
    return true;
}

static bool post_wait(struct vfx *f, const char *id, const char *verb, const char *want)
{
    char t[160], st[32];
    struct hresp r;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/%s", id, verb);
    REQUIRE(http_do(f->s.port, "POST", t, f->hdr, "", &r) == 0);
    int code = r.status;
    hresp_free(&r);
    REQUIRE(code == 200 || code == 202);
    for (int i = 0; i < 600 && strcmp(status_of(f, id, st), want) != 0; i++)
        usleep(100 * 1000);
    if (strcmp(st, want) != 0)
        harness_fail(__FILE__, __LINE__, "%s %s: %s, want %s", verb, id, st, want);
    REQUIRE(strcmp(st, want) == 0);
    return true;
}

/* A crash during a create: the new row ends failed (never creating), no QEMU, tap or run dir
 * of it survives, and it can be deleted. */
static bool crash_create(struct vfx *f, const char *step)
{
    long long failed0 = rows(f, "failed");
    REQUIRE(vfx_start_armed(f, step));
    REQUIRE(vfx_died_and_restarted(f, step, send_only(f, "POST", "/v1/sandboxes", SMALL)));
    REQUIRE(world_ok(f, step));
    REQUIRE(rows(f, "failed") == failed0 + 1);
    return true;
}

static void crash_body(struct vfx *f)
{
    char a[64], st[32], t[160], out[4096];
    struct hresp r;
    int64_t t0 = (int64_t)harness_now_us();
    CHECK(create(f, SMALL, a));
    CHECK(exec_stdout(f, a, "{\"cmd\":\"sh\",\"args\":[\"-c\",\"echo kept > /root/mark\"]}",
                      out, sizeof(out)));
    /* ---- create ---- */
    CHECK(crash_create(f, "create-after-tap"));
    CHECK(crash_create(f, "spawn-before-pidfile"));
    CHECK(crash_create(f, "create-vm-ready"));
    CHECK(crash_create(f, "create-before-running"));
    /* ---- the shared sandbox a through pause, fork, resume, resize and networks ---- */
    static const struct {
        const char *at, *method, *path, *body;
        const char *need; /* a's state first ("running": resumed if it is not), or NULL */
        const char *want; /* a's state after the restart */
    } steps[] = {
        /* live fork: stopped, continued and unsealed, sealed without children: the source
         * runs on, no child, no snapshot */
        { "livefork-stopped", "POST", "fork", "{\"count\":2}", "running", "running" },
        { "livefork-after-cont", "POST", "fork", "{}", "running", "running" },
        { "livefork-before-children", "POST", "fork", "{}", "running", "running" },
        /* pause: before the snapshot is sealed the VM goes on; after, it is paused */
        { "pause-after-pausing", "POST", "pause", "", "running", "running" },
        { "pause-before-meta", "POST", "pause", "", "running", "running" },
        { "pause-before-quit", "POST", "pause", "", "running", "paused" },
        { "pause-before-commit", "POST", "pause", "", "running", "paused" },
        /* fork of the paused sandbox: the child fails, the source is untouched */
        { "fork-after-insert", "POST", "fork", "{}", "paused", "paused" },
        /* resume: before the VM runs, error (resumable); after, running */
        { "restore-after-resuming", "POST", "resume", "", "paused", "error" },
        { "spawn-before-pidfile", "POST", "resume", "", "error", "error" },
        { "restore-vm-ready", "POST", "resume", "", "error", "running" },
        { "resize-disk-grown", "POST", "resize", "{\"disk_mib\":11264}", "running", "running" },
        { "net-attach-stored", "POST", "networks", "{\"id\":\"crashnet\"}", "running",
          "running" },
        { "net-detach-stored", "DELETE", "networks/crashnet", "", "running", "running" },
    };
    CHECK(call(f, "POST", "/v1/networks", "{\"name\":\"crashnet\"}", 200, &r));
    hresp_free(&r);
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        if (strcmp(steps[i].need, "running") == 0 && strcmp(status_of(f, a, st), "running"))
            CHECK(post_wait(f, a, "resume", "running"));
        CHECK_STR(status_of(f, a, st), steps[i].need);
        CHECK(vfx_start_armed(f, steps[i].at));
        snprintf(t, sizeof(t), "/v1/sandboxes/%s/%s", a, steps[i].path);
        CHECK(vfx_died_and_restarted(f, steps[i].at,
                                 send_only(f, steps[i].method, t, steps[i].body)));
        CHECK(world_ok(f, steps[i].at));
        CHECK_STR(status_of(f, a, st), steps[i].want);
    }
    /* the guest survived every crash with its files, and the API acts on it again */
    CHECK(exec_stdout(f, a, "{\"cmd\":\"cat\",\"args\":[\"/root/mark\"]}", out, sizeof(out)));
    CHECK_STR(out, "kept\n");
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/resize", a);
    CHECK(call(f, "POST", t, "{\"disk_mib\":12288}", 200, &r));
    hresp_free(&r);
    CHECK(call(f, "DELETE", "/v1/networks/crashnet", NULL, 200, &r));
    hresp_free(&r);
    /* ---- destroy ---- */
    static const char *const destroys[] = { "destroy-after-destroying", "destroy-vm-gone" };
    for (size_t i = 0; i < 2; i++) {
        char b[64];
        CHECK(create(f, SMALL, b));
        CHECK(vfx_start_armed(f, destroys[i]));
        snprintf(t, sizeof(t), "/v1/sandboxes/%s", b);
        CHECK(vfx_died_and_restarted(f, destroys[i], send_only(f, "DELETE", t, "")));
        CHECK(world_ok(f, destroys[i]));
        CHECK_STR(status_of(f, b, st), "destroyed");
    }
    /* ---- the end: every sandbox goes, and nothing is left behind ---- */
    static const char *const live[] = { "running", "paused", "error", "failed" };
    for (size_t k = 0; k < 4; k++) {
        char ids[32][64];
        size_t n = ids_in(f, live[k], ids, 32);
        for (size_t i = 0; i < n; i++)
            CHECK(destroy(f, ids[i]));
    }
    for (int i = 0; i < 100 && (qemu_left(f, false) || run_dirs(f) || vfx_taps(f)); i++)
        usleep(100 * 1000);
    CHECK_EQ(qemu_left(f, false), 0);
    CHECK_EQ(run_dirs(f), 0);
    CHECK_EQ(vfx_taps(f), 0);
    CHECK_EQ(snapshot_files(f), 0);
    CHECK_EQ(cgroups_left(), 0);
    fprintf(stderr, "crash harness: %d steps in %.0f s\n", 22,
            (double)((int64_t)harness_now_us() - t0) / 1e6);
}

TEST_SLOW(crash_points_leave_nothing_lost_or_orphaned, 1500)
{
    /* a cgroup root of this test's own, so the count sees only its VMs */
    char root[128], conf[256], note[512];
    snprintf(root, sizeof(root), "/sys/fs/cgroup/hearth-crash-%d", (int)getpid());
    if (geteuid() != 0 || cgroup_detect(root, &cg, note, sizeof(note)) < 0)
        cg.kind = CGROUP_NONE;
    snprintf(conf, sizeof(conf), "golden_snapshots = off\ncgroup_root = %s\n",
             cg.kind == CGROUP_NONE ? "off" : root);
    struct vfx f;
    if (vfx_start_conf(&f, conf))
        crash_body(&f);
    vfx_end(&f); /* also after a failed check: no QEMU may outlive the test */
    if (cg.kind != CGROUP_NONE) {
        (void)cgroup_layout_prune(&cg, NULL, NULL);
        for (int c = 0; c < CGROUP_CTRL_COUNT; c++)
            if (cg.root[c][0])
                (void)rmdir(cg.root[c]);
    }
}
