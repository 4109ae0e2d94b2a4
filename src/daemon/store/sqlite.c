/* SPDX-License-Identifier: MIT */
/* sqlite.c: the SQLite store backend's handle. WAL journal, foreign keys on, a busy timeout,
 * cached prepared statements, one transaction per public call, numbered migrations tracked in
 * PRAGMA user_version. Owns the sqlite3 handle; sees only input store.c has checked; never logs.
 * The helpers every concept file uses live here; the calls themselves live in sqlite_keys.c,
 * sqlite_sb.c and sqlite_net.c. */
#include "daemon/store/store_backend.h"
#include "daemon/store/migrations.h"
#include "daemon/store/sqlite_internal.h"
#include "common/grow.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 5000

#define TERMINAL_SQL "('destroyed', 'failed')"

/* The SQL of each cached statement (sqlite_internal.h). */
static const char *const stmt_sql[S__COUNT] = {
    [S_USER_ENSURE] = "INSERT INTO users (id, created_at) VALUES (?1, ?2) "
                      "ON CONFLICT (id) DO NOTHING",
    [S_KEY_INSERT] = "INSERT INTO api_keys (id, user_id, hash, prefix, label, admin, created_at) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [S_KEY_FIND] = "SELECT id, user_id, admin, hash, revoked_at, coalesce(last_used_at, 0) "
                   "FROM api_keys WHERE hash = ?1",
    [S_KEY_TOUCH] = "UPDATE api_keys SET last_used_at = ?2 WHERE id = ?1",
    [S_KEY_REVOKE] = "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
    [S_KEY_STATE] = "SELECT revoked_at FROM api_keys WHERE id = ?1",
    [S_SB_INSERT] = "INSERT INTO sandboxes (" SB_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                    "?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, "
                    "?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37, ?38, "
                    "?39, ?40)",
    [S_SB_GET] = "SELECT " SB_COLS " FROM sandboxes WHERE id = ?1 AND user_id = ?2",
    [S_SB_GET_ANY] = "SELECT " SB_COLS " FROM sandboxes WHERE id = ?1",
    [S_SB_GET_BY_IP] = "SELECT " SB_COLS " FROM sandboxes WHERE ip = ?1 AND user_id = ?2 "
                       "AND status NOT IN ('creating', 'destroyed', 'failed')",
    [S_SB_GET_INGRESS_NAME] = "SELECT " SB_COLS " FROM sandboxes WHERE hostname = ?1 "
                              "AND ingress_enabled = 1 AND status NOT IN ('creating', "
                              "'destroying', 'destroyed', 'failed', 'error') LIMIT 2",
    [S_SB_BY_NAME] = "SELECT " SB_COLS " FROM sandboxes WHERE name = ?1 "
                     "AND status NOT IN ('destroyed', 'failed') ORDER BY id",
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
int sqlite_fail(struct sqlite_store *s, int rc)
{
    store_set_errmsg(&s->base, "sqlite: %s (%d)", sqlite3_errmsg(s->db), rc);
    return errno_from_rc(rc, sqlite3_system_errno(s->db));
}

/* ---- statements and transactions ---- */

sqlite3_stmt *sqlite_stmt(struct sqlite_store *s, enum sqlite_stmt_id id, int *ret_err)
{
    sqlite3_stmt *q = s->stmts[id];
    if (!q) {
        int rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT,
                                    &s->stmts[id], NULL);
        if (rc != SQLITE_OK) {
            *ret_err = sqlite_fail(s, rc);
            return NULL;
        }
        return s->stmts[id];
    }
    (void)sqlite3_reset(q); /* an earlier step's error was reported then */
    (void)sqlite3_clear_bindings(q);
    return q;
}

sqlite3_stmt *sqlite_stmt_texts(struct sqlite_store *s, enum sqlite_stmt_id id,
                                const char *const *p, size_t np, int *ret_err)
{
    sqlite3_stmt *q = sqlite_stmt(s, id, ret_err);
    if (q && (*ret_err = sqlite_bind_texts(q, p, np)) < 0)
        return NULL;
    return q;
}

int sqlite_prepare(struct sqlite_store *s, const char *sql, sqlite3_stmt **ret)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, ret, NULL);
    return rc == SQLITE_OK ? 0 : sqlite_fail(s, rc);
}

