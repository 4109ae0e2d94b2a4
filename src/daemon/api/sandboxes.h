/* SPDX-License-Identifier: MIT */
/* sandboxes.h: what every route addressed to one sandbox starts with: its {id} path segment
 * and the caller's row (404 when it is someone else's). The routes are in routes.h. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "daemon/store/store.h"

struct api_call;

/* The {id} path segment (index i) in canonical form into out; false (404 answered) when it
 * cannot be a sandbox id. */
bool api_sandbox_path_id(const struct api_call *call, unsigned i, char out[STORE_ID_SIZE]);
/* The {id} segment 2 of a caller's sandbox ("ownership first": a foreign or unknown id
 * answers 404 before the body is looked at); false when it answered. */
bool api_sandbox_owned(const struct api_call *call, char id[STORE_ID_SIZE]);
/* Reads the caller's sandbox into sb (release it); false when it answered (404, 500). */
bool api_sandbox_load(const struct api_call *call, const char *id, struct store_sandbox *sb);
/* Adds "paused_by" and "pause_reason" (the newest "paused" event's actor and reason) to view
 * while sb is paused (sandbox_logs.c; docs/api.md §2.1). Nothing on a store error. */
void api_sandbox_view_pause_cause(const struct api_call *call, const struct store_sandbox *sb,
                                  json_t *view);
