/* SPDX-License-Identifier: MIT */
/* sandbox_resume.c: restoring a sandbox from its snapshot (sandbox_ops.h, restore.h,
 * docs/api.md §3.3.2, docs/snapshots.md): from paused, error or forking to resuming (intent
 * running), then the host's restore, retried up to 3 times before `error` (the snapshot is
 * kept). A snapshot only this sandbox needs is consumed (moved, not copied). Resume and fork
 * share it; a fork's child may get SSH keys installed once it runs. */
#include "daemon/ctl/restore.h"

#include <errno.h>
#include <limits.h>
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
#include "daemon/ctl/guest.h"
#include "daemon/ctl/idle.h"
#include "daemon/ctl/netplane.h"
#include "daemon/ctl/quota.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/ctl/sandbox_row.h"
#include "daemon/ctl/snapdir.h"
#include "daemon/ctl/snapstore.h"
#include "daemon/ctl/usage.h"
#include "daemon/host/host.h"
#include "daemon/log.h"
#include "daemon/store/store.h"

/* §2.14.4: up to 3 restore attempts in total before `error`. */
#define RESUME_ATTEMPTS 3
#define RESUME_BOOT_MS 30000
#define IDENTITY_MS 6000

struct restore_op {
    struct ctl *ctx;
    char id[STORE_ID_SIZE];
    char snap[PATH_MAX];            /* restored from */
    bool consume;
    bool local;                     /* the snapshot was checked local (or fetched from S3) */
    int attempt;
    char req_id[160];
    ctl_restore_done_fn done;       /* NULL: nobody waits */
    void *ud;
    struct store_strv keys;         /* SSH keys to install after the restore (fork override) */
    int64_t start_us;
    struct timeline tl;             /* the steps (docs/performance.md "Where the time goes") */
    enum ctl_usage_op tl_op;        /* resume or fork */
};

static void restore_op_free(struct restore_op *op)
{
    store_strv_free(&op->keys);
    free(op);
}

static void restore_begin(struct restore_op *op);

/* Tells the waiter how it ended (code CTL_OK, CTL_E_INVALID_STATE or CTL_E_FAILED) and frees
 * op. */
static void restore_end(struct restore_op *op, enum ctl_code code, const char *msg)
{
    if (op->done) {
        struct ctl_error e = { .code = CTL_OK };
        if (code != CTL_OK)
            (void)ctl_error_set(&e, code, NULL, code == CTL_E_INVALID_STATE ? "destroying" : NULL,
                                "%s", msg);
        op->done(op->ud, &e, op->id);
    }
    restore_op_free(op);
}

static void on_keys_done(void *ud, int err, int status, const char *msg)
{
    struct restore_op *op = ud;
    if (err < 0 || status != 0)
        log_warn(op->req_id, "cannot install the fork's ssh keys, ignoring", "{s:s,s:s}",
                 "sandbox", op->id, "err", msg);
    restore_end(op, CTL_OK, NULL);
}

