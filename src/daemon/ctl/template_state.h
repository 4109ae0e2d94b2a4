/* SPDX-License-Identifier: MIT */
/* template_state.h: the builder's state hung on ctx->templates (docs/templates.md "How a
 * build runs"): running attempts, log followers, timers, counters. Shared by the queue
 * (template_build.c), the log (template_log.c) and the metrics. Loop thread only. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "daemon/ctl/ctl.h"

struct tpl_build;
struct ctl_tpl_follow;
struct event;

#define CTL_TPL_MAX_ATTEMPTS 3          /* docs/api.md §3.10.1: attempts lost to faults */

struct ctl_templates {
    struct tpl_build *builds;           /* running attempts */
    struct ctl_tpl_follow *follows;     /* log followers */
    struct event *kick;                 /* runs the queue from the loop */
    struct event *gc_timer;             /* the collector's round */
    bool started, stopped;              /* ctl_templates_start ran; _stop ran */
    uint64_t results[3];                /* builds ended ready, failed, cancelled (metrics) */
};

/* ctx->templates, made when missing; NULL on out of memory. */
static inline struct ctl_templates *ctl_tpl_state(struct ctl *c)
{
    if (!c->templates)
        c->templates = calloc(1, sizeof(*c->templates));
    return c->templates;
}
