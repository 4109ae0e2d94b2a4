/* SPDX-License-Identifier: MIT */
/* test_dns.c: the sandbox DNS server (src/daemon/net/dns.h) over real sockets on loopback: the
 * server under test, two fake upstreams answering by query name with ldns-built packets
 * (addresses, CNAME chains, NXDOMAIN, TC, spoofed replies, silence), and clients bound to
 * 127.0.0.x so the client hook can tell sandboxes apart. Checks local answers, REFUSED,
 * forwarding with the client's id, the answered hook (A set and min TTL through CNAMEs),
 * retries and SERVFAIL, truncation, TCP (framing, pipelining, TC fallback, hostile lengths,
 * idle close), many queries at once and a flood of malformed packets. */
#include "daemon/net/dns.h"
#include "daemon/net/dns_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define MAX_ANSWERED 8

struct answered {
    char id[64];
    char name[256];
    uint32_t addrs[64];
    size_t n;
    uint32_t ttl;
};

struct upstream {
    struct fx *f;
    int idx;
    int udp;                        /* bound UDP socket */
    int tcp;                        /* listening TCP socket, same port */
    uint16_t port;
    struct event *ev;
    struct evconnlistener *l;
    int udp_queries;
    int tcp_queries;
};

struct fx {
    struct event_base *base;
    int srv_udp, srv_tcp;
    struct sockaddr_in srv;
    struct upstream up[2];
    struct dns_server *s;
    struct answered ans[MAX_ANSWERED];
    int n_ans;
    bool flag;                      /* set by a client event: stop waiting */
};

/* --- hooks --- */

static bool hook_client(void *ud, uint32_t src, char id[64])
{
    if (src == 0x7f000002)
        snprintf(id, 64, "sb-two");
    else if (src == 0x7f000003)
        snprintf(id, 64, "sb-three");
    else
        return false;
    return true;
}

static int hook_local(void *ud, const char *id, const char *qname, uint32_t *addrs, size_t *n,
                      uint32_t *ttl)
{
    if (strcmp(qname, "peer.hearth.internal") == 0 && *n >= 2) {
        addrs[0] = 0x0a590005;
        addrs[1] = 0x0a590006;
        *n = 2;
        *ttl = 30;
        return 1;
    }
    if (strcmp(qname, "ghost.hearth.internal") == 0)
        return -1;
    return 0; /* everything else, including other names under hearth.internal */
}

static void hook_answered(void *ud, const char *id, const char *qname, const uint32_t *addrs,
                          size_t n, uint32_t ttl)
{
    struct fx *f = ud;
    if (n == 0 || n > 64 || !*id || !*qname)
        abort(); /* the contract: at least one address, at most DNS_ANSWER_MAX_ADDRS */
    if (f->n_ans++ >= MAX_ANSWERED)
        return; /* counted; the first few are kept for checks */
    struct answered *a = &f->ans[f->n_ans - 1];
    snprintf(a->id, sizeof(a->id), "%s", id);
    snprintf(a->name, sizeof(a->name), "%s", qname);
    memcpy(a->addrs, addrs, n * sizeof(*addrs));
    a->n = n;
    a->ttl = ttl;
}

/* --- the fake upstreams --- */

static void push(ldns_pkt *p, ldns_pkt_section sec, const char *rr_text)
{
    ldns_rr *rr = NULL;
    if (ldns_rr_new_frm_str(&rr, rr_text, 0, NULL, NULL) != LDNS_STATUS_OK)
        abort();
    ldns_pkt_push_rr(p, sec, rr);
}

/* The reply upstream u gives to q over udp (or TCP), as wire in *out; false: stay silent.
 * extra receives a spoofed datagram to send first (or NULL). */
static bool upstream_reply(struct upstream *u, const ldns_pkt *q, bool tcp, uint8_t **out,
                           size_t *out_len)
{
    const ldns_rr *qrr = ldns_rr_list_rr(ldns_pkt_question(q), 0);
    ldns_rdf *lower = ldns_rdf_clone(ldns_rr_owner(qrr));
    ldns_dname2canonical(lower);
    char *name = ldns_rdf2str(lower);
    ldns_rdf_deep_free(lower);
    ldns_pkt *p = ldns_pkt_new();
    ldns_pkt_set_id(p, ldns_pkt_id(q));
    ldns_pkt_set_qr(p, true);
    ldns_pkt_set_rd(p, ldns_pkt_rd(q));
    ldns_pkt_set_ra(p, true);
    ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, ldns_rr_clone(qrr));
    bool reply = true;
    if (strcmp(name, "a.test.") == 0) {
        push(p, LDNS_SECTION_ANSWER, "a.test. 300 IN A 192.0.2.1");
        push(p, LDNS_SECTION_ANSWER, "a.test. 100 IN A 192.0.2.2");
    } else if (strcmp(name, "cname.test.") == 0) {
        push(p, LDNS_SECTION_ANSWER, "cname.test. 50 IN CNAME mid.test.");
        push(p, LDNS_SECTION_ANSWER, "other.test. 10 IN A 203.0.113.9");
        push(p, LDNS_SECTION_ANSWER, "mid.test. 400 IN CNAME END.test.");
        push(p, LDNS_SECTION_ANSWER, "end.test. 200 IN A 198.51.100.7");
    } else if (strcmp(name, "loop.test.") == 0) {
        push(p, LDNS_SECTION_ANSWER, "loop.test. 50 IN CNAME loop2.test.");
        push(p, LDNS_SECTION_ANSWER, "loop2.test. 50 IN CNAME loop.test.");
    } else if (strcmp(name, "nx.test.") == 0) {
        ldns_pkt_set_rcode(p, LDNS_RCODE_NXDOMAIN);
    } else if (strcmp(name, "tc.test.") == 0) {
        if (tcp)
            push(p, LDNS_SECTION_ANSWER, "tc.test. 60 IN A 192.0.2.55");
        else
            ldns_pkt_set_tc(p, true);
    } else if (strcmp(name, "big.test.") == 0) {
        for (int i = 0; i < 100; i++) {
            char rr[64];
            snprintf(rr, sizeof(rr), "big.test. 60 IN A 10.0.%d.%d", i / 250, i % 250 + 1);
            push(p, LDNS_SECTION_ANSWER, rr);
        }
    } else if (strcmp(name, "spoof.test.") == 0) {
        push(p, LDNS_SECTION_ANSWER, "spoof.test. 60 IN A 192.0.2.3");
    } else if (strcmp(name, "up0silent.test.") == 0) {
        reply = u->idx != 0;
        push(p, LDNS_SECTION_ANSWER, "up0silent.test. 60 IN A 192.0.2.4");
    } else if (strcmp(name, "silent.test.") == 0) {
        reply = false;
    }
    free(name);
    if (reply && ldns_pkt2wire(out, p, out_len) != LDNS_STATUS_OK)
        abort();
    ldns_pkt_free(p);
    return reply;
}

