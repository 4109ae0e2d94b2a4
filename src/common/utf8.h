/* SPDX-License-Identifier: MIT */
/* utf8.h: turning arbitrary bytes (process output) into valid UTF-8 text, as docs/api.md §1.8
 * item 7 asks: each invalid sequence (its maximal valid prefix, or one bad byte) becomes U+FFFD. Works
 * on a stream piece by piece without splitting a sequence. Pure; no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct buf;

/* Appends p[0..len) to out as valid UTF-8. With final false, a sequence cut off by the end of
 * p (still valid so far) is not consumed: the caller keeps it and passes it again in front of
 * the next piece; with final true it becomes U+FFFD. Returns the bytes consumed, or -EMSGSIZE /
 * -ENOMEM from out (out may then hold part of the text). */
__attribute__((warn_unused_result))
ssize_t utf8_sanitize(const uint8_t *p, size_t len, bool final, struct buf *out);

/* True when p[0..len) is valid UTF-8 (RFC 3629, as utf8_sanitize accepts): what a PostgreSQL
 * text column can hold, so the store refuses anything else before a backend sees it. */
bool utf8_valid(const uint8_t *p, size_t len);

/* The largest n ≤ max such that p[0..n) ends on a sequence boundary of the valid UTF-8 text
 * p[0..len) (for cutting frames). */
size_t utf8_boundary(const uint8_t *p, size_t len, size_t max);

/* Cuts the NUL-terminated s before a UTF-8 sequence left incomplete at its end, which is what
 * "%.Ns" or a fixed-size copy can leave of valid text, so that s is valid again (JSON strings
 * and keys must be). Nothing else in s is checked. */
void utf8_cut_partial(char *s);
