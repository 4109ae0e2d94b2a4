/* SPDX-License-Identifier: MIT */
/* host_routes.c: the host registry's routes (docs/api.md §3.1.6 and "Hosts"): GET /v1/hosts,
 * and the hearth extensions POST /v1/hosts/{id}/drain and /undrain. Admin keys only. */
#include "daemon/api/routes.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/timefmt.h"
#include "daemon/api/api.h"
#include "daemon/api/reply.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/hosts.h"
#include "daemon/ctl/pool.h"
#include "daemon/ctl/snapstore.h"
#include "daemon/http/request.h"

/* a comma-separated list ("a,b") as a JSON array of strings */
static json_t *split_list(const char *s, char sep)
{
    json_t *a = json_array();
    for (const char *p = s; p && *p;) {
        const char *end = strchr(p, sep);
        size_t len = end ? (size_t)(end - p) : strlen(p);
        json_array_append_new(a, json_stringn(p, len));
        p = end ? end + 1 : NULL;
    }
    return a;
}

/* "k=v,k2=v2" as {"k":"v","k2":"v2"} */
static json_t *labels_object(const char *labels)
{
    json_t *o = json_object();
    for (const char *p = labels; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (eq) {
            char key[64];
            size_t kl = (size_t)(eq - p) < sizeof(key) - 1 ? (size_t)(eq - p) : sizeof(key) - 1;
            memcpy(key, p, kl);
            key[kl] = '\0';
            json_object_set_new(o, key, json_stringn(eq + 1, len - (size_t)(eq - p) - 1));
        }
        p = end ? end + 1 : NULL;
    }
    return o;
}

static json_t *warm_pools(struct ctl *ctx)
{
    json_t *pools = json_array();
    for (size_t i = 0; i < ctl_pool_count(ctx); i++) {
        struct ctl_pool_stat st;
        ctl_pool_stat(ctx, i, &st);
        json_array_append_new(pools, json_pack("{s:s,s:i,s:i,s:i,s:I,s:I}", "pool", st.label,
                                               "size", (int)st.target, "ready", (int)st.ready,
                                               "warming", (int)st.warming, "hits",
                                               (json_int_t)st.hits, "misses",
                                               (json_int_t)st.misses));
    }
    return pools;
}

/* Host (§2.11) plus hearth's fields: region, labels, vcpus, committed_vcpus, mem_mib, address,
 * version, heartbeat_at, started_at; this host's warm pools. */
static json_t *host_view(struct ctl *ctx, const struct store_host *h, enum ctl_host_status st)
{
    json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:s,s:o,s:I,s:I,s:I,s:s}", "id", h->id, "status",
                          ctl_host_status_name(st), "free_mib", (json_int_t)h->free_mib,
                          "vm_count", (json_int_t)h->vm_count, "region", h->region, "labels",
                          labels_object(h->labels), "mem_mib", (json_int_t)h->mem_mib, "vcpus",
                          (json_int_t)h->vcpus, "committed_vcpus",
                          (json_int_t)h->committed_vcpus, "version", h->version);
    if (!o)
        return NULL;
    if (h->rootfses[0])
        json_object_set_new(o, "rootfses", split_list(h->rootfses, ','));
    if (h->address[0])
        json_object_set_new(o, "address", json_string(h->address));
    api_json_set_time(o, "heartbeat_at", h->heartbeat_at);
    api_json_set_time(o, "started_at", h->started_at);
    if (strcmp(h->id, ctx->set.host_id) == 0) {
        json_t *pools = warm_pools(ctx);
        if (json_array_size(pools)) /* docs/performance.md "Warm pools" */
            json_object_set_new(o, "warm_pools", pools);
        else
            json_decref(pools);
        struct ctl_snapstore_stat ss; /* snapshots on S3 (docs/snapshots.md) */
        if (ctl_snapstore_stat(ctx, &ss))
            json_object_set_new(
                o, "snapshot_store",
                json_pack("{s:s,s:i,s:i,s:I,s:I,s:I,s:I,s:I}", "kind", "s3", "uploads_pending",
                          (int)ss.pending, "fetches_running", (int)ss.fetching, "uploads",
                          (json_int_t)ss.uploads, "upload_failures",
                          (json_int_t)ss.upload_failures, "cache_used_bytes",
                          (json_int_t)ss.cache_used, "cache_budget_bytes",
                          (json_int_t)ss.cache_budget, "evictions", (json_int_t)ss.evictions));
    }
    return o;
}

void api_get_hosts(struct api_call *call)
{
    struct ctl *ctx = call->ctx->ctl;
    struct api_page pg;
    if (api_page_parse(call, &pg) < 0)
        return;
    struct store_host *hosts;
    enum ctl_host_status *st;
    size_t n;
    struct ctl_error e;
    if (ctl_hosts_list(ctx, &hosts, &st, &n, &e) < 0) {
        api_reply_ctl(call, &e);
        return;
    }
    json_t *items = json_array();
    for (size_t i = pg.offset; i < n && i - pg.offset < pg.limit; i++)
        json_array_append_new(items, host_view(ctx, &hosts[i], st[i]));
    free(hosts);
    free(st);
    api_reply_ok(call, api_page_wrap(items, &pg, n));
}

static void drain(struct api_call *call, bool on)
{
    const struct http_path *p = http_request_path(call->req);
    char id[STORE_HOST_SIZE];
    struct ctl_error e;
    if (p->seg_len[2] == 0 || p->seg_len[2] >= sizeof(id) || memchr(p->seg[2], '\0', p->seg_len[2])) {
        ctl_error_set(&e, CTL_E_NOT_FOUND, NULL, NULL, "host not found");
        api_reply_ctl(call, &e);
        return;
    }
    memcpy(id, p->seg[2], p->seg_len[2]);
    id[p->seg_len[2]] = '\0';
    struct store_host h;
    if (ctl_host_drain(call->ctx->ctl, id, on, &h, &e) < 0) {
        api_reply_ctl(call, &e);
        return;
    }
    int64_t now = timefmt_now_ms();
    api_reply_ok(call, host_view(call->ctx->ctl, &h,
                                 ctl_host_status_of(&h, now,
                                                    (int64_t)call->ctx->ctl->set.host_dead_after_s *
                                                        1000)));
}

void api_host_drain(struct api_call *call)
{
    drain(call, true);
}

void api_host_undrain(struct api_call *call)
{
    drain(call, false);
}
