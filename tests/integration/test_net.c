/* SPDX-License-Identifier: MIT */
/* test_net.c: the data plane against the real kernel, without a VM. Each test runs in network
 * and mount namespaces of its own (so nothing reaches the machine's root namespace or its
 * /run/netns) and builds: the hearth namespace (net_open), an "internet" namespace joined to
 * the test's namespace by a veth, and taps whose fds the test holds, playing the guest by
 * writing and reading Ethernet frames (behind the 10-byte virtio-net header). Also: private,
 * link-local and metadata destinations (blocked by default, explicit rules, private_allow) and
 * uplink /30 collisions with another instance's uplink. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/net/net.h"
#include "daemon/net/netns.h"
#include "daemon/net/rtnl.h"
#include "harness.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define NS "hearth-test"
#define INET_NS "hearth-test-inet"
#define UPLINK_NET IP(10, 255, 0, 0)
#define ROOT_INET IP(203, 0, 113, 1)    /* the test namespace's address towards the internet */
#define VNET_HDR 10

static const struct net_config cfg = {
    .ns_name = NS, .uplink_root_if = "hup-test", .uplink_net = UPLINK_NET,
    .sandbox_net = IP(10, 88, 0, 0), .sandbox_prefix = 16,
    .networks_net = IP(10, 89, 0, 0), .networks_prefix = 16,
};

static const char *const ID_A = "sb-01HZZZZZZZZZZZAAAAAAAAAAAA";
static const char *const ID_B = "sb-01HZZZZZZZZZZZBBBBBBBBBBBB";

/* A namespace of our own for the whole test: network (traffic stays in) and mount (the
 * namespaces' bind mounts land on a private tmpfs, never the machine's /run/netns). */
static bool isolate(void)
{
    REQUIRE(getuid() == 0);
    REQUIRE(unshare(CLONE_NEWNET | CLONE_NEWNS) == 0);
    REQUIRE(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0);
    (void)mkdir(NETNS_RUN_DIR, 0755);   /* usually there; EEXIST is fine */
    REQUIRE(mount("tmpfs", NETNS_RUN_DIR, "tmpfs", 0, "mode=0755") == 0);
    struct rtnl rt;
    REQUIRE(rtnl_open(&rt) == 0);
    REQUIRE(rtnl_link_set(&rt, 1, true, NULL) == 0);
    rtnl_close(&rt);
    return true;
}

