/* SPDX-License-Identifier: MIT */
/* chunk.h: the unit of snapshots on S3 (docs/snapshots.md "Snapshots on S3"): a file is cut
 * into fixed chunks of SNAP_CHUNK_SIZE plain bytes; an all-zero chunk is a hole and never
 * stored; any other is stored zstd-compressed under chunks/<SHA-256 of its plain bytes>, so
 * equal chunks of any snapshot (forks, goldens, templates) are one object. Pure: no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNAP_CHUNK_SIZE (4u << 20)
#define SNAP_SHA_HEX 65                   /* 64 hex digits and the NUL */
#define SNAP_CHUNK_KEY_SIZE (7 + SNAP_SHA_HEX) /* "chunks/" + hex */

/* Lowercase hex SHA-256 of p[0..n). false only when the digest failed. */
bool snap_sha256_hex(const void *p, size_t n, char out[SNAP_SHA_HEX]);
/* Whether s is exactly 64 lowercase hex digits. */
bool snap_sha_hex_ok(const char *s);
/* True when every byte of p[0..n) is zero. */
bool snap_chunk_is_zero(const void *p, size_t n);
/* "chunks/<hex>" into out. */
void snap_chunk_key(const char *hex, char out[SNAP_CHUNK_KEY_SIZE]);
/* Compresses p[0..n) (zstd level 3) into a new buffer (*ret, free()). 0, -ENOMEM, -EIO. */
__attribute__((warn_unused_result))
int snap_chunk_compress(const void *p, size_t n, uint8_t **ret, size_t *ret_len);
/* Decompresses a stored chunk into out (cap bytes): 0 with *ret_len, or -EBADMSG (not zstd,
 * corrupt, or larger than cap). Never writes past cap. */
__attribute__((warn_unused_result))
int snap_chunk_decompress(const void *p, size_t n, uint8_t *out, size_t cap, size_t *ret_len);
