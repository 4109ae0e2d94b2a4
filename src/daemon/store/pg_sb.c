/* SPDX-License-Identifier: MIT */
/* pg_sb.c: sandbox rows in the PostgreSQL backend (as sqlite_sb.c): the row codec (row_params,
 * read_row), the child lists (envs, egress rules, ssh keys) and the sandbox calls of store_ops,
 * with the snapshot references and the purge. Every call is one transaction; a state change is
 * a compare-and-set on the row's status under the store's write lock. */
#include "daemon/store/pg_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TERMINAL_SQL "('destroyed', 'failed')"

/* The columns of a sandbox row, in the order of enum col (sqlite_internal.h's SB_COLS). */
#define SB_COLS                                                                                  \
    "id, user_id, name, hostname, status, shape, vcpu, mem_mib, disk_mib, rootfs, region, ip, "  \
    "created_at, running_at, paused_at, last_resumed_at, destroyed_at, spawn_ms, "               \
    "ingress_enabled, created_by, forked_from, auto_pause_after_seconds, start_paused, "         \
    "bw_quota_bytes, bw_used_bytes, bw_ingress_bytes, bw_capped, host_id, run_dir, qemu_pid, "  \
    "qemu_start_time, target_state, intent_started_at, updated_at, snapshot_dir, base_dir, "    \
    "bw_seen_egress, bw_seen_ingress, bw_seen_egress_handle, bw_seen_ingress_handle"

enum col {
    C_ID, C_USER_ID, C_NAME, C_HOSTNAME, C_STATUS, C_SHAPE, C_VCPU, C_MEM_MIB, C_DISK_MIB,
    C_ROOTFS, C_REGION, C_IP, C_CREATED_AT, C_RUNNING_AT, C_PAUSED_AT, C_LAST_RESUMED_AT,
    C_DESTROYED_AT, C_SPAWN_MS, C_INGRESS_ENABLED, C_CREATED_BY, C_FORKED_FROM, C_AUTO_PAUSE,
    C_START_PAUSED, C_BW_QUOTA, C_BW_USED, C_BW_INGRESS, C_BW_CAPPED, C_HOST_ID, C_RUN_DIR,
    C_QEMU_PID, C_QEMU_START_TIME, C_TARGET_STATE, C_INTENT_STARTED_AT, C_UPDATED_AT,
    C_SNAPSHOT_DIR, C_BASE_DIR, C_BW_SEEN_EG, C_BW_SEEN_IN, C_BW_SEEN_EG_H, C_BW_SEEN_IN_H,
    C__COUNT,
};

/* A sandbox row as $1..$40 in enum col order. */
static void row_params(struct pg_params *pp, const struct store_sandbox *sb)
{
    pg_param_text(pp, sb->id);
    pg_param_text(pp, sb->user_id);
    pg_param_text(pp, sb->name);
    pg_param_text(pp, sb->hostname);
    pg_param_state_opt(pp, sb->status);
    pg_param_text(pp, sb->shape);
    pg_param_i64(pp, sb->vcpu);
    pg_param_i64(pp, sb->mem_mib);
    pg_param_i64(pp, sb->disk_mib);
    pg_param_text(pp, sb->rootfs);
    pg_param_text(pp, sb->region);
    pg_param_text_opt(pp, sb->ip);
    pg_param_i64(pp, sb->created_at);
    pg_param_i64_opt(pp, sb->running_at);
    pg_param_i64_opt(pp, sb->paused_at);
    pg_param_i64_opt(pp, sb->last_resumed_at);
    pg_param_i64_opt(pp, sb->destroyed_at);
    if (sb->spawn_ms >= 0)
        pg_param_double(pp, sb->spawn_ms);
    else
        pg_param_text(pp, NULL);
    pg_param_bool(pp, sb->ingress_enabled);
    pg_param_text(pp, sb->created_by);
    pg_param_text_opt(pp, sb->forked_from);
    pg_param_i64_opt(pp, sb->auto_pause_after_seconds);
    pg_param_bool(pp, sb->start_paused);
    pg_param_i64(pp, sb->bw_quota_bytes);
    pg_param_i64(pp, sb->bw_used_bytes);
    pg_param_i64(pp, sb->bw_ingress_bytes);
    pg_param_bool(pp, sb->bw_capped);
    pg_param_text_opt(pp, sb->host_id);
    pg_param_text_opt(pp, sb->run_dir);
    pg_param_i64_opt(pp, sb->qemu_pid);
    pg_param_i64_opt(pp, (int64_t)sb->qemu_start_time);
    pg_param_state_opt(pp, sb->target_state);
    pg_param_i64_opt(pp, sb->intent_started_at);
    pg_param_i64(pp, sb->updated_at ? sb->updated_at : sb->created_at);
    pg_param_text_opt(pp, sb->snapshot_dir);
    pg_param_text_opt(pp, sb->base_dir);
    pg_param_i64(pp, sb->bw_seen.egress);
    pg_param_i64(pp, sb->bw_seen.ingress);
    pg_param_i64(pp, sb->bw_seen.egress_handle);
    pg_param_i64(pp, sb->bw_seen.ingress_handle);
}

