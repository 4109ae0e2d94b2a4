/* SPDX-License-Identifier: MIT */
/* store.h: hearthd's durable state: users, API keys and sandboxes, behind one backend-neutral
 * interface (SQLite today, PostgreSQL later; spec in shared/DESIGN.md §6).
 *
 * Contract for every call:
 * - Returns 0 (or a count where said) or a negative errno; ret_ out-params are written only on
 *   success. -ENOENT means "no such row for this caller": a row owned by another user is reported
 *   exactly like a missing one. -EEXIST is a name collision, -EADDRINUSE an address collision,
 *   -ESTALE a compare-and-set that lost, -EBUSY the database locked past the busy timeout or a
 *   pending intent, -ENAMETOOLONG a field longer than its STORE_*_SIZE, -EUCLEAN a row the store
 *   cannot read back (corruption), -ENOMEM, -EIO, -ENOSPC, -EROFS from the backend.
 * - Strings passed in are borrowed for the call and stored verbatim (no trimming, no escaping).
 * - Calls are synchronous and may block on disk for a few ms; the store never logs. After a
 *   failure, store_errmsg() gives the backend's detail (never a secret).
 * - One struct store is used from one thread. Several processes may open the same database. */
#pragma once

#include "daemon/store/apikey.h"
#include "daemon/store/state.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

/* Field capacities, NUL included. Longer input is refused with -ENAMETOOLONG. */
#define STORE_ID_SIZE 40      /* sb-<ULID>, key_<ULID>, tpl_<ULID> … */
#define STORE_USER_SIZE 64    /* ^[a-z0-9][a-z0-9_-]{0,62}$ */
#define STORE_NAME_SIZE 64    /* sandbox name and hostname: at most 63 bytes */
#define STORE_SHAPE_SIZE 64
#define STORE_ROOTFS_SIZE 128
#define STORE_REGION_SIZE 64
#define STORE_IP_SIZE 46      /* INET6_ADDRSTRLEN, though sandboxes get IPv4 today */
#define STORE_HOST_SIZE 64
#define STORE_LABEL_SIZE 801    /* a key's label: 200 characters of UTF-8 (docs/api.md §5.1) */
#define STORE_MAX_SSH_KEYS 64 /* docs/api.md §3.3.5 */

/* ---- opening ---- */

/* Opens (creating if needed) the database at location, a file path or `sqlite:<path>`, or the
 * PostgreSQL database of a `postgres://` / `postgresql://` URI (libpq's syntax; the database must
 * exist), and applies every pending migration, each in its own transaction. On failure writes a one-line reason into reterr
 * (reterr_len bytes, may be 0) and returns: -ENOTSUP when the database's schema is newer than
 * this binary knows (nothing is changed), -EUCLEAN when the file is not a usable database,
 * -EACCES/-ENOENT/-EIO etc. On success *ret_st is owned by the caller: store_close() it. */
__attribute__((warn_unused_result))
int store_open(const char *location, struct store **ret_st, char *reterr, size_t reterr_len);
/* Copies location into out (always terminated) with any password replaced by "***": the form
 * that may appear in logs and messages. */
void store_location_redact(const char *location, char *out, size_t size);
/* Closes the database. NULL does nothing. */
void store_close(struct store *st);
/* The schema version of the open database (equals store_migrations_latest() after open). */
__attribute__((warn_unused_result)) int store_schema_version(struct store *st, int *ret_version);
/* Runs the backend's consistency check. Returns 0, or -EUCLEAN when it reports a problem. */
__attribute__((warn_unused_result)) int store_check(struct store *st);
/* Detail of the last failure on st (borrowed until the next call), "" when none. */
const char *store_errmsg(const struct store *st);

/* ---- users and API keys ---- */

/* Creates the user if missing (a user exists as soon as a key names it). Returns 0, -EINVAL
 * when user_id does not match ^[a-z0-9][a-z0-9_-]{0,62}$. */
__attribute__((warn_unused_result))
int store_user_ensure(struct store *st, const char *user_id, int64_t now_ms);

struct store_key {
    char id[STORE_ID_SIZE];                        /* key_<ULID> */
    char user_id[STORE_USER_SIZE];
    char prefix[APIKEY_SHOWN_PREFIX_LEN + 1];      /* "hk_AbCdEfG": display only, not secret */
    char label[STORE_LABEL_SIZE];
    bool admin;
    int64_t created_at;                            /* ms */
    int64_t last_used_at;                          /* ms, 0 = never (see store_key_touch()) */
    int64_t revoked_at;                            /* ms, 0 = active */
};

/* Creates a key for user_id (creating the user too). label may be NULL. Writes the key's record
 * to *ret_key and the plaintext secret (`hk_…`, NUL-terminated) to ret_secret: the only time it
 * exists; only its SHA-256 is stored. The caller shows it once and wipes it. */
__attribute__((warn_unused_result))
int store_key_create(struct store *st, const char *user_id, const char *label, bool admin,
                     int64_t now_ms, struct store_key *ret_key, char ret_secret[APIKEY_LEN + 1]);

struct store_auth {
    char key_id[STORE_ID_SIZE];
    char user_id[STORE_USER_SIZE];
    bool admin;
    int64_t last_used_at;   /* 0: never (what store_key_touch() last wrote) */
};

/* Authenticates a presented credential (len bytes; need not be NUL-terminated). Returns 0 with
 * *ret filled, -EINVAL when it is not shaped like a key (wrong prefix or length, bad characters,
 * embedded NUL), -ENOENT when no key has that hash, -EKEYREVOKED when the key was revoked.
 * The stored hash is compared in constant time. */
__attribute__((warn_unused_result))
int store_key_lookup(struct store *st, const char *cred, size_t len, struct store_auth *ret);
/* Records a use of the key (last_used_at). Callers may throttle it. -ENOENT if unknown. */
__attribute__((warn_unused_result))
int store_key_touch(struct store *st, const char *key_id, int64_t now_ms);
/* Lists keys, newest first, of one user or of all (user_id NULL). *ret is an array of *ret_n
 * records the caller free()s (NULL when empty). Never contains secrets or hashes. */
