/* SPDX-License-Identifier: MIT */
/* seal.h: secrets sealed at rest (docs/disks.md "The key file"): AES-256-GCM through OpenSSL's
 * EVP interface, a fresh random 96-bit nonce per sealing, and an associated-data string that
 * binds a sealed blob to its owner (a disk's id), so a blob copied onto another row does not
 * open. The key file holds one key per line, "<key id> <base64 of 32 random bytes>"; the first
 * line seals, every line opens, which is how a rotation works (a new first line, every blob
 * re-sealed, then old lines may go). Sealed layout (docs/disks.md): "hs1", the key id's length
 * (1 byte) and bytes, the nonce (12), the ciphertext, the tag (16). No secret is ever logged. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEAL_KEY_ID_MAX 32      /* [A-Za-z0-9_-], 1..32 bytes */
#define SEAL_OVERHEAD (3 + 1 + SEAL_KEY_ID_MAX + 12 + 16) /* at most, beyond the plaintext */

struct seal_keyring;

/* Loads the key file at path. create: a missing file is made (0600, one fresh key, written to
 * a temporary file, fsync'd and renamed). Refuses (-EPERM, *why) a file that is not a regular
 * file owned by this user or that group or others may read, and (-EINVAL, *why) a malformed
 * line, a duplicate id or no key at all. *why is static text. */
__attribute__((warn_unused_result))
int seal_keyring_load(const char *path, bool create, struct seal_keyring **ret, const char **why);
/* Wipes the keys and frees. NULL is fine. */
void seal_keyring_free(struct seal_keyring *k);
/* The id of the key that seals (the first line's). */
const char *seal_keyring_current(const struct seal_keyring *k);
/* Adds a fresh key as the new first line of the file at path (same checks and atomic rewrite
 * as a create); *ret_id (SEAL_KEY_ID_MAX + 1 bytes) gets its id. The old keys stay until the
 * operator removes them (docs/disks.md "Rotating the key"). */
__attribute__((warn_unused_result))
int seal_keyring_add(const char *path, char ret_id[SEAL_KEY_ID_MAX + 1], const char **why);

/* Seals plain[0..len) under the current key with aad (NUL-terminated) into out (cap bytes;
 * len + SEAL_OVERHEAD always suffices); *ret_len its size. 0, -ENOBUFS, -EIO (OpenSSL). */
__attribute__((warn_unused_result))
int seal_seal(const struct seal_keyring *k, const char *aad, const uint8_t *plain, size_t len,
              uint8_t *out, size_t cap, size_t *ret_len);
/* Opens a sealed blob with aad into out (cap bytes; len bytes suffice); *ret_len the
 * plaintext's size. -EBADMSG when it is malformed, tampered with, or sealed for another aad;
 * -ENOKEY when its key is not in the ring; -ENOBUFS. The caller wipes out after use. */
__attribute__((warn_unused_result))
int seal_open(const struct seal_keyring *k, const char *aad, const uint8_t *sealed, size_t len,
              uint8_t *out, size_t cap, size_t *ret_len);
/* Whether the blob names the current key (a rotation re-seals the others). */
bool seal_is_current(const struct seal_keyring *k, const uint8_t *sealed, size_t len);
