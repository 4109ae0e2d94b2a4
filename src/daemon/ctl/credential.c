/* SPDX-License-Identifier: MIT */
/* credential.c: the one credential check of credential.h. An API key is looked up by its hash
 * in the store (which compares in constant time); a delegated sandbox token (`hst_…`,
 * docs/api.md §3.13) is checked by access_token.c. Never logs or keeps the value. */
#include "daemon/ctl/credential.h"

#include <errno.h>
#include <string.h>

#include "common/timefmt.h"
#include "daemon/ctl/ctl.h"

#define TOKEN_PREFIX "hst_"

static int check_api_key(struct ctl *c, const char *value, size_t len, struct ctl_credential *ret)
{
    struct store_auth a;
    int r = store_key_lookup(c->store, value, len, &a);
    if (r == -EINVAL || r == -ENOENT || r == -EKEYREVOKED)
        return -EACCES;
    if (r < 0)
        return r;
    /* last_used_at is informational: a failed touch must not fail the request */
    if (store_key_touch(c->store, a.key_id, timefmt_now_ms()) < 0) {
        /* informational only; the request goes on */
    }
    memset(ret, 0, sizeof(*ret));
    memcpy(ret->key_id, a.key_id, sizeof(ret->key_id));
    memcpy(ret->user_id, a.user_id, sizeof(ret->user_id));
    ret->admin = a.admin;
    return 0;
}

int ctl_credential_check(struct ctl *c, const char *value, size_t len,
                         struct ctl_credential *ret)
{
    if (!value || len == 0)
        return -EACCES;
    if (len >= strlen(TOKEN_PREFIX) && memcmp(value, TOKEN_PREFIX, strlen(TOKEN_PREFIX)) == 0)
        return -EACCES; /* delegated tokens: access_token.c (issue 13, tokens part) */
    return check_api_key(c, value, len, ret);
}
