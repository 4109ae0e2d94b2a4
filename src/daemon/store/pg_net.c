/* SPDX-License-Identifier: MIT */
/* pg_net.c: private networks and their members in the PostgreSQL backend (migrations_pg/0003),
 * with sqlite_net.c's semantics call for call. Each write holds the store's write lock
 * (pg_tx_begin), so its look-first checks (which unique index a collision hits, the cap of
 * networks per sandbox, an address held by a sandbox or a member) cannot race another hearthd;
 * the unique indexes stay the last word all the same. */
#include "daemon/store/pg_internal.h"

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

static int read_network(const PGresult *res, int row, void *elem)
{
    struct store_network *n = elem;
    static const struct pg_text_col texts[] = {
#define T(c, f) PG_TEXT_COL(c, struct store_network, f)
        T(0, id), T(1, user_id), T(2, name), T(3, subnet),
#undef T
    };
    memset(n, 0, sizeof(*n));
    int r = pg_col_texts(res, row, n, texts, NELEM(texts));
    n->created_at = pg_col_i64(res, row, 4);
    n->deleted_at = pg_col_i64(res, row, 5);
    n->member_count = (uint64_t)pg_col_i64(res, row, 6);
    return r;
}

int pg_network_insert(struct store *st, const struct store_network *n)
{
    struct pg_store *s = to_pg(st);
    struct pg_params pp = { 0 };
    int64_t c[2];
    int r = pg_tx_begin(s, true);
    /* which unique index a collision hit decides the errno, so look first */
    if (r == 0) {
        pg_params_texts(&pp, (const char *[]){ n->user_id, n->name, n->subnet }, 3);
        r = pg_select_ints(s, "SELECT (SELECT count(*) FROM networks WHERE user_id = $1 AND "
                              "name = $2 AND deleted_at IS NULL), (SELECT count(*) FROM "
                              "networks WHERE subnet = $3 AND deleted_at IS NULL)", &pp, c, 2);
    }
    if (r == 0)
        r = c[0] > 0 ? -EEXIST : c[1] > 0 ? -EADDRINUSE : 0;
    if (r == 0) {
        pg_params_texts(&pp, (const char *[]){ n->id, n->user_id, n->name, n->subnet }, 4);
        pg_param_i64(&pp, n->created_at);
        r = pg_exec(s, "INSERT INTO networks (id, user_id, name, subnet, created_at) "
                       "VALUES ($1, $2, $3, $4, $5)", &pp, NULL);
    }
    return pg_tx_end(s, r);
}

int pg_network_get(struct store *st, const char *user_id, const char *ref,
                   struct store_network *ret)
{
    struct pg_params pp;
    pg_params_texts(&pp, (const char *[]){ user_id, ref }, 2);
    return pg_select_one(to_pg(st),
                         "SELECT " NET_COLS " FROM networks n WHERE n.user_id = $1 AND "
                         "(n.id = $2 OR (n.name = $2 AND n.deleted_at IS NULL)) "
                         "ORDER BY n.id = $2 DESC LIMIT 1", &pp, read_network, ret);
}

int pg_network_list(struct store *st, const char *user_id, size_t limit, size_t offset,
                    struct store_network **ret, size_t *ret_n, uint64_t *ret_total)
{
    struct pg_params pp;
    pg_params_texts(&pp, &user_id, 1);
    void *v = NULL;
    int r = pg_select_page(
        to_pg(st), "SELECT count(*) FROM networks WHERE user_id = $1 AND deleted_at IS NULL",
        "SELECT " NET_COLS " FROM networks n WHERE n.user_id = $1 AND n.deleted_at IS NULL "
        "ORDER BY n.created_at DESC, n.id DESC LIMIT $2 OFFSET $3",
        &pp, limit, offset, sizeof(struct store_network), read_network, &v, ret_n, ret_total);
    if (r == 0)
        *ret = v;
    return r;
}

int pg_network_delete(struct store *st, const char *user_id, const char *id, int64_t now_ms,
                      uint64_t *ret_members)
{
    struct pg_store *s = to_pg(st);
    struct pg_params pp;
    struct store_network n;
    int r = pg_tx_begin(s, true);
    if (r == 0) {
        pg_params_texts(&pp, (const char *[]){ id, user_id }, 2);
        r = pg_select_one(s, "SELECT " NET_COLS " FROM networks n WHERE n.id = $1 AND "
                             "n.user_id = $2", &pp, read_network, &n);
    }
    if (r == 0 && n.deleted_at)
        r = -EALREADY;
    if (r == 0 && n.member_count) {
        *ret_members = n.member_count;
        r = -EBUSY;
    }
    if (r == 0) {
        pg_params_texts(&pp, &id, 1);
        pg_param_i64(&pp, now_ms);
        r = pg_exec(s, "UPDATE networks SET deleted_at = $2 WHERE id = $1", &pp, NULL);
    }
    return pg_tx_end(s, r);
}

