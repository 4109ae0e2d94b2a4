/* SPDX-License-Identifier: MIT */
/* upgrade_check.h: the checks every upgrade route makes before it answers 101 (docs/api.md
 * §1.13): the Upgrade header names the route's protocol (else 426 upgrade_required) and the
 * request has no body (else 400); and, for the sandbox's upgrade routes, the sandbox in the
 * path is the caller's and running. Shared by shell.c, shell_ws.c and tunnel.c. */
#pragma once

#include <stdbool.h>

#include "daemon/store/store.h"

struct api_call;

/* True when the Upgrade header lists token (case-insensitive; a comma-separated list and
 * "token/version" forms are accepted). */
bool api_upgrade_names(const struct api_call *call, const char *token);
/* True when call may be upgraded to token; otherwise the 426 or 400 has been answered. */
bool api_upgrade_check(const struct api_call *call, const char *token);
/* The checks of a sandbox's upgrade route, in the order the API answers them: the sandbox id
 * in the path (404), the caller's running sandbox (ctl_sandbox_stream_check(): 404, 409, 503),
 * then api_upgrade_check(token). True with the canonical id in id; otherwise answered. */
bool api_upgrade_sandbox(struct api_call *call, const char *token, char id[STORE_ID_SIZE]);
