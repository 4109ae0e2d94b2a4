/* SPDX-License-Identifier: MIT */
/* ulid.c: ULID generation and encoding (https://github.com/ulid/spec): 10 characters of
 * timestamp then 16 of randomness, Crockford base32, most significant bits first.
 * Owns nothing; no monotonic-within-a-millisecond guarantee (ids need only be unique). */
#include "common/ulid.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

static const char crockford[32] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void ulid_encode(uint64_t ms, const uint8_t rnd[10], char out[ULID_LEN + 1])
{
    /* 48-bit time: 10 chars of 5 bits = 50 bits, the top 2 always zero */
    for (int i = 9; i >= 0; i--) {
        out[i] = crockford[ms & 31];
        ms >>= 5;
    }
    /* 80 random bits: 16 chars of 5 bits, big-endian bit order */
    for (int i = 0; i < 16; i++) {
        unsigned bit = (unsigned)i * 5;
        unsigned byte = bit / 8, shift = bit % 8;
        unsigned v = (unsigned)rnd[byte] << 8;
        if (byte + 1 < 10)
            v |= rnd[byte + 1];
        out[10 + i] = crockford[(v >> (11 - shift)) & 31];
    }
    out[ULID_LEN] = '\0';
}

int ulid_generate(char out[ULID_LEN + 1])
{
    uint8_t rnd[10];
    size_t got = 0;
    while (got < sizeof(rnd)) {
        ssize_t n = getrandom(rnd + got, sizeof(rnd) - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        got += (size_t)n;
    }
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
        return -errno;
    uint64_t ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    ulid_encode(ms, rnd, out);
    return 0;
}
