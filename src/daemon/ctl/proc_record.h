/* SPDX-License-Identifier: MIT */
/* proc_record.h: the managed-process records the agent sends (docs/agent-protocol.md
 * "Interactive streams") turned into the API's views (docs/api.md §2.13): field by field, as
 * the guest is not trusted; times to RFC 3339, signal numbers to names. Pure: no I/O. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* What a DONE answer holds: one record, {"processes":[record…]} or {"input_seq":n}. */
enum ctl_proc_view { CTL_PROC_VIEW_RECORD, CTL_PROC_VIEW_LIST, CTL_PROC_VIEW_INPUT };

/* The ManagedProcess of a record (new reference), or NULL when it is malformed. */
json_t *ctl_proc_record_view(json_t *rec);
/* The view of a DONE answer's text (NULL-safe), or NULL when malformed. */
json_t *ctl_proc_answer_view(enum ctl_proc_view kind, const char *text);
/* obj[key] as a string without NUL of at most max bytes / an integer lo..hi: true with *ret. */
bool ctl_proc_str_field(json_t *obj, const char *key, size_t max, const char **ret);
bool ctl_proc_int_field(json_t *obj, const char *key, json_int_t lo, json_int_t hi,
                        json_int_t *ret);
/* "SIGKILL" for 9, … (NULL when unknown); and one of docs/api.md §3.11.8's names back to its
 * number (0 for any other name). */
const char *ctl_process_signal_name(int sig);
int ctl_process_signal_parse(const char *name);
