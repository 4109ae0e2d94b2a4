/* SPDX-License-Identifier: MIT */
/* reconcile.c: what `hearthd serve` does before it listens (reconcile.h). Row by row:
 * creating → failed (its VM, if any, torn down); destroying → destroyed after the teardown;
 * running → the VM is re-adopted, or the row turns failed when its QEMU is gone; then orphan
 * run dirs (a create cut short, a crash between two steps) are destroyed and stale VM cgroups
 * removed. Uses store.h and host.h through the control context (ctl.h); edge code, so it
 * logs. */
#include "daemon/ctl/reconcile.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/timefmt.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/events.h"
#include "daemon/ctl/snapdir.h"
#include "daemon/host/host.h"
#include "daemon/host/snapshot.h"
#include "daemon/log.h"
#include "daemon/store/store.h"

struct rc {
    struct ctl *c;
    struct store *st;
    struct host *h;
    const char *host_id;
    unsigned pending;
    unsigned adopted, failed, destroyed, orphans;
};

struct rc_op {
    struct rc *rc;
    enum store_state from;       /* the row's state when we started */
    char snapshot_dir[PATH_MAX]; /* pausing/resuming: the row's snapshot, "" when none */
    char base_dir[PATH_MAX];
};

static void set_snapshot(struct rc *rc, const char *id, enum store_state state,
                         const char *snapshot_dir, const char *base_dir)
{
    struct store_sandbox_patch p = { .fields = STORE_PATCH_SNAPSHOT | STORE_PATCH_HOST,
                                     .allowed_states = STORE_STATE_BIT(state),
                                     .snapshot_dir = snapshot_dir, .base_dir = base_dir,
                                     .host_id = rc->host_id, .now_ms = timefmt_now_ms() };
    int r = store_sandbox_update(rc->st, NULL, id, &p);
    if (r < 0)
        log_warn(NULL, "reconcile: cannot record the snapshot", "{s:s,s:s}", "sandbox", id,
                 "err", strerror(-r));
}

static void settle(struct rc *rc, const char *id, enum store_state from, enum store_state to)
{
    struct store_transition t = { .from = from, .to = to, .intent = STORE_STATE_NONE,
                                  .now_ms = timefmt_now_ms() };
    int r = store_sandbox_transition(rc->st, id, &t, NULL);
    if (r == 0)
        ctl_event_settled(rc->c, id, from, to, t.now_ms, "settled at start-up");
    if (r < 0)
        log_error(NULL, "reconcile: cannot record state", "{s:s,s:s,s:s,s:s}", "sandbox", id,
                  "from", store_state_to_string(from), "to", store_state_to_string(to), "err",
                  strerror(-r));
    else
        log_info(NULL, "reconcile: sandbox settled", "{s:s,s:s,s:s}", "sandbox", id, "from",
                 store_state_to_string(from), "to", store_state_to_string(to));
}

static void on_destroyed(void *ud, const char *id, const struct host_result *res)
{
    struct rc_op *op = ud;
    struct rc *rc = op->rc;
    bool ok = res->err == HOST_OK || res->err == HOST_E_NOT_FOUND;
    if (!ok)
        log_error(NULL, "reconcile: cannot tear down vm", "{s:s,s:s}", "sandbox", id, "err",
                  res->msg);
    if (ok && op->from == STORE_DESTROYING) {
        settle(rc, id, STORE_DESTROYING, STORE_DESTROYED);
        rc->destroyed++;
    }
    rc->pending--;
    free(op);
}

static void destroy(struct rc *rc, const char *id, enum store_state from)
{
    struct rc_op *op = calloc(1, sizeof(*op));
    if (!op) {
        log_error(NULL, "reconcile: out of memory", "{s:s}", "sandbox", id);
        return;
    }
    op->rc = rc;
    op->from = from;
    rc->pending++;
    host_vm_destroy(rc->h, id, on_destroyed, op);
}

/* Whether dir has a durable copy in the snapshot store (migration 0010). */
static bool durable_in_s3(struct rc *rc, const char *dir)
{
    struct store_snapobj o;
    return dir[0] && store_snapobj_get(rc->st, dir, &o) == 0 && o.durable_at > 0;
}

