/* SPDX-License-Identifier: MIT */
/* test_usage.c: the usage sampler (ctl/usage.h) on a real SQLite store, stepped through minutes
 * with given clocks: a minute's ticks become one point per user (averaged counts and gauges,
 * summed byte deltas), a time series spreads points over steps with zeros elsewhere, totals
 * count only one's own rows, a foreign or unknown sandbox is not found, the lifecycle
 * watch times a row's transition from its own settle time, and an operation's timeline handed
 * to its settle feeds the step histograms (unknown steps as "other", failures not at all) and
 * lands in the settling event. No VM runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "../store/fixture.h"
#include "common/buf.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/events.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/ctl/usage.h"
#include "common/timefmt.h"
#include "common/timeline.h"
#include "harness.h"

struct ufx {
    struct fx fx;
    struct event_base *base;
    struct ctl ctl;
    struct ctl_usage *u;
    char bob_key[STORE_ID_SIZE];
};

static bool ufx_open(struct ufx *f)
{
    memset(f, 0, sizeof(*f));
    REQUIRE(fx_open(&f->fx, true));
    struct store_key kb;
    char secret[APIKEY_LEN + 1];
    REQUIRE(store_key_create(f->fx.st, "bob", "t", false, 1000, &kb, secret) == 0);
    memcpy(f->bob_key, kb.id, sizeof(kb.id));
    f->base = event_base_new();
    REQUIRE(f->base);
    ctl_init(&f->ctl);
    f->ctl.store = f->fx.st;
    f->ctl.base = f->base;
    snprintf(f->ctl.set.host_id, sizeof(f->ctl.set.host_id), "test");
    REQUIRE(ctl_usage_new(&f->ctl, &f->u) == 0);
    return true;
}

static void ufx_close(struct ufx *f)
{
    ctl_usage_free(f->u);
    ctl_events_release(&f->ctl);
    event_base_free(f->base);
    fx_close(&f->fx);
}

static bool add(struct ufx *f, const char *user, const char *key, const char *name,
                enum store_state st, int32_t vcpu, int64_t mem, char id[STORE_ID_SIZE])
{
    struct store_sandbox sb;
    fx_sandbox(&sb, user, key, name, 1000);
    sb.status = st;
    sb.vcpu = vcpu;
    sb.mem_mib = mem;
    snprintf(sb.host_id, sizeof(sb.host_id), "test");
    int r = store_sandbox_insert(f->fx.st, &sb, NULL, 0);
    memcpy(id, sb.id, STORE_ID_SIZE);
    store_sandbox_release(&sb);
    REQUIRE(r == 0);
    return true;
}

static bool set_bytes(struct ufx *f, const char *id, int64_t eg, int64_t in)
{
    struct store_sandbox_patch p = { .fields = STORE_PATCH_BW_COUNTERS, .bw_used_bytes = eg,
                                     .bw_ingress_bytes = in, .now_ms = 2000 };
    REQUIRE(store_sandbox_update(f->fx.st, NULL, id, &p) == 0);
    return true;
}

/* Whether the rendered text holds s. */
static bool has(const struct buf *b, const char *s)
{
    return b->data && memmem(b->data, b->len, s, strlen(s)) != NULL;
}

#define T0 1767225600000LL /* 2026-01-01T00:00:00Z, a minute boundary */

