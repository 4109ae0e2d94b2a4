/* SPDX-License-Identifier: MIT */
/* catalog_routes.c: health probes, whoami, and the catalog routes (catalog_routes.h;
 * docs/api.md §3.1): the built-in shapes (§2.3) and the rootfs catalog (§2.4) as
 * ctl/catalog.h has them, this host (§2.11) and its SSH gateway (§5.8). Read-only. */
#include "daemon/api/routes.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/api/api.h"
#include "daemon/api/reply.h"
#include "daemon/ctl/catalog.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/pool.h"
#include "daemon/ctl/quota.h"
#include "daemon/ctl/snapstore.h"
#include "daemon/api/jsend.h"
#include "daemon/http/request.h"
#include "daemon/http/response.h"
#include "daemon/store/store.h"

void api_get_healthz(struct api_call *call)
{
    api_reply_ok(call, json_pack("{s:b}", "up", 1));
}

void api_get_readyz(struct api_call *call)
{
    char reason[200];
    ctl_ready_reason(call->ctx->ctl, reason, sizeof(reason));
    if (!reason[0]) {
        api_reply_ok(call, json_pack("{s:b}", "ready", 1));
        return;
    }
    /* §1.4 item 5: the one fail envelope on a 5xx */
    (void)http_response_retry_after(call->req, 5);
    api_reply_fail(call, 503, json_pack("{s:b,s:s}", "ready", 0, "reason", reason));
}

void api_get_whoami(struct api_call *call)
{
    uint64_t c[STORE_STATE__COUNT];
    int r = store_sandbox_count(call->ctx->ctl->store, call->auth.user_id, c);
    if (r < 0) {
        api_reply_internal(call, "count sandboxes", r);
        return;
    }
    uint64_t total = 0;
    for (int s = 0; s < STORE_STATE__COUNT; s++)
        if (!store_state_is_terminal((enum store_state)s))
            total += c[s];
    uint64_t running = c[STORE_RUNNING], paused = c[STORE_PAUSED];
    /* admin (a hearth extension, §2.12): whether this key may use the admin routes */
    api_reply_ok(call, json_pack("{s:s,s:b,s:{s:I,s:I,s:I,s:I}}", "user_id",
                                 call->auth.user_id, "admin", call->auth.admin, "stats",
                                 "running", (json_int_t)running, "paused", (json_int_t)paused,
                                 "other", (json_int_t)(total - running - paused), "total",
                                 (json_int_t)total));
}

void api_get_shapes(struct api_call *call)
{
    struct api_page pg;
    if (api_page_parse(call, &pg) < 0)
        return;
    size_t n_shapes;
    const struct ctl_shape *shapes = ctl_shapes(&n_shapes);
    json_t *items = json_array();
    for (size_t i = pg.offset; i < n_shapes && i - pg.offset < pg.limit; i++) {
        const struct ctl_shape *s = &shapes[i];
        json_t *o = json_pack("{s:s,s:i,s:I,s:I}", "id", s->id, "vcpu", (int)s->vcpu, "mem_mib",
                              (json_int_t)s->mem_mib, "default_disk_mib",
                              (json_int_t)s->default_disk_mib);
        if (o && s->cpu_quota_pct)
            json_object_set_new(o, "cpu_quota_pct", json_integer(s->cpu_quota_pct));
        json_array_append_new(items, o);
    }
    api_reply_ok(call, api_page_wrap(items, &pg, n_shapes));
}

static json_t *present_images(const struct ctl *ctx, bool entries)
{
    size_t n_images;
    const struct ctl_rootfs *images = ctl_rootfs_all(&n_images);
    json_t *a = json_array();
    for (size_t i = 0; i < n_images; i++) {
        if (!ctl_image_present(ctx, images[i].file))
            continue;
        if (entries)
            json_array_append_new(a, json_pack("{s:s,s:s}", "name", images[i].name,
                                               "description", images[i].description));
        else
            json_array_append_new(a, json_string(images[i].name));
    }
    return a;
}