static uint8_t *wire_of(ldns_pkt *p, size_t *len)
{
    uint8_t *w = NULL;
    if (ldns_pkt2wire(&w, p, len) != LDNS_STATUS_OK)
        abort();
    return w;
}

static void upstream_udp_one(struct upstream *u, int fd, const uint8_t *buf, ssize_t n,
                             struct sockaddr_in from, socklen_t fl)
{
    ldns_pkt *q = NULL;
    if (ldns_wire2pkt(&q, buf, (size_t)n) != LDNS_STATUS_OK)
        abort(); /* the server forwards only queries that parsed */
    u->udp_queries++;
    const ldns_rr *qrr = ldns_rr_list_rr(ldns_pkt_question(q), 0);
    char *name = ldns_rdf2str(ldns_rr_owner(qrr));
    if (strcmp(name, "spoof.test.") == 0) {
        /* wrong id, then right id with the wrong question, then garbage: all ignored */
        ldns_pkt *bad = ldns_pkt_new();
        ldns_pkt_set_id(bad, (uint16_t)(ldns_pkt_id(q) + 1));
        ldns_pkt_set_qr(bad, true);
        ldns_pkt_push_rr(bad, LDNS_SECTION_QUESTION, ldns_rr_clone(qrr));
        push(bad, LDNS_SECTION_ANSWER, "spoof.test. 60 IN A 6.6.6.6");
        size_t len;
        uint8_t *w = wire_of(bad, &len);
        (void)sendto(fd, w, len, 0, (struct sockaddr *)&from, fl);
        free(w);
        ldns_pkt_free(bad);
        ldns_rr *evil = NULL;
        ldns_rr_new_question_frm_str(&evil, "evil.test. IN A", NULL, NULL);
        bad = ldns_pkt_new();
        ldns_pkt_set_id(bad, ldns_pkt_id(q));
        ldns_pkt_set_qr(bad, true);
        ldns_pkt_push_rr(bad, LDNS_SECTION_QUESTION, evil);
        push(bad, LDNS_SECTION_ANSWER, "evil.test. 60 IN A 6.6.6.7");
        w = wire_of(bad, &len);
        (void)sendto(fd, w, len, 0, (struct sockaddr *)&from, fl);
        free(w);
        ldns_pkt_free(bad);
        uint8_t junk[3] = { buf[0], buf[1], 0x80 };
        (void)sendto(fd, junk, sizeof(junk), 0, (struct sockaddr *)&from, fl);
    }
    free(name);
    uint8_t *out;
    size_t out_len;
    if (upstream_reply(u, q, false, &out, &out_len)) {
        (void)sendto(fd, out, out_len, 0, (struct sockaddr *)&from, fl);
        free(out);
    }
    ldns_pkt_free(q);
}

/* Answers every datagram waiting, so a burst does not overflow the socket buffer. */
static void on_upstream_udp(evutil_socket_t fd, short what, void *arg)
{
    static uint8_t buf[65536];
    for (;;) {
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
        if (n <= 0)
            return;
        upstream_udp_one(arg, fd, buf, n, from, fl);
    }
}

static void on_upstream_tcp_read(struct bufferevent *bev, void *arg)
{
    struct upstream *u = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    uint8_t hdr[2];
    if (evbuffer_copyout(in, hdr, 2) < 2)
        return;
    size_t len = (size_t)hdr[0] << 8 | hdr[1];
    if (evbuffer_get_length(in) < 2 + len)
        return;
    uint8_t buf[65536];
    evbuffer_drain(in, 2);
    evbuffer_remove(in, buf, len);
    ldns_pkt *q = NULL;
    if (ldns_wire2pkt(&q, buf, len) != LDNS_STATUS_OK)
        abort();
    u->tcp_queries++;
    uint8_t *out;
    size_t out_len;
    if (upstream_reply(u, q, true, &out, &out_len)) {
        uint8_t h[2] = { (uint8_t)(out_len >> 8), (uint8_t)out_len };
        bufferevent_write(bev, h, 2);
        bufferevent_write(bev, out, out_len);
        free(out);
    }
    ldns_pkt_free(q);
}

static void on_upstream_tcp_event(struct bufferevent *bev, short what, void *arg)
{
    bufferevent_free(bev);
}

static void on_upstream_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                               int salen, void *arg)
{
    struct upstream *u = arg;
    struct bufferevent *bev = bufferevent_socket_new(u->f->base, fd, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(bev, on_upstream_tcp_read, NULL, on_upstream_tcp_event, u);
    bufferevent_enable(bev, EV_READ);
}

/* --- fixture --- */

static int bound_socket(int type, uint32_t ip, uint16_t port)
{
    int fd = socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        abort();
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(ip) };
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    if (type == SOCK_STREAM && listen(fd, 512) < 0)
        abort();
    return fd;
}

static uint16_t port_of(int fd)
{
    struct sockaddr_in sa;
    socklen_t l = sizeof(sa);
    getsockname(fd, (struct sockaddr *)&sa, &l);
    return ntohs(sa.sin_port);
}

