/* SPDX-License-Identifier: MIT */
/* test_sbname.c: sandbox name validation and the hostname that decides collisions. */
#include "common/sbname.h"
#include "harness.h"

#include <errno.h>

TEST(sbname_valid_names)
{
    static const struct { const char *in; bool ok; } cases[] = {
        { "a", true }, { "My_Box.1-x", true }, { "0", true },
        { "a23456789012345678901234567890123456789012345678901234567890123", true }, /* 63 */
        { "a234567890123456789012345678901234567890123456789012345678901234", false }, /* 64 */
        { "", false }, { "-a", false }, { "_a", false }, { ".a", false }, { "a b", false },
        { "a/b", false }, { "a'b", false }, { "caf\xc3\xa9", false }, { "a\tb", false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        CHECK_EQ(sbname_valid(cases[i].in, strlen(cases[i].in)), cases[i].ok);
    CHECK(!sbname_valid("ab\0c", 4));
    CHECK(!sbname_valid(NULL, 0));
}

TEST(sbname_hostname_mapping)
{
    static const struct { const char *in; const char *want; } cases[] = {
        { "My_Box", "my-box" }, { "my-box", "my-box" }, { "A.B_C-D", "a-b-c-d" },
        { "x'; --", "x'; --" }, /* not validated: kept, except letters lowercased */
    };
    char out[SBNAME_MAX + 1];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK_EQ(sbname_hostname(cases[i].in, out), 0);
        CHECK_STR(out, cases[i].want);
    }
    CHECK_EQ(sbname_hostname("", out), -EINVAL);
    CHECK_STR(out, "");
    CHECK_EQ(sbname_hostname(NULL, out), -EINVAL);
    char longname[200];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    CHECK_EQ(sbname_hostname(longname, out), -ENAMETOOLONG);
}
