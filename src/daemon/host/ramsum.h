/* SPDX-License-Identifier: MIT */
/* ramsum.h: the checksum of a snapshot's RAM file (docs/snapshots.md "Durability"): a digest
 * that a torn, truncated or overwritten RAM file fails, cheap enough for every pause because it
 * reads only the file's data extents, never its holes. */
#pragma once

#include <stdint.h>

#define RAMSUM_HEX 33 /* 32 hex digits (XXH3-128) and the NUL */

/* Digest of the RAM file at fd (read with pread; the offset is not used): the file's size, then,
 * for every 1 MiB chunk whose content is not all zero bytes, its index and its XXH3-64. A hole
 * and a chunk of written zeros count the same, so a copy that changes the sparse layout keeps
 * the digest. *ret_data_bytes (optional) is how much was read. 0, or -errno. */
__attribute__((warn_unused_result))
int ramsum_fd(int fd, char hex[RAMSUM_HEX], uint64_t *ret_data_bytes);
/* The same for a path. */
__attribute__((warn_unused_result))
int ramsum_file(const char *path, char hex[RAMSUM_HEX], uint64_t *ret_data_bytes);
