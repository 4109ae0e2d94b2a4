/* SPDX-License-Identifier: MIT */
/* parse.c: strict number parsers shared by hearthd, the agent and the tools (parse.h). */
#include "common/parse.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

bool ascii_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool ascii_word(const char *s, size_t n, const char *extra)
{
    for (size_t i = 0; i < n; i++)
        if (!ascii_alnum(s[i]) && !(s[i] && strchr(extra, s[i])))
            return false;
    return true;
}

int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The value of the decimal digits that make up all of s (at least one): 0, -EINVAL or -ERANGE
 * past UINT64_MAX (whichever the digits meet first). */
static int digits(const char *s, uint64_t *ret)
{
    if (*s < '0' || *s > '9')
        return -EINVAL;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    *ret = v;
    return 0;
}

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
    uint64_t v;
    int r = s ? digits(s, &v) : -EINVAL;
    if (r < 0)
        return r;
    if (v < min || v > max)
        return -ERANGE;
    *ret = v;
    return 0;
}

int parse_i64(const char *s, int64_t *ret)
{
    if (!s)
        return -EINVAL;
    bool neg = *s == '-';
    uint64_t v;
    int r = digits(s + neg, &v);
    if (r < 0)
        return r;
    if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
        return -ERANGE;
    *ret = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}
