/* SPDX-License-Identifier: MIT */
/* test_ingress_vm.c: the ingress proxy (docs/ingress-ssh.md "Ingress proxy") on a real microVM
 * through real clients (curl, a python WebSocket client, raw sockets): routing by id and by
 * name, GET/HEAD/POST with multi-MiB bodies both ways checked by sha256, keep-alive reuse of the
 * guest connection, X-Forwarded-*, WebSocket echo, 502 (closed port, garbage and endless
 * heads), 504, the one 404 for unknown, ingress-off and destroyed sandboxes, PATCH taking effect
 * live (an open WebSocket closed), ingress bytes counted, hostile clients (duplicate
 * Content-Length, CL+TE, oversized head, slowloris) refused while other traffic goes on, HTTPS
 * with the generated wildcard (curl --cacert) and the SNI/Host check, a paused sandbox woken by
 * a request and one paused by the idle timer (60 s, the shortest) woken with its server process
 * intact, and private ingress after a restart (401, the same 404 for another user's key, the
 * owner's key and the sandbox's access token, the credential stripped), and all of it counted
 * on the metrics listener (hearth_ingress_*, hearth_auth_* for this edge). One VM serves every
 * check. */
#include "apitest.h"
#include "ingress_guest_py.h"
#include "vmfx.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CONF                                                                                     \
    "golden_snapshots = off\ningress_header_timeout_s = 3\ningress_upstream_timeout_s = 3\n"   \
    "ingress_listen = 127.0.0.1:0\n"
#define SANDBOX                                                                                  \
    "{\"name\":\"web\",\"ingress_enabled\":true,\"shape\":\"s-1vcpu-512mb\","                  \
    "\"rootfs\":\"devbox:1\"}"
#define BIG (6u << 20)

/* Runs a shell command; its stdout (NUL-terminated, truncated) in out. The exit status. */
static int sh(const char *cmd, char *out, size_t max)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    size_t n = 0;
    if (out && max) {
        size_t k;
        while (n + 1 < max && (k = fread(out + n, 1, max - 1 - n, p)) > 0)
            n += k;
        out[n] = '\0';
    }
    char sink[4096];
    while (fread(sink, 1, sizeof(sink), p) > 0)
        ;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* One request to the ingress listener with Host host (Connection: close). */
static bool ig(struct vfx *f, const char *method, const char *host, const char *path,
               const char *headers, struct hresp *r)
{
    char req[4096];
    int n = snprintf(req, sizeof(req), "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n%s\r\n",
                     method, path, host, headers ? headers : "");
    REQUIRE(http_raw(f->s.ingress_port, req, (size_t)n, r, strcmp(method, "HEAD") == 0) == 0);
    return true;
}

static bool start_guest(struct vfx *f, const char *id)
{
    char path[128], cmd[1024], out[256];
    snprintf(path, sizeof(path), "%s/srv.py", f->s.dir);
    FILE *fp = fopen(path, "w");
    REQUIRE(fp);
    fputs(INGRESS_GUEST_PY, fp);
    fclose(fp);
    snprintf(cmd, sizeof(cmd),
             "curl -sf -X PUT --data-binary @%s -H 'X-Api-Key: %s' "
             "'http://127.0.0.1:%u/v1/sandboxes/%s/files?path=/tmp/srv.py'",
             path, f->s.admin_key, f->s.port, id);
    REQUIRE(sh(cmd, out, sizeof(out)) == 0);
    REQUIRE(exec_sh(f, id,
                    "setsid python3 /tmp/srv.py </dev/null >/tmp/srv.log 2>&1 & "
                    "for i in $(seq 300); do curl -sf localhost:8000/hello >/dev/null && "
                    "echo up && break; sleep 0.1; done",
                    out, sizeof(out)));
    if (!strstr(out, "up"))
        harness_fail(__FILE__, __LINE__, "guest server did not start: %s", out);
    return strstr(out, "up") != NULL;
}

static void sha256_hex(const void *p, size_t n, char out[65])
{
    unsigned char md[32];
    unsigned len = 0;
    EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        sprintf(out + 2 * i, "%02x", md[i]);
}

