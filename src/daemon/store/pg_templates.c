/* SPDX-License-Identifier: MIT */
/* pg_templates.c: templates and their build logs in the PostgreSQL backend
 * (migrations_pg/0008), with sqlite_templates.c's semantics call for call: a deleted template
 * keeps its row, a pending or building one turns cancelled in the delete's transaction, and a
 * guarded update (from_states) reads and writes under the store's write lock, so two hearthds
 * claiming one queued build cannot both win. */
#include "daemon/store/pg_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Column 4 and 10 are the dockerfile and the layers; the "no text" reads select NULL there. */
#define TPL_COLS_(dockerfile, layers)                                                            \
    "t.id, t.user_id, t.name, t.base, " dockerfile ", coalesce(t.context, ''), t.options, "    \
    "t.status, t.attempt, coalesce(t.error, ''), " layers ", coalesce(t.top_layer, ''), "       \
    "t.ext4_size_bytes, coalesce(t.host_id, ''), t.created_at, coalesce(t.started_at, 0), "     \
    "coalesce(t.built_at, 0), coalesce(t.deleted_at, 0)"
#define TPL_COLS_TEXT TPL_COLS_("t.dockerfile", "t.layers")
#define TPL_COLS_BARE TPL_COLS_("NULL", "NULL")

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int read_tpl(const PGresult *res, int row, void *elem)
{
    static const struct pg_text_col texts[] = {
#define T(c, f) PG_TEXT_COL(c, struct store_template, f)
        T(0, id), T(1, user_id), T(2, name), T(3, base), T(5, context), T(6, options),
        T(9, error), T(11, top_layer), T(13, host_id),
#undef T
    };
    struct store_template *t = elem;
    store_template_init(t);
    int r = pg_col_texts(res, row, t, texts, NELEM(texts));
    int status = pg_col_null(res, row, 7) ? -EINVAL
                                          : store_tpl_status_parse(PQgetvalue(res, row, 7));
    if (r == 0 && status < 0)
        r = -EUCLEAN;
    t->status = status < 0 ? STORE_TPL_FAILED : (enum store_tpl_status)status;
    t->attempt = (int32_t)pg_col_i64(res, row, 8);
    t->ext4_size_bytes = pg_col_i64(res, row, 12);
    t->created_at = pg_col_i64(res, row, 14);
    t->started_at = pg_col_i64(res, row, 15);
    t->built_at = pg_col_i64(res, row, 16);
    t->deleted_at = pg_col_i64(res, row, 17);
    if (r == 0)
        r = pg_col_strdup(res, row, 4, &t->dockerfile);
    if (r == 0)
        r = pg_col_strdup(res, row, 10, &t->layers);
    if (r < 0)
        store_template_release(t); /* the contract: nothing left to free on failure */
    return r;
}

