/* SPDX-License-Identifier: MIT */
/* fwd_head.c: rewriting a client's request head for the guest (fwd_head.h). Hop-by-hop headers
 * are per connection (RFC 9110 §7.6.1): the proxy's connection to the guest has its own, so the
 * client's are dropped, including any header the client's Connection names. */
#include "daemon/ingress/fwd_head.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

static bool name_is(const struct http_header *h, const char *name)
{
    return strlen(name) == h->name_len && strncasecmp(h->name, name, h->name_len) == 0;
}

/* True when the comma-separated list value[0..len) holds token (case-insensitive). */
static bool list_has(const char *value, size_t len, const char *token, size_t tlen)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && (value[i] == ' ' || value[i] == '\t' || value[i] == ','))
            i++;
        size_t s = i;
        while (i < len && value[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (value[e - 1] == ' ' || value[e - 1] == '\t'))
            e--;
        if (e - s == tlen && tlen > 0 && strncasecmp(value + s, token, tlen) == 0)
            return true;
    }
    return false;
}

static bool hop_by_hop(const struct fwd_req *r, const struct http_header *h)
{
    static const char *const drop[] = { "Connection", "Keep-Alive", "TE", "Trailer",
                                        "Transfer-Encoding", "Upgrade", "Expect",
                                        "Content-Length", "X-Forwarded-Proto",
                                        "X-Forwarded-Host", "X-Forwarded-For",
                                        INGRESS_TOKEN_HEADER };
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
        if (name_is(h, drop[i]))
            return true;
    if (h->name_len >= 6 && strncasecmp(h->name, "Proxy-", 6) == 0)
        return true;
    /* whatever the client's Connection header names is about its connection only */
    for (unsigned i = 0; i < r->nheaders; i++)
        if (name_is(&r->headers[i], "Connection") &&
            list_has(r->headers[i].value, r->headers[i].value_len, h->name, h->name_len))
            return true;
    return false;
}

const char *fwd_cookie_find(const char *cookie, const char *name, size_t *ret_len)
{
    size_t nlen = strlen(name);
    const char *p = cookie;
    while (p && *p) {
        while (*p == ' ' || *p == ';')
            p++;
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > nlen && p[nlen] == '=' && strncmp(p, name, nlen) == 0) {
            *ret_len = len - nlen - 1;
            return p + nlen + 1;
        }
        p = end;
    }
    return NULL;
}

/* Appends the Cookie header without hearth's own cookie (nothing when that was all of it). */
static int add_cookie(struct buf *out, const struct http_header *h)
{
    size_t nlen = strlen(INGRESS_TOKEN_COOKIE);
    bool any = false;
    const char *p = h->value, *stop = h->value + h->value_len;
    int r = 0;
    while (p < stop && r == 0) {
        while (p < stop && (*p == ' ' || *p == ';'))
            p++;
        const char *end = memchr(p, ';', (size_t)(stop - p));
        if (!end)
            end = stop;
        size_t len = (size_t)(end - p);
        bool ours = len > nlen && p[nlen] == '=' && strncmp(p, INGRESS_TOKEN_COOKIE, nlen) == 0;
        if (len > 0 && !ours) {
            r = buf_appendf(out, "%s%.*s", any ? "; " : "Cookie: ", (int)len, p);
            any = true;
        }
        p = end;
    }
    if (r == 0 && any)
        r = buf_appendf(out, "\r\n");
    return r;
}

int fwd_head_build(const struct fwd_req *r, struct buf *out)
{
    int e = buf_appendf(out, "%s %s HTTP/1.1\r\n", r->method, r->target);
    const struct http_header *xff = NULL, *host = NULL, *upgrade = NULL;
    for (unsigned i = 0; i < r->nheaders && e == 0; i++) {
        const struct http_header *h = &r->headers[i];
        if (name_is(h, "X-Forwarded-For") && !xff)
            xff = h;
        if (name_is(h, "Host") && !host)
            host = h;
        if (name_is(h, "Upgrade") && !upgrade)
            upgrade = h;
        if (hop_by_hop(r, h))
            continue;
        if (name_is(h, "Cookie"))
            e = add_cookie(out, h);
        else
            e = buf_appendf(out, "%.*s: %.*s\r\n", (int)h->name_len, h->name,
                            (int)h->value_len, h->value);
    }
    if (e == 0 && xff && xff->value_len)
        e = buf_appendf(out, "X-Forwarded-For: %.*s, %s\r\n", (int)xff->value_len, xff->value,
                        r->client_ip);
    else if (e == 0)
        e = buf_appendf(out, "X-Forwarded-For: %s\r\n", r->client_ip);
    if (e == 0)
        e = buf_appendf(out, "X-Forwarded-Proto: %s\r\n", r->https ? "https" : "http");
    if (e == 0 && host)
        e = buf_appendf(out, "X-Forwarded-Host: %.*s\r\n", (int)host->value_len, host->value);
    if (e == 0 && r->upgrade && upgrade)
        e = buf_appendf(out, "Connection: Upgrade\r\nUpgrade: %.*s\r\n", (int)upgrade->value_len,
                        upgrade->value);
    if (e == 0 && r->chunked)
        e = buf_appendf(out, "Transfer-Encoding: chunked\r\n");
    else if (e == 0 && r->content_length >= 0)
        e = buf_appendf(out, "Content-Length: %lld\r\n", (long long)r->content_length);
    if (e == 0)
        e = buf_appendf(out, "\r\n");
    return e;
}