__attribute__((warn_unused_result))
int store_key_list(struct store *st, const char *user_id, struct store_key **ret, size_t *ret_n);
/* Revokes a key, effective for every later lookup. -ENOENT if unknown, -EALREADY if revoked. */
__attribute__((warn_unused_result))
int store_key_revoke(struct store *st, const char *key_id, int64_t now_ms);
/* One page of the active (not revoked) keys, of one user or of all (user_id NULL), newest
 * first (created_at, then id, descending): at most limit records from offset into *ret (an
 * array of *ret_n the caller free()s; NULL when empty) and the count of every active key that
 * matches into *ret_total. -EINVAL for a malformed user_id. Never contains secrets or hashes. */
__attribute__((warn_unused_result))
int store_key_page(struct store *st, const char *user_id, size_t limit, size_t offset,
                   struct store_key **ret, size_t *ret_n, uint64_t *ret_total);
/* As store_key_revoke(), but -EPERM (nothing changed) when key_id is the last active admin key,
 * checked and revoked in one transaction: the API's revoke (docs/api.md §5.1), so that the
 * daemon cannot be left without an admin key through the API. */
__attribute__((warn_unused_result))
int store_key_revoke_keep_admin(struct store *st, const char *key_id, int64_t now_ms);

/* ---- sandboxes ---- */

/* An owned list of strings. */
struct store_strv {
    char **v;   /* n owned NUL-terminated strings, NULL when n == 0 */
    size_t n;
};

/* One sandbox row. Times are ms since the epoch with 0 meaning "never". Strings are "" when
 * absent. Pointers are owned by the struct: store_sandbox_release() frees them. */
/* What the bandwidth meter last read from a sandbox's two nftables counters: absolute bytes and
 * each counter object's handle (migration 0004). Stored with the totals in one UPDATE, so a
 * reading is counted exactly once whatever fails or crashes in between (ctl/netplane.c). */
struct store_bw_seen {
    int64_t egress, ingress;
    int64_t egress_handle, ingress_handle;
};

struct store_sandbox {
    char id[STORE_ID_SIZE];                 /* sb-<ULID> */
    char user_id[STORE_USER_SIZE];          /* owner */
    char name[STORE_NAME_SIZE];
    char hostname[STORE_NAME_SIZE];         /* derived from name by the store (sbname.h) */
    enum store_state status;
    char shape[STORE_SHAPE_SIZE];
    int32_t vcpu;
    int64_t mem_mib;
    int64_t disk_mib;
    char rootfs[STORE_ROOTFS_SIZE];         /* catalog name or tpl_<ULID> */
    char region[STORE_REGION_SIZE];
    char ip[STORE_IP_SIZE];                 /* "" = no address held; cleared on destroyed/failed */
    int64_t created_at;
    int64_t running_at;                     /* first time running */
    int64_t paused_at;                      /* most recent completed pause */
    int64_t last_resumed_at;                /* most recent completed resume */
    int64_t destroyed_at;
    double spawn_ms;                        /* < 0 = never ran */
    bool ingress_enabled;
    char created_by[STORE_ID_SIZE];         /* key_<ULID> */
    char forked_from[STORE_ID_SIZE];        /* "" unless a fork */
    int64_t auto_pause_after_seconds;       /* 0 = auto-pause off */
    bool start_paused;                      /* a forking child stays paused after the copy */
    int64_t bw_quota_bytes;                 /* -1 = unmetered */
    int64_t bw_used_bytes;
    int64_t bw_ingress_bytes;
    bool bw_capped;
    struct store_bw_seen bw_seen;           /* the meter's last counter reading */
    /* host-side fields, never shown to API clients */
    char host_id[STORE_HOST_SIZE];
    char *run_dir;                          /* NULL = none */
    int32_t qemu_pid;                       /* 0 = none */
    uint64_t qemu_start_time;               /* /proc/<pid>/stat starttime; 0 = none */
    char *snapshot_dir;                     /* NULL = none: the snapshot a paused sandbox
                                               resumes from */
    char *base_dir;                         /* NULL = none: the snapshot its disk layer is a
                                               child of (and a restored VM's RAM maps) */
    /* durable intent: set when an operation starts, cleared when it commits */
    enum store_state target_state;          /* STORE_STATE_NONE = nothing pending */
    int64_t intent_started_at;
    int64_t updated_at;
    /* child lists, filled on read and ignored by store_sandbox_update() */
    struct store_strv env_keys;             /* key names only, sorted bytewise */
    struct store_strv egress;               /* in the order given */
    struct store_strv ssh_pubkeys;          /* canonical keys, in the order added */
};

/* Initialises a row with the defaults (no times, spawn_ms -1, quota -1, no intent, …) so callers
 * set only what they know. */
void store_sandbox_init(struct store_sandbox *sb);
/* Frees the owned pointers; the struct may be reused after store_sandbox_init(). */
void store_sandbox_release(struct store_sandbox *sb);
/* Releases n rows and frees the array. NULL does nothing. */
void store_sandbox_array_free(struct store_sandbox *v, size_t n);

/* An environment variable. value is value_len bytes and may hold any byte (the API forbids NUL;
 * the store does not care). On read, value is also NUL-terminated. */
struct store_env {
    const char *key;
    const char *value;
    size_t value_len;
};

/* Inserts a new sandbox row with its envs, its egress rules (sb->egress) and its SSH keys
 * (sb->ssh_pubkeys, de-duplicated as in store_sandbox_ssh_add()). sb->hostname is ignored and
 * derived from sb->name; sb->env_keys is ignored. All or nothing. Returns 0; -EEXIST when the
 * hostname is taken by another of the user's non-terminal sandboxes (or the id exists);
 * -EADDRINUSE when sb->ip is held by another sandbox; -ENOENT when the user or created_by key is
 * unknown; -E2BIG past STORE_MAX_SSH_KEYS keys; -EINVAL for a missing id, user, name or
 * created_by, a bad status/target_state, an empty env key or a malformed SSH key. */
__attribute__((warn_unused_result))
int store_sandbox_insert(struct store *st, const struct store_sandbox *sb,
                         const struct store_env *envs, size_t n_envs);
/* Inserts n rows (their egress and SSH lists too, no envs) in one transaction: all or nothing.
 * For fixtures and benchmarks. Same returns as store_sandbox_insert(). */
__attribute__((warn_unused_result))
int store_sandbox_insert_many(struct store *st, const struct store_sandbox *rows, size_t n);

