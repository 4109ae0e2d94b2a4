/* SPDX-License-Identifier: MIT */
/* fuzz_http_request.c: libFuzzer driver for the HTTP request parser (parser.h) and the
 * target decoding that follows it (route.h). The first input byte picks the feed step, so
 * messages are also split at odd boundaries; the rest is a stream of pipelined messages.
 * Run: make fuzz FUZZ_TARGETS=http_request (docs/testing.md "Fuzzing"). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "daemon/http/parser.h"
#include "daemon/http/route.h"

static int on_body(void *ud, const uint8_t *p, size_t len)
{
    size_t *total = ud;
    *total += len;
    /* touch every byte so ASan sees out-of-range pieces */
    volatile uint8_t x = 0;
    for (size_t i = 0; i < len; i++)
        x ^= p[i];
    (void)x;
    return (*total & 7) == 3; /* pause now and then */
}

static void check_head(const struct http_head *h)
{
    const char *t = h->target;
    size_t plen = strcspn(t, "?#");
    struct http_path path;
    if (http_path_parse(t, plen, &path) == 0)
        http_path_release(&path);
    if (t[plen] == '?') {
        struct http_query q;
        if (http_query_parse(t + plen + 1, strcspn(t + plen + 1, "#"), &q) == 0) {
            bool b;
            int64_t v;
            (void)!http_query_get_bool(&q, "stream", false, &b);
            (void)!http_query_get_int(&q, "limit", 0, &v);
            http_query_release(&q);
        }
    }
    for (unsigned i = 0; i < h->nheaders; i++)
        if (strlen(h->headers[i].value) != h->headers[i].value_len)
            __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = (size_t)data[0] + 1;
    data++;
    size--;
    size_t total = 0;
    struct http_reqparser p;
    if (http_reqparser_init(&p, 8192, 32, on_body, &total) < 0)
        return 0;
    size_t off = 0;
    for (int guard = 0; guard < 100000; guard++) {
        size_t n = size - off < step ? size - off : step;
        size_t used = 0;
        struct http_parse_err err;
        int r = http_reqparser_feed(&p, data + off, n, &used, &err);
        if (used > n)
            __builtin_trap(); /* consumed more than it was given */
        off += used;
        if (r == -EBADMSG) {
            if (err.status < 400 || err.status > 599)
                __builtin_trap();
            break;
        }
        if (r == HTTP_PARSE_HEAD) {
            struct http_head *h = http_reqparser_take_head(&p);
            check_head(h);
            http_head_free(h);
        } else if (r == HTTP_PARSE_DONE) {
            if (http_reqparser_reset(&p) < 0)
                break;
        } else if (r == -EAGAIN) {
            if (used != n)
                __builtin_trap(); /* "need more" must have taken everything */
            if (off == size)
                break;
        }
    }
    http_reqparser_release(&p);
    return 0;
}
