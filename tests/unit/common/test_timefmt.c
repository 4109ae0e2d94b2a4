/* SPDX-License-Identifier: MIT */
/* test_timefmt.c: RFC 3339 output is always 24 bytes with three fraction digits and Z; input
 * accepts every RFC 3339 form and rejects everything else, hostile bytes included. */
#include "common/timefmt.h"
#include "harness.h"

#include <errno.h>

TEST(timefmt_format_known_values)
{
    static const struct { int64_t ms; const char *want; } cases[] = {
        { 0, "1970-01-01T00:00:00.000Z" },
        { 1772374029412LL, "2026-03-01T14:07:09.412Z" },
        { -1, "1969-12-31T23:59:59.999Z" },
        { 951782400000LL, "2000-02-29T00:00:00.000Z" },
        { -62167219200000LL, "0000-01-01T00:00:00.000Z" },
        { 253402300799999LL, "9999-12-31T23:59:59.999Z" },
        { 4102444800000LL, "2100-01-01T00:00:00.000Z" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[TIMEFMT_RFC3339_LEN + 1];
        CHECK_EQ(timefmt_rfc3339_ms(cases[i].ms, out), 0);
        CHECK_STR(out, cases[i].want);
        CHECK_EQ(strlen(out), TIMEFMT_RFC3339_LEN);
        int64_t back;
        CHECK_EQ(timefmt_parse_rfc3339(out, strlen(out), &back), 0);
        CHECK_EQ(back, cases[i].ms);
    }
}

TEST(timefmt_format_out_of_range)
{
    char out[TIMEFMT_RFC3339_LEN + 1];
    CHECK_EQ(timefmt_rfc3339_ms(253402300800000LL, out), -ERANGE);
    CHECK_STR(out, "");
    CHECK_EQ(timefmt_rfc3339_ms(-62167219200001LL, out), -ERANGE);
    CHECK_EQ(timefmt_rfc3339_ms(INT64_MIN, out), -ERANGE);
    CHECK_EQ(timefmt_rfc3339_ms(INT64_MAX, out), -ERANGE);
}

TEST(timefmt_parse_accepts_rfc3339_forms)
{
    static const struct { const char *in; int64_t want; } cases[] = {
        { "2026-03-01T14:07:09.412Z", 1772374029412LL },
        { "2026-03-01t14:07:09.412z", 1772374029412LL },
        { "2026-03-01 14:07:09.412Z", 1772374029412LL },
        { "2026-03-01T14:07:09Z", 1772374029000LL },
        { "2026-03-01T14:07:09.4Z", 1772374029400LL },
        { "2026-03-01T14:07:09.41Z", 1772374029410LL },
        { "2026-03-01T14:07:09.412999999999Z", 1772374029412LL }, /* truncated */
        { "2026-03-01T15:07:09.412+01:00", 1772374029412LL },
        { "2026-03-01T09:37:09.412-04:30", 1772374029412LL },
        { "2026-03-01T14:07:09.412-00:00", 1772374029412LL },
        { "1970-01-01T00:00:00+23:59", -86340000LL },
        { "2016-12-31T23:59:60Z", 1483228800000LL },              /* leap second folds */
        { "2024-02-29T00:00:00Z", 1709164800000LL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ms = 0;
        CHECK_EQ(timefmt_parse_rfc3339(cases[i].in, strlen(cases[i].in), &ms), 0);
        CHECK_EQ(ms, cases[i].want);
    }
}

TEST(timefmt_parse_rejects_hostile_input)
{
    static const char *bad[] = {
        "", "Z", "2026", "2026-03-01", "2026-03-01T", "2026-03-01T14:07:09",
        "2026-03-01T14:07:09.Z", "2026-03-01T14:07:09.412", "2026-03-01T14:07Z",
        "2026-3-01T14:07:09Z", "2026-03-1T14:07:09Z", "02026-03-01T14:07:09Z",
        "2026-03-01T14:07:09.412ZZ", "2026-03-01T14:07:09.412Z ", " 2026-03-01T14:07:09Z",
        "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-02-29T00:00:00Z",
        "2100-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-01-00T00:00:00Z",
        "2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z", "2026-01-01T00:00:61Z",
        "2026-01-01T00:00:00+24:00", "2026-01-01T00:00:00+01:60", "2026-01-01T00:00:00+0100",
        "2026-01-01T00:00:00+01", "2026-01-01T00:00:00UTC", "2026-01-01X00:00:00Z",
        "-026-01-01T00:00:00Z", "2026-01-01T00:00:00.-1Z", "2026-01-01T00:00:00,5Z",
        "２026-01-01T00:00:00Z", "2026-01-01T00:00:00.\xff" "Z", "1e10-01-01T00:00:00Z",
        "2026-01-01T+1:00:00Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t ms = 42;
        int r = timefmt_parse_rfc3339(bad[i], strlen(bad[i]), &ms);
        if (r != -EINVAL)
            harness_fail(__FILE__, __LINE__, "accepted \"%s\"", bad[i]);
        CHECK_EQ(r, -EINVAL);
        CHECK_EQ(ms, 42); /* untouched on failure */
    }
    int64_t ms;
    CHECK_EQ(timefmt_parse_rfc3339(NULL, 0, &ms), -EINVAL);
    /* an embedded NUL inside the given length is not the end of the string */
    static const char nul[] = "2026-03-01T14:07:09.412Z\0junk";
    CHECK_EQ(timefmt_parse_rfc3339(nul, sizeof(nul) - 1, &ms), -EINVAL);
    static const char nul2[] = "2026-03-01T14:07\0:09Z";
    CHECK_EQ(timefmt_parse_rfc3339(nul2, sizeof(nul2) - 1, &ms), -EINVAL);
    /* length shorter than the string: only the prefix is read */
    CHECK_EQ(timefmt_parse_rfc3339("2026-03-01T14:07:09Z", 19, &ms), -EINVAL);
    /* a very long fraction is fine, a very long anything else is not */
    char longfrac[4096];
    memcpy(longfrac, "2026-03-01T14:07:09.", 20);
    memset(longfrac + 20, '9', sizeof(longfrac) - 22);
    longfrac[sizeof(longfrac) - 2] = 'Z';
    longfrac[sizeof(longfrac) - 1] = '\0';
    CHECK_EQ(timefmt_parse_rfc3339(longfrac, strlen(longfrac), &ms), 0);
    CHECK_EQ(ms, 1772374029999LL);
}

TEST(timefmt_every_prefix_of_valid_input_is_rejected)
{
    const char *s = "2026-03-01T15:07:09.412+01:00";
    for (size_t n = 0; n < strlen(s); n++) {
        int64_t ms;
        CHECK_EQ(timefmt_parse_rfc3339(s, n, &ms), -EINVAL);
    }
}

TEST(timefmt_round_trip_sweep)
{
    /* every ~37 days across four centuries, at odd ms offsets */
    for (int64_t ms = -62167219200000LL; ms < 253402300800000LL; ms += 3217987654321LL) {
        char out[TIMEFMT_RFC3339_LEN + 1];
        CHECK_EQ(timefmt_rfc3339_ms(ms, out), 0);
        int64_t back;
        CHECK_EQ(timefmt_parse_rfc3339(out, TIMEFMT_RFC3339_LEN, &back), 0);
        CHECK_EQ(back, ms);
    }
    CHECK(timefmt_now_ms() > 1700000000000LL);
}