/* Reads one sandbox of user_id (NULL = any user; for the daemon's own use, never for a
 * request). Destroyed and failed rows are returned like any other. -ENOENT when missing or owned
 * by someone else. The caller releases *ret. */
__attribute__((warn_unused_result))
int store_sandbox_get(struct store *st, const char *user_id, const char *id,
                      struct store_sandbox *ret);
/* Reads user_id's sandbox whose ip is ip, among those holding an address (not creating,
 * destroyed or failed). -ENOENT otherwise. */
__attribute__((warn_unused_result))
int store_sandbox_get_by_ip(struct store *st, const char *user_id, const char *ip,
                            struct store_sandbox *ret);

/* Reads the one live sandbox (any user) whose hostname is hostname and whose ingress is on, for
 * the ingress proxy's name routing (docs/ingress-ssh.md "Ingress proxy"). -ENOENT when there is
 * none, -ENOTUNIQ when several users' sandboxes share it (the proxy answers 404 for both). */
__attribute__((warn_unused_result))
int store_sandbox_get_ingress_name(struct store *st, const char *hostname,
                                   struct store_sandbox *ret);

struct store_list_query {
    const char *user_id;        /* required */
    unsigned status_mask;       /* STORE_STATE_BIT()s; 0 = every state */
    size_t limit;               /* rows wanted; 0 = none, only the total (the API maps its own
                                 * limit=0 to its default before calling) */
    size_t offset;
};

struct store_sandbox_page {
    struct store_sandbox *items;  /* owned; count rows */
    size_t count;
    uint64_t total;               /* rows matching the query, ignoring limit/offset: exact, and
                                   * read in the same transaction as the page */
};

/* Lists a user's sandboxes newest first (created_at desc, id desc). The caller releases the page
 * with store_sandbox_page_release(). */
__attribute__((warn_unused_result))
int store_sandbox_list(struct store *st, const struct store_list_query *q,
                       struct store_sandbox_page *ret);
void store_sandbox_page_release(struct store_sandbox_page *page);

/* Reads every live sandbox (not destroyed or failed) named name, of any user, into a page
 * (total = count), for the SSH gateway's login by name (docs/ingress-ssh.md): -ENOENT for a
 * malformed name; release with store_sandbox_page_release(). Never for a request's own user. */
__attribute__((warn_unused_result))
int store_sandbox_list_by_name(struct store *st, const char *name,
                               struct store_sandbox_page *ret);

/* Counts a user's sandboxes per state (for whoami and quotas). */
__attribute__((warn_unused_result))
int store_sandbox_count(struct store *st, const char *user_id,
                        uint64_t ret_counts[STORE_STATE__COUNT]);

enum store_patch_fields {
    STORE_PATCH_INGRESS = 1u << 0,      /* ingress_enabled */
    STORE_PATCH_AUTO_PAUSE = 1u << 1,   /* auto_pause_after_seconds (0 turns it off) */
    STORE_PATCH_START_PAUSED = 1u << 2, /* start_paused */
    STORE_PATCH_DISK = 1u << 3,         /* disk_mib */
    STORE_PATCH_IP = 1u << 4,           /* ip (NULL or "" releases the address) */
    STORE_PATCH_HOST = 1u << 5,         /* host_id, run_dir, qemu_pid, qemu_start_time */
    STORE_PATCH_BW_QUOTA = 1u << 6,     /* bw_quota_bytes */
    STORE_PATCH_BW_COUNTERS = 1u << 7,  /* bw_used_bytes, bw_ingress_bytes, bw_capped */
    STORE_PATCH_SPAWN_MS = 1u << 8,     /* spawn_ms */
    STORE_PATCH_EGRESS = 1u << 9,       /* replaces the egress list */
    STORE_PATCH_SNAPSHOT = 1u << 10,    /* snapshot_dir, base_dir */
    STORE_PATCH_BW_SEEN = 1u << 11,     /* bw_seen (the meter, with BW_COUNTERS) */
};

/* A partial update; only the fields named in `fields` are written. Borrowed pointers. */
struct store_sandbox_patch {
    unsigned fields;                    /* enum store_patch_fields */
    unsigned allowed_states;            /* STORE_STATE_BIT()s the row must be in; 0 = any */
    bool ingress_enabled;
    int64_t auto_pause_after_seconds;
    bool start_paused;
    int64_t disk_mib;
    const char *ip;
    const char *host_id;                /* NULL or "" clears */
    const char *run_dir;                /* NULL clears */
    int32_t qemu_pid;                   /* 0 clears */
    uint64_t qemu_start_time;           /* 0 clears */
    int64_t bw_quota_bytes;
    int64_t bw_used_bytes;
    int64_t bw_ingress_bytes;
    bool bw_capped;
    struct store_bw_seen bw_seen;
    double spawn_ms;                    /* < 0 clears */
    const char *snapshot_dir;           /* NULL or "" clears */
    const char *base_dir;               /* NULL or "" clears */
    const char *const *egress;          /* n_egress rules */
    size_t n_egress;
    int64_t now_ms;                     /* stamps updated_at */
};

/* Applies a patch to user_id's sandbox (user_id NULL = any). Atomic: the state check and the
 * write happen in one transaction. Returns 0; -ENOENT; -ESTALE when the row's state is not in
 * allowed_states (nothing written); -EADDRINUSE for an ip held elsewhere; -EINVAL when fields is
 * 0 or holds unknown bits. */
__attribute__((warn_unused_result))
int store_sandbox_update(struct store *st, const char *user_id, const char *id,
                         const struct store_sandbox_patch *p);

enum store_transition_flags {
    STORE_TR_NO_PENDING = 1u << 0,      /* fail with -EBUSY if an intent is already pending */
};

/* A compare-and-set state change, optionally recording or clearing the durable intent. */
struct store_transition {
    enum store_state from;              /* the state the caller saw */
    enum store_state to;                /* the state to write */
    enum store_state intent;            /* target to record; STORE_STATE_NONE clears the intent */
    unsigned flags;                     /* enum store_transition_flags */
    int64_t now_ms;
};

