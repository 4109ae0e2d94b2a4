/* SPDX-License-Identifier: MIT */
/* sandbox_pause.c: pausing a sandbox (sandbox_ops.h, docs/api.md §3.3.1, docs/snapshots.md):
 * running → pausing with the snapshot dir recorded first, then the host's pause; paused when
 * it is on disk, back to running when it failed (nothing lost), failed when the VM died. The
 * auto-pauser (idle.c) uses the same step. */
#include "daemon/ctl/sandbox_ops.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crashpt.h"
#include "common/timefmt.h"
#include "common/timeline.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/events.h"
#include "daemon/ctl/netplane.h"
#include "daemon/ctl/sandbox_row.h"
#include "daemon/ctl/snapdir.h"
#include "daemon/ctl/snapstore.h"
#include "daemon/ctl/space.h"
#include "daemon/ctl/usage.h"
#include "daemon/host/host.h"
#include "daemon/log.h"
#include "daemon/store/store.h"

struct pause_op {
    struct ctl *ctx;
    char id[STORE_ID_SIZE];
    char dir[PATH_MAX];
    char req_id[160];
    struct timeline tl;             /* the steps (docs/performance.md "Where the time goes") */
};

static void on_paused(void *ud, const char *id, const struct host_result *res)
{
    struct pause_op *op = ud;
    struct ctl *ctx = op->ctx;
    if (res->err == HOST_E_CANCELED) {
        /* deleted while pausing: the destroy owns the row and the files */
        free(op);
        return;
    }
    if (res->err == HOST_E_GONE) {
        log_error(op->req_id, "sandbox failed: its vm exited during the pause", "{s:s,s:s}",
                  "sandbox", id, "err", res->msg);
        ctl_row_settle(ctx, id, STORE_PAUSING, STORE_FAILED, STORE_STATE_NONE, op->req_id);
        ctl_sandbox_destroy_vm(ctx, id, op->req_id);
        free(op);
        return;
    }
    if (res->err != HOST_OK) {
        /* §2.14.2, hearth chooses: nothing was lost, the VM keeps running */
        log_error(op->req_id, "sandbox pause failed; it keeps running", "{s:s,s:s}", "sandbox",
                  id, "err", res->msg);
        ctl_row_set_snapshot_dir(ctx, id, STORE_PAUSING, NULL, op->req_id);
        ctl_row_settle(ctx, id, STORE_PAUSING, STORE_RUNNING, STORE_STATE_NONE, op->req_id);
        free(op);
        return;
    }
    timeline_append(&op->tl, &res->tl);
    crashpt("pause-before-commit"); /* snapshot complete and durable, the row still pausing */
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    int r = store_sandbox_get(ctx->store, NULL, id, &sb);
    const char *base = r == 0 && sb.base_dir ? sb.base_dir : "";
    if (r == 0)
        r = ctl_snapdir_parent_write(op->dir, base);
    struct store_sandbox_patch p = { .fields = STORE_PATCH_SNAPSHOT | STORE_PATCH_HOST,
                                     .allowed_states = STORE_STATE_BIT(STORE_PAUSING),
                                     .snapshot_dir = op->dir, .base_dir = base,
                                     .host_id = ctx->set.host_id, .now_ms = timefmt_now_ms() };
    if (r == 0)
        r = store_sandbox_update(ctx->store, NULL, id, &p);
    store_sandbox_release(&sb);
    if (r == -ESTALE || r == -ENOENT) {
        /* deleted meanwhile: the snapshot is nobody's */
        ctl_snapshot_release(ctx, op->dir);
        free(op);
        return;
    }
    if (r < 0) {
        log_error(op->req_id, "cannot record the snapshot; the sandbox is lost", "{s:s,s:s}",
                  "sandbox", id, "err", strerror(-r));
        ctl_row_settle(ctx, id, STORE_PAUSING, STORE_FAILED, STORE_STATE_NONE, op->req_id);
        free(op);
        return;
    }
    timeline_mark(&op->tl, "record");
    ctl_event_timeline(ctx, id, CTL_USAGE_OP_PAUSE, &op->tl);
    ctl_row_settle(ctx, id, STORE_PAUSING, STORE_PAUSED, STORE_STATE_NONE, op->req_id);
    ctl_net_vm_stopped(ctx, id, true); /* the address and the tap stay for the resume */
    log_info(op->req_id, "sandbox paused", "{s:s,s:s}", "sandbox", id, "snapshot", op->dir);
    /* after `paused` was answered: the upload to S3 runs in the background (snapstore.h) */
    ctl_snapstore_paused(ctx, id, op->dir);
    ctl_snapdir_flatten_if_deep(ctx, id, op->dir);
    free(op);
}