/* Routing, HEAD, the forwarded head, 502 on a closed port, the one 404. */
static void check_basics(struct vfx *f, const char *lid, const char *host_name)
{
    struct hresp r;
    char host[160], h404[4096] = "";
    snprintf(host, sizeof(host), "8000-%s.sb.localhost:%u", lid, f->s.ingress_port);
    if (ig(f, "GET", host, "/hello", NULL, &r)) {
        CHECK_EQ(r.status, 200);
        CHECK_STR(r.body, "hello");
        CHECK(strstr(r.head, "Cache-Control") == NULL);
        hresp_free(&r);
    }
    /* by name, upper case, a trailing dot */
    if (ig(f, "GET", "8000-WEB.SB.LOCALHOST.", "/hello", NULL, &r)) {
        CHECK_EQ(r.status, 200);
        CHECK_STR(r.body, "hello");
        hresp_free(&r);
    }
    if (ig(f, "HEAD", host_name, "/hello", NULL, &r)) {
        CHECK_EQ(r.status, 200);
        CHECK(strstr(r.head, "Content-Length: 5\r\n"));
        CHECK_EQ(r.body_len, 0);
        hresp_free(&r);
    }
    if (ig(f, "GET", host_name, "/headers",
           "X-Forwarded-For: 198.51.100.7\r\nX-Hearth-Token: hk_not_for_the_guest\r\n"
           "Connection: close, X-Hop\r\nX-Hop: secret\r\nX-Keep: yes\r\n", &r)) {
        CHECK_EQ(r.status, 200);
        CHECK(strstr(r.body, "x-forwarded-for: 198.51.100.7, 127.0.0.1\n"));
        CHECK(strstr(r.body, "x-forwarded-proto: http\n"));
        CHECK(strstr(r.body, "x-forwarded-host: 8000-web.sb.localhost"));
        CHECK(strstr(r.body, "x-keep: yes\n"));
        CHECK(!strstr(r.body, "x-hop"));
        CHECK(!strstr(r.body, "hk_not_for_the_guest"));
        hresp_free(&r);
    }
    /* a closed port: 502 with a page that is not cached */
    if (ig(f, "GET", "8001-web.sb.localhost", "/", NULL, &r)) {
        CHECK_EQ(r.status, 502);
        CHECK(strstr(r.head, "Cache-Control: no-store"));
        hresp_free(&r);
    }
    /* unknown id, unknown name: one 404, byte for byte */
    if (ig(f, "GET", "8000-sb-01hx5zq3v2k4m6n8p0r2s4t6v8.sb.localhost", "/", NULL, &r)) {
        CHECK_EQ(r.status, 404);
        snprintf(h404, sizeof(h404), "%s", r.body);
        hresp_free(&r);
    }
    if (ig(f, "GET", "8000-nope.sb.localhost", "/", NULL, &r)) {
        CHECK_EQ(r.status, 404);
        CHECK_STR(r.body, h404);
        hresp_free(&r);
    }
    /* bad hosts: 400 */
    static const char *const bad[] = { "0-web.sb.localhost", "65536-web.sb.localhost",
                                       "web.sb.localhost", "8000-web.example.com",
                                       "8000-web.localhost", "127.0.0.1" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ig(f, "GET", bad[i], "/", NULL, &r)) {
            if (r.status != 400)
                harness_fail(__FILE__, __LINE__, "%s: %d", bad[i], r.status);
            hresp_free(&r);
        }
    }
}

