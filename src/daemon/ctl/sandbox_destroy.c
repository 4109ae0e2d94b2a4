/* SPDX-License-Identifier: MIT */
/* sandbox_destroy.c: destroying a sandbox (sandbox_ops.h, docs/api.md §3.2.6): a live VM goes
 * behind the durable `destroying` (intent destroyed) and the row turns destroyed when the host
 * is done; its snapshots go when nothing else needs them. A teardown that fails leaves the
 * intent for the next start's reconcile. */
#include "daemon/ctl/sandbox_ops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crashpt.h"
#include "common/timefmt.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/events.h"
#include "daemon/ctl/netplane.h"
#include "daemon/ctl/sandbox_row.h"
#include "daemon/ctl/snapdir.h"
#include "daemon/host/host.h"
#include "daemon/log.h"
#include "daemon/store/store.h"

#define CAS_RETRIES 5

struct destroy_wait {
    struct ctl *ctx;
    char id[STORE_ID_SIZE];
    char req_id[160];
};

/* A terminal row's snapshots (the one it would resume from, the base its disk sat on) go
 * when nothing else needs them. */
static void release_snapshots(struct ctl *ctx, const char *id)
{
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    if (store_sandbox_get(ctx->store, NULL, id, &sb) == 0 && store_state_is_terminal(sb.status)) {
        ctl_snapshot_release(ctx, sb.snapshot_dir);
        ctl_snapshot_release(ctx, sb.base_dir);
    }
    store_sandbox_release(&sb);
}

static void on_host_destroyed(void *ud, const char *id, const struct host_result *res)
{
    struct destroy_wait *w = ud;
    if (res->err != HOST_OK && res->err != HOST_E_NOT_FOUND) {
        /* stays destroying; the reconcile of the next start retries the teardown */
        log_error(w->req_id, "cannot destroy sandbox", "{s:s,s:s}", "sandbox", w->id, "err",
                  res->msg);
    } else {
        crashpt("destroy-vm-gone"); /* VM and run dir gone, the row still destroying */
        struct store_transition t = { .from = STORE_DESTROYING, .to = STORE_DESTROYED,
                                      .intent = STORE_STATE_NONE, .now_ms = timefmt_now_ms() };
        int r = store_sandbox_transition(w->ctx->store, w->id, &t, NULL);
        if (r == 0)
            ctl_event_settled(w->ctx, w->id, STORE_DESTROYING, STORE_DESTROYED, t.now_ms, NULL);
        if (r < 0 && r != -ESTALE)
            log_error(w->req_id, "cannot record destroyed", "{s:s,s:s}", "sandbox", w->id,
                      "err", strerror(-r));
        else
            log_info(w->req_id, "sandbox destroyed", "{s:s}", "sandbox", w->id);
        release_snapshots(w->ctx, w->id);
    }
    free(w);
}

void ctl_sandbox_destroy_vm(struct ctl *ctx, const char *id, const char *req_id)
{
    struct destroy_wait *w = calloc(1, sizeof(*w));
    if (!w) {
        /* the intent stays recorded; reconcile finishes the teardown */
        log_error(req_id, "cannot start destroy", "{s:s,s:s}", "sandbox", id, "err", "ENOMEM");
        return;
    }
    w->ctx = ctx;
    snprintf(w->id, sizeof(w->id), "%s", id);
    snprintf(w->req_id, sizeof(w->req_id), "%s", req_id ? req_id : "");
    ctl_net_vm_stopped(ctx, id, false);
    crashpt("destroy-after-destroying"); /* row destroying, tap gone, the VM still there */
    host_vm_destroy(ctx->host, id, on_host_destroyed, w);
}

int ctl_sandbox_destroy(struct ctl *ctx, const struct ctl_caller *who, const char *id,
                        enum store_state *ret_state, struct ctl_error *e)
{
    for (int attempt = 0; attempt < CAS_RETRIES; attempt++) {
        struct store_sandbox sb;
        int r = ctl_row_load(ctx, who->user_id, id, &sb, e);
        enum store_state s = sb.status;
        bool live = !(s == STORE_PAUSED || s == STORE_ERROR || store_state_is_terminal(s));
        bool has_vm = sb.qemu_pid != 0 || sb.run_dir != NULL;
        store_sandbox_release(&sb);
        if (r < 0)
            return r;
        if (s == STORE_DESTROYED || s == STORE_DESTROYING) {
            *ret_state = s;
            return 0;
        }
        struct store_transition t = { .from = s, .now_ms = timefmt_now_ms(),
                                      .intent = STORE_STATE_NONE };
        /* a creating row may have a VM booting already: the host tears it down (or answers
         * not_found) and cancels the pending create */
        bool via_host = live && (ctx->host || has_vm);
        if (via_host && ctl_row_vm_layer(ctx, e) < 0)
            return -EAGAIN;
        t.to = via_host ? STORE_DESTROYING : STORE_DESTROYED;
        if (via_host)
            t.intent = STORE_DESTROYED;
        ctl_event_cause(ctx, id, who->actor ? who->actor : CTL_ACTOR_API, who->reason);
        r = store_sandbox_transition(ctx->store, id, &t, NULL);
        if (r == 0)
            ctl_event_settled(ctx, id, s, t.to, t.now_ms, NULL);
        else
            ctl_event_cause(ctx, id, NULL, NULL);
        if (r == -ESTALE)
            continue;
        if (r == -ENOENT)
            return ctl_error_set(e, CTL_E_NOT_FOUND, NULL, NULL, "sandbox not found");
        if (r < 0)
            return ctl_error_internal(e, "destroy sandbox", r);
        if (via_host)
            ctl_sandbox_destroy_vm(ctx, id, who->req_id);
        else
            release_snapshots(ctx, id);
        log_info(who->req_id, "sandbox destroy", "{s:s,s:s,s:s}", "sandbox", id, "from",
                 store_state_to_string(s), "to", store_state_to_string(t.to));
        *ret_state = t.to;
        return 0;
    }
    return ctl_error_internal(e, "destroy sandbox: state kept changing", -EAGAIN);
}
