/* SPDX-License-Identifier: MIT */
/* networks.c: private networks (spec/API.md §2.5, §3.8): create, list, get with members,
 * delete, and a sandbox's attach and detach. Members of one network reach each other on any
 * port and resolve each other by name through hearthd's DNS (netplane.c); a running member
 * gets its new address live (the agent's NETCFG), a paused one when it next runs. */
#include "daemon/api/networks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timefmt.h"
#include "daemon/api/api.h"
#include "daemon/api/netplane.h"
#include "daemon/api/reply.h"
#include "daemon/api/sandboxes.h"
#include "daemon/http/request.h"
#include "daemon/http/route.h"
#include "daemon/log.h"
#include "daemon/store/ids.h"
#include "daemon/store/store.h"

#define MAX_NETWORKS_PER_USER 256

/* Where attach and detach are accepted (§3.8.5): live when running, stored when paused/error. */
#define ATTACH_STATES                                                                            \
    (STORE_STATE_BIT(STORE_RUNNING) | STORE_STATE_BIT(STORE_PAUSED) |                            \
     STORE_STATE_BIT(STORE_ERROR))

bool api_network_name_valid(const char *s, size_t len)
{
    if (len == 0 || len > 63 || strlen(s) != len || strncmp(s, "net-", 4) == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && c == '-');
        if (!ok)
            return false;
    }
    return true;
}

static void set_time(json_t *o, const char *key, int64_t ms)
{
    char t[TIMEFMT_RFC3339_LEN + 1];
    if (ms > 0 && timefmt_rfc3339_ms(ms, t) == 0)
        json_object_set_new(o, key, json_string(t));
}

static json_t *network_view(const struct store_network *n)
{
    json_t *o = json_pack("{s:s,s:s,s:I}", "id", n->id, "name", n->name, "member_count",
                          (json_int_t)n->member_count);
    if (o)
        set_time(o, "created_at", n->created_at);
    return o;
}

int api_network_resolve(struct api_ctx *ctx, const char *user_id, const char *ref,
                        struct store_network *ret)
{
    char canon[STORE_ID_SIZE];
    size_t len = strlen(ref);
    /* an id-shaped reference is an id only (§1.9), matched case-insensitively */
    if (len > 4 && strncasecmp(ref, IDS_NETWORK_PREFIX, 4) == 0) {
        if (ids_canonical(IDS_NETWORK_PREFIX, ref, len, canon, sizeof(canon)) < 0)
            return -ENOENT;
        ref = canon;
    } else if (!api_network_name_valid(ref, len)) {
        return -ENOENT;
    }
    return store_network_get(ctx->store, user_id, ref, ret);
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

static bool load_network(struct api_call *call, const char *ref, struct store_network *n,
                         bool live_only)
{
    int r = api_network_resolve(call->ctx, call->auth.user_id, ref, n);
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
    int r = store_network_list(call->ctx->store, call->auth.user_id, pg.limit, pg.offset, &v, &n,
                               &total);
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
        !api_network_name_valid(json_string_value(name), json_string_length(name))) {
        api_reply_field(call, "name",
                        "must match ^[a-z0-9][a-z0-9-]{0,62}$ and not begin with net-",
                        "invalid_request");
        return;
    }
    struct store_network *v = NULL;
    size_t n = 0;
    uint64_t total = 0;
    int r = store_network_list(call->ctx->store, call->auth.user_id, 0, 0, &v, &n, &total);
    free(v);
    if (r == 0 && total >= MAX_NETWORKS_PER_USER) {
        api_reply_fail_code(call, 403, "quota_exceeded", "network quota reached");
        return;
    }
    struct store_network net = { .created_at = timefmt_now_ms() };
    snprintf(net.user_id, sizeof(net.user_id), "%s", call->auth.user_id);
    snprintf(net.name, sizeof(net.name), "%s", json_string_value(name));
    if (ids_new_network(net.id) < 0) {
        api_reply_internal(call, "new network id", -EIO);
        return;
    }
    /* a subnet freed by a delete may be taken again; retry past a collision */
    for (int attempt = 0; attempt < 3; attempt++) {
        r = api_net_alloc_subnet(call->ctx, net.subnet);
        if (r == 0)
            r = store_network_insert(call->ctx->store, &net);
        if (r != -EADDRINUSE)
            break;
    }
    if (r == -EEXIST) {
        char msg[128];
        snprintf(msg, sizeof(msg), "name already in use: %s", net.name);
        api_reply_field(call, "name", msg, "name_taken");
    } else if (r == -EADDRNOTAVAIL) {
        api_reply_error(call, 503, "no free network address range", "no_capacity");
    } else if (r < 0) {
        api_reply_internal(call, "create network", r);
    } else {
        api_net_subnet_added(call->ctx, net.subnet);
        api_reply_ok(call, network_view(&net));
    }
}

