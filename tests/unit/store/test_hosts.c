/* SPDX-License-Identifier: MIT */
/* test_hosts.c: the host registry in the store: report inserts then refreshes, the drain flag
 * survives reports, list order, get/drain/delete of unknown ids, delete refused while live
 * sandboxes name the host, and argument checks (empty, overlong, negative). */
#include "fixture.h"

TEST(report_refresh_and_drain)
{
    struct fx f;
    CHECK(fx_open(&f, true));
    struct store_host h = { .mem_mib = 100, .free_mib = 50, .vcpus = 2, .vm_count = 1,
                            .started_at = 1, .heartbeat_at = 2 };
    snprintf(h.id, sizeof(h.id), "b-host");
    snprintf(h.region, sizeof(h.region), "local");
    snprintf(h.labels, sizeof(h.labels), "zone=a");
    CHECK_EQ(store_host_report(f.st, &h), 0);
    snprintf(h.id, sizeof(h.id), "a-host");
    CHECK_EQ(store_host_report(f.st, &h), 0);
    CHECK_EQ(store_host_set_drain(f.st, "b-host", true), 0);
    h.free_mib = 40;
    h.heartbeat_at = 3;
    snprintf(h.id, sizeof(h.id), "b-host");
    h.drain = false; /* a report never clears the operator's flag */
    CHECK_EQ(store_host_report(f.st, &h), 0);
    struct store_host *all = NULL;
    size_t n = 0;
    CHECK_EQ(store_host_list(f.st, &all, &n), 0);
    CHECK_EQ(n, 2);
    CHECK_STR(all[0].id, "a-host");
    CHECK(!all[0].drain);
    CHECK_STR(all[1].id, "b-host");
    CHECK(all[1].drain);
    CHECK_EQ(all[1].free_mib, 40);
    CHECK_EQ(all[1].heartbeat_at, 3);
    CHECK_STR(all[1].labels, "zone=a");
    free(all);
    struct store_host got;
    CHECK_EQ(store_host_get(f.st, "b-host", &got), 0);
    CHECK(got.drain);
    CHECK_EQ(store_host_set_drain(f.st, "b-host", false), 0);
    CHECK_EQ(store_host_get(f.st, "b-host", &got), 0);
    CHECK(!got.drain);
    fx_close(&f);
}

TEST(unknown_and_bad_arguments)
{
    struct fx f;
    CHECK(fx_open(&f, true));
    struct store_host got;
    CHECK_EQ(store_host_get(f.st, "nope", &got), -ENOENT);
    CHECK_EQ(store_host_set_drain(f.st, "nope", true), -ENOENT);
    CHECK_EQ(store_host_delete(f.st, "nope"), -ENOENT);
    CHECK_EQ(store_host_get(f.st, "", &got), -EINVAL);
    char longid[200];
    memset(longid, 'x', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    CHECK_EQ(store_host_get(f.st, longid, &got), -ENOENT);
    struct store_host h = { 0 };
    CHECK_EQ(store_host_report(f.st, &h), -EINVAL); /* empty id */
    snprintf(h.id, sizeof(h.id), "h");
    CHECK_EQ(store_host_report(f.st, &h), -EINVAL); /* empty region */
    snprintf(h.region, sizeof(h.region), "local");
    h.free_mib = -1;
    CHECK_EQ(store_host_report(f.st, &h), -EINVAL);
    h.free_mib = 0;
    memset(h.labels, 'x', sizeof(h.labels)); /* no NUL */
    CHECK_EQ(store_host_report(f.st, &h), -ENAMETOOLONG);
    h.labels[0] = '\0';
    CHECK_EQ(store_host_report(f.st, &h), 0);
    fx_close(&f);
}

TEST(delete_refused_while_sandboxes_live)
{
    struct fx f;
    CHECK(fx_open(&f, true));
    struct store_host h = { .mem_mib = 1 };
    snprintf(h.id, sizeof(h.id), "h1");
    snprintf(h.region, sizeof(h.region), "local");
    CHECK_EQ(store_host_report(f.st, &h), 0);
    struct store_sandbox sb;
    fx_sandbox(&sb, "alice", f.key_id, "one", 1000);
    snprintf(sb.host_id, sizeof(sb.host_id), "h1");
    CHECK_EQ(store_sandbox_insert(f.st, &sb, NULL, 0), 0);
    CHECK_EQ(store_host_delete(f.st, "h1"), -EBUSY);
    struct store_transition t = { .from = STORE_RUNNING, .to = STORE_DESTROYED,
                                  .intent = STORE_STATE_NONE, .now_ms = 2000 };
    CHECK_EQ(store_sandbox_transition(f.st, sb.id, &t, NULL), 0);
    store_sandbox_release(&sb);
    CHECK_EQ(store_host_delete(f.st, "h1"), 0);
    struct store_host got;
    CHECK_EQ(store_host_get(f.st, "h1", &got), -ENOENT);
    fx_close(&f);
}
