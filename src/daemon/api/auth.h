/* SPDX-License-Identifier: MIT */
/* auth.h: who is calling (docs/api.md §1.3). Picks the credential header (the first non-empty of
 * X-Auth-Token, X-Access-Token, X-Api-Key; no fallback) and looks the key up in the store. */
#pragma once

#include <stdbool.h>

#include "daemon/store/store.h"

struct api_ctx;
struct http_request;

struct api_auth {
    char key_id[STORE_ID_SIZE];
    char user_id[STORE_USER_SIZE];
    bool admin;
    char sandbox_id[STORE_ID_SIZE]; /* a delegated token (docs/api.md §3.13): its one sandbox */
};

/* Returns 0 with *ret filled; -ENOKEY when no credential was sent, -EACCES for a malformed,
 * unknown or revoked one (both → 401; only -EACCES counts as a failed try for the limiter);
 * -EIO or another -errno when the store failed (→ 500). Records the key's use. */
__attribute__((warn_unused_result))
int api_auth_check(struct api_ctx *ctx, struct http_request *req, struct api_auth *ret);
/* The same, but the credential may also be the query parameter api_key when no header carries
 * one: the WebSocket shell only (docs/api.md §3.12.3, §5.4), as browsers cannot set headers. */
__attribute__((warn_unused_result))
int api_auth_check_query(struct api_ctx *ctx, struct http_request *req, struct api_auth *ret);
/* True when the request carries a credential (a header, or with query the api_key parameter):
 * the limiter answers 429 before checking one (docs/ingress-ssh.md "Limits"). */
bool api_auth_present(struct http_request *req, bool query);
