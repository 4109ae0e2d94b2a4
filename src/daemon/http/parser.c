/* SPDX-License-Identifier: MIT */
/* parser.c: request parser. http-parser tokenises the head; this file adds the limits and the
 * strictness it lacks (obs-text, header-name tokens, header count, TE/CL conflicts) and frames
 * the body itself: Debian builds http-parser non-strict, which accepts any two bytes after chunk
 * data ("5\r\nhelloXX0\r\n\r\n" parses), so chunked decoding here is strict CRLF with bounded
 * chunk-size lines and trailers. Stops after the head and after the message so the connection
 * decides, per request, what to do with the bytes that follow. */
#include "daemon/http/parser.h"
#include "common/parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define HEADER_SLACK 256 /* store room for NUL separators beyond max_head */

enum { LAST_NONE, LAST_URL, LAST_FIELD, LAST_VALUE };

void http_head_free(struct http_head *h)
{
    if (!h)
        return;
    free(h->headers);
    buf_release(&h->store);
    free(h);
}

const struct http_header *http_head_find(const struct http_head *h, const char *name)
{
    for (unsigned i = 0; i < h->nheaders; i++)
        if (strcasecmp(h->headers[i].name, name) == 0)
            return &h->headers[i];
    return NULL;
}

bool http_head_has_body(const struct http_head *h)
{
    return h->chunked || h->content_length > 0;
}

static void set_err(struct http_reqparser *p, int status, const char *msg)
{
    p->failed = true;
    p->err.status = status;
    snprintf(p->err.msg, sizeof(p->err.msg), "%s", msg);
}

static int store_piece(struct http_reqparser *p, const char *at, size_t len)
{
    if (buf_append(&p->head->store, at, len) < 0) {
        set_err(p, 431, "request header fields too large");
        return -1;
    }
    return 0;
}

static int store_nul(struct http_reqparser *p)
{
    return store_piece(p, "", 1);
}

static int on_message_begin(http_parser *hp)
{
    return 0;
}

static int on_url(http_parser *hp, const char *at, size_t len)
{
    struct http_reqparser *p = hp->data;
    p->last = LAST_URL;
    return store_piece(p, at, len);
}

/* Closes the field or value that was being collected. */
static int finish_piece(struct http_reqparser *p)
{
    if (p->last == LAST_URL) {
        p->head->target_len = p->head->store.len;
        return store_nul(p);
    }
    size_t *o = p->nfields ? p->offs + 4 * (p->nfields - 1) : NULL;
    if (!o)
        return 0;
    if (p->last == LAST_FIELD) {
        o[1] = p->head->store.len;
        o[2] = o[1] + 1;
        o[3] = o[2];
        return store_nul(p);
    }
    if (p->last == LAST_VALUE) {
        o[3] = p->head->store.len;
        return store_nul(p);
    }
    return 0;
}

static int on_header_field(http_parser *hp, const char *at, size_t len)
{
    struct http_reqparser *p = hp->data;
    if (p->head_done)
        return 0; /* trailers: counted as framing, otherwise ignored */
    if (p->last != LAST_FIELD) {
        if (finish_piece(p) < 0)
            return -1;
        if (p->nfields == p->max_headers) {
            set_err(p, 431, "too many header fields");
            return -1;
        }
        p->nfields++;
        p->offs[4 * (p->nfields - 1)] = p->head->store.len;
        p->last = LAST_FIELD;
    }
    return store_piece(p, at, len);
}

static int on_header_value(http_parser *hp, const char *at, size_t len)
{
    struct http_reqparser *p = hp->data;
    if (p->head_done)
        return 0;
    if (p->last != LAST_VALUE) {
        if (finish_piece(p) < 0)
            return -1;
        p->offs[4 * (p->nfields - 1) + 2] = p->head->store.len;
        p->last = LAST_VALUE;
    }
    return store_piece(p, at, len);
}

