/* SPDX-License-Identifier: MIT */
/* fwd_head.h: the request head the ingress proxy writes to a sandbox's server
 * (docs/ingress-ssh.md "Ingress proxy"): the client's head without its hop-by-hop headers
 * (Connection and what it names, Keep-Alive, Proxy-*, TE, Trailer, Transfer-Encoding, Upgrade
 * unless upgrading, Expect), without hearth's credential (X-Hearth-Token, the hearth_token
 * cookie), with X-Forwarded-For appended to and X-Forwarded-Proto/-Host set, and the body's
 * framing restated. Pure: text in, text out. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "common/buf.h"
#include "daemon/http/parser.h" /* struct http_header */

#define INGRESS_TOKEN_HEADER "X-Hearth-Token"
#define INGRESS_TOKEN_COOKIE "hearth_token"

struct fwd_req {
    const char *method;                /* "GET" */
    const char *target;                /* as received */
    const struct http_header *headers; /* the client's, in order */
    unsigned nheaders;
    const char *client_ip;             /* the peer's address as text */
    bool https;                        /* X-Forwarded-Proto */
    int64_t content_length;            /* ≥ 0: a body of that size; -1: none or chunked */
    bool chunked;                      /* the body is re-sent chunked */
    bool upgrade;                      /* pass Upgrade (and Connection: Upgrade) on */
};

/* Appends the head (request line, headers, blank line) to out. 0, -ENOMEM or -EMSGSIZE (out's
 * ceiling). */
__attribute__((warn_unused_result))
int fwd_head_build(const struct fwd_req *r, struct buf *out);

/* The value of cookie name in a Cookie header value, or NULL; *ret_len its length. */
const char *fwd_cookie_find(const char *cookie, const char *name, size_t *ret_len);