/* Runs argv, capturing stdout into out (NUL-terminated); returns the exit status. */
static int run(char *const argv[], char *out, size_t cap)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    size_t len = 0;
    ssize_t r;
    while ((r = read(p[0], out + len, cap - 1 - len)) > 0 && len + (size_t)r < cap - 1)
        len += (size_t)r;
    if (r > 0)
        len += (size_t)r;
    out[len] = '\0';
    close(p[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static char outbuf[1 << 20];

static const char *nft_table(void)
{
    char *argv[] = { "ip", "netns", "exec", NS, "nft", "list", "table", "inet", "hearth", NULL };
    return run(argv, outbuf, sizeof(outbuf)) == 0 ? outbuf : NULL;
}

static bool open_net(struct net **n)
{
    char err[256] = "";
    int r = net_open(&cfg, n, err, sizeof(err));
    if (r < 0)
        harness_fail(__FILE__, __LINE__, "net_open: %d %s", r, err);
    return r == 0;
}

TEST(open_twice_and_teardown)
{
    CHECK(isolate());
    struct net *n;
    char err[256];
    CHECK(open_net(&n));
    struct net *n2;
    CHECK(open_net(&n2));           /* re-open while the first handle lives */
    net_close(n2);
    net_close(n);
    CHECK(open_net(&n));
    CHECK_EQ(net_gateway(n), IP(10, 88, 0, 1));
    net_close(n);
    CHECK(nft_table() != NULL);
    char *root_tbl[] = { "nft", "list", "table", "inet", "hearth-" NS, NULL };
    CHECK_EQ(run(root_tbl, outbuf, sizeof(outbuf)), 0);
    CHECK(strstr(outbuf, "iifname \"hup-test\" drop"));
    char *addr[] = { "ip", "-n", NS, "addr", "show", "dev", "lo", NULL };
    CHECK_EQ(run(addr, outbuf, sizeof(outbuf)), 0);
    CHECK(strstr(outbuf, "10.88.0.1/32"));
    CHECK_EQ(net_teardown(&cfg, err, sizeof(err)), 0);
    CHECK_EQ(net_teardown(&cfg, err, sizeof(err)), 0);     /* nothing left: still fine */
    CHECK(access(NETNS_RUN_DIR "/" NS, F_OK) != 0);
    CHECK(run(root_tbl, outbuf, sizeof(outbuf)) != 0);
    char *link[] = { "ip", "link", "show", "hup-test", NULL };
    CHECK(run(link, outbuf, sizeof(outbuf)) != 0);
}

TEST(tap_objects_apply_remove_prune)
{
    CHECK(isolate());
    struct net *n;
    char err[256];
    CHECK(open_net(&n));
    int fd;
    CHECK_EQ(net_tap_open(n, ID_A, &fd, err, sizeof(err)), 0);
    CHECK(net_tap_exists(n, ID_A));
    CHECK(!net_tap_exists(n, ID_B));
    int fd2;
    CHECK_EQ(net_tap_open(n, ID_A, &fd2, err, sizeof(err)), -EEXIST);
    char tap[NET_TAP_NAME_MAX];
    net_tap_name(ID_A, tap);
    CHECK_STR(tap, "hsaaaaaaaaaaaa");
    char *link[] = { "ip", "-n", NS, "link", "show", tap, NULL };
    CHECK_EQ(run(link, outbuf, sizeof(outbuf)), 0);
    CHECK(strstr(outbuf, "02:00:0a:58:00:01"));
    CHECK(strstr(outbuf, "UP"));

    const char *rules[] = { "198.51.100.1", "198.51.100.0/24:443", "api.example.com" };
    struct net_sandbox s = { .id = ID_A, .ip = IP(10, 88, 0, 5), .member_ips = { IP(10, 89, 1, 2) },
                             .n_member_ips = 1, .egress = rules, .n_egress = 3 };
    CHECK_EQ(net_sandbox_apply(n, &s, err, sizeof(err)), 0);
    static char first[sizeof(outbuf)];
    CHECK(nft_table());
    memcpy(first, outbuf, sizeof(first));
    CHECK(strstr(first, "chain eg_sb-01HZZZZZZZZZZZAAAAAAAAAAAA"));
    CHECK_EQ(net_sandbox_apply(n, &s, err, sizeof(err)), 0);        /* idempotent */
    CHECK(nft_table());
    CHECK_STR(outbuf, first);
    char *routes[] = { "ip", "-n", NS, "route", "show", "dev", tap, NULL };
    CHECK_EQ(run(routes, outbuf, sizeof(outbuf)), 0);
    CHECK(strstr(outbuf, "10.88.0.5"));
    CHECK(strstr(outbuf, "10.89.1.2"));
    s.n_member_ips = 0;
    CHECK_EQ(net_sandbox_apply(n, &s, err, sizeof(err)), 0);
    CHECK_EQ(run(routes, outbuf, sizeof(outbuf)), 0);
    CHECK(!strstr(outbuf, "10.89.1.2"));

    CHECK_EQ(net_sandbox_remove(n, ID_A, err, sizeof(err)), 0);
    CHECK_EQ(net_sandbox_remove(n, ID_A, err, sizeof(err)), 0);     /* unknown now: 0 */
    CHECK(nft_table());
    CHECK(!strstr(outbuf, "AAAAAAAAAAAA"));
    CHECK(!strstr(outbuf, "hsaaaaaaaaaaaa"));
    CHECK(!net_tap_exists(n, ID_A));
    close(fd);

    /* prune keeps what it is told to and removes the rest */
    CHECK_EQ(net_tap_open(n, ID_A, &fd, err, sizeof(err)), 0);
    CHECK_EQ(net_tap_open(n, ID_B, &fd2, err, sizeof(err)), 0);
    CHECK_EQ(net_sandbox_apply(n, &s, err, sizeof(err)), 0);
    struct net_sandbox sb = { .id = ID_B, .ip = IP(10, 88, 0, 6) };
    CHECK_EQ(net_sandbox_apply(n, &sb, err, sizeof(err)), 0);
    const char *keep[] = { ID_B };
    CHECK_EQ(net_sandbox_prune(n, keep, 1, err, sizeof(err)), 0);
    CHECK(nft_table());
    CHECK(!strstr(outbuf, "AAAAAAAAAAAA"));
    CHECK(strstr(outbuf, "BBBBBBBBBBBB"));
    CHECK_EQ(net_sandbox_prune(n, NULL, 0, err, sizeof(err)), 0);
    CHECK(nft_table());
    CHECK(!strstr(outbuf, "BBBBBBBBBBBB"));
    CHECK(!strstr(outbuf, "hsbbbbbbbbbbbb"));
    close(fd);
    close(fd2);
    net_close(n);
    CHECK_EQ(net_teardown(&cfg, err, sizeof(err)), 0);
}

/* ---- the guest side: frames on a tap ---- */

struct guest {
    int fd;                         /* the tap, non-blocking */
    uint8_t mac[6];
};

static const uint8_t GW_MAC[6] = { 0x02, 0x00, 0x0a, 0x58, 0x00, 0x01 };

static uint32_t sum16(const void *p, size_t len, uint32_t acc)
{
    const uint8_t *b = p;
    for (size_t i = 0; i + 1 < len; i += 2)
        acc += (uint32_t)(b[i] << 8 | b[i + 1]);
    if (len & 1)
        acc += (uint32_t)b[len - 1] << 8;
    return acc;
}

static uint16_t fold(uint32_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return (uint16_t)~acc;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Writes one IPv4 packet (proto, l4 bytes with their checksum field zeroed) from src to dst. */
static bool send_ip(struct guest *g, uint32_t src, uint32_t dst, uint8_t proto, uint8_t *l4,
                    size_t l4len)
{
    uint8_t f[2048] = { 0 };
    uint8_t *eth = f + VNET_HDR, *ip = eth + 14;
    memcpy(eth, GW_MAC, 6);
    memcpy(eth + 6, g->mac, 6);
    put16(eth + 12, 0x0800);
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)(20 + l4len));
    ip[8] = 64;
    ip[9] = proto;
    put32(ip + 12, src);
    put32(ip + 16, dst);
    put16(ip + 10, fold(sum16(ip, 20, 0)));
    /* the TCP/UDP checksum covers a pseudo header */
    uint8_t ph[12];
    put32(ph, src);
    put32(ph + 4, dst);
    ph[8] = 0;
    ph[9] = proto;
    put16(ph + 10, (uint16_t)l4len);
    uint16_t c = fold(sum16(l4, l4len, sum16(ph, 12, 0)));
    put16(l4 + (proto == IPPROTO_UDP ? 6 : 16), proto == IPPROTO_UDP && c == 0 ? 0xffff : c);
    memcpy(ip + 20, l4, l4len);
    size_t len = VNET_HDR + 14 + 20 + l4len;
    REQUIRE(write(g->fd, f, len) == (ssize_t)len);
    return true;
}

static bool send_udp(struct guest *g, uint32_t src, uint32_t dst, uint16_t dport, size_t plen)
{
    uint8_t u[1500] = { 0 };
    put16(u, 40000);
    put16(u + 2, dport);
    put16(u + 4, (uint16_t)(8 + plen));
    memset(u + 8, 'x', plen);
    return send_ip(g, src, dst, IPPROTO_UDP, u, 8 + plen);
}

static bool send_syn(struct guest *g, uint32_t src, uint32_t dst, uint16_t dport)
{
    uint8_t t[20] = { 0 };
    put16(t, 40001);
    put16(t + 2, dport);
    put32(t + 4, 12345);
    t[12] = 5 << 4;
    t[13] = 0x02;                   /* SYN */
    put16(t + 14, 64240);
    return send_ip(g, src, dst, IPPROTO_TCP, t, 20);
}

/* Reads frames for up to ms, answering ARP requests as the guest, until an IPv4 packet comes
 * (copied to ip, its length returned); 0 when none came. */
static size_t recv_ip(struct guest *g, int ms, uint8_t *ip, size_t cap)
{
    uint64_t end = harness_now_us() + (uint64_t)ms * 1000;
    for (;;) {
        uint64_t now = harness_now_us();
        if (now >= end)
            return 0;
        struct pollfd p = { g->fd, POLLIN, 0 };
        if (poll(&p, 1, (int)((end - now) / 1000) + 1) <= 0)
            continue;
        uint8_t f[2048];
        ssize_t n = read(g->fd, f, sizeof(f));
        if (n < VNET_HDR + 14)
            continue;
        uint8_t *eth = f + VNET_HDR;
        size_t len = (size_t)n - VNET_HDR;
        uint16_t type = (uint16_t)(eth[12] << 8 | eth[13]);
        if (type == 0x0806 && len >= 42 && eth[20] == 0 && eth[21] == 1) {
            uint8_t r[VNET_HDR + 42] = { 0 };
            uint8_t *re = r + VNET_HDR, *a = eth + 14, *ra = re + 14;
            memcpy(re, eth + 6, 6);
            memcpy(re + 6, g->mac, 6);
            put16(re + 12, 0x0806);
            memcpy(ra, a, 6);           /* htype, ptype, hlen, plen */
            put16(ra + 6, 2);           /* reply */
            memcpy(ra + 8, g->mac, 6);
            memcpy(ra + 14, a + 24, 4); /* we are the address asked for */
            memcpy(ra + 18, a + 8, 6);
            memcpy(ra + 24, a + 14, 4);
            (void)!write(g->fd, r, sizeof(r));
            continue;
        }
        if (type == 0x0800 && len - 14 <= cap) {
            memcpy(ip, eth + 14, len - 14);
            return len - 14;
        }
    }
}

/* Like recv_ip, for packets of one protocol only (ICMP: not the unreachables earlier denied
 * datagrams left queued). */
static size_t recv_proto(struct guest *g, int ms, uint8_t proto, uint8_t *ip, size_t cap)
{
    uint64_t end = harness_now_us() + (uint64_t)ms * 1000;
    for (;;) {
        uint64_t now = harness_now_us();
        if (now >= end)
            return 0;
        size_t len = recv_ip(g, (int)((end - now) / 1000) + 1, ip, cap);
        if (len >= 20 && ip[9] == proto && !(proto == IPPROTO_ICMP && ip[20] == 3))
            return len;
    }
}

/* Whether a TCP segment with all of flags (RST 0x04, SYN-ACK 0x12) comes within 1 s; others
 * (a listener's retransmitted SYN-ACK) are skipped. */
static bool tcp_got(struct guest *g, uint8_t flags)
{
    uint8_t ip[2048];
    uint64_t end = harness_now_us() + 1000000;
    while (harness_now_us() < end) {
        size_t len = recv_proto(g, 100, IPPROTO_TCP, ip, sizeof(ip));
        if (len >= 40 && (ip[20 + 13] & flags) == flags)
            return true;
    }
    return false;
}

/* ---- the internet side ---- */

struct inet {
    int nsfd;
    int udp;                        /* UDP on 7000 and 7001, all addresses */
    int udp2;
    int tcp;                        /* TCP listener on 7000 */
};

static bool inet_setup(struct inet *in)
{
    struct rtnl rt;
    REQUIRE(netns_create(INET_NS) == 0);
    REQUIRE(netns_open(INET_NS, &in->nsfd) == 0);
    REQUIRE(rtnl_open(&rt) == 0);
    REQUIRE(rtnl_veth_create(&rt, "tinet", "eth0", in->nsfd) == 0);
    int idx = rtnl_link_index(&rt, "tinet");
    REQUIRE(idx > 0);
    REQUIRE(rtnl_addr_add(&rt, idx, ROOT_INET, 24) == 0);
    REQUIRE(rtnl_link_set(&rt, idx, true, NULL) == 0);
    REQUIRE(rtnl_route_replace(&rt, IP(198, 51, 100, 0), 24, IP(203, 0, 113, 2), idx, 0) == 0);
    rtnl_close(&rt);
    int home;
    REQUIRE(netns_open_current(&home) == 0);
    REQUIRE(netns_enter(in->nsfd) == 0);
    REQUIRE(rtnl_open(&rt) == 0);
    REQUIRE(rtnl_link_set(&rt, 1, true, NULL) == 0);
    idx = rtnl_link_index(&rt, "eth0");
    REQUIRE(idx > 0);
    REQUIRE(rtnl_addr_add(&rt, idx, IP(203, 0, 113, 2), 24) == 0);
    REQUIRE(rtnl_link_set(&rt, idx, true, NULL) == 0);
    for (int i = 1; i <= 20; i++)
        REQUIRE(rtnl_addr_add(&rt, 1, IP(198, 51, 100, i), 32) == 0);
    REQUIRE(rtnl_route_replace(&rt, 0, 0, ROOT_INET, idx, 0) == 0);
    rtnl_close(&rt);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(7000) };
    in->udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    in->udp2 = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    in->tcp = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    REQUIRE(bind(in->udp, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    REQUIRE(bind(in->tcp, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    REQUIRE(listen(in->tcp, 16) == 0);
    sa.sin_port = htons(7001);
    REQUIRE(bind(in->udp2, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    REQUIRE(netns_enter(home) == 0);
    close(home);
    return true;
}

/* Waits up to ms for a datagram on s; returns its length (-1: none) and its source. */
static ssize_t inet_recv(int s, int ms, struct sockaddr_in *from)
{
    struct pollfd p = { s, POLLIN, 0 };
    if (poll(&p, 1, ms) <= 0)
        return -1;
    char b[2048];
    socklen_t sl = sizeof(*from);
    return recvfrom(s, b, sizeof(b), 0, (struct sockaddr *)from, &sl);
}

/* Answers from src (the address the guest wrote to: an unconnected socket would pick the
 * route's source, which conntrack would not take for a reply). */
static ssize_t inet_reply(int s, const struct sockaddr_in *to, uint32_t src, size_t len)
{
    char data[1500] = { 0 };
    struct iovec iov = { data, len };
    char cbuf[CMSG_SPACE(sizeof(struct in_pktinfo))] = { 0 };
    struct msghdr m = { .msg_name = (void *)to, .msg_namelen = sizeof(*to), .msg_iov = &iov,
                        .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = IPPROTO_IP;
    c->cmsg_type = IP_PKTINFO;
    c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
    struct in_pktinfo pi = { .ipi_spec_dst.s_addr = htonl(src) };
    memcpy(CMSG_DATA(c), &pi, sizeof(pi));
    return sendmsg(s, &m, 0);
}

/* Sends from the guest and reports whether the internet got it (on the socket for dport). */
static bool udp_passes(struct guest *g, struct inet *in, uint32_t src, uint32_t dst,
                       uint16_t dport)
{
    struct sockaddr_in from;
    if (!send_udp(g, src, dst, dport, 16))
        return false;
    return inet_recv(dport == 7000 ? in->udp : in->udp2, 300, &from) > 0;
}

#define GA IP(10, 88, 0, 5)
#define GB IP(10, 88, 0, 6)
#define NET1 IP(10, 89, 1, 0)
#define INET(i) IP(198, 51, 100, i)

static bool apply(struct net *n, const char *id, uint32_t ip, const uint32_t *members,
                  size_t n_members, const char *const *rules, size_t n_rules)
{
    char err[256] = "";
    struct net_sandbox s = { .id = id, .ip = ip, .n_member_ips = n_members, .egress = rules,
                             .n_egress = n_rules };
    if (n_members)
        memcpy(s.member_ips, members, n_members * sizeof(*members));
    int r = net_sandbox_apply(n, &s, err, sizeof(err));
    if (r < 0)
        harness_fail(__FILE__, __LINE__, "apply %s: %d %s", id, r, err);
    return r == 0;
}

static bool open_guest(struct net *n, const char *id, struct guest *g)
{
    char err[256];
    REQUIRE(net_tap_open(n, id, &g->fd, err, sizeof(err)) == 0);
    REQUIRE(fcntl(g->fd, F_SETFL, O_NONBLOCK) == 0);
    net_mac(id, g->mac);
    return true;
}

struct counted {
    uint64_t eg, in, handle;
};

static void on_counter(void *ud, const char *id, const struct net_counter_reading *v)
{
    struct counted *c = ud;
    if (strcmp(id, ID_A) == 0) {
        c->eg = v->egress;
        c->in = v->ingress;
        c->handle = v->egress_handle;
    }
}

TEST_SLOW(packets_egress_isolation_counters, 120)
{
    CHECK(isolate());
    struct net *n;
    char err[256];
    CHECK(open_net(&n));
    struct inet in;
    CHECK(inet_setup(&in));
    struct guest a, b;
    CHECK(open_guest(n, ID_A, &a));
    CHECK(open_guest(n, ID_B, &b));
    const char *rules[] = { "198.51.100.1", "198.51.100.3:7000", "198.51.100.16/28",
                            "api.test", "*.svc.test:7000" };
    CHECK(apply(n, ID_A, GA, NULL, 0, rules, 5));
    CHECK(apply(n, ID_B, GB, NULL, 0, NULL, 0));

    /* allowed: arrives, double-NATed to the test namespace's address; the reply comes back */
    struct sockaddr_in from;
    CHECK(send_udp(&a, GA, INET(1), 7000, 16));
    CHECK(inet_recv(in.udp, 1000, &from) > 0);
    CHECK_EQ(ntohl(from.sin_addr.s_addr), ROOT_INET);
    uint8_t ip[2048];
    int s = in.udp;
    char reply[50] = { 0 };
    int home;
    CHECK(netns_open_current(&home) == 0);
    CHECK(inet_reply(s, &from, INET(1), sizeof(reply)) == 50);
    size_t len = recv_proto(&a, 1000, IPPROTO_UDP, ip, sizeof(ip));
    CHECK(len == 20 + 8 + 50);
    CHECK_EQ(get32(ip + 12), INET(1));
    CHECK_EQ(get32(ip + 16), GA);

    /* denied: nothing arrives; TCP gets a reset */
    CHECK(!udp_passes(&a, &in, GA, INET(2), 7000));
    CHECK(send_syn(&a, GA, INET(2), 7000));
    CHECK(tcp_got(&a, 0x04));   /* RST */
    /* allowed TCP: SYN-ACK from the listener */
    CHECK(send_syn(&a, GA, INET(1), 7000));
    CHECK(tcp_got(&a, 0x12));

    /* a port rule, a CIDR rule */
    CHECK(udp_passes(&a, &in, GA, INET(3), 7000));
    CHECK(!udp_passes(&a, &in, GA, INET(3), 7001));
    CHECK(udp_passes(&a, &in, GA, INET(17), 7001));
    CHECK(!udp_passes(&a, &in, GA, INET(15), 7001));

    /* names: allowed once learned, with the ports of their rules */
    CHECK(!udp_passes(&a, &in, GA, INET(4), 7000));
    uint32_t four = INET(4), five = INET(5);
    net_learn(n, ID_A, "API.test.", &four, 1, 5);
    CHECK(udp_passes(&a, &in, GA, INET(4), 7001));
    net_learn(n, ID_A, "x.svc.test", &five, 1, 300);
    net_learn(n, ID_A, "evil.test", &five, 1, 300);     /* no rule: recorded, not allowed */
    CHECK(udp_passes(&a, &in, GA, INET(5), 7000));
    CHECK(!udp_passes(&a, &in, GA, INET(5), 7001));

    /* a rule change: .1 and api.test are out, *.svc.test now covers every port */
    const char *rules2[] = { "198.51.100.3:7000", "*.svc.test" };
    CHECK(apply(n, ID_A, GA, NULL, 0, rules2, 2));
    CHECK(!udp_passes(&a, &in, GA, INET(1), 7000));
    CHECK(!udp_passes(&a, &in, GA, INET(4), 7001));
    CHECK(udp_passes(&a, &in, GA, INET(5), 7001));
    CHECK(send_syn(&a, GA, INET(1), 7000));             /* and TCP is reset now */
    CHECK(tcp_got(&a, 0x04));
    /* a learned name comes back when a rule allows it again */
    const char *rules3[] = { "api.test" };
    CHECK(apply(n, ID_A, GA, NULL, 0, rules3, 1));
    CHECK(udp_passes(&a, &in, GA, INET(4), 7000));
    CHECK(!udp_passes(&a, &in, GA, INET(5), 7001));

    /* allow all; still no spoofing, no other sandbox, no host addresses */
    CHECK(apply(n, ID_A, GA, NULL, 0, NULL, 0));
    CHECK(udp_passes(&a, &in, GA, INET(9), 7000));
    CHECK(!udp_passes(&a, &in, GB, INET(9), 7000));
    CHECK(!udp_passes(&a, &in, IP(10, 88, 0, 77), INET(9), 7000));
    CHECK(send_udp(&a, GA, GB, 7000, 16));
    CHECK_EQ(recv_ip(&b, 300, ip, sizeof(ip)), 0);
    int hostsock = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in hs = { .sin_family = AF_INET, .sin_port = htons(7002) };
    CHECK(bind(hostsock, (struct sockaddr *)&hs, sizeof(hs)) == 0);
    CHECK(send_udp(&a, GA, UPLINK_NET + 1, 7002, 16));
    CHECK(send_udp(&a, GA, ROOT_INET, 7002, 16));
    CHECK(send_udp(&a, GA, IP(10, 88, 0, 1), 7002, 16));
    CHECK(inet_recv(hostsock, 300, &from) < 0);
    /* the gateway answers ping (ICMP echo) but nothing else than DNS */
    uint8_t echo[16] = { 8, 0, 0, 0, 0, 1, 0, 1 };
    put16(echo + 2, fold(sum16(echo, sizeof(echo), 0)));
    uint8_t echo_copy[16];
    memcpy(echo_copy, echo, sizeof(echo));
    {
        /* send_ip writes a TCP/UDP checksum; ICMP carries its own, so write the frame here */
        uint8_t f[VNET_HDR + 14 + 20 + 16] = { 0 };
        uint8_t *eth = f + VNET_HDR, *iph = eth + 14;
        memcpy(eth, GW_MAC, 6);
        memcpy(eth + 6, a.mac, 6);
        put16(eth + 12, 0x0800);
        iph[0] = 0x45;
        put16(iph + 2, 36);
        iph[8] = 64;
        iph[9] = IPPROTO_ICMP;
        put32(iph + 12, GA);
        put32(iph + 16, IP(10, 88, 0, 1));
        put16(iph + 10, fold(sum16(iph, 20, 0)));
        memcpy(iph + 20, echo_copy, 16);
        CHECK(write(a.fd, f, sizeof(f)) == (ssize_t)sizeof(f));
        len = recv_proto(&a, 1000, IPPROTO_ICMP, ip, sizeof(ip));
        CHECK(len >= 28 && ip[9] == IPPROTO_ICMP && ip[20] == 0);   /* echo reply */
    }
    CHECK(send_syn(&a, GA, IP(10, 88, 0, 1), 22));
    CHECK(tcp_got(&a, 0x04));

    /* private network: members reach each other on any port, primaries do not */
    CHECK_EQ(net_network_add(n, NET1, err, sizeof(err)), 0);
    uint32_t ma = NET1 + 2, mb = NET1 + 3;
    CHECK(apply(n, ID_A, GA, &ma, 1, rules2, 2));
    CHECK(apply(n, ID_B, GB, &mb, 1, rules2, 2));
    CHECK(send_udp(&a, ma, mb, 9999, 16));
    len = recv_proto(&b, 1000, IPPROTO_UDP, ip, sizeof(ip));
    CHECK(len == 20 + 8 + 16);
    CHECK_EQ(get32(ip + 12), ma);
    CHECK(send_udp(&a, GA, mb, 9999, 16));
    CHECK_EQ(recv_ip(&b, 300, ip, sizeof(ip)), 0);
    CHECK_EQ(net_network_remove(n, NET1, err, sizeof(err)), 0);
    CHECK(send_udp(&a, ma, mb, 9999, 16));
    CHECK_EQ(recv_ip(&b, 300, ip, sizeof(ip)), 0);

    /* capped: egress dropped until uncapped */
    CHECK(apply(n, ID_A, GA, NULL, 0, NULL, 0));
    CHECK_EQ(net_sandbox_set_capped(n, ID_A, true, err, sizeof(err)), 0);
    CHECK(!udp_passes(&a, &in, GA, INET(1), 7000));
    CHECK_EQ(net_sandbox_set_capped(n, ID_A, false, err, sizeof(err)), 0);
    CHECK(udp_passes(&a, &in, GA, INET(1), 7000));

    /* counters: IP bytes out through the uplink and back in, absolute, never reset by a read */
    struct counted c0 = { 0 }, c = { 0 };
    CHECK_EQ(net_counters_read(n, on_counter, &c0, err, sizeof(err)), 0);
    CHECK(c0.handle > 0);
    CHECK(send_udp(&a, GA, INET(1), 7000, 100));
    CHECK(inet_recv(in.udp, 1000, &from) > 0);
    CHECK(send_udp(&a, GA, INET(2), 7000, 100));        /* a denied one with allow... */
    CHECK(inet_recv(in.udp, 1000, &from) > 0);          /* ...all still leaves: counted */
    CHECK(inet_reply(s, &from, INET(2), sizeof(reply)) == 50);
    CHECK(recv_proto(&a, 1000, IPPROTO_UDP, ip, sizeof(ip)) == 78);
    CHECK(send_udp(&a, ma, mb, 9999, 16));              /* not via the uplink: not counted */
    CHECK_EQ(net_counters_read(n, on_counter, &c, err, sizeof(err)), 0);
    CHECK_EQ(c.eg - c0.eg, 2 * 128);
    CHECK_EQ(c.in - c0.in, 78);
    CHECK_EQ(c.handle, c0.handle);
    struct counted again = { 0 };
    CHECK_EQ(net_counters_read(n, on_counter, &again, err, sizeof(err)), 0);
    CHECK_EQ(again.eg, c.eg); /* a second read sees the same bytes: nothing was reset */
    CHECK_EQ(again.in, c.in);

    close(home);
    close(hostsock);
    close(a.fd);
    close(b.fd);
    net_close(n);
    CHECK_EQ(net_teardown(&cfg, err, sizeof(err)), 0);
}

/* "LAN" and metadata addresses behind the test namespace (inet_setup's namespace holds them
 * too): private destinations are blocked by default, open to an explicit rule naming them
 * (also next to "*"), never through a wider rule or a DNS answer, and open to every sandbox
 * with private_allow. */
TEST_SLOW(private_destinations, 120)
{
    CHECK(isolate());
    struct net *n;
    char err[256];
    CHECK(open_net(&n));
    struct inet in;
    CHECK(inet_setup(&in));
    static const uint32_t lan[] = { IP(192, 168, 77, 7), IP(169, 254, 169, 254),
                                    IP(172, 16, 5, 5), IP(100, 64, 0, 9), IP(10, 20, 0, 1) };
    int home;
    CHECK(netns_open_current(&home) == 0);
    struct rtnl rt;
    CHECK(netns_enter(in.nsfd) == 0);
    CHECK(rtnl_open(&rt) == 0);
    for (size_t i = 0; i < 5; i++)
        CHECK(rtnl_addr_add(&rt, 1, lan[i], 32) == 0);
    rtnl_close(&rt);
    CHECK(netns_enter(home) == 0);
    CHECK(rtnl_open(&rt) == 0);
    int tinet = rtnl_link_index(&rt, "tinet");
    for (size_t i = 0; i < 5; i++)
        CHECK(rtnl_route_replace(&rt, lan[i], 32, IP(203, 0, 113, 2), tinet, 0) == 0);
    rtnl_close(&rt);
    struct guest a;
    CHECK(open_guest(n, ID_A, &a));

    /* open egress: the internet yes, every private destination no (TCP: a reset) */
    CHECK(apply(n, ID_A, GA, NULL, 0, NULL, 0));
    struct sockaddr_in from;
    CHECK(send_udp(&a, GA, INET(1), 7000, 16)); /* the first packet waits for ARP: 2 s */
    CHECK(inet_recv(in.udp, 2000, &from) > 0);
    for (size_t i = 0; i < 5; i++)
        CHECK(!udp_passes(&a, &in, GA, lan[i], 7000));
    CHECK(send_syn(&a, GA, lan[1], 7000));
    CHECK(tcp_got(&a, 0x04));
    /* an explicit rule next to "*" opens exactly that one */
    const char *r1[] = { "*", "192.168.77.7" };
    CHECK(apply(n, ID_A, GA, NULL, 0, r1, 2));
    CHECK(udp_passes(&a, &in, GA, lan[0], 7000));
    CHECK(!udp_passes(&a, &in, GA, lan[1], 7000));
    CHECK(udp_passes(&a, &in, GA, INET(2), 7000));
    /* an allowlist: a private CIDR with a port; 0.0.0.0/0 opens the internet, not the LAN */
    const char *r2[] = { "192.168.77.0/24:7000", "0.0.0.0/0", "169.254.169.254:7001",
                         "lan.test" };
    CHECK(apply(n, ID_A, GA, NULL, 0, r2, 4));
    CHECK(udp_passes(&a, &in, GA, lan[0], 7000));
    CHECK(!udp_passes(&a, &in, GA, lan[0], 7001));
    CHECK(!udp_passes(&a, &in, GA, lan[1], 7000));
    CHECK(udp_passes(&a, &in, GA, lan[1], 7001));
    CHECK(!udp_passes(&a, &in, GA, lan[2], 7000));
    CHECK(!udp_passes(&a, &in, GA, lan[4], 7000));
    CHECK(udp_passes(&a, &in, GA, INET(9), 7001));
    /* a name allowed by rule that resolves to a private address stays blocked (rebinding) */
    uint32_t rebound = lan[3];
    net_learn(n, ID_A, "lan.test", &rebound, 1, 300);
    CHECK(!udp_passes(&a, &in, GA, lan[3], 7000));
    /* other sandboxes' addresses stay out whatever the rules name */
    const char *r3[] = { "10.88.0.0/16", "10.89.0.0/16" };
    CHECK(apply(n, ID_A, GA, NULL, 0, r3, 2));
    CHECK(!udp_passes(&a, &in, GA, GB, 7000));
    CHECK(!udp_passes(&a, &in, GA, UPLINK_NET + 1, 7000));

    /* private_allow: the block set is empty, open egress reaches the LAN */
    net_close(n);
    struct net_config open = cfg;
    open.private_allow = true;
    CHECK_EQ(net_open(&open, &n, err, sizeof(err)), 0);
    CHECK(apply(n, ID_A, GA, NULL, 0, NULL, 0));
    for (size_t i = 0; i < 4; i++)
        CHECK(udp_passes(&a, &in, GA, lan[i], 7000));
    /* and back: re-opening with the default blocks them again */
    net_close(n);
    CHECK(open_net(&n));
    CHECK(apply(n, ID_A, GA, NULL, 0, NULL, 0));
    CHECK(!udp_passes(&a, &in, GA, lan[0], 7000));
    close(home);
    close(a.fd);
    net_close(n);
    CHECK_EQ(net_teardown(&cfg, err, sizeof(err)), 0);
}

/* A /30 of the pool another interface holds is skipped (uplink_auto), an existing uplink keeps
 * its /30, a configured one that is taken fails with a message naming the holder, and the
 * failed open leaves no namespace behind. */
TEST(uplink_collisions)
{
    CHECK(isolate());
    char err[512] = "";
    struct rtnl rt;
    CHECK(rtnl_open(&rt) == 0);
    int stale_ns;
    CHECK(netns_create("hearth-other") == 0);
    CHECK(netns_open("hearth-other", &stale_ns) == 0);
    CHECK(rtnl_veth_create(&rt, "hu-other", "uplink", stale_ns) == 0);
    int idx = rtnl_link_index(&rt, "hu-other");
    CHECK(idx > 0);
    CHECK(rtnl_addr_add(&rt, idx, IP(169, 254, 88, 1), 30) == 0);
    rtnl_close(&rt);
    struct net_config c = cfg;
    c.uplink_auto = true;
    c.uplink_pool = IP(169, 254, 88, 0);
    c.uplink_pool_prefix = 22;
    c.uplink_net = IP(169, 254, 88, 0);
    struct net *n;
    CHECK_EQ(net_open(&c, &n, err, sizeof(err)), 0);
    CHECK_EQ(net_uplink(n), IP(169, 254, 88, 4));
    CHECK(strstr(net_note(n), "'hu-other'") != NULL);
    net_close(n);
    /* re-opened while the namespace lives: the same /30, nothing to report */
    CHECK_EQ(net_open(&c, &n, err, sizeof(err)), 0);
    CHECK_EQ(net_uplink(n), IP(169, 254, 88, 4));
    CHECK_STR(net_note(n), "");
    net_close(n);
    CHECK_EQ(net_teardown(&c, err, sizeof(err)), 0);
    /* configured: refused, and the namespace made for it is gone again */
    c.uplink_auto = false;
    CHECK_EQ(net_open(&c, &n, err, sizeof(err)), -EADDRINUSE);
    CHECK(strstr(err, "'hu-other'") && strstr(err, "hearthd net down"));
    CHECK(access(NETNS_RUN_DIR "/" NS, F_OK) != 0);
    /* a bad pool is a bad config */
    c.uplink_auto = true;
    c.uplink_pool_prefix = 12;
    CHECK_EQ(net_open(&c, &n, err, sizeof(err)), -EINVAL);
    c.uplink_pool_prefix = 22;
    c.uplink_net = IP(10, 0, 0, 0);
    CHECK_EQ(net_open(&c, &n, err, sizeof(err)), -EINVAL);
    close(stale_ns);
    CHECK_EQ(netns_delete("hearth-other"), 0);
}

/* Not an assertion on speed (that belongs in bench/): prints what one PUT of the egress rules
 * costs with 256 and 1,000 rules, the first apply and a replacement. */
TEST_SLOW(apply_time_256_and_1000_rules, 120)
{
    CHECK(isolate());
    struct net *n;
    char err[256];
    CHECK(open_net(&n));
    struct guest a;
    CHECK(open_guest(n, ID_A, &a));
    static char names[1000][32];
    static const char *rules[1000];
    for (int i = 0; i < 1000; i++) {
        switch (i % 4) {
        case 0: snprintf(names[i], 32, "100.%d.%d.%d", i / 256, i % 256, 7); break;
        case 1: snprintf(names[i], 32, "101.%d.%d.0/24:%d", i / 256, i % 256, 1000 + i); break;
        case 2: snprintf(names[i], 32, "host%d.example.com:443", i); break;
        default: snprintf(names[i], 32, "*.zone%d.example.org", i); break;
        }
        rules[i] = names[i];
    }
    /* some learned names so the DNS sets are rebuilt too */
    for (int i = 2; i < 1000; i += 4) {
        uint32_t addr = IP(102, 0, i / 256, i % 256);
        char nm[40];
        snprintf(nm, sizeof(nm), "host%d.example.com", i);
        net_learn(n, ID_A, nm, &addr, 1, 600);
    }
    static const size_t sizes[] = { 256, 1000 };
    for (size_t k = 0; k < 2; k++) {
        uint64_t best = UINT64_MAX, worst = 0;
        for (int rep = 0; rep < 5; rep++) {
            uint64_t t0 = harness_now_us();
            CHECK(apply(n, ID_A, GA, NULL, 0, rules, sizes[k]));
            uint64_t dt = harness_now_us() - t0;
            best = dt < best ? dt : best;
            worst = dt > worst ? dt : worst;
        }
        printf("    net_sandbox_apply with %zu rules: best %.1f ms, worst %.1f ms (ASan build)\n",
               sizes[k], (double)best / 1000, (double)worst / 1000);
    }
    CHECK(nft_table());
    CHECK(strstr(outbuf, "host998.example.com"));       /* a learned element, re-derived */
    close(a.fd);
    net_close(n);
    CHECK_EQ(net_teardown(&cfg, err, sizeof(err)), 0);
}
