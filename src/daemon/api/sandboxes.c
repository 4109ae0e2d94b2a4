/* SPDX-License-Identifier: MIT */
/* sandboxes.c: sandbox routes of spec/API.md §3.2 (sandboxes.h). Reads and settings go straight
 * to the store with compare-and-set; anything needing a VM goes through sandbox_host.h, and
 * answers 503 `unavailable` (nothing changed) while no host layer is wired. */
#include "daemon/api/sandboxes.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timefmt.h"
#include "daemon/api/api.h"
#include "daemon/api/catalog.h"
#include "daemon/api/reply.h"
#include "daemon/api/sandbox_view.h"
#include "daemon/api/validate.h"
#include "daemon/http/request.h"
#include "daemon/http/route.h"
#include "daemon/log.h"
#include "daemon/store/ids.h"
#include "daemon/store/store.h"

#define CAS_RETRIES 5

/* The {id} segment (index i) in canonical form; false (404 answered) when it cannot be one. */
static bool path_id(const struct api_call *call, unsigned i, char out[STORE_ID_SIZE])
{
    const struct http_path *p = http_request_path(call->req);
    if (i >= p->n || ids_canonical(IDS_SANDBOX_PREFIX, p->seg[i], p->seg_len[i], out,
                                   STORE_ID_SIZE) < 0) {
        api_reply_fail_str(call, 404, "sandbox not found");
        return false;
    }
    return true;
}

/* Reads the caller's sandbox; false when it answered (404, 500). */
static bool load(const struct api_call *call, const char *id, struct store_sandbox *sb)
{
    store_sandbox_init(sb);
    int r = store_sandbox_get(call->ctx->store, call->auth.user_id, id, sb);
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
    if (!path_id(call, 2, id) || !load(call, id, &sb))
        return;
    api_reply_ok(call, api_sandbox_view(&call->ctx->set, &sb));
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
    int r = store_sandbox_get_by_ip(call->ctx->store, call->auth.user_id, ip, &sb);
    if (r == -ENOENT)
        api_reply_fail_str(call, 404, "sandbox not found");
    else if (r < 0)
        api_reply_internal(call, "read sandbox by ip", r);
    else
        api_reply_ok(call, api_sandbox_view(&call->ctx->set, &sb));
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
    int r = store_sandbox_list(call->ctx->store, &q, &page);
    if (r < 0) {
        api_reply_internal(call, "list sandboxes", r);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < page.count; i++)
        json_array_append_new(items, api_sandbox_view(&call->ctx->set, &page.items[i]));
    api_reply_ok(call, api_page_wrap(items, &pg, page.total));
    store_sandbox_page_release(&page);
}

/* ---- PATCH ---- */

static void on_patch_body(struct api_call *call, json_t *body)
{
    char id[STORE_ID_SIZE];
    if (!path_id(call, 2, id))
        return;
    struct api_patch_req p;
    json_t *fail = NULL;
    struct store_sandbox sb;
    /* ownership first: a foreign id is 404 whatever the body says */
    if (!load(call, id, &sb))
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
        int r = store_sandbox_update(call->ctx->store, call->auth.user_id, id, &sp);
        if (r == -ENOENT) {
            api_reply_fail_str(call, 404, "sandbox not found");
            goto out;
        }
        if (r < 0 && r != -ESTALE) {
            api_reply_internal(call, "update sandbox", r);
            goto out;
        }
        store_sandbox_release(&sb);
        if (!load(call, id, &sb))
            return;
        if (r == -ESTALE) { /* changed state under us */
            api_reply_invalid_state(call, store_state_to_string(sb.status),
                                    "sandbox cannot be changed in this state");
            goto out;
        }
    }
    api_reply_ok(call, api_sandbox_view(&call->ctx->set, &sb));
out:
    store_sandbox_release(&sb);
}

void api_sandbox_patch(struct api_call *call)
{
    api_read_json(call, on_patch_body);
}

/* ---- DELETE ---- */

