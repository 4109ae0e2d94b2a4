/* SPDX-License-Identifier: MIT */
/* endpoint.h: a disk's S3 endpoint URL, parsed strictly, and the address policy its resolved
 * addresses must pass before hearthd connects (docs/disks.md "Endpoint checks"): no loopback,
 * link-local (cloud metadata), unspecified, multicast or broadcast address, and none inside
 * hearth's own networks, unless the operator's allow list names it. Private LAN ranges pass.
 * Pure: no I/O, no DNS. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockaddr;

#define DISK_ENDPOINT_MAX 511     /* bytes of the URL */
#define DISK_HOST_SIZE 254        /* a DNS name or an IP literal (without brackets) */

struct disk_endpoint {
    bool https;
    bool host_is_ip;              /* an IPv4 or IPv6 literal */
    bool host_is_v6;              /* the literal is IPv6 (bracketed in URLs) */
    char host[DISK_HOST_SIZE];    /* lowercased */
    uint16_t port;                /* given, or 80 / 443 */
    char path[DISK_ENDPOINT_MAX + 1]; /* prefix: "" or "/a/b", no trailing '/' */
};

/* Parses url: http or https, a host, an optional port (1-65535), an optional path prefix; no
 * userinfo, query or fragment, no space or control character, at most DISK_ENDPOINT_MAX bytes.
 * 0, or -EINVAL with *why (static, one line). */
__attribute__((warn_unused_result))
int disk_endpoint_parse(const char *url, struct disk_endpoint *ret, const char **why);

/* One CIDR block (network order, host bits clear). */
struct disk_cidr {
    int family;                   /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    unsigned prefix;
};

/* What the operator's configuration adds to the fixed rules. */
struct disk_addr_policy {
    const struct disk_cidr *own;  /* hearth's own pools (sandbox, private networks, uplink) */
    size_t n_own;
    const struct disk_cidr *allow; /* disk_endpoint_allow: let through whatever else says */
    size_t n_allow;
};

/* Judges one resolved address (AF_INET or AF_INET6). 0 when it may be connected to, or
 * -EACCES with *why ("loopback", "link-local (cloud metadata)", "one of hearth's own
 * networks", …). IPv4-mapped and IPv4-compatible IPv6 forms are judged as their IPv4. */
int disk_addr_judge(const struct disk_addr_policy *p, const struct sockaddr *sa, const char **why);
