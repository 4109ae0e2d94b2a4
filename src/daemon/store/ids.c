/* SPDX-License-Identifier: MIT */
/* ids.c: resource ids (ULIDs from common/ulid.c with getrandom) and their validation for `sb-…` and `key_…` ids. Pure functions
 * apart from the clock and the kernel's random source; no allocation. */
#include "daemon/store/ids.h"

#include "common/timefmt.h"
#include "common/ulid.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static int fill_random(uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int ids_ulid_new(int64_t ms, char out[IDS_ULID_LEN + 1])
{
    uint8_t rnd[10];
    int r = fill_random(rnd, sizeof(rnd));
    if (r < 0)
        return r;
    ulid_encode((uint64_t)ms, rnd, out); /* the one encoder, shared with request ids */
    return 0;
}

static int new_prefixed(const char *prefix, char *out)
{
    size_t n = strlen(prefix);
    memcpy(out, prefix, n);
    return ids_ulid_new(timefmt_now_ms(), out + n);
}

int ids_new_sandbox(char out[IDS_SANDBOX_LEN + 1])
{
    return new_prefixed(IDS_SANDBOX_PREFIX, out);
}

int ids_new_key(char out[IDS_KEY_LEN + 1])
{
    return new_prefixed(IDS_KEY_PREFIX, out);
}

int ids_new_network(char out[IDS_NETWORK_LEN + 1])
{
    return new_prefixed(IDS_NETWORK_PREFIX, out);
}

int ids_new_disk(char out[IDS_DISK_LEN + 1])
{
    return new_prefixed(IDS_DISK_PREFIX, out);
}

int ids_new_template(char out[IDS_TEMPLATE_LEN + 1])
{
    return new_prefixed(IDS_TEMPLATE_PREFIX, out);
}

int ids_new_job(char out[IDS_JOB_LEN + 1])
{
    return new_prefixed(IDS_JOB_PREFIX, out);
}

static int decode_char(char c)
{
    if (c >= 'a' && c <= 'z')
        c = (char)(c - 'a' + 'A');
    const char *p = c ? strchr(crockford, c) : NULL;
    return p ? (int)(p - crockford) : -1;
}

int ids_ulid_parse(const char *s, size_t len, uint8_t ret_bytes[16])
{
    if (!s || len != IDS_ULID_LEN)
        return -EINVAL;
    int vals[IDS_ULID_LEN];
    for (size_t i = 0; i < len; i++) {
        vals[i] = decode_char(s[i]);
        if (vals[i] < 0)
            return -EINVAL;
    }
    if (vals[0] > 7)
        return -ERANGE;
    uint8_t b[16] = { 0 };
    for (int i = 0; i < IDS_ULID_LEN; i++) {
        for (int k = 0; k < 5; k++) {
            int pos = i * 5 - 2 + k;
            if (pos < 0)
                continue;
            if ((vals[i] >> (4 - k)) & 1)
                b[pos / 8] |= (uint8_t)(0x80u >> (pos % 8));
        }
    }
    if (ret_bytes)
        memcpy(ret_bytes, b, 16);
    return 0;
}

int ids_canonical(const char *prefix, const char *s, size_t len, char *out, size_t out_size)
{
    size_t plen = strlen(prefix);
    if (!s || len != plen + IDS_ULID_LEN || memcmp(s, prefix, plen) != 0)
        return -EINVAL;
    int r = ids_ulid_parse(s + plen, IDS_ULID_LEN, NULL);
    if (r < 0)
        return -EINVAL;
    if (out_size < len + 1)
        return -ENOBUFS;
    memcpy(out, s, plen);
    for (size_t i = plen; i < len; i++) {
        char c = s[i];
        out[i] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
    }
    out[len] = '\0';
    return 0;
}

int64_t ids_ulid_time_ms(const uint8_t bytes[16])
{
    uint64_t t = 0;
    for (int i = 0; i < 6; i++)
        t = (t << 8) | bytes[i];
    return (int64_t)t;
}
