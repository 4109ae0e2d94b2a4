/* SPDX-License-Identifier: MIT */
/* snapstore.c: uploads of paused sandboxes' snapshots to S3 and their durability
 * (snapstore.h, docs/snapshots.md "Snapshots on S3"). A pause has answered `paused` before its
 * upload is queued; at most `concurrency` uploads run, each on a worker thread; a failure is
 * recorded (attempts, last_error) and retried after a backoff that doubles up to a minute, for
 * as long as the snapshot exists; only a written manifest sets durable_at. Nothing here ever
 * removes a local file: eviction (snapcache.c) looks at durable_at first. */
#include "daemon/ctl/snapstore.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/mono.h"
#include "common/timefmt.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/events.h"
#include "daemon/ctl/snapdir.h"
#include "daemon/ctl/snapstore_internal.h"
#include "daemon/host/snapshot.h"
#include "daemon/log.h"
#include "daemon/snapstore/manifest.h"
#include "daemon/snapstore/upload.h"
#include "daemon/snapstore/worker.h"
#include "daemon/store/store.h"

#define BACKOFF_MAX_S 60
#define TICK_S 2
#define SWEEP_EVERY 15            /* ticks: a sweep every 30 s besides those after uploads */

enum up_state { UP_QUEUED, UP_RUNNING, UP_BACKOFF };

struct up_job {
    struct ctl_snapstore *ss;
    char id[STORE_ID_SIZE];
    char dir[STORE_SNAPOBJ_DIR_SIZE];
    enum up_state state;
    bool forgotten;                 /* the snapshot went: drop the result */
    int attempts;                   /* of this process */
    struct snap_xfer_ctl x;         /* shared with the thread */
    struct event *retry;
    int64_t start_us;
    /* the thread's answer, read after it ended */
    int r;
    char why[DISK_S3_WHY_SIZE];
    char key[SNAP_KEY_SIZE];
    struct snap_xfer_stats st;
    struct up_job *next;
};

static void pump(struct ctl_snapstore *ss);

bool ctl_snapstore_on(const struct ctl *c)
{
    return c->snapstore != NULL;
}

bool ctl_snapstore_dir_owner(struct ctl *c, const char *dir, char *out, size_t size)
{
    if (!ctl_snapdir_under(dir, c->set.snapshots_dir))
        return false;
    const char *id = dir + strlen(c->set.snapshots_dir) + 1;
    const char *slash = strchr(id, '/');
    if (!slash || slash == id || (size_t)(slash - id) >= size || strchr(slash + 1, '/'))
        return false;
    memcpy(out, id, (size_t)(slash - id));
    out[slash - id] = '\0';
    return true;
}

uint64_t ctl_snapstore_dir_bytes(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    uint64_t n = 0;
    struct dirent *e;
    struct stat sb;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
            n += (uint64_t)sb.st_blocks * 512;
    closedir(d);
    return n;
}

static struct up_job *find_up(struct ctl_snapstore *ss, const char *dir)
{
    for (struct up_job *j = ss->ups; j; j = j->next)
        if (strcmp(j->dir, dir) == 0)
            return j;
    return NULL;
}

bool ctl_snapstore_uploading(struct ctl *c, const char *dir)
{
    return c->snapstore && find_up(c->snapstore, dir) != NULL;
}

static void up_free(struct up_job *j)
{
    struct ctl_snapstore *ss = j->ss;
    for (struct up_job **pp = &ss->ups; *pp; pp = &(*pp)->next)
        if (*pp == j) {
            *pp = j->next;
            break;
        }
    if (j->retry)
        event_free(j->retry);
    free(j);
}

/* ---- the thread ---- */

static void up_work(void *arg)
{
    struct up_job *j = arg;
    struct snap_conn conn;
    j->r = snap_remote_connect(&j->ss->remote, &conn, j->why);
    if (j->r == 0)
        j->r = snap_upload_snapshot(&conn.s3, &j->ss->paths, j->dir, &j->x, &j->st, j->key,
                                    j->why);
}

/* ---- results on the loop ---- */

