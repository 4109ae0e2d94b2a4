/* SPDX-License-Identifier: MIT */
/* disks.c: the routes of S3 disks (docs/api.md §2.6, §3.9.1-§3.9.5): list, get, and create,
 * credential rotation and delete through the control layer (ctl/disk.h). Parses and shapes
 * only: every field error names its field, credentials are copied out of the body into a
 * struct that is wiped after the call, and no view carries them. */
#include "daemon/api/routes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/timefmt.h"
#include "daemon/api/api.h"
#include "daemon/api/reply.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/disk.h"
#include "daemon/http/request.h"
#include "daemon/http/route.h"
#include "daemon/store/store.h"

/* The Disk view (§2.6): never the credentials. */
static json_t *disk_view(const struct store_disk *d)
{
    json_t *cfg = json_pack("{s:s,s:s,s:b}", "bucket", d->bucket, "endpoint", d->endpoint,
                            "use_path_style", d->path_style ? 1 : 0);
    if (cfg && d->region[0])
        json_object_set_new(cfg, "region", json_string(d->region));
    json_t *o = json_pack("{s:s,s:s,s:s,s:o}", "id", d->id, "name", d->name, "kind", "s3",
                          "config", cfg ? cfg : json_object());
    char t[TIMEFMT_RFC3339_LEN + 1];
    if (o && d->created_at > 0 && timefmt_rfc3339_ms(d->created_at, t) == 0)
        json_object_set_new(o, "created_at", json_string(t));
    return o;
}

/* 503 disks_not_configured before anything else (§3.9, §1.11: nothing was done). */
static bool enabled(const struct api_call *call)
{
    if (ctl_disks_enabled(call->ctx->ctl))
        return true;
    api_reply_error(call, 503, "disks API not configured", "disks_not_configured");
    return false;
}

/* The caller's disk named by path segment 2 (deleted ones by id too unless live_only); false
 * (404 or 500 answered) when there is none. */
static bool load_disk(struct api_call *call, struct store_disk *d, bool live_only)
{
    const struct http_path *p = http_request_path(call->req);
    char ref[80];
    if (p->n < 3 || p->seg_len[2] == 0 || p->seg_len[2] >= sizeof(ref) ||
        memchr(p->seg[2], '\0', p->seg_len[2])) {
        api_reply_fail_str(call, 404, "disk not found");
        return false;
    }
    memcpy(ref, p->seg[2], p->seg_len[2]);
    ref[p->seg_len[2]] = '\0';
    int r = ctl_disk_resolve(call->ctx->ctl, call->auth.user_id, ref, d);
    if (r == 0 && live_only && d->deleted_at)
        r = -ENOENT;
    if (r == -ENOENT)
        api_reply_fail_str(call, 404, "disk not found");
    else if (r < 0)
        api_reply_internal(call, "read disk", r);
    return r == 0;
}

void api_disk_list(struct api_call *call)
{
    if (!enabled(call))
        return;
    struct api_page pg;
    if (api_page_parse(call, &pg) < 0)
        return;
    struct store_disk *v = NULL;
    size_t n = 0;
    uint64_t total = 0;
    int r = store_disk_list(call->ctx->ctl->store, call->auth.user_id, pg.limit, pg.offset, &v,
                            &n, &total);
    if (r < 0) {
        api_reply_internal(call, "list disks", r);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; items && i < n; i++)
        json_array_append_new(items, disk_view(&v[i]));
    free(v);
    api_reply_ok(call, api_page_wrap(items, &pg, total));
}

void api_disk_get(struct api_call *call)
{
    struct store_disk d;
    if (enabled(call) && load_disk(call, &d, true))
        api_reply_ok(call, disk_view(&d));
}

void api_disk_delete(struct api_call *call)
{
    struct store_disk d;
    if (!enabled(call) || !load_disk(call, &d, false))
        return;
    struct ctl_error e;
    if (ctl_disk_delete(call->ctx->ctl, call->auth.user_id, &d, &e) < 0)
        api_reply_ctl(call, &e);
    else
        api_reply_ok(call, json_pack("{s:b}", "deleted", 1));
}

/* ---- bodies ---- */

/* An object field; *ret NULL when absent. */
static bool object_field(const struct api_call *call, json_t *obj, const char *key,
                         json_t **ret)
{
    json_t *v = api_json_member(obj, key);
    *ret = v;
    if (v && !json_is_object(v)) {
        api_reply_field(call, key, "must be an object", "invalid_request");
        return false;
    }
    return true;
}

