/* SPDX-License-Identifier: MIT */
/* agent_rtnl.c: a minimal rtnetlink client for the agent (rtnl.h): one request at a time on a
 * blocking NETLINK_ROUTE socket, each waited for until its ACK (or, for a dump, NLMSG_DONE).
 * Knows links, IPv4 addresses, main-table IPv4 routes and neighbours of one link; nothing of
 * the net object or the protocol (netcfg.c decides what to change). */
#include "agent/agent_rtnl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define RTNL_REQ_MAX 512          /* our requests: a header, a fixed struct, a few attributes */
#define RTNL_RECV_MAX 32768       /* the kernel's dump messages fit in 32 KiB (NLMSG_GOODSIZE) */
#define RTNL_NEIGH_MAX 256        /* neighbours of one link flushed per call */

int rtnl_open(struct rtnl *nl)
{
    nl->seq = 0;
    nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (nl->fd < 0)
        return -errno;
    /* The kernel answers rtnetlink synchronously; the timeout only guards PID 1 against a
     * kernel bug that would otherwise hang the whole guest's agent. */
    struct timeval tv = { .tv_sec = 2 };
    (void)setsockopt(nl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
    if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int r = -errno;
        rtnl_close(nl);
        return r;
    }
    return 0;
}

void rtnl_close(struct rtnl *nl)
{
    if (nl->fd >= 0)
        close(nl->fd);
    nl->fd = -1;
}

/* --- building requests --- */

struct req {
    union {
        struct nlmsghdr h;
        uint8_t raw[RTNL_REQ_MAX];
    } u;
};

/* Starts a request of type with a zeroed fixed part of hdrlen bytes; returns that part. */
static void *req_init(struct req *q, uint16_t type, uint16_t flags, size_t hdrlen)
{
    memset(q, 0, sizeof(*q));
    q->u.h.nlmsg_len = (uint32_t)NLMSG_LENGTH(hdrlen);
    q->u.h.nlmsg_type = type;
    q->u.h.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
    return NLMSG_DATA(&q->u.h);
}

static void req_attr(struct req *q, uint16_t type, const void *data, size_t len)
{
    size_t off = NLMSG_ALIGN(q->u.h.nlmsg_len);
    /* every request here is a few attributes: overflowing is our bug */
    if (off + RTA_SPACE(len) > sizeof(q->u.raw))
        return;
    struct rtattr *a = (struct rtattr *)(q->u.raw + off);
    a->rta_type = type;
    a->rta_len = (unsigned short)RTA_LENGTH(len);
    memcpy(RTA_DATA(a), data, len);
    q->u.h.nlmsg_len = (uint32_t)(off + RTA_SPACE(len));
}

static void req_attr_ip(struct req *q, uint16_t type, uint32_t ip)
{
    uint32_t be = htonl(ip);
    req_attr(q, type, &be, sizeof(be));
}

static void req_attr_u32(struct req *q, uint16_t type, uint32_t v)
{
    req_attr(q, type, &v, sizeof(v));
}

/* --- talking --- */

typedef int (*rtnl_cb)(const struct nlmsghdr *h, void *ud);

/* Sends q and reads answers until its ACK or NLMSG_DONE, passing other messages to cb. Returns
 * the kernel's -errno, cb's first error, or 0. */
static int talk(struct rtnl *nl, struct req *q, rtnl_cb cb, void *ud)
{
    /* NLM_F_DUMP is two bits that a modifying request reuses (NLM_F_EXCL, NLM_F_REPLACE),
     * so a dump is told by its callback: only dumps have one */
    if (!cb)
        q->u.h.nlmsg_flags |= NLM_F_ACK;
    q->u.h.nlmsg_seq = ++nl->seq;
    struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
    ssize_t n;
    do
        n = sendto(nl->fd, q->u.raw, q->u.h.nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa));
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    union {
        struct nlmsghdr h;
        uint8_t raw[RTNL_RECV_MAX];
    } in;
    int cb_err = 0;
    for (;;) {
        n = recv(nl->fd, in.raw, sizeof(in.raw), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN ? -ETIMEDOUT : -errno;
        if (n == 0)
            return -ECONNRESET;
        size_t left = (size_t)n;
        for (struct nlmsghdr *h = &in.h; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
            if (h->nlmsg_seq != nl->seq)
                continue; /* an answer to an earlier request that timed out */
            if (h->nlmsg_type == NLMSG_ERROR) {
                if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct nlmsgerr)))
                    return -EBADMSG;
                const struct nlmsgerr *e = NLMSG_DATA(h);
                return e->error ? e->error : cb_err;
            }
            if (h->nlmsg_type == NLMSG_DONE)
                return cb_err;
            if (cb && !cb_err)
                cb_err = cb(h, ud);
        }
    }
}

