/* SPDX-License-Identifier: MIT */
/* test_upgrade_vm.c: the upgrade routes on a real microVM (docs/api.md §3.12) through real
 * HTTP. Tunnels: the checks before the upgrade (400 bad port, 426 without Upgrade, 404, 502
 * closed port), the 101 and a transparent pipe to a guest echo server (busybox nc), early bytes
 * after the head, half-close both ways, many tunnels at once moving checksummed data in both
 * directions, hearthd's memory bounded when a fast sender meets a slow reader either way. Shell:
 * input and output through the frames, hostile frames (oversized, bad resize) closing cleanly,
 * a client that leaves taking its shell with it, a flooding shell with a client that does not
 * read. One VM serves every check of a test. */
#include "apitest.h"
#include "vmfx.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define COLD "golden_snapshots = off\n"
#define ECHO_PORT 7000  /* nc -e cat: echoes, half-closes after the client's EOF */
#define ZERO_PORT 7001  /* nc -e cat /dev/zero: an endless source */
#define SLEEP_PORT 7002 /* nc -e sleep: accepts and never reads */

/* Starts the guest's servers: one nc per port, forking a program per connection. */
static bool start_servers(struct vfx *f, const char *id)
{
    struct hresp r;
    char body[512];
    snprintf(body, sizeof(body),
             "{\"cmd\":\"sh\",\"args\":[\"-c\",\"for a in '%d cat' '%d cat /dev/zero' "
             "'%d sleep 3600'; do set -- $a; p=$1; shift; setsid nc -ll -p $p -e \\\"$@\\\" "
             "</dev/null >/dev/null 2>&1 & done; sleep 0.5; netstat -ltn\"]}",
             ECHO_PORT, ZERO_PORT, SLEEP_PORT);
    REQUIRE(exec_json(f, id, body, 200, &r));
    const char *out = jstr(r.json, "data.result.stdout");
    bool ok = out && strstr(out, ":7000") && strstr(out, ":7001") && strstr(out, ":7002");
    if (!ok)
        harness_fail(__FILE__, __LINE__, "guest servers did not start: %s", out ? out : "?");
    hresp_free(&r);
    return ok;
}

static int connect_hd(struct vfx *f)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(f->s.port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* a hang shows as a failed check, not as the test's deadline */
    struct timeval tv = { .tv_sec = 60 };
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
        return fd;
    if (fd >= 0)
        close(fd);
    return -1;
}

/* Sends the upgrade request (plus early bytes) and reads the head byte by byte, so nothing
 * after it is consumed. Returns the socket with the status in *status, or -1. */
