/* SPDX-License-Identifier: MIT */
/* dockerfile_internal.h: the private seam between the two halves of the Dockerfile parser
 * (docs/templates.md "Dockerfiles"): dockerfile_lex.c turns the text into logical lines (size
 * and encoding checks, parser directives, comments, line continuations, CRLF), dockerfile.c
 * applies the instruction rules to them. Nothing outside src/daemon/tpl includes it. */
#pragma once

#include <stddef.h>

struct tpl_error;

struct df_line {
    unsigned line;                      /* 1-based line where the logical line starts */
    char *text;                         /* continuations joined as Docker does, trimmed; owned */
};

struct df_lines {
    struct df_line *v;
    size_t n, cap;
    char escape;                        /* '\\', or '`' after `# escape=`` */
};

/* Splits src (len bytes, need not be NUL-terminated) into logical lines, dropping blank lines,
 * comments (also those inside a continuation) and parser directives. 0 and *out (release with
 * df_lines_release), or -EINVAL with *err, or -ENOMEM. */
int df_lex(const char *src, size_t len, struct df_lines *out, struct tpl_error *err);
void df_lines_release(struct df_lines *ls);

/* Writes "line N: …" (or the bare message when line is 0) into err; returns -EINVAL. */
__attribute__((format(printf, 3, 4)))
int df_fail(struct tpl_error *err, unsigned line, const char *fmt, ...);
