/* SPDX-License-Identifier: MIT */
/* test_network_ops.c: deleting a private network (ctl/network_ops.h) without HTTP or a data
 * plane, on a real SQLite store: members that are still `destroying` (a delete right after
 * destroying them) do not hold it and leave; any other member does (409 in_use), and the
 * network stays with it. */
#include <errno.h>
#include <string.h>

#include <event2/event.h>

#include "../store/fixture.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/network_ops.h"
#include "harness.h"

struct nfx {
    struct fx fx;
    struct event_base *base;
    struct ctl ctl;
    struct store_network net;
};

static bool nfx_open(struct nfx *c)
{
    memset(c, 0, sizeof(*c));
    REQUIRE(fx_open(&c->fx, true));
    c->base = event_base_new();
    REQUIRE(c->base != NULL);
    ctl_init(&c->ctl);
    c->ctl.store = c->fx.st;
    c->ctl.base = c->base;
    REQUIRE(ids_new_network(c->net.id) == 0);
    snprintf(c->net.user_id, sizeof(c->net.user_id), "alice");
    snprintf(c->net.name, sizeof(c->net.name), "backend");
    snprintf(c->net.subnet, sizeof(c->net.subnet), "10.89.7.0/24");
    c->net.created_at = 1000;
    REQUIRE(store_network_insert(c->fx.st, &c->net) == 0);
    return true;
}

static void nfx_close(struct nfx *c)
{
    event_base_free(c->base);
    fx_close(&c->fx);
}

/* alice's sandbox in state, member of the network with address ip. */
static bool member(struct nfx *c, const char *name, enum store_state state, const char *ip,
                   char id[STORE_ID_SIZE])
{
    struct store_sandbox sb;
    fx_sandbox(&sb, "alice", c->fx.key_id, name, 1000);
    sb.status = state;
    REQUIRE(store_sandbox_insert(c->fx.st, &sb, NULL, 0) == 0);
    memcpy(id, sb.id, STORE_ID_SIZE);
    store_sandbox_release(&sb);
    REQUIRE(store_member_add(c->fx.st, c->net.id, id, ip, 1000) == 0);
    return true;
}

static int64_t deleted_at(struct nfx *c)
{
    struct store_network n;
    if (store_network_get(c->fx.st, "alice", c->net.id, &n) < 0)
        return -1;
    return n.deleted_at;
}

TEST(delete_with_only_destroying_members_succeeds)
{
    struct nfx c;
    if (!nfx_open(&c))
        return;
    char a[STORE_ID_SIZE], b[STORE_ID_SIZE];
    CHECK(member(&c, "a", STORE_DESTROYING, "10.89.7.2", a));
    CHECK(member(&c, "b", STORE_DESTROYING, "10.89.7.3", b));
    struct ctl_error e = { 0 };
    CHECK_EQ(ctl_network_delete(&c.ctl, "alice", &c.net, &e), 0);
    CHECK(deleted_at(&c) > 0);
    struct store_member *m = NULL;
    size_t nm = 9;
    CHECK_EQ(store_member_list(c.fx.st, c.net.id, NULL, &m, &nm), 0);
    CHECK_EQ(nm, 0);
    free(m);
    /* a repeat answers like the first call */
    CHECK_EQ(ctl_network_delete(&c.ctl, "alice", &c.net, &e), 0);
    /* the members' destroys complete later: the trigger finds nothing left to remove */
    struct store_transition t = { .from = STORE_DESTROYING, .to = STORE_DESTROYED,
                                  .intent = STORE_STATE_NONE, .now_ms = 2000 };
    CHECK_EQ(store_sandbox_transition(c.fx.st, a, &t, NULL), 0);
    nfx_close(&c);
}

TEST(delete_with_a_live_member_is_in_use_and_keeps_it)
{
    struct nfx c;
    if (!nfx_open(&c))
        return;
    char a[STORE_ID_SIZE], b[STORE_ID_SIZE], p[STORE_ID_SIZE];
    CHECK(member(&c, "a", STORE_DESTROYING, "10.89.7.2", a));
    CHECK(member(&c, "b", STORE_RUNNING, "10.89.7.3", b));
    CHECK(member(&c, "p", STORE_PAUSED, "10.89.7.4", p));
    struct ctl_error e = { 0 };
    CHECK(ctl_network_delete(&c.ctl, "alice", &c.net, &e) < 0);
    CHECK_EQ(e.code, CTL_E_IN_USE);
    CHECK_EQ(deleted_at(&c), 0);
    /* the destroying member left (it would at the end of its destroy anyway); the others
     * stay */
    struct store_member *m = NULL;
    size_t nm = 0;
    CHECK_EQ(store_member_list(c.fx.st, c.net.id, NULL, &m, &nm), 0);
    CHECK_EQ(nm, 2);
    free(m);
    nfx_close(&c);
}
