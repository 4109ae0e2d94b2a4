/* SPDX-License-Identifier: MIT */
/* labels.h: host labels, "k=v,k2=v2" (the host_labels config value, docs/scale-out.md "Hosts"):
 * parsing into a canonical form and looking a key up. Node selectors match against them
 * (daemon/ctl/placement.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Parses "k=v,k2=v2" into its canonical form: pairs sorted by key, keys [A-Za-z0-9._/-]{1,63},
 * values [A-Za-z0-9._-]{0,63}, at most 32 pairs, no repeated key; spaces around pairs are
 * dropped. 0, or -EINVAL with *why, -ENAMETOOLONG when the result does not fit out. */
int labels_canonical(const char *in, char *out, size_t size, const char **why);

/* True when s is a valid label key (value false) or value (value true). */
bool labels_token_ok(const char *s, bool value);

/* The value of key in canonical labels (not NUL-terminated: *ret_len bytes), or NULL. */
const char *labels_value(const char *labels, const char *key, size_t *ret_len);