static void on_adopted(void *ud, const char *id, const struct host_result *res)
{
    struct rc_op *op = ud;
    struct rc *rc = op->rc;
    rc->pending--;
    enum store_state from = op->from;
    if (from == STORE_PAUSING || from == STORE_RESUMING) {
        if (res->err == HOST_OK) {
            /* the VM outlived the transition: it runs (adopt sent cont). A resume that had
             * not removed a consumed snapshot yet keeps it as its base: nothing is lost, the
             * directory goes with the sandbox. */
            const char *base = snapshot_is_complete(op->snapshot_dir) && from == STORE_RESUMING
                                   ? op->snapshot_dir
                                   : op->base_dir;
            if (from == STORE_PAUSING && op->snapshot_dir[0] &&
                !snapshot_is_complete(op->snapshot_dir)) {
                (void)snapshot_remove(op->snapshot_dir); /* half written */
            }
            set_snapshot(rc, id, from, NULL, base);
            settle(rc, id, from, STORE_RUNNING);
            rc->adopted++;
        } else if (from == STORE_RESUMING && snapshot_is_complete(op->snapshot_dir)) {
            /* §2.14.2: the restore did not finish; the snapshot is intact: error, resumable */
            settle(rc, id, from, STORE_ERROR);
            destroy(rc, id, STORE_STATE_NONE);
        } else if (from == STORE_RESUMING && durable_in_s3(rc, op->snapshot_dir)) {
            /* stopped while fetching an evicted snapshot back from S3 (docs/snapshots.md
             * "Snapshots on S3"): the durable copy is whole, the sandbox stays paused */
            settle(rc, id, from, STORE_PAUSED);
            destroy(rc, id, STORE_STATE_NONE);
        } else {
            log_error(NULL, "reconcile: sandbox lost in a transition", "{s:s,s:s,s:s}",
                      "sandbox", id, "state", store_state_to_string(from), "err", res->msg);
            settle(rc, id, from, STORE_FAILED);
            rc->failed++;
            destroy(rc, id, STORE_FAILED);
        }
        free(op);
        return;
    }
    free(op);
    if (res->err == HOST_OK) {
        struct store_sandbox_patch p = { .fields = STORE_PATCH_HOST,
                                         .allowed_states = STORE_STATE_BIT(STORE_RUNNING),
                                         .host_id = rc->host_id,
                                         .qemu_pid = (int32_t)host_vm_pid(rc->h, id),
                                         .now_ms = timefmt_now_ms() };
        char run_dir[PATH_MAX];
        if (host_vm_run_dir(rc->h, id, run_dir, sizeof(run_dir)) == 0)
            p.run_dir = run_dir;
        int r = store_sandbox_update(rc->st, NULL, id, &p);
        if (r < 0)
            log_warn(NULL, "reconcile: cannot record the adopted vm, ignoring", "{s:s,s:s}",
                     "sandbox", id, "err", strerror(-r));
        log_info(NULL, "reconcile: vm adopted", "{s:s,s:i}", "sandbox", id, "pid",
                 (int)host_vm_pid(rc->h, id));
        rc->adopted++;
        return;
    }
    /* §2.14.2: a running VM that is gone has no snapshot to recover from */
    log_error(NULL, "reconcile: vm of a running sandbox is gone", "{s:s,s:s}", "sandbox", id,
              "err", res->msg);
    settle(rc, id, STORE_RUNNING, STORE_FAILED);
    rc->failed++;
    destroy(rc, id, STORE_FAILED);
}

static void adopt(struct rc *rc, const struct store_sandbox *sb)
{
    struct rc_op *op = calloc(1, sizeof(*op));
    if (!op) {
        log_error(NULL, "reconcile: out of memory", "{s:s}", "sandbox", sb->id);
        return;
    }
    op->rc = rc;
    op->from = sb->status;
    snprintf(op->snapshot_dir, sizeof(op->snapshot_dir), "%s",
             sb->snapshot_dir ? sb->snapshot_dir : "");
    snprintf(op->base_dir, sizeof(op->base_dir), "%s", sb->base_dir ? sb->base_dir : "");
    rc->pending++;
    host_vm_adopt(rc->h, sb->id, on_adopted, op);
}

