/* SPDX-License-Identifier: MIT */
/* netcfg.c: the net object of HELLO and NETCFG (netcfg.h): a strict parser that trusts nothing
 * in it, its canonical text, and applying it to the guest's Ethernet link through rtnl.c plus
 * /etc/resolv.conf. Owns no state; proto.c decides when to apply. */
#include "agent/netcfg.h"
#include "common/parse.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <linux/rtnetlink.h>

#include "agent/agent_rtnl.h"

/* Describes the first problem in reterr (later ones are consequences) and returns r. */
__attribute__((format(printf, 4, 5)))
static int fail(int r, char *reterr, size_t len, const char *fmt, ...)
{
    if (reterr && len && !reterr[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(reterr, len, fmt, ap);
        va_end(ap);
    }
    return r;
}

#define reject(reterr, len, ...) fail(-EINVAL, reterr, len, __VA_ARGS__)

/* --- parsing --- */

/* A JSON string without embedded NULs, or NULL. */
static const char *str_of(json_t *j, size_t *ret_len)
{
    if (!json_is_string(j))
        return NULL;
    const char *s = json_string_value(j);
    size_t n = json_string_length(j);
    if (strlen(s) != n)
        return NULL;
    *ret_len = n;
    return s;
}

/* A decimal number of at most max_digits digits, no sign, no leading zero. */
static bool parse_dec(const char *s, size_t len, unsigned max_digits, unsigned *ret)
{
    if (len == 0 || len > max_digits || (len > 1 && s[0] == '0'))
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *ret = v;
    return true;
}

/* Dotted quad, exactly four decimal octets. */
static bool parse_ipv4(const char *s, size_t len, uint32_t *ret)
{
    uint32_t ip = 0;
    size_t start = 0;
    for (int part = 0; part < 4; part++) {
        size_t end = start;
        while (end < len && s[end] != '.')
            end++;
        unsigned v;
        if (!parse_dec(s + start, end - start, 3, &v) || v > 255)
            return false;
        ip = ip << 8 | v;
        if (part < 3 && end == len)
            return false;
        start = end + 1;
    }
    if (start != len + 1)
        return false;
    *ret = ip;
    return true;
}

static bool parse_cidr(const char *s, size_t len, struct netcfg_cidr *ret)
{
    const char *slash = memchr(s, '/', len);
    unsigned p;
    if (!slash || !parse_ipv4(s, (size_t)(slash - s), &ret->ip) ||
        !parse_dec(slash + 1, len - (size_t)(slash - s) - 1, 2, &p) || p > 32)
        return false;
    ret->prefix = (uint8_t)p;
    return true;
}

static uint32_t prefix_mask(uint8_t prefix)
{
    return prefix ? ~0u << (32 - prefix) : 0;
}

/* Usable as a host's own address or a peer's: not 0.0.0.0/8, loopback, multicast, reserved
 * or broadcast. */
static bool ipv4_unicast(uint32_t ip)
{
    uint8_t a = (uint8_t)(ip >> 24);
    return a != 0 && a != 127 && a < 224;
}

static void ip_text(uint32_t ip, char out[16])
{
    snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}

static bool parse_mac(const char *s, size_t len, uint8_t mac[6])
{
    if (len != 17)
        return false;
    for (int i = 0; i < 6; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            int d = hex_digit(s[3 * i + k]);
            if (d < 0)
                return false;
            v = v << 4 | (unsigned)d;
        }
        if (i < 5 && s[3 * i + 2] != ':')
            return false;
        mac[i] = (uint8_t)v;
    }
    static const uint8_t zero[6];
    return !(mac[0] & 1) && memcmp(mac, zero, 6) != 0;
}

/* A DNS search name: labels of [A-Za-z0-9-] (1..63, not starting or ending with '-')
 * separated by single dots, 1..NETCFG_NAME_MAX characters. */
