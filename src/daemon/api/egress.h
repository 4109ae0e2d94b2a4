/* SPDX-License-Identifier: MIT */
/* egress.h: GET/PUT …/egress (spec/API.md §3.6) and GET …/bandwidth, POST …/bandwidth/recharge
 * (§3.7). */
#pragma once

#include <jansson.h>

struct api_call;
struct store_sandbox;

void api_sandbox_egress_get(struct api_call *call);
void api_sandbox_egress_put(struct api_call *call);
void api_sandbox_bandwidth_get(struct api_call *call);
void api_sandbox_bandwidth_recharge(struct api_call *call);
/* The Bandwidth view (§2.9) of a row. */
json_t *api_bandwidth_view(const struct store_sandbox *sb);
