/* SPDX-License-Identifier: MIT */
/* test_outring.c: the output ring of a managed process through its header: numbering from 1,
 * eviction by the byte budget (with the per-event overhead), lookups of evicted, held and
 * future events, growth of the slot array across wrap-around, and bad lengths. The ring's
 * invariants are checked after every push. */
#include <errno.h>
#include <string.h>

#include "agent/outring.h"
#include "harness.h"

/* The held events are numbered oldest..next_seq-1 without a hole, and their bytes and cost
 * add up. */
static bool ring_ok(const struct outring *r)
{
    size_t bytes = 0;
    uint64_t oldest = outring_oldest(r);
    REQUIRE(r->next_seq >= 1);
    REQUIRE(oldest + r->n == r->next_seq);
    for (uint64_t s = oldest; s < r->next_seq; s++) {
        const struct outring_event *e = outring_get(r, s);
        REQUIRE(e && e->seq == s && e->len >= 1 && e->len <= OUTRING_EVENT_MAX);
        bytes += e->len;
    }
    REQUIRE(bytes == r->bytes);
    REQUIRE(r->cost == bytes + r->n * OUTRING_OVERHEAD);
    REQUIRE(r->n <= 1 || r->cost <= r->max);
    return true;
}

TEST(outring_numbers_and_lookups)
{
    struct outring r;
    outring_init(&r, 1 << 20);
    CHECK_EQ(outring_oldest(&r), 1);
    CHECK(!outring_get(&r, 0));
    CHECK(!outring_get(&r, 1));
    CHECK_EQ(outring_push(&r, 0, "ab", 2), 0);
    CHECK_EQ(outring_push(&r, 1, "c", 1), 0);
    CHECK_EQ(outring_push(&r, 2, "def", 3), 0);
    CHECK(ring_ok(&r));
    const struct outring_event *e = outring_get(&r, 2);
    CHECK(e);
    CHECK_EQ(e->stream, 1);
    CHECK_EQ(e->len, 1);
    CHECK(memcmp(e->data, "c", 1) == 0);
    CHECK(!outring_get(&r, 4));
    CHECK_EQ(r.bytes, 6);
    /* bad lengths change nothing */
    static uint8_t big[OUTRING_EVENT_MAX + 1];
    CHECK_EQ(outring_push(&r, 0, big, 0), -EINVAL);
    CHECK_EQ(outring_push(&r, 0, big, sizeof(big)), -EINVAL);
    CHECK_EQ(r.next_seq, 4);
    CHECK(ring_ok(&r));
    /* a shared budget takes the oldest; an empty ring gives nothing */
    outring_drop_oldest(&r);
    CHECK_EQ(outring_oldest(&r), 2);
    CHECK(!outring_get(&r, 1));
    CHECK(ring_ok(&r));
    outring_drop_oldest(&r);
    outring_drop_oldest(&r);
    outring_drop_oldest(&r);
    CHECK_EQ(r.n, 0);
    CHECK_EQ(outring_oldest(&r), 4);
    CHECK(ring_ok(&r));
    CHECK_EQ(outring_push(&r, 0, "g", 1), 0);
    CHECK(outring_get(&r, 4));
    outring_release(&r);
    outring_release(&r); /* twice is fine */
}

TEST(outring_evicts_to_its_budget)
{
    static const struct {
        size_t max, len;
        int pushes;
        uint64_t oldest;
    } cases[] = {
        /* each event costs len + 64: 100 bytes budget holds one 36-byte event */
        { 100, 36, 5, 5 },
        { 200, 36, 5, 4 },
        { 1000, 1, 100, 100 - 1000 / 65 + 1 },
        { 65536, 65536, 3, 3 }, /* bigger than the budget: the newest alone stays */
        { 1 << 20, 1000, 10, 1 },
    };
    static uint8_t data[OUTRING_EVENT_MAX];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct outring r;
        outring_init(&r, cases[i].max);
        for (int k = 0; k < cases[i].pushes; k++) {
            data[0] = (uint8_t)k;
            CHECK_EQ(outring_push(&r, 0, data, cases[i].len), 0);
            CHECK(ring_ok(&r));
        }
        CHECK_EQ(outring_oldest(&r), cases[i].oldest);
        CHECK(!outring_get(&r, cases[i].oldest - 1) || cases[i].oldest == 1);
        const struct outring_event *e = outring_get(&r, r.next_seq - 1);
        CHECK(e && e->data[0] == (uint8_t)(cases[i].pushes - 1));
        outring_release(&r);
    }
}

TEST(outring_grows_across_wraparound)
{
    struct outring r;
    outring_init(&r, 40 * (10 + OUTRING_OVERHEAD)); /* 40 events of 10 bytes */
    uint8_t d[10];
    for (int k = 0; k < 1000; k++) {
        memset(d, k & 0xff, sizeof(d));
        CHECK_EQ(outring_push(&r, (uint8_t)(k % 3), d, sizeof(d)), 0);
        CHECK(ring_ok(&r));
        /* the ring starts at 16 slots and doubles while it wraps */
        if (k % 7 == 0 && r.n > 1) {
            const struct outring_event *e = outring_get(&r, outring_oldest(&r));
            CHECK(e && e->data[0] == (uint8_t)((e->seq - 1) & 0xff));
        }
    }
    CHECK_EQ(r.n, 40);
    CHECK_EQ(outring_oldest(&r), 961);
    outring_release(&r);
}