/* Reads the SB_COLS of row into *sb (lists left empty). On failure *sb holds nothing that needs
 * freeing. */
static int read_row(const PGresult *res, int row, void *elem)
{
    struct store_sandbox *sb = elem;
    static const struct pg_text_col texts[] = {
#define T(c, f) PG_TEXT_COL(c, struct store_sandbox, f)
        T(C_ID, id), T(C_USER_ID, user_id), T(C_NAME, name), T(C_HOSTNAME, hostname),
        T(C_SHAPE, shape), T(C_ROOTFS, rootfs), T(C_REGION, region), T(C_IP, ip),
        T(C_CREATED_BY, created_by), T(C_FORKED_FROM, forked_from), T(C_HOST_ID, host_id),
#undef T
    };
    store_sandbox_init(sb);
    int r;
    if ((r = pg_col_texts(res, row, sb, texts, sizeof(texts) / sizeof(texts[0]))) < 0 ||
        (r = pg_col_state(res, row, C_STATUS, &sb->status, false)) < 0 ||
        (r = pg_col_state(res, row, C_TARGET_STATE, &sb->target_state, true)) < 0)
        return r;
#define I64(c) pg_col_i64(res, row, (c))
    sb->vcpu = (int32_t)I64(C_VCPU);
    sb->mem_mib = I64(C_MEM_MIB);
    sb->disk_mib = I64(C_DISK_MIB);
    sb->created_at = I64(C_CREATED_AT);
    sb->running_at = I64(C_RUNNING_AT);
    sb->paused_at = I64(C_PAUSED_AT);
    sb->last_resumed_at = I64(C_LAST_RESUMED_AT);
    sb->destroyed_at = I64(C_DESTROYED_AT);
    sb->spawn_ms = pg_col_null(res, row, C_SPAWN_MS) ? -1 : pg_col_double(res, row, C_SPAWN_MS);
    sb->ingress_enabled = pg_col_bool(res, row, C_INGRESS_ENABLED);
    sb->auto_pause_after_seconds = I64(C_AUTO_PAUSE);
    sb->start_paused = pg_col_bool(res, row, C_START_PAUSED);
    sb->bw_quota_bytes = I64(C_BW_QUOTA);
    sb->bw_used_bytes = I64(C_BW_USED);
    sb->bw_ingress_bytes = I64(C_BW_INGRESS);
    sb->bw_capped = pg_col_bool(res, row, C_BW_CAPPED);
    sb->bw_seen = (struct store_bw_seen){
        .egress = I64(C_BW_SEEN_EG),
        .ingress = I64(C_BW_SEEN_IN),
        .egress_handle = I64(C_BW_SEEN_EG_H),
        .ingress_handle = I64(C_BW_SEEN_IN_H),
    };
    sb->qemu_pid = (int32_t)I64(C_QEMU_PID);
    sb->qemu_start_time = (uint64_t)I64(C_QEMU_START_TIME);
    sb->intent_started_at = I64(C_INTENT_STARTED_AT);
    sb->updated_at = I64(C_UPDATED_AT);
#undef I64
    if ((r = pg_col_strdup(res, row, C_RUN_DIR, &sb->run_dir)) < 0 ||
        (r = pg_col_strdup(res, row, C_SNAPSHOT_DIR, &sb->snapshot_dir)) < 0 ||
        (r = pg_col_strdup(res, row, C_BASE_DIR, &sb->base_dir)) < 0) {
        store_sandbox_release(sb);
        return r;
    }
    return 0;
}

/* The three lists of up to LISTS_CHUNK rows in one round trip: (row's 1-based index in $1,
 * which list, value) rows, each list in its order (env keys bytewise). */
