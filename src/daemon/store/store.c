/* SPDX-License-Identifier: MIT */
/* store.c: the backend-neutral front of the store. Picks the backend from the location, checks
 * every argument (lengths, states, user names, key shapes), derives hostnames, mints key ids and
 * secrets, then calls the backend through its ops table. Owns no data of its own; never logs. */
#include "daemon/store/store.h"

#include "daemon/store/store_backend.h"
#include "daemon/store/store_args.h"
#include "daemon/store/ids.h"

#include "common/sbname.h"
#include "common/utf8.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void store_set_errmsg(struct store *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(st->errmsg, sizeof(st->errmsg), fmt, ap); /* truncation is fine here */
    va_end(ap);
}

const char *store_errmsg(const struct store *st)
{
    return st ? st->errmsg : "";
}

static void reterr_set(char *reterr, size_t len, const char *msg)
{
    if (reterr && len > 0)
        (void)snprintf(reterr, len, "%s", msg); /* truncation is fine here */
}

int store_open(const char *location, struct store **ret_st, char *reterr, size_t reterr_len)
{
    reterr_set(reterr, reterr_len, "");
    if (!location || !*location) {
        reterr_set(reterr, reterr_len, "empty store location");
        return -EINVAL;
    }
    if (strncmp(location, "postgres://", 11) == 0 || strncmp(location, "postgresql://", 13) == 0)
        return store_pg_open(location, ret_st, reterr, reterr_len);
    if (strncmp(location, "sqlite:", 7) == 0)
        location += 7;
    if (!*location) {
        reterr_set(reterr, reterr_len, "empty store location");
        return -EINVAL;
    }
    return store_sqlite_open(location, ret_st, reterr, reterr_len);
}

void store_location_redact(const char *location, char *out, size_t size)
{
    store_pg_redact(location ? location : "", out, size);
}

void store_close(struct store *st)
{
    if (st)
        st->ops->close(st);
}

int store_schema_version(struct store *st, int *ret_version)
{
    return st->ops->schema_version(st, ret_version);
}

int store_check(struct store *st)
{
    return st->ops->check(st);
}

/* ---- argument checks ---- */

/* What a list whose key cannot match answers: no rows (ret_total may be NULL). */
static int no_rows(size_t *ret_n, uint64_t *ret_total)
{
    *ret_n = 0;
    if (ret_total)
        *ret_total = 0;
    return 0;
}

static bool user_id_valid(const char *s)
{
    size_t n = s ? strnlen(s, STORE_USER_SIZE) : 0;
    if (n == 0 || n >= STORE_USER_SIZE)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  (i > 0 && (c == '_' || c == '-'));
        if (!ok)
            return false;
    }
    return true;
}

static bool state_ok(enum store_state s, bool none_ok)
{
    return (none_ok && s == STORE_STATE_NONE) || store_state_to_string(s) != NULL;
}

size_t store_sshkey_identity_len(const char *canonical)
{
    const char *sp = canonical ? strchr(canonical, ' ') : NULL;
    if (!sp || sp == canonical || sp[1] == '\0' || sp[1] == ' ')
        return 0;
    const char *end = strchr(sp + 1, ' ');
    return end ? (size_t)(end - canonical) : strlen(canonical);
}

static int check_strv(const struct store_strv *v)
{
    if (v->n > 0 && !v->v)
        return -EINVAL;
    for (size_t i = 0; i < v->n; i++)
        if (!v->v[i])
            return -EINVAL;
    return 0;
}

/* Checks a row for insert and writes its derived hostname into out->hostname (out is a shallow
 * copy of in: the lists stay borrowed). */
static int prepare_row(const struct store_sandbox *in, struct store_sandbox *out)
{
    int r;
    static const struct { size_t off, size; bool optional; } fields[] = {
#define F(f, opt) { offsetof(struct store_sandbox, f), sizeof(((struct store_sandbox *)0)->f), opt }
        F(id, false), F(user_id, false), F(name, false), F(shape, false), F(rootfs, false),
        F(region, false), F(ip, true), F(created_by, false), F(forked_from, true),
        F(host_id, true),
#undef F
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        r = check_field((const char *)in + fields[i].off, fields[i].size, fields[i].optional);
        if (r < 0)
            return r;
    }
    if (!state_ok(in->status, false) || !state_ok(in->target_state, true))
        return -EINVAL;
    if ((r = check_strv(&in->egress)) < 0 || (r = check_strv(&in->ssh_pubkeys)) < 0)
        return r;
    if (in->ssh_pubkeys.n > STORE_MAX_SSH_KEYS * 4) /* duplicates allowed, but not unbounded */
        return -E2BIG;
    for (size_t i = 0; i < in->ssh_pubkeys.n; i++)
        if (store_sshkey_identity_len(in->ssh_pubkeys.v[i]) == 0)
            return -EINVAL;
    *out = *in;
    return sbname_hostname(in->name, out->hostname);
}

/* ---- users and keys ---- */

int store_user_ensure(struct store *st, const char *user_id, int64_t now_ms)
{
    if (!user_id_valid(user_id))
        return -EINVAL;
    return st->ops->user_ensure(st, user_id, now_ms);
}

