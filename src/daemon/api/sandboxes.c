/* SPDX-License-Identifier: MIT */
/* sandboxes.c: sandbox routes of docs/api.md §3.2 (sandboxes.h). Reads and settings go straight
 * to the store with compare-and-set; create and delete are the control layer's operations
 * (ctl/sandbox_ops.h), answered when they end; SSH keys and resize run their guest chores
 * through ctl/guest.h. Without a host layer, routes that need a VM answer 503 `unavailable`. */
#include "daemon/api/sandboxes.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "common/timefmt.h"
#include "daemon/api/api.h"
#include "daemon/api/reply.h"
#include "daemon/api/routes.h"
#include "daemon/api/sandbox_view.h"
#include "daemon/api/validate.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/guest.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/http/request.h"
#include "daemon/http/route.h"
#include "daemon/host/host.h"
#include "common/mono.h"
#include "daemon/log.h"
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
    api_reply_ok(call, api_sandbox_view(&call->ctx->ctl->set, &sb));
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
            char msg[160];
            snprintf(msg, sizeof(msg), "unknown status: %.100s", status);
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
    if (!api_sandbox_path_id(call, 2, id))
        return;
    struct api_patch_req p;
    json_t *fail = NULL;
    struct store_sandbox sb;
    /* ownership first: a foreign id is 404 whatever the body says */
    if (!api_sandbox_load(call, id, &sb))
        return;
    int st = api_validate_patch(body, &p, &fail);
    if (st) {
        api_reply_fail(call, st, fail);
        goto out;
    }
    if (!(STORE_STATES_CONFIGURABLE & STORE_STATE_BIT(sb.status))) {
        api_reply_invalid_state(call, store_state_to_string(sb.status),
                                "sandbox cannot be changed in this state");
        goto out;
    }
    struct store_sandbox_patch sp = { .allowed_states = STORE_STATES_CONFIGURABLE,
                                      .now_ms = timefmt_now_ms() };
    if (p.set_ingress) {
        sp.fields |= STORE_PATCH_INGRESS;
        sp.ingress_enabled = p.ingress_enabled;
    }
    if (p.set_auto_pause) {
        sp.fields |= STORE_PATCH_AUTO_PAUSE;
        sp.auto_pause_after_seconds = p.auto_pause_after_seconds;
    }
    if (sp.fields) {
        int r = store_sandbox_update(call->ctx->ctl->store, call->auth.user_id, id, &sp);
        if (r == -ENOENT) {
            api_reply_fail_str(call, 404, "sandbox not found");
            goto out;
        }
        if (r < 0 && r != -ESTALE) {
            api_reply_internal(call, "update sandbox", r);
            goto out;
        }
        store_sandbox_release(&sb);
        if (!api_sandbox_load(call, id, &sb))
            return;
        if (r == -ESTALE) { /* changed state under us */
            api_reply_invalid_state(call, store_state_to_string(sb.status),
                                    "sandbox cannot be changed in this state");
            goto out;
        }
    }
    api_reply_ok(call, api_sandbox_view(&call->ctx->ctl->set, &sb));
out:
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
    enum store_state s;
    struct ctl_error e;
    if (ctl_sandbox_destroy(call->ctx->ctl, &who, id, &s, &e) < 0)
        api_reply_ctl(call, &e);
    else
        api_reply_ok(call, json_pack("{s:s,s:s}", "id", id, "status", store_state_to_string(s)));
}

/* ---- create ---- */

/* §2.14.4/§3.3.4: guest chores of the routes below */
#define IDENTITY_MS 6000
/* resize2fs after a resize (online, the file system is in use) */
#define RESIZE_GROW_MS 60000

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
    http_request_on_abort(w->call.req, NULL, NULL);
    http_request_unref(w->call.req);
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
    struct create_wait *w = calloc(1, sizeof(*w));
    if (!w) {
        api_reply_internal(call, "create", -ENOMEM);
        ctl_create_req_release(&cr);
        return;
    }
    w->call = *call;
    http_request_ref(call->req);
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

struct keys_wait {
    struct api_call call;             /* req referenced */
    char id[STORE_ID_SIZE];
    size_t count;
};

static void on_keys_installed(void *ud, int err, int status, const char *msg)
{
    struct keys_wait *w = ud;
    if (err < 0 || status != 0)
        /* stored: the next identity step (or a later add) installs them */
        log_warn(http_request_id(w->call.req), "cannot install ssh keys in the guest, ignoring",
                 "{s:s,s:s}", "sandbox", w->id, "err", msg);
    api_reply_ok(&w->call, json_pack("{s:I}", "count", (json_int_t)w->count));
    http_request_unref(w->call.req);
    free(w);
}

