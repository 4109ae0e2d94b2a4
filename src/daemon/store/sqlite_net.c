/* SPDX-License-Identifier: MIT */
/* sqlite_net.c: private networks and their members in the SQLite backend (migration 0003).
 * These calls are rare next to sandbox reads, so statements are prepared per call. */
#include "daemon/store/sqlite_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NET_COLS                                                                                 \
    "n.id, n.user_id, n.name, n.subnet, n.created_at, coalesce(n.deleted_at, 0), "              \
    "(SELECT count(*) FROM network_members m WHERE m.network_id = n.id)"

#define MEMBER_COLS                                                                              \
    "m.network_id, n.name, n.subnet, m.sandbox_id, s.name, s.hostname, s.status, m.ip, "        \
    "m.joined_at"

/* Runs q to completion, finalises it, returns 0 or -errno. */
static int done(struct store *st, sqlite3_stmt *q)
{
    int rc = sqlite3_step(q);
    int r = rc == SQLITE_DONE ? 0 : sqlite_fail(st, rc);
    sqlite3_finalize(q);
    return r;
}

static int read_network(sqlite3_stmt *q, struct store_network *n)
{
    memset(n, 0, sizeof(*n));
    int r = sqlite_col_text(q, 0, n->id, sizeof(n->id));
    if (r == 0)
        r = sqlite_col_text(q, 1, n->user_id, sizeof(n->user_id));
    if (r == 0)
        r = sqlite_col_text(q, 2, n->name, sizeof(n->name));
    if (r == 0)
        r = sqlite_col_text(q, 3, n->subnet, sizeof(n->subnet));
    n->created_at = sqlite3_column_int64(q, 4);
    n->deleted_at = sqlite3_column_int64(q, 5);
    n->member_count = (uint64_t)sqlite3_column_int64(q, 6);
    return r;
}

int sqlite_network_insert(struct store *st, const struct store_network *n)
{
    int r = sqlite_tx_begin(st, true);
    if (r < 0)
        return r;
    sqlite3_stmt *q;
    /* which unique index a collision hit decides the errno, so look first */
    r = sqlite_prepare(st, "SELECT (SELECT count(*) FROM networks WHERE user_id = ?1 AND "
                           "name = ?2 AND deleted_at IS NULL), (SELECT count(*) FROM networks "
                           "WHERE subnet = ?3 AND deleted_at IS NULL)", &q);
    if (r == 0) {
        sqlite3_bind_text(q, 1, n->user_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, n->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, n->subnet, -1, SQLITE_STATIC);
        int rc = sqlite3_step(q);
        if (rc != SQLITE_ROW)
            r = sqlite_fail(st, rc);
        else if (sqlite3_column_int64(q, 0) > 0)
            r = -EEXIST;
        else if (sqlite3_column_int64(q, 1) > 0)
            r = -EADDRINUSE;
        sqlite3_finalize(q);
    }
    if (r == 0)
        r = sqlite_prepare(st, "INSERT INTO networks (id, user_id, name, subnet, created_at) "
                               "VALUES (?1, ?2, ?3, ?4, ?5)", &q);
    if (r == 0) {
        sqlite3_bind_text(q, 1, n->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, n->user_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, n->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 4, n->subnet, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 5, n->created_at);
        r = done(st, q);
    }
    return sqlite_tx_end(st, r);
}

int sqlite_network_get(struct store *st, const char *user_id, const char *ref,
                       struct store_network *ret)
{
    sqlite3_stmt *q;
    int r = sqlite_prepare(st, "SELECT " NET_COLS " FROM networks n WHERE n.user_id = ?1 AND "
                               "(n.id = ?2 OR (n.name = ?2 AND n.deleted_at IS NULL)) "
                               "ORDER BY n.id = ?2 DESC LIMIT 1", &q);
    if (r < 0)
        return r;
    sqlite3_bind_text(q, 1, user_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, ref, -1, SQLITE_STATIC);
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        r = read_network(q, ret);
    else
        r = rc == SQLITE_DONE ? -ENOENT : sqlite_fail(st, rc);
    sqlite3_finalize(q);
    return r;
}