/* Multi-MiB bodies both ways (Content-Length and chunked), keep-alive reuse, ingress bytes. */
static void check_bodies(struct vfx *f, const char *id, const char *host_name)
{
    char path[128], cmd[1024], out[4096], want[80], sum[65];
    snprintf(path, sizeof(path), "%s/up.bin", f->s.dir);
    uint8_t *data = malloc(BIG);
    if (!data)
        return;
    for (size_t i = 0; i < BIG; i++)
        data[i] = (uint8_t)((i * 2654435761u) >> 13);
    sha256_hex(data, BIG, sum);
    snprintf(want, sizeof(want), "%u %s", BIG, sum);
    FILE *fp = fopen(path, "w");
    CHECK(fp && fwrite(data, 1, BIG, fp) == BIG);
    if (fp)
        fclose(fp);
    free(data);
    long long before = 0;
    struct hresp r;
    char t[128];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", id);
    if (call(f, "GET", t, NULL, 200, &r)) {
        before = jint(r.json, "data.bandwidth_ingress_bytes");
        hresp_free(&r);
    }
    snprintf(cmd, sizeof(cmd),
             "curl -s --connect-to ::127.0.0.1:%u --data-binary @%s http://%s/up",
             f->s.ingress_port, path, host_name);
    CHECK_EQ(sh(cmd, out, sizeof(out)), 0);
    CHECK_STR(out, want);
    snprintf(cmd, sizeof(cmd),
             "curl -s --connect-to ::127.0.0.1:%u -H 'Transfer-Encoding: chunked' "
             "--data-binary @%s http://%s/up", f->s.ingress_port, path, host_name);
    CHECK_EQ(sh(cmd, out, sizeof(out)), 0);
    CHECK_STR(out, want);
    /* download: every byte of the pattern */
    snprintf(cmd, sizeof(cmd),
             "curl -s --connect-to ::127.0.0.1:%u http://%s/big/%u -o %s/down.bin -w "
             "'%%{http_code} %%{size_download}'", f->s.ingress_port, host_name, BIG, f->s.dir);
    CHECK_EQ(sh(cmd, out, sizeof(out)), 0);
    snprintf(want, sizeof(want), "200 %u", BIG);
    CHECK_STR(out, want);
    snprintf(path, sizeof(path), "%s/down.bin", f->s.dir);
    fp = fopen(path, "r");
    size_t bad = 0, n = 0;
    int c;
    while (fp && (c = fgetc(fp)) != EOF)
        bad += (unsigned)c != n++ % 251;
    if (fp)
        fclose(fp);
    CHECK_EQ(n, BIG);
    CHECK_EQ(bad, 0);
    /* keep-alive: ten client connections in a row ride at most two guest connections */
    snprintf(cmd, sizeof(cmd), "curl -s --connect-to ::127.0.0.1:%u http://%s/conns",
             f->s.ingress_port, host_name);
    CHECK_EQ(sh(cmd, out, sizeof(out)), 0);
    long first = atol(out);
    for (int i = 0; i < 10; i++)
        CHECK_EQ(sh(cmd, out, sizeof(out)), 0);
    long last = atol(out);
    if (last - first > 2)
        harness_fail(__FILE__, __LINE__, "guest connections %ld → %ld: no reuse", first, last);
    /* the 2 x 6 MiB that went in show in the sandbox's ingress bytes within a tick or two */
    long long after = before;
    for (int i = 0; i < 50 && after < before + 2 * (long long)BIG; i++) {
        usleep(200 * 1000);
        if (call(f, "GET", t, NULL, 200, &r)) {
            after = jint(r.json, "data.bandwidth_ingress_bytes");
            hresp_free(&r);
        }
    }
    CHECK_INT(after, >=, before + 2 * (long long)BIG);
}

/* The guest answers garbage, never, or with a head that never ends. */
static void check_hostile_guest(struct vfx *f)
{
    struct hresp r;
    if (ig(f, "GET", "9001-web.sb.localhost", "/", NULL, &r)) {
        CHECK_EQ(r.status, 502);
        hresp_free(&r);
    }
    if (ig(f, "GET", "9003-web.sb.localhost", "/", NULL, &r)) {
        CHECK_EQ(r.status, 502);
        hresp_free(&r);
    }
    time_t t0 = time(NULL);
    if (ig(f, "GET", "9002-web.sb.localhost", "/", NULL, &r)) {
        CHECK_EQ(r.status, 504);
        CHECK_INT(time(NULL) - t0, <, 30);
        hresp_free(&r);
    }
    if (ig(f, "GET", "8000-web.sb.localhost", "/hello", NULL, &r)) {
        CHECK_EQ(r.status, 200); /* and the proxy goes on */
        hresp_free(&r);
    }
}

