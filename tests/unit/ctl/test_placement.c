/* SPDX-License-Identifier: MIT */
/* test_placement.c: best-of-K placement (ctl/placement.h) over hand-made registries: region,
 * selector, drain and unusable hosts, memory and CPU room with overcommit, the score's order,
 * sampling (K smaller than the candidates, deterministic draws), the miss reasons; and host
 * labels: canonical form, hostile strings, matching. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/ctl/placement.h"
#include "common/labels.h"
#include "harness.h"

static struct store_host host(const char *id, const char *region, const char *labels,
                              int64_t free_mib, int64_t vcpus, int64_t committed)
{
    struct store_host h = { .free_mib = free_mib, .mem_mib = free_mib * 2, .vcpus = vcpus,
                            .committed_vcpus = committed };
    snprintf(h.id, sizeof(h.id), "%s", id);
    snprintf(h.region, sizeof(h.region), "%s", region);
    snprintf(h.labels, sizeof(h.labels), "%s", labels);
    return h;
}

/* draws the lowest index every time: deterministic sampling */
static uint64_t first(void *ud, uint64_t bound)
{
    (void)ud;
    (void)bound;
    return 0;
}

/* a scripted sequence of draws */
static uint64_t scripted(void *ud, uint64_t bound)
{
    unsigned *next = ud;
    uint64_t v = (uint64_t)(*next)++;
    return v % bound;
}

TEST(picks_the_best_of_all_when_few)
{
    struct store_host h[] = {
        host("a", "local", "", 1000, 4, 0),
        host("b", "local", "", 8000, 4, 0),
        host("c", "local", "", 4000, 4, 0),
    };
    bool usable[] = { true, true, true };
    struct ctl_place_req req = { .region = "local", .mem_mib = 256, .vcpus = 1,
                                 .cpu_overcommit = 4 };
    enum ctl_place_miss miss;
    CHECK_EQ(ctl_place_pick(h, usable, 3, &req, 3, first, NULL, &miss), 1);
    CHECK_EQ(miss, CTL_PLACE_OK);
}

TEST(region_selector_drain_and_usable_filter)
{
    struct store_host h[] = {
        host("a", "eu", "zone=a", 9000, 4, 0),
        host("b", "local", "gpu=none,zone=a", 1000, 4, 0),
        host("c", "local", "zone=b", 9000, 4, 0),
        host("d", "local", "zone=a", 9000, 4, 0),
    };
    h[3].drain = true;
    bool usable[] = { true, true, true, true };
    struct ctl_selector sel = { .key = { "zone" }, .value = { "a" }, .n = 1 };
    struct ctl_place_req req = { .region = "local", .selector = &sel, .mem_mib = 256,
                                 .vcpus = 1, .cpu_overcommit = 4 };
    enum ctl_place_miss miss;
    CHECK_EQ(ctl_place_pick(h, usable, 4, &req, 3, first, NULL, &miss), 1); /* d drained */
    usable[1] = false;
    CHECK_EQ(ctl_place_pick(h, usable, 4, &req, 3, first, NULL, &miss), -1);
    CHECK_EQ(miss, CTL_PLACE_NONE_ACTIVE);
    struct ctl_selector none = { .key = { "zone" }, .value = { "q" }, .n = 1 };
    req.selector = &none;
    CHECK_EQ(ctl_place_pick(h, usable, 4, &req, 3, first, NULL, &miss), -1);
    CHECK_EQ(miss, CTL_PLACE_NO_MATCH);
    req.selector = NULL;
    req.region = "us";
    CHECK_EQ(ctl_place_pick(h, usable, 4, &req, 3, first, NULL, &miss), -1);
    CHECK_EQ(miss, CTL_PLACE_NO_MATCH);
    CHECK_EQ(ctl_place_pick(NULL, NULL, 0, &req, 3, first, NULL, &miss), -1);
    CHECK_EQ(miss, CTL_PLACE_NO_MATCH);
}

TEST(room_in_memory_and_cpu)
{
    struct store_host h[] = {
        host("a", "local", "", 200, 4, 0),  /* too little memory */
        host("b", "local", "", 9000, 2, 8), /* 2 CPUs × 4 = 8 committed: full */
    };
    bool usable[] = { true, true };
    struct ctl_place_req req = { .region = "local", .mem_mib = 256, .vcpus = 1,
                                 .cpu_overcommit = 4 };
    enum ctl_place_miss miss;
    CHECK_EQ(ctl_place_pick(h, usable, 2, &req, 3, first, NULL, &miss), -1);
    CHECK_EQ(miss, CTL_PLACE_NO_ROOM);
    h[1].committed_vcpus = 7;
    CHECK_EQ(ctl_place_pick(h, usable, 2, &req, 3, first, NULL, &miss), 1);
    req.cpu_overcommit = 0; /* <= 0 means 1 per CPU */
    CHECK_EQ(ctl_place_pick(h, usable, 2, &req, 3, first, NULL, &miss), -1);
    h[0].free_mib = 256; /* exactly enough */
    CHECK_EQ(ctl_place_pick(h, usable, 2, &req, 3, first, NULL, &miss), 0);
}