int sqlite_prepare_bound(struct sqlite_store *s, const char *sql, const char *const *p, size_t np,
                         sqlite3_stmt **ret)
{
    int r = sqlite_prepare(s, sql, ret);
    if (r == 0 && (r = sqlite_bind_texts(*ret, p, np)) < 0)
        sqlite3_finalize(*ret);
    return r;
}

/* Resets q afterwards so it holds no lock. */
int sqlite_step_done(struct sqlite_store *s, sqlite3_stmt *q)
{
    int rc = sqlite3_step(q);
    int r = rc == SQLITE_DONE ? 0 : sqlite_fail(s, rc == SQLITE_ROW ? SQLITE_MISUSE : rc);
    (void)sqlite3_reset(q);
    return r;
}

int sqlite_step_change(struct sqlite_store *s, sqlite3_stmt *q)
{
    int r = sqlite_step_done(s, q);
    return r == 0 && sqlite3_changes(s->db) == 0 ? -ENOENT : r;
}

int sqlite_step_row(struct sqlite_store *s, sqlite3_stmt *q)
{
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return sqlite_fail(s, rc);
}

int sqlite_step_one(struct sqlite_store *s, sqlite3_stmt *q)
{
    int r = sqlite_step_row(s, q);
    return r == 1 ? 0 : r == 0 ? -ENOENT : r;
}

static int exec(struct sqlite_store *s, const char *sql)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : sqlite_fail(s, rc);
}

int sqlite_tx_begin(struct sqlite_store *s, bool write)
{
    /* IMMEDIATE waits for the write lock up to the busy timeout */
    return exec(s, write ? "BEGIN IMMEDIATE" : "BEGIN");
}

int sqlite_tx_end(struct sqlite_store *s, int r)
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

int sqlite_bind_texts(sqlite3_stmt *q, const char *const *v, size_t n)
{
    int rc = SQLITE_OK;
    for (size_t i = 0; i < n; i++)
        rc |= sqlite_bind_text(q, (int)i + 1, v[i]);
    return rc == SQLITE_OK ? 0 : -ENOMEM;
}

int sqlite_col_text(sqlite3_stmt *q, int i, char *dst, size_t size)
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

int sqlite_col_texts(sqlite3_stmt *q, void *obj, const struct sqlite_text_col *cols, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int r = sqlite_col_text(q, cols[i].col, (char *)obj + cols[i].off, cols[i].size);
        if (r < 0)
            return r;
    }
    return 0;
}

int sqlite_col_strdup(sqlite3_stmt *q, int i, char **ret)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    if (!t) {
        *ret = NULL;
        return sqlite3_column_type(q, i) == SQLITE_NULL ? 0 : -ENOMEM;
    }
    *ret = strdup((const char *)t);
    return *ret ? 0 : -ENOMEM;
}

int sqlite_col_state(sqlite3_stmt *q, int i, enum store_state *ret, bool null_ok)
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

int sqlite_read_all(struct sqlite_store *s, sqlite3_stmt *q, size_t elem, size_t first,
                    sqlite_read_fn *read, void **ret, size_t *ret_n)
{
    char *v = NULL;
    size_t n = 0, cap = 0;
    int r;
    while ((r = sqlite_step_row(s, q)) == 1) {
        char *nv = grow_array(v, n, &cap, elem, first);
        if (!nv) {
            r = -ENOMEM;
            break;
        }
        v = nv;
        if ((r = read(q, v + n * elem)) < 0)
            break;
        n++;
    }
    (void)sqlite3_reset(q);
    *ret = v;
    *ret_n = n;
    return r;
}

