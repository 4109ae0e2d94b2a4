/* SPDX-License-Identifier: MIT */
/* net_uplink.c: which /30 the uplink veth gets, checked against every IPv4 address of the
 * namespace hearthd runs in (docs/networking.md "Transit addresses"). Two hearthd instances,
 * or one and the stale uplink of an earlier one, must never share the /30: the root namespace
 * would route the replies of one into the other's uplink, and its sandboxes would silently lose
 * all outbound traffic. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "daemon/net/net_internal.h"

static uint32_t mask_of(unsigned prefix)
{
    return prefix ? ~0u << (32 - prefix) : 0;
}

static const char *ip4(uint32_t a, char out[16])
{
    snprintf(out, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
    return out;
}

/* The name of an interface other than ours holding an IPv4 address whose network overlaps
 * the /30 at net (written into who), or false. Also reports (own) an address of ours inside
 * pool/pool_prefix, so a restarted instance keeps the /30 its running VMs use. */
static bool taken(struct ifaddrs *list, const char *ours, uint32_t net, char who[IF_NAMESIZE],
                  uint32_t pool, unsigned pool_prefix, uint32_t *own)
{
    bool hit = false;
    for (struct ifaddrs *i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !i->ifa_name)
            continue;
        const struct sockaddr_in *sa = (const void *)i->ifa_addr;
        const struct sockaddr_in *mask = (const void *)i->ifa_netmask;
        uint32_t a = ntohl(sa->sin_addr.s_addr);
        unsigned prefix = mask ? (unsigned)__builtin_popcount(mask->sin_addr.s_addr) : 32;
        if (strcmp(i->ifa_name, ours) == 0) {
            if (own && (a & mask_of(pool_prefix)) == pool)
                *own = a & mask_of(30);
            continue;
        }
        unsigned p = prefix < 30 ? prefix : 30;
        if (!hit && (a & mask_of(p)) == (net & mask_of(p))) {
            snprintf(who, IF_NAMESIZE, "%s", i->ifa_name);
            hit = true;
        }
    }
    return hit;
}

int net_uplink_choose(struct net *n, bool fresh_ns, char *err, size_t errlen)
{
    struct net_config *c = &n->cfg;
    struct ifaddrs *list = NULL;
    if (getifaddrs(&list) < 0) {
        int r = -errno;
        snprintf(err, errlen, "cannot list the host's addresses: %s", strerror(-r));
        return r;
    }
    char who[IF_NAMESIZE] = "", a[16], b[16];
    uint32_t own = 0;
    bool hit = taken(list, c->uplink_root_if, c->uplink_net, who, c->uplink_pool,
                     c->uplink_pool_prefix, &own);
    int r = 0;
    if (!c->uplink_auto) {
        if (hit) {
            snprintf(err, errlen, "uplink address %s/30 is already used by interface '%s' "
                     "(another hearthd instance, or one left by an earlier one: remove it with "
                     "`hearthd net down` for that instance, or set another net_uplink_cidr)",
                     ip4(c->uplink_net, a), who);
            r = -EADDRINUSE;
        }
        goto out;
    }
    /* an existing namespace keeps the /30 its uplink already has (running VMs use it) */
    if (!fresh_ns && own && !taken(list, c->uplink_root_if, own, who, 0, 32, NULL)) {
        c->uplink_net = own;
        goto out;
    }
    if (!hit)
        goto out;
    uint32_t slots = 1u << (30 - c->uplink_pool_prefix), first = c->uplink_net;
    uint32_t start = (first - c->uplink_pool) / 4;
    char first_who[IF_NAMESIZE];
    snprintf(first_who, sizeof(first_who), "%s", who);
    for (uint32_t k = 1; k < slots; k++) {
        uint32_t cand = c->uplink_pool + (start + k) % slots * 4;
        if (!taken(list, c->uplink_root_if, cand, who, 0, 32, NULL)) {
            c->uplink_net = cand;
            snprintf(n->note, sizeof(n->note), "uplink address %s/30 is used by interface '%s' "
                     "(another hearthd instance or a stale one); took %s/30",
                     ip4(first, a), first_who, ip4(cand, b));
            goto out;
        }
    }
    snprintf(err, errlen, "no free uplink /30 in %s/%u: every one is used by another interface "
             "(stale hearthd instances? remove them with `hearthd net down`)",
             ip4(c->uplink_pool, a), c->uplink_pool_prefix);
    r = -EADDRINUSE;
out:
    freeifaddrs(list);
    return r;
}
