/* SPDX-License-Identifier: MIT */
/* timeline.h: the per-step timeline of one operation (create, resume, fork, pause, a pool
 * take), docs/performance.md "Where the time goes". A fixed-size value (no allocation), so
 * it can sit in a host_result and travel across the host seam as plain data. Steps are
 * marked in order as they end; a step's duration is the time since the previous mark (the
 * first: since timeline_start). Names are static strings from the list in
 * docs/performance.md ("spawn", "qmp", "incoming", "state", "cont", "hello", "ready", ...). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TIMELINE_MAX_STEPS 24

struct timeline_step {
    const char *name;           /* static; never freed */
    int64_t at_us;              /* monotonic time the step ended */
};

struct timeline {
    int64_t start_us;           /* 0: not started (marks are then ignored) */
    unsigned n;
    bool truncated;             /* more than TIMELINE_MAX_STEPS marks came */
    struct timeline_step steps[TIMELINE_MAX_STEPS];
};

/* Starts (or restarts) t now. */
void timeline_start(struct timeline *t);
/* Starts t at a given monotonic time (a request's arrival). */
void timeline_start_at(struct timeline *t, int64_t start_us);
/* Marks the end of step name (static string) now; ignored when t was never started. */
void timeline_mark(struct timeline *t, const char *name);
/* Appends the steps of part (a host operation's own timeline) to t, keeping their times. */
void timeline_append(struct timeline *t, const struct timeline *part);
/* Duration of step i in microseconds (since the previous mark or the start). */
int64_t timeline_step_us(const struct timeline *t, unsigned i);
/* Total: last mark minus start; 0 when empty. */
int64_t timeline_total_us(const struct timeline *t);
/* "spawn=12.3 qmp=4.1 ... total=180.2" (milliseconds, one decimal) into out; returns the
 * length snprintf would write. */
int timeline_format(const struct timeline *t, char *out, size_t len);
