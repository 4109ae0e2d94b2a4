/* SPDX-License-Identifier: MIT */
/* test_auth_limit.c: the failed-credential limiter (ctl/auth_limit.h) on a fake clock: more
 * than AUTH_LIMIT_FAILURES failures within the window limit a source for AUTH_LIMIT_BLOCK_S
 * seconds with a Retry-After that counts down; failures spread over windows never limit; IPv4,
 * an IPv6 /64 and IPv4-mapped IPv6 are each one source; other families and NULL are ignored;
 * the table stays bounded and forgets the oldest source first. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "common/buf.h"
#include "daemon/ctl/auth_limit.h"
#include "daemon/ctl/ctl.h"
#include "harness.h"

static int64_t fake_us;
static int64_t fake_now(void)
{
    return fake_us;
}

static struct sockaddr_storage v4(const char *ip)
{
    struct sockaddr_storage ss = { 0 };
    struct sockaddr_in *s = (struct sockaddr_in *)&ss;
    s->sin_family = AF_INET;
    s->sin_port = htons(40000);
    inet_pton(AF_INET, ip, &s->sin_addr);
    return ss;
}

static struct sockaddr_storage v6(const char *ip)
{
    struct sockaddr_storage ss = { 0 };
    struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
    s->sin6_family = AF_INET6;
    inet_pton(AF_INET6, ip, &s->sin6_addr);
    return ss;
}

#define SA(ss) ((const struct sockaddr *)&(ss))

static bool setup(struct ctl *c)
{
    ctl_init(c);
    fake_us = 1000000000;
    REQUIRE(ctl_auth_limit_set_clock(c, fake_now) == 0);
    return true;
}

TEST(limit_after_too_many_failures_then_lift)
{
    struct ctl c;
    if (!setup(&c))
        return;
    struct sockaddr_storage a = v4("192.0.2.7"), b = v4("192.0.2.8");
    for (int i = 0; i < AUTH_LIMIT_FAILURES; i++) {
        CHECK(!ctl_auth_limited(&c, CTL_AUTH_API, SA(a)));
        ctl_auth_failed(&c, CTL_AUTH_API, SA(a));
        fake_us += 1000000;
    }
    CHECK(!ctl_auth_limited(&c, CTL_AUTH_API, SA(a))); /* exactly the allowance: still fine */
    ctl_auth_failed(&c, CTL_AUTH_API, SA(a));
    CHECK(ctl_auth_limited(&c, CTL_AUTH_API, SA(a)));
    CHECK_EQ(ctl_auth_retry_after(&c, CTL_AUTH_API, SA(a)), AUTH_LIMIT_BLOCK_S);
    CHECK(!ctl_auth_limited(&c, CTL_AUTH_API, SA(b))); /* another address is not affected */
    fake_us += 59500000;
    CHECK_EQ(ctl_auth_retry_after(&c, CTL_AUTH_API, SA(a)), 1);
    fake_us += 500000;
    CHECK(!ctl_auth_limited(&c, CTL_AUTH_API, SA(a)));
    /* counted afresh after the block */
    ctl_auth_failed(&c, CTL_AUTH_API, SA(a));
    CHECK(!ctl_auth_limited(&c, CTL_AUTH_API, SA(a)));
    ctl_auth_limit_release(&c);
}

TEST(slow_failures_never_limit)
{
    struct ctl c;
    if (!setup(&c))
        return;
    struct sockaddr_storage a = v4("198.51.100.1");
    for (int i = 0; i < 200; i++) {
        ctl_auth_failed(&c, CTL_AUTH_API, SA(a));
        CHECK(!ctl_auth_limited(&c, CTL_AUTH_API, SA(a)));
        fake_us += (int64_t)AUTH_LIMIT_WINDOW_S * 1000000 / AUTH_LIMIT_FAILURES + 1000;
    }
    ctl_auth_limit_release(&c);
}

TEST(sources_ipv6_per_64_mapped_v4_and_ignored_families)
{
    struct ctl c;
    if (!setup(&c))
        return;
    struct sockaddr_storage p1 = v6("2001:db8:1:2::1"), p2 = v6("2001:db8:1:2:ffff::9"),
                            other = v6("2001:db8:1:3::1"), m = v6("::ffff:192.0.2.50"),
                            plain = v4("192.0.2.50");
    for (int i = 0; i <= AUTH_LIMIT_FAILURES; i++)
        ctl_auth_failed(&c, CTL_AUTH_API, i % 2 ? SA(p1) : SA(p2)); /* one /64 */
    CHECK(ctl_auth_limited(&c, CTL_AUTH_API, SA(p1)));
    CHECK(ctl_auth_limited(&c, CTL_AUTH_API, SA(p2)));
    CHECK(!ctl_auth_limited(&c, CTL_AUTH_API, SA(other)));
    for (int i = 0; i <= AUTH_LIMIT_FAILURES; i++)
        ctl_auth_failed(&c, CTL_AUTH_API, SA(m));
    CHECK(ctl_auth_limited(&c, CTL_AUTH_API, SA(plain))); /* the same host over v4 */

    struct sockaddr_un un = { .sun_family = AF_UNIX };
    for (int i = 0; i <= 3 * AUTH_LIMIT_FAILURES; i++) {
        ctl_auth_failed(&c, CTL_AUTH_API, (const struct sockaddr *)&un);
        ctl_auth_failed(&c, CTL_AUTH_API, NULL);
    }
    CHECK(!ctl_auth_limited(&c, CTL_AUTH_API, (const struct sockaddr *)&un));
    CHECK(!ctl_auth_limited(&c, CTL_AUTH_API, NULL));
    ctl_auth_limit_release(&c);
    /* no table yet: nothing is limited, nothing allocated by a question */
    struct ctl fresh;
    ctl_init(&fresh);
    CHECK(!ctl_auth_limited(&fresh, CTL_AUTH_API, SA(plain)));
    CHECK(fresh.auth_limit == NULL);
}

