/* SPDX-License-Identifier: MIT */
/* sandbox_fork.c: forking a sandbox (sandbox_ops.h, docs/api.md §3.3.3, docs/snapshots.md):
 * each child row shares the source's snapshot (O(1): never consumed by either), gets an
 * address of its own and the source's networks, then is restored (restore.h) or stays paused.
 * A source still pausing is waited for, polling. A running source is snapshotted live first
 * (host_vm_snapshot_live(): it stops for the copy and runs on), into a snapshot directory of
 * its own that the children name, so it lives as long as they (or their snapshots) need it. */
#include "daemon/ctl/sandbox_ops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/crashpt.h"
#include "common/mono.h"
#include "common/timefmt.h"
#include "common/timeline.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/disk_mount.h"
#include "daemon/ctl/events.h"
#include "daemon/ctl/hosts.h"
#include "daemon/ctl/netplane.h"
#include "daemon/ctl/quota.h"
#include "daemon/ctl/restore.h"
#include "daemon/ctl/sandbox_row.h"
#include "daemon/ctl/snapdir.h"
#include "daemon/ctl/space.h"
#include "daemon/host/host.h"
#include "daemon/log.h"
#include "daemon/store/ids.h"
#include "daemon/store/store.h"

/* a fork of a pausing source waits for the pause (§2.14.3 note 3), polling this often */
#define FORK_WAIT_POLL_MS 20
#define FORK_WAIT_MAX_MS 30000

struct ctl_fork {
    struct ctl *ctx;
    struct ctl_fork_req fr;         /* owned; its strings borrowed from the caller */
    char src[STORE_ID_SIZE];
    char user_id[STORE_USER_SIZE];
    char key_id[STORE_ID_SIZE];
    char req_id[160];
    struct event *timer;
    int64_t deadline_us;
    ctl_sandbox_done_fn done;
    void *ud;
    struct store_mount *mounts;     /* disks[] of the body, resolved (owned); n_mounts */
    size_t n_mounts;
    bool abandoned;                 /* the caller lost interest: stop waiting */
    bool *ended;                    /* set when op is freed (within ctl_sandbox_fork) */
    struct timeline tl;             /* the steps (docs/performance.md "Where the time goes") */
    /* the children: each reports once (made and restored, or failed); the first success is
     * the answer, else the first failure */
    unsigned count;
    unsigned pending;               /* children not yet reported, plus one while making them */
    unsigned made;                  /* children started */
    size_t n_ok;
    char first[STORE_ID_SIZE];
    bool failed;
    struct ctl_error err;
    /* a live fork: the source runs and is being snapshotted into live_dir */
    char live_dir[PATH_MAX];
    char live_parent[PATH_MAX];     /* the source's base when it started: the snapshot's parent */
    struct ctl_fork *next_live;     /* live_forks */
};

/* Live forks under way (one loop thread), so a second live fork or a pause of the same source
 * is refused (ctl_fork_live_busy()) rather than queued behind a stopped VM. */
static struct ctl_fork *live_forks;

bool ctl_fork_live_busy(struct ctl *ctx, const char *id)
{
    for (struct ctl_fork *f = live_forks; f; f = f->next_live)
        if (f->ctx == ctx && strcmp(f->src, id) == 0)
            return true;
    return false;
}

static void live_unlink(struct ctl_fork *op)
{
    for (struct ctl_fork **p = &live_forks; *p; p = &(*p)->next_live)
        if (*p == op) {
            *p = op->next_live;
            return;
        }
}

static void fork_free(struct ctl_fork *op)
{
    if (op->ended)
        *op->ended = true;
    live_unlink(op);
    if (op->timer)
        event_free(op->timer);
    ctl_fork_req_release(&op->fr);
    free(op->mounts);
    free(op);
}

/* Tells the caller and frees op. */
static void fork_end(struct ctl_fork *op, const struct ctl_error *e, const char *child)
{
    if (op->fr.n_children)
        *op->fr.n_children = e->code == CTL_OK ? op->n_ok : 0;
    op->done(op->ud, e, child, NULL);
    fork_free(op);
}

static void fork_end_ok(struct ctl_fork *op, const char *child)
{
    struct ctl_error e = { .code = CTL_OK };
    fork_end(op, &e, child);
}

