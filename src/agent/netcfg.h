/* SPDX-License-Identifier: MIT */
/* netcfg.h: the guest's network configuration as the host sends it (docs/agent-protocol.md,
 * "Network"): in HELLO's "net" and in a NETCFG stream. Parsing is separate from applying so
 * tests can check the parser with hostile input without touching the test machine's network.
 * Applying goes through rtnl.h (hand-written rtnetlink) and writes /etc/resolv.conf. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NETCFG_ADDRS_MAX 9
#define NETCFG_ROUTES_MAX 8
#define NETCFG_DNS_MAX 3
#define NETCFG_SEARCH_MAX 8
#define NETCFG_NAME_MAX 253
/* Room for netcfg_canonical() of any valid object (8 search names of 253 bytes dominate). */
#define NETCFG_CANON_MAX 4096

/* IPv4 addresses are in host byte order throughout: 10.88.0.5 is 0x0a580005. */
struct netcfg_cidr {
    uint32_t ip;
    uint8_t prefix;                            /* 0..32 */
};

struct netcfg_route {
    struct netcfg_cidr dst;                    /* host bits clear */
    uint32_t src;                              /* preferred source; 0 for none */
};

struct netcfg {
    bool has_mac;
    uint8_t mac[6];                            /* unicast; valid when has_mac */
    struct netcfg_cidr addrs[NETCFG_ADDRS_MAX];/* addrs[0] is the primary */
    size_t n_addrs;                            /* 1..NETCFG_ADDRS_MAX */
    uint32_t gateway;
    struct netcfg_route routes[NETCFG_ROUTES_MAX];
    size_t n_routes;
    uint32_t dns[NETCFG_DNS_MAX];
    size_t n_dns;
    char search[NETCFG_SEARCH_MAX][NETCFG_NAME_MAX + 1];
    size_t n_search;
};

/* Parses a net object into *ret (fully written; zeroed on failure). Unknown keys are ignored.
 * Returns 0, or -EINVAL with the first problem in reterr (naming the field: "'addrs[2]' ...").
 * Wrong types, too many entries, overlong strings and embedded NULs are all -EINVAL; never
 * reads past a string's length. */
int netcfg_parse(json_t *obj, struct netcfg *ret, char *reterr, size_t reterr_len);

/* A canonical text of c (same configuration, same text, whatever the JSON's key order or
 * spelling of hex digits), for "is this what was applied last". 0, or -ENOSPC. */
int netcfg_canonical(const struct netcfg *c, char *out, size_t len);

/* The /etc/resolv.conf c asks for: one "nameserver" line per DNS server, then one "search"
 * line when there are search names. 0, or -ENOSPC. */
int netcfg_resolv_conf(const struct netcfg *c, char *out, size_t len);

/* Applies c to the guest: the first non-loopback Ethernet link gets c's MAC (when given), lo
 * and the link go up, IPv4 addresses on the link become exactly c's, routes via the link in
 * the main table become exactly gateway/32 (scope link), default via gateway (src addrs[0])
 * and c's routes via gateway; the link's neighbour cache is flushed; /etc/resolv.conf is
 * replaced (tmp + rename) when c has DNS servers. Applying the same c twice changes nothing
 * but the neighbour cache. Needs CAP_NET_ADMIN: call only as PID 1. Returns 0, or the -errno
 * of the failing step with what failed in reterr; steps before it stay applied. */
int netcfg_apply(const struct netcfg *c, char *reterr, size_t reterr_len);

/* Flushes the neighbour cache of the link netcfg_apply() configures: a restored guest must
 * re-resolve its gateway, whose MAC may be another tap's now. 0 or -errno. */
int netcfg_flush_neighbours(void);
