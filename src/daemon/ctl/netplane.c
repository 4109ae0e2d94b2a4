/* SPDX-License-Identifier: MIT */
/* netplane.c: the API's side of sandbox networking (netplane.h, docs/networking.md). The store
 * is the truth (addresses, memberships, rules, quota and counters); the kernel (net.h) follows
 * it whenever a VM starts, stops or a setting changes, and the DNS server asks here who is
 * asking and which names hearth answers itself. */
#include "daemon/ctl/netplane.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/timefmt.h"
#include "daemon/ctl/ctl.h"
#include "daemon/host/host.h"
#include "common/mono.h"
#include "daemon/log.h"
#include "daemon/net/dns.h"
#include "daemon/store/store.h"

#define INTERNAL_SUFFIX ".hearth.internal"
#define LOCAL_TTL 30

/* An address of a running sandbox (primary or on a network), for the DNS server. */
struct np_addr {
    uint32_t ip;
    char id[STORE_ID_SIZE];
};

/* A tap hearthd holds open for a paused sandbox (ctl_net_vm_stopped() with keep_tap). */
struct np_tap {
    char id[STORE_ID_SIZE];
    int fd;
};

/* Paused sandboxes whose taps are kept; past this the oldest goes (fds and interfaces are
 * not free). */
#define KEPT_TAPS_MAX 256

struct ctl_net {
    struct ctl *ctx;
    struct net *net;
    struct net_config cfg;
    char ns_name[64], uplink[16];
    struct dns_server *dns;
    int dns_udp, dns_tcp;
    struct event *meter;
    int meter_ms;
    uint32_t ip_cursor;             /* next primary address to try: spreads reuse out */
    struct np_addr *addrs;
    size_t n_addrs, cap_addrs;
    struct np_tap *taps;            /* kept taps, oldest first */
    size_t n_taps, cap_taps;
    struct np_addr *held;           /* addresses of VMs without a row (template builds):
                                       in memory only, skipped by every allocation */
    size_t n_held, cap_held;
};

/* "a.b.c.d" or "a.b.c.d/p" (a network's subnet) → host order; 0 when malformed. */
static uint32_t ip_parse(const char *s)
{
    char buf[STORE_SUBNET_SIZE];
    struct in_addr a;
    if (!s || snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
        return 0;
    buf[strcspn(buf, "/")] = '\0';
    return inet_pton(AF_INET, buf, &a) == 1 ? ntohl(a.s_addr) : 0;
}

static void ip_format(uint32_t ip, char out[16])
{
    struct in_addr a = { .s_addr = htonl(ip) };
    inet_ntop(AF_INET, &a, out, 16);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Addresses in use, sorted (host order). */
struct ip_set {
    uint32_t *v;
    size_t n;
};

/* Every held address, sorted, for allocation (free ret->v); -ENETDOWN without networking. */
static int used_ips(struct ctl_net *n, struct ip_set *ret)
{
    if (!n)
        return -ENETDOWN;
    struct store_strv v = { 0 };
    int r = store_ips_in_use(n->ctx->store, &v);
    if (r < 0)
        return r;
    uint32_t *ips = calloc(v.n + n->n_held + 1, sizeof(*ips));
    if (!ips) {
        store_strv_free(&v);
        return -ENOMEM;
    }
    for (size_t i = 0; i < v.n; i++)
        ips[i] = ip_parse(v.v[i]);
    for (size_t i = 0; i < n->n_held; i++)
        ips[v.n + i] = n->held[i].ip;
    qsort(ips, v.n + n->n_held, sizeof(*ips), cmp_u32);
    *ret = (struct ip_set){ .v = ips, .n = v.n + n->n_held };
    store_strv_free(&v);
    return 0;
}

static bool ip_used(const struct ip_set *s, uint32_t ip)
{
    return bsearch(&ip, s->v, s->n, sizeof(*s->v), cmp_u32) != NULL;
}

/* Makes room for element n of *v (doubling; 16 to start). false when out of memory. */
static bool room_for_one(void **v, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap)
        return true;
    size_t nc = *cap ? *cap * 2 : 16;
    void *nv = realloc(*v, nc * elem);
    if (!nv)
        return false;
    *v = nv;
    *cap = nc;
    return true;
}

/* ---- the address map the DNS server reads ---- */

static void addrs_forget(struct ctl_net *n, const char *id)
{
    size_t k = 0;
    for (size_t i = 0; i < n->n_addrs; i++)
        if (strcmp(n->addrs[i].id, id) != 0)
            n->addrs[k++] = n->addrs[i];
    n->n_addrs = k;
}

static void addrs_add(struct ctl_net *n, const char *id, uint32_t ip)
{
    if (!ip)
        return;
    if (!room_for_one((void **)&n->addrs, n->n_addrs, &n->cap_addrs, sizeof(*n->addrs)))
        return;
    n->addrs[n->n_addrs].ip = ip;
    snprintf(n->addrs[n->n_addrs].id, sizeof(n->addrs[0].id), "%s", id);
    n->n_addrs++;
}

static const char *addrs_find(const struct ctl_net *n, uint32_t ip)
{
    for (size_t i = 0; i < n->n_addrs; i++)
        if (n->addrs[i].ip == ip)
            return n->addrs[i].id;
    return NULL;
}

/* ---- kept taps ---- */

static void *close_fd(void *arg)
{
    close((int)(intptr_t)arg);
    return NULL;
}

/* Closes a tap's last fd on a thread of its own: the kernel then unregisters the interface,
 * which waits for RCU grace periods (~30 ms) that the loop must not wait for. */
static void close_later(int fd)
{
    pthread_attr_t a;
    pthread_t t;
    if (pthread_attr_init(&a) == 0 &&
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED) == 0 &&
        pthread_create(&t, &a, close_fd, (void *)(intptr_t)fd) == 0) {
        pthread_attr_destroy(&a);
        return;
    }
    close(fd);
}