/* Copies the inherited or overridden lists into the child row. */
static int fork_fill(struct ctl *ctx, const struct store_sandbox *src,
                     const struct ctl_fork_req *fr, struct store_sandbox *child,
                     struct store_env **ret_envs, size_t *ret_n)
{
    *ret_envs = NULL;
    *ret_n = 0;
    if (fr->set_envs) {
        *ret_envs = fr->c.envs;
        *ret_n = fr->c.n_envs;
    } else {
        int r = store_sandbox_envs_get(ctx->store, src->id, ret_envs, ret_n);
        if (r < 0)
            return r;
    }
    child->egress.v = fr->set_egress ? fr->c.egress : src->egress.v;
    child->egress.n = fr->set_egress ? fr->c.n_egress : src->egress.n;
    child->ssh_pubkeys.v = fr->set_ssh ? fr->c.ssh : src->ssh_pubkeys.v;
    child->ssh_pubkeys.n = fr->set_ssh ? fr->c.n_ssh : src->ssh_pubkeys.n;
    return 0;
}

/* The child joins every network of its source, each with an address of its own. */
static int fork_join_networks(struct ctl *ctx, const char *src_id, const char *child_id)
{
    struct store_member *m = NULL;
    size_t n = 0;
    int r = ctx->net ? store_member_list(ctx->store, NULL, src_id, &m, &n) : 0;
    for (size_t i = 0; r == 0 && i < n; i++)
        r = ctl_net_join(ctx, m[i].network_id, m[i].subnet, child_id);
    free(m);
    return r;
}

/* One child was made (id, e CTL_OK) or failed; the last report ends op. */
static void child_done(struct ctl_fork *op, const struct ctl_error *e, const char *id)
{
    if (e && e->code == CTL_OK && id) {
        if (op->fr.children && op->n_ok < op->count)
            snprintf(op->fr.children[op->n_ok], STORE_ID_SIZE, "%s", id);
        if (!op->n_ok++)
            snprintf(op->first, sizeof(op->first), "%s", id);
    } else if (e && !op->failed) {
        op->err = *e;
        op->failed = true;
    }
    if (--op->pending)
        return;
    if (op->n_ok)
        fork_end_ok(op, op->first);
    else
        fork_end(op, &op->err, NULL);
}

static void on_child_restored(void *ud, const struct ctl_error *e, const char *id)
{
    child_done(ud, e, id);
}

