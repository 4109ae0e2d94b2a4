/* SPDX-License-Identifier: MIT */
/* keys.h: API keys as operations of the API (docs/api.md §5.1): a page of the active keys,
 * create (the secret goes out once and only its hash is stored), revoke (at once; never the last
 * active admin key). That only an admin key may call them is the route table's rule (api/
 * router.c, API_AUTH_ADMIN); the rules on values are here. `hearthd keys` on the host uses the
 * store directly. Runs on the loop thread; no HTTP. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/store/store.h"

struct ctl;
struct ctl_error;

/* A key's label: at most this many characters (UTF-8 code points), none a control character. */
#define CTL_KEY_LABEL_MAX 200

/* True when s[0..len) is a usable label: valid UTF-8, no NUL or other control character (C0,
 * DEL, C1), at most CTL_KEY_LABEL_MAX characters. "" is fine. */
bool ctl_key_label_valid(const char *s, size_t len);

/* One page of the active keys of user_id (NULL: every user's), newest first, into *ret (the
 * caller free()s it), *ret_n and the count of all that match into *ret_total. CTL_E_INVALID
 * field "user" for a malformed user name; CTL_E_INTERNAL. */
__attribute__((warn_unused_result))
int ctl_key_list(struct ctl *c, const char *user_id, size_t limit, size_t offset,
                 struct store_key **ret, size_t *ret_n, uint64_t *ret_total, struct ctl_error *e);
/* Creates a key of user_id (the user too, if new; the name rule is the store's,
 * ^[a-z0-9][a-z0-9_-]{0,62}$) with label (NULL: none) and admin, into *ret and the plaintext
 * into ret_secret (the caller sends it once and wipes it). CTL_E_INVALID field "user" or
 * "label"; CTL_E_INTERNAL. */
__attribute__((warn_unused_result))
int ctl_key_create(struct ctl *c, const char *user_id, const char *label, bool admin,
                   struct store_key *ret, char ret_secret[APIKEY_LEN + 1], struct ctl_error *e);
/* Revokes key ref (`key_<ULID>`, either case) for every later request, the caller's own key
 * included; its canonical id into ret_id and the time into *ret_revoked_at. CTL_E_NOT_FOUND
 * "key not found" for a malformed, unknown or already revoked id; CTL_E_LAST_ADMIN_KEY when it
 * is the last active admin key (nothing changed); CTL_E_INTERNAL. */
__attribute__((warn_unused_result))
int ctl_key_revoke(struct ctl *c, const char *ref, size_t ref_len, char ret_id[STORE_ID_SIZE],
                   int64_t *ret_revoked_at, struct ctl_error *e);
