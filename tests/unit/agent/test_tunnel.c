/* SPDX-License-Identifier: MIT */
/* test_tunnel.c: TCP_OPEN streams of the agent (src/agent/agent_tunnel.c, docs/agent-protocol.md
 * "Tunnels") against a listener this test opens on 127.0.0.1: connect, bytes both ways with
 * half-closes and DONE, a refused port, hostile requests (bad ports, data after EOF, a second
 * open of the id, CANCEL), and the window bounding what the agent sends
 * to a host that returns no credit. */
#include "client.h"
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A listener on 127.0.0.1 (port in *port), or -1. */
static int listener(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof(sa);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 8) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

static void open_port(struct client *c, uint32_t stream, uint16_t port)
{
    char j[64];
    snprintf(j, sizeof(j), "{\"port\":%u}", port);
    CHECK_EQ(client_send_str(c, WIRE_TCP_OPEN, stream, j), 0);
}

static bool expect_error(struct client *c, uint32_t stream, const char *name)
{
    struct wire_frame f;
    REQUIRE(client_expect(c, WIRE_ERROR, stream, &f, 8000) == 1);
    char err[32];
    client_error_name(&f, err, sizeof(err));
    if (strcmp(err, name) != 0) {
        harness_fail(__FILE__, __LINE__, "stream %u: want %s got %s", stream, name, err);
        return false;
    }
    return true;
}

TEST(tunnel_both_ways_half_close_done)
{
    struct client c;
    CHECK(client_start(&c, NULL) == 0);
    uint16_t port;
    int l = listener(&port);
    CHECK(l >= 0);
    open_port(&c, 7, port);
    int s = accept(l, NULL, NULL);
    CHECK(s >= 0);
    struct wire_frame f;
    CHECK_EQ(client_expect(&c, WIRE_TCP_CONNECTED, 7, &f, 5000), 1);
    /* host -> guest, then our EOF: the guest sees the bytes and its read ends */
    CHECK_EQ(client_send(&c, WIRE_DATA, WIRE_F_EOF, 7, "hello", 5), 0);
    char buf[64];
    size_t got = 0;
    for (ssize_t n; (n = read(s, buf + got, sizeof(buf) - got)) > 0;)
        got += (size_t)n;
    CHECK_EQ(got, 5);
    CHECK(memcmp(buf, "hello", 5) == 0);
    /* guest -> host, then the guest's EOF, then DONE */
    CHECK_EQ(write(s, "world", 5), 5);
    shutdown(s, SHUT_WR);
    struct buf in;
    buf_init(&in, 1024);
    bool eof = false, done = false;
    for (int i = 0; i < 20 && !done; i++) {
        int r = client_recv(&c, &f, 2000);
        if (r != 1)
            break;
        if (f.stream != 7)
            continue;
        if (f.type == WIRE_DATA) {
            CHECK(!eof);
            CHECK_EQ(buf_append(&in, f.payload, f.len), 0);
            eof = f.flags & WIRE_F_EOF;
        } else if (f.type == WIRE_DONE) {
            done = true;
        } else if (f.type != WIRE_WINDOW) {
            harness_fail(__FILE__, __LINE__, "unexpected frame type %u", f.type);
        }
    }
    CHECK(eof && done);
    CHECK_EQ(in.len, 5);
    CHECK(in.len == 5 && memcmp(in.data, "world", 5) == 0);
    buf_release(&in);
    close(s);
    close(l);
    CHECK(client_ping(&c));
    client_stop(&c);
}

TEST(tunnel_refused_and_hostile_requests)
{
    struct client c;
    CHECK(client_start(&c, NULL) == 0);
    uint16_t port;
    int l = listener(&port);
    CHECK(l >= 0);
    close(l); /* nothing listens there now */
    open_port(&c, 1, port);
    CHECK(expect_error(&c, 1, "ECONNREFUSED"));
    const char *bad[] = { "{\"port\":0}", "{\"port\":65536}", "{\"port\":\"22\"}", "{}",
                          "{\"port\":-1}", "[22]", "not json" };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_EQ(client_send_str(&c, WIRE_TCP_OPEN, 10 + i, bad[i]), 0);
        CHECK(expect_error(&c, 10 + i, "EINVAL"));
    }
    /* an open tunnel: data after EOF, a second open of its id, CANCEL (data beyond the window
     * cannot be timed here: the agent returns credit as fast as loopback takes the bytes) */
    l = listener(&port);
    CHECK(l >= 0);
    struct wire_frame f;
    open_port(&c, 31, port);
    CHECK_EQ(client_expect(&c, WIRE_TCP_CONNECTED, 31, &f, 5000), 1);
    CHECK_EQ(client_send(&c, WIRE_DATA, WIRE_F_EOF, 31, "a", 1), 0);
    CHECK_EQ(client_send(&c, WIRE_DATA, 0, 31, "b", 1), 0);
    CHECK(expect_error(&c, 31, "EPROTO"));
    open_port(&c, 32, port);
    CHECK_EQ(client_expect(&c, WIRE_TCP_CONNECTED, 32, &f, 5000), 1);
    open_port(&c, 32, port);
    CHECK(expect_error(&c, 32, "EEXIST"));
    CHECK_EQ(client_send(&c, WIRE_CANCEL, 0, 32, NULL, 0), 0);
    CHECK(expect_error(&c, 32, "ECANCELED"));
    CHECK_EQ(client_send(&c, WIRE_STDIN, 0, 32, "x", 1), 0); /* the stream is gone */
    CHECK(expect_error(&c, 32, "ESRCH"));
    close(l);
    CHECK(client_ping(&c));
    client_stop(&c);
}

/* A guest that sends without end to a host that returns no credit: the agent stops at the
 * window (1 MiB) instead of queueing. */
TEST(tunnel_window_bounds_guest_output)
{
    struct client c;
    CHECK(client_start(&c, NULL) == 0);
    uint16_t port;
    int l = listener(&port);
    CHECK(l >= 0);
    open_port(&c, 5, port);
    int s = accept(l, NULL, NULL);
    CHECK(s >= 0);
    struct wire_frame f;
    CHECK_EQ(client_expect(&c, WIRE_TCP_CONNECTED, 5, &f, 5000), 1);
    static char chunk[65536];
    /* the guest side writes 4 MiB (non-blocking: it stops when the agent stops reading) */
    struct timeval tv = { .tv_sec = 2 };
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    size_t written = 0;
    for (int i = 0; i < 64; i++) {
        ssize_t n = write(s, chunk, sizeof(chunk));
        if (n <= 0)
            break;
        written += (size_t)n;
    }
    size_t got = 0;
    while (client_recv(&c, &f, 1000) == 1)
        if (f.stream == 5 && f.type == WIRE_DATA)
            got += f.len;
    CHECK(got > 0);
    CHECK(got <= WIRE_INITIAL_WINDOW);
    fprintf(stderr, "    guest wrote %zu, the host got %zu without returning credit\n", written,
            got);
    close(s);
    close(l);
    client_stop(&c);
}