static void on_restored(void *ud, const char *id, const struct host_result *res)
{
    struct restore_op *op = ud;
    struct ctl *ctx = op->ctx;
    if (res->err == HOST_E_CANCELED) {
        restore_end(op, CTL_E_INVALID_STATE, "sandbox was deleted while resuming");
        return;
    }
    if (res->err != HOST_OK) {
        log_error(op->req_id, "sandbox restore failed", "{s:s,s:i,s:s}", "sandbox", id,
                  "attempt", op->attempt, "err", res->msg);
        bool broken = res->err == HOST_E_INVALID || res->err == HOST_E_NOT_FOUND;
        if (!broken && op->attempt < RESUME_ATTEMPTS) {
            op->attempt++;
            restore_begin(op);
            return;
        }
        /* §2.14.2: resuming → error (the snapshot is kept; resume may be retried) */
        ctl_event_timeline(ctx, id, op->tl_op, &op->tl);
        ctl_row_settle(ctx, id, STORE_RESUMING, STORE_ERROR, STORE_STATE_NONE, op->req_id);
        char msg[600];
        snprintf(msg, sizeof(msg), "cannot restore the sandbox: %s", res->msg);
        restore_end(op, CTL_E_FAILED, msg);
        return;
    }
    timeline_append(&op->tl, &res->tl);
    crashpt("restore-vm-ready"); /* the VM runs from the snapshot, the row still resuming */
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    int r = store_sandbox_get(ctx->store, NULL, id, &sb);
    char run_dir[PATH_MAX];
    if (host_vm_run_dir(ctx->host, id, run_dir, sizeof(run_dir)) < 0)
        run_dir[0] = '\0';
    /* consumed: the row keeps its base; restored from a shared one: that is now the base */
    char base[PATH_MAX];
    snprintf(base, sizeof(base), "%s", op->consume ? (sb.base_dir ? sb.base_dir : "") : op->snap);
    store_sandbox_release(&sb);
    struct store_sandbox_patch p = { .fields = STORE_PATCH_SNAPSHOT | STORE_PATCH_HOST,
                                     .allowed_states = STORE_STATE_BIT(STORE_RESUMING),
                                     .snapshot_dir = NULL, .base_dir = base,
                                     .host_id = ctx->set.host_id,
                                     .run_dir = run_dir[0] ? run_dir : NULL,
                                     .qemu_pid = (int32_t)host_vm_pid(ctx->host, id),
                                     .now_ms = timefmt_now_ms() };
    if (r == 0)
        r = store_sandbox_update(ctx->store, NULL, id, &p);
    if (r == 0) {
        struct store_transition t = { .from = STORE_RESUMING, .to = STORE_RUNNING,
                                      .intent = STORE_STATE_NONE, .now_ms = timefmt_now_ms() };
        timeline_mark(&op->tl, "record");
        ctl_event_timeline(ctx, id, op->tl_op, &op->tl);
        r = store_sandbox_transition(ctx->store, id, &t, NULL);
        if (r == 0)
            ctl_event_settled(ctx, id, STORE_RESUMING, STORE_RUNNING, t.now_ms, NULL);
    }
    if (r < 0) {
        /* deleted meanwhile (the delete tears the VM down) or the store failed */
        if (r != -ESTALE && r != -ENOENT) {
            log_error(op->req_id, "cannot record the resumed sandbox", "{s:s,s:s}", "sandbox",
                      id, "err", strerror(-r));
            ctl_row_settle(ctx, id, STORE_RESUMING, STORE_FAILED, STORE_STATE_NONE, op->req_id);
            ctl_sandbox_destroy_vm(ctx, id, op->req_id);
        }
        restore_end(op, CTL_E_INVALID_STATE, "sandbox was deleted while resuming");
        return;
    }
    ctl_idle_touch(ctx, id);
    /* mounts kept from before the pause are re-checked, a fork's child lets go of its
     * source's and mounts its own (docs/disks.md "What forks do") */
    ctl_disk_mounts_start(ctx, id);
    log_info(op->req_id, "sandbox running", "{s:s,s:s,s:b,s:f}", "sandbox", id, "snapshot",
             op->snap, "consumed", op->consume, "restore_ms",
             (double)(mono_now_us() - op->start_us) / 1000.0);
    if (op->keys.n) {
        struct store_sandbox row;
        store_sandbox_init(&row);
        const char **argv = NULL;
        if (store_sandbox_get(ctx->store, NULL, id, &row) == 0)
            argv = guest_identity_argv(row.hostname, (const char *const *)op->keys.v, op->keys.n);
        int k = argv ? guest_run(ctx->host, ctx->base, id, argv, IDENTITY_MS, on_keys_done, op)
                     : -ENOMEM;
        free(argv);
        store_sandbox_release(&row);
        if (k == 0)
            return;
    }
    restore_end(op, CTL_OK, NULL);
}