static void reply_destroy(const struct api_call *call, const char *id, const char *status)
{
    api_reply_ok(call, json_pack("{s:s,s:s}", "id", id, "status", status));
}

struct destroy_wait {
    struct api_ctx *ctx;
    char id[STORE_ID_SIZE];
    char req_id[160];
};

static void on_host_destroyed(void *ud, int err, const struct sandbox_host_result *res,
                              const char *msg)
{
    struct destroy_wait *w = ud;
    if (err) {
        /* stays destroying; reconcile retries the teardown */
        log_error(w->req_id, "cannot destroy sandbox", "{s:s,s:s?}", "sandbox", w->id, "err",
                  msg);
    } else {
        struct store_transition t = { .from = STORE_DESTROYING, .to = STORE_DESTROYED,
                                      .intent = STORE_STATE_NONE, .now_ms = timefmt_now_ms() };
        int r = store_sandbox_transition(w->ctx->store, w->id, &t, NULL);
        if (r < 0)
            log_error(w->req_id, "cannot record destroyed", "{s:s,s:i}", "sandbox", w->id,
                      "err", r);
    }
    free(w);
}

void api_sandbox_delete(struct api_call *call)
{
    struct api_ctx *ctx = call->ctx;
    char id[STORE_ID_SIZE];
    if (!path_id(call, 2, id))
        return;
    for (int attempt = 0; attempt < CAS_RETRIES; attempt++) {
        struct store_sandbox sb;
        if (!load(call, id, &sb))
            return;
        enum store_state s = sb.status;
        bool live = !(s == STORE_PAUSED || s == STORE_ERROR || store_state_is_terminal(s));
        bool has_vm = sb.qemu_pid != 0 || sb.run_dir != NULL;
        store_sandbox_release(&sb);
        if (s == STORE_DESTROYED || s == STORE_DESTROYING) {
            reply_destroy(call, id, store_state_to_string(s));
            return;
        }
        struct store_transition t = { .from = s, .now_ms = timefmt_now_ms(),
                                      .intent = STORE_STATE_NONE };
        bool via_host = live && has_vm;
        if (via_host && !(ctx->host && ctx->host->destroy)) {
            api_reply_error(call, 503, "the vm layer is not available yet; retry later",
                            "unavailable");
            return;
        }
        t.to = via_host ? STORE_DESTROYING : STORE_DESTROYED;
        if (via_host)
            t.intent = STORE_DESTROYED;
        int r = store_sandbox_transition(ctx->store, id, &t, NULL);
        if (r == -ESTALE)
            continue;
        if (r == -ENOENT) {
            api_reply_fail_str(call, 404, "sandbox not found");
            return;
        }
        if (r < 0) {
            api_reply_internal(call, "destroy sandbox", r);
            return;
        }
        if (via_host) {
            struct destroy_wait *w = calloc(1, sizeof(*w));
            if (w) {
                w->ctx = ctx;
                memcpy(w->id, id, sizeof(w->id));
                snprintf(w->req_id, sizeof(w->req_id), "%s", http_request_id(call->req));
            }
            if (!w || ctx->host->destroy(ctx->host_ud, id, w->req_id, on_host_destroyed, w) < 0) {
                /* the intent stays recorded; reconcile finishes the teardown */
                log_error(http_request_id(call->req), "cannot start destroy", "{s:s}",
                          "sandbox", id);
                free(w);
            }
        }
        log_info(http_request_id(call->req), "sandbox destroy", "{s:s,s:s,s:s}", "sandbox", id,
                 "from", store_state_to_string(s), "to", store_state_to_string(t.to));
        reply_destroy(call, id, store_state_to_string(t.to));
        return;
    }
    api_reply_internal(call, "destroy sandbox: state kept changing", -EAGAIN);
}

/* ---- create ---- */

struct create_wait {
    struct api_call call;             /* req referenced */
    char id[STORE_ID_SIZE];
    bool client_gone;
};

static void create_wait_free(struct create_wait *w)
{
    http_request_on_abort(w->call.req, NULL, NULL);
    http_request_unref(w->call.req);
    free(w);
}

