/* SPDX-License-Identifier: MIT */
/* sqlite_keys.c: users and API keys in the SQLite backend. A key row holds the hash of its
 * secret, never the secret; revocation is a timestamp, so a revoked key still lists. */
#include "daemon/store/sqlite_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Runs cached statement sid with ?1 the text id and ?2 the time ms; when must_hit, -ENOENT if
 * it changed no row. */
static int run_id_time(struct sqlite_store *s, enum sqlite_stmt_id sid, const char *id, int64_t ms,
                       bool must_hit)
{
    int r = 0;
    sqlite3_stmt *q = sqlite_stmt_texts(s, sid, &id, 1, &r);
    if (!q)
        return r;
    if (sqlite3_bind_int64(q, 2, ms) != SQLITE_OK)
        return -ENOMEM;
    return must_hit ? sqlite_step_change(s, q) : sqlite_step_done(s, q);
}

int sqlite_user_ensure(struct store *st, const char *user_id, int64_t now_ms)
{
    struct sqlite_store *s = to_sqlite(st);
    int r = sqlite_tx_begin(s, true);
    if (r == 0)
        r = run_id_time(s, S_USER_ENSURE, user_id, now_ms, false);
    return sqlite_tx_end(s, r);
}

int sqlite_key_insert(struct store *st, const struct store_key *key,
                      const uint8_t hash[APIKEY_HASH_LEN])
{
    struct sqlite_store *s = to_sqlite(st);
    int r = sqlite_tx_begin(s, true);
    if (r == 0)
        r = run_id_time(s, S_USER_ENSURE, key->user_id, key->created_at, false);
    sqlite3_stmt *q = r == 0 ? sqlite_stmt(s, S_KEY_INSERT, &r) : NULL;
    if (q) {
        int rc = sqlite_bind_text(q, 1, key->id) | sqlite_bind_text(q, 2, key->user_id) |
                 sqlite3_bind_blob(q, 3, hash, APIKEY_HASH_LEN, SQLITE_STATIC) |
                 sqlite_bind_text(q, 4, key->prefix) | sqlite_bind_text(q, 5, key->label) |
                 sqlite3_bind_int(q, 6, key->admin) | sqlite3_bind_int64(q, 7, key->created_at);
        r = rc == SQLITE_OK ? sqlite_step_done(s, q) : -ENOMEM;
    }
    return sqlite_tx_end(s, r);
}

int sqlite_key_find(struct store *st, const uint8_t hash[APIKEY_HASH_LEN],
                    struct store_auth *ret, uint8_t ret_hash[APIKEY_HASH_LEN],
                    int64_t *ret_revoked_at)
{
    static const struct sqlite_text_col texts[] = {
#define T(c, f) SQLITE_TEXT_COL(c, struct store_auth, f)
        T(0, key_id), T(1, user_id),
#undef T
    };
    struct sqlite_store *s = to_sqlite(st);
    int r = 0;
    sqlite3_stmt *q = sqlite_stmt(s, S_KEY_FIND, &r);
    if (!q)
        return r;
    if (sqlite3_bind_blob(q, 1, hash, APIKEY_HASH_LEN, SQLITE_STATIC) != SQLITE_OK)
        return -ENOMEM;
    r = sqlite_step_one(s, q);
    if (r == 0) {
        struct store_auth a = { .admin = sqlite3_column_int(q, 2) != 0,
                                .last_used_at = sqlite3_column_int64(q, 5) };
        r = sqlite_col_texts(q, &a, texts, sizeof(texts) / sizeof(texts[0]));
        const void *h = sqlite3_column_blob(q, 3);
        if (r == 0 && (!h || sqlite3_column_bytes(q, 3) != APIKEY_HASH_LEN))
            r = -EUCLEAN;
        if (r == 0) {
            memcpy(ret_hash, h, APIKEY_HASH_LEN);
            *ret_revoked_at = sqlite3_column_int64(q, 4);
            *ret = a;
        }
    }
    (void)sqlite3_reset(q);
    return r;
}

