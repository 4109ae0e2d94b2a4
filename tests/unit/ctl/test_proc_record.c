/* SPDX-License-Identifier: MIT */
/* test_proc_record.c: the agent's process records into ManagedProcess views
 * (src/daemon/ctl/proc_record.c, docs/api.md §2.13): every field of a full record, the
 * signal name and RFC 3339 times, the fields only some states carry, lists and input answers,
 * and a hostile guest's malformed records refused whole. */
#include "harness.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/ctl/proc_record.h"

#define REC(extra)                                                                               \
    "{\"process_id\":\"proc_01ARZ3NDEKTSV4RRFFQ69G5FAV\",\"kind\":\"pty\",\"pid\":42,"           \
    "\"state\":\"exited\",\"leader_exited\":true,\"tree_exited\":false,"                        \
    "\"created_ms\":1700000000123,\"cmd\":\"sh\",\"args\":[\"-c\",\"x\"],\"cwd\":\"/root\","     \
    "\"output\":{\"oldest_seq\":3,\"newest_seq\":9,\"bytes\":100}" extra "}"

TEST(full_record)
{
    json_t *v = ctl_proc_answer_view(CTL_PROC_VIEW_RECORD,
                                     REC(",\"finished_ms\":1700000001000,\"exit_code\":137,"
                                         "\"signal\":9,\"input_seq\":4,\"junk\":1"));
    CHECK(v != NULL);
    CHECK_STR(json_string_value(json_object_get(v, "process_id")),
              "proc_01ARZ3NDEKTSV4RRFFQ69G5FAV");
    CHECK_STR(json_string_value(json_object_get(v, "kind")), "pty");
    CHECK_EQ(json_integer_value(json_object_get(v, "pid")), 42);
    CHECK_STR(json_string_value(json_object_get(v, "created_at")), "2023-11-14T22:13:20.123Z");
    CHECK_STR(json_string_value(json_object_get(v, "finished_at")), "2023-11-14T22:13:21.000Z");
    CHECK_EQ(json_integer_value(json_object_get(v, "exit_code")), 137);
    CHECK_STR(json_string_value(json_object_get(v, "signal")), "SIGKILL");
    CHECK_EQ(json_integer_value(json_object_get(json_object_get(v, "output"), "oldest_seq")), 3);
    CHECK_EQ(json_array_size(json_object_get(v, "args")), 2);
    CHECK(json_object_get(v, "junk") == NULL);       /* only the fields of §2.13 */
    CHECK(json_object_get(v, "input_seq") == NULL);
    CHECK(json_object_get(v, "foreground") == NULL); /* the leader exited */
    json_decref(v);
}

TEST(running_pty_has_foreground_and_no_exit)
{
    json_t *v = ctl_proc_answer_view(
        CTL_PROC_VIEW_RECORD,
        "{\"process_id\":\"proc_1\",\"kind\":\"pty\",\"pid\":1,\"state\":\"running\","
        "\"leader_exited\":false,\"tree_exited\":false,\"created_ms\":1,\"cmd\":\"bash\","
        "\"args\":[],\"cwd\":\"/\",\"exit_code\":0,\"output\":{\"oldest_seq\":0,"
        "\"newest_seq\":0,\"bytes\":0},\"foreground\":{\"pid\":7,\"cmd\":\"vi\",\"args\":[\"f\"]}}");
    CHECK(v != NULL);
    CHECK(json_object_get(v, "exit_code") == NULL); /* not before the leader exited */
    CHECK_EQ(json_integer_value(json_object_get(json_object_get(v, "foreground"), "pid")), 7);
    json_decref(v);
}

TEST(malformed_records_refused)
{
    static const char *const bad[] = {
        "", "[]", "null", "{}",
        REC(",\"kind\":\"shell\""), /* duplicate key: jansson keeps the last */
        "{\"process_id\":1}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        json_t *v = ctl_proc_answer_view(CTL_PROC_VIEW_RECORD, bad[i]);
        if (v)
            harness_fail(__FILE__, __LINE__, "accepted %s", bad[i]);
        json_decref(v);
    }
    /* one field wrong at a time */
    static const char *const fields[][2] = {
        { "\"pid\":42", "\"pid\":-1" },          { "\"state\":\"exited\"", "\"state\":\"x\"" },
        { "\"args\":[\"-c\",\"x\"]", "\"args\":[1]" }, { "\"cwd\":\"/root\"", "\"cwd\":null" },
        { "\"tree_exited\":false", "\"tree_exited\":0" },
        { "\"bytes\":100", "\"bytes\":\"100\"" }, { "\"created_ms\":1700000000123", "\"created_ms\":-5" },
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        char rec[1024];
        snprintf(rec, sizeof(rec), "%s", REC(""));
        char *at = strstr(rec, fields[i][0]);
        CHECK(at != NULL);
        char tail[1024];
        snprintf(tail, sizeof(tail), "%s", at + strlen(fields[i][0]));
        snprintf(at, sizeof(rec) - (size_t)(at - rec), "%s%s", fields[i][1], tail);
        json_t *v = ctl_proc_answer_view(CTL_PROC_VIEW_RECORD, rec);
        if (v)
            harness_fail(__FILE__, __LINE__, "accepted %s", rec);
        json_decref(v);
    }
}

TEST(lists_and_input_answers)
{
    json_t *v = ctl_proc_answer_view(CTL_PROC_VIEW_LIST, "{\"processes\":[" REC("") "," REC("") "]}");
    CHECK(v != NULL);
    CHECK_EQ(json_array_size(json_object_get(v, "processes")), 2);
    json_decref(v);
    /* one bad record spoils the list: nothing half-checked reaches a client */
    v = ctl_proc_answer_view(CTL_PROC_VIEW_LIST, "{\"processes\":[" REC("") ",{}]}");
    CHECK(v == NULL);
    CHECK(ctl_proc_answer_view(CTL_PROC_VIEW_LIST, "{\"processes\":{}}") == NULL);
    v = ctl_proc_answer_view(CTL_PROC_VIEW_INPUT, "{\"input_seq\":5}");
    CHECK(v && json_integer_value(json_object_get(v, "input_seq")) == 5);
    json_decref(v);
    CHECK(ctl_proc_answer_view(CTL_PROC_VIEW_INPUT, "{\"input_seq\":-1}") == NULL);
    CHECK(ctl_proc_answer_view(CTL_PROC_VIEW_INPUT, NULL) == NULL);
}

TEST(signal_names)
{
    CHECK_EQ(ctl_process_signal_parse("SIGTERM"), SIGTERM);
    CHECK_EQ(ctl_process_signal_parse("SIGWINCH"), SIGWINCH);
    CHECK_EQ(ctl_process_signal_parse("SIGSTOP"), 0); /* not in §3.11.8's list */
    CHECK_EQ(ctl_process_signal_parse("TERM"), 0);
    CHECK_EQ(ctl_process_signal_parse("sigterm"), 0);
    CHECK_STR(ctl_process_signal_name(SIGINT), "SIGINT");
    CHECK_STR(ctl_process_signal_name(SIGSEGV), "SIGSEGV");
    CHECK(ctl_process_signal_name(0) == NULL);
    CHECK(ctl_process_signal_name(65) == NULL);
}
