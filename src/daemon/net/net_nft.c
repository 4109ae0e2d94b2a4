/* SPDX-License-Identifier: MIT */
/* net_nft.c: the text of every nftables transaction the data plane runs. Pure formatting: no
 * I/O. Layout of `table inet hearth` (hearth namespace):
 *   sets/maps  capped {ifname}, nets {ipv4 . ipv4, interval}, internal {ipv4, interval},
 *              private {ipv4, interval: egress_private_blocks, empty with egress_private =
 *              allow}, spoof {ifname : verdict}, egress {ifname : verdict},
 *              ingress {ifname : counter}
 *   pre        prerouting/raw: from a tap, vmap @spoof (sp_<id>: own addresses accept, else
 *              drop); a tap without an entry: drop
 *   input      from uplink: established/related only; from a tap: tap_in (gateway DNS on
 *              UDP/TCP 53 and ICMP echo, else deny)
 *   forward    policy drop; uplink -> tap established/related: counted in the tap's cin_<id>
 *              (objref map @ingress) and accepted; from a tap: from_tap
 *   from_tap   nets pair -> accept to another tap; internal destination or any way out but the
 *              uplink -> deny; @capped -> drop; vmap @egress (eg_<id>); else drop
 *   eg_<id>    first the private exceptions: daddr in pa_<id> or daddr . dport in pap_<id>
 *              (NET rules inside a private block): count, accept; then daddr in @private:
 *              deny. Then allow all: count in ceg_<id>, accept. Otherwise daddr in a_<id>
 *              (static blocks, every port) or d_<id> (DNS-learned, timeout), or TCP/UDP
 *              daddr . dport in ap_<id> / dp_<id>: count, accept; the rest: deny. So a name
 *              that resolves to a private address (DNS rebinding) stays blocked.
 *   deny       TCP: reset; anything else: ICMP admin-prohibited
 *   post       nat: masquerade out of the uplink
 * Per sandbox: chains sp_<id>, eg_<id>; sets a_, ap_, pa_, pap_, d_, dp_<id>; counters ceg_,
 * cin_<id>. */
#include "daemon/net/net_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#define T "inet " NET_TABLE

/* An appender whose first error sticks, so the builders read as straight-line text. */
struct emit {
    struct buf *b;
    int err;
};

__attribute__((format(printf, 2, 3))) static void emit(struct emit *e, const char *fmt, ...)
{
    char line[1024];
    if (e->err)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(line)) {
        e->err = -EMSGSIZE;
        return;
    }
    e->err = buf_append(e->b, line, (size_t)n);
}

