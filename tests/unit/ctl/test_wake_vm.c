/* SPDX-License-Identifier: MIT */
/* test_wake_vm.c: ctl_sandbox_wake() (ctl/sandbox_wake.h) on a real microVM, in process: the
 * control layer on a real host and store (ctlfx.h, no networking: the VM gets a NIC without a
 * link), a sandbox with a `sleep` and a file in its memory, paused by the idle auto-pauser
 * (its limit lowered in the store to 1 s, under the API's 60 s floor, so the test is quick),
 * then woken by two waiters sharing one resume: both hear CTL_OK, the event log names
 * auto_pause and then the edge, and the `sleep` and the file are still there. Needs
 * $HEARTH_IMAGES (skips without). */
#include <errno.h>

#include "ctlfx.h"
#include "daemon/ctl/catalog.h"
#include "daemon/ctl/events.h"
#include "daemon/ctl/guest.h"
#include "daemon/ctl/idle.h"
#include "daemon/ctl/lifecycle.h"
#include "daemon/ctl/sandbox_check.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/ctl/sandbox_wake.h"
#include "daemon/ctl/service.h"
#include "harness.h"


struct rec {
    int calls;
    struct ctl_error e;
    char id[STORE_ID_SIZE];
    int err, status;
    char msg[256];
};

static void on_created(void *ud, const struct ctl_error *e, const char *id,
                       const struct store_sandbox *sb)
{
    struct rec *r = ud;
    r->calls++;
    r->e = *e;
    snprintf(r->id, sizeof(r->id), "%s", id ? id : "");
}

static void on_wake(void *ud, const struct ctl_error *e)
{
    struct rec *r = ud;
    r->calls++;
    r->e = *e;
}

static void on_guest(void *ud, int err, int status, const char *msg)
{
    struct rec *r = ud;
    r->calls++;
    r->err = err;
    r->status = status;
    snprintf(r->msg, sizeof(r->msg), "%s", msg ? msg : "");
}

/* Runs the loop until *calls is non-zero or timeout_ms passed. */
static bool run_until(struct cfx *c, const int *calls, int timeout_ms)
{
    uint64_t end = harness_now_us() + (uint64_t)timeout_ms * 1000;
    while (!*calls && harness_now_us() < end) {
        struct timeval tv = { 0, 50000 };
        event_base_loopexit(c->base, &tv);
        event_base_dispatch(c->base);
    }
    return *calls != 0;
}

static bool run_until_state(struct cfx *c, const char *id, enum store_state want, int timeout_ms)
{
    uint64_t end = harness_now_us() + (uint64_t)timeout_ms * 1000;
    while (row_state(c, id) != want && harness_now_us() < end) {
        struct timeval tv = { 0, 100000 };
        event_base_loopexit(c->base, &tv);
        event_base_dispatch(c->base);
    }
    return row_state(c, id) == want;
}

/* sh -c script in the guest; true when it exited 0. */
static bool guest_sh(struct cfx *c, const char *id, const char *script)
{
    const char *argv[] = { "sh", "-c", script, NULL };
    struct rec r = { 0 };
    REQUIRE(guest_run(c->host, c->base, id, argv, 20000, on_guest, &r) == 0);
    REQUIRE(run_until(c, &r.calls, 30000));
    if (r.err || r.status)
        harness_fail(__FILE__, __LINE__, "guest '%s': err %d status %d %s", script, r.err,
                     r.status, r.msg);
    return r.err == 0 && r.status == 0;
}

static bool set_auto_pause(struct cfx *c, const char *id, int64_t secs)
{
    struct store_sandbox_patch p = { .fields = STORE_PATCH_AUTO_PAUSE,
                                     .auto_pause_after_seconds = secs, .now_ms = 1 };
    REQUIRE(store_sandbox_update(c->fx.st, NULL, id, &p) == 0);
    return true;
}

