/* SPDX-License-Identifier: MIT */
/* template_view.h: a template row as the API shows it (docs/api.md §2.8, with the hearth
 * extensions attempt, error, context, start_cmd, ready, no_cache), and the {ref} path segment
 * every template route starts from. Absent optionals are omitted, never null. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

struct api_call;
struct store_template;

/* Room for a {ref}: longer segments cannot name a template (an id or a name is shorter). */
#define API_TEMPLATE_REF_SIZE 80

/* A new object (caller owns), or NULL when out of memory; dockerfile only when asked and read. */
json_t *api_template_view(const struct store_template *t, bool with_dockerfile);
/* Path segment 2 of call into ref: false (404 "template not found" answered) when it cannot
 * name a template. */
bool api_template_ref(struct api_call *call, char ref[API_TEMPLATE_REF_SIZE]);
