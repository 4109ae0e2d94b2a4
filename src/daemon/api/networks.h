/* SPDX-License-Identifier: MIT */
/* networks.h: private networks (spec/API.md §3.8) and a sandbox's memberships. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct api_call;
struct api_ctx;
struct store_network;

void api_network_list(struct api_call *call);
void api_network_create(struct api_call *call);
void api_network_get(struct api_call *call);
void api_network_delete(struct api_call *call);
void api_sandbox_network_attach(struct api_call *call);
void api_sandbox_network_detach(struct api_call *call);

/* A network name (§1.9): ^[a-z0-9][a-z0-9-]{0,62}$, not beginning with net-. */
bool api_network_name_valid(const char *s, size_t len);
/* Resolves an id (case-insensitive ULID) or a live name of the user's networks. 0 or -ENOENT. */
int api_network_resolve(struct api_ctx *ctx, const char *user_id, const char *ref,
                        struct store_network *ret);
