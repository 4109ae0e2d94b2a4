/* SPDX-License-Identifier: MIT */
/* test_upstream_resp.c: the guest response parser (daemon/ingress/upstream_resp.h): lengths,
 * chunked, close-delimited, HEAD, 1xx skipped, 204/304, 101 with bytes after it, keep-alive,
 * every byte boundary, and the hostile cases: endless or oversized heads, too many fields,
 * control bytes, bad framing, a body longer than declared. */
#include "daemon/ingress/upstream_resp.h"
#include "harness.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* REQUIRE for void test bodies */
#define MUST(cond)                                                                               \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            harness_fail(__FILE__, __LINE__, "MUST(%s)", #cond);                                 \
            return;                                                                              \
        }                                                                                        \
    } while (0)

struct seen {
    int heads, status, done;
    int64_t cl;
    bool chunked, keep_alive;
    char body[4096];
    size_t body_len;
    char ctype[64];
};

static int on_head(void *ud, const struct upresp_head *h)
{
    struct seen *s = ud;
    s->heads++;
    s->status = h->status;
    s->cl = h->content_length;
    s->chunked = h->chunked;
    s->keep_alive = h->keep_alive;
    for (unsigned i = 0; i < h->nheaders; i++)
        if (strcmp(h->headers[i].name, "Content-Type") == 0)
            snprintf(s->ctype, sizeof(s->ctype), "%s", h->headers[i].value);
    return 0;
}

static int on_body(void *ud, const uint8_t *p, size_t len)
{
    struct seen *s = ud;
    if (s->body_len + len < sizeof(s->body)) {
        memcpy(s->body + s->body_len, p, len);
        s->body_len += len;
    }
    return 0;
}

static void on_done(void *ud)
{
    ((struct seen *)ud)->done++;
}

static const struct upresp_ops ops = { on_head, on_body, on_done };

/* Feeds text in pieces of step bytes; the last result and the bytes consumed in total. */
static int feed(const char *text, size_t len, bool head_req, size_t step, struct seen *s,
                size_t *used_total, size_t max_head)
{
    struct upresp p;
    memset(s, 0, sizeof(*s));
    if (upresp_init(&p, head_req, max_head, 16, &ops, s) < 0)
        return -ENOMEM;
    size_t off = 0;
    int r = UPRESP_MORE;
    while (off < len) {
        size_t n = len - off < step ? len - off : step, used = 0;
        r = upresp_feed(&p, (const uint8_t *)text + off, n, &used);
        off += used;
        if (r != UPRESP_MORE)
            break;
    }
    *used_total = off;
    upresp_release(&p);
    return r;
}

TEST(upresp_framings_at_every_step)
{
    static const struct { const char *text; bool head; int ret; int status; const char *body;
                          bool ka; } cases[] = {
        { "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello",
          false, UPRESP_DONE, 200, "hello", true },
        { "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0"
          "\r\nX-Trailer: 1\r\n\r\n", false, UPRESP_DONE, 200, "abcde", true },
        { "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early\r\nLink: x\r\n\r\nHTTP/1.1 201 "
          "Created\r\nContent-Length: 2\r\n\r\nok", false, UPRESP_DONE, 201, "ok", true },
        { "HTTP/1.1 204 No Content\r\n\r\n", false, UPRESP_DONE, 204, "", true },
        { "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", false, UPRESP_DONE, 304,
          "", true },
        { "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", true, UPRESP_DONE, 200, "", true },
        { "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", false,
          UPRESP_DONE, 200, "x", false },
        { "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", false, UPRESP_DONE, 200, "x",
          false },
        { "HTTP/1.1 200 OK\r\n\r\nuntil close", false, UPRESP_MORE, 200, "until close",
          false },
        { "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          "\r\n", false, UPRESP_UPGRADE, 101, "", false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (size_t step = 1; step <= strlen(cases[i].text); step++) {
            struct seen s;
            size_t used;
            int r = feed(cases[i].text, strlen(cases[i].text), cases[i].head, step, &s, &used,
                         4096);
            if (r != cases[i].ret || s.status != cases[i].status ||
                strcmp(s.body, cases[i].body) != 0 || s.heads != 1 ||
                (r == UPRESP_DONE && s.done != 1) || s.keep_alive != cases[i].ka) {
                harness_fail(__FILE__, __LINE__,
                             "case %zu step %zu: r=%d status=%d heads=%d done=%d body='%s' "
                             "ka=%d", i, step, r, s.status, s.heads, s.done, s.body,
                             s.keep_alive);
                break;
            }
        }
    }
}

