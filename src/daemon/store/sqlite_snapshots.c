/* SPDX-License-Identifier: MIT */
/* sqlite_snapshots.c: the upload records of snapshots on S3 in the SQLite backend (migration
 * 0010, store.h "snapshots on S3"). A handful of rows per paused sandbox, written a few times
 * per upload: statements are prepared per call. */
#include "daemon/store/sqlite_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define SNAPOBJ_COLS                                                                             \
    "dir, manifest_key, host_id, bytes, uploaded_bytes, local_bytes, attempts, last_error, "    \
    "created_at, coalesce(durable_at, 0), upload_ms, local, last_used_at"

#define SNAPOBJ_COLS_PLAIN                                                                       \
    "dir, manifest_key, host_id, bytes, uploaded_bytes, local_bytes, attempts, last_error, "    \
    "created_at, durable_at, upload_ms, local, last_used_at"

static int read_snapobj(sqlite3_stmt *q, void *elem)
{
    static const struct sqlite_text_col texts[] = {
#define T(c, f) SQLITE_TEXT_COL(c, struct store_snapobj, f)
        T(0, dir), T(1, manifest_key), T(2, host_id), T(7, last_error),
#undef T
    };
    struct store_snapobj *o = elem;
    memset(o, 0, sizeof(*o));
    int r = sqlite_col_texts(q, o, texts, NELEM(texts));
    o->bytes = sqlite3_column_int64(q, 3);
    o->uploaded_bytes = sqlite3_column_int64(q, 4);
    o->local_bytes = sqlite3_column_int64(q, 5);
    o->attempts = sqlite3_column_int64(q, 6);
    o->created_at = sqlite3_column_int64(q, 8);
    o->durable_at = sqlite3_column_int64(q, 9);
    o->upload_ms = sqlite3_column_int64(q, 10);
    o->local = sqlite3_column_int(q, 11) != 0;
    o->last_used_at = sqlite3_column_int64(q, 12);
    return r;
}

int sqlite_snapobj_put(struct store *st, const struct store_snapobj *o)
{
    struct sqlite_store *s = to_sqlite(st);
    sqlite3_stmt *q;
    int r = sqlite_prepare(s,
                           "INSERT OR REPLACE INTO snapshot_objects (" SNAPOBJ_COLS_PLAIN ") VALUES "
                           "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                           &q);
    if (r < 0)
        return r;
    sqlite_bind_text(q, 1, o->dir);
    sqlite_bind_text(q, 2, o->manifest_key);
    sqlite_bind_text(q, 3, o->host_id);
    sqlite3_bind_int64(q, 4, o->bytes);
    sqlite3_bind_int64(q, 5, o->uploaded_bytes);
    sqlite3_bind_int64(q, 6, o->local_bytes);
    sqlite3_bind_int64(q, 7, o->attempts);
    sqlite_bind_text(q, 8, o->last_error);
    sqlite3_bind_int64(q, 9, o->created_at);
    sqlite_bind_i64_opt(q, 10, o->durable_at);
    sqlite3_bind_int64(q, 11, o->upload_ms);
    sqlite3_bind_int(q, 12, o->local ? 1 : 0);
    sqlite3_bind_int64(q, 13, o->last_used_at);
    return sqlite_finish(s, q);
}

int sqlite_snapobj_get(struct store *st, const char *dir, struct store_snapobj *ret)
{
    const char *p[] = { dir };
    return sqlite_select_one(to_sqlite(st),
                             "SELECT " SNAPOBJ_COLS " FROM snapshot_objects WHERE dir = ?1", p, 1,
                             read_snapobj, ret);
}

int sqlite_snapobj_list(struct store *st, bool pending_only, struct store_snapobj **ret,
                        size_t *ret_n)
{
    void *v = NULL;
    int r = sqlite_select_all(to_sqlite(st),
                              pending_only
                                  ? "SELECT " SNAPOBJ_COLS " FROM snapshot_objects WHERE "
                                    "durable_at IS NULL ORDER BY created_at, dir"
                                  : "SELECT " SNAPOBJ_COLS " FROM snapshot_objects "
                                    "ORDER BY created_at, dir",
                              NULL, 0, sizeof(struct store_snapobj), 16, read_snapobj, &v, ret_n);
    if (r < 0) {
        free(v);
        *ret_n = 0;
        return r;
    }
    *ret = v;
    return 0;
}

int sqlite_snapobj_delete(struct store *st, const char *dir)
{
    struct sqlite_store *s = to_sqlite(st);
    sqlite3_stmt *q;
    const char *p[] = { dir };
    int r = sqlite_prepare_bound(s, "DELETE FROM snapshot_objects WHERE dir = ?1", p, 1, &q);
    return r < 0 ? r : sqlite_finish(s, q);
}