/* A UDP socket and a TCP listener on one loopback port. */
static void socket_pair(int *udp, int *tcp, uint16_t *port)
{
    for (;;) {
        *udp = bound_socket(SOCK_DGRAM, 0x7f000001, 0);
        *port = port_of(*udp);
        *tcp = bound_socket(SOCK_STREAM, 0x7f000001, *port);
        if (*tcp >= 0)
            return;
        close(*udp); /* that port is taken for TCP: try another */
    }
}

static void fx_init(struct fx *f, int timeout_ms, size_t max_pending)
{
    /* like hearthd (main.c): a reply to a TCP client that is gone is EPIPE, not a signal */
    signal(SIGPIPE, SIG_IGN);
    memset(f, 0, sizeof(*f));
    f->base = event_base_new();
    uint16_t port;
    socket_pair(&f->srv_udp, &f->srv_tcp, &port);
    f->srv = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(port),
                                   .sin_addr.s_addr = htonl(0x7f000001) };
    struct sockaddr_in ups[2];
    for (int i = 0; i < 2; i++) {
        struct upstream *u = &f->up[i];
        u->f = f;
        u->idx = i;
        socket_pair(&u->udp, &u->tcp, &u->port);
        u->ev = event_new(f->base, u->udp, EV_READ | EV_PERSIST, on_upstream_udp, u);
        event_add(u->ev, NULL);
        u->l = evconnlistener_new(f->base, on_upstream_accept, u, LEV_OPT_CLOSE_ON_FREE, 0,
                                  u->tcp);
        ups[i] = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(u->port),
                                       .sin_addr.s_addr = htonl(0x7f000001) };
    }
    struct dns_config c = { .upstreams = ups, .n_upstreams = 2, .timeout_ms = timeout_ms,
                            .max_pending = max_pending };
    struct dns_hooks h = { hook_client, hook_local, hook_answered, NULL };
    if (dns_server_new(f->base, f->srv_udp, f->srv_tcp, &c, &h, f, &f->s) < 0)
        abort();
}

static void fx_release(struct fx *f)
{
    dns_server_free(f->s);
    close(f->srv_udp);
    close(f->srv_tcp);
    for (int i = 0; i < 2; i++) {
        event_free(f->up[i].ev);
        evconnlistener_free(f->up[i].l);
        close(f->up[i].udp);
    }
    event_base_free(f->base);
}

static void on_client_readable(evutil_socket_t fd, short what, void *arg)
{
    struct fx *f = arg;
    f->flag = true;
    event_base_loopbreak(f->base);
}

/* Runs the loop until fd is readable or ms pass. Returns whether it is readable. */
static bool wait_readable(struct fx *f, int fd, int ms)
{
    struct event *ev = event_new(f->base, fd, EV_READ, on_client_readable, f);
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    f->flag = false;
    event_add(ev, &tv);
    event_base_loop(f->base, 0);
    event_free(ev);
    struct pollfd p = { fd, POLLIN, 0 };
    return poll(&p, 1, 0) == 1;
}

/* Runs the loop for ms. */
static void spin(struct fx *f, int ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    event_base_loopexit(f->base, &tv);
    event_base_loop(f->base, 0);
}

static int client_udp(uint32_t ip)
{
    int fd = bound_socket(SOCK_DGRAM, ip, 0);
    if (fd < 0)
        abort();
    return fd;
}

/* A query for name/type with id (and an EDNS0 size when edns > 0). Caller frees. */
static uint8_t *query(const char *name, ldns_rr_type type, uint16_t id, uint16_t edns,
                      size_t *len)
{
    ldns_pkt *p = ldns_pkt_query_new(ldns_dname_new_frm_str(name), type, LDNS_RR_CLASS_IN,
                                     LDNS_RD);
    ldns_pkt_set_id(p, id);
    if (edns)
        ldns_pkt_set_edns_udp_size(p, edns);
    uint8_t *w = wire_of(p, len);
    ldns_pkt_free(p);
    return w;
}

/* Sends msg from fd to the server and waits for one reply; NULL when none came. */
static ldns_pkt *exchange_raw(struct fx *f, int fd, const uint8_t *msg, size_t len, int ms,
                              uint8_t *raw, size_t *raw_len)
{
    (void)sendto(fd, msg, len, 0, (struct sockaddr *)&f->srv, sizeof(f->srv));
    if (!wait_readable(f, fd, ms))
        return NULL;
    uint8_t buf[65536];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0)
        return NULL;
    if (raw) {
        memcpy(raw, buf, (size_t)n);
        *raw_len = (size_t)n;
    }
    ldns_pkt *p = NULL;
    if (ldns_wire2pkt(&p, buf, (size_t)n) != LDNS_STATUS_OK)
        return NULL;
    return p;
}

static ldns_pkt *ask(struct fx *f, uint32_t src, const char *name, ldns_rr_type type,
                     uint16_t id, uint16_t edns)
{
    int fd = client_udp(src);
    size_t len;
    uint8_t *q = query(name, type, id, edns, &len);
    ldns_pkt *p = exchange_raw(f, fd, q, len, 3000, NULL, NULL);
    free(q);
    close(fd);
    return p;
}

static uint32_t a_of(const ldns_pkt *p, size_t i)
{
    const ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(p), i);
    uint32_t be;
    memcpy(&be, ldns_rdf_data(ldns_rr_rdf(rr, 0)), 4);
    return ntohl(be);
}

/* --- tests: local names --- */

TEST(local_a_record_in_any_case)
{
    struct fx f;
    fx_init(&f, 300, 0);
    ldns_pkt *p = ask(&f, 0x7f000002, "PEER.Hearth.Internal.", LDNS_RR_TYPE_A, 0x1234, 0);
    CHECK(p);
    CHECK_EQ(ldns_pkt_id(p), 0x1234);
    CHECK(ldns_pkt_qr(p));
    CHECK(ldns_pkt_aa(p));
    CHECK_EQ(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
    CHECK_EQ(ldns_pkt_ancount(p), 2);
    CHECK_EQ(a_of(p, 0), 0x0a590005);
    CHECK_EQ(a_of(p, 1), 0x0a590006);
    CHECK_EQ(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), 0)), 30);
    ldns_pkt_free(p);
    CHECK_EQ(f.up[0].udp_queries + f.up[1].udp_queries, 0);
    CHECK_EQ(f.n_ans, 0);
    fx_release(&f);
}