int store_key_create(struct store *st, const char *user_id, const char *label, bool admin,
                     int64_t now_ms, struct store_key *ret_key, char ret_secret[APIKEY_LEN + 1])
{
    if (!user_id_valid(user_id))
        return -EINVAL;
    if (label && strnlen(label, STORE_LABEL_SIZE) >= STORE_LABEL_SIZE)
        return -ENAMETOOLONG;
    struct store_key key = { .admin = admin, .created_at = now_ms };
    char secret[APIKEY_LEN + 1];
    uint8_t hash[APIKEY_HASH_LEN];
    int r = ids_new_key(key.id);
    if (r < 0)
        return r;
    r = apikey_secret_new(APIKEY_PREFIX, secret, hash);
    if (r < 0)
        return r;
    memcpy(key.user_id, user_id, strlen(user_id) + 1);
    memcpy(key.prefix, secret, APIKEY_SHOWN_PREFIX_LEN);
    key.prefix[APIKEY_SHOWN_PREFIX_LEN] = '\0';
    if (label)
        memcpy(key.label, label, strlen(label) + 1);
    r = st->ops->key_insert(st, &key, hash);
    if (r < 0)
        goto out_wipe;
    *ret_key = key;
    memcpy(ret_secret, secret, sizeof(secret));
out_wipe:
    explicit_bzero(secret, sizeof(secret));
    return r;
}

int store_key_lookup(struct store *st, const char *cred, size_t len, struct store_auth *ret)
{
    if (!apikey_format_ok(cred, len))
        return -EINVAL;
    uint8_t hash[APIKEY_HASH_LEN], stored[APIKEY_HASH_LEN];
    int r = apikey_hash(cred, len, hash);
    if (r < 0)
        return r;
    struct store_auth auth;
    int64_t revoked_at = 0;
    r = st->ops->key_find(st, hash, &auth, stored, &revoked_at);
    if (r < 0)
        return r;
    /* the index lookup already matched; compare again without an early exit so that a backend
     * with a lenient index (collation, prefix) can never let a near miss through */
    if (!apikey_hash_equal(hash, stored))
        return -ENOENT;
    if (revoked_at != 0)
        return -EKEYREVOKED;
    *ret = auth;
    return 0;
}

int store_key_touch(struct store *st, const char *key_id, int64_t now_ms)
{
    if (!lookup_key_ok(key_id, STORE_ID_SIZE))
        return -ENOENT;
    return st->ops->key_touch(st, key_id, now_ms);
}

int store_key_list(struct store *st, const char *user_id, struct store_key **ret, size_t *ret_n)
{
    if (user_id && !user_id_valid(user_id))
        return -EINVAL;
    return st->ops->key_list(st, user_id, ret, ret_n);
}

int store_key_revoke(struct store *st, const char *key_id, int64_t now_ms)
{
    if (!lookup_key_ok(key_id, STORE_ID_SIZE))
        return -ENOENT;
    return st->ops->key_revoke(st, key_id, false, now_ms);
}

int store_key_revoke_keep_admin(struct store *st, const char *key_id, int64_t now_ms)
{
    if (!lookup_key_ok(key_id, STORE_ID_SIZE))
        return -ENOENT;
    return st->ops->key_revoke(st, key_id, true, now_ms);
}

int store_key_page(struct store *st, const char *user_id, size_t limit, size_t offset,
                   struct store_key **ret, size_t *ret_n, uint64_t *ret_total)
{
    if (user_id && !user_id_valid(user_id))
        return -EINVAL;
    return st->ops->key_page(st, user_id, limit, offset, ret, ret_n, ret_total);
}

/* ---- sandboxes ---- */

void store_sandbox_init(struct store_sandbox *sb)
{
    *sb = (struct store_sandbox){
        .status = STORE_CREATING,
        .spawn_ms = -1,
        .bw_quota_bytes = -1,
        .target_state = STORE_STATE_NONE,
    };
}

static void strv_release(struct store_strv *v)
{
    for (size_t i = 0; i < v->n; i++)
        free(v->v[i]);
    free(v->v);
    v->v = NULL;
    v->n = 0;
}

void store_sandbox_release(struct store_sandbox *sb)
{
    if (!sb)
        return;
    free(sb->run_dir);
    sb->run_dir = NULL;
    free(sb->snapshot_dir);
    sb->snapshot_dir = NULL;
    free(sb->base_dir);
    sb->base_dir = NULL;
    strv_release(&sb->env_keys);
    strv_release(&sb->egress);
    strv_release(&sb->ssh_pubkeys);
}

void store_sandbox_array_free(struct store_sandbox *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        store_sandbox_release(&v[i]);
    free(v);
}

void store_sandbox_page_release(struct store_sandbox_page *page)
{
    store_sandbox_array_free(page->items, page->count);
    page->items = NULL;
    page->count = 0;
}

void store_envs_free(struct store_env *v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++) {
        free((void *)v[i].key);
        if (v[i].value) {
            explicit_bzero((void *)v[i].value, v[i].value_len);
            free((void *)v[i].value);
        }
    }
    free(v);
}

