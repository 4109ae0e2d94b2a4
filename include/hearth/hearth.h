/* SPDX-License-Identifier: MIT */
/* hearth.h: libhearth, the C client library of the hearth API (docs/api.md).
 *
 * One opaque client handle carries the base URL, the credential, timeouts and the retry policy.
 * Every call returns 0 (HEARTH_OK) or a negative enum hearth_err value and, when the caller
 * passes one, fills a struct hearth_error with the detail: HTTP status, the server's machine
 * code, its message and the request id. Results come back as opaque, read-only objects
 * (hearth_obj, hearth_list) read through small accessors; every object also keeps the exact JSON
 * text of the API payload, so callers that want JSON never re-encode it. The header uses no
 * libcurl or jansson types.
 *
 * Thread safety: a client handle is used by one thread at a time; separate handles are
 * independent. Objects are immutable once returned and may be shared read-only.
 *
 * Minimal use:
 *
 *     hearth_client *c = hearth_client_new("http://127.0.0.1:8080", getenv("HEARTH_API_KEY"));
 *     hearth_obj *who = NULL;
 *     struct hearth_error e;
 *     if (hearth_whoami(c, &who, &e) == HEARTH_OK)
 *         printf("%s\n", hearth_obj_str(who, "user_id"));
 *     hearth_obj_free(who);
 *     hearth_client_free(c);
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define HEARTH_EXPORT __attribute__((visibility("default")))
#define HEARTH_WUR __attribute__((warn_unused_result))
#else
#define HEARTH_EXPORT
#define HEARTH_WUR
#endif

#define HEARTH_VERSION "0.1.0"

/* ---- errors ---- */

/* The error table: name, value, text. Values are only ever appended, never renumbered.
 * HEARTH_ERR_* values are negative; HEARTH_OK is 0. */
#define HEARTH_ERR_MAP(X)                                                                        \
    X(OK, 0, "success")                                                                          \
    X(NOMEM, -1, "out of memory")                                                                \
    X(INVALID, -2, "invalid argument")                                                           \
    X(CONNECT, -3, "cannot reach the server")                                                    \
    X(TIMEOUT, -4, "request timed out")                                                          \
    X(PROTOCOL, -5, "malformed response from the server")                                        \
    X(AUTH, -6, "missing or invalid credential")                                                 \
    X(FORBIDDEN, -7, "permission denied")                                                        \
    X(NOT_FOUND, -8, "not found")                                                                \
    X(REJECTED, -9, "request rejected")                                                          \
    X(RATE_LIMITED, -10, "rate limited")                                                         \
    X(SERVER, -11, "server error")                                                               \
    X(UNAVAILABLE, -12, "service unavailable")                                                   \
    X(NOT_IMPLEMENTED, -13, "not implemented by the server")                                     \
    X(IO, -14, "local input/output error")                                                       \
    X(ABORTED, -15, "aborted by the caller")                                                     \
    X(STATE, -16, "sandbox reached an unexpected state")

enum hearth_err {
#define HEARTH_ERR_ENUM_(name, value, text) HEARTH_ERR_##name = (value),
    HEARTH_ERR_MAP(HEARTH_ERR_ENUM_)
#undef HEARTH_ERR_ENUM_
};
#define HEARTH_OK HEARTH_ERR_OK

/* Static English text for a code ("unknown error" for values outside the table). */
HEARTH_EXPORT const char *hearth_strerror(int err);
/* The code's name without prefix ("NOT_FOUND"), or "UNKNOWN". */
HEARTH_EXPORT const char *hearth_err_name(int err);

/* Detail of the last failure of one call. Every call that takes a reterr resets it first.
 * Strings are always NUL-terminated (possibly empty) and truncated to fit. */
struct hearth_error {
    int code;               /* enum hearth_err */
    int http_status;        /* 0 when no HTTP response was received */
    char api_code[64];      /* the envelope's data.code ("invalid_state"), or "" */
    char message[512];      /* the server's message, or a local description */
    char request_id[132];   /* X-Request-Id of the failed response, or "" */
    char state[32];         /* data.state on 409 invalid_state, or "" */
};

/* ---- client ---- */

typedef struct hearth_client hearth_client;

/* Creates a client. base_url is "http[s]://host[:port][/prefix]" without query or fragment; a
 * trailing '/' is dropped. api_key may be NULL (unauthenticated routes only). Both strings are
 * copied. Returns NULL when out of memory or when base_url is malformed. */
HEARTH_EXPORT hearth_client *hearth_client_new(const char *base_url, const char *api_key);
/* Frees the client; NULL does nothing. */
HEARTH_EXPORT void hearth_client_free(hearth_client *c);

/* Per-request timeout in milliseconds for ordinary calls (default 60000; 0 = none). Streams,
 * exec and file transfers are not bounded by it, only by the connect timeout. */
HEARTH_EXPORT void hearth_client_set_timeout_ms(hearth_client *c, long ms);
/* Timeout for sandbox create (default 90000). */
HEARTH_EXPORT void hearth_client_set_create_timeout_ms(hearth_client *c, long ms);
/* Connect timeout in milliseconds (default 10000). */
HEARTH_EXPORT void hearth_client_set_connect_timeout_ms(hearth_client *c, long ms);
/* Maximum retries of one request (default 2; 0 disables). Retries follow docs/api.md §1.11:
 * GET/PUT/DELETE on connection errors and 408, 429, 500, 502, 503, 504; any method on 429 and
 * 503; never a stream or a non-replayable upload; Retry-After is honoured (capped at 60 s). */
HEARTH_EXPORT void hearth_client_set_retries(hearth_client *c, int retries);
/* User-Agent header (copied; default "libhearth/" HEARTH_VERSION). Returns HEARTH_ERR_NOMEM. */
HEARTH_EXPORT HEARTH_WUR int hearth_client_set_user_agent(hearth_client *c, const char *ua);

/* Called once per HTTP exchange, after it ends, with a one-line summary such as
 * "GET /v1/whoami 200 req_01J… 12ms". The credential never appears; api_key query values are
 * redacted. The line is borrowed for the duration of the call. */