/* Takes sandbox id's kept tap out of the list: its fd, or -1. */
static int tap_take(struct ctl_net *n, const char *id)
{
    for (size_t i = 0; i < n->n_taps; i++)
        if (strcmp(n->taps[i].id, id) == 0) {
            int fd = n->taps[i].fd;
            memmove(&n->taps[i], &n->taps[i + 1], (n->n_taps - i - 1) * sizeof(n->taps[0]));
            n->n_taps--;
            return fd;
        }
    return -1;
}

static void tap_keep(struct ctl_net *n, const char *id, int fd)
{
    if (n->n_taps == KEPT_TAPS_MAX)
        close_later(tap_take(n, n->taps[0].id));
    if (!room_for_one((void **)&n->taps, n->n_taps, &n->cap_taps, sizeof(*n->taps))) {
        close_later(fd);
        return;
    }
    snprintf(n->taps[n->n_taps].id, sizeof(n->taps[0].id), "%s", id);
    n->taps[n->n_taps].fd = fd;
    n->n_taps++;
}

/* ---- allocation ---- */

int ctl_net_alloc_ip(struct ctl *ctx, char out[STORE_IP_SIZE])
{
    struct ctl_net *n = ctx->net;
    struct ip_set used;
    int r = used_ips(n, &used);
    if (r < 0)
        return r;
    uint32_t size = 1u << (32 - n->cfg.sandbox_prefix), base = n->cfg.sandbox_net;
    r = -EADDRNOTAVAIL;
    for (uint32_t k = 0; k < size; k++) {
        uint32_t off = (n->ip_cursor + k) % size, ip = base + off;
        /* .0 is the block, .1 the gateway; x.x.x.0 and .255 are avoided for guests' sake */
        if (off < 2 || (ip & 0xff) == 0 || (ip & 0xff) == 0xff || ip_used(&used, ip))
            continue;
        n->ip_cursor = off + 1;
        ip_format(ip, out);
        r = 0;
        break;
    }
    free(used.v);
    return r;
}

int ctl_net_alloc_subnet(struct ctl *ctx, char out[STORE_SUBNET_SIZE])
{
    struct ctl_net *n = ctx->net;
    if (!n)
        return -ENETDOWN;
    struct store_strv v = { 0 };
    int r = store_network_subnets(ctx->store, &v);
    if (r < 0)
        return r;
    uint32_t count = 1u << (24 - n->cfg.networks_prefix);
    r = -EADDRNOTAVAIL;
    for (uint32_t k = 0; k < count && r; k++) {
        char cand[STORE_SUBNET_SIZE], a[16];
        ip_format(n->cfg.networks_net + (k << 8), a);
        snprintf(cand, sizeof(cand), "%s/24", a);
        bool used = false;
        for (size_t i = 0; i < v.n && !used; i++)
            used = strcmp(v.v[i], cand) == 0;
        if (!used) {
            memcpy(out, cand, sizeof(cand));
            r = 0;
        }
    }
    store_strv_free(&v);
    return r;
}

/* A network's "members reach each other" pair in or out of the data plane. */
static void subnet_pair(struct ctl *ctx, const char *subnet, bool add)
{
    struct ctl_net *n = ctx->net;
    char err[160];
    int r = !n ? 0 : add ? net_network_add(n->net, ip_parse(subnet), err, sizeof(err))
                         : net_network_remove(n->net, ip_parse(subnet), err, sizeof(err));
    if (r < 0)
        log_warn(NULL, "net: network pair", "{s:s,s:s}", "subnet", subnet, "err", err);
}

void ctl_net_subnet_added(struct ctl *ctx, const char *subnet)
{
    subnet_pair(ctx, subnet, true);
}

void ctl_net_subnet_released(struct ctl *ctx, const char *subnet)
{
    subnet_pair(ctx, subnet, false);
}

int ctl_net_join(struct ctl *ctx, const char *network_id, const char *subnet,
                 const char *sandbox_id)
{
    struct ip_set used;
    int r = used_ips(ctx->net, &used);
    if (r < 0)
        return r;
    uint32_t base = ip_parse(subnet);
    r = -EADDRNOTAVAIL;
    for (uint32_t off = 2; off < 255; off++) {
        if (ip_used(&used, base + off))
            continue;
        char a[16];
        ip_format(base + off, a);
        r = store_member_add(ctx->store, network_id, sandbox_id, a, timefmt_now_ms());
        break;
    }
    free(used.v);
    return r;
}

/* ---- one sandbox's desired state, from the store ---- */

struct np_state {
    struct store_sandbox sb;
    struct store_member *m;
    size_t nm;
};

static int state_load(struct ctl_net *n, const char *id, struct np_state *s)
{
    memset(s, 0, sizeof(*s));
    store_sandbox_init(&s->sb);
    int r = store_sandbox_get(n->ctx->store, NULL, id, &s->sb);
    if (r == 0)
        r = store_member_list(n->ctx->store, NULL, id, &s->m, &s->nm);
    if (r < 0)
        store_sandbox_release(&s->sb);
    return r;
}