static bool search_valid(const char *s, size_t len)
{
    if (len == 0 || len > NETCFG_NAME_MAX)
        return false;
    size_t label = 0;
    for (size_t i = 0; i <= len; i++) {
        char c = i < len ? s[i] : '.';
        if (c == '.') {
            if (label == 0 || label > 63 || s[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        bool ok = ascii_alnum(c) || (c == '-' && label > 0);
        if (!ok)
            return false;
        label++;
    }
    return true;
}

/* Parses entry i (v) of an array into c: 0, or -EINVAL after reject(). */
typedef int parse_entry_fn(json_t *v, size_t i, struct netcfg *c, char *reterr, size_t len);

/* Parses each entry of the array at key with one(): min to max entries; absent reads as empty
 * when min is 0 and is an error otherwise. */
static int parse_array(json_t *obj, const char *key, size_t min, size_t max, struct netcfg *c,
                       parse_entry_fn *one, char *reterr, size_t len)
{
    json_t *a = json_object_get(obj, key);
    if (!a && min == 0)
        return 0;
    if (!a)
        return reject(reterr, len, "'%s' is required", key);
    if (!json_is_array(a))
        return reject(reterr, len, "'%s' must be an array", key);
    if (json_array_size(a) < min || json_array_size(a) > max)
        return reject(reterr, len, "'%s' has %zu entries; it takes %zu to %zu", key,
                      json_array_size(a), min, max);
    for (size_t i = 0; i < json_array_size(a); i++) {
        int r = one(json_array_get(a, i), i, c, reterr, len);
        if (r < 0)
            return r;
    }
    return 0;
}

static int addr_entry(json_t *v, size_t i, struct netcfg *c, char *reterr, size_t len)
{
    size_t n;
    const char *s = str_of(v, &n);
    struct netcfg_cidr cidr;
    if (!s || !parse_cidr(s, n, &cidr) || cidr.prefix == 0 || !ipv4_unicast(cidr.ip))
        return reject(reterr, len,
                      "'addrs[%zu]' must be a unicast IPv4 address with a prefix length "
                      "like 10.88.0.5/32", i);
    for (size_t k = 0; k < c->n_addrs; k++)
        if (c->addrs[k].ip == cidr.ip)
            return reject(reterr, len, "'addrs[%zu]' repeats 'addrs[%zu]'", i, k);
    c->addrs[c->n_addrs++] = cidr;
    return 0;
}

static int parse_ip_field(json_t *j, const char *what, uint32_t *ret, char *reterr, size_t len)
{
    size_t n;
    const char *s = str_of(j, &n);
    if (!s || !parse_ipv4(s, n, ret) || !ipv4_unicast(*ret))
        return reject(reterr, len, "'%s' must be a unicast IPv4 address like 10.88.0.1", what);
    return 0;
}

static bool is_addr(const struct netcfg *c, uint32_t ip)
{
    for (size_t k = 0; k < c->n_addrs; k++)
        if (c->addrs[k].ip == ip)
            return true;
    return false;
}

static int route_entry(json_t *o, size_t i, struct netcfg *c, char *reterr, size_t len)
{
    if (!json_is_object(o))
        return reject(reterr, len, "'routes[%zu]' must be an object", i);
    struct netcfg_route rt = { 0 };
    size_t n;
    const char *s = str_of(json_object_get(o, "dst"), &n);
    if (!s || !parse_cidr(s, n, &rt.dst))
        return reject(reterr, len,
                      "'routes[%zu].dst' must be an IPv4 network like 10.89.3.0/24", i);
    if (rt.dst.ip & ~prefix_mask(rt.dst.prefix))
        return reject(reterr, len, "'routes[%zu].dst' has host bits set", i);
    if (rt.dst.prefix == 0)
        return reject(reterr, len, "'routes[%zu].dst' is the default route, which "
                      "'gateway' already makes", i);
    json_t *src = json_object_get(o, "src");
    char what[48];
    snprintf(what, sizeof(what), "routes[%zu].src", i);
    if (src && parse_ip_field(src, what, &rt.src, reterr, len) < 0)
        return -EINVAL;
    if (src && !is_addr(c, rt.src))
        return reject(reterr, len, "'routes[%zu].src' is not one of 'addrs'", i);
    for (size_t k = 0; k < c->n_routes; k++)
        if (c->routes[k].dst.ip == rt.dst.ip && c->routes[k].dst.prefix == rt.dst.prefix)
            return reject(reterr, len, "'routes[%zu].dst' repeats 'routes[%zu].dst'", i, k);
    if (rt.dst.prefix == 32 && rt.dst.ip == c->gateway)
        return reject(reterr, len, "'routes[%zu].dst' is the gateway itself", i);
    c->routes[c->n_routes++] = rt;
    return 0;
}

static int dns_entry(json_t *v, size_t i, struct netcfg *c, char *reterr, size_t len)
{
    char what[32];
    snprintf(what, sizeof(what), "dns[%zu]", i);
    if (parse_ip_field(v, what, &c->dns[c->n_dns], reterr, len) < 0)
        return -EINVAL;
    c->n_dns++;
    return 0;
}

static int search_entry(json_t *v, size_t i, struct netcfg *c, char *reterr, size_t len)
{
    size_t n;
    const char *s = str_of(v, &n);
    if (!s || !search_valid(s, n))
        return reject(reterr, len,
                      "'search[%zu]' must be a domain name of at most %u characters of "
                      "[A-Za-z0-9.-]", i, NETCFG_NAME_MAX);
    memcpy(c->search[c->n_search++], s, n + 1);
    return 0;
}

int netcfg_parse(json_t *obj, struct netcfg *ret, char *reterr, size_t reterr_len)
{
    memset(ret, 0, sizeof(*ret));
    if (reterr && reterr_len)
        reterr[0] = 0;
    if (!json_is_object(obj))
        return reject(reterr, reterr_len, "'net' must be an object");
    json_t *mac = json_object_get(obj, "mac");
    if (mac) {
        size_t n;
        const char *s = str_of(mac, &n);
        if (!s || !parse_mac(s, n, ret->mac))
            goto out_mac;
        ret->has_mac = true;
    }
    int r;
    json_t *gw = json_object_get(obj, "gateway");
    if (!gw) {
        r = reject(reterr, reterr_len, "'gateway' is required");
        goto out_fail;
    }
    if ((r = parse_ip_field(gw, "gateway", &ret->gateway, reterr, reterr_len)) < 0 ||
        (r = parse_array(obj, "addrs", 1, NETCFG_ADDRS_MAX, ret, addr_entry, reterr,
                         reterr_len)) < 0)
        goto out_fail;
    if (is_addr(ret, ret->gateway)) {
        r = reject(reterr, reterr_len, "'gateway' must not be one of 'addrs'");
        goto out_fail;
    }
    if ((r = parse_array(obj, "routes", 0, NETCFG_ROUTES_MAX, ret, route_entry, reterr,
                         reterr_len)) < 0 ||
        (r = parse_array(obj, "dns", 0, NETCFG_DNS_MAX, ret, dns_entry, reterr, reterr_len)) < 0 ||
        (r = parse_array(obj, "search", 0, NETCFG_SEARCH_MAX, ret, search_entry, reterr,
                         reterr_len)) < 0)
        goto out_fail;
    return 0;
out_mac:
    r = reject(reterr, reterr_len,
               "'mac' must be a unicast MAC address of 6 octets like 02:00:00:00:00:01");
out_fail:
    memset(ret, 0, sizeof(*ret));
    return r;
}

/* --- text forms --- */

struct out {
    char *p;
    size_t len, off;
    bool full;
};

__attribute__((format(printf, 2, 3)))
static void put(struct out *o, const char *fmt, ...)
{
    if (o->full)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p + o->off, o->len - o->off, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->len - o->off)
        o->full = true;
    else
        o->off += (size_t)n;
}

int netcfg_canonical(const struct netcfg *c, char *out, size_t len)
{
    if (len == 0)
        return -ENOSPC;
    struct out o = { .p = out, .len = len };
    char a[16], b[16];
    out[0] = 0;
    if (c->has_mac)
        put(&o, "mac=%02x:%02x:%02x:%02x:%02x:%02x", c->mac[0], c->mac[1], c->mac[2],
            c->mac[3], c->mac[4], c->mac[5]);
    put(&o, ";addrs=");
    for (size_t i = 0; i < c->n_addrs; i++) {
        ip_text(c->addrs[i].ip, a);
        put(&o, "%s%s/%u", i ? "," : "", a, c->addrs[i].prefix);
    }
    ip_text(c->gateway, a);
    put(&o, ";gw=%s;routes=", a);
    for (size_t i = 0; i < c->n_routes; i++) {
        ip_text(c->routes[i].dst.ip, a);
        ip_text(c->routes[i].src, b);
        put(&o, "%s%s/%u>%s", i ? "," : "", a, c->routes[i].dst.prefix,
            c->routes[i].src ? b : "");
    }
    put(&o, ";dns=");
    for (size_t i = 0; i < c->n_dns; i++) {
        ip_text(c->dns[i], a);
        put(&o, "%s%s", i ? "," : "", a);
    }
    put(&o, ";search=");
    for (size_t i = 0; i < c->n_search; i++)
        put(&o, "%s%s", i ? "," : "", c->search[i]);
    return o.full ? -ENOSPC : 0;
}

int netcfg_resolv_conf(const struct netcfg *c, char *out, size_t len)
{
    if (len == 0)
        return -ENOSPC;
    struct out o = { .p = out, .len = len };
    out[0] = 0;
    char a[16];
    for (size_t i = 0; i < c->n_dns; i++) {
        ip_text(c->dns[i], a);
        put(&o, "nameserver %s\n", a);
    }
    if (c->n_search) {
        put(&o, "search");
        for (size_t i = 0; i < c->n_search; i++)
            put(&o, " %s", c->search[i]);
        put(&o, "\n");
    }
    return o.full ? -ENOSPC : 0;
}

/* --- applying --- */

#define RESOLV_CONF "/etc/resolv.conf"
#define RESOLV_MAX 4096
#define LIST_MAX 64 /* addresses or routes on the link we look at; more is not our doing */

static bool file_is(const char *path, const char *want)
{
    char cur[RESOLV_MAX + 1];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, cur, sizeof(cur) - 1);
    close(fd);
    if (n < 0)
        return false;
    cur[n] = 0;
    return strcmp(cur, want) == 0;
}

/* Replaces path with text: a reader sees the old file or the new one, never half of one. */
static int write_atomic(const char *path, const char *text)
{
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "%s.hearth-tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    size_t len = strlen(text), off = 0;
    int r = 0;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            break;
        }
        off += (size_t)n;
    }
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0)
        (void)unlink(tmp);
    return r;
}

