/* SPDX-License-Identifier: MIT */
/* test_sandbox_wake.c: waking a sandbox on traffic (ctl/sandbox_wake.h) in the control layer
 * with a real store and a real host object that runs no VM (ctlfx.h): a running sandbox
 * answers at once; the states traffic must not wake, other users' and unknown ids; no VM
 * layer; waiters of one sandbox share one resume, named after the edge in the event log, and
 * all hear how it ended (never inside the call); a pausing sandbox is resumed once it settles;
 * a destroy ends the waiters; cancel; the cap on waiters; the timeout; a wake is activity for
 * the auto-pauser. */
#include <errno.h>

#include "ctlfx.h"
#include "daemon/ctl/events.h"
#include "daemon/ctl/idle.h"
#include "daemon/ctl/sandbox_wake.h"
#include "daemon/ctl/service.h"
#include "harness.h"

struct wrec {
    int calls;
    struct ctl_error e;
};

static void on_wake(void *ud, const struct ctl_error *e)
{
    struct wrec *r = ud;
    r->calls++;
    r->e = *e;
}

/* Moves alice's row from → to as an operation would, settle listeners included. */
static bool settle(struct cfx *c, const char *id, enum store_state from, enum store_state to)
{
    struct store_transition t = { .from = from, .to = to, .intent = STORE_STATE_NONE,
                                  .now_ms = 1 };
    REQUIRE(store_sandbox_transition(c->fx.st, id, &t, NULL) == 0);
    ctl_event_settled(&c->ctl, id, from, to, t.now_ms, NULL);
    return true;
}

/* Runs the loop briefly (the waiters' ends are delivered from it). */
static void spin(struct cfx *c, int ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    event_base_loopexit(c->base, &tv);
    event_base_dispatch(c->base);
}

static void done(struct cfx *c)
{
    ctl_service_release(&c->ctl);
    cfx_close(c);
}

TEST(wake_running_answers_at_once_and_bad_states_are_refused)
{
    struct cfx c;
    if (!cfx_open(&c) || !cfx_host(&c))
        return;
    char id[STORE_ID_SIZE];
    CHECK(put_row(&c, "web", STORE_RUNNING, id));
    CHECK_EQ(ctl_idle_start(&c.ctl), 0);
    CHECK_EQ(ctl_idle_tracked(&c.ctl), 0);
    struct wrec r = { 0 };
    struct ctl_wake *w = (void *)1;
    struct ctl_error e;
    CHECK_EQ(ctl_sandbox_wake(&c.ctl, "alice", id, CTL_ACTOR_INGRESS, on_wake, &r, &w, &e), 0);
    CHECK(w == NULL);
    CHECK_EQ(ctl_idle_tracked(&c.ctl), 1); /* traffic is activity for the auto-pauser */
    static const enum store_state refused[] = { STORE_ERROR, STORE_FAILED, STORE_DESTROYING,
                                                STORE_CREATING, STORE_FORKING };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        char bid[STORE_ID_SIZE], name[16];
        snprintf(name, sizeof(name), "bad%zu", i);
        CHECK(put_row(&c, name, refused[i], bid));
        CHECK(ctl_sandbox_wake(&c.ctl, "alice", bid, CTL_ACTOR_SSH, on_wake, &r, &w, &e) < 0);
        CHECK_EQ(e.code, CTL_E_INVALID_STATE);
        CHECK_STR(e.state, store_state_to_string(refused[i]));
        CHECK(w == NULL);
    }
    char did[STORE_ID_SIZE];
    CHECK(put_row(&c, "gone", STORE_DESTROYED, did));
    CHECK(ctl_sandbox_wake(&c.ctl, "alice", did, CTL_ACTOR_INGRESS, on_wake, &r, &w, &e) < 0);
    CHECK_EQ(e.code, CTL_E_NOT_FOUND);
    /* another user's sandbox and made-up ids look the same */
    CHECK(ctl_sandbox_wake(&c.ctl, "bob", id, CTL_ACTOR_INGRESS, on_wake, &r, &w, &e) < 0);
    CHECK_EQ(e.code, CTL_E_NOT_FOUND);
    CHECK(ctl_sandbox_wake(&c.ctl, "alice", "sb_nope", CTL_ACTOR_INGRESS, on_wake, &r, &w,
                           &e) < 0);
    CHECK_EQ(e.code, CTL_E_NOT_FOUND);
    CHECK(ctl_sandbox_wake(&c.ctl, "alice", "", CTL_ACTOR_INGRESS, on_wake, &r, &w, &e) < 0);
    CHECK_EQ(e.code, CTL_E_NOT_FOUND);
    spin(&c, 50);
    CHECK_EQ(r.calls, 0);
    CHECK_EQ(ctl_wake_pending(&c.ctl), 0);
    done(&c);
}