/* Every row sql (pp bound) selects; on failure the rows read so far are freed. */
static int tpl_all(struct pg_store *s, const char *sql, const struct pg_params *pp,
                   struct store_template **ret, size_t *ret_n)
{
    PGresult *res;
    int r = pg_exec(s, sql, pp, &res);
    if (r < 0)
        return r;
    void *v;
    size_t n;
    r = pg_read_all(res, sizeof(struct store_template), read_tpl, &v, &n);
    PQclear(res);
    if (r < 0) {
        struct store_template *t = v;
        for (size_t i = 0; i < n; i++)
            store_template_release(&t[i]);
        free(v);
        return r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

int pg_template_insert(struct store *st, const struct store_template *t)
{
    struct pg_store *s = to_pg(st);
    struct pg_params pp;
    int64_t taken = 0;
    int r = pg_tx_begin(s, true);
    /* the live-name index and the primary key both raise -EEXIST: look first to tell them apart
     * (an id collision is a bug, a name collision is the user's) */
    if (r == 0) {
        pg_params_texts(&pp, (const char *[]){ t->user_id, t->name }, 2);
        r = pg_select_ints(s, "SELECT count(*) FROM templates WHERE user_id = $1 AND name = $2 "
                              "AND deleted_at IS NULL", &pp, &taken, 1);
    }
    if (r == 0 && taken > 0)
        r = -EEXIST;
    if (r == 0) {
        pg_params_texts(&pp, (const char *[]){ t->id, t->user_id, t->name, t->base,
                                               t->dockerfile, t->options,
                                               store_tpl_status_name(t->status),
                                               t->layers ? t->layers : "[]" }, 8);
        pg_param_text_opt(&pp, t->context);
        pg_param_i64(&pp, t->attempt);
        pg_param_text_opt(&pp, t->error);
        pg_param_text_opt(&pp, t->top_layer);
        pg_param_i64(&pp, t->ext4_size_bytes);
        pg_param_text_opt(&pp, t->host_id);
        pg_param_i64(&pp, t->created_at);
        pg_param_i64_opt(&pp, t->started_at);
        pg_param_i64_opt(&pp, t->built_at);
        r = pg_exec(s, "INSERT INTO templates (id, user_id, name, base, dockerfile, options, "
                       "status, layers, context, attempt, error, top_layer, ext4_size_bytes, "
                       "host_id, created_at, started_at, built_at) VALUES ($1, $2, $3, $4, $5, "
                       "$6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)", &pp, NULL);
        if (r == -EEXIST) /* the primary key: not the user's name */
            r = -EIO;
    }
    return pg_tx_end(s, r);
}

int pg_template_get(struct store *st, const char *user_id, const char *ref, bool with_text,
                    struct store_template *ret)
{
    struct pg_params pp;
    pg_params_texts(&pp, (const char *[]){ ref, user_id }, user_id ? 2 : 1);
    /* an id matches deleted rows too (idempotent deletes, sandboxes that name it); a name only
     * the live one; the id wins when a name happens to equal another row's id */
    static const char *const sql[2][2] = {
        { "SELECT " TPL_COLS_BARE " FROM templates t WHERE (t.id = $1 OR (t.name = $1 AND "
          "t.deleted_at IS NULL)) ORDER BY t.id = $1 DESC LIMIT 1",
          "SELECT " TPL_COLS_TEXT " FROM templates t WHERE (t.id = $1 OR (t.name = $1 AND "
          "t.deleted_at IS NULL)) ORDER BY t.id = $1 DESC LIMIT 1" },
        { "SELECT " TPL_COLS_BARE " FROM templates t WHERE t.user_id = $2 AND (t.id = $1 OR "
          "(t.name = $1 AND t.deleted_at IS NULL)) ORDER BY t.id = $1 DESC LIMIT 1",
          "SELECT " TPL_COLS_TEXT " FROM templates t WHERE t.user_id = $2 AND (t.id = $1 OR "
          "(t.name = $1 AND t.deleted_at IS NULL)) ORDER BY t.id = $1 DESC LIMIT 1" },
    };
    return pg_select_one(to_pg(st), sql[user_id != NULL][with_text], &pp, read_tpl, ret);
}

int pg_template_list(struct store *st, const char *user_id, size_t limit, size_t offset,
                     struct store_template **ret, size_t *ret_n, uint64_t *ret_total)
{
    /* without the texts a row owns nothing, so pg_select_page's plain free() is enough */
    struct pg_params pp;
    pg_params_texts(&pp, &user_id, 1);
    void *v = NULL;
    int r = pg_select_page(
        to_pg(st), "SELECT count(*) FROM templates WHERE user_id = $1 AND deleted_at IS NULL",
        "SELECT " TPL_COLS_BARE " FROM templates t WHERE t.user_id = $1 AND "
        "t.deleted_at IS NULL ORDER BY t.created_at DESC, t.id DESC LIMIT $2 OFFSET $3",
        &pp, limit, offset, sizeof(struct store_template), read_tpl, &v, ret_n, ret_total);
    if (r == 0)
        *ret = v;
    return r;
}

int pg_template_list_status(struct store *st, enum store_tpl_status status,
                            struct store_template **ret, size_t *ret_n)
{
    struct pg_params pp;
    pg_params_texts(&pp, (const char *[]){ store_tpl_status_name(status) }, 1);
    return tpl_all(to_pg(st), "SELECT " TPL_COLS_TEXT " FROM templates t WHERE t.status = $1 "
                   "ORDER BY t.created_at, t.id", &pp, ret, ret_n);
}

int pg_template_list_all(struct store *st, struct store_template **ret, size_t *ret_n)
{
    return tpl_all(to_pg(st), "SELECT " TPL_COLS_("NULL", "t.layers") " FROM templates t "
                   "ORDER BY t.id", NULL, ret, ret_n);
}

int pg_template_update(struct store *st, const char *id, const struct store_tpl_update *u)
{
    struct pg_store *s = to_pg(st);
    struct pg_params pp;
    struct store_template t;
    int r = pg_tx_begin(s, true);
    if (r == 0) {
        pg_params_texts(&pp, &id, 1);
        r = pg_select_one(s, "SELECT " TPL_COLS_BARE " FROM templates t WHERE t.id = $1", &pp,
                          read_tpl, &t);
    }
    if (r == 0 && u->from_states && !(u->from_states & (1u << t.status)))
        r = -ESTALE;
    /* one statement per field group keeps the SQL static; they share the transaction */
    if (r == 0 && (u->mask & STORE_TPL_SET_STATUS)) {
        pg_params_texts(&pp, (const char *[]){ id, store_tpl_status_name(u->status) }, 2);
        r = pg_exec(s, "UPDATE templates SET status = $2 WHERE id = $1", &pp, NULL);
    }
    if (r == 0 && (u->mask & STORE_TPL_SET_ATTEMPT)) {
        pg_params_texts(&pp, &id, 1);
        pg_param_i64(&pp, u->attempt);
        pg_param_i64_opt(&pp, u->started_at);
        r = pg_exec(s, "UPDATE templates SET attempt = $2, started_at = $3 WHERE id = $1", &pp,
                    NULL);
    }
    if (r == 0 && (u->mask & STORE_TPL_SET_ERROR)) {
        pg_params_texts(&pp, &id, 1);
        pg_param_text_opt(&pp, u->error);
        r = pg_exec(s, "UPDATE templates SET error = $2 WHERE id = $1", &pp, NULL);
    }
    if (r == 0 && (u->mask & STORE_TPL_SET_RESULT)) {
        pg_params_texts(&pp, &id, 1);
        pg_param_text_opt(&pp, u->top_layer);
        pg_param_i64(&pp, u->ext4_size_bytes);
        pg_param_i64_opt(&pp, u->built_at);
        r = pg_exec(s, "UPDATE templates SET top_layer = $2, ext4_size_bytes = $3, "
                       "built_at = $4 WHERE id = $1", &pp, NULL);
    }
    if (r == 0 && (u->mask & STORE_TPL_SET_LAYERS)) {
        pg_params_texts(&pp, (const char *[]){ id, u->layers ? u->layers : "[]" }, 2);
        r = pg_exec(s, "UPDATE templates SET layers = $2 WHERE id = $1", &pp, NULL);
    }
    if (r == 0 && (u->mask & STORE_TPL_SET_HOST)) {
        pg_params_texts(&pp, &id, 1);
        pg_param_text_opt(&pp, u->host_id);
        r = pg_exec(s, "UPDATE templates SET host_id = $2 WHERE id = $1", &pp, NULL);
    }
    return pg_tx_end(s, r);
}

int pg_template_delete(struct store *st, const char *user_id, const char *id, int64_t now_ms,
                       enum store_tpl_status *ret_was)
{
    struct pg_store *s = to_pg(st);
    struct pg_params pp;
    struct store_template t;
    int r = pg_tx_begin(s, true);
    if (r == 0) {
        pg_params_texts(&pp, (const char *[]){ id, user_id }, 2);
        r = pg_select_one(s, "SELECT " TPL_COLS_BARE " FROM templates t WHERE t.id = $1 AND "
                             "t.user_id = $2", &pp, read_tpl, &t);
    }
    if (r == 0 && t.deleted_at)
        r = -EALREADY;
    /* a build in flight is cancelled with the delete: the builder sees it at its next check */
    if (r == 0) {
        pg_params_texts(&pp, &id, 1);
        pg_param_i64(&pp, now_ms);
        r = pg_exec(s, "UPDATE templates SET deleted_at = $2, status = CASE WHEN status IN "
                       "('pending', 'building') THEN 'cancelled' ELSE status END WHERE id = $1",
                    &pp, NULL);
    }
    if (r == 0)
        *ret_was = t.status;
    return pg_tx_end(s, r);
}

int pg_template_sandboxes(struct store *st, const char *id, uint64_t *ret_n)
{
    struct pg_params pp;
    pg_params_texts(&pp, &id, 1);
    int64_t n = 0;
    int r = pg_select_ints(to_pg(st), "SELECT count(*) FROM sandboxes WHERE rootfs = $1 AND "
                           "status NOT IN ('destroyed', 'failed')", &pp, &n, 1);
    if (r == 0)
        *ret_n = (uint64_t)n;
    return r;
}

int pg_template_log_append(struct store *st, const char *id, const struct store_tpl_log *l,
                           size_t n)
{
    struct pg_store *s = to_pg(st);
    struct pg_params pp;
    int r = pg_tx_begin(s, true);
    /* one round trip per line, like SQLite's step per row; a builder flushes a few at a time */
    for (size_t i = 0; r == 0 && i < n; i++) {
        pg_params_texts(&pp, &id, 1);
        pg_param_i64(&pp, l[i].attempt);
        pg_param_i64(&pp, l[i].seq);
        pg_param_i64(&pp, l[i].ts);
        pg_param_text(&pp, l[i].error ? "error" : "info");
        pg_param_text(&pp, l[i].line);
        r = pg_exec(s, "INSERT INTO template_logs (template_id, attempt, seq, ts, level, line) "
                       "VALUES ($1, $2, $3, $4, $5, $6)", &pp, NULL);
    }
    return pg_tx_end(s, r);
}

static int read_log(const PGresult *res, int row, void *elem)
{
    struct store_tpl_log *l = elem;
    memset(l, 0, sizeof(*l));
    l->attempt = (int32_t)pg_col_i64(res, row, 0);
    l->seq = pg_col_i64(res, row, 1);
    l->ts = pg_col_i64(res, row, 2);
    l->error = !pg_col_null(res, row, 3) && strcmp(PQgetvalue(res, row, 3), "error") == 0;
    int r = pg_col_strdup(res, row, 4, &l->line);
    return r < 0 ? r : l->line ? 0 : -EUCLEAN;
}

int pg_template_log_read(struct store *st, const char *id, int32_t attempt,
                         int32_t after_attempt, int64_t after_seq, size_t limit,
                         struct store_tpl_log **ret, size_t *ret_n)
{
    struct pg_store *s = to_pg(st);
    struct pg_params pp;
    pg_params_texts(&pp, &id, 1);
    pg_param_i64(&pp, attempt);
    pg_param_i64(&pp, after_attempt);
    pg_param_i64(&pp, after_seq);
    pg_param_i64_opt(&pp, (int64_t)limit); /* NULL: LIMIT NULL is no limit */
    PGresult *res;
    /* row values compare (attempt, seq) as one cursor; the primary key serves the order */
    int r = pg_exec(s, "SELECT attempt, seq, ts, level, line FROM template_logs WHERE "
                       "template_id = $1 AND ($2 = 0 OR attempt = $2) AND (attempt, seq) > "
                       "($3, $4) ORDER BY attempt, seq LIMIT $5", &pp, &res);
    if (r < 0)
        return r;
    void *v;
    size_t n;
    r = pg_read_all(res, sizeof(struct store_tpl_log), read_log, &v, &n);
    PQclear(res);
    if (r < 0) {
        store_tpl_log_free(v, n);
        return r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}