/* Reports a failed change r of an address or route ip/prefix on link l: "cannot <verb>
 * <ip>/<prefix> <prep> '<link>': <why>". */
static int fail_change(int r, char *reterr, size_t len, const char *verb, uint32_t ip,
                       unsigned prefix, const char *prep, const struct rtnl_link *l)
{
    char a[16];
    ip_text(ip, a);
    return fail(r, reterr, len, "cannot %s %s/%u %s '%s': %s", verb, a, prefix, prep, l->name,
                strerror(-r));
}

static int apply_addrs(struct rtnl *nl, const struct rtnl_link *l, const struct netcfg *c,
                       char *reterr, size_t len)
{
    struct rtnl_addr have[LIST_MAX];
    size_t n = 0;
    int r = rtnl_addr_list(nl, l->ifindex, have, LIST_MAX, &n);
    if (r < 0)
        return fail(r, reterr, len, "cannot list addresses of '%s': %s", l->name,
                    strerror(-r));
    for (size_t i = 0; i < n; i++) {
        bool want = false;
        for (size_t k = 0; k < c->n_addrs; k++)
            want |= c->addrs[k].ip == have[i].ip && c->addrs[k].prefix == have[i].prefix;
        if (want)
            continue;
        r = rtnl_addr_change(nl, false, l->ifindex, &have[i]);
        /* deleting a primary address also deletes its secondaries: gone is fine */
        if (r < 0 && r != -EADDRNOTAVAIL)
            return fail_change(r, reterr, len, "delete address", have[i].ip, have[i].prefix,
                               "from", l);
    }
    /* list again: a deleted primary may have taken wanted secondaries with it */
    r = rtnl_addr_list(nl, l->ifindex, have, LIST_MAX, &n);
    if (r < 0)
        return fail(r, reterr, len, "cannot list addresses of '%s': %s", l->name,
                      strerror(-r));
    for (size_t k = 0; k < c->n_addrs; k++) {
        bool present = false;
        for (size_t i = 0; i < n; i++)
            present |= c->addrs[k].ip == have[i].ip && c->addrs[k].prefix == have[i].prefix;
        if (present)
            continue;
        struct rtnl_addr want = { .ip = c->addrs[k].ip, .prefix = c->addrs[k].prefix };
        r = rtnl_addr_change(nl, true, l->ifindex, &want);
        if (r < 0)
            return fail_change(r, reterr, len, "add address", want.ip, want.prefix, "to", l);
    }
    return 0;
}

