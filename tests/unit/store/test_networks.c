/* SPDX-License-Identifier: MIT */
/* test_networks.c: private networks in the store (migration 0003): names unique per user among
 * live networks, subnets unique among live ones, deletes refused while members remain,
 * memberships capped at 8 per sandbox with unique addresses, and a sandbox that turns destroyed
 * or failed leaves its networks in the same transaction (the trigger). */
#include "fixture.h"

static bool add_net(struct fx *f, const char *user, const char *id, const char *name,
                    const char *subnet, int want)
{
    struct store_network n = { .created_at = 1000 };
    snprintf(n.id, sizeof(n.id), "%s", id);
    snprintf(n.user_id, sizeof(n.user_id), "%s", user);
    snprintf(n.name, sizeof(n.name), "%s", name);
    snprintf(n.subnet, sizeof(n.subnet), "%s", subnet);
    int r = store_network_insert(f->st, &n);
    if (r != want)
        harness_fail(__FILE__, __LINE__, "insert %s: %d, want %d", name, r, want);
    return r == want;
}

static bool add_sb(struct fx *f, const char *name, char id[STORE_ID_SIZE])
{
    struct store_sandbox sb;
    fx_sandbox(&sb, "alice", f->key_id, name, 2000);
    REQUIRE(store_sandbox_insert(f->st, &sb, NULL, 0) == 0);
    memcpy(id, sb.id, STORE_ID_SIZE);
    return true;
}

TEST(networks_names_subnets_members)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    const char *n1 = "net-01ARZ3NDEKTSV4RRFFQ69G5FA1", *n2 = "net-01ARZ3NDEKTSV4RRFFQ69G5FA2";
    CHECK(add_net(&f, "alice", n1, "backend", "10.89.0.0/24", 0));
    CHECK(add_net(&f, "alice", n2, "backend", "10.89.1.0/24", -EEXIST));
    CHECK(add_net(&f, "alice", n2, "front", "10.89.0.0/24", -EADDRINUSE));
    CHECK(add_net(&f, "alice", n2, "front", "10.89.1.0/24", 0));
    CHECK(add_net(&f, "alice", "net-x", "", "10.89.2.0/24", -EINVAL));

    struct store_network g;
    CHECK_EQ(store_network_get(f.st, "alice", "backend", &g), 0);
    CHECK_STR(g.id, n1);
    CHECK_EQ(store_network_get(f.st, "alice", n2, &g), 0);
    CHECK_STR(g.name, "front");
    CHECK_EQ(store_network_get(f.st, "bob", n2, &g), -ENOENT);

    char a[STORE_ID_SIZE], b[STORE_ID_SIZE];
    if (!add_sb(&f, "a", a))
        return;
    if (!add_sb(&f, "b", b))
        return;
    CHECK_EQ(store_member_add(f.st, n1, a, "10.89.0.2", 3000), 0);
    CHECK_EQ(store_member_add(f.st, n1, a, "10.89.0.3", 3000), -EEXIST);
    CHECK_EQ(store_member_add(f.st, n1, b, "10.89.0.2", 3000), -EADDRINUSE);
    CHECK_EQ(store_member_add(f.st, n1, b, "10.89.0.3", 3000), 0);
    CHECK_EQ(store_member_add(f.st, n2, b, "10.89.1.2", 3001), 0);
    struct store_member *m;
    size_t n;
    CHECK_EQ(store_member_list(f.st, n1, NULL, &m, &n), 0);
    CHECK_EQ(n, 2);
    CHECK_STR(m[0].network_name, "backend");
    CHECK_STR(m[0].subnet, "10.89.0.0/24");
    free(m);
    CHECK_EQ(store_member_list(f.st, NULL, b, &m, &n), 0);
    CHECK_EQ(n, 2);
    CHECK_STR(m[0].ip, "10.89.0.3");
    CHECK_STR(m[0].hostname, "b");
    CHECK_EQ(m[0].status, STORE_RUNNING);
    CHECK_STR(m[1].network_name, "front");
    free(m);
    CHECK_EQ(store_member_list(f.st, n1, b, &m, &n), -EINVAL);

    struct store_strv ips;
    CHECK_EQ(store_ips_in_use(f.st, &ips), 0);
    CHECK_EQ(ips.n, 3);
    store_strv_free(&ips);

    uint64_t members = 0;
    CHECK_EQ(store_network_delete(f.st, "alice", n1, 4000, &members), -EBUSY);
    CHECK_EQ(members, 2);
    CHECK_EQ(store_member_remove(f.st, n1, a), 0);
    CHECK_EQ(store_member_remove(f.st, n1, a), -ENOENT);
    /* b turns destroyed: it leaves both networks with the state change */
    struct store_transition t = { .from = STORE_RUNNING, .to = STORE_DESTROYED,
                                  .intent = STORE_STATE_NONE, .now_ms = 5000 };
    CHECK_EQ(store_sandbox_transition(f.st, b, &t, NULL), 0);
    CHECK_EQ(store_member_list(f.st, NULL, b, &m, &n), 0);
    CHECK_EQ(n, 0);
    free(m);
    CHECK_EQ(store_network_delete(f.st, "alice", n1, 6000, NULL), 0);
    CHECK_EQ(store_network_delete(f.st, "alice", n1, 6000, NULL), -EALREADY);
    CHECK_EQ(store_network_get(f.st, "alice", "backend", &g), -ENOENT);
    CHECK_EQ(store_network_get(f.st, "alice", n1, &g), 0); /* by id, within retention */
    CHECK(g.deleted_at == 6000);
    /* the name and the subnet are free again */
    CHECK(add_net(&f, "alice", "net-01ARZ3NDEKTSV4RRFFQ69G5FA3", "backend", "10.89.0.0/24", 0));
    struct store_network *v;
    uint64_t total;
    CHECK_EQ(store_network_list(f.st, "alice", 1, 0, &v, &n, &total), 0);
    CHECK_EQ(total, 2);
    CHECK_EQ(n, 1);
    free(v);
    struct store_strv subnets;
    CHECK_EQ(store_network_subnets(f.st, &subnets), 0);
    CHECK_EQ(subnets.n, 2);
    store_strv_free(&subnets);
    fx_close(&f);
}

