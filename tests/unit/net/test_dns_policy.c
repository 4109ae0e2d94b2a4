/* SPDX-License-Identifier: MIT */
/* test_dns_policy.c: what the sandbox DNS server refuses and counts (dns.h: the allowed hook,
 * rate_qps/rate_burst, dns_server_stats) over real loopback sockets, with an upstream that
 * records every query it gets and answers NOERROR. A name the hook refuses is answered REFUSED
 * and never reaches the upstream, whatever its type (TXT tunnelling) or case; the bucket
 * refuses past its burst and refills with time; counters are per sandbox and in total, and go
 * with dns_server_forget(); hostile names (escapes, a flood of random labels) change nothing. */
#include "daemon/net/dns.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <ldns/ldns.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

struct pfx {
    struct event_base *base;
    int srv;                        /* the server's UDP socket */
    struct sockaddr_in srv_addr;
    int up;                         /* the upstream's UDP socket */
    struct event *up_ev;
    int up_queries;
    char up_last[256];              /* the last name the upstream saw */
    struct dns_server *s;
};

static int bound(uint32_t ip)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(ip) };
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        abort();
    return fd;
}

static struct sockaddr_in addr_of(int fd)
{
    struct sockaddr_in sa;
    socklen_t l = sizeof(sa);
    getsockname(fd, (struct sockaddr *)&sa, &l);
    return sa;
}

static bool hook_client(void *ud, uint32_t src, char id[64])
{
    if (src != 0x7f000002 && src != 0x7f000003)
        return false;
    snprintf(id, 64, src == 0x7f000002 ? "sb-two" : "sb-three");
    return true;
}

/* sb-two may reach allowed.test and names below ok.test; sb-three everything. Like the data
 * plane's hook (egress_name_valid), a name with escaped bytes matches no rule: the server must
 * hand it over escaped, never as the plain name it would spell. */
static bool hook_allowed(void *ud, const char *id, const char *qname)
{
    if (strcmp(id, "sb-three") == 0)
        return true;
    size_t n = strlen(qname);
    if (strspn(qname, "abcdefghijklmnopqrstuvwxyz0123456789.-") != n)
        return false;
    return strcmp(qname, "allowed.test") == 0 ||
           (n > 8 && strcmp(qname + n - 8, ".ok.test") == 0);
}

/* Records the query and answers it NOERROR with no records. */
static void on_upstream(evutil_socket_t fd, short what, void *arg)
{
    struct pfx *f = arg;
    uint8_t buf[4096];
    struct sockaddr_in from;
    socklen_t fl = sizeof(from);
    ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
    if (n < 12)
        return;
    f->up_queries++;
    ldns_pkt *q = NULL;
    if (ldns_wire2pkt(&q, buf, (size_t)n) == LDNS_STATUS_OK) {
        char *name = ldns_rdf2str(ldns_rr_owner(ldns_rr_list_rr(ldns_pkt_question(q), 0)));
        snprintf(f->up_last, sizeof(f->up_last), "%s", name);
        free(name);
        ldns_pkt_free(q);
    }
    buf[2] |= 0x80; /* QR: the query itself is a valid empty NOERROR answer */
    (void)sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
}

static void pfx_init(struct pfx *f, uint32_t rate, uint32_t burst)
{
    memset(f, 0, sizeof(*f));
    f->base = event_base_new();
    f->srv = bound(0x7f000001);
    f->srv_addr = addr_of(f->srv);
    f->up = bound(0x7f000001);
    f->up_ev = event_new(f->base, f->up, EV_READ | EV_PERSIST, on_upstream, f);
    event_add(f->up_ev, NULL);
    struct sockaddr_in up = addr_of(f->up);
    struct dns_config c = { .upstreams = &up, .n_upstreams = 1, .timeout_ms = 500,
                            .rate_qps = rate, .rate_burst = burst };
    struct dns_hooks h = { .client = hook_client, .allowed = hook_allowed };
    if (dns_server_new(f->base, f->srv, -1, &c, &h, f, &f->s) < 0)
        abort();
}

static void pfx_release(struct pfx *f)
{
    dns_server_free(f->s);
    event_free(f->up_ev);
    close(f->up);
    close(f->srv);
    event_base_free(f->base);
}

static void spin(struct pfx *f, int ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    event_base_loopexit(f->base, &tv);
    event_base_loop(f->base, 0);
}

/* Sends a query for name/type from client fd and runs the loop until a reply comes (or 2 s);
 * returns its rcode, or -1 without a reply. */
static int ask(struct pfx *f, int fd, const char *name, ldns_rr_type type)
{
    ldns_rdf *dn = ldns_dname_new_frm_str(name);
    if (!dn)
        return -2;
    ldns_pkt *p = ldns_pkt_query_new(dn, type, LDNS_RR_CLASS_IN, LDNS_RD);
    ldns_pkt_set_id(p, (uint16_t)rand());
    uint8_t *w = NULL;
    size_t len = 0;
    if (ldns_pkt2wire(&w, p, &len) != LDNS_STATUS_OK)
        abort();
    ldns_pkt_free(p);
    (void)sendto(fd, w, len, 0, (struct sockaddr *)&f->srv_addr, sizeof(f->srv_addr));
    free(w);
    for (int i = 0; i < 200; i++) {
        spin(f, 10);
        uint8_t buf[4096];
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n >= 12)
            return buf[3] & 0x0f;
    }
    return -1;
}

