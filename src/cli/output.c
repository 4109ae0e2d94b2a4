/* SPDX-License-Identifier: MIT */
/* output.c: tables, key: value blocks, sizes and times for people, and the progress line. Never
 * used for --json output, which is the API's own text. */
#include "cli/output.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/grow.h"
#include "common/timefmt.h"
#include "common/mono.h"

uint64_t out_now_us(void)
{
    return (uint64_t)mono_now_us();
}

void out_table_init(struct out_table *t, size_t ncols, const char *const *headers)
{
    memset(t, 0, sizeof(*t));
    t->ncols = ncols > OUT_MAX_COLS ? OUT_MAX_COLS : ncols;
    for (size_t i = 0; i < t->ncols; i++)
        t->headers[i] = headers[i];
}

int out_table_add(struct out_table *t, const char *const *row)
{
    char **c = grow_array(t->cells, t->nrows, &t->cap, t->ncols * sizeof(*c), 16);
    if (!c)
        return -ENOMEM;
    t->cells = c;
    char **r = t->cells + t->nrows * t->ncols;
    for (size_t i = 0; i < t->ncols; i++) {
        r[i] = strdup(row[i] && *row[i] ? row[i] : "-");
        if (!r[i]) {
            while (i-- > 0)
                free(r[i]);
            return -ENOMEM;
        }
    }
    t->nrows++;
    return 0;
}

/* Display width of UTF-8 text: code points, not bytes. */
static size_t width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            w++;
    return w;
}

static void table_print(const struct out_table *t, FILE *f)
{
    size_t w[OUT_MAX_COLS] = { 0 };
    for (size_t c = 0; c < t->ncols; c++) {
        w[c] = width(t->headers[c]);
        for (size_t r = 0; r < t->nrows; r++) {
            size_t x = width(t->cells[r * t->ncols + c]);
            if (x > w[c])
                w[c] = x;
        }
    }
    for (size_t c = 0; c < t->ncols; c++) {
        for (const char *p = t->headers[c]; *p; p++)
            fputc(*p >= 'a' && *p <= 'z' ? *p - 32 : *p, f);
        if (c + 1 < t->ncols)
            fprintf(f, "%*s", (int)(w[c] - width(t->headers[c]) + 2), "");
    }
    fputc('\n', f);
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const char *s = t->cells[r * t->ncols + c];
            fputs(s, f);
            if (c + 1 < t->ncols)
                fprintf(f, "%*s", (int)(w[c] - width(s) + 2), "");
        }
        fputc('\n', f);
    }
}

void out_table_finish(struct out_table *t, FILE *f)
{
    table_print(t, f);
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    memset(t, 0, sizeof(*t));
}

void out_kv_add(struct out_kv *kv, const char *key, const char *fmt, ...)
{
    if (kv->n >= sizeof(kv->keys) / sizeof(kv->keys[0]))
        return;
    char *v = NULL;
    va_list ap;
    va_start(ap, fmt);
    int r = vasprintf(&v, fmt, ap);
    va_end(ap);
    char *k = strdup(key);
    if (r < 0 || !k) {
        free(k);
        if (r >= 0)
            free(v);
        return;
    }
    kv->keys[kv->n] = k;
    kv->vals[kv->n++] = v;
}

void out_kv_print(struct out_kv *kv, FILE *f)
{
    size_t w = 0;
    for (size_t i = 0; i < kv->n; i++)
        if (strlen(kv->keys[i]) > w)
            w = strlen(kv->keys[i]);
    for (size_t i = 0; i < kv->n; i++) {
        fprintf(f, "%s:%*s %s\n", kv->keys[i], (int)(w - strlen(kv->keys[i])), "",
                kv->vals[i][0] ? kv->vals[i] : "-");
        free(kv->keys[i]);
        free(kv->vals[i]);
    }
    kv->n = 0;
}

void out_mib(int64_t mib, char *buf, size_t n)
{
    if (mib >= 1024 && mib % 1024 == 0)
        snprintf(buf, n, "%lld GiB", (long long)(mib / 1024));
    else if (mib >= 1024)
        snprintf(buf, n, "%.1f GiB", (double)mib / 1024.0);
    else
        snprintf(buf, n, "%lld MiB", (long long)mib);
}

void out_bytes(uint64_t b, char *buf, size_t n)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double v = (double)b;
    size_t u = 0;
    while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0]))
        v /= 1024.0, u++;
    if (u == 0)
        snprintf(buf, n, "%llu B", (unsigned long long)b);
    else
        snprintf(buf, n, "%.1f %s", v, units[u]);
}

void out_quota(int64_t bytes, char *buf, size_t n)
{
    if (bytes < 0)
        snprintf(buf, n, "unmetered");
    else
        out_bytes((uint64_t)bytes, buf, n);
}

/* A byte counter of a view; a negative (bogus) value reads as 0. */
static uint64_t counter(const hearth_obj *o, const char *field)
{
    int64_t v = hearth_obj_int(o, field, 0);
    return v < 0 ? 0 : (uint64_t)v;
}

