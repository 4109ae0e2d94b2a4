/* SPDX-License-Identifier: MIT */
/* test_snapstore_vm.c: snapshots on S3 (docs/snapshots.md "Snapshots on S3") with real microVMs
 * and a real s3rver: a pause becomes durable (event, store), the local copy is evicted (cache
 * budget 0), and a resume fetches it back with the guest's process and files intact; a fork of
 * an evicted paused sandbox; two sandboxes of one golden share chunks; S3 down during the
 * upload leaves the sandbox paused, resumable locally, not durable and never evicted, and a
 * hearthd restart while it is down resumes the upload once S3 is back; a corrupted chunk makes
 * the resume fail with the reason while the sandbox stays paused, and resumable once the chunk
 * is whole again. */
#include "apitest.h"
#include "vmfx.h"
#include "s3/s3fx.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/snapstore/chunk.h"
#include "daemon/snapstore/manifest.h"
#include "daemon/snapstore/remote.h"

#define SMALL "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"minimal\"}"
#define COUNTER                                                                                  \
    "{\"cmd\":\"sh\",\"args\":[\"-c\",\"setsid sh -c 'i=0; while :; do i=$((i+1)); echo $i > "  \
    "/tmp/cnt; sleep 0.1; done' </dev/null >/dev/null 2>&1 & echo before-pause > /root/mark; "   \
    "sync\"]}"
#define BUCKET "hearth-snaps"

struct sfx {
    struct vfx v;
    struct s3fx s3;
    char secret[64];                /* the secret key file */
    struct snap_remote remote;
};

static bool sfx_start(struct sfx *f, const char *extra)
{
    memset(f, 0, sizeof(*f));
    if (!getenv("HEARTH_IMAGES"))
        harness_skip("HEARTH_IMAGES with vmlinux is needed");
    if (!s3fx_start(&f->s3, BUCKET))
        return false;
    snprintf(f->secret, sizeof(f->secret), "/tmp/hearth-s3snap-key-XXXXXX");
    int fd = mkstemp(f->secret);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, "S3RVER\n", 7) == 7);
    close(fd);
    char conf[1024];
    snprintf(conf, sizeof(conf),
             "snapshot_store = s3\nsnapshot_s3_endpoint = %s\nsnapshot_s3_bucket = " BUCKET
             "\nsnapshot_s3_access_key = S3RVER\nsnapshot_s3_secret_key_file = %s\n"
             "snapshot_cache_mib = 0\n%s",
             f->s3.endpoint, f->secret, extra ? extra : "");
    snprintf(f->remote.endpoint, sizeof(f->remote.endpoint), "%s", f->s3.endpoint);
    snprintf(f->remote.bucket, sizeof(f->remote.bucket), BUCKET);
    snprintf(f->remote.access_key, sizeof(f->remote.access_key), "S3RVER");
    snprintf(f->remote.secret_key, sizeof(f->remote.secret_key), "S3RVER");
    f->remote.path_style = true;
    return vfx_start_conf(&f->v, conf);
}

static void sfx_end(struct sfx *f)
{
    vfx_end(&f->v);
    s3fx_stop(&f->s3);
    unlink(f->secret);
}

/* Stops s3rver, keeping its files (S3 is "down"). */
static void s3_down(struct sfx *f)
{
    if (f->s3.pid > 0) {
        kill(-f->s3.pid, SIGKILL);
        kill(f->s3.pid, SIGKILL);
        int st;
        (void)waitpid(f->s3.pid, &st, 0);
        f->s3.pid = 0;
    }
}

/* Starts s3rver again on the same port and files. */
static bool s3_up(struct sfx *f)
{
    char port[16];
    snprintf(port, sizeof(port), "%u", f->s3.port);
    f->s3.pid = fork();
    if (f->s3.pid == 0) {
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
        }
        execl("tests/s3/s3rver.sh", "s3rver.sh", "run", "-d", f->s3.dir, "-a", "127.0.0.1", "-p",
              port, "--silent", "--configure-bucket", BUCKET, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 300; i++) {
        if (s3fx_connects(f->s3.port))
            return true;
        usleep(100 * 1000);
    }
    harness_fail(__FILE__, __LINE__, "s3rver did not come back");
    return false;
}

/* How many events of kind id has. */
static int events_of(struct sfx *f, const char *id, const char *kind)
{
    char t[160], pat[64];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/events?limit=256", id);
    snprintf(pat, sizeof(pat), "\"kind\":\"%s\"", kind);
    struct hresp r;
    if (!call(&f->v, "GET", t, NULL, 200, &r))
        return -1;
    int n = 0;
    for (const char *p = r.body; p && (p = strstr(p, pat)); p += strlen(pat))
        n++;
    hresp_free(&r);
    return n;
}