typedef void (*hearth_log_fn)(void *userdata, const char *line);
HEARTH_EXPORT void hearth_client_set_log(hearth_client *c, hearth_log_fn fn, void *userdata);

/* Called periodically (at least once a second) while a call waits for the server. Returning
 * false aborts the call with HEARTH_ERR_ABORTED. */
typedef bool (*hearth_progress_fn)(void *userdata);
HEARTH_EXPORT void hearth_client_set_progress(hearth_client *c, hearth_progress_fn fn,
                                              void *userdata);

/* ---- result objects ---- */

/* A read-only JSON object from the API (a SandboxView, a Whoami, an exec result, …). */
typedef struct hearth_obj hearth_obj;

/* Frees an object returned by a call; NULL does nothing. Objects borrowed from a list must not
 * be freed. */
HEARTH_EXPORT void hearth_obj_free(hearth_obj *o);
/* The payload as compact JSON text, keys in the order the server sent them. Borrowed from o. */
HEARTH_EXPORT const char *hearth_obj_json(const hearth_obj *o);

/* Accessors take a dotted path into nested objects: "id", "stats.running", "result.exit_code";
 * a decimal segment indexes an array ("members.0.ip" is the ip of the first member). A missing
 * field or one of another type gives the fallback (NULL, def, false). Strings are borrowed
 * from o. */
HEARTH_EXPORT bool hearth_obj_has(const hearth_obj *o, const char *path);
HEARTH_EXPORT const char *hearth_obj_str(const hearth_obj *o, const char *path);
/* Like hearth_obj_str(), also giving the length (strings may hold NUL bytes). */
HEARTH_EXPORT const char *hearth_obj_strn(const hearth_obj *o, const char *path,
                                          size_t *ret_len);
/* Integers; a real number is truncated toward zero. */
HEARTH_EXPORT int64_t hearth_obj_int(const hearth_obj *o, const char *path, int64_t def);
HEARTH_EXPORT double hearth_obj_num(const hearth_obj *o, const char *path, double def);
HEARTH_EXPORT bool hearth_obj_bool(const hearth_obj *o, const char *path, bool def);
/* Arrays ("egress", "envs", "members"): length (0 when absent or not an array) and string item
 * i (NULL when i is out of range or not a string). */
HEARTH_EXPORT size_t hearth_obj_array_len(const hearth_obj *o, const char *path);
HEARTH_EXPORT const char *hearth_obj_array_str(const hearth_obj *o, const char *path, size_t i);
/* The JSON text of any value at path (an object, an array, a number…), caller frees with
 * free(); NULL when absent or out of memory. */
HEARTH_EXPORT char *hearth_obj_value_json(const hearth_obj *o, const char *path);

/* A page (or several merged pages) of a paginated list. */
typedef struct hearth_list hearth_list;

HEARTH_EXPORT void hearth_list_free(hearth_list *l);
HEARTH_EXPORT size_t hearth_list_count(const hearth_list *l);
/* Item i, borrowed from l (NULL when out of range). */
HEARTH_EXPORT const hearth_obj *hearth_list_item(const hearth_list *l, size_t i);
/* pagination.total of the last page fetched (the number of matching items on the server). */
HEARTH_EXPORT int64_t hearth_list_total(const hearth_list *l);
/* The items as one JSON array text (not the pagination wrapper); caller frees with free(). */
HEARTH_EXPORT char *hearth_list_json(const hearth_list *l);

/* Paging options for list calls. Zero-initialise; limit 0 = server default (50). */
struct hearth_page {
    int64_t limit;
    int64_t offset;
    const char *status;     /* sandbox status filter, or NULL */
};

/* ---- request bodies ---- */

/* A JSON request body built field by field (sandbox create, PATCH, exec). */
typedef struct hearth_body hearth_body;

HEARTH_EXPORT hearth_body *hearth_body_new(void);
HEARTH_EXPORT void hearth_body_free(hearth_body *b);
/* Set key to a string (copied; must be valid UTF-8, else HEARTH_ERR_INVALID), integer or
 * boolean. Setting a key again replaces it. */
HEARTH_EXPORT HEARTH_WUR int hearth_body_set_str(hearth_body *b, const char *key, const char *v);
HEARTH_EXPORT HEARTH_WUR int hearth_body_set_strn(hearth_body *b, const char *key, const char *v,
                                                  size_t len);
HEARTH_EXPORT HEARTH_WUR int hearth_body_set_int(hearth_body *b, const char *key, int64_t v);
HEARTH_EXPORT HEARTH_WUR int hearth_body_set_bool(hearth_body *b, const char *key, bool v);
/* Appends a string to the array at key (created when missing). */
HEARTH_EXPORT HEARTH_WUR int hearth_body_append_str(hearth_body *b, const char *key,
                                                    const char *v);
/* Sets map[key][name] = v (creating the object): envs, env. */
HEARTH_EXPORT HEARTH_WUR int hearth_body_set_map(hearth_body *b, const char *key,
                                                 const char *name, const char *v);
/* Sets map[key][name] = v, a boolean (the disk create body's config.use_path_style). */
HEARTH_EXPORT HEARTH_WUR int hearth_body_set_map_bool(hearth_body *b, const char *key,
                                                      const char *name, bool v);
/* Sets map[key][name] = v, an integer (a template's ready.port, ready.timeout_seconds). */
HEARTH_EXPORT HEARTH_WUR int hearth_body_set_map_int(hearth_body *b, const char *key,
                                                     const char *name, int64_t v);
/* Appends an object of string pairs to the array at key: pairs is NULL-terminated
 * name, value, name, value…; a NULL value skips its pair ({"disk_id":…,"mount_path":…}). */
HEARTH_EXPORT HEARTH_WUR int hearth_body_append_obj(hearth_body *b, const char *key,
                                                    const char *const *pairs);
/* The body as JSON text, caller frees with free(). */
HEARTH_EXPORT char *hearth_body_json(const hearth_body *b);