/* running → pausing, then the host's pause. 0; -ESTALE (not running any more); -errno. */
int ctl_sandbox_pause_start(struct ctl *ctx, const char *id, const char *req_id)
{
    /* the auto-pauser comes here too: under the free-space threshold a sandbox keeps running
     * rather than write its snapshot into the host's last free space (ctl_sandbox_pause()
     * asked first, for its typed error) */
    struct timeline tl;
    timeline_start(&tl);
    struct ctl_error space;
    if (ctl_space_check(ctx, req_id, "pause", 0, &space) < 0)
        return -ENOSPC;
    if (ctl_fork_live_busy(ctx, id))
        return -ESTALE; /* the auto-pauser tries again later */
    timeline_mark(&tl, "checks");
    struct pause_op *op = calloc(1, sizeof(*op));
    if (!op)
        return -ENOMEM;
    op->ctx = ctx;
    op->tl = tl;
    snprintf(op->id, sizeof(op->id), "%s", id);
    snprintf(op->req_id, sizeof(op->req_id), "%s", req_id ? req_id : "");
    int r = ctl_snapdir_new(ctx, id, op->dir);
    if (r < 0) {
        free(op);
        return r;
    }
    struct store_transition t = { .from = STORE_RUNNING, .to = STORE_PAUSING,
                                  .intent = STORE_PAUSED, .flags = STORE_TR_NO_PENDING,
                                  .now_ms = timefmt_now_ms() };
    r = store_sandbox_transition(ctx->store, id, &t, NULL);
    if (r < 0) {
        free(op);
        return r == -EBUSY ? -ESTALE : r;
    }
    ctl_event_settled(ctx, id, STORE_RUNNING, STORE_PAUSING, t.now_ms, NULL);
    /* recorded first, so a restart after a crash mid-pause finds the snapshot (reconcile) */
    ctl_row_set_snapshot_dir(ctx, id, STORE_PAUSING, op->dir, req_id);
    log_info(req_id, "sandbox pause", "{s:s}", "sandbox", id);
    timeline_mark(&op->tl, "intent");
    crashpt("pause-after-pausing"); /* row pausing with its snapshot dir, the VM untouched */
    host_vm_pause(ctx->host, id, op->dir, on_paused, op);
    return 0;
}

int ctl_sandbox_pause(struct ctl *ctx, const struct ctl_caller *who, const char *id,
                      struct ctl_error *e)
{
    enum store_state s;
    int r = ctl_row_require(ctx, who->user_id, id,
                            STORE_STATE_BIT(STORE_PAUSED) | STORE_STATE_BIT(STORE_PAUSING),
                            STORE_STATE_BIT(STORE_RUNNING), "only a running sandbox can be paused",
                            &s, e);
    if (r != 0)
        return r < 0 ? r : 0;
    r = ctl_space_check(ctx, who->req_id, "pause", 0, e);
    if (r < 0)
        return r;
    if (ctl_fork_live_busy(ctx, id)) /* its VM is stopped for the copy: 409, retry */
        return ctl_error_set(e, CTL_E_INVALID_STATE, NULL, "running",
                             "a live fork of this sandbox is under way: retry when it answered");
    ctl_event_cause(ctx, id, who->actor ? who->actor : CTL_ACTOR_API, who->reason);
    r = ctl_sandbox_pause_start(ctx, id, who->req_id);
    if (r < 0)
        ctl_event_cause(ctx, id, NULL, NULL); /* no transition of ours to name */
    if (r < 0 && r != -ESTALE) /* raced with another transition: report where it is */
        return ctl_error_internal(e, "pause", r);
    return 0;
}
