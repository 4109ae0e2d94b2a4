/* SPDX-License-Identifier: MIT */
/* pg_internal.h: what the PostgreSQL backend's files share: the handle, the parameter builder,
 * the statement, transaction and error helpers (pg.c), the parameter and column helpers
 * (pg_rows.c), and the entry points of each
 * concept's file (pg_keys.c, pg_sb.c, pg_events.c, pg_tokens.c, pg_net.c, pg_disks.c,
 * pg_templates.c) for pg.c's ops table. The schema is migrations_pg/NNNN_name.sql, one file per
 * SQLite migration with the same number and name.
 *
 * Rules every concept file follows (docs/store.md "PostgreSQL backend"):
 * - SQL uses $1..$n; parameters are sent as text (integers formatted by pg_params_i64), bytea
 *   in binary; results come back as text. A parameter whose type PostgreSQL cannot infer
 *   (`$2 IS NULL`, `CASE WHEN $4 IS NULL`) needs a cast: `$2::text`.
 * - Every call that writes runs in pg_tx_begin(s, true) .. pg_tx_end(s, r), even a single
 *   statement: a write transaction holds the store's write lock (one writer at a time, as
 *   SQLite's BEGIN IMMEDIATE), so a check-then-write inside it is atomic against every other
 *   hearthd on the database, and a lost connection before BEGIN is retried, never a write.
 * - A read of several statements runs in pg_tx_begin(s, false) (one snapshot); a single SELECT
 *   may run alone (autocommit), where a lost connection is retried once.
 * Internal to src/daemon/store. */
#pragma once

#include "daemon/store/store_backend.h"

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pg_store {
    struct store base;              /* first: the handle store.c sees */
    PGconn *conn;                   /* owned; reset on the next call after it is lost */
    char *conninfo;                 /* owned: what (re)connects, password included; never shown */
    char where[256];                /* the location with any password replaced by "***" */
    char *secret, *secret_decoded;  /* owned: the password, scrubbed from every message */
    bool in_tx;                     /* between pg_tx_begin() and pg_tx_end() */
    int64_t retry_at_us;            /* a failed reconnect: no new attempt before (monotonic) */
    char sqlstate[6];               /* of the last failure, "" when none */
    char constraint[64];            /* the constraint the last failure names, "" when none */
};

static inline struct pg_store *to_pg(struct store *st)
{
    return (struct pg_store *)st;
}

/* ---- parameters ---- */

#define PG_MAX_PARAMS 48

/* The parameters of one statement, $1..$n in the order added. Texts and bytes are borrowed
 * (they must outlive the pg_exec call); numbers are formatted into the builder itself. */
struct pg_params {
    int n;
    bool overflow;                  /* more than PG_MAX_PARAMS: pg_exec fails with -E2BIG */
    const char *v[PG_MAX_PARAMS];
    int len[PG_MAX_PARAMS];
    int fmt[PG_MAX_PARAMS];         /* 0 text, 1 binary (bytea) */
    char num[PG_MAX_PARAMS][24];
};

/* A text; NULL is SQL NULL. */
void pg_param_text(struct pg_params *pp, const char *v);
/* A text, SQL NULL for NULL or "". */
void pg_param_text_opt(struct pg_params *pp, const char *v);
void pg_param_i64(struct pg_params *pp, int64_t v);
/* SQL NULL for 0 */
void pg_param_i64_opt(struct pg_params *pp, int64_t v);
/* 1 or 0 (the schema's flags are integers checked IN (0, 1), as in SQLite) */
void pg_param_bool(struct pg_params *pp, bool v);
void pg_param_double(struct pg_params *pp, double v);
/* bytes for a bytea parameter (binary format); NULL p with n 0 is an empty value, not NULL */
void pg_param_bytea(struct pg_params *pp, const void *p, size_t n);
/* NULL for STORE_STATE_NONE */
void pg_param_state_opt(struct pg_params *pp, enum store_state v);
/* A builder holding the texts p[0..np) (NULL entries are SQL NULL). */
void pg_params_texts(struct pg_params *pp, const char *const *p, size_t np);