#define LISTS_CHUNK 500
#define LISTS_SQL                                                                                \
    "WITH u AS (SELECT * FROM unnest($1::text[]) WITH ORDINALITY AS u(id, i)) "                  \
    "SELECT u.i, 0, e.key COLLATE \"C\", 0 FROM u JOIN sandbox_envs e ON e.sandbox_id = u.id "   \
    "UNION ALL SELECT u.i, 1, g.rule COLLATE \"C\", g.pos FROM u "                               \
    "JOIN sandbox_egress g ON g.sandbox_id = u.id "                                              \
    "UNION ALL SELECT u.i, 2, k.canonical COLLATE \"C\", k.pos FROM u "                          \
    "JOIN sandbox_ssh_keys k ON k.sandbox_id = u.id "                                            \
    "ORDER BY 1, 2, 4, 3"

static int strv_push(struct store_strv *v, const char *str)
{
    char **nv = realloc(v->v, (v->n + 1) * sizeof(*nv));
    if (!nv)
        return -ENOMEM;
    v->v = nv;
    if (!(nv[v->n] = strdup(str)))
        return -ENOMEM;
    v->n++;
    return 0;
}

/* The text[] literal {"id1","id2",...} of the ids of v[0..n) (ids hold no quote or backslash,
 * but they are escaped all the same). */
static char *ids_array(const struct store_sandbox *v, size_t n)
{
    size_t cap = 3;
    for (size_t i = 0; i < n; i++)
        cap += 2 * strlen(v[i].id) + 3;
    char *a = malloc(cap), *p = a;
    if (!a)
        return NULL;
    *p++ = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            *p++ = ',';
        *p++ = '"';
        for (const char *c = v[i].id; *c; c++) {
            if (*c == '"' || *c == '\\')
                *p++ = '\\';
            *p++ = *c;
        }
        *p++ = '"';
    }
    *p++ = '}';
    *p = '\0';
    return a;
}

/* Loads the lists of rows v[0..n), LISTS_CHUNK rows per query. */
static int load_lists(struct pg_store *s, struct store_sandbox *v, size_t n)
{
    int r = 0;
    for (size_t base = 0; r == 0 && base < n; base += LISTS_CHUNK) {
        size_t m = n - base < LISTS_CHUNK ? n - base : LISTS_CHUNK;
        char *ids = ids_array(v + base, m);
        if (!ids)
            return -ENOMEM;
        struct pg_params pp = { 0 };
        pg_param_text(&pp, ids);
        PGresult *res;
        r = pg_exec(s, LISTS_SQL, &pp, &res);
        free(ids);
        for (int i = 0; r == 0 && i < PQntuples(res); i++) {
            int64_t at = pg_col_i64(res, i, 0), which = pg_col_i64(res, i, 1);
            if (at < 1 || (size_t)at > m || pg_col_null(res, i, 2)) {
                r = -EUCLEAN;
                break;
            }
            struct store_sandbox *sb = &v[base + (size_t)at - 1];
            struct store_strv *l = which == 0 ? &sb->env_keys : which == 1 ? &sb->egress
                                                                            : &sb->ssh_pubkeys;
            r = strv_push(l, PQgetvalue(res, i, 2));
        }
        PQclear(res); /* pg_exec left NULL on failure */
    }
    return r;
}

/* Runs sql with pp (in the caller's transaction) and reads every row, with lists, into a new
 * array. */
