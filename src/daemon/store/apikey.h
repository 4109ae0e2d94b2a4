/* SPDX-License-Identifier: MIT */
/* apikey.h: credential secrets (docs/api.md §1.3): an API key is `hk_` and a delegated sandbox
 * token (§3.13) `hst_`, each followed by 43 base64url characters carrying 32 random bytes. Only
 * the SHA-256 of the whole presented string is ever stored. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define APIKEY_PREFIX "hk_"
#define APIKEY_LEN 46        /* "hk_" + 43 */
#define APIKEY_HASH_LEN 32   /* SHA-256 */
#define APIKEY_SHOWN_PREFIX_LEN 10 /* what `keys list` shows: "hk_" + 7 characters */
#define APIKEY_SECRET_CHARS 43 /* base64url of 32 random bytes, no padding */
#define SBTOKEN_PREFIX "hst_"
#define SBTOKEN_LEN 47       /* "hst_" + 43 */

/* Writes prefix, 43 fresh base64url characters and a NUL into out (strlen(prefix) + 44 bytes).
 * Returns 0 or -errno from the random source. The caller shows it once and should wipe it
 * (explicit_bzero) afterwards. */
__attribute__((warn_unused_result)) int apikey_secret_generate(const char *prefix, char *out);
/* True when s[0..len) is prefix + exactly 43 base64url characters (no padding, no NUL). */
bool apikey_secret_format_ok(const char *prefix, const char *s, size_t len);

/* The same for an API key (`hk_`). */
__attribute__((warn_unused_result)) int apikey_generate(char out[APIKEY_LEN + 1]);
bool apikey_format_ok(const char *s, size_t len);

/* apikey_secret_generate() and the SHA-256 of the result into hash: 0, or -errno with out
 * wiped. */
__attribute__((warn_unused_result))
int apikey_secret_new(const char *prefix, char *out, uint8_t hash[APIKEY_HASH_LEN]);

/* SHA-256 of s[0..len). Returns 0, or -ENOMEM/-EIO if OpenSSL fails. */
__attribute__((warn_unused_result))
int apikey_hash(const char *s, size_t len, uint8_t out[APIKEY_HASH_LEN]);

/* Constant-time comparison of two hashes. */
bool apikey_hash_equal(const uint8_t a[APIKEY_HASH_LEN], const uint8_t b[APIKEY_HASH_LEN]);
