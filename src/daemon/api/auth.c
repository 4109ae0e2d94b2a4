/* SPDX-License-Identifier: MIT */
/* auth.c: credential selection and key lookup (auth.h). Never logs or keeps the credential;
 * the store compares hashes in constant time. */
#include "daemon/api/auth.h"

#include <errno.h>
#include <string.h>

#include "daemon/api/api.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/credential.h"
#include "daemon/http/request.h"
#include "daemon/http/route.h"

/* §1.3: evaluated in this order; the first non-empty one is the credential. */
static const char *const cred_headers[] = { "X-Auth-Token", "X-Access-Token", "X-Api-Key" };

/* The credential of the first header that has one; NULL when none. */
static const char *header_cred(struct http_request *req, size_t *len)
{
    for (size_t i = 0; i < sizeof(cred_headers) / sizeof(cred_headers[0]); i++) {
        const char *v = http_request_header(req, cred_headers[i], len);
        if (v && *len > 0)
            return v;
    }
    return NULL;
}

static int check_cred(struct api_ctx *ctx, const char *cred, size_t len, struct api_auth *ret)
{
    if (!cred || len == 0)
        return -ENOKEY;
    struct ctl_credential cr;
    int r = ctl_credential_check(ctx->ctl, cred, len, &cr);
    if (r < 0)
        return r;
    memcpy(ret->key_id, cr.key_id, sizeof(ret->key_id));
    memcpy(ret->user_id, cr.user_id, sizeof(ret->user_id));
    ret->admin = cr.admin;
    memcpy(ret->sandbox_id, cr.sandbox_id, sizeof(ret->sandbox_id));
    return 0;
}

int api_auth_check(struct api_ctx *ctx, struct http_request *req, struct api_auth *ret)
{
    size_t len = 0;
    const char *cred = header_cred(req, &len);
    return check_cred(ctx, cred, len, ret);
}

bool api_auth_present(struct http_request *req, bool query)
{
    size_t len = 0;
    if (header_cred(req, &len))
        return true;
    return query && http_query_get(http_request_query(req), "api_key") != NULL;
}

int api_auth_check_query(struct api_ctx *ctx, struct http_request *req, struct api_auth *ret)
{
    size_t len = 0;
    const char *cred = header_cred(req, &len);
    if (!cred && (cred = http_query_get(http_request_query(req), "api_key")))
        len = strlen(cred);
    return check_cred(ctx, cred, len, ret);
}