/* ---- calls ----
 * Every call: returns HEARTH_OK or a negative enum hearth_err; on success *ret (when the call
 * has one) receives a new object the caller frees; on failure *ret is untouched and reterr (may
 * be NULL) holds the detail. */

/* GET /healthz. */
HEARTH_EXPORT HEARTH_WUR int hearth_healthz(hearth_client *c, struct hearth_error *reterr);
/* GET /readyz. When not ready: HEARTH_ERR_UNAVAILABLE with the reason in reterr->message, and
 * *ret (if given) still receives the {"ready":false,…} payload. */
HEARTH_EXPORT HEARTH_WUR int hearth_readyz(hearth_client *c, hearth_obj **ret,
                                           struct hearth_error *reterr);
/* GET /v1/whoami → Whoami. */
HEARTH_EXPORT HEARTH_WUR int hearth_whoami(hearth_client *c, hearth_obj **ret,
                                           struct hearth_error *reterr);
/* GET /v1/ssh-gateway → {enabled, port, password_auth, host_keys[]} (a hearth extension):
 * where the SSH gateway listens and its public host keys, for a client's known_hosts. */
HEARTH_EXPORT HEARTH_WUR int hearth_ssh_gateway_get(hearth_client *c, hearth_obj **ret,
                                                    struct hearth_error *reterr);
/* GET /v1/hosts (admin keys), one page → list of Host. */
HEARTH_EXPORT HEARTH_WUR int hearth_hosts_list(hearth_client *c, const struct hearth_page *page,
                                               hearth_list **ret, struct hearth_error *reterr);

/* POST /v1/sandboxes → CreateSandboxResponse. Uses the create timeout. */
HEARTH_EXPORT HEARTH_WUR int hearth_sandbox_create(hearth_client *c, const hearth_body *body,
                                                   hearth_obj **ret,
                                                   struct hearth_error *reterr);
/* GET /v1/sandboxes, one page (page may be NULL). */
HEARTH_EXPORT HEARTH_WUR int hearth_sandbox_list(hearth_client *c, const struct hearth_page *page,
                                                 hearth_list **ret, struct hearth_error *reterr);
/* Pagination helper: pages through GET /v1/sandboxes (500 per page) with an optional status
 * filter until the server's total is reached or max items were collected (0 = no maximum). */
HEARTH_EXPORT HEARTH_WUR int hearth_sandbox_list_all(hearth_client *c, const char *status,
                                                     size_t max, hearth_list **ret,
                                                     struct hearth_error *reterr);
/* GET /v1/sandboxes/{id} → SandboxView. */
HEARTH_EXPORT HEARTH_WUR int hearth_sandbox_get(hearth_client *c, const char *id,
                                                hearth_obj **ret, struct hearth_error *reterr);
/* PATCH /v1/sandboxes/{id} → SandboxView. */
HEARTH_EXPORT HEARTH_WUR int hearth_sandbox_patch(hearth_client *c, const char *id,
                                                  const hearth_body *body, hearth_obj **ret,
                                                  struct hearth_error *reterr);
/* DELETE /v1/sandboxes/{id} → {"id","status"}. */
HEARTH_EXPORT HEARTH_WUR int hearth_sandbox_delete(hearth_client *c, const char *id,
                                                   hearth_obj **ret, struct hearth_error *reterr);
/* POST /v1/sandboxes/{id}/resize {"disk_mib"} → {"id","disk_mib"}. */
HEARTH_EXPORT HEARTH_WUR int hearth_sandbox_resize(hearth_client *c, const char *id,
                                                   int64_t disk_mib, hearth_obj **ret,
                                                   struct hearth_error *reterr);
/* POST /v1/sandboxes/{id}/ssh-pubkeys {"keys":[…]} → {"count"}. */
HEARTH_EXPORT HEARTH_WUR int hearth_sandbox_add_ssh_keys(hearth_client *c, const char *id,
                                                         const char *const *keys, size_t n,
                                                         hearth_obj **ret,
                                                         struct hearth_error *reterr);

/* ---- lifecycle: pause, resume, fork, wait (docs/api.md §2.14, §3.3.1–§3.3.3) ---- */

/* How the server answered an asynchronous lifecycle call. */
struct hearth_async {
    int http_status;        /* 200: already in the target state; 202: transition under way */
    int poll_after_ms;      /* X-Poll-After of a 202 in ms (1000 when absent or bad); 0 on 200 */
};

/* POST /v1/sandboxes/{id}/pause → SandboxView. A running sandbox answers 202 (status
 * "pausing"), a pausing one 202 again, a paused one 200; other states give HEARTH_ERR_REJECTED
 * with api_code "invalid_state" and reterr->state set. Does not wait: pair it with
 * hearth_sandbox_wait(). ret_async (may be NULL) tells 200 from 202. Retried only on 429/503. */
HEARTH_EXPORT HEARTH_WUR int hearth_sandbox_pause(hearth_client *c, const char *id,
                                                  hearth_obj **ret,
                                                  struct hearth_async *ret_async,
                                                  struct hearth_error *reterr);
/* POST /v1/sandboxes/{id}/resume → SandboxView. A paused or error sandbox answers 202 (status
 * "resuming"), a resuming or forking one 202, a running one 200; otherwise as pause. Quota and
 * capacity refusals are HEARTH_ERR_FORBIDDEN (quota_exceeded) and HEARTH_ERR_UNAVAILABLE. */
HEARTH_EXPORT HEARTH_WUR int hearth_sandbox_resume(hearth_client *c, const char *id,
                                                   hearth_obj **ret,
                                                   struct hearth_async *ret_async,
                                                   struct hearth_error *reterr);
