/* SPDX-License-Identifier: MIT */
/* hostname.c: guest hostname validation. No allocation, no I/O. */
#include "common/hostname.h"

static bool is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool hostname_valid(const char *s, size_t len)
{
    /* a leading '-' would read as an option to hostname(1) and other guest tools */
    if (!s || len == 0 || len > HOSTNAME_MAX || !is_lower_alnum(s[0]))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!is_lower_alnum(s[i]) && s[i] != '-')
            return false;
    return true;
}
