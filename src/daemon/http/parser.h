/* SPDX-License-Identifier: MIT */
/* parser.h: incremental HTTP/1.x request parser on top of http-parser. It collects the request
 * head (target, headers) under hard limits, validates it (ASCII only, token header names,
 * Content-Length vs Transfer-Encoding), then frames the body and hands body bytes to a callback.
 * One message at a time: it stops right after the head and right after the message so that the
 * caller decides what happens next. No I/O, no allocation beyond the head it builds. */
#pragma once

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

struct http_header {
    const char *name;   /* borrowed from the head's store, NUL-terminated */
    const char *value;  /* likewise; surrounding blanks trimmed */
    size_t name_len, value_len;
};

/* A parsed request head. Owned by whoever took it from the parser (http_reqparser_take_head);
 * free with http_head_free(). */
struct http_head {
    int method;                 /* enum http_method */
    unsigned short major, minor; /* HTTP version: 1.0 or 1.1 */
    const char *target;         /* request-target as sent, NUL-terminated (in store) */
    size_t target_len;
    struct http_header *headers; /* owned array, nheaders entries */
    unsigned nheaders;
    int64_t content_length;     /* -1 when absent */
    bool chunked;               /* Transfer-Encoding: chunked */
    bool keep_alive;            /* HTTP/1.1 without "Connection: close" */
    bool expect_continue;       /* HTTP/1.1 with "Expect: 100-continue" */
    bool upgrade;               /* Upgrade header present */
    struct buf store;           /* owned: target and header strings */
};

void http_head_free(struct http_head *h);
/* First header named name (case-insensitive), or NULL. Borrowed from h. */
const struct http_header *http_head_find(const struct http_head *h, const char *name);
/* True when the message has a body to read (chunked, or Content-Length > 0). */
bool http_head_has_body(const struct http_head *h);

/* Called with each piece of body bytes. Return 0 to go on, 1 to stop feeding right after this
 * piece (the feed returns HTTP_PARSE_PAUSED). */
typedef int (*http_reqparser_body_fn)(void *ud, const uint8_t *p, size_t len);

struct http_parse_err {
    int status;         /* HTTP status to answer: 400, 431 or 505 */
    char msg[120];      /* lowercase detail for the fail body */
};

enum http_parse_result {
    HTTP_PARSE_HEAD = 1,   /* the head is complete: take it with http_reqparser_take_head() */
    HTTP_PARSE_DONE = 2,   /* the message (head and body) is complete */
    HTTP_PARSE_PAUSED = 3, /* the body callback asked to stop */
};

enum http_body_state {
    BODY_NONE, BODY_DATA, BODY_CHUNK_SIZE, BODY_CHUNK_EXT, BODY_CHUNK_SIZE_LF, BODY_CHUNK_DATA,
    BODY_CHUNK_DATA_CR, BODY_CHUNK_DATA_LF, BODY_TRAILER_START, BODY_TRAILER, BODY_TRAILER_LF,
    BODY_FINAL_LF, BODY_DONE,
};

struct http_reqparser {
    http_parser hp;             /* private */
    struct http_head *head;     /* owned while building; NULL after take */
    size_t max_head;            /* limit on request line + headers */
    unsigned max_headers;       /* limit on the number of header fields */
    size_t max_framing;         /* limit on chunk-size lines + trailers between body bytes */
    size_t head_bytes;          /* bytes consumed before the head completed */
    size_t framing_run;         /* non-body bytes since the last body byte */
    size_t *offs;               /* owned: 4 offsets per header (name, name end, value, end) */
    unsigned nfields;           /* header fields seen (also counts trailers) */
    int last;                   /* which callback ran last: 0 none, 1 url, 2 field, 3 value */
    bool head_done, msg_done, failed;
    enum http_body_state bstate; /* body framing state once the head is done */
    uint64_t remaining;         /* body or chunk bytes still to come; chunk size while parsing */
    unsigned size_digits;       /* hex digits of the current chunk-size line */
    http_reqparser_body_fn on_body;
    void *ud;
    struct http_parse_err err;  /* set when the head is rejected by a callback */
};

/* Prepares a parser for the first message. Returns 0 or -ENOMEM. */
__attribute__((warn_unused_result))
int http_reqparser_init(struct http_reqparser *p, size_t max_head, unsigned max_headers,
                        http_reqparser_body_fn on_body, void *ud);
/* Frees whatever the parser holds (a half-built head included). */
void http_reqparser_release(struct http_reqparser *p);
/* Starts the next message on the same connection. Returns 0 or -ENOMEM. */
__attribute__((warn_unused_result)) int http_reqparser_reset(struct http_reqparser *p);

/* Feeds up to len bytes. Returns an enum http_parse_result with *ret_used bytes consumed (the
 * rest belongs to what follows), -EAGAIN when all len bytes were consumed and more are needed
 * (*ret_used = len), or -EBADMSG when the input is malformed or over a limit (*reterr says which
 * status to answer; the parser is then dead until reset). Never reads past len. After
 * HTTP_PARSE_DONE, call http_reqparser_reset() before feeding the next message. */
__attribute__((warn_unused_result))
int http_reqparser_feed(struct http_reqparser *p, const uint8_t *data, size_t len,
                        size_t *ret_used, struct http_parse_err *reterr);
/* Hands over the completed head (after HTTP_PARSE_HEAD); the caller frees it. */
struct http_head *http_reqparser_take_head(struct http_reqparser *p);
/* True once the head is complete and the body (if any) not yet finished. */
static inline bool http_reqparser_in_body(const struct http_reqparser *p)
{
    return p->head_done && !p->msg_done;
}