/* POST /v1/sandboxes/{id}/fork → the CHILD's SandboxView (new id, forked_from = id). body may be
 * NULL ({}); its fields (docs/api.md §3.3.3), set with hearth_body_*: start_paused (bool), name
 * (string), ssh_pubkeys and egress (string arrays, replacing the inherited ones),
 * ingress_enabled (bool), envs (map, replacing), bandwidth_quota_bytes (-1 = unmetered or > 0),
 * disks (objects, as at create), auto_pause_after_seconds (int). Answers 200 when the child is
 * paused (start_paused) or running, 202 while it is forking/resuming. A source that is not
 * paused/pausing gives HEARTH_ERR_REJECTED, api_code "invalid_state", reterr->state its status.
 * Uses the create timeout (the server may answer only once the snapshot is copied); never
 * retried except on 429/503 (nothing was created). */
HEARTH_EXPORT HEARTH_WUR int hearth_sandbox_fork(hearth_client *c, const char *id,
                                                 const hearth_body *body, hearth_obj **ret,
                                                 struct hearth_async *ret_async,
                                                 struct hearth_error *reterr);

/* Called by hearth_sandbox_wait() with each status it observes that differs from the last
 * (the first answer always reports). status is borrowed for the duration of the call. */
typedef void (*hearth_status_fn)(void *userdata, const char *status);

/* What hearth_sandbox_wait() waits for. Zero-initialise, then set target. */
struct hearth_wait {
    const char *target;         /* "running", "paused" or "destroyed" */
    long timeout_ms;            /* overall budget; 0 = no limit */
    long first_poll_ms;         /* polling only: delay before the first plain GET (a 202's
                                   poll_after_ms), or 0 */
    hearth_status_fn on_status; /* may be NULL */
    void *userdata;
};

/* Waits until sandbox id's status is w->target (docs/cli.md §6.2) with the server's long poll
 * (GET /v1/sandboxes/{id}?wait_for=…, docs/api.md §5.10: each request held up to 25 s, answered
 * the moment the status changes). A server without it (no X-Wait-Timed-Out in its answer) is
 * polled instead: after first_poll_ms (capped at 60 s and at the budget), then every 250 ms,
 * the interval growing x1.25 per poll after 5 s up to 2 s; the last poll happens at the
 * deadline. On HEARTH_OK *ret
 * (may be NULL) receives the final SandboxView. Fails fast, with HEARTH_ERR_STATE and
 * reterr->state set, when the sandbox reaches a state it cannot leave towards the target:
 * error, failed, destroying or destroyed (only error and failed when the target is
 * destroyed), or running after pausing while waiting for paused (the snapshot failed).
 * HEARTH_ERR_TIMEOUT when the budget runs out (reterr->state = the last status seen);
 * HEARTH_ERR_INVALID for another target; HEARTH_ERR_ABORTED when the client's progress
 * callback (called at least every 100 ms while sleeping) returns false; a failed GET's own
 * error otherwise. */
HEARTH_EXPORT HEARTH_WUR int hearth_sandbox_wait(hearth_client *c, const char *id,
                                                 const struct hearth_wait *w, hearth_obj **ret,
                                                 struct hearth_error *reterr);

/* ---- delegated access tokens (docs/api.md §3.13) ---- */

/* The four routes of a sandbox's one delegated token (the owner's API key only). create and
 * rotate answer {"token":"hst_…","enabled":true,"created_at",["rotated_at"]}: the only time the
 * plaintext exists, so show it once and do not log it. get answers {"enabled","token_hint",
 * "created_at","rotated_at"?} or {"enabled":false}; delete the same with "enabled":false (also
 * when there was none). create: HEARTH_ERR_REJECTED ("already_exists") when a token exists;
 * rotate: HEARTH_ERR_NOT_FOUND when none does. Neither POST is retried except on 429/503. */
HEARTH_EXPORT HEARTH_WUR int hearth_access_token_create(hearth_client *c, const char *id,
                                                        hearth_obj **ret,
                                                        struct hearth_error *reterr);
HEARTH_EXPORT HEARTH_WUR int hearth_access_token_get(hearth_client *c, const char *id,
                                                     hearth_obj **ret,
                                                     struct hearth_error *reterr);
HEARTH_EXPORT HEARTH_WUR int hearth_access_token_rotate(hearth_client *c, const char *id,
                                                        hearth_obj **ret,
                                                        struct hearth_error *reterr);
HEARTH_EXPORT HEARTH_WUR int hearth_access_token_delete(hearth_client *c, const char *id,
                                                        hearth_obj **ret,
                                                        struct hearth_error *reterr);

/* ---- networking: egress, bandwidth, networks (docs/api.md §2.5, §2.9, §2.10, §3.6–§3.8) ---- */

/* GET /v1/sandboxes/{id}/egress → Egress view {"id","egress":[…]} ("egress" is always present;
 * [] means every destination is allowed). */
HEARTH_EXPORT HEARTH_WUR int hearth_egress_get(hearth_client *c, const char *id, hearth_obj **ret,
                                               struct hearth_error *reterr);
/* PUT /v1/sandboxes/{id}/egress {"egress":[rules[0..n)]} → the stored Egress view (the server
 * lowercases hosts, clears CIDR host bits and drops duplicates). n = 0 (rules may then be NULL)
 * sends [] = allow all. The list replaces the old one; one bad rule gives HEARTH_ERR_REJECTED
 * with nothing stored. A rule that is NULL or not UTF-8 is HEARTH_ERR_INVALID before any
 * request. Idempotent, so retried like any PUT. */
HEARTH_EXPORT HEARTH_WUR int hearth_egress_put(hearth_client *c, const char *id,
                                               const char *const *rules, size_t n,
                                               hearth_obj **ret, struct hearth_error *reterr);
/* GET /v1/sandboxes/{id}/bandwidth → Bandwidth view: quota_bytes, used_bytes, ingress_bytes,
 * remaining_bytes (quota and remaining are -1 when unmetered), capped. */
HEARTH_EXPORT HEARTH_WUR int hearth_bandwidth_get(hearth_client *c, const char *id,
                                                  hearth_obj **ret, struct hearth_error *reterr);
/* POST /v1/sandboxes/{id}/bandwidth/recharge {"add_bytes"} → the updated Bandwidth view (an
 * unmetered sandbox's is unchanged). add_bytes must be 1 ≤ n ≤ 2^50, else HEARTH_ERR_INVALID
 * without a request. Not idempotent: retried only on 429/503. */
