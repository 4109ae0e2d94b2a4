/* SPDX-License-Identifier: MIT */
/* net.c: the hearth namespace and its uplink (net_open/close/teardown), taps and the gateway's
 * sockets. Per-sandbox state lives in net_sandbox.c, the nftables text in net_nft.c. The
 * calling thread enters the hearth namespace only for the length of a call and always returns
 * to the namespace it was in at net_open(). */
#include "daemon/net/net.h"

#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/net/net_internal.h"
#include "daemon/net/netns.h"
#include "daemon/net/tap.h"

static bool name_valid(const char *s, size_t max)
{
    if (!s || !*s || strlen(s) > max)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '-'))
            return false;
    return (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z');
}

static int config_check(const struct net_config *c, char *err, size_t errlen)
{
    /* both names end up in nftables text and interface names: a strict alphabet */
    if (!name_valid(c->ns_name, 64) || !name_valid(c->uplink_root_if, NET_TAP_NAME_MAX - 1)) {
        snprintf(err, errlen, "invalid namespace or uplink name in the network configuration");
        return -EINVAL;
    }
    uint32_t pool_mask = c->uplink_pool_prefix ? ~0u << (32 - c->uplink_pool_prefix) : 0;
    bool pool_ok = !c->uplink_auto ||
                   (c->uplink_pool_prefix >= 16 && c->uplink_pool_prefix <= 30 &&
                    (c->uplink_pool & ~pool_mask) == 0 &&
                    (c->uplink_net & pool_mask) == c->uplink_pool);
    if (c->sandbox_prefix < 8 || c->sandbox_prefix > 30 || c->networks_prefix < 8 ||
        c->networks_prefix > 24 || (c->uplink_net & 3) != 0 || c->uplink_net == 0 || !pool_ok) {
        snprintf(err, errlen, "invalid address ranges in the network configuration");
        return -EINVAL;
    }
    return 0;
}

