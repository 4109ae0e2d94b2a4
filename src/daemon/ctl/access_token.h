/* SPDX-License-Identifier: MIT */
/* access_token.h: a sandbox's delegated access token (docs/api.md §3.13): at most one per
 * sandbox, issued and rotated by its owner, shown in plaintext only in the answer that made it,
 * stored as a hash, revoked at once. Checking a presented token is credential.h's. Runs on the
 * loop thread; no HTTP. */
#pragma once

#include <stdbool.h>

#include "daemon/store/store.h"

struct ctl;
struct ctl_caller;
struct ctl_error;

/* Issues the token of who's sandbox id: the record in *ret and the plaintext in ret_secret (the
 * caller sends it once and wipes it). CTL_E_NOT_FOUND; CTL_E_INVALID_STATE in destroying,
 * destroyed and failed (§2.14.3); CTL_E_EXISTS when it has a token already. */
__attribute__((warn_unused_result))
int ctl_access_token_create(struct ctl *c, const struct ctl_caller *who, const char *id,
                            struct store_token *ret, char ret_secret[SBTOKEN_LEN + 1],
                            struct ctl_error *e);
/* Replaces the secret (the old one fails from now on); as create, but CTL_E_NOT_FOUND "access
 * token not found" when it has none. */
__attribute__((warn_unused_result))
int ctl_access_token_rotate(struct ctl *c, const struct ctl_caller *who, const char *id,
                            struct store_token *ret, char ret_secret[SBTOKEN_LEN + 1],
                            struct ctl_error *e);
/* The token's record (*ret_enabled false and *ret zeroed when there is none), in any state.
 * CTL_E_NOT_FOUND when the sandbox is not who's. */
__attribute__((warn_unused_result))
int ctl_access_token_get(struct ctl *c, const struct ctl_caller *who, const char *id,
                         struct store_token *ret, bool *ret_enabled, struct ctl_error *e);
/* Revokes it, in any state; 0 also when there was none (*ret zeroed then), else the revoked
 * record in *ret. CTL_E_NOT_FOUND when the sandbox is not who's. */
__attribute__((warn_unused_result))
int ctl_access_token_delete(struct ctl *c, const struct ctl_caller *who, const char *id,
                            struct store_token *ret, struct ctl_error *e);