/* Inserts one child of src and starts it; reports it (child_done) now or from its restore. */
static void fork_now(struct ctl_fork *op, const struct store_sandbox *src)
{
    struct ctl *ctx = op->ctx;
    const struct ctl_fork_req *fr = &op->fr;
    bool own_envs = !fr->set_envs; /* op may be gone at the end */
    struct ctl_error e;
    struct store_sandbox child;
    store_sandbox_init(&child);
    struct store_env *envs = NULL;
    size_t n_envs = 0;
    /* each child of a request counts (the first was checked before anything was done) */
    if (op->made++ > 0 &&
        (ctl_quota_sandboxes(ctx, op->user_id, &e) < 0 || ctl_quota_host_vm(ctx, &e) < 0)) {
        child_done(op, &e, NULL);
        return;
    }
    int r = ids_new_sandbox(child.id);
    if (r == 0)
        r = fork_fill(ctx, src, fr, &child, &envs, &n_envs);
    if (r < 0) {
        ctl_error_internal(&e, "fork", r);
        goto fail;
    }
    snprintf(child.user_id, sizeof(child.user_id), "%s", op->user_id);
    child.status = STORE_FORKING;
    child.target_state = fr->start_paused ? STORE_PAUSED : STORE_RUNNING;
    child.intent_started_at = timefmt_now_ms();
    snprintf(child.shape, sizeof(child.shape), "%s", src->shape);
    child.vcpu = src->vcpu;
    child.mem_mib = src->mem_mib;
    child.disk_mib = src->disk_mib;
    snprintf(child.rootfs, sizeof(child.rootfs), "%s", src->rootfs);
    snprintf(child.region, sizeof(child.region), "%s", src->region);
    child.created_at = timefmt_now_ms();
    child.ingress_enabled = fr->set_ingress ? fr->c.ingress_enabled : src->ingress_enabled;
    snprintf(child.created_by, sizeof(child.created_by), "%s", op->key_id);
    snprintf(child.forked_from, sizeof(child.forked_from), "%s", src->id);
    child.auto_pause_after_seconds = fr->c.auto_pause_after_seconds;
    child.start_paused = fr->start_paused;
    child.bw_quota_bytes = fr->bandwidth_quota_bytes;
    /* O(1): the child's snapshot is the source's, shared (never consumed by either) */
    child.snapshot_dir = src->snapshot_dir;
    child.base_dir = src->snapshot_dir;
    /* §2.14.6 + issue 5: a fork gets its own address (and MAC, from its id) */
    r = ctx->net ? ctl_net_alloc_ip(ctx, child.ip) : 0;
    bool no_ip = r == -EADDRNOTAVAIL;
    if (r == 0)
        r = ctl_row_insert(ctx, &child, fr->c.name, envs, n_envs);
    if (r == 0)
        r = fork_join_networks(ctx, src->id, child.id);
    /* the child's own disks[]: its source's mounts are not inherited (docs/api.md §3.3.3) */
    for (size_t i = 0; r == 0 && i < op->n_mounts; i++)
        snprintf(op->mounts[i].sandbox_id, sizeof(op->mounts[i].sandbox_id), "%s", child.id);
    if (r == 0 && op->n_mounts)
        r = store_mount_add_many(ctx->store, op->mounts, op->n_mounts);
    child.snapshot_dir = child.base_dir = NULL; /* borrowed */
    child.egress = (struct store_strv){ 0 };
    child.ssh_pubkeys = (struct store_strv){ 0 };
    if (no_ip) {
        ctl_error_set(&e, CTL_E_NO_CAPACITY, NULL, NULL, "no free sandbox address");
        goto fail;
    }
    if (r == -EEXIST) {
        ctl_error_set(&e, CTL_E_NAME_TAKEN, "name", NULL, "name already in use: %s", child.name);
        goto fail;
    }
    if (r < 0) {
        ctl_error_internal(&e, "insert fork", r);
        goto fail;
    }
    log_info(op->req_id, "sandbox fork", "{s:s,s:s,s:b}", "sandbox", child.id, "source",
             src->id, "start_paused", fr->start_paused);
    crashpt("fork-after-insert"); /* the child row forking, sharing the source's snapshot */
    ctl_event_add(ctx, src->id, "forked", CTL_ACTOR_API, NULL, child.id);
    ctl_event_add(ctx, child.id, "forked", CTL_ACTOR_API, NULL, src->id);
    if (fr->start_paused) {
        struct store_transition t = { .from = STORE_FORKING, .to = STORE_PAUSED,
                                      .intent = STORE_STATE_NONE, .now_ms = timefmt_now_ms() };
        r = store_sandbox_transition(ctx->store, child.id, &t, NULL);
        if (r == 0)
            ctl_event_settled(ctx, child.id, STORE_FORKING, STORE_PAUSED, t.now_ms, NULL);
        if (r < 0 && r != -ESTALE) {
            ctl_error_internal(&e, "fork", r);
            goto fail;
        }
        child_done(op, &(struct ctl_error){ .code = CTL_OK }, child.id);
        goto out;
    }
    char **keys = NULL;
    size_t n_keys = 0;
    if (fr->set_ssh && fr->c.n_ssh && (keys = calloc(fr->c.n_ssh, sizeof(char *)))) {
        for (size_t i = 0; i < fr->c.n_ssh; i++)
            if ((keys[n_keys] = strdup(fr->c.ssh[i])))
                n_keys++;
    }
    r = ctl_restore_start(ctx, child.id, STORE_FORKING, op->req_id, keys, n_keys, &op->tl,
                          on_child_restored, op);
    if (r < 0) {
        ctl_error_internal(&e, "fork", r);
        goto fail;
    }
    goto out;
fail:
    child_done(op, &e, NULL);
out:
    if (own_envs)
        store_envs_free(envs, n_envs);
    store_sandbox_release(&child);
}

/* Makes op's children of src (whose snapshot_dir they share); op ends once all reported. */
static void fork_children(struct ctl_fork *op, const struct store_sandbox *src)
{
    op->pending = op->count + 1; /* the extra one: op outlives the loop */
    for (unsigned i = 0; i < op->count; i++)
        fork_now(op, src);
    child_done(op, NULL, NULL);
}

