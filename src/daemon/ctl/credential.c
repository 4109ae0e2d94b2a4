/* SPDX-License-Identifier: MIT */
/* credential.c: the one credential check of credential.h. An API key or a delegated sandbox
 * token (`hst_…`, docs/api.md §3.13) is looked up by its hash in the store, which compares in
 * constant time and finds no token of a destroying or destroyed sandbox. Never logs or keeps
 * the value. */
#include "daemon/ctl/credential.h"

#include <errno.h>
#include <string.h>

#include "common/timefmt.h"
#include "daemon/ctl/ctl.h"

#define KEY_TOUCH_EVERY_MS 1000


static int check_api_key(struct ctl *c, const char *value, size_t len, struct ctl_credential *ret)
{
    struct store_auth a;
    int r = store_key_lookup(c->store, value, len, &a);
    if (r == -EINVAL || r == -ENOENT || r == -EKEYREVOKED)
        return -EACCES;
    if (r < 0)
        return r;
    /* last_used_at is informational, to the second: a key in steady use is written once a
     * second, not once a request (a write per request is most of a GET's time on PostgreSQL),
     * and a failed touch must not fail the request */
    int64_t now = timefmt_now_ms();
    if (now - a.last_used_at >= KEY_TOUCH_EVERY_MS || now < a.last_used_at) {
        if (store_key_touch(c->store, a.key_id, now) < 0) {
            /* informational only; the request goes on */
        }
    }
    memset(ret, 0, sizeof(*ret));
    memcpy(ret->key_id, a.key_id, sizeof(ret->key_id));
    memcpy(ret->user_id, a.user_id, sizeof(ret->user_id));
    ret->admin = a.admin;
    return 0;
}

static int check_token(struct ctl *c, const char *value, size_t len, struct ctl_credential *ret)
{
    struct store_token t;
    int r = store_token_lookup(c->store, value, len, &t);
    if (r == -EINVAL || r == -ENOENT)
        return -EACCES;
    if (r < 0)
        return r;
    memset(ret, 0, sizeof(*ret));
    memcpy(ret->user_id, t.user_id, sizeof(ret->user_id));
    memcpy(ret->sandbox_id, t.sandbox_id, sizeof(ret->sandbox_id));
    return 0;
}

int ctl_credential_check(struct ctl *c, const char *value, size_t len,
                         struct ctl_credential *ret)
{
    if (!value || len == 0)
        return -EACCES;
    if (len >= strlen(SBTOKEN_PREFIX) && memcmp(value, SBTOKEN_PREFIX, strlen(SBTOKEN_PREFIX)) == 0)
        return check_token(c, value, len, ret);
    return check_api_key(c, value, len, ret);
}
