/* SPDX-License-Identifier: MIT */
/* agent_rtnl.h: the little rtnetlink the agent needs to configure one Ethernet link: find it, set its
 * MAC and bring it up, list/add/delete IPv4 addresses and main-table routes, flush neighbours.
 * Hand-written on a NETLINK_ROUTE socket because the agent is a static binary linking only libc
 * and jansson. Every request waits for its ACK (synchronous; the kernel answers at once).
 * IPv4 addresses are in host byte order. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rtnl {
    int fd;                  /* NETLINK_ROUTE socket, -1 when closed */
    uint32_t seq;            /* sequence number of the last request */
};

struct rtnl_link {
    int ifindex;
    char name[16];
    uint8_t mac[6];
    unsigned flags;          /* IFF_* */
};

struct rtnl_addr {
    uint32_t ip;
    uint8_t prefix;
};

struct rtnl_route {
    uint32_t dst;
    uint8_t dst_len;
    uint32_t gateway;        /* 0: none (scope link) */
    uint32_t prefsrc;        /* 0: none */
    uint32_t priority;       /* metric; 0 for ours */
    uint8_t scope;           /* RT_SCOPE_UNIVERSE or RT_SCOPE_LINK */
    uint8_t protocol;        /* RTPROT_* */
};

/* Opens the socket. 0 or -errno. */
int rtnl_open(struct rtnl *nl);
void rtnl_close(struct rtnl *nl);

/* The first link (lowest ifindex) of type ARPHRD_ETHER that is not a loopback. 0, -ENODEV
 * (none), or -errno. */
int rtnl_link_find_ether(struct rtnl *nl, struct rtnl_link *ret);
/* Sets ifindex's MAC (when mac is not NULL) and sets IFF_UP (when up). 0 or -errno. */
int rtnl_link_set(struct rtnl *nl, int ifindex, const uint8_t *mac, bool up);

/* IPv4 addresses on ifindex, at most cap into out; *ret_n gets how many (more are dropped).
 * 0 or -errno. */
int rtnl_addr_list(struct rtnl *nl, int ifindex, struct rtnl_addr *out, size_t cap,
                   size_t *ret_n);
/* Adds or deletes one IPv4 address on ifindex. 0 or -errno (-EEXIST, -EADDRNOTAVAIL, ...). */
int rtnl_addr_change(struct rtnl *nl, bool add, int ifindex, const struct rtnl_addr *a);

/* Unicast IPv4 routes of the main table whose output device is ifindex, at most cap. 0 or
 * -errno. */
int rtnl_route_list(struct rtnl *nl, int ifindex, struct rtnl_route *out, size_t cap,
                    size_t *ret_n);
/* Adds (create or replace) or deletes one main-table route out of ifindex. 0 or -errno. */
int rtnl_route_change(struct rtnl *nl, bool add, int ifindex, const struct rtnl_route *r);

/* Deletes every IPv4 neighbour entry of ifindex that is not permanent. 0 or -errno. */
int rtnl_neigh_flush(struct rtnl *nl, int ifindex);