HEARTH_EXPORT HEARTH_WUR int hearth_bandwidth_recharge(hearth_client *c, const char *id,
                                                       int64_t add_bytes, hearth_obj **ret,
                                                       struct hearth_error *reterr);
#define HEARTH_RECHARGE_MAX ((int64_t)1 << 50)

/* GET /v1/networks, one page (page may be NULL; its status is ignored) → list of Network
 * (id, name, created_at, member_count; no members). */
HEARTH_EXPORT HEARTH_WUR int hearth_network_list(hearth_client *c, const struct hearth_page *page,
                                                 hearth_list **ret, struct hearth_error *reterr);
/* POST /v1/networks {"name"} → Network (member_count 0). A taken name is HEARTH_ERR_REJECTED
 * with api_code "name_taken"; the per-user quota HEARTH_ERR_FORBIDDEN ("quota_exceeded"). */
HEARTH_EXPORT HEARTH_WUR int hearth_network_create(hearth_client *c, const char *name,
                                                   hearth_obj **ret, struct hearth_error *reterr);
/* GET /v1/networks/{ref} (id or name) → Network with "members": objects of sandbox_id, name,
 * status and ip (when configured). */
HEARTH_EXPORT HEARTH_WUR int hearth_network_get(hearth_client *c, const char *ref,
                                                hearth_obj **ret, struct hearth_error *reterr);
/* DELETE /v1/networks/{ref} → {"ok":true}. While a non-terminal sandbox is a member:
 * HEARTH_ERR_REJECTED, api_code "in_use" (detach the members first). */
HEARTH_EXPORT HEARTH_WUR int hearth_network_delete(hearth_client *c, const char *ref,
                                                   hearth_obj **ret, struct hearth_error *reterr);
/* POST /v1/sandboxes/{id}/networks {"id":net} → {"ok":true} (also when already a member). The
 * sandbox must be running, paused or error; a ninth network is HEARTH_ERR_REJECTED
 * ("limit_reached"); an unknown network HEARTH_ERR_NOT_FOUND. Retried only on 429/503. */
HEARTH_EXPORT HEARTH_WUR int hearth_sandbox_network_attach(hearth_client *c, const char *id,
                                                           const char *net, hearth_obj **ret,
                                                           struct hearth_error *reterr);
/* DELETE /v1/sandboxes/{id}/networks/{net} → {"ok":true}, also when the sandbox was not a
 * member; HEARTH_ERR_NOT_FOUND only when the sandbox or the network does not exist. */
HEARTH_EXPORT HEARTH_WUR int hearth_sandbox_network_detach(hearth_client *c, const char *id,
                                                           const char *net, hearth_obj **ret,
                                                           struct hearth_error *reterr);

/* ---- S3 disks (docs/api.md §3.9, docs/disks.md) ----
 * Disk references (ref, disk) are an id ("disk_…") or a name, sent as given. Credentials are
 * write-only: no answer ever carries them, and the request text that held them is wiped after
 * it was sent. A server without the disk feature answers HEARTH_ERR_UNAVAILABLE with api_code
 * "disks_not_configured". */

/* POST /v1/disks → Disk. body: name, kind ("s3"), config.bucket, config.endpoint,
 * config.region (optional), config.use_path_style (hearth_body_set_map_bool), and
 * credentials.access_key, credentials.secret_key (hearth_body_set_map). A failed bucket check
 * is HEARTH_ERR_REJECTED with api_code "disk_probe_failed" and the reason in the message; the
 * per-user quota HEARTH_ERR_FORBIDDEN ("quota_exceeded"). Retried only on 429/503. */
HEARTH_EXPORT HEARTH_WUR int hearth_disk_create(hearth_client *c, const hearth_body *body,
                                                hearth_obj **ret, struct hearth_error *reterr);
/* GET /v1/disks, one page (page may be NULL; its status is ignored) → list of Disk. */
HEARTH_EXPORT HEARTH_WUR int hearth_disk_list(hearth_client *c, const struct hearth_page *page,
                                              hearth_list **ret, struct hearth_error *reterr);
/* GET /v1/disks/{ref} → Disk (id, name, kind, config, created_at). */
HEARTH_EXPORT HEARTH_WUR int hearth_disk_get(hearth_client *c, const char *ref, hearth_obj **ret,
                                             struct hearth_error *reterr);
/* PATCH /v1/disks/{ref} {"credentials":{"access_key","secret_key"}} → Disk. Both keys must be
 * non-empty (else HEARTH_ERR_INVALID, nothing sent). The server checks the bucket with the new
 * keys first and keeps the old ones when that fails (HEARTH_ERR_REJECTED, "disk_probe_failed"). */
HEARTH_EXPORT HEARTH_WUR int hearth_disk_rotate(hearth_client *c, const char *ref,
                                                const char *access_key, const char *secret_key,
                                                hearth_obj **ret, struct hearth_error *reterr);
/* DELETE /v1/disks/{ref} → {"deleted":true}. While a non-terminal sandbox mounts it:
 * HEARTH_ERR_REJECTED, api_code "in_use". Bucket contents are never touched. */
HEARTH_EXPORT HEARTH_WUR int hearth_disk_delete(hearth_client *c, const char *ref,
                                                hearth_obj **ret, struct hearth_error *reterr);
/* POST /v1/sandboxes/{id}/disks {"disk_id","mount_path","sub_path"?} → {"id","ok":true}.
 * sub_path may be NULL. The mount starts asynchronously: poll hearth_sandbox_disk_list() for
 * mount_status "mounted" or "error". Running sandboxes only (409 invalid_state, as
 * HEARTH_ERR_REJECTED). Retried only on 429/503. */
HEARTH_EXPORT HEARTH_WUR int hearth_sandbox_disk_attach(hearth_client *c, const char *id,
                                                        const char *disk,
                                                        const char *mount_path,
                                                        const char *sub_path, hearth_obj **ret,
                                                        struct hearth_error *reterr);