static void state_release(struct np_state *s)
{
    store_sandbox_release(&s->sb);
    free(s->m);
    s->m = NULL;
}

static int state_apply(struct ctl_net *n, const struct np_state *s, char *err, size_t len)
{
    struct net_sandbox ns = {
        .id = s->sb.id,
        .ip = ip_parse(s->sb.ip),
        .egress = (const char *const *)s->sb.egress.v,
        .n_egress = s->sb.egress.n,
        .capped = s->sb.bw_quota_bytes >= 0 && s->sb.bw_capped,
    };
    for (size_t i = 0; i < s->nm && ns.n_member_ips < NET_MAX_MEMBER_ADDRS; i++)
        ns.member_ips[ns.n_member_ips++] = ip_parse(s->m[i].ip);
    int r = net_sandbox_apply(n->net, &ns, err, len);
    addrs_forget(n, s->sb.id);
    if (r == 0) {
        addrs_add(n, s->sb.id, ns.ip);
        for (size_t i = 0; i < ns.n_member_ips; i++)
            addrs_add(n, s->sb.id, ns.member_ips[i]);
    }
    return r;
}

static void mac_string(const char *id, char out[18])
{
    uint8_t mac[6];
    net_mac(id, mac);
    snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
             mac[5]);
}

/* The agent protocol's "net" object (docs/agent-protocol.md). */
static char *guest_json(struct ctl_net *n, const struct np_state *s)
{
    char mac[18], gw[16], a[STORE_IP_SIZE + 8];
    mac_string(s->sb.id, mac);
    ip_format(net_gateway(n->net), gw);
    json_t *addrs = json_array(), *routes = json_array(), *search = json_array();
    snprintf(a, sizeof(a), "%s/32", s->sb.ip);
    json_array_append_new(addrs, json_string(a));
    for (size_t i = 0; i < s->nm; i++) {
        snprintf(a, sizeof(a), "%s/32", s->m[i].ip);
        json_array_append_new(addrs, json_string(a));
        json_array_append_new(routes, json_pack("{s:s,s:s}", "dst", s->m[i].subnet, "src",
                                                s->m[i].ip));
        char dom[STORE_NAME_SIZE + sizeof(INTERNAL_SUFFIX)];
        snprintf(dom, sizeof(dom), "%s%s", s->m[i].network_name, INTERNAL_SUFFIX);
        json_array_append_new(search, json_string(dom));
    }
    json_t *o = json_pack("{s:s,s:o,s:s,s:o,s:[s],s:o}", "mac", mac, "addrs", addrs, "gateway", gw,
                          "routes", routes, "dns", gw, "search", search);
    char *out = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    return out;
}

int ctl_net_vm_prepare(struct ctl *ctx, const char *id, struct ctl_net_vm *ret)
{
    struct ctl_net *n = ctx->net;
    memset(ret, 0, sizeof(*ret));
    ret->tap_fd = -1;
    if (!n)
        return 0; /* no networking: the VM gets a NIC without a link */
    struct np_state s;
    int r = state_load(n, id, &s);
    if (r < 0)
        return r;
    char err[256] = "";
    int64_t t0 = mono_now_us(), t1 = 0, t2 = 0;
    if (!s.sb.ip[0]) {
        r = -EADDRNOTAVAIL;
        snprintf(err, sizeof(err), "no address reserved");
    }
    /* the sandbox's tap when hearthd still holds it (a resume after a pause), else a new one;
     * hearthd holds a copy either way, so QEMU's exit does not tear the interface down */
    int held = r == 0 ? tap_take(n, id) : -1;
    if (held >= 0 && !net_tap_exists(n->net, id)) {
        close_later(held);
        held = -1;
    }
    if (held >= 0) {
        ret->tap_fd = fcntl(held, F_DUPFD_CLOEXEC, 3);
        if (ret->tap_fd < 0) {
            r = -errno;
            snprintf(err, sizeof(err), "cannot duplicate the tap's fd: %s", strerror(errno));
            close_later(held);
        } else {
            tap_keep(n, id, held);
        }
    } else if (r == 0) {
        r = net_tap_open(n->net, id, &ret->tap_fd, err, sizeof(err));
        int copy = r == 0 ? fcntl(ret->tap_fd, F_DUPFD_CLOEXEC, 3) : -1;
        if (copy >= 0)
            tap_keep(n, id, copy);
    }
    t1 = mono_now_us();
    if (r == 0)
        r = state_apply(n, &s, err, sizeof(err));
    t2 = mono_now_us();
    if (r == 0 && !(ret->net_json = guest_json(n, &s)))
        r = -ENOMEM;
    if (r == 0)
        mac_string(id, ret->mac);
    state_release(&s);
    log_debug(NULL, "net: sandbox prepared", "{s:s,s:f,s:f,s:f}", "sandbox", id, "tap_ms",
              (double)(t1 - t0) / 1e3, "apply_ms", (double)(t2 - t1) / 1e3, "total_ms",
              (double)(mono_now_us() - t0) / 1e3);
    if (r < 0) {
        int kept = tap_take(n, id);
        if (kept >= 0)
            close_later(kept);
        log_error(NULL, "net: cannot prepare the sandbox network", "{s:s,s:s}", "sandbox", id,
                  "err", err[0] ? err : strerror(-r));
        ctl_net_vm_release(ret);
        char e2[160];
        (void)net_sandbox_remove(n->net, id, e2, sizeof(e2));
        addrs_forget(n, id);
    }
    return r;
}

