/* SPDX-License-Identifier: MIT */
/* pg_hosts.c: the host registry in the PostgreSQL backend (as sqlite_hosts.c): one row per host,
 * refreshed by the host's own reports; only the operator's drain flag is written by others. */
#include "daemon/store/pg_internal.h"

#include <errno.h>
#include <string.h>

#define HOST_COLS                                                                              \
    "id, region, labels, address, version, rootfses, mem_mib, free_mib, vcpus, "              \
    "committed_vcpus, vm_count, drain, started_at, heartbeat_at"

static int read_host(const PGresult *res, int row, void *elem)
{
    static const struct pg_text_col texts[] = {
#define T(c, f) PG_TEXT_COL(c, struct store_host, f)
        T(0, id), T(1, region), T(2, labels), T(3, address), T(4, version), T(5, rootfses),
#undef T
    };
    struct store_host h = {
        .mem_mib = pg_col_i64(res, row, 6),
        .free_mib = pg_col_i64(res, row, 7),
        .vcpus = pg_col_i64(res, row, 8),
        .committed_vcpus = pg_col_i64(res, row, 9),
        .vm_count = pg_col_i64(res, row, 10),
        .drain = pg_col_bool(res, row, 11),
        .started_at = pg_col_i64(res, row, 12),
        .heartbeat_at = pg_col_i64(res, row, 13),
    };
    int r = pg_col_texts(res, row, &h, texts, sizeof(texts) / sizeof(texts[0]));
    if (r == 0)
        *(struct store_host *)elem = h;
    return r;
}

int pg_host_report(struct store *st, const struct store_host *h)
{
    struct pg_store *s = to_pg(st);
    struct pg_params pp = { 0 };
    const char *p[] = { h->id, h->region, h->labels, h->address, h->version, h->rootfses };
    pg_params_texts(&pp, p, 6);
    pg_param_i64(&pp, h->mem_mib);
    pg_param_i64(&pp, h->free_mib);
    pg_param_i64(&pp, h->vcpus);
    pg_param_i64(&pp, h->committed_vcpus);
    pg_param_i64(&pp, h->vm_count);
    pg_param_i64(&pp, h->started_at);
    pg_param_i64(&pp, h->heartbeat_at);
    int r = pg_tx_begin(s, true);
    if (r == 0)
        r = pg_exec(s,
                    "INSERT INTO hosts (" HOST_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
                    "$9, $10, $11, 0, $12, $13) ON CONFLICT (id) DO UPDATE SET "
                    "region = excluded.region, labels = excluded.labels, "
                    "address = excluded.address, version = excluded.version, "
                    "rootfses = excluded.rootfses, mem_mib = excluded.mem_mib, "
                    "free_mib = excluded.free_mib, vcpus = excluded.vcpus, "
                    "committed_vcpus = excluded.committed_vcpus, vm_count = excluded.vm_count, "
                    "started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at",
                    &pp, NULL);
    return pg_tx_end(s, r);
}

int pg_host_list(struct store *st, struct store_host **ret, size_t *ret_n)
{
    return pg_select_all(to_pg(st), "SELECT " HOST_COLS " FROM hosts ORDER BY id COLLATE \"C\"",
                         NULL, sizeof(struct store_host), read_host, (void **)ret, ret_n);
}

int pg_host_get(struct store *st, const char *id, struct store_host *ret)
{
    struct pg_params pp = { 0 };
    pg_param_text(&pp, id);
    return pg_select_one(to_pg(st), "SELECT " HOST_COLS " FROM hosts WHERE id = $1", &pp,
                         read_host, ret);
}

int pg_host_set_drain(struct store *st, const char *id, bool drain)
{
    struct pg_store *s = to_pg(st);
    struct pg_params pp = { 0 };
    pg_param_text(&pp, id);
    pg_param_bool(&pp, drain);
    int r = pg_tx_begin(s, true);
    if (r == 0)
        r = pg_exec_change(s, "UPDATE hosts SET drain = $2 WHERE id = $1", &pp);
    return pg_tx_end(s, r);
}

int pg_host_delete(struct store *st, const char *id)
{
    struct pg_store *s = to_pg(st);
    struct pg_params pp = { 0 };
    pg_param_text(&pp, id);
    int64_t live = 0;
    int r = pg_tx_begin(s, true);
    if (r == 0)
        r = pg_select_ints(s,
                           "SELECT count(*) FROM sandboxes WHERE host_id = $1 AND status "
                           "NOT IN ('destroyed', 'failed')",
                           &pp, &live, 1);
    if (r == 0 && live > 0)
        r = -EBUSY;
    if (r == 0)
        r = pg_exec_change(s, "DELETE FROM hosts WHERE id = $1", &pp);
    return pg_tx_end(s, r);
}