static void on_cannot_start(evutil_socket_t fd, short what, void *arg)
{
    struct restore_op *op = arg;
    struct host_result res = { .err = op->snap[0] ? HOST_E_SYSTEM : HOST_E_NOT_FOUND };
    if (op->snap[0])
        snprintf(res.msg, sizeof(res.msg), "cannot set up the network of sandbox '%s'", op->id);
    else
        snprintf(res.msg, sizeof(res.msg), "sandbox '%s' has no snapshot to resume from",
                 op->id);
    on_restored(op, op->id, &res);
}

/* A restore that cannot start (no snapshot, no network) fails from the loop, like any host
 * failure: the caller answers 202 first. No retry. */
static void restore_cannot_start(struct restore_op *op)
{
    op->attempt = RESUME_ATTEMPTS;
    struct timeval now = { 0, 0 };
    if (event_base_once(op->ctx->base, -1, EV_TIMEOUT, on_cannot_start, op, &now) < 0)
        on_cannot_start(-1, 0, op);
}

/* The fetch of an evicted snapshot ended: restore it, or settle the row back where it came
 * from (a resume: paused, a fork's child: error) with the reason; the snapshot's durable copy
 * is untouched either way, so a later resume tries again. */
static void on_snap_local(void *ud, int err, const char *why)
{
    struct restore_op *op = ud;
    struct ctl *ctx = op->ctx;
    timeline_mark(&op->tl, "fetch");
    if (err == 0) {
        restore_begin(op);
        return;
    }
    char msg[600];
    snprintf(msg, sizeof(msg), "cannot fetch the snapshot from S3: %s", why);
    log_error(op->req_id, "sandbox restore failed", "{s:s,s:s}", "sandbox", op->id, "err", msg);
    enum store_state to = op->tl_op == CTL_USAGE_OP_FORK ? STORE_ERROR : STORE_PAUSED;
    struct store_transition t = { .from = STORE_RESUMING, .to = to,
                                  .intent = STORE_STATE_NONE, .now_ms = timefmt_now_ms() };
    ctl_event_timeline(ctx, op->id, op->tl_op, &op->tl);
    int r = store_sandbox_transition(ctx->store, op->id, &t, NULL);
    if (r == 0)
        ctl_event_settled(ctx, op->id, STORE_RESUMING, to, t.now_ms, msg);
    restore_end(op, r == 0 ? CTL_E_FAILED : CTL_E_INVALID_STATE,
                r == 0 ? msg : "sandbox was deleted while resuming");
}

static void restore_begin(struct restore_op *op)
{
    struct ctl *ctx = op->ctx;
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    if (store_sandbox_get(ctx->store, NULL, op->id, &sb) < 0 || sb.status != STORE_RESUMING) {
        store_sandbox_release(&sb);
        restore_end(op, CTL_E_INVALID_STATE, "sandbox was deleted while resuming");
        return;
    }
    snprintf(op->snap, sizeof(op->snap), "%s", sb.snapshot_dir ? sb.snapshot_dir : "");
    if (op->snap[0] && !op->local) {
        /* evicted from the local cache: fetched from S3 first (snapstore.h) */
        op->local = true;
        int f = ctl_snapstore_ensure_local(ctx, op->snap, on_snap_local, op);
        if (f == 0) {
            store_sandbox_release(&sb);
            return;
        }
    }
    op->consume = op->snap[0] && ctl_snapdir_may_consume(ctx, op->id, op->snap);
    if (op->consume)
        ctl_snapstore_cancel(ctx, op->snap); /* its RAM file is about to be written */
    struct host_vm_spec spec = { .id = op->id, .vcpus = (unsigned)sb.vcpu,
                                 .memory_mib = (unsigned)sb.mem_mib, .snapshot = op->snap,
                                 .snapshot_consume = op->consume, .hostname = sb.hostname,
                                 .boot_timeout_ms = RESUME_BOOT_MS };
    struct ctl_net_vm nv;
    if (!op->snap[0] || ctl_net_vm_prepare(ctx, op->id, &nv) < 0) {
        store_sandbox_release(&sb);
        restore_cannot_start(op);
        return;
    }
    ctl_net_vm_spec(&nv, &spec);
    timeline_mark(&op->tl, "net");
    crashpt("restore-after-resuming"); /* row resuming (a resume or a fork's child), no VM */
    host_vm_create(ctx->host, &spec, on_restored, op);
    ctl_net_vm_release(&nv);
    store_sandbox_release(&sb);
}


