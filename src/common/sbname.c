/* SPDX-License-Identifier: MIT */
/* sbname.c: sandbox name validation and hostname derivation. Pure functions, no allocation. */
#include "common/sbname.h"

#include <errno.h>
#include <string.h>

static bool is_alnum(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool sbname_valid(const char *s, size_t len)
{
    if (!s || len == 0 || len > SBNAME_MAX || !is_alnum(s[0]))
        return false;
    for (size_t i = 1; i < len; i++)
        if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
            return false;
    return true;
}

int sbname_hostname(const char *name, char out[SBNAME_MAX + 1])
{
    out[0] = '\0';
    size_t len = name ? strnlen(name, SBNAME_MAX + 1) : 0;
    if (len == 0)
        return -EINVAL;
    if (len > SBNAME_MAX)
        return -ENAMETOOLONG;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        else if (c == '_' || c == '.')
            c = '-';
        out[i] = c;
    }
    out[len] = '\0';
    return 0;
}