void net_tap_name(const char *id, char out[NET_TAP_NAME_MAX])
{
    size_t len = id ? strlen(id) : 0;
    const char *tail = len > 12 ? id + len - 12 : (id ? id : "");
    size_t k = 0;
    out[k++] = 'h';
    out[k++] = 's';
    for (; *tail && k < NET_TAP_NAME_MAX - 1; tail++) {
        char c = *tail;
        out[k++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : (c == '/' ? '_' : c);
    }
    out[k] = '\0';
}

void net_mac(const char *id, uint8_t mac[6])
{
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned hlen = 0;
    if (!id || EVP_Digest(id, strlen(id), h, &hlen, EVP_sha256(), NULL) != 1 || hlen < 6)
        memset(h, 0x5a, 6);
    memcpy(mac, h, 6);
    mac[0] = (uint8_t)((mac[0] & 0xfc) | 0x02);   /* locally administered, unicast */
}

uint32_t net_gateway(const struct net *n)
{
    return n->cfg.sandbox_net + 1;
}

/* Inside the hearth namespace (entered by the caller): sysctls, lo with the gateway, the
 * uplink's address and the default route. Idempotent. */
static int setup_inside(struct net *n, char *err, size_t errlen)
{
    const struct net_config *c = &n->cfg;
    static const char *const on[][2] = {
        { "net/ipv4/ip_forward", "1" },
        { "net/ipv6/conf/all/disable_ipv6", "1" },
        { "net/ipv6/conf/default/disable_ipv6", "1" },
    };
    for (size_t i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
        int r = rtnl_sysctl_set(on[i][0], on[i][1]);
        /* a kernel without IPv6 has no such keys, which is as good */
        if (r < 0 && !(r == -ENOENT && i > 0)) {
            snprintf(err, errlen, "cannot set sysctl '%s' in the hearth namespace: %s",
                     on[i][0], strerror(-r));
            return r;
        }
    }
    int lo = rtnl_link_index(&n->rt, "lo");
    int r = lo < 0 ? lo : rtnl_link_set(&n->rt, lo, true, NULL);
    if (r == 0)
        r = rtnl_addr_add(&n->rt, lo, net_gateway(n), 32);
    if (r < 0) {
        snprintf(err, errlen, "cannot set up lo with the gateway address: %s", strerror(-r));
        return r;
    }
    int up = rtnl_link_index(&n->rt, NET_UPLINK_IF);
    r = up < 0 ? up : rtnl_addr_add(&n->rt, up, c->uplink_net + 2, 30);
    if (r == 0)
        r = rtnl_link_set(&n->rt, up, true, NULL);
    if (r == 0)
        r = rtnl_route_replace(&n->rt, 0, 0, c->uplink_net + 1, up, 0);
    if (r < 0) {
        snprintf(err, errlen, "cannot set up the namespace's uplink: %s", strerror(-r));
        return r;
    }
    return 0;
}

/* Ends the transaction text written into b (built: the writing's result) and runs it in nft;
 * releases b. A text that cannot be built or ended is reported in err as "cannot build <what>"
 * (nothing when what is NULL). */
static int run_built(struct nft *nft, struct buf *b, int built, const char *what, char *err,
                     size_t errlen)
{
    int r = built;
    if (r == 0)
        r = buf_append(b, "", 1);
    if (r == 0)
        r = nft_run(nft, (const char *)b->data, NULL, err, errlen);
    else if (what)
        snprintf(err, errlen, "cannot build %s: %s", what, strerror(-r));
    buf_release(b);
    return r;
}

/* In hearthd's namespace: the veth (created with its peer inside), the root end's address,
 * ip_forward and the root table. */
static int setup_root(struct net *n, bool fresh_ns, char *err, size_t errlen)
{
    const struct net_config *c = &n->cfg;
    int r = net_uplink_choose(n, fresh_ns, err, errlen);
    if (r < 0)
        return r;
    struct rtnl rt;
    r = rtnl_open(&rt);
    if (r < 0) {
        snprintf(err, errlen, "cannot open rtnetlink: %s", strerror(-r));
        return r;
    }
    int idx = rtnl_link_index(&rt, c->uplink_root_if);
    /* A root end next to a namespace created just now is stale: its peer went with an older
     * namespace of that name (deleted by hand, or whose teardown the kernel finishes
     * asynchronously when the namespace is deleted and hearthd restarted at once). */
    if (idx >= 0 && fresh_ns) {
        r = rtnl_link_del(&rt, c->uplink_root_if);
        idx = r < 0 && r != -ENODEV ? r : -ENODEV;
        size_t used = strlen(n->note);
        snprintf(n->note + used, sizeof(n->note) - used, "%sremoved the stale uplink '%s' of "
                 "this instance (its namespace was gone)", used ? "; " : "", c->uplink_root_if);
    }
    if (idx == -ENODEV) {
        r = rtnl_veth_create(&rt, c->uplink_root_if, NET_UPLINK_IF, n->nsfd);
        if (r < 0) {
            snprintf(err, errlen, "cannot create the uplink veth '%s': %s", c->uplink_root_if,
                     strerror(-r));
            goto out;
        }
        idx = rtnl_link_index(&rt, c->uplink_root_if);
    }
    r = idx < 0 ? idx : rtnl_addr_add(&rt, idx, c->uplink_net + 1, 30);
    if (r == 0)
        r = rtnl_link_set(&rt, idx, true, NULL);
    if (r < 0) {
        snprintf(err, errlen, "cannot set up the uplink '%s': %s", c->uplink_root_if,
                 strerror(-r));
        goto out;
    }
    r = rtnl_sysctl_set("net/ipv4/ip_forward", "1");
    if (r < 0) {
        snprintf(err, errlen, "cannot enable ip_forward: %s", strerror(-r));
        goto out;
    }
    struct nft root;
    r = nft_init(&root, n->homefd, n->homefd, err, errlen);
    if (r < 0)
        goto out;
    struct buf b;
    buf_init(&b, 1 << 16);
    r = run_built(&root, &b, nftx_root(&b, c), "the root table", err, errlen);
    nft_release(&root);
out:
    rtnl_close(&rt);
    return r;
}

int net_open(const struct net_config *c, struct net **ret, char *err, size_t errlen)
{
    int r = config_check(c, err, errlen);
    if (r < 0)
        return r;
    struct net *n = calloc(1, sizeof(*n));
    if (!n) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    bool ns_created = false;
    n->homefd = n->nsfd = -1;
    n->cfg = *c;
    n->ns_name = strdup(c->ns_name);
    n->uplink_root_if = strdup(c->uplink_root_if);
    if (!n->ns_name || !n->uplink_root_if) {
        r = -ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    n->cfg.ns_name = n->ns_name;
    n->cfg.uplink_root_if = n->uplink_root_if;
    r = netns_open_current(&n->homefd);
    if (r < 0) {
        snprintf(err, errlen, "cannot open the current namespace: %s", strerror(-r));
        goto fail;
    }
    bool existed = netns_open(c->ns_name, &n->nsfd) == 0;
    if (!existed) {
        ns_created = true;
        r = netns_create(c->ns_name);
        if (r == 0)
            r = netns_open(c->ns_name, &n->nsfd);
        if (r < 0) {
            snprintf(err, errlen, "cannot create namespace '%s': %s", c->ns_name, strerror(-r));
            goto fail;
        }
    }
    r = setup_root(n, !existed, err, errlen);
    if (r < 0)
        goto fail;
    r = netns_enter(n->nsfd);
    if (r < 0) {
        snprintf(err, errlen, "cannot enter namespace '%s': %s", c->ns_name, strerror(-r));
        goto fail;
    }
    r = rtnl_open(&n->rt);
    if (r < 0)
        snprintf(err, errlen, "cannot open rtnetlink in '%s': %s", c->ns_name, strerror(-r));
    else
        r = setup_inside(n, err, errlen);
    int back = netns_enter(n->homefd);
    if (r == 0 && back < 0) {
        r = back;
        snprintf(err, errlen, "cannot return from namespace '%s': %s", c->ns_name,
                 strerror(-r));
    }
    if (r < 0)
        goto fail;
    r = nft_init(&n->nft, n->nsfd, n->homefd, err, errlen);
    if (r < 0)
        goto fail;
    struct buf b;
    buf_init(&b, 1 << 16);
    r = run_built(&n->nft, &b, nftx_base(&b, c), "the hearth table", err, errlen);
    if (r < 0)
        goto fail;
    if (existed)
        net_learned_reload(n);
    *ret = n;
    return 0;
fail:
    net_close(n);
    /* what this call created goes again (nothing can run in a namespace made just now) */
    if (ns_created) {
        char ignored[256];
        (void)net_teardown(c, ignored, sizeof(ignored));
    }
    return r;
}

uint32_t net_uplink(const struct net *n)
{
    return n->cfg.uplink_net;
}

const char *net_note(const struct net *n)
{
    return n->note;
}

void net_close(struct net *n)
{
    if (!n)
        return;
    net_sb_free_all(n);
    nft_release(&n->nft);
    rtnl_close(&n->rt);
    if (n->nsfd >= 0)
        close(n->nsfd);
    if (n->homefd >= 0)
        close(n->homefd);
    free(n->ns_name);
    free(n->uplink_root_if);
    free(n);
}

int net_teardown(const struct net_config *c, char *err, size_t errlen)
{
    int r = config_check(c, err, errlen);
    if (r < 0)
        return r;
    int home;
    r = netns_open_current(&home);
    if (r < 0) {
        snprintf(err, errlen, "cannot open the current namespace: %s", strerror(-r));
        return r;
    }
    struct nft root = { 0 };
    struct buf b;
    buf_init(&b, 4096);
    r = nft_init(&root, home, home, err, errlen);
    if (r == 0) {
        r = run_built(&root, &b, nftx_root_delete(&b, c), NULL, err, errlen);
        nft_release(&root);
    }
    buf_release(&b);
    struct rtnl rt;
    if (r == 0 && (r = rtnl_open(&rt)) == 0) {
        /* deleting one end of a veth deletes both */
        r = rtnl_link_del(&rt, c->uplink_root_if);
        rtnl_close(&rt);
        if (r < 0)
            snprintf(err, errlen, "cannot delete the uplink '%s': %s", c->uplink_root_if,
                     strerror(-r));
    }
    if (r == 0) {
        r = netns_delete(c->ns_name);
        if (r < 0)
            snprintf(err, errlen, "cannot delete namespace '%s': %s", c->ns_name, strerror(-r));
    }
    close(home);
    return r;
}

int net_gateway_socket(struct net *n, int type, uint16_t port, int *fd, char *err, size_t errlen)
{
    if (type != SOCK_DGRAM && type != SOCK_STREAM) {
        snprintf(err, errlen, "invalid socket type");
        return -EINVAL;
    }
    int r = netns_enter(n->nsfd);
    if (r < 0) {
        snprintf(err, errlen, "cannot enter the hearth namespace: %s", strerror(-r));
        return r;
    }
    int s = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    r = s < 0 ? -errno : 0;
    (void)netns_enter(n->homefd);   /* the socket keeps its namespace; a failure shows below */
    if (r < 0) {
        snprintf(err, errlen, "cannot create a gateway socket: %s", strerror(-r));
        return r;
    }
    int one = 1;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(net_gateway(n)) };
    if (setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        (type == SOCK_STREAM && listen(s, 128) < 0)) {
        r = -errno;
        close(s);
        snprintf(err, errlen, "cannot bind the gateway socket to port %u: %s", port,
                 strerror(-r));
        return r;
    }
    *fd = s;
    return 0;
}

int net_tap_open(struct net *n, const char *id, int *fd, char *err, size_t errlen)
{
    char tap[NET_TAP_NAME_MAX];
    int r = net_sandbox_tap(id, tap, err, errlen);
    if (r < 0)
        return r;
    r = netns_enter(n->nsfd);
    if (r < 0) {
        snprintf(err, errlen, "cannot enter the hearth namespace: %s", strerror(-r));
        return r;
    }
    int t = -1;
    r = tap_open(tap, &t);
    int back = netns_enter(n->homefd);
    if (r < 0) {
        snprintf(err, errlen, "cannot create tap '%s': %s", tap, strerror(-r));
        return r;
    }
    if (back < 0) {
        close(t);
        snprintf(err, errlen, "cannot leave the hearth namespace: %s", strerror(-back));
        return back;
    }
    /* every tap has the gateway's MAC: a guest restored from a snapshot keeps its ARP entry
     * for the gateway, and it stays right whichever tap the clone gets */
    static const uint8_t gw_mac[6] = NET_GW_MAC;
    int idx = rtnl_link_index(&n->rt, tap);
    r = idx < 0 ? idx : rtnl_link_set(&n->rt, idx, true, gw_mac);
    if (r < 0) {
        close(t);
        snprintf(err, errlen, "cannot set up tap '%s': %s", tap, strerror(-r));
        return r;
    }
    *fd = t;
    return 0;
}

bool net_tap_exists(struct net *n, const char *id)
{
    char tap[NET_TAP_NAME_MAX];
    net_tap_name(id, tap);
    return rtnl_link_index(&n->rt, tap) > 0;
}