int ctl_restore_start(struct ctl *ctx, const char *id, enum store_state from,
                      const char *req_id, char **keys, size_t n_keys,
                      const struct timeline *tl, ctl_restore_done_fn done, void *ud)
{
    struct restore_op *op = calloc(1, sizeof(*op));
    if (!op) {
        struct store_strv k = { .v = keys, .n = n_keys };
        store_strv_free(&k);
        return -ENOMEM;
    }
    op->ctx = ctx;
    op->attempt = 1;
    op->start_us = mono_now_us();
    if (tl)
        op->tl = *tl;
    else
        timeline_start(&op->tl);
    op->tl_op = from == STORE_FORKING ? CTL_USAGE_OP_FORK : CTL_USAGE_OP_RESUME;
    op->keys = (struct store_strv){ .v = keys, .n = n_keys };
    op->done = done;
    op->ud = ud;
    snprintf(op->id, sizeof(op->id), "%s", id);
    snprintf(op->req_id, sizeof(op->req_id), "%s", req_id ? req_id : "");
    struct store_transition t = { .from = from, .to = STORE_RESUMING, .intent = STORE_RUNNING,
                                  .now_ms = timefmt_now_ms() };
    int r = store_sandbox_transition(ctx->store, id, &t, NULL);
    if (r < 0) {
        restore_op_free(op);
        return r;
    }
    timeline_mark(&op->tl, "intent");
    log_info(req_id, "sandbox resume", "{s:s,s:s}", "sandbox", id, "from",
             store_state_to_string(from));
    restore_begin(op);
    return 0;
}

int ctl_sandbox_resume(struct ctl *ctx, const struct ctl_caller *who, const char *id,
                       struct ctl_error *e)
{
    enum store_state s = STORE_STATE_NONE;
    struct timeline tl;
    timeline_start_at(&tl, who->start_us ? who->start_us : mono_now_us());
    int r = ctl_row_require(ctx, who->user_id, id,
                            STORE_STATE_BIT(STORE_RUNNING) | STORE_STATE_BIT(STORE_RESUMING) |
                                STORE_STATE_BIT(STORE_FORKING),
                            STORE_STATE_BIT(STORE_PAUSED) | STORE_STATE_BIT(STORE_ERROR),
                            "only a paused (or error) sandbox can be resumed", &s, e);
    if (r < 0)
        return r;
    if (r == 1 && s == STORE_FORKING) {
        /* §2.14.3 note 2: the child runs as soon as its copy ends */
        struct store_sandbox_patch p = { .fields = STORE_PATCH_START_PAUSED,
                                         .allowed_states = STORE_STATE_BIT(STORE_FORKING),
                                         .start_paused = false, .now_ms = timefmt_now_ms() };
        if (store_sandbox_update(ctx->store, NULL, id, &p) < 0)
            log_warn(who->req_id, "cannot clear start_paused", "{s:s}", "sandbox", id);
    }
    if (r == 1)
        return 0;
    r = ctl_quota_host_vm(ctx, e);
    if (r < 0)
        return r;
    timeline_mark(&tl, "checks");
    ctl_event_cause(ctx, id, who->actor ? who->actor : CTL_ACTOR_API, who->reason);
    r = ctl_restore_start(ctx, id, s, who->req_id, NULL, 0, &tl, NULL, NULL);
    if (r < 0)
        ctl_event_cause(ctx, id, NULL, NULL); /* no transition of ours to name */
    if (r < 0 && r != -ESTALE)
        return ctl_error_internal(e, "resume", r);
    return 0;
}