/* Hostile clients on the ingress listener, while ordinary requests go on. */
static void check_hostile_client(struct vfx *f)
{
    struct hresp r;
    const char *dup = "POST /up HTTP/1.1\r\nHost: 8000-web.sb.localhost\r\nContent-Length: 3\r\n"
                      "Content-Length: 4\r\n\r\nabcd";
    CHECK(http_raw(f->s.ingress_port, dup, strlen(dup), &r, false) == 0);
    CHECK_EQ(r.status, 400);
    hresp_free(&r);
    const char *clte = "POST /up HTTP/1.1\r\nHost: 8000-web.sb.localhost\r\nContent-Length: 3\r\n"
                       "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    CHECK(http_raw(f->s.ingress_port, clte, strlen(clte), &r, false) == 0);
    CHECK_EQ(r.status, 400);
    hresp_free(&r);
    size_t big = 80 * 1024;
    char *huge = malloc(big + 256);
    if (huge) {
        int n = snprintf(huge, 256, "GET / HTTP/1.1\r\nHost: 8000-web.sb.localhost\r\nX-Big: ");
        memset(huge + n, 'a', big);
        memcpy(huge + n + big, "\r\n\r\n", 4);
        CHECK(http_raw(f->s.ingress_port, huge, (size_t)n + big + 4, &r, false) == 0);
        CHECK_EQ(r.status, 431);
        hresp_free(&r);
        free(huge);
    }
    /* slowloris: a head dribbled out never completes; others are served meanwhile; 408 */
    int slow[4];
    for (int i = 0; i < 4; i++) {
        slow[i] = connect_local(f->s.ingress_port);
        CHECK(slow[i] >= 0 && send(slow[i], "GET / HTTP/1.1\r\nHo", 18, MSG_NOSIGNAL) == 18);
    }
    time_t t0 = time(NULL);
    for (int k = 0; k < 4; k++) {
        for (int i = 0; i < 4; i++)
            (void)send(slow[i], "s", 1, MSG_NOSIGNAL);
        if (ig(f, "GET", "8000-web.sb.localhost", "/hello", NULL, &r)) {
            CHECK_EQ(r.status, 200);
            hresp_free(&r);
        }
        usleep(300 * 1000);
    }
    for (int i = 0; i < 4; i++) {
        char buf[512] = "";
        ssize_t n = recv(slow[i], buf, sizeof(buf) - 1, 0);
        CHECK(n > 0 && strncmp(buf, "HTTP/1.1 408", 12) == 0);
        close(slow[i]);
    }
    CHECK_INT(time(NULL) - t0, <, 20);
}

static void check_websocket(struct vfx *f, const char *host_name)
{
    char path[128], cmd[512], out[1024];
    snprintf(path, sizeof(path), "%s/ws.py", f->s.dir);
    FILE *fp = fopen(path, "w");
    if (!fp)
        return;
    fputs(INGRESS_WS_CLIENT_PY, fp);
    fclose(fp);
    snprintf(cmd, sizeof(cmd), "python3 %s %u %s 2>&1", path, f->s.ingress_port, host_name);
    CHECK_EQ(sh(cmd, out, sizeof(out)), 0);
    CHECK_STR(out, "101 True\n4 ping\n6 second\n70000 zzzzzz\n");
}

/* PATCH ingress_enabled off: the next request gets the one 404 and an open WebSocket closes;
 * on again: served. */
static void check_toggle(struct vfx *f, const char *id, const char *h404)
{
    char t[128];
    struct hresp r;
    int ws = connect_local(f->s.ingress_port);
    const char *up = "GET /ws HTTP/1.1\r\nHost: 8000-web.sb.localhost\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n";
    char buf[1024];
    CHECK(ws >= 0 && send(ws, up, strlen(up), MSG_NOSIGNAL) == (ssize_t)strlen(up));
    ssize_t n = recv(ws, buf, sizeof(buf) - 1, 0);
    CHECK(n > 12 && strncmp(buf, "HTTP/1.1 101", 12) == 0);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", id);
    if (call(f, "PATCH", t, "{\"ingress_enabled\":false}", 200, &r))
        hresp_free(&r);
    if (ig(f, "GET", "8000-web.sb.localhost", "/hello", NULL, &r)) {
        CHECK_EQ(r.status, 404);
        CHECK_STR(r.body, h404);
        hresp_free(&r);
    }
    /* the open connection is closed within the proxy's one-second check */
    struct pollfd pfd = { .fd = ws, .events = POLLIN };
    CHECK(poll(&pfd, 1, 5000) == 1);
    CHECK(recv(ws, buf, sizeof(buf), 0) <= 0);
    close(ws);
    if (call(f, "PATCH", t, "{\"ingress_enabled\":true}", 200, &r))
        hresp_free(&r);
    if (ig(f, "GET", "8000-web.sb.localhost", "/hello", NULL, &r)) {
        CHECK_EQ(r.status, 200);
        hresp_free(&r);
    }
}

