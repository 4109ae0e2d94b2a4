/* SPDX-License-Identifier: MIT */
/* sandbox_view.h: a store row as the API shows it: SandboxView (docs/api.md §2.1) and
 * CreateSandboxResponse (§2.2). Absent optionals are omitted, never null; envs are key names
 * only; host-side fields never appear. */
#pragma once

#include <jansson.h>

struct ctl_settings;
struct store_sandbox;

/* A new object (caller owns), or NULL when out of memory. */
json_t *api_sandbox_view(const struct ctl_settings *set, const struct store_sandbox *sb);
/* The view plus bandwidth_quota_bytes. */
json_t *api_sandbox_create_view(const struct ctl_settings *set, const struct store_sandbox *sb);
