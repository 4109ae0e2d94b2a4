/* SPDX-License-Identifier: MIT */
/* parse.c: strict number parsers shared by hearthd, the agent and the tools (parse.h). */
#include "common/parse.h"

#include <errno.h>
#include <stddef.h>

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

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
    if (!s || *s < '0' || *s > '9')
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
    if (v < min || v > max)
        return -ERANGE;
    *ret = v;
    return 0;
}
