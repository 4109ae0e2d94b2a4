/* SPDX-License-Identifier: MIT */
/* sqlite_tokens.c: delegated sandbox access tokens in the SQLite backend (migration 0006): one
 * row per sandbox holding the hash of its secret, never the secret. Issue, rotate and revoke are
 * each one transaction, so a rotated or revoked token fails its next lookup. */
#include "daemon/store/sqlite_internal.h"

#include <errno.h>
#include <string.h>

/* RETURNING cannot name the table, so a bare list for it and a qualified one for the join */
#define RET_COLS "sandbox_id, user_id, hint, created_at, coalesce(rotated_at, 0)"
#define TOKEN_COLS "t.sandbox_id, t.user_id, t.hint, t.created_at, coalesce(t.rotated_at, 0)"

static int read_token(sqlite3_stmt *q, struct store_token *ret)
{
    static const struct sqlite_text_col texts[] = {
#define T(c, f) SQLITE_TEXT_COL(c, struct store_token, f)
        T(0, sandbox_id), T(1, user_id), T(2, hint),
#undef T
    };
    struct store_token t = {
        .created_at = sqlite3_column_int64(q, 3),
        .rotated_at = sqlite3_column_int64(q, 4),
    };
    int r = sqlite_col_texts(q, &t, texts, sizeof(texts) / sizeof(texts[0]));
    if (r == 0)
        *ret = t;
    return r;
}

/* Runs q (prepared and bound) for at most one token row into *ret, then finalizes it. */
static int one_token(struct sqlite_store *s, sqlite3_stmt *q, struct store_token *ret)
{
    int r = sqlite_step_one(s, q);
    if (r == 0)
        r = read_token(q, ret);
    sqlite3_finalize(q);
    return r;
}

/* The sandbox must be the user's (-ENOENT) and not on its way out (-ESTALE). */
static int sandbox_open_for_token(struct sqlite_store *s, const char *user_id, const char *id)
{
    const char *p[] = { id, user_id };
    sqlite3_stmt *q;
    int r = sqlite_prepare_bound(s, "SELECT status IN ('destroying', 'destroyed', 'failed') "
                                 "FROM sandboxes WHERE id = ?1 AND user_id = ?2", p, 2, &q);
    if (r < 0)
        return r;
    r = sqlite_step_one(s, q);
    if (r == 0 && sqlite3_column_int(q, 0) != 0)
        r = -ESTALE;
    sqlite3_finalize(q);
    return r;
}

int sqlite_token_insert(struct store *st, const struct store_token *t,
                        const uint8_t hash[APIKEY_HASH_LEN])
{
    struct sqlite_store *s = to_sqlite(st);
    const char *p[] = { t->sandbox_id, t->user_id, t->hint };
    sqlite3_stmt *q = NULL;
    int r = sqlite_tx_begin(s, true);
    if (r == 0)
        r = sandbox_open_for_token(s, t->user_id, t->sandbox_id);
    if (r == 0)
        r = sqlite_prepare_bound(s, "INSERT INTO sandbox_tokens (sandbox_id, user_id, hint, hash, "
                                 "created_at) VALUES (?1, ?2, ?3, ?4, ?5)", p, 3, &q);
    if (r == 0) {
        int rc = sqlite3_bind_blob(q, 4, hash, APIKEY_HASH_LEN, SQLITE_STATIC) |
                 sqlite3_bind_int64(q, 5, t->created_at);
        r = rc == SQLITE_OK ? sqlite_step_done(s, q) : -ENOMEM;
        sqlite3_finalize(q);
    }
    return sqlite_tx_end(s, r);
}

int sqlite_token_rotate(struct store *st, const struct store_token *t,
                        const uint8_t hash[APIKEY_HASH_LEN], struct store_token *ret)
{
    struct sqlite_store *s = to_sqlite(st);
    const char *p[] = { t->sandbox_id, t->user_id, t->hint };
    sqlite3_stmt *q = NULL;
    int r = sqlite_tx_begin(s, true);
    if (r == 0)
        r = sqlite_prepare_bound(s, "UPDATE sandbox_tokens SET hint = ?3, hash = ?4, "
                                 "rotated_at = ?5 WHERE sandbox_id = ?1 AND user_id = ?2 "
                                 "RETURNING " RET_COLS, p, 3, &q);
    if (r == 0) {
        int rc = sqlite3_bind_blob(q, 4, hash, APIKEY_HASH_LEN, SQLITE_STATIC) |
                 sqlite3_bind_int64(q, 5, t->rotated_at);
        r = rc == SQLITE_OK ? one_token(s, q, ret) : -ENOMEM;
        if (rc != SQLITE_OK)
            sqlite3_finalize(q);
    }
    return sqlite_tx_end(s, r);
}

int sqlite_token_get(struct store *st, const char *user_id, const char *sandbox_id,
                     struct store_token *ret)
{
    struct sqlite_store *s = to_sqlite(st);
    const char *p[] = { sandbox_id, user_id };
    sqlite3_stmt *q;
    int r = sqlite_prepare_bound(s, "SELECT " TOKEN_COLS " FROM sandbox_tokens AS t "
                                 "WHERE t.sandbox_id = ?1 AND t.user_id = ?2", p, 2, &q);
    return r < 0 ? r : one_token(s, q, ret);
}

int sqlite_token_delete(struct store *st, const char *user_id, const char *sandbox_id,
                        struct store_token *ret)
{
    struct sqlite_store *s = to_sqlite(st);
    const char *p[] = { sandbox_id, user_id };
    sqlite3_stmt *q = NULL;
    int r = sqlite_tx_begin(s, true);
    if (r == 0)
        r = sqlite_prepare_bound(s, "DELETE FROM sandbox_tokens WHERE sandbox_id = ?1 AND "
                                 "user_id = ?2 RETURNING " RET_COLS, p, 2, &q);
    if (r == 0)
        r = one_token(s, q, ret);
    return sqlite_tx_end(s, r);
}

int sqlite_token_find(struct store *st, const uint8_t hash[APIKEY_HASH_LEN],
                      struct store_token *ret, uint8_t ret_hash[APIKEY_HASH_LEN])
{
    struct sqlite_store *s = to_sqlite(st);
    sqlite3_stmt *q;
    /* the trigger deleted the token of a destroyed sandbox already; the join keeps a row that
     * somehow survived from ever opening a dead sandbox */
    int r = sqlite_prepare(s, "SELECT " TOKEN_COLS ", t.hash FROM sandbox_tokens AS t "
                           "JOIN sandboxes AS b ON b.id = t.sandbox_id WHERE t.hash = ?1 AND "
                           "b.status NOT IN ('destroying', 'destroyed')", &q);
    if (r < 0)
        return r;
    if (sqlite3_bind_blob(q, 1, hash, APIKEY_HASH_LEN, SQLITE_STATIC) != SQLITE_OK) {
        sqlite3_finalize(q);
        return -ENOMEM;
    }
    r = sqlite_step_one(s, q);
    if (r == 0)
        r = read_token(q, ret);
    const void *h = r == 0 ? sqlite3_column_blob(q, 5) : NULL;
    if (r == 0 && (!h || sqlite3_column_bytes(q, 5) != APIKEY_HASH_LEN))
        r = -EUCLEAN;
    if (r == 0)
        memcpy(ret_hash, h, APIKEY_HASH_LEN);
    sqlite3_finalize(q);
    return r;
}
