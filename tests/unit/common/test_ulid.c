/* SPDX-License-Identifier: MIT */
/* test_ulid.c: ULID encoding matches the spec's bit layout; generated ids are well formed,
 * distinct and time-ordered across milliseconds. */
#include "common/ulid.h"
#include "harness.h"

#include <time.h>

static bool is_crockford(const char *s)
{
    for (; *s; s++)
        if (!strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", *s))
            return false;
    return true;
}

TEST(ulid_encode_known_values)
{
    static const uint8_t zero[10] = { 0 };
    static const uint8_t ones[10] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    char out[ULID_LEN + 1];
    ulid_encode(0, zero, out);
    CHECK_STR(out, "00000000000000000000000000");
    ulid_encode(0xFFFFFFFFFFFFull, ones, out);
    CHECK_STR(out, "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
    /* 1469918176385 ms is the spec's example timestamp 01ARYZ6S41 */
    ulid_encode(1469918176385ull, zero, out);
    CHECK(strncmp(out, "01ARYZ6S41", 10) == 0);
    static const uint8_t first[10] = { 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0x01 };
    ulid_encode(0, first, out);
    CHECK_STR(out + 10, "G000000000000001");
}

TEST(ulid_generate_is_well_formed_and_unique)
{
    char a[ULID_LEN + 1], b[ULID_LEN + 1];
    CHECK_EQ(ulid_generate(a), 0);
    CHECK_EQ(strlen(a), ULID_LEN);
    CHECK(is_crockford(a));
    CHECK_EQ(ulid_generate(b), 0);
    CHECK(strcmp(a, b) != 0);
    /* the time prefix is close to now */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char now[ULID_LEN + 1];
    static const uint8_t zero[10] = { 0 };
    ulid_encode((uint64_t)ts.tv_sec * 1000u, zero, now);
    CHECK(strncmp(a, now, 7) <= 0 || strncmp(a, now, 6) == 0);
}