static bool route_same(const struct rtnl_route *x, const struct rtnl_route *y)
{
    return x->dst == y->dst && x->dst_len == y->dst_len && x->gateway == y->gateway &&
           x->prefsrc == y->prefsrc && x->priority == y->priority && x->scope == y->scope;
}

static int apply_routes(struct rtnl *nl, const struct rtnl_link *l, const struct netcfg *c,
                        char *reterr, size_t len)
{
    struct rtnl_route want[NETCFG_ROUTES_MAX + 2];
    size_t nw = 0;
    /* the gateway first: the routes via it need it reachable on the link */
    want[nw++] = (struct rtnl_route){ .dst = c->gateway, .dst_len = 32,
                                      .scope = RT_SCOPE_LINK };
    want[nw++] = (struct rtnl_route){ .gateway = c->gateway, .prefsrc = c->addrs[0].ip,
                                      .scope = RT_SCOPE_UNIVERSE };
    for (size_t i = 0; i < c->n_routes; i++)
        want[nw++] = (struct rtnl_route){ .dst = c->routes[i].dst.ip,
                                          .dst_len = c->routes[i].dst.prefix,
                                          .gateway = c->gateway, .prefsrc = c->routes[i].src,
                                          .scope = RT_SCOPE_UNIVERSE };
    bool present[NETCFG_ROUTES_MAX + 2] = { false };
    struct rtnl_route have[LIST_MAX];
    size_t n = 0;
    int r = rtnl_route_list(nl, l->ifindex, have, LIST_MAX, &n);
    if (r < 0)
        return fail(r, reterr, len, "cannot list routes of '%s': %s", l->name, strerror(-r));
    for (size_t i = 0; i < n; i++) {
        /* the prefix route of an address is the kernel's: it goes with the address */
        if (have[i].protocol == RTPROT_KERNEL)
            continue;
        bool keep = false;
        for (size_t k = 0; k < nw && !keep; k++)
            if (!present[k] && route_same(&have[i], &want[k]))
                keep = present[k] = true;
        if (keep)
            continue;
        r = rtnl_route_change(nl, false, l->ifindex, &have[i]);
        if (r < 0 && r != -ESRCH)
            return fail_change(r, reterr, len, "delete route", have[i].dst, have[i].dst_len,
                               "from", l);
    }
    for (size_t k = 0; k < nw; k++) {
        if (present[k])
            continue;
        r = rtnl_route_change(nl, true, l->ifindex, &want[k]);
        if (r < 0)
            return fail_change(r, reterr, len, "add route", want[k].dst, want[k].dst_len, "via",
                               l);
    }
    return 0;
}