static void record_durable(struct ctl_snapstore *ss, struct up_job *j, double seconds)
{
    struct ctl *c = ss->ctx;
    int64_t now = timefmt_now_ms();
    struct store_snapobj o;
    if (store_snapobj_get(c->store, j->dir, &o) < 0) {
        memset(&o, 0, sizeof(o));
        snprintf(o.dir, sizeof(o.dir), "%s", j->dir);
        o.created_at = o.last_used_at = now;
        o.local = true;
    }
    snprintf(o.manifest_key, sizeof(o.manifest_key), "%s", j->key);
    snprintf(o.host_id, sizeof(o.host_id), "%s", c->set.host_id);
    o.bytes = o.uploaded_bytes = (int64_t)j->st.plain_bytes;
    o.local_bytes = (int64_t)ctl_snapstore_dir_bytes(j->dir);
    o.attempts++;
    o.last_error[0] = '\0';
    o.durable_at = now;
    o.upload_ms = now - o.created_at;
    int r = store_snapobj_put(c->store, &o);
    if (r < 0) {
        /* not durable in the store's eyes: it stays local and is uploaded again later */
        log_error(NULL, "cannot record a durable snapshot; it stays local", "{s:s,s:s}", "dir",
                  j->dir, "err", strerror(-r));
        return;
    }
    ss->uploads++;
    ss->upload_plain_bytes += j->st.plain_bytes;
    ss->upload_wire_bytes += j->st.wire_bytes;
    ss->chunks_sent += j->st.chunks_sent;
    ss->chunks_present += j->st.chunks_present;
    ss->upload_seconds += seconds;
    char detail[300];
    snprintf(detail, sizeof(detail),
             "durable in S3 %.1f s after the pause (upload %.1f s): %.1f MiB of data, "
             "%.1f MiB sent, %llu chunks new, %llu already stored, %llu holes",
             (double)o.upload_ms / 1000.0, seconds, (double)j->st.plain_bytes / 1048576.0,
             (double)j->st.wire_bytes / 1048576.0, (unsigned long long)j->st.chunks_sent,
             (unsigned long long)j->st.chunks_present, (unsigned long long)j->st.holes);
    ctl_event_add(c, j->id, "snapshot_durable", CTL_ACTOR_HEARTHD, NULL, detail);
    log_info(NULL, "snapshot durable", "{s:s,s:s,s:s,s:I,s:I,s:I,s:f}", "sandbox", j->id, "dir",
             j->dir, "manifest", j->key, "bytes", (json_int_t)j->st.plain_bytes, "sent",
             (json_int_t)j->st.wire_bytes, "upload_ms", (json_int_t)o.upload_ms, "seconds",
             seconds);
}

static void record_failure(struct ctl_snapstore *ss, struct up_job *j)
{
    struct ctl *c = ss->ctx;
    struct store_snapobj o;
    if (store_snapobj_get(c->store, j->dir, &o) == 0) {
        o.attempts++;
        o.uploaded_bytes = (int64_t)atomic_load(&j->x.done_bytes);
        snprintf(o.last_error, sizeof(o.last_error), "%s", j->why);
        if (store_snapobj_put(c->store, &o) < 0)
            log_warn(NULL, "cannot record a failed snapshot upload, ignoring", "{s:s}", "dir",
                     j->dir);
    }
    ss->upload_failures++;
    log_warn(NULL, "snapshot upload failed; it stays local and is retried", "{s:s,s:s,s:i,s:s}",
             "sandbox", j->id, "dir", j->dir, "attempt", j->attempts, "err", j->why);
    /* the first failure and then every tenth: a long outage must not flood the event log */
    if (j->attempts == 1 || j->attempts % 10 == 0) {
        char detail[300];
        snprintf(detail, sizeof(detail), "attempt %d: %s (the snapshot stays local; retrying)",
                 j->attempts, j->why);
        ctl_event_add(c, j->id, "snapshot_upload_failed", CTL_ACTOR_HEARTHD, NULL, detail);
    }
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    struct up_job *j = arg;
    j->state = UP_QUEUED;
    pump(j->ss);
}

static void on_up_done(void *arg)
{
    struct up_job *j = arg;
    struct ctl_snapstore *ss = j->ss;
    ss->running--;
    double seconds = (double)(mono_now_us() - j->start_us) / 1e6;
    if (j->forgotten) {
        up_free(j);
    } else if (j->r == 0) {
        record_durable(ss, j, seconds);
        up_free(j);
        ctl_snapcache_sweep(ss->ctx);
    } else {
        record_failure(ss, j);
        int shift = j->attempts < 7 ? j->attempts - 1 : 6;
        int delay = 1 << shift;
        struct timeval tv = { delay < BACKOFF_MAX_S ? delay : BACKOFF_MAX_S, 0 };
        j->state = UP_BACKOFF;
        if (!j->retry)
            j->retry = evtimer_new(ss->ctx->base, on_retry, j);
        if (!j->retry || evtimer_add(j->retry, &tv) < 0)
            j->state = UP_QUEUED; /* no timer: the next tick's pump takes it */
    }
    pump(ss);
}

