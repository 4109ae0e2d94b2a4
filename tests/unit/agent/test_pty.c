/* SPDX-License-Identifier: MIT */
/* test_pty.c: EXEC on a pseudo-terminal through a forked agent: the size the command sees,
 * RESIZE, bytes through the terminal both ways, Ctrl-C reaching the foreground group, the
 * default login shell, a background job that keeps the terminal, and bad RESIZE and pty
 * requests ending only their own stream. */
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

/* Collects a stream's output until EXIT; the exit object in *ret (caller frees). */
static bool run_to_exit(struct client *c, uint32_t id, struct buf *out, json_t **ret)
{
    REQUIRE(client_collect(c, id, out, NULL, 20000, ret) == COLLECT_EXIT);
    REQUIRE(*ret);
    return true;
}

static bool expect_error(struct client *c, uint32_t stream, const char *name)
{
    struct wire_frame f;
    REQUIRE(client_expect(c, WIRE_ERROR, stream, &f, 5000) == 1);
    char err[32];
    client_error_name(&f, err, sizeof(err));
    if (strcmp(err, name) != 0) {
        harness_fail(__FILE__, __LINE__, "stream %u: want %s got %s", stream, name, err);
        return false;
    }
    return true;
}

TEST(pty_stty_size_and_term)
{
    struct client c;
    CHECK(start(&c));
    CHECK_EQ(client_send_str(&c, WIRE_EXEC, 1,
                             "{\"argv\":[\"sh\",\"-c\",\"stty size; echo $TERM; tty -s && echo tty\"],"
                             "\"pty\":{\"rows\":30,\"cols\":100}}"),
             0);
    struct buf out;
    buf_init(&out, 1 << 20);
    json_t *end;
    CHECK(run_to_exit(&c, 1, &out, &end));
    CHECK_EQ(json_integer_value(json_object_get(end, "exit_code")), 0);
    json_decref(end);
    /* the terminal turns \n into \r\n (onlcr) */
    CHECK(client_buf_has(&out, "30 100\r\n"));
    CHECK(client_buf_has(&out, "xterm-256color\r\n"));
    CHECK(client_buf_has(&out, "tty\r\n"));
    buf_release(&out);
    client_stop(&c);
}

TEST(pty_resize_seen_by_stty)
{
    struct client c;
    CHECK(start(&c));
    CHECK_EQ(client_send_str(&c, WIRE_EXEC, 1,
                             "{\"argv\":[\"sh\",\"-c\",\"stty size; read x; stty size\"],"
                             "\"pty\":{\"rows\":24,\"cols\":80}}"),
             0);
    struct buf out;
    buf_init(&out, 1 << 20);
    CHECK_EQ(client_collect(&c, 1, &out, "24 80\r\n", 10000, NULL), COLLECT_FOUND);
    CHECK_EQ(client_send_str(&c, WIRE_RESIZE, 1, "{\"rows\":40,\"cols\":132}"), 0);
    CHECK_EQ(client_send(&c, WIRE_STDIN, 0, 1, "\n", 1), 0);
    json_t *end;
    CHECK(run_to_exit(&c, 1, &out, &end));
    CHECK_EQ(json_integer_value(json_object_get(end, "exit_code")), 0);
    json_decref(end);
    CHECK(client_buf_has(&out, "40 132\r\n"));
    buf_release(&out);
    client_stop(&c);
}

TEST(pty_bytes_round_trip)
{
    struct client c;
    CHECK(start(&c));
    /* raw mode: bytes pass the line discipline untouched both ways; od shows what arrived */
    CHECK_EQ(client_send_str(&c, WIRE_EXEC, 1,
                             "{\"argv\":[\"sh\",\"-c\",\"stty raw -echo; printf 'ready\\\\n'; "
                             "head -c 5 | od -An -tx1; printf 'a\\\\tb\\\\001\\\\n'\"],"
                             "\"pty\":{\"rows\":24,\"cols\":80}}"),
             0);
    struct buf out;
    buf_init(&out, 1 << 20);
    CHECK_EQ(client_collect(&c, 1, &out, "ready", 10000, NULL), COLLECT_FOUND);
    CHECK_EQ(client_send(&c, WIRE_STDIN, 0, 1, "h\x01\xff\tz", 5), 0);
    json_t *end;
    CHECK(run_to_exit(&c, 1, &out, &end));
    CHECK_EQ(json_integer_value(json_object_get(end, "exit_code")), 0);
    json_decref(end);
    CHECK(client_buf_has(&out, "68 01 ff 09 7a"));
    CHECK(client_buf_has(&out, "a\tb\x01\n"));
    buf_release(&out);
    client_stop(&c);
}

