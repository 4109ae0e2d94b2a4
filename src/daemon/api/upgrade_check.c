/* SPDX-License-Identifier: MIT */
/* upgrade_check.c: the checks before a 101 (upgrade_check.h). */
#include "daemon/api/upgrade_check.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "daemon/api/api.h"
#include "daemon/api/reply.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/ctl/sandbox_stream.h"
#include "daemon/http/request.h"
#include "daemon/http/route.h"
#include "daemon/store/ids.h"

bool api_upgrade_names(const struct api_call *call, const char *token)
{
    const char *v = http_request_header(call->req, "Upgrade", NULL);
    if (!v)
        return false;
    size_t n = strlen(token);
    for (const char *s = v; *s;) {
        s += strspn(s, " \t,");
        size_t len = strcspn(s, " \t,/");
        if (len == n && strncasecmp(s, token, n) == 0)
            return true;
        s += strcspn(s, ",");
    }
    return false;
}

bool api_upgrade_check(const struct api_call *call, const char *token)
{
    if (!api_upgrade_names(call, token)) {
        char msg[96];
        snprintf(msg, sizeof(msg), "this route requires Upgrade: %s", token);
        api_reply_fail_code(call, 426, "upgrade_required", msg);
        return false;
    }
    if (http_request_has_body(call->req)) {
        api_reply_field(call, "body", "an upgrade request carries no body", "invalid_request");
        return false;
    }
    return true;
}

bool api_upgrade_sandbox(struct api_call *call, const char *token, char id[STORE_ID_SIZE])
{
    const struct http_path *p = http_request_path(call->req);
    if (ids_canonical(IDS_SANDBOX_PREFIX, p->seg[2], p->seg_len[2], id, STORE_ID_SIZE) < 0) {
        api_reply_fail_str(call, 404, "sandbox not found");
        return false;
    }
    struct ctl_caller who = api_caller(call);
    struct ctl_error e;
    if (ctl_sandbox_stream_check(call->ctx->ctl, &who, id, &e) < 0) {
        api_reply_ctl(call, &e);
        return false;
    }
    return api_upgrade_check(call, token);
}
