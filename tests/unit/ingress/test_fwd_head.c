/* SPDX-License-Identifier: MIT */
/* test_fwd_head.c: the request head the ingress proxy sends to a guest
 * (daemon/ingress/fwd_head.h): hop-by-hop headers and those Connection names dropped, the
 * credential header and cookie stripped, X-Forwarded-* appended or set, body framing restated,
 * an upgrade passed on only when asked. */
#include "daemon/ingress/fwd_head.h"
#include "harness.h"

#include <string.h>

#define H(n, v) { n, v, sizeof(n) - 1, sizeof(v) - 1 }

static char *build(const struct fwd_req *r, struct buf *b)
{
    buf_init(b, 1 << 16);
    REQUIRE(fwd_head_build(r, b) == 0);
    REQUIRE(buf_append(b, "", 1) == 0);
    return (char *)b->data;
}

TEST(fwd_head_drops_hop_by_hop_and_credentials)
{
    static const struct http_header hs[] = {
        H("Host", "8080-a.localhost:8081"),
        H("Connection", "keep-alive, X-Secret"),
        H("X-Secret", "per-hop"),
        H("Keep-Alive", "timeout=5"),
        H("Proxy-Authorization", "Basic x"),
        H("TE", "trailers"),
        H("Trailer", "X-T"),
        H("Upgrade", "websocket"),
        H("Expect", "100-continue"),
        H("X-Hearth-Token", "hk_secret"),
        H("Cookie", "a=1; hearth_token=hk_secret; b=2"),
        H("Accept", "*/*"),
        H("X-Forwarded-For", "203.0.113.9"),
        H("X-Forwarded-Proto", "https"),
        H("X-Forwarded-Host", "evil"),
        H("Content-Length", "5"),
    };
    struct fwd_req r = { .method = "POST", .target = "/x?y=1", .headers = hs,
                         .nheaders = sizeof(hs) / sizeof(hs[0]), .client_ip = "127.0.0.1",
                         .content_length = 5 };
    struct buf b;
    char *s = build(&r, &b);
    CHECK(strncmp(s, "POST /x?y=1 HTTP/1.1\r\n", 22) == 0);
    CHECK(strstr(s, "Host: 8080-a.localhost:8081\r\n"));
    CHECK(strstr(s, "Accept: */*\r\n"));
    CHECK(strstr(s, "Cookie: a=1; b=2\r\n"));
    CHECK(strstr(s, "X-Forwarded-For: 203.0.113.9, 127.0.0.1\r\n"));
    CHECK(strstr(s, "X-Forwarded-Proto: http\r\n"));
    CHECK(strstr(s, "X-Forwarded-Host: 8080-a.localhost:8081\r\n"));
    CHECK(strstr(s, "Content-Length: 5\r\n"));
    static const char *const gone[] = { "Connection", "X-Secret", "Keep-Alive", "Proxy-",
                                        "TE:", "Trailer", "Upgrade", "Expect", "hk_secret",
                                        "hearth_token", "evil", "https" };
    for (size_t i = 0; i < sizeof(gone) / sizeof(gone[0]); i++)
        if (strstr(s, gone[i]))
            harness_fail(__FILE__, __LINE__, "%s left in:\n%s", gone[i], s);
    CHECK(strcmp(s + strlen(s) - 4, "\r\n\r\n") == 0);
    buf_release(&b);
}

TEST(fwd_head_upgrade_chunked_and_cookie_only_ours)
{
    static const struct http_header hs[] = {
        H("Host", "80-a.d"),
        H("Connection", "Upgrade"),
        H("Upgrade", "websocket"),
        H("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        H("Cookie", "hearth_token=x"),
    };
    struct fwd_req r = { .method = "GET", .target = "/ws", .headers = hs, .nheaders = 5,
                         .client_ip = "::1", .https = true, .content_length = -1,
                         .upgrade = true };
    struct buf b;
    char *s = build(&r, &b);
    CHECK(strstr(s, "Connection: Upgrade\r\nUpgrade: websocket\r\n"));
    CHECK(strstr(s, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"));
    CHECK(strstr(s, "X-Forwarded-Proto: https\r\n"));
    CHECK(strstr(s, "X-Forwarded-For: ::1\r\n"));
    CHECK(!strstr(s, "Cookie"));
    CHECK(!strstr(s, "Content-Length"));
    buf_release(&b);

    r.upgrade = false;
    r.chunked = true;
    s = build(&r, &b);
    CHECK(!strstr(s, "Upgrade"));
    CHECK(strstr(s, "Transfer-Encoding: chunked\r\n"));
    buf_release(&b);
}

TEST(fwd_cookie_find_values)
{
    size_t n = 0;
    const char *v = fwd_cookie_find("a=1; hearth_token=hk_x; b=2", "hearth_token", &n);
    CHECK(v && n == 4 && strncmp(v, "hk_x", 4) == 0);
    CHECK(fwd_cookie_find("xhearth_token=1", "hearth_token", &n) == NULL);
    CHECK(fwd_cookie_find("hearth_token", "hearth_token", &n) == NULL);
    CHECK(fwd_cookie_find("", "hearth_token", &n) == NULL);
}