/* GET /v1/sandboxes/{id}/disks, one page (page may be NULL) → list of SandboxDisk (disk_id,
 * name, kind, config, mount_path, sub_path?, mount_status, mount_error?), by mount_path. */
HEARTH_EXPORT HEARTH_WUR int hearth_sandbox_disk_list(hearth_client *c, const char *id,
                                                      const struct hearth_page *page,
                                                      hearth_list **ret,
                                                      struct hearth_error *reterr);
/* DELETE /v1/sandboxes/{id}/disks/{disk}?mount_path=<escaped> → {"detached":true|false}
 * (false: there was no such mount). mount_path is required (HEARTH_ERR_INVALID when empty). */
HEARTH_EXPORT HEARTH_WUR int hearth_sandbox_disk_detach(hearth_client *c, const char *id,
                                                        const char *disk,
                                                        const char *mount_path,
                                                        hearth_obj **ret,
                                                        struct hearth_error *reterr);

/* ---- templates (docs/api.md §3.10, docs/templates.md) ----
 * Template references (ref) are an id ("tpl_…") or a name, sent as given. Objects are Template
 * views (§2.8). */

/* POST /v1/templates → Template (pending). body: name, dockerfile, and optionally base, context
 * (an id from hearth_template_context_upload_*), start_cmd, ready (one of port, file, command,
 * delay_ms and optionally timeout_seconds: hearth_body_set_map / hearth_body_set_map_int),
 * no_cache. A Dockerfile that breaks a rule is HEARTH_ERR_REJECTED with
 * api_code "bad_dockerfile" and "line N: …" in the message. Retried only on 429/503. */
HEARTH_EXPORT HEARTH_WUR int hearth_template_create(hearth_client *c, const hearth_body *body,
                                                    hearth_obj **ret, struct hearth_error *reterr);
/* GET /v1/templates, one page (page may be NULL; its status is ignored) → list of Template. */
HEARTH_EXPORT HEARTH_WUR int hearth_template_list(hearth_client *c,
                                                  const struct hearth_page *page,
                                                  hearth_list **ret, struct hearth_error *reterr);
/* GET /v1/templates/{ref}[?include=dockerfile] → Template. */
HEARTH_EXPORT HEARTH_WUR int hearth_template_get(hearth_client *c, const char *ref,
                                                 bool with_dockerfile, hearth_obj **ret,
                                                 struct hearth_error *reterr);
/* DELETE /v1/templates/{ref} → {"ok":true}; a pending or building template is cancelled. ret
 * may be NULL. */
HEARTH_EXPORT HEARTH_WUR int hearth_template_delete(hearth_client *c, const char *ref,
                                                    hearth_obj **ret,
                                                    struct hearth_error *reterr);
/* GET /v1/templates/{ref}/logs[?attempt=N] (attempt <= 0: every attempt): the plain log's bytes
 * written to fd. */
HEARTH_EXPORT HEARTH_WUR int hearth_template_logs(hearth_client *c, const char *ref,
                                                  int attempt, int fd,
                                                  struct hearth_error *reterr);

enum hearth_tpl_event_kind {
    HEARTH_TPL_LINE = 1,        /* ts, level, line, attempt */
    HEARTH_TPL_FINAL = 2,       /* status ("ready", "failed", "cancelled"); the last event */
    HEARTH_TPL_UNKNOWN = 3,     /* a well-formed JSON object of another shape */
};
/* One event of a followed build log; everything borrowed for the callback. */
struct hearth_tpl_event {
    enum hearth_tpl_event_kind kind;
    const char *ts;             /* RFC 3339, or "" */
    bool error;                 /* level "error" */
    const char *line;           /* LINE: the text */
    int attempt;
    const char *status;         /* FINAL only */
    const char *raw;            /* the NDJSON line, without '\n' */
    size_t raw_len;
};
/* Return false to stop following (the call then returns HEARTH_ERR_ABORTED; the build goes on). */
typedef bool (*hearth_tpl_event_fn)(void *userdata, const struct hearth_tpl_event *ev);
/* GET /v1/templates/{ref}/logs?follow=true[&attempt=N]: the replay, then live lines, then the
 * final event. ret_status (may be NULL, at least 16 bytes) receives the final status, or ""
 * when the stream ended without one. A malformed line is HEARTH_ERR_PROTOCOL. Never retried;
 * no overall timeout (keep-alive lines come every 15 s). */
HEARTH_EXPORT HEARTH_WUR int hearth_template_follow(hearth_client *c, const char *ref,
                                                    int attempt, hearth_tpl_event_fn on_event,
                                                    void *userdata, char *ret_status,
                                                    struct hearth_error *reterr);
/* POST /v1/template-contexts with a tar archive read from fd (size >= 0: exact Content-Length;
 * < 0: chunked until EOF, e.g. a pipe from tar) → {"id":"ctx_<sha256>","size_bytes"}. Retried
 * (429/503) only when fd is a regular file: the bytes of a pipe are gone once sent. */
HEARTH_EXPORT HEARTH_WUR int hearth_template_context_upload_fd(hearth_client *c, int fd,
                                                               int64_t size, hearth_obj **ret,
                                                               struct hearth_error *reterr);
/* Same from a tar file at path. */
HEARTH_EXPORT HEARTH_WUR int hearth_template_context_upload_path(hearth_client *c,
                                                                 const char *path,
                                                                 hearth_obj **ret,
                                                                 struct hearth_error *reterr);

/* ---- exec ---- */

/* POST /v1/sandboxes/{id}/exec, buffered → {"result":{"stdout","stderr","exit_code",
 * "error"?},"exec_ms"}. body holds cmd, args, stdin, env (docs/api.md §3.4.1). Not bounded by the
 * request timeout; never retried except on 429/503 (nothing ran). */
HEARTH_EXPORT HEARTH_WUR int hearth_exec(hearth_client *c, const char *id,
                                         const hearth_body *body, hearth_obj **ret,
                                         struct hearth_error *reterr);

