/* SPDX-License-Identifier: MIT */
/* labels.c: operator-assigned host labels (labels.h). */
#include "common/labels.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool token_char(char ch, bool value)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_' || ch == '-' || (!value && ch == '/');
}

bool labels_token_ok(const char *s, bool value)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (n >= 63 || !token_char(s[n], value))
            return false;
    return value || n > 0;
}

/* Finds key's value in canonical labels: the value's start and length, or NULL. */
const char *labels_value(const char *labels, const char *key, size_t *ret_len)
{
    size_t klen = strlen(key);
    for (const char *p = labels; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len > klen && p[klen] == '=' && memcmp(p, key, klen) == 0) {
            *ret_len = len - klen - 1;
            return p + klen + 1;
        }
        p = end ? end + 1 : NULL;
    }
    return NULL;
}

struct pair {
    char key[64], value[64];
};

static int pair_cmp(const void *a, const void *b)
{
    return strcmp(((const struct pair *)a)->key, ((const struct pair *)b)->key);
}

int labels_canonical(const char *in, char *out, size_t size, const char **why)
{
    struct pair pairs[32];
    size_t n = 0;
    *why = NULL;
    for (const char *p = in; *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        const char *end = p + strcspn(p, ",");
        const char *eq = memchr(p, '=', (size_t)(end - p));
        if (!eq) {
            *why = "a label is not key=value";
            return -EINVAL;
        }
        if (n == sizeof(pairs) / sizeof(pairs[0])) {
            *why = "more than 32 labels";
            return -EINVAL;
        }
        size_t kl = (size_t)(eq - p), vl = (size_t)(end - eq - 1);
        while (vl && eq[vl] == ' ')
            vl--;
        if (kl == 0 || kl >= sizeof(pairs[n].key) || vl >= sizeof(pairs[n].value)) {
            *why = "a label key must have 1 to 63 characters and a value at most 63";
            return -EINVAL;
        }
        memcpy(pairs[n].key, p, kl);
        pairs[n].key[kl] = '\0';
        memcpy(pairs[n].value, eq + 1, vl);
        pairs[n].value[vl] = '\0';
        if (!labels_token_ok(pairs[n].key, false) || !labels_token_ok(pairs[n].value, true)) {
            *why = "labels use letters, digits, '.', '_', '-' (and '/' in keys)";
            return -EINVAL;
        }
        n++;
        p = end;
    }
    qsort(pairs, n, sizeof(pairs[0]), pair_cmp);
    size_t used = 0;
    if (size == 0)
        return -ENAMETOOLONG;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(pairs[i].key, pairs[i - 1].key) == 0) {
            *why = "a label key is repeated";
            return -EINVAL;
        }
        size_t need = strlen(pairs[i].key) + strlen(pairs[i].value) + 1 + (i ? 1 : 0);
        if (used + need >= size)
            return -ENAMETOOLONG;
        used += (size_t)snprintf(out + used, size - used, "%s%s=%s", i ? "," : "", pairs[i].key,
                                 pairs[i].value);
    }
    return 0;
}