static void pump(struct ctl_snapstore *ss)
{
    for (struct up_job *j = ss->ups; j && ss->running < ss->concurrency; j = j->next) {
        if (j->state != UP_QUEUED)
            continue;
        if (!snapshot_is_complete(j->dir)) {
            /* consumed or removed meanwhile (a resume took it): nothing to upload */
            j->forgotten = true;
            j->state = UP_RUNNING;
            ss->running++;
            on_up_done(j);
            return;
        }
        j->state = UP_RUNNING;
        j->attempts++;
        j->r = 0;
        j->why[0] = '\0';
        atomic_store(&j->x.cancel, false);
        atomic_store(&j->x.done_bytes, 0);
        j->start_us = mono_now_us();
        if (snap_worker_start(ss->ctx->base, up_work, on_up_done, j) < 0) {
            j->state = UP_QUEUED; /* no thread now: the next tick tries again */
            j->attempts--;
            return;
        }
        ss->running++;
    }
}

static void enqueue(struct ctl_snapstore *ss, const char *id, const char *dir)
{
    if (find_up(ss, dir))
        return;
    struct up_job *j = calloc(1, sizeof(*j));
    if (!j) {
        log_warn(NULL, "cannot queue a snapshot upload; retried at the next start", "{s:s}",
                 "dir", dir);
        return;
    }
    j->ss = ss;
    snprintf(j->id, sizeof(j->id), "%s", id);
    snprintf(j->dir, sizeof(j->dir), "%s", dir);
    j->state = UP_QUEUED;
    /* appended: oldest first */
    struct up_job **pp = &ss->ups;
    while (*pp)
        pp = &(*pp)->next;
    *pp = j;
    pump(ss);
}

/* Records dir (not durable) unless recorded, then queues its upload. */
static void track(struct ctl_snapstore *ss, const char *id, const char *dir)
{
    struct ctl *c = ss->ctx;
    struct store_snapobj o;
    int r = store_snapobj_get(c->store, dir, &o);
    if (r == 0 && o.durable_at)
        return;
    if (r == -ENOENT) {
        int64_t now = timefmt_now_ms();
        memset(&o, 0, sizeof(o));
        snprintf(o.dir, sizeof(o.dir), "%s", dir);
        snprintf(o.host_id, sizeof(o.host_id), "%s", c->set.host_id);
        if (snap_manifest_key(SNAP_KIND_SNAPSHOT, snap_paths_rel(dir, c->set.data_dir),
                              o.manifest_key, sizeof(o.manifest_key)) < 0)
            return;
        o.created_at = o.last_used_at = now;
        o.local = true;
        o.local_bytes = (int64_t)ctl_snapstore_dir_bytes(dir);
        r = store_snapobj_put(c->store, &o);
    }
    if (r < 0) {
        log_warn(NULL, "cannot record a snapshot for upload; retried at the next start",
                 "{s:s,s:s}", "dir", dir, "err", strerror(-r));
        return;
    }
    enqueue(ss, id, dir);
}

void ctl_snapstore_paused(struct ctl *c, const char *id, const char *dir)
{
    if (c->snapstore && dir && *dir)
        track(c->snapstore, id, dir);
}

void ctl_snapstore_cancel(struct ctl *c, const char *dir)
{
    struct up_job *j = c->snapstore ? find_up(c->snapstore, dir) : NULL;
    if (j && j->state == UP_RUNNING) {
        j->forgotten = true;
        atomic_store(&j->x.cancel, true);
    } else if (j) {
        up_free(j);
    }
}

/* ---- start, tick, stop ---- */

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    struct ctl_snapstore *ss = arg;
    pump(ss);
    /* progress of running uploads, for whoever looks at the store */
    for (struct up_job *j = ss->ups; j; j = j->next) {
        struct store_snapobj o;
        if (j->state != UP_RUNNING || store_snapobj_get(ss->ctx->store, j->dir, &o) < 0)
            continue;
        o.uploaded_bytes = (int64_t)atomic_load(&j->x.done_bytes);
        (void)!store_snapobj_put(ss->ctx->store, &o); /* progress only: the next tick retries */
    }
    if (++ss->ticks % SWEEP_EVERY == 0)
        ctl_snapcache_sweep(ss->ctx);
}