int sqlite_network_list(struct store *st, const char *user_id, size_t limit, size_t offset,
                        struct store_network **ret, size_t *ret_n, uint64_t *ret_total)
{
    int r = sqlite_tx_begin(st, false);
    if (r < 0)
        return r;
    sqlite3_stmt *q;
    uint64_t total = 0;
    struct store_network *v = NULL;
    size_t n = 0;
    r = sqlite_prepare(st, "SELECT count(*) FROM networks WHERE user_id = ?1 AND "
                           "deleted_at IS NULL", &q);
    if (r == 0) {
        sqlite3_bind_text(q, 1, user_id, -1, SQLITE_STATIC);
        int rc = sqlite3_step(q);
        if (rc == SQLITE_ROW)
            total = (uint64_t)sqlite3_column_int64(q, 0);
        else
            r = sqlite_fail(st, rc);
        sqlite3_finalize(q);
    }
    if (r == 0 && limit > 0)
        r = sqlite_prepare(st, "SELECT " NET_COLS " FROM networks n WHERE n.user_id = ?1 AND "
                               "n.deleted_at IS NULL ORDER BY n.created_at DESC, n.id DESC "
                               "LIMIT ?2 OFFSET ?3", &q);
    if (r == 0 && limit > 0) {
        sqlite3_bind_text(q, 1, user_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, (int64_t)limit);
        sqlite3_bind_int64(q, 3, (int64_t)offset);
        v = calloc(limit < 1000 ? limit : 1000, sizeof(*v));
        if (!v)
            r = -ENOMEM;
        int rc;
        while (r == 0 && n < limit && n < 1000 && (rc = sqlite3_step(q)) == SQLITE_ROW)
            r = read_network(q, &v[n++]);
        if (r == 0 && n < limit && n < 1000 && rc != SQLITE_DONE)
            r = sqlite_fail(st, rc);
        sqlite3_finalize(q);
    }
    r = sqlite_tx_end(st, r);
    if (r < 0) {
        free(v);
        return r;
    }
    *ret = v;
    *ret_n = n;
    *ret_total = total;
    return 0;
}

int sqlite_network_delete(struct store *st, const char *user_id, const char *id, int64_t now_ms,
                          uint64_t *ret_members)
{
    int r = sqlite_tx_begin(st, true);
    if (r < 0)
        return r;
    sqlite3_stmt *q;
    r = sqlite_prepare(st, "SELECT " NET_COLS " FROM networks n WHERE n.id = ?1 AND "
                           "n.user_id = ?2", &q);
    struct store_network n;
    if (r == 0) {
        sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, user_id, -1, SQLITE_STATIC);
        int rc = sqlite3_step(q);
        if (rc == SQLITE_ROW)
            r = read_network(q, &n);
        else
            r = rc == SQLITE_DONE ? -ENOENT : sqlite_fail(st, rc);
        sqlite3_finalize(q);
    }
    if (r == 0 && n.deleted_at)
        r = -EALREADY;
    if (r == 0 && n.member_count) {
        *ret_members = n.member_count;
        r = -EBUSY;
    }
    if (r == 0)
        r = sqlite_prepare(st, "UPDATE networks SET deleted_at = ?2 WHERE id = ?1", &q);
    if (r == 0) {
        sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 2, now_ms);
        r = done(st, q);
    }
    return sqlite_tx_end(st, r);
}