/* Moves sandbox id from t->from to t->to if, and only if, it is in t->from now: of two
 * concurrent callers with the same from, exactly one wins. Stamps what the new state implies:
 * running sets running_at (first time) and spawn_ms (first time, now - created_at), and
 * last_resumed_at when coming from resuming; paused sets paused_at; destroyed sets destroyed_at;
 * destroyed and failed release the ip. The store does not check the §2.14.2 graph
 * (store_state_transition_allowed() does). Returns 0 with the updated row in *ret_sb when given
 * (caller releases); -ENOENT; -ESTALE when the row is in another state (row unchanged); -EBUSY
 * with STORE_TR_NO_PENDING and a pending intent; -EINVAL for states out of range.
 *
 * Durable-intent pattern: transition(running → pausing, intent paused); act; transition(pausing →
 * paused, intent NONE). A crash in between leaves the intent for store_sandbox_list_unsettled(). */
__attribute__((warn_unused_result))
int store_sandbox_transition(struct store *st, const char *id, const struct store_transition *t,
                             struct store_sandbox *ret_sb);

/* Adds canonical OpenSSH keys ("<type> <base64>[ <comment>]") to user_id's sandbox, skipping any
 * whose "<type> <base64>" is already present (or repeated in keys). allowed_states as in the
 * patch. Returns 0 with the number of keys the sandbox now has in *ret_count; -E2BIG when the
 * total would pass STORE_MAX_SSH_KEYS (nothing added); -EINVAL for a key without two fields;
 * -ENOENT; -ESTALE. */
__attribute__((warn_unused_result))
int store_sandbox_ssh_add(struct store *st, const char *user_id, const char *id,
                          unsigned allowed_states, const char *const *keys, size_t n,
                          int64_t now_ms, size_t *ret_count);

/* The envs of a sandbox with their values, for the daemon to hand to the guest; never for an API
 * reply. *ret is an array of *ret_n entries sorted by key; free with store_envs_free(). */
__attribute__((warn_unused_result))
int store_sandbox_envs_get(struct store *st, const char *id, struct store_env **ret,
                           size_t *ret_n);
void store_envs_free(struct store_env *v, size_t n);

/* Every sandbox needing attention at start-up: a pending intent or a non-terminal state, of one
 * host (host_id) or all (NULL), oldest first. Free with store_sandbox_array_free(). */
__attribute__((warn_unused_result))
int store_sandbox_list_unsettled(struct store *st, const char *host_id,
                                 struct store_sandbox **ret, size_t *ret_n);

/* How many live (not destroyed or failed) sandboxes name dir as their snapshot_dir or base_dir:
 * a snapshot directory may be removed only at 0. Returns 0 and *ret_n, or -errno. */
__attribute__((warn_unused_result))
int store_snapshot_refs(struct store *st, const char *dir, uint64_t *ret_n);

/* Deletes destroyed and failed rows (and their lists) last changed before cutoff_ms: the end of
 * retention. Returns the number of rows deleted, or -errno. */
__attribute__((warn_unused_result))
int store_sandbox_purge(struct store *st, int64_t cutoff_ms);

/* ---- a sandbox's event log (migration 0005, docs/store.md) ---- */

#define STORE_EVENTS_KEEP 256        /* newest events kept per sandbox */
#define STORE_EVENT_REASON_SIZE 520  /* 128 characters of UTF-8 and the NUL */
#define STORE_EVENT_TIMELINE_SIZE 768 /* TIMELINE_MAX_STEPS steps of up to ~28 bytes */

struct store_event {
    int64_t seq;                     /* per sandbox, from 1, increasing */
    int64_t at;                      /* Unix ms */
    char kind[24];                   /* "created", "paused", "self_request", ... */
    char actor[24];                  /* "api", "auto_pause", "self", "hearthd", or "" */
    char reason[STORE_EVENT_REASON_SIZE];
    char detail[256];                /* one line: an error, the fork's other side, ... */
    /* the settled operation's steps, timeline_format()'s "step=ms ... total=ms" (migration
     * 0009); "" when the event settles none */
    char timeline[STORE_EVENT_TIMELINE_SIZE];
};

/* Appends ev (its seq is ignored) to sandbox_id's log with the next seq (in *ret_seq, may be
 * NULL) and drops what falls out of the newest STORE_EVENTS_KEEP. 0, -ENOENT (no such
 * sandbox), -EINVAL (a field too long or not text), or -errno. */
__attribute__((warn_unused_result))
int store_event_append(struct store *st, const char *sandbox_id, const struct store_event *ev,
                       int64_t *ret_seq);
/* At most limit (1..STORE_EVENTS_KEEP) events of sandbox_id with seq > after, oldest first, in
 * a new array (*ret, free it; NULL when none). 0 or -errno. The caller checked ownership. */
__attribute__((warn_unused_result))
int store_event_list(struct store *st, const char *sandbox_id, int64_t after, size_t limit,
                     struct store_event **ret, size_t *ret_n);
/* The newest event of kind: 0, -ENOENT (none) or -errno. */
__attribute__((warn_unused_result))
int store_event_last(struct store *st, const char *sandbox_id, const char *kind,
                     struct store_event *ret);

/* ---- delegated sandbox access tokens (docs/api.md §3.13, migration 0006) ---- */

#define STORE_TOKEN_HINT_SIZE 8      /* "…" (3 bytes of UTF-8), 4 characters and the NUL */

struct store_token {
    char sandbox_id[STORE_ID_SIZE];
    char user_id[STORE_USER_SIZE];   /* the sandbox's owner */
    char hint[STORE_TOKEN_HINT_SIZE]; /* "…x7Qa": display only, not secret */
    int64_t created_at;              /* ms */
    int64_t rotated_at;              /* ms, 0 = never rotated */
};

/* Creates the token of user_id's sandbox_id (rotate false), or replaces its secret (rotate
 * true: the old one stops matching in the same transaction). Writes the record to *ret and the
 * plaintext (`hst_…`, NUL-terminated) to ret_secret: the only time it exists; the caller shows
 * it once and wipes it. Create: -EEXIST when the sandbox has a token, -ENOENT when the sandbox
 * is not user_id's, -ESTALE when it is destroying, destroyed or failed. Rotate: -ENOENT when it
 * has no token. */
__attribute__((warn_unused_result))
int store_token_issue(struct store *st, const char *user_id, const char *sandbox_id, bool rotate,
                      int64_t now_ms, struct store_token *ret, char ret_secret[SBTOKEN_LEN + 1]);