static void on_create_abort(struct http_request *req, void *ud)
{
    struct create_wait *w = ud;
    w->client_gone = true; /* §2.14.5: the create still completes */
}

static void create_fail(struct create_wait *w, const char *msg)
{
    struct store_transition t = { .from = STORE_CREATING, .to = STORE_FAILED,
                                  .intent = STORE_STATE_NONE, .now_ms = timefmt_now_ms() };
    int r = store_sandbox_transition(w->call.ctx->store, w->id, &t, NULL);
    log_error(http_request_id(w->call.req), "sandbox create failed", "{s:s,s:s?}", "sandbox",
              w->id, "err", msg);
    if (w->client_gone)
        return;
    if (r == -ESTALE) /* deleted while creating */
        api_reply_invalid_state(&w->call, "destroying", "sandbox was deleted while creating");
    else
        api_reply_error(&w->call, 500, "sandbox failed to boot", "boot_failed");
}

static void on_host_created(void *ud, int err, const struct sandbox_host_result *res,
                            const char *msg)
{
    struct create_wait *w = ud;
    struct api_ctx *ctx = w->call.ctx;
    if (err) {
        create_fail(w, msg);
        create_wait_free(w);
        return;
    }
    int64_t now = timefmt_now_ms();
    struct store_sandbox_patch p = { .fields = STORE_PATCH_IP | STORE_PATCH_HOST,
                                     .allowed_states = STORE_STATE_BIT(STORE_CREATING),
                                     .ip = res ? res->ip : NULL,
                                     .host_id = res ? res->host_id : NULL,
                                     .run_dir = res ? res->run_dir : NULL,
                                     .qemu_pid = res ? res->qemu_pid : 0,
                                     .qemu_start_time = res ? res->qemu_start_time : 0,
                                     .now_ms = now };
    int r = store_sandbox_update(ctx->store, NULL, w->id, &p);
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    if (r == 0) {
        struct store_transition t = { .from = STORE_CREATING, .to = STORE_RUNNING,
                                      .intent = STORE_STATE_NONE, .now_ms = now };
        r = store_sandbox_transition(ctx->store, w->id, &t, &sb);
    }
    if (r == -ESTALE) {
        if (!w->client_gone)
            api_reply_invalid_state(&w->call, "destroying", "sandbox was deleted while creating");
    } else if (r < 0) {
        create_fail(w, "cannot record the running sandbox");
    } else {
        log_info(http_request_id(w->call.req), "sandbox running", "{s:s,s:f}", "sandbox", w->id,
                 "spawn_ms", sb.spawn_ms);
        if (!w->client_gone)
            api_reply_ok(&w->call, api_sandbox_create_view(&ctx->set, &sb));
    }
    store_sandbox_release(&sb);
    create_wait_free(w);
}

static int count_live(struct api_ctx *ctx, const char *user, uint64_t *ret)
{
    uint64_t c[STORE_STATE__COUNT];
    int r = store_sandbox_count(ctx->store, user, c);
    if (r < 0)
        return r;
    *ret = 0;
    for (int s = 0; s < STORE_STATE__COUNT; s++)
        if (!store_state_is_terminal((enum store_state)s))
            *ret += c[s];
    return 0;
}

