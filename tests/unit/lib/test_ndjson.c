/* SPDX-License-Identifier: MIT */
/* test_ndjson.c: NDJSON line splitting whatever the chunk boundaries, and exec frame decoding
 * with hostile lines. */
#include "lib/ndjson.h"
#include "harness.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>

struct collect {
    char lines[16][128];
    size_t n;
};

static int on_line(void *ud, const char *line, size_t len)
{
    struct collect *c = ud;
    if (c->n >= 16 || len >= 128)
        return -E2BIG;
    memcpy(c->lines[c->n], line, len);
    c->lines[c->n++][len] = '\0';
    return 0;
}

static const char stream[] = "{\"stdout\":\"a\\n\"}\n{\"hb\":true}\r\n\n{\"stderr\":\"\xc3\xa9\"}\n"
                             "{\"exit_code\":3}\n";

static bool check_lines(const struct collect *c)
{
    REQUIRE(c->n == 4);
    REQUIRE(strcmp(c->lines[0], "{\"stdout\":\"a\\n\"}") == 0);
    REQUIRE(strcmp(c->lines[1], "{\"hb\":true}") == 0);
    REQUIRE(strcmp(c->lines[2], "{\"stderr\":\"\xc3\xa9\"}") == 0);
    REQUIRE(strcmp(c->lines[3], "{\"exit_code\":3}") == 0);
    return true;
}

TEST(ndjson_split_at_every_byte_pair)
{
    size_t len = sizeof(stream) - 1;
    for (size_t i = 0; i <= len; i++)
        for (size_t j = i; j <= len; j++) {
            struct ndjson nd;
            struct collect c = { .n = 0 };
            ndjson_init(&nd, 1024);
            CHECK_EQ(ndjson_feed(&nd, stream, i, on_line, &c), 0);
            CHECK_EQ(ndjson_feed(&nd, stream + i, j - i, on_line, &c), 0);
            CHECK_EQ(ndjson_feed(&nd, stream + j, len - j, on_line, &c), 0);
            CHECK(!ndjson_pending(&nd));
            ndjson_release(&nd);
            if (!check_lines(&c))
                return;
        }
}

TEST(ndjson_one_byte_at_a_time)
{
    struct ndjson nd;
    struct collect c = { .n = 0 };
    ndjson_init(&nd, 1024);
    for (size_t i = 0; i < sizeof(stream) - 1; i++)
        CHECK_EQ(ndjson_feed(&nd, stream + i, 1, on_line, &c), 0);
    ndjson_release(&nd);
    CHECK(check_lines(&c));
}

TEST(ndjson_partial_tail_is_pending)
{
    struct ndjson nd;
    struct collect c = { .n = 0 };
    ndjson_init(&nd, 1024);
    CHECK_EQ(ndjson_feed(&nd, "{\"exit_code\":0}\n{\"std", 21, on_line, &c), 0);
    CHECK_EQ(c.n, 1);
    CHECK(ndjson_pending(&nd));
    ndjson_release(&nd);
}

TEST(ndjson_line_cap)
{
    struct ndjson nd;
    struct collect c = { .n = 0 };
    ndjson_init(&nd, 8);
    CHECK_EQ(ndjson_feed(&nd, "0123456789", 10, on_line, &c), -EMSGSIZE);
    ndjson_release(&nd);
    ndjson_init(&nd, 8);
    CHECK_EQ(ndjson_feed(&nd, "0123456789\n", 11, on_line, &c), -EMSGSIZE);
    ndjson_release(&nd);
    ndjson_init(&nd, 8);
    CHECK_EQ(ndjson_feed(&nd, "0123", 4, on_line, &c), 0);
    CHECK_EQ(ndjson_feed(&nd, "456789\n", 7, on_line, &c), -EMSGSIZE);
    ndjson_release(&nd);
}

TEST(ndjson_callback_stops_feed)
{
    struct ndjson nd;
    struct collect c = { .n = 16 }; /* full: the callback refuses */
    ndjson_init(&nd, 64);
    CHECK_EQ(ndjson_feed(&nd, "{}\n{}\n", 6, on_line, &c), -E2BIG);
    ndjson_release(&nd);
}

TEST(exec_frames_decode)
{
    static const struct {
        const char *line;
        int ret;
        enum hearth_frame_kind kind;
        int exit_code;
        const char *data;
    } cases[] = {
        { "{\"stdout\":\"hi\\n\"}", 0, HEARTH_FRAME_STDOUT, 0, "hi\n" },
        { "{\"stderr\":\"oops\"}", 0, HEARTH_FRAME_STDERR, 0, "oops" },
        { "{\"error\":\"agent connection lost\"}", 0, HEARTH_FRAME_ERROR, 0,
          "agent connection lost" },
        { "{\"hb\":true}", 0, HEARTH_FRAME_HEARTBEAT, 0, NULL },
        { "{\"exit_code\":0}", 0, HEARTH_FRAME_EXIT, 0, NULL },
        { "{\"exit_code\":-1}", 0, HEARTH_FRAME_EXIT, -1, NULL },
        { "{\"exit_code\":255}", 0, HEARTH_FRAME_EXIT, 255, NULL },
        { "{\"future\":1}", 0, HEARTH_FRAME_UNKNOWN, 0, NULL },
        { "{\"exit_code\":256}", -EBADMSG, 0, 0, NULL },
        { "{\"exit_code\":99999999999999999999}", -EBADMSG, 0, 0, NULL },
        { "{\"exit_code\":\"0\"}", -EBADMSG, 0, 0, NULL },
        { "{\"exit_code\":1.5}", -EBADMSG, 0, 0, NULL },
        { "{\"stdout\":5}", -EBADMSG, 0, 0, NULL },
        { "{\"stdout\":null}", -EBADMSG, 0, 0, NULL },
        { "[1,2]", -EBADMSG, 0, 0, NULL },
        { "\"str\"", -EBADMSG, 0, 0, NULL },
        { "{\"stdout\":\"a\"", -EBADMSG, 0, 0, NULL },
        { "{\"stdout\":\"\\ud800\"}", -EBADMSG, 0, 0, NULL },
        { "not json", -EBADMSG, 0, 0, NULL },
        { "{}{}", -EBADMSG, 0, 0, NULL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct hearth_frame f;
        json_t *hold = NULL;
        int r = ndjson_exec_frame(cases[i].line, strlen(cases[i].line), &f, &hold);
        if (r != cases[i].ret)
            harness_fail(__FILE__, __LINE__, "case %zu '%s': %d", i, cases[i].line, r);
        if (r == 0) {
            CHECK_EQ(f.kind, cases[i].kind);
            if (f.kind == HEARTH_FRAME_EXIT)
                CHECK_EQ(f.exit_code, cases[i].exit_code);
            if (cases[i].data)
                CHECK_STR(f.data, cases[i].data);
            CHECK_EQ(f.line_len, strlen(cases[i].line));
        }
        json_decref(hold);
    }
}

TEST(exec_frame_keeps_nul_bytes)
{
    const char line[] = "{\"stdout\":\"a\\u0000b\"}";
    struct hearth_frame f;
    json_t *hold = NULL;
    CHECK_EQ(ndjson_exec_frame(line, sizeof(line) - 1, &f, &hold), 0);
    CHECK_EQ(f.len, 3);
    CHECK(memcmp(f.data, "a\0b", 3) == 0);
    json_decref(hold);
}
