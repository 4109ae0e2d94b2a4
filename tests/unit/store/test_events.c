/* SPDX-License-Identifier: MIT */
/* test_events.c: a sandbox's event log in the store (migration 0005): sequence numbers, the
 * after/limit window, the newest STORE_EVENTS_KEEP kept, an unknown sandbox refused, bad
 * arguments, and the rows going with their sandbox when retention purges it. */
#include "fixture.h"

static struct store_event ev(const char *kind, const char *reason, int64_t at)
{
    struct store_event e = { .at = at };
    snprintf(e.kind, sizeof(e.kind), "%s", kind);
    snprintf(e.actor, sizeof(e.actor), "api");
    snprintf(e.reason, sizeof(e.reason), "%s", reason);
    return e;
}

TEST(events_append_list_trim_purge)
{
    struct fx f;
    if (!fx_open(&f, true))
        return;
    struct store_sandbox sb, other;
    fx_sandbox(&sb, "alice", f.key_id, "ev", 100);
    fx_sandbox(&other, "alice", f.key_id, "ev2", 100);
    CHECK_EQ(store_sandbox_insert(f.st, &sb, NULL, 0), 0);
    CHECK_EQ(store_sandbox_insert(f.st, &other, NULL, 0), 0);
    int64_t seq = 0;
    struct store_event e = ev("created", "", 100);
    CHECK_EQ(store_event_append(f.st, sb.id, &e, &seq), 0);
    CHECK_EQ(seq, 1);
    e = ev("paused", "nightly build done", 200);
    CHECK_EQ(store_event_append(f.st, sb.id, &e, &seq), 0);
    CHECK_EQ(seq, 2);
    CHECK_EQ(store_event_append(f.st, other.id, &e, &seq), 0);
    CHECK_EQ(seq, 1); /* per sandbox */
    struct store_event *v;
    size_t n;
    CHECK_EQ(store_event_list(f.st, sb.id, 0, 10, &v, &n), 0);
    CHECK_EQ(n, 2);
    if (n == 2) {
        CHECK_EQ(v[0].seq, 1);
        CHECK_STR(v[0].kind, "created");
        CHECK_STR(v[1].reason, "nightly build done");
        CHECK_STR(v[1].actor, "api");
        CHECK_EQ(v[1].at, 200);
    }
    free(v);
    CHECK_EQ(store_event_list(f.st, sb.id, 1, 10, &v, &n), 0);
    CHECK_EQ(n, 1);
    free(v);
    struct store_event last;
    CHECK_EQ(store_event_last(f.st, sb.id, "paused", &last), 0);
    CHECK_EQ(last.seq, 2);
    CHECK_EQ(store_event_last(f.st, sb.id, "resumed", &last), -ENOENT);

    /* bounded: only the newest STORE_EVENTS_KEEP stay */
    for (int i = 0; i < STORE_EVENTS_KEEP + 10; i++) {
        e = ev("resumed", "", 300 + i);
        CHECK_EQ(store_event_append(f.st, sb.id, &e, NULL), 0);
    }
    CHECK_EQ(store_event_list(f.st, sb.id, 0, STORE_EVENTS_KEEP, &v, &n), 0);
    CHECK_EQ(n, STORE_EVENTS_KEEP);
    if (n)
        CHECK_EQ(v[0].seq, 2 + 10 + 1);
    free(v);

    /* bad input */
    e = ev("x", "", 1);
    CHECK_EQ(store_event_append(f.st, "sb-nope", &e, NULL), -ENOENT);
    CHECK_EQ(store_event_list(f.st, sb.id, 0, 0, &v, &n), -EINVAL);
    CHECK_EQ(store_event_list(f.st, sb.id, -1, 5, &v, &n), -EINVAL);
    CHECK_EQ(store_event_list(f.st, sb.id, 0, STORE_EVENTS_KEEP + 1, &v, &n), -EINVAL);
    CHECK_EQ(store_event_list(f.st, "sb-nope", 0, 5, &v, &n), 0);
    CHECK_EQ(n, 0);
    e.kind[0] = 0;
    CHECK_EQ(store_event_append(f.st, sb.id, &e, NULL), -EINVAL);

    /* retention: the events go with their row */
    struct store_transition t = { STORE_RUNNING, STORE_DESTROYED, STORE_STATE_NONE, 0, 300 };
    CHECK_EQ(store_sandbox_transition(f.st, sb.id, &t, NULL), 0);
    CHECK_EQ(store_sandbox_purge(f.st, 301), 1);
    CHECK_EQ(store_event_list(f.st, sb.id, 0, 10, &v, &n), 0);
    CHECK_EQ(n, 0);
    CHECK_EQ(store_event_list(f.st, other.id, 0, 10, &v, &n), 0);
    CHECK_EQ(n, 1);
    free(v);
    CHECK_EQ(store_check(f.st), 0);
    fx_close(&f);
}
