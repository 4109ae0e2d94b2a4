/* SPDX-License-Identifier: MIT */
/* sandbox_disks.c: the routes of a sandbox's disk mounts (docs/api.md §3.9.6–§3.9.9): attach
 * live, list (SandboxDisk views, a delegated token may read them), detach. Shapes are checked
 * here; the control layer (ctl/disk_mount.h) decides. No view carries a credential. */
#include "daemon/api/routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api/api.h"
#include "daemon/api/reply.h"
#include "daemon/api/sandboxes.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/disk.h"
#include "daemon/ctl/disk_mount.h"
#include "daemon/ctl/sandbox_check.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/http/request.h"
#include "daemon/http/route.h"
#include "daemon/store/store.h"

#define DISK_REF_MAX 80

/* A SandboxDisk (docs/api.md §2.7). */
static json_t *mount_view(const struct store_mount *m)
{
    json_t *cfg = json_pack("{s:s,s:s,s:b}", "bucket", m->bucket, "endpoint", m->endpoint,
                            "use_path_style", m->path_style);
    if (cfg && m->region[0])
        json_object_set_new(cfg, "region", json_string(m->region));
    json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:s,s:s}", "disk_id", m->disk_id, "name",
                          m->disk_name, "kind", "s3", "config", cfg ? cfg : json_object(),
                          "mount_path", m->mount_path, "mount_status",
                          store_mount_status_name(m->status) ?: "pending");
    if (o && m->sub_path[0])
        json_object_set_new(o, "sub_path", json_string(m->sub_path));
    if (o && m->status == STORE_MOUNT_ERROR)
        json_object_set_new(o, "mount_error", json_string(m->error[0] ? m->error : "unknown"));
    return o;
}

/* body[key] as a string without NUL bytes, or NULL. */
static const char *body_str(json_t *body, const char *key)
{
    json_t *v = json_object_get(body, key);
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return NULL;
    return json_string_value(v);
}

static void attach_body(struct api_call *call, json_t *body)
{
    char id[STORE_ID_SIZE];
    if (!api_sandbox_owned(call, id)) /* a foreign id is 404 whatever the body */
        return;
    if (!ctl_disks_enabled(call->ctx->ctl)) {
        api_reply_error(call, 503, "disks API not configured", "disks_not_configured");
        return;
    }
    if (!json_is_object(body)) {
        api_reply_field(call, "body", "must be a json object", "invalid_request");
        return;
    }
    const char *disk = body_str(body, "disk_id");
    const char *mp = body_str(body, "mount_path");
    json_t *spv = json_object_get(body, "sub_path");
    const char *sp = spv && !json_is_null(spv) ? body_str(body, "sub_path") : NULL;
    if (!disk || !disk[0] || strlen(disk) > DISK_REF_MAX) {
        api_reply_field(call, "disk_id", "required string: a disk id or name", "invalid_request");
        return;
    }
    if (!mp || !ctl_mount_path_valid(mp)) {
        api_reply_field(call, "mount_path",
                        "must be a normalised absolute path, not / and not a system directory "
                        "(docs/api.md §3.9.6)",
                        "invalid_request");
        return;
    }
    if (spv && !json_is_null(spv) && (!sp || !ctl_sub_path_valid(sp))) {
        api_reply_field(call, "sub_path",
                        "must be a relative key prefix without '.' or '..' segments, at most "
                        "1024 bytes",
                        "invalid_request");
        return;
    }
    struct ctl_mount_req req = { .disk = disk, .mount_path = mp, .sub_path = sp };
    struct ctl_caller who = api_caller(call);
    struct ctl_error e;
    bool unchanged = false;
    if (ctl_sandbox_disk_attach(call->ctx->ctl, &who, id, &req, &unchanged, &e) < 0) {
        api_reply_ctl(call, &e);
        return;
    }
    /* §3.9.6: the sandbox's id with ok, also when nothing changed */
    api_reply_ok(call, json_pack("{s:s,s:b}", "id", id, "ok", 1));
}

void api_sandbox_disk_attach(struct api_call *call)
{
    api_read_json(call, attach_body);
}

void api_sandbox_disk_list(struct api_call *call)
{
    char id[STORE_ID_SIZE];
    if (!api_sandbox_owned(call, id))
        return;
    if (!ctl_disks_enabled(call->ctx->ctl)) {
        api_reply_error(call, 503, "disks API not configured", "disks_not_configured");
        return;
    }
    struct api_page pg;
    if (api_page_parse(call, &pg) < 0)
        return;
    struct ctl_caller who = api_caller(call);
    struct ctl_error e;
    struct store_mount *v = NULL;
    size_t n = 0;
    if (ctl_sandbox_disk_list(call->ctx->ctl, &who, id, &v, &n, &e) < 0) {
        api_reply_ctl(call, &e);
        return;
    }
    json_t *items = json_array();
    for (size_t i = pg.offset; items && i < n && i - pg.offset < pg.limit; i++)
        json_array_append_new(items, mount_view(&v[i]));
    free(v);
    api_reply_ok(call, api_page_wrap(items, &pg, n));
}

void api_sandbox_disk_detach(struct api_call *call)
{
    char id[STORE_ID_SIZE], ref[DISK_REF_MAX + 1];
    if (!api_sandbox_owned(call, id))
        return;
    const struct http_path *p = http_request_path(call->req);
    if (p->n < 5 || p->seg_len[4] == 0 || p->seg_len[4] > DISK_REF_MAX ||
        memchr(p->seg[4], '\0', p->seg_len[4])) {
        api_reply_fail_str(call, 404, "disk not found");
        return;
    }
    memcpy(ref, p->seg[4], p->seg_len[4]);
    ref[p->seg_len[4]] = '\0';
    const char *mp = http_query_get(http_request_query(call->req), "mount_path");
    if (!mp || !mp[0]) {
        api_reply_field(call, "mount_path", "required query parameter: the mount's absolute path",
                        "invalid_request");
        return;
    }
    struct ctl_caller who = api_caller(call);
    struct ctl_error e;
    bool detached = false;
    if (ctl_sandbox_disk_detach(call->ctx->ctl, &who, id, ref, mp, &detached, &e) < 0) {
        api_reply_ctl(call, &e);
        return;
    }
    api_reply_ok(call, json_pack("{s:b}", "detached", detached));
}
