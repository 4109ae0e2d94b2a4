/* SPDX-License-Identifier: MIT */
/* test_self.c: the in-guest self endpoint (src/agent/self.c, self_req.c): the request parser on
 * good and hostile heads, then a forked agent serving it on a test port and FIFO
 * (HEARTH_AGENT_SELF_PORT / HEARTH_AGENT_SELF_FIFO): 202 then SELF on stream 0, the error
 * statuses, the FIFO's lines, a request made with no host kept until one connects, and guest
 * processes that hold every connection slot or flood the FIFO without hurting the agent. */
#include "agent/self_req.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client.h"
#include "harness.h"

#define NEED(cond)                                                                               \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            harness_fail(__FILE__, __LINE__, "NEED(%s)", #cond);                                 \
            return;                                                                              \
        }                                                                                        \
    } while (0)

static int parse(const char *head, struct self_req *q)
{
    return self_req_parse(head, strlen(head), q);
}

TEST(self_req_parse_good)
{
    struct self_req q;
    CHECK_EQ(parse("POST /self/pause HTTP/1.1\r\nHost: x\r\n\r\n", &q), 1);
    CHECK_EQ(q.status, 202);
    CHECK_EQ(q.action, SELF_ACTION_PAUSE);
    CHECK_STR(q.reason, "");
    CHECK_EQ(parse("POST /self/delete?x=1&reason=all+done%21&reason=2 HTTP/1.0\n\n", &q), 1);
    CHECK_EQ(q.status, 202);
    CHECK_EQ(q.action, SELF_ACTION_DELETE);
    CHECK_STR(q.reason, "all done!");
    /* incomplete heads wait for more */
    CHECK_EQ(parse("POST /self/pause HTTP/1.1\r\n", &q), 0);
    CHECK_EQ(parse("", &q), 0);
    /* 200 'é' (2 bytes each) cut to 128 characters; a bad byte becomes U+FFFD */
    char head[2048] = "POST /self/pause?reason=";
    for (int i = 0; i < 200; i++)
        strcat(head, "%C3%A9");
    strcat(head, " HTTP/1.1\r\n\r\n");
    CHECK_EQ(parse(head, &q), 1);
    CHECK_EQ(q.status, 202);
    CHECK_EQ(strlen(q.reason), 256);
    CHECK_EQ(parse("POST /self/pause?reason=a%FFb HTTP/1.1\r\n\r\n", &q), 1);
    CHECK_STR(q.reason, "a\xef\xbf\xbd" "b");
}

TEST(self_req_parse_hostile)
{
    struct self_req q;
    CHECK_EQ(parse("GET /self/pause HTTP/1.1\r\n\r\n", &q), 1);
    CHECK_EQ(q.status, 405);
    CHECK_EQ(parse("POST /self/pausex HTTP/1.1\r\n\r\n", &q), 1);
    CHECK_EQ(q.status, 404);
    CHECK_EQ(parse("POST / HTTP/1.1\r\n\r\n", &q), 1);
    CHECK_EQ(q.status, 404);
    CHECK_EQ(parse("POST /self/pause\r\n\r\n", &q), 1);
    CHECK_EQ(q.status, 400);
    CHECK_EQ(parse("POST /self/pause HTTP/2.0\r\n\r\n", &q), 1);
    CHECK_EQ(q.status, 400);
    CHECK_EQ(parse("POST /self/pause?reason=%4 HTTP/1.1\r\n\r\n", &q), 1);
    CHECK_EQ(q.status, 400);
    CHECK_EQ(parse("POST /self/pause?reason=%00 HTTP/1.1\r\n\r\n", &q), 1);
    CHECK_EQ(q.status, 400);
    CHECK_EQ(parse("\r\n\r\n", &q), 1);
    CHECK_EQ(q.status, 400);
    CHECK_EQ(parse("POST  HTTP/1.1\r\n\r\n", &q), 1);
    CHECK_EQ(q.status, 400);
    char *big = malloc(SELF_HEAD_MAX + 10);
    NEED(big);
    memset(big, 'a', SELF_HEAD_MAX + 10);
    CHECK_EQ(self_req_parse(big, SELF_HEAD_MAX - 1, &q), 0);
    CHECK_EQ(self_req_parse(big, SELF_HEAD_MAX + 10, &q), 1);
    CHECK_EQ(q.status, 431);
    free(big);
    CHECK_EQ(self_fifo_line("park", 4), SELF_ACTION_PAUSE);
    CHECK_EQ(self_fifo_line("retire\r", 7), SELF_ACTION_DELETE);
    CHECK_EQ(self_fifo_line("park ", 5), SELF_ACTION_NONE);
    CHECK_EQ(self_fifo_line("", 0), SELF_ACTION_NONE);
}