static int upgrade_open(struct vfx *f, const char *id, const char *route, const char *upgrade,
                        const void *early, size_t early_len, int *status, char *head,
                        size_t head_max)
{
    int fd = connect_hd(f);
    if (fd < 0)
        return -1;
    char req[1024];
    int n = snprintf(req, sizeof(req),
                     "POST /v1/sandboxes/%s/%s HTTP/1.1\r\nHost: x\r\n%s%sContent-Length: "
                     "0\r\n\r\n",
                     id, route, f->hdr, upgrade ? upgrade : "");
    char all[2048];
    memcpy(all, req, (size_t)n);
    if (early_len)
        memcpy(all + n, early, early_len);
    if (write(fd, all, (size_t)n + early_len) != (ssize_t)((size_t)n + early_len)) {
        close(fd);
        return -1;
    }
    size_t hl = 0;
    while (hl + 1 < head_max) {
        char c;
        if (read(fd, &c, 1) != 1)
            break;
        head[hl++] = c;
        if (hl >= 4 && memcmp(head + hl - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    head[hl] = 0;
    *status = hl > 12 ? atoi(head + 9) : -1;
    return fd;
}

static int tunnel_open(struct vfx *f, const char *id, const char *port, const char *upgrade,
                       const void *early, size_t early_len, int *status, char *head,
                       size_t head_max)
{
    char route[64];
    snprintf(route, sizeof(route), "tunnel/%s", port);
    return upgrade_open(f, id, route, upgrade, early, early_len, status, head, head_max);
}

/* Reads until EOF (at most max bytes); the count, or -1. */
static ssize_t read_all(int fd, char *buf, size_t max)
{
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, max - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0 || (got += (size_t)n) == max)
            return (ssize_t)got;
    }
}

/* The body after the head of a non-101 answer (Content-Length bytes), as JSON. */
static json_t *answer_json(int fd, const char *head)
{
    char body[4096];
    const char *cl = strcasestr(head, "\r\nContent-Length:");
    size_t want = cl ? strtoul(cl + 17, NULL, 10) : 0;
    if (want >= sizeof(body))
        want = sizeof(body) - 1;
    ssize_t n = want ? read_all(fd, body, want) : 0;
    body[n < 0 ? 0 : n] = 0;
    return json_loads(body, 0, NULL);
}

static void checks_before_upgrade(struct vfx *f, const char *id)
{
    const char *up = "Connection: Upgrade\r\nUpgrade: tcp-tunnel\r\n";
    char head[4096];
    int st;
    struct {
        const char *port, *upgrade;
        int want;
        const char *code;
    } cases[] = {
        { "0", up, 400, "invalid_request" },        { "65536", up, 400, "invalid_request" },
        { "abc", up, 400, "invalid_request" },      { "-1", up, 400, "invalid_request" },
        { "22x", up, 400, "invalid_request" },      { "7000", NULL, 426, "upgrade_required" },
        { "7000", "Connection: Upgrade\r\nUpgrade: websocket\r\n", 426, "upgrade_required" },
        { "1", up, 502, "port_unreachable" },       { "65535", up, 502, "port_unreachable" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int fd = tunnel_open(f, id, cases[i].port, cases[i].upgrade, NULL, 0, &st, head,
                             sizeof(head));
        CHECK(fd >= 0);
        CHECK_EQ(st, cases[i].want);
        json_t *j = answer_json(fd, head);
        const char *code = jstr(j, "data.code") ? jstr(j, "data.code") : jstr(j, "code");
        if (!code || strcmp(code, cases[i].code) != 0)
            harness_fail(__FILE__, __LINE__, "port %s: code %s, want %s", cases[i].port,
                         code ? code : "(none)", cases[i].code);
        json_decref(j);
        close(fd);
    }
    /* an unknown sandbox: 404, before anything else */
    int fd = tunnel_open(f, "sb_01ARZ3NDEKTSV4RRFFQ69G5FAV", "7000", up, NULL, 0, &st, head,
                         sizeof(head));
    CHECK_EQ(st, 404);
    close(fd);
}

/* Echo through one tunnel: early bytes, more bytes, the client's half-close, the echo and then
 * the guest side's EOF. */
static void echo_half_close(struct vfx *f, const char *id)
{
    char head[4096], buf[256];
    int st;
    const char *up = "Connection: Upgrade\r\nUpgrade: tcp-tunnel\r\n";
    int fd = tunnel_open(f, id, "7000", up, "early|", 6, &st, head, sizeof(head));
    CHECK_EQ(st, 101);
    CHECK(strstr(head, "Upgrade: tcp-tunnel") != NULL);
    CHECK(strstr(head, "X-Request-Id: ") != NULL);
    CHECK_EQ(write(fd, "late", 4), 4);
    CHECK_EQ(shutdown(fd, SHUT_WR), 0);
    ssize_t n = read_all(fd, buf, sizeof(buf) - 1);
    CHECK_EQ(n, 10);
    buf[n < 0 ? 0 : n] = 0;
    CHECK_STR(buf, "early|late");
    close(fd);
}

struct flow {
    int fd;
    size_t sent, got, total;
    EVP_MD_CTX *tx, *rx;
    uint64_t seed;
    bool wr_shut, done;
};

static void fill(struct flow *fl, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fl->seed = fl->seed * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (uint8_t)(fl->seed >> 56);
    }
}

/* n tunnels to the echo server at once, each sending total bytes of its own pseudo-random
 * stream and reading them back: the SHA-256 of what went in and what came out must match. */
static void many_echo(struct vfx *f, const char *id, int n, size_t total)
{
    const char *up = "Connection: Upgrade\r\nUpgrade: tcp-tunnel\r\n";
    struct flow *fl = calloc((size_t)n, sizeof(*fl));
    struct pollfd *pf = calloc((size_t)n, sizeof(*pf));
    uint8_t *chunk = malloc(65536), *rbuf = malloc(65536);
    char head[4096];
    for (int i = 0; i < n; i++) {
        int st;
        fl[i].fd = tunnel_open(f, id, "7000", up, NULL, 0, &st, head, sizeof(head));
        CHECK_EQ(st, 101);
        if (st != 101)
            return;
        fcntl(fl[i].fd, F_SETFL, O_NONBLOCK);
        fl[i].total = total;
        fl[i].seed = (uint64_t)i * 7919 + 1;
        fl[i].tx = EVP_MD_CTX_new();
        fl[i].rx = EVP_MD_CTX_new();
        EVP_DigestInit_ex(fl[i].tx, EVP_sha256(), NULL);
        EVP_DigestInit_ex(fl[i].rx, EVP_sha256(), NULL);
    }
    int left = n;
    time_t t0 = time(NULL);
    while (left > 0 && time(NULL) - t0 < 1500) {
        for (int i = 0; i < n; i++) {
            pf[i].fd = fl[i].done ? -1 : fl[i].fd;
            pf[i].events = (short)(POLLIN | (fl[i].sent < total ? POLLOUT : 0));
        }
        if (poll(pf, (nfds_t)n, 5000) <= 0)
            continue;
        for (int i = 0; i < n; i++) {
            struct flow *x = &fl[i];
            if (x->done)
                continue;
            if ((pf[i].revents & POLLOUT) && x->sent < total) {
                size_t want = total - x->sent < 65536 ? total - x->sent : 65536;
                /* the next bytes of the stream: regenerate from the seed's position */
                uint64_t keep = x->seed;
                fill(x, chunk, want);
                ssize_t w = write(x->fd, chunk, want);
                if (w > 0) {
                    /* rewind what was not taken */
                    x->seed = keep;
                    fill(x, chunk, (size_t)w);
                    EVP_DigestUpdate(x->tx, chunk, (size_t)w);
                    x->sent += (size_t)w;
                } else {
                    x->seed = keep;
                }
                if (x->sent == total && !x->wr_shut) {
                    shutdown(x->fd, SHUT_WR);
                    x->wr_shut = true;
                }
            }
            if (pf[i].revents & (POLLIN | POLLHUP | POLLERR)) {
                ssize_t r = read(x->fd, rbuf, 65536);
                if (r > 0) {
                    EVP_DigestUpdate(x->rx, rbuf, (size_t)r);
                    x->got += (size_t)r;
                } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                    x->done = true;
                    left--;
                }
            }
        }
    }
    int bad = 0;
    for (int i = 0; i < n; i++) {
        unsigned char a[32], b[32];
        unsigned la = 0, lb = 0;
        EVP_DigestFinal_ex(fl[i].tx, a, &la);
        EVP_DigestFinal_ex(fl[i].rx, b, &lb);
        if (!fl[i].done || fl[i].got != total || fl[i].sent != total || memcmp(a, b, 32) != 0) {
            if (bad++ < 3)
                harness_fail(__FILE__, __LINE__, "tunnel %d: sent %zu got %zu of %zu, done %d",
                             i, fl[i].sent, fl[i].got, total, fl[i].done);
        }
        EVP_MD_CTX_free(fl[i].tx);
        EVP_MD_CTX_free(fl[i].rx);
        close(fl[i].fd);
    }
    CHECK_EQ(bad, 0);
    fprintf(stderr, "    %d tunnels x %zu bytes echoed in %lds\n", n, total,
            (long)(time(NULL) - t0));
    free(fl);
    free(pf);
    free(chunk);
    free(rbuf);
}

