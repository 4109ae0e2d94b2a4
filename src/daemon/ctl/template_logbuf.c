/* SPDX-License-Identifier: MIT */
/* template_logbuf.c: a build log's lines before they are stored (template_logbuf.h). Guest
 * output is hostile: any bytes, lines of any length, any count; what comes out is bounded,
 * valid UTF-8 text. */
#include "daemon/ctl/template_logbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/utf8.h"

void tpl_logbuf_init(struct tpl_logbuf *b, uint64_t max_lines, size_t line_max)
{
    memset(b, 0, sizeof(*b));
    b->max_lines = max_lines;
    b->line_max = line_max ? line_max : 4096;
}

static int push(struct tpl_logbuf *b, bool error, int64_t ts, char *s)
{
    if (b->n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 64;
        struct tpl_logline *v = realloc(b->v, nc * sizeof(*v));
        if (!v) {
            free(s);
            return -ENOMEM;
        }
        b->v = v;
        b->cap = nc;
    }
    b->v[b->n++] = (struct tpl_logline){ .line = s, .error = error, .ts = ts };
    return 0;
}

int tpl_logbuf_line(struct tpl_logbuf *b, bool error, int64_t ts, const char *s, size_t len)
{
    if (b->truncated)
        return 0;
    if (b->max_lines && b->accepted >= b->max_lines) {
        b->truncated = true;
        char *t = strdup("log truncated");
        return t ? push(b, false, ts, t) : -ENOMEM;
    }
    b->accepted++;
    struct buf out;
    buf_init(&out, b->line_max * 3 + 16);
    /* invalid bytes become U+FFFD (3 bytes each), so cut the sanitized text, not the input */
    size_t in = len < b->line_max * 3 ? len : b->line_max * 3;
    if (utf8_sanitize((const uint8_t *)s, in, true, &out) < 0) {
        buf_release(&out);
        return -ENOMEM;
    }
    size_t n = 0;
    uint8_t *p = buf_take(&out, &n);
    size_t keep = n < b->line_max ? n : utf8_boundary(p, n, b->line_max - 1);
    char *t = malloc(keep + 1);
    if (!t) {
        free(p);
        return -ENOMEM;
    }
    if (keep)
        memcpy(t, p, keep);
    t[keep] = 0;
    free(p);
    for (size_t i = 0; i < keep; i++)
        if (t[i] == 0 || t[i] == '\n')
            t[i] = ' '; /* a NUL would cut the stored line; '\n' would split the plain log */
    return push(b, error, ts, t);
}

int tpl_logbuf_bytes(struct tpl_logbuf *b, int64_t ts, const char *p, size_t len)
{
    if (!b->part && !(b->part = malloc(b->line_max)))
        return -ENOMEM;
    for (size_t i = 0; i < len; i++) {
        char ch = p[i];
        if (ch == '\n') {
            size_t n = b->part_n;
            if (n && b->part[n - 1] == '\r')
                n--;
            int rc = tpl_logbuf_line(b, false, ts, b->part, n);
            b->part_n = 0;
            b->part_cut = false;
            if (rc < 0)
                return rc;
            continue;
        }
        if (b->part_n < b->line_max)
            b->part[b->part_n++] = ch;
        else
            b->part_cut = true;
    }
    return 0;
}

int tpl_logbuf_end_partial(struct tpl_logbuf *b, int64_t ts)
{
    if (!b->part_n)
        return 0;
    int rc = tpl_logbuf_line(b, false, ts, b->part, b->part_n);
    b->part_n = 0;
    b->part_cut = false;
    return rc;
}

void tpl_logbuf_take(struct tpl_logbuf *b, struct tpl_logline **ret, size_t *ret_n)
{
    *ret = b->v;
    *ret_n = b->n;
    b->v = NULL;
    b->n = b->cap = 0;
}

void tpl_logbuf_lines_free(struct tpl_logline *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].line);
    free(v);
}

void tpl_logbuf_release(struct tpl_logbuf *b)
{
    tpl_logbuf_lines_free(b->v, b->n);
    free(b->part);
    memset(b, 0, sizeof(*b));
}