int ctl_net_tap_only(struct ctl *ctx, const char *id)
{
    struct ctl_net *n = ctx->net;
    int fd = -1;
    char err[256];
    if (!n)
        return -ENETDOWN;
    int r = net_tap_open(n->net, id, &fd, err, sizeof(err));
    if (r < 0) {
        log_warn(NULL, "net: no tap for a builder vm", "{s:s,s:s}", "vm", id, "err", err);
        return r;
    }
    return fd;
}

/* ---- VMs without a row (template build VMs) ---- */

static void held_drop(struct ctl_net *n, const char *id)
{
    size_t k = 0;
    for (size_t i = 0; i < n->n_held; i++)
        if (strcmp(n->held[i].id, id) != 0)
            n->held[k++] = n->held[i];
    n->n_held = k;
}

int ctl_net_rowless_prepare(struct ctl *ctx, const char *id, struct ctl_net_vm *ret)
{
    struct ctl_net *n = ctx->net;
    memset(ret, 0, sizeof(*ret));
    ret->tap_fd = -1;
    if (!n)
        return 0; /* no networking: a NIC without a link */
    /* the state of a sandbox created without egress rules or networks: the operator's
     * default policy (docs/networking.md), no cap */
    struct np_state s;
    memset(&s, 0, sizeof(s));
    store_sandbox_init(&s.sb);
    snprintf(s.sb.id, sizeof(s.sb.id), "%s", id);
    s.sb.bw_quota_bytes = -1;
    char err[256] = "";
    held_drop(n, id);
    int r = ctl_net_alloc_ip(ctx, s.sb.ip);
    if (r == 0 && !room_for_one((void **)&n->held, n->n_held, &n->cap_held, sizeof(*n->held)))
        r = -ENOMEM;
    if (r == 0) {
        n->held[n->n_held].ip = ip_parse(s.sb.ip);
        snprintf(n->held[n->n_held].id, sizeof(n->held[0].id), "%s", id);
        n->n_held++;
        r = net_tap_open(n->net, id, &ret->tap_fd, err, sizeof(err));
    }
    if (r == 0)
        r = state_apply(n, &s, err, sizeof(err));
    if (r == 0 && !(ret->net_json = guest_json(n, &s)))
        r = -ENOMEM;
    if (r == 0)
        mac_string(id, ret->mac);
    store_sandbox_release(&s.sb);
    if (r < 0) {
        log_error(NULL, "net: cannot prepare a build vm's network", "{s:s,s:s}", "vm", id,
                  "err", err[0] ? err : strerror(-r));
        ctl_net_vm_release(ret);
        ctl_net_rowless_done(ctx, id);
    }
    return r;
}

void ctl_net_rowless_done(struct ctl *ctx, const char *id)
{
    struct ctl_net *n = ctx->net;
    if (!n)
        return;
    char err[256];
    /* QEMU held the tap's last fd: it is gone or going; the rest goes now */
    if (net_sandbox_remove(n->net, id, err, sizeof(err)) < 0)
        log_warn(NULL, "net: data plane", "{s:s,s:s}", "vm", id, "err", err);
    addrs_forget(n, id);
    if (n->dns)
        dns_server_forget(n->dns, id);
    held_drop(n, id);
}

/* ---- warm pools' VMs: rowless until a sandbox takes one ---- */

int ctl_net_pool_prepare(struct ctl *ctx, const char *id, struct ctl_net_vm *ret,
                         char ip[STORE_IP_SIZE])
{
    struct ctl_net *n = ctx->net;
    ip[0] = '\0';
    int r = ctl_net_rowless_prepare(ctx, id, ret);
    if (r < 0 || !n)
        return r;
    int copy = fcntl(ret->tap_fd, F_DUPFD_CLOEXEC, 3);
    if (copy < 0) {
        r = -errno;
        ctl_net_vm_release(ret);
        ctl_net_rowless_done(ctx, id);
        return r;
    }
    tap_keep(n, id, copy);
    for (size_t i = 0; i < n->n_held; i++)
        if (strcmp(n->held[i].id, id) == 0)
            ip_format(n->held[i].ip, ip);
    return 0;
}

void ctl_net_pool_taken(struct ctl *ctx, const char *id)
{
    if (ctx->net)
        held_drop(ctx->net, id);
}

void ctl_net_pool_done(struct ctl *ctx, const char *id)
{
    struct ctl_net *n = ctx->net;
    if (!n)
        return;
    ctl_net_rowless_done(ctx, id);
    int fd = tap_take(n, id);
    if (fd >= 0)
        close_later(fd);
}

void ctl_net_vm_spec(const struct ctl_net_vm *v, struct host_vm_spec *spec)
{
    spec->tap_fd = v->tap_fd;
    spec->mac = v->mac[0] ? v->mac : NULL; /* "" without networking */
    spec->net_json = v->net_json;
}

void ctl_net_vm_release(struct ctl_net_vm *v)
{
    if (v->tap_fd >= 0)
        close(v->tap_fd);
    v->tap_fd = -1;
    free(v->net_json);
    v->net_json = NULL;
}