TEST(wake_without_vm_layer_is_unavailable)
{
    struct cfx c;
    if (!cfx_open(&c))
        return;
    char id[STORE_ID_SIZE];
    CHECK(put_row(&c, "web", STORE_PAUSED, id));
    struct wrec r = { 0 };
    struct ctl_wake *w;
    struct ctl_error e;
    CHECK(ctl_sandbox_wake(&c.ctl, "alice", id, CTL_ACTOR_INGRESS, on_wake, &r, &w, &e) < 0);
    CHECK_EQ(e.code, CTL_E_UNAVAILABLE);
    CHECK_EQ(row_state(&c, id), STORE_PAUSED);
    done(&c);
}

TEST(wake_of_paused_shares_one_resume_and_names_the_edge)
{
    struct cfx c;
    if (!cfx_open(&c) || !cfx_host(&c))
        return;
    char id[STORE_ID_SIZE];
    CHECK(put_row(&c, "web", STORE_PAUSED, id));
    struct wrec r[3] = { 0 };
    struct ctl_wake *w[3];
    struct ctl_error e;
    CHECK_EQ(ctl_sandbox_wake(&c.ctl, "alice", id, CTL_ACTOR_INGRESS, on_wake, &r[0], &w[0], &e),
             1);
    CHECK_EQ(row_state(&c, id), STORE_RESUMING);
    CHECK_EQ(ctl_sandbox_wake(&c.ctl, "alice", id, CTL_ACTOR_SSH, on_wake, &r[1], &w[1], &e), 1);
    CHECK_EQ(ctl_sandbox_wake(&c.ctl, "alice", id, CTL_ACTOR_INGRESS, on_wake, &r[2], &w[2], &e),
             1);
    CHECK_EQ(ctl_wake_pending(&c.ctl), 3);
    CHECK_EQ(r[0].calls + r[1].calls + r[2].calls, 0); /* never inside the call */
    ctl_wake_cancel(&c.ctl, w[1]);
    CHECK_EQ(ctl_wake_pending(&c.ctl), 2);
    /* the host has no snapshot to restore (no VM runs here): the one resume fails after its
     * attempts, and both remaining waiters hear it once */
    for (int i = 0; i < 100 && ctl_wake_pending(&c.ctl) > 0; i++)
        spin(&c, 100);
    CHECK_EQ(r[0].calls, 1);
    CHECK_EQ(r[1].calls, 0);
    CHECK_EQ(r[2].calls, 1);
    CHECK_EQ(r[0].e.code, CTL_E_UNAVAILABLE);
    CHECK_EQ(row_state(&c, id), STORE_ERROR);
    /* one resume, by the first edge */
    struct store_event ev;
    CHECK_EQ(store_event_last(c.fx.st, id, "resume_failed", &ev), 0);
    CHECK_STR(ev.actor, CTL_ACTOR_INGRESS);
    struct store_event *list = NULL;
    size_t n = 0, failed = 0;
    CHECK_EQ(store_event_list(c.fx.st, id, 0, 100, &list, &n), 0);
    for (size_t i = 0; i < n; i++)
        failed += strcmp(list[i].kind, "resume_failed") == 0;
    free(list);
    CHECK_EQ(failed, 1);
    /* an error sandbox is not woken by traffic */
    struct wrec r4 = { 0 };
    struct ctl_wake *w4;
    CHECK(ctl_sandbox_wake(&c.ctl, "alice", id, CTL_ACTOR_INGRESS, on_wake, &r4, &w4, &e) < 0);
    CHECK_EQ(e.code, CTL_E_INVALID_STATE);
    done(&c);
}

TEST(wake_of_pausing_resumes_after_the_pause_and_running_settle_ends_waiters)
{
    struct cfx c;
    if (!cfx_open(&c) || !cfx_host(&c))
        return;
    char id[STORE_ID_SIZE];
    CHECK(put_row(&c, "web", STORE_PAUSING, id));
    struct wrec r = { 0 };
    struct ctl_wake *w;
    struct ctl_error e;
    CHECK_EQ(ctl_sandbox_wake(&c.ctl, "alice", id, CTL_ACTOR_INGRESS, on_wake, &r, &w, &e), 1);
    CHECK_EQ(row_state(&c, id), STORE_PAUSING); /* nothing started while it pauses */
    CHECK(settle(&c, id, STORE_PAUSING, STORE_PAUSED));
    CHECK_EQ(row_state(&c, id), STORE_RESUMING); /* the pause settled: the resume began */
    CHECK_EQ(r.calls, 0);
    /* the resume succeeds (played here by hand): the waiter hears CTL_OK from the loop */
    CHECK(settle(&c, id, STORE_RESUMING, STORE_RUNNING));
    CHECK_EQ(r.calls, 0);
    spin(&c, 50);
    CHECK_EQ(r.calls, 1);
    CHECK_EQ(r.e.code, CTL_OK);
    CHECK_EQ(ctl_wake_pending(&c.ctl), 0);
    /* a pause that fails leaves it running: waiters are served */
    char id2[STORE_ID_SIZE];
    CHECK(put_row(&c, "api", STORE_PAUSING, id2));
    struct wrec r2 = { 0 };
    CHECK_EQ(ctl_sandbox_wake(&c.ctl, "alice", id2, CTL_ACTOR_SSH, on_wake, &r2, &w, &e), 1);
    CHECK(settle(&c, id2, STORE_PAUSING, STORE_RUNNING));
    spin(&c, 50);
    CHECK_EQ(r2.calls, 1);
    CHECK_EQ(r2.e.code, CTL_OK);
    done(&c);
}