/* Waits (<= timeout_s) until id has at least n events of kind. */
static bool wait_events(struct sfx *f, const char *id, const char *kind, int n, int timeout_s)
{
    for (int i = 0; i < timeout_s * 4; i++) {
        if (events_of(f, id, kind) >= n)
            return true;
        usleep(250 * 1000);
    }
    harness_fail(__FILE__, __LINE__, "no %d '%s' events of %s in %d s", n, kind, id, timeout_s);
    return false;
}

/* Complete local snapshots (with meta.json) of sandbox id. */
static int local_snapshots(struct sfx *f, const char *id)
{
    char pat[300];
    snprintf(pat, sizeof(pat), "%s/snapshots/%s/*/meta.json", f->v.s.data, id);
    glob_t g;
    int n = glob(pat, 0, NULL, &g) == 0 ? (int)g.gl_pathc : 0;
    globfree(&g);
    return n;
}

static long counter(struct sfx *f, const char *id)
{
    char out[64];
    return exec_sh_trim(&f->v, id, "cat /tmp/cnt", out, sizeof(out)) ? strtol(out, NULL, 10) : -1;
}

static bool post(struct sfx *f, const char *id, const char *what, const char *body, int want)
{
    char t[160];
    struct hresp r;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/%s", id, what);
    bool ok = call(&f->v, "POST", t, body, want, &r);
    hresp_free(&r);
    return ok;
}

static bool pause_sb(struct sfx *f, const char *id)
{
    return post(f, id, "pause", NULL, 202) && wait_status_ms(&f->v, id, "paused", 60000);
}

/* The guest's counter runs on and its file is there. */
static void check_guest(struct sfx *f, const char *id)
{
    char out[128];
    long c1 = counter(f, id);
    CHECK(c1 > 0);
    usleep(400 * 1000);
    CHECK(counter(f, id) > c1);
    CHECK(exec_sh_trim(&f->v, id, "cat /root/mark", out, sizeof(out)));
    CHECK_STR(out, "before-pause");
}

/* The object keys under prefix: how many. */
static int count_keys(struct sfx *f, const char *prefix)
{
    struct snap_conn c;
    char why[DISK_S3_WHY_SIZE];
    char *xml = NULL;
    if (snap_remote_connect(&f->remote, &c, why) < 0 ||
        disk_s3_list(&c.s3, prefix, 16u << 20, &xml, why) < 0) {
        harness_fail(__FILE__, __LINE__, "list '%s': %s", prefix, why);
        return -1;
    }
    int n = 0;
    for (const char *p = xml; (p = strstr(p, "<Key>")); p += 5)
        n++;
    free(xml);
    return n;
}

/* The last key under prefix into out. */
static bool last_key(struct sfx *f, const char *prefix, char *out, size_t size)
{
    struct snap_conn c;
    char why[DISK_S3_WHY_SIZE];
    char *xml = NULL;
    REQUIRE(snap_remote_connect(&f->remote, &c, why) == 0);
    REQUIRE(disk_s3_list(&c.s3, prefix, 16u << 20, &xml, why) == 0);
    /* the last key: ULIDs sort by time, so under a sandbox's prefix the newest snapshot */
    const char *k = NULL, *e = NULL;
    for (const char *p = xml; (p = strstr(p, "<Key>")); p += 5)
        k = p;
    e = k ? strstr(k, "</Key>") : NULL;
    bool ok = k && e && (size_t)(e - k - 5) < size;
    if (ok) {
        memcpy(out, k + 5, (size_t)(e - k - 5));
        out[e - k - 5] = '\0';
    }
    free(xml);
    return ok;
}

static long long metric(struct sfx *f, const char *series)
{
    struct hresp r;
    if (http_do(f->v.s.metrics_port, "GET", "/metrics", NULL, NULL, &r) < 0)
        return -1;
    char line[200]; /* at a line's start: the HELP line names the series too */
    snprintf(line, sizeof(line), "\n%s", series);
    const char *p = r.body ? strstr(r.body, line) : NULL;
    long long v = p ? strtoll(p + strlen(line), NULL, 10) : -1;
    hresp_free(&r);
    return v;
}