static bool is_tchar(unsigned char c)
{
    return ascii_alnum((char)c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_field_char(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c <= 0x7e);
}

/* Checks the collected head and fills the derived fields. 0 or -1 with p->err set. */
static int finish_head(struct http_reqparser *p)
{
    struct http_head *h = p->head;
    h->method = p->hp.method;
    h->major = p->hp.http_major;
    h->minor = p->hp.http_minor;
    if (h->major != 1 || h->minor > 1) {
        set_err(p, 505, "http version not supported");
        return -1;
    }
    h->headers = calloc(p->nfields ? p->nfields : 1, sizeof(*h->headers));
    if (!h->headers) {
        set_err(p, 500, "out of memory");
        return -1;
    }
    char *s = (char *)h->store.data;
    h->target = s;
    if (h->target_len == 0 || h->target[0] != '/') {
        set_err(p, 400, "request target must start with '/'");
        return -1;
    }
    for (size_t i = 0; i < h->target_len; i++) {
        unsigned char c = (unsigned char)h->target[i];
        if (c <= 0x20 || c >= 0x7f) {
            set_err(p, 400, "invalid character in request target");
            return -1;
        }
    }
    h->nheaders = p->nfields;
    int n_cl = 0, n_te = 0;
    for (unsigned i = 0; i < h->nheaders; i++) {
        size_t *o = p->offs + 4 * i;
        struct http_header *hd = &h->headers[i];
        hd->name = s + o[0];
        hd->name_len = o[1] - o[0];
        if (hd->name_len == 0) {
            set_err(p, 400, "empty header name");
            return -1;
        }
        for (size_t k = 0; k < hd->name_len; k++)
            if (!is_tchar((unsigned char)hd->name[k])) {
                set_err(p, 400, "invalid character in header name");
                return -1;
            }
        size_t vs = o[2], ve = o[3];
        for (size_t k = vs; k < ve; k++)
            if (!is_field_char((unsigned char)s[k])) {
                set_err(p, 400, "invalid character in header value");
                return -1;
            }
        while (vs < ve && (s[vs] == ' ' || s[vs] == '\t'))
            vs++;
        while (ve > vs && (s[ve - 1] == ' ' || s[ve - 1] == '\t'))
            ve--;
        s[ve] = '\0';
        hd->value = s + vs;
        hd->value_len = ve - vs;
        if (strcasecmp(hd->name, "content-length") == 0)
            n_cl++;
        else if (strcasecmp(hd->name, "transfer-encoding") == 0) {
            n_te++;
            if (strcasecmp(hd->value, "chunked") != 0) {
                set_err(p, 400, "unsupported transfer-encoding");
                return -1;
            }
        } else if (strcasecmp(hd->name, "expect") == 0) {
            if (strcasecmp(hd->value, "100-continue") == 0 && h->minor == 1)
                h->expect_continue = true;
        } else if (strcasecmp(hd->name, "upgrade") == 0) {
            h->upgrade = true;
        }
    }
    if (n_cl > 1 || (n_cl && n_te) || n_te > 1) {
        set_err(p, 400, "conflicting content-length and transfer-encoding");
        return -1;
    }
    h->chunked = (p->hp.flags & F_CHUNKED) != 0;
    if (n_te && !h->chunked) {
        set_err(p, 400, "unsupported transfer-encoding");
        return -1;
    }
    h->content_length = n_cl ? (int64_t)p->hp.content_length : -1;
    if (n_cl && p->hp.content_length > INT64_MAX) {
        set_err(p, 400, "invalid content-length");
        return -1;
    }
    h->keep_alive = h->minor == 1 && http_should_keep_alive(&p->hp);
    return 0;
}

static int on_headers_complete(http_parser *hp)
{
    struct http_reqparser *p = hp->data;
    if (p->last == LAST_NONE)
        p->last = LAST_URL; /* an empty target still gets its NUL below */
    if (finish_piece(p) < 0 || finish_head(p) < 0)
        return -1;
    p->head_done = true;
    p->framing_run = 0;
    if (p->head->chunked) {
        p->bstate = BODY_CHUNK_SIZE;
    } else if (p->head->content_length > 0) {
        p->bstate = BODY_DATA;
        p->remaining = (uint64_t)p->head->content_length;
    } else {
        p->bstate = BODY_DONE;
    }
    return 1; /* http-parser skips the body: we frame it (see the top of the file) */
}

static int on_message_complete(http_parser *hp)
{
    /* with the body skipped, this is the end of the head: stop before the next message */
    http_parser_pause(hp, 1);
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_message_complete = on_message_complete,
};

int http_reqparser_reset(struct http_reqparser *p)
{
    http_head_free(p->head);
    p->head = calloc(1, sizeof(*p->head));
    if (!p->head)
        return -ENOMEM;
    buf_init(&p->head->store, p->max_head + HEADER_SLACK);
    http_parser_init(&p->hp, HTTP_REQUEST);
    p->hp.data = p;
    p->head_bytes = 0;
    p->framing_run = 0;
    p->nfields = 0;
    p->last = LAST_NONE;
    p->head_done = p->msg_done = p->failed = false;
    p->bstate = BODY_NONE;
    p->remaining = 0;
    memset(&p->err, 0, sizeof(p->err));
    return 0;
}

int http_reqparser_init(struct http_reqparser *p, size_t max_head, unsigned max_headers,
                        http_reqparser_body_fn on_body, void *ud)
{
    memset(p, 0, sizeof(*p));
    p->max_head = max_head;
    p->max_headers = max_headers;
    p->max_framing = 16 * 1024;
    p->on_body = on_body;
    p->ud = ud;
    p->offs = calloc(max_headers ? max_headers : 1, 4 * sizeof(*p->offs));
    if (!p->offs)
        return -ENOMEM;
    int r = http_reqparser_reset(p);
    if (r < 0) {
        free(p->offs);
        p->offs = NULL;
    }
    return r;
}

void http_reqparser_release(struct http_reqparser *p)
{
    http_head_free(p->head);
    p->head = NULL;
    free(p->offs);
    p->offs = NULL;
}

struct http_head *http_reqparser_take_head(struct http_reqparser *p)
{
    struct http_head *h = p->head;
    p->head = NULL;
    return h;
}

static int fail(struct http_reqparser *p, struct http_parse_err *reterr, int status,
                const char *msg)
{
    if (!p->failed)
        set_err(p, status, msg);
    if (reterr)
        *reterr = p->err;
    return -EBADMSG;
}

static bool is_hex(uint8_t c, unsigned *v)
{
    int d = hex_digit((char)c);
    if (d < 0)
        return false;
    *v = (unsigned)d;
    return true;
}

/* The framing states with one rule: take field characters (field_run) or nothing else until the
 * byte until, then go to next; any other byte is the error err. */
struct framing_step {
    enum http_body_state state;
    bool field_run;
    char until;
    enum http_body_state next;
    const char *err;
};

static const struct framing_step *framing_step(enum http_body_state state)
{
    static const struct framing_step steps[] = {
        { BODY_CHUNK_EXT, true, '\r', BODY_CHUNK_SIZE_LF,
          "malformed request: invalid chunk extension" },
        { BODY_CHUNK_DATA_CR, false, '\r', BODY_CHUNK_DATA_LF,
          "malformed request: CRLF expected after chunk data" },
        { BODY_CHUNK_DATA_LF, false, '\n', BODY_CHUNK_SIZE,
          "malformed request: CRLF expected after chunk data" },
        { BODY_TRAILER, true, '\r', BODY_TRAILER_LF, "malformed request: invalid trailer" },
        { BODY_TRAILER_LF, false, '\n', BODY_TRAILER_START,
          "malformed request: LF expected in trailers" },
        { BODY_FINAL_LF, false, '\n', BODY_DONE, "malformed request: LF expected after trailers" },
    };
    for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++)
        if (steps[k].state == state)
            return &steps[k];
    return NULL;
}