void api_get_rootfs(struct api_call *call)
{
    api_reply_ok(call, json_pack("{s:o,s:s,s:o}", "rootfs", present_images(call->ctx->ctl, false),
                                 "default", ctl_rootfs_default(), "entries",
                                 present_images(call->ctx->ctl, true)));
}

/* MemAvailable in MiB: what guests could still get on this machine. */
static int64_t free_mib(void)
{
    uint64_t kib;
    return ctl_meminfo_kib("/proc/meminfo", "MemAvailable", &kib) == 0 ? (int64_t)(kib / 1024)
                                                                        : 0;
}

void api_get_hosts(struct api_call *call)
{
    struct ctl *ctx = call->ctx->ctl;
    struct api_page pg;
    if (api_page_parse(call, &pg) < 0)
        return;
    json_t *items = json_array();
    if (pg.offset == 0 && pg.limit > 0) {
        unsigned vms = ctl_vm_count(ctx);
        json_t *h = json_pack("{s:s,s:s,s:I,s:I}", "id", ctx->set.host_id, "status",
                              ctx->draining ? "draining" : "active", "free_mib",
                              (json_int_t)free_mib(), "vm_count", (json_int_t)vms);
        json_t *pools = json_array();
        for (size_t i = 0; i < ctl_pool_count(ctx); i++) {
            struct ctl_pool_stat st;
            ctl_pool_stat(ctx, i, &st);
            json_array_append_new(pools, json_pack("{s:s,s:i,s:i,s:i,s:I,s:I}", "pool", st.label,
                                                   "size", (int)st.target, "ready",
                                                   (int)st.ready, "warming", (int)st.warming,
                                                   "hits", (json_int_t)st.hits, "misses",
                                                   (json_int_t)st.misses));
        }
        if (json_array_size(pools)) /* warm pools (docs/performance.md "Warm pools") */
            json_object_set_new(h, "warm_pools", pools);
        else
            json_decref(pools);
        struct ctl_snapstore_stat ss; /* snapshots on S3 (docs/snapshots.md) */
        if (ctl_snapstore_stat(ctx, &ss))
            json_object_set_new(
                h, "snapshot_store",
                json_pack("{s:s,s:i,s:i,s:I,s:I,s:I,s:I,s:I}", "kind", "s3", "uploads_pending",
                          (int)ss.pending, "fetches_running", (int)ss.fetching, "uploads",
                          (json_int_t)ss.uploads, "upload_failures",
                          (json_int_t)ss.upload_failures, "cache_used_bytes",
                          (json_int_t)ss.cache_used, "cache_budget_bytes",
                          (json_int_t)ss.cache_budget, "evictions", (json_int_t)ss.evictions));
        json_t *imgs = present_images(ctx, false);
        if (json_array_size(imgs))
            json_object_set_new(h, "rootfses", imgs);
        else
            json_decref(imgs);
        json_array_append_new(items, h);
    }
    api_reply_ok(call, api_page_wrap(items, &pg, 1));
}

/* §5.8: the gateway's port and public host keys, so that a client pins them from an
 * authenticated answer instead of trusting its first connection. */
void api_get_ssh_gateway(struct api_call *call)
{
    const struct api_ssh_gateway *g = &call->ctx->ssh;
    if (!g->enabled) {
        api_reply_ok(call, json_pack("{s:b}", "enabled", 0));
        return;
    }
    json_t *keys = json_array();
    for (size_t i = 0; i < API_SSH_HOST_KEYS; i++)
        if (g->host_keys[i][0])
            json_array_append_new(keys, json_string(g->host_keys[i]));
    api_reply_ok(call, json_pack("{s:b,s:i,s:b,s:o}", "enabled", 1, "port", (int)g->port,
                                 "password_auth", g->password_auth, "host_keys", keys));
}