int store_sandbox_insert(struct store *st, const struct store_sandbox *sb,
                         const struct store_env *envs, size_t n_envs)
{
    struct store_sandbox row;
    int r = prepare_row(sb, &row);
    if (r < 0)
        return r;
    if (n_envs > 0 && !envs)
        return -EINVAL;
    for (size_t i = 0; i < n_envs; i++)
        if (!envs[i].key || !envs[i].key[0] || (!envs[i].value && envs[i].value_len > 0))
            return -EINVAL;
    return st->ops->sb_insert(st, &row, 1, envs, n_envs);
}

int store_sandbox_insert_many(struct store *st, const struct store_sandbox *rows, size_t n)
{
    if (n == 0)
        return 0;
    if (!rows || n > SIZE_MAX / sizeof(*rows))
        return -EINVAL;
    struct store_sandbox *copy = malloc(n * sizeof(*copy));
    if (!copy)
        return -ENOMEM;
    int r = 0;
    for (size_t i = 0; i < n && r == 0; i++)
        r = prepare_row(&rows[i], &copy[i]);
    if (r == 0)
        r = st->ops->sb_insert(st, copy, n, NULL, 0);
    free(copy); /* shallow copies: the lists belong to rows */
    return r;
}

int store_sandbox_get(struct store *st, const char *user_id, const char *id,
                      struct store_sandbox *ret)
{
    if (!lookup_key_ok(id, STORE_ID_SIZE) || (user_id && !lookup_key_ok(user_id, STORE_USER_SIZE)))
        return -ENOENT;
    return st->ops->sb_get(st, user_id, id, ret);
}

int store_sandbox_list_by_name(struct store *st, const char *name,
                               struct store_sandbox_page *ret)
{
    if (!lookup_key_ok(name, STORE_NAME_SIZE))
        return -ENOENT;
    return st->ops->sb_list_by_name(st, name, ret);
}

int store_sandbox_get_by_ip(struct store *st, const char *user_id, const char *ip,
                            struct store_sandbox *ret)
{
    if (!lookup_key_ok(ip, STORE_IP_SIZE) || !lookup_key_ok(user_id, STORE_USER_SIZE))
        return -ENOENT;
    return st->ops->sb_get_by_ip(st, user_id, ip, ret);
}

int store_sandbox_get_ingress_name(struct store *st, const char *hostname,
                                   struct store_sandbox *ret)
{
    if (!lookup_key_ok(hostname, STORE_NAME_SIZE))
        return -ENOENT;
    return st->ops->sb_get_ingress_name(st, hostname, ret);
}

int store_sandbox_list(struct store *st, const struct store_list_query *q,
                       struct store_sandbox_page *ret)
{
    if (!q || (q->status_mask & ~STORE_STATES_ALL))
        return -EINVAL;
    if (!lookup_key_ok(q->user_id, STORE_USER_SIZE)) {
        *ret = (struct store_sandbox_page){ 0 };
        return 0;
    }
    return st->ops->sb_list(st, q, ret);
}

int store_sandbox_count(struct store *st, const char *user_id,
                        uint64_t ret_counts[STORE_STATE__COUNT])
{
    if (!lookup_key_ok(user_id, STORE_USER_SIZE)) {
        memset(ret_counts, 0, sizeof(uint64_t) * STORE_STATE__COUNT);
        return 0;
    }
    return st->ops->sb_count(st, user_id, ret_counts);
}

#define PATCH_ALL ((STORE_PATCH_BW_SEEN << 1) - 1)

int store_sandbox_update(struct store *st, const char *user_id, const char *id,
                         const struct store_sandbox_patch *p)
{
    if (!p || p->fields == 0 || (p->fields & ~(unsigned)PATCH_ALL) ||
        (p->allowed_states & ~STORE_STATES_ALL))
        return -EINVAL;
    if (!lookup_key_ok(id, STORE_ID_SIZE) || (user_id && !lookup_key_ok(user_id, STORE_USER_SIZE)))
        return -ENOENT;
    if (p->fields & STORE_PATCH_IP && p->ip && strnlen(p->ip, STORE_IP_SIZE) >= STORE_IP_SIZE)
        return -ENAMETOOLONG;
    if (p->fields & STORE_PATCH_HOST && p->host_id &&
        strnlen(p->host_id, STORE_HOST_SIZE) >= STORE_HOST_SIZE)
        return -ENAMETOOLONG;
    if (p->fields & STORE_PATCH_EGRESS) {
        if (p->n_egress > 0 && !p->egress)
            return -EINVAL;
        for (size_t i = 0; i < p->n_egress; i++)
            if (!p->egress[i])
                return -EINVAL;
    }
    return st->ops->sb_update(st, user_id, id, p);
}

int store_sandbox_transition(struct store *st, const char *id, const struct store_transition *t,
                             struct store_sandbox *ret_sb)
{
    if (!t || !state_ok(t->from, false) || !state_ok(t->to, false) || !state_ok(t->intent, true))
        return -EINVAL;
    if (!lookup_key_ok(id, STORE_ID_SIZE))
        return -ENOENT;
    return st->ops->sb_transition(st, id, t, ret_sb);
}

