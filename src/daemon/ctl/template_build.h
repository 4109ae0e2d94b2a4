/* SPDX-License-Identifier: MIT */
/* template_build.h: the builder as the rest of the control layer wakes it (docs/templates.md
 * "How a build runs"): the queue and cancels (template_build.c) and the collector
 * (template_gc.c), used by the API-facing operations (template_ops.c). Loop thread only. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctl;
struct ctl_tpl_image;

/* Wakes the queue (from the loop, not inside the call): pending templates start while fewer
 * than max_concurrent_builds run. */
void ctl_tpl_kick(struct ctl *c);
/* Template id was deleted while pending or building: its build stops now, its unfinished
 * files go, its followers get "cancelled". */
void ctl_tpl_cancel(struct ctl *c, const char *id);
/* Whether a running build uses name: a layer key it writes or stands on, or the golden tag
 * it is making (the collector leaves those alone). */
bool ctl_tpl_build_uses(struct ctl *c, const char *name);
/* Builds ended ready, failed and cancelled since start (metrics). */
void ctl_tpl_build_counts(struct ctl *c, uint64_t ret[3]);

/* ---- the collector (template_gc.c) ---- */

/* Removes layers and goldens no live template and no live sandbox needs, unreferenced
 * contexts older than a day, stale .tmp dirs (startup: every .tmp; later: those of no running
 * build). Errors are logged. */
void ctl_tpl_gc(struct ctl *c, bool at_start);
