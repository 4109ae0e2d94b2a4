/* SPDX-License-Identifier: MIT */
/* templates.c: the template routes (docs/api.md §3.10.2-§3.10.5): list, submit, read and
 * delete through the control layer (ctl/template.h). Parses and shapes only: every field of the
 * submit body, the hearth extensions too (context, start_cmd, ready, no_cache), is checked for
 * its JSON type here and for its value by ctl_template_submit, so each error names its field. */
#include "daemon/api/routes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api/api.h"
#include "daemon/api/reply.h"
#include "daemon/api/long_poll.h"
#include "daemon/api/template_view.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/template.h"
#include "daemon/http/request.h"
#include "daemon/http/route.h"
#include "daemon/store/store.h"

/* ---- list, get, delete ---- */

void api_template_list(struct api_call *call)
{
    struct api_page pg;
    if (api_page_parse(call, &pg) < 0)
        return;
    struct ctl_caller who = api_caller(call);
    struct ctl_error e;
    struct store_template *v = NULL;
    size_t n = 0;
    uint64_t total = 0;
    if (ctl_template_list(call->ctx->ctl, &who, pg.limit, pg.offset, &v, &n, &total, &e) < 0) {
        api_reply_ctl(call, &e);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; i < n; i++) {
        if (items)
            (void)json_array_append_new(items, api_template_view(&v[i], false));
        store_template_release(&v[i]);
    }
    free(v);
    if (!items) {
        api_reply_internal(call, "list templates", -ENOMEM);
        return;
    }
    api_reply_ok(call, api_page_wrap(items, &pg, total));
}

/* ?include= as a comma-separated list; "dockerfile" is the one value there is. */
static bool include_dockerfile(const struct api_call *call, bool *ret)
{
    const char *inc = http_query_get(http_request_query(call->req), "include");
    *ret = false;
    if (!inc || !*inc)
        return true;
    for (const char *p = inc; *p;) {
        size_t n = strcspn(p, ",");
        if (n == 10 && strncmp(p, "dockerfile", 10) == 0) {
            *ret = true;
        } else if (n > 0) {
            api_reply_field(call, "include", "must be \"dockerfile\"", "invalid_request");
            return false;
        }
        p += n + (p[n] == ',');
    }
    return true;
}

void api_template_get(struct api_call *call)
{
    char ref[API_TEMPLATE_REF_SIZE];
    bool with_df;
    if (!include_dockerfile(call, &with_df) || api_template_wait_get(call, with_df) ||
        !api_template_ref(call, ref))
        return;
    struct ctl_caller who = api_caller(call);
    struct ctl_error e;
    struct store_template t;
    store_template_init(&t);
    if (ctl_template_get(call->ctx->ctl, &who, ref, with_df, &t, &e) < 0) {
        api_reply_ctl(call, &e);
        return;
    }
    /* a deleted template answers by id for idempotent deletes only, not here */
    if (t.deleted_at)
        api_reply_fail_str(call, 404, "template not found");
    else
        api_reply_ok(call, api_template_view(&t, with_df));
    store_template_release(&t);
}

void api_template_delete(struct api_call *call)
{
    char ref[API_TEMPLATE_REF_SIZE];
    if (!api_template_ref(call, ref))
        return;
    struct ctl_caller who = api_caller(call);
    struct ctl_error e;
    int r = ctl_template_delete(call->ctx->ctl, &who, ref, &e);
    api_reply_ctl_ok(call, r, &e);
}

/* ---- the submit body ---- */

/* An integer field from lo to hi (a fraction or another type is refused, §1.8). */
static bool int_field(const struct api_call *call, json_t *v, const char *path, int64_t lo,
                      int64_t hi, int64_t *ret)
{
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        char msg[96];
        snprintf(msg, sizeof(msg), "must be an integer from %lld to %lld", (long long)lo,
                 (long long)hi);
        api_reply_field(call, path, msg, "invalid_request");
        return false;
    }
    *ret = json_integer_value(v);
    return true;
}

static const char ready_kinds[] = "must hold exactly one of port, file, command or delay_ms "
                                  "(and optionally timeout_seconds)";

/* ready: {"port":N} | {"file":"/p"} | {"command":"…"} | {"delay_ms":N}, plus an optional
 * "timeout_seconds" (docs/api.md §3.10.3). Unknown keys are refused here, unlike the body's:
 * a misspelt check would otherwise pass as "no check" and snapshot a service not yet up. */
