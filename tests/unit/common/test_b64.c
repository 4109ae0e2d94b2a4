/* SPDX-License-Identifier: MIT */
/* test_b64.c: strict base64 (src/common/b64.c): RFC 4648 vectors both ways, every length round
 * trip, and each non-canonical or malformed form refused. */
#include "harness.h"

#include <errno.h>
#include <string.h>

#include "common/b64.h"

TEST(rfc4648_vectors)
{
    static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
    static const char *const enc[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
                                       "Zm9vYmFy" };
    for (size_t i = 0; i < 7; i++) {
        char out[16];
        uint8_t back[16];
        CHECK_EQ(b64_encode((const uint8_t *)plain[i], strlen(plain[i]), out), strlen(enc[i]));
        CHECK_STR(out, enc[i]);
        ssize_t n = b64_decode(enc[i], strlen(enc[i]), back);
        CHECK_EQ(n, (ssize_t)strlen(plain[i]));
        CHECK(memcmp(back, plain[i], (size_t)n) == 0);
    }
}

TEST(every_byte_and_length_round_trips)
{
    uint8_t in[300], back[300];
    char enc[B64_ENC_LEN(300) + 1];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i * 7 + 3);
    for (size_t n = 0; n <= sizeof(in); n++) {
        size_t el = b64_encode(in, n, enc);
        CHECK_EQ(el, B64_ENC_LEN(n));
        CHECK_EQ(b64_decode(enc, el, back), (ssize_t)n);
        CHECK(memcmp(in, back, n) == 0);
    }
}

TEST(malformed_and_non_canonical_refused)
{
    static const char *const bad[] = {
        "A", "AB", "ABC", "Zg=", "Zg", "Z===", "====", "Zg==Zg==", "Zm9v\n", " Zm9v", "Zm 9v",
        "Zm9v-A==", "Zm9v_A==", "Zh==", "Zm9=", "Z=g=", "=Zg=", "Zm\x80v",
    };
    uint8_t out[16];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (b64_decode(bad[i], strlen(bad[i]), out) != -EINVAL)
            harness_fail(__FILE__, __LINE__, "accepted '%s'", bad[i]);
}
