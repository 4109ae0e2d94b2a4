/* SPDX-License-Identifier: MIT */
/* pg_keys.c: users and API keys in the PostgreSQL backend (as sqlite_keys.c). A key row holds
 * the hash of its secret, never the secret; revocation is a timestamp, so a revoked key still
 * lists. */
#include "daemon/store/pg_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define KEY_COLS "id, user_id, prefix, label, admin, created_at, last_used_at, revoked_at"

static int ensure_user(struct pg_store *s, const char *user_id, int64_t now_ms)
{
    struct pg_params pp = { 0 };
    pg_param_text(&pp, user_id);
    pg_param_i64(&pp, now_ms);
    return pg_exec(s, "INSERT INTO users (id, created_at) VALUES ($1, $2) "
                      "ON CONFLICT (id) DO NOTHING", &pp, NULL);
}

int pg_user_ensure(struct store *st, const char *user_id, int64_t now_ms)
{
    struct pg_store *s = to_pg(st);
    int r = pg_tx_begin(s, true);
    if (r == 0)
        r = ensure_user(s, user_id, now_ms);
    return pg_tx_end(s, r);
}

int pg_key_insert(struct store *st, const struct store_key *key,
                  const uint8_t hash[APIKEY_HASH_LEN])
{
    struct pg_store *s = to_pg(st);
    int r = pg_tx_begin(s, true);
    if (r == 0)
        r = ensure_user(s, key->user_id, key->created_at);
    if (r == 0) {
        struct pg_params pp = { 0 };
        pg_param_text(&pp, key->id);
        pg_param_text(&pp, key->user_id);
        pg_param_bytea(&pp, hash, APIKEY_HASH_LEN);
        pg_param_text(&pp, key->prefix);
        pg_param_text(&pp, key->label);
        pg_param_bool(&pp, key->admin);
        pg_param_i64(&pp, key->created_at);
        r = pg_exec(s, "INSERT INTO api_keys (id, user_id, hash, prefix, label, admin, "
                       "created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)", &pp, NULL);
    }
    return pg_tx_end(s, r);
}

struct key_found {
    struct store_auth a;
    uint8_t hash[APIKEY_HASH_LEN];
    int64_t revoked_at;
};

static int read_found(const PGresult *res, int row, void *elem)
{
    static const struct pg_text_col texts[] = {
#define T(c, f) PG_TEXT_COL(c, struct store_auth, f)
        T(0, key_id), T(1, user_id),
#undef T
    };
    struct key_found *k = elem;
    memset(k, 0, sizeof(*k));
    k->a.admin = pg_col_bool(res, row, 2);
    size_t len = 0;
    int r = pg_col_texts(res, row, &k->a, texts, NELEM(texts));
    if (r == 0)
        r = pg_col_bytea(res, row, 3, k->hash, sizeof(k->hash), &len);
    if (r == 0 && len != APIKEY_HASH_LEN)
        r = -EUCLEAN;
    k->revoked_at = pg_col_i64(res, row, 4);
    return r;
}

int pg_key_find(struct store *st, const uint8_t hash[APIKEY_HASH_LEN], struct store_auth *ret,
                uint8_t ret_hash[APIKEY_HASH_LEN], int64_t *ret_revoked_at)
{
    struct pg_params pp = { 0 };
    pg_param_bytea(&pp, hash, APIKEY_HASH_LEN);
    struct key_found k;
    int r = pg_select_one(to_pg(st), "SELECT id, user_id, admin, hash, revoked_at FROM api_keys "
                                     "WHERE hash = $1", &pp, read_found, &k);
    if (r == 0) {
        *ret = k.a;
        memcpy(ret_hash, k.hash, APIKEY_HASH_LEN);
        *ret_revoked_at = k.revoked_at;
    }
    return r;
}

