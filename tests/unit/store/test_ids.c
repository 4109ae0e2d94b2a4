/* SPDX-License-Identifier: MIT */
/* test_ids.c: ULIDs: 26 uppercase Crockford characters, time first, random after; parsing is
 * case-insensitive, exact in length and rejects everything else. */
#include "daemon/store/ids.h"
#include "harness.h"

#include <errno.h>

TEST(ids_new_have_the_right_shape)
{
    char sb[IDS_SANDBOX_LEN + 1], key[IDS_KEY_LEN + 1], prev[IDS_SANDBOX_LEN + 1] = "";
    for (int i = 0; i < 200; i++) {
        CHECK_EQ(ids_new_sandbox(sb), 0);
        CHECK_EQ(strlen(sb), IDS_SANDBOX_LEN);
        CHECK(strncmp(sb, "sb-", 3) == 0);
        for (int k = 3; k < IDS_SANDBOX_LEN; k++)
            CHECK(strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", sb[k]) != NULL);
        CHECK(strcmp(sb, prev) != 0);
        memcpy(prev, sb, sizeof(sb));
        char canon[IDS_MAX_SIZE];
        CHECK_EQ(ids_canonical("sb-", sb, strlen(sb), canon, sizeof(canon)), 0);
        CHECK_STR(canon, sb);
    }
    CHECK_EQ(ids_new_key(key), 0);
    CHECK_EQ(strlen(key), IDS_KEY_LEN);
    CHECK(strncmp(key, "key_", 4) == 0);
}

TEST(ids_ulid_encodes_time_first)
{
    char a[IDS_ULID_LEN + 1], b[IDS_ULID_LEN + 1];
    CHECK_EQ(ids_ulid_new(1469918176385LL, a), 0);
    CHECK(strncmp(a, "01ARYZ6S41", 10) == 0); /* the ULID spec's example time */
    uint8_t bytes[16];
    CHECK_EQ(ids_ulid_parse(a, IDS_ULID_LEN, bytes), 0);
    CHECK_EQ(ids_ulid_time_ms(bytes), 1469918176385LL);
    CHECK_EQ(ids_ulid_new(0, b), 0);
    CHECK(strncmp(b, "0000000000", 10) == 0);
    CHECK_EQ(ids_ulid_new(281474976710655LL, b), 0); /* 2^48 - 1 */
    CHECK(strncmp(b, "7ZZZZZZZZZ", 10) == 0);
    /* later times sort later as text */
    CHECK_EQ(ids_ulid_new(1469918176386LL, b), 0);
    CHECK(strncmp(a, b, 10) < 0);
    /* round trip of all bits */
    CHECK_EQ(ids_ulid_parse("7ZZZZZZZZZZZZZZZZZZZZZZZZZ", 26, bytes), 0);
    for (int i = 0; i < 16; i++)
        CHECK_EQ(bytes[i], 0xff);
    CHECK_EQ(ids_ulid_parse("00000000000000000000000001", 26, bytes), 0);
    CHECK_EQ(bytes[15], 1);
    CHECK_EQ(bytes[14], 0);
}

TEST(ids_parse_rejects_hostile_input)
{
    static const struct { const char *in; int ret; } cases[] = {
        { "01ARZ3NDEKTSV4RRFFQ69G5FAV", 0 },
        { "01arz3ndektsv4rrffq69g5fav", 0 },
        { "01ARZ3NDEKTSV4RRFFQ69G5FA", -EINVAL },   /* 25 */
        { "01ARZ3NDEKTSV4RRFFQ69G5FAVV", -EINVAL }, /* 27 */
        { "01ARZ3NDEKTSV4RRFFQ69G5FAI", -EINVAL },  /* I, L, O, U are not in the alphabet */
        { "01ARZ3NDEKTSV4RRFFQ69G5FAL", -EINVAL },
        { "01ARZ3NDEKTSV4RRFFQ69G5FAO", -EINVAL },
        { "01ARZ3NDEKTSV4RRFFQ69G5FAU", -EINVAL },
        { "01ARZ3NDEKTSV4RRFFQ69G5FA-", -EINVAL },
        { "01ARZ3NDEKTSV4RRFFQ69G5FA'", -EINVAL },
        { "01ARZ3NDEKTSV4RRFFQ69G5FA\xc3", -EINVAL },
        { "81ARZ3NDEKTSV4RRFFQ69G5FAV", -ERANGE },  /* above 2^128 */
        { "ZZZZZZZZZZZZZZZZZZZZZZZZZZ", -ERANGE },
        { "", -EINVAL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK_EQ(ids_ulid_parse(cases[i].in, strlen(cases[i].in), NULL), cases[i].ret);
    CHECK_EQ(ids_ulid_parse(NULL, 26, NULL), -EINVAL);
    static const char nul[] = "01ARZ3NDEKTSV4RR\0FQ69G5FAV";
    CHECK_EQ(ids_ulid_parse(nul, 26, NULL), -EINVAL);

    char out[IDS_MAX_SIZE];
    CHECK_EQ(ids_canonical("sb-", "sb-01arz3ndektsv4rrffq69g5fav", 29, out, sizeof(out)), 0);
    CHECK_STR(out, "sb-01ARZ3NDEKTSV4RRFFQ69G5FAV");
    CHECK_EQ(ids_canonical("sb-", "SB-01ARZ3NDEKTSV4RRFFQ69G5FAV", 29, out, sizeof(out)), -EINVAL);
    CHECK_EQ(ids_canonical("sb-", "key_01ARZ3NDEKTSV4RRFFQ69G5FAV", 30, out, sizeof(out)),
             -EINVAL);
    CHECK_EQ(ids_canonical("sb-", "sb-01ARZ3NDEKTSV4RRFFQ69G5FAV", 28, out, sizeof(out)), -EINVAL);
    CHECK_EQ(ids_canonical("sb-", "sb-", 3, out, sizeof(out)), -EINVAL);
    CHECK_EQ(ids_canonical("sb-", NULL, 29, out, sizeof(out)), -EINVAL);
    CHECK_EQ(ids_canonical("sb-", "sb-01ARZ3NDEKTSV4RRFFQ69G5FAV", 29, out, 29), -ENOBUFS);
    CHECK_EQ(ids_canonical("key_", "key_01ARZ3NDEKTSV4RRFFQ69G5FAV", 30, out, sizeof(out)), 0);
}