int store_sandbox_ssh_add(struct store *st, const char *user_id, const char *id,
                          unsigned allowed_states, const char *const *keys, size_t n,
                          int64_t now_ms, size_t *ret_count)
{
    if ((allowed_states & ~STORE_STATES_ALL) || (n > 0 && !keys))
        return -EINVAL;
    if (n > STORE_MAX_SSH_KEYS * 4)
        return -E2BIG;
    for (size_t i = 0; i < n; i++)
        if (store_sshkey_identity_len(keys[i]) == 0)
            return -EINVAL;
    if (!lookup_key_ok(id, STORE_ID_SIZE) || (user_id && !lookup_key_ok(user_id, STORE_USER_SIZE)))
        return -ENOENT;
    return st->ops->sb_ssh_add(st, user_id, id, allowed_states, keys, n, now_ms, ret_count);
}

int store_sandbox_envs_get(struct store *st, const char *id, struct store_env **ret,
                           size_t *ret_n)
{
    if (!lookup_key_ok(id, STORE_ID_SIZE))
        return -ENOENT;
    return st->ops->sb_envs_get(st, id, ret, ret_n);
}

int store_sandbox_list_unsettled(struct store *st, const char *host_id,
                                 struct store_sandbox **ret, size_t *ret_n)
{
    if (host_id && !lookup_key_ok(host_id, STORE_HOST_SIZE)) {
        *ret = NULL;
        *ret_n = 0;
        return 0;
    }
    return st->ops->sb_list_unsettled(st, host_id, ret, ret_n);
}

int store_sandbox_purge(struct store *st, int64_t cutoff_ms)
{
    return st->ops->sb_purge(st, cutoff_ms);
}

static bool event_ok(const struct store_event *ev)
{
    return memchr(ev->kind, 0, sizeof(ev->kind)) && ev->kind[0] &&
           memchr(ev->actor, 0, sizeof(ev->actor)) && memchr(ev->reason, 0, sizeof(ev->reason)) &&
           memchr(ev->detail, 0, sizeof(ev->detail)) &&
           memchr(ev->timeline, 0, sizeof(ev->timeline));
}

int store_event_append(struct store *st, const char *sandbox_id, const struct store_event *ev,
                       int64_t *ret_seq)
{
    if (!st || !ev || !event_ok(ev))
        return -EINVAL;
    if (!lookup_key_ok(sandbox_id, STORE_ID_SIZE))
        return -ENOENT;
    return st->ops->event_append(st, sandbox_id, ev, ret_seq);
}

int store_event_list(struct store *st, const char *sandbox_id, int64_t after, size_t limit,
                     struct store_event **ret, size_t *ret_n)
{
    *ret = NULL;
    *ret_n = 0;
    if (!st || limit < 1 || limit > STORE_EVENTS_KEEP || after < 0)
        return -EINVAL;
    if (!lookup_key_ok(sandbox_id, STORE_ID_SIZE))
        return 0;
    return st->ops->event_list(st, sandbox_id, after, limit, ret, ret_n);
}

int store_event_last(struct store *st, const char *sandbox_id, const char *kind,
                     struct store_event *ret)
{
    if (!st || !kind || !ret)
        return -EINVAL;
    if (!lookup_key_ok(sandbox_id, STORE_ID_SIZE))
        return -ENOENT;
    return st->ops->event_last(st, sandbox_id, kind, ret);
}

/* ---- delegated sandbox tokens ---- */

int store_token_issue(struct store *st, const char *user_id, const char *sandbox_id, bool rotate,
                      int64_t now_ms, struct store_token *ret, char ret_secret[SBTOKEN_LEN + 1])
{
    if (!st || !ret || !ret_secret || !user_id_valid(user_id))
        return -EINVAL;
    if (!lookup_key_ok(sandbox_id, STORE_ID_SIZE))
        return -ENOENT;
    struct store_token t = { .created_at = now_ms, .rotated_at = rotate ? now_ms : 0 };
    char secret[SBTOKEN_LEN + 1];
    uint8_t hash[APIKEY_HASH_LEN];
    int r = apikey_secret_new(SBTOKEN_PREFIX, secret, hash);
    if (r < 0)
        return r;
    memcpy(t.sandbox_id, sandbox_id, strlen(sandbox_id) + 1);
    memcpy(t.user_id, user_id, strlen(user_id) + 1);
    snprintf(t.hint, sizeof(t.hint), "\u2026%s", secret + SBTOKEN_LEN - 4);
    r = rotate ? st->ops->token_rotate(st, &t, hash, &t) : st->ops->token_insert(st, &t, hash);
    if (r < 0)
        goto out_wipe;
    *ret = t;
    memcpy(ret_secret, secret, sizeof(secret));
out_wipe:
    explicit_bzero(secret, sizeof(secret));
    return r;
}

int store_token_get(struct store *st, const char *user_id, const char *sandbox_id,
                    struct store_token *ret)
{
    if (!st || !ret || !user_id_valid(user_id))
        return -EINVAL;
    if (!lookup_key_ok(sandbox_id, STORE_ID_SIZE))
        return -ENOENT;
    return st->ops->token_get(st, user_id, sandbox_id, ret);
}

int store_token_delete(struct store *st, const char *user_id, const char *sandbox_id,
                       struct store_token *ret)
{
    if (!st || !ret || !user_id_valid(user_id))
        return -EINVAL;
    if (!lookup_key_ok(sandbox_id, STORE_ID_SIZE))
        return -ENOENT;
    return st->ops->token_delete(st, user_id, sandbox_id, ret);
}

