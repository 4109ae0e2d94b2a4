/* SPDX-License-Identifier: MIT */
/* egress.c: the routes of the egress allowlist (docs/api.md §3.6) and the bandwidth quota
 * (§3.7) of a sandbox: JSON in, one control-layer operation (ctl/sandbox_ops.h), the view
 * out. */
#include "daemon/api/routes.h"

#include <errno.h>
#include <stdlib.h>

#include "daemon/api/api.h"
#include "daemon/api/reply.h"
#include "daemon/api/sandboxes.h"
#include "daemon/api/validate.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/netplane.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/store/store.h"

#define RECHARGE_MAX (INT64_C(1) << 50)

static json_t *egress_view(const struct store_sandbox *sb)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < sb->egress.n; i++)
        json_array_append_new(list, json_string(sb->egress.v[i]));
    return json_pack("{s:s,s:o*}", "id", sb->id, "egress", list);
}

static json_t *bandwidth_view(const struct store_sandbox *sb)
{
    bool metered = sb->bw_quota_bytes >= 0;
    return json_pack("{s:s,s:I,s:I,s:I,s:I,s:b}", "id", sb->id, "quota_bytes",
                     (json_int_t)sb->bw_quota_bytes, "used_bytes", (json_int_t)sb->bw_used_bytes,
                     "ingress_bytes", (json_int_t)sb->bw_ingress_bytes, "remaining_bytes",
                     (json_int_t)(metered ? sb->bw_quota_bytes - sb->bw_used_bytes : -1),
                     "capped", metered && sb->bw_capped);
}

/* GET of a view of the caller's sandbox (404 when it is not theirs). */
static void reply_view(struct api_call *call, json_t *(*view)(const struct store_sandbox *sb))
{
    char id[STORE_ID_SIZE];
    struct store_sandbox sb;
    if (!api_sandbox_path_id(call, 2, id) || !api_sandbox_load(call, id, &sb))
        return;
    api_reply_ok(call, view(&sb));
    store_sandbox_release(&sb);
}

/* The answer of a settings operation r: the view of the row after (released), or e. */
static void reply_after(struct api_call *call, int r, const struct ctl_error *e,
                        struct store_sandbox *sb, json_t *(*view)(const struct store_sandbox *))
{
    if (r < 0)
        api_reply_ctl(call, e);
    else
        api_reply_ok(call, view(sb));
    store_sandbox_release(sb);
}

void api_sandbox_egress_get(struct api_call *call)
{
    reply_view(call, egress_view);
}

static void egress_put_body(struct api_call *call, json_t *body)
{
    char id[STORE_ID_SIZE];
    if (!api_sandbox_owned(call, id)) /* a foreign id is 404 whatever the body */
        return;
    char **rules = NULL;
    size_t n = 0;
    json_t *fail = NULL;
    /* validation of the whole list first: one bad rule stores nothing */
    if (api_validate_egress(body, &rules, &n, &fail) != 0) {
        api_reply_fail(call, 400, fail);
        return;
    }
    struct ctl_caller who = api_caller(call);
    struct ctl_error e;
    struct store_sandbox sb;
    int r = ctl_sandbox_egress_set(call->ctx->ctl, &who, id, (const char *const *)rules, n, &sb,
                                   &e);
    for (size_t i = 0; i < n; i++)
        free(rules[i]);
    free(rules);
    reply_after(call, r, &e, &sb, egress_view);
}

void api_sandbox_egress_put(struct api_call *call)
{
    api_read_json(call, egress_put_body);
}

void api_sandbox_bandwidth_get(struct api_call *call)
{
    ctl_net_meter(call->ctx->ctl); /* the freshest numbers, not up to a second old */
    reply_view(call, bandwidth_view);
}

static void recharge_body(struct api_call *call, json_t *body)
{
    char id[STORE_ID_SIZE];
    if (!api_sandbox_owned(call, id)) /* a foreign id is 404 whatever the body */
        return;
    json_t *add = json_is_object(body) ? json_object_get(body, "add_bytes") : NULL;
    if (!json_is_integer(add) || json_integer_value(add) < 1 ||
        json_integer_value(add) > RECHARGE_MAX) {
        api_reply_field(call, "add_bytes", "must be an integer from 1 to 2^50", "invalid_request");
        return;
    }
    struct store_sandbox sb;
    struct ctl_caller who = api_caller(call);
    struct ctl_error e;
    int r = ctl_sandbox_bandwidth_recharge(call->ctx->ctl, &who, id, json_integer_value(add),
                                           &sb, &e);
    reply_after(call, r, &e, &sb, bandwidth_view);
}

void api_sandbox_bandwidth_recharge(struct api_call *call)
{
    api_read_json(call, recharge_body);
}
