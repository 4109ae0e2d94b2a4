/* SPDX-License-Identifier: MIT */
/* long_poll.h: requests that wait for a status (docs/api.md §5.10): the long polls of
 * GET /v1/sandboxes/{id}?wait_for= and GET /v1/templates/{ref}?wait_for=, and the short hold of
 * pause and resume answers. */
#pragma once

#include <stdbool.h>

struct api_call;

#define API_WAIT_MAX_MS 60000      /* timeout_ms's upper bound */
#define API_WAIT_DEFAULT_MS 30000  /* timeout_ms when wait_for comes alone */

/* GET /v1/sandboxes/{id} with wait_for (and timeout_ms): answers now or later, and returns true;
 * false when the request has no wait_for (nor timeout_ms): the plain GET answers. */
bool api_sandbox_wait_get(struct api_call *call);
/* GET /v1/templates/{ref} the same way; with_dockerfile as ?include=dockerfile asked. */
bool api_template_wait_get(struct api_call *call, bool with_dockerfile);
/* The answer of pause and resume once the operation started: the view with 200 when the row is
 * settled (at once, or within config lifecycle_hold_ms, default 250: the official SDK's first
 * poll comes at once and its next 250 ms later), else 202 with X-Poll-After: 1. */
void api_sandbox_reply_lifecycle(const struct api_call *call, const char *id);
