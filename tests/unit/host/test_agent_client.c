/* SPDX-License-Identifier: MIT */
/* test_agent_client.c: the host agent client against a fake agent on a socketpair: the good
 * protocol (ready, exec, stdin and files under flow control) and hostile peers (garbage,
 * truncated and oversized frames, unknown types and streams, EXIT twice, bad JSON, data
 * beyond credit, a vanished peer, silence, error text cut inside a UTF-8 sequence). */
#include "daemon/host/agent_client.h"
#include "daemon/host/agent_output.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/wire.h"
#include "common/fdio.h"
#include "common/herr.h"
#include "common/mono.h"
#include "harness.h"

#define SEC 1000000

/* --- the test's driver: the event loop an owner of the client runs, in miniature (poll()
 * with a deadline), and the blocking calls the tests are written in, on the asynchronous
 * interface only --- */

static int agent_client_run(struct agent_client *c, int64_t deadline_us, bool (*done)(void *arg),
                            void *arg)
{
    for (;;) {
        if (done ? done(arg) : agent_client_nstreams(c) == 0)
            return 0;
        struct pollfd pfd = { .fd = agent_client_fd(c),
                              .events = POLLIN | (agent_client_want_write(c) ? POLLOUT : 0) };
        int ms = mono_poll_ms(deadline_us);
        if (ms == 0 && deadline_us >= 0)
            return -ETIMEDOUT;
        int n = poll(&pfd, 1, ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            continue; /* re-check the deadline */
        int r = 0;
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR))
            r = agent_client_on_readable(c);
        else if (pfd.revents & POLLOUT)
            r = agent_client_on_writable(c);
        if (r < 0)
            return (done && done(arg)) ? 0 : r;
    }
}

static bool is_ready(void *arg)
{
    struct agent_client *c = arg;
    return agent_client_ready(c) || agent_client_ready_error(c);
}

static const char *run_err_text(struct agent_client *c, int r)
{
    switch (r) {
    case -ETIMEDOUT:
        return "no answer before the deadline";
    default:
        return agent_client_last_error(c)[0] ? agent_client_last_error(c) : strerror(-r);
    }
}

static int agent_wait_ready(struct agent_client *c, int64_t deadline_us, struct herr *e)
{
    for (;;) {
        int r = agent_client_hello(c);
        if (r < 0)
            return herr_set(e, r, "agent: cannot send HELLO: %s", run_err_text(c, r));
        int64_t tick = mono_now_us() + 200000; /* HELLO resent as the host does */
        bool last = deadline_us >= 0 && tick >= deadline_us;
        r = agent_client_run(c, last ? deadline_us : tick, is_ready, c);
        if (agent_client_ready_error(c))
            return herr_set(e, agent_client_ready_error(c), "agent: %s",
                            agent_client_last_error(c));
        if (r == 0)
            return 0;
        if (r == -ETIMEDOUT && !last)
            continue;
        return herr_set(e, r, "agent never became ready: %s", run_err_text(c, r));
    }
}

/* --- buffered exec --- */

struct exec_ctx {
    struct agent_output o;
    bool ended;
    struct agent_end end;
    uint32_t stream;
};

static int exec_on_data(void *ud, uint16_t type, const uint8_t *p, size_t len, bool eof)
{
    agent_output_add(&((struct exec_ctx *)ud)->o, type, p, len);
    return 0;
}

static void exec_on_end(void *ud, const struct agent_end *end)
{
    struct exec_ctx *x = ud;
    x->ended = true;
    x->end = *end;
}

static const struct agent_stream_ops exec_ops = {
    .on_data = exec_on_data,
    .on_end = exec_on_end,
};

struct many_ctx {
    struct exec_ctx *xs;
    size_t n;
};

static bool all_ended(void *arg)
{
    struct many_ctx *m = arg;
    for (size_t i = 0; i < m->n; i++)
        if (!m->xs[i].ended)
            return false;
    return true;
}

static int agent_exec_many(struct agent_client *c, const struct agent_exec_req *reqs, size_t n,
                    size_t out_cap, int64_t deadline_us, struct agent_exec_result *rets,
                    int *errs, struct herr *e)
{
    struct exec_ctx *xs = calloc(n ? n : 1, sizeof(*xs));
    if (!xs)
        return herr_set(e, -ENOMEM, "agent exec: out of memory");
    int first = 0;
    for (size_t i = 0; i < n; i++) {
        agent_output_init(&xs[i].o, &rets[i], out_cap);
        int r = agent_exec_start(c, &reqs[i], &exec_ops, &xs[i], &xs[i].stream);
        if (r < 0) {
            xs[i].ended = true;
            xs[i].end = (struct agent_end){ .kind = AGENT_END_ERROR, .err = r };
            snprintf(xs[i].end.error, sizeof(xs[i].end.error), "%s",
                     strerrorname_np(-r) ?: "EIO");
            snprintf(xs[i].end.message, sizeof(xs[i].end.message), "cannot start '%s': %s",
                     reqs[i].argv && reqs[i].argv[0] ? reqs[i].argv[0] : "", strerror(-r));
        }
    }
    struct many_ctx m = { xs, n };
    int r = agent_client_run(c, deadline_us, all_ended, &m);
    for (size_t i = 0; i < n; i++) {
        int ri;
        if (!xs[i].ended) {
            /* deadline or VM gone: stop the command, forget the stream */
            (void)agent_stream_cancel(c, xs[i].stream, true);
            ri = r < 0 ? r : -ETIMEDOUT;
            herr_set(e, ri, "agent exec '%s': %s", reqs[i].argv[0], run_err_text(c, ri));
        } else {
            ri = agent_end_errno(&xs[i].end, e);
        }
        agent_output_finish(&xs[i].o, xs[i].ended ? &xs[i].end : NULL);
        if (errs)
            errs[i] = ri;
        if (ri < 0 && first == 0)
            first = ri;
    }
    free(xs);
    return first;
}

