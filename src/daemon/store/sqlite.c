/* SPDX-License-Identifier: MIT */
/* sqlite.c: the SQLite store backend. WAL journal, foreign keys on, a busy timeout, cached
 * prepared statements, one transaction per public call, numbered migrations tracked in
 * PRAGMA user_version. Owns the sqlite3 handle; sees only input store.c has checked; never logs. */
#include "daemon/store/backend.h"
#include "daemon/store/migrations.h"
#include "daemon/store/sqlite_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 5000

/* Statements kept prepared for the life of the handle. */
enum stmt_id {
    S_USER_ENSURE,
    S_KEY_INSERT,
    S_KEY_FIND,
    S_KEY_TOUCH,
    S_KEY_REVOKE,
    S_KEY_STATE,
    S_SB_INSERT,
    S_SB_GET,
    S_SB_GET_ANY,
    S_SB_GET_BY_IP,
    S_SB_STATE,
    S_SB_ENV_INSERT,
    S_SB_ENV_KEYS,
    S_SB_ENVS,
    S_SB_EGRESS_INSERT,
    S_SB_EGRESS_DELETE,
    S_SB_EGRESS,
    S_SB_SSH_INSERT,
    S_SB_SSH,
    S_SB_SSH_COUNT,
    S_SB_TRANSITION,
    S_SB_COUNT,
    S_SB_UNSETTLED,
    S_SB_UNSETTLED_HOST,
    S_SB_PURGE,
    S_SNAPSHOT_REFS,
    S__COUNT,
};

/* Columns of a sandbox row, in the order read_row() and bind_row() use. */
enum col {
    C_ID, C_USER_ID, C_NAME, C_HOSTNAME, C_STATUS, C_SHAPE, C_VCPU, C_MEM_MIB, C_DISK_MIB,
    C_ROOTFS, C_REGION, C_IP, C_CREATED_AT, C_RUNNING_AT, C_PAUSED_AT, C_LAST_RESUMED_AT,
    C_DESTROYED_AT, C_SPAWN_MS, C_INGRESS_ENABLED, C_CREATED_BY, C_FORKED_FROM, C_AUTO_PAUSE,
    C_START_PAUSED, C_BW_QUOTA, C_BW_USED, C_BW_INGRESS, C_BW_CAPPED, C_HOST_ID, C_RUN_DIR,
    C_QEMU_PID, C_QEMU_START_TIME, C_TARGET_STATE, C_INTENT_STARTED_AT, C_UPDATED_AT,
    C_SNAPSHOT_DIR, C_BASE_DIR, C__COUNT,
};

#define SB_COLS                                                                                  \
    "id, user_id, name, hostname, status, shape, vcpu, mem_mib, disk_mib, rootfs, region, ip, "  \
    "created_at, running_at, paused_at, last_resumed_at, destroyed_at, spawn_ms, "               \
    "ingress_enabled, created_by, forked_from, auto_pause_after_seconds, start_paused, "         \
    "bw_quota_bytes, bw_used_bytes, bw_ingress_bytes, bw_capped, host_id, run_dir, qemu_pid, "  \
    "qemu_start_time, target_state, intent_started_at, updated_at, snapshot_dir, base_dir"

#define TERMINAL_SQL "('destroyed', 'failed')"

static const char *const stmt_sql[S__COUNT] = {
    [S_USER_ENSURE] = "INSERT INTO users (id, created_at) VALUES (?1, ?2) "
                      "ON CONFLICT (id) DO NOTHING",
    [S_KEY_INSERT] = "INSERT INTO api_keys (id, user_id, hash, prefix, label, admin, created_at) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [S_KEY_FIND] = "SELECT id, user_id, admin, hash, revoked_at FROM api_keys WHERE hash = ?1",
    [S_KEY_TOUCH] = "UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1",
    [S_KEY_REVOKE] = "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
    [S_KEY_STATE] = "SELECT revoked_at FROM api_keys WHERE id = ?1",
    [S_SB_INSERT] = "INSERT INTO sandboxes (" SB_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                    "?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, "
                    "?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36)",
    [S_SB_GET] = "SELECT " SB_COLS " FROM sandboxes WHERE id = ?1 AND user_id = ?2",
    [S_SB_GET_ANY] = "SELECT " SB_COLS " FROM sandboxes WHERE id = ?1",
    [S_SB_GET_BY_IP] = "SELECT " SB_COLS " FROM sandboxes WHERE ip = ?1 AND user_id = ?2 "
                       "AND status NOT IN ('creating', 'destroyed', 'failed')",
    [S_SB_STATE] = "SELECT status, target_state FROM sandboxes "
                   "WHERE id = ?1 AND (?2 IS NULL OR user_id = ?2)",
    [S_SB_ENV_INSERT] = "INSERT INTO sandbox_envs (sandbox_id, key, value) VALUES (?1, ?2, ?3)",
    [S_SB_ENV_KEYS] = "SELECT key FROM sandbox_envs WHERE sandbox_id = ?1 ORDER BY key",
    [S_SB_ENVS] = "SELECT key, value FROM sandbox_envs WHERE sandbox_id = ?1 ORDER BY key",
    [S_SB_EGRESS_INSERT] = "INSERT INTO sandbox_egress (sandbox_id, pos, rule) VALUES (?1, ?2, ?3)",
    [S_SB_EGRESS_DELETE] = "DELETE FROM sandbox_egress WHERE sandbox_id = ?1",
    [S_SB_EGRESS] = "SELECT rule FROM sandbox_egress WHERE sandbox_id = ?1 ORDER BY pos",
    [S_SB_SSH_INSERT] = "INSERT INTO sandbox_ssh_keys (sandbox_id, pos, identity, canonical) "
                        "SELECT ?1, coalesce(max(pos), 0) + 1, ?2, ?3 FROM sandbox_ssh_keys "
                        "WHERE sandbox_id = ?1 ON CONFLICT (sandbox_id, identity) DO NOTHING",
    [S_SB_SSH] = "SELECT canonical FROM sandbox_ssh_keys WHERE sandbox_id = ?1 ORDER BY pos",
    [S_SB_SSH_COUNT] = "SELECT count(*) FROM sandbox_ssh_keys WHERE sandbox_id = ?1",
    /* ?1 id, ?2 to, ?3 from, ?4 intent, ?5 now, ?6 require no pending intent */
    [S_SB_TRANSITION] =
        "UPDATE sandboxes SET status = ?2, target_state = ?4, "
        "intent_started_at = CASE WHEN ?4 IS NULL THEN NULL ELSE ?5 END, "
        "running_at = CASE WHEN ?2 = 'running' THEN coalesce(running_at, ?5) ELSE running_at END, "
        "spawn_ms = CASE WHEN ?2 = 'running' AND spawn_ms IS NULL THEN ?5 - created_at "
        "ELSE spawn_ms END, "
        "last_resumed_at = CASE WHEN ?2 = 'running' AND ?3 = 'resuming' THEN ?5 "
        "ELSE last_resumed_at END, "
        "paused_at = CASE WHEN ?2 = 'paused' THEN ?5 ELSE paused_at END, "
        "destroyed_at = CASE WHEN ?2 = 'destroyed' THEN ?5 ELSE destroyed_at END, "
        "ip = CASE WHEN ?2 IN " TERMINAL_SQL " THEN NULL ELSE ip END, "
        "updated_at = ?5 "
        "WHERE id = ?1 AND status = ?3 AND (?6 = 0 OR target_state IS NULL)",
    [S_SB_COUNT] = "SELECT status, count(*) FROM sandboxes WHERE user_id = ?1 GROUP BY status",
    [S_SB_UNSETTLED] = "SELECT " SB_COLS " FROM sandboxes WHERE target_state IS NOT NULL "
                       "OR status NOT IN " TERMINAL_SQL " ORDER BY created_at, id",
    [S_SB_UNSETTLED_HOST] = "SELECT " SB_COLS " FROM sandboxes WHERE (target_state IS NOT NULL "
                            "OR status NOT IN " TERMINAL_SQL ") AND host_id = ?1 "
                            "ORDER BY created_at, id",
    [S_SNAPSHOT_REFS] = "SELECT count(*) FROM sandboxes WHERE status NOT IN " TERMINAL_SQL
                        " AND (snapshot_dir = ?1 OR base_dir = ?1)",
    [S_SB_PURGE] = "DELETE FROM sandboxes WHERE status IN " TERMINAL_SQL
                   " AND coalesce(destroyed_at, updated_at) < ?1",
};