int netcfg_apply(const struct netcfg *c, char *reterr, size_t reterr_len)
{
    if (reterr && reterr_len)
        reterr[0] = 0;
    struct rtnl nl;
    int r = rtnl_open(&nl);
    if (r < 0)
        return fail(r, reterr, reterr_len, "cannot open rtnetlink: %s", strerror(-r));
    unsigned lo = if_nametoindex("lo");
    struct rtnl_link l;
    if ((r = rtnl_link_set(&nl, lo ? (int)lo : 1, NULL, true)) < 0) {
        fail(r, reterr, reterr_len, "cannot bring 'lo' up: %s", strerror(-r));
        goto out_close;
    }
    if ((r = rtnl_link_find_ether(&nl, &l)) < 0) {
        fail(r, reterr, reterr_len, "no Ethernet link in the guest: %s", strerror(-r));
        goto out_close;
    }
    /* virtio-net takes a MAC change on a live link: the guest driver tells QEMU through the
     * control queue, and QEMU's receive filter follows */
    bool new_mac = c->has_mac && memcmp(c->mac, l.mac, 6) != 0;
    if ((r = rtnl_link_set(&nl, l.ifindex, new_mac ? c->mac : NULL, true)) < 0) {
        fail(r, reterr, reterr_len, "cannot %s '%s': %s", new_mac ? "set the MAC of" : "bring up",
               l.name, strerror(-r));
        goto out_close;
    }
    if ((r = apply_addrs(&nl, &l, c, reterr, reterr_len)) < 0 ||
        (r = apply_routes(&nl, &l, c, reterr, reterr_len)) < 0)
        goto out_close;
    if ((r = rtnl_neigh_flush(&nl, l.ifindex)) < 0) {
        fail(r, reterr, reterr_len, "cannot flush the neighbours of '%s': %s", l.name,
               strerror(-r));
        goto out_close;
    }
    if (c->n_dns) {
        char text[RESOLV_MAX];
        if ((r = netcfg_resolv_conf(c, text, sizeof(text))) < 0) {
            fail(r, reterr, reterr_len, "resolv.conf would be too long");
            goto out_close;
        }
        if (!file_is(RESOLV_CONF, text) && (r = write_atomic(RESOLV_CONF, text)) < 0) {
            fail(r, reterr, reterr_len, "cannot write " RESOLV_CONF ": %s", strerror(-r));
            goto out_close;
        }
    }
    r = 0;
out_close:
    rtnl_close(&nl);
    return r;
}

int netcfg_flush_neighbours(void)
{
    struct rtnl nl;
    struct rtnl_link l;
    int r = rtnl_open(&nl);
    if (r < 0)
        return r;
    r = rtnl_link_find_ether(&nl, &l);
    if (r == 0)
        r = rtnl_neigh_flush(&nl, l.ifindex);
    rtnl_close(&nl);
    return r;
}