TEST(names_outside_the_allowlist_are_refused_and_never_forwarded)
{
    struct pfx f;
    pfx_init(&f, 0, 0);
    int two = bound(0x7f000002), three = bound(0x7f000003);
    CHECK_EQ(ask(&f, two, "allowed.test.", LDNS_RR_TYPE_A), LDNS_RCODE_NOERROR);
    CHECK_EQ(f.up_queries, 1);
    CHECK_EQ(ask(&f, two, "ALLOWED.Test.", LDNS_RR_TYPE_TXT), LDNS_RCODE_NOERROR);
    CHECK_EQ(ask(&f, two, "x.y.ok.test.", LDNS_RR_TYPE_TXT), LDNS_RCODE_NOERROR);
    CHECK_EQ(f.up_queries, 3);
    /* TXT tunnelling to a domain it may not reach: data in the labels never leaves */
    static const char *const denied[] = {
        "68696464656e2d64617461.exfil.example.", "ok.test.", "allowed.test.evil.",
        "xallowed.test.", "a\\046ok.test.", "a\\000.ok.test.", ".",
    };
    for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
        int rc = ask(&f, two, denied[i], LDNS_RR_TYPE_TXT);
        if (rc != LDNS_RCODE_REFUSED)
            harness_fail(__FILE__, __LINE__, "%s: rcode %d", denied[i], rc);
    }
    CHECK_EQ(f.up_queries, 3);
    /* another sandbox with open egress: forwarded */
    CHECK_EQ(ask(&f, three, "6869646465.exfil.example.", LDNS_RR_TYPE_TXT), LDNS_RCODE_NOERROR);
    CHECK_EQ(f.up_queries, 4);
    CHECK_STR(f.up_last, "6869646465.exfil.example.");
    struct dns_stats st;
    CHECK(dns_server_stats(f.s, "sb-two", &st));
    CHECK_EQ(st.queries, 10);
    CHECK_EQ(st.refused, 7);
    CHECK_EQ(st.limited, 0);
    CHECK(st.bytes_in > 0 && st.bytes_out > 0);
    CHECK(dns_server_stats(f.s, NULL, &st));
    CHECK_EQ(st.queries, 11);
    CHECK_EQ(st.refused, 7);
    close(two);
    close(three);
    pfx_release(&f);
}

TEST(rate_limit_refuses_past_the_burst_and_refills)
{
    struct pfx f;
    pfx_init(&f, 5, 10);
    int two = bound(0x7f000002), three = bound(0x7f000003);
    int ok = 0, refused = 0;
    for (int i = 0; i < 20; i++) {
        int rc = ask(&f, two, "allowed.test.", LDNS_RR_TYPE_A);
        ok += rc == LDNS_RCODE_NOERROR;
        refused += rc == LDNS_RCODE_REFUSED;
    }
    /* 10 from the bucket, perhaps one or two refilled while the loop ran */
    CHECK(ok >= 10 && ok <= 13);
    CHECK_EQ(ok + refused, 20);
    CHECK_EQ(f.up_queries, ok);
    /* the other sandbox has a bucket of its own */
    CHECK_EQ(ask(&f, three, "any.test.", LDNS_RR_TYPE_A), LDNS_RCODE_NOERROR);
    struct dns_stats st;
    CHECK(dns_server_stats(f.s, "sb-two", &st));
    CHECK_EQ(st.limited, (uint64_t)refused);
    CHECK_EQ(st.queries, 20);
    /* one second refills five */
    spin(&f, 1100);
    CHECK_EQ(ask(&f, two, "allowed.test.", LDNS_RR_TYPE_A), LDNS_RCODE_NOERROR);
    /* forgetting drops the counters and gives a full bucket */
    dns_server_forget(f.s, "sb-two");
    CHECK(!dns_server_stats(f.s, "sb-two", &st));
    CHECK_EQ(st.queries, 0);
    for (int i = 0; i < 10; i++)
        CHECK_EQ(ask(&f, two, "allowed.test.", LDNS_RR_TYPE_A), LDNS_RCODE_NOERROR);
    dns_server_forget(f.s, "sb-none"); /* unknown: nothing */
    close(two);
    close(three);
    pfx_release(&f);
}

TEST(flood_of_random_names_is_all_refused_and_counted)
{
    struct pfx f;
    pfx_init(&f, 0, 0);
    int two = bound(0x7f000002);
    char name[128];
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof(name), "%08x%08x.t%d.exfil.example.", rand(), rand(), i);
        if (ask(&f, two, name, i % 2 ? LDNS_RR_TYPE_TXT : LDNS_RR_TYPE_NULL) !=
            LDNS_RCODE_REFUSED) {
            harness_fail(__FILE__, __LINE__, "%s not refused", name);
            break;
        }
    }
    CHECK_EQ(f.up_queries, 0);
    struct dns_stats st;
    CHECK(dns_server_stats(f.s, "sb-two", &st));
    CHECK_EQ(st.refused, 300);
    close(two);
    pfx_release(&f);
}
