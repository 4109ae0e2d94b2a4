/* SPDX-License-Identifier: MIT */
/* test_hostile.c: hostile and out-of-order input to a forked agent. After each case the agent
 * must still answer PING and run a command. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "harness.h"

static bool start(struct client *c)
{
    REQUIRE(client_start(c, NULL) == 0);
    struct wire_frame f;
    REQUIRE(client_expect(c, WIRE_READY, 0, &f, 5000) == 1);
    return true;
}

static uint32_t next_id = 1000;

/* The agent still answers and runs commands. */
static bool healthy(struct client *c)
{
    REQUIRE(client_ping(c));
    struct exec_result r;
    REQUIRE(client_exec(c, next_id++, "{\"argv\":[\"echo\",\"alive\"]}", NULL, 0, &r) == 0);
    REQUIRE(r.exit_code == 0 && r.out.len == 6 && memcmp(r.out.data, "alive\n", 6) == 0);
    exec_result_release(&r);
    return true;
}

TEST(hostile_garbage)
{
    struct client c;
    CHECK(start(&c));
    uint8_t junk[4096];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 131 + 7);
    memcpy(junk + 100, "hrt", 3); /* a near-magic in the middle */
    CHECK_EQ(client_send_raw(&c, junk, sizeof(junk)), 0);
    CHECK(healthy(&c));
    client_stop(&c);
}

TEST(hostile_truncated_frame_then_good)
{
    struct client c;
    CHECK(start(&c));
    uint8_t hdr[WIRE_HEADER_SIZE];
    wire_header_put(hdr, WIRE_PING, 0, 0, 100);
    CHECK_EQ(client_send_raw(&c, hdr, sizeof(hdr)), 0);
    CHECK_EQ(client_send_raw(&c, "only fifty bytes of the promised hundred..........", 50), 0);
    /* The next frames complete the truncated one; the reader resynchronises behind it. */
    bool ok = false;
    for (int i = 0; i < 5 && !ok; i++)
        ok = client_ping(&c);
    CHECK(ok);
    CHECK(healthy(&c));
    client_stop(&c);
}

TEST(hostile_oversized_and_type0)
{
    struct client c;
    CHECK(start(&c));
    uint8_t hdr[WIRE_HEADER_SIZE];
    wire_header_put(hdr, WIRE_EXEC, 0, 1, 0x7fffffff);
    CHECK_EQ(client_send_raw(&c, hdr, sizeof(hdr)), 0);
    wire_header_put(hdr, WIRE_PING, 0, 1, WIRE_MAX_PAYLOAD + 1);
    CHECK_EQ(client_send_raw(&c, hdr, sizeof(hdr)), 0);
    wire_header_put(hdr, 0, 0, 1, 0);
    CHECK_EQ(client_send_raw(&c, hdr, sizeof(hdr)), 0);
    CHECK(healthy(&c));
    /* A maximal PING is fine and echoed whole. */
    static uint8_t big[WIRE_MAX_PAYLOAD];
    memset(big, 'x', sizeof(big));
    CHECK_EQ(client_send(&c, WIRE_PING, 0, 9, big, sizeof(big)), 0);
    struct wire_frame f;
    CHECK_EQ(client_expect(&c, WIRE_PONG, 9, &f, 5000), 1);
    CHECK_EQ(f.len, WIRE_MAX_PAYLOAD);
    client_stop(&c);
}

TEST(hostile_unknown_and_agent_only_types)
{
    struct client c;
    CHECK(start(&c));
    CHECK_EQ(client_send(&c, 999, 0, 5, "x", 1), 0);
    CHECK(client_expect_error(&c, 5, "EPROTO"));
    CHECK_EQ(client_send(&c, WIRE_STDOUT, 0, 6, "x", 1), 0);
    CHECK(client_expect_error(&c, 6, "EPROTO"));
    CHECK_EQ(client_send_str(&c, WIRE_EXIT, 0, "{}"), 0);
    CHECK(client_expect_error(&c, 0, "EPROTO"));
    CHECK(healthy(&c));
    client_stop(&c);
}

TEST(hostile_out_of_order)
{
    struct client c;
    CHECK(start(&c));
    CHECK_EQ(client_send(&c, WIRE_STDIN, 0, 40, "x", 1), 0);
    CHECK(client_expect_error(&c, 40, "ESRCH"));
    CHECK_EQ(client_send(&c, WIRE_DATA, WIRE_F_EOF, 41, "x", 1), 0);
    CHECK(client_expect_error(&c, 41, "ESRCH"));
    CHECK_EQ(client_send_str(&c, WIRE_SIGNAL, 42, "{\"signal\":9}"), 0);
    CHECK(client_expect_error(&c, 42, "ESRCH"));
    CHECK_EQ(client_send(&c, WIRE_CANCEL, 0, 43, NULL, 0), 0);
    CHECK(client_expect_error(&c, 43, "ESRCH"));
    CHECK_EQ(client_send_str(&c, WIRE_EXEC, 0, "{\"argv\":[\"true\"]}"), 0);
    CHECK(client_expect_error(&c, 0, "EINVAL"));
    CHECK_EQ(client_send_str(&c, WIRE_HELLO, 0, "{bad json"), 0);
    CHECK(client_expect_error(&c, 0, "EINVAL"));
    CHECK(healthy(&c));
    client_stop(&c);
}

