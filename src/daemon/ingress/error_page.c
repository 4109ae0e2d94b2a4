/* SPDX-License-Identifier: MIT */
/* error_page.c: the answers the ingress proxy gives itself (400, 401, 404, 429, 502, 503,
 * 504): one short page per status, HTML for browsers and plain text otherwise, with
 * Cache-Control: no-store so a passing error is never cached as the sandbox's content. The
 * text depends only on the status and the fixed reason given, so a 404 for an unknown sandbox
 * is byte for byte the 404 for a hidden one. */
#include "daemon/ingress/ingress_internal.h"

#include <stdio.h>
#include <string.h>

#include "common/mono.h"
#include "daemon/http/request.h"
#include "daemon/http/response.h"

static const char *title(int status)
{
    switch (status) {
    case 400: return "Bad request";
    case 401: return "Credential required";
    case 404: return "Not found";
    case 429: return "Too many attempts";
    case 502: return "Bad gateway";
    case 503: return "Sandbox unavailable";
    case 504: return "Gateway timeout";
    default: return "Error";
    }
}

static bool wants_html(struct http_request *req)
{
    const char *a = http_request_header(req, "Accept", NULL);
    return a && strstr(a, "text/html");
}

void ingress_error(struct ingress *ing, struct http_request *req, int64_t t0_us, int status,
                   const char *what)
{
    if (!http_request_is_live(req) || http_response_started(req))
        return;
    ingress_stats_response(&ing->stats, status, true, (double)(mono_now_us() - t0_us) / 1e6);
    char body[1024];
    int n;
    const char *type;
    if (wants_html(req)) {
        type = "text/html; charset=utf-8";
        n = snprintf(body, sizeof(body),
                     "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>%d %s</title>"
                     "</head>\n<body><h1>%d %s</h1>\n<p>%s</p>\n<p><small>hearth ingress"
                     "</small></p></body></html>\n",
                     status, title(status), status, title(status), what);
    } else {
        type = "text/plain; charset=utf-8";
        n = snprintf(body, sizeof(body), "%d %s: %s\n", status, title(status), what);
    }
    if (n < 0 || (size_t)n >= sizeof(body))
        n = 0;
    (void)http_response_add_header(req, "Cache-Control", "no-store");
    if (status == 429)
        (void)http_response_retry_after(req, 30);
    (void)http_response_send(req, status, type, body, (size_t)n);
}
