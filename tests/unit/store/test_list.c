/* SPDX-License-Identifier: MIT */
/* test_list.c: listing sandboxes: exact totals, limit/offset, offsets past the end, status
 * filters counted before paging, and a stable newest-first order even when created_at ties;
 * 10,000 rows listed with an exact total. */
#include "fixture.h"

/* Inserts n rows for alice in one transaction; created_at = base + i / ties, so groups of `ties`
 * rows share a time. Status cycles through `states` when given. Ids go to ids (n entries). */
static bool fill(struct fx *f, size_t n, int64_t base, size_t ties, const enum store_state *states,
                 size_t n_states, char (*ids)[STORE_ID_SIZE])
{
    struct store_sandbox *rows = calloc(n, sizeof(*rows));
    REQUIRE(rows != NULL);
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof(name), "box-%zu", i);
        fx_sandbox(&rows[i], "alice", f->key_id, name, base + (int64_t)(i / ties));
        if (n_states)
            rows[i].status = states[i % n_states];
        if (ids)
            memcpy(ids[i], rows[i].id, STORE_ID_SIZE);
    }
    int r = store_sandbox_insert_many(f->st, rows, n);
    free(rows);
    REQUIRE(r == 0);
    return true;
}

/* Checks newest-first order: created_at desc, then id desc. */
static bool ordered(const struct store_sandbox *a, const struct store_sandbox *b)
{
    REQUIRE(a->created_at > b->created_at ||
            (a->created_at == b->created_at && strcmp(a->id, b->id) > 0));
    return true;
}

TEST(list_pagination_exact)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    if (!fill(&f, 23, 1000, 1, NULL, 0, NULL))
        return;
    struct store_sandbox_page p;
    struct store_list_query q = { .user_id = "alice", .limit = 10 };
    static const struct { size_t limit, offset, count; } cases[] = {
        { 10, 0, 10 }, { 10, 10, 10 }, { 10, 20, 3 }, { 10, 23, 0 }, { 10, 24, 0 },
        { 10, 1000000, 0 }, { 50, 0, 23 }, { 1, 22, 1 }, { 0, 0, 0 }, { SIZE_MAX, 0, 23 },
        { 5, SIZE_MAX, 0 }, { SIZE_MAX, SIZE_MAX, 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        q.limit = cases[i].limit;
        q.offset = cases[i].offset;
        CHECK_EQ(store_sandbox_list(f.st, &q, &p), 0);
        CHECK_EQ(p.total, 23);
        CHECK_EQ(p.count, cases[i].count);
        CHECK(p.count > 0 || p.items == NULL);
        store_sandbox_page_release(&p);
    }
    /* walking pages the way clients do visits every row once, newest first */
    char seen[23][STORE_ID_SIZE];
    size_t got = 0;
    q.limit = 4;
    for (q.offset = 0;;) {
        CHECK_EQ(store_sandbox_list(f.st, &q, &p), 0);
        for (size_t i = 0; i < p.count; i++) {
            CHECK(got < 23);
            memcpy(seen[got++], p.items[i].id, STORE_ID_SIZE);
            CHECK_EQ(p.items[i].created_at, 1000 + 22 - (int64_t)(got - 1));
        }
        size_t count = p.count;
        store_sandbox_page_release(&p);
        if (q.offset + count >= 23)
            break;
        q.offset += count;
    }
    CHECK_EQ(got, 23);
    for (size_t i = 0; i < got; i++)
        for (size_t j = i + 1; j < got; j++)
            CHECK(strcmp(seen[i], seen[j]) != 0);
    fx_close(&f);
}

TEST(list_stable_order_with_equal_created_at)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    char ids[40][STORE_ID_SIZE];
    if (!fill(&f, 40, 5000, 8, NULL, 0, ids)) /* five groups of eight equal times */
        return;
    struct store_sandbox_page all, p;
    struct store_list_query q = { .user_id = "alice", .limit = 100 };
    CHECK_EQ(store_sandbox_list(f.st, &q, &all), 0);
    CHECK_EQ(all.count, 40);
    for (size_t i = 1; i < all.count; i++)
        if (!ordered(&all.items[i - 1], &all.items[i]))
            return;
    /* every page size yields the same sequence */
    for (size_t limit = 1; limit <= 9; limit++) {
        q.limit = limit;
        for (q.offset = 0; q.offset < 40; q.offset += limit) {
            CHECK_EQ(store_sandbox_list(f.st, &q, &p), 0);
            for (size_t i = 0; i < p.count; i++)
                CHECK_STR(p.items[i].id, all.items[q.offset + i].id);
            store_sandbox_page_release(&p);
        }
    }
    store_sandbox_page_release(&all);
    fx_close(&f);
}