struct sqlite_store {
    struct store base;              /* first: the handle store.c sees */
    sqlite3 *db;                    /* owned */
    sqlite3_stmt *stmts[S__COUNT];  /* owned; prepared on first use */
};

static struct sqlite_store *to_sqlite(struct store *st)
{
    return (struct sqlite_store *)st;
}

/* ---- errors ---- */

static int errno_from_rc(int rc, int sys_errno)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
        return 0;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_READONLY:
        return -EROFS;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FORMAT:
        return -EUCLEAN;
    case SQLITE_TOOBIG:
        return -E2BIG;
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return -EACCES;
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
        return -EINVAL;
    case SQLITE_CONSTRAINT:
        switch (rc) {
        case SQLITE_CONSTRAINT_UNIQUE:
        case SQLITE_CONSTRAINT_PRIMARYKEY:
            return -EEXIST;
        case SQLITE_CONSTRAINT_FOREIGNKEY:
            return -ENOENT;
        default:
            return -EINVAL;
        }
    case SQLITE_CANTOPEN:
        return sys_errno > 0 ? -sys_errno : -EACCES;
    default:
        return sys_errno > 0 && (rc & 0xff) == SQLITE_IOERR ? -sys_errno : -EIO;
    }
}

/* Converts a failed result code, recording the detail. */
static int fail(struct sqlite_store *s, int rc)
{
    store_set_errmsg(&s->base, "sqlite: %s (%d)", sqlite3_errmsg(s->db), rc);
    return errno_from_rc(rc, sqlite3_system_errno(s->db));
}

/* ---- statements and transactions ---- */

/* Returns the cached statement, reset and unbound, or NULL with *ret_err set. */
static sqlite3_stmt *stmt(struct sqlite_store *s, enum stmt_id id, int *ret_err)
{
    sqlite3_stmt *q = s->stmts[id];
    if (!q) {
        int rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                    &s->stmts[id], NULL);
        if (rc != SQLITE_OK) {
            *ret_err = fail(s, rc);
            return NULL;
        }
        return s->stmts[id];
    }
    (void)sqlite3_reset(q); /* an earlier step's error was reported then */
    (void)sqlite3_clear_bindings(q);
    return q;
}

/* Runs a statement expected to finish without rows. Resets it so it holds no lock. */
static int step_done(struct sqlite_store *s, sqlite3_stmt *q)
{
    int rc = sqlite3_step(q);
    int r = rc == SQLITE_DONE ? 0 : fail(s, rc == SQLITE_ROW ? SQLITE_MISUSE : rc);
    (void)sqlite3_reset(q);
    return r;
}

/* SQLITE_ROW → 1, SQLITE_DONE → 0, else -errno. */
static int step_row(struct sqlite_store *s, sqlite3_stmt *q)
{
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return fail(s, rc);
}

static int exec(struct sqlite_store *s, const char *sql)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : fail(s, rc);
}

/* A write transaction takes the write lock up front (waiting up to the busy timeout), so it can
 * never fail half-way on a lock upgrade. */
static int tx_write(struct sqlite_store *s)
{
    return exec(s, "BEGIN IMMEDIATE");
}

/* A read transaction: every SELECT in it sees one snapshot. */
static int tx_read(struct sqlite_store *s)
{
    return exec(s, "BEGIN");
}

/* Ends a transaction: commits when r is 0, else rolls back. Returns r, or the commit's error. */
static int tx_end(struct sqlite_store *s, int r)
{
    if (r == 0) {
        r = exec(s, "COMMIT");
        if (r == 0)
            return 0;
    }
    if (!sqlite3_get_autocommit(s->db)) {
        char keep[sizeof(s->base.errmsg)];
        memcpy(keep, s->base.errmsg, sizeof(keep));
        /* rolling back can only fail if the transaction is already gone; keep the first error */
        (void)sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        memcpy(s->base.errmsg, keep, sizeof(keep));
    }
    return r;
}

/* ---- binding and reading ---- */

static int bind_text(sqlite3_stmt *q, int i, const char *v)
{
    return sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
}

/* NULL for "" or NULL */
static int bind_text_opt(sqlite3_stmt *q, int i, const char *v)
{
    return v && *v ? bind_text(q, i, v) : sqlite3_bind_null(q, i);
}

/* NULL for 0 */
static int bind_i64_opt(sqlite3_stmt *q, int i, int64_t v)
{
    return v ? sqlite3_bind_int64(q, i, v) : sqlite3_bind_null(q, i);
}

static int bind_state_opt(sqlite3_stmt *q, int i, enum store_state v)
{
    const char *name = store_state_to_string(v);
    return name ? bind_text(q, i, name) : sqlite3_bind_null(q, i);
}

/* Copies a text column into a fixed field; NULL reads as "". */
static int col_text(sqlite3_stmt *q, int i, char *dst, size_t size)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    size_t n = (size_t)sqlite3_column_bytes(q, i);
    if (!t) {
        if (sqlite3_column_type(q, i) != SQLITE_NULL)
            return -ENOMEM;
        dst[0] = '\0';
        return 0;
    }
    if (n >= size || memchr(t, '\0', n))
        return -EUCLEAN;
    memcpy(dst, t, n + 1);
    return 0;
}

static int col_strdup(sqlite3_stmt *q, int i, char **ret)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    if (!t) {
        *ret = NULL;
        return sqlite3_column_type(q, i) == SQLITE_NULL ? 0 : -ENOMEM;
    }
    *ret = strdup((const char *)t);
    return *ret ? 0 : -ENOMEM;
}

