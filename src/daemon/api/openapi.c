/* SPDX-License-Identifier: MIT */
/* openapi.c: GET /v1/openapi.json (docs/api.md §5.5): the OpenAPI 3.1 document of this API,
 * docs/openapi.json compiled in at build time (scripts/embed-text.sh), so the server and the
 * docs cannot disagree. No credentials: it describes routes, not data. Served as is, without a
 * JSend envelope, so OpenAPI tools read it directly. */
#include "daemon/api/routes.h"

#include <string.h>

#include "daemon/api/reply.h"
#include "daemon/http/response.h"

static const char openapi_json[] =
#include "openapi_json.inc"
    ;

void api_get_openapi(struct api_call *call)
{
    int r = http_response_send(call->req, 200, "application/json", openapi_json,
                               sizeof(openapi_json) - 1);
    api_reply_done(call, r < 0 ? 500 : 200);
}
