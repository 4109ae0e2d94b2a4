/* SPDX-License-Identifier: MIT */
/* pg_rows.c: the PostgreSQL backend's parameters and results: the $1..$n builder (texts,
 * formatted numbers, binary bytea), the column getters of text-format results (bytea decoded
 * from its hex form), and the select helpers every concept file reads with (pg_internal.h). */
#include "daemon/store/pg_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- parameters ---- */

static const char **param_slot(struct pg_params *pp)
{
    if (pp->n >= PG_MAX_PARAMS) {
        pp->overflow = true;
        return NULL;
    }
    pp->len[pp->n] = 0;
    pp->fmt[pp->n] = 0;
    return &pp->v[pp->n++];
}

void pg_param_text(struct pg_params *pp, const char *v)
{
    const char **slot = param_slot(pp);
    if (slot)
        *slot = v;
}

void pg_param_text_opt(struct pg_params *pp, const char *v)
{
    pg_param_text(pp, v && *v ? v : NULL);
}

void pg_param_i64(struct pg_params *pp, int64_t v)
{
    const char **slot = param_slot(pp);
    if (!slot)
        return;
    int i = pp->n - 1;
    (void)snprintf(pp->num[i], sizeof(pp->num[i]), "%" PRId64, v);
    *slot = pp->num[i];
}

void pg_param_i64_opt(struct pg_params *pp, int64_t v)
{
    if (v)
        pg_param_i64(pp, v);
    else
        pg_param_text(pp, NULL);
}

void pg_param_bool(struct pg_params *pp, bool v)
{
    pg_param_text(pp, v ? "1" : "0");
}

void pg_param_double(struct pg_params *pp, double v)
{
    const char **slot = param_slot(pp);
    if (!slot)
        return;
    int i = pp->n - 1;
    (void)snprintf(pp->num[i], sizeof(pp->num[i]), "%.17g", v);
    *slot = pp->num[i];
}

void pg_param_bytea(struct pg_params *pp, const void *p, size_t n)
{
    const char **slot = param_slot(pp);
    if (!slot)
        return;
    if (n > INT32_MAX) {
        pp->overflow = true;
        return;
    }
    *slot = n ? (const char *)p : "";
    pp->len[pp->n - 1] = (int)n;
    pp->fmt[pp->n - 1] = 1;
}

void pg_param_state_opt(struct pg_params *pp, enum store_state v)
{
    pg_param_text(pp, store_state_to_string(v));
}

void pg_params_texts(struct pg_params *pp, const char *const *p, size_t np)
{
    pp->n = 0;
    pp->overflow = false;
    for (size_t i = 0; i < np; i++)
        pg_param_text(pp, p[i]);
}

/* ---- reading ---- */

int pg_col_text(const PGresult *res, int row, int col, char *dst, size_t size)
{
    if (PQgetisnull(res, row, col)) {
        dst[0] = '\0';
        return 0;
    }
    const char *t = PQgetvalue(res, row, col);
    size_t n = (size_t)PQgetlength(res, row, col);
    if (!t || n >= size || memchr(t, '\0', n))
        return -EUCLEAN;
    memcpy(dst, t, n);
    dst[n] = '\0';
    return 0;
}

int pg_col_texts(const PGresult *res, int row, void *obj, const struct pg_text_col *cols,
                 size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int r = pg_col_text(res, row, cols[i].col, (char *)obj + cols[i].off, cols[i].size);
        if (r < 0)
            return r;
    }
    return 0;
}

int pg_col_strdup(const PGresult *res, int row, int col, char **ret)
{
    if (PQgetisnull(res, row, col)) {
        *ret = NULL;
        return 0;
    }
    *ret = strdup(PQgetvalue(res, row, col));
    return *ret ? 0 : -ENOMEM;
}

int64_t pg_col_i64(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return 0;
    return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

double pg_col_double(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return 0;
    return strtod(PQgetvalue(res, row, col), NULL);
}

bool pg_col_bool(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return false;
    const char *t = PQgetvalue(res, row, col);
    return t[0] == 't' || (t[0] >= '1' && t[0] <= '9') || (t[0] == '-' && t[1]);
}

int pg_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes bytea's text form "\x<hex>" (bytea_output = hex, PostgreSQL's default since 9.0). */
static int bytea_decode(const char *t, size_t n, uint8_t *dst, size_t size, size_t *ret_len)
{
    if (n < 2 || t[0] != '\\' || t[1] != 'x' || (n - 2) % 2)
        return -EUCLEAN;
    size_t len = (n - 2) / 2;
    if (len > size)
        return -EUCLEAN;
    for (size_t i = 0; i < len; i++) {
        int hi = pg_hexval(t[2 + 2 * i]), lo = pg_hexval(t[3 + 2 * i]);
        if (hi < 0 || lo < 0)
            return -EUCLEAN;
        dst[i] = (uint8_t)(hi << 4 | lo);
    }
    *ret_len = len;
    return 0;
}

int pg_col_bytea(const PGresult *res, int row, int col, uint8_t *dst, size_t size,
                 size_t *ret_len)
{
    *ret_len = 0;
    if (PQgetisnull(res, row, col))
        return 0;
    return bytea_decode(PQgetvalue(res, row, col), (size_t)PQgetlength(res, row, col), dst, size,
                        ret_len);
}