static int strv_push(struct store_strv *v, size_t *cap, const char *s)
{
    if (v->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        char **nv = realloc(v->v, nc * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        v->v = nv;
        *cap = nc;
    }
    if (!(v->v[v->n] = strdup(s)))
        return -ENOMEM;
    v->n++;
    return 0;
}

/* Collects the first column of every row of sql (no parameters). */
static int collect(struct store *st, const char *sql, struct store_strv *ret)
{
    sqlite3_stmt *q;
    int r = sqlite_prepare(st, sql, &q);
    if (r < 0)
        return r;
    struct store_strv v = { 0 };
    size_t cap = 0;
    int rc;
    while (r == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        const unsigned char *t = sqlite3_column_text(q, 0);
        if (t)
            r = strv_push(&v, &cap, (const char *)t);
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = sqlite_fail(st, rc);
    sqlite3_finalize(q);
    if (r < 0) {
        store_strv_free(&v);
        return r;
    }
    *ret = v;
    return 0;
}

int sqlite_network_subnets(struct store *st, struct store_strv *ret)
{
    return collect(st, "SELECT subnet FROM networks WHERE deleted_at IS NULL", ret);
}

int sqlite_ips_in_use(struct store *st, struct store_strv *ret)
{
    return collect(st, "SELECT ip FROM sandboxes WHERE ip IS NOT NULL UNION ALL "
                       "SELECT ip FROM network_members", ret);
}

int sqlite_member_add(struct store *st, const char *network_id, const char *sandbox_id,
                      const char *ip, int64_t now_ms)
{
    int r = sqlite_tx_begin(st, true);
    if (r < 0)
        return r;
    sqlite3_stmt *q;
    r = sqlite_prepare(st, "SELECT (SELECT count(*) FROM network_members WHERE network_id = ?1 "
                           "AND sandbox_id = ?2), (SELECT count(*) FROM network_members WHERE "
                           "sandbox_id = ?2), (SELECT count(*) FROM network_members WHERE "
                           "ip = ?3), (SELECT count(*) FROM sandboxes WHERE ip = ?3)", &q);
    if (r == 0) {
        sqlite3_bind_text(q, 1, network_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, sandbox_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, ip, -1, SQLITE_STATIC);
        int rc = sqlite3_step(q);
        if (rc != SQLITE_ROW)
            r = sqlite_fail(st, rc);
        else if (sqlite3_column_int64(q, 0) > 0)
            r = -EEXIST;
        else if (sqlite3_column_int64(q, 1) >= STORE_MAX_NETWORKS_PER_SANDBOX)
            r = -E2BIG;
        else if (sqlite3_column_int64(q, 2) + sqlite3_column_int64(q, 3) > 0)
            r = -EADDRINUSE;
        sqlite3_finalize(q);
    }
    if (r == 0)
        r = sqlite_prepare(st, "INSERT INTO network_members (network_id, sandbox_id, ip, "
                               "joined_at) VALUES (?1, ?2, ?3, ?4)", &q);
    if (r == 0) {
        sqlite3_bind_text(q, 1, network_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, sandbox_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, ip, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 4, now_ms);
        r = done(st, q);
        if (r == -EEXIST) /* a unique index other than the checks above: the address */
            r = -EADDRINUSE;
    }
    return sqlite_tx_end(st, r);
}

int sqlite_member_remove(struct store *st, const char *network_id, const char *sandbox_id)
{
    sqlite3_stmt *q;
    int r = sqlite_prepare(st, "DELETE FROM network_members WHERE network_id = ?1 AND "
                               "sandbox_id = ?2", &q);
    if (r < 0)
        return r;
    sqlite3_bind_text(q, 1, network_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, sandbox_id, -1, SQLITE_STATIC);
    r = done(st, q);
    if (r == 0 && sqlite3_changes(sqlite_db(st)) == 0)
        r = -ENOENT;
    return r;
}

static int read_member(sqlite3_stmt *q, struct store_member *m)
{
    memset(m, 0, sizeof(*m));
    int r = sqlite_col_text(q, 0, m->network_id, sizeof(m->network_id));
    if (r == 0)
        r = sqlite_col_text(q, 1, m->network_name, sizeof(m->network_name));
    if (r == 0)
        r = sqlite_col_text(q, 2, m->subnet, sizeof(m->subnet));
    if (r == 0)
        r = sqlite_col_text(q, 3, m->sandbox_id, sizeof(m->sandbox_id));
    if (r == 0)
        r = sqlite_col_text(q, 4, m->name, sizeof(m->name));
    if (r == 0)
        r = sqlite_col_text(q, 5, m->hostname, sizeof(m->hostname));
    if (r == 0) {
        const unsigned char *t = sqlite3_column_text(q, 6);
        r = t && store_state_from_string((const char *)t, (size_t)sqlite3_column_bytes(q, 6),
                                         &m->status) == 0 ? 0 : -EUCLEAN;
    }
    if (r == 0)
        r = sqlite_col_text(q, 7, m->ip, sizeof(m->ip));
    m->joined_at = sqlite3_column_int64(q, 8);
    return r;
}

int sqlite_member_list(struct store *st, const char *network_id, const char *sandbox_id,
                       struct store_member **ret, size_t *ret_n)
{
    sqlite3_stmt *q;
    int r = sqlite_prepare(st, network_id
        ? "SELECT " MEMBER_COLS " FROM network_members m JOIN networks n ON n.id = m.network_id "
          "JOIN sandboxes s ON s.id = m.sandbox_id WHERE m.network_id = ?1 "
          "ORDER BY s.created_at DESC, s.id DESC"
        : "SELECT " MEMBER_COLS " FROM network_members m JOIN networks n ON n.id = m.network_id "
          "JOIN sandboxes s ON s.id = m.sandbox_id WHERE m.sandbox_id = ?1 "
          "ORDER BY m.joined_at, m.network_id", &q);
    if (r < 0)
        return r;
    sqlite3_bind_text(q, 1, network_id ? network_id : sandbox_id, -1, SQLITE_STATIC);
    struct store_member *v = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while (r == 0 && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 8;
            struct store_member *nv = realloc(v, nc * sizeof(*nv));
            if (!nv) {
                r = -ENOMEM;
                break;
            }
            v = nv;
            cap = nc;
        }
        r = read_member(q, &v[n++]);
    }
    if (r == 0 && rc != SQLITE_DONE)
        r = sqlite_fail(st, rc);
    sqlite3_finalize(q);
    if (r < 0) {
        free(v);
        return r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}
