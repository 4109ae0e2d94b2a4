/* SPDX-License-Identifier: MIT */
/* sbname.h: sandbox names and the guest hostname derived from them (docs/api.md §1.9). A name
 * matches ^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$; its hostname is the name lowercased with `_` and `.`
 * replaced by `-`, and names are unique per user by that hostname, so `My_Box` and `my-box`
 * collide. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define SBNAME_MAX 63

/* True when s[0..len) is a valid sandbox name (an embedded NUL makes it invalid). */
bool sbname_valid(const char *s, size_t len);

/* Writes the hostname of name and a NUL into out: ASCII letters lowercased, `_` and `.` made `-`,
 * every other byte kept, so the mapping is total and the store can apply it to whatever it holds.
 * Does not validate (use sbname_valid()). Returns 0, -EINVAL for an empty or NULL name,
 * -ENAMETOOLONG past SBNAME_MAX bytes (out is then an empty string). */
__attribute__((warn_unused_result))
int sbname_hostname(const char *name, char out[SBNAME_MAX + 1]);
