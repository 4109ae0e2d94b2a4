/* SPDX-License-Identifier: MIT */
/* values.c: parsing of durations, sizes and counts typed by users. Rejects rather than guesses:
 * no signs, no spaces, no fractions. */
#include "cli/values.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

/* Digits at *p into *ret; advances p. -EINVAL without digits, -ERANGE past limit. */
static int digits(const char **p, uint64_t limit, uint64_t *ret)
{
    const char *s = *p;
    uint64_t v = 0;
    if (*s < '0' || *s > '9')
        return -EINVAL;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (limit - (uint64_t)(*s - '0')) / 10)
            return -ERANGE;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *p = s;
    *ret = v;
    return 0;
}

int cli_parse_count(const char *s, int64_t max, int64_t *ret)
{
    if (!s)
        return -EINVAL;
    uint64_t v;
    int r = digits(&s, (uint64_t)INT64_MAX, &v);
    if (r < 0)
        return r;
    if (*s)
        return -EINVAL;
    if (v > (uint64_t)max)
        return -ERANGE;
    *ret = (int64_t)v;
    return 0;
}

int cli_parse_duration_ms(const char *s, int64_t *ret_ms)
{
    if (!s || !*s)
        return -EINVAL;
    const uint64_t limit = (uint64_t)1 << 50;
    uint64_t total = 0;
    const char *p = s;
    uint64_t v;
    int r = digits(&p, limit, &v);
    if (r < 0)
        return r;
    if (!*p) {
        if (v > limit / 1000)
            return -ERANGE;
        *ret_ms = (int64_t)(v * 1000);
        return 0;
    }
    for (;;) {
        uint64_t unit;
        if (strncmp(p, "ms", 2) == 0)
            unit = 1, p += 2;
        else if (*p == 'h')
            unit = 3600000, p++;
        else if (*p == 'm')
            unit = 60000, p++;
        else if (*p == 's')
            unit = 1000, p++;
        else
            return -EINVAL;
        if (v > (limit - total) / unit)
            return -ERANGE;
        total += v * unit;
        if (!*p)
            break;
        r = digits(&p, limit, &v);
        if (r < 0)
            return r;
    }
    *ret_ms = (int64_t)total;
    return 0;
}

int cli_parse_size(const char *s, uint64_t *ret_bytes, bool *ret_had_unit)
{
    if (!s || !*s)
        return -EINVAL;
    const char *p = s;
    uint64_t v;
    int r = digits(&p, UINT64_MAX, &v);
    if (r < 0)
        return r;
    unsigned shift = 0;
    bool unit = false;
    if (*p) {
        switch (*p) {
        case 'K': case 'k': shift = 10; break;
        case 'M': case 'm': shift = 20; break;
        case 'G': case 'g': shift = 30; break;
        case 'T': case 't': shift = 40; break;
        case 'B': case 'b': shift = 0; break;
        default: return -EINVAL;
        }
        unit = true;
        if (shift) {
            p++;
            if (*p == 'i' || *p == 'I')
                p++;
            if (*p == 'B' || *p == 'b')
                p++;
        } else {
            p++;
        }
        if (*p)
            return -EINVAL;
    }
    if (shift && v > (UINT64_MAX >> shift))
        return -ERANGE;
    *ret_bytes = v << shift;
    if (ret_had_unit)
        *ret_had_unit = unit;
    return 0;
}
