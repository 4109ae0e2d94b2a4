/* SPDX-License-Identifier: MIT */
/* upgrade_check.h: the checks every upgrade route makes before it answers 101 (docs/api.md
 * §1.13): the Upgrade header names the route's protocol (else 426 upgrade_required) and the
 * request has no body (else 400). Shared by shell.c and tunnel.c. */
#pragma once

#include <stdbool.h>

struct api_call;

/* True when the Upgrade header lists token (case-insensitive; a comma-separated list and
 * "token/version" forms are accepted). */
bool api_upgrade_names(const struct api_call *call, const char *token);
/* True when call may be upgraded to token; otherwise the 426 or 400 has been answered. */
bool api_upgrade_check(const struct api_call *call, const char *token);
