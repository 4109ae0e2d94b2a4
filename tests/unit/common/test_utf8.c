/* SPDX-License-Identifier: MIT */
/* test_utf8.c: repair of invalid UTF-8 (docs/api.md §1.8 item 7), whole and piece by piece. */
#include "common/utf8.h"
#include "harness.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

#define FFFD "\xEF\xBF\xBD"

static const struct {
    const char *in;
    const char *want;
} cases[] = {
    { "plain ascii", "plain ascii" },
    { "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80" },
    { "a\xFF" "b", "a" FFFD "b" },
    { "\xC0\xAF", FFFD FFFD },                 /* overlong lead */
    { "\xED\xA0\x80", FFFD FFFD FFFD },         /* surrogate: ED then out-of-range bytes */
    { "\xE2\x82", FFFD },                       /* truncated at the end, final */
    { "\xE2\x82x", FFFD "x" },                  /* maximal subpart: one FFFD */
    { "\xF4\x90\x80\x80", FFFD FFFD FFFD FFFD }, /* above U+10FFFF */
    { "\x80\x80", FFFD FFFD },                  /* stray continuations */
    { "", "" },
};

TEST(utf8_sanitize_table)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct buf b;
        buf_init(&b, 1024);
        size_t n = strlen(cases[i].in);
        CHECK_EQ(utf8_sanitize((const uint8_t *)cases[i].in, n, true, &b), (ssize_t)n);
        CHECK_EQ(b.len, strlen(cases[i].want));
        CHECK(b.len == 0 || memcmp(b.data, cases[i].want, b.len) == 0);
        buf_release(&b);
    }
}

/* valid exactly when sanitizing changes nothing */
TEST(utf8_valid_table)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool same = strcmp(cases[i].in, cases[i].want) == 0;
        CHECK_EQ(utf8_valid((const uint8_t *)cases[i].in, strlen(cases[i].in)), same);
    }
    CHECK(utf8_valid((const uint8_t *)"a\0b", 3)); /* NUL is a character; C strings stop at it */
    CHECK(!utf8_valid((const uint8_t *)"\xF0\x9F\x98", 3));
    CHECK(utf8_valid((const uint8_t *)"\xF0\x9F\x98\x80", 4));
    CHECK(!utf8_valid((const uint8_t *)"\xF5\x80\x80\x80", 4));
    CHECK(utf8_valid(NULL, 0));
}

TEST(utf8_sanitize_split_at_every_byte)
{
    const char *in = "x\xE2\x82\xAC\xF0\x9F\x98\x80y\xFFz";
    const char *want = "x\xE2\x82\xAC\xF0\x9F\x98\x80y" FFFD "z";
    size_t len = strlen(in);
    for (size_t cut = 0; cut <= len; cut++) {
        struct buf b;
        buf_init(&b, 1024);
        ssize_t used = utf8_sanitize((const uint8_t *)in, cut, false, &b);
        CHECK(used >= 0 && (size_t)used <= cut);
        CHECK(cut - (size_t)used < 4);
        CHECK_EQ(utf8_sanitize((const uint8_t *)in + used, len - (size_t)used, true, &b),
                 (ssize_t)(len - (size_t)used));
        CHECK_EQ(b.len, strlen(want));
        CHECK(memcmp(b.data, want, b.len) == 0);
        buf_release(&b);
    }
}

TEST(utf8_sanitize_ceiling_and_boundary)
{
    struct buf b;
    buf_init(&b, 2);
    CHECK_EQ(utf8_sanitize((const uint8_t *)"abc", 3, true, &b), -EMSGSIZE);
    buf_release(&b);
    const uint8_t *s = (const uint8_t *)"ab\xE2\x82\xAC";
    CHECK_EQ(utf8_boundary(s, 5, 10), 5);
    CHECK_EQ(utf8_boundary(s, 5, 4), 2);
    CHECK_EQ(utf8_boundary(s, 5, 3), 2);
    CHECK_EQ(utf8_boundary(s, 5, 2), 2);
}

/* What "%.Ns" leaves of valid text: a sequence cut short at the end goes, whole ones stay. */
TEST(utf8_cut_partial_table)
{
    static const struct { const char *in, *want; } cuts[] = {
        { "", "" },
        { "abc", "abc" },
        { "a\xC3\xA9", "a\xC3\xA9" },                 /* é whole */
        { "a\xC3", "a" },                             /* é cut after its lead */
        { "a\xE2\x82\xAC", "a\xE2\x82\xAC" },         /* € whole */
        { "a\xE2\x82", "a" },
        { "a\xE2", "a" },
        { "a\xF0\x9F\x98\x80", "a\xF0\x9F\x98\x80" }, /* 😀 whole */
        { "a\xF0\x9F\x98", "a" },
        { "\xF0\x9F", "" },
        { "a\x80\x80", "a\x80\x80" },                 /* stray continuations: not a cut */
        { "a\x80\x80\x80\x80", "a\x80\x80\x80\x80" },
    };
    for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        char s[16];
        snprintf(s, sizeof(s), "%s", cuts[i].in);
        utf8_cut_partial(s);
        CHECK_STR(s, cuts[i].want);
    }
}