void ctl_net_vm_stopped(struct ctl *ctx, const char *id, bool keep_tap)
{
    struct ctl_net *n = ctx->net;
    if (!n)
        return;
    int64_t t0 = mono_now_us();
    ctl_net_meter(ctx); /* count its last bytes before its counters go */
    int64_t t1 = mono_now_us();
    char err[256];
    /* the tap itself is not deleted here: when hearthd holds it, it goes with the last fd */
    if (net_sandbox_unplug(n->net, id, err, sizeof(err)) < 0)
        log_warn(NULL, "net: data plane", "{s:s,s:s}", "sandbox", id, "err", err);
    addrs_forget(n, id);
    if (!keep_tap) {
        if (n->dns)
            dns_server_forget(n->dns, id);
        int fd = tap_take(n, id);
        if (fd >= 0)
            close_later(fd);
    }
    log_debug(NULL, "net: sandbox removed", "{s:s,s:f,s:f,s:b}", "sandbox", id, "meter_ms",
              (double)(t1 - t0) / 1e3, "remove_ms", (double)(mono_now_us() - t1) / 1e3,
              "tap_kept", keep_tap);
}

static void guest_done(void *ud, const char *id, const struct host_result *res)
{
    (void)ud;
    if (res->err != HOST_OK)
        log_warn(NULL, "net: guest network update failed", "{s:s,s:s}", "sandbox", id, "err",
                 res->msg);
}

/* What a refresh tells the guest: nothing, its new config (NETCFG), or only the host layer's
 * copy of it, for the HELLOs of a VM adopted after a restart (the guest has it already). */
enum guest_update { GUEST_NONE, GUEST_SEND, GUEST_RECORD };

/* Re-applies a running sandbox's data plane from the store, and updates its guest as asked,
 * from one read of the store. */
static void refresh(struct ctl *ctx, const char *id, enum guest_update guest)
{
    struct ctl_net *n = ctx->net;
    struct np_state s;
    if (!n || !net_tap_exists(n->net, id) || state_load(n, id, &s) < 0)
        return;
    char err[256];
    if (state_apply(n, &s, err, sizeof(err)) < 0)
        log_warn(NULL, "net: data plane", "{s:s,s:s}", "sandbox", id, "err", err);
    char *j = guest != GUEST_NONE && ctx->host && s.sb.ip[0] ? guest_json(n, &s) : NULL;
    if (j && guest == GUEST_SEND)
        host_vm_set_net(ctx->host, id, j, guest_done, NULL);
    else if (j)
        (void)host_vm_set_net_json(ctx->host, id, j);
    free(j);
    state_release(&s);
}

void ctl_net_refresh(struct ctl *ctx, const char *id, bool guest)
{
    refresh(ctx, id, guest ? GUEST_SEND : GUEST_NONE);
}

void ctl_net_reconcile(struct ctl *ctx, const char *const *running, size_t n_running)
{
    struct ctl_net *n = ctx->net;
    if (!n)
        return;
    const char **keep = calloc(n_running ? n_running : 1, sizeof(*keep));
    size_t nk = 0;
    for (size_t i = 0; keep && i < n_running; i++) {
        if (!net_tap_exists(n->net, running[i]))
            continue;
        keep[nk++] = running[i];
        refresh(ctx, running[i], GUEST_RECORD);
    }
    char err[256];
    if (keep && net_sandbox_prune(n->net, keep, nk, err, sizeof(err)) < 0)
        log_warn(NULL, "net: prune", "{s:s}", "err", err);
    free(keep);
    /* every live network's pair, in case the namespace is new */
    struct store_strv v = { 0 };
    if (store_network_subnets(ctx->store, &v) == 0)
        for (size_t i = 0; i < v.n; i++)
            (void)net_network_add(n->net, ip_parse(v.v[i]), err, sizeof(err));
    store_strv_free(&v);
}

/* ---- the bandwidth meter ---- */

struct meter_reading {
    char id[STORE_ID_SIZE];
    struct net_counter_reading v;
};

struct meter_acc {
    struct meter_reading *v;
    size_t n, cap;
};

static void meter_collect(void *ud, const char *id, const struct net_counter_reading *v)
{
    struct meter_acc *a = ud;
    if (!room_for_one((void **)&a->v, a->n, &a->cap, sizeof(*a->v)))
        return;
    snprintf(a->v[a->n].id, sizeof(a->v[0].id), "%s", id);
    a->v[a->n].v = *v;
    a->n++;
}

/* Bytes a counter gained since the stored reading: now - seen, or all of now when the counter
 * object is another one (a new handle) or went backwards (made anew). */
static int64_t meter_gain(uint64_t now, uint64_t handle, int64_t seen, int64_t seen_handle)
{
    if ((int64_t)handle != seen_handle || now < (uint64_t)seen)
        return (int64_t)now;
    return (int64_t)(now - (uint64_t)seen);
}

/* The counters are never reset (net.h): each reading is stored as the new "seen" in the same
 * UPDATE as the totals it was added to, so a store error leaves the old reading and the next
 * tick counts the same bytes again, and a crash loses nothing (the kernel keeps counting). */