static int col_state(sqlite3_stmt *q, int i, enum store_state *ret, bool null_ok)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    if (!t) {
        if (!null_ok)
            return -EUCLEAN;
        *ret = STORE_STATE_NONE;
        return 0;
    }
    int r = store_state_from_string((const char *)t, (size_t)sqlite3_column_bytes(q, i), ret);
    return r < 0 ? -EUCLEAN : 0;
}

static int bind_row(sqlite3_stmt *q, const struct store_sandbox *sb)
{
    int rc = 0;
    rc |= bind_text(q, C_ID + 1, sb->id);
    rc |= bind_text(q, C_USER_ID + 1, sb->user_id);
    rc |= bind_text(q, C_NAME + 1, sb->name);
    rc |= bind_text(q, C_HOSTNAME + 1, sb->hostname);
    rc |= bind_state_opt(q, C_STATUS + 1, sb->status);
    rc |= bind_text(q, C_SHAPE + 1, sb->shape);
    rc |= sqlite3_bind_int64(q, C_VCPU + 1, sb->vcpu);
    rc |= sqlite3_bind_int64(q, C_MEM_MIB + 1, sb->mem_mib);
    rc |= sqlite3_bind_int64(q, C_DISK_MIB + 1, sb->disk_mib);
    rc |= bind_text(q, C_ROOTFS + 1, sb->rootfs);
    rc |= bind_text(q, C_REGION + 1, sb->region);
    rc |= bind_text_opt(q, C_IP + 1, sb->ip);
    rc |= sqlite3_bind_int64(q, C_CREATED_AT + 1, sb->created_at);
    rc |= bind_i64_opt(q, C_RUNNING_AT + 1, sb->running_at);
    rc |= bind_i64_opt(q, C_PAUSED_AT + 1, sb->paused_at);
    rc |= bind_i64_opt(q, C_LAST_RESUMED_AT + 1, sb->last_resumed_at);
    rc |= bind_i64_opt(q, C_DESTROYED_AT + 1, sb->destroyed_at);
    rc |= sb->spawn_ms >= 0 ? sqlite3_bind_double(q, C_SPAWN_MS + 1, sb->spawn_ms)
                            : sqlite3_bind_null(q, C_SPAWN_MS + 1);
    rc |= sqlite3_bind_int(q, C_INGRESS_ENABLED + 1, sb->ingress_enabled);
    rc |= bind_text(q, C_CREATED_BY + 1, sb->created_by);
    rc |= bind_text_opt(q, C_FORKED_FROM + 1, sb->forked_from);
    rc |= bind_i64_opt(q, C_AUTO_PAUSE + 1, sb->auto_pause_after_seconds);
    rc |= sqlite3_bind_int(q, C_START_PAUSED + 1, sb->start_paused);
    rc |= sqlite3_bind_int64(q, C_BW_QUOTA + 1, sb->bw_quota_bytes);
    rc |= sqlite3_bind_int64(q, C_BW_USED + 1, sb->bw_used_bytes);
    rc |= sqlite3_bind_int64(q, C_BW_INGRESS + 1, sb->bw_ingress_bytes);
    rc |= sqlite3_bind_int(q, C_BW_CAPPED + 1, sb->bw_capped);
    rc |= bind_text_opt(q, C_HOST_ID + 1, sb->host_id);
    rc |= bind_text_opt(q, C_RUN_DIR + 1, sb->run_dir);
    rc |= bind_i64_opt(q, C_QEMU_PID + 1, sb->qemu_pid);
    rc |= bind_i64_opt(q, C_QEMU_START_TIME + 1, (int64_t)sb->qemu_start_time);
    rc |= bind_state_opt(q, C_TARGET_STATE + 1, sb->target_state);
    rc |= bind_i64_opt(q, C_INTENT_STARTED_AT + 1, sb->intent_started_at);
    rc |= sqlite3_bind_int64(q, C_UPDATED_AT + 1, sb->updated_at ? sb->updated_at : sb->created_at);
    rc |= bind_text_opt(q, C_SNAPSHOT_DIR + 1, sb->snapshot_dir ? sb->snapshot_dir : "");
    rc |= bind_text_opt(q, C_BASE_DIR + 1, sb->base_dir ? sb->base_dir : "");
    return rc == SQLITE_OK ? 0 : -ENOMEM;
}

/* Reads the SB_COLS of the current row into *sb (lists left empty). On failure *sb holds nothing
 * that needs freeing. */
static int read_row(sqlite3_stmt *q, struct store_sandbox *sb)
{
    static const struct { enum col col; size_t off, size; } texts[] = {
#define T(c, f) { c, offsetof(struct store_sandbox, f), sizeof(((struct store_sandbox *)0)->f) }
        T(C_ID, id), T(C_USER_ID, user_id), T(C_NAME, name), T(C_HOSTNAME, hostname),
        T(C_SHAPE, shape), T(C_ROOTFS, rootfs), T(C_REGION, region), T(C_IP, ip),
        T(C_CREATED_BY, created_by), T(C_FORKED_FROM, forked_from), T(C_HOST_ID, host_id),
#undef T
    };
    store_sandbox_init(sb);
    int r;
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        r = col_text(q, (int)texts[i].col, (char *)sb + texts[i].off, texts[i].size);
        if (r < 0)
            return r;
    }
    if ((r = col_state(q, C_STATUS, &sb->status, false)) < 0 ||
        (r = col_state(q, C_TARGET_STATE, &sb->target_state, true)) < 0)
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
    sb->qemu_pid = (int32_t)sqlite3_column_int64(q, C_QEMU_PID);
    sb->qemu_start_time = (uint64_t)sqlite3_column_int64(q, C_QEMU_START_TIME);
    sb->intent_started_at = sqlite3_column_int64(q, C_INTENT_STARTED_AT);
    sb->updated_at = sqlite3_column_int64(q, C_UPDATED_AT);
    if ((r = col_strdup(q, C_RUN_DIR, &sb->run_dir)) < 0 ||
        (r = col_strdup(q, C_SNAPSHOT_DIR, &sb->snapshot_dir)) < 0 ||
        (r = col_strdup(q, C_BASE_DIR, &sb->base_dir)) < 0) {
        store_sandbox_release(sb);
        return r;
    }
    return 0;
}

/* Room for element n of a growing array v with *cap slots (first: the first allocation's
 * slots). Returns the array, moved or not, or NULL when out of memory (v is then untouched). */
static void *room_for_one(void *v, size_t n, size_t *cap, size_t elem, size_t first)
{
    if (n < *cap)
        return v;
    size_t ncap = *cap ? *cap * 2 : first;
    void *nv = realloc(v, ncap * elem);
    if (nv)
        *cap = ncap;
    return nv;
}

