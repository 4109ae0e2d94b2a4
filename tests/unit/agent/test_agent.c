/* SPDX-License-Identifier: MIT */
/* test_agent.c: drives hearth-agent's loop (non-PID-1 mode, over a socketpair) through the
 * protocol: handshake, exec with every option, flow control, concurrency, signals and
 * timeouts. Files and hostile input have their own test files. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "harness.h"

/* Starts an agent and eats its unsolicited READY. */
static bool start(struct client *c)
{
    REQUIRE(client_start(c, NULL) == 0);
    struct wire_frame f;
    REQUIRE(client_expect(c, WIRE_READY, 0, &f, 5000) == 1);
    return true;
}

static bool out_is(const struct exec_result *r, const char *want)
{
    REQUIRE(r->out.len == strlen(want));
    REQUIRE(memcmp(r->out.data, want, r->out.len) == 0);
    return true;
}

TEST(agent_hello_ready)
{
    struct client c;
    CHECK(start(&c));
    CHECK_EQ(client_send_str(&c, WIRE_HELLO, 0, "{\"version\":1,\"time_ns\":1700000000000000000}"),
             0);
    struct wire_frame f;
    CHECK_EQ(client_expect(&c, WIRE_READY, 0, &f, 5000), 1);
    json_t *o = json_loadb((const char *)f.payload, f.len, 0, NULL);
    CHECK(o);
    CHECK_EQ(json_integer_value(json_object_get(o, "version")), 1);
    CHECK_STR(json_string_value(json_object_get(o, "agent")), "hearth-agent/0.1.0");
    CHECK(json_is_string(json_object_get(o, "boot_id")));
    CHECK(json_is_integer(json_object_get(o, "uptime_ms")));
    CHECK_EQ(json_integer_value(json_object_get(o, "pid")), c.agent);
    json_decref(o);
    client_stop(&c);
}

TEST(agent_ping_any_stream)
{
    struct client c;
    CHECK(start(&c));
    CHECK(client_ping(&c));
    CHECK_EQ(client_send(&c, WIRE_PING, 0, 77, "abc", 3), 0);
    struct wire_frame f;
    CHECK_EQ(client_expect(&c, WIRE_PONG, 77, &f, 5000), 1);
    CHECK_EQ(f.len, 3);
    CHECK(memcmp(f.payload, "abc", 3) == 0);
    client_stop(&c);
}

TEST(agent_exec_echo)
{
    struct client c;
    CHECK(start(&c));
    struct exec_result r;
    CHECK_EQ(client_exec(&c, 1, "{\"argv\":[\"echo\",\"hi\"]}", NULL, 0, &r), 0);
    CHECK_STR(r.error, "");
    CHECK_EQ(r.exit_code, 0);
    CHECK(out_is(&r, "hi\n"));
    CHECK_EQ(r.err.len, 0);
    exec_result_release(&r);
    client_stop(&c);
}

TEST(agent_exec_exit_codes_and_signals)
{
    static const struct {
        const char *req;
        int code, sig;
    } cases[] = {
        { "{\"argv\":[\"sh\",\"-c\",\"exit 3\"]}", 3, 0 },
        { "{\"argv\":[\"sh\",\"-c\",\"exit 0\"]}", 0, 0 },
        { "{\"argv\":[\"false\"]}", 1, 0 },
        { "{\"argv\":[\"sh\",\"-c\",\"kill -9 $$\"]}", -1, 9 },
        { "{\"argv\":[\"sh\",\"-c\",\"kill -TERM $$\"]}", -1, 15 },
    };
    struct client c;
    CHECK(start(&c));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct exec_result r;
        CHECK_EQ(client_exec(&c, (uint32_t)i + 1, cases[i].req, NULL, 0, &r), 0);
        CHECK_EQ(r.exit_code, cases[i].code);
        CHECK_EQ(r.signal, cases[i].sig);
        exec_result_release(&r);
    }
    client_stop(&c);
}

TEST(agent_exec_stderr_env_cwd)
{
    struct client c;
    CHECK(start(&c));
    struct exec_result r;
    CHECK_EQ(client_exec(&c, 1,
                         "{\"argv\":[\"sh\",\"-c\",\"echo $FOO $HOME $LANG; pwd; echo oops >&2\"],"
                         "\"env\":{\"FOO\":\"bar baz\",\"HOME\":\"/nowhere\"},\"cwd\":\"/tmp\"}",
                         NULL, 0, &r),
             0);
    CHECK_EQ(r.exit_code, 0);
    CHECK(out_is(&r, "bar baz /nowhere C.UTF-8\n/tmp\n"));
    CHECK_EQ(r.err.len, 5);
    CHECK(memcmp(r.err.data, "oops\n", 5) == 0);
    exec_result_release(&r);
    client_stop(&c);
}

