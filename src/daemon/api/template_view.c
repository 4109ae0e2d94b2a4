/* SPDX-License-Identifier: MIT */
/* template_view.c: the Template view (docs/api.md §2.8) built from a store row, the hearth
 * extensions read back from the row's options JSON, and the {ref} path segment. */
#include "daemon/api/template_view.h"

#include <stdio.h>
#include <string.h>

#include "daemon/api/reply.h"
#include "daemon/http/request.h"
#include "daemon/http/route.h"
#include "daemon/store/store.h"

/* The row's options (ctl_template_submit writes the request's own shapes) merged into the
 * view: start_cmd, ready, no_cache. A row whose options do not parse shows none of them. */
static void set_options(json_t *o, const char *options)
{
    json_t *opt = json_loads(options, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(opt)) {
        json_decref(opt);
        return;
    }
    json_t *v = json_object_get(opt, "start_cmd");
    if (json_is_string(v))
        (void)json_object_set(o, "start_cmd", v);
    v = json_object_get(opt, "ready");
    if (json_is_object(v))
        (void)json_object_set(o, "ready", v);
    if (json_is_true(json_object_get(opt, "no_cache")))
        (void)json_object_set_new(o, "no_cache", json_true());
    json_decref(opt);
}

json_t *api_template_view(const struct store_template *t, bool with_dockerfile)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I}", "id", t->id, "name", t->name, "base",
                          t->base, "status", store_tpl_status_name(t->status) ?: "failed",
                          "ext4_size_bytes", (json_int_t)t->ext4_size_bytes);
    if (!o)
        return NULL;
    api_json_set_time(o, "created_at", t->created_at);
    if (t->status == STORE_TPL_READY)
        api_json_set_time(o, "built_at", t->built_at);
    if (with_dockerfile && t->dockerfile)
        (void)json_object_set_new(o, "dockerfile", json_string(t->dockerfile));
    if (t->attempt >= 1)
        (void)json_object_set_new(o, "attempt", json_integer(t->attempt));
    if (t->status == STORE_TPL_FAILED && t->error[0])
        (void)json_object_set_new(o, "error", json_string(t->error));
    if (t->context[0])
        (void)json_object_set_new(o, "context", json_string(t->context));
    set_options(o, t->options);
    return o;
}

bool api_template_ref(struct api_call *call, char ref[API_TEMPLATE_REF_SIZE])
{
    const struct http_path *p = http_request_path(call->req);
    /* longer than any id or name: it cannot name a template */
    if (p->n < 3 || p->seg_len[2] == 0 || p->seg_len[2] >= API_TEMPLATE_REF_SIZE ||
        memchr(p->seg[2], '\0', p->seg_len[2])) {
        api_reply_fail_str(call, 404, "template not found");
        return false;
    }
    memcpy(ref, p->seg[2], p->seg_len[2]);
    ref[p->seg_len[2]] = '\0';
    return true;
}

