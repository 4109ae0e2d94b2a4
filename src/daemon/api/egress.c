/* SPDX-License-Identifier: MIT */
/* egress.c: the egress allowlist (spec/API.md §3.6) and the bandwidth quota (§3.7) of a
 * sandbox. The store holds the truth; a running sandbox's data plane follows every change at
 * once through netplane.c (rules within 1 s, a recharge uncaps at once). */
#include "daemon/api/egress.h"

#include <errno.h>
#include <stdlib.h>

#include "daemon/api/api.h"
#include "daemon/api/netplane.h"
#include "daemon/api/reply.h"
#include "daemon/api/sandboxes.h"
#include "daemon/api/validate.h"
#include "common/timefmt.h"
#include "daemon/store/store.h"

#define RECHARGE_MAX (INT64_C(1) << 50)

static json_t *egress_view(const struct store_sandbox *sb)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < sb->egress.n; i++)
        json_array_append_new(list, json_string(sb->egress.v[i]));
    return json_pack("{s:s,s:o*}", "id", sb->id, "egress", list);
}

json_t *api_bandwidth_view(const struct store_sandbox *sb)
{
    bool metered = sb->bw_quota_bytes >= 0;
    return json_pack("{s:s,s:I,s:I,s:I,s:I,s:b}", "id", sb->id, "quota_bytes",
                     (json_int_t)sb->bw_quota_bytes, "used_bytes", (json_int_t)sb->bw_used_bytes,
                     "ingress_bytes", (json_int_t)sb->bw_ingress_bytes, "remaining_bytes",
                     (json_int_t)(metered ? sb->bw_quota_bytes - sb->bw_used_bytes : -1),
                     "capped", metered && sb->bw_capped);
}

void api_sandbox_egress_get(struct api_call *call)
{
    char id[STORE_ID_SIZE];
    struct store_sandbox sb;
    if (!api_sandbox_path_id(call, 2, id) || !api_sandbox_load(call, id, &sb))
        return;
    api_reply_ok(call, egress_view(&sb));
    store_sandbox_release(&sb);
}

static void egress_put_body(struct api_call *call, json_t *body)
{
    char id[STORE_ID_SIZE];
    struct store_sandbox sb;
    if (!api_sandbox_path_id(call, 2, id) || !api_sandbox_load(call, id, &sb))
        return;
    char **rules = NULL;
    size_t n = 0;
    json_t *fail = NULL;
    /* validation of the whole list first: one bad rule stores nothing */
    if (api_validate_egress(body, &rules, &n, &fail) != 0) {
        api_reply_fail(call, 400, fail);
        store_sandbox_release(&sb);
        return;
    }
    struct store_sandbox_patch p = {
        .fields = STORE_PATCH_EGRESS,
        .allowed_states = STORE_STATES_CONFIGURABLE,
        .egress = (const char *const *)rules,
        .n_egress = n,
        .now_ms = timefmt_now_ms(),
    };
    int r = store_sandbox_update(call->ctx->store, call->auth.user_id, id, &p);
    for (size_t i = 0; i < n; i++)
        free(rules[i]);
    free(rules);
    if (r == -ESTALE) {
        api_reply_invalid_state(call, store_state_to_string(sb.status),
                                "egress cannot change in this state");
    } else if (r == -ENOENT) {
        api_reply_fail_str(call, 404, "sandbox not found");
    } else if (r < 0) {
        api_reply_internal(call, "store egress", r);
    } else {
        store_sandbox_release(&sb);
        if (!api_sandbox_load(call, id, &sb))
            return;
        if (sb.status == STORE_RUNNING)
            api_net_refresh(call->ctx, id, false);
        api_reply_ok(call, egress_view(&sb));
    }
    store_sandbox_release(&sb);
}

void api_sandbox_egress_put(struct api_call *call)
{
    api_read_json(call, egress_put_body);
}

void api_sandbox_bandwidth_get(struct api_call *call)
{
    char id[STORE_ID_SIZE];
    struct store_sandbox sb;
    if (!api_sandbox_path_id(call, 2, id))
        return;
    api_net_meter(call->ctx); /* the freshest numbers, not up to a second old */
    if (!api_sandbox_load(call, id, &sb))
        return;
    api_reply_ok(call, api_bandwidth_view(&sb));
    store_sandbox_release(&sb);
}

static void recharge_body(struct api_call *call, json_t *body)
{
    char id[STORE_ID_SIZE];
    struct store_sandbox sb;
    /* ownership first: a foreign id is 404 whatever the body */
    if (!api_sandbox_path_id(call, 2, id) || !api_sandbox_load(call, id, &sb))
        return;
    json_t *add = json_is_object(body) ? json_object_get(body, "add_bytes") : NULL;
    if (!json_is_integer(add) || json_integer_value(add) < 1 ||
        json_integer_value(add) > RECHARGE_MAX) {
        api_reply_field(call, "add_bytes", "must be an integer from 1 to 2^50", "invalid_request");
        store_sandbox_release(&sb);
        return;
    }
    if (sb.bw_quota_bytes < 0) { /* unmetered: a no-op */
        api_reply_ok(call, api_bandwidth_view(&sb));
        store_sandbox_release(&sb);
        return;
    }
    if (store_state_is_terminal(sb.status) || sb.status == STORE_DESTROYING) {
        api_reply_invalid_state(call, store_state_to_string(sb.status),
                                "bandwidth cannot change in this state");
        store_sandbox_release(&sb);
        return;
    }
    int64_t quota = sb.bw_quota_bytes + json_integer_value(add);
    bool capped = sb.bw_used_bytes >= quota;
    struct store_sandbox_patch p = {
        .fields = STORE_PATCH_BW_QUOTA | STORE_PATCH_BW_COUNTERS,
        .allowed_states = STORE_STATES_CONFIGURABLE,
        .bw_quota_bytes = quota,
        .bw_used_bytes = sb.bw_used_bytes,
        .bw_ingress_bytes = sb.bw_ingress_bytes,
        .bw_capped = capped,
        .now_ms = timefmt_now_ms(),
    };
    int r = store_sandbox_update(call->ctx->store, call->auth.user_id, id, &p);
    if (r == -ESTALE) {
        api_reply_invalid_state(call, store_state_to_string(sb.status),
                                "bandwidth cannot change in this state");
    } else if (r < 0) {
        api_reply_internal(call, "store quota", r);
    } else {
        bool was = sb.bw_capped;
        sb.bw_quota_bytes = quota;
        sb.bw_capped = capped;
        if (was != capped && sb.status == STORE_RUNNING)
            api_net_refresh(call->ctx, id, false);
        api_reply_ok(call, api_bandwidth_view(&sb));
    }
    store_sandbox_release(&sb);
}

void api_sandbox_bandwidth_recharge(struct api_call *call)
{
    api_read_json(call, recharge_body);
}