static void on_keys_body(struct api_call *call, json_t *body)
{
    struct ctl *ctx = call->ctx->ctl;
    char id[STORE_ID_SIZE];
    struct store_sandbox sb;
    if (!api_sandbox_path_id(call, 2, id) || !api_sandbox_load(call, id, &sb))
        return;
    enum store_state st = sb.status;
    store_sandbox_release(&sb);
    json_t *keys = json_is_object(body) ? json_object_get(body, "keys") : NULL;
    size_t n = json_array_size(keys);
    if (!json_is_array(keys) || n < 1 || n > STORE_MAX_SSH_KEYS) {
        api_reply_field(call, "keys", "must be an array of 1 to 64 keys", "invalid_request");
        return;
    }
    char **canon = calloc(n, sizeof(*canon));
    if (!canon) {
        api_reply_internal(call, "ssh keys", -ENOMEM);
        return;
    }
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *k = json_array_get(keys, i);
        const char *why = "must be a string";
        if (!json_is_string(k) ||
            ctl_ssh_key(json_string_value(k), json_string_length(k), &canon[i], &why) < 0) {
            char f[32];
            snprintf(f, sizeof(f), "keys[%zu]", i);
            api_reply_field(call, f, why, "invalid_request");
            goto out;
        }
    }
    int r = store_sandbox_ssh_add(ctx->store, call->auth.user_id, id, STORE_STATES_CONFIGURABLE,
                                  (const char *const *)canon, n, timefmt_now_ms(), &count);
    if (r == -E2BIG) {
        api_reply_field(call, "keys", "more than 64 keys in total", "invalid_request");
        goto out;
    }
    if (r == -ESTALE) {
        api_reply_invalid_state(call, store_state_to_string(st), "sandbox is being destroyed");
        goto out;
    }
    if (r == -ENOENT) {
        api_reply_fail_str(call, 404, "sandbox not found");
        goto out;
    }
    if (r < 0) {
        api_reply_internal(call, "add ssh keys", r);
        goto out;
    }
    /* live when running: rewrite authorized_keys with the whole list */
    struct keys_wait *w = NULL;
    if (st == STORE_RUNNING && ctx->host && api_sandbox_load(call, id, &sb)) {
        const char **argv = guest_identity_argv(sb.hostname,
                                                (const char *const *)sb.ssh_pubkeys.v,
                                                sb.ssh_pubkeys.n);
        w = argv ? calloc(1, sizeof(*w)) : NULL;
        if (w) {
            w->call = *call;
            memcpy(w->id, id, sizeof(w->id));
            w->count = count;
            http_request_ref(call->req);
            if (guest_run(ctx->host, ctx->base, id, argv, IDENTITY_MS, on_keys_installed,
                          w) < 0) {
                http_request_unref(call->req);
                free(w);
                w = NULL;
            }
        }
        free(argv);
        store_sandbox_release(&sb);
        if (w)
            goto out;
    }
    api_reply_ok(call, json_pack("{s:I}", "count", (json_int_t)count));
out:
    for (size_t i = 0; i < n; i++)
        free(canon[i]);
    free(canon);
}

void api_sandbox_ssh_keys(struct api_call *call)
{
    api_read_json(call, on_keys_body);
}

/* ---- resize (§3.3.4) ---- */

struct resize_wait {
    struct api_call call;             /* req referenced */
    char id[STORE_ID_SIZE];
    int64_t from_mib;                 /* disk_mib when the call started */
    int64_t mib;                      /* the size asked for */
    bool client_gone;
};

static void resize_wait_free(struct resize_wait *w)
{
    http_request_on_abort(w->call.req, NULL, NULL);
    http_request_unref(w->call.req);
    free(w);
}

static void on_resize_abort(struct http_request *req, void *ud)
{
    struct resize_wait *w = ud;
    w->client_gone = true; /* the resize still completes and is recorded */
}

/* Answers 500 with msg (logged) and frees w; disk_mib stays as it was. */
static void resize_fail(struct resize_wait *w, const char *msg)
{
    log_error(http_request_id(w->call.req), "sandbox resize failed", "{s:s,s:I,s:I,s:s}",
              "sandbox", w->id, "from_mib", (json_int_t)w->from_mib, "to_mib",
              (json_int_t)w->mib, "err", msg);
    if (!w->client_gone)
        api_reply_error(&w->call, 500, msg, "internal");
    resize_wait_free(w);
}