/* Walks the attributes after a fixed header of hdrlen bytes into tb (indexed by type). */
static void parse_attrs(const struct nlmsghdr *h, size_t hdrlen, const struct rtattr **tb,
                        size_t max)
{
    memset(tb, 0, sizeof(*tb) * (max + 1));
    if (h->nlmsg_len < NLMSG_SPACE(hdrlen))
        return;
    const struct rtattr *a = (const struct rtattr *)((const uint8_t *)NLMSG_DATA(h) +
                                                     NLMSG_ALIGN(hdrlen));
    unsigned int len = h->nlmsg_len - (unsigned)NLMSG_SPACE(hdrlen);
    for (; RTA_OK(a, len); a = RTA_NEXT(a, len))
        if (a->rta_type <= max && !tb[a->rta_type])
            tb[a->rta_type] = a;
}

static bool attr_ip(const struct rtattr *a, uint32_t *ret)
{
    if (!a || RTA_PAYLOAD(a) != 4)
        return false;
    uint32_t be;
    memcpy(&be, RTA_DATA(a), 4);
    *ret = ntohl(be);
    return true;
}

static bool attr_u32(const struct rtattr *a, uint32_t *ret)
{
    if (!a || RTA_PAYLOAD(a) != 4)
        return false;
    memcpy(ret, RTA_DATA(a), 4);
    return true;
}

/* --- links --- */

static int on_link(const struct nlmsghdr *h, void *ud)
{
    struct rtnl_link *best = ud;
    if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
        return 0;
    const struct ifinfomsg *ifi = NLMSG_DATA(h);
    if (ifi->ifi_type != ARPHRD_ETHER || (ifi->ifi_flags & IFF_LOOPBACK))
        return 0;
    if (best->ifindex && best->ifindex < ifi->ifi_index)
        return 0;
    const struct rtattr *tb[IFLA_MAX + 1];
    parse_attrs(h, sizeof(*ifi), tb, IFLA_MAX);
    struct rtnl_link l = { .ifindex = ifi->ifi_index, .flags = ifi->ifi_flags };
    if (tb[IFLA_ADDRESS] && RTA_PAYLOAD(tb[IFLA_ADDRESS]) == 6)
        memcpy(l.mac, RTA_DATA(tb[IFLA_ADDRESS]), 6);
    if (tb[IFLA_IFNAME]) {
        size_t n = RTA_PAYLOAD(tb[IFLA_IFNAME]);
        if (n >= sizeof(l.name))
            n = sizeof(l.name) - 1;
        memcpy(l.name, RTA_DATA(tb[IFLA_IFNAME]), n);
        l.name[strnlen(l.name, n)] = 0;
    }
    *best = l;
    return 0;
}