static int agent_exec(struct agent_client *c, const struct agent_exec_req *req, size_t out_cap,
               int64_t deadline_us, struct agent_exec_result *ret, struct herr *e)
{
    return agent_exec_many(c, req, 1, out_cap, deadline_us, ret, NULL, e);
}

/* --- streamed exec, files, power: one stream, its end recorded --- */

struct one_ctx {
    const struct agent_stream_ops *inner; /* caller's ops, or NULL */
    void *inner_ud;
    int dst_fd;                           /* FILE_GET target, or -1 */
    uint64_t written;
    bool credit;                          /* on_credit came (a pushed upload has room) */
    bool ended;
    struct agent_end end;
    char json[512];                       /* end.json copied ("" when NULL) */
};

static int one_on_data(void *ud, uint16_t type, const uint8_t *p, size_t len, bool eof)
{
    struct one_ctx *o = ud;
    if (o->dst_fd >= 0) {
        int r = fd_write_all(o->dst_fd, p, len);
        if (r < 0)
            return r;
        o->written += len;
        return 0;
    }
    if (o->inner && o->inner->on_data)
        return o->inner->on_data(o->inner_ud, type, p, len, eof);
    return 0;
}

static void one_on_info(void *ud, uint64_t size, uint32_t mode)
{
    struct one_ctx *o = ud;
    if (o->inner && o->inner->on_info)
        o->inner->on_info(o->inner_ud, size, mode);
}

static void one_on_end(void *ud, const struct agent_end *end)
{
    struct one_ctx *o = ud;
    o->ended = true;
    o->end = *end;
    snprintf(o->json, sizeof(o->json), "%s", end->json ? end->json : "");
    o->end.json = NULL; /* borrowed for the call only */
    if (o->inner && o->inner->on_end)
        o->inner->on_end(o->inner_ud, end);
}

static void one_on_credit(void *ud, size_t room);

static const struct agent_stream_ops one_ops = {
    .on_data = one_on_data,
    .on_info = one_on_info,
    .on_credit = one_on_credit,
    .on_end = one_on_end,
};

static bool one_ended(void *arg)
{
    return ((struct one_ctx *)arg)->ended;
}

/* Waits for the stream opened with o (start result r) to end. */
static int one_wait(struct agent_client *c, struct one_ctx *o, int r, uint32_t stream,
                    const char *what, int64_t deadline_us, struct herr *e)
{
    if (r < 0)
        return herr_set(e, r, "agent %s: cannot start: %s", what, strerror(-r));
    r = agent_client_run(c, deadline_us, one_ended, o);
    if (!o->ended) {
        (void)agent_stream_cancel(c, stream, true); /* not waiting for the agent any more */
        return herr_set(e, r < 0 ? r : -ETIMEDOUT, "agent %s: %s", what,
                        run_err_text(c, r < 0 ? r : -ETIMEDOUT));
    }
    return agent_end_errno(&o->end, e);
}


static void one_on_credit(void *ud, size_t room)
{
    ((struct one_ctx *)ud)->credit = true;
}

static bool credit_or_ended(void *arg)
{
    struct one_ctx *o = arg;
    return o->credit || o->ended;
}

/* A file upload as host_sync.c does it: read the source, push, wait for credit when a write
 * is refused in part, finish. */
static int agent_file_put(struct agent_client *c, const char *path, uint32_t mode, int src_fd,
                          int64_t deadline_us, uint64_t *ret_size, struct herr *e)
{
    struct one_ctx o = { .dst_fd = -1 };
    uint32_t id = 0;
    int r = agent_file_put_push_start(c, path, mode, &one_ops, &o, &id);
    static uint8_t chunk[256 * 1024];
    while (r == 0 && !o.ended) {
        ssize_t n = read(src_fd, chunk, sizeof(chunk));
        if (n <= 0) {
            r = n < 0 ? herr_set(e, -errno, "agent file put: read: %s", strerror(errno))
                      : agent_stream_finish(c, id);
            break;
        }
        for (size_t off = 0; r == 0 && off < (size_t)n && !o.ended;) {
            o.credit = false;
            ssize_t w = agent_stream_write(c, id, chunk + off, (size_t)n - off);
            if (w < 0) {
                r = (int)w;
                break;
            }
            off += (size_t)w;
            if (off < (size_t)n && !o.credit)
                r = agent_client_run(c, deadline_us, credit_or_ended, &o);
        }
    }
    if (r < 0 && o.ended)
        r = 0; /* the stream's end says why */
    r = one_wait(c, &o, r, id, "file put", deadline_us, e);
    if (r == 0 && ret_size)
        *ret_size = o.end.size;
    return r;
}

static int agent_file_get(struct agent_client *c, const char *path, int dst_fd, int64_t deadline_us,
                   uint64_t *ret_size, struct herr *e)
{
    struct one_ctx o = { .dst_fd = dst_fd };
    uint32_t id = 0;
    int r = agent_file_get_start(c, path, &one_ops, &o, &id);
    r = one_wait(c, &o, r, id, "file get", deadline_us, e);
    if (r == 0 && o.end.kind != AGENT_END_DONE && o.end.kind != AGENT_END_EXIT)
        r = herr_set(e, -EPROTO, "agent file get: stream ended badly");
    if (r == 0 && ret_size)
        *ret_size = o.written;
    return r;
}