enum hearth_frame_kind {
    HEARTH_FRAME_STDOUT = 1,    /* data/len: output bytes */
    HEARTH_FRAME_STDERR = 2,
    HEARTH_FRAME_HEARTBEAT = 3,
    HEARTH_FRAME_ERROR = 4,     /* data/len: the message */
    HEARTH_FRAME_EXIT = 5,      /* exit_code; always the last frame of a complete stream */
    HEARTH_FRAME_UNKNOWN = 6,   /* a well-formed JSON object with no known key */
};

/* One NDJSON frame of an exec stream. Everything is borrowed for the duration of the callback. */
struct hearth_frame {
    enum hearth_frame_kind kind;
    const char *data;       /* decoded string for STDOUT, STDERR, ERROR; else NULL */
    size_t len;
    int exit_code;          /* EXIT only */
    const char *line;       /* the raw line, without its '\n' */
    size_t line_len;
};

/* Return false to stop the stream (the call then returns HEARTH_ERR_ABORTED). */
typedef bool (*hearth_frame_fn)(void *userdata, const struct hearth_frame *f);

/* POST /v1/sandboxes/{id}/exec?stream=true. Each NDJSON line is delivered to on_frame as it
 * arrives, split correctly whatever the network chunking. On HEARTH_OK *ret_exit_code holds
 * the exit frame's code, or -1 when the stream ended without one (connection lost). A malformed
 * line ends the call with HEARTH_ERR_PROTOCOL. Never retried. */
HEARTH_EXPORT HEARTH_WUR int hearth_exec_stream(hearth_client *c, const char *id,
                                                const hearth_body *body, hearth_frame_fn on_frame,
                                                void *userdata, int *ret_exit_code,
                                                struct hearth_error *reterr);

/* ---- files ---- */

/* PUT /v1/sandboxes/{id}/files?path=remote_path, body read from fd. size >= 0 sends a
 * Content-Length and must be exact; size < 0 sends the body chunked until EOF. A regular file
 * (seekable fd) is retried from its starting offset; anything else never is. *ret receives
 * {"path","bytes"} (ret may be NULL). */
HEARTH_EXPORT HEARTH_WUR int hearth_file_upload_fd(hearth_client *c, const char *id,
                                                   const char *remote_path, int fd, int64_t size,
                                                   hearth_obj **ret, struct hearth_error *reterr);
/* Same, from a local file path (its size is sent as Content-Length). */
HEARTH_EXPORT HEARTH_WUR int hearth_file_upload_path(hearth_client *c, const char *id,
                                                     const char *remote_path,
                                                     const char *local_path, hearth_obj **ret,
                                                     struct hearth_error *reterr);
/* GET /v1/sandboxes/{id}/files?path=remote_path, the bytes written to fd as they arrive
 * (any size). *ret_bytes (may be NULL) receives the count written. Retried only while nothing
 * has been written to fd. A short body (fewer bytes than Content-Length) is HEARTH_ERR_PROTOCOL. */
HEARTH_EXPORT HEARTH_WUR int hearth_file_download_fd(hearth_client *c, const char *id,
                                                     const char *remote_path, int fd,
                                                     uint64_t *ret_bytes,
                                                     struct hearth_error *reterr);

/* GET /v1/sandboxes/{id}/events (a hearth extension): the events with seq > after (0: from the
 * oldest kept), at most limit (0: the server's 100; at most 256), oldest first, as
 * {"id","events":[{"seq","at","kind","actor","reason","detail"}…],"next_after"}. */
HEARTH_EXPORT HEARTH_WUR int hearth_sandbox_events(hearth_client *c, const char *id,
                                                   int64_t after, int limit, hearth_obj **ret,
                                                   struct hearth_error *reterr);
/* GET /v1/sandboxes/{id}/logs (a hearth extension): the console log's bytes written to fd as
 * they arrive; tail >= 0 keeps only its last tail lines; with follow, appended bytes keep
 * coming until the sandbox stops (never retried, no overall timeout). */
HEARTH_EXPORT HEARTH_WUR int hearth_sandbox_logs(hearth_client *c, const char *id, bool follow,
                                                 int64_t tail, int fd,
                                                 struct hearth_error *reterr);
/* ---- managed processes (docs/api.md §3.11) ----
 * pid is a process_id ("proc_…"). Objects are ManagedProcess views (§2.13). */

/* Sets body.pty = {"rows":rows,"cols":cols} (a process on a pseudo-terminal). */
HEARTH_EXPORT HEARTH_WUR int hearth_body_set_pty(hearth_body *b, int rows, int cols);
/* POST /v1/sandboxes/{id}/processes with body (cmd, args, cwd, env, pty) → ManagedProcess.
 * Never retried: a retry could start the command twice. */
HEARTH_EXPORT HEARTH_WUR int hearth_process_start(hearth_client *c, const char *id,
                                                  const hearth_body *body, hearth_obj **ret,
                                                  struct hearth_error *reterr);
/* GET …/processes → {"processes":[ManagedProcess…]}, newest first. */
HEARTH_EXPORT HEARTH_WUR int hearth_process_list(hearth_client *c, const char *id,
                                                 hearth_obj **ret, struct hearth_error *reterr);
/* GET …/processes/{pid} → ManagedProcess. */
HEARTH_EXPORT HEARTH_WUR int hearth_process_get(hearth_client *c, const char *id, const char *pid,
                                                hearth_obj **ret, struct hearth_error *reterr);
/* POST …/input: len bytes (at most 1 MiB) to stdin or the terminal → {"input_seq"}. Never
 * retried. ret may be NULL. */
HEARTH_EXPORT HEARTH_WUR int hearth_process_input(hearth_client *c, const char *id,
                                                  const char *pid, const void *data, size_t len,
                                                  hearth_obj **ret, struct hearth_error *reterr);
/* POST …/stdin/close (idempotent). */
HEARTH_EXPORT HEARTH_WUR int hearth_process_close_stdin(hearth_client *c, const char *id,
                                                        const char *pid,
                                                        struct hearth_error *reterr);
