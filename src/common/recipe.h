/* SPDX-License-Identifier: MIT */
/* recipe.h: the cache key of an image recipe. A recipe is a set of named inputs (the files of
 * the recipe, the versions of the packages it builds from, the agent binary it embeds). The key
 * is a SHA-256 over the inputs sorted by name, each framed as name, NUL, decimal length, NUL,
 * bytes; so renaming, reordering on the command line or moving bytes between inputs are all
 * told apart, and listing the same inputs in another order gives the same key. */
#pragma once

#include <stddef.h>

#define RECIPE_MAX_INPUTS 256
#define RECIPE_KEY_HEX 65 /* 64 hex digits and a NUL */

struct recipe_input {
    const char *name;   /* label the input is hashed under; unique within a recipe */
    const void *data;   /* bytes of a literal input, or NULL when path is set */
    size_t len;
    const char *path;   /* a file whose contents are the input, or NULL */
};

/* Computes the key of n inputs into ret_hex. Returns 0; -EINVAL for no inputs, too many, a
 * missing or duplicate name, or an input with both or neither of data and path; -ENOENT (or the
 * open/read errno) for an unreadable file, whose name goes to *reterr_name when given. */
__attribute__((warn_unused_result))
int recipe_key(const struct recipe_input *in, size_t n, char ret_hex[RECIPE_KEY_HEX],
               const char **reterr_name);