TEST(minute_points_and_series)
{
    struct ufx f;
    if (!ufx_open(&f))
        return;
    char a1[STORE_ID_SIZE], a2[STORE_ID_SIZE], a3[STORE_ID_SIZE], b1[STORE_ID_SIZE];
    if (!add(&f, "alice", f.fx.key_id, "a1", STORE_RUNNING, 2, 2048, a1) ||
        !add(&f, "alice", f.fx.key_id, "a2", STORE_RUNNING, 1, 1024, a2) ||
        !add(&f, "alice", f.fx.key_id, "a3", STORE_PAUSED, 1, 1024, a3) ||
        !add(&f, "bob", f.bob_key, "b1", STORE_RUNNING, 4, 4096, b1) ||
        !set_bytes(&f, a1, 100, 1000)) {
        ufx_close(&f);
        return;
    }
    /* six ticks in minute 0; a1 moves 500 egress and 50 ingress bytes during it */
    for (int i = 0; i < 6; i++) {
        if (i == 3)
            set_bytes(&f, a1, 600, 1050);
        ctl_usage_sample_at(f.u, T0 + i * 10000 + 5, (int64_t)i * 10000000);
    }
    /* the first tick of minute 1 closes minute 0 */
    ctl_usage_sample_at(f.u, T0 + 60000 + 5, 60000000);

    struct ctl_caller alice = { .user_id = "alice" }, bob = { .user_id = "bob" };
    struct ctl_error e;
    struct ctl_usage_point *pts = NULL;
    size_t n = 0;
    CHECK_EQ(ctl_user_timeseries(f.u, &alice, T0, T0 + 300000, 60, &pts, &n, &e), 0);
    CHECK_EQ(n, 5);
    if (n == 5) {
        CHECK_EQ(pts[0].ts_ms, T0);
        CHECK(pts[0].running > 1.99 && pts[0].running < 2.01);
        CHECK(pts[0].paused > 0.99 && pts[0].paused < 1.01);
        CHECK(pts[0].vcpu_running > 2.99 && pts[0].vcpu_running < 3.01);
        CHECK(pts[0].mem_mib_running > 3071 && pts[0].mem_mib_running < 3073);
        CHECK_EQ(pts[0].egress_bytes, 500);
        CHECK_EQ(pts[0].ingress_bytes, 50);
        CHECK_EQ(pts[1].ts_ms, T0 + 60000);
        CHECK(pts[1].running == 0 && pts[1].egress_bytes == 0); /* not closed yet */
    }
    free(pts);
    /* a 5-minute step averages over its minutes: one sampled minute of 2 running is 0.4 */
    CHECK_EQ(ctl_user_timeseries(f.u, &alice, T0, T0 + 600000, 300, &pts, &n, &e), 0);
    CHECK_EQ(n, 2);
    if (n == 2) {
        CHECK(pts[0].running > 0.39 && pts[0].running < 0.41);
        CHECK_EQ(pts[0].egress_bytes, 500);
        CHECK(pts[1].running == 0);
    }
    free(pts);
    /* bob's series holds only bob's sandbox */
    CHECK_EQ(ctl_user_timeseries(f.u, &bob, T0, T0 + 60000, 60, &pts, &n, &e), 0);
    CHECK_EQ(n, 1);
    if (n == 1) {
        CHECK(pts[0].running > 0.99 && pts[0].running < 1.01);
        CHECK(pts[0].vcpu_running > 3.99 && pts[0].vcpu_running < 4.01);
        CHECK_EQ(pts[0].egress_bytes, 0);
    }
    free(pts);
    /* a range before anything was sampled: zeros */
    CHECK_EQ(ctl_user_timeseries(f.u, &alice, T0 - 3600000, T0, 600, &pts, &n, &e), 0);
    CHECK_EQ(n, 6);
    for (size_t i = 0; i < n; i++)
        CHECK(pts[i].running == 0 && pts[i].egress_bytes == 0);
    free(pts);

    struct ctl_user_metrics m;
    CHECK_EQ(ctl_user_metrics(f.u, &alice, &m, &e), 0);
    CHECK_EQ(m.running, 2);
    CHECK_EQ(m.paused, 1);
    CHECK_EQ(m.total, 3);
    CHECK_EQ(m.vcpu_running, 3);
    CHECK_EQ(m.egress_bytes, 600);
    CHECK_EQ(m.running_seconds, 7 * 2 * CTL_USAGE_TICK_S); /* 7 ticks, 2 running */

    struct buf b;
    buf_init(&b, 1u << 20);
    CHECK_EQ(ctl_usage_render(f.u, &b), 0);
    CHECK(has(&b, "hearth_sandboxes{state=\"running\"} 3\n"));
    CHECK(has(&b, "hearth_sandboxes{state=\"paused\"} 1\n"));
    CHECK(has(&b, "hearth_network_bytes_total{direction=\"egress\"} 500\n"));
    buf_release(&b);
    ufx_close(&f);
}