void api_network_create(struct api_call *call)
{
    api_read_json(call, create_body);
}

void api_network_get(struct api_call *call)
{
    char ref[80];
    struct store_network n;
    if (!path_ref(call, 2, ref) || !load_network(call, ref, &n, true))
        return;
    struct store_member *m = NULL;
    size_t nm = 0;
    int r = store_member_list(call->ctx->store, n.id, NULL, &m, &nm);
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
    char ref[80];
    struct store_network n;
    if (!path_ref(call, 2, ref) || !load_network(call, ref, &n, false))
        return;
    uint64_t members = 0;
    int r = store_network_delete(call->ctx->store, call->auth.user_id, n.id, timefmt_now_ms(),
                                 &members);
    if (r == -EBUSY) {
        char msg[64];
        snprintf(msg, sizeof(msg), "network has %llu member%s", (unsigned long long)members,
                 members == 1 ? "" : "s");
        api_reply_fail_code(call, 409, "in_use", msg);
        return;
    }
    if (r < 0 && r != -EALREADY) { /* a repeat by id answers like the first call (§1.11) */
        api_reply_internal(call, "delete network", r);
        return;
    }
    if (r == 0)
        api_net_subnet_released(call->ctx, n.subnet);
    api_reply_ok(call, json_pack("{s:b}", "ok", 1));
}

/* ---- a sandbox's memberships ---- */

static bool attach_state_ok(struct api_call *call, const struct store_sandbox *sb)
{
    if (STORE_STATE_BIT(sb->status) & ATTACH_STATES)
        return true;
    api_reply_invalid_state(call, store_state_to_string(sb->status),
                            "networks can change only while running, paused or in error");
    return false;
}

static void attach_body(struct api_call *call, json_t *body)
{
    char id[STORE_ID_SIZE];
    struct store_sandbox sb;
    if (!api_sandbox_path_id(call, 2, id) || !api_sandbox_load(call, id, &sb))
        return;
    json_t *ref = json_is_object(body) ? json_object_get(body, "id") : NULL;
    struct store_network n;
    if (!json_is_string(ref) || json_string_length(ref) == 0) {
        api_reply_field(call, "id", "required string: a network id or name", "invalid_request");
    } else if (attach_state_ok(call, &sb) &&
               load_network(call, json_string_value(ref), &n, true)) {
        int r = api_net_join(call->ctx, n.id, n.subnet, id);
        if (r == -E2BIG) {
            api_reply_fail_code(call, 409, "limit_reached", "a sandbox joins at most 8 networks");
        } else if (r == -EADDRNOTAVAIL) {
            api_reply_error(call, 503, "the network has no free address", "no_capacity");
        } else if (r < 0 && r != -EEXIST) {
            api_reply_internal(call, "join network", r);
        } else {
            if (r == 0 && sb.status == STORE_RUNNING)
                api_net_refresh(call->ctx, id, true);
            api_reply_ok(call, json_pack("{s:b}", "ok", 1));
        }
    }
    store_sandbox_release(&sb);
}

void api_sandbox_network_attach(struct api_call *call)
{
    api_read_json(call, attach_body);
}

void api_sandbox_network_detach(struct api_call *call)
{
    char id[STORE_ID_SIZE], ref[80];
    struct store_sandbox sb;
    if (!api_sandbox_path_id(call, 2, id) || !api_sandbox_load(call, id, &sb))
        return;
    struct store_network n;
    if (path_ref(call, 4, ref) && attach_state_ok(call, &sb) &&
        load_network(call, ref, &n, false)) {
        int r = store_member_remove(call->ctx->store, n.id, id);
        if (r < 0 && r != -ENOENT) {
            api_reply_internal(call, "leave network", r);
        } else {
            if (r == 0 && sb.status == STORE_RUNNING)
                api_net_refresh(call->ctx, id, true);
            api_reply_ok(call, json_pack("{s:b}", "ok", 1));
        }
    }
    store_sandbox_release(&sb);
}
