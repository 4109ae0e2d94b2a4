/* SPDX-License-Identifier: MIT */
/* oci_tree.h: file operations inside an unpacked OCI image's tree, which is hostile (its
 * symlinks may point anywhere, even absolute at the host's /etc): every path under the tree is
 * resolved with openat2(RESOLVE_IN_ROOT), as if the tree were /, so nothing is written outside
 * it (docs/templates.md "OCI bases"). Plus the tree's size and its removal. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Opens the tree's root (O_PATH); -errno. */
int oci_tree_open(const char *root);
/* mkdir -p of rel ("var/tmp") under the tree; the last component gets mode when it is made.
 * An existing non-directory on the path: -ENOTDIR. */
int oci_tree_mkdirs(int rootfd, const char *rel, mode_t mode);
/* chmod of an existing directory rel (mode with the sticky bit, say). */
int oci_tree_chmod_dir(int rootfd, const char *rel, mode_t mode);
/* Writes rel (in an existing directory) with len bytes and mode, replacing what was there
 * (a symlink is replaced, never followed). */
int oci_tree_write(int rootfd, const char *rel, const void *data, size_t len, mode_t mode);
/* Copies the host file src into the tree as rel, like oci_tree_write(). */
int oci_tree_copy(int rootfd, const char *rel, const char *src, mode_t mode);
/* Whether rel exists in the tree, symlinks followed inside the tree. */
bool oci_tree_exists(int rootfd, const char *rel);
/* Bytes the tree at path takes (allocated blocks, symlinks not followed): ret_bytes; -errno. */
int oci_tree_size(const char *path, uint64_t *ret_bytes);
/* rm -rf path (no symlink followed, no other file system entered); missing is fine. */
int oci_tree_remove(const char *path);