/* POST …/resize {"rows","cols"} (1..1000 each). */
HEARTH_EXPORT HEARTH_WUR int hearth_process_resize(hearth_client *c, const char *id,
                                                   const char *pid, int rows, int cols,
                                                   struct hearth_error *reterr);
/* POST …/signal {"signal"}: "SIGTERM", "SIGINT", … */
HEARTH_EXPORT HEARTH_WUR int hearth_process_signal(hearth_client *c, const char *id,
                                                   const char *pid, const char *signal,
                                                   struct hearth_error *reterr);
/* GET …/wait?scope=leader|tree&timeout_ms= (timeout_ms < 0: the server's 30 s) → the
 * ManagedProcess, whether or not the condition held (check leader_exited / tree_exited). */
HEARTH_EXPORT HEARTH_WUR int hearth_process_wait(hearth_client *c, const char *id,
                                                 const char *pid, bool tree, int64_t timeout_ms,
                                                 hearth_obj **ret, struct hearth_error *reterr);
/* DELETE …/processes/{pid}?grace_ms= (grace_ms < 0: the server's 1 s) → the final
 * ManagedProcess. */
HEARTH_EXPORT HEARTH_WUR int hearth_process_delete(hearth_client *c, const char *id,
                                                   const char *pid, int64_t grace_ms,
                                                   hearth_obj **ret, struct hearth_error *reterr);

enum hearth_proc_event_kind {
    HEARTH_PROC_DATA = 1,       /* seq, stream, data/len (decoded bytes) */
    HEARTH_PROC_EXIT = 2,       /* exit_code, signal (NULL when not killed by one); last */
    HEARTH_PROC_HEARTBEAT = 3,
    HEARTH_PROC_GAP = 4,        /* output was evicted: oldest_available_seq, message */
    HEARTH_PROC_ERROR = 5,      /* the stream broke (message); no exit follows */
    HEARTH_PROC_UNKNOWN = 6,    /* a well-formed event of another type */
};

/* One connect event; everything borrowed for the callback. */
struct hearth_proc_event {
    enum hearth_proc_event_kind kind;
    int64_t seq;
    const char *stream;         /* "stdout", "stderr" or "pty" */
    const uint8_t *data;
    size_t len;
    int exit_code;
    const char *signal;
    int64_t oldest_available_seq;
    const char *message;
    const char *line;           /* the raw NDJSON line, without '\n' */
    size_t line_len;
};

/* Return false to stop (the call then returns HEARTH_ERR_ABORTED; the process goes on). */
typedef bool (*hearth_proc_event_fn)(void *userdata, const struct hearth_proc_event *ev);

/* GET …/connect?after=&follow=: replays retained output with seq > after, then (follow) live
 * output until the process ends. *ret_exit_code (may be NULL): the exit event's code, or -1
 * when the stream ended without one. A malformed event is HEARTH_ERR_PROTOCOL. Never
 * retried. */
HEARTH_EXPORT HEARTH_WUR int hearth_process_connect(hearth_client *c, const char *id,
                                                    const char *pid, int64_t after, bool follow,
                                                    hearth_proc_event_fn on_event, void *userdata,
                                                    int *ret_exit_code,
                                                    struct hearth_error *reterr);
/* ---- shell and tunnel (docs/api.md §3.12) ---- */

/* An upgraded connection: raw bytes both ways after the 101. One per call, on a connection of
 * its own (never the client's keep-alive one). */
typedef struct hearth_conn hearth_conn;

/* POST /v1/sandboxes/{id}/tunnel/{port} (port 1-65535, else HEARTH_ERR_INVALID): on HEARTH_OK
 * *ret is a byte pipe to 127.0.0.1:port in the guest. A closed port is HEARTH_ERR_UNAVAILABLE
 * (502) with api_code "port_unreachable". */
HEARTH_EXPORT HEARTH_WUR int hearth_tunnel_open(hearth_client *c, const char *id, unsigned port,
                                                hearth_conn **ret, struct hearth_error *reterr);
/* POST /v1/sandboxes/{id}/shell: on HEARTH_OK *ret carries frames to the shell (input, resize:
 * hearth_shell_frame_head()) and its raw terminal output back. */
HEARTH_EXPORT HEARTH_WUR int hearth_shell_open(hearth_client *c, const char *id,
                                               hearth_conn **ret, struct hearth_error *reterr);
/* The socket, for poll(). Check hearth_conn_buffered() before waiting for it to be readable:
 * bytes that came with the 101 are held in the handle. */
HEARTH_EXPORT int hearth_conn_fd(const hearth_conn *k);
HEARTH_EXPORT bool hearth_conn_buffered(const hearth_conn *k);
/* Non-blocking: bytes moved, 0 (recv: the server closed its side), -EAGAIN, or -ECONNRESET /
 * -EPIPE. */
HEARTH_EXPORT long hearth_conn_recv(hearth_conn *k, void *p, size_t n);
HEARTH_EXPORT long hearth_conn_send(hearth_conn *k, const void *p, size_t n);
/* Sends all n bytes, waiting for room (30 s at most). 0 or -errno. */
HEARTH_EXPORT int hearth_conn_send_all(hearth_conn *k, const void *p, size_t n);
/* Half-close: the server sees our EOF and still sends (plain http only; over https the
 * connection's TLS layer is left as it is). 0 or -errno. */
HEARTH_EXPORT int hearth_conn_shutdown_write(hearth_conn *k);
/* Closes the connection; NULL is fine. */
HEARTH_EXPORT void hearth_conn_close(hearth_conn *k);
/* The 5-byte head of a shell frame (type 0 input, 1 resize; length big-endian). Returns 5. */
#define HEARTH_SHELL_INPUT 0
#define HEARTH_SHELL_RESIZE 1
HEARTH_EXPORT size_t hearth_shell_frame_head(uint8_t head[5], uint8_t type, uint32_t len);

#ifdef __cplusplus
}
#endif
