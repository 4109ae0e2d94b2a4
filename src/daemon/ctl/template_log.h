/* SPDX-License-Identifier: MIT */
/* template_log.h: a build attempt's log writer and the log's followers (docs/api.md §3.10.6,
 * template.h has the API side): lines are batched into store appends, followers read the
 * store after their last line whenever more was stored. Loop thread only. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctl;

#define CTL_TPL_LOG_MAX_LINES 20000     /* per attempt; then one "log truncated" line */

struct ctl_tpl_log;
/* A writer for attempt of template id, continuing after seq next_seq - 1. NULL on ENOMEM. */
struct ctl_tpl_log *ctl_tpl_log_open(struct ctl *c, const char *id, int32_t attempt,
                                     int64_t next_seq);
/* One line (cut at STORE_TPL_LINE_MAX, '\n' dropped); error: level "error". */
void ctl_tpl_log_line(struct ctl_tpl_log *l, bool error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Raw step output: split into lines (a partial last line waits for more). */
void ctl_tpl_log_output(struct ctl_tpl_log *l, const char *p, size_t n);
/* Writes what is buffered (a partial output line too) and tells the followers. */
void ctl_tpl_log_flush(struct ctl_tpl_log *l);
/* Flushes and frees. NULL is fine. */
void ctl_tpl_log_close(struct ctl_tpl_log *l);
/* The next seq of attempt of template id in the store (0 when it has none). */
int64_t ctl_tpl_log_next_seq(struct ctl *c, const char *id, int32_t attempt);

/* New lines of template id are stored: followers read them. */
void ctl_tpl_follow_notify(struct ctl *c, const char *id);
/* Template id ended (status "ready", "failed", "cancelled"): followers get the rest and the
 * final frame. attempt: the attempt that ended (followers of an earlier one got theirs). */
void ctl_tpl_follow_final(struct ctl *c, const char *id, int32_t attempt, const char *status);
/* An attempt of template id ended without a final status (retried): followers filtering on
 * it get "failed". */
void ctl_tpl_follow_attempt_end(struct ctl *c, const char *id, int32_t attempt);
/* Shutdown: every follower is dropped without a final frame. */
void ctl_tpl_follow_drop_all(struct ctl *c);