static void wait_all(struct rc *rc, struct event_base *base)
{
    while (rc->pending > 0)
        if (event_base_loop(base, EVLOOP_ONCE) < 0)
            break;
}

int reconcile_run(struct ctl *c)
{
    struct store *st = c->store;
    struct host *h = c->host;
    struct event_base *base = c->base;
    struct rc rc = { .c = c, .st = st, .h = h, .host_id = c->set.host_id };
    struct store_sandbox *rows = NULL;
    size_t n = 0;
    int r = store_sandbox_list_unsettled(st, NULL, &rows, &n);
    if (r < 0) {
        log_error(NULL, "reconcile: cannot list unsettled sandboxes", "{s:s}", "err",
                  strerror(-r));
        return r;
    }
    for (size_t i = 0; i < n; i++) {
        const struct store_sandbox *sb = &rows[i];
        switch (sb->status) {
        case STORE_CREATING:
            /* the create's caller is gone: never leave it creating */
            settle(&rc, sb->id, STORE_CREATING, STORE_FAILED);
            rc.failed++;
            destroy(&rc, sb->id, STORE_FAILED);
            break;
        case STORE_DESTROYING:
            destroy(&rc, sb->id, STORE_DESTROYING);
            break;
        case STORE_RUNNING:
            adopt(&rc, sb);
            break;
        case STORE_PAUSING:
            if (sb->snapshot_dir && snapshot_is_complete(sb->snapshot_dir)) {
                /* the snapshot is whole (meta.json comes last, after QEMU quit) */
                set_snapshot(&rc, sb->id, STORE_PAUSING, sb->snapshot_dir, sb->base_dir);
                settle(&rc, sb->id, STORE_PAUSING, STORE_PAUSED);
                destroy(&rc, sb->id, STORE_STATE_NONE); /* the run dir's leftovers */
            } else {
                adopt(&rc, sb);
            }
            break;
        case STORE_RESUMING:
            adopt(&rc, sb);
            break;
        case STORE_FORKING:
            /* a child between its insert and its resume: no VM was started yet */
            settle(&rc, sb->id, STORE_FORKING, STORE_FAILED);
            rc.failed++;
            break;
        case STORE_PAUSED:
        case STORE_ERROR:
            break; /* a snapshot on disk; nothing runs */
        default:
            if (!store_state_is_terminal(sb->status))
                log_warn(NULL, "reconcile: no recovery for this state yet, ignoring",
                         "{s:s,s:s}", "sandbox", sb->id, "state",
                         store_state_to_string(sb->status));
            break;
        }
    }
    store_sandbox_array_free(rows, n);
    wait_all(&rc, base);

    struct host_orphan *orph = NULL;
    size_t no = 0;
    r = host_vm_list_orphans(h, &orph, &no);
    if (r < 0) {
        log_error(NULL, "reconcile: cannot list run dirs", "{s:s}", "err", strerror(-r));
    } else {
        for (size_t i = 0; i < no; i++) {
            if (!orph[i].valid) {
                log_warn(NULL, "reconcile: run dir is not a sandbox id, ignoring", "{s:s}",
                         "name", orph[i].id);
                continue;
            }
            log_info(NULL, "reconcile: removing orphan vm", "{s:s,s:i,s:b}", "sandbox",
                     orph[i].id, "pid", (int)orph[i].pid, "alive", orph[i].alive);
            rc.orphans++;
            destroy(&rc, orph[i].id, STORE_STATE_NONE);
        }
        free(orph);
        wait_all(&rc, base);
    }
    /* snapshots no row names (a live fork's, taken before its children were recorded) */
    ctl_snapdir_sweep(c);
    /* cgroups of VMs that are gone (a crash between exit and cleanup) */
    int pruned = host_cgroup_prune(h);
    if (pruned < 0)
        log_warn(NULL, "reconcile: cannot prune vm cgroups, ignoring", "{s:s}", "err",
                 strerror(-pruned));
    else if (pruned > 0)
        log_info(NULL, "reconcile: stale vm cgroups removed", "{s:i}", "count", pruned);
    log_info(NULL, "reconcile done", "{s:i,s:i,s:i,s:i}", "adopted", (int)rc.adopted, "failed",
             (int)rc.failed, "destroyed", (int)rc.destroyed, "orphans", (int)rc.orphans);
    return 0;
}
