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

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Runs sql (texts p bound) for its one row of n integer columns, into out. */
static int counts(struct sqlite_store *s, const char *sql, const char *const *p, size_t np,
                  int64_t *out, int n)
{
    return sqlite_select_ints(s, sql, p, np, out, n);
}

static int read_network(sqlite3_stmt *q, void *elem)
{
    struct store_network *n = elem;
    static const struct sqlite_text_col texts[] = {
#define T(c, f) SQLITE_TEXT_COL(c, struct store_network, f)
        T(0, id), T(1, user_id), T(2, name), T(3, subnet),
#undef T
    };
    memset(n, 0, sizeof(*n));
    int r = sqlite_col_texts(q, n, texts, NELEM(texts));
    n->created_at = sqlite3_column_int64(q, 4);
    n->deleted_at = sqlite3_column_int64(q, 5);
    n->member_count = (uint64_t)sqlite3_column_int64(q, 6);
    return r;
}

/* The one network row sql (texts p bound) selects, or -ENOENT. */
static int network_one(struct sqlite_store *s, const char *sql, const char *const *p, size_t np,
                       struct store_network *ret)
{
    return sqlite_select_one(s, sql, p, np, read_network, ret);
}

int sqlite_network_insert(struct store *st, const struct store_network *n)
{
    struct sqlite_store *s = to_sqlite(st);
    const char *p[] = { n->id, n->user_id, n->name, n->subnet };
    int64_t c[2];
    int r = sqlite_tx_begin(s, true);
    /* which unique index a collision hit decides the errno, so look first */
    if (r == 0)
        r = counts(s, "SELECT (SELECT count(*) FROM networks WHERE user_id = ?1 AND "
                      "name = ?2 AND deleted_at IS NULL), (SELECT count(*) FROM networks "
                      "WHERE subnet = ?3 AND deleted_at IS NULL)", p + 1, 3, c, 2);
    if (r == 0)
        r = c[0] > 0 ? -EEXIST : c[1] > 0 ? -EADDRINUSE : 0;
    sqlite3_stmt *q;
    if (r == 0)
        r = sqlite_prepare_bound(s, "INSERT INTO networks (id, user_id, name, subnet, created_at) "
                             "VALUES (?1, ?2, ?3, ?4, ?5)", p, 4, &q);
    if (r == 0) {
        sqlite3_bind_int64(q, 5, n->created_at);
        r = sqlite_finish(s, q);
    }
    return sqlite_tx_end(s, r);
}

int sqlite_network_get(struct store *st, const char *user_id, const char *ref,
                       struct store_network *ret)
{
    const char *p[] = { user_id, ref };
    return network_one(to_sqlite(st),
                       "SELECT " NET_COLS " FROM networks n WHERE n.user_id = ?1 AND "
                       "(n.id = ?2 OR (n.name = ?2 AND n.deleted_at IS NULL)) "
                       "ORDER BY n.id = ?2 DESC LIMIT 1", p, 2, ret);
}

int sqlite_network_list(struct store *st, const char *user_id, size_t limit, size_t offset,
                        struct store_network **ret, size_t *ret_n, uint64_t *ret_total)
{
    void *v = NULL;
    int r = sqlite_select_page(
        to_sqlite(st), "SELECT count(*) FROM networks WHERE user_id = ?1 AND deleted_at IS NULL",
        "SELECT " NET_COLS " FROM networks n WHERE n.user_id = ?1 AND n.deleted_at IS NULL "
        "ORDER BY n.created_at DESC, n.id DESC LIMIT ?2 OFFSET ?3",
        &user_id, 1, limit, offset, sizeof(struct store_network), read_network, &v, ret_n,
        ret_total);
    if (r == 0)
        *ret = v;
    return r;
}

int sqlite_network_delete(struct store *st, const char *user_id, const char *id, int64_t now_ms,
                          uint64_t *ret_members)
{
    struct sqlite_store *s = to_sqlite(st);
    const char *p[] = { id, user_id };
    struct store_network n;
    int r = sqlite_tx_begin(s, true);
    if (r == 0)
        r = network_one(s, "SELECT " NET_COLS " FROM networks n WHERE n.id = ?1 AND "
                           "n.user_id = ?2", p, 2, &n);
    if (r == 0 && n.deleted_at)
        r = -EALREADY;
    if (r == 0 && n.member_count) {
        *ret_members = n.member_count;
        r = -EBUSY;
    }
    sqlite3_stmt *q;
    if (r == 0)
        r = sqlite_prepare_bound(s, "UPDATE networks SET deleted_at = ?2 WHERE id = ?1", p, 1, &q);
    if (r == 0) {
        sqlite3_bind_int64(q, 2, now_ms);
        r = sqlite_finish(s, q);
    }
    return sqlite_tx_end(s, r);
}

