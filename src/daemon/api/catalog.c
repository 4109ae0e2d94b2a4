/* SPDX-License-Identifier: MIT */
/* catalog.c: health probes, whoami, and the catalog routes (catalog.h; spec/API.md §3.1): the
 * built-in shapes (§2.3), the rootfs catalog read from the images dir (§2.4) and this host
 * (§2.11). Read-only: touches the store only to count and to check it answers. */
#include "daemon/api/catalog.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/api/api.h"
#include "daemon/api/reply.h"
#include "daemon/host/host.h"
#include "daemon/api/jsend.h"
#include "daemon/http/request.h"
#include "daemon/http/response.h"
#include "daemon/store/store.h"

/* §2.3 and §4 item 41: every shape the official SDK examples use, in catalog order. */
static const struct api_shape shapes[] = {
    { "s-1vcpu-256mb", 1, 256, 10240, 0 },
    { "s-1vcpu-512mb", 1, 512, 10240, 0 },
    { "s-1vcpu-1gb", 1, 1024, 10240, 0 },
    { "s-1vcpu-2gb", 1, 2048, 10240, 0 },
    { "s-2vcpu-2gb", 2, 2048, 10240, 0 },
    { "s-2vcpu-4gb", 2, 4096, 10240, 0 },
    { "s-4vcpu-4gb", 4, 4096, 10240, 0 },
    { "s-4vcpu-8gb", 4, 8192, 10240, 0 },
};
#define N_SHAPES (sizeof(shapes) / sizeof(shapes[0]))

/* §2.4: devbox:1 first (the default), backed by the debian-12 image of images/. */
static const struct api_rootfs images[] = {
    { "devbox:1", "debian-12.ext4",
      "Debian 12 with bash, coreutils, python3, curl, git, tar and openssh-server" },
    { "minimal", "minimal.ext4", "BusyBox and the hearth agent" },
};
#define N_IMAGES (sizeof(images) / sizeof(images[0]))

const struct api_shape *api_shape_find(const char *id)
{
    for (size_t i = 0; i < N_SHAPES; i++)
        if (strcmp(shapes[i].id, id) == 0)
            return &shapes[i];
    return NULL;
}

static bool image_present(const struct api_ctx *ctx, const char *file)
{
    char p[PATH_MAX];
    int n = snprintf(p, sizeof(p), "%s/%s", ctx->set.images_dir, file);
    return n > 0 && (size_t)n < sizeof(p) && access(p, R_OK) == 0;
}

const struct api_rootfs *api_rootfs_find(const struct api_ctx *ctx, const char *name)
{
    for (size_t i = 0; i < N_IMAGES; i++)
        if (strcmp(images[i].name, name) == 0)
            return image_present(ctx, images[i].file) ? &images[i] : NULL;
    return NULL;
}

const char *api_rootfs_default(void)
{
    return images[0].name;
}

void api_ready_reason(struct api_ctx *ctx, char *out, size_t len)
{
    int version;
    out[0] = '\0';
    if (ctx->draining)
        snprintf(out, len, "draining");
    else if (!ctx->store || store_schema_version(ctx->store, &version) < 0)
        snprintf(out, len, "state store unavailable");
    else if (!image_present(ctx, "vmlinux"))
        snprintf(out, len, "guest kernel missing in images dir");
    else if (!image_present(ctx, images[0].file))
        snprintf(out, len, "default image %s missing in images dir", images[0].name);
}

void api_get_healthz(struct api_call *call)
{
    api_reply_ok(call, json_pack("{s:b}", "up", 1));
}

void api_get_readyz(struct api_call *call)
{
    char reason[200];
    api_ready_reason(call->ctx, reason, sizeof(reason));
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
    int r = store_sandbox_count(call->ctx->store, call->auth.user_id, c);
    if (r < 0) {
        api_reply_internal(call, "count sandboxes", r);
        return;
    }
    uint64_t total = 0;
    for (int s = 0; s < STORE_STATE__COUNT; s++)
        if (!store_state_is_terminal((enum store_state)s))
            total += c[s];
    uint64_t running = c[STORE_RUNNING], paused = c[STORE_PAUSED];
    api_reply_ok(call, json_pack("{s:s,s:{s:I,s:I,s:I,s:I}}", "user_id", call->auth.user_id,
                                 "stats", "running", (json_int_t)running, "paused",
                                 (json_int_t)paused, "other",
                                 (json_int_t)(total - running - paused), "total",
                                 (json_int_t)total));
}

void api_get_shapes(struct api_call *call)
{
    struct api_page pg;
    if (api_page_parse(call, &pg) < 0)
        return;
    json_t *items = json_array();
    for (size_t i = pg.offset; i < N_SHAPES && i - pg.offset < pg.limit; i++) {
        const struct api_shape *s = &shapes[i];
        json_t *o = json_pack("{s:s,s:i,s:I,s:I}", "id", s->id, "vcpu", (int)s->vcpu, "mem_mib",
                              (json_int_t)s->mem_mib, "default_disk_mib",
                              (json_int_t)s->default_disk_mib);
        if (o && s->cpu_quota_pct)
            json_object_set_new(o, "cpu_quota_pct", json_integer(s->cpu_quota_pct));
        json_array_append_new(items, o);
    }
    api_reply_ok(call, api_page_wrap(items, &pg, N_SHAPES));
}

static json_t *present_images(const struct api_ctx *ctx, bool entries)
{
    json_t *a = json_array();
    for (size_t i = 0; i < N_IMAGES; i++) {
        if (!image_present(ctx, images[i].file))
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
    api_reply_ok(call, json_pack("{s:o,s:s,s:o}", "rootfs", present_images(call->ctx, false),
                                 "default", api_rootfs_default(), "entries",
                                 present_images(call->ctx, true)));
}

/* MemAvailable in MiB: what guests could still get on this machine. */
static int64_t free_mib(void)
{
    FILE *f = fopen("/proc/meminfo", "re");
    if (!f)
        return 0;
    char line[256];
    long long kb = 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1)
            break;
    fclose(f);
    return kb / 1024;
}

void api_get_hosts(struct api_call *call)
{
    struct api_ctx *ctx = call->ctx;
    struct api_page pg;
    if (api_page_parse(call, &pg) < 0)
        return;
    json_t *items = json_array();
    if (pg.offset == 0 && pg.limit > 0) {
        unsigned vms = ctx->host ? host_vm_count(ctx->host) : 0;
        json_t *h = json_pack("{s:s,s:s,s:I,s:I}", "id", ctx->set.host_id, "status",
                              ctx->draining ? "draining" : "active", "free_mib",
                              (json_int_t)free_mib(), "vm_count", (json_int_t)vms);
        json_t *imgs = present_images(ctx, false);
        if (json_array_size(imgs))
            json_object_set_new(h, "rootfses", imgs);
        else
            json_decref(imgs);
        json_array_append_new(items, h);
    }
    api_reply_ok(call, api_page_wrap(items, &pg, 1));
}