int store_token_lookup(struct store *st, const char *cred, size_t len, struct store_token *ret)
{
    if (!apikey_secret_format_ok(SBTOKEN_PREFIX, cred, len))
        return -EINVAL;
    uint8_t hash[APIKEY_HASH_LEN], stored[APIKEY_HASH_LEN];
    int r = apikey_hash(cred, len, hash);
    if (r < 0)
        return r;
    struct store_token t;
    r = st->ops->token_find(st, hash, &t, stored);
    if (r < 0)
        return r;
    /* as store_key_lookup(): never trust the index alone */
    if (!apikey_hash_equal(hash, stored))
        return -ENOENT;
    *ret = t;
    return 0;
}

int store_snapshot_refs(struct store *st, const char *dir, uint64_t *ret_n)
{
    if (!st || !dir || !*dir || !ret_n)
        return -EINVAL;
    return st->ops->snapshot_refs(st, dir, ret_n);
}

/* ---- private networks ---- */

int store_network_insert(struct store *st, const struct store_network *n)
{
    if (!st || !n || !nonempty(n->id) || !nonempty(n->user_id) || !nonempty(n->name) ||
        !nonempty(n->subnet))
        return -EINVAL;
    int r;
    if ((r = check_field(n->id, sizeof(n->id), false)) < 0 ||
        (r = check_field(n->user_id, sizeof(n->user_id), false)) < 0 ||
        (r = check_field(n->name, sizeof(n->name), false)) < 0 ||
        (r = check_field(n->subnet, sizeof(n->subnet), false)) < 0 ||
        (r = texts_ok((const char *[]){ n->id, n->user_id, n->name, n->subnet }, 4)) < 0)
        return r;
    return st->ops->network_insert(st, n);
}

int store_network_get(struct store *st, const char *user_id, const char *ref,
                      struct store_network *ret)
{
    if (!st || !nonempty(user_id) || !nonempty(ref) || !ret)
        return -EINVAL;
    if (!lookup_key_ok(user_id, STORE_USER_SIZE) || !lookup_key_ok(ref, STORE_NAME_SIZE))
        return -ENOENT;
    return st->ops->network_get(st, user_id, ref, ret);
}

int store_network_list(struct store *st, const char *user_id, size_t limit, size_t offset,
                       struct store_network **ret, size_t *ret_n, uint64_t *ret_total)
{
    if (!st || !nonempty(user_id) || !ret || !ret_n || !ret_total)
        return -EINVAL;
    if (!lookup_key_ok(user_id, STORE_USER_SIZE)) {
        *ret = NULL;
        return no_rows(ret_n, ret_total);
    }
    return st->ops->network_list(st, user_id, limit, offset, ret, ret_n, ret_total);
}

int store_network_delete(struct store *st, const char *user_id, const char *id, int64_t now_ms,
                         uint64_t *ret_members)
{
    uint64_t dummy;
    if (!st || !nonempty(user_id) || !nonempty(id))
        return -EINVAL;
    if (!lookup_key_ok(id, STORE_ID_SIZE) || !lookup_key_ok(user_id, STORE_USER_SIZE))
        return -ENOENT;
    return st->ops->network_delete(st, user_id, id, now_ms, ret_members ? ret_members : &dummy);
}

int store_network_subnets(struct store *st, struct store_strv *ret)
{
    if (!st || !ret)
        return -EINVAL;
    return st->ops->network_subnets(st, ret);
}

int store_member_add(struct store *st, const char *network_id, const char *sandbox_id,
                     const char *ip, int64_t now_ms)
{
    if (!st || !nonempty(network_id) || !nonempty(sandbox_id) || !nonempty(ip) || !text_ok(ip))
        return -EINVAL;
    if (!lookup_key_ok(network_id, STORE_ID_SIZE) || !lookup_key_ok(sandbox_id, STORE_ID_SIZE))
        return -ENOENT;
    return st->ops->member_add(st, network_id, sandbox_id, ip, now_ms);
}

int store_member_remove(struct store *st, const char *network_id, const char *sandbox_id)
{
    if (!st || !nonempty(network_id) || !nonempty(sandbox_id))
        return -EINVAL;
    if (!lookup_key_ok(network_id, STORE_ID_SIZE) || !lookup_key_ok(sandbox_id, STORE_ID_SIZE))
        return -ENOENT;
    return st->ops->member_remove(st, network_id, sandbox_id);
}

int store_member_list(struct store *st, const char *network_id, const char *sandbox_id,
                      struct store_member **ret, size_t *ret_n)
{
    if (!st || nonempty(network_id) == nonempty(sandbox_id) || !ret || !ret_n)
        return -EINVAL;
    if (!lookup_key_ok(nonempty(network_id) ? network_id : sandbox_id, STORE_ID_SIZE)) {
        *ret = NULL;
        return no_rows(ret_n, NULL);
    }
    return st->ops->member_list(st, nonempty(network_id) ? network_id : NULL,
                                nonempty(sandbox_id) ? sandbox_id : NULL, ret, ret_n);
}

int store_ips_in_use(struct store *st, struct store_strv *ret)
{
    if (!st || !ret)
        return -EINVAL;
    return st->ops->ips_in_use(st, ret);
}

