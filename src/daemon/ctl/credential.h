/* SPDX-License-Identifier: MIT */
/* credential.h: one check for every credential hearthd accepts (docs/api.md §1.3, §3.13): an
 * API key (`hk_…`, a user's) or a delegated sandbox token (`hst_…`, good for one sandbox). The
 * API (api/auth.c), the ingress proxy (private ingress) and the SSH gateway (password login)
 * all call it, so a revoked key or token stops working everywhere at once. Only SHA-256 hashes
 * are stored and compared (in constant time); the plaintext is never logged or kept. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "daemon/store/store.h"

struct ctl;

struct ctl_credential {
    char key_id[STORE_ID_SIZE];     /* the API key's id; for a token, "" */
    char user_id[STORE_USER_SIZE];  /* whose: the key's user, or the token's sandbox owner */
    bool admin;                     /* an admin API key (never a token) */
    char sandbox_id[STORE_ID_SIZE]; /* a delegated token: the one sandbox it opens; else "" */
};

/* Checks value[0..len) (from a header, a password prompt, …). 0 with *ret filled; -EACCES for
 * a malformed, unknown or revoked credential; another -errno when the store failed. Records an
 * API key's last use. */
__attribute__((warn_unused_result))
int ctl_credential_check(struct ctl *c, const char *value, size_t len,
                         struct ctl_credential *ret);