/* credentials.access_key and .secret_key into *ret (wiped by the caller). */
static bool creds_field(const struct api_call *call, json_t *body, struct ctl_disk_creds *ret)
{
    json_t *cr;
    if (!object_field(call, body, "credentials", &cr))
        return false;
    if (!cr) {
        api_reply_field(call, "credentials", "required: {\"access_key\":…,\"secret_key\":…}",
                        "invalid_request");
        return false;
    }
    const char *a, *s;
    if (!api_string_field(call, cr, "access_key", "credentials.access_key", &a) ||
        !api_string_field(call, cr, "secret_key", "credentials.secret_key", &s))
        return false;
    memset(ret, 0, sizeof(*ret));
    /* an over-long one is copied cut, with one byte more than allowed: ctl refuses it */
    if (a)
        snprintf(ret->access_key, sizeof(ret->access_key), "%s", a);
    if (s)
        snprintf(ret->secret_key, sizeof(ret->secret_key), "%s", s);
    if (a && strlen(a) > CTL_DISK_KEY_MAX)
        ret->access_key[0] = '\x01';
    if (s && strlen(s) > CTL_DISK_KEY_MAX)
        ret->secret_key[0] = '\x01';
    return true;
}

/* A create or rotation waiting for its bucket check. */
struct disk_wait {
    struct api_call call;
};

static void on_done(void *ud, const struct ctl_error *e, const struct store_disk *d)
{
    struct disk_wait *w = ud;
    if (e && e->code != CTL_OK)
        api_reply_ctl(&w->call, e);
    else
        api_reply_ok(&w->call, disk_view(d));
    api_call_unhold(&w->call);
    free(w);
}

static void create_body(struct api_call *call, json_t *body)
{
    if (!enabled(call))
        return;
    if (!json_is_object(body)) {
        api_reply_field(call, "body", "must be a JSON object", "invalid_request");
        return;
    }
    const char *name, *kind, *bucket, *endpoint, *region;
    json_t *cfg;
    if (!api_string_field(call, body, "name", "name", &name) ||
        !api_string_field(call, body, "kind", "kind", &kind))
        return;
    if (!name) {
        api_reply_field(call, "name", "required: must match ^[a-z0-9][a-z0-9-]{0,62}$",
                        "invalid_request");
        return;
    }
    if (!kind || strcmp(kind, "s3") != 0) {
        api_reply_field(call, "kind", "must be \"s3\"", "invalid_request");
        return;
    }
    if (!object_field(call, body, "config", &cfg))
        return;
    if (!cfg) {
        api_reply_field(call, "config", "required: {\"bucket\":…,\"endpoint\":…}",
                        "invalid_request");
        return;
    }
    if (!api_string_field(call, cfg, "bucket", "config.bucket", &bucket) ||
        !api_string_field(call, cfg, "endpoint", "config.endpoint", &endpoint) ||
        !api_string_field(call, cfg, "region", "config.region", &region))
        return;
    json_t *ps = api_json_member(cfg, "use_path_style");
    if (ps && !json_is_boolean(ps)) {
        api_reply_field(call, "config.use_path_style", "must be a boolean", "invalid_request");
        return;
    }
    if (!bucket) {
        api_reply_field(call, "config.bucket", "required", "invalid_request");
        return;
    }
    if (!endpoint) {
        api_reply_field(call, "config.endpoint", "required", "invalid_request");
        return;
    }
    struct ctl_disk_req req = { .name = name, .bucket = bucket, .endpoint = endpoint,
                                .region = region, .path_style = ps && json_is_true(ps) };
    if (!creds_field(call, body, &req.creds))
        return;
    struct disk_wait *w = api_call_hold(call, sizeof(*w), "disk create");
    struct ctl_error e;
    if (w && ctl_disk_create(call->ctx->ctl, call->auth.user_id, &req, on_done, w, &e) < 0) {
        api_reply_ctl(call, &e);
        api_call_unhold(&w->call);
        free(w);
    }
    ctl_disk_creds_wipe(&req.creds);
}

void api_disk_create(struct api_call *call)
{
    if (enabled(call))
        api_read_json(call, create_body);
}

static void patch_body(struct api_call *call, json_t *body)
{
    if (!enabled(call))
        return;
    if (!json_is_object(body)) {
        api_reply_field(call, "body", "must be a JSON object", "invalid_request");
        return;
    }
    struct store_disk d;
    if (!load_disk(call, &d, true))
        return;
    struct ctl_disk_creds creds;
    if (!creds_field(call, body, &creds))
        return;
    struct disk_wait *w = api_call_hold(call, sizeof(*w), "disk rotate");
    struct ctl_error e;
    if (w && ctl_disk_rotate(call->ctx->ctl, call->auth.user_id, d.id, &creds, on_done, w,
                             &e) < 0) {
        api_reply_ctl(call, &e);
        api_call_unhold(&w->call);
        free(w);
    }
    ctl_disk_creds_wipe(&creds);
}

void api_disk_patch(struct api_call *call)
{
    if (enabled(call))
        api_read_json(call, patch_body);
}
