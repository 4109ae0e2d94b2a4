/* SPDX-License-Identifier: MIT */
/* sandboxes.c: sandbox routes of spec/API.md §3.2 (sandboxes.h). Reads and settings go straight
 * to the store with compare-and-set; VM work goes through host.h with a durable intent recorded
 * first (create: creating → running; delete: destroying → destroyed). Without a host layer, routes
 * that need a VM answer 503 `unavailable` and change nothing. */
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
#include "daemon/api/catalog.h"
#include "daemon/api/guest.h"
#include "daemon/api/netplane.h"
#include "daemon/api/networks.h"
#include "daemon/api/reply.h"
#include "daemon/api/sandbox_view.h"
#include "daemon/api/snapshots.h"
#include "daemon/api/validate.h"
#include "daemon/http/request.h"
#include "daemon/http/route.h"
#include "daemon/host/host.h"
#include "common/mono.h"
#include "daemon/log.h"
#include "daemon/store/ids.h"
#include "daemon/store/store.h"

#define CAS_RETRIES 5

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
    if (!api_sandbox_path_id(call, 2, id) || !api_sandbox_load(call, id, &sb))
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
        if (!api_sandbox_load(call, id, &sb))
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

/* A terminal row's snapshots (the one it would resume from, the base its disk sat on) go
 * when nothing else needs them. */
static void release_snapshots(struct api_ctx *ctx, const char *id)
{
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    if (store_sandbox_get(ctx->store, NULL, id, &sb) == 0 && store_state_is_terminal(sb.status)) {
        api_snapshot_release(ctx, sb.snapshot_dir);
        api_snapshot_release(ctx, sb.base_dir);
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
        struct store_transition t = { .from = STORE_DESTROYING, .to = STORE_DESTROYED,
                                      .intent = STORE_STATE_NONE, .now_ms = timefmt_now_ms() };
        int r = store_sandbox_transition(w->ctx->store, w->id, &t, NULL);
        if (r < 0 && r != -ESTALE)
            log_error(w->req_id, "cannot record destroyed", "{s:s,s:s}", "sandbox", w->id,
                      "err", strerror(-r));
        else
            log_info(w->req_id, "sandbox destroyed", "{s:s}", "sandbox", w->id);
        release_snapshots(w->ctx, w->id);
    }
    free(w);
}

void api_sandbox_destroy_vm(struct api_ctx *ctx, const char *id, const char *req_id)
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
    api_net_vm_stopped(ctx, id, false);
    host_vm_destroy(ctx->host, id, on_host_destroyed, w);
}

