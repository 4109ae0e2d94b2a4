/* SPDX-License-Identifier: MIT */
/* sandboxes.c: sandbox routes of docs/api.md §3.2, §3.3.4 and §3.3.5 (routes.h, sandboxes.h).
 * Reads go straight to the store; create, PATCH, delete, SSH keys and resize parse the request,
 * call the control layer's operation (ctl/sandbox_ops.h) and answer when it ends. */
#include "daemon/api/create_remote.h"
#include "daemon/ctl/catalog.h"
#include "daemon/ctl/hosts.h"
#include "daemon/api/sandboxes.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include "daemon/api/api.h"
#include "daemon/api/reply.h"
#include "daemon/api/routes.h"
#include "daemon/api/sandbox_view.h"
#include "daemon/api/validate.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/http/request.h"
#include "daemon/http/route.h"
#include "daemon/store/ids.h"
#include "daemon/store/store.h"

bool api_sandbox_path_id(const struct api_call *call, unsigned i, char out[STORE_ID_SIZE])
{
    const struct http_path *p = http_request_path(call->req);
    if (i >= p->n || ids_canonical(IDS_SANDBOX_PREFIX, p->seg[i], p->seg_len[i], out,
                                   STORE_ID_SIZE) < 0) {
        api_reply_fail_str(call, 404, "sandbox not found");
        return false;
    }
    return true;
}

bool api_sandbox_owned(const struct api_call *call, char id[STORE_ID_SIZE])
{
    struct store_sandbox sb;
    if (!api_sandbox_path_id(call, 2, id) || !api_sandbox_load(call, id, &sb))
        return false;
    store_sandbox_release(&sb);
    return true;
}

bool api_sandbox_load(const struct api_call *call, const char *id, struct store_sandbox *sb)
{
    store_sandbox_init(sb);
    int r = store_sandbox_get(call->ctx->ctl->store, call->auth.user_id, id, sb);
    if (r == -ENOENT) {
        api_reply_fail_str(call, 404, "sandbox not found");
        return false;
    }
    if (r < 0) {
        api_reply_internal(call, "read sandbox", r);
        return false;
    }
    return true;
}

void api_sandbox_get(struct api_call *call)
{
    char id[STORE_ID_SIZE];
    struct store_sandbox sb;
    if (!api_sandbox_path_id(call, 2, id) || !api_sandbox_load(call, id, &sb))
        return;
    json_t *v = api_sandbox_view(&call->ctx->ctl->set, &sb);
    api_sandbox_view_pause_cause(call, &sb, v);
    api_reply_ok(call, v);
    store_sandbox_release(&sb);
}

void api_sandbox_by_ip(struct api_call *call)
{
    const struct http_path *p = http_request_path(call->req);
    const char *ip = p->seg[3];
    struct in_addr a;
    if (p->seg_len[3] != strlen(ip) || inet_pton(AF_INET, ip, &a) != 1) {
        api_reply_field(call, "ip", "must be a dotted-quad ipv4 address", "invalid_request");
        return;
    }
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    int r = store_sandbox_get_by_ip(call->ctx->ctl->store, call->auth.user_id, ip, &sb);
    if (r == -ENOENT)
        api_reply_fail_str(call, 404, "sandbox not found");
    else if (r < 0)
        api_reply_internal(call, "read sandbox by ip", r);
    else
        api_reply_ok(call, api_sandbox_view(&call->ctx->ctl->set, &sb));
    store_sandbox_release(&sb);
}

void api_sandbox_list(struct api_call *call)
{
    struct api_page pg;
    if (api_page_parse(call, &pg) < 0)
        return;
    struct store_list_query q = { .user_id = call->auth.user_id, .limit = pg.limit,
                                  .offset = pg.offset };
    const char *status = http_query_get(http_request_query(call->req), "status");
    if (status) {
        enum store_state s;
        if (store_state_from_string(status, strlen(status), &s) < 0) {
            /* echoed only when it is printable ASCII: a query may decode to any bytes, and
             * the message must stay a valid JSON string */
            bool printable = strlen(status) <= 100;
            for (const char *c = status; printable && *c; c++)
                printable = *c >= 0x20 && *c < 0x7f;
            char msg[160];
            snprintf(msg, sizeof(msg), "unknown status%s%s", printable ? ": " : "",
                     printable ? status : " (not a status name)");
            api_reply_field(call, "status", msg, "invalid_request");
            return;
        }
        q.status_mask = STORE_STATE_BIT(s);
    }
    struct store_sandbox_page page = { 0 };
    int r = store_sandbox_list(call->ctx->ctl->store, &q, &page);
    if (r < 0) {
        api_reply_internal(call, "list sandboxes", r);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < page.count; i++)
        json_array_append_new(items, api_sandbox_view(&call->ctx->ctl->set, &page.items[i]));
    api_reply_ok(call, api_page_wrap(items, &pg, page.total));
    store_sandbox_page_release(&page);
}