TEST(upresp_stops_at_message_end_and_after_101)
{
    const char *t = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA";
    struct seen s;
    size_t used;
    CHECK_EQ(feed(t, strlen(t), false, 1000, &s, &used, 4096), UPRESP_DONE);
    CHECK_EQ(used, strlen(t) - 5);
    const char *u = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n\x81\x02hi";
    CHECK_EQ(feed(u, strlen(u), false, 1000, &s, &used, 4096), UPRESP_UPGRADE);
    CHECK_EQ(used, strlen(u) - 4);
}

TEST(upresp_eof_ends_close_delimited_only)
{
    struct upresp p;
    struct seen s = { 0 };
    size_t used;
    MUST(upresp_init(&p, false, 4096, 16, &ops, &s) == 0);
    const char *t = "HTTP/1.1 200 OK\r\n\r\nabc";
    CHECK_EQ(upresp_feed(&p, (const uint8_t *)t, strlen(t), &used), UPRESP_MORE);
    CHECK_EQ(upresp_eof(&p), UPRESP_DONE);
    CHECK_EQ(s.done, 1);
    upresp_reset(&p, false);
    const char *c = "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc";
    CHECK_EQ(upresp_feed(&p, (const uint8_t *)c, strlen(c), &used), UPRESP_MORE);
    CHECK_EQ(upresp_eof(&p), -EBADMSG);
    upresp_reset(&p, false);
    CHECK_EQ(upresp_eof(&p), -EBADMSG); /* nothing at all */
    upresp_reset(&p, false);
    const char *h = "HTTP/1.1 200 OK\r\nContent-Le";
    CHECK_EQ(upresp_feed(&p, (const uint8_t *)h, strlen(h), &used), UPRESP_MORE);
    CHECK_EQ(upresp_eof(&p), -EBADMSG);
    upresp_release(&p);
}

TEST(upresp_hostile_heads)
{
    static const char *const bad[] = {
        "HTTP/1.1 200 OK\r\nX: a\x01" "b\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 099 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
        "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\n",
        "SSH-2.0-OpenSSH\r\n\r\n",
        "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n",
        "HTTP/9.9 200 OK\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct seen s;
        size_t used;
        int r = feed(bad[i], strlen(bad[i]), false, 1000, &s, &used, 4096);
        if (r >= 0)
            harness_fail(__FILE__, __LINE__, "case %zu: accepted (%d, %d heads)", i, r, s.heads);
    }
}

TEST(upresp_head_limits)
{
    /* endless head: one header growing forever stops at the limit, not at the end of memory */
    size_t n = 1 << 20;
    char *big = malloc(n);
    MUST(big);
    memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
    memset(big + 20, 'a', n - 20);
    struct seen s;
    size_t used;
    CHECK_EQ(feed(big, n, false, 4096, &s, &used, 8192), -EBADMSG);
    CHECK(used <= 8192 + 4096);
    /* many fields */
    char many[4096] = "HTTP/1.1 200 OK\r\n";
    for (int i = 0; i < 40; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "X-%d: v\r\n", i);
    strcat(many, "\r\n");
    CHECK_EQ(feed(many, strlen(many), false, 4096, &s, &used, 8192), -EBADMSG);
    /* endless interim 1xx answers cost no memory (the 504 timer ends them) */
    const char *one = "HTTP/1.1 100 Continue\r\n\r\n";
    size_t ol = strlen(one), total = ol * 2000;
    char *rep = malloc(total);
    MUST(rep);
    for (size_t i = 0; i < 2000; i++)
        memcpy(rep + i * ol, one, ol);
    CHECK_EQ(feed(rep, total, false, 777, &s, &used, 8192), UPRESP_MORE);
    CHECK_EQ(s.heads, 0);
    free(rep);
    free(big);
}