static int read_rows(struct pg_store *s, const char *sql, const struct pg_params *pp,
                     struct store_sandbox **ret, size_t *ret_n)
{
    PGresult *res;
    int r = pg_exec(s, sql, pp, &res);
    if (r < 0)
        return r;
    void *all;
    size_t n;
    r = pg_read_all(res, sizeof(struct store_sandbox), read_row, &all, &n);
    PQclear(res);
    struct store_sandbox *v = all;
    if (r == 0 && n > 0)
        r = load_lists(s, v, n);
    if (r < 0) {
        store_sandbox_array_free(v, n);
        return r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

/* Keeps the first of rows v[0..n) in *ret and frees the rest: -ENOENT when there is none. */
static int keep_first(struct store_sandbox *v, size_t n, struct store_sandbox *ret)
{
    if (n == 0) {
        free(v);
        return -ENOENT;
    }
    *ret = v[0];
    for (size_t i = 1; i < n; i++)
        store_sandbox_release(&v[i]);
    free(v);
    return 0;
}

/* read_rows() in a read transaction of its own (the row and its lists see one snapshot). */
static int select_rows(struct pg_store *s, const char *sql, const struct pg_params *pp,
                       struct store_sandbox **ret, size_t *ret_n)
{
    struct store_sandbox *v = NULL;
    size_t n = 0;
    int r = pg_tx_begin(s, false);
    if (r == 0)
        r = read_rows(s, sql, pp, &v, &n);
    r = pg_tx_end(s, r);
    if (r < 0) {
        store_sandbox_array_free(v, n);
        return r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

static int select_one(struct pg_store *s, const char *sql, const struct pg_params *pp,
                      struct store_sandbox *ret)
{
    struct store_sandbox *v;
    size_t n;
    int r = select_rows(s, sql, pp, &v, &n);
    return r < 0 ? r : keep_first(v, n, ret);
}

/* ---- child lists ---- */

static int insert_egress(struct pg_store *s, const char *id, const char *const *rules, size_t n)
{
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        struct pg_params pp = { 0 };
        pg_param_text(&pp, id);
        pg_param_i64(&pp, (int64_t)i);
        pg_param_text(&pp, rules[i]);
        r = pg_exec(s, "INSERT INTO sandbox_egress (sandbox_id, pos, rule) VALUES ($1, $2, $3)",
                    &pp, NULL);
    }
    return r;
}

/* Adds keys (skipping duplicates) and returns the count after, checked against the cap. */
static int insert_ssh(struct pg_store *s, const char *id, const char *const *keys, size_t n,
                      size_t *ret_count)
{
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        /* the identity is the key's first bytes: cut in C (SQL's substr counts characters) */
        char *identity = strndup(keys[i], store_sshkey_identity_len(keys[i]));
        if (!identity)
            return -ENOMEM;
        struct pg_params pp = { 0 };
        pg_param_text(&pp, id);
        pg_param_text(&pp, keys[i]);
        pg_param_text(&pp, identity);
        r = pg_exec(s, "INSERT INTO sandbox_ssh_keys (sandbox_id, pos, identity, canonical) "
                       "SELECT $1, coalesce(max(pos), 0) + 1, $3, $2 "
                       "FROM sandbox_ssh_keys WHERE sandbox_id = $1 "
                       "ON CONFLICT (sandbox_id, identity) DO NOTHING", &pp, NULL);
        free(identity);
    }
    int64_t count = 0;
    if (r == 0) {
        struct pg_params pp = { 0 };
        pg_param_text(&pp, id);
        r = pg_select_ints(s, "SELECT count(*) FROM sandbox_ssh_keys WHERE sandbox_id = $1", &pp,
                           &count, 1);
    }
    if (r < 0)
        return r;
    if (ret_count)
        *ret_count = (size_t)count;
    return count > STORE_MAX_SSH_KEYS ? -E2BIG : 0;
}

static int insert_envs(struct pg_store *s, const char *id, const struct store_env *envs,
                       size_t n)
{
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        struct pg_params pp = { 0 };
        pg_param_text(&pp, id);
        pg_param_text(&pp, envs[i].key);
        pg_param_bytea(&pp, envs[i].value, envs[i].value_len);
        r = pg_exec(s, "INSERT INTO sandbox_envs (sandbox_id, key, value) VALUES ($1, $2, $3)",
                    &pp, NULL);
    }
    return r == -EEXIST ? -EINVAL : r; /* the same key twice */
}

/* -EEXIST from a statement on sandboxes: an address collision when the index was the ip's. */
static int collision(struct pg_store *s, int r)
{
    return r == -EEXIST && strcmp(pg_last_constraint(s), "sandboxes_ip") == 0 ? -EADDRINUSE : r;
}

/* ---- sandboxes ---- */

static int insert_one(struct pg_store *s, const struct store_sandbox *sb,
                      const struct store_env *envs, size_t n_envs)
{
    struct pg_params pp = { 0 };
    row_params(&pp, sb);
    int r = pg_exec(s, "INSERT INTO sandboxes (" SB_COLS ") VALUES ($1, $2, $3, $4, $5, $6, $7, "
                       "$8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, "
                       "$23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, "
                       "$37, $38, $39, $40)", &pp, NULL);
    if (r < 0)
        return collision(s, r);
    if ((r = insert_envs(s, sb->id, envs, n_envs)) < 0 ||
        (r = insert_egress(s, sb->id, (const char *const *)sb->egress.v, sb->egress.n)) < 0 ||
        (sb->ssh_pubkeys.n > 0 &&
         (r = insert_ssh(s, sb->id, (const char *const *)sb->ssh_pubkeys.v, sb->ssh_pubkeys.n,
                         NULL)) < 0))
        return r;
    return 0;
}

int pg_sb_insert(struct store *st, const struct store_sandbox *rows, size_t n,
                 const struct store_env *envs, size_t n_envs)
{
    struct pg_store *s = to_pg(st);
    int r = pg_tx_begin(s, true);
    for (size_t i = 0; i < n && r == 0; i++)
        r = insert_one(s, &rows[i], i == 0 ? envs : NULL, i == 0 ? n_envs : 0);
    return pg_tx_end(s, r);
}

int pg_sb_get(struct store *st, const char *user_id, const char *id, struct store_sandbox *ret)
{
    struct pg_params pp = { 0 };
    pg_param_text(&pp, id);
    if (user_id)
        pg_param_text(&pp, user_id);
    return select_one(to_pg(st),
                      user_id ? "SELECT " SB_COLS " FROM sandboxes WHERE id = $1 AND user_id = $2"
                              : "SELECT " SB_COLS " FROM sandboxes WHERE id = $1",
                      &pp, ret);
}

int pg_sb_get_by_ip(struct store *st, const char *user_id, const char *ip,
                    struct store_sandbox *ret)
{
    struct pg_params pp = { 0 };
    pg_param_text(&pp, ip);
    pg_param_text(&pp, user_id);
    return select_one(to_pg(st), "SELECT " SB_COLS " FROM sandboxes WHERE ip = $1 AND "
                                 "user_id = $2 AND status NOT IN ('creating', 'destroyed', "
                                 "'failed')", &pp, ret);
}

int pg_sb_get_ingress_name(struct store *st, const char *hostname, struct store_sandbox *ret)
{
    struct pg_params pp = { 0 };
    pg_param_text(&pp, hostname);
    struct store_sandbox *v;
    size_t n;
    int r = select_rows(to_pg(st), "SELECT " SB_COLS " FROM sandboxes WHERE hostname = $1 "
                                   "AND ingress_enabled = 1 AND status NOT IN ('creating', "
                                   "'destroying', 'destroyed', 'failed', 'error') LIMIT 2",
                        &pp, &v, &n);
    if (r < 0)
        return r;
    if (n > 1) {
        store_sandbox_array_free(v, n);
        return -ENOTUNIQ;
    }
    return keep_first(v, n, ret);
}

int pg_sb_list_by_name(struct store *st, const char *name, struct store_sandbox_page *ret)
{
    struct pg_params pp = { 0 };
    pg_param_text(&pp, name);
    struct store_sandbox_page page = { 0 };
    int r = select_rows(to_pg(st), "SELECT " SB_COLS " FROM sandboxes WHERE name = $1 AND "
                                   "status NOT IN " TERMINAL_SQL " ORDER BY id",
                        &pp, &page.items, &page.count);
    if (r < 0)
        return r;
    page.total = page.count;
    *ret = page;
    return 0;
}

/* Appends " AND status IN ('a', 'b')" for a non-empty mask (names come from our own table). */
static void status_clause(unsigned mask, char *out, size_t size)
{
    out[0] = '\0';
    if (mask == 0)
        return;
    size_t len = 0;
    len += (size_t)snprintf(out + len, size - len, " AND status IN (");
    bool first = true;
    for (int i = 0; i < STORE_STATE__COUNT; i++) {
        if (!(mask & STORE_STATE_BIT(i)))
            continue;
        len += (size_t)snprintf(out + len, size - len, "%s'%s'", first ? "" : ", ",
                                store_state_to_string((enum store_state)i));
        first = false;
    }
    (void)snprintf(out + len, size - len, ")");
}

int pg_sb_list(struct store *st, const struct store_list_query *qr,
               struct store_sandbox_page *ret)
{
    struct pg_store *s = to_pg(st);
    char where[256], sql[1024];
    status_clause(qr->status_mask, where, sizeof(where));
    struct store_sandbox_page page = { 0 };
    struct pg_params pp = { 0 };
    pg_param_text(&pp, qr->user_id);
    int64_t total = 0;
    int r = pg_tx_begin(s, false);
    if (r == 0) {
        (void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM sandboxes WHERE user_id = $1%s",
                       where);
        r = pg_select_ints(s, sql, &pp, &total, 1);
        page.total = (uint64_t)total;
    }
    if (r == 0 && qr->limit > 0 && qr->offset < page.total) {
        (void)snprintf(sql, sizeof(sql),
                       "SELECT " SB_COLS " FROM sandboxes WHERE user_id = $1%s "
                       "ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3", where);
        /* offset < total fits in int64; a limit past INT64_MAX means "all" (NULL) */
        if (qr->limit > (size_t)INT64_MAX)
            pg_param_text(&pp, NULL);
        else
            pg_param_i64(&pp, (int64_t)qr->limit);
        pg_param_i64(&pp, (int64_t)qr->offset);
        r = read_rows(s, sql, &pp, &page.items, &page.count);
    }
    r = pg_tx_end(s, r);
    if (r < 0) {
        store_sandbox_page_release(&page);
        return r;
    }
    *ret = page;
    return 0;
}

int pg_sb_count(struct store *st, const char *user_id, uint64_t counts[STORE_STATE__COUNT])
{
    struct pg_params pp = { 0 };
    pg_param_text(&pp, user_id);
    PGresult *res;
    int r = pg_exec(to_pg(st), "SELECT status, count(*) FROM sandboxes WHERE user_id = $1 "
                               "GROUP BY status", &pp, &res);
    if (r < 0)
        return r;
    uint64_t c[STORE_STATE__COUNT] = { 0 };
    for (int i = 0; r == 0 && i < PQntuples(res); i++) {
        enum store_state state;
        r = pg_col_state(res, i, 0, &state, false);
        if (r == 0)
            c[state] = (uint64_t)pg_col_i64(res, i, 1);
    }
    PQclear(res);
    if (r < 0)
        return r;
    memcpy(counts, c, sizeof(c));
    return 0;
}

/* Reads the row's state under the caller's transaction: -ENOENT when missing or not user_id's
 * (any user when NULL). */
static int row_state(struct pg_store *s, const char *user_id, const char *id,
                     enum store_state *ret_status, enum store_state *ret_target)
{
    struct pg_params pp = { 0 };
    pg_param_text(&pp, id);
    pg_param_text(&pp, user_id);
    PGresult *res;
    int r = pg_exec(s, "SELECT status, target_state FROM sandboxes WHERE id = $1 AND "
                       "($2::text IS NULL OR user_id = $2)", &pp, &res);
    if (r < 0)
        return r;
    r = PQntuples(res) < 1 ? -ENOENT : pg_col_state(res, 0, 0, ret_status, false);
    if (r == 0)
        r = pg_col_state(res, 0, 1, ret_target, true);
    PQclear(res);
    return r;
}

/* Begins a write transaction on row id of user_id (any user when NULL), whose status must be in
 * allowed_states (any when 0): -ENOENT, -ESTALE or -errno otherwise. End it with pg_tx_end. */
static int tx_on_row(struct pg_store *s, const char *user_id, const char *id,
                     unsigned allowed_states)
{
    enum store_state status, target;
    int r = pg_tx_begin(s, true);
    if (r == 0)
        r = row_state(s, user_id, id, &status, &target);
    if (r == 0 && allowed_states && !(allowed_states & STORE_STATE_BIT(status)))
        r = -ESTALE;
    return r;
}

/* Appends ", <col> = $n" to sql for the next parameter. */
static void set_col(char *sql, size_t size, size_t *len, const struct pg_params *pp,
                    const char *col)
{
    *len += (size_t)snprintf(sql + *len, size - *len, ", %s = $%d", col, pp->n);
    if (*len >= size)
        *len = size - 1;
}

/* Builds and runs the UPDATE for the scalar fields of a patch. */
static int update_fields(struct pg_store *s, const char *id, const struct store_sandbox_patch *p)
{
    struct pg_params pp = { 0 };
    char sql[1024];
    pg_param_text(&pp, id);
    pg_param_i64(&pp, p->now_ms);
    size_t len = (size_t)snprintf(sql, sizeof(sql), "UPDATE sandboxes SET updated_at = $2");
#define SET(col, add)                                                                            \
    do {                                                                                         \
        add;                                                                                     \
        set_col(sql, sizeof(sql), &len, &pp, col);                                               \
    } while (0)
    if (p->fields & STORE_PATCH_INGRESS)
        SET("ingress_enabled", pg_param_bool(&pp, p->ingress_enabled));
    if (p->fields & STORE_PATCH_AUTO_PAUSE)
        SET("auto_pause_after_seconds", pg_param_i64_opt(&pp, p->auto_pause_after_seconds));
    if (p->fields & STORE_PATCH_START_PAUSED)
        SET("start_paused", pg_param_bool(&pp, p->start_paused));
    if (p->fields & STORE_PATCH_DISK)
        SET("disk_mib", pg_param_i64(&pp, p->disk_mib));
    if (p->fields & STORE_PATCH_IP)
        SET("ip", pg_param_text_opt(&pp, p->ip));
    if (p->fields & STORE_PATCH_HOST) {
        SET("host_id", pg_param_text_opt(&pp, p->host_id));
        SET("run_dir", pg_param_text(&pp, p->run_dir));
        SET("qemu_pid", pg_param_i64_opt(&pp, p->qemu_pid));
        SET("qemu_start_time", pg_param_i64_opt(&pp, (int64_t)p->qemu_start_time));
    }
    if (p->fields & STORE_PATCH_BW_QUOTA)
        SET("bw_quota_bytes", pg_param_i64(&pp, p->bw_quota_bytes));
    if (p->fields & STORE_PATCH_BW_COUNTERS) {
        SET("bw_used_bytes", pg_param_i64(&pp, p->bw_used_bytes));
        SET("bw_ingress_bytes", pg_param_i64(&pp, p->bw_ingress_bytes));
        SET("bw_capped", pg_param_bool(&pp, p->bw_capped));
    }
    if (p->fields & STORE_PATCH_BW_SEEN) {
        SET("bw_seen_egress", pg_param_i64(&pp, p->bw_seen.egress));
        SET("bw_seen_ingress", pg_param_i64(&pp, p->bw_seen.ingress));
        SET("bw_seen_egress_handle", pg_param_i64(&pp, p->bw_seen.egress_handle));
        SET("bw_seen_ingress_handle", pg_param_i64(&pp, p->bw_seen.ingress_handle));
    }
    if (p->fields & STORE_PATCH_SPAWN_MS) {
        if (p->spawn_ms >= 0)
            SET("spawn_ms", pg_param_double(&pp, p->spawn_ms));
        else
            SET("spawn_ms", pg_param_text(&pp, NULL));
    }
    if (p->fields & STORE_PATCH_SNAPSHOT) {
        SET("snapshot_dir", pg_param_text_opt(&pp, p->snapshot_dir));
        SET("base_dir", pg_param_text_opt(&pp, p->base_dir));
    }
#undef SET
    (void)snprintf(sql + len, sizeof(sql) - len, " WHERE id = $1");
    return collision(s, pg_exec(s, sql, &pp, NULL));
}

int pg_sb_update(struct store *st, const char *user_id, const char *id,
                 const struct store_sandbox_patch *p)
{
    struct pg_store *s = to_pg(st);
    int r = tx_on_row(s, user_id, id, p->allowed_states);
    if (r == 0)
        r = update_fields(s, id, p);
    if (r == 0 && (p->fields & STORE_PATCH_EGRESS)) {
        struct pg_params pp = { 0 };
        pg_param_text(&pp, id);
        r = pg_exec(s, "DELETE FROM sandbox_egress WHERE sandbox_id = $1", &pp, NULL);
        if (r == 0)
            r = insert_egress(s, id, p->egress, p->n_egress);
    }
    return pg_tx_end(s, r);
}

/* $1 id, $2 to, $3 from, $4 intent, $5 now, $6 require no pending intent */
#define TRANSITION_SQL                                                                           \
    "UPDATE sandboxes SET status = $2, target_state = $4, "                                      \
    "intent_started_at = CASE WHEN $4::text IS NULL THEN NULL ELSE $5::bigint END, "             \
    "running_at = CASE WHEN $2 = 'running' THEN coalesce(running_at, $5) ELSE running_at END, "  \
    "spawn_ms = CASE WHEN $2 = 'running' AND spawn_ms IS NULL THEN $5 - created_at "             \
    "ELSE spawn_ms END, "                                                                        \
    "last_resumed_at = CASE WHEN $2 = 'running' AND $3 = 'resuming' THEN $5 "                    \
    "ELSE last_resumed_at END, "                                                                 \
    "paused_at = CASE WHEN $2 = 'paused' THEN $5 ELSE paused_at END, "                           \
    "destroyed_at = CASE WHEN $2 = 'destroyed' THEN $5 ELSE destroyed_at END, "                  \
    "ip = CASE WHEN $2 IN " TERMINAL_SQL " THEN NULL ELSE ip END, "                              \
    "updated_at = $5 "                                                                           \
    "WHERE id = $1 AND status = $3 AND ($6::int = 0 OR target_state IS NULL)"

int pg_sb_transition(struct store *st, const char *id, const struct store_transition *t,
                     struct store_sandbox *ret_sb)
{
    struct pg_store *s = to_pg(st);
    struct pg_params pp = { 0 };
    pg_param_text(&pp, id);
    pg_param_state_opt(&pp, t->to);
    pg_param_state_opt(&pp, t->from);
    pg_param_state_opt(&pp, t->intent);
    pg_param_i64(&pp, t->now_ms);
    pg_param_bool(&pp, (t->flags & STORE_TR_NO_PENDING) != 0);
    uint64_t changed = 0;
    int r = pg_tx_begin(s, true);
    if (r == 0)
        r = pg_exec_count(s, TRANSITION_SQL, &pp, &changed);
    if (r == 0 && changed == 0) {
        /* lost: say why, without changing anything */
        enum store_state status, target;
        r = row_state(s, NULL, id, &status, &target);
        if (r == 0)
            r = status != t->from ? -ESTALE : -EBUSY;
    }
    struct store_sandbox *v = NULL;
    size_t n = 0;
    if (r == 0 && ret_sb) {
        pp.n = 1;
        r = read_rows(s, "SELECT " SB_COLS " FROM sandboxes WHERE id = $1", &pp, &v, &n);
    }
    r = pg_tx_end(s, r);
    if (r < 0) {
        store_sandbox_array_free(v, n);
        return r;
    }
    return ret_sb ? keep_first(v, n, ret_sb) : 0;
}

int pg_sb_ssh_add(struct store *st, const char *user_id, const char *id, unsigned allowed_states,
                  const char *const *keys, size_t n, int64_t now_ms, size_t *ret_count)
{
    struct pg_store *s = to_pg(st);
    int r = tx_on_row(s, user_id, id, allowed_states);
    size_t count = 0;
    if (r == 0)
        r = insert_ssh(s, id, keys, n, &count);
    r = pg_tx_end(s, r);
    if (r == 0)
        *ret_count = count;
    return r;
}

/* pg_read_fn for a (key, value) row of the envs */
static int read_env(const PGresult *res, int row, void *elem)
{
    char *kcopy = NULL;
    uint8_t *vcopy = NULL;
    size_t len = 0;
    int r = pg_col_strdup(res, row, 0, &kcopy);
    if (r == 0 && !kcopy)
        r = -EUCLEAN;
    if (r == 0)
        r = pg_col_bytea_dup(res, row, 1, &vcopy, &len);
    if (r == 0 && !vcopy && !(vcopy = calloc(1, 1)))
        r = -ENOMEM;
    if (r < 0) {
        free(kcopy);
        free(vcopy);
        return r;
    }
    struct store_env *env = elem;
    *env = (struct store_env){ .key = kcopy, .value = (char *)vcopy, .value_len = len };
    return 0;
}

int pg_sb_envs_get(struct store *st, const char *id, struct store_env **ret, size_t *ret_n)
{
    struct pg_store *s = to_pg(st);
    enum store_state status, target;
    struct pg_params pp = { 0 };
    pg_param_text(&pp, id);
    void *v = NULL;
    size_t n = 0;
    int r = pg_tx_begin(s, false);
    if (r == 0)
        r = row_state(s, NULL, id, &status, &target);
    PGresult *res = NULL;
    if (r == 0)
        r = pg_exec(s, "SELECT key, value FROM sandbox_envs WHERE sandbox_id = $1 ORDER BY key",
                    &pp, &res);
    if (r == 0) {
        r = pg_read_all(res, sizeof(struct store_env), read_env, &v, &n);
        PQclear(res);
    }
    r = pg_tx_end(s, r);
    if (r < 0) {
        store_envs_free(v, n);
        return r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

int pg_sb_list_unsettled(struct store *st, const char *host_id, struct store_sandbox **ret,
                         size_t *ret_n)
{
    struct pg_params pp = { 0 };
    if (host_id)
        pg_param_text(&pp, host_id);
    return select_rows(to_pg(st),
                       host_id ? "SELECT " SB_COLS " FROM sandboxes WHERE (target_state IS NOT "
                                 "NULL OR status NOT IN " TERMINAL_SQL ") AND host_id = $1 "
                                 "ORDER BY created_at, id"
                               : "SELECT " SB_COLS " FROM sandboxes WHERE target_state IS NOT "
                                 "NULL OR status NOT IN " TERMINAL_SQL " ORDER BY created_at, id",
                       &pp, ret, ret_n);
}

int pg_sb_purge(struct store *st, int64_t cutoff_ms)
{
    struct pg_store *s = to_pg(st);
    struct pg_params pp = { 0 };
    pg_param_i64(&pp, cutoff_ms);
    uint64_t n = 0;
    int r = pg_tx_begin(s, true);
    if (r == 0)
        r = pg_exec_count(s, "DELETE FROM sandboxes WHERE status IN " TERMINAL_SQL
                             " AND coalesce(destroyed_at, updated_at) < $1", &pp, &n);
    r = pg_tx_end(s, r);
    return r < 0 ? r : n > INT32_MAX ? INT32_MAX : (int)n;
}

int pg_snapshot_refs(struct store *st, const char *dir, uint64_t *ret_n)
{
    struct pg_params pp = { 0 };
    pg_param_text(&pp, dir);
    int64_t n = 0;
    int r = pg_select_ints(to_pg(st), "SELECT count(*) FROM sandboxes WHERE status NOT IN "
                                      TERMINAL_SQL " AND (snapshot_dir = $1 OR base_dir = $1)",
                           &pp, &n, 1);
    if (r == 0)
        *ret_n = (uint64_t)n;
    return r;
}
