/* SPDX-License-Identifier: MIT */
/* test_parser.c: the request parser through parser.h: heads and bodies split at every byte
 * give the same result, pipelined messages stop at their boundary, and hostile input is
 * refused with the right status while "need more" stays distinct from "malformed". */
#include "daemon/http/parser.h"
#include "harness.h"

#include <errno.h>
#include <stdlib.h>

struct sink {
    char body[4096];
    size_t len;
    bool pause_each;
};

static int on_body(void *ud, const uint8_t *p, size_t len)
{
    struct sink *s = ud;
    if (s->len + len < sizeof(s->body)) {
        memcpy(s->body + s->len, p, len);
        s->len += len;
    }
    return s->pause_each ? 1 : 0;
}

/* Feeds msg in pieces of at most step bytes; returns the final result, the head in *ret_head
 * and the number of bytes consumed in *ret_used. */
static int run(const char *msg, size_t len, size_t step, struct sink *s, struct http_head **ret_head,
               size_t *ret_used, struct http_parse_err *err)
{
    struct http_reqparser p;
    if (http_reqparser_init(&p, 1024, 16, on_body, s) < 0)
        return -ENOMEM;
    size_t off = 0;
    int r = -EAGAIN;
    *ret_head = NULL;
    while (off < len || r == HTTP_PARSE_HEAD || r == HTTP_PARSE_PAUSED) {
        size_t n = len - off < step ? len - off : step;
        size_t used = 0;
        r = http_reqparser_feed(&p, (const uint8_t *)msg + off, n, &used, err);
        if (used > n) {
            r = -ERANGE; /* read past len: must never happen */
            break;
        }
        off += used;
        if (r == HTTP_PARSE_HEAD)
            *ret_head = http_reqparser_take_head(&p);
        if (r == HTTP_PARSE_DONE || r == -EBADMSG)
            break;
        if (r == -EAGAIN && used != n) {
            r = -EPROTO;
            break;
        }
    }
    *ret_used = off;
    http_reqparser_release(&p);
    return r;
}

TEST(parser_split_at_every_byte)
{
    static const char msg[] = "POST /v1/x?y=1 HTTP/1.1\r\nHost: h\r\nX-A:  spaced value \t\r\n"
                              "Transfer-Encoding: chunked\r\n\r\n"
                              "4\r\nwiki\r\n5;name=val\r\npedia\r\n0\r\nT: t\r\n\r\n"
                              "GET /next HTTP/1.1\r\n\r\n";
    size_t total = sizeof(msg) - 1, first = strstr(msg, "GET /next") - msg;
    for (size_t step = 1; step <= total; step++) {
        struct sink s = { .len = 0 };
        struct http_head *h;
        size_t used;
        struct http_parse_err err;
        int r = run(msg, total, step, &s, &h, &used, &err);
        CHECK_EQ(r, HTTP_PARSE_DONE);
        CHECK_EQ(used, first); /* stops at the message boundary */
        CHECK(h);
        CHECK_STR(h->target, "/v1/x?y=1");
        CHECK_EQ(h->method, HTTP_POST);
        CHECK_EQ(h->nheaders, 3);
        CHECK_STR(http_head_find(h, "x-a")->value, "spaced value");
        CHECK(h->chunked);
        CHECK_EQ(h->content_length, -1);
        CHECK(h->keep_alive);
        CHECK_EQ(s.len, 9);
        CHECK(memcmp(s.body, "wikipedia", 9) == 0);
        http_head_free(h);
    }
}

TEST(parser_content_length_and_pause)
{
    static const char msg[] = "PUT /f HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789extra";
    struct sink s = { .pause_each = true };
    struct http_head *h;
    size_t used;
    struct http_parse_err err;
    CHECK_EQ(run(msg, sizeof(msg) - 1, 3, &s, &h, &used, &err), HTTP_PARSE_DONE);
    CHECK_EQ(h->content_length, 10);
    CHECK_EQ(s.len, 10);
    CHECK_EQ(used, sizeof(msg) - 1 - 5);
    http_head_free(h);
}