static uint16_t https_port(struct vfx *f)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/ingress-https.port", f->s.data);
    FILE *fp = fopen(p, "r");
    unsigned v = 0;
    if (fp) {
        if (fscanf(fp, "%u", &v) != 1)
            v = 0;
        fclose(fp);
    }
    return (uint16_t)v;
}

/* HTTPS with the generated wildcard, verified by curl; the TLS name must agree with Host. */
static void check_https(struct vfx *f)
{
    uint16_t port = https_port(f);
    CHECK(port != 0);
    char cmd[1024], out[4096];
    snprintf(cmd, sizeof(cmd),
             "curl -s --cacert %s/ingress/tls-cert.pem "
             "--resolve 8000-web.sb.localhost:%u:127.0.0.1 "
             "https://8000-web.sb.localhost:%u/headers", f->s.data, port, port);
    CHECK_EQ(sh(cmd, out, sizeof(out)), 0);
    CHECK(strstr(out, "x-forwarded-proto: https\n"));
    snprintf(cmd, sizeof(cmd),
             "curl -s --cacert %s/ingress/tls-cert.pem "
             "--resolve 8000-web.sb.localhost:%u:127.0.0.1 "
             "-H 'Host: 8000-other.sb.localhost' -w ' %%{http_code}' "
             "https://8000-web.sb.localhost:%u/hello", f->s.data, port, port);
    CHECK_EQ(sh(cmd, out, sizeof(out)), 0);
    CHECK(strstr(out, " 421"));
}

/* Waits for id in the paused list without addressing it (a request to the sandbox itself is
 * activity and would hold the auto-pauser off). */
static bool wait_paused_listed(struct vfx *f, const char *id, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 500) {
        struct hresp r;
        if (!call(f, "GET", "/v1/sandboxes?status=paused", NULL, 200, &r))
            return false;
        const char *got = jstr(r.json, "data.data.0.id");
        bool done = got && strcmp(got, id) == 0;
        hresp_free(&r);
        if (done)
            return true;
        usleep(500 * 1000);
    }
    harness_fail(__FILE__, __LINE__, "%s not paused within %d ms", id, timeout_ms);
    return false;
}

/* Waking on traffic (docs/ingress-ssh.md "Waking on traffic"): a sandbox paused through the
 * API answers its first request; one the idle auto-pauser paused (PATCH's shortest limit, 60 s)
 * does too, with its server process (and its connection count) intact. */
static void check_wake(struct vfx *f, const char *id, bool auto_pause)
{
    char t[160], st[32];
    struct hresp r;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", id);
    long conns = -1;
    if (ig(f, "GET", "8000-web.sb.localhost", "/conns", NULL, &r)) {
        conns = atol(r.body ? r.body : "-1");
        hresp_free(&r);
    }
    if (auto_pause) {
        if (call(f, "PATCH", t, "{\"auto_pause_after_seconds\":60}", 200, &r))
            hresp_free(&r);
        if (call(f, "GET", t, NULL, 200, &r)) /* the auto-pauser follows it from here */
            hresp_free(&r);
        CHECK(wait_paused_listed(f, id, 120000));
    } else {
        snprintf(t, sizeof(t), "/v1/sandboxes/%s/pause", id);
        if (call(f, "POST", t, NULL, 202, &r))
            hresp_free(&r);
        CHECK(wait_status_ms(f, id, "paused", 60000));
        snprintf(t, sizeof(t), "/v1/sandboxes/%s", id);
    }
    if (ig(f, "GET", "8000-web.sb.localhost", "/conns", NULL, &r)) {
        CHECK_EQ(r.status, 200);
        CHECK_INT(atol(r.body ? r.body : "0"), >=, conns); /* the same process: it counts on */
        hresp_free(&r);
    }
    CHECK_STR(status_of(f, id, st), "running");
    if (auto_pause && call(f, "PATCH", t, "{\"disable_auto_pause\":true}", 200, &r))
        hresp_free(&r);
}

