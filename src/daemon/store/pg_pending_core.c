/* SPDX-License-Identifier: MIT */
/* pg_pending_core.c: TEMPORARY. The PostgreSQL backend's key, sandbox, event and token calls
 * answer -ENOTSUP until pg_keys.c, pg_sb.c, pg_events.c and pg_tokens.c replace this file. */
#include "daemon/store/pg_internal.h"

#include <errno.h>

/* ---- users and keys (pg_keys.c) ---- */

int pg_user_ensure(struct store *st, const char *user_id, int64_t now_ms)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_key_insert(struct store *st, const struct store_key *key,
                  const uint8_t hash[APIKEY_HASH_LEN])
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_key_find(struct store *st, const uint8_t hash[APIKEY_HASH_LEN], struct store_auth *ret,
                uint8_t ret_hash[APIKEY_HASH_LEN], int64_t *ret_revoked_at)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_key_touch(struct store *st, const char *key_id, int64_t now_ms)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_key_list(struct store *st, const char *user_id, struct store_key **ret, size_t *ret_n)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_key_page(struct store *st, const char *user_id, size_t limit, size_t offset,
                struct store_key **ret, size_t *ret_n, uint64_t *ret_total)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_key_revoke(struct store *st, const char *key_id, bool keep_admin, int64_t now_ms)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}


/* ---- sandboxes (pg_sb.c) ---- */

int pg_sb_insert(struct store *st, const struct store_sandbox *rows, size_t n,
                 const struct store_env *envs, size_t n_envs)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_sb_get(struct store *st, const char *user_id, const char *id, struct store_sandbox *ret)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_sb_get_ingress_name(struct store *st, const char *hostname, struct store_sandbox *ret)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_sb_get_by_ip(struct store *st, const char *user_id, const char *ip,
                    struct store_sandbox *ret)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_sb_list_by_name(struct store *st, const char *name, struct store_sandbox_page *ret)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_sb_list(struct store *st, const struct store_list_query *qr,
               struct store_sandbox_page *ret)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_sb_count(struct store *st, const char *user_id, uint64_t counts[STORE_STATE__COUNT])
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_sb_update(struct store *st, const char *user_id, const char *id,
                 const struct store_sandbox_patch *p)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_sb_transition(struct store *st, const char *id, const struct store_transition *t,
                     struct store_sandbox *ret_sb)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_sb_ssh_add(struct store *st, const char *user_id, const char *id, unsigned allowed_states,
                  const char *const *keys, size_t n, int64_t now_ms, size_t *ret_count)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_sb_envs_get(struct store *st, const char *id, struct store_env **ret, size_t *ret_n)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_sb_list_unsettled(struct store *st, const char *host_id, struct store_sandbox **ret,
                         size_t *ret_n)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_sb_purge(struct store *st, int64_t cutoff_ms)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_snapshot_refs(struct store *st, const char *dir, uint64_t *ret_n)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}


/* ---- a sandbox's event log (pg_events.c) ---- */

int pg_event_append(struct store *st, const char *sandbox_id, const struct store_event *ev,
                    int64_t *ret_seq)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_event_list(struct store *st, const char *sandbox_id, int64_t after, size_t limit,
                  struct store_event **ret, size_t *ret_n)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_event_last(struct store *st, const char *sandbox_id, const char *kind,
                  struct store_event *ret)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}


/* ---- delegated sandbox tokens (pg_tokens.c) ---- */

int pg_token_insert(struct store *st, const struct store_token *t,
                    const uint8_t hash[APIKEY_HASH_LEN])
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_token_rotate(struct store *st, const struct store_token *t,
                    const uint8_t hash[APIKEY_HASH_LEN], struct store_token *ret)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_token_get(struct store *st, const char *user_id, const char *sandbox_id,
                 struct store_token *ret)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_token_delete(struct store *st, const char *user_id, const char *sandbox_id,
                    struct store_token *ret)
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}

int pg_token_find(struct store *st, const uint8_t hash[APIKEY_HASH_LEN], struct store_token *ret,
                  uint8_t ret_hash[APIKEY_HASH_LEN])
{
    store_set_errmsg(st, "postgresql: %s is not implemented yet", __func__);
    return -ENOTSUP;
}
