/* SPDX-License-Identifier: MIT */
/* bench_ingress.c: the ingress proxy (docs/ingress-ssh.md "Ingress proxy") against a real
 * `hearthd serve` this program starts (images from $HEARTH_IMAGES, the binary from $HEARTH_BIN
 * or build/bin), on one devbox sandbox running a python keep-alive HTTP/1.1 server. Prints
 * medians and p99s; asserts nothing.
 *
 * - small GETs on one keep-alive client connection through ingress, against the same guest
 *   server reached through a tunnel (POST …/tunnel/8000) with the same requests: requests per
 *   second, p50/p99 latency;
 * - a new client connection per request through ingress (the proxy's guest connection pool
 *   keeps the guest side warm);
 * - the first request to a paused sandbox until its answer, against a plain resume through the
 *   API (until the view says running). */
#include "apiclient.h"
#include "stats.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/mono.h"

#define RUNS 1000
#define WAKE_RUNS 5

static uint16_t g_port, g_iport;
static char g_key[128];
static char g_id[STORE_ID_SIZE];

#define GUEST_PY                                                                                 \
    "import http.server as h, socketserver as s\n"                                               \
    "class H(h.BaseHTTPRequestHandler):\n"                                                       \
    "    protocol_version = 'HTTP/1.1'\n"                                                        \
    "    def log_message(self, *a): pass\n"                                                      \
    "    wbufsize = 65536\n" /* head and body in one segment: no Nagle/delayed-ACK stall */    \
    "    def do_GET(self):\n"                                                                    \
    "        self.send_response(200); self.send_header('Content-Length', '2')\n"                 \
    "        self.end_headers(); self.wfile.write(b'ok'); self.wfile.flush()\n"                  \
    "class S(s.ThreadingMixIn, h.HTTPServer): daemon_threads = True\n"                          \
    "S(('0.0.0.0', 8000), H).serve_forever()\n"

static double ms_since(int64_t t0_us)
{
    return (double)(mono_now_us() - t0_us) / 1000.0;
}

static int connect_to(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        return fd;
    }
    if (fd >= 0)
        close(fd);
    return -1;
}

/* One GET on fd and its whole answer (head, Content-Length body): the status, or -1. */
static int roundtrip(int fd, const char *host, bool close_after)
{
    char req[256], buf[8192];
    int n = snprintf(req, sizeof(req), "GET /x HTTP/1.1\r\nHost: %s\r\n%s\r\n", host,
                     close_after ? "Connection: close\r\n" : "");
    if (write(fd, req, (size_t)n) != n)
        return -1;
    size_t have = 0;
    char *end = NULL;
    while (!end) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 60000) <= 0 || have + 1 >= sizeof(buf))
            return -1;
        ssize_t k = read(fd, buf + have, sizeof(buf) - 1 - have);
        if (k <= 0)
            return -1;
        have += (size_t)k;
        buf[have] = 0;
        end = strstr(buf, "\r\n\r\n");
    }
    int status = atoi(buf + 9);
    const char *cl = strcasestr(buf, "Content-Length:");
    size_t want = (size_t)(end - buf) + 4 + (cl ? strtoul(cl + 15, NULL, 10) : 0);
    while (have < want) {
        ssize_t k = read(fd, buf, sizeof(buf));
        if (k <= 0)
            return -1;
        have += (size_t)k;
    }
    return status;
}

static void report(const char *what, double *v, int n, double total_ms)
{
    if (n == 0) {
        printf("  %-50s no samples\n", what);
        return;
    }
    double p50 = bench_percentile(v, (size_t)n, 50), p99 = bench_percentile(v, (size_t)n, 99);
    printf("  %-50s %8.0f req/s  p50 %7.2f ms  p99 %7.2f ms  (n=%d)\n", what,
           total_ms > 0 ? n / (total_ms / 1000.0) : 0, p50, p99, n);
}

/* RUNS GETs: on one connection (fd ≥ 0), or on a new ingress connection each (fd < 0). */
static void bench_rr(const char *what, int fd, const char *host)
{
    static double v[RUNS];
    int n = 0;
    int64_t t0 = mono_now_us();
    for (int i = 0; i < RUNS; i++) {
        int64_t t = mono_now_us();
        int c = fd >= 0 ? fd : connect_to(g_iport);
        int st = c >= 0 ? roundtrip(c, host, fd < 0) : -1;
        if (fd < 0 && c >= 0)
            close(c);
        if (st != 200)
            break;
        v[n++] = ms_since(t);
    }
    report(what, v, n, ms_since(t0));
}

static bool wait_status(const char *want, int timeout_ms)
{
    char t[160], st[32];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", g_id);
    struct conn c;
    if (conn_open(&c, g_port) < 0)
        return false;
    bool ok = false;
    for (int waited = 0; waited < timeout_ms && !ok; waited += 10) {
        struct resp r = { 0 };
        if (request(&c, "GET", t, g_key, NULL, &r) == 0 && json_field(r.body, "status", st,
                                                                       sizeof(st)))
            ok = strcmp(st, want) == 0;
        resp_free(&r);
        if (!ok)
            usleep(10 * 1000);
    }
    conn_close(&c);
    return ok;
}