TEST(list_status_filter_totals)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    static const enum store_state cycle[] = { STORE_RUNNING, STORE_PAUSED, STORE_RUNNING,
                                              STORE_DESTROYED, STORE_FAILED, STORE_RUNNING };
    if (!fill(&f, 60, 100, 1, cycle, 6, NULL)) /* 30 running, 10 paused, 10 destroyed, 10 failed */
        return;
    static const struct { unsigned mask; uint64_t total; } cases[] = {
        { 0, 60 },
        { STORE_STATE_BIT(STORE_RUNNING), 30 },
        { STORE_STATE_BIT(STORE_PAUSED), 10 },
        { STORE_STATE_BIT(STORE_DESTROYED), 10 },
        { STORE_STATE_BIT(STORE_CREATING), 0 },
        { STORE_STATES_TERMINAL, 20 },
        { STORE_STATE_BIT(STORE_RUNNING) | STORE_STATE_BIT(STORE_PAUSED), 40 },
        { STORE_STATES_ALL, 60 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct store_sandbox_page p;
        struct store_list_query q = { .user_id = "alice", .status_mask = cases[i].mask,
                                      .limit = 7, .offset = 3 };
        CHECK_EQ(store_sandbox_list(f.st, &q, &p), 0);
        CHECK_EQ(p.total, cases[i].total);
        size_t want = cases[i].total > 3 ? cases[i].total - 3 : 0;
        CHECK_EQ(p.count, want < 7 ? want : 7);
        for (size_t k = 0; k < p.count; k++) {
            CHECK(cases[i].mask == 0 || (cases[i].mask & STORE_STATE_BIT(p.items[k].status)));
            if (k > 0 && !ordered(&p.items[k - 1], &p.items[k]))
                return;
        }
        store_sandbox_page_release(&p);
    }
    uint64_t counts[STORE_STATE__COUNT];
    CHECK_EQ(store_sandbox_count(f.st, "alice", counts), 0);
    CHECK_EQ(counts[STORE_RUNNING], 30);
    CHECK_EQ(counts[STORE_PAUSED], 10);
    CHECK_EQ(counts[STORE_DESTROYED], 10);
    CHECK_EQ(counts[STORE_FAILED], 10);
    CHECK_EQ(counts[STORE_CREATING], 0);
    fx_close(&f);
}

TEST(list_insert_many_is_all_or_nothing)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    struct store_sandbox rows[3];
    fx_sandbox(&rows[0], "alice", f.key_id, "one", 1);
    fx_sandbox(&rows[1], "alice", f.key_id, "two", 2);
    fx_sandbox(&rows[2], "alice", f.key_id, "ONE", 3); /* collides with the first */
    CHECK_EQ(store_sandbox_insert_many(f.st, rows, 3), -EEXIST);
    struct store_sandbox_page p;
    struct store_list_query q = { .user_id = "alice", .limit = 10 };
    CHECK_EQ(store_sandbox_list(f.st, &q, &p), 0);
    CHECK_EQ(p.total, 0);
    CHECK_EQ(store_sandbox_insert_many(f.st, rows, 2), 0);
    CHECK_EQ(store_sandbox_insert_many(f.st, rows, 0), 0);
    CHECK_EQ(store_sandbox_insert_many(f.st, NULL, 1), -EINVAL);
    CHECK_EQ(store_sandbox_list(f.st, &q, &p), 0);
    CHECK_EQ(p.total, 2);
    store_sandbox_page_release(&p);
    fx_close(&f);
}

TEST_SLOW(list_ten_thousand_rows, 300)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    uint64_t t0 = harness_now_us();
    if (!fill(&f, 10000, 1700000000000LL, 3, NULL, 0, NULL))
        return;
    uint64_t t1 = harness_now_us();
    struct store_sandbox_page p;
    struct store_list_query q = { .user_id = "alice", .limit = 10000 };
    CHECK_EQ(store_sandbox_list(f.st, &q, &p), 0);
    uint64_t t2 = harness_now_us();
    CHECK_EQ(p.total, 10000);
    CHECK_EQ(p.count, 10000);
    for (size_t i = 1; i < p.count; i++)
        if (!ordered(&p.items[i - 1], &p.items[i]))
            return;
    store_sandbox_page_release(&p);
    /* the API's largest page, at the far end */
    q.limit = 500;
    q.offset = 9800;
    CHECK_EQ(store_sandbox_list(f.st, &q, &p), 0);
    CHECK_EQ(p.total, 10000);
    CHECK_EQ(p.count, 200);
    store_sandbox_page_release(&p);
    q.status_mask = STORE_STATE_BIT(STORE_RUNNING);
    q.offset = 0;
    CHECK_EQ(store_sandbox_list(f.st, &q, &p), 0);
    CHECK_EQ(p.total, 10000);
    CHECK_EQ(p.count, 500);
    store_sandbox_page_release(&p);
    printf("    inserted 10000 rows in %" PRIu64 " ms, listed them in %" PRIu64 " ms (ASan)\n",
           (t1 - t0) / 1000, (t2 - t1) / 1000);
    fx_close(&f);
}