static void frame(int fd, uint16_t type, uint16_t flags, uint32_t stream, const void *p,
                  size_t len)
{
    uint8_t h[WIRE_HEADER_SIZE];
    wire_header_put(h, type, flags, stream, (uint32_t)len);
    (void)!write(fd, h, sizeof(h));
    if (len)
        (void)!write(fd, p, len);
}

static void jframe(int fd, uint16_t type, uint32_t stream, const char *json)
{
    frame(fd, type, 0, stream, json, strlen(json));
}

static struct agent_client *pair(int *peer)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return NULL;
    int big = 4 << 20;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
    struct agent_client *c = NULL;
    if (agent_client_new(sv[0], &c) < 0)
        return NULL;
    *peer = sv[1];
    return c;
}

/* Reads what the client sent so far into rd and returns the first frame of type on stream in
 * *f (payload valid until the next call on rd): 1, or 0 when there is none. */
static int next_sent(int peer, struct wire_reader *rd, uint16_t type, uint32_t stream,
                     struct wire_frame *f)
{
    int fl = fcntl(peer, F_GETFL);
    fcntl(peer, F_SETFL, fl | O_NONBLOCK);
    for (;;) {
        uint8_t *p = wire_reader_space(rd, 65536);
        ssize_t n = read(peer, p, 65536);
        if (n <= 0)
            break;
        wire_reader_commit(rd, (size_t)n);
    }
    fcntl(peer, F_SETFL, fl);
    while (wire_reader_next(rd, f) == 1)
        if (f->type == type && f->stream == stream)
            return 1;
    return 0;
}

/* Reads frames the client sent (non-blocking drain) into a reader; returns how many of type. */
static int count_sent(int peer, struct wire_reader *rd, uint16_t type, uint32_t stream)
{
    int fl = fcntl(peer, F_GETFL);
    fcntl(peer, F_SETFL, fl | O_NONBLOCK);
    for (;;) {
        uint8_t *p = wire_reader_space(rd, 65536);
        ssize_t n = read(peer, p, 65536);
        if (n <= 0)
            break;
        wire_reader_commit(rd, (size_t)n);
    }
    fcntl(peer, F_SETFL, fl);
    int count = 0;
    struct wire_frame f;
    while (wire_reader_next(rd, &f) == 1)
        if (f.type == type && f.stream == stream)
            count++;
    return count;
}

TEST(ready_and_hello)
{
    int peer;
    struct agent_client *c = pair(&peer);
    CHECK(c);
    /* READY without a session (sent on noticing a connection) or with another connection's
     * session does not make the client ready: it says nothing about this connection */
    jframe(peer, WIRE_READY, 0, "{\"version\":1,\"agent\":\"stale\"}");
    jframe(peer, WIRE_READY, 0, "{\"version\":1,\"agent\":\"stale\",\"session\":\"old\"}");
    struct herr e = { 0 };
    CHECK_EQ(agent_wait_ready(c, mono_now_us() + 300000, &e), -ETIMEDOUT);
    struct agent_client_stats st;
    agent_client_stats(c, &st);
    CHECK_EQ(st.stale_ready, 2);
    char ready[256];
    snprintf(ready, sizeof(ready),
             "{\"version\":1,\"agent\":\"hearth-agent/0.1.0\",\"boot_id\":\"b1\",\"pid\":1,"
             "\"session\":\"%s\"}", agent_client_session(c));
    jframe(peer, WIRE_READY, 0, ready);
    herr_clear(&e);
    CHECK_EQ(agent_wait_ready(c, mono_now_us() + 2 * SEC, &e), 0);
    CHECK_STR(agent_client_agent_name(c), "hearth-agent/0.1.0");
    CHECK_STR(agent_client_boot_id(c), "b1");
    /* the HELLO it sent */
    uint8_t buf[512];
    ssize_t n = read(peer, buf, sizeof(buf));
    struct wire_frame f;
    size_t skip;
    CHECK(n > 0);
    CHECK(wire_parse(buf, (size_t)n, &f, &skip) > 0);
    CHECK_EQ(f.type, WIRE_HELLO);
    json_t *j = json_loadb((const char *)f.payload, f.len, 0, NULL);
    CHECK_EQ(json_integer_value(json_object_get(j, "version")), 1);
    CHECK_STR(json_string_value(json_object_get(j, "session")), agent_client_session(c));
    CHECK_EQ(strlen(agent_client_session(c)), 32);
    CHECK(json_integer_value(json_object_get(j, "time_ns")) > 1600000000LL * 1000000000LL);
    json_decref(j);
    agent_client_free(c);
    close(peer);
}

/* The first HELLO the client wrote to peer, parsed; NULL when there is none. */
static json_t *sent_hello(int peer)
{
    uint8_t buf[4096];
    ssize_t n = read(peer, buf, sizeof(buf));
    struct wire_frame f;
    size_t skip;
    if (n <= 0 || wire_parse(buf, (size_t)n, &f, &skip) <= 0 || f.type != WIRE_HELLO)
        return NULL;
    return json_loadb((const char *)f.payload, f.len, 0, NULL);
}

