/* SPDX-License-Identifier: MIT */
/* template_logbuf.h: a build log's lines before they are stored (docs/templates.md "How a build
 * runs"): step output split into lines, each made valid UTF-8 and cut at STORE_TPL_LINE_MAX,
 * at most max_lines per attempt and then one "log truncated" line. Pure: no store, no I/O;
 * the writer (template_log.c) drains it in batches. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tpl_logline {
    char *line;                         /* owned, NUL-terminated, no '\n' */
    bool error;
    int64_t ts;                         /* unix ms */
};

struct tpl_logbuf {
    struct tpl_logline *v;              /* lines waiting to be stored */
    size_t n, cap;
    char *part;                         /* the output line not ended yet */
    size_t part_n;
    bool part_cut;                      /* the rest of an over-long line is dropped */
    uint64_t accepted, max_lines;       /* lines taken this attempt, and the cap */
    bool truncated;
    size_t line_max;                    /* bytes a line keeps */
};

void tpl_logbuf_init(struct tpl_logbuf *b, uint64_t max_lines, size_t line_max);
/* Adds one whole line (cut at line_max on a UTF-8 boundary). 0 or -ENOMEM. */
int tpl_logbuf_line(struct tpl_logbuf *b, bool error, int64_t ts, const char *s, size_t len);
/* Adds output bytes: every '\n' ends a line ('\r' before it dropped); the rest waits. */
int tpl_logbuf_bytes(struct tpl_logbuf *b, int64_t ts, const char *p, size_t len);
/* Ends the partial line, if any, as a line. */
int tpl_logbuf_end_partial(struct tpl_logbuf *b, int64_t ts);
/* Hands the waiting lines over (*ret, *ret_n; free with tpl_logbuf_lines_free) and empties. */
void tpl_logbuf_take(struct tpl_logbuf *b, struct tpl_logline **ret, size_t *ret_n);
void tpl_logbuf_lines_free(struct tpl_logline *v, size_t n);
void tpl_logbuf_release(struct tpl_logbuf *b);