TEST(agent_exec_start_failures)
{
    static const struct {
        const char *req, *err;
    } cases[] = {
        { "{\"argv\":[\"/nonexistent/cmd\"]}", "ENOENT" },
        { "{\"argv\":[\"no-such-command-hearth\"]}", "ENOENT" },
        { "{\"argv\":[\"/tmp\"]}", "EACCES" },
        { "{\"argv\":[\"true\"],\"cwd\":\"/nonexistent/dir\"}", "ENOENT" },
        { "{\"argv\":[\"true\"],\"cwd\":\"relative\"}", "EINVAL" },
        { "{\"argv\":[]}", "EINVAL" },
        { "{\"argv\":\"true\"}", "EINVAL" },
        { "{\"argv\":[1]}", "EINVAL" },
        { "{}", "EINVAL" },
        { "[1,2]", "EINVAL" },
        { "{\"argv\":[\"true\"], \"env\":{\"A\":1}}", "EINVAL" },
        { "{\"argv\":[\"true\"], \"env\":{\"A=B\":\"x\"}}", "EINVAL" },
        { "{\"argv\":[\"true\"], \"stdin\":\"yes\"}", "EINVAL" },
        { "{\"argv\":[\"true\"], \"timeout_ms\":-5}", "EINVAL" },
        { "{\"argv\":[\"true\"], \"timeout_ms\":\"5\"}", "EINVAL" },
        { "{\"argv\":[\"true\"], \"argv\":[\"true\"]}", "EINVAL" },
        { "{\"argv\":[\"tr", "EINVAL" },
    };
    struct client c;
    CHECK(start(&c));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct exec_result r;
        CHECK_EQ(client_exec(&c, (uint32_t)i + 1, cases[i].req, NULL, 0, &r), 0);
        if (strcmp(r.error, cases[i].err) != 0)
            harness_fail(__FILE__, __LINE__, "case %zu: %s: want %s got '%s'", i, cases[i].req,
                         cases[i].err, r.error);
        exec_result_release(&r);
    }
    CHECK(client_ping(&c));
    client_stop(&c);
}

TEST(agent_exec_stdin)
{
    struct client c;
    CHECK(start(&c));
    struct exec_result r;
    CHECK_EQ(client_exec(&c, 1, "{\"argv\":[\"cat\"],\"stdin\":true}", "hello\nworld", 11, &r),
             0);
    CHECK_EQ(r.exit_code, 0);
    CHECK(out_is(&r, "hello\nworld"));
    exec_result_release(&r);
    /* 256 KiB through cat, checked byte for byte. */
    size_t n = 256 * 1024;
    uint8_t *in = malloc(n);
    CHECK(in);
    for (size_t i = 0; i < n; i++)
        in[i] = (uint8_t)(i * 7 + (i >> 9));
    CHECK_EQ(client_exec(&c, 2, "{\"argv\":[\"cat\"],\"stdin\":true}", in, n, &r), 0);
    CHECK_EQ(r.exit_code, 0);
    CHECK_EQ(r.out.len, n);
    CHECK(memcmp(r.out.data, in, n) == 0);
    free(in);
    exec_result_release(&r);
    /* Without stdin:true the command reads end of file at once. */
    CHECK_EQ(client_exec(&c, 3, "{\"argv\":[\"sh\",\"-c\",\"cat; echo done\"]}", NULL, 0, &r), 0);
    CHECK(out_is(&r, "done\n"));
    exec_result_release(&r);
    client_stop(&c);
}