TEST(score_weighs_cpu_against_memory)
{
    struct ctl_place_req req = { .region = "local", .mem_mib = 0, .vcpus = 0,
                                 .cpu_overcommit = 1 };
    struct store_host idle = host("a", "local", "", 4000, 4, 0);
    struct store_host busy = host("b", "local", "", 5000, 4, 4);
    /* 4000 × 1.0 beats 5000 × 0.5 */
    CHECK(ctl_place_score(&idle, &req) > ctl_place_score(&busy, &req));
    busy.committed_vcpus = 1; /* 5000 × 0.875 beats 4000 */
    CHECK(ctl_place_score(&idle, &req) < ctl_place_score(&busy, &req));
    struct store_host none = host("c", "local", "", 4000, 0, 0); /* no CPUs: full */
    CHECK(ctl_place_score(&none, &req) == 2000.0);
}

TEST(samples_k_of_many)
{
    struct store_host h[8];
    bool usable[8];
    for (int i = 0; i < 8; i++) {
        char id[16];
        snprintf(id, sizeof(id), "h%d", i);
        h[i] = host(id, "local", "", 1000 + i * 100, 4, 0);
        usable[i] = true;
    }
    struct ctl_place_req req = { .region = "local", .mem_mib = 256, .vcpus = 1,
                                 .cpu_overcommit = 4 };
    enum ctl_place_miss miss;
    /* draws 0,0: candidates h0, h1 → the better of the two, never the global best h7 */
    CHECK_EQ(ctl_place_pick(h, usable, 8, &req, 2, first, NULL, &miss), 1);
    unsigned next = 5; /* draws 5 then 6 (of 7 left): h5 and h7 */
    CHECK_EQ(ctl_place_pick(h, usable, 8, &req, 2, scripted, &next, &miss), 7);
    /* k = 0 acts as 1 */
    CHECK_EQ(ctl_place_pick(h, usable, 8, &req, 0, first, NULL, &miss), 0);
}

TEST(labels_canonical_and_hostile)
{
    char out[64];
    const char *why;
    CHECK_EQ(labels_canonical("zone=b, gpu=none", out, sizeof(out), &why), 0);
    CHECK_STR(out, "gpu=none,zone=b");
    CHECK_EQ(labels_canonical("", out, sizeof(out), &why), 0);
    CHECK_STR(out, "");
    CHECK_EQ(labels_canonical(" , ,", out, sizeof(out), &why), 0);
    CHECK_STR(out, "");
    CHECK_EQ(labels_canonical("k=", out, sizeof(out), &why), 0);
    CHECK_STR(out, "k=");
    CHECK_EQ(labels_canonical("topology.k8s.io/zone=a", out, sizeof(out), &why), 0);
    static const char *bad[] = { "zone", "=b", "a=b,a=c", "a b=c", "k=v!", "k=v/w", "k=a=b",
                                 "k\n=v", "ü=v" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        if (labels_canonical(bad[i], out, sizeof(out), &why) != -EINVAL)
            harness_fail(__FILE__, __LINE__, "accepted %s", bad[i]);
        CHECK(why != NULL);
    }
    char longkey[80];
    memset(longkey, 'k', 64);
    snprintf(longkey + 64, sizeof(longkey) - 64, "=v");
    CHECK_EQ(labels_canonical(longkey, out, sizeof(out), &why), -EINVAL);
    char many[400] = "";
    for (int i = 0; i < 33; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "k%d=v,", i);
    char big[1024];
    CHECK_EQ(labels_canonical(many, big, sizeof(big), &why), -EINVAL);
    CHECK_EQ(labels_canonical("aaaa=bbbb,cccc=dddd", out, 10, &why), -ENAMETOOLONG);
}

TEST(labels_match)
{
    struct ctl_selector sel = { .key = { "zone", "gpu" }, .value = { "a", "none" }, .n = 2 };
    CHECK(ctl_labels_match("gpu=none,zone=a", &sel));
    CHECK(ctl_labels_match("gpu=none,rack=3,zone=a", &sel));
    CHECK(!ctl_labels_match("gpu=none", &sel));
    CHECK(!ctl_labels_match("gpu=nonex,zone=a", &sel));
    CHECK(!ctl_labels_match("gpu=non,zone=a", &sel));
    CHECK(!ctl_labels_match("xgpu=none,zone=a", &sel));
    CHECK(!ctl_labels_match("", &sel));
    CHECK(ctl_labels_match("", NULL));
    struct ctl_selector empty_value = { .key = { "k" }, .value = { "" }, .n = 1 };
    CHECK(ctl_labels_match("k=", &empty_value));
    CHECK(!ctl_labels_match("k=v", &empty_value));
    CHECK(!ctl_labels_match("kk=", &empty_value));
}
