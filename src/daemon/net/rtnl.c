/* SPDX-License-Identifier: MIT */
/* rtnl.c: rtnetlink over libmnl for the data plane: links, veth, addresses, /32 routes. Each
 * request waits for its ACK, so errors come back as -errno from the kernel. Holds no state
 * beyond the socket; which namespace it acts in is fixed when the socket is opened. */
#include "daemon/net/rtnl.h"

#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fdio.h"

/* 32 KiB, what libmnl calls MNL_SOCKET_DUMP_SIZE in later releases: large enough that a dump
 * message is never truncated */
#define RTNL_RECV_SIZE 32768

int rtnl_open(struct rtnl *rt)
{
    struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (!nl)
        return -errno;
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        int r = -errno;
        mnl_socket_close(nl);
        return r;
    }
    rt->nl = nl;
    rt->seq = 0;
    return 0;
}

void rtnl_close(struct rtnl *rt)
{
    if (rt->nl)
        mnl_socket_close(rt->nl);
    rt->nl = NULL;
}

/* Sends nlh and runs cb (may be NULL) on every reply until the ACK or the dump's end. */
static int rtnl_talk(struct rtnl *rt, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
    nlh->nlmsg_seq = ++rt->seq;
    if (mnl_socket_sendto(rt->nl, nlh, nlh->nlmsg_len) < 0)
        return -errno;
    char *buf = malloc(RTNL_RECV_SIZE);
    if (!buf)
        return -ENOMEM;
    unsigned portid = mnl_socket_get_portid(rt->nl);
    int r;
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(rt->nl, buf, RTNL_RECV_SIZE);
        if (n < 0) {
            r = -errno;
            break;
        }
        r = mnl_cb_run(buf, (size_t)n, rt->seq, portid, cb, data);
        if (r <= 0) {
            r = r < 0 ? -errno : 0;
            break;
        }
    }
    free(buf);
    return r;
}

static struct nlmsghdr *msg_start(char *buf, uint16_t type, uint16_t flags)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    return nlh;
}

static int on_link(const struct nlmsghdr *nlh, void *data)
{
    const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
    *(int *)data = ifi->ifi_index;
    return MNL_CB_OK;
}

int rtnl_link_index(struct rtnl *rt, const char *name)
{
    char buf[512];
    if (!name || strlen(name) >= IFNAMSIZ)
        return -EINVAL;
    struct nlmsghdr *nlh = msg_start(buf, RTM_GETLINK, NLM_F_ACK);  /* reply, then ACK */
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    int index = 0;
    int r = rtnl_talk(rt, nlh, on_link, &index);
    if (r < 0)
        return r;
    return index > 0 ? index : -ENODEV;
}

int rtnl_link_set(struct rtnl *rt, int ifindex, bool up, const uint8_t *mac)
{
    char buf[512];
    struct nlmsghdr *nlh = msg_start(buf, RTM_NEWLINK, NLM_F_ACK);
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    ifi->ifi_change = IFF_UP;
    ifi->ifi_flags = up ? IFF_UP : 0;
    if (mac)
        mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
    return rtnl_talk(rt, nlh, NULL, NULL);
}

int rtnl_veth_create(struct rtnl *rt, const char *name, const char *peer, int peer_nsfd)
{
    char buf[1024];
    if (strlen(name) >= IFNAMSIZ || strlen(peer) >= IFNAMSIZ)
        return -EINVAL;
    struct nlmsghdr *nlh = msg_start(buf, RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    struct nlattr *linkinfo = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
    struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
    struct nlattr *peerinfo = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
    /* the peer's attributes follow an ifinfomsg of its own */
    struct ifinfomsg *pifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifi));
    memset(pifi, 0, sizeof(*pifi));
    mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
    mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)peer_nsfd);
    mnl_attr_nest_end(nlh, peerinfo);
    mnl_attr_nest_end(nlh, data);
    mnl_attr_nest_end(nlh, linkinfo);
    return rtnl_talk(rt, nlh, NULL, NULL);
}

int rtnl_link_del(struct rtnl *rt, const char *name)
{
    char buf[512];
    if (strlen(name) >= IFNAMSIZ)
        return -EINVAL;
    struct nlmsghdr *nlh = msg_start(buf, RTM_DELLINK, NLM_F_ACK);
    struct ifinfomsg *ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
    ifi->ifi_family = AF_UNSPEC;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
    int r = rtnl_talk(rt, nlh, NULL, NULL);
    return r == -ENODEV ? 0 : r;
}

