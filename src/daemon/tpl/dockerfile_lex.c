/* SPDX-License-Identifier: MIT */
/* dockerfile_lex.c: logical lines of a Dockerfile, the way BuildKit's parser reads them
 * (docs/templates.md "Dockerfiles"): a BOM and CR before LF dropped, `# escape=` honoured only
 * at the top, a trailing escape character continuing the line (also at the end of the file),
 * comment and blank lines inside a continuation skipped, the pieces joined as written. */
#include "daemon/tpl/dockerfile_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/grow.h"
#include "daemon/tpl/dockerfile.h"

int df_fail(struct tpl_error *err, unsigned line, const char *fmt, ...)
{
    if (!err)
        return -EINVAL;
    int off = 0;
    err->line = line;
    if (line)
        off = snprintf(err->msg, sizeof(err->msg), "line %u: ", line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg + off, sizeof(err->msg) - (size_t)off, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no surrogates, at most
 * U+10FFFF), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    size_t k;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        k = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        k = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        k = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (n < k || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < k; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return k;
}

static int check_text(const char *src, size_t len, struct tpl_error *err)
{
    if (len > TPL_DOCKERFILE_MAX)
        return df_fail(err, 0, "Dockerfile is over %d bytes", TPL_DOCKERFILE_MAX);
    unsigned line = 1;
    for (size_t i = 0; i < len;) {
        const unsigned char *p = (const unsigned char *)src + i;
        if (*p == '\0')
            return df_fail(err, 0, "Dockerfile is not valid UTF-8 text (a NUL byte on line %u)",
                           line);
        size_t k = utf8_seq(p, len - i);
        if (!k)
            return df_fail(err, 0,
                           "Dockerfile is not valid UTF-8 text (an invalid byte on line %u)", line);
        if (*p == '\n')
            line++;
        i += k;
    }
    return 0;
}

struct reader {
    const char *src;
    size_t len, pos;
    unsigned line;                      /* number of the line last read */
};

/* The next physical line without its LF (and a CR before it); false at the end. */
static bool next_line(struct reader *r, const char **ret, size_t *ret_n)
{
    if (r->pos >= r->len)
        return false;
    const char *s = r->src + r->pos;
    const char *nl = memchr(s, '\n', r->len - r->pos);
    size_t n = nl ? (size_t)(nl - s) : r->len - r->pos;
    r->pos += n + (nl ? 1 : 0);
    while (n && s[n - 1] == '\r')     /* BuildKit trims every CR and LF at the end */
        n--;
    if (r->line == 0 && n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
        s += 3;
        n -= 3;
    }
    r->line++;
    *ret = s;
    *ret_n = n;
    return true;
}

static void ltrim(const char **s, size_t *n)
{
    while (*n && is_blank(**s)) {
        (*s)++;
        (*n)--;
    }
}

/* Strips a trailing escape character (and blanks after it): true when the line continues.
 * BuildKit's rule: the escape must be alone on the line or follow another character than the
 * escape, so `foo \\` (an escaped escape) does not continue. */
static bool strip_continuation(const char *s, size_t *n, char escape)
{
    size_t k = *n;
    while (k && (s[k - 1] == ' ' || s[k - 1] == '\t'))
        k--;
    if (k && s[k - 1] == escape && (k == 1 || s[k - 2] != escape)) {
        *n = k - 1;
        return true;
    }
    return false;
}

struct directives {
    bool done, seen_escape, seen_syntax, seen_check;
};

/* `# name = value` at the top of the file, before any other line (BuildKit's reDirective);
 * escape, syntax and check are directives, anything else ends the directive block. Returns 1
 * when the line was a directive, 0 when not, -EINVAL on a bad or repeated one. */
static int directive(struct directives *d, const char *s, size_t n, unsigned line,
                     struct df_lines *out, struct tpl_error *err)
{
    if (d->done)
        return 0;
    if (!n || s[0] != '#')
        goto not_one;
    size_t i = 1;
    while (i < n && is_blank(s[i]))
        i++;
    size_t k0 = i;
    while (i < n && ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z'))
        i++;
    while (i < n && i > k0 && s[i] >= '0' && s[i] <= '9')
        i++;
    size_t k1 = i;
    while (i < n && is_blank(s[i]))
        i++;
    if (k1 == k0 || i >= n || s[i] != '=')
        goto not_one;
    i++;
    while (i < n && is_blank(s[i]))
        i++;
    size_t v0 = i, v1 = n;
    while (v1 > v0 && is_blank(s[v1 - 1]))
        v1--;
    if (v1 == v0)
        goto not_one;
    bool *seen;
    size_t kl = k1 - k0;
    if (kl == 6 && strncasecmp(s + k0, "escape", 6) == 0)
        seen = &d->seen_escape;
    else if (kl == 6 && strncasecmp(s + k0, "syntax", 6) == 0)
        seen = &d->seen_syntax;
    else if (kl == 5 && strncasecmp(s + k0, "check", 5) == 0)
        seen = &d->seen_check;
    else
        goto not_one;
    if (*seen)
        return df_fail(err, line, "only one %.*s parser directive is allowed", (int)kl, s + k0);
    *seen = true;
    if (seen == &d->seen_escape) {
        if (v1 - v0 != 1 || (s[v0] != '\\' && s[v0] != '`'))
            return df_fail(err, line, "invalid escape directive '%.*s' (use \\ or `)",
                           (int)(v1 - v0 > 20 ? 20 : v1 - v0), s + v0);
        out->escape = s[v0];
    }
    return 1;
not_one:
    d->done = true;
    return 0;
}

static int push(struct df_lines *out, unsigned line, const char *s, size_t n)
{
    while (n && is_blank(s[n - 1]))
        n--;
    ltrim(&s, &n);
    if (!n)
        return 0;
    struct df_line *v = grow_array(out->v, out->n, &out->cap, sizeof(*v), 16);
    if (!v)
        return -ENOMEM;
    out->v = v;
    char *t = strndup(s, n);
    if (!t)
        return -ENOMEM;
    v[out->n++] = (struct df_line){ .line = line, .text = t };
    return 0;
}

int df_lex(const char *src, size_t len, struct df_lines *out, struct tpl_error *err)
{
    *out = (struct df_lines){ .escape = '\\' };
    int r = check_text(src, len, err);
    if (r < 0)
        return r;
    struct reader rd = { .src = src, .len = len };
    struct directives d = { 0 };
    /* the logical line being built: at most the whole file */
    char *acc = malloc(len + 1);
    if (!acc)
        return -ENOMEM;
    const char *s;
    size_t n;
    while (next_line(&rd, &s, &n)) {
        unsigned start = rd.line;
        ltrim(&s, &n);
        r = directive(&d, s, n, start, out, err);
        if (r < 0)
            goto out_fail;
        if (r > 0 || !n || s[0] == '#')
            continue;
        d.done = true;
        size_t an = 0;
        bool more = strip_continuation(s, &n, out->escape);
        memcpy(acc, s, n);
        an = n;
        while (more && next_line(&rd, &s, &n)) {
            const char *t = s;
            size_t tn = n;
            ltrim(&t, &tn);
            /* BuildKit drops comment lines and (with a warning) empty lines inside a
             * continuation; neither ends it */
            if (!tn || t[0] == '#')
                continue;
            more = strip_continuation(s, &n, out->escape);
            memcpy(acc + an, s, n);
            an += n;
        }
        r = push(out, start, acc, an);
        if (r < 0)
            goto out_fail;
    }
    free(acc);
    return 0;
out_fail:
    free(acc);
    df_lines_release(out);
    return r;
}

void df_lines_release(struct df_lines *ls)
{
    for (size_t i = 0; i < ls->n; i++)
        free(ls->v[i].text);
    free(ls->v);
    ls->v = NULL;
    ls->n = ls->cap = 0;
}
