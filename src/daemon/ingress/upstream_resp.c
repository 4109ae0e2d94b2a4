/* SPDX-License-Identifier: MIT */
/* upstream_resp.c: a guest server's HTTP response parsed under limits (upstream_resp.h).
 * http-parser frames the message (Content-Length, chunked, close-delimited, HEAD, 1xx, 204,
 * 304, 101); this file bounds the head it collects, since http-parser itself only caps a head
 * at a compile-time 80 KiB, and stops at the end of each message so that extra bytes a guest
 * sends after it are never taken for the next response. */
#include "daemon/ingress/upstream_resp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { LAST_NONE, LAST_FIELD, LAST_VALUE };

static int fail(struct upresp *p)
{
    p->failed = true;
    return -1;
}

/* Appends a piece of a header name or value; the head's total is bounded by max_head. */
static int store_piece(struct upresp *p, const char *at, size_t len)
{
    p->head_bytes += len;
    if (p->head_bytes > p->max_head || p->used + len + 1 > p->max_head + 2 * p->max_headers)
        return fail(p);
    memcpy(p->store + p->used, at, len);
    p->used += len;
    return 0;
}

/* Ends the piece in progress: its end offset, and a NUL after it. */
static void finish_piece(struct upresp *p)
{
    if (p->last == LAST_NONE)
        return;
    size_t slot = 4 * (p->nfields - 1) + (p->last == LAST_FIELD ? 1 : 3);
    p->offs[slot] = p->used;
    p->store[p->used++] = '\0';
}

static int on_message_begin(http_parser *hp)
{
    struct upresp *p = hp->data;
    p->used = 0;
    p->head_bytes = 0;
    p->nfields = 0;
    p->last = LAST_NONE;
    return 0;
}

static int on_status(http_parser *hp, const char *at, size_t len)
{
    struct upresp *p = hp->data;
    p->head_bytes += len; /* the reason phrase is not kept, but counted */
    return p->head_bytes > p->max_head ? fail(p) : 0;
}

static int on_header_field(http_parser *hp, const char *at, size_t len)
{
    struct upresp *p = hp->data;
    if (p->head_done)
        return 0; /* trailers are dropped */
    if (p->last != LAST_FIELD) {
        finish_piece(p);
        if (p->last == LAST_FIELD || p->nfields == p->max_headers)
            return fail(p);
        p->nfields++;
        p->offs[4 * (p->nfields - 1)] = p->used;
        p->offs[4 * (p->nfields - 1) + 2] = p->offs[4 * (p->nfields - 1) + 3] = 0;
        p->last = LAST_FIELD;
    }
    return store_piece(p, at, len);
}

static int on_header_value(http_parser *hp, const char *at, size_t len)
{
    struct upresp *p = hp->data;
    if (p->head_done)
        return 0;
    if (p->last != LAST_VALUE) {
        if (p->last != LAST_FIELD)
            return fail(p);
        finish_piece(p);
        p->offs[4 * (p->nfields - 1) + 2] = p->used;
        p->last = LAST_VALUE;
    }
    return store_piece(p, at, len);
}

static bool name_ok(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              strchr("!#$%&'*+-.^_`|~", *s)))
            return false; /* RFC 9110 token characters only */
    return true;
}

static bool field_text_ok(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 && *s != '\t')
            return false; /* http-parser lets some controls through; a response head must not */
    return true;
}

/* Builds the header array; a name without a value gets "" (a field with an empty value). */
static int build_headers(struct upresp *p)
{
    finish_piece(p);
    if (p->last == LAST_FIELD) { /* "Name:" with nothing after: empty value */
        p->offs[4 * (p->nfields - 1) + 2] = p->offs[4 * (p->nfields - 1) + 1];
        p->offs[4 * (p->nfields - 1) + 3] = p->offs[4 * (p->nfields - 1) + 1];
    }
    for (unsigned i = 0; i < p->nfields; i++) {
        struct http_header *h = &p->hdr[i];
        h->name = p->store + p->offs[4 * i];
        h->name_len = p->offs[4 * i + 1] - p->offs[4 * i];
        h->value = p->store + p->offs[4 * i + 2];
        h->value_len = p->offs[4 * i + 3] - p->offs[4 * i + 2];
        /* trim blanks http-parser left around the value */
        while (h->value_len && (h->value[h->value_len - 1] == ' ' ||
                                h->value[h->value_len - 1] == '\t'))
            ((char *)h->value)[--h->value_len] = '\0';
        while (h->value_len && (h->value[0] == ' ' || h->value[0] == '\t'))
            h->value++, h->value_len--;
        if (h->name_len == 0 || !name_ok(h->name) || !field_text_ok(h->value))
            return -1;
    }
    return 0;
}

