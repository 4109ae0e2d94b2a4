/* SPDX-License-Identifier: MIT */
/* sqlite_internal.h: what the SQLite backend's files share: the handle, its cached statements,
 * the error, transaction, binding and column helpers (sqlite.c), and the entry points of each
 * concept's file (sqlite_keys.c, sqlite_sb.c, sqlite_net.c, sqlite_disks.c, sqlite_templates.c) for
 * sqlite.c's ops table.
 * Internal to src/daemon/store. */
#pragma once

#include "daemon/store/store_backend.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

/* Statements kept prepared for the life of the handle; their SQL is in sqlite.c. */
enum sqlite_stmt_id {
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
    S_SB_GET_INGRESS_NAME,
    S_SB_BY_NAME,
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

/* The columns of a sandbox row, in the order of sqlite_sb.c's enum col. */
#define SB_COLS                                                                                  \
    "id, user_id, name, hostname, status, shape, vcpu, mem_mib, disk_mib, rootfs, region, ip, "  \
    "created_at, running_at, paused_at, last_resumed_at, destroyed_at, spawn_ms, "               \
    "ingress_enabled, created_by, forked_from, auto_pause_after_seconds, start_paused, "         \
    "bw_quota_bytes, bw_used_bytes, bw_ingress_bytes, bw_capped, host_id, run_dir, qemu_pid, "  \
    "qemu_start_time, target_state, intent_started_at, updated_at, snapshot_dir, base_dir, "    \
    "bw_seen_egress, bw_seen_ingress, bw_seen_egress_handle, bw_seen_ingress_handle"

struct sqlite_store {
    struct store base;              /* first: the handle store.c sees */
    sqlite3 *db;                    /* owned */
    sqlite3_stmt *stmts[S__COUNT];  /* owned; prepared on first use */
};

static inline struct sqlite_store *to_sqlite(struct store *st)
{
    return (struct sqlite_store *)st;
}

/* ---- errors, statements, transactions (sqlite.c) ---- */

/* Records the failure of result code rc and returns it as -errno. */
int sqlite_fail(struct sqlite_store *s, int rc);
/* Returns the cached statement, reset and unbound, or NULL with *ret_err set. */
sqlite3_stmt *sqlite_stmt(struct sqlite_store *s, enum sqlite_stmt_id id, int *ret_err);
/* sqlite_stmt(), then binds the texts p[0..np) to ?1..?np: NULL with *ret_err set on failure. */
sqlite3_stmt *sqlite_stmt_texts(struct sqlite_store *s, enum sqlite_stmt_id id,
                                const char *const *p, size_t np, int *ret_err);
/* Prepares a one-off statement (the caller finalizes it). */
int sqlite_prepare(struct sqlite_store *s, const char *sql, sqlite3_stmt **ret);
/* sqlite_prepare(), then binds the texts p[0..np) to ?1..?np (a NULL text binds NULL). */
int sqlite_prepare_bound(struct sqlite_store *s, const char *sql, const char *const *p, size_t np,
                         sqlite3_stmt **ret);
/* Runs a statement expected to finish without rows, then resets it. */
int sqlite_step_done(struct sqlite_store *s, sqlite3_stmt *q);
/* sqlite_step_done() for an UPDATE or DELETE that must hit a row: -ENOENT when none changed. */
int sqlite_step_change(struct sqlite_store *s, sqlite3_stmt *q);
/* SQLITE_ROW → 1, SQLITE_DONE → 0, else -errno. */
int sqlite_step_row(struct sqlite_store *s, sqlite3_stmt *q);
/* Steps q for exactly one row: 0 with the row current, -ENOENT (none) or -errno. */
int sqlite_step_one(struct sqlite_store *s, sqlite3_stmt *q);
/* BEGIN IMMEDIATE (write: takes the write lock up front, so it never fails half-way on a lock
 * upgrade) or BEGIN (read: every SELECT in it sees one snapshot). */
int sqlite_tx_begin(struct sqlite_store *s, bool write);
/* Ends a transaction: commits when r is 0, else rolls back. Returns r, or the commit's error.
 * Harmless after a failed sqlite_tx_begin(), so callers may pass its result straight on. */
int sqlite_tx_end(struct sqlite_store *s, int r);

/* ---- binding and reading ---- */

static inline int sqlite_bind_text(sqlite3_stmt *q, int i, const char *v)
{
    return sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
}

/* NULL for "" or NULL */
static inline int sqlite_bind_text_opt(sqlite3_stmt *q, int i, const char *v)
{
    return v && *v ? sqlite_bind_text(q, i, v) : sqlite3_bind_null(q, i);
}

/* NULL for 0 */
static inline int sqlite_bind_i64_opt(sqlite3_stmt *q, int i, int64_t v)
{
    return v ? sqlite3_bind_int64(q, i, v) : sqlite3_bind_null(q, i);
}

/* NULL for STORE_STATE_NONE */
static inline int sqlite_bind_state_opt(sqlite3_stmt *q, int i, enum store_state v)
{
    const char *name = store_state_to_string(v);
    return name ? sqlite_bind_text(q, i, name) : sqlite3_bind_null(q, i);
}

/* Binds texts v[0..n) to parameters 1..n; -ENOMEM when one fails. */
int sqlite_bind_texts(sqlite3_stmt *q, const char *const *v, size_t n);

/* Copies a text column into a fixed field; NULL reads as "". -EUCLEAN when too long. */
int sqlite_col_text(sqlite3_stmt *q, int i, char *dst, size_t size);
/* A text column as a new string; NULL reads as NULL. */
int sqlite_col_strdup(sqlite3_stmt *q, int i, char **ret);
/* A state column; NULL reads as STORE_STATE_NONE when null_ok, else -EUCLEAN. */
int sqlite_col_state(sqlite3_stmt *q, int i, enum store_state *ret, bool null_ok);

/* One text column copied into a fixed char array at offset off of a struct. */
struct sqlite_text_col {
    int col;
    size_t off, size;
};
#define SQLITE_TEXT_COL(col, type, field)                                                        \
    { (col), offsetof(type, field), sizeof(((type *)0)->field) }
/* Reads each of cols[0..n) into obj with sqlite_col_text(); stops at the first error. */
int sqlite_col_texts(sqlite3_stmt *q, void *obj, const struct sqlite_text_col *cols, size_t n);

/* Reads the current row of q into *elem; on failure leaves nothing in *elem to free. */
typedef int sqlite_read_fn(sqlite3_stmt *q, void *elem);
/* Steps q (bound) to its end and reads each row with read into a new array of elem-byte slots
 * (first: how many the first allocation holds). Resets q. Returns 0 with the array in *ret and
 * its length in *ret_n, or -errno with the *ret_n rows read so far left in *ret (possibly NULL)
 * for the caller to free. */
int sqlite_read_all(struct sqlite_store *s, sqlite3_stmt *q, size_t elem, size_t first,
                    sqlite_read_fn *read, void **ret, size_t *ret_n);
/* Runs one-off sql with texts p bound and reads every row into a new array of elements that
 * hold nothing to free (see sqlite_read_all). */
int sqlite_select_all(struct sqlite_store *s, const char *sql, const char *const *p, size_t np,
                      size_t elem, size_t first, sqlite_read_fn *read, void **ret, size_t *ret_n);
/* Runs a one-off statement expected to finish without rows, then finalizes it. */
int sqlite_finish(struct sqlite_store *s, sqlite3_stmt *q);
/* Runs one-off sql with texts p bound for its one row of n integer columns, into out. */
int sqlite_select_ints(struct sqlite_store *s, const char *sql, const char *const *p, size_t np,
                       int64_t *out, int n);
/* Runs one-off sql with texts p bound and reads its one row with read into ret: 0, -ENOENT
 * (no row) or -errno. */
int sqlite_select_one(struct sqlite_store *s, const char *sql, const char *const *p, size_t np,
                      sqlite_read_fn *read, void *ret);
/* One page of a list in one read transaction: count_sql (texts p bound) counts every row into
 * *ret_total; page_sql, with the same texts and then LIMIT and OFFSET as ?np+1 and ?np+2, reads
 * at most limit rows (none when limit is 0) into a new array (*ret, free()). */
int sqlite_select_page(struct sqlite_store *s, const char *count_sql, const char *page_sql,
                       const char *const *p, size_t np, size_t limit, size_t offset, size_t elem,
                       sqlite_read_fn *read, void **ret, size_t *ret_n, uint64_t *ret_total);
/* Steps q (bound) and collects its first column, which must not be NULL, into *ret. Resets q. */
int sqlite_read_strv(struct sqlite_store *s, sqlite3_stmt *q, struct store_strv *ret);

/* ---- users and keys (sqlite_keys.c) ---- */
int sqlite_user_ensure(struct store *st, const char *user_id, int64_t now_ms);
int sqlite_key_insert(struct store *st, const struct store_key *key,
                      const uint8_t hash[APIKEY_HASH_LEN]);
int sqlite_key_find(struct store *st, const uint8_t hash[APIKEY_HASH_LEN],
                    struct store_auth *ret, uint8_t ret_hash[APIKEY_HASH_LEN],
                    int64_t *ret_revoked_at);
int sqlite_key_touch(struct store *st, const char *key_id, int64_t now_ms);
int sqlite_key_list(struct store *st, const char *user_id, struct store_key **ret,
                    size_t *ret_n);
int sqlite_key_page(struct store *st, const char *user_id, size_t limit, size_t offset,
                    struct store_key **ret, size_t *ret_n, uint64_t *ret_total);
int sqlite_key_revoke(struct store *st, const char *key_id, bool keep_admin, int64_t now_ms);

/* ---- sandboxes (sqlite_sb.c) ---- */
int sqlite_sb_insert(struct store *st, const struct store_sandbox *rows, size_t n,
                     const struct store_env *envs, size_t n_envs);
int sqlite_sb_get(struct store *st, const char *user_id, const char *id,
                  struct store_sandbox *ret);
int sqlite_sb_get_ingress_name(struct store *st, const char *hostname,
                               struct store_sandbox *ret);
int sqlite_sb_get_by_ip(struct store *st, const char *user_id, const char *ip,
                        struct store_sandbox *ret);
int sqlite_sb_list_by_name(struct store *st, const char *name, struct store_sandbox_page *ret);
int sqlite_sb_list(struct store *st, const struct store_list_query *qr,
                   struct store_sandbox_page *ret);
int sqlite_sb_count(struct store *st, const char *user_id, uint64_t counts[STORE_STATE__COUNT]);
int sqlite_sb_update(struct store *st, const char *user_id, const char *id,
                     const struct store_sandbox_patch *p);
int sqlite_sb_transition(struct store *st, const char *id, const struct store_transition *t,
                         struct store_sandbox *ret_sb);
int sqlite_sb_ssh_add(struct store *st, const char *user_id, const char *id,
                      unsigned allowed_states, const char *const *keys, size_t n, int64_t now_ms,
                      size_t *ret_count);
int sqlite_sb_envs_get(struct store *st, const char *id, struct store_env **ret, size_t *ret_n);
int sqlite_sb_list_unsettled(struct store *st, const char *host_id, struct store_sandbox **ret,
                             size_t *ret_n);
int sqlite_sb_purge(struct store *st, int64_t cutoff_ms);
int sqlite_snapshot_refs(struct store *st, const char *dir, uint64_t *ret_n);

/* ---- private networks (sqlite_net.c) ---- */
int sqlite_network_insert(struct store *st, const struct store_network *n);
int sqlite_network_get(struct store *st, const char *user_id, const char *ref,
                       struct store_network *ret);
int sqlite_network_list(struct store *st, const char *user_id, size_t limit, size_t offset,
                        struct store_network **ret, size_t *ret_n, uint64_t *ret_total);
int sqlite_network_delete(struct store *st, const char *user_id, const char *id, int64_t now_ms,
                          uint64_t *ret_members);
int sqlite_network_subnets(struct store *st, struct store_strv *ret);
int sqlite_member_add(struct store *st, const char *network_id, const char *sandbox_id,
                      const char *ip, int64_t now_ms);
int sqlite_member_remove(struct store *st, const char *network_id, const char *sandbox_id);
int sqlite_member_list(struct store *st, const char *network_id, const char *sandbox_id,
                       struct store_member **ret, size_t *ret_n);
int sqlite_ips_in_use(struct store *st, struct store_strv *ret);

/* ---- a sandbox's event log (sqlite_events.c) ---- */
int sqlite_event_append(struct store *st, const char *sandbox_id, const struct store_event *ev,
                        int64_t *ret_seq);
int sqlite_event_list(struct store *st, const char *sandbox_id, int64_t after, size_t limit,
                      struct store_event **ret, size_t *ret_n);
int sqlite_event_last(struct store *st, const char *sandbox_id, const char *kind,
                      struct store_event *ret);

/* ---- delegated sandbox tokens (sqlite_tokens.c) ---- */
int sqlite_token_insert(struct store *st, const struct store_token *t,
                        const uint8_t hash[APIKEY_HASH_LEN]);
int sqlite_token_rotate(struct store *st, const struct store_token *t,
                        const uint8_t hash[APIKEY_HASH_LEN], struct store_token *ret);
int sqlite_token_get(struct store *st, const char *user_id, const char *sandbox_id,
                     struct store_token *ret);
int sqlite_token_delete(struct store *st, const char *user_id, const char *sandbox_id,
                        struct store_token *ret);
int sqlite_token_find(struct store *st, const uint8_t hash[APIKEY_HASH_LEN],
                      struct store_token *ret, uint8_t ret_hash[APIKEY_HASH_LEN]);

/* ---- S3 disks and their mounts (sqlite_disks.c) ---- */
int sqlite_disk_insert(struct store *st, const struct store_disk *d);
int sqlite_disk_get(struct store *st, const char *user_id, const char *ref,
                    struct store_disk *ret);
int sqlite_disk_list(struct store *st, const char *user_id, size_t limit, size_t offset,
                     struct store_disk **ret, size_t *ret_n, uint64_t *ret_total);
int sqlite_disk_list_all(struct store *st, struct store_disk **ret, size_t *ret_n);
int sqlite_disk_set_sealed(struct store *st, const char *user_id, const char *id,
                           const uint8_t *sealed, size_t len, int64_t now_ms);
int sqlite_disk_delete(struct store *st, const char *user_id, const char *id, int64_t now_ms,
                       uint64_t *ret_sandboxes);
int sqlite_mount_add_many(struct store *st, const struct store_mount *m, size_t n);
int sqlite_mount_list(struct store *st, const char *sandbox_id, struct store_mount **ret,
                      size_t *ret_n);
int sqlite_mount_get(struct store *st, const char *sandbox_id, const char *mount_path,
                     struct store_mount *ret);
int sqlite_mount_set_status(struct store *st, const char *sandbox_id, const char *mount_path,
                            enum store_mount_status status, const char *error, int64_t now_ms);
int sqlite_mount_remove(struct store *st, const char *sandbox_id, const char *mount_path);
int sqlite_mount_sandboxes(struct store *st, const char *host_id, struct store_strv *ret);

/* ---- templates and their build logs (sqlite_templates.c) ---- */
int sqlite_template_insert(struct store *st, const struct store_template *t);
int sqlite_template_get(struct store *st, const char *user_id, const char *ref, bool with_text,
                        struct store_template *ret);
int sqlite_template_list(struct store *st, const char *user_id, size_t limit, size_t offset,
                         struct store_template **ret, size_t *ret_n, uint64_t *ret_total);
int sqlite_template_list_status(struct store *st, enum store_tpl_status s,
                                struct store_template **ret, size_t *ret_n);
int sqlite_template_list_all(struct store *st, struct store_template **ret, size_t *ret_n);
int sqlite_template_update(struct store *st, const char *id, const struct store_tpl_update *u);
int sqlite_template_delete(struct store *st, const char *user_id, const char *id, int64_t now_ms,
                           enum store_tpl_status *ret_was);
int sqlite_template_sandboxes(struct store *st, const char *id, uint64_t *ret_n);
int sqlite_template_log_append(struct store *st, const char *id, const struct store_tpl_log *l,
                               size_t n);
int sqlite_template_log_read(struct store *st, const char *id, int32_t attempt,
                             int32_t after_attempt, int64_t after_seq, size_t limit,
                             struct store_tpl_log **ret, size_t *ret_n);

/* ---- the host registry (sqlite_hosts.c) ---- */
int sqlite_host_report(struct store *st, const struct store_host *h);
int sqlite_host_list(struct store *st, struct store_host **ret, size_t *ret_n);
int sqlite_host_get(struct store *st, const char *id, struct store_host *ret);
int sqlite_host_set_drain(struct store *st, const char *id, bool drain);
int sqlite_host_delete(struct store *st, const char *id);

/* ---- the work queue (sqlite_jobs.c) ---- */
int sqlite_job_enqueue(struct store *st, const struct store_job *j);
int sqlite_job_claim(struct store *st, const char *host_id, int64_t now_ms, struct store_job *ret);
int sqlite_job_finish(struct store *st, const char *id, bool ok, int status_code,
                      const char *result, const char *sandbox_id, int64_t now_ms);
int sqlite_job_get(struct store *st, const char *id, struct store_job *ret);
int sqlite_job_fail_host(struct store *st, const char *host_id, bool running_only,
                         int status_code, const char *result, int64_t now_ms, uint64_t *ret_n);
int sqlite_job_purge(struct store *st, int64_t cutoff_ms);
/* ---- snapshots on S3 (sqlite_snapshots.c) ---- */
int sqlite_snapobj_put(struct store *st, const struct store_snapobj *o);
int sqlite_snapobj_get(struct store *st, const char *dir, struct store_snapobj *ret);
int sqlite_snapobj_list(struct store *st, bool pending_only, struct store_snapobj **ret,
                        size_t *ret_n);
int sqlite_snapobj_delete(struct store *st, const char *dir);