int sqlite_select_all(struct sqlite_store *s, const char *sql, const char *const *p, size_t np,
                      size_t elem, size_t first, sqlite_read_fn *read, void **ret, size_t *ret_n)
{
    sqlite3_stmt *q;
    int r = sqlite_prepare_bound(s, sql, p, np, &q);
    if (r < 0)
        return r;
    void *v;
    size_t n;
    r = sqlite_read_all(s, q, elem, first, read, &v, &n);
    sqlite3_finalize(q);
    if (r < 0) {
        free(v);
        return r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

int sqlite_finish(struct sqlite_store *s, sqlite3_stmt *q)
{
    int r = sqlite_step_done(s, q);
    sqlite3_finalize(q);
    return r;
}

int sqlite_select_ints(struct sqlite_store *s, const char *sql, const char *const *p, size_t np,
                       int64_t *out, int n)
{
    sqlite3_stmt *q;
    int r = sqlite_prepare_bound(s, sql, p, np, &q);
    if (r < 0)
        return r;
    r = sqlite_step_one(s, q);
    for (int i = 0; r == 0 && i < n; i++)
        out[i] = sqlite3_column_int64(q, i);
    sqlite3_finalize(q);
    return r == -ENOENT ? -EIO : r;
}

int sqlite_select_one(struct sqlite_store *s, const char *sql, const char *const *p, size_t np,
                      sqlite_read_fn *read, void *ret)
{
    sqlite3_stmt *q;
    int r = sqlite_prepare_bound(s, sql, p, np, &q);
    if (r < 0)
        return r;
    r = sqlite_step_one(s, q);
    if (r == 0)
        r = read(q, ret);
    sqlite3_finalize(q);
    return r;
}

int sqlite_select_page(struct sqlite_store *s, const char *count_sql, const char *page_sql,
                       const char *const *p, size_t np, size_t limit, size_t offset, size_t elem,
                       sqlite_read_fn *read, void **ret, size_t *ret_n, uint64_t *ret_total)
{
    int64_t total = 0;
    void *v = NULL;
    size_t n = 0;
    int r = sqlite_tx_begin(s, false); /* the count and the page see one snapshot */
    if (r == 0)
        r = sqlite_select_ints(s, count_sql, p, np, &total, 1);
    sqlite3_stmt *q;
    if (r == 0 && limit > 0 && (r = sqlite_prepare_bound(s, page_sql, p, np, &q)) == 0) {
        sqlite3_bind_int64(q, (int)np + 1, (int64_t)limit);
        sqlite3_bind_int64(q, (int)np + 2, (int64_t)offset);
        r = sqlite_read_all(s, q, elem, limit < 100 ? limit : 100, read, &v, &n);
        sqlite3_finalize(q);
    }
    r = sqlite_tx_end(s, r);
    if (r < 0) {
        free(v);
        return r;
    }
    *ret = v;
    *ret_n = n;
    *ret_total = (uint64_t)total;
    return 0;
}

/* sqlite_read_fn for a NOT NULL text column */
static int read_str(sqlite3_stmt *q, void *elem)
{
    char **str = elem;
    int r = sqlite_col_strdup(q, 0, str);
    return r < 0 ? r : *str ? 0 : -EUCLEAN;
}

int sqlite_read_strv(struct sqlite_store *s, sqlite3_stmt *q, struct store_strv *ret)
{
    void *v;
    size_t n;
    int r = sqlite_read_all(s, q, sizeof(char *), 4, read_str, &v, &n);
    struct store_strv strv = { .v = v, .n = n };
    if (r < 0) {
        store_strv_free(&strv);
        return r;
    }
    *ret = strv;
    return 0;
}

/* ---- open, migrate, close ---- */

/* Prepares sql and steps to its first row: 0 with *ret_q on that row (the caller finalizes it),
 * else -errno (-EIO when there is no row) with nothing left to finalize. */
static int pragma_row(struct sqlite_store *s, const char *sql, sqlite3_stmt **ret_q)
{
    int r = sqlite_prepare(s, sql, ret_q);
    if (r < 0)
        return r;
    r = sqlite_step_row(s, *ret_q);
    if (r == 1)
        return 0;
    sqlite3_finalize(*ret_q);
    return r == 0 ? -EIO : r;
}

static int pragma_int(struct sqlite_store *s, const char *sql, int *ret)
{
    sqlite3_stmt *q;
    int r = pragma_row(s, sql, &q);
    if (r < 0)
        return r;
    *ret = sqlite3_column_int(q, 0);
    sqlite3_finalize(q);
    return 0;
}

static int pragma_text_is(struct sqlite_store *s, const char *sql, const char *want)
{
    sqlite3_stmt *q;
    int r = pragma_row(s, sql, &q);
    if (r < 0)
        return r;
    const char *t = (const char *)sqlite3_column_text(q, 0);
    if (!t || strcmp(t, want) != 0) {
        store_set_errmsg(&s->base, "%s answered '%s', expected '%s'", sql, t ? t : "", want);
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
    int r = sqlite_tx_begin(s, true);
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
    return sqlite_tx_end(s, r);
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
        r = sqlite_fail(s, rc);
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
    if ((r = sqlite_prepare(s, "PRAGMA foreign_key_check", &q)) < 0)
        return r;
    r = sqlite_step_row(s, q);
    sqlite3_finalize(q);
    if (r == 1) {
        store_set_errmsg(st, "foreign key check found dangling rows");
        return -EUCLEAN;
    }
    return r;
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
    .key_page = sqlite_key_page,
    .key_revoke = sqlite_key_revoke,
    .sb_insert = sqlite_sb_insert,
    .sb_get = sqlite_sb_get,
    .sb_get_by_ip = sqlite_sb_get_by_ip,
    .sb_get_ingress_name = sqlite_sb_get_ingress_name,
    .sb_list_by_name = sqlite_sb_list_by_name,
    .sb_list = sqlite_sb_list,
    .sb_count = sqlite_sb_count,
    .sb_update = sqlite_sb_update,
    .sb_transition = sqlite_sb_transition,
    .sb_ssh_add = sqlite_sb_ssh_add,
    .sb_envs_get = sqlite_sb_envs_get,
    .sb_list_unsettled = sqlite_sb_list_unsettled,
    .sb_purge = sqlite_sb_purge,
    .snapshot_refs = sqlite_snapshot_refs,
    .event_append = sqlite_event_append,
    .event_list = sqlite_event_list,
    .event_last = sqlite_event_last,
    .token_insert = sqlite_token_insert,
    .token_rotate = sqlite_token_rotate,
    .token_get = sqlite_token_get,
    .token_delete = sqlite_token_delete,
    .token_find = sqlite_token_find,
    .host_report = sqlite_host_report,
    .host_list = sqlite_host_list,
    .host_get = sqlite_host_get,
    .host_set_drain = sqlite_host_set_drain,
    .host_delete = sqlite_host_delete,
    .job_enqueue = sqlite_job_enqueue,
    .job_claim = sqlite_job_claim,
    .job_finish = sqlite_job_finish,
    .job_get = sqlite_job_get,
    .job_fail_host = sqlite_job_fail_host,
    .job_purge = sqlite_job_purge,
    .network_insert = sqlite_network_insert,
    .network_get = sqlite_network_get,
    .network_list = sqlite_network_list,
    .network_delete = sqlite_network_delete,
    .network_subnets = sqlite_network_subnets,
    .member_add = sqlite_member_add,
    .member_remove = sqlite_member_remove,
    .member_list = sqlite_member_list,
    .disk_insert = sqlite_disk_insert,
    .disk_get = sqlite_disk_get,
    .disk_list = sqlite_disk_list,
    .disk_list_all = sqlite_disk_list_all,
    .disk_set_sealed = sqlite_disk_set_sealed,
    .disk_delete = sqlite_disk_delete,
    .mount_add_many = sqlite_mount_add_many,
    .mount_list = sqlite_mount_list,
    .mount_get = sqlite_mount_get,
    .mount_set_status = sqlite_mount_set_status,
    .mount_remove = sqlite_mount_remove,
    .mount_sandboxes = sqlite_mount_sandboxes,
    .template_insert = sqlite_template_insert,
    .template_get = sqlite_template_get,
    .template_list = sqlite_template_list,
    .template_list_status = sqlite_template_list_status,
    .template_list_all = sqlite_template_list_all,
    .template_update = sqlite_template_update,
    .template_delete = sqlite_template_delete,
    .template_sandboxes = sqlite_template_sandboxes,
    .template_log_append = sqlite_template_log_append,
    .template_log_read = sqlite_template_log_read,
    .snapobj_put = sqlite_snapobj_put,
    .snapobj_get = sqlite_snapobj_get,
    .snapobj_list = sqlite_snapobj_list,
    .snapobj_delete = sqlite_snapobj_delete,
    .ips_in_use = sqlite_ips_in_use,
};