TEST(wake_waiters_end_when_the_sandbox_is_destroyed)
{
    struct cfx c;
    if (!cfx_open(&c) || !cfx_host(&c))
        return;
    char id[STORE_ID_SIZE];
    CHECK(put_row(&c, "web", STORE_RESUMING, id)); /* someone else's resume under way */
    struct wrec r = { 0 };
    struct ctl_wake *w;
    struct ctl_error e;
    CHECK_EQ(ctl_sandbox_wake(&c.ctl, "alice", id, CTL_ACTOR_INGRESS, on_wake, &r, &w, &e), 1);
    CHECK(settle(&c, id, STORE_RESUMING, STORE_DESTROYING));
    spin(&c, 50);
    CHECK_EQ(r.calls, 1);
    CHECK_EQ(r.e.code, CTL_E_NOT_FOUND);
    CHECK_EQ(ctl_wake_pending(&c.ctl), 0);
    done(&c);
}

TEST(wake_waiters_are_capped)
{
    struct cfx c;
    if (!cfx_open(&c) || !cfx_host(&c))
        return;
    char id[STORE_ID_SIZE];
    CHECK(put_row(&c, "web", STORE_PAUSING, id));
    static struct ctl_wake *w[CTL_WAKE_WAITERS_MAX];
    struct wrec r = { 0 };
    struct ctl_error e;
    for (int i = 0; i < CTL_WAKE_WAITERS_MAX; i++)
        CHECK_EQ(ctl_sandbox_wake(&c.ctl, "alice", id, CTL_ACTOR_INGRESS, on_wake, &r, &w[i], &e),
                 1);
    struct ctl_wake *extra;
    CHECK(ctl_sandbox_wake(&c.ctl, "alice", id, CTL_ACTOR_INGRESS, on_wake, &r, &extra, &e) < 0);
    CHECK_EQ(e.code, CTL_E_UNAVAILABLE);
    CHECK_EQ(ctl_wake_pending(&c.ctl), CTL_WAKE_WAITERS_MAX);
    /* a running sandbox still answers at once past the cap */
    char run[STORE_ID_SIZE];
    CHECK(put_row(&c, "up", STORE_RUNNING, run));
    CHECK_EQ(ctl_sandbox_wake(&c.ctl, "alice", run, CTL_ACTOR_INGRESS, on_wake, &r, &extra, &e),
             0);
    for (int i = 0; i < CTL_WAKE_WAITERS_MAX; i += 2)
        ctl_wake_cancel(&c.ctl, w[i]);
    CHECK_EQ(ctl_wake_pending(&c.ctl), CTL_WAKE_WAITERS_MAX / 2);
    spin(&c, 20);
    CHECK_EQ(r.calls, 0);
    done(&c); /* the rest are freed untold at release (LeakSanitizer checks) */
}

TEST_SLOW(wake_times_out_when_the_resume_never_settles, 90)
{
    struct cfx c;
    if (!cfx_open(&c) || !cfx_host(&c))
        return;
    char id[STORE_ID_SIZE];
    CHECK(put_row(&c, "web", STORE_RESUMING, id));
    struct wrec r = { 0 };
    struct ctl_wake *w;
    struct ctl_error e;
    CHECK_EQ(ctl_sandbox_wake(&c.ctl, "alice", id, CTL_ACTOR_INGRESS, on_wake, &r, &w, &e), 1);
    uint64_t t0 = harness_now_us();
    while (r.calls == 0 && harness_now_us() - t0 < (CTL_WAKE_TIMEOUT_MS + 10000) * 1000ull)
        spin(&c, 200);
    CHECK_EQ(r.calls, 1);
    CHECK_EQ(r.e.code, CTL_E_UNAVAILABLE);
    CHECK(harness_now_us() - t0 >= (CTL_WAKE_TIMEOUT_MS - 500) * 1000ull);
    CHECK_EQ(ctl_wake_pending(&c.ctl), 0);
    done(&c);
}