static void on_resize_grown(void *ud, int err, int status, const char *msg)
{
    struct resize_wait *w = ud;
    struct ctl *ctx = w->call.ctx->ctl;
    if (err < 0 || status != 0) {
        char why[400];
        snprintf(why, sizeof(why), "the disk grew to %lld MiB but the guest's file system did "
                 "not: resize2fs: %s (%s %d)", (long long)w->mib, msg,
                 err < 0 ? "error" : "exit status", err < 0 ? err : status);
        resize_fail(w, why);
        return;
    }
    /* both steps done: now the size is true, record it (never lower it: a concurrent larger
     * resize may have finished first; the loop runs one handler at a time) */
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    int r = store_sandbox_get(ctx->store, NULL, w->id, &sb);
    int64_t have = r == 0 ? sb.disk_mib : 0;
    store_sandbox_release(&sb);
    if (r == 0 && have < w->mib) {
        struct store_sandbox_patch p = { .fields = STORE_PATCH_DISK, .disk_mib = w->mib,
                                         .allowed_states = 0, .now_ms = timefmt_now_ms() };
        r = store_sandbox_update(ctx->store, NULL, w->id, &p);
    }
    if (r < 0) {
        char why[200];
        snprintf(why, sizeof(why), "the disk grew to %lld MiB but the new size cannot be "
                 "recorded: %s", (long long)w->mib, strerror(-r));
        resize_fail(w, why);
        return;
    }
    log_info(http_request_id(w->call.req), "sandbox resized", "{s:s,s:I,s:I}", "sandbox", w->id,
             "from_mib", (json_int_t)w->from_mib, "to_mib", (json_int_t)w->mib);
    if (!w->client_gone)
        api_reply_ok(&w->call, json_pack("{s:s,s:I}", "id", w->id, "disk_mib",
                                          (json_int_t)w->mib));
    resize_wait_free(w);
}

static void on_disk_resized(void *ud, const char *id, const struct host_result *res)
{
    struct resize_wait *w = ud;
    struct ctl *ctx = w->call.ctx->ctl;
    if (res->err == HOST_E_BUSY || res->err == HOST_E_NOT_FOUND || res->err == HOST_E_GONE) {
        /* not running any more, or another resize holds the disk */
        if (!w->client_gone)
            api_reply_invalid_state(&w->call, "running", res->msg);
        resize_wait_free(w);
        return;
    }
    if (res->err == HOST_E_INVALID) { /* the disk is larger already (a concurrent resize) */
        if (!w->client_gone)
            api_reply_field(&w->call, "disk_mib", res->msg, "invalid_request");
        resize_wait_free(w);
        return;
    }
    if (res->err != HOST_OK) {
        resize_fail(w, res->msg[0] ? res->msg : host_err_to_string(res->err));
        return;
    }
    if (guest_run(ctx->host, ctx->base, w->id, guest_grow_root_argv(), RESIZE_GROW_MS,
                  on_resize_grown, w) < 0)
        resize_fail(w, "the disk grew but the guest agent cannot be reached to grow the file "
                       "system");
}

static void on_resize_body(struct api_call *call, json_t *body)
{
    struct ctl *ctx = call->ctx->ctl;
    char id[STORE_ID_SIZE];
    struct store_sandbox sb;
    if (!api_sandbox_path_id(call, 2, id) || !api_sandbox_load(call, id, &sb))
        return;
    enum store_state st = sb.status;
    int64_t from = sb.disk_mib;
    store_sandbox_release(&sb);
    int64_t mib;
    json_t *fail = NULL;
    int code = api_validate_resize(body, from, ctx->set.max_disk_mib, &mib, &fail);
    if (code) {
        api_reply_fail(call, code, fail);
        return;
    }
    if (st != STORE_RUNNING) {
        api_reply_invalid_state(call, store_state_to_string(st),
                                "only a running sandbox can be resized");
        return;
    }
    if (!ctx->host) {
        api_reply_error(call, 503, "the vm layer is not available; retry later", "unavailable");
        return;
    }
    struct resize_wait *w = calloc(1, sizeof(*w));
    if (!w) {
        api_reply_internal(call, "resize", -ENOMEM);
        return;
    }
    w->call = *call;
    memcpy(w->id, id, sizeof(w->id));
    w->from_mib = from;
    w->mib = mib;
    http_request_ref(call->req);
    http_request_on_abort(call->req, on_resize_abort, w);
    log_info(http_request_id(call->req), "sandbox resize", "{s:s,s:I,s:I}", "sandbox", id,
             "from_mib", (json_int_t)from, "to_mib", (json_int_t)mib);
    host_vm_disk_resize(ctx->host, id, (uint64_t)mib, on_disk_resized, w);
}

void api_sandbox_resize(struct api_call *call)
{
    api_read_json(call, on_resize_body);
}
