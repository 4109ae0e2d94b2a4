/* SPDX-License-Identifier: MIT */
/* route.c: path splitting, percent-decoding and query-string parsing for handlers (docs/api.md
 * §1.2, §1.7). Each struct owns one allocation holding every decoded string. Knows nothing
 * about connections or routes themselves. */
#include "daemon/http/route.h"
#include "common/parse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

long http_percent_decode(const char *src, size_t len, char *dst, bool plus_is_space)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '%') {
            if (len - i < 3)
                return -EINVAL;
            int hi = hex_digit(src[i + 1]), lo = hex_digit(src[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -EINVAL;
            dst[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '\0') {
            return -EINVAL;
        } else {
            dst[o++] = (plus_is_space && c == '+') ? ' ' : c;
        }
    }
    dst[o] = '\0';
    return (long)o;
}

/* Percent-decodes src[0..len) onto the end of store, *used bytes of which are taken, and takes
 * its bytes and NUL. Returns the decoded string (its length in *ret_len when asked), or NULL
 * with the decoder's -errno in *ret_err. */
static const char *decode_next(const char *src, size_t len, bool plus_is_space, char *store,
                               size_t *used, size_t *ret_len, int *ret_err)
{
    char *dst = store + *used;
    long n = http_percent_decode(src, len, dst, plus_is_space);
    if (n < 0) {
        *ret_err = (int)n;
        return NULL;
    }
    *used += (size_t)n + 1;
    if (ret_len)
        *ret_len = (size_t)n;
    return dst;
}

int http_path_parse(const char *path, size_t len, struct http_path *ret)
{
    struct http_path p = { 0 };
    if (len == 0 || path[0] != '/')
        return -EINVAL;
    /* one trailing '/' is ignored ("/a/" = "/a"); "/" alone has no segments */
    if (len > 1 && path[len - 1] == '/')
        len--;
    p.store = malloc(len + 1);
    if (!p.store)
        return -ENOMEM;
    size_t out = 0;
    int r = 0;
    if (len > 1) {
        size_t i = 1;
        for (;;) {
            size_t j = i;
            while (j < len && path[j] != '/')
                j++;
            if (p.n == HTTP_PATH_MAX_SEGMENTS) {
                r = -E2BIG;
                goto out_free;
            }
            p.seg[p.n] = decode_next(path + i, j - i, false, p.store, &out, &p.seg_len[p.n], &r);
            if (!p.seg[p.n++])
                goto out_free;
            if (j >= len)
                break;
            i = j + 1;
        }
    } else {
        p.store[0] = '\0';
    }
    *ret = p;
    return 0;
out_free:
    free(p.store);
    return r;
}

void http_path_release(struct http_path *p)
{
    free(p->store);
    memset(p, 0, sizeof(*p));
}

bool http_path_match(const struct http_path *p, unsigned n, const char *const *pattern)
{
    if (p->n != n)
        return false;
    for (unsigned i = 0; i < n; i++)
        if (pattern[i] && strcmp(pattern[i], p->seg[i]) != 0)
            return false;
    return true;
}

int http_query_parse(const char *q, size_t len, struct http_query *ret)
{
    struct http_query qs = { 0 };
    /* each parameter adds two NULs to its bytes; "a&b&c" has (len + 1) / 2 of them */
    qs.store = malloc(2 * len + 2);
    if (!qs.store)
        return -ENOMEM;
    size_t out = 0, i = 0;
    int r = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && q[j] != '&')
            j++;
        size_t eq = i;
        while (eq < j && q[eq] != '=')
            eq++;
        if (eq > i) { /* skip empty names ("&&", "=x") */
            if (qs.n == HTTP_QUERY_MAX_PARAMS) {
                r = -E2BIG;
                goto out_free;
            }
            size_t vstart = eq < j ? eq + 1 : j;
            const char *name = decode_next(q + i, eq - i, true, qs.store, &out, NULL, &r);
            const char *value =
                name ? decode_next(q + vstart, j - vstart, true, qs.store, &out, NULL, &r) : NULL;
            if (!value)
                goto out_free;
            qs.param[qs.n++] = (struct http_query_param){ name, value };
        }
        i = j + 1;
    }
    *ret = qs;
    return 0;
out_free:
    free(qs.store);
    return r;
}

void http_query_release(struct http_query *q)
{
    free(q->store);
    memset(q, 0, sizeof(*q));
}

const char *http_query_get(const struct http_query *q, const char *name)
{
    for (unsigned i = 0; i < q->n; i++)
        if (strcmp(q->param[i].name, name) == 0)
            return q->param[i].value;
    return NULL;
}

int http_parse_bool(const char *s, bool *ret)
{
    if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0) {
        *ret = true;
        return 0;
    }
    if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0) {
        *ret = false;
        return 0;
    }
    return -EINVAL;
}

int http_parse_int(const char *s, int64_t *ret)
{
    return parse_i64(s, ret);
}

int http_query_get_bool(const struct http_query *q, const char *name, bool def, bool *ret)
{
    const char *v = http_query_get(q, name);
    if (!v) {
        *ret = def;
        return 0;
    }
    return http_parse_bool(v, ret);
}

int http_query_get_int(const struct http_query *q, const char *name, int64_t def, int64_t *ret)
{
    const char *v = http_query_get(q, name);
    if (!v) {
        *ret = def;
        return 0;
    }
    return http_parse_int(v, ret);
}