/* ---- S3 disks and their mounts ---- */

static bool sealed_ok(const uint8_t *sealed, size_t len)
{
    return sealed && len > 0 && len <= STORE_SEALED_MAX;
}

int store_disk_insert(struct store *st, const struct store_disk *d)
{
    if (!st || !d || !nonempty(d->id) || !nonempty(d->user_id))
        return -EINVAL;
    int r;
    if ((r = check_field(d->id, sizeof(d->id), false)) < 0 ||
        (r = check_field(d->user_id, sizeof(d->user_id), false)) < 0 ||
        (r = check_field(d->name, sizeof(d->name), false)) < 0 ||
        (r = check_field(d->bucket, sizeof(d->bucket), false)) < 0 ||
        (r = check_field(d->endpoint, sizeof(d->endpoint), false)) < 0 ||
        (r = check_field(d->region, sizeof(d->region), true)) < 0 ||
        (r = texts_ok((const char *[]){ d->id, d->user_id, d->name, d->bucket, d->endpoint,
                                        d->region }, 6)) < 0)
        return r;
    if (!sealed_ok(d->sealed, d->sealed_len))
        return -EMSGSIZE;
    return st->ops->disk_insert(st, d);
}

int store_disk_get(struct store *st, const char *user_id, const char *ref, struct store_disk *ret)
{
    if (!st || !nonempty(user_id) || !nonempty(ref) || !ret)
        return -EINVAL;
    /* a reference longer than any id or name cannot match */
    if (!lookup_key_ok(user_id, STORE_USER_SIZE) || !lookup_key_ok(ref, STORE_NAME_SIZE))
        return -ENOENT;
    return st->ops->disk_get(st, user_id, ref, ret);
}

int store_disk_list(struct store *st, const char *user_id, size_t limit, size_t offset,
                    struct store_disk **ret, size_t *ret_n, uint64_t *ret_total)
{
    if (!st || !nonempty(user_id) || !ret || !ret_n || !ret_total)
        return -EINVAL;
    if (limit > INT64_MAX || offset > INT64_MAX)
        return -EINVAL;
    *ret = NULL;
    *ret_n = 0;
    if (!lookup_key_ok(user_id, STORE_USER_SIZE))
        return no_rows(ret_n, ret_total);
    return st->ops->disk_list(st, user_id, limit, offset, ret, ret_n, ret_total);
}

int store_disk_list_all(struct store *st, struct store_disk **ret, size_t *ret_n)
{
    if (!st || !ret || !ret_n)
        return -EINVAL;
    return st->ops->disk_list_all(st, ret, ret_n);
}

int store_disk_set_sealed(struct store *st, const char *user_id, const char *id,
                          const uint8_t *sealed, size_t len, int64_t now_ms)
{
    if (!st || (user_id && !*user_id) || !nonempty(id))
        return -EINVAL;
    if (!sealed_ok(sealed, len))
        return -EMSGSIZE;
    if (!lookup_key_ok(id, STORE_ID_SIZE) || (user_id && !lookup_key_ok(user_id, STORE_USER_SIZE)))
        return -ENOENT;
    return st->ops->disk_set_sealed(st, user_id, id, sealed, len, now_ms);
}

int store_disk_delete(struct store *st, const char *user_id, const char *id, int64_t now_ms,
                      uint64_t *ret_sandboxes)
{
    uint64_t dummy;
    if (!st || !nonempty(user_id) || !nonempty(id))
        return -EINVAL;
    if (!lookup_key_ok(id, STORE_ID_SIZE) || !lookup_key_ok(user_id, STORE_USER_SIZE))
        return -ENOENT;
    return st->ops->disk_delete(st, user_id, id, now_ms, ret_sandboxes ? ret_sandboxes : &dummy);
}

static int check_mount(const struct store_mount *m)
{
    int r;
    if ((r = check_field(m->sandbox_id, sizeof(m->sandbox_id), false)) < 0 ||
        (r = check_field(m->mount_path, sizeof(m->mount_path), false)) < 0 ||
        (r = check_field(m->disk_id, sizeof(m->disk_id), false)) < 0 ||
        (r = check_field(m->sub_path, sizeof(m->sub_path), true)) < 0 ||
        (r = check_field(m->error, sizeof(m->error), true)) < 0 ||
        (r = texts_ok((const char *[]){ m->sandbox_id, m->mount_path, m->disk_id, m->sub_path,
                                        m->error }, 5)) < 0)
        return r;
    return store_mount_status_name(m->status) ? 0 : -EINVAL;
}

int store_mount_add(struct store *st, const struct store_mount *m)
{
    return store_mount_add_many(st, m, 1);
}

int store_mount_add_many(struct store *st, const struct store_mount *m, size_t n)
{
    if (!st || !m || n == 0)
        return -EINVAL;
    if (n > STORE_MAX_MOUNTS)
        return -E2BIG;
    for (size_t i = 0; i < n; i++) {
        int r = check_mount(&m[i]);
        if (r < 0)
            return r;
        if (strcmp(m[i].sandbox_id, m[0].sandbox_id) != 0)
            return -EINVAL; /* one sandbox per call */
    }
    return st->ops->mount_add_many(st, m, n);
}