TEST(table_is_bounded_and_forgets_the_oldest_first)
{
    struct ctl c;
    if (!setup(&c))
        return;
    struct sockaddr_storage first = v4("10.0.0.1");
    for (int i = 0; i <= AUTH_LIMIT_FAILURES; i++)
        ctl_auth_failed(&c, CTL_AUTH_API, SA(first));
    CHECK(ctl_auth_limited(&c, CTL_AUTH_API, SA(first)));
    /* as many new sources as the table holds, each failing once, minus one: first stays */
    for (unsigned i = 0; i < AUTH_LIMIT_ENTRIES - 1; i++) {
        struct sockaddr_storage s = { 0 };
        struct sockaddr_in *s4 = (struct sockaddr_in *)&s;
        s4->sin_family = AF_INET;
        s4->sin_addr.s_addr = htonl(0x0b000000u + i);
        ctl_auth_failed(&c, CTL_AUTH_API, SA(s));
    }
    CHECK(ctl_auth_limited(&c, CTL_AUTH_API, SA(first)));
    struct sockaddr_storage one_more = v4("12.0.0.1");
    ctl_auth_failed(&c, CTL_AUTH_API, SA(one_more));
    CHECK(!ctl_auth_limited(&c, CTL_AUTH_API, SA(first))); /* the oldest was forgotten */
    /* the newest sources are all still counted */
    struct sockaddr_storage last = { 0 };
    struct sockaddr_in *l4 = (struct sockaddr_in *)&last;
    l4->sin_family = AF_INET;
    l4->sin_addr.s_addr = htonl(0x0b000000u + AUTH_LIMIT_ENTRIES - 2);
    for (int i = 0; i < AUTH_LIMIT_FAILURES; i++)
        ctl_auth_failed(&c, CTL_AUTH_API, SA(last));
    CHECK(ctl_auth_limited(&c, CTL_AUTH_API, SA(last)));
    ctl_auth_limit_release(&c);
}

/* The metrics (docs/operations.md "Metrics"): failures and refusals by the edge that reported
 * them, and the sources limited now, which drops when a block ends. */
static char *render(struct ctl *c)
{
    struct buf b;
    buf_init(&b, 1u << 20);
    if (ctl_auth_limit_render(c, &b) < 0) { /* the caller's REQUIRE fails on NULL */
        buf_release(&b);
        return NULL;
    }
    size_t len;
    return (char *)buf_take(&b, &len);
}

TEST(render_counts_by_edge)
{
    struct ctl fresh;
    ctl_init(&fresh);
    char *s = render(&fresh); /* nothing ever failed: zeros, and no table made */
    CHECK(s != NULL);
    if (!s)
        return;
    CHECK(strstr(s, "hearth_auth_failures_total{edge=\"api\"} 0\n"));
    CHECK(strstr(s, "hearth_auth_limited_sources 0\n"));
    CHECK(fresh.auth_limit == NULL);
    free(s);

    struct ctl c;
    if (!setup(&c))
        return;
    struct sockaddr_storage a = v4("192.0.2.1"), b = v4("192.0.2.2");
    for (int i = 0; i <= AUTH_LIMIT_FAILURES; i++)
        ctl_auth_failed(&c, CTL_AUTH_SSH, SA(a)); /* a is limited now */
    ctl_auth_failed(&c, CTL_AUTH_INGRESS, SA(b));
    ctl_auth_failed(&c, CTL_AUTH_API, SA(b));
    ctl_auth_failed(&c, CTL_AUTH_API, NULL);      /* not a source: not counted */
    CHECK(ctl_auth_limited(&c, CTL_AUTH_SSH, SA(a)));
    CHECK(ctl_auth_retry_after(&c, CTL_AUTH_API, SA(a)) > 0);
    CHECK(!ctl_auth_limited(&c, CTL_AUTH_INGRESS, SA(b))); /* not limited: not counted */
    s = render(&c);
    CHECK(s != NULL);
    if (!s)
        return;
    CHECK_STR(s, "# HELP hearth_auth_failures_total Failed credentials, by edge.\n"
                 "# TYPE hearth_auth_failures_total counter\n"
                 "hearth_auth_failures_total{edge=\"api\"} 1\n"
                 "hearth_auth_failures_total{edge=\"ingress\"} 1\n"
                 "hearth_auth_failures_total{edge=\"ssh\"} 11\n"
                 "# HELP hearth_auth_limited_total Attempts refused unchecked because their "
                 "source failed too often, by edge.\n"
                 "# TYPE hearth_auth_limited_total counter\n"
                 "hearth_auth_limited_total{edge=\"api\"} 1\n"
                 "hearth_auth_limited_total{edge=\"ingress\"} 0\n"
                 "hearth_auth_limited_total{edge=\"ssh\"} 1\n"
                 "# HELP hearth_auth_limited_sources Source addresses (an IPv6 /64 each) "
                 "limited now.\n"
                 "# TYPE hearth_auth_limited_sources gauge\n"
                 "hearth_auth_limited_sources 1\n");
    free(s);
    fake_us += (int64_t)AUTH_LIMIT_BLOCK_S * 1000000;
    s = render(&c);
    CHECK(s != NULL);
    if (!s)
        return;
    CHECK(strstr(s, "hearth_auth_limited_sources 0\n"));
    CHECK(strstr(s, "hearth_auth_failures_total{edge=\"ssh\"} 11\n")); /* counters stay */
    free(s);
    ctl_auth_limit_release(&c);
}
