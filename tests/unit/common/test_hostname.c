/* SPDX-License-Identifier: MIT */
/* test_hostname.c: the guest hostname rule both hearthd and the agent apply. */
#include "common/hostname.h"
#include "common/sbname.h"
#include "harness.h"

TEST(hostname_valid_names)
{
    static const struct { const char *in; bool ok; } cases[] = {
        { "a", true }, { "0", true }, { "clone-a", true }, { "a-b-c", true }, { "9box", true },
        { "box-", true }, /* what sbname maps "box_" to: allowed on purpose */
        { "a23456789012345678901234567890123456789012345678901234567890123", true }, /* 63 */
        { "a234567890123456789012345678901234567890123456789012345678901234", false }, /* 64 */
        { "", false }, { "-a", false }, { "A", false }, { "aB", false }, { "a_b", false },
        { "a.b", false }, { "a b", false }, { "a/b", false }, { "a'b", false },
        { "caf\xc3\xa9", false }, { "a\tb", false }, { "a\n", false }, { "\xff", false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (hostname_valid(cases[i].in, strlen(cases[i].in)) != cases[i].ok)
            harness_fail(__FILE__, __LINE__, "case %zu '%s': want %d", i, cases[i].in,
                         cases[i].ok);
    }
    CHECK(!hostname_valid("ab\0c", 4));
    CHECK(!hostname_valid(NULL, 0));
    CHECK(!hostname_valid("abc", 0));
}

/* Every valid sandbox name maps to a valid hostname, so a restore never refuses one. */
TEST(hostname_accepts_every_sbname_mapping)
{
    static const char *const names[] = { "My_Box", "x.", "a_", "Z-9", "0.0.0", "a__b" };
    char out[SBNAME_MAX + 1];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        CHECK(sbname_valid(names[i], strlen(names[i])));
        CHECK_EQ(sbname_hostname(names[i], out), 0);
        CHECK(hostname_valid(out, strlen(out)));
    }
}