/* One series' value on the metrics listener (docs/operations.md "Metrics"); -1 when the
 * scrape fails or the series is missing. */
static double metric(struct vfx *f, const char *series)
{
    struct hresp r;
    if (http_do(f->s.metrics_port, "GET", "/metrics", NULL, NULL, &r) != 0)
        return -1;
    char key[256];
    snprintf(key, sizeof(key), "\n%s ", series);
    const char *p = r.status == 200 && r.body ? strstr(r.body, key) : NULL;
    double v = p ? strtod(p + strlen(key), NULL) : -1;
    hresp_free(&r);
    return v;
}

/* What the checks so far did shows in the ingress metrics: the guest's answers by class, the
 * proxy's own 404 exactly, bytes both ways, head latencies, the wakes; gauges are present. */
static void check_metrics(struct vfx *f)
{
    CHECK(metric(f, "hearth_ingress_requests_total{code=\"2xx\"}") >= 10);
    CHECK(metric(f, "hearth_ingress_requests_total{code=\"404\"}") >= 1);
    CHECK(metric(f, "hearth_ingress_requests_total{code=\"421\"}") >= 1);
    CHECK(metric(f, "hearth_ingress_requests_total{code=\"502\"}") >= 1);
    CHECK(metric(f, "hearth_ingress_requests_total{code=\"504\"}") >= 1);
    CHECK(metric(f, "hearth_ingress_bytes_total{direction=\"in\"}") > 0);
    CHECK(metric(f, "hearth_ingress_bytes_total{direction=\"out\"}") > 1000000);
    CHECK(metric(f, "hearth_ingress_request_duration_seconds_count") >= 10);
    CHECK(metric(f, "hearth_ingress_wakes_total{result=\"ok\"}") >= 2);
    CHECK(metric(f, "hearth_ingress_connections") >= 0);
    CHECK(metric(f, "hearth_ingress_upstream_pool") >= 0);
    CHECK(metric(f, "hearth_ingress_websockets") >= 0);
}

/* ingress_private = on after a restart (the VM lives on): 401 before any lookup, the owner's
 * key works and is not forwarded, another user's key gets the one 404. */
