/* SPDX-License-Identifier: MIT */
/* ids.h: resource identifiers (docs/api.md §1.9): a prefix and a ULID, 48 bits of ms time then 80
 * random bits, in uppercase Crockford base32. Parsing matches the ULID part case-insensitively
 * and canonicalises it to uppercase. (The lead may later merge this with src/common/ulid.) */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDS_ULID_LEN 26
#define IDS_SANDBOX_PREFIX "sb-"
#define IDS_KEY_PREFIX "key_"
#define IDS_NETWORK_PREFIX "net-"
#define IDS_DISK_PREFIX "disk_"
#define IDS_TEMPLATE_PREFIX "tpl_"
#define IDS_JOB_PREFIX "job_"
/* Length of a sandbox id (`sb-` + ULID) and of a key id (`key_` + ULID), without the NUL. */
#define IDS_SANDBOX_LEN (3 + IDS_ULID_LEN)
#define IDS_KEY_LEN (4 + IDS_ULID_LEN)
#define IDS_NETWORK_LEN (4 + IDS_ULID_LEN)
#define IDS_DISK_LEN (5 + IDS_ULID_LEN)
#define IDS_TEMPLATE_LEN (4 + IDS_ULID_LEN)
#define IDS_JOB_LEN (4 + IDS_ULID_LEN)
/* Room for any id this module makes, NUL included. */
#define IDS_MAX_SIZE 40

/* Writes a new ULID for time ms and a NUL into out (IDS_ULID_LEN + 1 bytes). Returns 0, or
 * -errno when the kernel's random source fails. */
__attribute__((warn_unused_result)) int ids_ulid_new(int64_t ms, char out[IDS_ULID_LEN + 1]);

/* New `sb-<ULID>` / `key_<ULID>` for the current time, NUL-terminated. Same returns. */
__attribute__((warn_unused_result)) int ids_new_sandbox(char out[IDS_SANDBOX_LEN + 1]);
__attribute__((warn_unused_result)) int ids_new_key(char out[IDS_KEY_LEN + 1]);
__attribute__((warn_unused_result)) int ids_new_network(char out[IDS_NETWORK_LEN + 1]);
__attribute__((warn_unused_result)) int ids_new_disk(char out[IDS_DISK_LEN + 1]);
__attribute__((warn_unused_result)) int ids_new_template(char out[IDS_TEMPLATE_LEN + 1]);
__attribute__((warn_unused_result)) int ids_new_job(char out[IDS_JOB_LEN + 1]);

/* Decodes exactly len bytes of ULID text (either case; Crockford's I/L/O aliases are not
 * accepted, as the spec asks for the canonical alphabet). Returns 0 with the 16 bytes (big-endian:
 * time first) in ret_bytes when given, -EINVAL if malformed, -ERANGE if the first character
 * makes the value exceed 128 bits. */
__attribute__((warn_unused_result))
int ids_ulid_parse(const char *s, size_t len, uint8_t ret_bytes[16]);

/* Checks that s[0..len) is prefix + ULID (prefix matched exactly, ULID in either case) and writes
 * the canonical form (ULID uppercased) with a NUL into out, which holds out_size bytes.
 * Returns 0, -EINVAL when malformed, -ENOBUFS when out is too small. */
__attribute__((warn_unused_result))
int ids_canonical(const char *prefix, const char *s, size_t len, char *out, size_t out_size);

/* The ms timestamp carried by a ULID's first ten characters. */
int64_t ids_ulid_time_ms(const uint8_t bytes[16]);