/* ---- statements ---- */

/* Runs sql with pp (NULL: no parameters). On success returns 0, with the result in *ret when ret
 * is non-NULL (PQclear() it), else cleared. On failure records the detail (store_errmsg) and
 * returns the SQLSTATE mapped to -errno: unique violation -EEXIST, foreign key -ENOENT, other
 * constraint or bad data -EINVAL, serialization failure/deadlock/lock timeout -EBUSY, disk full
 * -ENOSPC, out of memory -ENOMEM, read-only -EROFS, privilege -EACCES, corruption -EUCLEAN,
 * lost connection or anything else -EIO. Outside a transaction a SELECT that fails because the
 * connection was lost is retried once on a new connection; nothing else ever is. */
int pg_exec(struct pg_store *s, const char *sql, const struct pg_params *pp, PGresult **ret);
/* pg_exec() for an UPDATE or DELETE that must hit a row: -ENOENT when none changed. */
int pg_exec_change(struct pg_store *s, const char *sql, const struct pg_params *pp);
/* pg_exec() for a command; *ret_n (may be NULL) gets how many rows it changed. */
int pg_exec_count(struct pg_store *s, const char *sql, const struct pg_params *pp,
                  uint64_t *ret_n);
/* The SQLSTATE of the last failure ("" when none, or not from the server), and the constraint
 * it names ("" when none): what a caller checks when one errno is not precise enough. */
const char *pg_last_sqlstate(const struct pg_store *s);
const char *pg_last_constraint(const struct pg_store *s);

/* BEGIN: write (READ COMMITTED, then the store's write lock, held to the end: one writer at a
 * time across every process on the database) or read (REPEATABLE READ READ ONLY: every SELECT in
 * it sees one snapshot). A connection found lost is re-made first. */
int pg_tx_begin(struct pg_store *s, bool write);
/* Ends a transaction: commits when r is 0, else rolls back. Returns r, or the commit's error
 * (-EIO when the connection was lost at COMMIT: the outcome is unknown and is not retried).
 * Harmless after a failed pg_tx_begin(), so callers may pass its result straight on. */
int pg_tx_end(struct pg_store *s, int r);

/* ---- reading results (text format; pg_rows.c, as the parameters) ---- */

static inline bool pg_col_null(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) != 0;
}

/* Copies a text column into a fixed field; NULL reads as "". -EUCLEAN when too long. */
int pg_col_text(const PGresult *res, int row, int col, char *dst, size_t size);
/* A text column as a new string; NULL reads as NULL. */
int pg_col_strdup(const PGresult *res, int row, int col, char **ret);
/* Numbers; NULL reads as 0. */
int64_t pg_col_i64(const PGresult *res, int row, int col);
double pg_col_double(const PGresult *res, int row, int col);
/* "t", "true" or a non-zero integer; NULL reads as false. */
bool pg_col_bool(const PGresult *res, int row, int col);
/* A bytea column decoded into dst (at most size bytes): 0 with *ret_len, -EUCLEAN when it does
 * not fit or is not bytea text. NULL reads as empty. */
int pg_col_bytea(const PGresult *res, int row, int col, uint8_t *dst, size_t size,
                 size_t *ret_len);
/* A bytea column decoded into a new buffer (malloc, one spare NUL byte after the data, so a text
 * value can be used as a string); NULL reads as NULL with length 0. */
int pg_col_bytea_dup(const PGresult *res, int row, int col, uint8_t **ret, size_t *ret_len);
/* The value of a hex digit, or -1. */
int pg_hexval(char c);
/* A state column; NULL reads as STORE_STATE_NONE when null_ok, else -EUCLEAN. */
int pg_col_state(const PGresult *res, int row, int col, enum store_state *ret, bool null_ok);

