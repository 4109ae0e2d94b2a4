/* SPDX-License-Identifier: MIT */
/* auth_limit.c: failed-credential counting per source address (auth_limit.h). A fixed table of
 * AUTH_LIMIT_ENTRIES sources, found through a hash (seeded at random, so nobody can aim many
 * sources at one chain) and kept in least-recently-failed order, so a flood of new sources only
 * pushes out the oldest ones. Allocated at the first failure; nothing is ever logged. */
#include "daemon/ctl/auth_limit.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <xxhash.h>

#include "common/buf.h"
#include "common/mono.h"
#include "daemon/ctl/ctl.h"

#define N_BUCKETS 1024 /* a power of two */
#define KEY_LEN 9      /* family byte and 4 (IPv4) or 8 (an IPv6 /64) address bytes */
#define NONE (-1)

struct source {
    uint8_t key[KEY_LEN];
    bool used;
    int32_t chain;            /* next in the hash bucket */
    int32_t older, newer;     /* the order of last failure */
    int64_t window_start_us;  /* the current window's first failure */
    uint32_t failures;        /* in the current window */
    int64_t limited_until_us; /* 0: not limited */
};

struct ctl_auth_limit {
    struct source src[AUTH_LIMIT_ENTRIES];
    int32_t bucket[N_BUCKETS];
    int32_t oldest, newest;   /* the order's ends; NONE when empty */
    uint32_t used;
    uint64_t seed;
    int64_t (*now_us)(void);
    /* the operator metrics, per edge: counted here because every edge reports here */
    uint64_t failures[CTL_AUTH_EDGES], limited[CTL_AUTH_EDGES];
};

static int64_t real_now_us(void)
{
    return mono_now_us();
}

static struct ctl_auth_limit *table_get(struct ctl *c)
{
    if (c->auth_limit)
        return c->auth_limit;
    struct ctl_auth_limit *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    for (size_t i = 0; i < N_BUCKETS; i++)
        t->bucket[i] = NONE;
    t->oldest = t->newest = NONE;
    t->now_us = real_now_us;
    /* (void): without entropy the seed is 0, which only makes collisions predictable */
    (void)getrandom(&t->seed, sizeof(t->seed), GRND_NONBLOCK);
    c->auth_limit = t;
    return t;
}

/* The source key of peer; false for a family we do not count. */
static bool source_key(const struct sockaddr *peer, uint8_t key[KEY_LEN])
{
    memset(key, 0, KEY_LEN);
    if (!peer)
        return false;
    if (peer->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)peer;
        key[0] = 4;
        memcpy(key + 1, &s4->sin_addr, 4);
        return true;
    }
    if (peer->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)peer;
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
            key[0] = 4;
            memcpy(key + 1, s6->sin6_addr.s6_addr + 12, 4);
        } else {
            key[0] = 6;
            memcpy(key + 1, s6->sin6_addr.s6_addr, 8); /* the /64 */
        }
        return true;
    }
    return false;
}

static uint32_t bucket_of(const struct ctl_auth_limit *t, const uint8_t key[KEY_LEN])
{
    return (uint32_t)XXH64(key, KEY_LEN, t->seed) & (N_BUCKETS - 1);
}

static int32_t find(const struct ctl_auth_limit *t, const uint8_t key[KEY_LEN])
{
    for (int32_t i = t->bucket[bucket_of(t, key)]; i != NONE; i = t->src[i].chain)
        if (memcmp(t->src[i].key, key, KEY_LEN) == 0)
            return i;
    return NONE;
}

static void order_unlink(struct ctl_auth_limit *t, int32_t i)
{
    struct source *s = &t->src[i];
    if (s->older != NONE)
        t->src[s->older].newer = s->newer;
    else
        t->oldest = s->newer;
    if (s->newer != NONE)
        t->src[s->newer].older = s->older;
    else
        t->newest = s->older;
    s->older = s->newer = NONE;
}

static void order_push_newest(struct ctl_auth_limit *t, int32_t i)
{
    struct source *s = &t->src[i];
    s->older = t->newest;
    s->newer = NONE;
    if (t->newest != NONE)
        t->src[t->newest].newer = i;
    else
        t->oldest = i;
    t->newest = i;
}

static void chain_unlink(struct ctl_auth_limit *t, int32_t i)
{
    int32_t *p = &t->bucket[bucket_of(t, t->src[i].key)];
    while (*p != NONE && *p != i)
        p = &t->src[*p].chain;
    if (*p == i)
        *p = t->src[i].chain;
}

/* A slot for a new source: a free one, else the one that failed longest ago. */
static int32_t take_slot(struct ctl_auth_limit *t)
{
    if (t->used < AUTH_LIMIT_ENTRIES)
        return (int32_t)t->used++;
    int32_t i = t->oldest;
    order_unlink(t, i);
    chain_unlink(t, i);
    return i;
}

