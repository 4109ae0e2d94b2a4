/* SPDX-License-Identifier: MIT */
/* test_sandbox_self.c: a guest's own requests in the control layer (ctl/sandbox_self.h, events.h)
 * on a real store and loop without a VM layer: a request runs on the next loop turn, not inside
 * the caller; a pause the state forbids (a paused sandbox) is dropped with a "self_dropped"
 * event naming why; a second request of the same sandbox while one waits is dropped and counted;
 * a delete destroys as the owner, and the "destroyed" event names the guest and its reason; an
 * unknown action or sandbox does nothing; the counters /metrics shows; a request still waiting
 * when the control layer is released is freed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "../store/fixture.h"
#include "common/buf.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/events.h"
#include "daemon/ctl/sandbox_self.h"
#include "harness.h"

struct sfx {
    struct fx fx;
    struct event_base *base;
    struct ctl ctl;
};

static bool sfx_open(struct sfx *f)
{
    memset(f, 0, sizeof(*f));
    REQUIRE(fx_open(&f->fx, true));
    f->base = event_base_new();
    REQUIRE(f->base);
    ctl_init(&f->ctl);
    f->ctl.store = f->fx.st;
    f->ctl.base = f->base;
    return true;
}

static void sfx_close(struct sfx *f)
{
    ctl_events_release(&f->ctl);
    ctl_self_release(&f->ctl);
    event_base_free(f->base);
    fx_close(&f->fx);
}

static bool add(struct sfx *f, const char *name, enum store_state st, char id[STORE_ID_SIZE])
{
    struct store_sandbox sb;
    fx_sandbox(&sb, "alice", f->fx.key_id, name, 100);
    sb.status = st;
    REQUIRE(store_sandbox_insert(f->fx.st, &sb, NULL, 0) == 0);
    memcpy(id, sb.id, STORE_ID_SIZE);
    return true;
}

static void turn(struct sfx *f)
{
    event_base_loop(f->base, EVLOOP_NONBLOCK);
}

/* hearth_self_requests_total{result=...} as /metrics would show it. */
static unsigned long long counted(struct sfx *f, const char *result)
{
    struct buf b;
    buf_init(&b, 1 << 16);
    unsigned long long v = ~0ull;
    char key[96];
    snprintf(key, sizeof(key), "hearth_self_requests_total{result=\"%s\"} ", result);
    if (ctl_self_render(&f->ctl, &b) == 0 && buf_append(&b, "", 1) == 0) {
        const char *at = strstr((const char *)b.data, key);
        if (at)
            v = strtoull(at + strlen(key), NULL, 10);
    }
    buf_release(&b);
    return v;
}

/* The kind, actor, reason and detail of event i of id ("" past the end). */
static bool event_at(struct sfx *f, const char *id, size_t i, struct store_event *ret)
{
    struct store_event *v;
    size_t n;
    memset(ret, 0, sizeof(*ret));
    REQUIRE(store_event_list(f->fx.st, id, 0, 256, &v, &n) == 0);
    if (i < n)
        *ret = v[i];
    free(v);
    return i < n;
}

TEST(self_requests_follow_the_state_rules)
{
    struct sfx f;
    if (!sfx_open(&f))
        return;
    char paused[STORE_ID_SIZE], running[STORE_ID_SIZE];
    if (!add(&f, "p", STORE_PAUSED, paused) || !add(&f, "r", STORE_RUNNING, running)) {
        sfx_close(&f);
        return;
    }
    unsigned long long dropped = counted(&f, "dropped");
    CHECK_EQ(dropped, 0);
    struct store_event e;

    /* a pause of a paused sandbox: logged, dropped with why; nothing runs before the turn */
    ctl_self_request(&f.ctl, paused, "pause", "build done");
    CHECK(!event_at(&f, paused, 0, &e));
    ctl_self_request(&f.ctl, paused, "delete", "second"); /* one in flight: dropped */
    CHECK_EQ(counted(&f, "dropped"), dropped + 1);
    turn(&f);
    CHECK(event_at(&f, paused, 0, &e));
    CHECK_STR(e.kind, "self_request");
    CHECK_STR(e.actor, "self");
    CHECK_STR(e.reason, "build done");
    CHECK_STR(e.detail, "pause");
    CHECK(event_at(&f, paused, 1, &e));
    CHECK_STR(e.kind, "self_dropped");
    CHECK(strstr(e.detail, "paused") != NULL);
    CHECK(!event_at(&f, paused, 2, &e));

    /* a pause without a VM layer is refused by the same rules as the API's */
    ctl_self_request(&f.ctl, running, "pause", "");
    turn(&f);
    CHECK(event_at(&f, running, 1, &e));
    CHECK_STR(e.kind, "self_dropped");

    /* a delete as the owner: destroyed (no VM to stop), the event names the guest */
    ctl_self_request(&f.ctl, paused, "delete", "bye");
    turn(&f);
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    CHECK_EQ(store_sandbox_get(f.fx.st, "alice", paused, &sb), 0);
    CHECK_EQ(sb.status, STORE_DESTROYED);
    store_sandbox_release(&sb);
    CHECK(event_at(&f, paused, 3, &e));
    CHECK_STR(e.kind, "destroyed");
    CHECK_STR(e.actor, "self");
    CHECK_STR(e.reason, "bye");

    /* nonsense does nothing */
    ctl_self_request(&f.ctl, running, "reboot", "");
    ctl_self_request(&f.ctl, "sb-01JZZZZZZZZZZZZZZZZZZZZZZZ", "pause", "");
    turn(&f);
    CHECK(!event_at(&f, running, 2, &e));
    CHECK_EQ(counted(&f, "acted"), 1);
    CHECK_EQ(counted(&f, "refused"), 2);
    CHECK_EQ(counted(&f, "dropped"), 1);
    /* one still waiting when the control layer goes: freed, never acted on */
    ctl_self_request(&f.ctl, running, "pause", "late");
    sfx_close(&f);
}
