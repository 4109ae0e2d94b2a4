/* SPDX-License-Identifier: MIT */
/* chunk.c: hashing, zero detection and zstd framing of snapshot chunks (chunk.h). */
#include "daemon/snapstore/chunk.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

bool snap_sha256_hex(const void *p, size_t n, char out[SNAP_SHA_HEX])
{
    static const char hex[] = "0123456789abcdef";
    uint8_t md[32];
    unsigned mdlen = 0;
    if (EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return false;
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    return true;
}

bool snap_sha_hex_ok(const char *s)
{
    size_t i = 0;
    for (; s[i] && i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return i == 64 && s[64] == '\0';
}

bool snap_chunk_is_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    /* word at a time over the aligned middle: a 4 MiB RAM chunk is mostly this loop */
    size_t i = 0;
    while (i < n && ((uintptr_t)(b + i) & 7))
        if (b[i++])
            return false;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        if (w)
            return false;
    }
    for (; i < n; i++)
        if (b[i])
            return false;
    return true;
}

void snap_chunk_key(const char *hex, char out[SNAP_CHUNK_KEY_SIZE])
{
    snprintf(out, SNAP_CHUNK_KEY_SIZE, "chunks/%s", hex);
}

int snap_chunk_compress(const void *p, size_t n, uint8_t **ret, size_t *ret_len)
{
    size_t cap = ZSTD_compressBound(n);
    uint8_t *out = malloc(cap ? cap : 1);
    if (!out)
        return -ENOMEM;
    size_t z = ZSTD_compress(out, cap, p, n, 3);
    if (ZSTD_isError(z)) {
        free(out);
        return -EIO;
    }
    *ret = out;
    *ret_len = z;
    return 0;
}

int snap_chunk_decompress(const void *p, size_t n, uint8_t *out, size_t cap, size_t *ret_len)
{
    /* the frame's declared size is checked first: a hostile frame cannot make us write past
     * cap (ZSTD_decompress never does either; this only gives the clearer refusal) */
    unsigned long long want = ZSTD_getFrameContentSize(p, n);
    if (want == ZSTD_CONTENTSIZE_ERROR || (want != ZSTD_CONTENTSIZE_UNKNOWN && want > cap))
        return -EBADMSG;
    size_t z = ZSTD_decompress(out, cap, p, n);
    if (ZSTD_isError(z))
        return -EBADMSG;
    *ret_len = z;
    return 0;
}
