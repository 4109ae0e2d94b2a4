/* SPDX-License-Identifier: MIT */
/* sqlite_sb.c: sandbox rows in the SQLite backend: the row codec (bind_row, read_row), the
 * child lists (envs, egress rules, ssh keys) and the sandbox calls of store_ops. Every call is
 * one transaction; a state change is a compare-and-set on the row's status. */
#include "daemon/store/sqlite_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Columns of a sandbox row, in the order read_row() and bind_row() use. */
enum col {
    C_ID, C_USER_ID, C_NAME, C_HOSTNAME, C_STATUS, C_SHAPE, C_VCPU, C_MEM_MIB, C_DISK_MIB,
    C_ROOTFS, C_REGION, C_IP, C_CREATED_AT, C_RUNNING_AT, C_PAUSED_AT, C_LAST_RESUMED_AT,
    C_DESTROYED_AT, C_SPAWN_MS, C_INGRESS_ENABLED, C_CREATED_BY, C_FORKED_FROM, C_AUTO_PAUSE,
    C_START_PAUSED, C_BW_QUOTA, C_BW_USED, C_BW_INGRESS, C_BW_CAPPED, C_HOST_ID, C_RUN_DIR,
    C_QEMU_PID, C_QEMU_START_TIME, C_TARGET_STATE, C_INTENT_STARTED_AT, C_UPDATED_AT,
    C_SNAPSHOT_DIR, C_BASE_DIR, C_BW_SEEN_EG, C_BW_SEEN_IN, C_BW_SEEN_EG_H, C_BW_SEEN_IN_H,
    C__COUNT,
};

static int bind_row(sqlite3_stmt *q, const struct store_sandbox *sb)
{
    int rc = 0;
    rc |= sqlite_bind_text(q, C_ID + 1, sb->id);
    rc |= sqlite_bind_text(q, C_USER_ID + 1, sb->user_id);
    rc |= sqlite_bind_text(q, C_NAME + 1, sb->name);
    rc |= sqlite_bind_text(q, C_HOSTNAME + 1, sb->hostname);
    rc |= sqlite_bind_state_opt(q, C_STATUS + 1, sb->status);
    rc |= sqlite_bind_text(q, C_SHAPE + 1, sb->shape);
    rc |= sqlite3_bind_int64(q, C_VCPU + 1, sb->vcpu);
    rc |= sqlite3_bind_int64(q, C_MEM_MIB + 1, sb->mem_mib);
    rc |= sqlite3_bind_int64(q, C_DISK_MIB + 1, sb->disk_mib);
    rc |= sqlite_bind_text(q, C_ROOTFS + 1, sb->rootfs);
    rc |= sqlite_bind_text(q, C_REGION + 1, sb->region);
    rc |= sqlite_bind_text_opt(q, C_IP + 1, sb->ip);
    rc |= sqlite3_bind_int64(q, C_CREATED_AT + 1, sb->created_at);
    rc |= sqlite_bind_i64_opt(q, C_RUNNING_AT + 1, sb->running_at);
    rc |= sqlite_bind_i64_opt(q, C_PAUSED_AT + 1, sb->paused_at);
    rc |= sqlite_bind_i64_opt(q, C_LAST_RESUMED_AT + 1, sb->last_resumed_at);
    rc |= sqlite_bind_i64_opt(q, C_DESTROYED_AT + 1, sb->destroyed_at);
    rc |= sb->spawn_ms >= 0 ? sqlite3_bind_double(q, C_SPAWN_MS + 1, sb->spawn_ms)
                            : sqlite3_bind_null(q, C_SPAWN_MS + 1);
    rc |= sqlite3_bind_int(q, C_INGRESS_ENABLED + 1, sb->ingress_enabled);
    rc |= sqlite_bind_text(q, C_CREATED_BY + 1, sb->created_by);
    rc |= sqlite_bind_text_opt(q, C_FORKED_FROM + 1, sb->forked_from);
    rc |= sqlite_bind_i64_opt(q, C_AUTO_PAUSE + 1, sb->auto_pause_after_seconds);
    rc |= sqlite3_bind_int(q, C_START_PAUSED + 1, sb->start_paused);
    rc |= sqlite3_bind_int64(q, C_BW_QUOTA + 1, sb->bw_quota_bytes);
    rc |= sqlite3_bind_int64(q, C_BW_USED + 1, sb->bw_used_bytes);
    rc |= sqlite3_bind_int64(q, C_BW_INGRESS + 1, sb->bw_ingress_bytes);
    rc |= sqlite3_bind_int(q, C_BW_CAPPED + 1, sb->bw_capped);
    rc |= sqlite_bind_text_opt(q, C_HOST_ID + 1, sb->host_id);
    rc |= sqlite_bind_text_opt(q, C_RUN_DIR + 1, sb->run_dir);
    rc |= sqlite_bind_i64_opt(q, C_QEMU_PID + 1, sb->qemu_pid);
    rc |= sqlite_bind_i64_opt(q, C_QEMU_START_TIME + 1, (int64_t)sb->qemu_start_time);
    rc |= sqlite_bind_state_opt(q, C_TARGET_STATE + 1, sb->target_state);
    rc |= sqlite_bind_i64_opt(q, C_INTENT_STARTED_AT + 1, sb->intent_started_at);
    rc |= sqlite3_bind_int64(q, C_UPDATED_AT + 1, sb->updated_at ? sb->updated_at : sb->created_at);
    rc |= sqlite_bind_text_opt(q, C_SNAPSHOT_DIR + 1, sb->snapshot_dir ? sb->snapshot_dir : "");
    rc |= sqlite_bind_text_opt(q, C_BASE_DIR + 1, sb->base_dir ? sb->base_dir : "");
    rc |= sqlite3_bind_int64(q, C_BW_SEEN_EG + 1, sb->bw_seen.egress);
    rc |= sqlite3_bind_int64(q, C_BW_SEEN_IN + 1, sb->bw_seen.ingress);
    rc |= sqlite3_bind_int64(q, C_BW_SEEN_EG_H + 1, sb->bw_seen.egress_handle);
    rc |= sqlite3_bind_int64(q, C_BW_SEEN_IN_H + 1, sb->bw_seen.ingress_handle);
    return rc == SQLITE_OK ? 0 : -ENOMEM;
}