TEST(networks_at_most_eight_per_sandbox)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    char a[STORE_ID_SIZE];
    if (!add_sb(&f, "a", a))
        return;
    for (int i = 0; i < 9; i++) {
        char id[STORE_ID_SIZE], name[16], subnet[32], ip[32];
        snprintf(id, sizeof(id), "net-01ARZ3NDEKTSV4RRFFQ69G5F%02d", i);
        snprintf(name, sizeof(name), "n%d", i);
        snprintf(subnet, sizeof(subnet), "10.89.%d.0/24", i);
        snprintf(ip, sizeof(ip), "10.89.%d.2", i);
        CHECK(add_net(&f, "alice", id, name, subnet, 0));
        CHECK_EQ(store_member_add(f.st, id, a, ip, 1000), i < 8 ? 0 : -E2BIG);
    }
    fx_close(&f);
}

/* Text PostgreSQL cannot hold (not UTF-8) is refused on writes and found nowhere on reads, alike
 * on both backends (store.c checks before a backend sees it); UTF-8 text round-trips. */
TEST(networks_text_not_utf8)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    const char *n1 = "net-01ARZ3NDEKTSV4RRFFQ69G5FA1";
    CHECK(add_net(&f, "alice", n1, "caf\xc3\xa9", "10.89.0.0/24", 0));
    CHECK(add_net(&f, "alice", "net-01ARZ3NDEKTSV4RRFFQ69G5FA2", "bad\xff", "10.89.1.0/24",
                  -EINVAL));
    CHECK(add_net(&f, "alice", "net-01ARZ3NDEKTSV4RRFFQ69G5FA2", "cut\xc3", "10.89.1.0/24",
                  -EINVAL));
    CHECK(add_net(&f, "alice", "net-\xed\xa0\x80", "x", "10.89.1.0/24", -EINVAL));
    CHECK(add_net(&f, "alice", "net-01ARZ3NDEKTSV4RRFFQ69G5FA2", "y", "10.89.1.0/2\xfe", -EINVAL));
    struct store_network g;
    CHECK_EQ(store_network_get(f.st, "alice", "caf\xc3\xa9", &g), 0);
    CHECK_STR(g.name, "caf\xc3\xa9");
    CHECK_EQ(store_network_get(f.st, "alice", "caf\xe9", &g), -ENOENT); /* Latin-1 */
    CHECK_EQ(store_network_get(f.st, "\xff", n1, &g), -ENOENT);
    uint64_t members;
    CHECK_EQ(store_network_delete(f.st, "alice", "net-\xff", 1, &members), -ENOENT);
    char a[STORE_ID_SIZE];
    if (!add_sb(&f, "a", a))
        return;
    CHECK_EQ(store_member_add(f.st, n1, a, "10.89.0.\xff", 1), -EINVAL);
    CHECK_EQ(store_member_add(f.st, "net-\xff", a, "10.89.0.2", 1), -ENOENT);
    CHECK_EQ(store_member_add(f.st, n1, "sb-\xc3", "10.89.0.2", 1), -ENOENT);
    CHECK_EQ(store_member_remove(f.st, n1, "sb-\xff"), -ENOENT);
    struct store_member *m = (void *)1;
    size_t n = 9;
    CHECK_EQ(store_member_list(f.st, NULL, "sb-\xff", &m, &n), 0);
    CHECK(n == 0 && m == NULL);
    struct store_network *v = (void *)1;
    uint64_t total = 9;
    CHECK_EQ(store_network_list(f.st, "al\xffice", 10, 0, &v, &n, &total), 0);
    CHECK(n == 0 && total == 0 && v == NULL);
    /* the store still answers */
    CHECK_EQ(store_network_list(f.st, "alice", 10, 0, &v, &n, &total), 0);
    CHECK(n == 1 && total == 1);
    free(v);
    fx_close(&f);
}