/* The token of user_id's sandbox_id: 0 with *ret, -ENOENT when it has none. */
__attribute__((warn_unused_result))
int store_token_get(struct store *st, const char *user_id, const char *sandbox_id,
                    struct store_token *ret);
/* Deletes it, effective for every later lookup: 0 with the old record in *ret, -ENOENT when
 * there was none. */
__attribute__((warn_unused_result))
int store_token_delete(struct store *st, const char *user_id, const char *sandbox_id,
                       struct store_token *ret);
/* Authenticates a presented `hst_` token (len bytes, need not be NUL-terminated): 0 with *ret,
 * -EINVAL when it is not shaped like one, -ENOENT when no live token has that hash (revoked,
 * rotated away, or its sandbox destroying or destroyed). The hash is compared in constant
 * time. */
__attribute__((warn_unused_result))
int store_token_lookup(struct store *st, const char *cred, size_t len, struct store_token *ret);

/* ---- private networks (docs/api.md §3.8, migration 0003) ---- */

#define STORE_SUBNET_SIZE 20  /* "255.255.255.0/24" */
#define STORE_MAX_NETWORKS_PER_SANDBOX 8

struct store_network {
    char id[STORE_ID_SIZE];                 /* net-<ULID> */
    char user_id[STORE_USER_SIZE];
    char name[STORE_NAME_SIZE];
    char subnet[STORE_SUBNET_SIZE];         /* "10.89.3.0/24" */
    int64_t created_at;
    int64_t deleted_at;                     /* 0 = live */
    uint64_t member_count;                  /* on read: non-terminal members */
};

/* One membership, joined with the sandbox and the network for display. */
struct store_member {
    char network_id[STORE_ID_SIZE];
    char network_name[STORE_NAME_SIZE];
    char subnet[STORE_SUBNET_SIZE];
    char sandbox_id[STORE_ID_SIZE];
    char name[STORE_NAME_SIZE];             /* the sandbox's */
    char hostname[STORE_NAME_SIZE];
    enum store_state status;
    char ip[STORE_IP_SIZE];                 /* its address on this network */
    int64_t joined_at;
};

/* Inserts a network (member_count, deleted_at ignored). -EEXIST when the user has a live network
 * of that name; -EADDRINUSE when a live network has that subnet; -ENOENT unknown user. */
__attribute__((warn_unused_result))
int store_network_insert(struct store *st, const struct store_network *n);
/* Reads user_id's network by id or by name (ref). A live network by name, or any (deleted
 * too) by id. -ENOENT otherwise. */
__attribute__((warn_unused_result))
int store_network_get(struct store *st, const char *user_id, const char *ref,
                      struct store_network *ret);
/* A page of the user's live networks, newest first; *ret (free()) holds *ret_n rows; *ret_total
 * counts them all. */
__attribute__((warn_unused_result))
int store_network_list(struct store *st, const char *user_id, size_t limit, size_t offset,
                       struct store_network **ret, size_t *ret_n, uint64_t *ret_total);
/* Marks a live network deleted. -EBUSY with *ret_members set while it has members; -EALREADY
 * when already deleted; -ENOENT. */
__attribute__((warn_unused_result))
int store_network_delete(struct store *st, const char *user_id, const char *id, int64_t now_ms,
                         uint64_t *ret_members);
/* The subnets of every live network (free with store_strv_free()). */
__attribute__((warn_unused_result))
int store_network_subnets(struct store *st, struct store_strv *ret);

/* Adds sandbox_id to network_id with address ip. -EEXIST when already a member; -EADDRINUSE when
 * ip is taken; -E2BIG past STORE_MAX_NETWORKS_PER_SANDBOX; -ENOENT unknown rows. */
__attribute__((warn_unused_result))
int store_member_add(struct store *st, const char *network_id, const char *sandbox_id,
                     const char *ip, int64_t now_ms);
/* Removes a membership: 0, or -ENOENT when there was none. */
__attribute__((warn_unused_result))
int store_member_remove(struct store *st, const char *network_id, const char *sandbox_id);
/* Memberships of one network (network_id set, sandbox_id NULL) newest sandbox first, or of one
 * sandbox (sandbox_id set) in join order. *ret (free()) holds *ret_n. */
__attribute__((warn_unused_result))
int store_member_list(struct store *st, const char *network_id, const char *sandbox_id,
                      struct store_member **ret, size_t *ret_n);
/* Every IPv4 address held: sandboxes' primary addresses and members' network addresses. */
__attribute__((warn_unused_result))
int store_ips_in_use(struct store *st, struct store_strv *ret);
void store_strv_free(struct store_strv *v);

/* ---- S3 disks and their mounts (docs/api.md §3.9, migration 0007) ---- */

#define STORE_BUCKET_SIZE 64          /* 3–63 characters */
#define STORE_ENDPOINT_SIZE 512       /* http(s) URL */
#define STORE_SEALED_MAX 4096         /* sealed credentials (disk/seal.h), bytes */
#define STORE_MOUNT_PATH_SIZE 512     /* absolute guest path */
#define STORE_SUB_PATH_SIZE 1025      /* key prefix, at most 1024 bytes */
#define STORE_MOUNT_ERROR_SIZE 256    /* one line */
#define STORE_MAX_MOUNTS 16           /* per sandbox (docs/api.md §3.9.6) */

struct store_disk {
    char id[STORE_ID_SIZE];                 /* disk_<ULID> */
    char user_id[STORE_USER_SIZE];
    char name[STORE_NAME_SIZE];
    char bucket[STORE_BUCKET_SIZE];
    char endpoint[STORE_ENDPOINT_SIZE];
    char region[STORE_REGION_SIZE];         /* "" = not given */
    bool path_style;
    uint8_t sealed[STORE_SEALED_MAX];       /* the credentials, sealed (opaque here) */
    size_t sealed_len;
    int64_t created_at;
    int64_t updated_at;                     /* last credential rotation */
    int64_t deleted_at;                     /* 0 = live */
    uint64_t mount_count;                   /* on read: its mounts (sandboxes not being destroyed) */
    uint64_t sandbox_count;                 /* on read: distinct such sandboxes */
};

