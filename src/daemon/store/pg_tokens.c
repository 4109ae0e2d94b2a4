/* SPDX-License-Identifier: MIT */
/* pg_tokens.c: delegated sandbox access tokens in the PostgreSQL backend (as sqlite_tokens.c):
 * one row per sandbox holding the hash of its secret, never the secret. Issue, rotate and revoke
 * are each one transaction, so a rotated or revoked token fails its next lookup. */
#include "daemon/store/pg_internal.h"

#include <errno.h>
#include <string.h>

#define RET_COLS "sandbox_id, user_id, hint, created_at, coalesce(rotated_at, 0)"
#define TOKEN_COLS "t.sandbox_id, t.user_id, t.hint, t.created_at, coalesce(t.rotated_at, 0)"

static int read_token(const PGresult *res, int row, void *elem)
{
    static const struct pg_text_col texts[] = {
#define T(c, f) PG_TEXT_COL(c, struct store_token, f)
        T(0, sandbox_id), T(1, user_id), T(2, hint),
#undef T
    };
    struct store_token t = {
        .created_at = pg_col_i64(res, row, 3),
        .rotated_at = pg_col_i64(res, row, 4),
    };
    int r = pg_col_texts(res, row, &t, texts, sizeof(texts) / sizeof(texts[0]));
    if (r == 0)
        *(struct store_token *)elem = t;
    return r;
}

/* The sandbox must be the user's (-ENOENT) and not on its way out (-ESTALE). */
static int sandbox_open_for_token(struct pg_store *s, const char *user_id, const char *id)
{
    struct pg_params pp = { 0 };
    const char *p[] = { id, user_id };
    pg_params_texts(&pp, p, 2);
    PGresult *res;
    int r = pg_exec(s, "SELECT status IN ('destroying', 'destroyed', 'failed') FROM sandboxes "
                       "WHERE id = $1 AND user_id = $2", &pp, &res);
    if (r < 0)
        return r;
    r = PQntuples(res) < 1 ? -ENOENT : pg_col_bool(res, 0, 0) ? -ESTALE : 0;
    PQclear(res);
    return r;
}

int pg_token_insert(struct store *st, const struct store_token *t,
                    const uint8_t hash[APIKEY_HASH_LEN])
{
    struct pg_store *s = to_pg(st);
    struct pg_params pp = { 0 };
    const char *p[] = { t->sandbox_id, t->user_id, t->hint };
    pg_params_texts(&pp, p, 3);
    pg_param_bytea(&pp, hash, APIKEY_HASH_LEN);
    pg_param_i64(&pp, t->created_at);
    int r = pg_tx_begin(s, true);
    if (r == 0)
        r = sandbox_open_for_token(s, t->user_id, t->sandbox_id);
    if (r == 0)
        r = pg_exec(s, "INSERT INTO sandbox_tokens (sandbox_id, user_id, hint, hash, created_at) "
                       "VALUES ($1, $2, $3, $4, $5)", &pp, NULL);
    return pg_tx_end(s, r);
}

int pg_token_rotate(struct store *st, const struct store_token *t,
                    const uint8_t hash[APIKEY_HASH_LEN], struct store_token *ret)
{
    struct pg_store *s = to_pg(st);
    struct pg_params pp = { 0 };
    const char *p[] = { t->sandbox_id, t->user_id, t->hint };
    pg_params_texts(&pp, p, 3);
    pg_param_bytea(&pp, hash, APIKEY_HASH_LEN);
    pg_param_i64(&pp, t->rotated_at);
    int r = pg_tx_begin(s, true);
    if (r == 0)
        r = pg_select_one(s, "UPDATE sandbox_tokens SET hint = $3, hash = $4, rotated_at = $5 "
                             "WHERE sandbox_id = $1 AND user_id = $2 RETURNING " RET_COLS,
                          &pp, read_token, ret);
    return pg_tx_end(s, r);
}

int pg_token_get(struct store *st, const char *user_id, const char *sandbox_id,
                 struct store_token *ret)
{
    struct pg_params pp = { 0 };
    const char *p[] = { sandbox_id, user_id };
    pg_params_texts(&pp, p, 2);
    return pg_select_one(to_pg(st), "SELECT " TOKEN_COLS " FROM sandbox_tokens AS t "
                                    "WHERE t.sandbox_id = $1 AND t.user_id = $2",
                         &pp, read_token, ret);
}

int pg_token_delete(struct store *st, const char *user_id, const char *sandbox_id,
                    struct store_token *ret)
{
    struct pg_store *s = to_pg(st);
    struct pg_params pp = { 0 };
    const char *p[] = { sandbox_id, user_id };
    pg_params_texts(&pp, p, 2);
    int r = pg_tx_begin(s, true);
    if (r == 0)
        r = pg_select_one(s, "DELETE FROM sandbox_tokens WHERE sandbox_id = $1 AND "
                             "user_id = $2 RETURNING " RET_COLS, &pp, read_token, ret);
    return pg_tx_end(s, r);
}

struct token_found {
    struct store_token t;
    uint8_t hash[APIKEY_HASH_LEN];
};

static int read_found(const PGresult *res, int row, void *elem)
{
    struct token_found *f = elem;
    size_t len = 0;
    int r = read_token(res, row, &f->t);
    if (r == 0)
        r = pg_col_bytea(res, row, 5, f->hash, sizeof(f->hash), &len);
    return r == 0 && len != APIKEY_HASH_LEN ? -EUCLEAN : r;
}

int pg_token_find(struct store *st, const uint8_t hash[APIKEY_HASH_LEN], struct store_token *ret,
                  uint8_t ret_hash[APIKEY_HASH_LEN])
{
    struct pg_params pp = { 0 };
    pg_param_bytea(&pp, hash, APIKEY_HASH_LEN);
    struct token_found f;
    /* the trigger deleted the token of a destroyed sandbox already; the join keeps a row that
     * somehow survived from ever opening a dead sandbox */
    int r = pg_select_one(to_pg(st), "SELECT " TOKEN_COLS ", t.hash FROM sandbox_tokens AS t "
                                     "JOIN sandboxes AS b ON b.id = t.sandbox_id WHERE "
                                     "t.hash = $1 AND b.status NOT IN ('destroying', "
                                     "'destroyed')", &pp, read_found, &f);
    if (r == 0) {
        *ret = f.t;
        memcpy(ret_hash, f.hash, APIKEY_HASH_LEN);
    }
    return r;
}