/* 202, or 200 when the pause settled within hearthd's lifecycle_hold_ms */
static bool pause_ok(int status)
{
    return status == 200 || status == 202;
}

static void bench_wake(const char *host)
{
    double wake[WAKE_RUNS], resume[WAKE_RUNS];
    int nw = 0, nr = 0;
    for (int i = 0; i < WAKE_RUNS; i++) {
        if (!pause_ok(post_op(g_port, g_key, g_id, "pause", NULL, NULL, NULL)) ||
            !wait_status("paused", 120000))
            break;
        int64_t t0 = mono_now_us();
        int fd = connect_to(g_iport);
        int st = fd >= 0 ? roundtrip(fd, host, true) : -1;
        if (fd >= 0)
            close(fd);
        if (st != 200)
            break;
        wake[nw++] = ms_since(t0);
        if (!pause_ok(post_op(g_port, g_key, g_id, "pause", NULL, NULL, NULL)) ||
            !wait_status("paused", 120000))
            break;
        t0 = mono_now_us();
        int r = post_op(g_port, g_key, g_id, "resume", NULL, NULL, NULL);
        if ((r != 200 && r != 202) || !wait_status("running", 120000))
            break;
        resume[nr++] = ms_since(t0);
    }
    if (nw)
        printf("  %-50s p50 %7.1f ms  (n=%d)\n", "first request to a paused sandbox, answered",
               bench_percentile(wake, (size_t)nw, 50), nw);
    if (nr)
        printf("  %-50s p50 %7.1f ms  (n=%d)\n", "plain resume through the API, until running",
               bench_percentile(resume, (size_t)nr, 50), nr);
}

static bool start_guest(void)
{
    struct conn c;
    struct resp r = { 0 };
    char t[256];
    if (conn_open(&c, g_port) < 0)
        return false;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/files?path=/tmp/b.py", g_id);
    bool ok = request(&c, "PUT", t, g_key, GUEST_PY, &r) == 0 && r.status == 200;
    resp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/exec", g_id);
    ok = ok && request(&c, "POST", t, g_key,
                       "{\"cmd\":\"sh\",\"args\":[\"-c\",\"setsid python3 /tmp/b.py </dev/null "
                       ">/dev/null 2>&1 & for i in $(seq 300); do curl -sf localhost:8000/ "
                       ">/dev/null && break; sleep 0.1; done\"]}", &r) == 0 && r.status == 200;
    resp_free(&r);
    conn_close(&c);
    return ok;
}

int main(void)
{
    struct daemon d = { .pid = -1 };
    bool failed;
    if (!daemon_start_vm_bench(&d, "bench_ingress", NULL, g_key, sizeof(g_key), &failed))
        return failed ? 1 : 0;
    g_port = d.port;
    char p[256];
    snprintf(p, sizeof(p), "%s/ingress-http.port", d.data);
    unsigned v = 0;
    for (int i = 0; i < 500 && !v; i++) { /* written just after the API's port file */
        FILE *f = fopen(p, "r");
        if (f) {
            if (fscanf(f, "%u", &v) != 1)
                v = 0;
            fclose(f);
        }
        if (!v)
            usleep(10 * 1000);
    }
    g_iport = (uint16_t)v;
    char why[256] = "";
    double ms;
    if (!g_iport || create_one(g_port, g_key,
                               "{\"name\":\"b\",\"ingress_enabled\":true,"
                               "\"shape\":\"s-1vcpu-512mb\",\"rootfs\":\"devbox:1\"}",
                               g_id, &ms, why, sizeof(why)) != 0 || !start_guest()) {
        printf("bench_ingress: no sandbox or guest server: %s\n", why);
        daemon_stop(&d);
        return 1;
    }
    printf("bench_ingress: devbox sandbox, 1 vCPU, 512 MiB, python http.server (HTTP/1.1)\n");
    const char *host = "8000-b.sb.localhost";
    int fd = connect_to(g_iport);
    if (fd >= 0) {
        (void)roundtrip(fd, host, false); /* warm: the guest connection is open and pooled */
        bench_rr("ingress, one keep-alive client connection", fd, host);
        close(fd);
    }
    bench_rr("ingress, a new client connection per request", -1, host);
    fd = upgrade_open(g_port, g_key, g_id, "tunnel/8000");
    if (fd >= 0) {
        (void)roundtrip(fd, "x", false);
        bench_rr("tunnel (POST .../tunnel/8000), one connection", fd, "x");
        close(fd);
    }
    bench_wake(host);
    destroy_one(g_port, g_key, g_id);
    daemon_stop(&d);
    return 0;
}
