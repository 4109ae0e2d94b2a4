/* SPDX-License-Identifier: MIT */
/* template_build.h: what the parts of the template builder tell each other (docs/templates.md
 * "How a build runs"): the queue (template_build.c), the log writer and its followers
 * (template_log.c), the collector (template_gc.c), and the API-facing operations
 * (template_ops.c) that wake them. Loop thread only. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/store/store.h"

struct ctl;
struct ctl_tpl_follow;

#define CTL_TPL_MAX_ATTEMPTS 3          /* docs/api.md §3.10.1: attempts lost to faults */
#define CTL_TPL_LOG_MAX_LINES 20000     /* per attempt; then one "log truncated" line */

/* The builder's state, hung on ctx->templates (made on demand). */
struct ctl_templates {
    struct tpl_build *builds;           /* running attempts */
    struct ctl_tpl_follow *follows;     /* log followers */
    struct event *kick;                 /* runs the queue from the loop */
    struct event *gc_timer;             /* the collector's round */
    bool stopped;
    uint64_t results[3];                /* builds ended ready, failed, cancelled (metrics) */
};
/* ctx->templates, made when missing; NULL on out of memory. */
struct ctl_templates *ctl_tpl_state(struct ctl *c);

/* Wakes the queue (from the loop, not inside the call): pending templates start while fewer
 * than max_concurrent_builds run. */
void ctl_tpl_kick(struct ctl *c);
/* Template id was deleted while pending or building: its build stops now, its unfinished
 * files go, its followers get "cancelled". */
void ctl_tpl_cancel(struct ctl *c, const char *id);

/* ---- the log (template_log.c) ---- */

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

/* ---- the collector (template_gc.c) ---- */

/* Removes layers and goldens no live template and no live sandbox needs, unreferenced
 * contexts older than a day, stale .tmp dirs (startup: every .tmp; later: those of no running
 * build). Errors are logged. */
void ctl_tpl_gc(struct ctl *c, bool at_start);
/* Whether a running build uses name: a layer key it writes or stands on, or the golden tag
 * it is making (the collector leaves those alone). */
bool ctl_tpl_build_uses(struct ctl *c, const char *name);
/* A row's options (docs/api.md §3.10.3 shapes: start_cmd, ready) into img's start_cmd and
 * ready (owned by img). */
struct ctl_tpl_image;
void ctl_tpl_options_parse(const char *options, struct ctl_tpl_image *img);
