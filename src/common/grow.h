/* SPDX-License-Identifier: MIT */
/* grow.h: the one growth rule for the small arrays built one element at a time (rows read from
 * the store, table cells, rule lists, counters): double the slots, starting from a few. Header
 * only, so any binary may use it without linking src/common. */
#pragma once

#include <stddef.h>
#include <stdlib.h>

/* Room for element n of array v, which has *cap slots of elem bytes (first: the slots of the
 * first allocation). Returns the array, moved or not, with *cap updated; NULL when out of memory,
 * with v and *cap untouched (v still the caller's to free). */
static inline void *grow_array(void *v, size_t n, size_t *cap, size_t elem, size_t first)
{
    if (n < *cap)
        return v;
    size_t ncap = *cap ? *cap * 2 : first;
    void *nv = realloc(v, ncap * elem);
    if (nv)
        *cap = ncap;
    return nv;
}