int pg_key_touch(struct store *st, const char *key_id, int64_t now_ms)
{
    /* one statement on the hot path of every request: atomic alone, so no write lock */
    struct pg_params pp = { 0 };
    pg_param_text(&pp, key_id);
    pg_param_i64(&pp, now_ms);
    return pg_exec_change(to_pg(st), "UPDATE api_keys SET last_used_at = $2 WHERE id = $1", &pp);
}

static int read_key(const PGresult *res, int row, void *elem)
{
    static const struct pg_text_col texts[] = {
#define T(c, f) PG_TEXT_COL(c, struct store_key, f)
        T(0, id), T(1, user_id), T(2, prefix), T(3, label),
#undef T
    };
    struct store_key *k = elem;
    *k = (struct store_key){
        .admin = pg_col_bool(res, row, 4),
        .created_at = pg_col_i64(res, row, 5),
        .last_used_at = pg_col_i64(res, row, 6),
        .revoked_at = pg_col_i64(res, row, 7),
    };
    return pg_col_texts(res, row, k, texts, NELEM(texts));
}

int pg_key_list(struct store *st, const char *user_id, struct store_key **ret, size_t *ret_n)
{
    struct pg_params pp = { 0 };
    pg_param_text(&pp, user_id);
    void *v;
    int r = pg_select_all(to_pg(st),
                          "SELECT " KEY_COLS " FROM api_keys WHERE $1::text IS NULL OR "
                          "user_id = $1 ORDER BY created_at DESC, id DESC",
                          &pp, sizeof(struct store_key), read_key, &v, ret_n);
    if (r == 0)
        *ret = v;
    return r;
}

int pg_key_page(struct store *st, const char *user_id, size_t limit, size_t offset,
                struct store_key **ret, size_t *ret_n, uint64_t *ret_total)
{
    struct pg_params pp = { 0 };
    pg_param_text(&pp, user_id);
    void *v = NULL;
    int r = pg_select_page(to_pg(st),
                           "SELECT count(*) FROM api_keys WHERE revoked_at IS NULL AND "
                           "($1::text IS NULL OR user_id = $1)",
                           "SELECT " KEY_COLS " FROM api_keys WHERE revoked_at IS NULL AND "
                           "($1::text IS NULL OR user_id = $1) "
                           "ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
                           &pp, limit, offset, sizeof(struct store_key), read_key, &v, ret_n,
                           ret_total);
    if (r == 0)
        *ret = v;
    return r;
}

/* In the open transaction: -EPERM when key_id is an active admin key and no other is. */
static int check_not_last_admin(struct pg_store *s, const char *key_id)
{
    struct pg_params pp = { 0 };
    pg_param_text(&pp, key_id);
    int64_t alone = 0;
    int r = pg_select_ints(s,
                           "SELECT (count(*) = 1 AND EXISTS (SELECT 1 FROM api_keys WHERE "
                           "id = $1 AND admin = 1 AND revoked_at IS NULL))::int FROM api_keys "
                           "WHERE admin = 1 AND revoked_at IS NULL",
                           &pp, &alone, 1);
    return r < 0 ? r : alone ? -EPERM : 0;
}

int pg_key_revoke(struct store *st, const char *key_id, bool keep_admin, int64_t now_ms)
{
    struct pg_store *s = to_pg(st);
    struct pg_params pp = { 0 };
    pg_param_text(&pp, key_id);
    pg_param_i64(&pp, now_ms);
    int r = pg_tx_begin(s, true);
    if (r == 0 && keep_admin)
        r = check_not_last_admin(s, key_id);
    if (r == 0)
        r = pg_exec_change(s, "UPDATE api_keys SET revoked_at = $2 WHERE id = $1 AND "
                              "revoked_at IS NULL", &pp);
    if (r == -ENOENT) { /* no live key by that id: revoked already, or none */
        int64_t n = 0;
        pp.n = 1;
        r = pg_select_ints(s, "SELECT count(*) FROM api_keys WHERE id = $1", &pp, &n, 1);
        if (r == 0)
            r = n ? -EALREADY : -ENOENT;
    }
    return pg_tx_end(s, r);
}
