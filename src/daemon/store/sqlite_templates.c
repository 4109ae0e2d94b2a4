/* SPDX-License-Identifier: MIT */
/* sqlite_templates.c: templates and their build logs in the SQLite backend (migration 0008).
 * A deleted template keeps its row (deleted_at) so repeats stay idempotent and sandboxes made
 * from it still name it; a pending or building one turns cancelled in the same transaction, so
 * the builder, which re-reads its row, sees the cancel. Statements are prepared per call: these
 * calls are rare next to sandbox reads. */
#include "daemon/store/sqlite_internal.h"

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

static const char *const tpl_status_names[] = {
    [STORE_TPL_PENDING] = "pending",     [STORE_TPL_BUILDING] = "building",
    [STORE_TPL_READY] = "ready",         [STORE_TPL_FAILED] = "failed",
    [STORE_TPL_CANCELLED] = "cancelled",
};

const char *store_tpl_status_name(enum store_tpl_status s)
{
    return (unsigned)s < NELEM(tpl_status_names) ? tpl_status_names[s] : NULL;
}

int store_tpl_status_parse(const char *s)
{
    for (size_t i = 0; s && i < NELEM(tpl_status_names); i++)
        if (strcmp(s, tpl_status_names[i]) == 0)
            return (int)i;
    return -EINVAL;
}

static int read_tpl(sqlite3_stmt *q, void *elem)
{
    static const struct sqlite_text_col texts[] = {
#define T(c, f) SQLITE_TEXT_COL(c, struct store_template, f)
        T(0, id), T(1, user_id), T(2, name), T(3, base), T(5, context), T(6, options),
        T(9, error), T(11, top_layer), T(13, host_id),
#undef T
    };
    struct store_template *t = elem;
    store_template_init(t);
    int r = sqlite_col_texts(q, t, texts, NELEM(texts));
    int status = store_tpl_status_parse((const char *)sqlite3_column_text(q, 7));
    if (r == 0 && status < 0)
        r = -EUCLEAN;
    t->status = status < 0 ? STORE_TPL_FAILED : (enum store_tpl_status)status;
    t->attempt = sqlite3_column_int(q, 8);
    t->ext4_size_bytes = sqlite3_column_int64(q, 12);
    t->created_at = sqlite3_column_int64(q, 14);
    t->started_at = sqlite3_column_int64(q, 15);
    t->built_at = sqlite3_column_int64(q, 16);
    t->deleted_at = sqlite3_column_int64(q, 17);
    if (r == 0)
        r = sqlite_col_strdup(q, 4, &t->dockerfile);
    if (r == 0)
        r = sqlite_col_strdup(q, 10, &t->layers);
    if (r < 0)
        store_template_release(t); /* the contract: nothing left to free on failure */
    return r;
}