TEST(sandbox_metrics_ownership)
{
    struct ufx f;
    if (!ufx_open(&f))
        return;
    char a1[STORE_ID_SIZE], b1[STORE_ID_SIZE];
    if (!add(&f, "alice", f.fx.key_id, "a1", STORE_RUNNING, 2, 2048, a1) ||
        !add(&f, "bob", f.bob_key, "b1", STORE_RUNNING, 1, 512, b1)) {
        ufx_close(&f);
        return;
    }
    struct ctl_caller alice = { .user_id = "alice" };
    struct ctl_error e;
    struct ctl_sandbox_metrics m;
    CHECK_EQ(ctl_sandbox_metrics(f.u, &alice, a1, &m, &e), 0);
    CHECK_STR(m.id, a1);
    CHECK_EQ(m.vcpu, 2);
    CHECK(!m.has_cpu_pct && !m.has_mem_used); /* no VM layer: nothing live */
    CHECK(ctl_sandbox_metrics(f.u, &alice, b1, &m, &e) < 0);
    CHECK_EQ(e.code, CTL_E_NOT_FOUND);
    CHECK(ctl_sandbox_metrics(f.u, &alice, "sb-01JZZZZZZZZZZZZZZZZZZZZZZZ", &m, &e) < 0);
    CHECK_EQ(e.code, CTL_E_NOT_FOUND);
    ufx_close(&f);
}

/* A pause watched from its start: the duration is the settle's time (as the control layer
 * reports it, events.h) minus the start; a resume that settles back in error is a failure; a
 * watch on a row not in transition is no operation at all; a resume that settled running is a
 * success even when the row is destroying by the time anyone looks (the CI flake of
 * tests/api/test_usage.c running_vm_metrics). */