TEST(pty_ctrl_c_kills_foreground_sleep)
{
    struct client c;
    CHECK(start(&c));
    CHECK_EQ(client_send_str(&c, WIRE_EXEC, 1,
                             "{\"argv\":[\"sleep\",\"100\"],\"pty\":{\"rows\":24,\"cols\":80}}"),
             0);
    CHECK(client_ping(&c)); /* the exec was read, so sleep runs on its terminal */
    usleep(100000);
    CHECK_EQ(client_send(&c, WIRE_STDIN, 0, 1, "\x03", 1), 0);
    struct buf out;
    buf_init(&out, 1 << 20);
    json_t *end;
    CHECK(run_to_exit(&c, 1, &out, &end));
    CHECK_EQ(json_integer_value(json_object_get(end, "signal")), 2);
    json_decref(end);
    buf_release(&out);
    client_stop(&c);
}

TEST(pty_default_login_shell)
{
    struct client c;
    CHECK(start(&c));
    CHECK_EQ(client_send_str(&c, WIRE_EXEC, 1, "{\"pty\":{\"rows\":24,\"cols\":80}}"), 0);
    CHECK_EQ(client_send_str(&c, WIRE_STDIN, 1, "echo \"[$0]\"; exit 7\n"), 0);
    struct buf out;
    buf_init(&out, 1 << 20);
    json_t *end;
    CHECK(run_to_exit(&c, 1, &out, &end));
    CHECK_EQ(json_integer_value(json_object_get(end, "exit_code")), 7);
    json_decref(end);
    /* a login shell's $0 starts with '-' or is the shell's path, depending on the shell */
    CHECK(client_buf_has(&out, "[/bin/bash]") || client_buf_has(&out, "[/bin/sh]") ||
          client_buf_has(&out, "[-"));
    buf_release(&out);
    client_stop(&c);
}

TEST(pty_stdin_eof_keeps_terminal)
{
    struct client c;
    CHECK(start(&c));
    CHECK_EQ(client_send_str(&c, WIRE_EXEC, 1,
                             "{\"argv\":[\"sh\",\"-c\",\"sleep 0.3; echo still-here\"],"
                             "\"pty\":{\"rows\":24,\"cols\":80}}"),
             0);
    CHECK_EQ(client_send(&c, WIRE_STDIN, WIRE_F_EOF, 1, NULL, 0), 0);
    struct buf out;
    buf_init(&out, 1 << 20);
    json_t *end;
    CHECK(run_to_exit(&c, 1, &out, &end));
    CHECK_EQ(json_integer_value(json_object_get(end, "exit_code")), 0);
    json_decref(end);
    CHECK(client_buf_has(&out, "still-here"));
    buf_release(&out);
    client_stop(&c);
}

TEST(pty_background_holder_does_not_block_exit)
{
    struct client c;
    CHECK(start(&c));
    /* setsid: the background job leaves the session, so no hang-up ends it; it keeps the
     * terminal open and the stream still ends once the leader is gone */
    CHECK_EQ(client_send_str(&c, WIRE_EXEC, 1,
                             "{\"argv\":[\"sh\",\"-c\",\"setsid sleep 3 & sleep 0.3; echo leader-done\"],"
                             "\"pty\":{\"rows\":24,\"cols\":80}}"),
             0);
    struct buf out;
    buf_init(&out, 1 << 20);
    json_t *end;
    uint64_t t0 = harness_now_us();
    CHECK(run_to_exit(&c, 1, &out, &end));
    CHECK_EQ(json_integer_value(json_object_get(end, "exit_code")), 0);
    json_decref(end);
    CHECK(client_buf_has(&out, "leader-done"));
    CHECK(harness_now_us() - t0 < 2500000); /* not the 3 s of the holder */
    buf_release(&out);
    client_stop(&c);
}

