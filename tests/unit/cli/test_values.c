/* SPDX-License-Identifier: MIT */
/* test_values.c: durations, sizes and counts as users type them (docs/cli.md §6.4). */
#include "cli/values.h"
#include "harness.h"

#include <errno.h>

TEST(durations)
{
    static const struct { const char *in; int ret; int64_t want; } cases[] = {
        { "300ms", 0, 300 }, { "45s", 0, 45000 }, { "10m", 0, 600000 },
        { "1h30m", 0, 5400000 }, { "2", 0, 2000 }, { "0", 0, 0 }, { "1h1m1s1ms", 0, 3661001 },
        { "", -EINVAL, 0 }, { "s", -EINVAL, 0 }, { "5x", -EINVAL, 0 }, { "-5s", -EINVAL, 0 },
        { "1.5s", -EINVAL, 0 }, { " 5s", -EINVAL, 0 }, { "5s ", -EINVAL, 0 },
        { "1h30", -EINVAL, 0 }, { "99999999999999999999", -ERANGE, 0 },
        { "9999999999999999h", -ERANGE, 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t v = -7;
        int r = cli_parse_duration_ms(cases[i].in, &v);
        if (r != cases[i].ret || (r == 0 && v != cases[i].want))
            harness_fail(__FILE__, __LINE__, "'%s': %d %lld", cases[i].in, r, (long long)v);
    }
}

TEST(sizes)
{
    static const struct { const char *in; int ret; uint64_t want; bool unit; } cases[] = {
        { "512MiB", 0, 512ull << 20, true }, { "5GiB", 0, 5ull << 30, true },
        { "20G", 0, 20ull << 30, true }, { "1T", 0, 1ull << 40, true },
        { "4k", 0, 4096, true }, { "100", 0, 100, false }, { "100B", 0, 100, true },
        { "20GB", 0, 20ull << 30, true }, { "", -EINVAL, 0, false }, { "G", -EINVAL, 0, false },
        { "5X", -EINVAL, 0, false }, { "5GiBs", -EINVAL, 0, false }, { "1.5G", -EINVAL, 0, false },
        { "-1", -EINVAL, 0, false }, { "99999999999T", -ERANGE, 0, false },
        { "18446744073709551616", -ERANGE, 0, false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint64_t v = 7;
        bool unit = false;
        int r = cli_parse_size(cases[i].in, &v, &unit);
        if (r != cases[i].ret || (r == 0 && (v != cases[i].want || unit != cases[i].unit)))
            harness_fail(__FILE__, __LINE__, "'%s': %d %llu", cases[i].in, r,
                         (unsigned long long)v);
    }
}

TEST(counts)
{
    int64_t v;
    CHECK_EQ(cli_parse_count("500", 500, &v), 0);
    CHECK_EQ(v, 500);
    CHECK_EQ(cli_parse_count("501", 500, &v), -ERANGE);
    CHECK_EQ(cli_parse_count("", 500, &v), -EINVAL);
    CHECK_EQ(cli_parse_count("1e3", 5000, &v), -EINVAL);
    CHECK_EQ(cli_parse_count("-1", 500, &v), -EINVAL);
    CHECK_EQ(cli_parse_count("99999999999999999999", INT64_MAX, &v), -ERANGE);
}