enum store_mount_status {
    STORE_MOUNT_PENDING,                    /* recorded, not mounted yet */
    STORE_MOUNT_MOUNTED,
    STORE_MOUNT_ERROR,                      /* error holds why */
    STORE_MOUNT_UNMOUNTING,
};
/* "pending", "mounted", "error", "unmounting"; NULL for other values. */
const char *store_mount_status_name(enum store_mount_status s);

/* One mount, joined with its disk for display and for mounting. */
struct store_mount {
    char sandbox_id[STORE_ID_SIZE];
    char mount_path[STORE_MOUNT_PATH_SIZE];
    char disk_id[STORE_ID_SIZE];
    char sub_path[STORE_SUB_PATH_SIZE];     /* "" = the whole bucket */
    enum store_mount_status status;
    char error[STORE_MOUNT_ERROR_SIZE];     /* "" unless status is error */
    int64_t created_at;
    int64_t updated_at;
    /* on read, from the disk row (even when the disk is deleted since) */
    char disk_name[STORE_NAME_SIZE];
    char bucket[STORE_BUCKET_SIZE];
    char endpoint[STORE_ENDPOINT_SIZE];
    char region[STORE_REGION_SIZE];
    bool path_style;
};

/* Inserts a disk (counts and deleted_at ignored; updated_at = created_at). -EEXIST when the
 * user has a live disk of that name; -ENOENT unknown user; -EMSGSIZE sealed_len out of range. */
__attribute__((warn_unused_result))
int store_disk_insert(struct store *st, const struct store_disk *d);
/* Reads user_id's disk by id or by name (ref): a live one by name, any (deleted too) by id.
 * -ENOENT otherwise. */
__attribute__((warn_unused_result))
int store_disk_get(struct store *st, const char *user_id, const char *ref, struct store_disk *ret);
/* A page of the user's live disks, newest first; *ret (free()) holds *ret_n rows; *ret_total
 * counts them all (also the quota count). */
__attribute__((warn_unused_result))
int store_disk_list(struct store *st, const char *user_id, size_t limit, size_t offset,
                    struct store_disk **ret, size_t *ret_n, uint64_t *ret_total);
/* Every disk of every user, deleted ones too, for a key rotation (`hearthd disk-key rotate`):
 * *ret (free()) holds *ret_n rows in id order. */
__attribute__((warn_unused_result))
int store_disk_list_all(struct store *st, struct store_disk **ret, size_t *ret_n);
/* Replaces the sealed credentials of disk id (user_id NULL: any user's, for a key rotation);
 * updated_at = now_ms when user_id is given (a credential rotation), kept otherwise. -ENOENT,
 * -EMSGSIZE. */
__attribute__((warn_unused_result))
int store_disk_set_sealed(struct store *st, const char *user_id, const char *id,
                          const uint8_t *sealed, size_t len, int64_t now_ms);
/* Marks a live disk deleted. -EBUSY with *ret_sandboxes (distinct sandboxes, none being destroyed,
 * holding a mount of it) while any does; -EALREADY when deleted already; -ENOENT. */
__attribute__((warn_unused_result))
int store_disk_delete(struct store *st, const char *user_id, const char *id, int64_t now_ms,
                      uint64_t *ret_sandboxes);

/* Adds a mount (status, error, created_at, updated_at and sandbox_id, mount_path, disk_id,
 * sub_path taken from m; the disk fields are ignored). -EEXIST when the sandbox has a mount at
 * that path; -E2BIG past STORE_MAX_MOUNTS; -ENOENT unknown sandbox or disk. */
__attribute__((warn_unused_result))
int store_mount_add(struct store *st, const struct store_mount *m);
/* Adds all n mounts of one sandbox in one transaction (create and fork): all or none. Errors as
 * store_mount_add. */
__attribute__((warn_unused_result))
int store_mount_add_many(struct store *st, const struct store_mount *m, size_t n);
/* The mounts of sandbox_id ordered by mount_path; *ret (free()) holds *ret_n. */
__attribute__((warn_unused_result))
int store_mount_list(struct store *st, const char *sandbox_id, struct store_mount **ret,
                     size_t *ret_n);
/* One mount: 0 with *ret or -ENOENT. */
__attribute__((warn_unused_result))
int store_mount_get(struct store *st, const char *sandbox_id, const char *mount_path,
                    struct store_mount *ret);
/* Sets a mount's status (error: one line, or NULL/"" for none) and updated_at. -ENOENT. */
__attribute__((warn_unused_result))
int store_mount_set_status(struct store *st, const char *sandbox_id, const char *mount_path,
                           enum store_mount_status status, const char *error, int64_t now_ms);
/* Removes a mount: 0, or -ENOENT when there was none. */
__attribute__((warn_unused_result))
int store_mount_remove(struct store *st, const char *sandbox_id, const char *mount_path);
/* The ids of the sandboxes on host_id that are running and hold at least one mount (the
 * health checker's round): *ret (store_strv_free()). */
__attribute__((warn_unused_result))
int store_mount_sandboxes(struct store *st, const char *host_id, struct store_strv *ret);

/* ---- templates and their build logs (docs/api.md §3.10, migration 0008) ---- */

#define STORE_TPL_BASE_SIZE 512       /* catalog name, tpl_<ULID> or oci:<ref> */
#define STORE_TPL_DOCKERFILE_MAX 65536 /* docs/api.md §3.10.1 rule 1 */
#define STORE_TPL_OPTIONS_MAX 8192    /* options JSON */
#define STORE_TPL_ERROR_SIZE 512      /* one line */
#define STORE_TPL_KEY_SIZE 65         /* a layer or context key: 64 hex digits */
#define STORE_TPL_LINE_MAX 4096       /* one log line, bytes (longer lines are cut by the caller) */

enum store_tpl_status {
    STORE_TPL_PENDING,                /* queued */
    STORE_TPL_BUILDING,
    STORE_TPL_READY,
    STORE_TPL_FAILED,
    STORE_TPL_CANCELLED,              /* deleted while pending or building */
};
/* "pending", "building", "ready", "failed", "cancelled"; NULL for other values. */
const char *store_tpl_status_name(enum store_tpl_status s);
/* The status named s, or -EINVAL. */
int store_tpl_status_parse(const char *s);