/* Reads the SB_COLS of the current row into *sb (lists left empty). On failure *sb holds nothing
 * that needs freeing. */
static int read_row(sqlite3_stmt *q, void *elem)
{
    struct store_sandbox *sb = elem;
    static const struct sqlite_text_col texts[] = {
#define T(c, f) SQLITE_TEXT_COL(c, struct store_sandbox, f)
        T(C_ID, id), T(C_USER_ID, user_id), T(C_NAME, name), T(C_HOSTNAME, hostname),
        T(C_SHAPE, shape), T(C_ROOTFS, rootfs), T(C_REGION, region), T(C_IP, ip),
        T(C_CREATED_BY, created_by), T(C_FORKED_FROM, forked_from), T(C_HOST_ID, host_id),
#undef T
    };
    store_sandbox_init(sb);
    int r;
    if ((r = sqlite_col_texts(q, sb, texts, sizeof(texts) / sizeof(texts[0]))) < 0 ||
        (r = sqlite_col_state(q, C_STATUS, &sb->status, false)) < 0 ||
        (r = sqlite_col_state(q, C_TARGET_STATE, &sb->target_state, true)) < 0)
        return r;
    sb->vcpu = (int32_t)sqlite3_column_int64(q, C_VCPU);
    sb->mem_mib = sqlite3_column_int64(q, C_MEM_MIB);
    sb->disk_mib = sqlite3_column_int64(q, C_DISK_MIB);
    sb->created_at = sqlite3_column_int64(q, C_CREATED_AT);
    sb->running_at = sqlite3_column_int64(q, C_RUNNING_AT);
    sb->paused_at = sqlite3_column_int64(q, C_PAUSED_AT);
    sb->last_resumed_at = sqlite3_column_int64(q, C_LAST_RESUMED_AT);
    sb->destroyed_at = sqlite3_column_int64(q, C_DESTROYED_AT);
    sb->spawn_ms = sqlite3_column_type(q, C_SPAWN_MS) == SQLITE_NULL
                       ? -1
                       : sqlite3_column_double(q, C_SPAWN_MS);
    sb->ingress_enabled = sqlite3_column_int(q, C_INGRESS_ENABLED) != 0;
    sb->auto_pause_after_seconds = sqlite3_column_int64(q, C_AUTO_PAUSE);
    sb->start_paused = sqlite3_column_int(q, C_START_PAUSED) != 0;
    sb->bw_quota_bytes = sqlite3_column_int64(q, C_BW_QUOTA);
    sb->bw_used_bytes = sqlite3_column_int64(q, C_BW_USED);
    sb->bw_ingress_bytes = sqlite3_column_int64(q, C_BW_INGRESS);
    sb->bw_capped = sqlite3_column_int(q, C_BW_CAPPED) != 0;
    sb->bw_seen = (struct store_bw_seen){
        .egress = sqlite3_column_int64(q, C_BW_SEEN_EG),
        .ingress = sqlite3_column_int64(q, C_BW_SEEN_IN),
        .egress_handle = sqlite3_column_int64(q, C_BW_SEEN_EG_H),
        .ingress_handle = sqlite3_column_int64(q, C_BW_SEEN_IN_H),
    };
    sb->qemu_pid = (int32_t)sqlite3_column_int64(q, C_QEMU_PID);
    sb->qemu_start_time = (uint64_t)sqlite3_column_int64(q, C_QEMU_START_TIME);
    sb->intent_started_at = sqlite3_column_int64(q, C_INTENT_STARTED_AT);
    sb->updated_at = sqlite3_column_int64(q, C_UPDATED_AT);
    if ((r = sqlite_col_strdup(q, C_RUN_DIR, &sb->run_dir)) < 0 ||
        (r = sqlite_col_strdup(q, C_SNAPSHOT_DIR, &sb->snapshot_dir)) < 0 ||
        (r = sqlite_col_strdup(q, C_BASE_DIR, &sb->base_dir)) < 0) {
        store_sandbox_release(sb);
        return r;
    }
    return 0;
}