struct race_net {
    const char *net[12];
    char sb[12][STORE_ID_SIZE];
};

/* every child claims the same address for its own sandbox */
static int race_same_ip(struct store *st, int i, void *arg)
{
    struct race_net *r = arg;
    return store_member_add(st, r->net[0], r->sb[i], "10.89.0.9", 1000 + i);
}

/* every child joins one sandbox (the last: not in the address race) to its own network */
static int race_one_sandbox(struct store *st, int i, void *arg)
{
    struct race_net *r = arg;
    char ip[32];
    snprintf(ip, sizeof(ip), "10.89.%d.2", i);
    return store_member_add(st, r->net[i], r->sb[11], ip, 1000 + i);
}

/* several processes on one database (several hearthds): the look-first checks hold under the
 * write lock, so an address is given once and the cap of networks per sandbox is exact */
TEST(networks_racing_processes)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    static char ids[12][STORE_ID_SIZE];
    struct race_net r;
    for (int i = 0; i < 12; i++) {
        char name[16], subnet[32];
        snprintf(ids[i], sizeof(ids[i]), "net-01ARZ3NDEKTSV4RRFFQ69G5F%02d", i);
        snprintf(name, sizeof(name), "n%d", i);
        snprintf(subnet, sizeof(subnet), "10.89.%d.0/24", i);
        CHECK(add_net(&f, "alice", ids[i], name, subnet, 0));
        r.net[i] = ids[i];
        snprintf(name, sizeof(name), "s%d", i);
        if (!add_sb(&f, name, r.sb[i]))
            return;
    }
    int ret[12];
    CHECK_EQ(fx_race(&f, 8, race_same_ip, &r, ret), 1);
    for (int i = 0; i < 8; i++)
        CHECK(ret[i] == 0 || ret[i] == -EADDRINUSE);
    CHECK_EQ(fx_race(&f, 12, race_one_sandbox, &r, ret), STORE_MAX_NETWORKS_PER_SANDBOX);
    int big = 0;
    for (int i = 0; i < 12; i++)
        big += ret[i] == -E2BIG;
    CHECK_EQ(big, 12 - STORE_MAX_NETWORKS_PER_SANDBOX);
    struct store_member *m;
    size_t n;
    CHECK_EQ(store_member_list(f.st, NULL, r.sb[11], &m, &n), 0);
    CHECK_EQ(n, STORE_MAX_NETWORKS_PER_SANDBOX);
    free(m);
    fx_close(&f);
}