int sqlite_key_touch(struct store *st, const char *key_id, int64_t now_ms)
{
    return run_id_time(to_sqlite(st), S_KEY_TOUCH, key_id, now_ms, true);
}

static int read_key(sqlite3_stmt *q, void *elem)
{
    static const struct sqlite_text_col texts[] = {
#define T(c, f) SQLITE_TEXT_COL(c, struct store_key, f)
        T(0, id), T(1, user_id), T(2, prefix), T(3, label),
#undef T
    };
    struct store_key *k = elem;
    *k = (struct store_key){
        .admin = sqlite3_column_int(q, 4) != 0,
        .created_at = sqlite3_column_int64(q, 5),
        .last_used_at = sqlite3_column_int64(q, 6),
        .revoked_at = sqlite3_column_int64(q, 7),
    };
    return sqlite_col_texts(q, k, texts, sizeof(texts) / sizeof(texts[0]));
}

int sqlite_key_list(struct store *st, const char *user_id, struct store_key **ret, size_t *ret_n)
{
    void *v;
    int r = sqlite_select_all(to_sqlite(st),
                              "SELECT id, user_id, prefix, label, admin, created_at, "
                              "last_used_at, revoked_at FROM api_keys "
                              "WHERE ?1 IS NULL OR user_id = ?1 "
                              "ORDER BY created_at DESC, id DESC",
                              &user_id, 1, sizeof(struct store_key), 8, read_key, &v, ret_n);
    if (r == 0)
        *ret = v;
    return r;
}

int sqlite_key_page(struct store *st, const char *user_id, size_t limit, size_t offset,
                    struct store_key **ret, size_t *ret_n, uint64_t *ret_total)
{
    void *v = NULL;
    int r = sqlite_select_page(to_sqlite(st),
                               "SELECT count(*) FROM api_keys WHERE revoked_at IS NULL AND "
                               "(?1 IS NULL OR user_id = ?1)",
                               "SELECT id, user_id, prefix, label, admin, created_at, "
                               "last_used_at, revoked_at FROM api_keys "
                               "WHERE revoked_at IS NULL AND (?1 IS NULL OR user_id = ?1) "
                               "ORDER BY created_at DESC, id DESC LIMIT ?2 OFFSET ?3",
                               &user_id, 1, limit, offset, sizeof(struct store_key), read_key,
                               &v, ret_n, ret_total);
    if (r == 0)
        *ret = v;
    return r;
}

/* In the open transaction: -EPERM when key_id is an active admin key and no other is. */
static int check_not_last_admin(struct sqlite_store *s, const char *key_id)
{
    int64_t alone = 0;
    int r = sqlite_select_ints(s,
                               "SELECT count(*) = 1 FROM api_keys WHERE admin = 1 AND "
                               "revoked_at IS NULL AND EXISTS (SELECT 1 FROM api_keys "
                               "WHERE id = ?1 AND admin = 1 AND revoked_at IS NULL)",
                               &key_id, 1, &alone, 1);
    return r < 0 ? r : alone ? -EPERM : 0;
}

int sqlite_key_revoke(struct store *st, const char *key_id, bool keep_admin, int64_t now_ms)
{
    struct sqlite_store *s = to_sqlite(st);
    int r = sqlite_tx_begin(s, true);
    if (r == 0 && keep_admin)
        r = check_not_last_admin(s, key_id);
    if (r == 0)
        r = run_id_time(s, S_KEY_REVOKE, key_id, now_ms, true);
    if (r == -ENOENT) { /* no live key by that id: revoked already, or none */
        sqlite3_stmt *q = sqlite_stmt_texts(s, S_KEY_STATE, &key_id, 1, &r);
        if (q) {
            r = sqlite_step_one(s, q);
            r = r == 0 ? -EALREADY : r;
            (void)sqlite3_reset(q);
        }
    }
    return sqlite_tx_end(s, r);
}