static const char *ip4(uint32_t a, char out[16])
{
    snprintf(out, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
    return out;
}

int nftx_base(struct buf *b, const struct net_config *c)
{
    struct emit e = { b, 0 };
    char s[16], nw[16], up[16], gw[16];
    ip4(c->sandbox_net, s);
    ip4(c->networks_net, nw);
    ip4(c->uplink_net, up);
    ip4(c->sandbox_net + 1, gw);
    emit(&e, "add table " T "\n");
    emit(&e, "add set " T " capped { type ifname; }\n");
    emit(&e, "add set " T " nets { type ipv4_addr . ipv4_addr; flags interval; }\n");
    emit(&e, "add set " T " internal { type ipv4_addr; flags interval; auto-merge; }\n");
    emit(&e, "flush set " T " internal\n");
    emit(&e, "add element " T " internal { %s/%u, %s/%u, %s/30 }\n", s, c->sandbox_prefix, nw,
         c->networks_prefix, up);
    emit(&e, "add set " T " private { type ipv4_addr; flags interval; auto-merge; }\n");
    emit(&e, "flush set " T " private\n");
    for (size_t i = 0; i < EGRESS_N_PRIVATE && !c->private_allow; i++)
        emit(&e, "add element " T " private { %s/%u }\n",
             ip4(egress_private_blocks[i].addr, s), egress_private_blocks[i].prefix);
    ip4(c->sandbox_net, s);
    emit(&e, "add map " T " spoof { type ifname : verdict; }\n");
    emit(&e, "add map " T " egress { type ifname : verdict; }\n");
    emit(&e, "add map " T " ingress { type ifname : counter; }\n");
    emit(&e, "add chain " T " pre { type filter hook prerouting priority raw; policy accept; }\n");
    emit(&e, "add chain " T " input { type filter hook input priority filter; policy accept; }\n");
    emit(&e, "add chain " T " forward { type filter hook forward priority filter; "
             "policy drop; }\n");
    emit(&e, "add chain " T " post { type nat hook postrouting priority srcnat; "
             "policy accept; }\n");
    static const char *const chains[] = { "deny", "tap_in", "from_tap", "pre", "input",
                                          "forward", "post" };
    for (size_t i = 0; i < sizeof(chains) / sizeof(chains[0]); i++)
        emit(&e, "add chain " T " %s\nflush chain " T " %s\n", chains[i], chains[i]);
    emit(&e, "add rule " T " deny meta l4proto tcp reject with tcp reset\n");
    emit(&e, "add rule " T " deny reject with icmp type admin-prohibited\n");
    emit(&e, "add rule " T " pre iifname \"hs*\" iifname vmap @spoof\n");
    emit(&e, "add rule " T " pre iifname \"hs*\" drop\n");
    emit(&e, "add rule " T " input iifname \"" NET_UPLINK_IF "\" ct state established,related "
             "accept\n");
    emit(&e, "add rule " T " input iifname \"" NET_UPLINK_IF "\" drop\n");
    emit(&e, "add rule " T " input iifname \"hs*\" jump tap_in\n");
    emit(&e, "add rule " T " tap_in ip daddr %s udp dport 53 accept\n", gw);
    emit(&e, "add rule " T " tap_in ip daddr %s tcp dport 53 accept\n", gw);
    emit(&e, "add rule " T " tap_in ip daddr %s icmp type echo-request accept\n", gw);
    emit(&e, "add rule " T " tap_in goto deny\n");
    emit(&e, "add rule " T " forward iifname \"" NET_UPLINK_IF "\" oifname \"hs*\" ct state "
             "established,related counter name oifname map @ingress accept\n");
    emit(&e, "add rule " T " forward iifname \"hs*\" jump from_tap\n");
    emit(&e, "add rule " T " from_tap ip saddr . ip daddr @nets oifname \"hs*\" accept\n");
    emit(&e, "add rule " T " from_tap ip daddr @internal goto deny\n");
    emit(&e, "add rule " T " from_tap oifname != \"" NET_UPLINK_IF "\" goto deny\n");
    emit(&e, "add rule " T " from_tap iifname @capped drop\n");
    emit(&e, "add rule " T " from_tap iifname vmap @egress\n");
    emit(&e, "add rule " T " from_tap drop\n");
    emit(&e, "add rule " T " post oifname \"" NET_UPLINK_IF "\" masquerade\n");
    return e.err;
}

int nftx_root(struct buf *b, const struct net_config *c)
{
    struct emit e = { b, 0 };
    char up[16];
    ip4(c->uplink_net, up);
    const char *ns = c->ns_name, *ifn = c->uplink_root_if;
    /* the table holds no state: rebuilt whole, atomically */
    emit(&e, "add table inet hearth-%s\ndelete table inet hearth-%s\n", ns, ns);
    emit(&e, "add table inet hearth-%s\n", ns);
    emit(&e, "add chain inet hearth-%s input { type filter hook input priority filter; "
             "policy accept; }\n", ns);
    emit(&e, "add rule inet hearth-%s input iifname \"%s\" drop\n", ns, ifn);
    emit(&e, "add chain inet hearth-%s forward { type filter hook forward priority filter; "
             "policy accept; }\n", ns);
    emit(&e, "add rule inet hearth-%s forward iifname \"%s\" accept\n", ns, ifn);
    emit(&e, "add rule inet hearth-%s forward oifname \"%s\" ct state established,related "
             "accept\n", ns, ifn);
    emit(&e, "add rule inet hearth-%s forward oifname \"%s\" drop\n", ns, ifn);
    emit(&e, "add chain inet hearth-%s post { type nat hook postrouting priority srcnat; "
             "policy accept; }\n", ns);
    emit(&e, "add rule inet hearth-%s post ip saddr %s/30 oifname != \"%s\" masquerade\n", ns,
         up, ifn);
    return e.err;
}

int nftx_root_delete(struct buf *b, const struct net_config *c)
{
    struct emit e = { b, 0 };
    emit(&e, "add table inet hearth-%s\ndelete table inet hearth-%s\n", c->ns_name, c->ns_name);
    return e.err;
}

/* Declares every per-sandbox object (a no-op for those that exist). */
static void declare_sandbox(struct emit *e, const char *id)
{
    emit(e, "add chain " T " sp_%s\nadd chain " T " eg_%s\n", id, id);
    emit(e, "add counter " T " ceg_%s\nadd counter " T " cin_%s\n", id, id);
    emit(e, "add set " T " a_%s { type ipv4_addr; flags interval; }\n", id);
    emit(e, "add set " T " ap_%s { type ipv4_addr . inet_service; flags interval; }\n", id);
    emit(e, "add set " T " pa_%s { type ipv4_addr; flags interval; }\n", id);
    emit(e, "add set " T " pap_%s { type ipv4_addr . inet_service; flags interval; }\n", id);
    emit(e, "add set " T " d_%s { type ipv4_addr; flags timeout; }\n", id);
    emit(e, "add set " T " dp_%s { type ipv4_addr . inet_service; flags timeout; }\n", id);
}

/* One list of set elements: "<verb> element <set>_<id> { " before the first, ", " before the
 * others, " }" at the end (nothing at all when no element came). */
struct elems {
    struct emit *e;
    const char *verb, *set, *id;
    bool open;
};

/* Starts the next element: the address text, then " . port" in a set with ports. */
static void elem_add(struct elems *l, const char *addr, bool with_port, uint16_t port)
{
    if (l->open)
        emit(l->e, ", ");
    else
        emit(l->e, "%s element " T " %s_%s { ", l->verb, l->set, l->id);
    l->open = true;
    emit(l->e, "%s", addr);
    if (with_port)
        emit(l->e, " . %u", port);
}

static void elems_end(struct elems *l)
{
    if (l->open)
        emit(l->e, " }\n");
}

/* Writes "add element <set> { … }" for the entries of nets with (port != 0) == with_port. */
static void emit_nets(struct emit *e, const char *set, const char *id,
                      const struct egress_net *nets, size_t n, bool with_port)
{
    struct elems l = { e, "add", set, id, false };
    char a[16], net[24];
    for (size_t i = 0; i < n; i++) {
        if ((nets[i].port != 0) == with_port) {
            snprintf(net, sizeof(net), "%s/%u", ip4(nets[i].addr, a), nets[i].prefix);
            elem_add(&l, net, with_port, nets[i].port);
        }
    }
    elems_end(&l);
}

/* The same for DNS elements, with their timeout and name when added. */
static void emit_dns(struct emit *e, const char *verb, const char *id,
                     const struct nftx_dns *d, size_t n, bool with_port)
{
    struct elems l = { e, verb, with_port ? "dp" : "d", id, false };
    char a[16];
    for (size_t i = 0; i < n; i++) {
        if ((d[i].port != 0) != with_port)
            continue;
        elem_add(&l, ip4(d[i].addr, a), with_port, d[i].port);
        if (verb[0] == 'a')
            emit(e, " timeout %us comment \"%s\"", d[i].timeout_s, d[i].name);
    }
    elems_end(&l);
}

int nftx_sandbox_apply(struct buf *b, const struct nftx_sandbox *s)
{
    struct emit e = { b, 0 };
    const char *id = s->id;
    char a[16];
    declare_sandbox(&e, id);
    emit(&e, "flush chain " T " sp_%s\nflush chain " T " eg_%s\n", id, id);
    static const char *const sets[] = { "a", "ap", "pa", "pap", "d", "dp" };
    for (size_t i = 0; i < 6; i++)
        emit(&e, "flush set " T " %s_%s\n", sets[i], id);
    emit(&e, "add rule " T " sp_%s ip saddr { ", id);
    for (size_t i = 0; i < s->n_ips; i++)
        emit(&e, "%s%s", i ? ", " : "", ip4(s->ips[i], a));
    emit(&e, " } accept\nadd rule " T " sp_%s drop\n", id);
    emit_nets(&e, "pa", id, s->pnets, s->n_pnets, false);
    emit_nets(&e, "pap", id, s->pnets, s->n_pnets, true);
    emit(&e, "add rule " T " eg_%s ip daddr @pa_%s counter name \"ceg_%s\" accept\n", id, id,
         id);
    emit(&e, "add rule " T " eg_%s meta l4proto { tcp, udp } ip daddr . th dport @pap_%s "
             "counter name \"ceg_%s\" accept\n", id, id, id);
    emit(&e, "add rule " T " eg_%s ip daddr @private goto deny\n", id);
    if (s->allow_all) {
        emit(&e, "add rule " T " eg_%s counter name \"ceg_%s\" accept\n", id, id);
    } else {
        emit_nets(&e, "a", id, s->nets, s->n_nets, false);
        emit_nets(&e, "ap", id, s->nets, s->n_nets, true);
        emit_dns(&e, "add", id, s->dns, s->n_dns, false);
        emit_dns(&e, "add", id, s->dns, s->n_dns, true);
        emit(&e, "add rule " T " eg_%s ip daddr @a_%s counter name \"ceg_%s\" accept\n", id, id,
             id);
        emit(&e, "add rule " T " eg_%s ip daddr @d_%s counter name \"ceg_%s\" accept\n", id, id,
             id);
        emit(&e, "add rule " T " eg_%s meta l4proto { tcp, udp } ip daddr . th dport @ap_%s "
                 "counter name \"ceg_%s\" accept\n", id, id, id);
        emit(&e, "add rule " T " eg_%s meta l4proto { tcp, udp } ip daddr . th dport @dp_%s "
                 "counter name \"ceg_%s\" accept\n", id, id, id);
        emit(&e, "add rule " T " eg_%s goto deny\n", id);
    }
    emit(&e, "add element " T " spoof { \"%s\" : jump sp_%s }\n", s->tap, id);
    emit(&e, "add element " T " egress { \"%s\" : jump eg_%s }\n", s->tap, id);
    emit(&e, "add element " T " ingress { \"%s\" : \"cin_%s\" }\n", s->tap, id);
    if (e.err)
        return e.err;
    return nftx_capped(b, s->tap, s->capped);
}

int nftx_sandbox_remove(struct buf *b, const char *id, const char *tap)
{
    struct emit e = { b, 0 };
    /* nft 1.0.6 has no "destroy": create whatever is missing, then delete it all, in one
     * transaction, so removal neither fails on absent objects nor half-happens */
    declare_sandbox(&e, id);
    emit(&e, "add element " T " spoof { \"%s\" : jump sp_%s }\n", tap, id);
    emit(&e, "add element " T " egress { \"%s\" : jump eg_%s }\n", tap, id);
    emit(&e, "add element " T " ingress { \"%s\" : \"cin_%s\" }\n", tap, id);
    emit(&e, "add element " T " capped { \"%s\" }\n", tap);
    static const char *const maps[] = { "spoof", "egress", "ingress", "capped" };
    for (size_t i = 0; i < 4; i++)
        emit(&e, "delete element " T " %s { \"%s\" }\n", maps[i], tap);
    emit(&e, "flush chain " T " sp_%s\nflush chain " T " eg_%s\n", id, id);
    emit(&e, "delete chain " T " sp_%s\ndelete chain " T " eg_%s\n", id, id);
    static const char *const sets[] = { "a", "ap", "pa", "pap", "d", "dp" };
    for (size_t i = 0; i < 6; i++)
        emit(&e, "delete set " T " %s_%s\n", sets[i], id);
    emit(&e, "delete counter " T " ceg_%s\ndelete counter " T " cin_%s\n", id, id);
    return e.err;
}

int nftx_dns_add(struct buf *b, const char *id, const struct nftx_dns *d, size_t n)
{
    struct emit e = { b, 0 };
    /* "add" keeps an existing element's old timeout; add + delete + add (one transaction)
     * refreshes it whether or not the element was there */
    for (int port = 0; port < 2; port++) {
        emit_dns(&e, "add", id, d, n, port);
        emit_dns(&e, "delete", id, d, n, port);
        emit_dns(&e, "add", id, d, n, port);
    }
    return e.err;
}

int nftx_capped(struct buf *b, const char *tap, bool capped)
{
    struct emit e = { b, 0 };
    emit(&e, "add element " T " capped { \"%s\" }\n", tap);
    if (!capped)
        emit(&e, "delete element " T " capped { \"%s\" }\n", tap);
    return e.err;
}

int nftx_network(struct buf *b, uint32_t subnet, bool add)
{
    struct emit e = { b, 0 };
    char a[16];
    ip4(subnet & ~0xffu, a);
    emit(&e, "add element " T " nets { %s/24 . %s/24 }\n", a, a);
    if (!add)
        emit(&e, "delete element " T " nets { %s/24 . %s/24 }\n", a, a);
    return e.err;
}