static bool ready_field(const struct api_call *call, json_t *body, struct ctl_tpl_ready *ret)
{
    memset(ret, 0, sizeof(*ret));
    json_t *r = api_json_member(body, "ready");
    if (!r)
        return true;
    if (!json_is_object(r)) {
        api_reply_field(call, "ready", ready_kinds, "invalid_request");
        return false;
    }
    const char *key;
    json_t *v;
    int64_t n;
    json_object_foreach(r, key, v) {
        bool kind = true;
        enum ctl_tpl_ready_kind k = CTL_TPL_READY_NONE;
        if (strcmp(key, "timeout_seconds") == 0) {
            kind = false;
            if (!int_field(call, v, "ready.timeout_seconds", 1, CTL_TPL_READY_TIMEOUT_MAX_S, &n))
                return false;
            ret->timeout_s = (uint32_t)n;
        } else if (strcmp(key, "port") == 0) {
            k = CTL_TPL_READY_PORT;
            if (!int_field(call, v, "ready.port", 1, 65535, &n))
                return false;
            ret->port = (uint16_t)n;
        } else if (strcmp(key, "delay_ms") == 0) {
            k = CTL_TPL_READY_DELAY;
            if (!int_field(call, v, "ready.delay_ms", 1, 600000, &n))
                return false;
            ret->delay_ms = (uint32_t)n;
        } else if (strcmp(key, "file") == 0 || strcmp(key, "command") == 0) {
            k = key[0] == 'f' ? CTL_TPL_READY_FILE : CTL_TPL_READY_COMMAND;
            const char *s;
            char path[32];
            snprintf(path, sizeof(path), "ready.%s", key);
            if (!api_string_field(call, r, key, path, &s))
                return false;
            if (!s) { /* null: "absent" inside ready too */
                kind = false;
            } else {
                ret->arg = (char *)s; /* borrowed for the call (template.h) */
            }
        } else {
            api_reply_field(call, "ready", ready_kinds, "invalid_request");
            return false;
        }
        if (kind) {
            if (ret->kind != CTL_TPL_READY_NONE) {
                api_reply_field(call, "ready", ready_kinds, "invalid_request");
                return false;
            }
            ret->kind = k;
        }
    }
    if (ret->kind == CTL_TPL_READY_NONE) {
        api_reply_field(call, "ready", ready_kinds, "invalid_request");
        return false;
    }
    if (ret->timeout_s == 0)
        ret->timeout_s = CTL_TPL_READY_TIMEOUT_DEFAULT_S;
    return true;
}

/* The 1-based line of byte off in s. */
static unsigned line_of(const char *s, size_t off)
{
    unsigned line = 1;
    for (size_t i = 0; i < off; i++)
        line += s[i] == '\n';
    return line;
}

static void submit_body(struct api_call *call, json_t *body)
{
    if (!json_is_object(body)) {
        api_reply_field(call, "body", "must be a JSON object", "invalid_request");
        return;
    }
    struct ctl_tpl_submit req = { 0 };
    json_t *df = api_json_member(body, "dockerfile");
    if (!api_string_field(call, body, "name", "name", &req.name))
        return;
    if (!req.name) {
        api_reply_field(call, "name", "required: must match ^[a-z0-9][a-z0-9-]{0,62}$",
                        "invalid_request");
        return;
    }
    if (!json_is_string(df)) {
        api_reply_field(call, "dockerfile", df ? "must be a string" : "required",
                        "bad_dockerfile");
        return;
    }
    req.dockerfile = json_string_value(df);
    req.dockerfile_len = json_string_length(df);
    size_t nul = strlen(req.dockerfile);
    if (nul != req.dockerfile_len) {
        char msg[64];
        snprintf(msg, sizeof(msg), "line %u: contains a NUL byte",
                 line_of(req.dockerfile, nul));
        api_reply_field(call, "dockerfile", msg, "bad_dockerfile");
        return;
    }
    if (!api_string_field(call, body, "base", "base", &req.base) ||
        !api_string_field(call, body, "context", "context", &req.context) ||
        !api_string_field(call, body, "start_cmd", "start_cmd", &req.start_cmd) ||
        !ready_field(call, body, &req.ready))
        return;
    json_t *nc = api_json_member(body, "no_cache");
    if (nc && !json_is_boolean(nc)) {
        api_reply_field(call, "no_cache", "must be a boolean", "invalid_request");
        return;
    }
    req.no_cache = json_is_true(nc);
    struct ctl_caller who = api_caller(call);
    struct ctl_error e;
    struct store_template t;
    store_template_init(&t);
    if (ctl_template_submit(call->ctx->ctl, &who, &req, &t, &e) < 0) {
        api_reply_ctl(call, &e);
        return;
    }
    api_reply_ok(call, api_template_view(&t, false));
    store_template_release(&t);
}

void api_template_create(struct api_call *call)
{
    api_read_json(call, submit_body);
}