/* Collects the first column of every row of sql (no parameters). */
static int collect(struct sqlite_store *s, const char *sql, struct store_strv *ret)
{
    sqlite3_stmt *q;
    int r = sqlite_prepare(s, sql, &q);
    if (r < 0)
        return r;
    r = sqlite_read_strv(s, q, ret);
    sqlite3_finalize(q);
    return r;
}

int sqlite_network_subnets(struct store *st, struct store_strv *ret)
{
    return collect(to_sqlite(st), "SELECT subnet FROM networks WHERE deleted_at IS NULL", ret);
}

int sqlite_ips_in_use(struct store *st, struct store_strv *ret)
{
    return collect(to_sqlite(st), "SELECT ip FROM sandboxes WHERE ip IS NOT NULL UNION ALL "
                                  "SELECT ip FROM network_members", ret);
}

int sqlite_member_add(struct store *st, const char *network_id, const char *sandbox_id,
                      const char *ip, int64_t now_ms)
{
    struct sqlite_store *s = to_sqlite(st);
    const char *p[] = { network_id, sandbox_id, ip };
    int64_t c[4];
    int r = sqlite_tx_begin(s, true);
    if (r == 0)
        r = counts(s, "SELECT (SELECT count(*) FROM network_members WHERE network_id = ?1 "
                      "AND sandbox_id = ?2), (SELECT count(*) FROM network_members WHERE "
                      "sandbox_id = ?2), (SELECT count(*) FROM network_members WHERE "
                      "ip = ?3), (SELECT count(*) FROM sandboxes WHERE ip = ?3)", p, 3, c, 4);
    if (r == 0)
        r = c[0] > 0                                ? -EEXIST
            : c[1] >= STORE_MAX_NETWORKS_PER_SANDBOX ? -E2BIG
            : c[2] + c[3] > 0                        ? -EADDRINUSE
                                                     : 0;
    sqlite3_stmt *q;
    if (r == 0)
        r = sqlite_prepare_bound(s, "INSERT INTO network_members (network_id, sandbox_id, ip, "
                             "joined_at) VALUES (?1, ?2, ?3, ?4)", p, 3, &q);
    if (r == 0) {
        sqlite3_bind_int64(q, 4, now_ms);
        r = sqlite_finish(s, q);
        if (r == -EEXIST) /* a unique index other than the checks above: the address */
            r = -EADDRINUSE;
    }
    return sqlite_tx_end(s, r);
}

int sqlite_member_remove(struct store *st, const char *network_id, const char *sandbox_id)
{
    struct sqlite_store *s = to_sqlite(st);
    const char *p[] = { network_id, sandbox_id };
    sqlite3_stmt *q;
    int r = sqlite_prepare_bound(s, "DELETE FROM network_members WHERE network_id = ?1 AND "
                             "sandbox_id = ?2", p, 2, &q);
    if (r < 0)
        return r;
    r = sqlite_step_change(s, q);
    sqlite3_finalize(q);
    return r;
}

static int read_member(sqlite3_stmt *q, void *elem)
{
    static const struct sqlite_text_col texts[] = {
#define T(c, f) SQLITE_TEXT_COL(c, struct store_member, f)
        T(0, network_id), T(1, network_name), T(2, subnet), T(3, sandbox_id), T(4, name),
        T(5, hostname), T(7, ip),
#undef T
    };
    struct store_member *m = elem;
    memset(m, 0, sizeof(*m));
    int r = sqlite_col_texts(q, m, texts, NELEM(texts));
    if (r == 0)
        r = sqlite_col_state(q, 6, &m->status, false);
    m->joined_at = sqlite3_column_int64(q, 8);
    return r;
}

int sqlite_member_list(struct store *st, const char *network_id, const char *sandbox_id,
                       struct store_member **ret, size_t *ret_n)
{
    struct sqlite_store *s = to_sqlite(st);
    const char *p = network_id ? network_id : sandbox_id;
    void *v;
    int r = sqlite_select_all(s, network_id
        ? "SELECT " MEMBER_COLS " FROM network_members m JOIN networks n ON n.id = m.network_id "
          "JOIN sandboxes s ON s.id = m.sandbox_id WHERE m.network_id = ?1 "
          "ORDER BY s.created_at DESC, s.id DESC"
        : "SELECT " MEMBER_COLS " FROM network_members m JOIN networks n ON n.id = m.network_id "
          "JOIN sandboxes s ON s.id = m.sandbox_id WHERE m.sandbox_id = ?1 "
          "ORDER BY m.joined_at, m.network_id",
        &p, 1, sizeof(struct store_member), 8, read_member, &v, ret_n);
    if (r == 0)
        *ret = v;
    return r;
}