TEST(lifecycle_watch)
{
    struct ufx f;
    if (!ufx_open(&f))
        return;
    char a1[STORE_ID_SIZE], a2[STORE_ID_SIZE], a3[STORE_ID_SIZE];
    if (!add(&f, "alice", f.fx.key_id, "a1", STORE_RUNNING, 1, 1024, a1) ||
        !add(&f, "alice", f.fx.key_id, "a2", STORE_PAUSED, 1, 1024, a2) ||
        !add(&f, "alice", f.fx.key_id, "a3", STORE_PAUSED, 1, 1024, a3)) {
        ufx_close(&f);
        return;
    }
    int64_t start = timefmt_now_ms();
    struct store_transition t = { .from = STORE_RUNNING, .to = STORE_PAUSING,
                                  .intent = STORE_PAUSED, .now_ms = start };
    CHECK_EQ(store_sandbox_transition(f.fx.st, a1, &t, NULL), 0);
    ctl_usage_watch(f.u, CTL_USAGE_OP_PAUSE, a1, start);
    t = (struct store_transition){ .from = STORE_PAUSED, .to = STORE_RESUMING,
                                   .intent = STORE_RUNNING, .now_ms = start };
    CHECK_EQ(store_sandbox_transition(f.fx.st, a2, &t, NULL), 0);
    ctl_usage_watch(f.u, CTL_USAGE_OP_RESUME, a2, start);
    ctl_usage_watch(f.u, CTL_USAGE_OP_RESUME, a3, start); /* paused, not resuming: ignored */
    /* settle: the pause 250 ms after its start, the resume in error */
    t = (struct store_transition){ .from = STORE_PAUSING, .to = STORE_PAUSED,
                                   .intent = STORE_STATE_NONE, .now_ms = start + 250 };
    CHECK_EQ(store_sandbox_transition(f.fx.st, a1, &t, NULL), 0);
    ctl_event_settled(&f.ctl, a1, STORE_PAUSING, STORE_PAUSED, start + 250, NULL);
    t = (struct store_transition){ .from = STORE_RESUMING, .to = STORE_ERROR,
                                   .intent = STORE_STATE_NONE, .now_ms = start + 100 };
    CHECK_EQ(store_sandbox_transition(f.fx.st, a2, &t, NULL), 0);
    ctl_event_settled(&f.ctl, a2, STORE_RESUMING, STORE_ERROR, start + 100, NULL);
    /* a3: resumed (settled running at +50), then at once destroying */
    t = (struct store_transition){ .from = STORE_PAUSED, .to = STORE_RESUMING,
                                   .intent = STORE_RUNNING, .now_ms = start };
    CHECK_EQ(store_sandbox_transition(f.fx.st, a3, &t, NULL), 0);
    ctl_usage_watch(f.u, CTL_USAGE_OP_RESUME, a3, start);
    t = (struct store_transition){ .from = STORE_RESUMING, .to = STORE_RUNNING,
                                   .intent = STORE_STATE_NONE, .now_ms = start + 50 };
    CHECK_EQ(store_sandbox_transition(f.fx.st, a3, &t, NULL), 0);
    ctl_event_settled(&f.ctl, a3, STORE_RESUMING, STORE_RUNNING, start + 50, NULL);
    t = (struct store_transition){ .from = STORE_RUNNING, .to = STORE_DESTROYING,
                                   .intent = STORE_DESTROYED, .now_ms = start + 60 };
    CHECK_EQ(store_sandbox_transition(f.fx.st, a3, &t, NULL), 0);
    ctl_event_settled(&f.ctl, a3, STORE_RUNNING, STORE_DESTROYING, start + 60, NULL);
    struct timeval tv = { .tv_usec = 400 * 1000 };
    event_base_loopexit(f.base, &tv);
    event_base_dispatch(f.base);
    struct buf b;
    buf_init(&b, 1u << 20);
    CHECK_EQ(ctl_usage_render(f.u, &b), 0);
    CHECK(has(&b, "hearth_lifecycle_duration_seconds_bucket{op=\"pause\","
                                   "le=\"0.1\"} 0\n"));
    CHECK(has(&b, "hearth_lifecycle_duration_seconds_bucket{op=\"pause\","
                                   "le=\"0.25\"} 1\n"));
    CHECK(has(&b, "hearth_lifecycle_duration_seconds_sum{op=\"pause\"} "
                                   "0.250000\n"));
    CHECK(has(&b, "hearth_lifecycle_duration_seconds_count{op=\"resume\"} 1\n"));
    CHECK(has(&b, "hearth_lifecycle_failures_total{op=\"resume\"} 1\n"));
    buf_release(&b);
    /* known durations: a failure counts apart, a negative one as zero */
    ctl_usage_op_done(f.u, CTL_USAGE_OP_CREATE, 1.5, true);
    ctl_usage_op_done(f.u, CTL_USAGE_OP_CREATE, -3, true);
    ctl_usage_op_done(f.u, CTL_USAGE_OP_CREATE, 0, false);
    ctl_usage_op_done(f.u, (enum ctl_usage_op)99, 1, true); /* out of range: ignored */
    buf_init(&b, 1u << 20);
    CHECK_EQ(ctl_usage_render(f.u, &b), 0);
    CHECK(has(&b, "hearth_lifecycle_duration_seconds_count{op=\"create\"} 2\n"));
    CHECK(has(&b, "hearth_lifecycle_failures_total{op=\"create\"} 1\n"));
    CHECK(has(&b, "hearth_lifecycle_duration_seconds_bucket{op=\"create\","
                                   "le=\"0.05\"} 1\n"));
    /* the networking operations are a family of their own */
    CHECK(!has(&b, "hearth_lifecycle_duration_seconds_count{op=\"attach\"}"));
    CHECK(has(&b, "hearth_network_op_duration_seconds_count{op=\"attach\"} 0\n"));
    buf_release(&b);
    ctl_usage_op_done(f.u, CTL_USAGE_OP_NET_ATTACH, 0.02, true);
    ctl_usage_op_done(f.u, CTL_USAGE_OP_EGRESS_SET, 0.02, false);
    buf_init(&b, 1u << 20);
    CHECK_EQ(ctl_usage_render(f.u, &b), 0);
    CHECK(has(&b, "hearth_network_op_duration_seconds_bucket{op=\"attach\",le=\"0.05\"} 1\n"));
    CHECK(has(&b, "hearth_network_op_failures_total{op=\"egress_set\"} 1\n"));
    buf_release(&b);
    ufx_close(&f);
}