/* Reads the one-column text rows of child-list statement id for sandbox_id into *ret. */
static int load_strv(struct sqlite_store *s, enum stmt_id id, const char *sandbox_id,
                     struct store_strv *ret)
{
    int r = 0;
    sqlite3_stmt *q = stmt(s, id, &r);
    if (!q)
        return r;
    if (bind_text(q, 1, sandbox_id) != SQLITE_OK)
        return -ENOMEM;
    struct store_strv v = { 0 };
    size_t cap = 0;
    while ((r = step_row(s, q)) == 1) {
        char **nv = room_for_one(v.v, v.n, &cap, sizeof(*nv), 4);
        if (!nv) {
            r = -ENOMEM;
            break;
        }
        v.v = nv;
        r = col_strdup(q, 0, &v.v[v.n]);
        if (r < 0)
            break;
        if (!v.v[v.n]) {
            r = -EUCLEAN;
            break;
        }
        v.n++;
    }
    (void)sqlite3_reset(q);
    if (r < 0) {
        for (size_t i = 0; i < v.n; i++)
            free(v.v[i]);
        free(v.v);
        return r;
    }
    *ret = v;
    return 0;
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
    struct store_sandbox *v = NULL;
    size_t n = 0, cap = 0;
    int r;
    while ((r = step_row(s, q)) == 1) {
        struct store_sandbox *nv = room_for_one(v, n, &cap, sizeof(*nv), 16);
        if (!nv) {
            r = -ENOMEM;
            break;
        }
        v = nv;
        r = read_row(q, &v[n]);
        if (r < 0) {
            store_sandbox_release(&v[n]);
            break;
        }
        n++;
    }
    (void)sqlite3_reset(q);
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

/* Reads exactly one row from q, or -ENOENT. */
static int read_one(struct sqlite_store *s, sqlite3_stmt *q, struct store_sandbox *ret)
{
    struct store_sandbox *v;
    size_t n;
    int r = read_rows(s, q, &v, &n);
    if (r < 0)
        return r;
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

/* ---- open, migrate, close ---- */

static int pragma_int(struct sqlite_store *s, const char *sql, int *ret)
{
    sqlite3_stmt *q;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
    if (rc != SQLITE_OK)
        return fail(s, rc);
    int r = step_row(s, q);
    if (r == 1) {
        *ret = sqlite3_column_int(q, 0);
        r = 0;
    } else if (r == 0) {
        r = -EIO;
    }
    sqlite3_finalize(q);
    return r;
}

static int pragma_text_is(struct sqlite_store *s, const char *sql, const char *want)
{
    sqlite3_stmt *q;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
    if (rc != SQLITE_OK)
        return fail(s, rc);
    int r = step_row(s, q);
    if (r == 1) {
        const char *t = (const char *)sqlite3_column_text(q, 0);
        r = t && strcmp(t, want) == 0 ? 0 : -EIO;
        if (r < 0)
            store_set_errmsg(&s->base, "%s answered '%s', expected '%s'", sql, t ? t : "", want);
    } else if (r == 0) {
        r = -EIO;
    }
    sqlite3_finalize(q);
    return r;
}

/* Applies migration m unless the database already has it; one transaction each, so a crash
 * leaves the schema at a whole version. Re-reads user_version under the write lock because
 * another process may have migrated meanwhile. */
static int apply_migration(struct sqlite_store *s, const struct store_migration *m)
{
    int r = tx_write(s);
    if (r < 0)
        return r;
    int cur = 0;
    r = pragma_int(s, "PRAGMA user_version", &cur);
    if (r == 0 && cur < m->version) {
        r = exec(s, m->sql);
        if (r == 0) {
            char sql[64];
            (void)snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", m->version);
            r = exec(s, sql);
        }
        if (r < 0)
            store_set_errmsg(&s->base, "migration %04d_%s failed: %s", m->version, m->name,
                             sqlite3_errmsg(s->db));
    }
    return tx_end(s, r);
}

static int migrate(struct sqlite_store *s)
{
    size_t n;
    const struct store_migration *m = store_migrations(&n);
    for (size_t i = 0; i < n; i++) {
        if (m[i].version != (int)i + 1) {
            store_set_errmsg(&s->base, "embedded migrations are not numbered 1..%zu", n);
            return -EUCLEAN;
        }
    }
    int cur = 0;
    int r = pragma_int(s, "PRAGMA user_version", &cur);
    if (r < 0)
        return r;
    if (cur > (int)n) {
        store_set_errmsg(&s->base,
                         "schema version %d is newer than this hearthd knows (%zu); "
                         "upgrade hearthd or restore an older database",
                         cur, n);
        return -ENOTSUP;
    }
    for (size_t i = (size_t)(cur < 0 ? 0 : cur); i < n; i++) {
        r = apply_migration(s, &m[i]);
        if (r < 0)
            return r;
    }
    return 0;
}

static void sqlite_close(struct store *st)
{
    struct sqlite_store *s = to_sqlite(st);
    for (int i = 0; i < S__COUNT; i++)
        sqlite3_finalize(s->stmts[i]);
    /* every statement is finalized, so close cannot fail with SQLITE_BUSY */
    (void)sqlite3_close(s->db);
    free(s);
}

static int configure(struct sqlite_store *s)
{
    int r;
    (void)sqlite3_extended_result_codes(s->db, 1);
    (void)sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    /* refuse writes to the schema through crafted SQL, and "double-quoted" string literals */
    (void)sqlite3_db_config(s->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    (void)sqlite3_db_config(s->db, SQLITE_DBCONFIG_DQS_DML, 0, NULL);
    (void)sqlite3_db_config(s->db, SQLITE_DBCONFIG_DQS_DDL, 0, NULL);
    int fk = 0;
    if ((r = exec(s, "PRAGMA foreign_keys = ON")) < 0 ||
        (r = pragma_int(s, "PRAGMA foreign_keys", &fk)) < 0)
        return r;
    if (fk != 1) {
        store_set_errmsg(&s->base, "this SQLite cannot enforce foreign keys");
        return -ENOTSUP;
    }
    /* read the version before anything writes: a database from a newer hearthd stays untouched */
    int ver = 0;
    if ((r = pragma_int(s, "PRAGMA user_version", &ver)) < 0)
        return r;
    if (ver > store_migrations_latest())
        return migrate(s); /* refuses with -ENOTSUP and the reason */
    /* WAL: readers never block the writer. FULL: a committed intent survives power loss, not
     * just a crash of hearthd. */
    if ((r = pragma_text_is(s, "PRAGMA journal_mode = WAL", "wal")) < 0 ||
        (r = exec(s, "PRAGMA synchronous = FULL")) < 0 ||
        (r = exec(s, "PRAGMA trusted_schema = OFF")) < 0)
        return r;
    return migrate(s);
}

static const struct store_ops sqlite_ops;

int store_sqlite_open(const char *path, struct store **ret_st, char *reterr, size_t reterr_len)
{
    struct sqlite_store *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->base.ops = &sqlite_ops;
    /* The file holds env values and key hashes: create it 0600 ourselves, since SQLite would
     * use 0644 less umask; its -wal and -shm files copy the database file's mode. */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0)
        close(fd);
    /* on failure sqlite3_open_v2() below reports the same problem with its detail */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path, &s->db, flags, NULL);
    int r;
    if (!s->db) {
        r = -ENOMEM;
        goto out_free;
    }
    if (rc != SQLITE_OK) {
        r = fail(s, rc);
        goto out_close;
    }
    r = configure(s);
    if (r < 0)
        goto out_close;
    *ret_st = &s->base;
    return 0;
out_close:
    if (reterr && reterr_len > 0)
        (void)snprintf(reterr, reterr_len, "cannot open store '%s': %s", path, s->base.errmsg);
    for (int i = 0; i < S__COUNT; i++)
        sqlite3_finalize(s->stmts[i]);
    (void)sqlite3_close(s->db);
out_free:
    free(s);
    return r;
}

static int sqlite_schema_version(struct store *st, int *ret_version)
{
    return pragma_int(to_sqlite(st), "PRAGMA user_version", ret_version);
}

static int sqlite_check(struct store *st)
{
    struct sqlite_store *s = to_sqlite(st);
    int r = pragma_text_is(s, "PRAGMA integrity_check", "ok");
    if (r == -EIO)
        return -EUCLEAN;
    if (r < 0)
        return r;
    sqlite3_stmt *q;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA foreign_key_check", -1, &q, NULL);
    if (rc != SQLITE_OK)
        return fail(s, rc);
    r = step_row(s, q);
    sqlite3_finalize(q);
    if (r == 1) {
        store_set_errmsg(st, "foreign key check found dangling rows");
        return -EUCLEAN;
    }
    return r;
}

/* ---- users and keys ---- */

static int user_ensure(struct sqlite_store *s, const char *user_id, int64_t now_ms)
{
    int r = 0;
    sqlite3_stmt *q = stmt(s, S_USER_ENSURE, &r);
    if (!q)
        return r;
    if (bind_text(q, 1, user_id) != SQLITE_OK || sqlite3_bind_int64(q, 2, now_ms) != SQLITE_OK)
        return -ENOMEM;
    return step_done(s, q);
}

static int sqlite_user_ensure(struct store *st, const char *user_id, int64_t now_ms)
{
    struct sqlite_store *s = to_sqlite(st);
    int r = tx_write(s);
    if (r < 0)
        return r;
    return tx_end(s, user_ensure(s, user_id, now_ms));
}

static int sqlite_key_insert(struct store *st, const struct store_key *key,
                             const uint8_t hash[APIKEY_HASH_LEN])
{
    struct sqlite_store *s = to_sqlite(st);
    int r = tx_write(s);
    if (r < 0)
        return r;
    r = user_ensure(s, key->user_id, key->created_at);
    sqlite3_stmt *q = r == 0 ? stmt(s, S_KEY_INSERT, &r) : NULL;
    if (q) {
        int rc = bind_text(q, 1, key->id) | bind_text(q, 2, key->user_id) |
                 sqlite3_bind_blob(q, 3, hash, APIKEY_HASH_LEN, SQLITE_STATIC) |
                 bind_text(q, 4, key->prefix) | bind_text(q, 5, key->label) |
                 sqlite3_bind_int(q, 6, key->admin) | sqlite3_bind_int64(q, 7, key->created_at);
        r = rc == SQLITE_OK ? step_done(s, q) : -ENOMEM;
    }
    return tx_end(s, r);
}

static int sqlite_key_find(struct store *st, const uint8_t hash[APIKEY_HASH_LEN],
                           struct store_auth *ret, uint8_t ret_hash[APIKEY_HASH_LEN],
                           int64_t *ret_revoked_at)
{
    struct sqlite_store *s = to_sqlite(st);
    int r = 0;
    sqlite3_stmt *q = stmt(s, S_KEY_FIND, &r);
    if (!q)
        return r;
    if (sqlite3_bind_blob(q, 1, hash, APIKEY_HASH_LEN, SQLITE_STATIC) != SQLITE_OK)
        return -ENOMEM;
    r = step_row(s, q);
    if (r == 1) {
        struct store_auth a = { .admin = sqlite3_column_int(q, 2) != 0 };
        r = col_text(q, 0, a.key_id, sizeof(a.key_id));
        if (r == 0)
            r = col_text(q, 1, a.user_id, sizeof(a.user_id));
        const void *h = sqlite3_column_blob(q, 3);
        if (r == 0 && (!h || sqlite3_column_bytes(q, 3) != APIKEY_HASH_LEN))
            r = -EUCLEAN;
        if (r == 0) {
            memcpy(ret_hash, h, APIKEY_HASH_LEN);
            *ret_revoked_at = sqlite3_column_int64(q, 4);
            *ret = a;
        }
    } else if (r == 0) {
        r = -ENOENT;
    }
    (void)sqlite3_reset(q);
    return r;
}

static int sqlite_key_touch(struct store *st, const char *key_id, int64_t now_ms)
{
    struct sqlite_store *s = to_sqlite(st);
    int r = 0;
    sqlite3_stmt *q = stmt(s, S_KEY_TOUCH, &r);
    if (!q)
        return r;
    if (bind_text(q, 1, key_id) != SQLITE_OK || sqlite3_bind_int64(q, 2, now_ms) != SQLITE_OK)
        return -ENOMEM;
    r = step_done(s, q);
    if (r == 0 && sqlite3_changes(s->db) == 0)
        r = -ENOENT;
    return r;
}

static int sqlite_key_list(struct store *st, const char *user_id, struct store_key **ret,
                           size_t *ret_n)
{
    struct sqlite_store *s = to_sqlite(st);
    sqlite3_stmt *q;
    int rc = sqlite3_prepare_v2(s->db,
                                "SELECT id, user_id, prefix, label, admin, created_at, "
                                "last_used_at, revoked_at FROM api_keys "
                                "WHERE ?1 IS NULL OR user_id = ?1 "
                                "ORDER BY created_at DESC, id DESC",
                                -1, &q, NULL);
    if (rc != SQLITE_OK)
        return fail(s, rc);
    int r = user_id ? bind_text(q, 1, user_id) : SQLITE_OK;
    r = r == SQLITE_OK ? 0 : -ENOMEM;
    struct store_key *v = NULL;
    size_t n = 0, cap = 0;
    while (r == 0 && (r = step_row(s, q)) == 1) {
        r = 0;
        struct store_key *nv = room_for_one(v, n, &cap, sizeof(*nv), 8);
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
        if ((r = col_text(q, 0, k->id, sizeof(k->id))) < 0 ||
            (r = col_text(q, 1, k->user_id, sizeof(k->user_id))) < 0 ||
            (r = col_text(q, 2, k->prefix, sizeof(k->prefix))) < 0 ||
            (r = col_text(q, 3, k->label, sizeof(k->label))) < 0)
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

static int sqlite_key_revoke(struct store *st, const char *key_id, int64_t now_ms)
{
    struct sqlite_store *s = to_sqlite(st);
    int r = tx_write(s);
    if (r < 0)
        return r;
    sqlite3_stmt *q = stmt(s, S_KEY_REVOKE, &r);
    if (q) {
        if (bind_text(q, 1, key_id) != SQLITE_OK || sqlite3_bind_int64(q, 2, now_ms) != SQLITE_OK)
            r = -ENOMEM;
        else
            r = step_done(s, q);
    }
    if (r == 0 && sqlite3_changes(s->db) == 0) {
        q = stmt(s, S_KEY_STATE, &r);
        if (q) {
            r = bind_text(q, 1, key_id) == SQLITE_OK ? step_row(s, q) : -ENOMEM;
            r = r == 1 ? -EALREADY : r == 0 ? -ENOENT : r;
            (void)sqlite3_reset(q);
        }
    }
    return tx_end(s, r);
}

/* ---- sandboxes ---- */

static int insert_egress(struct sqlite_store *s, const char *id, const char *const *rules,
                         size_t n)
{
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        sqlite3_stmt *q = stmt(s, S_SB_EGRESS_INSERT, &r);
        if (!q)
            break;
        if (bind_text(q, 1, id) | sqlite3_bind_int64(q, 2, (int64_t)i) | bind_text(q, 3, rules[i]))
            return -ENOMEM;
        r = step_done(s, q);
    }
    return r;
}

/* Adds keys (skipping duplicates) and returns the count after, checked against the cap. */
static int insert_ssh(struct sqlite_store *s, const char *id, const char *const *keys, size_t n,
                      size_t *ret_count)
{
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        sqlite3_stmt *q = stmt(s, S_SB_SSH_INSERT, &r);
        if (!q)
            return r;
        size_t idlen = store_sshkey_identity_len(keys[i]);
        if (bind_text(q, 1, id) | sqlite3_bind_text(q, 2, keys[i], (int)idlen, SQLITE_STATIC) |
            bind_text(q, 3, keys[i]))
            return -ENOMEM;
        r = step_done(s, q);
    }
    if (r < 0)
        return r;
    sqlite3_stmt *q = stmt(s, S_SB_SSH_COUNT, &r);
    if (!q)
        return r;
    if (bind_text(q, 1, id) != SQLITE_OK)
        return -ENOMEM;
    r = step_row(s, q);
    if (r == 1) {
        int64_t count = sqlite3_column_int64(q, 0);
        r = count > STORE_MAX_SSH_KEYS ? -E2BIG : 0;
        if (ret_count)
            *ret_count = (size_t)count;
    } else if (r == 0) {
        r = -EIO;
    }
    (void)sqlite3_reset(q);
    return r;
}

static int insert_envs(struct sqlite_store *s, const char *id, const struct store_env *envs,
                       size_t n)
{
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++) {
        sqlite3_stmt *q = stmt(s, S_SB_ENV_INSERT, &r);
        if (!q)
            break;
        /* a zero-length blob must still be non-NULL for the NOT NULL column */
        const void *val = envs[i].value_len ? (const void *)envs[i].value : "";
        if (envs[i].value_len > (size_t)INT32_MAX)
            return -E2BIG;
        if (bind_text(q, 1, id) | bind_text(q, 2, envs[i].key) |
            sqlite3_bind_blob(q, 3, val, (int)envs[i].value_len, SQLITE_STATIC))
            return -ENOMEM;
        r = step_done(s, q);
        if (r == -EEXIST)
            r = -EINVAL; /* the same key twice */
    }
    return r;
}

