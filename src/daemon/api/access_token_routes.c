/* SPDX-License-Identifier: MIT */
/* access_token_routes.c: the routes of a sandbox's delegated access token (docs/api.md §3.13):
 * create, get, rotate, delete, each one control-layer operation (ctl/access_token.h). The
 * plaintext goes out once, in create's or rotate's answer, and is wiped here after; it is
 * never logged. */
#include "daemon/api/routes.h"

#include <string.h>

#include "daemon/api/api.h"
#include "daemon/api/reply.h"
#include "daemon/api/sandboxes.h"
#include "daemon/ctl/access_token.h"
#include "daemon/ctl/ctl.h"

/* {"enabled", "token_hint", "created_at", "rotated_at"?}; only "enabled" for a zeroed t. */
static json_t *token_view(const struct store_token *t, bool enabled)
{
    json_t *o = json_pack("{s:b}", "enabled", enabled);
    if (!o || !t->hint[0])
        return o;
    json_object_set_new(o, "token_hint", json_string(t->hint));
    api_json_set_time(o, "created_at", t->created_at);
    api_json_set_time(o, "rotated_at", t->rotated_at);
    return o;
}

typedef int (*issue_fn)(struct ctl *c, const struct ctl_caller *who, const char *id,
                        struct store_token *ret, char ret_secret[SBTOKEN_LEN + 1],
                        struct ctl_error *e);

static void issue(struct api_call *call, issue_fn fn)
{
    char id[STORE_ID_SIZE], secret[SBTOKEN_LEN + 1];
    if (!api_sandbox_path_id(call, 2, id))
        return;
    struct ctl_caller who = api_caller(call);
    struct store_token t;
    struct ctl_error e;
    if (fn(call->ctx->ctl, &who, id, &t, secret, &e) < 0) {
        api_reply_ctl(call, &e);
        return;
    }
    json_t *o = token_view(&t, true);
    if (o) {
        json_object_set_new(o, "token", json_string(secret));
        json_object_del(o, "token_hint"); /* the token itself is shown */
    }
    explicit_bzero(secret, sizeof(secret));
    api_reply_ok(call, o); /* the JSON copy of the token is freed with the reply */
}

void api_access_token_create(struct api_call *call)
{
    issue(call, ctl_access_token_create);
}

void api_access_token_rotate(struct api_call *call)
{
    issue(call, ctl_access_token_rotate);
}

/* GET shows the token's record, DELETE revokes it and shows the revoked one's (or only
 * "enabled":false when there was none). */
static void meta(struct api_call *call, bool revoke)
{
    char id[STORE_ID_SIZE];
    if (!api_sandbox_path_id(call, 2, id))
        return;
    struct ctl_caller who = api_caller(call);
    struct store_token t;
    struct ctl_error e;
    bool enabled = false;
    int r = revoke ? ctl_access_token_delete(call->ctx->ctl, &who, id, &t, &e)
                   : ctl_access_token_get(call->ctx->ctl, &who, id, &t, &enabled, &e);
    if (r < 0)
        api_reply_ctl(call, &e);
    else
        api_reply_ok(call, token_view(&t, enabled));
}

void api_access_token_get(struct api_call *call)
{
    meta(call, false);
}

void api_access_token_delete(struct api_call *call)
{
    meta(call, true);
}
