/* SPDX-License-Identifier: MIT */
/* lifecycle.c: what the control layer does when the host reports a VM that died unasked
 * (lifecycle.h): the sandbox's row turns `failed` (§2.14.2: a running VM that dies has no
 * snapshot to recover from) and the dead VM's run dir is removed. Rows in other states are
 * left to the operation that owns them (a create in progress fails itself; a destroy
 * finishes). */
#include "daemon/ctl/lifecycle.h"

#include <errno.h>
#include <string.h>

#include "common/timefmt.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/events.h"
#include "daemon/ctl/pool.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/host/host.h"
#include "daemon/log.h"
#include "daemon/store/store.h"

void ctl_on_vm_exit(void *ud, const char *id, const struct host_exit *ex)
{
    struct ctl *ctx = ud;
    if (ctl_pool_vm_exited(ctx, id)) /* a pooled VM: no row, never handed out now */
        return;
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    int r = store_sandbox_get(ctx->store, NULL, id, &sb);
    enum store_state s = r == 0 ? sb.status : STORE_STATE_NONE;
    store_sandbox_release(&sb);
    if (r < 0) {
        log_warn(NULL, "vm exited for an unknown sandbox; removing it", "{s:s,s:s}", "sandbox",
                 id, "reason", ex->reason);
        ctl_sandbox_destroy_vm(ctx, id, NULL);
        return;
    }
    if (s != STORE_RUNNING) {
        log_info(NULL, "vm exited", "{s:s,s:s,s:s}", "sandbox", id, "state",
                 store_state_to_string(s), "reason", ex->reason);
        return;
    }
    struct store_transition t = { .from = STORE_RUNNING, .to = STORE_FAILED,
                                  .intent = STORE_STATE_NONE, .now_ms = timefmt_now_ms() };
    r = store_sandbox_transition(ctx->store, id, &t, NULL);
    if (r == 0)
        ctl_event_settled(ctx, id, STORE_RUNNING, STORE_FAILED, t.now_ms, ex->reason);
    if (r < 0) {
        log_warn(NULL, "vm exited but the sandbox changed state meanwhile", "{s:s,s:s,s:s}",
                 "sandbox", id, "reason", ex->reason, "err", strerror(-r));
        return;
    }
    log_error(NULL, "sandbox failed: its vm exited", "{s:s,s:s}", "sandbox", id, "reason",
              ex->reason);
    ctl_sandbox_destroy_vm(ctx, id, NULL);
}