/* Inserts one row and its lists; distinguishes an address collision from a name collision. */
static int insert_one(struct sqlite_store *s, const struct store_sandbox *sb,
                      const struct store_env *envs, size_t n_envs)
{
    int r = 0;
    sqlite3_stmt *q = stmt(s, S_SB_INSERT, &r);
    if (!q)
        return r;
    r = bind_row(q, sb);
    if (r < 0)
        return r;
    int rc = sqlite3_step(q);
    if (rc != SQLITE_DONE) {
        r = fail(s, rc);
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

static int sqlite_sb_insert(struct store *st, const struct store_sandbox *rows, size_t n,
                            const struct store_env *envs, size_t n_envs)
{
    struct sqlite_store *s = to_sqlite(st);
    int r = tx_write(s);
    if (r < 0)
        return r;
    for (size_t i = 0; i < n && r == 0; i++)
        r = insert_one(s, &rows[i], i == 0 ? envs : NULL, i == 0 ? n_envs : 0);
    return tx_end(s, r);
}

static int sqlite_sb_get(struct store *st, const char *user_id, const char *id,
                         struct store_sandbox *ret)
{
    struct sqlite_store *s = to_sqlite(st);
    int r = tx_read(s);
    if (r < 0)
        return r;
    sqlite3_stmt *q = stmt(s, user_id ? S_SB_GET : S_SB_GET_ANY, &r);
    if (q) {
        if (bind_text(q, 1, id) != SQLITE_OK || (user_id && bind_text(q, 2, user_id) != SQLITE_OK))
            r = -ENOMEM;
        else
            r = read_one(s, q, ret);
    }
    int r2 = tx_end(s, 0);
    if (r == 0 && r2 < 0) {
        store_sandbox_release(ret);
        r = r2;
    }
    return r;
}

static int sqlite_sb_get_by_ip(struct store *st, const char *user_id, const char *ip,
                               struct store_sandbox *ret)
{
    struct sqlite_store *s = to_sqlite(st);
    int r = tx_read(s);
    if (r < 0)
        return r;
    sqlite3_stmt *q = stmt(s, S_SB_GET_BY_IP, &r);
    if (q) {
        if (bind_text(q, 1, ip) != SQLITE_OK || bind_text(q, 2, user_id) != SQLITE_OK)
            r = -ENOMEM;
        else
            r = read_one(s, q, ret);
    }
    int r2 = tx_end(s, 0);
    if (r == 0 && r2 < 0) {
        store_sandbox_release(ret);
        r = r2;
    }
    return r;
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

static int sqlite_sb_list(struct store *st, const struct store_list_query *qr,
                          struct store_sandbox_page *ret)
{
    struct sqlite_store *s = to_sqlite(st);
    char where[256], sql[1024];
    status_clause(qr->status_mask, where, sizeof(where));
    struct store_sandbox_page page = { 0 };
    int r = tx_read(s);
    if (r < 0)
        return r;
    sqlite3_stmt *q = NULL;
    (void)snprintf(sql, sizeof(sql), "SELECT count(*) FROM sandboxes WHERE user_id = ?1%s", where);
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &q, NULL);
    if (rc != SQLITE_OK) {
        r = fail(s, rc);
        goto out_end;
    }
    r = bind_text(q, 1, qr->user_id) == SQLITE_OK ? step_row(s, q) : -ENOMEM;
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
        r = fail(s, rc);
        goto out_end;
    }
    /* offset < total fits in int64; a limit past INT64_MAX means "all" */
    int64_t limit = qr->limit > (size_t)INT64_MAX ? -1 : (int64_t)qr->limit;
    if (bind_text(q, 1, qr->user_id) | sqlite3_bind_int64(q, 2, limit) |
        sqlite3_bind_int64(q, 3, (int64_t)qr->offset))
        r = -ENOMEM;
    else
        r = read_rows(s, q, &page.items, &page.count);
    sqlite3_finalize(q);
out_end:
    r = tx_end(s, r);
    if (r < 0) {
        store_sandbox_page_release(&page);
        return r;
    }
    *ret = page;
    return 0;
}

static int sqlite_sb_count(struct store *st, const char *user_id,
                           uint64_t counts[STORE_STATE__COUNT])
{
    struct sqlite_store *s = to_sqlite(st);
    uint64_t c[STORE_STATE__COUNT] = { 0 };
    int r = 0;
    sqlite3_stmt *q = stmt(s, S_SB_COUNT, &r);
    if (!q)
        return r;
    if (bind_text(q, 1, user_id) != SQLITE_OK)
        return -ENOMEM;
    while ((r = step_row(s, q)) == 1) {
        enum store_state state;
        r = col_state(q, 0, &state, false);
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
    sqlite3_stmt *q = stmt(s, S_SB_STATE, &r);
    if (!q)
        return r;
    if (bind_text(q, 1, id) != SQLITE_OK || bind_text_opt(q, 2, user_id) != SQLITE_OK)
        return -ENOMEM;
    r = step_row(s, q);
    if (r == 1) {
        r = col_state(q, 0, ret_status, false);
        if (r == 0)
            r = col_state(q, 1, ret_target, true);
    } else if (r == 0) {
        r = -ENOENT;
    }
    (void)sqlite3_reset(q);
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
        return fail(s, rc);
#define IDX(name) sqlite3_bind_parameter_index(q, name)
    rc = sqlite3_bind_int64(q, IDX(":now"), p->now_ms) | bind_text(q, IDX(":id"), id);
    if (p->fields & STORE_PATCH_INGRESS)
        rc |= sqlite3_bind_int(q, IDX(":ingress"), p->ingress_enabled);
    if (p->fields & STORE_PATCH_AUTO_PAUSE)
        rc |= bind_i64_opt(q, IDX(":auto_pause"), p->auto_pause_after_seconds);
    if (p->fields & STORE_PATCH_START_PAUSED)
        rc |= sqlite3_bind_int(q, IDX(":start_paused"), p->start_paused);
    if (p->fields & STORE_PATCH_DISK)
        rc |= sqlite3_bind_int64(q, IDX(":disk_mib"), p->disk_mib);
    if (p->fields & STORE_PATCH_IP)
        rc |= bind_text_opt(q, IDX(":ip"), p->ip);
    if (p->fields & STORE_PATCH_HOST) {
        rc |= bind_text_opt(q, IDX(":host_id"), p->host_id);
        rc |= p->run_dir ? bind_text(q, IDX(":run_dir"), p->run_dir)
                         : sqlite3_bind_null(q, IDX(":run_dir"));
        rc |= bind_i64_opt(q, IDX(":qemu_pid"), p->qemu_pid);
        rc |= bind_i64_opt(q, IDX(":qemu_start_time"), (int64_t)p->qemu_start_time);
    }
    if (p->fields & STORE_PATCH_BW_QUOTA)
        rc |= sqlite3_bind_int64(q, IDX(":bw_quota"), p->bw_quota_bytes);
    if (p->fields & STORE_PATCH_BW_COUNTERS) {
        rc |= sqlite3_bind_int64(q, IDX(":bw_used"), p->bw_used_bytes);
        rc |= sqlite3_bind_int64(q, IDX(":bw_ingress"), p->bw_ingress_bytes);
        rc |= sqlite3_bind_int(q, IDX(":bw_capped"), p->bw_capped);
    }
    if (p->fields & STORE_PATCH_SPAWN_MS)
        rc |= p->spawn_ms >= 0 ? sqlite3_bind_double(q, IDX(":spawn_ms"), p->spawn_ms)
                               : sqlite3_bind_null(q, IDX(":spawn_ms"));
    if (p->fields & STORE_PATCH_SNAPSHOT) {
        rc |= p->snapshot_dir && *p->snapshot_dir
                  ? bind_text(q, IDX(":snapshot_dir"), p->snapshot_dir)
                  : sqlite3_bind_null(q, IDX(":snapshot_dir"));
        rc |= p->base_dir && *p->base_dir ? bind_text(q, IDX(":base_dir"), p->base_dir)
                                          : sqlite3_bind_null(q, IDX(":base_dir"));
    }
#undef IDX
    int r = rc == SQLITE_OK ? step_done(s, q) : -ENOMEM;
    sqlite3_finalize(q);
    if (r == -EEXIST && strstr(sqlite3_errmsg(s->db), "sandboxes.ip"))
        r = -EADDRINUSE;
    return r;
}

static int sqlite_sb_update(struct store *st, const char *user_id, const char *id,
                            const struct store_sandbox_patch *p)
{
    struct sqlite_store *s = to_sqlite(st);
    int r = tx_write(s);
    if (r < 0)
        return r;
    enum store_state status, target;
    r = row_state(s, user_id, id, &status, &target);
    if (r == 0 && p->allowed_states && !(p->allowed_states & STORE_STATE_BIT(status)))
        r = -ESTALE;
    if (r == 0)
        r = update_fields(s, id, p);
    if (r == 0 && (p->fields & STORE_PATCH_EGRESS)) {
        sqlite3_stmt *q = stmt(s, S_SB_EGRESS_DELETE, &r);
        if (q)
            r = bind_text(q, 1, id) == SQLITE_OK ? step_done(s, q) : -ENOMEM;
        if (r == 0)
            r = insert_egress(s, id, p->egress, p->n_egress);
    }
    return tx_end(s, r);
}

static int sqlite_sb_transition(struct store *st, const char *id, const struct store_transition *t,
                                struct store_sandbox *ret_sb)
{
    struct sqlite_store *s = to_sqlite(st);
    int r = tx_write(s);
    if (r < 0)
        return r;
    sqlite3_stmt *q = stmt(s, S_SB_TRANSITION, &r);
    if (q) {
        if (bind_text(q, 1, id) | bind_state_opt(q, 2, t->to) | bind_state_opt(q, 3, t->from) |
            bind_state_opt(q, 4, t->intent) | sqlite3_bind_int64(q, 5, t->now_ms) |
            sqlite3_bind_int(q, 6, (t->flags & STORE_TR_NO_PENDING) != 0))
            r = -ENOMEM;
        else
            r = step_done(s, q);
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
        q = stmt(s, S_SB_GET_ANY, &r);
        if (q)
            r = bind_text(q, 1, id) == SQLITE_OK ? read_one(s, q, &row) : -ENOMEM;
        have_row = r == 0;
    }
    r = tx_end(s, r);
    if (have_row) {
        if (r == 0)
            *ret_sb = row;
        else
            store_sandbox_release(&row);
    }
    return r;
}

static int sqlite_sb_ssh_add(struct store *st, const char *user_id, const char *id,
                             unsigned allowed_states, const char *const *keys, size_t n,
                             int64_t now_ms, size_t *ret_count)
{
    struct sqlite_store *s = to_sqlite(st);
    int r = tx_write(s);
    if (r < 0)
        return r;
    enum store_state status, target;
    r = row_state(s, user_id, id, &status, &target);
    if (r == 0 && allowed_states && !(allowed_states & STORE_STATE_BIT(status)))
        r = -ESTALE;
    size_t count = 0;
    if (r == 0)
        r = insert_ssh(s, id, keys, n, &count);
    r = tx_end(s, r);
    if (r == 0)
        *ret_count = count;
    return r;
}

static int sqlite_sb_envs_get(struct store *st, const char *id, struct store_env **ret,
                              size_t *ret_n)
{
    struct sqlite_store *s = to_sqlite(st);
    int r = tx_read(s);
    if (r < 0)
        return r;
    enum store_state status, target;
    r = row_state(s, NULL, id, &status, &target);
    sqlite3_stmt *q = r == 0 ? stmt(s, S_SB_ENVS, &r) : NULL;
    struct store_env *v = NULL;
    size_t n = 0, cap = 0;
    if (q && bind_text(q, 1, id) != SQLITE_OK)
        r = -ENOMEM;
    while (q && r == 0 && (r = step_row(s, q)) == 1) {
        r = 0;
        struct store_env *nv = room_for_one(v, n, &cap, sizeof(*nv), 8);
        if (!nv) {
            r = -ENOMEM;
            break;
        }
        v = nv;
        const char *key = (const char *)sqlite3_column_text(q, 0);
        const void *val = sqlite3_column_blob(q, 1);
        size_t len = (size_t)sqlite3_column_bytes(q, 1);
        char *kcopy = key ? strdup(key) : NULL;
        char *vcopy = malloc(len + 1);
        if (!kcopy || !vcopy) {
            free(kcopy);
            free(vcopy);
            r = -ENOMEM;
            break;
        }
        if (len)
            memcpy(vcopy, val, len);
        vcopy[len] = '\0';
        v[n++] = (struct store_env){ .key = kcopy, .value = vcopy, .value_len = len };
    }
    if (q)
        (void)sqlite3_reset(q);
    r = tx_end(s, r);
    if (r < 0) {
        store_envs_free(v, n);
        return r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

static int sqlite_sb_list_unsettled(struct store *st, const char *host_id,
                                    struct store_sandbox **ret, size_t *ret_n)
{
    struct sqlite_store *s = to_sqlite(st);
    int r = tx_read(s);
    if (r < 0)
        return r;
    struct store_sandbox *v = NULL;
    size_t n = 0;
    sqlite3_stmt *q = stmt(s, host_id ? S_SB_UNSETTLED_HOST : S_SB_UNSETTLED, &r);
    if (q) {
        if (host_id && bind_text(q, 1, host_id) != SQLITE_OK)
            r = -ENOMEM;
        else
            r = read_rows(s, q, &v, &n);
    }
    r = tx_end(s, r);
    if (r < 0) {
        store_sandbox_array_free(v, n);
        return r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

static int sqlite_sb_purge(struct store *st, int64_t cutoff_ms)
{
    struct sqlite_store *s = to_sqlite(st);
    int r = tx_write(s);
    if (r < 0)
        return r;
    sqlite3_stmt *q = stmt(s, S_SB_PURGE, &r);
    int changes = 0;
    if (q) {
        r = sqlite3_bind_int64(q, 1, cutoff_ms) == SQLITE_OK ? step_done(s, q) : -ENOMEM;
        changes = sqlite3_changes(s->db);
    }
    r = tx_end(s, r);
    return r < 0 ? r : changes;
}

static int sqlite_snapshot_refs(struct store *st, const char *dir, uint64_t *ret_n)
{
    struct sqlite_store *s = to_sqlite(st);
    int r;
    sqlite3_stmt *q = stmt(s, S_SNAPSHOT_REFS, &r);
    if (!q)
        return r;
    if (bind_text(q, 1, dir) != SQLITE_OK)
        return -ENOMEM;
    r = step_row(s, q);
    if (r == 1)
        *ret_n = (uint64_t)sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    return r == 1 ? 0 : r < 0 ? r : -EIO;
}

/* ---- shared with sqlite_net.c (sqlite_internal.h) ---- */

sqlite3 *sqlite_db(struct store *st)
{
    return to_sqlite(st)->db;
}

int sqlite_fail(struct store *st, int rc)
{
    return fail(to_sqlite(st), rc);
}

int sqlite_tx_begin(struct store *st, bool write)
{
    return write ? tx_write(to_sqlite(st)) : tx_read(to_sqlite(st));
}

int sqlite_tx_end(struct store *st, int r)
{
    return tx_end(to_sqlite(st), r);
}

int sqlite_prepare(struct store *st, const char *sql, sqlite3_stmt **ret)
{
    int rc = sqlite3_prepare_v2(to_sqlite(st)->db, sql, -1, ret, NULL);
    return rc == SQLITE_OK ? 0 : fail(to_sqlite(st), rc);
}

int sqlite_col_text(sqlite3_stmt *q, int i, char *dst, size_t size)
{
    return col_text(q, i, dst, size);
}

static const struct store_ops sqlite_ops = {
    .name = "sqlite",
    .close = sqlite_close,
    .schema_version = sqlite_schema_version,
    .check = sqlite_check,
    .user_ensure = sqlite_user_ensure,
    .key_insert = sqlite_key_insert,
    .key_find = sqlite_key_find,
    .key_touch = sqlite_key_touch,
    .key_list = sqlite_key_list,
    .key_revoke = sqlite_key_revoke,
    .sb_insert = sqlite_sb_insert,
    .sb_get = sqlite_sb_get,
    .sb_get_by_ip = sqlite_sb_get_by_ip,
    .sb_list = sqlite_sb_list,
    .sb_count = sqlite_sb_count,
    .sb_update = sqlite_sb_update,
    .sb_transition = sqlite_sb_transition,
    .sb_ssh_add = sqlite_sb_ssh_add,
    .sb_envs_get = sqlite_sb_envs_get,
    .sb_list_unsettled = sqlite_sb_list_unsettled,
    .sb_purge = sqlite_sb_purge,
    .snapshot_refs = sqlite_snapshot_refs,
    .network_insert = sqlite_network_insert,
    .network_get = sqlite_network_get,
    .network_list = sqlite_network_list,
    .network_delete = sqlite_network_delete,
    .network_subnets = sqlite_network_subnets,
    .member_add = sqlite_member_add,
    .member_remove = sqlite_member_remove,
    .member_list = sqlite_member_list,
    .ips_in_use = sqlite_ips_in_use,
};