/* Queues what a stopped hearthd left: recorded snapshots not durable, and complete snapshots
 * of paused rows with no record (paused before the store was configured, or a crash between
 * the pause's commit and its record). */
static void resume_pending(struct ctl_snapstore *ss)
{
    struct ctl *c = ss->ctx;
    DIR *top = opendir(c->set.snapshots_dir);
    struct dirent *a;
    while (top && (a = readdir(top))) {
        char sub[PATH_MAX];
        if (a->d_name[0] == '.' ||
            (size_t)snprintf(sub, sizeof(sub), "%s/%s", c->set.snapshots_dir, a->d_name) >=
                sizeof(sub))
            continue;
        DIR *d = opendir(sub);
        struct dirent *b;
        while (d && (b = readdir(d))) {
            char snap[PATH_MAX];
            if (b->d_name[0] == '.' || strchr(b->d_name, '.') ||
                (size_t)snprintf(snap, sizeof(snap), "%s/%s", sub, b->d_name) >= sizeof(snap) ||
                !snapshot_is_complete(snap))
                continue;
            struct store_sandbox sb;
            store_sandbox_init(&sb);
            if (store_sandbox_get(c->store, NULL, a->d_name, &sb) == 0 &&
                (sb.status == STORE_PAUSED || sb.status == STORE_ERROR) && sb.snapshot_dir &&
                strcmp(sb.snapshot_dir, snap) == 0)
                track(ss, a->d_name, snap);
            store_sandbox_release(&sb);
        }
        if (d)
            closedir(d);
    }
    if (top)
        closedir(top);
    size_t n = 0;
    if (ss->ups)
        for (struct up_job *j = ss->ups; j; j = j->next)
            n++;
    if (n)
        log_info(NULL, "snapshot uploads resumed", "{s:I}", "count", (json_int_t)n);
}

int ctl_snapstore_start(struct ctl *c, const struct ctl_snapstore_cfg *cfg)
{
    if (!cfg)
        return 0;
    struct ctl_snapstore *ss = calloc(1, sizeof(*ss));
    if (!ss)
        return -ENOMEM;
    ss->ctx = c;
    ss->remote = cfg->remote;
    ss->paths = (struct snap_paths){ .data_dir = c->set.data_dir,
                                     .images_dir = c->set.images_dir };
    ss->cache_bytes = cfg->cache_bytes;
    ss->concurrency = cfg->concurrency ? cfg->concurrency : 1;
    ss->tick = event_new(c->base, -1, EV_PERSIST, on_tick, ss);
    struct timeval tv = { TICK_S, 0 };
    if (!ss->tick || event_add(ss->tick, &tv) < 0) {
        if (ss->tick)
            event_free(ss->tick);
        free(ss);
        return -ENOMEM;
    }
    c->snapstore = ss;
    resume_pending(ss);
    ctl_snapcache_sweep(c);
    return 0;
}

void ctl_snapstore_stop(struct ctl *c)
{
    struct ctl_snapstore *ss = c->snapstore;
    if (!ss)
        return;
    for (struct up_job *j = ss->ups; j; j = j->next)
        atomic_store(&j->x.cancel, true);
    snap_worker_drain(); /* uploads end at their next chunk, fetches when done */
    ctl_snapcache_stop(c);
    while (ss->ups)
        up_free(ss->ups);
    event_free(ss->tick);
    explicit_bzero(ss->remote.secret_key, sizeof(ss->remote.secret_key));
    free(ss);
    c->snapstore = NULL;
}

bool ctl_snapstore_stat(struct ctl *c, struct ctl_snapstore_stat *ret)
{
    struct ctl_snapstore *ss = c->snapstore;
    if (!ss)
        return false;
    memset(ret, 0, sizeof(*ret));
    for (struct up_job *j = ss->ups; j; j = j->next)
        ret->pending++;
    ret->fetching = ss->running_fetches;
    ret->uploads = ss->uploads;
    ret->upload_failures = ss->upload_failures;
    ret->cache_used = ss->cache_used;
    ret->cache_budget = ss->cache_bytes;
    ret->evictions = ss->evictions;
    return true;
}