static unsigned test_port;
static char test_fifo[64];

static void agent_env(void)
{
    test_port = 20000 + (unsigned)getpid() % 20000;
    snprintf(test_fifo, sizeof(test_fifo), "/tmp/hearth-self-test-%d.fifo", (int)getpid());
    char port[16];
    snprintf(port, sizeof(port), "%u", test_port);
    setenv("HEARTH_AGENT_SELF_PORT", port, 1);
    setenv("HEARTH_AGENT_SELF_FIFO", test_fifo, 1);
}

static int dial(void)
{
    for (int i = 0; i < 300; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)test_port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            return fd;
        if (fd >= 0)
            close(fd);
        usleep(10000);
    }
    return -1;
}

/* Reads fd until the peer closes (or 5 s of silence) into out, NUL-terminated. */
static size_t read_all(int fd, char *out, size_t size)
{
    size_t n = 0;
    struct pollfd p = { .fd = fd, .events = POLLIN };
    while (n + 1 < size && poll(&p, 1, 5000) > 0) {
        ssize_t k = read(fd, out + n, size - 1 - n);
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    out[n] = 0;
    return n;
}

/* Sends req, reads the whole reply (until the agent closes) into out. */
static int http(const char *req, char *out, size_t size)
{
    int fd = dial();
    if (fd < 0)
        return -1;
    if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
        close(fd);
        return -1;
    }
    size_t n = read_all(fd, out, size);
    close(fd);
    return (int)n;
}

/* The next SELF frame: its action and reason. */
static bool expect_self(struct client *c, const char *action, const char *reason)
{
    struct wire_frame f;
    if (client_expect(c, WIRE_SELF, 0, &f, 5000) != 1) {
        harness_fail(__FILE__, __LINE__, "no SELF frame");
        return false;
    }
    json_t *j = json_loadb((const char *)f.payload, f.len, 0, NULL);
    const char *a = json_string_value(json_object_get(j, "action"));
    const char *r = json_string_value(json_object_get(j, "reason"));
    bool ok = a && r && strcmp(a, action) == 0 && strcmp(r, reason) == 0;
    if (!ok)
        harness_fail(__FILE__, __LINE__, "SELF %.*s, want %s/%s", (int)f.len,
                     (const char *)f.payload, action, reason);
    json_decref(j);
    return ok;
}

