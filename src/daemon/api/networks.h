/* SPDX-License-Identifier: MIT */
/* networks.h: private networks (docs/api.md §3.8) and a sandbox's memberships. */
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
