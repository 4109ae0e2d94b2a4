/* SPDX-License-Identifier: MIT */
/* net.h: the sandbox network data plane of one host (docs/networking.md). Every sandbox address
 * lives in one network namespace that hearthd creates ("the hearth namespace"); the namespace
 * hearthd runs in (the "root" namespace) sees only the uplink, a veth pair with double NAT.
 *
 * Inside the hearth namespace:
 *   - lo carries the gateway address (first address of sandbox_cidr, 10.88.0.1), where hearthd's
 *     DNS server listens (UDP+TCP 53). The kernel answers the guests' ARP for it on every tap.
 *   - one tap per running sandbox, named net_tap_name(id), routed (no bridge): a /32 route to the
 *     sandbox's primary address and one /32 route per private-network address of it.
 *   - "uplink", the namespace's end of the veth, default route, masquerade.
 *   - one nftables table `inet hearth` (see net_nft.c for the exact objects) that enforces:
 *     anti-spoofing (a tap may only send from its own addresses), private networks (members of
 *     one network reach each other on any port), "nothing else internal" (other sandboxes,
 *     other networks, the gateway except DNS/ICMP echo, the uplink), private, link-local and
 *     metadata destinations (unless private_allow or a rule names them), per-sandbox egress rules
 *     (static sets for IP/CIDR rules, timeout sets fed by DNS answers for host rules), the
 *     capped set (quota used up: egress dropped), and per-sandbox byte counters (egress and
 *     ingress to/from the uplink only).
 * In the root namespace: table `inet hearth-<ns>`: input from the uplink veth dropped (guests
 * never reach host services), forward from/to it accepted, masquerade of its subnet;
 * net.ipv4.ip_forward=1.
 *
 * Calls are synchronous and quick (netlink and nftables batches, no processes spawned after
 * net_open()); all run on the loop's thread. Errors are -errno with a one-line message in err. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_TAP_NAME_MAX 16         /* IFNAMSIZ, NUL included */
#define NET_MAX_MEMBER_ADDRS 8      /* private networks per sandbox (docs/api.md §3.8.5) */

struct net_config {
    const char *ns_name;            /* named namespace (/run/netns/<ns_name>); required */
    const char *uplink_root_if;     /* the root end of the veth, <= 15 chars; required */
    uint32_t uplink_net;            /* /30, host byte order: .1 root end, .2 namespace end;
                                     * with uplink_auto only the preferred one */
    bool uplink_auto;               /* take the next free /30 of the pool when another
                                     * interface of hearthd's namespace holds uplink_net (and
                                     * keep the one an existing uplink has); without it such a
                                     * collision fails net_open() with -EADDRINUSE */
    uint32_t uplink_pool;           /* uplink_auto: e.g. 169.254.88.0 ... */
    unsigned uplink_pool_prefix;    /* ... /22 (256 /30s), 16..30 */
    uint32_t sandbox_net;           /* host byte order; .1 = gateway; e.g. 10.88.0.0 */
    unsigned sandbox_prefix;        /* e.g. 16 */
    uint32_t networks_net;          /* private networks pool, e.g. 10.89.0.0 */
    unsigned networks_prefix;       /* e.g. 16; each network is one /24 inside it */
    bool private_allow;             /* egress_private = allow: private, link-local and
                                     * metadata destinations are not blocked by default */
};

struct net;

/* Creates or re-opens the hearth namespace, its uplink, sysctls, the root-namespace table and
 * the base of `inet hearth`. Idempotent: a namespace left by an earlier hearthd is kept with its
 * taps, routes, per-sandbox objects, DNS-learned set elements and counters. */
int net_open(const struct net_config *c, struct net **ret, char *err, size_t errlen);
/* The uplink /30 in use (host byte order), and what net_open() found and repaired (a stale
 * uplink of this instance removed, a /30 taken by another interface avoided): "" when
 * nothing. For the caller's log. */
uint32_t net_uplink(const struct net *n);
const char *net_note(const struct net *n);
/* Frees the handle; leaves everything in the kernel in place (VMs outlive hearthd). */
void net_close(struct net *n);
/* Removes the namespace (and so every tap and route in it) and the root-namespace table and
 * uplink. For tests and `hearthd net down`; safe when nothing exists. */
int net_teardown(const struct net_config *c, char *err, size_t errlen);

/* Opens the fd of a namespace socket for hearthd's DNS server: type SOCK_DGRAM or SOCK_STREAM
 * (listening), bound to gateway:port, non-blocking, CLOEXEC. */