TEST(local_aaaa_is_nodata_and_edns_echoed)
{
    struct fx f;
    fx_init(&f, 300, 0);
    ldns_pkt *p = ask(&f, 0x7f000003, "peer.hearth.internal", LDNS_RR_TYPE_AAAA, 7, 1232);
    CHECK(p);
    CHECK_EQ(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
    CHECK(ldns_pkt_aa(p));
    CHECK_EQ(ldns_pkt_ancount(p), 0);
    CHECK_EQ(ldns_pkt_qdcount(p), 1);
    CHECK(ldns_pkt_edns(p));
    ldns_pkt_free(p);
    fx_release(&f);
}

TEST(internal_names_nxdomain_never_forwarded)
{
    struct fx f;
    fx_init(&f, 300, 0);
    static const char *names[] = { "ghost.hearth.internal", "unknown.hearth.internal",
                                   "hearth.internal", "a.b.HEARTH.internal" };
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
        ldns_pkt *p = ask(&f, 0x7f000002, names[i], LDNS_RR_TYPE_A, (uint16_t)i, 0);
        CHECK(p);
        CHECK_EQ(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
        CHECK(ldns_pkt_aa(p));
        ldns_pkt_free(p);
    }
    CHECK_EQ(f.up[0].udp_queries + f.up[1].udp_queries, 0);
    fx_release(&f);
}

TEST(unknown_client_refused)
{
    struct fx f;
    fx_init(&f, 300, 0);
    ldns_pkt *p = ask(&f, 0x7f000009, "a.test", LDNS_RR_TYPE_A, 99, 0);
    CHECK(p);
    CHECK_EQ(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
    CHECK_EQ(ldns_pkt_id(p), 99);
    ldns_pkt_free(p);
    CHECK_EQ(f.up[0].udp_queries, 0);
    fx_release(&f);
}

/* --- tests: forwarding --- */

TEST(forward_returns_upstream_answer_with_client_id)
{
    struct fx f;
    fx_init(&f, 300, 0);
    int fd = client_udp(0x7f000002);
    size_t len, raw_len;
    uint8_t *q = query("A.test", LDNS_RR_TYPE_A, 0xbeef, 0, &len);
    uint8_t raw[65536];
    ldns_pkt *p = exchange_raw(&f, fd, q, len, 3000, raw, &raw_len);
    free(q);
    close(fd);
    CHECK(p);
    CHECK_EQ(ldns_pkt_id(p), 0xbeef);
    CHECK_EQ(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
    CHECK_EQ(ldns_pkt_ancount(p), 2);
    CHECK_EQ(a_of(p, 0), 0xc0000201);
    ldns_pkt_free(p);
    CHECK_EQ(f.up[0].udp_queries, 1);
    CHECK_EQ(f.up[1].udp_queries, 0);
    CHECK_EQ(f.n_ans, 1);
    CHECK_STR(f.ans[0].id, "sb-two");
    CHECK_STR(f.ans[0].name, "a.test");
    CHECK_EQ(f.ans[0].n, 2);
    CHECK_EQ(f.ans[0].addrs[0], 0xc0000201);
    CHECK_EQ(f.ans[0].addrs[1], 0xc0000202);
    CHECK_EQ(f.ans[0].ttl, 100);
    fx_release(&f);
}

TEST(answered_follows_cname_chain_with_min_ttl)
{
    struct fx f;
    fx_init(&f, 300, 0);
    ldns_pkt *p = ask(&f, 0x7f000003, "cname.test", LDNS_RR_TYPE_A, 1, 0);
    CHECK(p);
    CHECK_EQ(ldns_pkt_ancount(p), 4); /* unchanged: the unrelated record is passed on */
    ldns_pkt_free(p);
    CHECK_EQ(f.n_ans, 1);
    CHECK_STR(f.ans[0].id, "sb-three");
    CHECK_STR(f.ans[0].name, "cname.test");
    CHECK_EQ(f.ans[0].n, 1);
    CHECK_EQ(f.ans[0].addrs[0], 0xc6336407);
    CHECK_EQ(f.ans[0].ttl, 50);
    /* a CNAME loop and NXDOMAIN: passed on, nothing reported */
    p = ask(&f, 0x7f000002, "loop.test", LDNS_RR_TYPE_A, 2, 0);
    CHECK(p);
    CHECK_EQ(ldns_pkt_ancount(p), 2);
    ldns_pkt_free(p);
    p = ask(&f, 0x7f000002, "nx.test", LDNS_RR_TYPE_A, 3, 0);
    CHECK(p);
    CHECK_EQ(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN);
    CHECK_EQ(ldns_pkt_id(p), 3);
    ldns_pkt_free(p);
    CHECK_EQ(f.n_ans, 1);
    fx_release(&f);
}

TEST(spoofed_and_mismatched_replies_ignored)
{
    struct fx f;
    fx_init(&f, 1000, 0);
    ldns_pkt *p = ask(&f, 0x7f000002, "spoof.test", LDNS_RR_TYPE_A, 42, 0);
    CHECK(p);
    CHECK_EQ(ldns_pkt_id(p), 42);
    CHECK_EQ(ldns_pkt_ancount(p), 1);
    CHECK_EQ(a_of(p, 0), 0xc0000203);
    ldns_pkt_free(p);
    CHECK_EQ(f.n_ans, 1);
    CHECK_EQ(f.ans[0].addrs[0], 0xc0000203);
    CHECK_EQ(f.up[1].udp_queries, 0); /* answered on the first try */
    fx_release(&f);
}

TEST(timeout_retries_next_upstream_then_servfail)
{
    struct fx f;
    fx_init(&f, 200, 0);
    ldns_pkt *p = ask(&f, 0x7f000002, "up0silent.test", LDNS_RR_TYPE_A, 5, 0);
    CHECK(p);
    CHECK_EQ(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
    CHECK_EQ(a_of(p, 0), 0xc0000204);
    ldns_pkt_free(p);
    CHECK_EQ(f.up[0].udp_queries, 1);
    CHECK_EQ(f.up[1].udp_queries, 1);
    p = ask(&f, 0x7f000002, "silent.test", LDNS_RR_TYPE_A, 6, 0);
    CHECK(p);
    CHECK_EQ(ldns_pkt_get_rcode(p), LDNS_RCODE_SERVFAIL);
    CHECK_EQ(ldns_pkt_id(p), 6);
    CHECK_EQ(ldns_pkt_qdcount(p), 1);
    ldns_pkt_free(p);
    CHECK_EQ(f.up[0].udp_queries, 2);
    CHECK_EQ(f.up[1].udp_queries, 2);
    /* both forwarded queries are in the latency histogram: the first answered after one
     * timed-out try (≥ 200 ms), the second failed after every try */
    struct dns_fwd_latency l;
    dns_server_fwd_latency(f.s, &l);
    uint64_t n = 0, slow = 0;
    for (size_t i = 0; i < DNS_FWD_BUCKETS; i++) {
        n += l.count[i];
        slow += i >= 6 ? l.count[i] : 0; /* buckets above 100 ms */
    }
    CHECK_EQ(n, 2);
    CHECK_EQ(slow, 2);
    CHECK_EQ(l.failed, 1);
    CHECK(l.sum_s >= 0.4);
    fx_release(&f);
}

TEST(oversized_answer_truncated_for_client_udp_size)
{
    struct fx f;
    fx_init(&f, 300, 0);
    ldns_pkt *p = ask(&f, 0x7f000002, "big.test", LDNS_RR_TYPE_A, 8, 0);
    CHECK(p);
    CHECK(ldns_pkt_tc(p));
    CHECK_EQ(ldns_pkt_id(p), 8);
    CHECK_EQ(ldns_pkt_ancount(p), 0);
    CHECK_EQ(ldns_pkt_qdcount(p), 1);
    ldns_pkt_free(p);
    CHECK_EQ(f.n_ans, 0); /* the client got no addresses */
    p = ask(&f, 0x7f000002, "big.test", LDNS_RR_TYPE_A, 9, 4096);
    CHECK(p);
    CHECK(!ldns_pkt_tc(p));
    CHECK_EQ(ldns_pkt_ancount(p), 100);
    ldns_pkt_free(p);
    CHECK_EQ(f.n_ans, 1);
    CHECK_EQ(f.ans[0].n, 64); /* capped */
    /* an upstream's own TC goes back to a UDP client as it is */
    p = ask(&f, 0x7f000002, "tc.test", LDNS_RR_TYPE_A, 10, 0);
    CHECK(p);
    CHECK(ldns_pkt_tc(p));
    ldns_pkt_free(p);
    CHECK_EQ(f.up[0].tcp_queries, 0);
    fx_release(&f);
}

/* Reads every reply waiting on fd; false on a bad one. */
static bool drain_replies(int fd, bool *seen, size_t n_seen, int *got)
{
    uint8_t buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
        ldns_pkt *p = NULL;
        REQUIRE(ldns_wire2pkt(&p, buf, (size_t)n) == LDNS_STATUS_OK);
        uint16_t id = ldns_pkt_id(p);
        bool ok = id < n_seen && !seen[id] && ldns_pkt_get_rcode(p) == LDNS_RCODE_NOERROR &&
                  ldns_pkt_ancount(p) == (id % 2 ? 2 : 4);
        ldns_pkt_free(p);
        REQUIRE(ok);
        seen[id] = true;
        (*got)++;
    }
    return true;
}

TEST(many_concurrent_queries)
{
    struct fx f;
    fx_init(&f, 2000, 0);
    int fd = client_udp(0x7f000002);
    enum { N = 300 };
    static bool seen[N];
    int got = 0;
    for (int i = 0; i < N; i++) {
        size_t len;
        uint8_t *q = query(i % 2 ? "a.test" : "cname.test", LDNS_RR_TYPE_A, (uint16_t)i, 0,
                           &len);
        (void)sendto(fd, q, len, 0, (struct sockaddr *)&f.srv, sizeof(f.srv));
        free(q);
        /* in waves, so no socket buffer on the way (rmem_max caps them) drops datagrams */
        if (i % 50 == 49) {
            spin(&f, 2);
            CHECK(drain_replies(fd, seen, N, &got));
        }
    }
    uint64_t end = harness_now_us() + 10000000;
    while (got < N && harness_now_us() < end) {
        if (wait_readable(&f, fd, 500))
            CHECK(drain_replies(fd, seen, N, &got));
    }
    close(fd);
    CHECK_EQ(got, N);
    CHECK_EQ(f.n_ans, N);
    CHECK_EQ(f.up[0].udp_queries, N); /* none lost on the way, none retried */
    fx_release(&f);
}

TEST(max_pending_gives_servfail)
{
    struct fx f;
    fx_init(&f, 500, 4);
    int fd = client_udp(0x7f000002);
    for (int i = 0; i < 10; i++) {
        size_t len;
        uint8_t *q = query("silent.test", LDNS_RR_TYPE_A, (uint16_t)i, 0, &len);
        (void)sendto(fd, q, len, 0, (struct sockaddr *)&f.srv, sizeof(f.srv));
        free(q);
    }
    int servfail = 0;
    for (int i = 0; i < 10; i++) {
        if (!wait_readable(&f, fd, 3000))
            break;
        uint8_t buf[4096];
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        CHECK(n >= 12);
        CHECK_EQ(buf[3] & 0xf, LDNS_RCODE_SERVFAIL);
        servfail++;
    }
    close(fd);
    CHECK_EQ(servfail, 10); /* 6 at once, 4 after both tries timed out */
    CHECK_EQ(f.up[0].udp_queries, 4);
    fx_release(&f);
}

TEST(one_client_cannot_take_every_pending_slot)
{
    struct fx f;
    fx_init(&f, 2000, 0);
    int fd = client_udp(0x7f000002);
    enum { N = DNS_PENDING_PER_CLIENT + 40 };
    for (int i = 0; i < N; i++) {
        size_t len;
        uint8_t *q = query("silent.test", LDNS_RR_TYPE_A, (uint16_t)i, 0, &len);
        (void)sendto(fd, q, len, 0, (struct sockaddr *)&f.srv, sizeof(f.srv));
        free(q);
        if (i % 50 == 49)
            spin(&f, 2);
    }
    spin(&f, 50);
    /* the queries past its share were answered SERVFAIL at once */
    int servfail = 0;
    uint8_t buf[4096];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
        if (n >= 12 && (buf[3] & 0xf) == LDNS_RCODE_SERVFAIL)
            servfail++;
    CHECK_EQ(servfail, N - DNS_PENDING_PER_CLIENT);
    /* another sandbox still gets its answers */
    ldns_pkt *p = ask(&f, 0x7f000003, "a.test", LDNS_RR_TYPE_A, 7, 0);
    CHECK(p != NULL);
    if (p) {
        CHECK_EQ(ldns_pkt_get_rcode(p), LDNS_RCODE_NOERROR);
        CHECK(ldns_pkt_ancount(p) > 0);
        ldns_pkt_free(p);
    }
    close(fd);
    fx_release(&f);
}

/* --- tests: hostile input --- */

struct hostile {
    const char *what;
    uint8_t msg[300];
    size_t len;
    int rcode;                  /* -1: dropped */
};

static size_t put_name_len(uint8_t *p, size_t n_labels, size_t label_len)
{
    size_t o = 0;
    for (size_t i = 0; i < n_labels; i++) {
        p[o++] = (uint8_t)label_len;
        memset(p + o, 'a', label_len);
        o += label_len;
    }
    p[o++] = 0;
    p[o++] = 0;
    p[o++] = 1;
    p[o++] = 0;
    p[o++] = 1;
    return o;
}

TEST(malformed_queries_formerr_or_dropped)
{
    struct fx f;
    fx_init(&f, 300, 0);
    static struct hostile cases[] = {
        { "short", { 0x12, 0x34, 0x01 }, 3, -1 },
        { "header only, qdcount 0", { 0, 1, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, 12, 1 },
        { "qdcount 2", { 0, 2, 0x01, 0, 0, 2, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1,
                         1, 'b', 0, 0, 1, 0, 1 }, 26, 1 },
        { "qdcount 1, no question", { 0, 3, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0 }, 12, 1 },
        { "compression loop", { 0, 4, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1 },
          18, 1 },
        { "pointer forward", { 0, 5, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 200, 0, 1, 0, 1 },
          18, 1 },
        { "label 64", { 0 }, 0, 1 },
        { "name 256", { 0 }, 0, 1 },
        { "response", { 0, 8, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1 },
          19, -1 },
        { "opcode status", { 0, 9, 0x10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1 },
          19, 4 },
        { "truncated rr", { 0, 10, 0x01, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1,
                            1, 'a', 0, 0, 1 }, 24, 1 },
        { "reserved label type", { 0, 11, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x80, 'a', 0, 0, 1,
                                   0, 1 }, 19, 1 },
    };
    struct hostile *l64 = &cases[6], *n256 = &cases[7];
    memcpy(l64->msg, (uint8_t[]){ 0, 6, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0 }, 12);
    l64->len = 12 + put_name_len(l64->msg + 12, 1, 64);
    memcpy(n256->msg, (uint8_t[]){ 0, 7, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0 }, 12);
    n256->len = 12 + put_name_len(n256->msg + 12, 4, 63); /* 4 * 64 + 1 = 257 bytes */
    int fd = client_udp(0x7f000002);
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        struct hostile *h = &cases[i];
        uint8_t raw[65536];
        size_t raw_len = 0;
        (void)exchange_raw(&f, fd, h->msg, h->len, h->rcode < 0 ? 200 : 3000, raw, &raw_len);
        if (h->rcode < 0) {
            if (raw_len != 0)
                harness_fail(__FILE__, __LINE__, "%s: got a reply", h->what);
            CHECK_EQ(raw_len, 0);
            continue;
        }
        if (raw_len < 12)
            harness_fail(__FILE__, __LINE__, "%s: no reply", h->what);
        CHECK(raw_len >= 12);
        CHECK_EQ(raw[0] << 8 | raw[1], h->msg[0] << 8 | h->msg[1]);
        CHECK(raw[2] & 0x80);
        if ((raw[3] & 0xf) != h->rcode)
            harness_fail(__FILE__, __LINE__, "%s: rcode %d", h->what, raw[3] & 0xf);
        CHECK_EQ(raw[3] & 0xf, h->rcode);
    }
    close(fd);
    CHECK_EQ(f.up[0].udp_queries, 0);
    fx_release(&f);
}

TEST(flood_of_junk_then_still_answers)
{
    struct fx f;
    fx_init(&f, 300, 0);
    int fd = client_udp(0x7f000002);
    int rcv = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
    srand(7);
    size_t len;
    uint8_t *good = query("a.test", LDNS_RR_TYPE_A, 0, 0, &len);
    for (int i = 0; i < 3000; i++) {
        uint8_t junk[600];
        size_t n = (size_t)(rand() % (int)sizeof(junk));
        if (i % 3 == 0 && len <= sizeof(junk)) {
            /* a valid query with random bytes flipped: exercises deeper parsing */
            memcpy(junk, good, len);
            n = len;
            for (int k = 0; k < 3; k++)
                junk[2 + rand() % (int)(len - 2)] ^= (uint8_t)(1u << (rand() % 8));
            junk[2] &= 0x7f; /* still a query */
        } else {
            for (size_t k = 0; k < n; k++)
                junk[k] = (uint8_t)rand();
        }
        (void)sendto(fd, junk, n, 0, (struct sockaddr *)&f.srv, sizeof(f.srv));
        if (i % 100 == 0)
            spin(&f, 5);
    }
    spin(&f, 500);
    uint8_t buf[65536];
    while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0) {
    }
    free(good);
    good = query("a.test", LDNS_RR_TYPE_A, 0x5a5a, 0, &len);
    bool ok = false;
    (void)sendto(fd, good, len, 0, (struct sockaddr *)&f.srv, sizeof(f.srv));
    uint64_t end = harness_now_us() + 5000000;
    while (!ok && harness_now_us() < end && wait_readable(&f, fd, 3000)) {
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        ok = n >= 12 && buf[0] == 0x5a && buf[1] == 0x5a && (buf[3] & 0xf) == 0;
    }
    free(good);
    close(fd);
    CHECK(ok);
    fx_release(&f);
}

/* --- tests: TCP --- */

static int client_tcp(struct fx *f, uint32_t ip)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(ip) };
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        connect(fd, (struct sockaddr *)&f->srv, sizeof(f->srv)) < 0)
        abort(); /* loopback connect completes in the kernel, without the loop */
    return fd;
}

