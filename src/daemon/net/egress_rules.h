/* SPDX-License-Identifier: MIT */
/* egress_rules.h: the egress rule grammar of docs/api.md §3.6.3 as data. Parses normalised rule strings,
 * matches DNS names against parsed rules and derives the static address sets the data plane
 * loads. Pure: no I/O, no globals; everything here is unit-tested. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EGRESS_MAX_RULES 1024       /* the API allows 256; the data plane is measured at 1,000 */
#define EGRESS_HOST_MAX 253         /* a DNS name without its trailing dot */

enum egress_kind {
    EGRESS_ALL,                     /* "*" */
    EGRESS_HOST,                    /* "api.example.com": that name only */
    EGRESS_SUFFIX,                  /* "*.example.org": names below it, any depth, not itself */
    EGRESS_NET,                     /* "203.0.113.7" (prefix 32) or "198.51.100.0/24" */
};

struct egress_rule {
    enum egress_kind kind;
    char host[EGRESS_HOST_MAX + 1]; /* HOST/SUFFIX: lowercase, no "*." and no trailing dot */
    uint32_t addr;                  /* NET: network address, host byte order, host bits clear */
    uint8_t prefix;                 /* NET: 0..32 */
    uint16_t port;                  /* 0: every port (and ICMP); else TCP/UDP to that port */
};

/* Parses one rule (the stored form, but tolerant of case and a trailing dot). Returns 0 or
 * -EINVAL for anything outside the grammar; never reads past the NUL. *ret is written only on
 * success. */
int egress_parse(const char *s, struct egress_rule *ret);

/* Parses a list; "*" anywhere, or an empty list, gives *ret_all = true and no rules. Returns the
 * number of rules written to out (at most cap) or -EINVAL (index of the bad rule in *ret_bad
 * when given) or -E2BIG past cap. */
int egress_parse_list(const char *const *rules, size_t n, struct egress_rule *out, size_t cap,
                      bool *ret_all, size_t *ret_bad);

/* Whether name is a DNS name the data plane accepts from the resolver: 1..253 characters of
 * [a-z0-9-.] after lowercasing (a trailing dot allowed), no empty label, labels <= 63. */
bool egress_name_valid(const char *name);

#define EGRESS_MAX_PORTS EGRESS_MAX_RULES

/* What the rules allow for one DNS name. */
struct egress_match {
    bool any;                       /* some rule matched */
    bool all_ports;                 /* a matching rule has no port */
    uint16_t ports[EGRESS_MAX_PORTS]; /* distinct ports of matching rules (when !all_ports) */
    size_t n_ports;
};

/* Matches name (case-insensitive, trailing dot ignored) against the HOST and SUFFIX rules. */
void egress_match_name(const struct egress_rule *rules, size_t n, const char *name,
                       struct egress_match *ret);

/* One static element: a CIDR with a port (0 = every port). */
struct egress_net {
    uint32_t addr;                  /* host byte order, host bits clear */
    uint8_t prefix;
    uint16_t port;
};

/* The static set contents for the NET rules: drops duplicates and blocks contained in another
 * block of the same port (or of port 0, which already allows every port), since nftables
 * refuses overlapping intervals. Writes at most n entries to out (n rules give at most n);
 * returns the count. Entries with port 0 come first. */
size_t egress_static_nets(const struct egress_rule *rules, size_t n, struct egress_net *out);

/* Private, link-local and metadata destinations (docs/networking.md "Private destinations"):
 * "this network" 0/8, RFC 1918 (10/8, 172.16/12, 192.168/16), shared address space 100.64/10,
 * loopback 127/8 and link-local 169.254/16 (cloud metadata at 169.254.169.254). Sandboxes reach
 * them only when the host allows it (egress_private = allow) or a NET rule inside one of them
 * names the destination. */
#define EGRESS_N_PRIVATE 7
extern const struct egress_net egress_private_blocks[EGRESS_N_PRIVATE];

/* Whether the block addr/prefix lies inside one of egress_private_blocks. */
bool egress_net_private(uint32_t addr, uint8_t prefix);

/* The NET rules of a list inside a private block (the explicit exceptions to the default
 * block), also when the list allows everything else ("*"): writes at most cap rules to out and
 * returns their count. Rules that do not parse are skipped (the list was checked before). */
size_t egress_private_rules(const char *const *rules, size_t n, struct egress_rule *out,
                            size_t cap);
