/* SPDX-License-Identifier: MIT */
/* b64.h: standard base64 with padding (RFC 4648 §4), strict both ways: the managed-process
 * routes carry output and input bytes in it (docs/api.md §3.11), hearthd and libhearth share
 * it. Pure: no allocation, no I/O. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Encoded size of n bytes (without a NUL). */
#define B64_ENC_LEN(n) ((((n) + 2) / 3) * 4)
/* Decoded size bound of n characters. */
#define B64_DEC_MAX(n) (((n) / 4) * 3)

/* Encodes n bytes of p into out (B64_ENC_LEN(n) + 1 bytes: NUL-terminated). Returns the length. */
size_t b64_encode(const uint8_t *p, size_t n, char *out);
/* Decodes len characters of s into out (B64_DEC_MAX(len) bytes). Rejects a length that is not a
 * multiple of 4, characters outside the alphabet (whitespace too), '=' anywhere but the last
 * one or two places, and non-zero bits under the padding. Returns the byte count or -EINVAL. */
ssize_t b64_decode(const char *s, size_t len, uint8_t *out);
