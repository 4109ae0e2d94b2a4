/* SPDX-License-Identifier: MIT */
/* sqlite_hosts.c: the host registry in the SQLite backend (migration 0011): one row per host,
 * refreshed by the host's own reports; only the operator's drain flag is written by others. */
#include "daemon/store/sqlite_internal.h"

#include <errno.h>
#include <string.h>

#define HOST_COLS                                                                              \
    "id, region, labels, address, version, rootfses, mem_mib, free_mib, vcpus, "              \
    "committed_vcpus, vm_count, drain, started_at, heartbeat_at"

static int read_host(sqlite3_stmt *q, void *elem)
{
    static const struct sqlite_text_col texts[] = {
#define T(c, f) SQLITE_TEXT_COL(c, struct store_host, f)
        T(0, id), T(1, region), T(2, labels), T(3, address), T(4, version), T(5, rootfses),
#undef T
    };
    struct store_host h = {
        .mem_mib = sqlite3_column_int64(q, 6),
        .free_mib = sqlite3_column_int64(q, 7),
        .vcpus = sqlite3_column_int64(q, 8),
        .committed_vcpus = sqlite3_column_int64(q, 9),
        .vm_count = sqlite3_column_int64(q, 10),
        .drain = sqlite3_column_int(q, 11) != 0,
        .started_at = sqlite3_column_int64(q, 12),
        .heartbeat_at = sqlite3_column_int64(q, 13),
    };
    int r = sqlite_col_texts(q, &h, texts, sizeof(texts) / sizeof(texts[0]));
    if (r == 0)
        *(struct store_host *)elem = h;
    return r;
}

int sqlite_host_report(struct store *st, const struct store_host *h)
{
    struct sqlite_store *s = to_sqlite(st);
    const char *p[] = { h->id, h->region, h->labels, h->address, h->version, h->rootfses };
    sqlite3_stmt *q;
    int r = sqlite_prepare_bound(
        s,
        "INSERT INTO hosts (" HOST_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
        "0, ?12, ?13) ON CONFLICT (id) DO UPDATE SET region = excluded.region, "
        "labels = excluded.labels, address = excluded.address, version = excluded.version, "
        "rootfses = excluded.rootfses, mem_mib = excluded.mem_mib, "
        "free_mib = excluded.free_mib, vcpus = excluded.vcpus, "
        "committed_vcpus = excluded.committed_vcpus, vm_count = excluded.vm_count, "
        "started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at",
        p, 6, &q);
    if (r < 0)
        return r;
    int rc = sqlite3_bind_int64(q, 7, h->mem_mib) | sqlite3_bind_int64(q, 8, h->free_mib) |
             sqlite3_bind_int64(q, 9, h->vcpus) | sqlite3_bind_int64(q, 10, h->committed_vcpus) |
             sqlite3_bind_int64(q, 11, h->vm_count) | sqlite3_bind_int64(q, 12, h->started_at) |
             sqlite3_bind_int64(q, 13, h->heartbeat_at);
    if (rc != SQLITE_OK) {
        sqlite3_finalize(q);
        return -ENOMEM;
    }
    return sqlite_finish(s, q);
}

int sqlite_host_list(struct store *st, struct store_host **ret, size_t *ret_n)
{
    return sqlite_select_all(to_sqlite(st), "SELECT " HOST_COLS " FROM hosts ORDER BY id", NULL,
                             0, sizeof(struct store_host), 4, read_host, (void **)ret, ret_n);
}

int sqlite_host_get(struct store *st, const char *id, struct store_host *ret)
{
    const char *p[] = { id };
    return sqlite_select_one(to_sqlite(st), "SELECT " HOST_COLS " FROM hosts WHERE id = ?1", p,
                             1, read_host, ret);
}

int sqlite_host_set_drain(struct store *st, const char *id, bool drain)
{
    struct sqlite_store *s = to_sqlite(st);
    const char *p[] = { id, drain ? "1" : "0" };
    sqlite3_stmt *q;
    int r = sqlite_prepare_bound(s, "UPDATE hosts SET drain = CAST(?2 AS INTEGER) WHERE id = ?1",
                                 p, 2, &q);
    if (r < 0)
        return r;
    r = sqlite_step_change(s, q);
    sqlite3_finalize(q);
    return r;
}

int sqlite_host_delete(struct store *st, const char *id)
{
    struct sqlite_store *s = to_sqlite(st);
    const char *p[] = { id };
    int64_t live = 0;
    int r = sqlite_tx_begin(s, true);
    if (r == 0)
        r = sqlite_select_ints(s,
                               "SELECT count(*) FROM sandboxes WHERE host_id = ?1 AND status "
                               "NOT IN ('destroyed', 'failed')",
                               p, 1, &live, 1);
    if (r == 0 && live > 0)
        r = -EBUSY;
    sqlite3_stmt *q = NULL;
    if (r == 0)
        r = sqlite_prepare_bound(s, "DELETE FROM hosts WHERE id = ?1", p, 1, &q);
    if (r == 0) {
        r = sqlite_step_change(s, q);
        sqlite3_finalize(q);
    }
    return sqlite_tx_end(s, r);
}