static void fifo_write(const char *s)
{
    int fd = open(test_fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    CHECK(fd >= 0);
    if (fd >= 0) {
        CHECK_EQ(write(fd, s, strlen(s)), (ssize_t)strlen(s));
        close(fd);
    }
}

TEST(self_http_and_fifo)
{
    agent_env();
    struct client c;
    CHECK_EQ(client_start(&c, NULL), 0);
    struct wire_frame f;
    CHECK_EQ(client_expect(&c, WIRE_READY, 0, &f, 5000), 1);
    char out[2048];
    CHECK(http("POST /self/pause?reason=nightly%20build%20done HTTP/1.1\r\nHost: x\r\n"
               "Content-Length: 5\r\n\r\nhello", out, sizeof(out)) > 0);
    CHECK(strncmp(out, "HTTP/1.1 202 ", 13) == 0);
    CHECK(strstr(out, "{\"status\":\"success\",\"data\":{\"accepted\":true,\"action\":\"pause\"}}"));
    expect_self(&c, "pause", "nightly build done");
    CHECK(http("POST /self/delete HTTP/1.0\r\n\r\n", out, sizeof(out)) > 0);
    CHECK(strstr(out, "\"action\":\"delete\""));
    expect_self(&c, "delete", "");
    CHECK(http("GET /self/pause HTTP/1.1\r\n\r\n", out, sizeof(out)) > 0);
    CHECK(strncmp(out, "HTTP/1.1 405 ", 13) == 0 && strstr(out, "Allow: POST"));
    CHECK(http("POST /other HTTP/1.1\r\n\r\n", out, sizeof(out)) > 0);
    CHECK(strncmp(out, "HTTP/1.1 404 ", 13) == 0);
    CHECK(http("garbage\r\n\r\n", out, sizeof(out)) > 0);
    CHECK(strncmp(out, "HTTP/1.1 400 ", 13) == 0);
    /* FIFO: junk, an overlong line holding "park", then the real ones */
    char longline[300];
    memset(longline, 'x', sizeof(longline));
    memcpy(longline + 200, "park\n", 6);
    fifo_write("junk\npar");
    fifo_write("k\n");
    fifo_write(longline); /* an overlong line ending in "park": ignored */
    fifo_write("retire\n");
    expect_self(&c, "pause", "");
    expect_self(&c, "delete", "");
    CHECK(client_ping(&c)); /* nothing else came first */
    client_stop(&c);
    unlink(test_fifo);
}

/* A request made while no host is connected goes out (the newest only) once one connects. */
TEST(self_pending_until_host)
{
    agent_env();
    char path[64], spec[80], out[1024];
    snprintf(path, sizeof(path), "/tmp/hearth-self-test-%d.sock", (int)getpid());
    snprintf(spec, sizeof(spec), "listen:%s", path);
    struct client c;
    CHECK_EQ(client_start(&c, spec), 0);
    CHECK(http("POST /self/delete?reason=first HTTP/1.1\r\n\r\n", out, sizeof(out)) > 0);
    CHECK(strncmp(out, "HTTP/1.1 202 ", 13) == 0);
    CHECK(http("POST /self/pause?reason=second HTTP/1.1\r\n\r\n", out, sizeof(out)) > 0);
    CHECK_EQ(client_connect(&c, path), 0);
    expect_self(&c, "pause", "second");
    CHECK(client_ping(&c));
    client_stop(&c);
    unlink(path);
    unlink(test_fifo);
}

/* Guest processes hold every slot, send an endless head and flood the FIFO: the agent keeps
 * serving the host, and a well-formed request is answered once a slot frees. */
TEST(self_hostile_clients)
{
    agent_env();
    struct client c;
    CHECK_EQ(client_start(&c, NULL), 0);
    struct wire_frame f;
    CHECK_EQ(client_expect(&c, WIRE_READY, 0, &f, 5000), 1);
    int idle[20];
    for (int i = 0; i < 20; i++)
        idle[i] = dial();
    CHECK(client_ping(&c));
    int big = dial();
    NEED(big >= 0);
    char junk[4096];
    memset(junk, 'A', sizeof(junk));
    for (int i = 0; i < 4; i++)
        (void)!write(big, junk, sizeof(junk));
    for (int i = 0; i < 20; i++)
        if (idle[i] >= 0)
            close(idle[i]);
    char out[1024];
    read_all(big, out, sizeof(out));
    CHECK(strncmp(out, "HTTP/1.1 431 ", 13) == 0);
    close(big);
    int fd = open(test_fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    NEED(fd >= 0);
    for (int i = 0; i < 2000; i++)
        (void)!write(fd, junk, 512);
    close(fd);
    CHECK(client_ping(&c));
    CHECK(http("POST /self/pause?reason=ok HTTP/1.1\r\n\r\n", out, sizeof(out)) > 0);
    expect_self(&c, "pause", "ok");
    client_stop(&c);
    unlink(test_fifo);
}