int store_mount_list(struct store *st, const char *sandbox_id, struct store_mount **ret,
                     size_t *ret_n)
{
    if (!st || !nonempty(sandbox_id) || !ret || !ret_n)
        return -EINVAL;
    if (!lookup_key_ok(sandbox_id, STORE_ID_SIZE)) {
        *ret = NULL;
        return no_rows(ret_n, NULL);
    }
    return st->ops->mount_list(st, sandbox_id, ret, ret_n);
}

int store_mount_get(struct store *st, const char *sandbox_id, const char *mount_path,
                    struct store_mount *ret)
{
    if (!st || !nonempty(sandbox_id) || !nonempty(mount_path) || !ret)
        return -EINVAL;
    if (!lookup_key_ok(sandbox_id, STORE_ID_SIZE) ||
        !lookup_key_ok(mount_path, STORE_MOUNT_PATH_SIZE))
        return -ENOENT;
    return st->ops->mount_get(st, sandbox_id, mount_path, ret);
}

int store_mount_set_status(struct store *st, const char *sandbox_id, const char *mount_path,
                           enum store_mount_status status, const char *error, int64_t now_ms)
{
    if (!st || !nonempty(sandbox_id) || !nonempty(mount_path) || !store_mount_status_name(status))
        return -EINVAL;
    if (error && strnlen(error, STORE_MOUNT_ERROR_SIZE) >= STORE_MOUNT_ERROR_SIZE)
        return -ENAMETOOLONG;
    if (!text_ok(error))
        return -EINVAL;
    if (!lookup_key_ok(sandbox_id, STORE_ID_SIZE) ||
        !lookup_key_ok(mount_path, STORE_MOUNT_PATH_SIZE))
        return -ENOENT;
    return st->ops->mount_set_status(st, sandbox_id, mount_path, status, error, now_ms);
}

int store_mount_remove(struct store *st, const char *sandbox_id, const char *mount_path)
{
    if (!st || !nonempty(sandbox_id) || !nonempty(mount_path))
        return -EINVAL;
    if (!lookup_key_ok(sandbox_id, STORE_ID_SIZE) ||
        !lookup_key_ok(mount_path, STORE_MOUNT_PATH_SIZE))
        return -ENOENT;
    return st->ops->mount_remove(st, sandbox_id, mount_path);
}

int store_mount_sandboxes(struct store *st, const char *host_id, struct store_strv *ret)
{
    if (!st || !nonempty(host_id) || !ret)
        return -EINVAL;
    if (!lookup_key_ok(host_id, STORE_HOST_SIZE)) {
        *ret = (struct store_strv){ 0 };
        return 0;
    }
    return st->ops->mount_sandboxes(st, host_id, ret);
}

void store_strv_free(struct store_strv *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++)
        free(v->v[i]);
    free(v->v);
    v->v = NULL;
    v->n = 0;
}

/* ---- templates and their build logs ---- */

void store_template_init(struct store_template *t)
{
    memset(t, 0, sizeof(*t));
}

void store_template_release(struct store_template *t)
{
    if (!t)
        return;
    free(t->dockerfile);
    free(t->layers);
    store_template_init(t);
}

void store_tpl_log_free(struct store_tpl_log *l, size_t n)
{
    for (size_t i = 0; l && i < n; i++)
        free(l[i].line);
    free(l);
}

int store_template_insert(struct store *st, const struct store_template *t)
{
    if (!st || !t || !t->dockerfile || !store_tpl_status_name(t->status) || t->attempt < 0)
        return -EINVAL;
    int r;
    if ((r = check_field(t->id, sizeof(t->id), false)) < 0 ||
        (r = check_field(t->user_id, sizeof(t->user_id), false)) < 0 ||
        (r = check_field(t->name, sizeof(t->name), false)) < 0 ||
        (r = check_field(t->base, sizeof(t->base), false)) < 0 ||
        (r = check_field(t->context, sizeof(t->context), true)) < 0 ||
        (r = check_field(t->options, sizeof(t->options), false)) < 0 ||
        (r = check_field(t->error, sizeof(t->error), true)) < 0 ||
        (r = check_field(t->top_layer, sizeof(t->top_layer), true)) < 0 ||
        (r = check_field(t->host_id, sizeof(t->host_id), true)) < 0)
        return r;
    if (strnlen(t->dockerfile, STORE_TPL_DOCKERFILE_MAX + 1) > STORE_TPL_DOCKERFILE_MAX)
        return -EMSGSIZE;
    if ((r = texts_ok((const char *[]){ t->id, t->user_id, t->name, t->base, t->dockerfile,
                                        t->context, t->options, t->error, t->top_layer,
                                        t->layers, t->host_id }, 11)) < 0)
        return r;
    return st->ops->template_insert(st, t);
}

int store_template_get(struct store *st, const char *user_id, const char *ref, bool with_text,
                       struct store_template *ret)
{
    if (!st || (user_id && !*user_id) || !nonempty(ref) || !ret)
        return -EINVAL;
    /* a reference longer than any id or name cannot match */
    if ((user_id && !lookup_key_ok(user_id, STORE_USER_SIZE)) ||
        !lookup_key_ok(ref, STORE_NAME_SIZE))
        return -ENOENT;
    return st->ops->template_get(st, user_id, ref, with_text, ret);
}

