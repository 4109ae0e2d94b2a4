/* SPDX-License-Identifier: MIT */
/* fuzz_dns_tcp.c: libFuzzer driver for DNS over TCP (src/daemon/net/dns_tcp.c: 2-byte length
 * framing, pipelined queries, the in-flight cap, closing at the client's EOF) through the real
 * server (dns_server.c, dns_forward.c) on loopback. The input is the byte stream one client
 * connection sends before it shuts down its side; a fake upstream answers every forwarded query
 * at once (empty NOERROR, NXDOMAIN for names starting "nx", one A record for names starting
 * "a"), and names under hearth.internal are answered locally. Every reply the client reads must
 * be framed and parse as a response, and the server must close the connection once all is
 * answered (well before its 10 s idle timeout).
 * Run: make fuzz FUZZ_TARGETS=dns_tcp (docs/testing.md "Fuzzing"). */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/net/dns.h"

#define CLOSE_DEADLINE_S 8          /* the server's idle timeout is 10 s */
#define REPLIES_MAX (1u << 20)
#define INPUT_MAX (64u << 10)       /* written before the server reads: within the socket buffers */

struct fx {
    struct event_base *base;
    struct dns_server *s;
    struct sockaddr_in srv;         /* the server's TCP address */
    int up;                         /* the fake upstream's UDP socket */
};

static struct fx fx;

static bool hook_client(void *ud, uint32_t src, char id[DNS_SANDBOX_ID_MAX])
{
    memcpy(id, "sb-fuzz", 8);
    return true;
}

/* peer.hearth.internal has two addresses, ghost.* is ours but unknown, the rest goes upstream */
static int hook_local(void *ud, const char *id, const char *qname, uint32_t *addrs, size_t *n,
                      uint32_t *ttl)
{
    if (strncmp(qname, "ghost.", 6) == 0)
        return -1;
    if (strcmp(qname, "peer.hearth.internal") != 0 || *n < 2)
        return 0;
    addrs[0] = 0x0a590005;
    addrs[1] = addrs[0] + 1;
    *n = 2;
    *ttl = 30;
    return 1;
}

static void hook_answered(void *ud, const char *id, const char *qname, const uint32_t *addrs,
                          size_t n, uint32_t ttl)
{
    if (n == 0 || n > 64 || strcmp(id, "sb-fuzz") != 0)
        abort(); /* the hook's contract */
}

/* The end of the question of a query (no compression in a question we answer), or 0. */
static size_t question_end(const uint8_t *m, size_t len)
{
    size_t off = 12;
    while (off < len && m[off] != 0) {
        if (m[off] & 0xc0)
            return 0;
        off += 1 + m[off];
    }
    return off + 5 <= len ? off + 5 : 0;
}

/* The fake upstream: answers each query at once. */
static void on_upstream(evutil_socket_t fd, short what, void *arg)
{
    uint8_t q[4096], a[4096 + 16];
    struct sockaddr_in from;
    for (;;) {
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
        if (n < 0)
            return;
        size_t qe = question_end(q, (size_t)n);
        if (qe == 0)
            continue; /* the server forwards only queries it parsed */
        memcpy(a, q, qe);
        a[2] |= 0x80;                        /* QR */
        a[3] = 0x80;                         /* RA, NOERROR */
        memset(a + 6, 0, 6);                 /* no answer, authority or additional yet */
        size_t len = qe;
        if (q[12] >= 2 && q[13] == 'n' && q[14] == 'x') {
            a[3] |= 3;                       /* NXDOMAIN */
        } else if (q[12] >= 1 && q[13] == 'a') {
            static const uint8_t rr[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4,
                                          192, 0, 2, 1 };
            memcpy(a + len, rr, sizeof(rr));
            len += sizeof(rr);
            a[7] = 1;                        /* ANCOUNT */
        }
        (void)sendto(fd, a, len, 0, (struct sockaddr *)&from, fl); /* loopback: never blocks */
    }
}

static int bound(int type)
{
    int fd = socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        (type == SOCK_STREAM && listen(fd, 64) < 0))
        abort();
    return fd;
}

static void setup(void)
{
    signal(SIGPIPE, SIG_IGN); /* as hearthd does */
    fx.base = event_base_new();
    int udp = bound(SOCK_DGRAM), tcp = bound(SOCK_STREAM);
    fx.up = bound(SOCK_DGRAM);
    socklen_t l = sizeof(fx.srv);
    struct sockaddr_in up;
    socklen_t ul = sizeof(up);
    if (!fx.base || getsockname(tcp, (struct sockaddr *)&fx.srv, &l) < 0 ||
        getsockname(fx.up, (struct sockaddr *)&up, &ul) < 0)
        abort();
    struct event *ev = event_new(fx.base, fx.up, EV_READ | EV_PERSIST, on_upstream, NULL);
    if (!ev || event_add(ev, NULL) < 0)
        abort();
    struct dns_config c = { .upstreams = &up, .n_upstreams = 1, .timeout_ms = 500, .tries = 1 };
    struct dns_hooks h = { .client = hook_client, .local = hook_local, .answered = hook_answered };
    if (dns_server_new(fx.base, udp, tcp, &c, &h, NULL, &fx.s) < 0)
        abort();
    /* the server, its sockets and the upstream live as long as the process */
}

static uint8_t replies[REPLIES_MAX];

struct conn {
    uint8_t *in;                    /* replies read so far (into replies) */
    size_t len;
    bool closed;                    /* the server closed (EOF or reset) */
    bool late;                      /* the deadline passed first */
};

static void on_client(evutil_socket_t fd, short what, void *arg)
{
    struct conn *c = arg;
    if (what & EV_TIMEOUT) {
        c->late = true;
        return;
    }
    for (;;) {
        if (c->len == REPLIES_MAX)
            abort(); /* far more answer than any input asks for */
        ssize_t n = read(fd, c->in + c->len, REPLIES_MAX - c->len);
        if (n > 0) {
            c->len += (size_t)n;
            continue;
        }
        if (n == 0 || errno != EAGAIN)
            c->closed = true;
        return;
    }
}

/* Each framed reply must parse as a response. */
static void check_replies(const uint8_t *p, size_t len)
{
    while (len >= 2) {
        size_t n = (size_t)p[0] << 8 | p[1];
        if (n < 12 || n > len - 2)
            abort();
        ldns_pkt *pkt = NULL;
        if (ldns_wire2pkt(&pkt, p + 2, n) != LDNS_STATUS_OK || !ldns_pkt_qr(pkt))
            abort();
        ldns_pkt_free(pkt);
        p += 2 + n;
        len -= 2 + n;
    }
    if (len != 0)
        abort(); /* half a reply, then the close */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > INPUT_MAX)
        return 0;
    if (!fx.base)
        setup();
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&fx.srv, sizeof(fx.srv)) < 0)
        abort();
    /* loopback takes a whole input before anyone reads (the buffer is far larger) */
    if (size && write(fd, data, size) != (ssize_t)size)
        abort();
    if (shutdown(fd, SHUT_WR) < 0 || fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
        abort();
    struct conn c = { .in = replies };
    struct event *ev = event_new(fx.base, fd, EV_READ | EV_PERSIST, on_client, &c);
    const struct timeval deadline = { CLOSE_DEADLINE_S, 0 };
    if (!ev || event_add(ev, &deadline) < 0)
        abort();
    while (!c.closed && !c.late)
        event_base_loop(fx.base, EVLOOP_ONCE);
    if (c.late)
        abort(); /* the server kept a finished connection open */
    check_replies(c.in, c.len);
    event_free(ev);
    close(fd);
    return 0;
}