/* Frames body bytes. Returns like http_reqparser_feed(). */
static int feed_body(struct http_reqparser *p, const uint8_t *data, size_t len, size_t *ret_used,
                     struct http_parse_err *reterr)
{
    size_t i = 0;
    while (i < len && p->bstate != BODY_DONE) {
        uint8_t ch = data[i];
        unsigned hv;
        if (p->bstate == BODY_DATA || p->bstate == BODY_CHUNK_DATA) {
            size_t n = len - i < p->remaining ? len - i : (size_t)p->remaining;
            p->remaining -= n;
            p->framing_run = 0;
            if (p->remaining == 0)
                p->bstate = p->bstate == BODY_DATA ? BODY_DONE : BODY_CHUNK_DATA_CR;
            i += n;
            if (p->on_body && p->on_body(p->ud, data + i - n, n) != 0) {
                *ret_used = i;
                if (p->bstate == BODY_DONE) {
                    p->msg_done = true;
                    return HTTP_PARSE_DONE;
                }
                return HTTP_PARSE_PAUSED;
            }
            continue;
        }
        if (++p->framing_run > p->max_framing)
            return fail(p, reterr, 400, "malformed request: chunk line or trailers too long");
        i++;
        const struct framing_step *step = framing_step(p->bstate);
        if (step) {
            /* a run of field characters ends at CR; a single expected byte ends at once */
            if (ch == step->until)
                p->bstate = step->next;
            else if (!step->field_run || !is_field_char(ch))
                return fail(p, reterr, 400, step->err);
            continue;
        }
        switch (p->bstate) {
        case BODY_CHUNK_SIZE:
            if (is_hex(ch, &hv)) {
                if (p->remaining >> 59)
                    return fail(p, reterr, 400, "malformed request: chunk size too large");
                p->remaining = p->remaining << 4 | hv;
                p->size_digits++;
            } else if (p->size_digits == 0) {
                return fail(p, reterr, 400, "malformed request: invalid chunk size");
            } else if (ch == ';' || ch == ' ' || ch == '\t') {
                p->bstate = BODY_CHUNK_EXT;
            } else if (ch == '\r') {
                p->bstate = BODY_CHUNK_SIZE_LF;
            } else {
                return fail(p, reterr, 400, "malformed request: invalid chunk size");
            }
            break;
        case BODY_CHUNK_SIZE_LF:
            if (ch != '\n')
                return fail(p, reterr, 400, "malformed request: LF expected after chunk size");
            p->size_digits = 0;
            p->bstate = p->remaining ? BODY_CHUNK_DATA : BODY_TRAILER_START;
            break;
        case BODY_TRAILER_START:
            if (ch == '\r')
                p->bstate = BODY_FINAL_LF;
            else if (is_field_char(ch))
                p->bstate = BODY_TRAILER;
            else
                return fail(p, reterr, 400, "malformed request: invalid trailer");
            break;
        default:
            return fail(p, reterr, 500, "internal parser state");
        }
    }
    *ret_used = i;
    if (p->bstate == BODY_DONE) {
        p->msg_done = true;
        return HTTP_PARSE_DONE;
    }
    return -EAGAIN;
}

