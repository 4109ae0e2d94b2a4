/* SPDX-License-Identifier: MIT */
/* test_limits.c: resource safety over real HTTP against `hearthd serve`, no VM needed
 * (docs/operations.md "Limits"): a create refused 507 under the free-space threshold with
 * nothing stored; the per-user network quota (403) and its counting after a delete; a hearthd
 * started short of file descriptors that stays responsive and does not spin while clients
 * hold every fd (the listener's accept-error pause), logging once per interval; a client that
 * stops sending a body mid-way dropped after http_stall_timeout_s; the start-up log line with
 * the effective limits. */
#include "apitest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct lfx {
    struct hd_server s;
    char hdr[160];
};

static bool lfx_start(struct lfx *f, const char *conf)
{
    memset(f, 0, sizeof(*f));
    REQUIRE(hd_prepare(&f->s, conf, true));
    REQUIRE(hd_start(&f->s));
    snprintf(f->hdr, sizeof(f->hdr), "X-Api-Key: %s\r\n", f->s.admin_key);
    return true;
}

static bool call(struct lfx *f, const char *method, const char *target, const char *body,
                 int want, struct hresp *r)
{
    REQUIRE(http_do(f->s.port, method, target, f->hdr, body, r) == 0);
    if (r->status != want) {
        harness_fail(__FILE__, __LINE__, "%s %s: %d, want %d: %s", method, target, r->status,
                     want, r->body);
        return false;
    }
    return true;
}

/* Lines of hearthd's log holding needle. */
static int log_count(const struct lfx *f, const char *needle)
{
    FILE *fp = fopen(f->s.log, "r");
    if (!fp)
        return -1;
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof(line), fp))
        n += strstr(line, needle) != NULL;
    fclose(fp);
    return n;
}

TEST(create_under_the_free_space_threshold_is_507_and_stores_nothing)
{
    struct lfx f;
    /* 16 TiB must stay free: no test machine has that */
    if (!lfx_start(&f, "min_free_disk_mib = 16777216\n"))
        return;
    struct hresp r;
    CHECK(call(&f, "POST", "/v1/sandboxes", "{\"shape\":\"s-1vcpu-1gb\",\"rootfs\":\"minimal\"}",
               507, &r));
    CHECK_STR(jstr(r.json, "status"), "error");
    CHECK_EQ(jint(r.json, "code"), 507);
    CHECK_STR(jstr(r.json, "data.code"), "insufficient_storage");
    CHECK(strstr(jstr(r.json, "message"), "not enough free disk space on this host to create"));
    CHECK(strstr(r.head, "HTTP/1.1 507 Insufficient Storage\r\n") == r.head);
    hresp_free(&r);
    CHECK(call(&f, "GET", "/v1/sandboxes", NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 0);
    hresp_free(&r);
    CHECK(log_count(&f, "disk space low: operation refused") == 1);
    /* the operator sees the limits in effect at start */
    CHECK(log_count(&f, "\"msg\":\"limits\"") == 1);
    CHECK(log_count(&f, "\"host_max_vms_from\":\"memory\"") == 1);
    hd_cleanup(&f.s);
}

TEST(network_quota_is_403_and_counts_live_networks)
{
    struct lfx f;
    if (!lfx_start(&f, "max_networks = 2\n"))
        return;
    struct hresp r;
    CHECK(call(&f, "POST", "/v1/networks", "{\"name\":\"a\"}", 200, &r));
    hresp_free(&r);
    CHECK(call(&f, "POST", "/v1/networks", "{\"name\":\"b\"}", 200, &r));
    hresp_free(&r);
    CHECK(call(&f, "POST", "/v1/networks", "{\"name\":\"c\"}", 403, &r));
    CHECK_STR(jstr(r.json, "status"), "fail");
    CHECK_STR(jstr(r.json, "data.code"), "quota_exceeded");
    CHECK_STR(jstr(r.json, "data.message"), "network quota reached: at most 2 networks; delete "
                                            "one first");
    hresp_free(&r);
    CHECK(call(&f, "DELETE", "/v1/networks/a", NULL, 200, &r));
    hresp_free(&r);
    CHECK(call(&f, "POST", "/v1/networks", "{\"name\":\"c\"}", 200, &r));
    hresp_free(&r);
    hd_cleanup(&f.s);
}

static int connect_port(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* The listener's own EMFILE pause is tested in tests/unit/http/test_server_limits.c; here
 * hearthd caps its connections below its fd limit (serve_limits.c), so clients cannot take
 * the fds the rest of it needs (libnftables exit()s without a netlink socket). */
TEST_SLOW(short_of_file_descriptors_hearthd_survives_a_crowd_and_recovers, 120)
{
    struct lfx f;
    if (!lfx_start(&f, "max_open_files = 64\n"))
        return;
    CHECK(log_count(&f, "\"msg\":\"open file limit\"") == 1);
    CHECK(log_count(&f, "open file limit is low for host_max_vms") == 1);
    enum { NCLIENTS = 200 };
    int fds[NCLIENTS];
    int open_n = 0;
    for (int i = 0; i < NCLIENTS; i++) {
        fds[i] = connect_port(f.s.port); /* the kernel's backlog completes the handshake */
        open_n += fds[i] >= 0;
    }
    CHECK(open_n > 100);
    /* hearthd took what it could and now waits: its CPU over 3 s stays far from the 3 s a
     * spin on the readable listener would burn (a resource bound, not a timing target) */
    usleep(500 * 1000);
    double t0 = harness_cpu_s(f.s.pid);
    sleep(3);
    double t1 = harness_cpu_s(f.s.pid);
    CHECK(t0 >= 0 && t1 >= t0);
    if (t1 - t0 > 1.0)
        harness_fail(__FILE__, __LINE__, "hearthd used %.2f s of CPU in 3 s: spinning", t1 - t0);
    /* still alive: nothing in it gave up for want of an fd */
    CHECK(kill(f.s.pid, 0) == 0);
    for (int i = 0; i < NCLIENTS; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    /* once the clients are gone, hearthd answers again */
    bool ok = false;
    for (int i = 0; i < 100 && !ok; i++) {
        struct hresp r;
        ok = http_do(f.s.port, "GET", "/healthz", NULL, NULL, &r) == 0 && r.status == 200;
        if (r.status)
            hresp_free(&r);
        if (!ok)
            usleep(100 * 1000);
    }
    CHECK(ok);
    hd_cleanup(&f.s);
}

TEST(a_body_that_stops_mid_way_is_dropped_after_the_stall_timeout)
{
    struct lfx f;
    if (!lfx_start(&f, "http_stall_timeout_s = 1\n"))
        return;
    int fd = connect_port(f.s.port);
    CHECK(fd >= 0);
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "POST /v1/networks HTTP/1.1\r\nHost: x\r\n%sContent-Length: 100\r\n\r\n"
                     "{\"name\":", f.hdr);
    CHECK(write(fd, head, (size_t)n) == n);
    /* no more bytes: the server answers 408 and closes within a few seconds */
    char buf[4096];
    size_t got = 0;
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 15000) <= 0)
            break;
        ssize_t k = read(fd, buf + got, sizeof(buf) - 1 - got);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    buf[got] = '\0';
    close(fd);
    CHECK(strncmp(buf, "HTTP/1.1 408 ", 13) == 0);
    CHECK(strstr(buf, "request body not received in time") != NULL);
    CHECK(strstr(buf, "Connection: close") != NULL);
    /* nothing was created, and the server still answers */
    struct hresp r;
    CHECK(call(&f, "GET", "/v1/networks", NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 0);
    hresp_free(&r);
    hd_cleanup(&f.s);
}
