/* SPDX-License-Identifier: MIT */
/* console.c: the web console (docs/console.md) on the API listener: GET / is its page,
 * GET /console/{app.js,app.css} its code and style, all compiled into hearthd at build time
 * (scripts/build-console.sh, scripts/embed-console.sh), so there is nothing to install beside
 * it. No credentials: these files hold no data; the page signs in with an API key and uses the
 * public API like any client. Every answer carries a strict Content-Security-Policy (scripts
 * and styles from this origin only, no inline script, no eval, no framing) and an ETag, so a
 * reload costs a 304. */
#include "daemon/api/routes.h"

#include <string.h>

#include "daemon/api/api.h"
#include "daemon/api/reply.h"
#include "daemon/http/request.h"
#include "daemon/http/response.h"

struct console_asset {
    const char *name;
    const char *type;
    const unsigned char *bytes;
    size_t len;
    const char *etag;
};

#include "console_assets.inc"

#define N_ASSETS (sizeof(console_assets) / sizeof(console_assets[0]))

/* connect-src 'self' covers the API and the shell's WebSocket on this origin; blob: lets a
 * download be handed to the browser; data: images are the libraries' small icons. */
const char api_console_csp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

static const struct console_asset *find(const char *name, size_t n)
{
    for (size_t i = 0; i < N_ASSETS; i++)
        if (strlen(console_assets[i].name) == n && memcmp(console_assets[i].name, name, n) == 0)
            return &console_assets[i];
    return NULL;
}

/* True when the If-None-Match header lists tag (or is "*"). */
static bool not_modified(const struct http_request *req, const char *tag)
{
    const char *inm = http_request_header(req, "If-None-Match", NULL);
    if (!inm)
        return false;
    return strcmp(inm, "*") == 0 || strstr(inm, tag) != NULL;
}

static void send_asset(struct api_call *call, const struct console_asset *a)
{
    struct http_request *req = call->req;
    int r = 0;
    r |= http_response_add_header(req, "Content-Security-Policy", api_console_csp);
    r |= http_response_add_header(req, "X-Content-Type-Options", "nosniff");
    r |= http_response_add_header(req, "X-Frame-Options", "DENY");
    r |= http_response_add_header(req, "Referrer-Policy", "no-referrer");
    r |= http_response_add_header(req, "Cross-Origin-Opener-Policy", "same-origin");
    r |= http_response_add_header(req, "Cache-Control", "no-cache");
    r |= http_response_add_header(req, "ETag", a->etag);
    if (r < 0) {
        api_reply_done(call, 500);
        return;
    }
    if (not_modified(req, a->etag)) {
        r = http_response_send(req, 304, NULL, NULL, 0);
        api_reply_done(call, r < 0 ? 500 : 304);
        return;
    }
    r = http_response_send(req, 200, a->type, a->bytes, a->len);
    api_reply_done(call, r < 0 ? 500 : 200);
}

void api_get_console_page(struct api_call *call)
{
    send_asset(call, find("index.html", strlen("index.html")));
}

void api_get_console_asset(struct api_call *call)
{
    const struct http_path *p = http_request_path(call->req);
    const struct console_asset *a = p->n == 2 ? find(p->seg[1], p->seg_len[1]) : NULL;
    if (!a || strcmp(a->name, "index.html") == 0) {
        api_reply_fail_str(call, 404, "route not found");
        return;
    }
    send_asset(call, a);
}
