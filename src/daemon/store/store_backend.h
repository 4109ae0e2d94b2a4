/* SPDX-License-Identifier: MIT */
/* store_backend.h: what a store backend (sqlite*.c, pg*.c) implements. store.c checks
 * arguments, derives hostnames, generates keys and hashes before calling here, so a backend sees
 * only well-formed input and does storage alone. Internal to src/daemon/store. */
#pragma once

#include "daemon/store/store.h"

#include <stdarg.h>

struct store_ops {
    const char *name;
    void (*close)(struct store *st);
    int (*schema_version)(struct store *st, int *ret_version);
    int (*check)(struct store *st);

    int (*user_ensure)(struct store *st, const char *user_id, int64_t now_ms);
    /* inserts key (creating its user) with its secret's hash */
    int (*key_insert)(struct store *st, const struct store_key *key,
                      const uint8_t hash[APIKEY_HASH_LEN]);
    /* finds the key with this hash; returns its stored hash and revocation time too */
    int (*key_find)(struct store *st, const uint8_t hash[APIKEY_HASH_LEN], struct store_auth *ret,
                    uint8_t ret_hash[APIKEY_HASH_LEN], int64_t *ret_revoked_at);
    int (*key_touch)(struct store *st, const char *key_id, int64_t now_ms);
    int (*key_list)(struct store *st, const char *user_id, struct store_key **ret, size_t *ret_n);
    /* active keys only */
    int (*key_page)(struct store *st, const char *user_id, size_t limit, size_t offset,
                    struct store_key **ret, size_t *ret_n, uint64_t *ret_total);
    /* keep_admin: -EPERM when key_id is the last active admin key */
    int (*key_revoke)(struct store *st, const char *key_id, bool keep_admin, int64_t now_ms);