struct store_template {
    char id[STORE_ID_SIZE];                 /* tpl_<ULID> */
    char user_id[STORE_USER_SIZE];
    char name[STORE_NAME_SIZE];
    char base[STORE_TPL_BASE_SIZE];
    char *dockerfile;                       /* owned (store_template_release); NULL when the
                                               read did not ask for it */
    char context[STORE_ID_SIZE + 32];       /* "ctx_<64 hex>" or "" */
    char options[STORE_TPL_OPTIONS_MAX];    /* JSON object text, "{}" when none */
    enum store_tpl_status status;
    int32_t attempt;
    char error[STORE_TPL_ERROR_SIZE];       /* "" when none */
    char top_layer[STORE_TPL_KEY_SIZE];     /* "" until ready */
    char *layers;                           /* owned JSON array text; NULL when not read */
    int64_t ext4_size_bytes;
    char host_id[STORE_HOST_SIZE];
    int64_t created_at, started_at, built_at, deleted_at; /* 0 = not set */
};
/* Zeroes t (owned pointers NULL). */
void store_template_init(struct store_template *t);
/* Frees t's owned strings and re-inits it. */
void store_template_release(struct store_template *t);

/* Inserts a template (status, attempt, error, top_layer, size, times other than created_at
 * taken from t; layers NULL = "[]"). -EEXIST when the user has a live template of that name;
 * -ENOENT unknown user; -EMSGSIZE a dockerfile over STORE_TPL_DOCKERFILE_MAX. */
__attribute__((warn_unused_result))
int store_template_insert(struct store *st, const struct store_template *t);
/* Reads a template by id or name (ref): a live one by name, any (deleted too) by id; user_id
 * NULL: any user's (the builder). with_text: dockerfile and layers are read too. -ENOENT. */
__attribute__((warn_unused_result))
int store_template_get(struct store *st, const char *user_id, const char *ref, bool with_text,
                       struct store_template *ret);
/* A page of the user's live templates, newest first, without dockerfile/layers; *ret (free()
 * each with store_template_release, then free()) holds *ret_n rows; *ret_total counts them all
 * (also the quota count). */
__attribute__((warn_unused_result))
int store_template_list(struct store *st, const char *user_id, size_t limit, size_t offset,
                        struct store_template **ret, size_t *ret_n, uint64_t *ret_total);
/* Every template of every user in status s (the queue: pending and building ones, oldest
 * first), with dockerfile and layers. *ret as for store_template_list. */
__attribute__((warn_unused_result))
int store_template_list_status(struct store *st, enum store_tpl_status s,
                               struct store_template **ret, size_t *ret_n);
/* Every template, deleted ones too, with layers (not dockerfile): what the layer collector
 * reads. *ret as above. */
__attribute__((warn_unused_result))
int store_template_list_all(struct store *st, struct store_template **ret, size_t *ret_n);

/* What a build changes; fields not in mask are kept. */
enum {
    STORE_TPL_SET_STATUS = 1u << 0,   /* status */
    STORE_TPL_SET_ATTEMPT = 1u << 1,  /* attempt, started_at */
    STORE_TPL_SET_ERROR = 1u << 2,    /* error ("" clears) */
    STORE_TPL_SET_RESULT = 1u << 3,   /* top_layer, ext4_size_bytes, built_at */
    STORE_TPL_SET_LAYERS = 1u << 4,   /* layers (JSON array text) */
    STORE_TPL_SET_HOST = 1u << 5,     /* host_id */
};
struct store_tpl_update {
    unsigned mask;
    uint32_t from_states;             /* bit (1u << status): the update applies only when the
                                         row is in one of these (0: any); else -ESTALE */
    enum store_tpl_status status;
    int32_t attempt;
    int64_t started_at;
    const char *error;
    const char *top_layer;
    int64_t ext4_size_bytes;
    int64_t built_at;
    const char *layers;
    const char *host_id;
};
/* Applies u to template id (any user's, deleted ones too). -ENOENT, -ESTALE (state). */
__attribute__((warn_unused_result))
int store_template_update(struct store *st, const char *id, const struct store_tpl_update *u);
/* Marks a live template deleted (frees its name); a pending or building one becomes cancelled
 * in the same transaction (*ret_was = its status before). -EALREADY when deleted already;
 * -ENOENT. */
__attribute__((warn_unused_result))
int store_template_delete(struct store *st, const char *user_id, const char *id, int64_t now_ms,
                          enum store_tpl_status *ret_was);
/* How many sandboxes not destroyed or failed have rootfs = template id (their disks lean on
 * the template's layers): 0 or more in *ret_n. */
__attribute__((warn_unused_result))
int store_template_sandboxes(struct store *st, const char *id, uint64_t *ret_n);

struct store_tpl_log {
    int32_t attempt;                  /* >= 1 */
    int64_t seq;                      /* assigned by the caller: 0, 1, … per attempt */
    int64_t ts;                       /* unix ms */
    bool error;                       /* level "error" (else "info") */
    char *line;                       /* owned on read; borrowed on append; no '\n' */
};
/* Appends n lines of template id in one transaction. -ENOENT unknown template; -EEXIST a
 * (attempt, seq) stored already. */
__attribute__((warn_unused_result))
int store_template_log_append(struct store *st, const char *id, const struct store_tpl_log *l,
                              size_t n);
/* The lines of template id (attempt 0: every attempt) in (attempt, seq) order, starting after
 * (after_attempt, after_seq) (pass 0, -1 for all), at most limit (0: no limit). *ret (free with
 * store_tpl_log_free) holds *ret_n. */
__attribute__((warn_unused_result))
int store_template_log_read(struct store *st, const char *id, int32_t attempt,
                            int32_t after_attempt, int64_t after_seq, size_t limit,
                            struct store_tpl_log **ret, size_t *ret_n);
void store_tpl_log_free(struct store_tpl_log *l, size_t n);

/* ---- the host registry (docs/scale-out.md "Hosts", migration 0011) ---- */

#define STORE_HOST_LABELS_SIZE 1024 /* "k=v,k2=v2" sorted by key (ctl/hosts.h) */
#define STORE_HOST_ADDR_SIZE 128
#define STORE_HOST_ROOTFSES_SIZE 512