static void tcp_write(int fd, const uint8_t *msg, size_t len)
{
    uint8_t hdr[2] = { (uint8_t)(len >> 8), (uint8_t)len };
    if (write(fd, hdr, 2) != 2 || write(fd, msg, len) != (ssize_t)len)
        abort();
}

/* Reads one framed message; NULL on EOF or timeout (*eof tells which). */
static ldns_pkt *tcp_read(struct fx *f, int fd, bool *eof)
{
    uint8_t buf[2 + 65536];
    size_t have = 0, want = 2;
    *eof = false;
    while (have < want) {
        if (!wait_readable(f, fd, 5000))
            return NULL;
        ssize_t n = recv(fd, buf + have, want - have, MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
            *eof = true;
            return NULL;
        }
        if (n < 0)
            continue;
        have += (size_t)n;
        if (have == 2)
            want = 2 + ((size_t)buf[0] << 8 | buf[1]);
    }
    ldns_pkt *p = NULL;
    if (ldns_wire2pkt(&p, buf + 2, want - 2) != LDNS_STATUS_OK)
        return NULL;
    return p;
}

TEST(tcp_pipelined_queries_and_tc_fallback)
{
    struct fx f;
    fx_init(&f, 1000, 0);
    int fd = client_tcp(&f, 0x7f000002);
    static const char *names[] = { "a.test", "peer.hearth.internal", "tc.test", "big.test",
                                   "nx.test" };
    enum { N = sizeof(names) / sizeof(*names) };
    for (size_t i = 0; i < N; i++) {
        size_t len;
        uint8_t *q = query(names[i], LDNS_RR_TYPE_A, (uint16_t)(100 + i), 0, &len);
        tcp_write(fd, q, len);
        free(q);
    }
    bool seen[N] = { false };
    for (size_t k = 0; k < N; k++) {
        bool eof;
        ldns_pkt *p = tcp_read(&f, fd, &eof);
        CHECK(p);
        size_t i = (size_t)ldns_pkt_id(p) - 100;
        CHECK(i < N && !seen[i]);
        seen[i] = true;
        CHECK(!ldns_pkt_tc(p));
        switch (i) {
        case 0: CHECK_EQ(ldns_pkt_ancount(p), 2); break;
        case 1: CHECK_EQ(a_of(p, 0), 0x0a590005); break;
        case 2: CHECK_EQ(a_of(p, 0), 0xc0000237); break; /* via TCP to the upstream */
        case 3: CHECK_EQ(ldns_pkt_ancount(p), 100); break; /* no UDP limit on TCP */
        case 4: CHECK_EQ(ldns_pkt_get_rcode(p), LDNS_RCODE_NXDOMAIN); break;
        }
        ldns_pkt_free(p);
    }
    CHECK_EQ(f.up[0].tcp_queries, 1);
    CHECK_EQ(f.n_ans, 3);
    /* half-close: queued answers still arrive, then the server closes */
    size_t len;
    uint8_t *q = query("a.test", LDNS_RR_TYPE_A, 7, 0, &len);
    tcp_write(fd, q, len);
    free(q);
    shutdown(fd, SHUT_WR);
    bool eof;
    ldns_pkt *p = tcp_read(&f, fd, &eof);
    CHECK(p);
    CHECK_EQ(ldns_pkt_id(p), 7);
    ldns_pkt_free(p);
    CHECK(!tcp_read(&f, fd, &eof));
    CHECK(eof);
    close(fd);
    fx_release(&f);
}