TEST(hostile_duplicate_stream_id)
{
    struct client c;
    CHECK(start(&c));
    CHECK_EQ(client_send_str(&c, WIRE_EXEC, 9, "{\"argv\":[\"sh\",\"-c\",\"read x; echo got $x\"],"
                                               "\"stdin\":true}"),
             0);
    CHECK_EQ(client_send_str(&c, WIRE_EXEC, 9, "{\"argv\":[\"true\"]}"), 0);
    CHECK(client_expect_error(&c, 9, "EEXIST"));
    CHECK_EQ(client_send_str(&c, WIRE_FILE_GET, 9, "{\"path\":\"/etc/passwd\"}"), 0);
    CHECK(client_expect_error(&c, 9, "EEXIST"));
    /* The first stream is undisturbed. */
    CHECK_EQ(client_send(&c, WIRE_STDIN, WIRE_F_EOF, 9, "yes\n", 4), 0);
    struct wire_frame f;
    CHECK_EQ(client_expect(&c, WIRE_STDOUT, 9, &f, 5000), 1);
    CHECK_EQ(f.len, 8);
    CHECK(memcmp(f.payload, "got yes\n", 8) == 0);
    CHECK_EQ(client_expect(&c, WIRE_EXIT, 9, &f, 5000), 1);
    CHECK(healthy(&c));
    client_stop(&c);
}

TEST(hostile_bad_frames_on_open_stream)
{
    static const struct {
        uint16_t type;
        uint16_t flags;
        const char *payload, *err;
    } cases[] = {
        { WIRE_WINDOW, 0, "abc", "EPROTO" },
        { WIRE_WINDOW, 0, "abcde", "EPROTO" },
        { WIRE_SIGNAL, 0, "{\"signal\":\"TERM\"}", "EINVAL" },
        { WIRE_SIGNAL, 0, "{\"signal\":0}", "EINVAL" },
        { WIRE_SIGNAL, 0, "{\"signal\":1000}", "EINVAL" },
        { WIRE_SIGNAL, 0, "[]", "EINVAL" },
        { WIRE_DATA, 0, "x", "EPROTO" },
        { WIRE_STDIN, 0, "x", "EPROTO" }, /* stdin was not asked for */
    };
    struct client c;
    CHECK(start(&c));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint32_t id = 100 + (uint32_t)i;
        CHECK_EQ(client_send_str(&c, WIRE_EXEC, id, "{\"argv\":[\"sleep\",\"100\"]}"), 0);
        CHECK_EQ(client_send(&c, cases[i].type, cases[i].flags, id, cases[i].payload,
                             strlen(cases[i].payload)),
                 0);
        CHECK(client_expect_error(&c, id, cases[i].err));
    }
    CHECK(healthy(&c));
    client_stop(&c);
}

/* STDIN beyond the window (the command does not read) ends the stream with EPROTO. */
TEST(hostile_stdin_beyond_window)
{
    struct client c;
    CHECK(start(&c));
    CHECK_EQ(client_send_str(&c, WIRE_EXEC, 3, "{\"argv\":[\"sleep\",\"100\"],\"stdin\":true}"),
             0);
    static uint8_t chunk[WIRE_DATA_CHUNK];
    for (int i = 0; i < 18; i++)
        CHECK_EQ(client_send(&c, WIRE_STDIN, 0, 3, chunk, sizeof(chunk)), 0);
    CHECK(client_expect_error(&c, 3, "EPROTO"));
    CHECK(healthy(&c));
    client_stop(&c);
}