void ctl_net_meter(struct ctl *ctx)
{
    struct ctl_net *n = ctx->net;
    if (!n)
        return;
    struct meter_acc a = { 0 };
    char err[256];
    if (net_counters_read(n->net, meter_collect, &a, err, sizeof(err)) < 0) {
        log_warn(NULL, "net: counters", "{s:s}", "err", err);
        free(a.v);
        return;
    }
    for (size_t i = 0; i < a.n; i++) {
        const struct net_counter_reading *v = &a.v[i].v;
        struct store_sandbox sb;
        store_sandbox_init(&sb);
        if (store_sandbox_get(ctx->store, NULL, a.v[i].id, &sb) < 0)
            continue;
        const struct store_bw_seen *seen = &sb.bw_seen;
        int64_t eg = meter_gain(v->egress, v->egress_handle, seen->egress, seen->egress_handle);
        int64_t in = meter_gain(v->ingress, v->ingress_handle, seen->ingress,
                                seen->ingress_handle);
        if (eg == 0 && in == 0 && (int64_t)v->egress_handle == seen->egress_handle &&
            (int64_t)v->ingress_handle == seen->ingress_handle) {
            store_sandbox_release(&sb);
            continue; /* nothing new */
        }
        int64_t used = sb.bw_used_bytes + eg;
        bool capped = sb.bw_quota_bytes >= 0 && used >= sb.bw_quota_bytes;
        struct store_sandbox_patch p = {
            .fields = STORE_PATCH_BW_COUNTERS | STORE_PATCH_BW_SEEN,
            .bw_used_bytes = used,
            .bw_ingress_bytes = sb.bw_ingress_bytes + in,
            .bw_capped = capped,
            .bw_seen = { .egress = (int64_t)v->egress, .ingress = (int64_t)v->ingress,
                         .egress_handle = (int64_t)v->egress_handle,
                         .ingress_handle = (int64_t)v->ingress_handle },
            .now_ms = timefmt_now_ms(),
        };
        int r = store_sandbox_update(ctx->store, NULL, a.v[i].id, &p);
        if (r < 0)
            log_warn(NULL, "net: store counters (counted at the next reading)", "{s:s,s:s}",
                     "sandbox", a.v[i].id, "err", strerror(-r));
        if (r == 0 && capped != sb.bw_capped) {
            if (net_sandbox_set_capped(n->net, a.v[i].id, capped, err, sizeof(err)) < 0)
                log_warn(NULL, "net: cap", "{s:s,s:s}", "sandbox", a.v[i].id, "err", err);
            else
                log_info(NULL, capped ? "sandbox egress capped" : "sandbox egress uncapped",
                         "{s:s,s:I,s:I}", "sandbox", a.v[i].id, "used_bytes", (json_int_t)used,
                         "quota_bytes", (json_int_t)sb.bw_quota_bytes);
        }
        store_sandbox_release(&sb);
    }
    free(a.v);
}

static void meter_tick(evutil_socket_t fd, short what, void *ud)
{
    (void)fd;
    (void)what;
    ctl_net_meter(ud);
}

/* ---- DNS: who asks, and the names hearth answers ---- */

static bool dns_client(void *ud, uint32_t src, char id[64])
{
    struct ctl_net *n = ud;
    const char *sb = addrs_find(n, src);
    if (!sb)
        return false;
    snprintf(id, 64, "%s", sb);
    return true;
}

/* The address of hostname host on network (id) if it is a member there. */
static bool member_ip(struct ctl_net *n, const char *network_id, const char *host, uint32_t *ip)
{
    struct store_member *m = NULL;
    size_t nm = 0;
    bool found = false;
    if (store_member_list(n->ctx->store, network_id, NULL, &m, &nm) < 0)
        return false;
    for (size_t i = 0; i < nm && !found; i++)
        if (strcmp(m[i].hostname, host) == 0) {
            *ip = ip_parse(m[i].ip);
            found = *ip != 0;
        }
    free(m);
    return found;
}

static int dns_local(void *ud, const char *id, const char *qname, uint32_t *addrs, size_t *n_addrs,
                     uint32_t *ttl)
{
    struct ctl_net *n = ud;
    size_t ql = strlen(qname), sl = strlen(INTERNAL_SUFFIX);
    bool internal = ql > sl && strcmp(qname + ql - sl, INTERNAL_SUFFIX) == 0;
    bool single = !strchr(qname, '.');
    if ((!internal && !single) || *n_addrs == 0)
        return 0;
    struct store_member *mine = NULL;
    size_t nm = 0;
    if (store_member_list(n->ctx->store, NULL, id, &mine, &nm) < 0)
        return internal ? -1 : 0;
    int r = internal ? -1 : 0;
    char host[256] = "", netname[256] = "";
    if (internal) { /* <host>.<network>.hearth.internal */
        size_t rest = ql - sl;
        const char *dot = memchr(qname, '.', rest);
        if (dot && (size_t)(dot - qname) < sizeof(host) && rest - (size_t)(dot - qname) - 1 <
                                                                sizeof(netname)) {
            memcpy(host, qname, (size_t)(dot - qname));
            host[dot - qname] = '\0';
            memcpy(netname, dot + 1, rest - (size_t)(dot - qname) - 1);
            netname[rest - (size_t)(dot - qname) - 1] = '\0';
        }
    } else {
        snprintf(host, sizeof(host), "%s", qname);
    }
    for (size_t i = 0; i < nm && host[0]; i++) {
        if (internal && strcmp(mine[i].network_name, netname) != 0)
            continue;
        uint32_t ip;
        if (member_ip(n, mine[i].network_id, host, &ip)) {
            addrs[0] = ip;
            *n_addrs = 1;
            *ttl = LOCAL_TTL;
            r = 1;
            break;
        }
    }
    free(mine);
    return r;
}

