/* SPDX-License-Identifier: MIT */
/* key_routes.c: API key management over HTTP, a hearth extension for admin keys (docs/api.md
 * §5.1): list the active keys, create one (its secret in that answer only, wiped here after),
 * revoke one. The route table gives these routes to admin keys alone; each handler parses and
 * calls one operation of ctl/keys.h. Never logs a secret. */
#include "daemon/api/routes.h"

#include <stdlib.h>
#include <string.h>

#include "daemon/api/api.h"
#include "daemon/api/reply.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/keys.h"
#include "daemon/http/request.h"
#include "daemon/http/response.h"
#include "daemon/http/route.h"
#include "daemon/log.h"

/* The ApiKey object (§5.1): never the secret nor its hash; prefix is the first ten characters,
 * shown by `hearthd keys list` too, for telling keys apart. */
static json_t *key_view(const struct store_key *k)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:b}", "id", k->id, "user_id", k->user_id, "label",
                          k->label, "prefix", k->prefix, "admin", k->admin);
    if (o) {
        api_json_set_time(o, "created_at", k->created_at);
        api_json_set_time(o, "last_used_at", k->last_used_at);
    }
    return o;
}

void api_key_list(struct api_call *call)
{
    struct api_page pg;
    if (api_page_parse(call, &pg) < 0)
        return;
    const char *user = http_query_get(http_request_query(call->req), "user");
    struct store_key *v = NULL;
    size_t n = 0;
    uint64_t total = 0;
    struct ctl_error e;
    if (ctl_key_list(call->ctx->ctl, user, pg.limit, pg.offset, &v, &n, &total, &e) < 0) {
        api_reply_ctl(call, &e);
        return;
    }
    json_t *items = json_array();
    for (size_t i = 0; items && i < n; i++)
        json_array_append_new(items, key_view(&v[i]));
    free(v);
    api_reply_ok(call, api_page_wrap(items, &pg, total));
}

static void create_body(struct api_call *call, json_t *body)
{
    if (!json_is_object(body)) {
        api_reply_field(call, "body", "must be a JSON object", "invalid_request");
        return;
    }
    const char *user = NULL, *label = NULL;
    if (!api_string_field(call, body, "user", "user", &user) ||
        !api_string_field(call, body, "label", "label", &label))
        return;
    json_t *admin = api_json_member(body, "admin");
    if (admin && !json_is_boolean(admin)) {
        api_reply_field(call, "admin", "must be true or false", "invalid_request");
        return;
    }
    /* the one answer that holds the secret: no cache (browser, proxy) may keep it; set before
     * the key exists, so that a failure here cannot leave a key that nobody saw */
    int r = http_response_add_header(call->req, "Cache-Control", "no-store");
    if (r < 0) {
        api_reply_internal(call, "set cache-control", r);
        return;
    }
    struct store_key k;
    char secret[APIKEY_LEN + 1];
    struct ctl_error e;
    if (ctl_key_create(call->ctx->ctl, user ? user : call->auth.user_id, label,
                       json_is_true(admin), &k, secret, &e) < 0) {
        api_reply_ctl(call, &e);
        return;
    }
    log_info(http_request_id(call->req), "api key created", "{s:s,s:s,s:b,s:s}", "key_id", k.id,
             "user", k.user_id, "admin", k.admin, "by", call->auth.key_id);
    json_t *o = key_view(&k);
    if (o)
        json_object_set_new(o, "key", json_string(secret));
    explicit_bzero(secret, sizeof(secret));
    api_reply_ok(call, o); /* the JSON copy of the secret is freed with the reply */
}

void api_key_create(struct api_call *call)
{
    api_read_json(call, create_body);
}

void api_key_delete(struct api_call *call)
{
    const struct http_path *p = http_request_path(call->req);
    char id[STORE_ID_SIZE];
    int64_t at = 0;
    struct ctl_error e;
    if (ctl_key_revoke(call->ctx->ctl, p->seg[2], p->seg_len[2], id, &at, &e) < 0) {
        api_reply_ctl(call, &e);
        return;
    }
    log_info(http_request_id(call->req), "api key revoked", "{s:s,s:s}", "key_id", id, "by",
             call->auth.key_id);
    json_t *o = json_pack("{s:s,s:b}", "id", id, "revoked", 1);
    if (o)
        api_json_set_time(o, "revoked_at", at);
    api_reply_ok(call, o);
}