/* One text column copied into a fixed char array at offset off of a struct. */
struct pg_text_col {
    int col;
    size_t off, size;
};
#define PG_TEXT_COL(col, type, field)                                                            \
    { (col), offsetof(type, field), sizeof(((type *)0)->field) }
/* Reads each of cols[0..n) of row into obj with pg_col_text(); stops at the first error. */
int pg_col_texts(const PGresult *res, int row, void *obj, const struct pg_text_col *cols,
                 size_t n);

/* Reads row of res into *elem; on failure leaves nothing in *elem to free. */
typedef int pg_read_fn(const PGresult *res, int row, void *elem);
/* Reads every row of res with read into a new array of elem-byte slots (NULL when no rows).
 * Returns 0 with the array in *ret and its length in *ret_n, or -errno with the *ret_n rows read
 * so far left in *ret for the caller to free. */
int pg_read_all(const PGresult *res, size_t elem, pg_read_fn *read, void **ret, size_t *ret_n);
/* Runs sql with pp and reads every row into a new array of elements that hold nothing to free
 * (see pg_read_all); nothing is left to free on failure. */
int pg_select_all(struct pg_store *s, const char *sql, const struct pg_params *pp, size_t elem,
                  pg_read_fn *read, void **ret, size_t *ret_n);
/* Runs sql with pp and reads its one row with read into ret: 0, -ENOENT (no row) or -errno. */
int pg_select_one(struct pg_store *s, const char *sql, const struct pg_params *pp,
                  pg_read_fn *read, void *ret);
/* Runs sql with pp for its one row of n integer columns (NULL reads 0), into out; -EIO when
 * there is no row. */
int pg_select_ints(struct pg_store *s, const char *sql, const struct pg_params *pp, int64_t *out,
                   int n);
/* One page of a list in one read transaction: count_sql (pp bound) counts every row into
 * *ret_total; page_sql, with the same parameters and then LIMIT and OFFSET as $np+1 and $np+2,
 * reads at most limit rows (none when limit is 0) into a new array (*ret, free()). */
int pg_select_page(struct pg_store *s, const char *count_sql, const char *page_sql,
                   const struct pg_params *pp, size_t limit, size_t offset, size_t elem,
                   pg_read_fn *read, void **ret, size_t *ret_n, uint64_t *ret_total);
/* Runs sql with pp and collects its first column, which must not be NULL, into *ret. */
int pg_select_strv(struct pg_store *s, const char *sql, const struct pg_params *pp,
                   struct store_strv *ret);

/* ---- users and keys (pg_keys.c) ---- */
int pg_user_ensure(struct store *st, const char *user_id, int64_t now_ms);
int pg_key_insert(struct store *st, const struct store_key *key,
                  const uint8_t hash[APIKEY_HASH_LEN]);
int pg_key_find(struct store *st, const uint8_t hash[APIKEY_HASH_LEN], struct store_auth *ret,
                uint8_t ret_hash[APIKEY_HASH_LEN], int64_t *ret_revoked_at);
int pg_key_touch(struct store *st, const char *key_id, int64_t now_ms);
int pg_key_list(struct store *st, const char *user_id, struct store_key **ret, size_t *ret_n);
int pg_key_page(struct store *st, const char *user_id, size_t limit, size_t offset,
                struct store_key **ret, size_t *ret_n, uint64_t *ret_total);
int pg_key_revoke(struct store *st, const char *key_id, bool keep_admin, int64_t now_ms);

/* ---- sandboxes (pg_sb.c) ---- */
int pg_sb_insert(struct store *st, const struct store_sandbox *rows, size_t n,
                 const struct store_env *envs, size_t n_envs);
