/* SPDX-License-Identifier: MIT */
/* json_text.h: a JSON value handed over to be sent as compact text, for the two ends of the
 * guest protocol (agent/agent.c, daemon/host/agent_client.c). */
#pragma once

#include <jansson.h>

/* Takes the reference to j (NULL allowed) and returns its compact text (free() it), or NULL
 * when j is NULL or memory ran out. */
char *json_text_take(json_t *j);
