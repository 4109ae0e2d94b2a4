/* SPDX-License-Identifier: MIT */
/* test_route.c: path splitting, percent-decoding, query parsing and the strict boolean and
 * integer parsers of route.h, table-driven. */
#include "daemon/http/route.h"
#include "harness.h"

#include <errno.h>

TEST(route_percent_decode_table)
{
    static const struct { const char *in; bool plus; long ret; const char *out; } cases[] = {
        { "abc", false, 3, "abc" },
        { "a%20b", false, 3, "a b" },
        { "a+b", false, 3, "a+b" },
        { "a+b", true, 3, "a b" },
        { "%2F", false, 1, "/" },
        { "%2f%2F", false, 2, "//" },
        { "%41%6a", false, 2, "Aj" },
        { "%", false, -EINVAL, NULL },
        { "%2", false, -EINVAL, NULL },
        { "%zz", false, -EINVAL, NULL },
        { "%g0", false, -EINVAL, NULL },
        { "ab%", false, -EINVAL, NULL },
        { "%00", false, -EINVAL, NULL },
        { "%25", false, 1, "%" },
        { "%2525", false, 3, "%25" }, /* decoded once only */
        { "", false, 0, "" },
        { "%C3%A9", false, 2, "\xc3\xa9" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[64];
        long r = http_percent_decode(cases[i].in, strlen(cases[i].in), out, cases[i].plus);
        CHECK_EQ(r, cases[i].ret);
        if (r >= 0)
            CHECK_STR(out, cases[i].out);
    }
}

TEST(route_path_table)
{
    static const struct { const char *in; int ret; unsigned n; const char *segs[4]; } cases[] = {
        { "/", 0, 0, { NULL } },
        { "/v1", 0, 1, { "v1" } },
        { "/v1/", 0, 1, { "v1" } },
        { "/v1/sandboxes", 0, 2, { "v1", "sandboxes" } },
        { "/v1/sandboxes/", 0, 2, { "v1", "sandboxes" } },
        { "/v1//x", 0, 3, { "v1", "", "x" } },
        { "/v1/a%2Fb/c", 0, 3, { "v1", "a/b", "c" } },
        { "/v1/a%20b", 0, 2, { "v1", "a b" } },
        { "/v1/a+b", 0, 2, { "v1", "a+b" } }, /* '+' is literal in paths */
        { "/v1/x//", 0, 3, { "v1", "x", "" } }, /* only one trailing '/' is ignored */
        { "/v1/%zz", -EINVAL, 0, { NULL } },
        { "/v1/%", -EINVAL, 0, { NULL } },
        { "/a%00b", -EINVAL, 0, { NULL } },
        { "v1/x", -EINVAL, 0, { NULL } },
        { "", -EINVAL, 0, { NULL } },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct http_path p;
        int r = http_path_parse(cases[i].in, strlen(cases[i].in), &p);
        CHECK_EQ(r, cases[i].ret);
        if (r < 0)
            continue;
        CHECK_EQ(p.n, cases[i].n);
        for (unsigned k = 0; k < p.n; k++)
            CHECK_STR(p.seg[k], cases[i].segs[k]);
        http_path_release(&p);
    }
    char many[1024] = "";
    for (int i = 0; i < HTTP_PATH_MAX_SEGMENTS + 1; i++)
        strcat(many, "/a");
    struct http_path p;
    CHECK_EQ(http_path_parse(many, strlen(many), &p), -E2BIG);
}

TEST(route_path_match)
{
    struct http_path p;
    CHECK_EQ(http_path_parse("/v1/sandboxes/sb-1/exec", 23, &p), 0);
    const char *const pat[] = { "v1", "sandboxes", NULL, "exec" };
    const char *const pat2[] = { "v1", "sandboxes", NULL, "files" };
    CHECK(http_path_match(&p, 4, pat));
    CHECK(!http_path_match(&p, 4, pat2));
    CHECK(!http_path_match(&p, 3, pat));
    http_path_release(&p);
}

TEST(route_query_table)
{
    struct http_query q;
    const char *s = "path=/srv/my+file.txt&stream=true&path=/other&x=%2F%2B&flag&&=y&empty=";
    CHECK_EQ(http_query_parse(s, strlen(s), &q), 0);
    CHECK_STR(http_query_get(&q, "path"), "/srv/my file.txt"); /* first occurrence wins */
    CHECK_STR(http_query_get(&q, "x"), "/+");
    CHECK_STR(http_query_get(&q, "flag"), "");
    CHECK_STR(http_query_get(&q, "empty"), "");
    CHECK(http_query_get(&q, "missing") == NULL);
    CHECK(http_query_get(&q, "") == NULL); /* "=y" has no name: skipped */
    bool b = false;
    CHECK_EQ(http_query_get_bool(&q, "stream", false, &b), 0);
    CHECK(b);
    CHECK_EQ(http_query_get_bool(&q, "nope", true, &b), 0);
    CHECK(b);
    CHECK_EQ(http_query_get_bool(&q, "path", true, &b), -EINVAL);
    http_query_release(&q);

    CHECK_EQ(http_query_parse("a=%zz", 5, &q), -EINVAL);
    CHECK_EQ(http_query_parse("a%=1", 4, &q), -EINVAL);
    CHECK_EQ(http_query_parse("a=%00", 5, &q), -EINVAL);
    CHECK_EQ(http_query_parse("", 0, &q), 0);
    CHECK_EQ(q.n, 0);
    http_query_release(&q);
    /* found by fuzz_http_request: valueless parameters need more room than the input */
    CHECK_EQ(http_query_parse("a&b&c&d&e&f&g&h", 15, &q), 0);
    CHECK_EQ(q.n, 8);
    CHECK_STR(http_query_get(&q, "h"), "");
    http_query_release(&q);
    CHECK_EQ(http_query_parse("a+b=c+d", 7, &q), 0);
    CHECK_STR(http_query_get(&q, "a b"), "c d");
    http_query_release(&q);
}

TEST(route_bool_table)
{
    static const struct { const char *in; int ret; bool want; } cases[] = {
        { "true", 0, true }, { "1", 0, true }, { "false", 0, false }, { "0", 0, false },
        { "", -EINVAL, false }, { "TRUE", -EINVAL, false }, { "yes", -EINVAL, false },
        { "01", -EINVAL, false }, { "true ", -EINVAL, false }, { "2", -EINVAL, false },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool b = !cases[i].want;
        CHECK_EQ(http_parse_bool(cases[i].in, &b), cases[i].ret);
        if (cases[i].ret == 0)
            CHECK_EQ(b, cases[i].want);
    }
}

TEST(route_int_table)
{
    static const struct { const char *in; int ret; int64_t want; } cases[] = {
        { "0", 0, 0 }, { "42", 0, 42 }, { "-7", 0, -7 }, { "007", 0, 7 },
        { "9223372036854775807", 0, INT64_MAX },
        { "-9223372036854775808", 0, INT64_MIN },
        { "9223372036854775808", -ERANGE, 0 },
        { "-9223372036854775809", -ERANGE, 0 },
        { "18446744073709551616", -ERANGE, 0 },
        { "", -EINVAL, 0 }, { "-", -EINVAL, 0 }, { "+1", -EINVAL, 0 }, { "1.5", -EINVAL, 0 },
        { " 1", -EINVAL, 0 }, { "1 ", -EINVAL, 0 }, { "1e3", -EINVAL, 0 }, { "0x10", -EINVAL, 0 },
        { "--1", -EINVAL, 0 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t v = 12345;
        CHECK_EQ(http_parse_int(cases[i].in, &v), cases[i].ret);
        if (cases[i].ret == 0)
            CHECK_EQ(v, cases[i].want);
        else
            CHECK_EQ(v, 12345); /* untouched on failure */
    }
    struct http_query q;
    CHECK_EQ(http_query_parse("limit=50&offset=-1&bad=1x", 25, &q), 0);
    int64_t v;
    CHECK_EQ(http_query_get_int(&q, "limit", 0, &v), 0);
    CHECK_EQ(v, 50);
    CHECK_EQ(http_query_get_int(&q, "offset", 0, &v), 0);
    CHECK_EQ(v, -1);
    CHECK_EQ(http_query_get_int(&q, "bad", 0, &v), -EINVAL);
    CHECK_EQ(http_query_get_int(&q, "none", 9, &v), 0);
    CHECK_EQ(v, 9);
    http_query_release(&q);
}
