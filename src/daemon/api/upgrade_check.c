/* SPDX-License-Identifier: MIT */
/* upgrade_check.c: the checks before a 101 (upgrade_check.h). */
#include "daemon/api/upgrade_check.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "daemon/api/reply.h"
#include "daemon/http/request.h"

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