TEST_SLOW(wake_resumes_an_idle_paused_vm_with_its_processes, 600)
{
    const char *img = getenv("HEARTH_IMAGES");
    char k[512];
    snprintf(k, sizeof(k), "%s/vmlinux", img ? img : "/nonexistent");
    if (!img || access(k, R_OK) != 0)
        harness_skip("HEARTH_IMAGES with vmlinux is needed");
    struct cfx c;
    if (!cfx_open(&c))
        return;
    snprintf(c.ctl.set.images_dir, sizeof(c.ctl.set.images_dir), "%s", img);
    char run_root[128];
    snprintf(run_root, sizeof(run_root), "%s/vms", c.root);
    CHECK_EQ(mkdir(run_root, 0700), 0);
    struct host_config hc = { .images_dir = img, .run_root = run_root,
                              .boot_timeout_ms = 60000, .stop_timeout_ms = 10000 };
    CHECK_EQ(host_new(c.base, &hc, &c.host), 0);
    c.ctl.host = c.host;
    host_set_on_exit(c.host, ctl_on_vm_exit, &c.ctl);
    CHECK_EQ(ctl_idle_start(&c.ctl), 0);
    const struct ctl_caller alice = { .user_id = "alice", .key_id = c.fx.key_id, .req_id = "t" };

    struct ctl_create_req cr = { .shape = ctl_shape_find("s-1vcpu-256mb"),
                                 .rootfs = ctl_rootfs_find(&c.ctl, "minimal"),
                                 .auto_pause_after_seconds = 60 };
    CHECK(cr.shape && cr.rootfs);
    struct rec made = { 0 };
    struct ctl_error e;
    if (ctl_sandbox_create(&c.ctl, &alice, &cr, on_created, &made, &e) < 0) {
        harness_fail(__FILE__, __LINE__, "create: %s %s %s %d %s", ctl_code_to_string(e.code), e.field, e.what ? e.what : "", e.err,
                     e.msg);
        return;
    }
    CHECK(run_until(&c, &made.calls, 180000));
    CHECK_EQ(made.e.code, CTL_OK);
    const char *id = made.id;
    CHECK(guest_sh(&c, id, "setsid sleep 100000 </dev/null >/dev/null 2>&1 & "
                           "echo $! > /tmp/sleep.pid; echo kept > /tmp/mark"));

    /* the idle auto-pauser pauses it (its clock checks every 2 s) */
    CHECK(set_auto_pause(&c, id, 1));
    CHECK(run_until_state(&c, id, STORE_PAUSED, 120000));
    CHECK(set_auto_pause(&c, id, 0)); /* no second auto-pause while we look inside */
    struct store_event ev;
    CHECK_EQ(store_event_last(c.fx.st, id, "paused", &ev), 0);
    CHECK_STR(ev.actor, CTL_ACTOR_AUTO_PAUSE);

    /* two edges wake it: one resume, both told once it runs */
    struct rec w1 = { 0 }, w2 = { 0 };
    struct ctl_wake *h1, *h2;
    CHECK_EQ(ctl_sandbox_wake(&c.ctl, "alice", id, CTL_ACTOR_INGRESS, on_wake, &w1, &h1, &e), 1);
    CHECK_EQ(ctl_sandbox_wake(&c.ctl, "alice", id, CTL_ACTOR_SSH, on_wake, &w2, &h2, &e), 1);
    CHECK_EQ(w1.calls + w2.calls, 0);
    CHECK(run_until(&c, &w1.calls, 120000));
    CHECK(run_until(&c, &w2.calls, 1000));
    CHECK_EQ(w1.e.code, CTL_OK);
    CHECK_EQ(w2.e.code, CTL_OK);
    CHECK_EQ(row_state(&c, id), STORE_RUNNING);
    CHECK_EQ(store_event_last(c.fx.st, id, "resumed", &ev), 0);
    CHECK_STR(ev.actor, CTL_ACTOR_INGRESS);
    CHECK_EQ(ctl_wake_pending(&c.ctl), 0);
    /* the memory came back: the same sleep process and the file in /tmp */
    CHECK(guest_sh(&c, id, "kill -0 $(cat /tmp/sleep.pid) && grep -qx kept /tmp/mark"));
    /* awake now: a wake answers at once */
    struct ctl_wake *h3;
    CHECK_EQ(ctl_sandbox_wake(&c.ctl, "alice", id, CTL_ACTOR_INGRESS, on_wake, &w1, &h3, &e), 0);

    enum store_state st;
    CHECK_EQ(ctl_sandbox_destroy(&c.ctl, &alice, id, &st, &e), 0);
    CHECK(run_until_state(&c, id, STORE_DESTROYED, 60000));
    ctl_service_stop(&c.ctl);
    ctl_service_release(&c.ctl);
    cfx_close(&c);
}
