/* SPDX-License-Identifier: MIT */
/* snapcache.c: the local cache of snapshots on S3 (snapstore.h, docs/snapshots.md "Snapshots
 * on S3"): eviction of least recently used durable snapshots when the local copies exceed
 * snapshot_cache_mib, and the fetch that brings one back before a resume or fork restores it.
 * Only a leaf is ever evicted: a durable snapshot that exactly one paused row resumes from,
 * that no row uses as its base (a running VM's disk backs onto its base and a clone maps its
 * RAM), that no other snapshot's disk stands on, and that no transfer is touching. Golden
 * snapshots and template layers are never evicted: live layers back onto them. */
#include "daemon/ctl/snapstore.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mono.h"
#include "common/timefmt.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/events.h"
#include "daemon/ctl/snapdir.h"
#include "daemon/ctl/snapstore_internal.h"
#include "daemon/host/snapshot.h"
#include "daemon/log.h"
#include "daemon/snapstore/fetch.h"
#include "daemon/snapstore/worker.h"
#include "daemon/store/store.h"

struct waiter {
    ctl_snapstore_local_fn done;
    void *ud;
    struct waiter *next;
};

struct fetch_job {
    struct ctl_snapstore *ss;
    char dir[PATH_MAX];
    struct waiter *waiters;
    bool abandoned;                 /* at exit: nobody is told */
    int64_t start_us;
    int r;                          /* the thread's answer */
    char why[DISK_S3_WHY_SIZE];
    struct snap_xfer_stats st;
    struct fetch_job *next;
};

bool ctl_snapcache_fetching(struct ctl *c, const char *dir)
{
    for (struct fetch_job *f = c->snapstore ? c->snapstore->fetches : NULL; f; f = f->next)
        if (strcmp(f->dir, dir) == 0)
            return true;
    return false;
}

/* Whether the local copy of durable record o may go (the header's rules). */
static bool evictable(struct ctl *c, const struct store_snapobj *o)
{
    char id[STORE_ID_SIZE];
    if (!o->durable_at || !o->local || !ctl_snapstore_dir_owner(c, o->dir, id, sizeof(id)) ||
        ctl_snapstore_uploading(c, o->dir) || ctl_snapcache_fetching(c, o->dir))
        return false;
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    bool ok = store_sandbox_get(c->store, NULL, id, &sb) == 0 && sb.status == STORE_PAUSED &&
              sb.snapshot_dir && strcmp(sb.snapshot_dir, o->dir) == 0 &&
              !(sb.base_dir && strcmp(sb.base_dir, o->dir) == 0);
    store_sandbox_release(&sb);
    uint64_t refs = 0;
    return ok && store_snapshot_refs(c->store, o->dir, &refs) == 0 && refs == 1 &&
           !ctl_snapdir_has_children(c, o->dir);
}

/* Orders records least recently used first. */
static int by_lru(const void *a, const void *b)
{
    const struct store_snapobj *x = a, *y = b;
    return x->last_used_at < y->last_used_at ? -1 : x->last_used_at > y->last_used_at;
}

void ctl_snapcache_sweep(struct ctl *c)
{
    struct ctl_snapstore *ss = c->snapstore;
    if (!ss)
        return;
    struct store_snapobj *v;
    size_t n;
    if (store_snapobj_list(c->store, false, &v, &n) < 0)
        return;
    uint64_t used = 0;
    for (size_t i = 0; i < n; i++) {
        struct store_snapobj *o = &v[i];
        /* another host's copies are its cache (a shared PostgreSQL store) */
        if (strcmp(o->host_id, c->set.host_id) != 0)
            o->local = false;
        if (!o->local)
            continue;
        if (!snapshot_is_complete(o->dir) && !ctl_snapstore_uploading(c, o->dir) &&
            !ctl_snapcache_fetching(c, o->dir)) {
            /* released, or consumed by a resume: forget it once nothing names it */
            uint64_t refs = 1;
            if (store_snapshot_refs(c->store, o->dir, &refs) == 0 && refs == 0)
                (void)!store_snapobj_delete(c->store, o->dir); /* the next sweep retries */
            o->local = false;
            continue;
        }
        used += (uint64_t)o->local_bytes;
    }
    if (n)
        qsort(v, n, sizeof(v[0]), by_lru);
    for (size_t i = 0; i < n && used > ss->cache_bytes; i++) {
        struct store_snapobj *o = &v[i];
        if (!evictable(c, o))
            continue;
        int r = snapshot_remove(o->dir);
        if (r < 0) {
            log_warn(NULL, "cannot evict a snapshot, ignoring", "{s:s,s:s}", "dir", o->dir,
                     "err", strerror(-r));
            continue;
        }
        used -= (uint64_t)o->local_bytes < used ? (uint64_t)o->local_bytes : used;
        ss->evictions++;
        ss->evicted_bytes += (uint64_t)o->local_bytes;
        o->local = false;
        if (store_snapobj_put(c->store, o) < 0)
            log_warn(NULL, "cannot record an evicted snapshot, ignoring", "{s:s}", "dir",
                     o->dir);
        log_info(NULL, "snapshot evicted from the local cache", "{s:s,s:I}", "dir", o->dir,
                 "bytes", (json_int_t)o->local_bytes);
    }
    ss->cache_used = used;
    free(v);
}

/* ---- fetches ---- */