int pg_sb_get(struct store *st, const char *user_id, const char *id, struct store_sandbox *ret);
int pg_sb_get_ingress_name(struct store *st, const char *hostname, struct store_sandbox *ret);
int pg_sb_get_by_ip(struct store *st, const char *user_id, const char *ip,
                    struct store_sandbox *ret);
int pg_sb_list_by_name(struct store *st, const char *name, struct store_sandbox_page *ret);
int pg_sb_list(struct store *st, const struct store_list_query *qr,
               struct store_sandbox_page *ret);
int pg_sb_count(struct store *st, const char *user_id, uint64_t counts[STORE_STATE__COUNT]);
int pg_sb_update(struct store *st, const char *user_id, const char *id,
                 const struct store_sandbox_patch *p);
int pg_sb_transition(struct store *st, const char *id, const struct store_transition *t,
                     struct store_sandbox *ret_sb);
int pg_sb_ssh_add(struct store *st, const char *user_id, const char *id, unsigned allowed_states,
                  const char *const *keys, size_t n, int64_t now_ms, size_t *ret_count);
int pg_sb_envs_get(struct store *st, const char *id, struct store_env **ret, size_t *ret_n);
int pg_sb_list_unsettled(struct store *st, const char *host_id, struct store_sandbox **ret,
                         size_t *ret_n);
int pg_sb_purge(struct store *st, int64_t cutoff_ms);
int pg_snapshot_refs(struct store *st, const char *dir, uint64_t *ret_n);

/* ---- a sandbox's event log (pg_events.c) ---- */
int pg_event_append(struct store *st, const char *sandbox_id, const struct store_event *ev,
                    int64_t *ret_seq);
int pg_event_list(struct store *st, const char *sandbox_id, int64_t after, size_t limit,
                  struct store_event **ret, size_t *ret_n);
int pg_event_last(struct store *st, const char *sandbox_id, const char *kind,
                  struct store_event *ret);

/* ---- delegated sandbox tokens (pg_tokens.c) ---- */
int pg_token_insert(struct store *st, const struct store_token *t,
                    const uint8_t hash[APIKEY_HASH_LEN]);
int pg_token_rotate(struct store *st, const struct store_token *t,
                    const uint8_t hash[APIKEY_HASH_LEN], struct store_token *ret);
int pg_token_get(struct store *st, const char *user_id, const char *sandbox_id,
                 struct store_token *ret);
int pg_token_delete(struct store *st, const char *user_id, const char *sandbox_id,
                    struct store_token *ret);
int pg_token_find(struct store *st, const uint8_t hash[APIKEY_HASH_LEN], struct store_token *ret,
                  uint8_t ret_hash[APIKEY_HASH_LEN]);

/* ---- private networks (pg_net.c) ---- */
int pg_network_insert(struct store *st, const struct store_network *n);
int pg_network_get(struct store *st, const char *user_id, const char *ref,
                   struct store_network *ret);
int pg_network_list(struct store *st, const char *user_id, size_t limit, size_t offset,
                    struct store_network **ret, size_t *ret_n, uint64_t *ret_total);
int pg_network_delete(struct store *st, const char *user_id, const char *id, int64_t now_ms,
                      uint64_t *ret_members);
int pg_network_subnets(struct store *st, struct store_strv *ret);
int pg_member_add(struct store *st, const char *network_id, const char *sandbox_id,
                  const char *ip, int64_t now_ms);
int pg_member_remove(struct store *st, const char *network_id, const char *sandbox_id);
int pg_member_list(struct store *st, const char *network_id, const char *sandbox_id,
                   struct store_member **ret, size_t *ret_n);
int pg_ips_in_use(struct store *st, struct store_strv *ret);

/* ---- S3 disks and their mounts (pg_disks.c) ---- */
int pg_disk_insert(struct store *st, const struct store_disk *d);
int pg_disk_get(struct store *st, const char *user_id, const char *ref, struct store_disk *ret);
int pg_disk_list(struct store *st, const char *user_id, size_t limit, size_t offset,
                 struct store_disk **ret, size_t *ret_n, uint64_t *ret_total);
