/* SPDX-License-Identifier: MIT */
/* test_timeline.c: per-step timelines (common/timeline.h): step durations are the gaps
 * between marks, an appended part keeps its own times, a full timeline says it was cut, the
 * format is "name=ms ... total=ms" and never overruns its buffer, and the step-name mapping
 * sends every unlisted name to "other". Times are set by hand: no clock is asserted. */
#include "common/timeline.h"
#include "harness.h"

/* A timeline started at 1000 us with marks at the given absolute times. */
static void build(struct timeline *t, const char *const *names, const int64_t *at, unsigned n)
{
    timeline_start_at(t, 1000);
    for (unsigned i = 0; i < n; i++) {
        t->steps[t->n].name = names[i];
        t->steps[t->n].at_us = at[i];
        t->n++;
    }
}

TEST(timeline_unstarted_ignores_marks)
{
    struct timeline t = { 0 };
    timeline_mark(&t, "spawn");
    CHECK_EQ(t.n, 0u);
    CHECK_EQ(timeline_total_us(&t), 0);
    char out[64];
    timeline_format(&t, out, sizeof(out));
    CHECK_STR(out, "total=0.0");
}

TEST(timeline_marks_in_order)
{
    struct timeline t;
    timeline_start(&t);
    timeline_mark(&t, "checks");
    timeline_mark(&t, "intent");
    CHECK_EQ(t.n, 2u);
    CHECK_STR(t.steps[0].name, "checks");
    CHECK_STR(t.steps[1].name, "intent");
    CHECK(t.steps[1].at_us >= t.steps[0].at_us);
    CHECK(timeline_step_us(&t, 0) >= 0);
    CHECK_EQ(timeline_step_us(&t, 5), 0); /* out of range */
    CHECK_EQ(timeline_total_us(&t), timeline_step_us(&t, 0) + timeline_step_us(&t, 1));
}

TEST(timeline_step_durations_and_format)
{
    static const char *const names[] = { "spawn", "qmp_caps", "ready" };
    static const int64_t at[] = { 13300, 17400, 181200 };
    struct timeline t;
    build(&t, names, at, 3);
    CHECK_EQ(timeline_step_us(&t, 0), 12300);
    CHECK_EQ(timeline_step_us(&t, 1), 4100);
    CHECK_EQ(timeline_step_us(&t, 2), 163800);
    CHECK_EQ(timeline_total_us(&t), 180200);
    char out[128];
    int w = timeline_format(&t, out, sizeof(out));
    CHECK_STR(out, "spawn=12.3 qmp_caps=4.1 ready=163.8 total=180.2");
    CHECK_EQ(w, (int)strlen(out));
}

TEST(timeline_format_truncates_safely)
{
    static const char *const names[] = { "spawn", "qmp_caps", "ready" };
    static const int64_t at[] = { 13300, 17400, 181200 };
    struct timeline t;
    build(&t, names, at, 3);
    char full[128];
    int want = timeline_format(&t, full, sizeof(full));
    for (size_t len = 0; len < (size_t)want + 2; len++) {
        char out[128];
        memset(out, 'x', sizeof(out));
        CHECK_EQ(timeline_format(&t, out, len), want);
        if (len) {
            CHECK_EQ(strlen(out), len - 1 < (size_t)want ? len - 1 : (size_t)want);
            CHECK(strncmp(out, full, strlen(out)) == 0);
        }
        CHECK_EQ(out[len + 1], 'x'); /* nothing past the buffer (len + 1 < 128) */
    }
}

TEST(timeline_append_keeps_part_times)
{
    struct timeline t, part;
    timeline_start_at(&t, 1000);
    t.steps[t.n++] = (struct timeline_step){ "net", 2000 };
    timeline_start_at(&part, 2500);
    part.steps[part.n++] = (struct timeline_step){ "spawn", 5000 };
    part.steps[part.n++] = (struct timeline_step){ "ready", 9000 };
    timeline_append(&t, &part);
    CHECK_EQ(t.n, 3u);
    CHECK_EQ(timeline_step_us(&t, 1), 3000); /* since "net", not since the part's start */
    CHECK_EQ(timeline_step_us(&t, 2), 4000);
    CHECK_EQ(timeline_total_us(&t), 8000);
    /* an unstarted part appends nothing; nor does anything append to an unstarted one */
    struct timeline none = { 0 };
    timeline_append(&t, &none);
    CHECK_EQ(t.n, 3u);
    timeline_append(&none, &part);
    CHECK_EQ(none.n, 0u);
}

TEST(timeline_step_never_negative)
{
    /* a part that started before the last mark: its first step may end "earlier" */
    static const char *const names[] = { "net", "spawn" };
    static const int64_t at[] = { 5000, 4000 };
    struct timeline t;
    build(&t, names, at, 2);
    CHECK_EQ(timeline_step_us(&t, 1), 0);
}

TEST(timeline_full_is_truncated)
{
    struct timeline t;
    timeline_start(&t);
    for (int i = 0; i < TIMELINE_MAX_STEPS + 3; i++)
        timeline_mark(&t, "state");
    CHECK_EQ(t.n, (unsigned)TIMELINE_MAX_STEPS);
    CHECK(t.truncated);
    char out[1024];
    timeline_format(&t, out, sizeof(out));
    CHECK(strstr(out, "(truncated)") != NULL);
    struct timeline u;
    timeline_start(&u);
    timeline_append(&u, &t);
    CHECK(u.truncated);
}

TEST(timeline_start_at_zero_still_starts)
{
    struct timeline t;
    timeline_start_at(&t, 0);
    CHECK(t.start_us > 0);
    timeline_mark(&t, "spawn");
    CHECK_EQ(t.n, 1u);
}

TEST(timeline_step_names_map_back)
{
    for (int i = 0; i < TIMELINE_STEP__COUNT; i++) {
        const char *name = timeline_step_name((enum timeline_step_id)i);
        CHECK(name && name[0]);
        CHECK_EQ(timeline_step_id(name), (enum timeline_step_id)i);
    }
    CHECK_STR(timeline_step_name(TIMELINE_STEP_SPAWN), "spawn");
    CHECK_EQ(timeline_step_id("ready"), TIMELINE_STEP_READY);
    CHECK_EQ(timeline_step_id("settle"), TIMELINE_STEP_SETTLE);
}

TEST(timeline_unknown_steps_are_other)
{
    CHECK_EQ(timeline_step_id(NULL), TIMELINE_STEP_OTHER);
    CHECK_EQ(timeline_step_id(""), TIMELINE_STEP_OTHER);
    CHECK_EQ(timeline_step_id("Spawn"), TIMELINE_STEP_OTHER);
    CHECK_EQ(timeline_step_id("spawn "), TIMELINE_STEP_OTHER);
    CHECK_EQ(timeline_step_id("pool_take_not_listed"), TIMELINE_STEP_OTHER);
    CHECK_STR(timeline_step_name((enum timeline_step_id)-1), "other");
    CHECK_STR(timeline_step_name(TIMELINE_STEP__COUNT), "other");
}