static void fetch_work(void *arg)
{
    struct fetch_job *f = arg;
    struct snap_conn conn;
    f->r = snap_remote_connect(&f->ss->remote, &conn, f->why);
    if (f->r == 0)
        f->r = snap_fetch_snapshot(&conn.s3, &f->ss->paths, f->dir, &f->st, f->why);
}

static void fetch_unlink(struct fetch_job *f)
{
    for (struct fetch_job **pp = &f->ss->fetches; *pp; pp = &(*pp)->next)
        if (*pp == f) {
            *pp = f->next;
            return;
        }
}

static void fetch_free(struct fetch_job *f)
{
    while (f->waiters) {
        struct waiter *w = f->waiters;
        f->waiters = w->next;
        free(w);
    }
    free(f);
}

static void on_fetched(void *arg)
{
    struct fetch_job *f = arg;
    struct ctl_snapstore *ss = f->ss;
    struct ctl *c = ss->ctx;
    fetch_unlink(f);
    ss->running_fetches--;
    double seconds = (double)(mono_now_us() - f->start_us) / 1e6;
    char id[STORE_ID_SIZE] = "";
    (void)ctl_snapstore_dir_owner(c, f->dir, id, sizeof(id));
    if (f->r == 0) {
        ss->fetches_ok++;
        ss->fetch_wire_bytes += f->st.wire_bytes;
        ss->fetch_seconds += seconds;
        struct store_snapobj o;
        if (store_snapobj_get(c->store, f->dir, &o) == 0) {
            o.local = true; /* the local copy is this host's now */
            snprintf(o.host_id, sizeof(o.host_id), "%s", c->set.host_id);
            o.local_bytes = (int64_t)ctl_snapstore_dir_bytes(f->dir);
            o.last_used_at = timefmt_now_ms();
            if (store_snapobj_put(c->store, &o) < 0)
                log_warn(NULL, "cannot record a fetched snapshot, ignoring", "{s:s}", "dir",
                         f->dir);
        }
        char detail[240];
        snprintf(detail, sizeof(detail),
                 "fetched from S3 in %.2f s: %.1f MiB of data, %.1f MiB received, %llu layers",
                 seconds, (double)f->st.plain_bytes / 1048576.0,
                 (double)f->st.wire_bytes / 1048576.0, (unsigned long long)f->st.layers);
        if (id[0])
            ctl_event_add(c, id, "snapshot_fetched", CTL_ACTOR_HEARTHD, NULL, detail);
        log_info(NULL, "snapshot fetched", "{s:s,s:f,s:I}", "dir", f->dir, "seconds", seconds,
                 "bytes", (json_int_t)f->st.plain_bytes);
    } else {
        ss->fetch_failures++;
        log_error(NULL, "snapshot fetch failed", "{s:s,s:s}", "dir", f->dir, "err", f->why);
    }
    /* each waiter may start a restore or another fetch: f is off the list already */
    int r = f->r;
    for (struct waiter *w = f->waiters; w; w = w->next)
        w->done(w->ud, r, f->why);
    fetch_free(f);
    if (r == 0)
        ctl_snapcache_sweep(c);
}

int ctl_snapstore_ensure_local(struct ctl *c, const char *dir, ctl_snapstore_local_fn done,
                               void *ud)
{
    struct ctl_snapstore *ss = c->snapstore;
    if (!ss || !dir || !*dir)
        return 1;
    struct store_snapobj o;
    bool recorded = store_snapobj_get(c->store, dir, &o) == 0;
    if (snapshot_is_complete(dir)) {
        if (recorded) {
            o.last_used_at = timefmt_now_ms();
            (void)!store_snapobj_put(c->store, &o); /* the LRU order only */
        }
        return 1;
    }
    if (!recorded || !o.durable_at)
        return 1; /* nothing durable to fetch: the restore reports the missing snapshot */
    struct waiter *w = calloc(1, sizeof(*w));
    if (!w)
        return -ENOMEM;
    w->done = done;
    w->ud = ud;
    for (struct fetch_job *f = ss->fetches; f; f = f->next)
        if (strcmp(f->dir, dir) == 0) {
            w->next = f->waiters;
            f->waiters = w;
            return 0;
        }
    struct fetch_job *f = calloc(1, sizeof(*f));
    if (!f) {
        free(w);
        return -ENOMEM;
    }
    f->ss = ss;
    snprintf(f->dir, sizeof(f->dir), "%s", dir);
    f->waiters = w;
    f->start_us = mono_now_us();
    int r = snap_worker_start(c->base, fetch_work, on_fetched, f);
    if (r < 0) {
        fetch_free(f);
        return r;
    }
    f->next = ss->fetches;
    ss->fetches = f;
    ss->running_fetches++;
    log_info(NULL, "snapshot fetch", "{s:s,s:s}", "dir", dir, "manifest", o.manifest_key);
    return 0;
}

void ctl_snapcache_stop(struct ctl *c)
{
    /* after snap_worker_drain(): no thread uses a job any more. The restores that waited are
     * told, so their sandboxes go back to paused (the next start resumes them normally). */
    struct ctl_snapstore *ss = c->snapstore;
    while (ss && ss->fetches) {
        struct fetch_job *f = ss->fetches;
        ss->fetches = f->next;
        for (struct waiter *w = f->waiters; w; w = w->next)
            w->done(w->ud, -ECANCELED, "hearthd is stopping");
        fetch_free(f);
    }
}