static void dns_answered(void *ud, const char *id, const char *qname, const uint32_t *addrs,
                         size_t n_addrs, uint32_t ttl)
{
    struct ctl_net *n = ud;
    net_learn(n->net, id, qname, addrs, n_addrs, ttl);
}

static bool dns_allowed(void *ud, const char *id, const char *qname)
{
    struct ctl_net *n = ud;
    return net_name_allowed(n->net, id, qname);
}

static const struct dns_hooks hooks = {
    .client = dns_client,
    .local = dns_local,
    .answered = dns_answered,
    .allowed = dns_allowed,
};

bool ctl_net_dns_stats(struct ctl *ctx, const char *id, struct dns_stats *ret)
{
    memset(ret, 0, sizeof(*ret));
    return ctx->net && ctx->net->dns && dns_server_stats(ctx->net->dns, id, ret);
}

/* One metric family of the per-sandbox series at a time: Prometheus wants each family's
 * samples in one group. */
struct render {
    struct buf *b;
    int family;                     /* 0 queries, 1 bytes, 2 refused */
    int r;
};

static void render_one(void *ud, const char *id, const struct dns_stats *st)
{
    struct render *x = ud;
    if (x->r < 0)
        return;
    unsigned long long a = x->family == 0   ? st->queries
                           : x->family == 1 ? st->bytes_in
                                            : st->refused;
    unsigned long long b = x->family == 1 ? st->bytes_out : st->limited;
    if (x->family == 0)
        x->r = buf_appendf(x->b, "hearth_dns_sandbox_queries_total{sandbox=\"%s\"} %llu\n", id,
                           a);
    else if (x->family == 1)
        x->r = buf_appendf(x->b,
                           "hearth_dns_sandbox_bytes_total{sandbox=\"%s\",dir=\"in\"} %llu\n"
                           "hearth_dns_sandbox_bytes_total{sandbox=\"%s\",dir=\"out\"} %llu\n",
                           id, a, id, b);
    else
        x->r = buf_appendf(x->b, "hearth_dns_sandbox_refused_total{sandbox=\"%s\",why=\"policy\"} "
                                 "%llu\nhearth_dns_sandbox_refused_total{sandbox=\"%s\","
                                 "why=\"rate\"} %llu\n",
                           id, a, id, b);
}

int ctl_net_dns_render(struct ctl *ctx, struct buf *b)
{
    struct dns_stats t;
    if (!ctl_net_dns_stats(ctx, NULL, &t))
        return 0;
    static const char *const head[] = {
        "# HELP hearth_dns_sandbox_queries_total DNS queries per sandbox.\n"
        "# TYPE hearth_dns_sandbox_queries_total counter\n",
        "# HELP hearth_dns_sandbox_bytes_total DNS message bytes per sandbox.\n"
        "# TYPE hearth_dns_sandbox_bytes_total counter\n",
        "# HELP hearth_dns_sandbox_refused_total Refused DNS queries per sandbox.\n"
        "# TYPE hearth_dns_sandbox_refused_total counter\n",
    };
    struct render x = { b, 0, 0 };
    x.r = buf_appendf(b, "# HELP hearth_dns_queries_total DNS queries from sandboxes.\n"
                         "# TYPE hearth_dns_queries_total counter\n"
                         "hearth_dns_queries_total %llu\n"
                         "# HELP hearth_dns_refused_total Queries refused: names the sandbox's "
                         "egress does not allow (policy), or over its rate limit (rate).\n"
                         "# TYPE hearth_dns_refused_total counter\n"
                         "hearth_dns_refused_total{why=\"policy\"} %llu\n"
                         "hearth_dns_refused_total{why=\"rate\"} %llu\n"
                         "# HELP hearth_dns_bytes_total DNS message bytes from (in) and to (out) "
                         "sandboxes.\n"
                         "# TYPE hearth_dns_bytes_total counter\n"
                         "hearth_dns_bytes_total{dir=\"in\"} %llu\n"
                         "hearth_dns_bytes_total{dir=\"out\"} %llu\n",
                      (unsigned long long)t.queries, (unsigned long long)t.refused,
                      (unsigned long long)t.limited, (unsigned long long)t.bytes_in,
                      (unsigned long long)t.bytes_out);
    for (x.family = 0; x.family < 3 && x.r == 0; x.family++) {
        x.r = buf_appendf(b, "%s", head[x.family]);
        if (x.r == 0)
            dns_server_stats_each(ctx->net->dns, render_one, &x);
    }
    /* forwarded queries: the upstream round trip (and retries) a sandbox's lookup waited */
    static const unsigned bounds[] = DNS_FWD_BOUNDS_MS;
    struct dns_fwd_latency l;
    dns_server_fwd_latency(ctx->net->dns, &l);
    if (x.r == 0)
        x.r = buf_appendf(b, "# HELP hearth_dns_forward_duration_seconds Forwarded DNS queries, "
                             "from the sandbox's query to the upstream's answer (or SERVFAIL).\n"
                             "# TYPE hearth_dns_forward_duration_seconds histogram\n");
    uint64_t cum = 0;
    for (size_t i = 0; i < DNS_FWD_BUCKETS && x.r == 0; i++) {
        cum += l.count[i];
        if (i < sizeof(bounds) / sizeof(bounds[0]))
            x.r = buf_appendf(b, "hearth_dns_forward_duration_seconds_bucket{le=\"%g\"} %llu\n",
                              bounds[i] / 1000.0, (unsigned long long)cum);
        else
            x.r = buf_appendf(b, "hearth_dns_forward_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
                                 "hearth_dns_forward_duration_seconds_sum %.6f\n"
                                 "hearth_dns_forward_duration_seconds_count %llu\n"
                                 "# HELP hearth_dns_forward_failures_total Forwarded queries no "
                                 "upstream answered (SERVFAIL).\n"
                                 "# TYPE hearth_dns_forward_failures_total counter\n"
                                 "hearth_dns_forward_failures_total %llu\n",
                              (unsigned long long)cum, l.sum_s, (unsigned long long)cum,
                              (unsigned long long)l.failed);
    }
    return x.r;
}