/* ---- PATCH ---- */

static void on_patch_body(struct api_call *call, json_t *body)
{
    char id[STORE_ID_SIZE];
    if (!api_sandbox_owned(call, id)) /* a foreign id is 404 whatever the body says */
        return;
    struct ctl_patch_req p;
    json_t *fail = NULL;
    int st = api_validate_patch(body, &p, &fail);
    if (st) {
        api_reply_fail(call, st, fail);
        return;
    }
    struct ctl_caller who = api_caller(call);
    struct ctl_error e;
    struct store_sandbox sb;
    if (ctl_sandbox_patch(call->ctx->ctl, &who, id, &p, &sb, &e) < 0)
        api_reply_ctl(call, &e);
    else
        api_reply_ok(call, api_sandbox_view(&call->ctx->ctl->set, &sb));
    store_sandbox_release(&sb);
}

void api_sandbox_patch(struct api_call *call)
{
    api_read_json(call, on_patch_body);
}

/* ---- DELETE ---- */

void api_sandbox_delete(struct api_call *call)
{
    char id[STORE_ID_SIZE];
    if (!api_sandbox_path_id(call, 2, id))
        return;
    struct ctl_caller who = api_caller(call);
    enum store_state s = STORE_STATE_NONE;
    struct ctl_error e;
    if (ctl_sandbox_destroy(call->ctx->ctl, &who, id, &s, &e) < 0)
        api_reply_ctl(call, &e);
    else
        api_reply_ok(call, json_pack("{s:s,s:s}", "id", id, "status", store_state_to_string(s)));
}

/* ---- create ---- */

/* A create whose VM is on its way; the request is referenced until it is answered. */
struct create_wait {
    struct api_call call;             /* req referenced */
    bool client_gone;
};

static void on_create_abort(struct http_request *req, void *ud)
{
    struct create_wait *w = ud;
    w->client_gone = true; /* §2.14.5: the create still completes */
}

static void create_wait_free(struct create_wait *w)
{
    api_call_unhold(&w->call);
    free(w);
}

static void on_created(void *ud, const struct ctl_error *e, const char *id,
                       const struct store_sandbox *sb)
{
    struct create_wait *w = ud;
    if (!w->client_gone) {
        if (e->code == CTL_OK)
            api_reply_ok(&w->call, api_sandbox_create_view(&w->call.ctx->ctl->set, sb));
        else
            api_reply_ctl(&w->call, e);
    }
    create_wait_free(w);
}

static void on_create_body(struct api_call *call, json_t *body)
{
    struct ctl *ctl = call->ctx->ctl;
    struct ctl_create_req cr;
    json_t *fail = NULL;
    int st = api_validate_create(ctl, &call->auth, body, &cr, &fail);
    if (st) {
        api_reply_fail(call, st, fail);
        return;
    }
    /* placement (docs/scale-out.md "Placement"): another host runs it through the work
     * queue; this one goes on below */
    char where[STORE_HOST_SIZE] = "";
    struct ctl_error pe;
    if (ctl_hosts_place(ctl, &cr.selector, cr.host_id, cr.shape->mem_mib, cr.shape->vcpu, where,
                        &pe) < 0) {
        ctl_create_req_release(&cr);
        api_reply_ctl(call, &pe);
        return;
    }
    if (where[0] && strcmp(where, ctl->set.host_id) != 0) {
        ctl_create_req_release(&cr);
        api_create_remote(call, body, where);
        return;
    }
    struct create_wait *w = api_call_hold(call, sizeof(*w), "create");
    if (!w) {
        ctl_create_req_release(&cr);
        return;
    }
    http_request_on_abort(call->req, on_create_abort, w);
    struct ctl_caller who = api_caller(call);
    struct ctl_error e;
    if (ctl_sandbox_create(ctl, &who, &cr, on_created, w, &e) < 0) {
        create_wait_free(w);
        api_reply_ctl(call, &e);
    }
    ctl_create_req_release(&cr);
}