/* Reads every row of q (bound) and finalizes it; on failure the rows read so far are freed. */
static int tpl_read_all(struct sqlite_store *s, sqlite3_stmt *q, struct store_template **ret,
                        size_t *ret_n)
{
    void *v;
    size_t n;
    int r = sqlite_read_all(s, q, sizeof(struct store_template), 8, read_tpl, &v, &n);
    sqlite3_finalize(q);
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

/* Every row sql (texts p bound) selects. */
static int tpl_all(struct sqlite_store *s, const char *sql, const char *const *p, size_t np,
                   struct store_template **ret, size_t *ret_n)
{
    sqlite3_stmt *q;
    int r = sqlite_prepare_bound(s, sql, p, np, &q);
    return r < 0 ? r : tpl_read_all(s, q, ret, ret_n);
}

int sqlite_template_insert(struct store *st, const struct store_template *t)
{
    struct sqlite_store *s = to_sqlite(st);
    const char *p[] = { t->id, t->user_id, t->name, t->base, t->dockerfile, t->options,
                        store_tpl_status_name(t->status), t->layers ? t->layers : "[]" };
    int64_t taken = 0;
    int r = sqlite_tx_begin(s, true);
    /* the live-name index and the primary key both raise -EEXIST: look first to tell them apart
     * (an id collision is a bug, a name collision is the user's) */
    if (r == 0)
        r = sqlite_select_ints(s, "SELECT count(*) FROM templates WHERE user_id = ?1 AND "
                                  "name = ?2 AND deleted_at IS NULL", (const char *[]){ t->user_id,
                                  t->name }, 2, &taken, 1);
    if (r == 0 && taken > 0)
        r = -EEXIST;
    sqlite3_stmt *q;
    if (r == 0)
        r = sqlite_prepare_bound(s, "INSERT INTO templates (id, user_id, name, base, dockerfile, "
                                    "options, status, layers, context, attempt, error, top_layer, "
                                    "ext4_size_bytes, host_id, created_at, started_at, built_at) "
                                    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
                                    "?13, ?14, ?15, ?16, ?17)", p, NELEM(p), &q);
    if (r == 0) {
        sqlite_bind_text_opt(q, 9, t->context);
        sqlite3_bind_int(q, 10, t->attempt);
        sqlite_bind_text_opt(q, 11, t->error);
        sqlite_bind_text_opt(q, 12, t->top_layer);
        sqlite3_bind_int64(q, 13, t->ext4_size_bytes);
        sqlite_bind_text_opt(q, 14, t->host_id);
        sqlite3_bind_int64(q, 15, t->created_at);
        sqlite_bind_i64_opt(q, 16, t->started_at);
        sqlite_bind_i64_opt(q, 17, t->built_at);
        r = sqlite_finish(s, q);
        if (r == -EEXIST) /* the primary key: not the user's name */
            r = -EIO;
    }
    return sqlite_tx_end(s, r);
}

int sqlite_template_get(struct store *st, const char *user_id, const char *ref, bool with_text,
                        struct store_template *ret)
{
    const char *p[] = { ref, user_id };
    /* an id matches deleted rows too (idempotent deletes, sandboxes that name it); a name only
     * the live one; the id wins when a name happens to equal another row's id */
    static const char *const sql[2][2] = {
        { "SELECT " TPL_COLS_BARE " FROM templates t WHERE (t.id = ?1 OR (t.name = ?1 AND "
          "t.deleted_at IS NULL)) ORDER BY t.id = ?1 DESC LIMIT 1",
          "SELECT " TPL_COLS_TEXT " FROM templates t WHERE (t.id = ?1 OR (t.name = ?1 AND "
          "t.deleted_at IS NULL)) ORDER BY t.id = ?1 DESC LIMIT 1" },
        { "SELECT " TPL_COLS_BARE " FROM templates t WHERE t.user_id = ?2 AND (t.id = ?1 OR "
          "(t.name = ?1 AND t.deleted_at IS NULL)) ORDER BY t.id = ?1 DESC LIMIT 1",
          "SELECT " TPL_COLS_TEXT " FROM templates t WHERE t.user_id = ?2 AND (t.id = ?1 OR "
          "(t.name = ?1 AND t.deleted_at IS NULL)) ORDER BY t.id = ?1 DESC LIMIT 1" },
    };
    return sqlite_select_one(to_sqlite(st), sql[user_id != NULL][with_text], p,
                             user_id ? 2 : 1, read_tpl, ret);
}

int sqlite_template_list(struct store *st, const char *user_id, size_t limit, size_t offset,
                         struct store_template **ret, size_t *ret_n, uint64_t *ret_total)
{
    struct sqlite_store *s = to_sqlite(st);
    int64_t total = 0;
    struct store_template *v = NULL;
    size_t n = 0;
    int r = sqlite_tx_begin(s, false); /* the count and the page see one snapshot */
    if (r == 0)
        r = sqlite_select_ints(s, "SELECT count(*) FROM templates WHERE user_id = ?1 AND "
                                  "deleted_at IS NULL", &user_id, 1, &total, 1);
    sqlite3_stmt *q;
    if (r == 0 && limit > 0 &&
        (r = sqlite_prepare_bound(s, "SELECT " TPL_COLS_BARE " FROM templates t WHERE "
                                     "t.user_id = ?1 AND t.deleted_at IS NULL ORDER BY "
                                     "t.created_at DESC, t.id DESC LIMIT ?2 OFFSET ?3",
                                  &user_id, 1, &q)) == 0) {
        sqlite3_bind_int64(q, 2, (int64_t)limit);
        sqlite3_bind_int64(q, 3, (int64_t)offset);
        r = tpl_read_all(s, q, &v, &n);
    }
    r = sqlite_tx_end(s, r);
    if (r < 0) {
        for (size_t i = 0; i < n; i++)
            store_template_release(&v[i]);
        free(v);
        return r;
    }
    *ret = v;
    *ret_n = n;
    *ret_total = (uint64_t)total;
    return 0;
}

int sqlite_template_list_status(struct store *st, enum store_tpl_status status,
                                struct store_template **ret, size_t *ret_n)
{
    const char *name = store_tpl_status_name(status);
    return tpl_all(to_sqlite(st), "SELECT " TPL_COLS_TEXT " FROM templates t WHERE "
                   "t.status = ?1 ORDER BY t.created_at, t.id", &name, 1, ret, ret_n);
}

int sqlite_template_list_all(struct store *st, struct store_template **ret, size_t *ret_n)
{
    return tpl_all(to_sqlite(st), "SELECT " TPL_COLS_("NULL", "t.layers") " FROM templates t "
                   "ORDER BY t.id", NULL, 0, ret, ret_n);
}

int sqlite_template_update(struct store *st, const char *id, const struct store_tpl_update *u)
{
    struct sqlite_store *s = to_sqlite(st);
    const char *p[] = { id };
    struct store_template t;
    int r = sqlite_tx_begin(s, true);
    if (r == 0)
        r = sqlite_select_one(s, "SELECT " TPL_COLS_BARE " FROM templates t WHERE t.id = ?1", p,
                              1, read_tpl, &t);
    if (r == 0 && u->from_states && !(u->from_states & (1u << t.status)))
        r = -ESTALE;
    /* one statement per field group keeps the SQL static; they share the transaction */
    sqlite3_stmt *q;
    if (r == 0 && (u->mask & STORE_TPL_SET_STATUS) &&
        (r = sqlite_prepare_bound(s, "UPDATE templates SET status = ?2 WHERE id = ?1",
                                  (const char *[]){ id, store_tpl_status_name(u->status) }, 2,
                                  &q)) == 0)
        r = sqlite_finish(s, q);
    if (r == 0 && (u->mask & STORE_TPL_SET_ATTEMPT) &&
        (r = sqlite_prepare_bound(s, "UPDATE templates SET attempt = ?2, started_at = ?3 "
                                     "WHERE id = ?1", p, 1, &q)) == 0) {
        sqlite3_bind_int(q, 2, u->attempt);
        sqlite_bind_i64_opt(q, 3, u->started_at);
        r = sqlite_finish(s, q);
    }
    if (r == 0 && (u->mask & STORE_TPL_SET_ERROR) &&
        (r = sqlite_prepare_bound(s, "UPDATE templates SET error = ?2 WHERE id = ?1", p, 1,
                                  &q)) == 0) {
        sqlite_bind_text_opt(q, 2, u->error);
        r = sqlite_finish(s, q);
    }
    if (r == 0 && (u->mask & STORE_TPL_SET_RESULT) &&
        (r = sqlite_prepare_bound(s, "UPDATE templates SET top_layer = ?2, ext4_size_bytes = ?3, "
                                     "built_at = ?4 WHERE id = ?1", p, 1, &q)) == 0) {
        sqlite_bind_text_opt(q, 2, u->top_layer);
        sqlite3_bind_int64(q, 3, u->ext4_size_bytes);
        sqlite_bind_i64_opt(q, 4, u->built_at);
        r = sqlite_finish(s, q);
    }
    if (r == 0 && (u->mask & STORE_TPL_SET_LAYERS) &&
        (r = sqlite_prepare_bound(s, "UPDATE templates SET layers = ?2 WHERE id = ?1",
                                  (const char *[]){ id, u->layers ? u->layers : "[]" }, 2,
                                  &q)) == 0)
        r = sqlite_finish(s, q);
    if (r == 0 && (u->mask & STORE_TPL_SET_HOST) &&
        (r = sqlite_prepare_bound(s, "UPDATE templates SET host_id = ?2 WHERE id = ?1", p, 1,
                                  &q)) == 0) {
        sqlite_bind_text_opt(q, 2, u->host_id);
        r = sqlite_finish(s, q);
    }
    return sqlite_tx_end(s, r);
}

int sqlite_template_delete(struct store *st, const char *user_id, const char *id, int64_t now_ms,
                           enum store_tpl_status *ret_was)
{
    struct sqlite_store *s = to_sqlite(st);
    const char *p[] = { id, user_id };
    struct store_template t;
    int r = sqlite_tx_begin(s, true);
    if (r == 0)
        r = sqlite_select_one(s, "SELECT " TPL_COLS_BARE " FROM templates t WHERE t.id = ?1 AND "
                                 "t.user_id = ?2", p, 2, read_tpl, &t);
    if (r == 0 && t.deleted_at)
        r = -EALREADY;
    sqlite3_stmt *q;
    /* a build in flight is cancelled with the delete: the builder sees it at its next check */
    if (r == 0 && (r = sqlite_prepare_bound(s, "UPDATE templates SET deleted_at = ?2, status = "
                                               "CASE WHEN status IN ('pending', 'building') THEN "
                                               "'cancelled' ELSE status END WHERE id = ?1", p, 1,
                                            &q)) == 0) {
        sqlite3_bind_int64(q, 2, now_ms);
        r = sqlite_finish(s, q);
    }
    if (r == 0)
        *ret_was = t.status;
    return sqlite_tx_end(s, r);
}

int sqlite_template_sandboxes(struct store *st, const char *id, uint64_t *ret_n)
{
    int64_t n = 0;
    int r = sqlite_select_ints(to_sqlite(st), "SELECT count(*) FROM sandboxes WHERE rootfs = ?1 "
                               "AND status NOT IN ('destroyed', 'failed')", &id, 1, &n, 1);
    if (r == 0)
        *ret_n = (uint64_t)n;
    return r;
}

int sqlite_template_log_append(struct store *st, const char *id, const struct store_tpl_log *l,
                               size_t n)
{
    struct sqlite_store *s = to_sqlite(st);
    sqlite3_stmt *q = NULL;
    int r = sqlite_tx_begin(s, true);
    if (r == 0)
        r = sqlite_prepare_bound(s, "INSERT INTO template_logs (template_id, attempt, seq, ts, "
                                    "level, line) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", &id, 1, &q);
    for (size_t i = 0; r == 0 && i < n; i++) {
        (void)sqlite3_reset(q);
        sqlite3_bind_int(q, 2, l[i].attempt);
        sqlite3_bind_int64(q, 3, l[i].seq);
        sqlite3_bind_int64(q, 4, l[i].ts);
        sqlite_bind_text(q, 5, l[i].error ? "error" : "info");
        sqlite_bind_text(q, 6, l[i].line);
        r = sqlite_step_done(s, q);
    }
    if (q)
        sqlite3_finalize(q);
    return sqlite_tx_end(s, r);
}

static int read_log(sqlite3_stmt *q, void *elem)
{
    struct store_tpl_log *l = elem;
    memset(l, 0, sizeof(*l));
    l->attempt = sqlite3_column_int(q, 0);
    l->seq = sqlite3_column_int64(q, 1);
    l->ts = sqlite3_column_int64(q, 2);
    const char *level = (const char *)sqlite3_column_text(q, 3);
    l->error = level && strcmp(level, "error") == 0;
    int r = sqlite_col_strdup(q, 4, &l->line);
    return r < 0 ? r : l->line ? 0 : -EUCLEAN;
}

int sqlite_template_log_read(struct store *st, const char *id, int32_t attempt,
                             int32_t after_attempt, int64_t after_seq, size_t limit,
                             struct store_tpl_log **ret, size_t *ret_n)
{
    struct sqlite_store *s = to_sqlite(st);
    sqlite3_stmt *q;
    /* row values compare (attempt, seq) as one cursor; the primary key serves the order */
    int r = sqlite_prepare_bound(s, "SELECT attempt, seq, ts, level, line FROM template_logs "
                                    "WHERE template_id = ?1 AND (?2 = 0 OR attempt = ?2) AND "
                                    "(attempt, seq) > (?3, ?4) ORDER BY attempt, seq LIMIT ?5",
                                 &id, 1, &q);
    if (r < 0)
        return r;
    sqlite3_bind_int(q, 2, attempt);
    sqlite3_bind_int(q, 3, after_attempt);
    sqlite3_bind_int64(q, 4, after_seq);
    sqlite3_bind_int64(q, 5, limit ? (int64_t)limit : -1);
    void *v;
    size_t n;
    r = sqlite_read_all(s, q, sizeof(struct store_tpl_log), limit && limit < 64 ? limit : 64,
                        read_log, &v, &n);
    sqlite3_finalize(q);
    if (r < 0) {
        store_tpl_log_free(v, n);
        return r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}