TEST(step_histograms_and_event_timeline)
{
    struct ufx f;
    if (!ufx_open(&f))
        return;
    char a1[STORE_ID_SIZE], a2[STORE_ID_SIZE];
    if (!add(&f, "alice", f.fx.key_id, "a1", STORE_RESUMING, 1, 1024, a1) ||
        !add(&f, "alice", f.fx.key_id, "a2", STORE_RESUMING, 1, 1024, a2)) {
        ufx_close(&f);
        return;
    }
    /* a resume's steps, one of them unlisted */
    struct timeline tl;
    timeline_start_at(&tl, 1000);
    tl.steps[tl.n++] = (struct timeline_step){ "intent", 3000 };
    tl.steps[tl.n++] = (struct timeline_step){ "spawn", 15000 };
    tl.steps[tl.n++] = (struct timeline_step){ "not_a_listed_step", 15500 };
    ctl_event_timeline(&f.ctl, a1, CTL_USAGE_OP_RESUME, &tl);
    ctl_event_timeline(&f.ctl, a2, CTL_USAGE_OP_RESUME, &tl);
    /* a move into a transitional state keeps it waiting; the settle takes it */
    ctl_event_settled(&f.ctl, a1, STORE_RUNNING, STORE_PAUSING, timefmt_now_ms(), NULL);
    ctl_event_settled(&f.ctl, a1, STORE_RESUMING, STORE_RUNNING, timefmt_now_ms(), NULL);
    ctl_event_settled(&f.ctl, a2, STORE_RESUMING, STORE_ERROR, timefmt_now_ms(), "broken");
    struct buf b;
    buf_init(&b, 1u << 20);
    CHECK_EQ(ctl_usage_render(f.u, &b), 0);
    CHECK(has(&b, "# TYPE hearth_lifecycle_step_duration_seconds histogram\n"));
    CHECK(has(&b, "hearth_lifecycle_step_duration_seconds_count{op=\"resume\",step=\"intent\"} "
                  "1\n"));
    CHECK(has(&b, "hearth_lifecycle_step_duration_seconds_bucket{op=\"resume\",step=\"intent\","
                  "le=\"0.0025\"} 1\n"));
    CHECK(has(&b, "hearth_lifecycle_step_duration_seconds_bucket{op=\"resume\",step=\"spawn\","
                  "le=\"0.01\"} 0\n"));
    CHECK(has(&b, "hearth_lifecycle_step_duration_seconds_sum{op=\"resume\",step=\"spawn\"} "
                  "0.012000\n"));
    CHECK(has(&b, "hearth_lifecycle_step_duration_seconds_count{op=\"resume\",step=\"other\"} "
                  "1\n"));
    CHECK(has(&b, "hearth_lifecycle_step_duration_seconds_count{op=\"resume\",step=\"settle\"} "
                  "1\n")); /* the failed a2 counted nothing */
    CHECK(!has(&b, "not_a_listed_step"));
    CHECK(!has(&b, "step_duration_seconds_count{op=\"create\"")); /* none observed yet */
    buf_release(&b);
    /* each settling event carries its timeline; the one after it none */
    struct store_event e;
    CHECK_EQ(store_event_last(f.fx.st, a1, "resumed", &e), 0);
    CHECK(strncmp(e.timeline, "intent=2.0 spawn=12.0 not_a_listed_step=0.5 settle=", 51) == 0);
    CHECK(strstr(e.timeline, " total=") != NULL);
    CHECK_EQ(store_event_last(f.fx.st, a2, "resume_failed", &e), 0);
    CHECK(strncmp(e.timeline, "intent=2.0", 10) == 0);
    ctl_event_settled(&f.ctl, a1, STORE_PAUSING, STORE_PAUSED, timefmt_now_ms(), NULL);
    CHECK_EQ(store_event_last(f.fx.st, a1, "paused", &e), 0);
    CHECK_STR(e.timeline, "");
    /* out-of-range operations are ignored */
    ctl_usage_steps(f.u, CTL_USAGE_OP_DESTROY, &tl);
    ctl_usage_steps(NULL, CTL_USAGE_OP_CREATE, &tl);
    ufx_close(&f);
}
