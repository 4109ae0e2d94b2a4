/* SPDX-License-Identifier: MIT */
/* upstream_resp.h: the response a sandbox's server sends back through the ingress proxy, parsed
 * with http-parser in response mode under hard limits (docs/ingress-ssh.md "Ingress proxy").
 * The guest is untrusted: a head over max_head bytes or max_headers fields, a malformed head or
 * malformed framing is an error (the proxy answers 502), never unbounded memory. Interim 1xx
 * answers other than 101 are skipped; a 101 stops the parser and what follows is raw bytes.
 * Pure: no I/O; the body is handed on as it comes. */
#pragma once

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/http/parser.h" /* struct http_header */

struct upresp_head {
    int status;
    unsigned short major, minor;
    const struct http_header *headers; /* borrowed from the parser until reset/release */
    unsigned nheaders;
    int64_t content_length;            /* -1 when absent */
    bool chunked;
    bool keep_alive;                   /* the connection may carry another request */
};

struct upresp_ops {
    /* The final head (or a 101). Return 0 to go on, < 0 to stop with that error. */
    int (*on_head)(void *ud, const struct upresp_head *h);
    /* Body bytes (decoded from chunked), borrowed for the call. 0, or < 0 to stop. */
    int (*on_body)(void *ud, const uint8_t *p, size_t len);
    /* The message has ended (after its body, or at once for HEAD/204/304). */
    void (*on_done)(void *ud);
};

struct upresp {
    http_parser hp;                    /* private from here on */
    http_parser_settings settings;
    const struct upresp_ops *ops;
    void *ud;
    bool head_request;                 /* the request was HEAD: no body follows any head */
    size_t max_head;
    unsigned max_headers;
    char *store;                       /* max_head + max_headers * 2 bytes: names, values, NULs */
    size_t used;
    size_t head_bytes;                 /* bytes of the current head so far */
    struct http_header *hdr;           /* max_headers entries */
    size_t *offs;                      /* 4 per header: name, name end, value, value end */
    unsigned nfields;
    int last;                          /* 0 none, 1 field, 2 value */
    bool head_done, msg_done, upgraded, failed;
    int cb_err;                        /* error a callback returned */
};

/* Prepares p for a response to a request (head_request: it was HEAD). 0 or -ENOMEM. */
__attribute__((warn_unused_result))
int upresp_init(struct upresp *p, bool head_request, size_t max_head, unsigned max_headers,
                const struct upresp_ops *ops, void *ud);
/* For the next response on the same connection. */
void upresp_reset(struct upresp *p, bool head_request);
void upresp_release(struct upresp *p);

#define UPRESP_MORE 0     /* every byte consumed; the message goes on */
#define UPRESP_DONE 1     /* the message ended; *ret_used bytes were it, the rest is extra */
#define UPRESP_UPGRADE 2  /* a 101 head ended at *ret_used; the rest is the upgraded stream */

/* Feeds len bytes: UPRESP_MORE, UPRESP_DONE or UPRESP_UPGRADE with *ret_used; -EBADMSG for a
 * malformed or oversized response; a callback's error as it returned it. */
__attribute__((warn_unused_result))
int upresp_feed(struct upresp *p, const uint8_t *data, size_t len, size_t *ret_used);
/* The guest closed its side: UPRESP_DONE when that ends a close-delimited body, -EBADMSG when
 * the response was cut short (no head, or a body short of its length). */
__attribute__((warn_unused_result))
int upresp_eof(struct upresp *p);
/* True once the final head was reported. */
static inline bool upresp_head_seen(const struct upresp *p)
{
    return p->head_done;
}