int pg_network_subnets(struct store *st, struct store_strv *ret)
{
    return pg_select_strv(to_pg(st), "SELECT subnet FROM networks WHERE deleted_at IS NULL",
                          NULL, ret);
}

int pg_ips_in_use(struct store *st, struct store_strv *ret)
{
    return pg_select_strv(to_pg(st), "SELECT ip FROM sandboxes WHERE ip IS NOT NULL UNION ALL "
                                     "SELECT ip FROM network_members", NULL, ret);
}

int pg_member_add(struct store *st, const char *network_id, const char *sandbox_id,
                  const char *ip, int64_t now_ms)
{
    struct pg_store *s = to_pg(st);
    struct pg_params pp;
    pg_params_texts(&pp, (const char *[]){ network_id, sandbox_id, ip }, 3);
    int64_t c[4];
    int r = pg_tx_begin(s, true);
    /* a sandbox's primary address and a member's live in two tables with an index each: the
     * write lock makes this look and the insert one step against every other writer */
    if (r == 0)
        r = pg_select_ints(s, "SELECT (SELECT count(*) FROM network_members WHERE network_id = $1 "
                              "AND sandbox_id = $2), (SELECT count(*) FROM network_members WHERE "
                              "sandbox_id = $2), (SELECT count(*) FROM network_members WHERE "
                              "ip = $3), (SELECT count(*) FROM sandboxes WHERE ip = $3)", &pp, c,
                           4);
    if (r == 0)
        r = c[0] > 0                                 ? -EEXIST
            : c[1] >= STORE_MAX_NETWORKS_PER_SANDBOX ? -E2BIG
            : c[2] + c[3] > 0                        ? -EADDRINUSE
                                                     : 0;
    if (r == 0) {
        pg_param_i64(&pp, now_ms);
        r = pg_exec(s, "INSERT INTO network_members (network_id, sandbox_id, ip, joined_at) "
                       "VALUES ($1, $2, $3, $4)", &pp, NULL);
        if (r == -EEXIST) /* a unique index other than the checks above: the address */
            r = -EADDRINUSE;
    }
    return pg_tx_end(s, r);
}

int pg_member_remove(struct store *st, const char *network_id, const char *sandbox_id)
{
    struct pg_store *s = to_pg(st);
    struct pg_params pp;
    pg_params_texts(&pp, (const char *[]){ network_id, sandbox_id }, 2);
    int r = pg_tx_begin(s, true);
    if (r == 0)
        r = pg_exec_change(s, "DELETE FROM network_members WHERE network_id = $1 AND "
                              "sandbox_id = $2", &pp);
    return pg_tx_end(s, r);
}

static int read_member(const PGresult *res, int row, void *elem)
{
    static const struct pg_text_col texts[] = {
#define T(c, f) PG_TEXT_COL(c, struct store_member, f)
        T(0, network_id), T(1, network_name), T(2, subnet), T(3, sandbox_id), T(4, name),
        T(5, hostname), T(7, ip),
#undef T
    };
    struct store_member *m = elem;
    memset(m, 0, sizeof(*m));
    int r = pg_col_texts(res, row, m, texts, NELEM(texts));
    if (r == 0)
        r = pg_col_state(res, row, 6, &m->status, false);
    m->joined_at = pg_col_i64(res, row, 8);
    return r;
}

int pg_member_list(struct store *st, const char *network_id, const char *sandbox_id,
                   struct store_member **ret, size_t *ret_n)
{
    struct pg_params pp;
    pg_params_texts(&pp, (const char *[]){ network_id ? network_id : sandbox_id }, 1);
    void *v;
    int r = pg_select_all(to_pg(st), network_id
        ? "SELECT " MEMBER_COLS " FROM network_members m JOIN networks n ON n.id = m.network_id "
          "JOIN sandboxes s ON s.id = m.sandbox_id WHERE m.network_id = $1 "
          "ORDER BY s.created_at DESC, s.id DESC"
        : "SELECT " MEMBER_COLS " FROM network_members m JOIN networks n ON n.id = m.network_id "
          "JOIN sandboxes s ON s.id = m.sandbox_id WHERE m.sandbox_id = $1 "
          "ORDER BY m.joined_at, m.network_id",
        &pp, sizeof(struct store_member), read_member, &v, ret_n);
    if (r == 0)
        *ret = v;
    return r;
}
