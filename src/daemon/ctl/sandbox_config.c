/* SPDX-License-Identifier: MIT */
/* sandbox_config.c: settings of a sandbox (sandbox_ops.h): PATCH (docs/api.md §3.2.5), and
 * those the network plane enforces: the egress allowlist (§3.6) and the bandwidth quota
 * (§3.7). The store holds the truth; a running sandbox's data plane follows every change at
 * once (netplane.h: rules within 1 s, a recharge uncaps at once). */
#include "daemon/ctl/sandbox_ops.h"

#include <errno.h>

#include "common/timefmt.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/netplane.h"
#include "daemon/ctl/sandbox_row.h"
#include "daemon/store/store.h"

int ctl_sandbox_patch(struct ctl *ctx, const struct ctl_caller *who, const char *id,
                      const struct ctl_patch_req *p, struct store_sandbox *ret,
                      struct ctl_error *e)
{
    int r = ctl_row_load(ctx, who->user_id, id, ret, e);
    if (r < 0)
        return r;
    if (!(STORE_STATES_CONFIGURABLE & STORE_STATE_BIT(ret->status)))
        return ctl_error_set(e, CTL_E_INVALID_STATE, NULL, store_state_to_string(ret->status),
                             "sandbox cannot be changed in this state");
    struct store_sandbox_patch sp = { .allowed_states = STORE_STATES_CONFIGURABLE,
                                      .now_ms = timefmt_now_ms() };
    if (p->set_ingress) {
        sp.fields |= STORE_PATCH_INGRESS;
        sp.ingress_enabled = p->ingress_enabled;
    }
    if (p->set_auto_pause) {
        sp.fields |= STORE_PATCH_AUTO_PAUSE;
        sp.auto_pause_after_seconds = p->auto_pause_after_seconds;
    }
    if (!sp.fields)
        return 0;
    r = store_sandbox_update(ctx->store, who->user_id, id, &sp);
    if (r == -ENOENT)
        return ctl_error_set(e, CTL_E_NOT_FOUND, NULL, NULL, "sandbox not found");
    if (r < 0 && r != -ESTALE)
        return ctl_error_internal(e, "update sandbox", r);
    store_sandbox_release(ret);
    int l = ctl_row_load(ctx, who->user_id, id, ret, e);
    if (l < 0)
        return l;
    if (r == -ESTALE) /* changed state under us */
        return ctl_error_set(e, CTL_E_INVALID_STATE, NULL, store_state_to_string(ret->status),
                             "sandbox cannot be changed in this state");
    return 0;
}

int ctl_sandbox_egress_set(struct ctl *ctx, const struct ctl_caller *who, const char *id,
                           const char *const *rules, size_t n, struct store_sandbox *ret,
                           struct ctl_error *e)
{
    store_sandbox_init(ret);
    enum store_state s = STORE_STATE_NONE;
    int r = ctl_row_state(ctx, who->user_id, id, &s, e);
    if (r < 0)
        return r;
    struct store_sandbox_patch p = {
        .fields = STORE_PATCH_EGRESS,
        .allowed_states = STORE_STATES_CONFIGURABLE,
        .egress = rules,
        .n_egress = n,
        .now_ms = timefmt_now_ms(),
    };
    r = store_sandbox_update(ctx->store, who->user_id, id, &p);
    if (r < 0)
        return ctl_row_update_failed(e, r, s, "egress cannot change in this state",
                                     "store egress");
    store_sandbox_release(ret);
    r = ctl_row_load(ctx, who->user_id, id, ret, e);
    if (r < 0)
        return r;
    if (ret->status == STORE_RUNNING)
        ctl_net_refresh(ctx, id, false);
    return 0;
}

int ctl_sandbox_bandwidth_recharge(struct ctl *ctx, const struct ctl_caller *who, const char *id,
                                   int64_t add_bytes, struct store_sandbox *sb,
                                   struct ctl_error *e)
{
    int r = ctl_row_load(ctx, who->user_id, id, sb, e);
    if (r < 0)
        return r;
    if (sb->bw_quota_bytes < 0) /* unmetered: a no-op */
        return 0;
    if (store_state_is_terminal(sb->status) || sb->status == STORE_DESTROYING)
        return ctl_error_set(e, CTL_E_INVALID_STATE, NULL, store_state_to_string(sb->status),
                             "bandwidth cannot change in this state");
    int64_t quota = sb->bw_quota_bytes + add_bytes;
    bool capped = sb->bw_used_bytes >= quota;
    struct store_sandbox_patch p = {
        .fields = STORE_PATCH_BW_QUOTA | STORE_PATCH_BW_COUNTERS,
        .allowed_states = STORE_STATES_CONFIGURABLE,
        .bw_quota_bytes = quota,
        .bw_used_bytes = sb->bw_used_bytes,
        .bw_ingress_bytes = sb->bw_ingress_bytes,
        .bw_capped = capped,
        .now_ms = timefmt_now_ms(),
    };
    r = store_sandbox_update(ctx->store, who->user_id, id, &p);
    if (r == -ESTALE)
        return ctl_error_set(e, CTL_E_INVALID_STATE, NULL, store_state_to_string(sb->status),
                             "bandwidth cannot change in this state");
    if (r < 0)
        return ctl_error_internal(e, "store quota", r);
    bool was = sb->bw_capped;
    sb->bw_quota_bytes = quota;
    sb->bw_capped = capped;
    if (was != capped && sb->status == STORE_RUNNING)
        ctl_net_refresh(ctx, id, false);
    return 0;
}