int net_gateway_socket(struct net *n, int type, uint16_t port, int *fd, char *err, size_t errlen);
uint32_t net_gateway(const struct net *n);          /* host byte order */

/* Deterministic per-sandbox names: tap "hs" + last 12 characters of the ULID, lowercased; a
 * locally administered unicast MAC from SHA-256(id). */
void net_tap_name(const char *id, char out[NET_TAP_NAME_MAX]);
void net_mac(const char *id, uint8_t mac[6]);

/* Creates the sandbox's tap in the namespace (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR, not persistent: it
 * disappears when the last fd closes, i.e. when QEMU exits), sets it up and returns its fd
 * (CLOEXEC; the caller hands it to QEMU and closes its own copy). -EEXIST when a tap of that name
 * exists (a live QEMU holds it). */
int net_tap_open(struct net *n, const char *id, int *fd, char *err, size_t errlen);
/* Whether the sandbox's tap exists (an adopted QEMU still holds it). */
bool net_tap_exists(struct net *n, const char *id);

/* The desired data-plane state of one sandbox whose tap exists. */
struct net_sandbox {
    const char *id;                             /* [A-Za-z0-9_-]{1,64}: names nft objects */
    uint32_t ip;                                /* primary address, host byte order */
    uint32_t member_ips[NET_MAX_MEMBER_ADDRS];  /* its addresses on private networks */
    size_t n_member_ips;
    const char *const *egress;                  /* normalised rules (docs/api.md §3.6.3) */
    size_t n_egress;                            /* 0, or a list containing "*": allow all */
    bool capped;
};
/* Makes the kernel match s in one atomic nftables transaction plus the routes: replaces the
 * sandbox's routes, anti-spoof elements, egress chain and static sets, re-derives its DNS sets
 * from what net_learn() recorded (so a rule change keeps names already resolved when they are
 * still allowed, and drops them when not), sets capped. Idempotent. -ENODEV when the tap is
 * missing, -EINVAL for a bad id or rule. */
int net_sandbox_apply(struct net *n, const struct net_sandbox *s, char *err, size_t errlen);
/* Removes every object of the sandbox (routes, elements, chain, sets, counters; its tap if a
 * stale one is left) and forgets its learned names. Unknown id: 0. */
int net_sandbox_remove(struct net *n, const char *id, char *err, size_t errlen);
/* The same, except the tap itself, which the caller keeps open for the sandbox's next VM:
 * deleting a tap costs the kernel tens of milliseconds of RCU grace periods, which a pause
 * should not wait for. The routes stay with the tap and are replaced by the next apply. */
int net_sandbox_unplug(struct net *n, const char *id, char *err, size_t errlen);
/* Removes every per-sandbox object whose id is not in keep (start-up reconciliation). */
int net_sandbox_prune(struct net *n, const char *const *keep, size_t n_keep, char *err,
                      size_t errlen);
int net_sandbox_set_capped(struct net *n, const char *id, bool capped, char *err, size_t errlen);

/* hearthd's DNS server answered name with these A records to sandbox id: records every address
 * (for the TTL clamped to 60..3600 s) and, when the sandbox's current rules allow the name,
 * adds it to the sandbox's DNS sets (all ports, or the ports of the matching rules) with that
 * timeout. */
void net_learn(struct net *n, const char *id, const char *name, const uint32_t *addrs,
               size_t n_addrs, uint32_t ttl_s);

/* Whether sandbox id's rules in force allow name (the DNS server asks before forwarding): true
 * with open egress (no rules, "*", or a 0.0.0.0/0 rule for every port), or when a host or
 * *.host rule matches it (case-insensitive, trailing dot ignored); false for a sandbox without
 * applied rules. */
bool net_name_allowed(struct net *n, const char *id, const char *name);

/* A private network's /24: adds or removes the "members reach each other" pair. */
int net_network_add(struct net *n, uint32_t subnet, char *err, size_t errlen);
int net_network_remove(struct net *n, uint32_t subnet, char *err, size_t errlen);

/* One sandbox's two byte counters as they stand (egress to the uplink, ingress from it): the
 * bytes since the counter object was made, and its nftables handle (a new handle: a new
 * object, counting from 0). Counters are never reset: the reader keeps what it last stored. */
struct net_counter_reading {
    uint64_t egress, ingress;
    uint64_t egress_handle, ingress_handle;
};
typedef void (*net_counter_fn)(void *ud, const char *id, const struct net_counter_reading *r);
/* Reads every sandbox's counters (one listing, nothing changed); fn once per sandbox. 0 or
 * -errno with err. */
int net_counters_read(struct net *n, net_counter_fn fn, void *ud, char *err, size_t errlen);
