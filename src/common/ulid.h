/* SPDX-License-Identifier: MIT */
/* ulid.h: ULIDs (48-bit millisecond timestamp + 80 random bits) as 26 Crockford base32
 * characters, uppercase. Used for request ids (`req_<ULID>`) and resource ids. */
#pragma once

#include <stdint.h>

#define ULID_LEN 26

/* Writes a fresh ULID (CLOCK_REALTIME milliseconds, getrandom() bits) and a NUL into out.
 * Returns 0 or -errno from getrandom(); out is untouched on failure. */
__attribute__((warn_unused_result)) int ulid_generate(char out[ULID_LEN + 1]);
/* Encodes a timestamp (only the low 48 bits are used) and 10 random bytes, NUL-terminated.
 * Deterministic; for tests and for callers with their own entropy. */
void ulid_encode(uint64_t ms, const uint8_t rnd[10], char out[ULID_LEN + 1]);