void out_bandwidth_kv(struct out_kv *kv, const hearth_obj *bw)
{
    char quota[32], used[32], rem[64], in[32];
    int64_t q = hearth_obj_int(bw, "quota_bytes", -1);
    int64_t r = hearth_obj_int(bw, "remaining_bytes", -1);
    out_quota(q, quota, sizeof(quota));
    out_bytes(counter(bw, "used_bytes"), used, sizeof(used));
    out_bytes(counter(bw, "ingress_bytes"), in, sizeof(in));
    if (q < 0) {
        snprintf(rem, sizeof(rem), "unmetered");
    } else if (r < 0) { /* used past the quota: remaining goes negative (docs/api.md §2.9) */
        char over[32];
        out_bytes((uint64_t)-(r + 1) + 1, over, sizeof(over));
        snprintf(rem, sizeof(rem), "none (%s over)", over);
    } else {
        out_bytes((uint64_t)r, rem, sizeof(rem));
    }
    out_kv_add(kv, "quota", "%s", quota);
    out_kv_add(kv, "used", "%s", used);
    out_kv_add(kv, "remaining", "%s", rem);
    out_kv_add(kv, "ingress", "%s", in);
    out_kv_add(kv, "capped", "%s", hearth_obj_bool(bw, "capped", false) ? "yes" : "no");
}

void out_bandwidth_summary(const hearth_obj *bw, char *buf, size_t n)
{
    char quota[32], used[32];
    int64_t q = hearth_obj_int(bw, "quota_bytes", -1);
    out_bytes(counter(bw, "used_bytes"), used, sizeof(used));
    if (q < 0) {
        snprintf(buf, n, "%s used, unmetered", used);
        return;
    }
    out_quota(q, quota, sizeof(quota));
    snprintf(buf, n, "%s of %s used%s", used, quota,
             hearth_obj_bool(bw, "capped", false) ? ", capped" : "");
}

void out_member_fqdn(const char *sandbox_name, const char *network, char *buf, size_t n)
{
    if (n == 0)
        return;
    size_t o = 0;
    for (const char *p = sandbox_name ? sandbox_name : ""; *p && o + 1 < n; p++) {
        char c = *p;
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        else if (c == '_' || c == '.')
            c = '-';
        buf[o++] = c;
    }
    buf[o] = '\0';
    snprintf(buf + o, n - o, ".%s.hearth.internal", network ? network : "");
}

void out_local_time(const char *s, char *buf, size_t n)
{
    int64_t ms;
    if (!s || timefmt_parse_rfc3339(s, strlen(s), &ms) < 0) {
        snprintf(buf, n, "%s", s ? s : "-");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char tz[8];
    if (!localtime_r(&t, &tm) || strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm) == 0 ||
        strftime(tz, sizeof(tz), "%z", &tm) != 5) {
        snprintf(buf, n, "%s", s);
        return;
    }
    size_t used = strlen(buf);
    if (strcmp(tz, "+0000") == 0)
        snprintf(buf + used, n - used, "Z");
    else
        snprintf(buf + used, n - used, "%.3s:%.2s", tz, tz + 3);
}

void out_age(const char *s, int64_t now_ms, char *buf, size_t n)
{
    int64_t ms;
    if (!s || timefmt_parse_rfc3339(s, strlen(s), &ms) < 0) {
        snprintf(buf, n, "-");
        return;
    }
    int64_t d = (now_ms - ms) / 1000;
    if (d < 0)
        d = 0;
    if (d < 60)
        snprintf(buf, n, "%llds ago", (long long)d);
    else if (d < 3600)
        snprintf(buf, n, "%lldm ago", (long long)(d / 60));
    else if (d < 86400)
        snprintf(buf, n, "%lldh ago", (long long)(d / 3600));
    else
        snprintf(buf, n, "%lldd ago", (long long)(d / 86400));
}

void out_json(const char *text)
{
    fputs(text ? text : "null", stdout);
    fputc('\n', stdout);
}

static const char *const spinner[] = { "⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏" };

void out_progress_start(struct out_progress *p, bool tty, bool quiet, const char *what)
{
    *p = (struct out_progress){ .tty = tty, .quiet = quiet, .start_us = out_now_us() };
    snprintf(p->what, sizeof(p->what), "%s", what);
    if (!quiet && !tty) {
        fprintf(stderr, "%s…\n", p->what);
        p->shown = true;
    }
}

void out_progress_set(struct out_progress *p, const char *what)
{
    if (strncmp(p->what, what, sizeof(p->what) - 1) == 0)
        return;
    snprintf(p->what, sizeof(p->what), "%s", what);
    if (p->quiet)
        return;
    if (p->tty) {
        (void)out_progress_tick(p); /* always true */
        return;
    }
    fprintf(stderr, "%s…\n", p->what);
    p->shown = true;
}

bool out_progress_tick(void *ud)
{
    struct out_progress *p = ud;
    if (p->quiet || !p->tty)
        return true;
    double s = (double)(out_now_us() - p->start_us) / 1e6;
    fprintf(stderr, "\r\033[K%s %s (%.1fs)", spinner[p->frame++ % 10], p->what, s);
    fflush(stderr);
    p->shown = true;
    return true;
}

void out_progress_end(struct out_progress *p, bool ok, const char *done)
{
    if (p->quiet)
        return;
    double s = (double)(out_now_us() - p->start_us) / 1e6;
    if (p->tty && p->shown)
        fputs("\r\033[K", stderr);
    if (ok && done)
        fprintf(stderr, "%s%s in %.1fs\n", p->tty ? "✓ " : "", done, s);
}
