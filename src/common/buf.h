/* SPDX-License-Identifier: MIT */
/* buf.h: one growable byte buffer with a hard maximum, for everything filled from a socket,
 * the guest or a file. Appending past the maximum fails with -EMSGSIZE and leaves the buffer
 * unchanged, so a hostile peer can never make us allocate without bound. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct buf {
    uint8_t *data;      /* owned; NULL until the first append */
    size_t len;         /* bytes in use */
    size_t cap;         /* bytes allocated */
    size_t max;         /* hard ceiling on len */
};

/* Prepares an empty buffer that may grow to max bytes. Allocates nothing. */
void buf_init(struct buf *b, size_t max);
/* Frees the bytes; the buffer is empty and reusable afterwards. Accepts a zeroed struct. */
void buf_release(struct buf *b);
/* Appends len bytes. Returns 0, -EMSGSIZE past the maximum or -ENOMEM. */
__attribute__((warn_unused_result)) int buf_append(struct buf *b, const void *p, size_t len);
/* Appends a printf-formatted string (no NUL kept). Same returns as buf_append(). */
__attribute__((warn_unused_result, format(printf, 2, 3)))
int buf_appendf(struct buf *b, const char *fmt, ...);
/* Makes room for at least n more bytes; returns a pointer to them or NULL (-EMSGSIZE/-ENOMEM in
 * *ret_err when given). Call buf_commit() with the bytes actually written. */
uint8_t *buf_reserve(struct buf *b, size_t n, int *ret_err);
void buf_commit(struct buf *b, size_t n);
/* Appends everything fd has to read, to its end (EINTR retried). Returns 0, -EMSGSIZE when there
 * is more than the maximum, -ENOMEM or the read's -errno; what was read stays in the buffer. */
__attribute__((warn_unused_result)) int buf_read_fd(struct buf *b, int fd);
/* Drops the first n bytes (n is clamped to len). */
void buf_consume(struct buf *b, size_t n);
/* Hands the bytes to the caller (free() them); the buffer is left empty. NUL-terminates when
 * room allows so text can be used as a C string. */
uint8_t *buf_take(struct buf *b, size_t *ret_len);