/* One host's report (everything but drain is the host's own). */
struct store_host {
    char id[STORE_HOST_SIZE];
    char region[STORE_REGION_SIZE];
    char labels[STORE_HOST_LABELS_SIZE];
    char address[STORE_HOST_ADDR_SIZE];
    char version[64];
    char rootfses[STORE_HOST_ROOTFSES_SIZE];
    int64_t mem_mib, free_mib, vcpus, committed_vcpus, vm_count;
    bool drain;                 /* read only: store_host_set_drain() writes it */
    int64_t started_at, heartbeat_at;
};

/* Inserts or refreshes h's row (its drain flag is kept; a new host starts undrained). -EINVAL
 * for an empty id or region, -ENAMETOOLONG for a field that does not fit. */
__attribute__((warn_unused_result))
int store_host_report(struct store *st, const struct store_host *h);
/* Every registered host, ordered by id (*ret, free()). */
__attribute__((warn_unused_result))
int store_host_list(struct store *st, struct store_host **ret, size_t *ret_n);
/* One host: 0 with *ret, -ENOENT when none has this id. */
__attribute__((warn_unused_result))
int store_host_get(struct store *st, const char *id, struct store_host *ret);
/* Sets or clears a host's drain flag: 0, -ENOENT when no such host. */
__attribute__((warn_unused_result))
int store_host_set_drain(struct store *st, const char *id, bool drain);
/* Forgets a host (an operator's clean-up of one retired for good): 0, -ENOENT, -EBUSY while
 * live (not destroyed or failed) sandboxes still name it. */
__attribute__((warn_unused_result))
int store_host_delete(struct store *st, const char *id);

/* ---- the work queue (docs/scale-out.md "Work queue", migration 0011) ---- */

#define STORE_JOB_REQUEST_MAX (256 * 1024)  /* a job's input, bytes */
#define STORE_JOB_RESULT_MAX (64 * 1024)    /* its result, bytes */

enum store_job_state { STORE_JOB_QUEUED, STORE_JOB_RUNNING, STORE_JOB_DONE, STORE_JOB_FAILED };

struct store_job {
    char id[STORE_ID_SIZE];         /* job_<ULID> */
    char host_id[STORE_HOST_SIZE];
    char kind[16];                  /* "create" */
    enum store_job_state state;
    char user_id[STORE_USER_SIZE];
    char key_id[STORE_ID_SIZE];
    bool admin;
    char *request;                  /* owned (store_job_release) */
    int status_code;
    char *result;                   /* owned; "" until finished */
    char sandbox_id[STORE_ID_SIZE];
    int64_t created_at, claimed_at, finished_at;
};
void store_job_release(struct store_job *j);

/* Queues j (id, host_id, kind, user_id, key_id, admin, request, created_at; state queued). */
__attribute__((warn_unused_result))
int store_job_enqueue(struct store *st, const struct store_job *j);
/* Claims host_id's oldest queued job: 0 with it (now running) in *ret (release it), -ENOENT
 * when there is none. Of several claimers, each job goes to exactly one. */
__attribute__((warn_unused_result))
int store_job_claim(struct store *st, const char *host_id, int64_t now_ms, struct store_job *ret);
/* Finishes a running job with its result: done (ok) or failed. -ENOENT when it is not
 * running (finished already, or unknown). */
__attribute__((warn_unused_result))
int store_job_finish(struct store *st, const char *id, bool ok, int status_code,
                     const char *result, const char *sandbox_id, int64_t now_ms);
/* One job: 0 with *ret (release it), -ENOENT. */
__attribute__((warn_unused_result))
int store_job_get(struct store *st, const char *id, struct store_job *ret);
/* Fails every unfinished job of host_id (a dead host's, or a restarted host's running ones
 * when running_only) with status_code and result; *ret_n how many. */
__attribute__((warn_unused_result))
int store_job_fail_host(struct store *st, const char *host_id, bool running_only,
                        int status_code, const char *result, int64_t now_ms, uint64_t *ret_n);
/* Deletes finished jobs older than cutoff_ms. */
__attribute__((warn_unused_result))
int store_job_purge(struct store *st, int64_t cutoff_ms);
/* ---- snapshots on S3 (migration 0010, docs/snapshots.md "Snapshots on S3") ---- */

#define STORE_SNAPOBJ_DIR_SIZE 1024
#define STORE_SNAPOBJ_KEY_SIZE 1100
#define STORE_SNAPOBJ_ERR_SIZE 240

/* The upload record of one snapshot directory. */
struct store_snapobj {
    char dir[STORE_SNAPOBJ_DIR_SIZE];          /* the local path: the sandboxes' snapshot_dir */
    char manifest_key[STORE_SNAPOBJ_KEY_SIZE]; /* the manifest's object key */
    char host_id[64];                          /* the host that wrote it */
    int64_t bytes;                             /* plain bytes of its data chunks (0: unknown) */
    int64_t uploaded_bytes;                    /* of those, stored so far */
    int64_t local_bytes;                       /* disk space of the local copy */
    int64_t attempts;                          /* uploads tried */
    char last_error[STORE_SNAPOBJ_ERR_SIZE];   /* "" or why the last attempt failed */
    int64_t created_at;                        /* unix ms: when the snapshot was committed */
    int64_t durable_at;                        /* unix ms, 0: not durable */
    int64_t upload_ms;                         /* pause to durable */
    bool local;                                /* the directory is on this host's disk */
    int64_t last_used_at;                      /* unix ms: LRU order of the local cache */
};

/* Inserts or replaces the record of o->dir (every field is written). 0 or -errno. */
__attribute__((warn_unused_result))
int store_snapobj_put(struct store *st, const struct store_snapobj *o);
/* The record of dir into *ret: 0, -ENOENT or -errno. */
__attribute__((warn_unused_result))
int store_snapobj_get(struct store *st, const char *dir, struct store_snapobj *ret);
/* Every record (pending_only: those not durable), oldest first, into a new array (*ret,
 * free()) of *ret_n. */
__attribute__((warn_unused_result))
int store_snapobj_list(struct store *st, bool pending_only, struct store_snapobj **ret,
                       size_t *ret_n);
/* Deletes the record of dir (none is fine). 0 or -errno. */
__attribute__((warn_unused_result))
int store_snapobj_delete(struct store *st, const char *dir);
