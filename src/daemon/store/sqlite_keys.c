/* SPDX-License-Identifier: MIT */
/* sqlite_keys.c: users and API keys in the SQLite backend. A key row holds the hash of its
 * secret, never the secret; revocation is a timestamp, so a revoked key still lists. */
#include "daemon/store/sqlite_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Binds the (text id, int64 time) pair most of these statements take. */
static int bind_id_time(sqlite3_stmt *q, const char *id, int64_t ms)
{
    return sqlite_bind_text(q, 1, id) != SQLITE_OK || sqlite3_bind_int64(q, 2, ms) != SQLITE_OK
               ? -ENOMEM
               : 0;
}

static int user_ensure(struct sqlite_store *s, const char *user_id, int64_t now_ms)
{
    int r = 0;
    sqlite3_stmt *q = sqlite_stmt(s, S_USER_ENSURE, &r);
    if (!q)
        return r;
    r = bind_id_time(q, user_id, now_ms);
    return r < 0 ? r : sqlite_step_done(s, q);
}

int sqlite_user_ensure(struct store *st, const char *user_id, int64_t now_ms)
{
    struct sqlite_store *s = to_sqlite(st);
    int r = sqlite_tx_begin(s, true);
    if (r == 0)
        r = user_ensure(s, user_id, now_ms);
    return sqlite_tx_end(s, r);
}

int sqlite_key_insert(struct store *st, const struct store_key *key,
                      const uint8_t hash[APIKEY_HASH_LEN])
{
    struct sqlite_store *s = to_sqlite(st);
    int r = sqlite_tx_begin(s, true);
    if (r == 0)
        r = user_ensure(s, key->user_id, key->created_at);
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
        SQLITE_TEXT_COL(0, struct store_auth, key_id),
        SQLITE_TEXT_COL(1, struct store_auth, user_id),
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
        struct store_auth a = { .admin = sqlite3_column_int(q, 2) != 0 };
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
    struct sqlite_store *s = to_sqlite(st);
    int r = 0;
    sqlite3_stmt *q = sqlite_stmt(s, S_KEY_TOUCH, &r);
    if (!q)
        return r;
    if ((r = bind_id_time(q, key_id, now_ms)) < 0)
        return r;
    r = sqlite_step_done(s, q);
    if (r == 0 && sqlite3_changes(s->db) == 0)
        r = -ENOENT;
    return r;
}

int sqlite_key_list(struct store *st, const char *user_id, struct store_key **ret, size_t *ret_n)
{
    static const struct sqlite_text_col texts[] = {
        SQLITE_TEXT_COL(0, struct store_key, id),
        SQLITE_TEXT_COL(1, struct store_key, user_id),
        SQLITE_TEXT_COL(2, struct store_key, prefix),
        SQLITE_TEXT_COL(3, struct store_key, label),
    };
    struct sqlite_store *s = to_sqlite(st);
    sqlite3_stmt *q;
    int r = sqlite_prepare(s,
                           "SELECT id, user_id, prefix, label, admin, created_at, "
                           "last_used_at, revoked_at FROM api_keys "
                           "WHERE ?1 IS NULL OR user_id = ?1 "
                           "ORDER BY created_at DESC, id DESC",
                           &q);
    if (r < 0)
        return r;
    if (user_id && sqlite_bind_text(q, 1, user_id) != SQLITE_OK)
        r = -ENOMEM;
    struct store_key *v = NULL;
    size_t n = 0, cap = 0;
    while (r == 0 && (r = sqlite_step_row(s, q)) == 1) {
        r = 0;
        struct store_key *nv = sqlite_room_for_one(v, n, &cap, sizeof(*nv), 8);
        if (!nv) {
            r = -ENOMEM;
            break;
        }
        v = nv;
        struct store_key *k = &v[n];
        *k = (struct store_key){
            .admin = sqlite3_column_int(q, 4) != 0,
            .created_at = sqlite3_column_int64(q, 5),
            .last_used_at = sqlite3_column_int64(q, 6),
            .revoked_at = sqlite3_column_int64(q, 7),
        };
        if ((r = sqlite_col_texts(q, k, texts, sizeof(texts) / sizeof(texts[0]))) < 0)
            break;
        n++;
    }
    sqlite3_finalize(q);
    if (r < 0) {
        free(v);
        return r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

int sqlite_key_revoke(struct store *st, const char *key_id, int64_t now_ms)
{
    struct sqlite_store *s = to_sqlite(st);
    int r = sqlite_tx_begin(s, true);
    sqlite3_stmt *q = r == 0 ? sqlite_stmt(s, S_KEY_REVOKE, &r) : NULL;
    if (q && (r = bind_id_time(q, key_id, now_ms)) == 0)
        r = sqlite_step_done(s, q);
    if (r == 0 && sqlite3_changes(s->db) == 0) {
        q = sqlite_stmt(s, S_KEY_STATE, &r);
        if (q) {
            r = sqlite_bind_text(q, 1, key_id) == SQLITE_OK ? sqlite_step_one(s, q) : -ENOMEM;
            r = r == 0 ? -EALREADY : r;
            (void)sqlite3_reset(q);
        }
    }
    return sqlite_tx_end(s, r);
}