static bool is_hex(const char *s, size_t want_len)
{
    REQUIRE(s && strlen(s) == want_len);
    for (; *s; s++)
        REQUIRE((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'));
    return true;
}

/* Every HELLO carries 64 fresh random bytes (clones of one snapshot must not share the
 * guest's CRNG state) and, once set, the hostname; bad hostnames are refused here already. */
TEST(hello_carries_identity_and_entropy)
{
    int peer;
    struct agent_client *c = pair(&peer);
    CHECK(c);
    static const char *const bad[] = { "", "-a", "Upper", "a_b", "a.b", "caf\xc3\xa9", "a b",
        "a234567890123456789012345678901234567890123456789012345678901234" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_EQ(agent_client_set_identity(c, bad[i]), -EINVAL);
    CHECK_EQ(agent_client_set_identity(c, NULL), -EINVAL);
    /* no identity set: no hostname, but entropy all the same */
    CHECK_EQ(agent_client_hello(c), 0);
    json_t *j = sent_hello(peer);
    CHECK(j);
    CHECK(!json_object_get(j, "hostname"));
    CHECK(is_hex(json_string_value(json_object_get(j, "entropy")), 128));
    char first[129];
    snprintf(first, sizeof(first), "%s", json_string_value(json_object_get(j, "entropy")));
    json_decref(j);
    CHECK_EQ(agent_client_set_identity(c, "clone-a"), 0);
    CHECK_EQ(agent_client_set_identity(c, "box-"), 0); /* the last one set wins */
    CHECK_EQ(agent_client_set_identity(c, "Bad"), -EINVAL); /* and a refused one changes nothing */
    CHECK_EQ(agent_client_hello(c), 0);
    j = sent_hello(peer);
    CHECK(j);
    CHECK_STR(json_string_value(json_object_get(j, "hostname")), "box-");
    CHECK_STR(json_string_value(json_object_get(j, "session")), agent_client_session(c));
    CHECK(is_hex(json_string_value(json_object_get(j, "entropy")), 128));
    CHECK(strcmp(json_string_value(json_object_get(j, "entropy")), first) != 0);
    json_decref(j);
    agent_client_free(c);
    close(peer);
}

TEST(ready_wrong_version_and_silence)
{
    int peer;
    struct agent_client *c = pair(&peer);
    CHECK(c);
    struct herr e = { 0 };
    int64_t t0 = mono_now_us();
    CHECK_EQ(agent_wait_ready(c, t0 + 500000, &e), -ETIMEDOUT);
    /* it kept saying HELLO (every 200 ms) */
    struct wire_reader rd;
    wire_reader_init(&rd);
    CHECK(count_sent(peer, &rd, WIRE_HELLO, 0) >= 2);
    wire_reader_release(&rd);
    jframe(peer, WIRE_READY, 0, "not json");
    jframe(peer, WIRE_READY, 0, "{\"version\":2}");
    herr_clear(&e);
    CHECK_EQ(agent_wait_ready(c, mono_now_us() + 2 * SEC, &e), -EPROTO);
    CHECK(strstr(e.msg, "version 2") != NULL);
    agent_client_free(c);
    close(peer);
}

TEST(exec_buffered)
{
    int peer;
    struct agent_client *c = pair(&peer);
    CHECK(c);
    frame(peer, WIRE_STDOUT, 0, 1, "hello ", 6);
    frame(peer, WIRE_STDOUT, WIRE_F_EOF, 1, "world\n", 6);
    frame(peer, WIRE_STDERR, WIRE_F_EOF, 1, "oops", 4);
    jframe(peer, WIRE_EXIT, 1, "{\"exit_code\":3,\"duration_ms\":12}");
    const char *argv[] = { "sh", "-c", "x", NULL };
    const char *env[] = { "A=1", "B=x=y", NULL };
    struct agent_exec_req req = { .argv = argv, .env = env, .cwd = "/tmp", .timeout_ms = 5 };
    struct agent_exec_result res;
    struct herr e = { 0 };
    CHECK_EQ(agent_exec(c, &req, 1 << 20, mono_now_us() + 2 * SEC, &res, &e), 0);
    CHECK_EQ(res.exit_code, 3);
    CHECK_EQ(res.signal, 0);
    CHECK_EQ(res.duration_ms, 12);
    CHECK_STR((char *)res.out, "hello world\n");
    CHECK_STR((char *)res.err, "oops");
    agent_exec_result_release(&res);
    /* the EXEC request as sent */
    uint8_t buf[4096];
    ssize_t n = read(peer, buf, sizeof(buf));
    struct wire_frame f;
    size_t skip;
    CHECK(n > 0 && wire_parse(buf, (size_t)n, &f, &skip) > 0);
    CHECK_EQ(f.type, WIRE_EXEC);
    CHECK_EQ(f.stream, 1);
    json_t *j = json_loadb((const char *)f.payload, f.len, 0, NULL);
    CHECK_STR(json_string_value(json_array_get(json_object_get(j, "argv"), 2)), "x");
    CHECK_STR(json_string_value(json_object_get(json_object_get(j, "env"), "B")), "x=y");
    CHECK_STR(json_string_value(json_object_get(j, "cwd")), "/tmp");
    CHECK_EQ(json_integer_value(json_object_get(j, "timeout_ms")), 5);
    CHECK(json_is_false(json_object_get(j, "stdin")));
    json_decref(j);
    /* signals and agent errors */
    jframe(peer, WIRE_EXIT, 2, "{\"signal\":9,\"timed_out\":true}");
    CHECK_EQ(agent_exec(c, &req, 16, mono_now_us() + 2 * SEC, &res, &e), 0);
    CHECK_EQ(res.signal, 9);
    CHECK_EQ(res.exit_code, -1);
    CHECK(res.timed_out);
    agent_exec_result_release(&res);
    jframe(peer, WIRE_ERROR, 3, "{\"error\":\"ENOENT\",\"message\":\"no such program\"}");
    CHECK_EQ(agent_exec(c, &req, 16, mono_now_us() + 2 * SEC, &res, &e), -ENOENT);
    CHECK(strstr(e.msg, "no such program") != NULL);
    agent_exec_result_release(&res);
    /* bad requests */
    const char *empty[] = { NULL };
    struct agent_exec_req bad = { .argv = empty };
    CHECK_EQ(agent_exec_start(c, &bad, NULL, NULL, NULL), -EINVAL);
    const char *badenv[] = { "NOEQUALS", NULL };
    struct agent_exec_req bad2 = { .argv = argv, .env = badenv };
    CHECK_EQ(agent_exec_start(c, &bad2, NULL, NULL, NULL), -EINVAL);
    struct agent_exec_req bad3 = { .argv = argv, .cwd = "rel" };
    CHECK_EQ(agent_exec_start(c, &bad3, NULL, NULL, NULL), -EINVAL);
    agent_client_free(c);
    close(peer);
}

TEST(output_cap_truncates)
{
    int peer;
    struct agent_client *c = pair(&peer);
    CHECK(c);
    frame(peer, WIRE_STDOUT, 0, 1, "0123456789", 10);
    jframe(peer, WIRE_EXIT, 1, "{\"exit_code\":0}");
    const char *argv[] = { "x", NULL };
    struct agent_exec_req req = { .argv = argv };
    struct agent_exec_result res;
    CHECK_EQ(agent_exec(c, &req, 4, mono_now_us() + 2 * SEC, &res, NULL), 0);
    CHECK_EQ(res.out_len, 4);
    CHECK(res.out_truncated);
    agent_exec_result_release(&res);
    agent_client_free(c);
    close(peer);
}

/* Streams 1..5 started together; the peer sends garbage and every kind of bad frame in
 * between; the good streams still finish, the bad ones end with errors. */
TEST(hostile_peer_keeps_other_streams)
{
    int peer;
    struct agent_client *c = pair(&peer);
    CHECK(c);
    (void)!write(peer, "garbage garbage hrt", 19);           /* junk and a partial magic */
    uint8_t h[WIRE_HEADER_SIZE];
    wire_header_put(h, WIRE_STDOUT, 0, 1, WIRE_MAX_PAYLOAD + 1); /* oversized length */
    (void)!write(peer, h, sizeof(h));
    wire_header_put(h, 0, 0, 1, 0);                               /* type 0 */
    (void)!write(peer, h, sizeof(h));
    frame(peer, 999, 0, 1, "?", 1);                              /* unknown type */
    frame(peer, WIRE_STDOUT, 0, 77, "stray", 5);                 /* unknown stream */
    frame(peer, WIRE_EXEC, 0, 1, "{}", 2);                       /* wrong direction */
    frame(peer, WIRE_STDOUT, 0, 1, "ok1", 3);
    jframe(peer, WIRE_EXIT, 1, "{\"exit_code\":0}");
    jframe(peer, WIRE_EXIT, 1, "{\"exit_code\":1}");             /* EXIT twice */
    jframe(peer, WIRE_EXIT, 2, "{\"exit_code\":");                /* bad JSON */
    jframe(peer, WIRE_EXIT, 3, "{\"exit_code\":\"zero\"}");       /* bad field */
    frame(peer, WIRE_DATA, 0, 4, "x", 1);                         /* wrong data type */
    jframe(peer, WIRE_EXIT, 5, "{\"exit_code\":256}");            /* out of range */
    frame(peer, WIRE_STDOUT, 0, 6, "ok6", 3);
    jframe(peer, WIRE_EXIT, 6, "{\"exit_code\":6}");
    const char *argv[] = { "x", NULL };
    struct agent_exec_req reqs[6];
    for (int i = 0; i < 6; i++)
        reqs[i] = (struct agent_exec_req){ .argv = argv };
    struct agent_exec_result res[6];
    int errs[6];
    struct herr e = { 0 };
    int r = agent_exec_many(c, reqs, 6, 1024, mono_now_us() + 2 * SEC, res, errs, &e);
    CHECK_EQ(r, -EPROTO);
    CHECK_EQ(errs[0], 0);
    CHECK_STR((char *)res[0].out, "ok1");
    CHECK_EQ(res[0].exit_code, 0);
    CHECK_EQ(errs[1], -EPROTO);
    CHECK_EQ(errs[2], -EPROTO);
    CHECK_EQ(errs[3], -EPROTO);
    CHECK_EQ(errs[4], -EPROTO);
    CHECK_EQ(errs[5], 0);
    CHECK_EQ(res[5].exit_code, 6);
    CHECK_STR((char *)res[5].out, "ok6");
    for (int i = 0; i < 6; i++)
        agent_exec_result_release(&res[i]);
    struct agent_client_stats st;
    agent_client_stats(c, &st);
    CHECK(st.resyncs >= 2);
    CHECK(st.skipped >= 19);
    CHECK(st.stray_frames >= 2); /* stream 77 and the second EXIT */
    CHECK(st.violations >= 6);
    CHECK_EQ(agent_client_nstreams(c), 0);
    /* the unknown type was answered with ERROR (EPROTO) on stream 1; bad streams cancelled */
    struct wire_reader rd;
    wire_reader_init(&rd);
    int errors = count_sent(peer, &rd, WIRE_ERROR, 1);
    wire_reader_release(&rd);
    CHECK_EQ(errors, 1);
    /* and the channel still works */
    jframe(peer, WIRE_EXIT, 7, "{\"exit_code\":0}");
    CHECK_EQ(agent_exec(c, &reqs[0], 16, mono_now_us() + 2 * SEC, &res[0], &e), 0);
    agent_exec_result_release(&res[0]);
    agent_client_free(c);
    close(peer);
}

static int hold_data(void *ud, uint16_t type, const uint8_t *p, size_t len, bool eof)
{
    *(size_t *)ud += len;
    return AGENT_DATA_HOLD;
}

static void note_end(void *ud, const struct agent_end *end)
{
    *(int *)((size_t *)ud + 1) = end->err ? end->err : 1;
}

TEST(data_beyond_credit)
{
    int peer;
    struct agent_client *c = pair(&peer);
    CHECK(c);
    size_t state[2] = { 0, 0 };
    static const struct agent_stream_ops ops = { .on_data = hold_data, .on_end = note_end };
    const char *argv[] = { "x", NULL };
    struct agent_exec_req req = { .argv = argv };
    uint32_t id;
    CHECK_EQ(agent_exec_start(c, &req, &ops, state, &id), 0);
    static uint8_t chunk[WIRE_DATA_CHUNK];
    for (int i = 0; i < 17; i++) /* 17 x 64 KiB > 1 MiB with no credit returned */
        frame(peer, WIRE_STDOUT, 0, id, chunk, sizeof(chunk));
    int64_t dl = mono_now_us() + 2 * SEC;
    CHECK_EQ(agent_client_run(c, dl, NULL, NULL), 0);
    CHECK_EQ(state[0], WIRE_INITIAL_WINDOW);
    CHECK_EQ((int)state[1], -EPROTO);
    CHECK(strstr(agent_client_last_error(c), "credit") != NULL);
    struct wire_reader rd;
    wire_reader_init(&rd);
    CHECK_EQ(count_sent(peer, &rd, WIRE_CANCEL, id), 1);
    wire_reader_release(&rd);
    agent_client_free(c);
    close(peer);
}

TEST(peer_vanishes_and_silence)
{
    int peer;
    struct agent_client *c = pair(&peer);
    CHECK(c);
    const char *argv[] = { "x", NULL };
    struct agent_exec_req req = { .argv = argv };
    struct agent_exec_result res;
    struct herr e = { 0 };
    int64_t t0 = mono_now_us();
    CHECK_EQ(agent_exec(c, &req, 16, t0 + 300000, &res, &e), -ETIMEDOUT);
    agent_exec_result_release(&res);
    struct wire_reader rd;
    wire_reader_init(&rd);
    CHECK_EQ(count_sent(peer, &rd, WIRE_CANCEL, 1), 1);
    wire_reader_release(&rd);
    /* truncated frame, then the peer goes away */
    uint8_t h[WIRE_HEADER_SIZE];
    wire_header_put(h, WIRE_STDOUT, 0, 2, 100);
    (void)!write(peer, h, sizeof(h));
    (void)!write(peer, "abc", 3);
    close(peer);
    herr_clear(&e);
    CHECK_EQ(agent_exec(c, &req, 16, mono_now_us() + 2 * SEC, &res, &e), -ECONNRESET);
    agent_exec_result_release(&res);
    CHECK_EQ(agent_exec_start(c, &req, NULL, NULL, NULL), -ENOTCONN);
    agent_client_free(c);
}

/* A fake agent that honours flow control: echoes STDIN as STDOUT, stores FILE_PUT data and
 * serves it back on FILE_GET, each send within the credit it was given. */
static void fake_agent(int fd)
{
    struct wire_reader rd;
    wire_reader_init(&rd);
    struct buf store;
    buf_init(&store, 64u << 20);
    uint64_t credit[16] = { 0 };  /* what the host may still send us, per stream */
    uint64_t ocredit[16] = { 0 }; /* what we may still send the host */
    uint8_t *pend = NULL; /* FILE_GET data left to send */
    size_t pend_len = 0, pend_off = 0;
    uint32_t get_stream = 0;
    for (;;) {
        uint8_t *p = wire_reader_space(&rd, 65536);
        ssize_t n = read(fd, p, 65536);
        if (n <= 0)
            break;
        wire_reader_commit(&rd, (size_t)n);
        struct wire_frame f;
        while (wire_reader_next(&rd, &f) == 1) {
            uint32_t s = f.stream & 15;
            switch (f.type) {
            case WIRE_EXEC:
            case WIRE_FILE_PUT:
                credit[s] = WIRE_INITIAL_WINDOW;
                ocredit[s] = WIRE_INITIAL_WINDOW;
                break;
            case WIRE_STDIN:
                if (f.len > credit[s])
                    _exit(3); /* the host overran its own credit: would be a bug */
                credit[s] -= f.len;
                frame(fd, WIRE_STDOUT, 0, f.stream, f.payload, f.len);
                {
                    uint8_t w[4] = { f.len & 255, f.len >> 8 & 255, f.len >> 16 & 255, 0 };
                    if (f.len)
                        frame(fd, WIRE_WINDOW, 0, f.stream, w, 4);
                    credit[s] += f.len;
                }
                if (f.flags & WIRE_F_EOF)
                    jframe(fd, WIRE_EXIT, f.stream, "{\"exit_code\":0}");
                break;
            case WIRE_DATA:
                if (f.len > credit[s] || buf_append(&store, f.payload, f.len) < 0) {
                    fprintf(stderr, "fake agent: DATA %u on %u over credit %llu\n", f.len,
                            f.stream, (unsigned long long)credit[s]);
                    _exit(3);
                }
                credit[s] -= f.len;
                if (f.len) {
                    uint8_t w[4] = { f.len & 255, f.len >> 8 & 255, f.len >> 16 & 255, 0 };
                    frame(fd, WIRE_WINDOW, 0, f.stream, w, 4);
                    credit[s] += f.len;
                }
                if (f.flags & WIRE_F_EOF) {
                    char done[64];
                    snprintf(done, sizeof(done), "{\"size\":%zu}", store.len);
                    jframe(fd, WIRE_DONE, f.stream, done);
                }
                break;
            case WIRE_FILE_GET: {
                char info[64];
                snprintf(info, sizeof(info), "{\"size\":%zu,\"mode\":420}", store.len);
                jframe(fd, WIRE_FILE_INFO, f.stream, info);
                pend = store.data;
                pend_len = store.len;
                pend_off = 0;
                get_stream = f.stream;
                ocredit[s] = WIRE_INITIAL_WINDOW;
                break;
            }
            case WIRE_WINDOW: {
                uint32_t cr;
                if (wire_window_credit(&f, &cr) == 0)
                    ocredit[s] += cr;
                break;
            }
            }
        }
        while (pend && ocredit[get_stream & 15] > 0) {
            size_t len = pend_len - pend_off;
            if (len > WIRE_DATA_CHUNK)
                len = WIRE_DATA_CHUNK;
            if (len > ocredit[get_stream & 15])
                len = ocredit[get_stream & 15];
            bool eof = pend_off + len == pend_len;
            frame(fd, WIRE_DATA, eof ? WIRE_F_EOF : 0, get_stream, pend + pend_off, len);
            ocredit[get_stream & 15] -= len;
            pend_off += len;
            if (eof)
                pend = NULL;
        }
    }
    _exit(0);
}

TEST(flow_control_stdin_and_files)
{
    int peer;
    struct agent_client *c = pair(&peer);
    CHECK(c);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        close(agent_client_fd(c)); /* so the host closing its end reaches us as EOF */
        fake_agent(peer);
    }
    close(peer);
    size_t big = 3u << 20; /* three windows' worth each way */
    uint8_t *data = malloc(big);
    CHECK(data);
    for (size_t i = 0; i < big; i++)
        data[i] = (uint8_t)(i * 7 + i / 65536);
    const char *argv[] = { "cat", NULL };
    struct agent_exec_req req = { .argv = argv, .stdin_pipe = true, .stdin_data = data,
                                  .stdin_len = big };
    struct agent_exec_result res;
    struct herr e = { 0 };
    CHECK_EQ(agent_exec(c, &req, 8u << 20, mono_now_us() + 10 * SEC, &res, &e), 0);
    CHECK_EQ(res.out_len, big);
    CHECK(memcmp(res.out, data, big) == 0);
    agent_exec_result_release(&res);

    char path[] = "/tmp/test-agent-put.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, data, big), (ssize_t)big);
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    uint64_t size = 0;
    CHECK_EQ(agent_file_put(c, "/root/f", 0644, fd, mono_now_us() + 10 * SEC, &size, &e), 0);
    CHECK_EQ(size, big);
    CHECK_EQ(ftruncate(fd, 0), 0);
    CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
    CHECK_EQ(agent_file_get(c, "/root/f", fd, mono_now_us() + 10 * SEC, &size, &e), 0);
    CHECK_EQ(size, big);
    uint8_t *back = malloc(big);
    CHECK_EQ(pread(fd, back, big, 0), (ssize_t)big);
    CHECK(memcmp(back, data, big) == 0);
    CHECK_EQ(agent_file_put(c, "relative", 0644, fd, mono_now_us() + SEC, NULL, &e), -EINVAL);
    free(back);
    close(fd);
    unlink(path);
    free(data);
    agent_client_free(c);
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0); /* the host never overran its credit */
}

static void on_end_copy(void *ud, const struct agent_end *end)
{
    *(struct agent_end *)ud = *end;
}

/* The agent's error text is cut to fit the end's buffers, never inside a UTF-8 sequence: it
 * goes on into JSON answers and log lines (found by fuzz_agent_client). */
TEST(error_text_cut_on_utf8_boundary)
{
    int peer;
    struct agent_client *c = pair(&peer);
    CHECK(c);
    char msg[600] = "{\"error\":\"EIO\",\"message\":\"a";
    for (int i = 0; i < 200; i++)
        strcat(msg, "\xC3\xA9");
    strcat(msg, "\"}");
    jframe(peer, WIRE_ERROR, 1, msg);
    static const struct agent_stream_ops ops = { .on_end = on_end_copy };
    struct agent_end end;
    memset(&end, 0, sizeof(end));
    const char *argv[] = { "true", NULL };
    struct agent_exec_req req = { .argv = argv };
    CHECK_EQ(agent_exec_start(c, &req, &ops, &end, NULL), 0);
    CHECK_EQ(agent_client_run(c, mono_now_us() + 2 * SEC, NULL, NULL), 0);
    CHECK_EQ(end.kind, AGENT_END_ERROR);
    CHECK_EQ(end.err, -EIO);
    CHECK_EQ(strlen(end.message), 1 + 2 * 127); /* "a" and the whole é that fit in 255 */
    json_t *j = json_string(end.message);
    CHECK(j != NULL);
    json_decref(j);
    agent_client_free(c);
    close(peer);
}

TEST(exec_pty_push_resize_and_end_json)
{
    int peer;
    struct agent_client *c = pair(&peer);
    CHECK(c);
    struct wire_reader rd;
    wire_reader_init(&rd);
    struct wire_frame f;
    /* bad shapes: no argv without a pty, sizes out of range */
    struct agent_exec_req bad = { .argv = NULL };
    CHECK_EQ(agent_exec_start(c, &bad, NULL, NULL, NULL), -EINVAL);
    struct agent_exec_req bad_size[] = {
        { .pty = true, .rows = 0, .cols = 80 },    { .pty = true, .rows = 24, .cols = 0 },
        { .pty = true, .rows = 1001, .cols = 80 }, { .pty = true, .rows = 24, .cols = 1001 },
    };
    for (size_t i = 0; i < sizeof(bad_size) / sizeof(bad_size[0]); i++)
        CHECK_EQ(agent_exec_start(c, &bad_size[i], NULL, NULL, NULL), -EINVAL);
    /* the default shell on a terminal: no argv on the wire, stdin live */
    struct one_ctx o = { .dst_fd = -1 };
    struct agent_exec_req req = { .pty = true, .rows = 24, .cols = 80 };
    uint32_t id = 0;
    CHECK_EQ(agent_exec_start(c, &req, &one_ops, &o, &id), 0);
    CHECK_EQ(next_sent(peer, &rd, WIRE_EXEC, id, &f), 1);
    json_t *j = json_loadb((const char *)f.payload, f.len, 0, NULL);
    CHECK(j);
    CHECK(!json_object_get(j, "argv"));
    CHECK(json_is_true(json_object_get(j, "stdin")));
    CHECK_EQ(json_integer_value(json_object_get(json_object_get(j, "pty"), "rows")), 24);
    CHECK_EQ(json_integer_value(json_object_get(json_object_get(j, "pty"), "cols")), 80);
    json_decref(j);
    CHECK_EQ(agent_stream_write(c, id, "ls\n", 3), 3);
    CHECK_EQ(next_sent(peer, &rd, WIRE_STDIN, id, &f), 1);
    CHECK_EQ(f.len, 3);
    CHECK(memcmp(f.payload, "ls\n", 3) == 0);
    CHECK_EQ(agent_stream_resize(c, id, 40, 120), 0);
    CHECK_EQ(next_sent(peer, &rd, WIRE_RESIZE, id, &f), 1);
    j = json_loadb((const char *)f.payload, f.len, 0, NULL);
    CHECK_EQ(json_integer_value(json_object_get(j, "rows")), 40);
    CHECK_EQ(json_integer_value(json_object_get(j, "cols")), 120);
    json_decref(j);
    CHECK_EQ(agent_stream_resize(c, id, 0, 120), -EINVAL);
    CHECK_EQ(agent_stream_resize(c, id, 40, 1001), -EINVAL);
    CHECK_EQ(agent_stream_resize(c, id + 100, 40, 100), -ESRCH);
    CHECK_EQ(agent_stream_finish(c, id), 0);
    CHECK_EQ(agent_stream_finish(c, id), -EPIPE);
    CHECK_EQ(agent_stream_write(c, id, "x", 1), -EPIPE);
    CHECK_EQ(next_sent(peer, &rd, WIRE_STDIN, id, &f), 1);
    CHECK_EQ(f.len, 0);
    CHECK(f.flags & WIRE_F_EOF);
    /* EXIT's text reaches on_end as end->json */
    jframe(peer, WIRE_EXIT, id, "{\"exit_code\":0,\"duration_ms\":5}");
    CHECK_EQ(agent_client_run(c, mono_now_us() + 2 * SEC, one_ended, &o), 0);
    CHECK_EQ(o.end.kind, AGENT_END_EXIT);
    CHECK_STR(o.json, "{\"exit_code\":0,\"duration_ms\":5}");
    /* a pipe exec with pushed stdin: STDIN frames, then EOF; RESIZE refused */
    const char *argv[] = { "cat", NULL };
    struct one_ctx o2 = { .dst_fd = -1 };
    struct agent_exec_req req2 = { .argv = argv, .stdin_push = true };
    CHECK_EQ(agent_exec_start(c, &req2, &one_ops, &o2, &id), 0);
    CHECK_EQ(next_sent(peer, &rd, WIRE_EXEC, id, &f), 1);
    j = json_loadb((const char *)f.payload, f.len, 0, NULL);
    CHECK(json_is_true(json_object_get(j, "stdin")));
    CHECK(!json_object_get(j, "pty"));
    json_decref(j);
    CHECK_EQ(agent_stream_resize(c, id, 40, 100), -ESRCH);
    static uint8_t big[3u << 20];
    memset(big, 'x', sizeof(big));
    ssize_t w = agent_stream_write(c, id, big, sizeof(big));
    CHECK(w > 0 && (size_t)w < sizeof(big)); /* 1 MiB buffered at most */
    CHECK_EQ(agent_stream_finish(c, id), 0);
    /* an ERROR has no json */
    jframe(peer, WIRE_ERROR, id, "{\"error\":\"EPIPE\",\"message\":\"gone\"}");
    CHECK_EQ(agent_client_run(c, mono_now_us() + 2 * SEC, one_ended, &o2), 0);
    CHECK_EQ(o2.end.kind, AGENT_END_ERROR);
    CHECK_STR(o2.json, "");
    wire_reader_release(&rd);
    agent_client_free(c);
    close(peer);
}