/* A first sandbox boots cold and builds the golden snapshot in the background: waits (<= 180 s)
 * until it is there, so that the sandboxes after it restore it (their disks stand on its layer
 * and their RAM starts as its pages). */
static bool golden_ready(struct sfx *f)
{
    char w[64], pat[300];
    if (!create(&f->v, SMALL, w))
        return false;
    snprintf(pat, sizeof(pat), "%s/golden/*/meta.json", f->v.s.data);
    bool ok = false;
    for (int i = 0; i < 720 && !ok; i++) {
        glob_t g;
        ok = glob(pat, 0, NULL, &g) == 0 && g.gl_pathc > 0;
        globfree(&g);
        if (!ok)
            usleep(250 * 1000);
    }
    (void)destroy(&f->v, w); /* fails the test itself when it must */
    if (!ok)
        harness_fail(__FILE__, __LINE__, "no golden snapshot after 180 s");
    return ok;
}

/* pause → durable → evicted → resume from S3 (process, files); fork of an evicted snapshot;
 * a second sandbox of the same golden shares chunks; a corrupted chunk. */
static void evict_body(struct sfx *f)
{
    char a[64], b[64], child[64], st[32];
    char out[256];
    if (!golden_ready(f) || !create(&f->v, SMALL, a))
        return;
    CHECK(exec_stdout(&f->v, a, COUNTER, out, sizeof(out)));
    CHECK(pause_sb(f, a));
    CHECK(wait_events(f, a, "snapshot_durable", 1, 120));
    /* budget 0: the durable snapshot's local copy is gone; the sandbox is still paused */
    for (int i = 0; i < 40 && local_snapshots(f, a) > 0; i++)
        usleep(250 * 1000);
    CHECK_EQ(local_snapshots(f, a), 0);
    CHECK_STR(status_of(&f->v, a, st), "paused");
    CHECK(metric(f, "hearth_snapshot_uploads_total ") >= 1);
    CHECK(metric(f, "hearth_snapshot_cache_evictions_total ") >= 1);
    long long stored = metric(f, "hearth_snapshot_upload_chunks_total{result=\"stored\"} ");
    int chunks = count_keys(f, "chunks/");
    CHECK(chunks > 0);
    CHECK_EQ(chunks, stored);
    CHECK(count_keys(f, "layers/golden/") >= 1); /* the disk's golden base went up once */

    /* resume fetches it back */
    CHECK(post(f, a, "resume", NULL, 202));
    CHECK(wait_status_ms(&f->v, a, "running", 120000));
    CHECK_EQ(events_of(f, a, "snapshot_fetched"), 1);
    check_guest(f, a);

    /* two sandboxes from one golden share chunks: b's upload stores fewer than it covers */
    if (create(&f->v, SMALL, b)) {
        CHECK(pause_sb(f, b));
        CHECK(wait_events(f, b, "snapshot_durable", 1, 120));
        long long shared = metric(f, "hearth_snapshot_upload_chunks_total{result=\"shared\"} ");
        CHECK(shared > 0);
        CHECK_EQ(count_keys(f, "layers/golden/"), 1);
        CHECK(destroy(&f->v, b));
    }

    /* fork of an evicted paused sandbox */
    CHECK(pause_sb(f, a));
    CHECK(wait_events(f, a, "snapshot_durable", 2, 120));
    for (int i = 0; i < 40 && local_snapshots(f, a) > 0; i++)
        usleep(250 * 1000);
    CHECK_EQ(local_snapshots(f, a), 0);
    struct hresp r;
    char t[160];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/fork", a);
    if (call(&f->v, "POST", t, "{}", 200, &r)) {
        snprintf(child, sizeof(child), "%s", jstr(r.json, "data.id") ? jstr(r.json, "data.id") : "");
        hresp_free(&r);
        if (child[0] && wait_status_ms(&f->v, child, "running", 120000)) {
            check_guest(f, child);
            CHECK(destroy(&f->v, child));
        }
    }
    CHECK_STR(status_of(&f->v, a, st), "paused");

    /* a corrupted chunk: the resume fails with the reason, the sandbox stays paused. The fork
     * brought the snapshot back; with the child gone the periodic sweep (30 s) evicts it */
    for (int i = 0; i < 200 && local_snapshots(f, a) > 0; i++)
        usleep(250 * 1000);
    CHECK_EQ(local_snapshots(f, a), 0);
    char prefix[160], key[600];
    snprintf(prefix, sizeof(prefix), "manifests/snapshots/%s/", a);
    CHECK(last_key(f, prefix, key, sizeof(key)));
    struct snap_conn c;
    char why[DISK_S3_WHY_SIZE];
    CHECK(snap_remote_connect(&f->remote, &c, why) == 0);
    uint8_t *text = NULL, *orig = NULL;
    size_t len = 0, olen = 0;
    CHECK(disk_s3_get(&c.s3, key, SNAP_MANIFEST_MAX, &text, &len, why) == 0);
    struct snap_manifest m;
    const char *w;
    CHECK(snap_manifest_parse((const char *)text, len, &m, &w) == 0);
    free(text);
    CHECK(m.files[0].n_chunks > 0);
    char ck[SNAP_CHUNK_KEY_SIZE];
    snap_chunk_key(m.files[0].chunks[0].sha, ck);
    snap_manifest_release(&m);
    CHECK(disk_s3_get(&c.s3, ck, 8u << 20, &orig, &olen, why) == 0);
    CHECK(disk_s3_put(&c.s3, ck, "not a chunk", 11, why) == 0);
    int failed_before = events_of(f, a, "resume_failed");
    CHECK(post(f, a, "resume", NULL, 202));
    CHECK(wait_events(f, a, "resume_failed", failed_before + 1, 120));
    CHECK(wait_status_ms(&f->v, a, "paused", 30000));
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/events?limit=256", a);
    if (call(&f->v, "GET", t, NULL, 200, &r)) {
        CHECK(r.body && strstr(r.body, "is corrupt in the store"));
        hresp_free(&r);
    }
    CHECK_EQ(local_snapshots(f, a), 0);
    /* whole again: the same sandbox resumes */
    CHECK(disk_s3_put(&c.s3, ck, orig, olen, why) == 0);
    free(orig);
    CHECK(post(f, a, "resume", NULL, 202));
    CHECK(wait_status_ms(&f->v, a, "running", 120000));
    check_guest(f, a);
    CHECK(destroy(&f->v, a));
}