unsigned ctl_auth_retry_after(struct ctl *c, enum ctl_auth_edge edge,
                              const struct sockaddr *peer)
{
    uint8_t key[KEY_LEN];
    struct ctl_auth_limit *t = c ? c->auth_limit : NULL;
    if (!t || !source_key(peer, key))
        return 0;
    int32_t i = find(t, key);
    int64_t now = t->now_us();
    if (i == NONE || t->src[i].limited_until_us <= now)
        return 0;
    int64_t left = t->src[i].limited_until_us - now;
    if ((unsigned)edge < CTL_AUTH_EDGES)
        t->limited[edge]++;
    return (unsigned)((left + 999999) / 1000000);
}

bool ctl_auth_limited(struct ctl *c, enum ctl_auth_edge edge, const struct sockaddr *peer)
{
    return ctl_auth_retry_after(c, edge, peer) > 0;
}

void ctl_auth_failed(struct ctl *c, enum ctl_auth_edge edge, const struct sockaddr *peer)
{
    uint8_t key[KEY_LEN];
    if (!c || !source_key(peer, key))
        return;
    struct ctl_auth_limit *t = table_get(c);
    if (!t)
        return; /* out of memory: counting is best effort, the check itself still runs */
    if ((unsigned)edge < CTL_AUTH_EDGES)
        t->failures[edge]++;
    int64_t now = t->now_us();
    int32_t i = find(t, key);
    if (i == NONE) {
        i = take_slot(t);
        struct source *s = &t->src[i];
        *s = (struct source){ .used = true, .window_start_us = now };
        memcpy(s->key, key, KEY_LEN);
        uint32_t b = bucket_of(t, key);
        s->chain = t->bucket[b];
        t->bucket[b] = i;
    } else {
        order_unlink(t, i);
    }
    order_push_newest(t, i);
    struct source *s = &t->src[i];
    if (now - s->window_start_us >= (int64_t)AUTH_LIMIT_WINDOW_S * 1000000) {
        s->window_start_us = now;
        s->failures = 0;
    }
    if (++s->failures > AUTH_LIMIT_FAILURES) {
        /* a new window starts when the block ends, so the next burst is counted afresh */
        s->limited_until_us = now + (int64_t)AUTH_LIMIT_BLOCK_S * 1000000;
        s->window_start_us = s->limited_until_us;
        s->failures = 0;
    }
}

int ctl_auth_limit_set_clock(struct ctl *c, int64_t (*now_us)(void))
{
    struct ctl_auth_limit *t = table_get(c);
    if (!t)
        return -ENOMEM;
    t->now_us = now_us ? now_us : real_now_us;
    return 0;
}

int ctl_auth_limit_render(struct ctl *c, struct buf *out)
{
    static const char *const edges[CTL_AUTH_EDGES] = { "api", "ingress", "ssh" };
    const struct ctl_auth_limit none = { 0 };
    const struct ctl_auth_limit *t = c->auth_limit ? c->auth_limit : &none;
    unsigned limited_now = 0;
    int64_t now = c->auth_limit ? t->now_us() : 0;
    for (uint32_t i = 0; i < t->used; i++) /* a scrape's cost: at most AUTH_LIMIT_ENTRIES */
        limited_now += t->src[i].limited_until_us > now;
    int r = buf_appendf(out, "# HELP hearth_auth_failures_total Failed credentials, by edge.\n"
                             "# TYPE hearth_auth_failures_total counter\n");
    for (int e = 0; r == 0 && e < CTL_AUTH_EDGES; e++)
        r = buf_appendf(out, "hearth_auth_failures_total{edge=\"%s\"} %llu\n", edges[e],
                        (unsigned long long)t->failures[e]);
    if (r == 0)
        r = buf_appendf(out, "# HELP hearth_auth_limited_total Attempts refused unchecked "
                             "because their source failed too often, by edge.\n"
                             "# TYPE hearth_auth_limited_total counter\n");
    for (int e = 0; r == 0 && e < CTL_AUTH_EDGES; e++)
        r = buf_appendf(out, "hearth_auth_limited_total{edge=\"%s\"} %llu\n", edges[e],
                        (unsigned long long)t->limited[e]);
    if (r == 0)
        r = buf_appendf(out, "# HELP hearth_auth_limited_sources Source addresses (an IPv6 /64 "
                             "each) limited now.\n"
                             "# TYPE hearth_auth_limited_sources gauge\n"
                             "hearth_auth_limited_sources %u\n", limited_now);
    return r;
}

void ctl_auth_limit_release(struct ctl *c)
{
    free(c->auth_limit);
    c->auth_limit = NULL;
}