void api_sandbox_create(struct api_call *call)
{
    api_read_json(call, on_create_body);
}

/* ---- SSH keys (§3.3.5) ---- */

static void on_keys_added(void *ud, size_t count)
{
    struct api_call *held = ud;
    api_reply_ok(held, json_pack("{s:I}", "count", (json_int_t)count));
    api_call_unhold(held);
    free(held);
}

static void on_keys_body(struct api_call *call, json_t *body)
{
    char id[STORE_ID_SIZE];
    if (!api_sandbox_owned(call, id))
        return;
    json_t *keys = json_is_object(body) ? json_object_get(body, "keys") : NULL;
    size_t n = json_array_size(keys);
    if (!json_is_array(keys) || n < 1 || n > STORE_MAX_SSH_KEYS) {
        api_reply_field(call, "keys", "must be an array of 1 to 64 keys", "invalid_request");
        return;
    }
    struct store_strv canon = { .v = calloc(n, sizeof(char *)) };
    struct api_call *held = canon.v ? api_call_hold(call, sizeof(*held), "ssh keys") : NULL;
    if (!canon.v && !held)
        api_reply_internal(call, "ssh keys", -ENOMEM);
    for (size_t i = 0; held && i < n; i++, canon.n++) {
        json_t *k = json_array_get(keys, i);
        const char *why = "must be a string";
        if (!json_is_string(k) ||
            ctl_ssh_key_parse(json_string_value(k), json_string_length(k), &canon.v[i], &why) < 0) {
            char f[32];
            snprintf(f, sizeof(f), "keys[%zu]", i);
            api_reply_field(call, f, why, "invalid_request");
            goto out_unhold;
        }
    }
    if (!held)
        goto out;
    struct ctl_caller who = api_caller(call);
    struct ctl_error e;
    if (ctl_sandbox_keys_add(call->ctx->ctl, &who, id, (const char *const *)canon.v, n,
                             on_keys_added, held, &e) == 0)
        goto out;
    api_reply_ctl(call, &e);
out_unhold:
    api_call_unhold(held);
    free(held);
out:
    store_strv_free(&canon);
}

void api_sandbox_ssh_keys(struct api_call *call)
{
    api_read_json(call, on_keys_body);
}

/* ---- resize (§3.3.4) ---- */

struct resize_wait {
    struct api_call call;             /* req referenced */
    int64_t mib;                      /* the size asked for */
    bool client_gone;
};

static void on_resize_abort(struct http_request *req, void *ud)
{
    struct resize_wait *w = ud;
    w->client_gone = true; /* the resize still completes and is recorded */
}

static void on_resized(void *ud, const struct ctl_error *e, const char *id,
                       const struct store_sandbox *unused)
{
    struct resize_wait *w = ud;
    if (!w->client_gone && e->code == CTL_OK)
        api_reply_ok(&w->call, json_pack("{s:s,s:I}", "id", id, "disk_mib", (json_int_t)w->mib));
    else if (!w->client_gone)
        api_reply_ctl(&w->call, e);
    api_call_unhold(&w->call);
    free(w);
}

static void on_resize_body(struct api_call *call, json_t *body)
{
    struct ctl *ctl = call->ctx->ctl;
    char id[STORE_ID_SIZE];
    struct store_sandbox sb;
    if (!api_sandbox_path_id(call, 2, id) || !api_sandbox_load(call, id, &sb))
        return;
    int64_t from = sb.disk_mib, mib;
    store_sandbox_release(&sb);
    json_t *fail = NULL;
    int code = api_validate_resize(body, from, ctl->set.max_disk_mib, &mib, &fail);
    if (code) {
        api_reply_fail(call, code, fail);
        return;
    }
    struct resize_wait *w = api_call_hold(call, sizeof(*w), "resize");
    if (!w)
        return;
    w->mib = mib;
    http_request_on_abort(call->req, on_resize_abort, w);
    struct ctl_caller who = api_caller(call);
    struct ctl_error e;
    if (ctl_sandbox_resize(ctl, &who, id, mib, on_resized, w, &e) < 0) {
        api_call_unhold(&w->call);
        free(w);
        api_reply_ctl(call, &e);
    }
}

void api_sandbox_resize(struct api_call *call)
{
    api_read_json(call, on_resize_body);
}