int http_reqparser_feed(struct http_reqparser *p, const uint8_t *data, size_t len,
                        size_t *ret_used, struct http_parse_err *reterr)
{
    *ret_used = 0;
    if (p->failed)
        return fail(p, reterr, p->err.status, p->err.msg);
    if (p->msg_done)
        return HTTP_PARSE_DONE;
    if (p->head_done) {
        if (p->bstate == BODY_DONE) {
            p->msg_done = true;
            return HTTP_PARSE_DONE;
        }
        if (len == 0)
            return -EAGAIN;
        return feed_body(p, data, len, ret_used, reterr);
    }
    if (len == 0)
        return -EAGAIN; /* http-parser reads len 0 as end of stream */
    /* never let http-parser see more than one byte beyond the head limit */
    size_t room = p->max_head + 1 - p->head_bytes;
    if (len > room)
        len = room;
    if (HTTP_PARSER_ERRNO(&p->hp) == HPE_PAUSED)
        http_parser_pause(&p->hp, 0);
    size_t n = http_parser_execute(&p->hp, &settings, (const char *)data, len);
    enum http_errno e = HTTP_PARSER_ERRNO(&p->hp);
    if (e != HPE_OK && e != HPE_PAUSED) {
        if (p->failed)
            return fail(p, reterr, p->err.status, p->err.msg);
        if (e == HPE_HEADER_OVERFLOW)
            return fail(p, reterr, 431, "request header fields too large");
        char msg[120];
        snprintf(msg, sizeof(msg), "malformed request: %s", http_errno_description(e));
        return fail(p, reterr, 400, msg);
    }
    *ret_used = n;
    p->head_bytes += n;
    if (p->head_done && e == HPE_PAUSED)
        return HTTP_PARSE_HEAD;
    if (p->head_bytes > p->max_head)
        return fail(p, reterr, 431, "request header fields too large");
    return -EAGAIN;
}