TEST(hostile_huge_argv_and_env)
{
    struct client c;
    CHECK(start(&c));
    struct buf req;
    buf_init(&req, WIRE_MAX_PAYLOAD);
    CHECK_EQ(buf_appendf(&req, "{\"argv\":[\"true\""), 0);
    for (int i = 0; i < 5000; i++)
        CHECK_EQ(buf_appendf(&req, ",\"a\""), 0);
    CHECK_EQ(buf_appendf(&req, "]}"), 0);
    CHECK_EQ(client_send(&c, WIRE_EXEC, 0, 1, req.data, req.len), 0);
    CHECK(client_expect_error(&c, 1, "EINVAL"));
    /* 4000 arguments are fine. */
    req.len = 0;
    CHECK_EQ(buf_appendf(&req, "{\"argv\":[\"true\""), 0);
    for (int i = 0; i < 4000; i++)
        CHECK_EQ(buf_appendf(&req, ",\"a\""), 0);
    CHECK_EQ(buf_appendf(&req, "],\"env\":{\"A\":\"%0200d\"}}", 1), 0);
    struct exec_result r;
    req.data[req.len] = 0;
    CHECK_EQ(client_exec(&c, 2, (const char *)req.data, NULL, 0, &r), 0);
    CHECK_EQ(r.exit_code, 0);
    exec_result_release(&r);
    /* Embedded NUL and invalid UTF-8 in JSON strings. */
    CHECK_EQ(client_send_str(&c, WIRE_EXEC, 3, "{\"argv\":[\"tr\\u0000ue\"]}"), 0);
    CHECK(client_expect_error(&c, 3, "EINVAL"));
    CHECK_EQ(client_send_str(&c, WIRE_EXEC, 4, "{\"argv\":[\"\xff\xfe\"]}"), 0);
    CHECK(client_expect_error(&c, 4, "EINVAL"));
    buf_release(&req);
    CHECK(healthy(&c));
    client_stop(&c);
}

/* Every frame type with every small payload shape on a fresh and an open stream. */
TEST(hostile_type_sweep)
{
    static const char *const payloads[] = { "", "{}", "null", "[", "\"x\"", "{\"path\":1}" };
    struct client c;
    CHECK(start(&c));
    CHECK_EQ(client_send_str(&c, WIRE_EXEC, 7, "{\"argv\":[\"sleep\",\"100\"]}"), 0);
    for (uint16_t t = 1; t <= 50; t++) {
        if (t == WIRE_POWER)
            continue;
        for (size_t p = 0; p < sizeof(payloads) / sizeof(payloads[0]); p++) {
            CHECK_EQ(client_send(&c, t, 0, 500 + t, payloads[p], strlen(payloads[p])), 0);
            CHECK_EQ(client_send(&c, t, 0, 7, payloads[p], strlen(payloads[p])), 0);
        }
    }
    CHECK(healthy(&c));
    client_stop(&c);
}

/* A host that left a frame half-written and a new host that reconnected before the agent saw
 * the hang-up: the new host's zero preamble finishes the stale frame, its HELLO (a new session)
 * is answered with READY naming that session, and the old host's streams end. */
TEST(hostile_reconnect_mid_frame_new_session)
{
    struct client c;
    CHECK(start(&c));
    CHECK_EQ(client_send_str(&c, WIRE_HELLO, 0, "{\"version\":1,\"session\":\"first\"}"), 0);
    struct wire_frame f;
    CHECK_EQ(client_expect(&c, WIRE_READY, 0, &f, 5000), 1);
    CHECK(memmem(f.payload, f.len, "\"session\":\"first\"", 17) != NULL);
    /* a long command of the first session, then a frame cut off after its header */
    CHECK_EQ(client_send_str(&c, WIRE_EXEC, 7, "{\"argv\":[\"sleep\",\"60\"]}"), 0);
    uint8_t hdr[WIRE_HEADER_SIZE];
    wire_header_put(hdr, WIRE_STDIN, 0, 7, 200000);
    CHECK_EQ(client_send_raw(&c, hdr, sizeof(hdr)), 0);
    /* the second host: preamble, then HELLO with its own session */
    static uint8_t zeros[WIRE_HEADER_SIZE + WIRE_MAX_PAYLOAD];
    CHECK_EQ(client_send_raw(&c, zeros, sizeof(zeros)), 0);
    CHECK_EQ(client_send_str(&c, WIRE_HELLO, 0, "{\"version\":1,\"session\":\"second\"}"), 0);
    bool ready = false, ended = false;
    while (!ready || !ended) {
        CHECK_EQ(client_recv(&c, &f, 10000), 1);
        if (f.type == WIRE_READY) {
            CHECK(memmem(f.payload, f.len, "\"session\":\"second\"", 18) != NULL);
            ready = true;
        } else if (f.stream == 7 && (f.type == WIRE_EXIT || f.type == WIRE_ERROR)) {
            ended = true; /* the first session's command is gone */
        }
    }
    /* a repeated HELLO of the same session keeps that session's streams */
    CHECK_EQ(client_send_str(&c, WIRE_EXEC, 8, "{\"argv\":[\"sh\",\"-c\",\"sleep 0.3; echo kept\"]}"),
             0);
    CHECK_EQ(client_send_str(&c, WIRE_HELLO, 0, "{\"version\":1,\"session\":\"second\"}"), 0);
    CHECK_EQ(client_expect(&c, WIRE_STDOUT, 8, &f, 10000), 1);
    CHECK(f.len == 5 && memcmp(f.payload, "kept\n", 5) == 0);
    CHECK(healthy(&c));
    client_stop(&c);
}