int store_template_list(struct store *st, const char *user_id, size_t limit, size_t offset,
                        struct store_template **ret, size_t *ret_n, uint64_t *ret_total)
{
    if (!st || !nonempty(user_id) || !ret || !ret_n || !ret_total)
        return -EINVAL;
    if (limit > INT64_MAX || offset > INT64_MAX)
        return -EINVAL;
    *ret = NULL;
    *ret_n = 0;
    if (!lookup_key_ok(user_id, STORE_USER_SIZE))
        return no_rows(ret_n, ret_total);
    return st->ops->template_list(st, user_id, limit, offset, ret, ret_n, ret_total);
}

int store_template_list_status(struct store *st, enum store_tpl_status s,
                               struct store_template **ret, size_t *ret_n)
{
    if (!st || !store_tpl_status_name(s) || !ret || !ret_n)
        return -EINVAL;
    return st->ops->template_list_status(st, s, ret, ret_n);
}

int store_template_list_all(struct store *st, struct store_template **ret, size_t *ret_n)
{
    if (!st || !ret || !ret_n)
        return -EINVAL;
    return st->ops->template_list_all(st, ret, ret_n);
}

/* NULL is allowed; else the string must be shorter than size. */
static bool opt_fits(const char *s, size_t size)
{
    return !s || strnlen(s, size) < size;
}

int store_template_update(struct store *st, const char *id, const struct store_tpl_update *u)
{
    if (!st || !nonempty(id) || !u || u->mask == 0)
        return -EINVAL;
    if ((u->mask & STORE_TPL_SET_STATUS) && !store_tpl_status_name(u->status))
        return -EINVAL;
    if ((u->mask & STORE_TPL_SET_ATTEMPT) && u->attempt < 0)
        return -EINVAL;
    if ((u->mask & STORE_TPL_SET_ERROR) && !opt_fits(u->error, STORE_TPL_ERROR_SIZE))
        return -ENAMETOOLONG;
    if ((u->mask & STORE_TPL_SET_RESULT) && !opt_fits(u->top_layer, STORE_TPL_KEY_SIZE))
        return -ENAMETOOLONG;
    if ((u->mask & STORE_TPL_SET_HOST) && !opt_fits(u->host_id, STORE_HOST_SIZE))
        return -ENAMETOOLONG;
    if (texts_ok((const char *[]){ (u->mask & STORE_TPL_SET_ERROR) ? u->error : NULL,
                                   (u->mask & STORE_TPL_SET_RESULT) ? u->top_layer : NULL,
                                   (u->mask & STORE_TPL_SET_LAYERS) ? u->layers : NULL,
                                   (u->mask & STORE_TPL_SET_HOST) ? u->host_id : NULL }, 4) < 0)
        return -EINVAL;
    if (!lookup_key_ok(id, STORE_ID_SIZE))
        return -ENOENT;
    return st->ops->template_update(st, id, u);
}

int store_template_delete(struct store *st, const char *user_id, const char *id, int64_t now_ms,
                          enum store_tpl_status *ret_was)
{
    enum store_tpl_status dummy;
    if (!st || !nonempty(user_id) || !nonempty(id))
        return -EINVAL;
    if (!lookup_key_ok(id, STORE_ID_SIZE) || !lookup_key_ok(user_id, STORE_USER_SIZE))
        return -ENOENT;
    return st->ops->template_delete(st, user_id, id, now_ms, ret_was ? ret_was : &dummy);
}

int store_template_sandboxes(struct store *st, const char *id, uint64_t *ret_n)
{
    if (!st || !nonempty(id) || !ret_n)
        return -EINVAL;
    *ret_n = 0;
    if (!lookup_key_ok(id, STORE_ID_SIZE))
        return 0;
    return st->ops->template_sandboxes(st, id, ret_n);
}

int store_template_log_append(struct store *st, const char *id, const struct store_tpl_log *l,
                              size_t n)
{
    if (!st || !nonempty(id) || (n > 0 && !l))
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (l[i].attempt < 1 || l[i].seq < 0 || !l[i].line)
            return -EINVAL;
        if (strnlen(l[i].line, STORE_TPL_LINE_MAX + 1) > STORE_TPL_LINE_MAX)
            return -EMSGSIZE;
        if (strchr(l[i].line, '\n') || !text_ok(l[i].line))
            return -EINVAL;
    }
    if (!lookup_key_ok(id, STORE_ID_SIZE))
        return -ENOENT;
    if (n == 0)
        return 0;
    return st->ops->template_log_append(st, id, l, n);
}

int store_template_log_read(struct store *st, const char *id, int32_t attempt,
                            int32_t after_attempt, int64_t after_seq, size_t limit,
                            struct store_tpl_log **ret, size_t *ret_n)
{
    if (!st || !nonempty(id) || attempt < 0 || !ret || !ret_n || limit > INT64_MAX)
        return -EINVAL;
    *ret = NULL;
    *ret_n = 0;
    if (!lookup_key_ok(id, STORE_ID_SIZE))
        return 0;
    return st->ops->template_log_read(st, id, attempt, after_attempt, after_seq, limit, ret,
                                      ret_n);
}
