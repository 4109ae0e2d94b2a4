/* SPDX-License-Identifier: MIT */
/* store_args.h: the argument checks store.c and store_cluster.c run before a backend sees a
 * call (store_backend.h: backends get well-formed input only). Internal to src/daemon/store. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "common/utf8.h"

/* 0 when s is a non-empty string shorter than size, else -EINVAL (NULL/empty) or -ENAMETOOLONG. */
static inline int check_str(const char *s, size_t size)
{
    if (!s || !*s)
        return -EINVAL;
    return strnlen(s, size) < size ? 0 : -ENAMETOOLONG;
}

/* Same for a fixed array field: it must hold a NUL. Empty is allowed when optional. */
static inline int check_field(const char *field, size_t size, bool optional)
{
    if (!memchr(field, '\0', size))
        return -ENAMETOOLONG;
    return optional || field[0] ? 0 : -EINVAL;
}

/* True for NULL or a valid UTF-8 string. PostgreSQL's text holds nothing else (it refuses the
 * statement), so the store checks here and both backends answer alike: a write with such text
 * is -EINVAL, a lookup by it finds nothing. */
static inline bool text_ok(const char *s)
{
    return !s || utf8_valid((const uint8_t *)s, strlen(s));
}

/* False for a lookup key that cannot match: NULL, empty, longer than any stored value, or not
 * UTF-8 (no stored text is). */
static inline bool lookup_key_ok(const char *s, size_t size)
{
    return check_str(s, size) == 0 && text_ok(s);
}

/* -EINVAL unless each of the n texts v[i] (NULL allowed) is valid UTF-8. */
static inline int texts_ok(const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!text_ok(v[i]))
            return -EINVAL;
    return 0;
}

static inline bool nonempty(const char *s)
{
    return s && *s;
}