TEST(agent_exec_signal_and_cancel)
{
    struct client c;
    CHECK(start(&c));
    struct wire_frame f;
    CHECK_EQ(client_send_str(&c, WIRE_EXEC, 5, "{\"argv\":[\"sleep\",\"100\"]}"), 0);
    CHECK(client_ping(&c)); /* the exec was handled */
    CHECK_EQ(client_send_str(&c, WIRE_SIGNAL, 5, "{\"signal\":15}"), 0);
    CHECK_EQ(client_expect(&c, WIRE_EXIT, 5, &f, 5000), 1);
    CHECK(memmem(f.payload, f.len, "\"signal\":15", 11));

    /* CANCEL kills the whole group, grandchildren too: EXIT waits for their pipes. */
    CHECK_EQ(client_send_str(&c, WIRE_EXEC, 6, "{\"argv\":[\"sh\",\"-c\",\"sleep 100 & sleep 100\"]}"),
             0);
    CHECK(client_ping(&c));
    CHECK_EQ(client_send(&c, WIRE_CANCEL, 0, 6, NULL, 0), 0);
    CHECK_EQ(client_expect(&c, WIRE_EXIT, 6, &f, 5000), 1);
    CHECK(memmem(f.payload, f.len, "\"signal\":9", 10));
    client_stop(&c);
}

TEST(agent_exec_timeout)
{
    struct client c;
    CHECK(start(&c));
    struct exec_result r;
    uint64_t t0 = harness_now_us();
    CHECK_EQ(client_exec(&c, 1, "{\"argv\":[\"sleep\",\"30\"],\"timeout_ms\":200}", NULL, 0, &r),
             0);
    CHECK(harness_now_us() - t0 < 10u * 1000 * 1000);
    CHECK_EQ(r.signal, 9);
    CHECK(r.timed_out);
    exec_result_release(&r);
    CHECK_EQ(client_exec(&c, 2, "{\"argv\":[\"true\"],\"timeout_ms\":5000}", NULL, 0, &r), 0);
    CHECK_EQ(r.exit_code, 0);
    CHECK(!r.timed_out);
    exec_result_release(&r);
    client_stop(&c);
}

/* 10 MB of stdout with credit held back: the agent must stop at the window and go on when
 * credit comes back. */
TEST_SLOW(agent_exec_flow_control_10mb, 120)
{
    struct client c;
    CHECK(start(&c));
    const uint64_t total = 10u * 1024 * 1024;
    CHECK_EQ(client_send_str(&c, WIRE_EXEC, 1,
                             "{\"argv\":[\"head\",\"-c\",\"10485760\",\"/dev/zero\"]}"),
             0);
    uint64_t got = 0, outstanding = 0;
    bool stalled_once = false;
    struct wire_frame f;
    for (;;) {
        int r = client_recv(&c, &f, stalled_once ? 20000 : 500);
        if (r == 0 && !stalled_once) {
            /* Nothing more comes without credit: the window is used up exactly. */
            CHECK_EQ(outstanding, WIRE_INITIAL_WINDOW);
            stalled_once = true;
            struct buf b;
            buf_init(&b, 64);
            CHECK_EQ(wire_append_window(&b, 1, (uint32_t)outstanding), 0);
            CHECK_EQ(client_send_raw(&c, b.data, b.len), 0);
            buf_release(&b);
            outstanding = 0;
            continue;
        }
        CHECK_EQ(r, 1);
        if (f.stream != 1)
            continue;
        if (f.type == WIRE_EXIT)
            break;
        CHECK_EQ(f.type, WIRE_STDOUT);
        CHECK(f.len <= WIRE_DATA_CHUNK);
        got += f.len;
        outstanding += f.len;
        CHECK(outstanding <= WIRE_INITIAL_WINDOW);
        /* Hold the first window back to see the agent stop; afterwards grant as we go. */
        if (stalled_once) {
            struct buf b;
            buf_init(&b, 64);
            CHECK_EQ(wire_append_window(&b, 1, f.len), 0);
            CHECK_EQ(client_send_raw(&c, b.data, b.len), 0);
            buf_release(&b);
            outstanding -= f.len;
        }
    }
    CHECK(stalled_once);
    CHECK_EQ(got, total);
    CHECK(memmem(f.payload, f.len, "\"exit_code\":0", 13));
    client_stop(&c);
}

