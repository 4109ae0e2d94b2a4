/* SPDX-License-Identifier: MIT */
/* timeline.c: per-step operation timelines (timeline.h). */
#include "common/timeline.h"

#include <stdio.h>
#include <string.h>

#include "common/mono.h"

void timeline_start_at(struct timeline *t, int64_t start_us)
{
    t->start_us = start_us > 0 ? start_us : 1;
    t->n = 0;
    t->truncated = false;
}

void timeline_start(struct timeline *t)
{
    timeline_start_at(t, mono_now_us());
}

static void push(struct timeline *t, const char *name, int64_t at_us)
{
    if (t->n >= TIMELINE_MAX_STEPS) {
        t->truncated = true;
        return;
    }
    t->steps[t->n].name = name;
    t->steps[t->n].at_us = at_us;
    t->n++;
}

void timeline_mark(struct timeline *t, const char *name)
{
    if (t->start_us)
        push(t, name, mono_now_us());
}

void timeline_append(struct timeline *t, const struct timeline *part)
{
    if (!t->start_us || !part->start_us)
        return;
    for (unsigned i = 0; i < part->n; i++)
        push(t, part->steps[i].name, part->steps[i].at_us);
    if (part->truncated)
        t->truncated = true;
}

int64_t timeline_step_us(const struct timeline *t, unsigned i)
{
    if (i >= t->n)
        return 0;
    int64_t prev = i ? t->steps[i - 1].at_us : t->start_us;
    int64_t d = t->steps[i].at_us - prev;
    return d > 0 ? d : 0;   /* an appended part may start before the last mark */
}

int64_t timeline_total_us(const struct timeline *t)
{
    return t->n ? t->steps[t->n - 1].at_us - t->start_us : 0;
}

int timeline_format(const struct timeline *t, char *out, size_t len)
{
    int w = 0;
    if (len)
        out[0] = '\0';
    for (unsigned i = 0; i < t->n; i++) {
        size_t at = (size_t)w < len ? (size_t)w : len;
        w += snprintf(out + at, len - at, "%s%s=%.1f", i ? " " : "", t->steps[i].name,
                      (double)timeline_step_us(t, i) / 1000.0);
    }
    size_t at = (size_t)w < len ? (size_t)w : len;
    w += snprintf(out + at, len - at, "%stotal=%.1f%s", t->n ? " " : "",
                  (double)timeline_total_us(t) / 1000.0, t->truncated ? " (truncated)" : "");
    return w;
}

#define TIMELINE_STEP_STR_(id, str) str,
static const char *const step_names[TIMELINE_STEP__COUNT] = { TIMELINE_STEPS(TIMELINE_STEP_STR_) };
#undef TIMELINE_STEP_STR_

enum timeline_step_id timeline_step_id(const char *name)
{
    for (int i = 0; name && i < TIMELINE_STEP_OTHER; i++)
        if (strcmp(step_names[i], name) == 0)
            return (enum timeline_step_id)i;
    return TIMELINE_STEP_OTHER;
}

const char *timeline_step_name(enum timeline_step_id id)
{
    return id >= 0 && id < TIMELINE_STEP__COUNT ? step_names[id] : step_names[TIMELINE_STEP_OTHER];
}