/* ---- start and stop ---- */

int ctl_net_start(struct ctl *ctx, const struct ctl_net_settings *s, char *err, size_t len)
{
    struct ctl_net *n = calloc(1, sizeof(*n));
    if (!n) {
        snprintf(err, len, "out of memory");
        return -ENOMEM;
    }
    n->ctx = ctx;
    n->dns_udp = n->dns_tcp = -1;
    n->cfg = s->net;
    snprintf(n->ns_name, sizeof(n->ns_name), "%s", s->net.ns_name);
    snprintf(n->uplink, sizeof(n->uplink), "%s", s->net.uplink_root_if);
    n->cfg.ns_name = n->ns_name;
    n->cfg.uplink_root_if = n->uplink;
    n->meter_ms = s->meter_ms > 0 ? s->meter_ms : 1000;
    int r = net_open(&n->cfg, &n->net, err, len);
    if (r == 0 && net_note(n->net)[0])
        log_warn(NULL, "networking: repaired a stale or colliding uplink", "{s:s,s:s,s:s}",
                 "namespace", n->ns_name, "uplink", n->uplink, "what", net_note(n->net));
    if (r == 0) {
        char up[16];
        ip_format(net_uplink(n->net), up);
        log_info(NULL, "networking: uplink", "{s:s,s:s,s:s}", "namespace", n->ns_name, "uplink",
                 n->uplink, "transit", up);
        n->cfg.uplink_net = net_uplink(n->net);
    }
    if (r == 0)
        r = net_gateway_socket(n->net, SOCK_DGRAM, 53, &n->dns_udp, err, len);
    if (r == 0)
        r = net_gateway_socket(n->net, SOCK_STREAM, 53, &n->dns_tcp, err, len);
    if (r == 0) {
        struct dns_config dc = { .upstreams = s->upstreams, .n_upstreams = s->n_upstreams,
                                 .rate_qps = s->dns_rate_qps,
                                 .rate_burst = s->dns_rate_burst };
        r = dns_server_new(ctx->base, n->dns_udp, n->dns_tcp, &dc, &hooks, n, &n->dns);
        if (r < 0)
            snprintf(err, len, "dns server: %s", strerror(-r));
    }
    if (r == 0) {
        n->meter = event_new(ctx->base, -1, EV_PERSIST, meter_tick, ctx);
        struct timeval tv = { n->meter_ms / 1000, (n->meter_ms % 1000) * 1000 };
        if (!n->meter || event_add(n->meter, &tv) < 0) {
            snprintf(err, len, "meter timer");
            r = -ENOMEM;
        }
    }
    ctx->net = n;
    if (r < 0)
        ctl_net_stop(ctx);
    return r;
}

void ctl_net_stop(struct ctl *ctx)
{
    struct ctl_net *n = ctx->net;
    if (!n)
        return;
    if (n->net && n->meter)
        ctl_net_meter(ctx);
    if (n->meter)
        event_free(n->meter);
    dns_server_free(n->dns);
    if (n->dns_udp >= 0)
        close(n->dns_udp);
    if (n->dns_tcp >= 0)
        close(n->dns_tcp);
    bool opened = n->net != NULL;
    net_close(n->net);
    /* A clean stop removes what this instance created, unless VMs still run: they outlive
     * hearthd by design (docs/operations.md "VMs across restarts") and keep their network for
     * the next start; `hearthd net down` removes it once they are gone. Kept taps (paused
     * sandboxes) go with the namespace or close with the process. */
    unsigned vms = ctl_vm_count(ctx);
    if (opened && vms == 0) {
        for (size_t i = 0; i < n->n_taps; i++)
            close(n->taps[i].fd);
        n->n_taps = 0;
        char err[512];
        if (net_teardown(&n->cfg, err, sizeof(err)) < 0)
            log_warn(NULL, "networking: cannot remove the namespace", "{s:s,s:s}", "namespace",
                     n->ns_name, "err", err);
        else
            log_info(NULL, "networking removed: no vm runs", "{s:s,s:s}", "namespace",
                     n->ns_name, "uplink", n->uplink);
    } else if (opened) {
        log_info(NULL, "networking kept for the running vms; `hearthd net down` removes it "
                 "once they are gone", "{s:s,s:i}", "namespace", n->ns_name, "vms", (int)vms);
    }
    /* kept taps close with the process (hearthd is exiting): no wait on their teardown here */
    free(n->taps);
    free(n->addrs);
    free(n->held);
    free(n);
    ctx->net = NULL;
}