    /* rows carry their derived hostnames; envs belong to rows[0] and come with n == 1 only */
    int (*sb_insert)(struct store *st, const struct store_sandbox *rows, size_t n,
                     const struct store_env *envs, size_t n_envs);
    int (*sb_get)(struct store *st, const char *user_id, const char *id,
                  struct store_sandbox *ret);
    int (*sb_get_by_ip)(struct store *st, const char *user_id, const char *ip,
                        struct store_sandbox *ret);
    int (*sb_get_ingress_name)(struct store *st, const char *hostname,
                               struct store_sandbox *ret);
    int (*sb_list_by_name)(struct store *st, const char *name, struct store_sandbox_page *ret);
    int (*sb_list)(struct store *st, const struct store_list_query *q,
                   struct store_sandbox_page *ret);
    int (*sb_count)(struct store *st, const char *user_id, uint64_t counts[STORE_STATE__COUNT]);
    int (*sb_update)(struct store *st, const char *user_id, const char *id,
                     const struct store_sandbox_patch *p);
    int (*sb_transition)(struct store *st, const char *id, const struct store_transition *t,
                         struct store_sandbox *ret_sb);
    /* keys are valid (store_sshkey_identity_len() > 0) */
    int (*sb_ssh_add)(struct store *st, const char *user_id, const char *id,
                      unsigned allowed_states, const char *const *keys, size_t n, int64_t now_ms,
                      size_t *ret_count);
    int (*sb_envs_get)(struct store *st, const char *id, struct store_env **ret, size_t *ret_n);
    int (*sb_list_unsettled)(struct store *st, const char *host_id, struct store_sandbox **ret,
                             size_t *ret_n);
    int (*sb_purge)(struct store *st, int64_t cutoff_ms);
    int (*snapshot_refs)(struct store *st, const char *dir, uint64_t *ret_n);
    /* private networks; refs, ids and ips are non-empty */
    int (*network_insert)(struct store *st, const struct store_network *n);
    int (*network_get)(struct store *st, const char *user_id, const char *ref,
                       struct store_network *ret);
    int (*network_list)(struct store *st, const char *user_id, size_t limit, size_t offset,
                        struct store_network **ret, size_t *ret_n, uint64_t *ret_total);
    int (*network_delete)(struct store *st, const char *user_id, const char *id, int64_t now_ms,
                          uint64_t *ret_members);
    int (*network_subnets)(struct store *st, struct store_strv *ret);
    int (*member_add)(struct store *st, const char *network_id, const char *sandbox_id,
                      const char *ip, int64_t now_ms);
    int (*member_remove)(struct store *st, const char *network_id, const char *sandbox_id);
    int (*member_list)(struct store *st, const char *network_id, const char *sandbox_id,
                       struct store_member **ret, size_t *ret_n);
    int (*ips_in_use)(struct store *st, struct store_strv *ret);
    /* a sandbox's event log */
    int (*event_append)(struct store *st, const char *sandbox_id, const struct store_event *ev,
                        int64_t *ret_seq);
    int (*event_list)(struct store *st, const char *sandbox_id, int64_t after, size_t limit,
                      struct store_event **ret, size_t *ret_n);
    int (*event_last)(struct store *st, const char *sandbox_id, const char *kind,
                      struct store_event *ret);
    /* delegated sandbox tokens; the record's hint and times are filled in */
    int (*token_insert)(struct store *st, const struct store_token *t,
                        const uint8_t hash[APIKEY_HASH_LEN]);
    int (*token_rotate)(struct store *st, const struct store_token *t,
                        const uint8_t hash[APIKEY_HASH_LEN], struct store_token *ret);
    int (*token_get)(struct store *st, const char *user_id, const char *sandbox_id,
                     struct store_token *ret);
    int (*token_delete)(struct store *st, const char *user_id, const char *sandbox_id,
                        struct store_token *ret);
    /* the live token with this hash (its sandbox neither destroying nor destroyed) */
    int (*token_find)(struct store *st, const uint8_t hash[APIKEY_HASH_LEN],
                      struct store_token *ret, uint8_t ret_hash[APIKEY_HASH_LEN]);
    /* S3 disks and their mounts; fields fit their arrays, sealed_len is in range */
    int (*disk_insert)(struct store *st, const struct store_disk *d);
    int (*disk_get)(struct store *st, const char *user_id, const char *ref,
                    struct store_disk *ret);
    int (*disk_list)(struct store *st, const char *user_id, size_t limit, size_t offset,
                     struct store_disk **ret, size_t *ret_n, uint64_t *ret_total);
    int (*disk_list_all)(struct store *st, struct store_disk **ret, size_t *ret_n);
    /* user_id NULL: a key rotation (updated_at kept) */
    int (*disk_set_sealed)(struct store *st, const char *user_id, const char *id,
                           const uint8_t *sealed, size_t len, int64_t now_ms);
    int (*disk_delete)(struct store *st, const char *user_id, const char *id, int64_t now_ms,
                       uint64_t *ret_sandboxes);
    /* n >= 1 mounts in one transaction (store_mount_add is n == 1) */
    int (*mount_add_many)(struct store *st, const struct store_mount *m, size_t n);
    int (*mount_list)(struct store *st, const char *sandbox_id, struct store_mount **ret,
                      size_t *ret_n);
    int (*mount_get)(struct store *st, const char *sandbox_id, const char *mount_path,
                     struct store_mount *ret);
    int (*mount_set_status)(struct store *st, const char *sandbox_id, const char *mount_path,
                            enum store_mount_status status, const char *error, int64_t now_ms);
    int (*mount_remove)(struct store *st, const char *sandbox_id, const char *mount_path);
    int (*mount_sandboxes)(struct store *st, const char *host_id, struct store_strv *ret);
    /* templates and their build logs; fields fit their arrays, the status is known, log lines
     * are bounded and hold no newline */
    int (*template_insert)(struct store *st, const struct store_template *t);
    int (*template_get)(struct store *st, const char *user_id, const char *ref, bool with_text,
                        struct store_template *ret);
    int (*template_list)(struct store *st, const char *user_id, size_t limit, size_t offset,
                         struct store_template **ret, size_t *ret_n, uint64_t *ret_total);
    int (*template_list_status)(struct store *st, enum store_tpl_status s,
                                struct store_template **ret, size_t *ret_n);
    int (*template_list_all)(struct store *st, struct store_template **ret, size_t *ret_n);
    int (*template_update)(struct store *st, const char *id, const struct store_tpl_update *u);
    int (*template_delete)(struct store *st, const char *user_id, const char *id,
                           int64_t now_ms, enum store_tpl_status *ret_was);
    int (*template_sandboxes)(struct store *st, const char *id, uint64_t *ret_n);
    int (*template_log_append)(struct store *st, const char *id, const struct store_tpl_log *l,
                               size_t n);
    int (*template_log_read)(struct store *st, const char *id, int32_t attempt,
                             int32_t after_attempt, int64_t after_seq, size_t limit,
                             struct store_tpl_log **ret, size_t *ret_n);
    /* the host registry; fields fit their arrays, id and region are non-empty */
    int (*host_report)(struct store *st, const struct store_host *h);
    int (*host_list)(struct store *st, struct store_host **ret, size_t *ret_n);
    int (*host_get)(struct store *st, const char *id, struct store_host *ret);
    int (*host_set_drain)(struct store *st, const char *id, bool drain);
    int (*host_delete)(struct store *st, const char *id);
    /* the work queue; fields fit their arrays, texts are within their maxima */
    int (*job_enqueue)(struct store *st, const struct store_job *j);
    int (*job_claim)(struct store *st, const char *host_id, int64_t now_ms,
                     struct store_job *ret);
    int (*job_finish)(struct store *st, const char *id, bool ok, int status_code,
                      const char *result, const char *sandbox_id, int64_t now_ms);
    int (*job_get)(struct store *st, const char *id, struct store_job *ret);
    int (*job_fail_host)(struct store *st, const char *host_id, bool running_only,
                         int status_code, const char *result, int64_t now_ms, uint64_t *ret_n);
    int (*job_purge)(struct store *st, int64_t cutoff_ms);
    /* snapshots on S3 (migration 0010); dir is non-empty, fields fit their arrays */
    int (*snapobj_put)(struct store *st, const struct store_snapobj *o);
    int (*snapobj_get)(struct store *st, const char *dir, struct store_snapobj *ret);
    int (*snapobj_list)(struct store *st, bool pending_only, struct store_snapobj **ret,
                        size_t *ret_n);
    int (*snapobj_delete)(struct store *st, const char *dir);
};

/* The names of the job states in the schema, and back (-EINVAL for an unknown name). */
const char *store_job_state_name(enum store_job_state s);
int store_job_state_parse(const char *name, enum store_job_state *ret);

/* The head every backend's handle embeds first. */
struct store {
    const struct store_ops *ops;
    char errmsg[256];               /* detail of the last failure */
};

/* Records the detail of a failure on st (truncated to fit). */
void store_set_errmsg(struct store *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Length of the "<type> <base64>" identity that de-duplicates a canonical SSH key, or 0 when the
 * key does not have both fields. */
size_t store_sshkey_identity_len(const char *canonical);

/* The SQLite backend (sqlite.c). path is a file name. Same contract as store_open(). */
int store_sqlite_open(const char *path, struct store **ret_st, char *reterr, size_t reterr_len);
/* The PostgreSQL backend (pg.c). location is a libpq URI (postgres[ql]://...). Same contract;
 * reterr never holds the password. */
int store_pg_open(const char *location, struct store **ret_st, char *reterr, size_t reterr_len);
/* Copies a store location into out (always terminated) with any password replaced by "***":
 * what may appear in logs and messages. */
void store_pg_redact(const char *location, char *out, size_t size);