int rtnl_link_find_ether(struct rtnl *nl, struct rtnl_link *ret)
{
    struct req q;
    struct ifinfomsg *ifi = req_init(&q, RTM_GETLINK, NLM_F_DUMP, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    struct rtnl_link best = { 0 };
    int r = talk(nl, &q, on_link, &best);
    if (r < 0)
        return r;
    if (!best.ifindex)
        return -ENODEV;
    *ret = best;
    return 0;
}

int rtnl_link_set(struct rtnl *nl, int ifindex, const uint8_t *mac, bool up)
{
    struct req q;
    struct ifinfomsg *ifi = req_init(&q, RTM_NEWLINK, 0, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    if (up) {
        ifi->ifi_flags = IFF_UP;
        ifi->ifi_change = IFF_UP;
    }
    if (mac)
        req_attr(&q, IFLA_ADDRESS, mac, 6);
    return talk(nl, &q, NULL, NULL);
}

/* --- addresses --- */

/* What a dump collects: the entries of one interface, the first cap of them, elem bytes each,
 * read by entry() from each answer of type new_type with a whole hdrlen-byte header. */
struct acc {
    int ifindex;
    uint16_t new_type;
    size_t hdrlen;
    void (*entry)(const struct nlmsghdr *h, struct acc *acc);
    void *out;
    size_t elem, cap, n;
};

static void acc_push(struct acc *acc, const void *entry)
{
    if (acc->n < acc->cap)
        memcpy((uint8_t *)acc->out + acc->n++ * acc->elem, entry, acc->elem);
}

static int on_dump(const struct nlmsghdr *h, void *ud)
{
    struct acc *acc = ud;
    if (h->nlmsg_type == acc->new_type && h->nlmsg_len >= NLMSG_LENGTH(acc->hdrlen))
        acc->entry(h, acc);
    return 0;
}

/* Starts an IPv4 request: its header (hdrlen bytes) starts with the address family, as
 * ifaddrmsg, rtmsg and ndmsg all do. Returns the header. */
static void *req_inet(struct req *q, uint16_t type, uint16_t flags, size_t hdrlen)
{
    uint8_t *family = req_init(q, type, flags, hdrlen);
    *family = AF_INET;
    return family;
}

/* Dumps the IPv4 objects of request type (their header starts with the address family, as
 * ifaddrmsg, rtmsg and ndmsg all do) into acc; the count in *ret_n. */
static int dump_inet(struct rtnl *nl, uint16_t type, struct acc *acc, size_t *ret_n)
{
    struct req q;
    (void)req_inet(&q, type, NLM_F_DUMP, acc->hdrlen);
    int r = talk(nl, &q, on_dump, acc);
    if (r == 0)
        *ret_n = acc->n;
    return r;
}

static void on_addr(const struct nlmsghdr *h, struct acc *acc)
{
    const struct ifaddrmsg *ifa = NLMSG_DATA(h);
    if (ifa->ifa_family != AF_INET || (int)ifa->ifa_index != acc->ifindex)
        return;
    const struct rtattr *tb[IFA_MAX + 1];
    parse_attrs(h, sizeof(*ifa), tb, IFA_MAX);
    struct rtnl_addr a = { .prefix = ifa->ifa_prefixlen };
    if (attr_ip(tb[IFA_LOCAL], &a.ip) || attr_ip(tb[IFA_ADDRESS], &a.ip))
        acc_push(acc, &a);
}

int rtnl_addr_list(struct rtnl *nl, int ifindex, struct rtnl_addr *out, size_t cap,
                   size_t *ret_n)
{
    struct acc acc = { ifindex, RTM_NEWADDR, sizeof(struct ifaddrmsg), on_addr, out,
                       sizeof(*out), cap, 0 };
    return dump_inet(nl, RTM_GETADDR, &acc, ret_n);
}

int rtnl_addr_change(struct rtnl *nl, bool add, int ifindex, const struct rtnl_addr *a)
{
    struct req q;
    struct ifaddrmsg *ifa = req_inet(&q, add ? RTM_NEWADDR : RTM_DELADDR,
                                     add ? NLM_F_CREATE | NLM_F_EXCL : 0, sizeof(*ifa));
    ifa->ifa_prefixlen = a->prefix;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = (unsigned)ifindex;
    req_attr_ip(&q, IFA_LOCAL, a->ip);
    req_attr_ip(&q, IFA_ADDRESS, a->ip);
    return talk(nl, &q, NULL, NULL);
}

/* --- routes --- */

static void on_route(const struct nlmsghdr *h, struct acc *acc)
{
    const struct rtmsg *rt = NLMSG_DATA(h);
    if (rt->rtm_family != AF_INET || rt->rtm_type != RTN_UNICAST)
        return;
    const struct rtattr *tb[RTA_MAX + 1];
    parse_attrs(h, sizeof(*rt), tb, RTA_MAX);
    uint32_t table = rt->rtm_table, oif = 0;
    (void)attr_u32(tb[RTA_TABLE], &table);
    /* a multipath route has no RTA_OIF: not one of ours, left alone */
    if (table != RT_TABLE_MAIN || !attr_u32(tb[RTA_OIF], &oif) || (int)oif != acc->ifindex)
        return;
    struct rtnl_route r = { .dst_len = rt->rtm_dst_len, .scope = rt->rtm_scope,
                            .protocol = rt->rtm_protocol };
    (void)attr_ip(tb[RTA_DST], &r.dst);
    (void)attr_ip(tb[RTA_GATEWAY], &r.gateway);
    (void)attr_ip(tb[RTA_PREFSRC], &r.prefsrc);
    (void)attr_u32(tb[RTA_PRIORITY], &r.priority);
    acc_push(acc, &r);
}

int rtnl_route_list(struct rtnl *nl, int ifindex, struct rtnl_route *out, size_t cap,
                    size_t *ret_n)
{
    struct acc acc = { ifindex, RTM_NEWROUTE, sizeof(struct rtmsg), on_route, out, sizeof(*out),
                       cap, 0 };
    return dump_inet(nl, RTM_GETROUTE, &acc, ret_n);
}

int rtnl_route_change(struct rtnl *nl, bool add, int ifindex, const struct rtnl_route *r)
{
    struct req q;
    struct rtmsg *rt = req_inet(&q, add ? RTM_NEWROUTE : RTM_DELROUTE,
                                add ? NLM_F_CREATE | NLM_F_REPLACE : 0, sizeof(*rt));
    rt->rtm_dst_len = r->dst_len;
    rt->rtm_table = RT_TABLE_MAIN;
    rt->rtm_type = RTN_UNICAST;
    /* a delete matches any protocol and scope; an add is ours: static */
    rt->rtm_protocol = add ? RTPROT_STATIC : RTPROT_UNSPEC;
    rt->rtm_scope = add ? r->scope : RT_SCOPE_NOWHERE;
    if (r->dst_len)
        req_attr_ip(&q, RTA_DST, r->dst);
    req_attr_u32(&q, RTA_OIF, (uint32_t)ifindex);
    if (r->gateway)
        req_attr_ip(&q, RTA_GATEWAY, r->gateway);
    if (r->prefsrc)
        req_attr_ip(&q, RTA_PREFSRC, r->prefsrc);
    if (r->priority)
        req_attr_u32(&q, RTA_PRIORITY, r->priority);
    return talk(nl, &q, NULL, NULL);
}

/* --- neighbours --- */

static void on_neigh(const struct nlmsghdr *h, struct acc *acc)
{
    const struct ndmsg *nd = NLMSG_DATA(h);
    if (nd->ndm_family != AF_INET || nd->ndm_ifindex != acc->ifindex ||
        (nd->ndm_state & (NUD_PERMANENT | NUD_NOARP)))
        return;
    const struct rtattr *tb[NDA_MAX + 1];
    parse_attrs(h, sizeof(*nd), tb, NDA_MAX);
    uint32_t ip;
    if (attr_ip(tb[NDA_DST], &ip))
        acc_push(acc, &ip);
}

int rtnl_neigh_flush(struct rtnl *nl, int ifindex)
{
    uint32_t ips[RTNL_NEIGH_MAX];
    struct acc acc = { ifindex, RTM_NEWNEIGH, sizeof(struct ndmsg), on_neigh, ips, sizeof(ips[0]),
                       RTNL_NEIGH_MAX, 0 };
    size_t n = 0;
    int r = dump_inet(nl, RTM_GETNEIGH, &acc, &n);
    if (r < 0)
        return r;
    struct req q;
    for (size_t i = 0; i < n; i++) {
        struct ndmsg *nd = req_inet(&q, RTM_DELNEIGH, 0, sizeof(*nd));
        nd->ndm_ifindex = ifindex;
        req_attr_ip(&q, NDA_DST, ips[i]);
        r = talk(nl, &q, NULL, NULL);
        if (r < 0 && r != -ENOENT) /* gone meanwhile: what we wanted */
            return r;
    }
    return 0;
}
