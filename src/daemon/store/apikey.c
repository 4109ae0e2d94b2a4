/* SPDX-License-Identifier: MIT */
/* apikey.c: generating, checking and hashing credential secrets (`hk_` API keys, `hst_` sandbox
 * tokens). Never keeps a secret: the caller owns every buffer and wipes it. */
#include "daemon/store/apikey.h"
#include "common/parse.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/random.h>

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int apikey_secret_generate(const char *prefix, char *out)
{
    uint8_t raw[33] = { 0 }; /* 32 random bytes and one zero byte of padding for the last group */
    size_t got = 0;
    while (got < 32) {
        ssize_t r = getrandom(raw + got, 32 - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        got += (size_t)r;
    }
    size_t plen = strlen(prefix);
    memcpy(out, prefix, plen);
    char *p = out + plen, *end = p + APIKEY_SECRET_CHARS;
    for (size_t i = 0; i < 33; i += 3) {
        uint32_t v = (uint32_t)raw[i] << 16 | (uint32_t)raw[i + 1] << 8 | raw[i + 2];
        for (int k = 0; k < 4 && p < end; k++)
            *p++ = b64url[(v >> (18 - 6 * k)) & 63];
    }
    *end = '\0';
    explicit_bzero(raw, sizeof(raw));
    return 0;
}

bool apikey_secret_format_ok(const char *prefix, const char *s, size_t len)
{
    size_t plen = strlen(prefix);
    if (!s || len != plen + APIKEY_SECRET_CHARS || memcmp(s, prefix, plen) != 0)
        return false;
    return ascii_word(s + plen, len - plen, "-_");
}

int apikey_secret_new(const char *prefix, char *out, uint8_t hash[APIKEY_HASH_LEN])
{
    int r = apikey_secret_generate(prefix, out);
    if (r == 0)
        r = apikey_hash(out, strlen(out), hash);
    if (r < 0)
        explicit_bzero(out, strlen(prefix) + APIKEY_SECRET_CHARS + 1);
    return r;
}

int apikey_generate(char out[APIKEY_LEN + 1])
{
    return apikey_secret_generate(APIKEY_PREFIX, out);
}

bool apikey_format_ok(const char *s, size_t len)
{
    return apikey_secret_format_ok(APIKEY_PREFIX, s, len);
}

int apikey_hash(const char *s, size_t len, uint8_t out[APIKEY_HASH_LEN])
{
    unsigned int n = 0;
    if (!EVP_Digest(s, len, out, &n, EVP_sha256(), NULL))
        return -EIO;
    return n == APIKEY_HASH_LEN ? 0 : -EIO;
}

bool apikey_hash_equal(const uint8_t a[APIKEY_HASH_LEN], const uint8_t b[APIKEY_HASH_LEN])
{
    return CRYPTO_memcmp(a, b, APIKEY_HASH_LEN) == 0;
}