TEST(pty_bad_resize_ends_only_its_stream)
{
    static const char *const bad[] = {
        "{\"rows\":0,\"cols\":80}",     "{\"rows\":24,\"cols\":1001}", "{\"rows\":1001,\"cols\":1}",
        "{\"rows\":-1,\"cols\":80}",    "{\"rows\":24}",               "{\"rows\":\"24\",\"cols\":80}",
        "{\"rows\":24.5,\"cols\":80}",  "[24,80]",                     "garbage{",
        "",                             "{\"rows\":99999999999999999999,\"cols\":1}",
    };
    struct client c;
    CHECK(start(&c));
    /* a bystander on its own terminal must live through all of it */
    CHECK_EQ(client_send_str(&c, WIRE_EXEC, 500,
                             "{\"argv\":[\"sh\",\"-c\",\"read x; stty size\"],"
                             "\"pty\":{\"rows\":11,\"cols\":22}}"),
             0);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint32_t id = 10 + (uint32_t)i;
        CHECK_EQ(client_send_str(&c, WIRE_EXEC, id,
                                 "{\"argv\":[\"sleep\",\"30\"],\"pty\":{\"rows\":24,\"cols\":80}}"),
                 0);
        CHECK_EQ(client_send_str(&c, WIRE_RESIZE, id, bad[i]), 0);
        CHECK(expect_error(&c, id, "EINVAL"));
    }
    /* RESIZE on a command without a terminal, and on no stream at all */
    CHECK_EQ(client_send_str(&c, WIRE_EXEC, 60, "{\"argv\":[\"sleep\",\"30\"]}"), 0);
    CHECK_EQ(client_send_str(&c, WIRE_RESIZE, 60, "{\"rows\":24,\"cols\":80}"), 0);
    CHECK(expect_error(&c, 60, "ENOTTY"));
    CHECK_EQ(client_send_str(&c, WIRE_RESIZE, 61, "{\"rows\":24,\"cols\":80}"), 0);
    CHECK(expect_error(&c, 61, "ESRCH"));
    CHECK_EQ(client_send_str(&c, WIRE_RESIZE, 0, "{\"rows\":24,\"cols\":80}"), 0);
    CHECK(expect_error(&c, 0, "ESRCH"));
    /* the bystander: still at its size */
    CHECK_EQ(client_send(&c, WIRE_STDIN, 0, 500, "\n", 1), 0);
    struct buf out;
    buf_init(&out, 1 << 20);
    json_t *end;
    CHECK(run_to_exit(&c, 500, &out, &end));
    CHECK_EQ(json_integer_value(json_object_get(end, "exit_code")), 0);
    json_decref(end);
    CHECK(client_buf_has(&out, "11 22\r\n"));
    buf_release(&out);
    client_stop(&c);
}

TEST(pty_bad_requests)
{
    static const char *const bad[] = {
        "{\"pty\":{\"rows\":0,\"cols\":80}}",
        "{\"pty\":{\"rows\":24,\"cols\":1001}}",
        "{\"pty\":\"yes\"}",
        "{\"pty\":true}",
        "{\"pty\":{}}",
        "{\"argv\":[],\"pty\":{\"rows\":24,\"cols\":80}}",
        "{\"argv\":\"sh\",\"pty\":{\"rows\":24,\"cols\":80}}",
        "{\"argv\":[1],\"pty\":{\"rows\":24,\"cols\":80}}",
        "{\"stdin\":true}", /* no argv without a pty */
    };
    struct client c;
    CHECK(start(&c));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint32_t id = 1 + (uint32_t)i;
        CHECK_EQ(client_send_str(&c, WIRE_EXEC, id, bad[i]), 0);
        CHECK(expect_error(&c, id, "EINVAL"));
    }
    CHECK(client_ping(&c));
    client_stop(&c);
}
