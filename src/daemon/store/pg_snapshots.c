/* SPDX-License-Identifier: MIT */
/* pg_snapshots.c: the upload records of snapshots on S3 in the PostgreSQL backend (as
 * sqlite_snapshots.c; migration 0010). One row per snapshot directory; an upsert replaces the
 * whole record. */
#include "daemon/store/pg_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SNAPOBJ_COLS                                                                             \
    "dir, manifest_key, host_id, bytes, uploaded_bytes, local_bytes, attempts, last_error, "    \
    "created_at, coalesce(durable_at, 0), upload_ms, local, last_used_at"

static int read_snapobj(const PGresult *res, int row, void *elem)
{
    static const struct pg_text_col texts[] = {
#define T(c, f) PG_TEXT_COL(c, struct store_snapobj, f)
        T(0, dir), T(1, manifest_key), T(2, host_id), T(7, last_error),
#undef T
    };
    struct store_snapobj *o = elem;
    memset(o, 0, sizeof(*o));
    int r = pg_col_texts(res, row, o, texts, sizeof(texts) / sizeof(texts[0]));
    o->bytes = pg_col_i64(res, row, 3);
    o->uploaded_bytes = pg_col_i64(res, row, 4);
    o->local_bytes = pg_col_i64(res, row, 5);
    o->attempts = pg_col_i64(res, row, 6);
    o->created_at = pg_col_i64(res, row, 8);
    o->durable_at = pg_col_i64(res, row, 9);
    o->upload_ms = pg_col_i64(res, row, 10);
    o->local = pg_col_bool(res, row, 11);
    o->last_used_at = pg_col_i64(res, row, 12);
    return r;
}

int pg_snapobj_put(struct store *st, const struct store_snapobj *o)
{
    struct pg_params pp = { 0 };
    const char *p[] = { o->dir, o->manifest_key, o->host_id };
    pg_params_texts(&pp, p, 3);
    pg_param_i64(&pp, o->bytes);
    pg_param_i64(&pp, o->uploaded_bytes);
    pg_param_i64(&pp, o->local_bytes);
    pg_param_i64(&pp, o->attempts);
    pg_param_text(&pp, o->last_error);
    pg_param_i64(&pp, o->created_at);
    pg_param_i64_opt(&pp, o->durable_at);
    pg_param_i64(&pp, o->upload_ms);
    pg_param_bool(&pp, o->local);
    pg_param_i64(&pp, o->last_used_at);
    return pg_exec(to_pg(st),
                   "INSERT INTO snapshot_objects (dir, manifest_key, host_id, bytes, "
                   "uploaded_bytes, local_bytes, attempts, last_error, created_at, durable_at, "
                   "upload_ms, local, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, "
                   "$10, $11, $12, $13) ON CONFLICT (dir) DO UPDATE SET "
                   "manifest_key = $2, host_id = $3, bytes = $4, uploaded_bytes = $5, "
                   "local_bytes = $6, attempts = $7, last_error = $8, created_at = $9, "
                   "durable_at = $10, upload_ms = $11, local = $12, last_used_at = $13",
                   &pp, NULL);
}

int pg_snapobj_get(struct store *st, const char *dir, struct store_snapobj *ret)
{
    struct pg_params pp = { 0 };
    pg_param_text(&pp, dir);
    return pg_select_one(to_pg(st), "SELECT " SNAPOBJ_COLS " FROM snapshot_objects WHERE dir = $1",
                         &pp, read_snapobj, ret);
}

int pg_snapobj_list(struct store *st, bool pending_only, struct store_snapobj **ret,
                    size_t *ret_n)
{
    void *v = NULL;
    int r = pg_select_all(to_pg(st),
                          pending_only ? "SELECT " SNAPOBJ_COLS " FROM snapshot_objects WHERE "
                                         "durable_at IS NULL ORDER BY created_at, dir"
                                       : "SELECT " SNAPOBJ_COLS " FROM snapshot_objects "
                                         "ORDER BY created_at, dir",
                          NULL, sizeof(struct store_snapobj), read_snapobj, &v, ret_n);
    if (r < 0) {
        *ret_n = 0;
        return r;
    }
    *ret = v;
    return 0;
}

int pg_snapobj_delete(struct store *st, const char *dir)
{
    struct pg_params pp = { 0 };
    pg_param_text(&pp, dir);
    return pg_exec(to_pg(st), "DELETE FROM snapshot_objects WHERE dir = $1", &pp, NULL);
}
