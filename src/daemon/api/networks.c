/* SPDX-License-Identifier: MIT */
/* networks.c: the routes of private networks (docs/api.md §2.5, §3.8): list, get with
 * members, and create, delete, a sandbox's attach and detach through the control layer
 * (ctl/network_ops.h, ctl/sandbox_ops.h). */
#include "daemon/api/routes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api/api.h"
#include "daemon/api/reply.h"
#include "daemon/api/sandboxes.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/network_ops.h"
#include "daemon/ctl/sandbox_check.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/http/request.h"
#include "daemon/http/route.h"
#include "daemon/log.h"
#include "daemon/store/ids.h"
#include "daemon/store/store.h"

static json_t *network_view(const struct store_network *n)
{
    json_t *o = json_pack("{s:s,s:s,s:I}", "id", n->id, "name", n->name, "member_count",
                          (json_int_t)n->member_count);
    if (o)
        api_json_set_time(o, "created_at", n->created_at);
    return o;
}

/* The {ref} path segment i as a NUL-terminated string; false (404 answered) when unusable. */
static bool path_ref(struct api_call *call, unsigned i, char out[80])
{
    const struct http_path *p = http_request_path(call->req);
    if (i >= p->n || p->seg_len[i] == 0 || p->seg_len[i] >= 80) {
        api_reply_fail_str(call, 404, "network not found");
        return false;
    }
    memcpy(out, p->seg[i], p->seg_len[i]);
    out[p->seg_len[i]] = '\0';
    return true;
}

/* The caller's network named by the {ref} path segment 2 (deleted ones too unless
 * live_only); false (404, 500 answered) when there is none. */
static bool load_network(struct api_call *call, struct store_network *n, bool live_only)
{
    char ref[80];
    if (!path_ref(call, 2, ref))
        return false;
    int r = ctl_network_resolve(call->ctx->ctl, call->auth.user_id, ref, n);
    if (r == 0 && live_only && n->deleted_at)
        r = -ENOENT;
    if (r == -ENOENT)
        api_reply_fail_str(call, 404, "network not found");
    else if (r < 0)
        api_reply_internal(call, "read network", r);
    return r == 0;
}

void api_network_list(struct api_call *call)
{
    struct api_page pg;
    if (api_page_parse(call, &pg) < 0)
        return;
    struct store_network *v = NULL;
    size_t n = 0;
    uint64_t total = 0;
    int r = store_network_list(call->ctx->ctl->store, call->auth.user_id, pg.limit, pg.offset,
                               &v, &n, &total);
    if (r < 0) {
        api_reply_internal(call, "list networks", r);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; items && i < n; i++)
        json_array_append_new(items, network_view(&v[i]));
    free(v);
    api_reply_ok(call, api_page_wrap(items, &pg, total));
}

static void create_body(struct api_call *call, json_t *body)
{
    json_t *name = json_is_object(body) ? json_object_get(body, "name") : NULL;
    if (!json_is_string(name) ||
        !ctl_network_name_valid(json_string_value(name), json_string_length(name))) {
        api_reply_field(call, "name",
                        "must match ^[a-z0-9][a-z0-9-]{0,62}$ and not begin with net-",
                        "invalid_request");
        return;
    }
    struct store_network net;
    struct ctl_error e;
    if (ctl_network_create(call->ctx->ctl, call->auth.user_id, json_string_value(name), &net,
                           &e) < 0)
        api_reply_ctl(call, &e);
    else
        api_reply_ok(call, network_view(&net));
}

void api_network_create(struct api_call *call)
{
    api_read_json(call, create_body);
}

void api_network_get(struct api_call *call)
{
    struct store_network n;
    if (!load_network(call, &n, true))
        return;
    struct store_member *m = NULL;
    size_t nm = 0;
    int r = store_member_list(call->ctx->ctl->store, n.id, NULL, &m, &nm);
    if (r < 0) {
        api_reply_internal(call, "list members", r);
        return;
    }
    json_t *o = network_view(&n), *members = json_array();
    for (size_t i = 0; members && i < nm; i++) {
        json_t *e = json_pack("{s:s,s:s,s:s}", "sandbox_id", m[i].sandbox_id, "name", m[i].name,
                              "status", store_state_to_string(m[i].status));
        if (e && m[i].ip[0])
            json_object_set_new(e, "ip", json_string(m[i].ip));
        json_array_append_new(members, e);
    }
    free(m);
    if (o)
        json_object_set_new(o, "members", members ? members : json_array());
    api_reply_ok(call, o);
}

void api_network_delete(struct api_call *call)
{
    struct store_network n;
    if (!load_network(call, &n, false))
        return;
    struct ctl_error e;
    api_reply_ctl_ok(call, ctl_network_delete(call->ctx->ctl, call->auth.user_id, &n, &e), &e);
}

/* ---- a sandbox's memberships ---- */

static void attach_body(struct api_call *call, json_t *body)
{
    char id[STORE_ID_SIZE];
    if (!api_sandbox_owned(call, id)) /* a foreign id is 404 whatever the body */
        return;
    json_t *ref = json_is_object(body) ? json_object_get(body, "id") : NULL;
    if (!json_is_string(ref) || json_string_length(ref) == 0) {
        api_reply_field(call, "id", "required string: a network id or name", "invalid_request");
        return;
    }
    struct ctl_caller who = api_caller(call);
    struct ctl_error e;
    int r = ctl_sandbox_network_attach(call->ctx->ctl, &who, id, json_string_value(ref), &e);
    api_reply_ctl_ok(call, r, &e);
}

void api_sandbox_network_attach(struct api_call *call)
{
    api_read_json(call, attach_body);
}

void api_sandbox_network_detach(struct api_call *call)
{
    char id[STORE_ID_SIZE], ref[80];
    if (!api_sandbox_owned(call, id) || !path_ref(call, 4, ref))
        return;
    struct ctl_caller who = api_caller(call);
    struct ctl_error e;
    api_reply_ctl_ok(call, ctl_sandbox_network_detach(call->ctx->ctl, &who, id, ref, &e), &e);
}