static int on_headers_complete(http_parser *hp)
{
    struct upresp *p = hp->data;
    if (build_headers(p) < 0)
        return fail(p);
    int status = (int)hp->status_code;
    if (status < 100 || status > 999 || hp->http_major != 1)
        return fail(p);
    if (status < 200 && status != 101)
        return 1; /* interim (100 Continue, 103 Early Hints): skipped, the next head follows */
    bool chunked = false;
    int64_t cl = -1;
    for (unsigned i = 0; i < p->nfields; i++) {
        if (strcasecmp(p->hdr[i].name, "Transfer-Encoding") == 0)
            chunked = true; /* http-parser frames it; only "chunked" last is valid there */
        if (strcasecmp(p->hdr[i].name, "Content-Length") == 0 && !chunked)
            cl = (int64_t)hp->content_length;
    }
    if (chunked)
        cl = -1;
    struct upresp_head h = { .status = status, .major = hp->http_major, .minor = hp->http_minor,
                             .headers = p->hdr, .nheaders = p->nfields, .content_length = cl,
                             .chunked = chunked, .keep_alive = http_should_keep_alive(hp) != 0 };
    p->head_done = true;
    if (status == 101) {
        p->upgraded = true;
        h.keep_alive = false;
    }
    int r = p->ops->on_head(p->ud, &h);
    if (r < 0) {
        p->cb_err = r;
        return fail(p);
    }
    if (status == 101)
        return 2; /* nothing of HTTP follows on this connection */
    /* HEAD, 204 and 304 never have a body, whatever their Content-Length says */
    return p->head_request || status == 204 || status == 304 ? 1 : 0;
}

static int on_body(http_parser *hp, const char *at, size_t len)
{
    struct upresp *p = hp->data;
    int r = p->ops->on_body(p->ud, (const uint8_t *)at, len);
    if (r < 0) {
        p->cb_err = r;
        return fail(p);
    }
    return 0;
}

static int on_message_complete(http_parser *hp)
{
    struct upresp *p = hp->data;
    if (!p->head_done)
        return 0; /* an interim 1xx ended */
    if (p->upgraded)
        return 0;
    p->msg_done = true;
    p->ops->on_done(p->ud);
    http_parser_pause(hp, 1); /* what follows is not ours to read */
    return 0;
}

int upresp_init(struct upresp *p, bool head_request, size_t max_head, unsigned max_headers,
                const struct upresp_ops *ops, void *ud)
{
    memset(p, 0, sizeof(*p));
    p->max_head = max_head;
    p->max_headers = max_headers;
    p->ops = ops;
    p->ud = ud;
    p->store = malloc(max_head + 2 * (size_t)max_headers + 1);
    p->hdr = calloc(max_headers ? max_headers : 1, sizeof(*p->hdr));
    p->offs = calloc(max_headers ? 4 * (size_t)max_headers : 1, sizeof(*p->offs));
    if (!p->store || !p->hdr || !p->offs) {
        upresp_release(p);
        return -ENOMEM;
    }
    http_parser_settings_init(&p->settings);
    p->settings.on_message_begin = on_message_begin;
    p->settings.on_status = on_status;
    p->settings.on_header_field = on_header_field;
    p->settings.on_header_value = on_header_value;
    p->settings.on_headers_complete = on_headers_complete;
    p->settings.on_body = on_body;
    p->settings.on_message_complete = on_message_complete;
    upresp_reset(p, head_request);
    return 0;
}

void upresp_reset(struct upresp *p, bool head_request)
{
    http_parser_init(&p->hp, HTTP_RESPONSE);
    p->hp.data = p;
    p->head_request = head_request;
    p->used = p->head_bytes = 0;
    p->nfields = 0;
    p->last = LAST_NONE;
    p->head_done = p->msg_done = p->upgraded = p->failed = false;
    p->cb_err = 0;
}

void upresp_release(struct upresp *p)
{
    free(p->store);
    free(p->hdr);
    free(p->offs);
    p->store = NULL;
    p->hdr = NULL;
    p->offs = NULL;
}

int upresp_feed(struct upresp *p, const uint8_t *data, size_t len, size_t *ret_used)
{
    *ret_used = 0;
    if (p->failed)
        return -EBADMSG;
    if (p->msg_done || p->upgraded) {
        return p->upgraded ? UPRESP_UPGRADE : UPRESP_DONE;
    }
    size_t n = http_parser_execute(&p->hp, &p->settings, (const char *)data, len);
    *ret_used = n;
    enum http_errno e = HTTP_PARSER_ERRNO(&p->hp);
    if (p->failed || (e != HPE_OK && e != HPE_PAUSED))
        return p->cb_err < 0 ? p->cb_err : -EBADMSG;
    if (p->upgraded)
        return UPRESP_UPGRADE;
    if (p->msg_done)
        return UPRESP_DONE;
    if (n != len)
        return -EBADMSG;
    if (!p->head_done && p->head_bytes > p->max_head)
        return -EBADMSG;
    return UPRESP_MORE;
}

int upresp_eof(struct upresp *p)
{
    if (p->msg_done)
        return UPRESP_DONE;
    if (p->failed || !p->head_done || p->upgraded)
        return -EBADMSG;
    (void)http_parser_execute(&p->hp, &p->settings, NULL, 0);
    if (p->failed)
        return p->cb_err < 0 ? p->cb_err : -EBADMSG;
    return p->msg_done ? UPRESP_DONE : -EBADMSG;
}