/* Inserts the creating row, generating a name when none was asked for. 0, or answered. */
static int insert_row(const struct api_call *call, const struct api_create_req *cr,
                      struct store_sandbox *sb)
{
    struct api_ctx *ctx = call->ctx;
    store_sandbox_init(sb);
    int r = ids_new_sandbox(sb->id);
    if (r < 0)
        goto internal;
    snprintf(sb->user_id, sizeof(sb->user_id), "%s", call->auth.user_id);
    sb->status = STORE_CREATING;
    snprintf(sb->shape, sizeof(sb->shape), "%s", cr->shape->id);
    sb->vcpu = cr->shape->vcpu;
    sb->mem_mib = cr->shape->mem_mib;
    sb->disk_mib = cr->disk_mib;
    snprintf(sb->rootfs, sizeof(sb->rootfs), "%s", cr->rootfs->name);
    snprintf(sb->region, sizeof(sb->region), "%s", ctx->set.region);
    sb->created_at = timefmt_now_ms();
    sb->ingress_enabled = cr->ingress_enabled;
    snprintf(sb->created_by, sizeof(sb->created_by), "%s", call->auth.key_id);
    sb->auto_pause_after_seconds = cr->auto_pause_after_seconds;
    sb->bw_quota_bytes = ctx->set.bandwidth_quota_bytes;
    sb->egress.v = cr->egress; /* borrowed for the insert; detached below */
    sb->egress.n = cr->n_egress;
    sb->ssh_pubkeys.v = cr->ssh;
    sb->ssh_pubkeys.n = cr->n_ssh;
    for (int attempt = 0; attempt < 8; attempt++) {
        if (cr->name)
            snprintf(sb->name, sizeof(sb->name), "%s", cr->name);
        else
            api_name_generate(attempt > 0, sb->name);
        r = store_sandbox_insert(ctx->store, sb, cr->envs, cr->n_envs);
        if (r != -EEXIST || cr->name)
            break;
    }
    sb->egress = (struct store_strv){ 0 };
    sb->ssh_pubkeys = (struct store_strv){ 0 };
    if (r == -EEXIST) {
        char msg[120];
        snprintf(msg, sizeof(msg), "name already in use: %s", sb->name);
        api_reply_fail(call, 400, json_pack("{s:s,s:s}", "name", msg, "code", "name_taken"));
        return r;
    }
    if (r == 0)
        return 0;
internal:
    api_reply_internal(call, "insert sandbox", r);
    return r;
}

static void on_create_body(struct api_call *call, json_t *body)
{
    struct api_ctx *ctx = call->ctx;
    struct api_create_req cr;
    json_t *fail = NULL;
    int st = api_validate_create(ctx, &call->auth, body, &cr, &fail);
    if (st) {
        api_reply_fail(call, st, fail);
        return;
    }
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    /* §1.11: every 503/403 check runs before anything is stored */
    if (!ctx->host || !ctx->host->create) {
        api_reply_error(call, 503, "the vm layer is not available yet; retry later",
                        "unavailable");
        goto out;
    }
    if (ctx->set.max_sandboxes) {
        uint64_t live;
        int r = count_live(ctx, call->auth.user_id, &live);
        if (r < 0) {
            api_reply_internal(call, "count sandboxes", r);
            goto out;
        }
        if (live >= ctx->set.max_sandboxes) {
            api_reply_fail_code(call, 403, "quota_exceeded", "sandbox quota reached");
            goto out;
        }
    }
    if (insert_row(call, &cr, &sb) < 0)
        goto out;
    struct create_wait *w = calloc(1, sizeof(*w));
    char image[PATH_MAX];
    snprintf(image, sizeof(image), "%s/%s", ctx->set.images_dir, cr.rootfs->file);
    if (w) {
        w->call = *call;
        memcpy(w->id, sb.id, sizeof(w->id));
        http_request_ref(call->req);
        http_request_on_abort(call->req, on_create_abort, w);
    }
    struct sandbox_host_create hc = { .sb = &sb, .envs = cr.envs, .n_envs = cr.n_envs,
                                      .image_path = image,
                                      .req_id = http_request_id(call->req) };
    log_info(http_request_id(call->req), "sandbox create", "{s:s,s:s,s:s}", "sandbox", sb.id,
             "shape", sb.shape, "rootfs", sb.rootfs);
    if (!w || ctx->host->create(ctx->host_ud, &hc, on_host_created, w) < 0) {
        if (w) {
            create_fail(w, "the vm layer refused the create");
            create_wait_free(w);
        } else {
            api_reply_internal(call, "create", -ENOMEM);
        }
    }
out:
    store_sandbox_release(&sb);
    api_create_req_release(&cr);
}

void api_sandbox_create(struct api_call *call)
{
    api_read_json(call, on_create_body);
}
