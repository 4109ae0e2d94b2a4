/* SPDX-License-Identifier: MIT */
/* memread.h: a pread-like reader over memory for the tests and fuzz drivers of parsers that read
 * through a callback (tpl/context_tar.h). It hands out at most chunk bytes a call, so that the
 * caller's loop over short reads is exercised. Header only: unit tests and fuzz targets both
 * include it. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct memread {
    const void *p;
    size_t n;
    size_t chunk;                       /* most bytes one call returns */
};

static inline long memread_at(void *ud, void *buf, size_t n, uint64_t off)
{
    const struct memread *m = ud;
    if (off >= m->n)
        return 0;
    size_t k = m->n - off < n ? m->n - off : n;
    if (k > m->chunk)
        k = m->chunk;
    memcpy(buf, (const char *)m->p + off, k);
    return (long)k;
}
