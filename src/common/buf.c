/* SPDX-License-Identifier: MIT */
/* buf.c: growable byte buffer with a ceiling. Knows nothing of what it holds. */
#include "common/buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void buf_init(struct buf *b, size_t max)
{
    *b = (struct buf){ .max = max };
}

void buf_release(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static int buf_grow(struct buf *b, size_t need)
{
    if (need > b->max || need < b->len)
        return -EMSGSIZE;
    if (need + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need + 1)
        cap = cap > SIZE_MAX / 2 ? need + 1 : cap * 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return -ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int buf_append(struct buf *b, const void *p, size_t len)
{
    if (len == 0)
        return 0;
    if (len > SIZE_MAX - b->len)
        return -EMSGSIZE;
    int r = buf_grow(b, b->len + len);
    if (r < 0)
        return r;
    memcpy(b->data + b->len, p, len);
    b->len += len;
    return 0;
}

int buf_appendf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    int r = buf_grow(b, b->len + (size_t)n);
    if (r < 0)
        return r;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

uint8_t *buf_reserve(struct buf *b, size_t n, int *ret_err)
{
    int r = n > SIZE_MAX - b->len ? -EMSGSIZE : buf_grow(b, b->len + n);
    if (r < 0) {
        if (ret_err)
            *ret_err = r;
        return NULL;
    }
    return b->data + b->len;
}

void buf_commit(struct buf *b, size_t n)
{
    b->len += n;
}

void buf_consume(struct buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
}

uint8_t *buf_take(struct buf *b, size_t *ret_len)
{
    uint8_t *p = b->data;
    if (ret_len)
        *ret_len = b->len;
    if (p && b->len < b->cap)
        p[b->len] = 0;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

int buf_read_fd(struct buf *b, int fd)
{
    for (;;) {
        /* at the maximum, one byte more read tells end of file from too much */
        size_t room = b->max - b->len, n = room < 4096 ? room : 4096;
        uint8_t probe, *p = &probe;
        int r = -ENOMEM;
        if (room && !(p = buf_reserve(b, n, &r)))
            return r;
        ssize_t got = read(fd, p, room ? n : 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return -errno;
        if (got == 0)
            return 0;
        if (!room)
            return -EMSGSIZE;
        buf_commit(b, (size_t)got);
    }
}