static void check_private(struct vfx *f, const char *id, const char *h404)
{
    char out[128], err[1024], hdr[256];
    FILE *fp = fopen(f->s.conf, "a");
    if (!fp)
        return;
    fputs("ingress_private = on\n", fp);
    fclose(fp);
    CHECK_EQ(hd_stop(&f->s), 0);
    if (!vfx_restart(f))
        return;
    const char *create_key[] = { "keys", "--config", f->s.conf, "create", "--user", "mallory",
                                 NULL };
    CHECK_EQ(hd_run(create_key, out, sizeof(out), err, sizeof(err)), 0);
    out[strcspn(out, "\n")] = '\0';
    struct hresp r;
    if (ig(f, "GET", "8000-web.sb.localhost", "/hello", NULL, &r)) {
        CHECK_EQ(r.status, 401);
        hresp_free(&r);
    }
    if (ig(f, "GET", "8000-nope.sb.localhost", "/hello", "X-Hearth-Token: hk_wrong\r\n", &r)) {
        CHECK_EQ(r.status, 401);
        hresp_free(&r);
    }
    snprintf(hdr, sizeof(hdr), "X-Hearth-Token: %s\r\n", out);
    if (ig(f, "GET", "8000-web.sb.localhost", "/hello", hdr, &r)) {
        CHECK_EQ(r.status, 404);
        CHECK_STR(r.body, h404);
        hresp_free(&r);
    }
    snprintf(hdr, sizeof(hdr), "X-Hearth-Token: %s\r\n", f->s.admin_key);
    for (int i = 0; i < 100; i++) { /* the adopted VM's agent may take a moment */
        if (!ig(f, "GET", "8000-web.sb.localhost", "/headers", hdr, &r))
            break;
        if (r.status == 200)
            break;
        hresp_free(&r);
        usleep(100 * 1000);
    }
    CHECK_EQ(r.status, 200);
    CHECK(r.body && !strstr(r.body, f->s.admin_key) && !strstr(r.body, "x-hearth-token"));
    hresp_free(&r);
    snprintf(hdr, sizeof(hdr), "Cookie: a=1; hearth_token=%s\r\n", f->s.admin_key);
    if (ig(f, "GET", "8000-web.sb.localhost", "/headers", hdr, &r)) {
        CHECK_EQ(r.status, 200);
        CHECK(r.body && strstr(r.body, "cookie: a=1\n") && !strstr(r.body, f->s.admin_key));
        hresp_free(&r);
    }
    /* the sandbox's delegated access token opens it too, and stops at once when revoked */
    char t[160], tok[128] = "";
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/access-token", id);
    if (call(f, "POST", t, NULL, 200, &r)) {
        snprintf(tok, sizeof(tok), "%s", jstr(r.json, "data.token") ? jstr(r.json, "data.token")
                                                                      : "");
        hresp_free(&r);
    }
    snprintf(hdr, sizeof(hdr), "X-Hearth-Token: %s\r\n", tok);
    if (ig(f, "GET", "8000-web.sb.localhost", "/hello", hdr, &r)) {
        CHECK_EQ(r.status, 200);
        hresp_free(&r);
    }
    if (call(f, "DELETE", t, NULL, 200, &r))
        hresp_free(&r);
    if (ig(f, "GET", "8000-web.sb.localhost", "/hello", hdr, &r)) {
        CHECK_EQ(r.status, 401);
        hresp_free(&r);
    }
    /* since the restart: the 401s, and the wrong credentials counted for this edge */
    CHECK(metric(f, "hearth_ingress_requests_total{code=\"401\"}") >= 3);
    CHECK(metric(f, "hearth_auth_failures_total{edge=\"ingress\"}") >= 2);
    CHECK_EQ(metric(f, "hearth_auth_failures_total{edge=\"ssh\"}"), 0);
}

TEST_SLOW(ingress_vm_proxy, 1200)
{
    struct vfx f;
    if (!vfx_start_conf(&f, CONF))
        return;
    char id[64], lid[64], host_name[128], h404[4096] = "";
    struct hresp r;
    if (!f.s.ingress_port || !create(&f, SANDBOX, id) || !start_guest(&f, id)) {
        CHECK(f.s.ingress_port != 0);
        vfx_end(&f);
        return;
    }
    for (size_t i = 0; i <= strlen(id); i++)
        lid[i] = (char)(id[i] >= 'A' && id[i] <= 'Z' ? id[i] - 'A' + 'a' : id[i]);
    snprintf(host_name, sizeof(host_name), "8000-web.sb.localhost:%u", f.s.ingress_port);
    char t[128];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", id);
    if (call(&f, "GET", t, NULL, 200, &r)) {
        char want[256];
        snprintf(want, sizeof(want), "http://<port>-%s.sb.localhost:%u", lid, f.s.ingress_port);
        CHECK_STR(jstr(r.json, "data.ingress_url_template"), want);
        hresp_free(&r);
    }
    if (ig(&f, "GET", "8000-nope.sb.localhost", "/", NULL, &r)) {
        snprintf(h404, sizeof(h404), "%s", r.body);
        hresp_free(&r);
    }
    check_basics(&f, lid, host_name);
    check_bodies(&f, id, host_name);
    check_websocket(&f, host_name);
    check_hostile_guest(&f);
    check_hostile_client(&f);
    check_toggle(&f, id, h404);
    check_https(&f);
    check_wake(&f, id, false);
    check_wake(&f, id, true);
    check_metrics(&f);
    check_private(&f, id, h404);
    /* destroyed: the one 404 (private ingress on: the owner's key) */
    CHECK(destroy(&f, id));
    char hdr[256];
    snprintf(hdr, sizeof(hdr), "X-Hearth-Token: %s\r\n", f.s.admin_key);
    if (ig(&f, "GET", "8000-web.sb.localhost", "/hello", hdr, &r)) {
        CHECK_EQ(r.status, 404);
        CHECK_STR(r.body, h404);
        hresp_free(&r);
    }
    vfx_end(&f);
}