int pg_disk_list_all(struct store *st, struct store_disk **ret, size_t *ret_n);
int pg_disk_set_sealed(struct store *st, const char *user_id, const char *id,
                       const uint8_t *sealed, size_t len, int64_t now_ms);
int pg_disk_delete(struct store *st, const char *user_id, const char *id, int64_t now_ms,
                   uint64_t *ret_sandboxes);
int pg_mount_add_many(struct store *st, const struct store_mount *m, size_t n);
int pg_mount_list(struct store *st, const char *sandbox_id, struct store_mount **ret,
                  size_t *ret_n);
int pg_mount_get(struct store *st, const char *sandbox_id, const char *mount_path,
                 struct store_mount *ret);
int pg_mount_set_status(struct store *st, const char *sandbox_id, const char *mount_path,
                        enum store_mount_status status, const char *error, int64_t now_ms);
int pg_mount_remove(struct store *st, const char *sandbox_id, const char *mount_path);
int pg_mount_sandboxes(struct store *st, const char *host_id, struct store_strv *ret);

/* ---- templates and their build logs (pg_templates.c) ---- */
int pg_template_insert(struct store *st, const struct store_template *t);
int pg_template_get(struct store *st, const char *user_id, const char *ref, bool with_text,
                    struct store_template *ret);
int pg_template_list(struct store *st, const char *user_id, size_t limit, size_t offset,
                     struct store_template **ret, size_t *ret_n, uint64_t *ret_total);
int pg_template_list_status(struct store *st, enum store_tpl_status s,
                            struct store_template **ret, size_t *ret_n);
int pg_template_list_all(struct store *st, struct store_template **ret, size_t *ret_n);
int pg_template_update(struct store *st, const char *id, const struct store_tpl_update *u);
int pg_template_delete(struct store *st, const char *user_id, const char *id, int64_t now_ms,
                       enum store_tpl_status *ret_was);
int pg_template_sandboxes(struct store *st, const char *id, uint64_t *ret_n);
int pg_template_log_append(struct store *st, const char *id, const struct store_tpl_log *l,
                           size_t n);
int pg_template_log_read(struct store *st, const char *id, int32_t attempt,
                         int32_t after_attempt, int64_t after_seq, size_t limit,
                         struct store_tpl_log **ret, size_t *ret_n);

/* ---- the host registry (pg_hosts.c) ---- */
int pg_host_report(struct store *st, const struct store_host *h);
int pg_host_list(struct store *st, struct store_host **ret, size_t *ret_n);
int pg_host_get(struct store *st, const char *id, struct store_host *ret);
int pg_host_set_drain(struct store *st, const char *id, bool drain);
int pg_host_delete(struct store *st, const char *id);

/* ---- the work queue (pg_jobs.c) ---- */
int pg_job_enqueue(struct store *st, const struct store_job *j);
int pg_job_claim(struct store *st, const char *host_id, int64_t now_ms, struct store_job *ret);
int pg_job_finish(struct store *st, const char *id, bool ok, int status_code,
                  const char *result, const char *sandbox_id, int64_t now_ms);
int pg_job_get(struct store *st, const char *id, struct store_job *ret);
int pg_job_fail_host(struct store *st, const char *host_id, bool running_only,
                     int status_code, const char *result, int64_t now_ms, uint64_t *ret_n);
int pg_job_purge(struct store *st, int64_t cutoff_ms);
/* ---- snapshots on S3 (pg_snapshots.c) ---- */
int pg_snapobj_put(struct store *st, const struct store_snapobj *o);
int pg_snapobj_get(struct store *st, const char *dir, struct store_snapobj *ret);
int pg_snapobj_list(struct store *st, bool pending_only, struct store_snapobj **ret,
                    size_t *ret_n);
int pg_snapobj_delete(struct store *st, const char *dir);