TEST(agent_exec_16_concurrent)
{
    struct client c;
    CHECK(start(&c));
    /* Each command waits until all 16 have started: an agent that ran them one at a time would
     * never finish, so passing proves they ran side by side (no timing involved). */
    char dir[] = "/tmp/hearth-conc-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char req[400];
    for (int i = 1; i <= 16; i++) {
        snprintf(req, sizeof(req),
                 "{\"argv\":[\"sh\",\"-c\",\"touch %s/%d; while [ $(ls %s | wc -l) -lt 16 ]; "
                 "do sleep 0.05; done; echo s%d; exit %d\"]}",
                 dir, i, dir, i, i);
        CHECK_EQ(client_send_str(&c, WIRE_EXEC, (uint32_t)i, req), 0);
    }
    bool exited[17] = { false };
    char out[17][16] = { { 0 } };
    for (int done = 0; done < 16;) {
        struct wire_frame f;
        CHECK_EQ(client_recv(&c, &f, 10000), 1);
        CHECK(f.stream >= 1 && f.stream <= 16);
        if (f.type == WIRE_STDOUT) {
            CHECK(f.len < 15);
            memcpy(out[f.stream], f.payload, f.len);
        } else if (f.type == WIRE_EXIT) {
            char want[32];
            snprintf(want, sizeof(want), "\"exit_code\":%u", f.stream);
            CHECK(memmem(f.payload, f.len, want, strlen(want)));
            CHECK(!exited[f.stream]);
            exited[f.stream] = true;
            done++;
        } else {
            CHECK_EQ(f.type, WIRE_STDOUT);
        }
    }
    for (int i = 1; i <= 16; i++) {
        char path[64];
        snprintf(path, sizeof(path), "%s/%d", dir, i);
        unlink(path);
    }
    rmdir(dir);
    for (int i = 1; i <= 16; i++) {
        char want[16];
        snprintf(want, sizeof(want), "s%d\n", i);
        CHECK_STR(out[i], want);
    }
    client_stop(&c);
}

TEST(agent_power_ends_test_agent)
{
    struct client c;
    CHECK(start(&c));
    CHECK_EQ(client_send_str(&c, WIRE_POWER, 3, "{\"action\":\"bounce\"}"), 0);
    struct wire_frame f;
    CHECK_EQ(client_expect(&c, WIRE_ERROR, 3, &f, 5000), 1);
    CHECK_EQ(client_send_str(&c, WIRE_POWER, 4, "{\"action\":\"poweroff\"}"), 0);
    CHECK_EQ(client_expect(&c, WIRE_DONE, 4, &f, 5000), 1);
    /* Not PID 1: the agent leaves its loop instead of rebooting the machine. */
    CHECK_EQ(client_recv(&c, &f, 5000), -1);
    int st = client_stop(&c);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* Listening mode: a host can go away and come back; its streams die with its connection. */
TEST(agent_reconnect_cancels_streams)
{
    char path[64], pidfile[64];
    snprintf(path, sizeof(path), "/tmp/hearth-agent-test-%d.sock", (int)getpid());
    snprintf(pidfile, sizeof(pidfile), "/tmp/hearth-agent-test-%d.pid", (int)getpid());
    char spec[80];
    snprintf(spec, sizeof(spec), "listen:%s", path);
    struct client c;
    CHECK_EQ(client_start(&c, spec), 0);
    CHECK_EQ(client_connect(&c, path), 0);
    struct wire_frame f;
    CHECK_EQ(client_expect(&c, WIRE_READY, 0, &f, 5000), 1);
    char req[200];
    snprintf(req, sizeof(req), "{\"argv\":[\"sh\",\"-c\",\"echo $$ > %s; exec sleep 100\"]}",
             pidfile);
    CHECK_EQ(client_send_str(&c, WIRE_EXEC, 1, req), 0);
    pid_t pid = 0;
    for (int i = 0; i < 500 && pid <= 0; i++) {
        FILE *fp = fopen(pidfile, "r");
        if (fp) {
            if (fscanf(fp, "%d", &pid) != 1)
                pid = 0;
            fclose(fp);
        }
        if (pid <= 0)
            usleep(10000);
    }
    CHECK(pid > 0);
    CHECK_EQ(client_connect(&c, path), 0); /* drops the first connection */
    CHECK_EQ(client_send_str(&c, WIRE_HELLO, 0, "{\"version\":1}"), 0);
    CHECK_EQ(client_expect(&c, WIRE_READY, 0, &f, 5000), 1);
    bool gone = false;
    for (int i = 0; i < 500 && !gone; i++) {
        gone = kill(pid, 0) < 0 && errno == ESRCH;
        if (!gone)
            usleep(10000);
    }
    CHECK(gone);
    CHECK(client_ping(&c));
    unlink(pidfile);
    client_stop(&c);
    unlink(path);
}