/* host_vm_snapshot_live() of a live fork ended: the children come from that snapshot. */
static void on_live_snapshot(void *ud, const char *unused, const struct host_result *res,
                             const struct host_live_stats *st)
{
    struct ctl_fork *op = ud;
    struct ctl *ctx = op->ctx;
    struct ctl_error e;
    live_unlink(op);
    timeline_append(&op->tl, &res->tl);
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", op->live_dir);
    if (res->err != HOST_OK) {
        ctl_snapshot_release(ctx, dir); /* named by no row: gone */
        if (res->err == HOST_E_BUSY)
            ctl_error_set(&e, CTL_E_INVALID_STATE, NULL, "running",
                          "the source is being paused, resized or forked: retry");
        else if (res->err == HOST_E_NOT_FOUND || res->err == HOST_E_GONE)
            ctl_error_set(&e, CTL_E_INVALID_STATE, NULL, "running",
                          "the source's VM is not running");
        else
            ctl_error_set(&e, CTL_E_FAILED, NULL, NULL, "live snapshot failed: %s", res->msg);
        log_warn(op->req_id, "live fork failed", "{s:s,s:s}", "sandbox", op->src, "err",
                 res->msg);
        fork_end(op, &e, NULL);
        return;
    }
    char tls[512];
    timeline_format(&op->tl, tls, sizeof(tls));
    log_info(op->req_id, "sandbox live snapshot", "{s:s,s:s,s:f,s:s}", "sandbox", op->src,
             "dir", dir, "stopped_ms", (double)st->stopped_us / 1000.0, "timeline", tls);
    struct store_sandbox src;
    int r = ctl_snapdir_parent_write(dir, op->live_parent);
    if (r < 0) {
        ctl_snapshot_release(ctx, dir);
        ctl_error_internal(&e, "live fork parent", r);
        fork_end(op, &e, NULL);
        return;
    }
    if (ctl_row_load(ctx, op->user_id, op->src, &src, &e) < 0) {
        store_sandbox_release(&src);
        ctl_snapshot_release(ctx, dir); /* the source went meanwhile */
        fork_end(op, &e, NULL);
        return;
    }
    crashpt("livefork-before-children"); /* a whole snapshot no row names: swept at start */
    char *own = src.snapshot_dir;
    src.snapshot_dir = dir; /* the children's, borrowed */
    fork_children(op, &src); /* op may be gone now */
    src.snapshot_dir = own;
    store_sandbox_release(&src);
    ctl_snapshot_release(ctx, dir); /* kept while a child row names it */
}

/* The source runs: snapshot it live; the children follow (on_live_snapshot). */
static void fork_live(struct ctl_fork *op, const struct store_sandbox *src)
{
    struct ctl_error e;
    if (ctl_fork_live_busy(op->ctx, src->id)) {
        ctl_error_set(&e, CTL_E_INVALID_STATE, NULL, "running",
                      "a live fork of this sandbox is under way: retry when it answered");
        fork_end(op, &e, NULL);
        return;
    }
    int r = ctl_snapdir_new(op->ctx, src->id, op->live_dir);
    if (r < 0) {
        ctl_error_internal(&e, "live fork snapshot dir", r);
        fork_end(op, &e, NULL);
        return;
    }
    snprintf(op->live_parent, sizeof(op->live_parent), "%s", src->base_dir ? src->base_dir : "");
    op->next_live = live_forks;
    live_forks = op;
    log_info(op->req_id, "sandbox live fork", "{s:s,s:i}", "sandbox", src->id, "count",
             (int)op->count);
    host_vm_snapshot_live(op->ctx->host, src->id, op->live_dir, on_live_snapshot, op);
}

/* Checks the source and forks, or keeps waiting for its pause to finish. true when op no
 * longer waits (it ended, or the restore or the live snapshot holds it). */
