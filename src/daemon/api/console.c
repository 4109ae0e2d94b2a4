/* SPDX-License-Identifier: MIT */
/* console.c: the web console (docs/console.md) on the API listener: GET / is its page,
 * GET /console/{app.js,app.css} its code and style, all compiled into hearthd at build time
 * (scripts/build-console.sh, scripts/embed-console.sh), so there is nothing to install beside
 * it. No credentials: these files hold no data; the page signs in with an API key and uses the
 * public API like any client. Every answer carries a strict Content-Security-Policy (scripts
 * and styles from this origin only, no inline script, no eval, no framing) and an ETag, so a
 * reload costs a 304; clients that accept gzip get the copy compressed at build time. */
#include "daemon/api/routes.h"

#include <string.h>
#include <strings.h>

#include "daemon/api/api.h"
#include "daemon/api/reply.h"
#include "daemon/http/request.h"
#include "daemon/http/response.h"

struct console_asset {
    const char *name;
    const char *type;
    const unsigned char *bytes;
    size_t len;
    const unsigned char *gz_bytes; /* the same file gzipped at build time */
    size_t gz_len;
    const char *etag;
    const char *gz_etag;           /* a strong ETag names one encoding (RFC 9110 §8.8.3) */
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

/* True when Accept-Encoding lists gzip (or *) without q=0. A missing header or anything we cannot
 * read means identity, which every client accepts. */
static bool accepts_gzip(const struct http_request *req)
{
    const char *ae = http_request_header(req, "Accept-Encoding", NULL);
    while (ae && *ae) {
        while (*ae == ' ' || *ae == '\t' || *ae == ',')
            ae++;
        size_t n = strcspn(ae, ",;");
        while (n > 0 && (ae[n - 1] == ' ' || ae[n - 1] == '\t'))
            n--;
        bool named = (n == 4 && strncasecmp(ae, "gzip", 4) == 0) || (n == 1 && ae[0] == '*');
        const char *end = ae + strcspn(ae, ",");
        const char *q = memchr(ae, ';', (size_t)(end - ae));
        bool zero = false;
        if (q) {
            q++;
            while (*q == ' ' || *q == '\t')
                q++;
            /* q=0, q=0., q=0.0… refuse; q=0.5 or q=1 accept */
            if ((q[0] == 'q' || q[0] == 'Q') && q[1] == '=' && q[2] == '0') {
                zero = true;
                for (const char *d = q + 3 + (q[3] == '.'); d < end && *d != ' '; d++)
                    if (*d >= '1' && *d <= '9')
                        zero = false;
            }
        }
        if (named && !zero)
            return true;
        ae = end;
    }
    return false;
}

static void send_asset(struct api_call *call, const struct console_asset *a)
{
    struct http_request *req = call->req;
    bool gz = accepts_gzip(req);
    const char *etag = gz ? a->gz_etag : a->etag;
    int r = 0;
    r |= http_response_add_header(req, "Content-Security-Policy", api_console_csp);
    r |= http_response_add_header(req, "X-Content-Type-Options", "nosniff");
    r |= http_response_add_header(req, "X-Frame-Options", "DENY");
    r |= http_response_add_header(req, "Referrer-Policy", "no-referrer");
    r |= http_response_add_header(req, "Cross-Origin-Opener-Policy", "same-origin");
    r |= http_response_add_header(req, "Cache-Control", "no-cache");
    r |= http_response_add_header(req, "Vary", "Accept-Encoding");
    r |= http_response_add_header(req, "ETag", etag);
    if (r < 0) {
        api_reply_done(call, 500);
        return;
    }
    if (not_modified(req, etag)) {
        r = http_response_send(req, 304, NULL, NULL, 0);
        api_reply_done(call, r < 0 ? 500 : 304);
        return;
    }
    if (gz && http_response_add_header(req, "Content-Encoding", "gzip") < 0) {
        api_reply_done(call, 500);
        return;
    }
    r = http_response_send(req, 200, a->type, gz ? a->gz_bytes : a->bytes, gz ? a->gz_len : a->len);
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