int pg_col_bytea_dup(const PGresult *res, int row, int col, uint8_t **ret, size_t *ret_len)
{
    *ret = NULL;
    *ret_len = 0;
    if (PQgetisnull(res, row, col))
        return 0;
    size_t n = (size_t)PQgetlength(res, row, col);
    size_t cap = n / 2 + 1;
    uint8_t *v = malloc(cap);
    if (!v)
        return -ENOMEM;
    size_t len;
    int r = bytea_decode(PQgetvalue(res, row, col), n, v, cap - 1, &len);
    if (r < 0) {
        free(v);
        return r;
    }
    v[len] = 0;
    *ret = v;
    *ret_len = len;
    return 0;
}

int pg_col_state(const PGresult *res, int row, int col, enum store_state *ret, bool null_ok)
{
    if (PQgetisnull(res, row, col)) {
        if (!null_ok)
            return -EUCLEAN;
        *ret = STORE_STATE_NONE;
        return 0;
    }
    int r = store_state_from_string(PQgetvalue(res, row, col),
                                    (size_t)PQgetlength(res, row, col), ret);
    return r < 0 ? -EUCLEAN : 0;
}

int pg_read_all(const PGresult *res, size_t elem, pg_read_fn *read, void **ret, size_t *ret_n)
{
    int rows = PQntuples(res);
    char *v = NULL;
    size_t n = 0;
    int r = 0;
    if (rows > 0 && !(v = calloc((size_t)rows, elem)))
        r = -ENOMEM;
    for (int i = 0; r == 0 && i < rows; i++) {
        if ((r = read(res, i, v + n * elem)) == 0)
            n++;
    }
    *ret = v;
    *ret_n = n;
    return r;
}

int pg_select_all(struct pg_store *s, const char *sql, const struct pg_params *pp, size_t elem,
                  pg_read_fn *read, void **ret, size_t *ret_n)
{
    PGresult *res;
    int r = pg_exec(s, sql, pp, &res);
    if (r < 0)
        return r;
    void *v;
    size_t n;
    r = pg_read_all(res, elem, read, &v, &n);
    PQclear(res);
    if (r < 0) {
        free(v);
        return r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

int pg_select_one(struct pg_store *s, const char *sql, const struct pg_params *pp,
                  pg_read_fn *read, void *ret)
{
    PGresult *res;
    int r = pg_exec(s, sql, pp, &res);
    if (r < 0)
        return r;
    r = PQntuples(res) > 0 ? read(res, 0, ret) : -ENOENT;
    PQclear(res);
    return r;
}

int pg_select_ints(struct pg_store *s, const char *sql, const struct pg_params *pp, int64_t *out,
                   int n)
{
    PGresult *res;
    int r = pg_exec(s, sql, pp, &res);
    if (r < 0)
        return r;
    if (PQntuples(res) < 1 || PQnfields(res) < n) {
        store_set_errmsg(&s->base, "postgresql: expected a row of %d numbers", n);
        r = -EIO;
    }
    for (int i = 0; r == 0 && i < n; i++)
        out[i] = pg_col_i64(res, 0, i);
    PQclear(res);
    return r;
}

int pg_select_page(struct pg_store *s, const char *count_sql, const char *page_sql,
                   const struct pg_params *pp, size_t limit, size_t offset, size_t elem,
                   pg_read_fn *read, void **ret, size_t *ret_n, uint64_t *ret_total)
{
    int64_t total = 0;
    void *v = NULL;
    size_t n = 0;
    int r = pg_tx_begin(s, false); /* the count and the page see one snapshot */
    if (r == 0)
        r = pg_select_ints(s, count_sql, pp, &total, 1);
    if (r == 0 && limit > 0) {
        struct pg_params page = { 0 };
        if (pp)
            page = *pp;
        /* the copies' numbers point into pp; re-point them at page's own */
        for (int i = 0; i < page.n; i++)
            if (pp && page.v[i] == pp->num[i])
                page.v[i] = page.num[i];
        pg_param_i64(&page, (int64_t)(limit > INT64_MAX ? INT64_MAX : limit));
        pg_param_i64(&page, (int64_t)(offset > INT64_MAX ? INT64_MAX : offset));
        r = pg_select_all(s, page_sql, &page, elem, read, &v, &n);
    }
    r = pg_tx_end(s, r);
    if (r < 0) {
        free(v);
        return r;
    }
    *ret = v;
    *ret_n = n;
    *ret_total = (uint64_t)total;
    return 0;
}

/* pg_read_fn for a NOT NULL text column */
static int read_str(const PGresult *res, int row, void *elem)
{
    char **str = elem;
    if (pg_col_null(res, row, 0))
        return -EUCLEAN;
    return pg_col_strdup(res, row, 0, str);
}

int pg_select_strv(struct pg_store *s, const char *sql, const struct pg_params *pp,
                   struct store_strv *ret)
{
    PGresult *res;
    int r = pg_exec(s, sql, pp, &res);
    if (r < 0)
        return r;
    void *v;
    size_t n;
    r = pg_read_all(res, sizeof(char *), read_str, &v, &n);
    PQclear(res);
    struct store_strv strv = { .v = v, .n = n };
    if (r < 0) {
        store_strv_free(&strv);
        return r;
    }
    *ret = strv;
    return 0;
}