/* hearthd's resident memory in KiB. */
static long rss_kib(pid_t pid)
{
    char p[64], line[256];
    snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
    FILE *fp = fopen(p, "r");
    long kib = -1;
    while (fp && fgets(line, sizeof(line), fp))
        if (sscanf(line, "VmRSS: %ld", &kib) == 1)
            break;
    if (fp)
        fclose(fp);
    return kib;
}

/* A guest source the client never reads, and a client that floods a guest that never reads:
 * hearthd holds a window or so per tunnel, not the flood. */
static void memory_bounded(struct vfx *f, const char *id)
{
    const char *up = "Connection: Upgrade\r\nUpgrade: tcp-tunnel\r\n";
    char head[4096];
    int st, fds[8];
    long before = rss_kib(f->s.pid);
    for (int i = 0; i < 4; i++) {
        fds[i] = tunnel_open(f, id, "7001", up, NULL, 0, &st, head, sizeof(head));
        CHECK_EQ(st, 101);
        int small = 4096;
        setsockopt(fds[i], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    }
    static uint8_t junk[1 << 16];
    for (int i = 4; i < 8; i++) {
        fds[i] = tunnel_open(f, id, "7002", up, NULL, 0, &st, head, sizeof(head));
        CHECK_EQ(st, 101);
        fcntl(fds[i], F_SETFL, O_NONBLOCK);
    }
    /* flood for a few seconds: writes stop being taken once the windows are full */
    size_t pushed = 0;
    for (int round = 0; round < 400; round++) {
        for (int i = 4; i < 8; i++) {
            ssize_t w = write(fds[i], junk, sizeof(junk));
            if (w > 0)
                pushed += (size_t)w;
        }
        usleep(10 * 1000);
    }
    long after = rss_kib(f->s.pid);
    fprintf(stderr, "    hearthd RSS %ld -> %ld KiB; the flood got %zu bytes in\n", before,
            after, pushed);
    /* 8 tunnels, each at most ~2 MiB in flight in hearthd (window + socket output) */
    CHECK(after - before < 32 * 1024);
    CHECK(pushed < 64u << 20);
    for (int i = 0; i < 8; i++)
        close(fds[i]);
}

/* With $HEARTH_TEST_LOG set, hearthd's log tail goes to stderr (debugging a failure). */
static void log_tail(struct vfx *f)
{
    if (!getenv("HEARTH_TEST_LOG"))
        return;
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "tail -n 60 %s >&2", f->s.log);
    (void)system(cmd);
}