TEST(parser_need_more_is_not_malformed)
{
    static const char *const partial[] = {
        "G", "GET", "GET /", "GET / HTTP/1.1", "GET / HTTP/1.1\r\n", "GET / HTTP/1.1\r\nHost: x",
        "GET / HTTP/1.1\r\nHost: x\r\n", "GET / HTTP/1.1\r\nHost: x\r\n\r",
    };
    for (size_t i = 0; i < sizeof(partial) / sizeof(partial[0]); i++) {
        struct sink s = { 0 };
        struct http_head *h;
        size_t used;
        struct http_parse_err err;
        CHECK_EQ(run(partial[i], strlen(partial[i]), 1000, &s, &h, &used, &err), -EAGAIN);
        CHECK_EQ(used, strlen(partial[i]));
        http_head_free(h);
    }
}

TEST(parser_hostile_input_table)
{
    static const struct { const char *msg; size_t len; int status; } cases[] = {
#define C(s, st) { s, sizeof(s) - 1, st }
        C("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n", 400),
        C("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", 400),
        C("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1;\x01\r\n", 400),
        C("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT\x80: x\r\n\r\n", 400),
        C("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\rX", 400),
        C("GET / HTTP/1.1\r\nA: \x7f\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nA: \x00\r\n\r\n", 400),
        C("GET / HTTP/1.1\r\nA b: c\r\n\r\n", 400),
        C("GET /a b HTTP/1.1\r\n\r\n", 400),
        C("GET * HTTP/1.1\r\n\r\n", 400),
        C("BREW / HTTP/1.1\r\n\r\n", 400),
        C("GET / HTTP/1.2\r\n\r\n", 505),
        C("GET / HTTP/0.9\r\n\r\n", 505),
        C("GET / HTTP/1.1\r\nH1: 1\r\nH2: 1\r\nH3: 1\r\nH4: 1\r\nH5: 1\r\nH6: 1\r\nH7: 1\r\nH8: 1\r\n"
          "H9: 1\r\nH10: 1\r\nH11: 1\r\nH12: 1\r\nH13: 1\r\nH14: 1\r\nH15: 1\r\nH16: 1\r\nH17: 1\r\n\r\n",
          431),
#undef C
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (size_t step = 1; step <= cases[i].len; step += cases[i].len - 1 ? cases[i].len - 1 : 1) {
            struct sink s = { 0 };
            struct http_head *h;
            size_t used;
            struct http_parse_err err = { 0 };
            int r = run(cases[i].msg, cases[i].len, step, &s, &h, &used, &err);
            if (r != -EBADMSG || err.status != cases[i].status) {
                harness_fail(__FILE__, __LINE__, "case %zu step %zu: r %d status %d", i, step, r,
                             err.status);
                http_head_free(h);
                return;
            }
            CHECK(err.msg[0]);
            http_head_free(h);
        }
    }
    /* the head limit (1024 here) counts request line and headers */
    static char big[2048];
    int n = snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nX: ");
    memset(big + n, 'a', sizeof(big) - (size_t)n);
    struct sink s = { 0 };
    struct http_head *h;
    size_t used;
    struct http_parse_err err;
    CHECK_EQ(run(big, sizeof(big), 100, &s, &h, &used, &err), -EBADMSG);
    CHECK_EQ(err.status, 431);
    CHECK(used <= 1025);
}

TEST(parser_http10_and_connection_close)
{
    static const struct { const char *msg; bool keep; bool expect; } cases[] = {
        { "GET / HTTP/1.0\r\n\r\n", false, false },
        { "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", false, false },
        { "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", false, false },
        { "GET / HTTP/1.1\r\n\r\n", true, false },
        { "POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nx", true, true },
        { "POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx", false, false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sink s = { 0 };
        struct http_head *h;
        size_t used;
        struct http_parse_err err;
        CHECK_EQ(run(cases[i].msg, strlen(cases[i].msg), 7, &s, &h, &used, &err), HTTP_PARSE_DONE);
        CHECK_EQ(h->keep_alive, cases[i].keep);
        CHECK_EQ(h->expect_continue, cases[i].expect);
        http_head_free(h);
    }
}