void api_sandbox_delete(struct api_call *call)
{
    struct api_ctx *ctx = call->ctx;
    char id[STORE_ID_SIZE];
    if (!api_sandbox_path_id(call, 2, id))
        return;
    for (int attempt = 0; attempt < CAS_RETRIES; attempt++) {
        struct store_sandbox sb;
        if (!api_sandbox_load(call, id, &sb))
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
        /* a creating row may have a VM booting already: the host tears it down (or answers
         * not_found) and cancels the pending create */
        bool via_host = live && (ctx->host || has_vm);
        if (via_host && !ctx->host) {
            api_reply_error(call, 503, "the vm layer is not available; retry later",
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
        if (via_host)
            api_sandbox_destroy_vm(ctx, id, http_request_id(call->req));
        else
            release_snapshots(ctx, id);
        log_info(http_request_id(call->req), "sandbox destroy", "{s:s,s:s,s:s}", "sandbox", id,
                 "from", store_state_to_string(s), "to", store_state_to_string(t.to));
        reply_destroy(call, id, store_state_to_string(t.to));
        return;
    }
    api_reply_internal(call, "destroy sandbox: state kept changing", -EAGAIN);
}

/* ---- create ---- */

/* §2.14.5: the whole create gives up after 45 s; the boot gets most of it, the identity step
 * the rest. */
#define CREATE_BOOT_MS 38000
#define CREATE_IDENTITY_MS 6000
/* resize2fs of a fresh image to the sandbox's disk: ~0.3 s for 1 -> 10 GiB under TCG (see
 * docs/images.md); the bound is for the 256 GiB maximum on a slow host */
#define CREATE_GROW_MS 30000
/* resize2fs after a resize (online, the file system is in use) */
#define RESIZE_GROW_MS 60000

struct create_wait {
    struct api_call call;             /* req referenced */
    char id[STORE_ID_SIZE];
    char hostname[STORE_NAME_SIZE];
    char **keys;                      /* owned canonical SSH keys to install */
    size_t n_keys;
    bool grow;                        /* the disk is larger than the image: resize2fs */
    bool client_gone;
    int64_t boot_start_us;            /* monotonic, when the host was asked to boot */
    /* the boot: from a golden snapshot (golden[0]) or cold; a failed golden restore falls
     * back to a cold boot of the same spec */
    char golden[PATH_MAX];
    char image[PATH_MAX];
    char append[96];
    unsigned vcpus, mem_mib;
    uint64_t disk_mib;
    uint32_t cpu_quota_pct;
};

static void create_wait_free(struct create_wait *w)
{
    http_request_on_abort(w->call.req, NULL, NULL);
    http_request_unref(w->call.req);
    for (size_t i = 0; i < w->n_keys; i++)
        free(w->keys[i]);
    free(w->keys);
    free(w);
}

static void on_create_abort(struct http_request *req, void *ud)
{
    struct create_wait *w = ud;
    w->client_gone = true; /* §2.14.5: the create still completes */
}

/* Records failed (unless deleted meanwhile), tears down what the host may still run, answers
 * and frees w. */
static void create_fail(struct create_wait *w, const char *msg, bool vm_left)
{
    struct api_ctx *ctx = w->call.ctx;
    struct store_transition t = { .from = STORE_CREATING, .to = STORE_FAILED,
                                  .intent = STORE_STATE_NONE, .now_ms = timefmt_now_ms() };
    int r = store_sandbox_transition(ctx->store, w->id, &t, NULL);
    log_error(http_request_id(w->call.req), "sandbox create failed", "{s:s,s:s}", "sandbox",
              w->id, "err", msg);
    if (r == 0 && vm_left)
        api_sandbox_destroy_vm(ctx, w->id, http_request_id(w->call.req));
    else
        api_net_vm_stopped(ctx, w->id, false);
    if (!w->client_gone) {
        if (r == -ESTALE) /* deleted while creating */
            api_reply_invalid_state(&w->call, "destroying", "sandbox was deleted while creating");
        else
            api_reply_error(&w->call, 500, msg, "boot_failed");
    }
    create_wait_free(w);
}

static void create_succeed(struct create_wait *w)
{
    struct api_ctx *ctx = w->call.ctx;
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    struct store_transition t = { .from = STORE_CREATING, .to = STORE_RUNNING,
                                  .intent = STORE_STATE_NONE, .now_ms = timefmt_now_ms() };
    int r = store_sandbox_transition(ctx->store, w->id, &t, &sb);
    if (r == -ESTALE) {
        if (!w->client_gone)
            api_reply_invalid_state(&w->call, "destroying", "sandbox was deleted while creating");
    } else if (r < 0) {
        store_sandbox_release(&sb);
        create_fail(w, "cannot record the running sandbox", true);
        return;
    } else {
        log_info(http_request_id(w->call.req), "sandbox running", "{s:s,s:f}", "sandbox", w->id,
                 "spawn_ms", sb.spawn_ms);
        api_idle_touch(ctx, w->id);
        /* A cold boot that worked: the first of its kind makes the golden snapshot the next
         * creates restore (docs/snapshots.md "Golden snapshots") */
        if (!w->golden[0])
            api_golden_build(ctx, w->image, w->vcpus, w->mem_mib, w->disk_mib,
                             w->cpu_quota_pct, w->grow);
        if (!w->client_gone)
            api_reply_ok(&w->call, api_sandbox_create_view(&ctx->set, &sb));
    }
    store_sandbox_release(&sb);
    create_wait_free(w);
}

static void on_grown(void *ud, int err, int status, const char *msg)
{
    struct create_wait *w = ud;
    if (err < 0 || status != 0) {
        char why[400];
        snprintf(why, sizeof(why), "cannot grow the guest's root file system: %s (%s %d)", msg,
                 err < 0 ? "error" : "exit status", err < 0 ? err : status);
        create_fail(w, why, true);
        return;
    }
    create_succeed(w);
}

static void on_identity(void *ud, int err, int status, const char *msg)
{
    struct create_wait *w = ud;
    if (err < 0 || status != 0) {
        char why[400];
        snprintf(why, sizeof(why), "cannot set the guest's identity: %s (%s %d)", msg,
                 err < 0 ? "error" : "exit status", err < 0 ? err : status);
        create_fail(w, why, true);
        return;
    }
    if (!w->grow) {
        create_succeed(w);
        return;
    }
    /* the image's file system is smaller than the disk: df must show the disk asked for */
    struct api_ctx *ctx = w->call.ctx;
    if (guest_run(ctx->host, ctx->base, w->id, guest_grow_root_argv(), CREATE_GROW_MS, on_grown,
                  w) < 0)
        create_fail(w, "cannot reach the guest agent to grow the root file system", true);
}

static void create_boot(struct create_wait *w);

static void on_host_created(void *ud, const char *id, const struct host_result *res)
{
    struct create_wait *w = ud;
    struct api_ctx *ctx = w->call.ctx;
    if (res->err != HOST_OK && w->golden[0] &&
        (res->err == HOST_E_INVALID || res->err == HOST_E_NOT_FOUND ||
         res->err == HOST_E_QEMU)) {
        /* a golden snapshot that failed to restore: this create boots cold; one this host
         * can never restore (damaged, mismatched) is discarded, a QEMU that failed this once
         * is not held against it */
        log_warn(http_request_id(w->call.req), "golden restore failed; booting cold",
                 "{s:s,s:s,s:s}", "sandbox", w->id, "golden", w->golden, "err", res->msg);
        if (res->err == HOST_E_INVALID)
            api_golden_discard(ctx, w->golden);
        w->golden[0] = '\0';
        create_boot(w);
        return;
    }
    if (res->err != HOST_OK) {
        create_fail(w, res->msg[0] ? res->msg : host_err_to_string(res->err), false);
        return;
    }
    /* the VM part of spawn_ms, so an operator can tell a slow boot from slow bookkeeping */
    double boot_ms = (double)(mono_now_us() - w->boot_start_us) / 1e3;
    log_info(http_request_id(w->call.req), "sandbox vm ready", "{s:s,s:f}", "sandbox", w->id,
             "boot_ms", boot_ms);
    char run_dir[PATH_MAX];
    if (host_vm_run_dir(ctx->host, w->id, run_dir, sizeof(run_dir)) < 0)
        run_dir[0] = '\0';
    struct store_sandbox_patch p = { .fields = STORE_PATCH_HOST | STORE_PATCH_SNAPSHOT,
                                     .allowed_states = STORE_STATE_BIT(STORE_CREATING),
                                     .base_dir = w->golden,
                                     .host_id = ctx->set.host_id,
                                     .run_dir = run_dir[0] ? run_dir : NULL,
                                     .qemu_pid = (int32_t)host_vm_pid(ctx->host, w->id),
                                     .now_ms = timefmt_now_ms() };
    int r = store_sandbox_update(ctx->store, NULL, w->id, &p);
    if (r == -ESTALE) {
        /* deleted meanwhile: the delete's destroy takes the VM down */
        if (!w->client_gone)
            api_reply_invalid_state(&w->call, "destroying", "sandbox was deleted while creating");
        create_wait_free(w);
        return;
    }
    if (r < 0) {
        create_fail(w, "cannot record the sandbox's vm", true);
        return;
    }
    /* The hostname came with the kernel command line (hearth.hostname=, set by the agent at
     * boot) or, after a golden restore, with the agent's HELLO; only SSH keys need a command
     * in the guest. */
    if (w->n_keys == 0) {
        on_identity(w, 0, 0, "");
        return;
    }
    const char **argv = guest_identity_argv(w->hostname, (const char *const *)w->keys,
                                            w->n_keys);
    r = argv ? guest_run(ctx->host, ctx->base, w->id, argv, CREATE_IDENTITY_MS, on_identity, w)
             : -ENOMEM;
    free(argv);
    if (r < 0)
        create_fail(w, "cannot reach the guest agent after boot", true);
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
    sb->target_state = STORE_RUNNING; /* durable intent: reconcile fails it if we die */
    sb->intent_started_at = timefmt_now_ms();
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
    r = ctx->net ? api_net_alloc_ip(ctx, sb->ip) : 0;
    if (r == -EADDRNOTAVAIL) {
        sb->egress = (struct store_strv){ 0 };
        sb->ssh_pubkeys = (struct store_strv){ 0 };
        api_reply_error(call, 503, "no free sandbox address", "no_capacity");
        return r;
    }
    if (r == 0) /* a generated name that collides is drawn again, with a suffix */
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

/* The image to boot: <stem>.ext4 has a 1 GiB file system; images/build.sh also makes
 * <stem>.<DEFAULT_DISK_MIB>.ext4, the same tree grown offline to the default disk size, so a
 * create with the default disk needs no resize2fs in the guest (~0.3 s under TCG). The largest
 * variant that fits the disk wins; without one the base image is used and grown. */
static void pick_image(const char *dir, const char *file, uint64_t disk_mib, char *out,
                       size_t len)
{
    static const uint64_t variants_mib[] = { 10240 };
    size_t stem = strlen(file);
    if (stem > 5 && strcmp(file + stem - 5, ".ext4") == 0)
        stem -= 5;
    for (size_t i = 0; i < sizeof(variants_mib) / sizeof(variants_mib[0]); i++) {
        if (variants_mib[i] > disk_mib)
            continue;
        snprintf(out, len, "%s/%.*s.%llu.ext4", dir, (int)stem, file,
                 (unsigned long long)variants_mib[i]);
        if (access(out, R_OK) == 0)
            return;
    }
    snprintf(out, len, "%s/%s", dir, file);
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
    if (!ctx->host) {
        api_reply_error(call, 503, "the vm layer is not available; retry later",
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
    struct store_network nets[API_MAX_NETWORKS];
    size_t n_nets = 0;
    for (size_t i = 0; i < cr.n_networks; i++) {
        struct store_network nw;
        int r = api_network_resolve(ctx, call->auth.user_id, cr.networks[i], &nw);
        if (r == 0 && nw.deleted_at)
            r = -ENOENT;
        if (r < 0) {
            char f[40], msg[160];
            snprintf(f, sizeof(f), "networks[%zu].id", i);
            snprintf(msg, sizeof(msg), "unknown network: %.100s", cr.networks[i]);
            if (r == -ENOENT)
                api_reply_field(call, f, msg, "unknown_reference");
            else
                api_reply_internal(call, "read network", r);
            goto out;
        }
        bool dup = false;
        for (size_t k = 0; k < n_nets && !dup; k++)
            dup = strcmp(nets[k].id, nw.id) == 0;
        if (!dup)
            nets[n_nets++] = nw;
    }
    if (n_nets && !ctx->net) {
        api_reply_error(call, 503, "networking is not available", "unavailable");
        goto out;
    }
    if (insert_row(call, &cr, &sb) < 0)
        goto out;
    /* joined before the VM starts, so its first network config has every address */
    for (size_t i = 0; i < n_nets; i++) {
        int r = api_net_join(ctx, nets[i].id, nets[i].subnet, sb.id);
        if (r < 0 && r != -EEXIST) {
            struct store_transition t = { .from = STORE_CREATING, .to = STORE_FAILED,
                                          .intent = STORE_STATE_NONE,
                                          .now_ms = timefmt_now_ms() };
            if (store_sandbox_transition(ctx->store, sb.id, &t, NULL) < 0)
                log_warn(http_request_id(call->req), "cannot record failed", "{s:s}",
                         "sandbox", sb.id); /* reconcile fails it at the next start */
            if (r == -EADDRNOTAVAIL)
                api_reply_error(call, 503, "a network has no free address", "no_capacity");
            else
                api_reply_internal(call, "join network", r);
            goto out;
        }
    }
    struct create_wait *w = calloc(1, sizeof(*w));
    if (w && cr.n_ssh && !(w->keys = calloc(cr.n_ssh, sizeof(*w->keys)))) {
        free(w);
        w = NULL;
    }
    if (!w) {
        /* the row is left creating with its intent: reconcile turns it failed */
        api_reply_internal(call, "create", -ENOMEM);
        goto out;
    }
    w->call = *call;
    memcpy(w->id, sb.id, sizeof(w->id));
    /* the store derived the hostname from the name; read it back */
    struct store_sandbox row;
    store_sandbox_init(&row);
    if (store_sandbox_get(ctx->store, NULL, sb.id, &row) == 0) {
        snprintf(w->hostname, sizeof(w->hostname), "%s", row.hostname);
        for (size_t i = 0; i < row.ssh_pubkeys.n && i < cr.n_ssh; i++)
            if ((w->keys[i] = strdup(row.ssh_pubkeys.v[i])))
                w->n_keys++;
    }
    store_sandbox_release(&row);
    if (!w->hostname[0])
        snprintf(w->hostname, sizeof(w->hostname), "%s", sb.name);
    http_request_ref(call->req);
    http_request_on_abort(call->req, on_create_abort, w);
    pick_image(ctx->set.images_dir, cr.rootfs->file, (uint64_t)sb.disk_mib, w->image,
               sizeof(w->image));
    /* a stat of a local file: the image's size decides whether the guest must grow its fs */
    struct stat ist;
    w->grow = stat(w->image, &ist) == 0 && (uint64_t)sb.disk_mib << 20 > (uint64_t)ist.st_size;
    /* the agent sets the hostname from the kernel command line at boot (src/agent/init.c);
     * hostnames are [a-z0-9-] (common/sbname.c), safe there as one token */
    snprintf(w->append, sizeof(w->append), "hearth.hostname=%s", w->hostname);
    w->vcpus = (unsigned)sb.vcpu;
    w->mem_mib = (unsigned)sb.mem_mib;
    w->disk_mib = (uint64_t)sb.disk_mib;
    w->cpu_quota_pct = (uint32_t)cr.shape->cpu_quota_pct;
    if (api_golden_find(ctx, w->image, w->vcpus, w->mem_mib, w->disk_mib, w->golden))
        w->grow = false; /* the golden VM's file system fills its disk already */
    else
        w->golden[0] = '\0';
    log_info(http_request_id(call->req), "sandbox create", "{s:s,s:s,s:s,s:b}", "sandbox",
             sb.id, "shape", sb.shape, "rootfs", sb.rootfs, "golden", w->golden[0] != '\0');
    create_boot(w);
out:
    store_sandbox_release(&sb);
    api_create_req_release(&cr);
}

/* Asks the host for the VM: a restore of the golden snapshot when there is one, else a
 * cold boot. */
static void create_boot(struct create_wait *w)
{
    struct api_ctx *ctx = w->call.ctx;
    struct host_vm_spec spec = { .id = w->id, .rootfs = w->image, .vcpus = w->vcpus,
                                 .memory_mib = w->mem_mib, .disk_mib = w->disk_mib,
                                 .cpu_quota_pct = w->cpu_quota_pct, .extra_append = w->append,
                                 .boot_timeout_ms = CREATE_BOOT_MS, .hostname = w->hostname };
    if (w->golden[0]) {
        spec.snapshot = w->golden;
        spec.snapshot_consume = false;
    }
    struct api_net_vm nv;
    if (api_net_vm_prepare(ctx, w->id, &nv) < 0) {
        create_fail(w, "cannot set up the sandbox's network", false);
        return;
    }
    api_net_vm_spec(&nv, &spec);
    w->boot_start_us = mono_now_us();
    host_vm_create(ctx->host, &spec, on_host_created, w);
    api_net_vm_release(&nv);
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
    struct api_ctx *ctx = call->ctx;
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
            api_ssh_key(json_string_value(k), json_string_length(k), &canon[i], &why) < 0) {
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
            if (guest_run(ctx->host, ctx->base, id, argv, CREATE_IDENTITY_MS, on_keys_installed,
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
    struct api_ctx *ctx = w->call.ctx;
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
    struct api_ctx *ctx = w->call.ctx;
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
    struct api_ctx *ctx = call->ctx;
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