int rtnl_addr_add(struct rtnl *rt, int ifindex, uint32_t addr, unsigned prefix)
{
    char buf[512];
    struct nlmsghdr *nlh = msg_start(buf, RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE);
    struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
    ifa->ifa_family = AF_INET;
    ifa->ifa_prefixlen = (uint8_t)prefix;
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    ifa->ifa_index = (uint32_t)ifindex;
    uint32_t a = htonl(addr);
    mnl_attr_put_u32(nlh, IFA_LOCAL, a);
    mnl_attr_put_u32(nlh, IFA_ADDRESS, a);
    return rtnl_talk(rt, nlh, NULL, NULL);
}

static struct nlmsghdr *route_msg(char *buf, uint16_t type, uint16_t flags, uint32_t dst,
                                  unsigned prefix, int oif)
{
    struct nlmsghdr *nlh = msg_start(buf, type, flags);
    struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
    rtm->rtm_family = AF_INET;
    rtm->rtm_dst_len = (uint8_t)prefix;
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_protocol = RTPROT_STATIC;
    rtm->rtm_type = RTN_UNICAST;
    rtm->rtm_scope = RT_SCOPE_UNIVERSE;
    if (prefix > 0)
        mnl_attr_put_u32(nlh, RTA_DST, htonl(dst));
    if (oif > 0)
        mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)oif);
    return nlh;
}

int rtnl_route_replace(struct rtnl *rt, uint32_t dst, unsigned prefix, uint32_t gw, int oif,
                       uint32_t src)
{
    char buf[512];
    struct nlmsghdr *nlh = route_msg(buf, RTM_NEWROUTE,
                                     NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, dst, prefix, oif);
    struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
    if (gw)
        mnl_attr_put_u32(nlh, RTA_GATEWAY, htonl(gw));
    else
        rtm->rtm_scope = RT_SCOPE_LINK;
    if (src)
        mnl_attr_put_u32(nlh, RTA_PREFSRC, htonl(src));
    return rtnl_talk(rt, nlh, NULL, NULL);
}

int rtnl_route_del(struct rtnl *rt, uint32_t dst, unsigned prefix, int oif)
{
    char buf[512];
    struct nlmsghdr *nlh = route_msg(buf, RTM_DELROUTE, NLM_F_ACK, dst, prefix, oif);
    struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
    rtm->rtm_scope = RT_SCOPE_NOWHERE;  /* any scope */
    rtm->rtm_protocol = 0;
    int r = rtnl_talk(rt, nlh, NULL, NULL);
    return r == -ESRCH || r == -ENODEV ? 0 : r;
}

struct route_list {
    int oif;
    uint32_t *dsts;
    size_t cap, n;
};

static int on_route_attr(const struct nlattr *a, void *data)
{
    const struct nlattr **tb = data;
    int type = mnl_attr_get_type(a);
    if (type <= RTA_MAX && mnl_attr_validate(a, MNL_TYPE_UNSPEC) >= 0)
        tb[type] = a;
    return MNL_CB_OK;
}

static int on_route(const struct nlmsghdr *nlh, void *data)
{
    struct route_list *l = data;
    const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
    const struct nlattr *tb[RTA_MAX + 1] = { 0 };
    if (rtm->rtm_family != AF_INET || rtm->rtm_dst_len != 32 || rtm->rtm_table != RT_TABLE_MAIN)
        return MNL_CB_OK;
    mnl_attr_parse(nlh, sizeof(*rtm), on_route_attr, tb);
    if (!tb[RTA_DST] || !tb[RTA_OIF] || mnl_attr_get_payload_len(tb[RTA_DST]) != 4 ||
        mnl_attr_get_payload_len(tb[RTA_OIF]) != 4)
        return MNL_CB_OK;
    if ((int)mnl_attr_get_u32(tb[RTA_OIF]) == l->oif && l->n < l->cap)
        l->dsts[l->n++] = ntohl(mnl_attr_get_u32(tb[RTA_DST]));
    return MNL_CB_OK;
}

int rtnl_route_list32(struct rtnl *rt, int oif, uint32_t *dsts, size_t cap)
{
    char buf[512];
    struct nlmsghdr *nlh = msg_start(buf, RTM_GETROUTE, NLM_F_DUMP);
    struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
    rtm->rtm_family = AF_INET;
    struct route_list l = { .oif = oif, .dsts = dsts, .cap = cap };
    int r = rtnl_talk(rt, nlh, on_route, &l);
    return r < 0 ? r : (int)l.n;
}

int rtnl_sysctl_set(const char *key, const char *value)
{
    char path[256];
    int n = snprintf(path, sizeof(path), "/proc/sys/%s", key);
    if (n < 0 || (size_t)n >= sizeof(path))
        return -ENAMETOOLONG;
    return file_write_value(path, value);
}