int ctl_snapstore_render(struct ctl *c, struct buf *b)
{
    struct ctl_snapstore *ss = c->snapstore;
    if (!ss)
        return 0;
    unsigned pending = 0;
    for (struct up_job *j = ss->ups; j; j = j->next)
        pending++;
    return buf_appendf(
        b,
        "# HELP hearth_snapshot_uploads_total Snapshot uploads that ended durable.\n"
        "# TYPE hearth_snapshot_uploads_total counter\n"
        "hearth_snapshot_uploads_total %llu\n"
        "# HELP hearth_snapshot_upload_failures_total Snapshot upload attempts that failed "
        "(each is retried).\n"
        "# TYPE hearth_snapshot_upload_failures_total counter\n"
        "hearth_snapshot_upload_failures_total %llu\n"
        "# HELP hearth_snapshot_upload_bytes_total Bytes of durable uploads: plain data "
        "covered, and compressed bytes sent.\n"
        "# TYPE hearth_snapshot_upload_bytes_total counter\n"
        "hearth_snapshot_upload_bytes_total{kind=\"plain\"} %llu\n"
        "hearth_snapshot_upload_bytes_total{kind=\"sent\"} %llu\n"
        "# HELP hearth_snapshot_upload_chunks_total Chunks of durable uploads: stored, or "
        "found stored already (shared).\n"
        "# TYPE hearth_snapshot_upload_chunks_total counter\n"
        "hearth_snapshot_upload_chunks_total{result=\"stored\"} %llu\n"
        "hearth_snapshot_upload_chunks_total{result=\"shared\"} %llu\n"
        "# HELP hearth_snapshot_upload_seconds_total Time spent in durable uploads.\n"
        "# TYPE hearth_snapshot_upload_seconds_total counter\n"
        "hearth_snapshot_upload_seconds_total %.3f\n"
        "# HELP hearth_snapshot_uploads_pending Snapshots not durable yet (queued, running or "
        "waiting to retry).\n"
        "# TYPE hearth_snapshot_uploads_pending gauge\n"
        "hearth_snapshot_uploads_pending %u\n"
        "# HELP hearth_snapshot_fetches_total Snapshots fetched from S3 for a restore, by "
        "result.\n"
        "# TYPE hearth_snapshot_fetches_total counter\n"
        "hearth_snapshot_fetches_total{result=\"ok\"} %llu\n"
        "hearth_snapshot_fetches_total{result=\"failed\"} %llu\n"
        "# HELP hearth_snapshot_fetch_bytes_total Compressed bytes fetched from S3.\n"
        "# TYPE hearth_snapshot_fetch_bytes_total counter\n"
        "hearth_snapshot_fetch_bytes_total %llu\n"
        "# HELP hearth_snapshot_fetch_seconds_total Time spent in successful fetches.\n"
        "# TYPE hearth_snapshot_fetch_seconds_total counter\n"
        "hearth_snapshot_fetch_seconds_total %.3f\n"
        "# HELP hearth_snapshot_cache_bytes Local snapshot copies (as of the last sweep) and "
        "their budget.\n"
        "# TYPE hearth_snapshot_cache_bytes gauge\n"
        "hearth_snapshot_cache_bytes{kind=\"used\"} %llu\n"
        "hearth_snapshot_cache_bytes{kind=\"budget\"} %llu\n"
        "# HELP hearth_snapshot_cache_evictions_total Durable snapshots removed locally to fit "
        "the cache.\n"
        "# TYPE hearth_snapshot_cache_evictions_total counter\n"
        "hearth_snapshot_cache_evictions_total %llu\n"
        "# HELP hearth_snapshot_cache_evicted_bytes_total Bytes of the evicted local copies.\n"
        "# TYPE hearth_snapshot_cache_evicted_bytes_total counter\n"
        "hearth_snapshot_cache_evicted_bytes_total %llu\n",
        (unsigned long long)ss->uploads, (unsigned long long)ss->upload_failures,
        (unsigned long long)ss->upload_plain_bytes, (unsigned long long)ss->upload_wire_bytes,
        (unsigned long long)ss->chunks_sent, (unsigned long long)ss->chunks_present,
        ss->upload_seconds, pending, (unsigned long long)ss->fetches_ok,
        (unsigned long long)ss->fetch_failures, (unsigned long long)ss->fetch_wire_bytes,
        ss->fetch_seconds, (unsigned long long)ss->cache_used,
        (unsigned long long)ss->cache_bytes, (unsigned long long)ss->evictions,
        (unsigned long long)ss->evicted_bytes);
}
