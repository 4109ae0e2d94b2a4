/* SPDX-License-Identifier: MIT */
/* rtnl.h: the few rtnetlink operations the data plane needs (links, veth, addresses, /32
 * routes) over libmnl, plus sysctl writes. A socket acts in the namespace it was opened in;
 * a sysctl write acts in the calling thread's current namespace. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mnl_socket;

struct rtnl {
    struct mnl_socket *nl;          /* owned; NULL when closed */
    uint32_t seq;                   /* last sequence number used */
};

/* Opens a NETLINK_ROUTE socket in the calling thread's current namespace. */
int rtnl_open(struct rtnl *rt);
void rtnl_close(struct rtnl *rt);

/* Returns the ifindex of name (> 0) or -ENODEV. */
int rtnl_link_index(struct rtnl *rt, const char *name);
/* Sets the link up (or down) and, when mac is not NULL, its address. */
int rtnl_link_set(struct rtnl *rt, int ifindex, bool up, const uint8_t *mac);
/* Creates a veth pair: name here, peer created directly in the namespace peer_nsfd. */
int rtnl_veth_create(struct rtnl *rt, const char *name, const char *peer, int peer_nsfd);
/* Deletes a link; 0 when it does not exist. */
int rtnl_link_del(struct rtnl *rt, const char *name);
/* Adds addr/prefix (host byte order) to ifindex; 0 when it is already there. */
int rtnl_addr_add(struct rtnl *rt, int ifindex, uint32_t addr, unsigned prefix);
/* Creates or replaces a route in the main table: dst/prefix via gw (0: on-link) out of oif,
 * preferred source src (0: none). Host byte order. */
int rtnl_route_replace(struct rtnl *rt, uint32_t dst, unsigned prefix, uint32_t gw, int oif,
                       uint32_t src);
/* Deletes the route dst/prefix out of oif; 0 when it does not exist. */
int rtnl_route_del(struct rtnl *rt, uint32_t dst, unsigned prefix, int oif);
/* Fills dsts with the /32 destinations of main-table routes out of oif; returns their count
 * (at most cap) or -errno. */
int rtnl_route_list32(struct rtnl *rt, int oif, uint32_t *dsts, size_t cap);

/* Writes value to /proc/sys/<key> (key with '/' separators) in the current namespace. */
int rtnl_sysctl_set(const char *key, const char *value);