TEST(tcp_hostile_lengths_close)
{
    struct fx f;
    fx_init(&f, 300, 0);
    static const uint8_t lens[][2] = { { 0xff, 0xff }, { 0x10, 0x01 }, { 0, 5 }, { 0, 0 } };
    for (size_t i = 0; i < sizeof(lens) / sizeof(*lens); i++) {
        int fd = client_tcp(&f, 0x7f000002);
        if (write(fd, lens[i], 2) != 2)
            abort();
        bool eof;
        CHECK(!tcp_read(&f, fd, &eof));
        CHECK(eof);
        close(fd);
    }
    /* a malformed query in a good frame: FORMERR and the connection lives on */
    int fd = client_tcp(&f, 0x7f000002);
    uint8_t bad[12] = { 0, 1, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
    tcp_write(fd, bad, sizeof(bad));
    bool eof;
    ldns_pkt *p = tcp_read(&f, fd, &eof);
    CHECK(p);
    CHECK_EQ(ldns_pkt_get_rcode(p), LDNS_RCODE_FORMERR);
    ldns_pkt_free(p);
    size_t len;
    uint8_t *q = query("a.test", LDNS_RR_TYPE_A, 3, 0, &len);
    tcp_write(fd, q, len);
    free(q);
    p = tcp_read(&f, fd, &eof);
    CHECK(p);
    CHECK_EQ(ldns_pkt_id(p), 3);
    ldns_pkt_free(p);
    close(fd);
    /* unknown client over TCP */
    fd = client_tcp(&f, 0x7f000005);
    q = query("a.test", LDNS_RR_TYPE_A, 4, 0, &len);
    tcp_write(fd, q, len);
    free(q);
    p = tcp_read(&f, fd, &eof);
    CHECK(p);
    CHECK_EQ(ldns_pkt_get_rcode(p), LDNS_RCODE_REFUSED);
    ldns_pkt_free(p);
    close(fd);
    fx_release(&f);
}

TEST(tcp_client_gone_with_queries_in_flight)
{
    struct fx f;
    fx_init(&f, 300, 0);
    for (int i = 0; i < 20; i++) {
        int fd = client_tcp(&f, 0x7f000002);
        for (int k = 0; k < 20; k++) {
            size_t len;
            uint8_t *q = query(k % 2 ? "silent.test" : "a.test", LDNS_RR_TYPE_A, (uint16_t)k,
                               0, &len);
            tcp_write(fd, q, len);
            free(q);
        }
        spin(&f, 5);
        close(fd);
    }
    spin(&f, 800); /* every try times out with its client gone */
    ldns_pkt *p = ask(&f, 0x7f000002, "a.test", LDNS_RR_TYPE_A, 1, 0);
    CHECK(p);
    ldns_pkt_free(p);
    fx_release(&f); /* ASan: nothing leaked, nothing used after free */
}

/* Whether the server closed fd (after the loop ran). */
static bool closed_by_server(struct fx *f, int fd)
{
    bool eof;
    ldns_pkt *p = tcp_read(f, fd, &eof);
    ldns_pkt_free(p);
    return !p && eof;
}

TEST(tcp_connection_caps)
{
    struct fx f;
    fx_init(&f, 300, 0);
    enum { N = 256, PER = 32 };
    static int fds[N + 2];
    /* 32 per address from 127.0.1.0-7 fill the server; one more anywhere is closed */
    for (int i = 0; i < N; i++) {
        fds[i] = client_tcp(&f, 0x7f000100 + (uint32_t)(i / PER));
        if (i % 32 == 0)
            spin(&f, 5);
    }
    fds[N] = client_tcp(&f, 0x7f000108);
    spin(&f, 100);
    CHECK(closed_by_server(&f, fds[N]));
    close(fds[N]);
    /* one gone: room for one, but not for a 33rd from a full address */
    close(fds[0]);
    spin(&f, 50);
    fds[0] = client_tcp(&f, 0x7f000101);
    spin(&f, 50);
    CHECK(closed_by_server(&f, fds[0]));
    close(fds[0]);
    fds[0] = client_tcp(&f, 0x7f000002);
    size_t len;
    uint8_t *q = query("peer.hearth.internal", LDNS_RR_TYPE_A, 9, 0, &len);
    tcp_write(fds[0], q, len);
    free(q);
    bool eof;
    ldns_pkt *p = tcp_read(&f, fds[0], &eof);
    CHECK(p);
    CHECK_EQ(ldns_pkt_id(p), 9);
    ldns_pkt_free(p);
    for (int i = 0; i < N; i++)
        close(fds[i]);
    fx_release(&f);
}

TEST_SLOW(tcp_idle_timeout, 30)
{
    struct fx f;
    fx_init(&f, 300, 0);
    int fd = client_tcp(&f, 0x7f000002);
    uint64_t t0 = harness_now_us();
    bool eof = false;
    while (!eof && harness_now_us() - t0 < 15000000)
        (void)tcp_read(&f, fd, &eof);
    CHECK(eof);
    close(fd);
    fx_release(&f);
}

/* --- resolv.conf --- */

TEST(resolv_conf_nameservers)
{
    char path[] = "/tmp/test_dns_resolv_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    static const char text[] = "# comment\nsearch example.com\nnameserver 192.0.2.53\n"
                               "nameserver ::1\n  nameserver\t198.51.100.1  # x\n"
                               "nameserverx 1.2.3.4\nnameserver 300.1.1.1\nnameserver\n"
                               "nameserver 203.0.113.5";
    CHECK(write(fd, text, sizeof(text) - 1) == (ssize_t)(sizeof(text) - 1));
    close(fd);
    struct sockaddr_in out[2];
    size_t n = 99;
    int r = dns_upstreams_from_resolv_conf(path, out, 2, &n);
    CHECK_EQ(r, 0);
    CHECK_EQ(n, 2);
    CHECK_EQ(ntohl(out[0].sin_addr.s_addr), 0xc0000235);
    CHECK_EQ(ntohs(out[0].sin_port), 53);
    CHECK_EQ(ntohl(out[1].sin_addr.s_addr), 0xc6336401);
    struct sockaddr_in all[8];
    CHECK_EQ(dns_upstreams_from_resolv_conf(path, all, 8, &n), 0);
    CHECK_EQ(n, 3);
    CHECK_EQ(ntohl(all[2].sin_addr.s_addr), 0xcb007105);
    unlink(path);
    CHECK_EQ(dns_upstreams_from_resolv_conf(path, out, 2, &n), -ENOENT);
}

TEST(bad_config_rejected)
{
    struct event_base *base = event_base_new();
    struct dns_hooks h = { hook_client, NULL, NULL, NULL };
    struct dns_hooks none = { 0 };
    struct sockaddr_in ups[DNS_MAX_UPSTREAMS + 1] = { 0 };
    struct dns_config c = { .upstreams = ups, .n_upstreams = DNS_MAX_UPSTREAMS + 1 };
    struct dns_server *s = NULL;
    int fd = client_udp(0x7f000001);
    CHECK_EQ(dns_server_new(base, fd, -1, &c, &h, NULL, &s), -EINVAL);
    c.n_upstreams = 0;
    CHECK_EQ(dns_server_new(base, fd, -1, &c, &none, NULL, &s), -EINVAL);
    CHECK_EQ(dns_server_new(base, -1, -1, &c, &h, NULL, &s), -EINVAL);
    /* no upstreams: local names work, the rest is SERVFAIL */
    CHECK_EQ(dns_server_new(base, fd, -1, &c, &h, NULL, &s), 0);
    dns_server_free(s);
    dns_server_free(NULL);
    close(fd);
    event_base_free(base);
}