/* Reads the one-column text rows of child-list statement id for sandbox_id into *ret. */
static int load_strv(struct sqlite_store *s, enum sqlite_stmt_id id, const char *sandbox_id,
                     struct store_strv *ret)
{
    int r = 0;
    sqlite3_stmt *q = sqlite_stmt_texts(s, id, &sandbox_id, 1, &r);
    return q ? sqlite_read_strv(s, q, ret) : r;
}

static int load_lists(struct sqlite_store *s, struct store_sandbox *sb)
{
    int r;
    if ((r = load_strv(s, S_SB_ENV_KEYS, sb->id, &sb->env_keys)) < 0 ||
        (r = load_strv(s, S_SB_EGRESS, sb->id, &sb->egress)) < 0 ||
        (r = load_strv(s, S_SB_SSH, sb->id, &sb->ssh_pubkeys)) < 0)
        return r;
    return 0;
}

/* Steps q (already bound) and reads every row, with lists, into a new array. Resets q. */
static int read_rows(struct sqlite_store *s, sqlite3_stmt *q, struct store_sandbox **ret,
                     size_t *ret_n)
{
    void *all;
    size_t n;
    int r = sqlite_read_all(s, q, sizeof(struct store_sandbox), 16, read_row, &all, &n);
    struct store_sandbox *v = all;
    /* the lists come after the main statement is reset: its cursor may share pages with them */
    for (size_t i = 0; r == 0 && i < n; i++)
        r = load_lists(s, &v[i]);
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

/* Reads exactly one row from q, or -ENOENT. */
static int read_one(struct sqlite_store *s, sqlite3_stmt *q, struct store_sandbox *ret)
{
    struct store_sandbox *v;
    size_t n;
    int r = read_rows(s, q, &v, &n);
    return r < 0 ? r : keep_first(v, n, ret);
}

/* Runs cached statement id with text parameters p[0..np) in a read transaction and reads every
 * row, with its lists, into a new array. */
static int select_rows(struct sqlite_store *s, enum sqlite_stmt_id id, const char *const *p,
                       size_t np, struct store_sandbox **ret, size_t *ret_n)
{
    struct store_sandbox *v = NULL;
    size_t n = 0;
    int r = sqlite_tx_begin(s, false);
    sqlite3_stmt *q = r == 0 ? sqlite_stmt_texts(s, id, p, np, &r) : NULL;
    if (q)
        r = read_rows(s, q, &v, &n);
    r = sqlite_tx_end(s, r);
    if (r < 0) {
        store_sandbox_array_free(v, n);
        return r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

/* select_rows() for a statement that matches at most one row: -ENOENT when it matches none. */
static int select_one(struct sqlite_store *s, enum sqlite_stmt_id id, const char *const *p,
                      size_t np, struct store_sandbox *ret)
{
    struct store_sandbox *v;
    size_t n;
    int r = select_rows(s, id, p, np, &v, &n);
    return r < 0 ? r : keep_first(v, n, ret);
}

/* ---- sandboxes ---- */

/* Binds the columns of child row i of items after the sandbox id (parameters 2 and 3). */
typedef int bind_child_fn(sqlite3_stmt *q, const void *items, size_t i);

/* Inserts the n child rows of sandbox id with cached statement sid, one step each. */
static int insert_children(struct sqlite_store *s, enum sqlite_stmt_id sid, const char *id,
                           const void *items, size_t n, bind_child_fn *bind)
{
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        sqlite3_stmt *q = sqlite_stmt(s, sid, &r);
        if (!q)
            break;
        if (sqlite_bind_text(q, 1, id) != SQLITE_OK)
            return -ENOMEM;
        if ((r = bind(q, items, i)) < 0)
            return r;
        r = sqlite_step_done(s, q);
    }
    return r;
}

static int bind_egress(sqlite3_stmt *q, const void *items, size_t i)
{
    const char *const *rules = items;
    return sqlite3_bind_int64(q, 2, (int64_t)i) | sqlite_bind_text(q, 3, rules[i]) ? -ENOMEM : 0;
}

static int insert_egress(struct sqlite_store *s, const char *id, const char *const *rules,
                         size_t n)
{
    return insert_children(s, S_SB_EGRESS_INSERT, id, rules, n, bind_egress);
}

/* Runs cached count statement id for the text param: the count, or -errno. */
static int count_of(struct sqlite_store *s, enum sqlite_stmt_id id, const char *param,
                    uint64_t *ret_n)
{
    int r = 0;
    sqlite3_stmt *q = sqlite_stmt_texts(s, id, &param, 1, &r);
    if (!q)
        return r;
    r = sqlite_step_one(s, q);
    if (r == 0)
        *ret_n = (uint64_t)sqlite3_column_int64(q, 0);
    (void)sqlite3_reset(q);
    return r == -ENOENT ? -EIO : r;
}

static int bind_ssh(sqlite3_stmt *q, const void *items, size_t i)
{
    const char *key = ((const char *const *)items)[i];
    size_t idlen = store_sshkey_identity_len(key);
    return sqlite3_bind_text(q, 2, key, (int)idlen, SQLITE_STATIC) | sqlite_bind_text(q, 3, key)
               ? -ENOMEM
               : 0;
}

/* Adds keys (skipping duplicates) and returns the count after, checked against the cap. */
static int insert_ssh(struct sqlite_store *s, const char *id, const char *const *keys, size_t n,
                      size_t *ret_count)
{
    uint64_t count;
    int r = insert_children(s, S_SB_SSH_INSERT, id, keys, n, bind_ssh);
    if (r == 0)
        r = count_of(s, S_SB_SSH_COUNT, id, &count);
    if (r < 0)
        return r;
    if (ret_count)
        *ret_count = (size_t)count;
    return count > STORE_MAX_SSH_KEYS ? -E2BIG : 0;
}

static int bind_env(sqlite3_stmt *q, const void *items, size_t i)
{
    const struct store_env *env = (const struct store_env *)items + i;
    /* a zero-length blob must still be non-NULL for the NOT NULL column */
    const void *val = env->value_len ? (const void *)env->value : "";
    if (env->value_len > (size_t)INT32_MAX)
        return -E2BIG;
    return sqlite_bind_text(q, 2, env->key) |
                   sqlite3_bind_blob(q, 3, val, (int)env->value_len, SQLITE_STATIC)
               ? -ENOMEM
               : 0;
}

static int insert_envs(struct sqlite_store *s, const char *id, const struct store_env *envs,
                       size_t n)
{
    int r = insert_children(s, S_SB_ENV_INSERT, id, envs, n, bind_env);
    return r == -EEXIST ? -EINVAL : r; /* the same key twice */
}

/* Inserts one row and its lists; distinguishes an address collision from a name collision. */
static int insert_one(struct sqlite_store *s, const struct store_sandbox *sb,
                      const struct store_env *envs, size_t n_envs)
{
    int r = 0;
    sqlite3_stmt *q = sqlite_stmt(s, S_SB_INSERT, &r);
    if (!q)
        return r;
    r = bind_row(q, sb);
    if (r < 0)
        return r;
    int rc = sqlite3_step(q);
    if (rc != SQLITE_DONE) {
        r = sqlite_fail(s, rc);
        (void)sqlite3_reset(q);
        /* SQLite names the columns of the unique index that failed */
        if (r == -EEXIST && strstr(sqlite3_errmsg(s->db), "sandboxes.ip"))
            r = -EADDRINUSE;
        return r;
    }
    (void)sqlite3_reset(q);
    if ((r = insert_envs(s, sb->id, envs, n_envs)) < 0 ||
        (r = insert_egress(s, sb->id, (const char *const *)sb->egress.v, sb->egress.n)) < 0 ||
        (sb->ssh_pubkeys.n > 0 &&
         (r = insert_ssh(s, sb->id, (const char *const *)sb->ssh_pubkeys.v, sb->ssh_pubkeys.n,
                         NULL)) < 0))
        return r;
    return 0;
}

int sqlite_sb_insert(struct store *st, const struct store_sandbox *rows, size_t n,
                     const struct store_env *envs, size_t n_envs)
{
    struct sqlite_store *s = to_sqlite(st);
    int r = sqlite_tx_begin(s, true);
    for (size_t i = 0; i < n && r == 0; i++)
        r = insert_one(s, &rows[i], i == 0 ? envs : NULL, i == 0 ? n_envs : 0);
    return sqlite_tx_end(s, r);
}

int sqlite_sb_get(struct store *st, const char *user_id, const char *id,
                  struct store_sandbox *ret)
{
    const char *p[] = { id, user_id };
    return select_one(to_sqlite(st), user_id ? S_SB_GET : S_SB_GET_ANY, p, user_id ? 2 : 1, ret);
}

int sqlite_sb_get_by_ip(struct store *st, const char *user_id, const char *ip,
                        struct store_sandbox *ret)
{
    const char *p[] = { ip, user_id };
    return select_one(to_sqlite(st), S_SB_GET_BY_IP, p, 2, ret);
}

int sqlite_sb_get_ingress_name(struct store *st, const char *hostname,
                               struct store_sandbox *ret)
{
    const char *p[] = { hostname };
    struct store_sandbox *v;
    size_t n;
    int r = select_rows(to_sqlite(st), S_SB_GET_INGRESS_NAME, p, 1, &v, &n);
    if (r < 0)
        return r;
    if (n > 1) {
        for (size_t i = 0; i < n; i++)
            store_sandbox_release(&v[i]);
        free(v);
        return -ENOTUNIQ;
    }
    return keep_first(v, n, ret);
}

int sqlite_sb_list_by_name(struct store *st, const char *name, struct store_sandbox_page *ret)
{
    const char *p[] = { name };
    struct store_sandbox_page page = { 0 };
    int r = select_rows(to_sqlite(st), S_SB_BY_NAME, p, 1, &page.items, &page.count);
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

int sqlite_sb_list(struct store *st, const struct store_list_query *qr,
                   struct store_sandbox_page *ret)
{
    struct sqlite_store *s = to_sqlite(st);
    char where[256], sql[1024];
    status_clause(qr->status_mask, where, sizeof(where));
    struct store_sandbox_page page = { 0 };
    int r = sqlite_tx_begin(s, false);
    if (r < 0)
        return r;
    sqlite3_stmt *q = NULL;
    (void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM sandboxes WHERE user_id = ?1%s", where);
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
    if (rc != SQLITE_OK) {
        r = sqlite_fail(s, rc);
        goto out_end;
    }
    r = sqlite_bind_text(q, 1, qr->user_id) == SQLITE_OK ? sqlite_step_row(s, q) : -ENOMEM;
    if (r == 1) {
        page.total = (uint64_t)sqlite3_column_int64(q, 0);
        r = 0;
    } else if (r == 0) {
        r = -EIO;
    }
    sqlite3_finalize(q);
    q = NULL;
    if (r < 0 || qr->limit == 0 || qr->offset >= page.total)
        goto out_end;
    (void)snprintf(sql, sizeof(sql),
                   "SELECT " SB_COLS " FROM sandboxes WHERE user_id = ?1%s "
                   "ORDER BY created_at DESC, id DESC LIMIT ?2 OFFSET ?3",
                   where);
    rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
    if (rc != SQLITE_OK) {
        r = sqlite_fail(s, rc);
        goto out_end;
    }
    /* offset < total fits in int64; a limit past INT64_MAX means "all" */
    int64_t limit = qr->limit > (size_t)INT64_MAX ? -1 : (int64_t)qr->limit;
    if (sqlite_bind_text(q, 1, qr->user_id) | sqlite3_bind_int64(q, 2, limit) |
        sqlite3_bind_int64(q, 3, (int64_t)qr->offset))
        r = -ENOMEM;
    else
        r = read_rows(s, q, &page.items, &page.count);
    sqlite3_finalize(q);
out_end:
    r = sqlite_tx_end(s, r);
    if (r < 0) {
        store_sandbox_page_release(&page);
        return r;
    }
    *ret = page;
    return 0;
}

int sqlite_sb_count(struct store *st, const char *user_id,
                    uint64_t counts[STORE_STATE__COUNT])
{
    struct sqlite_store *s = to_sqlite(st);
    uint64_t c[STORE_STATE__COUNT] = { 0 };
    int r = 0;
    sqlite3_stmt *q = sqlite_stmt_texts(s, S_SB_COUNT, &user_id, 1, &r);
    if (!q)
        return r;
    while ((r = sqlite_step_row(s, q)) == 1) {
        enum store_state state;
        r = sqlite_col_state(q, 0, &state, false);
        if (r < 0)
            break;
        c[state] = (uint64_t)sqlite3_column_int64(q, 1);
    }
    (void)sqlite3_reset(q);
    if (r < 0)
        return r;
    memcpy(counts, c, sizeof(c));
    return 0;
}

/* Reads the row's state under the caller's transaction: -ENOENT when missing or not user_id's. */
static int row_state(struct sqlite_store *s, const char *user_id, const char *id,
                     enum store_state *ret_status, enum store_state *ret_target)
{
    int r = 0;
    sqlite3_stmt *q = sqlite_stmt(s, S_SB_STATE, &r);
    if (!q)
        return r;
    if (sqlite_bind_text(q, 1, id) != SQLITE_OK || sqlite_bind_text_opt(q, 2, user_id) != SQLITE_OK)
        return -ENOMEM;
    r = sqlite_step_one(s, q);
    if (r == 0)
        r = sqlite_col_state(q, 0, ret_status, false);
    if (r == 0)
        r = sqlite_col_state(q, 1, ret_target, true);
    (void)sqlite3_reset(q);
    return r;
}

/* Begins a write transaction on row id of user_id (any user when NULL), whose status must be in
 * allowed_states (any when 0): -ENOENT, -ESTALE or -errno otherwise. End it with tx_end. */
static int tx_on_row(struct sqlite_store *s, const char *user_id, const char *id,
                     unsigned allowed_states)
{
    enum store_state status, target;
    int r = sqlite_tx_begin(s, true);
    if (r == 0)
        r = row_state(s, user_id, id, &status, &target);
    if (r == 0 && allowed_states && !(allowed_states & STORE_STATE_BIT(status)))
        r = -ESTALE;
    return r;
}

/* Builds and runs the UPDATE for the scalar fields of a patch. */
static int update_fields(struct sqlite_store *s, const char *id,
                         const struct store_sandbox_patch *p)
{
    static const struct { unsigned field; const char *set; } sets[] = {
        { STORE_PATCH_INGRESS, "ingress_enabled = :ingress" },
        { STORE_PATCH_AUTO_PAUSE, "auto_pause_after_seconds = :auto_pause" },
        { STORE_PATCH_START_PAUSED, "start_paused = :start_paused" },
        { STORE_PATCH_DISK, "disk_mib = :disk_mib" },
        { STORE_PATCH_IP, "ip = :ip" },
        { STORE_PATCH_HOST, "host_id = :host_id, run_dir = :run_dir, qemu_pid = :qemu_pid, "
                            "qemu_start_time = :qemu_start_time" },
        { STORE_PATCH_BW_QUOTA, "bw_quota_bytes = :bw_quota" },
        { STORE_PATCH_BW_COUNTERS, "bw_used_bytes = :bw_used, bw_ingress_bytes = :bw_ingress, "
                                   "bw_capped = :bw_capped" },
        { STORE_PATCH_BW_SEEN, "bw_seen_egress = :seen_eg, bw_seen_ingress = :seen_in, "
                               "bw_seen_egress_handle = :seen_egh, "
                               "bw_seen_ingress_handle = :seen_inh" },
        { STORE_PATCH_SPAWN_MS, "spawn_ms = :spawn_ms" },
        { STORE_PATCH_SNAPSHOT, "snapshot_dir = :snapshot_dir, base_dir = :base_dir" },
    };
    char sql[1024];
    size_t len = (size_t)snprintf(sql, sizeof(sql), "UPDATE sandboxes SET updated_at = :now");
    for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
        if (p->fields & sets[i].field)
            len += (size_t)snprintf(sql + len, sizeof(sql) - len, ", %s", sets[i].set);
    (void)snprintf(sql + len, sizeof(sql) - len, " WHERE id = :id");
    sqlite3_stmt *q;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
    if (rc != SQLITE_OK)
        return sqlite_fail(s, rc);
#define IDX(name) sqlite3_bind_parameter_index(q, name)
    rc = sqlite3_bind_int64(q, IDX(":now"), p->now_ms) | sqlite_bind_text(q, IDX(":id"), id);
    if (p->fields & STORE_PATCH_INGRESS)
        rc |= sqlite3_bind_int(q, IDX(":ingress"), p->ingress_enabled);
    if (p->fields & STORE_PATCH_AUTO_PAUSE)
        rc |= sqlite_bind_i64_opt(q, IDX(":auto_pause"), p->auto_pause_after_seconds);
    if (p->fields & STORE_PATCH_START_PAUSED)
        rc |= sqlite3_bind_int(q, IDX(":start_paused"), p->start_paused);
    if (p->fields & STORE_PATCH_DISK)
        rc |= sqlite3_bind_int64(q, IDX(":disk_mib"), p->disk_mib);
    if (p->fields & STORE_PATCH_IP)
        rc |= sqlite_bind_text_opt(q, IDX(":ip"), p->ip);
    if (p->fields & STORE_PATCH_HOST) {
        rc |= sqlite_bind_text_opt(q, IDX(":host_id"), p->host_id);
        rc |= p->run_dir ? sqlite_bind_text(q, IDX(":run_dir"), p->run_dir)
                         : sqlite3_bind_null(q, IDX(":run_dir"));
        rc |= sqlite_bind_i64_opt(q, IDX(":qemu_pid"), p->qemu_pid);
        rc |= sqlite_bind_i64_opt(q, IDX(":qemu_start_time"), (int64_t)p->qemu_start_time);
    }
    if (p->fields & STORE_PATCH_BW_QUOTA)
        rc |= sqlite3_bind_int64(q, IDX(":bw_quota"), p->bw_quota_bytes);
    if (p->fields & STORE_PATCH_BW_COUNTERS) {
        rc |= sqlite3_bind_int64(q, IDX(":bw_used"), p->bw_used_bytes);
        rc |= sqlite3_bind_int64(q, IDX(":bw_ingress"), p->bw_ingress_bytes);
        rc |= sqlite3_bind_int(q, IDX(":bw_capped"), p->bw_capped);
    }
    if (p->fields & STORE_PATCH_BW_SEEN) {
        rc |= sqlite3_bind_int64(q, IDX(":seen_eg"), p->bw_seen.egress);
        rc |= sqlite3_bind_int64(q, IDX(":seen_in"), p->bw_seen.ingress);
        rc |= sqlite3_bind_int64(q, IDX(":seen_egh"), p->bw_seen.egress_handle);
        rc |= sqlite3_bind_int64(q, IDX(":seen_inh"), p->bw_seen.ingress_handle);
    }
    if (p->fields & STORE_PATCH_SPAWN_MS)
        rc |= p->spawn_ms >= 0 ? sqlite3_bind_double(q, IDX(":spawn_ms"), p->spawn_ms)
                               : sqlite3_bind_null(q, IDX(":spawn_ms"));
    if (p->fields & STORE_PATCH_SNAPSHOT) {
        rc |= p->snapshot_dir && *p->snapshot_dir
                  ? sqlite_bind_text(q, IDX(":snapshot_dir"), p->snapshot_dir)
                  : sqlite3_bind_null(q, IDX(":snapshot_dir"));
        rc |= p->base_dir && *p->base_dir ? sqlite_bind_text(q, IDX(":base_dir"), p->base_dir)
                                          : sqlite3_bind_null(q, IDX(":base_dir"));
    }
#undef IDX
    int r = rc == SQLITE_OK ? sqlite_step_done(s, q) : -ENOMEM;
    sqlite3_finalize(q);
    if (r == -EEXIST && strstr(sqlite3_errmsg(s->db), "sandboxes.ip"))
        r = -EADDRINUSE;
    return r;
}

int sqlite_sb_update(struct store *st, const char *user_id, const char *id,
                     const struct store_sandbox_patch *p)
{
    struct sqlite_store *s = to_sqlite(st);
    int r = tx_on_row(s, user_id, id, p->allowed_states);
    if (r == 0)
        r = update_fields(s, id, p);
    if (r == 0 && (p->fields & STORE_PATCH_EGRESS)) {
        sqlite3_stmt *q = sqlite_stmt_texts(s, S_SB_EGRESS_DELETE, &id, 1, &r);
        if (q)
            r = sqlite_step_done(s, q);
        if (r == 0)
            r = insert_egress(s, id, p->egress, p->n_egress);
    }
    return sqlite_tx_end(s, r);
}

int sqlite_sb_transition(struct store *st, const char *id, const struct store_transition *t,
                         struct store_sandbox *ret_sb)
{
    struct sqlite_store *s = to_sqlite(st);
    int r = sqlite_tx_begin(s, true);
    sqlite3_stmt *q = r == 0 ? sqlite_stmt(s, S_SB_TRANSITION, &r) : NULL;
    if (q) {
        if (sqlite_bind_text(q, 1, id) | sqlite_bind_state_opt(q, 2, t->to) |
            sqlite_bind_state_opt(q, 3, t->from) | sqlite_bind_state_opt(q, 4, t->intent) |
            sqlite3_bind_int64(q, 5, t->now_ms) |
            sqlite3_bind_int(q, 6, (t->flags & STORE_TR_NO_PENDING) != 0))
            r = -ENOMEM;
        else
            r = sqlite_step_done(s, q);
    }
    if (r == 0 && sqlite3_changes(s->db) == 0) {
        /* lost: say why, without changing anything */
        enum store_state status, target;
        r = row_state(s, NULL, id, &status, &target);
        if (r == 0)
            r = status != t->from ? -ESTALE : -EBUSY;
    }
    struct store_sandbox row;
    bool have_row = false;
    if (r == 0 && ret_sb) {
        q = sqlite_stmt_texts(s, S_SB_GET_ANY, &id, 1, &r);
        if (q)
            r = read_one(s, q, &row);
        have_row = r == 0;
    }
    r = sqlite_tx_end(s, r);
    if (have_row) {
        if (r == 0)
            *ret_sb = row;
        else
            store_sandbox_release(&row);
    }
    return r;
}

int sqlite_sb_ssh_add(struct store *st, const char *user_id, const char *id,
                      unsigned allowed_states, const char *const *keys, size_t n,
                      int64_t now_ms, size_t *ret_count)
{
    struct sqlite_store *s = to_sqlite(st);
    int r = tx_on_row(s, user_id, id, allowed_states);
    size_t count = 0;
    if (r == 0)
        r = insert_ssh(s, id, keys, n, &count);
    r = sqlite_tx_end(s, r);
    if (r == 0)
        *ret_count = count;
    return r;
}

/* sqlite_read_fn for a (key, value) row of S_SB_ENVS */
static int read_env(sqlite3_stmt *q, void *elem)
{
    const char *key = (const char *)sqlite3_column_text(q, 0);
    const void *val = sqlite3_column_blob(q, 1);
    size_t len = (size_t)sqlite3_column_bytes(q, 1);
    char *kcopy = key ? strdup(key) : NULL;
    char *vcopy = malloc(len + 1);
    if (!kcopy || !vcopy) {
        free(kcopy);
        free(vcopy);
        return -ENOMEM;
    }
    if (len)
        memcpy(vcopy, val, len);
    vcopy[len] = '\0';
    struct store_env *env = elem;
    *env = (struct store_env){ .key = kcopy, .value = vcopy, .value_len = len };
    return 0;
}

int sqlite_sb_envs_get(struct store *st, const char *id, struct store_env **ret, size_t *ret_n)
{
    struct sqlite_store *s = to_sqlite(st);
    enum store_state status, target;
    void *v = NULL;
    size_t n = 0;
    int r = sqlite_tx_begin(s, false);
    if (r == 0)
        r = row_state(s, NULL, id, &status, &target);
    sqlite3_stmt *q = r == 0 ? sqlite_stmt_texts(s, S_SB_ENVS, &id, 1, &r) : NULL;
    if (q)
        r = sqlite_read_all(s, q, sizeof(struct store_env), 8, read_env, &v, &n);
    r = sqlite_tx_end(s, r);
    if (r < 0) {
        store_envs_free(v, n);
        return r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

int sqlite_sb_list_unsettled(struct store *st, const char *host_id, struct store_sandbox **ret,
                             size_t *ret_n)
{
    const char *p[] = { host_id };
    return select_rows(to_sqlite(st), host_id ? S_SB_UNSETTLED_HOST : S_SB_UNSETTLED, p,
                       host_id ? 1 : 0, ret, ret_n);
}

int sqlite_sb_purge(struct store *st, int64_t cutoff_ms)
{
    struct sqlite_store *s = to_sqlite(st);
    int r = sqlite_tx_begin(s, true);
    sqlite3_stmt *q = r == 0 ? sqlite_stmt(s, S_SB_PURGE, &r) : NULL;
    int changes = 0;
    if (q) {
        r = sqlite3_bind_int64(q, 1, cutoff_ms) == SQLITE_OK ? sqlite_step_done(s, q) : -ENOMEM;
        changes = sqlite3_changes(s->db);
    }
    r = sqlite_tx_end(s, r);
    return r < 0 ? r : changes;
}

int sqlite_snapshot_refs(struct store *st, const char *dir, uint64_t *ret_n)
{
    return count_of(to_sqlite(st), S_SNAPSHOT_REFS, dir, ret_n);
}