static size_t frame(uint8_t *p, uint8_t type, const void *payload, uint32_t len)
{
    p[0] = type;
    p[1] = (uint8_t)(len >> 24), p[2] = (uint8_t)(len >> 16), p[3] = (uint8_t)(len >> 8);
    p[4] = (uint8_t)len;
    if (len)
        memcpy(p + 5, payload, len);
    return 5 + len;
}

/* Reads until needle shows up in what came (or EOF/timeout); true when it did. */
static bool read_until(int fd, const char *needle, char *buf, size_t max)
{
    size_t got = 0;
    while (got + 1 < max) {
        ssize_t n = read(fd, buf + got, max - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        buf[got] = 0;
        if (strstr(buf, needle))
            return true;
    }
    buf[got] = 0;
    return false;
}

static void shell_checks(struct vfx *f, const char *id)
{
    const char *up = "Connection: Upgrade\r\nUpgrade: tcp-tunnel\r\n";
    char head[4096], buf[65536];
    uint8_t fr[256];
    int st;
    /* without the Upgrade header: 426 */
    int fd = upgrade_open(f, id, "shell", NULL, NULL, 0, &st, head, sizeof(head));
    CHECK_EQ(st, 426);
    close(fd);
    /* input and a resize sent with the head, output back raw; frames split across writes */
    size_t n = frame(fr, 1, "\x00\x21\x00\x63", 4); /* 33 x 99 */
    n += frame(fr + n, 0, "stty size; echo $TERM $HOME; pwd\r", 33);
    fd = upgrade_open(f, id, "shell", up, fr, n, &st, head, sizeof(head));
    CHECK_EQ(st, 101);
    CHECK(read_until(fd, "xterm-256color /root", buf, sizeof(buf)));
    CHECK(strstr(buf, "33 99") != NULL);
    n = frame(fr, 9, "ignored", 7);                     /* an unknown type is skipped */
    n += frame(fr + n, 0, "echo spl", 8);
    CHECK_EQ(write(fd, fr, 3), 3);
    usleep(100 * 1000);
    CHECK_EQ(write(fd, fr + 3, n - 3), (ssize_t)(n - 3));
    n = frame(fr, 0, "it-$((40+2))\r", 13);
    CHECK_EQ(write(fd, fr, n), (ssize_t)n);
    CHECK(read_until(fd, "split-42", buf, sizeof(buf)));
    /* exit: the server flushes and closes */
    n = frame(fr, 0, "exit\r", 5);
    CHECK_EQ(write(fd, fr, n), (ssize_t)n);
    CHECK(read_all(fd, buf, sizeof(buf)) >= 0);
    close(fd);

    /* hostile frames close the connection cleanly: a length over 1 MiB, a resize of 3 bytes */
    uint8_t big[5] = { 0, 0x00, 0x10, 0x00, 0x01 };
    uint8_t bad_resize[8] = { 1, 0, 0, 0, 3, 0, 1, 2 };
    const uint8_t *hostile[2] = { big, bad_resize };
    size_t hostile_len[2] = { sizeof(big), sizeof(bad_resize) };
    for (int i = 0; i < 2; i++) {
        fd = upgrade_open(f, id, "shell", up, NULL, 0, &st, head, sizeof(head));
        CHECK_EQ(st, 101);
        CHECK_EQ(write(fd, hostile[i], hostile_len[i]), (ssize_t)hostile_len[i]);
        CHECK(read_all(fd, buf, sizeof(buf)) >= 0); /* EOF, not the 60 s timeout */
        close(fd);
    }

    /* a client that leaves: its shell's group gets SIGHUP (then SIGKILL) */
    fd = upgrade_open(f, id, "shell", up, NULL, 0, &st, head, sizeof(head));
    n = frame(fr, 0, "sleep 4242\r", 11);
    CHECK_EQ(write(fd, fr, n), (ssize_t)n);
    usleep(1500 * 1000);
    close(fd);
    bool gone = false;
    for (int i = 0; i < 80 && !gone; i++) {
        char out[65536];
        CHECK(exec_stdout(f, id, "{\"cmd\":\"ps\"}", out, sizeof(out)));
        gone = !strstr(out, "sleep 4242");
        if (!gone)
            usleep(100 * 1000);
    }
    CHECK(gone);

    /* a flooding shell and a client that does not read: hearthd holds a window, not the flood */
    long before = rss_kib(f->s.pid);
    fd = upgrade_open(f, id, "shell", up, NULL, 0, &st, head, sizeof(head));
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    n = frame(fr, 0, "yes flood-flood-flood\r", 22);
    CHECK_EQ(write(fd, fr, n), (ssize_t)n);
    sleep(4);
    long after = rss_kib(f->s.pid);
    fprintf(stderr, "    flooding shell: hearthd RSS %ld -> %ld KiB\n", before, after);
    CHECK(after - before < 16 * 1024);
    close(fd);
}

/* A GET of shell-ws with extra header lines; the socket, with the status. */
static int ws_open(struct vfx *f, const char *id, const char *hdrs, int *status, char *head,
                   size_t head_max)
{
    int fd = connect_hd(f);
    if (fd < 0)
        return -1;
    char req[1024];
    int n = snprintf(req, sizeof(req),
                     "GET /v1/sandboxes/%s/shell-ws HTTP/1.1\r\nHost: x\r\n%s%s\r\n", id,
                     f->hdr, hdrs);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    size_t hl = 0;
    while (hl + 1 < head_max && read(fd, head + hl, 1) == 1)
        if (++hl >= 4 && memcmp(head + hl - 4, "\r\n\r\n", 4) == 0)
            break;
    head[hl] = 0;
    *status = hl > 12 ? atoi(head + 9) : -1;
    return fd;
}

static void ws_checks(struct vfx *f, const char *id)
{
    const char *ok = "Connection: Upgrade\r\nUpgrade: websocket\r\n"
                     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    struct {
        const char *hdrs;
        int want;
    } bad[] = {
        { "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", 426 },
        { "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 12\r\n"
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", 426 },
        { "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n", 400 },
        { "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
          "Sec-WebSocket-Key: c2hvcnQ=\r\n", 400 },
        { "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
          "Sec-WebSocket-Key: !!!!!!!!!!!!!!!!!!!!!!==\r\n", 400 },
    };
    char head[4096], buf[4096];
    int st;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int fd = ws_open(f, id, bad[i].hdrs, &st, head, sizeof(head));
        CHECK_EQ(st, bad[i].want);
        close(fd);
    }
    /* RFC 6455's own example key and accept value */
    int fd = ws_open(f, id, ok, &st, head, sizeof(head));
    CHECK_EQ(st, 101);
    CHECK(strstr(head, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") != NULL);
    /* an unmasked client frame breaks RFC 6455: close 1002 (0x88, length 2, 0x03EA) */
    const uint8_t unmasked[] = { 0x82, 0x03, 0, 0, 0 };
    CHECK_EQ(write(fd, unmasked, sizeof(unmasked)), (ssize_t)sizeof(unmasked));
    ssize_t n = read_all(fd, buf, sizeof(buf));
    bool saw = false;
    for (ssize_t i = 0; i + 3 < n; i++)
        if ((uint8_t)buf[i] == 0x88 && buf[i + 1] == 2 && (uint8_t)buf[i + 2] == 0x03 &&
            (uint8_t)buf[i + 3] == 0xea)
            saw = true;
    CHECK(saw);
    close(fd);
    /* a masked binary message with an oversized shell frame: close 1002 as well */
    fd = ws_open(f, id, ok, &st, head, sizeof(head));
    CHECK_EQ(st, 101);
    uint8_t m[11] = { 0x82, 0x85, 1, 2, 3, 4, 0, 0x10, 0, 0, 1 };
    for (int i = 0; i < 5; i++)
        m[6 + i] ^= m[2 + i % 4];
    CHECK_EQ(write(fd, m, sizeof(m)), (ssize_t)sizeof(m));
    n = read_all(fd, buf, sizeof(buf));
    saw = false;
    for (ssize_t i = 0; i + 3 < n; i++)
        if ((uint8_t)buf[i] == 0x88 && buf[i + 1] == 2 && (uint8_t)buf[i + 2] == 0x03 &&
            (uint8_t)buf[i + 3] == 0xea)
            saw = true;
    CHECK(saw);
    close(fd);
}

TEST_SLOW(vm_upgrade_basic, 600)
{
    struct vfx f;
    char id[64];
    if (vfx_start_conf(&f, COLD) &&
        create(&f, "{\"shape\":\"s-1vcpu-512mb\",\"rootfs\":\"minimal\"}", id) &&
        start_servers(&f, id)) {
        fprintf(stderr, "    %s\n", "checks_before_upgrade");
        checks_before_upgrade(&f, id);
        fprintf(stderr, "    %s\n", "echo_half_close");
        echo_half_close(&f, id);
        fprintf(stderr, "    %s\n", "many_echo");
        many_echo(&f, id, 8, 1u << 20);
        fprintf(stderr, "    %s\n", "memory_bounded");
        memory_bounded(&f, id);
        fprintf(stderr, "    shell\n");
        shell_checks(&f, id);
        fprintf(stderr, "    shell-ws\n");
        ws_checks(&f, id);
        /* the sandbox still answers after every tunnel closed */
        char out[256];
        CHECK(exec_stdout(&f, id, "{\"cmd\":\"echo\",\"args\":[\"alive\"]}", out, sizeof(out)));
        CHECK_STR(out, "alive\n");
        CHECK(destroy(&f, id));
    }
    log_tail(&f);
    vfx_end(&f);
}

/* 64 concurrent tunnels x 64 MiB each way (docs/testing.md: the slow tier). */
TEST_SLOW(vm_tunnels_64, 1800)
{
    struct vfx f;
    char id[64];
    size_t mib = getenv("HEARTH_TUNNEL_MIB") ? strtoul(getenv("HEARTH_TUNNEL_MIB"), NULL, 10) : 64;
    if (vfx_start_conf(&f, COLD) &&
        create(&f, "{\"shape\":\"s-1vcpu-512mb\",\"rootfs\":\"minimal\"}", id) &&
        start_servers(&f, id)) {
        many_echo(&f, id, 64, mib << 20);
        CHECK(destroy(&f, id));
    }
    vfx_end(&f);
}