TEST_SLOW(pause_durable_evict_resume_fork_share_corrupt, 900)
{
    struct sfx f;
    if (!sfx_start(&f, NULL))
        return;
    evict_body(&f);
    sfx_end(&f);
}

/* S3 down: paused, not durable, never evicted, resumable locally; a hearthd restart while it
 * is down; S3 back: the upload resumes and completes. */
static void down_body(struct sfx *f)
{
    char a[64], st[32], out[256];
    if (!create(&f->v, SMALL, a))
        return;
    CHECK(exec_stdout(&f->v, a, COUNTER, out, sizeof(out)));
    s3_down(f);
    CHECK(pause_sb(f, a));
    CHECK(wait_events(f, a, "snapshot_upload_failed", 1, 60));
    CHECK_EQ(events_of(f, a, "snapshot_durable"), 0);
    CHECK_EQ(local_snapshots(f, a), 1); /* budget 0, but not durable: kept */
    CHECK(metric(f, "hearth_snapshot_upload_failures_total ") >= 1);
    CHECK_EQ(metric(f, "hearth_snapshot_uploads_pending "), 1);
    struct hresp r;
    if (call(&f->v, "GET", "/v1/hosts", NULL, 200, &r)) { /* the admin view */
        CHECK(r.body && strstr(r.body, "\"uploads_pending\":1"));
        hresp_free(&r);
    }
    /* resumable locally */
    CHECK(post(f, a, "resume", NULL, 202));
    CHECK(wait_status_ms(&f->v, a, "running", 60000));
    check_guest(f, a);
    /* paused again, then hearthd restarts while S3 is still down */
    CHECK(pause_sb(f, a));
    sleep(2);
    CHECK(hd_stop(&f->v.s) == 0);
    CHECK(vfx_restart(&f->v));
    CHECK_STR(status_of(&f->v, a, st), "paused");
    CHECK_EQ(local_snapshots(f, a), 1);
    CHECK(s3_up(f));
    CHECK(wait_events(f, a, "snapshot_durable", 1, 120));
    for (int i = 0; i < 40 && local_snapshots(f, a) > 0; i++)
        usleep(250 * 1000);
    CHECK_EQ(local_snapshots(f, a), 0);
    CHECK(post(f, a, "resume", NULL, 202));
    CHECK(wait_status_ms(&f->v, a, "running", 120000));
    check_guest(f, a);
    CHECK(destroy(&f->v, a));
}

TEST_SLOW(s3_down_then_restart_then_back, 900)
{
    struct sfx f;
    if (!sfx_start(&f, NULL))
        return;
    down_body(&f);
    sfx_end(&f);
}