static bool fork_try(struct ctl_fork *op)
{
    struct ctl_error e;
    struct store_sandbox src;
    if (op->abandoned) {
        ctl_error_set(&e, CTL_E_FAILED, NULL, NULL, "abandoned");
        fork_end(op, &e, NULL);
        return true;
    }
    if (ctl_row_load(op->ctx, op->user_id, op->src, &src, &e) < 0) {
        store_sandbox_release(&src);
        fork_end(op, &e, NULL);
        return true;
    }
    bool done = true;
    if (src.status == STORE_PAUSED && src.snapshot_dir) {
        fork_children(op, &src);
    } else if (src.status == STORE_RUNNING) {
        fork_live(op, &src);
    } else if (src.status == STORE_PAUSED) {
        ctl_error_set(&e, CTL_E_INVALID_STATE, NULL, "paused",
                      "the source has no snapshot to fork (resume it to see why)");
        fork_end(op, &e, NULL);
    } else if (src.status == STORE_PAUSING && mono_now_us() < op->deadline_us) {
        done = false; /* §2.14.3 note 3: wait for the pause */
    } else {
        ctl_error_set(&e, CTL_E_INVALID_STATE, NULL, store_state_to_string(src.status),
                      "the source must be running, pausing or paused");
        fork_end(op, &e, NULL);
    }
    store_sandbox_release(&src);
    return done;
}

static void on_fork_timer(evutil_socket_t fd, short what, void *arg)
{
    struct ctl_fork *op = arg;
    if (fork_try(op))
        return;
    struct timeval tv = { 0, FORK_WAIT_POLL_MS * 1000 };
    event_add(op->timer, &tv);
}

int ctl_sandbox_fork(struct ctl *ctx, const struct ctl_caller *who, const char *src,
                     struct ctl_fork_req *req, ctl_sandbox_done_fn done, void *ud,
                     struct ctl_fork **ret_op, struct ctl_error *e)
{
    *ret_op = NULL;
    struct timeline tl;
    timeline_start_at(&tl, who->start_us ? who->start_us : mono_now_us());
    int r = ctl_row_vm_layer(ctx, e);
    if (r == 0) /* the child is one more sandbox of the user's */
        r = ctl_quota_sandboxes(ctx, who->user_id, e);
    if (r == 0)
        r = ctl_quota_host_vm(ctx, e);
    if (r == 0 && ctx->hosts) /* children are new sandboxes: an active host takes them */
        r = ctl_hosts_place(ctx, NULL, NULL, 0, 0, NULL, e);
    if (r == 0)
        r = ctl_space_check(ctx, who->req_id, "fork", 0, e);
    if (r < 0) {
        ctl_fork_req_release(req);
        return r;
    }
    struct ctl_fork *op = calloc(1, sizeof(*op));
    if (op && req->c.n_disks && !(op->mounts = calloc(req->c.n_disks, sizeof(*op->mounts)))) {
        free(op);
        op = NULL;
    }
    if (!op) {
        ctl_fork_req_release(req);
        return ctl_error_internal(e, "fork", -ENOMEM);
    }
    /* disks[] resolved now: its strings are the caller's, and nothing is stored on a 400 */
    r = ctl_disk_mounts_prepare_refs(ctx, who->user_id, req->c.disks, req->c.n_disks, op->mounts,
                                     e);
    if (r < 0) {
        free(op->mounts);
        free(op);
        ctl_fork_req_release(req);
        return r;
    }
    op->n_mounts = req->c.n_disks;
    op->ctx = ctx;
    op->tl = tl;
    timeline_mark(&op->tl, "checks"); /* the child row and its intent count in "intent" */
    op->fr = *req;
    memset(req, 0, sizeof(*req));
    snprintf(op->src, sizeof(op->src), "%s", src);
    snprintf(op->user_id, sizeof(op->user_id), "%s", who->user_id);
    snprintf(op->key_id, sizeof(op->key_id), "%s", who->key_id ? who->key_id : "");
    snprintf(op->req_id, sizeof(op->req_id), "%s", who->req_id ? who->req_id : "");
    op->done = done;
    op->ud = ud;
    op->count = op->fr.count ? op->fr.count : 1;
    op->deadline_us = mono_now_us() + (int64_t)FORK_WAIT_MAX_MS * 1000;
    bool ended = false;
    op->ended = &ended;
    bool settled = fork_try(op);
    if (ended)
        return 0;
    op->ended = NULL;
    if (!settled && !(op->timer = evtimer_new(ctx->base, on_fork_timer, op))) {
        struct ctl_error oom;
        ctl_error_internal(&oom, "fork", -ENOMEM);
        fork_end(op, &oom, NULL);
        return 0;
    }
    if (!settled) {
        struct timeval tv = { 0, FORK_WAIT_POLL_MS * 1000 };
        event_add(op->timer, &tv);
    }
    *ret_op = op;
    return 0;
}

void ctl_sandbox_fork_abandon(struct ctl_fork *op)
{
    op->abandoned = true;
}
