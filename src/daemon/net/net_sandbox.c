/* SPDX-License-Identifier: MIT */
/* net_sandbox.c: per-sandbox data-plane state: apply/remove/prune, capped, private networks,
 * DNS learning and byte counters. Keeps a small cache per sandbox (its last rules and the names
 * the resolver gave it) so that an apply re-derives the DNS sets; the kernel's DNS set elements
 * carry their name as a comment, which is how a restarted hearthd gets the cache back. */
#include "daemon/net/net_internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/grow.h"
#include "common/parse.h"
#include "common/mono.h"

#define NFT_TEXT_MAX (64u << 20)

uint64_t net_now_us(void)
{
    return (uint64_t)mono_now_us();
}

bool net_id_valid(const char *id)
{
    if (!id)
        return false;
    size_t len = strnlen(id, NET_ID_MAX + 1);
    return len > 0 && len <= NET_ID_MAX && ascii_word(id, len, "_-");
}

static struct net_sb *sb_find(struct net *n, const char *id)
{
    for (struct net_sb *s = n->sbs; s; s = s->next)
        if (strcmp(s->id, id) == 0)
            return s;
    return NULL;
}

static struct net_sb *sb_get(struct net *n, const char *id)
{
    struct net_sb *s = sb_find(n, id);
    if (s)
        return s;
    s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    snprintf(s->id, sizeof(s->id), "%s", id);
    net_tap_name(id, s->tap);
    s->next = n->sbs;
    n->sbs = s;
    return s;
}

static void sb_free(struct net_sb *s)
{
    for (size_t i = 0; i < s->n_learned; i++)
        free(s->learned[i].name);
    free(s->learned);
    free(s->rules);
    free(s);
}

static void sb_forget(struct net *n, const char *id)
{
    for (struct net_sb **p = &n->sbs; *p; p = &(*p)->next) {
        if (strcmp((*p)->id, id) == 0) {
            struct net_sb *s = *p;
            *p = s->next;
            sb_free(s);
            return;
        }
    }
}

void net_sb_free_all(struct net *n)
{
    while (n->sbs) {
        struct net_sb *s = n->sbs;
        n->sbs = s->next;
        sb_free(s);
    }
}

/* Runs the text in b (NUL-terminated here) in the hearth namespace. */
/* Runs the transaction text in b, which built (the result of writing it: 0 or -errno) says is
 * whole; releases b either way. */
static int run(struct net *n, struct buf *b, int built, char **json, char *err, size_t errlen)
{
    int r = built;
    if (r < 0)
        snprintf(err, errlen, "cannot build nftables transaction: %s", strerror(-r));
    else if ((r = buf_append(b, "", 1)) < 0)
        snprintf(err, errlen, "nftables transaction too large");
    else
        r = nft_run(&n->nft, (const char *)b->data, json, err, errlen);
    buf_release(b);
    return r;
}

int net_sandbox_tap(const char *id, char tap[NET_TAP_NAME_MAX], char *err, size_t errlen)
{
    if (!net_id_valid(id)) {
        snprintf(err, errlen, "invalid sandbox id");
        return -EINVAL;
    }
    net_tap_name(id, tap);
    return 0;
}

/* Records (name, addr) until expires; evicts expired pairs, then the soonest to expire. */
static void learned_put(struct net_sb *s, const char *name, uint32_t addr, uint64_t expires,
                        uint64_t now)
{
    for (size_t i = 0; i < s->n_learned; i++) {
        struct net_learned *l = &s->learned[i];
        if (l->addr == addr && strcmp(l->name, name) == 0) {
            if (expires > l->expires_us)
                l->expires_us = expires;
            return;
        }
    }
    if (s->n_learned == NET_LEARN_MAX) {
        size_t k = 0;
        for (size_t i = 0; i < s->n_learned; i++) {
            if (s->learned[i].expires_us > now)
                s->learned[k++] = s->learned[i];
            else
                free(s->learned[i].name);
        }
        s->n_learned = k;
        if (k == NET_LEARN_MAX) {
            size_t soonest = 0;
            for (size_t i = 1; i < k; i++)
                if (s->learned[i].expires_us < s->learned[soonest].expires_us)
                    soonest = i;
            free(s->learned[soonest].name);
            s->learned[soonest] = s->learned[--s->n_learned];
        }
    }
    struct net_learned *p = grow_array(s->learned, s->n_learned, &s->cap_learned, sizeof(*p), 16);
    if (!p)
        return;
    s->learned = p;
    char *copy = strdup(name);
    if (!copy)
        return;
    s->learned[s->n_learned++] = (struct net_learned){ copy, addr, expires };
}

static int cmp_dns(const void *a, const void *b)
{
    const struct nftx_dns *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    return (int)x->port - (int)y->port;
}

/* The DNS elements s's learned names give under rules: distinct (addr, port) pairs, each with
 * the longest remaining timeout. Returns the count (*ret owned by the caller) or -ENOMEM. */
static int derive_dns(const struct net_sb *s, const struct egress_rule *rules, size_t n_rules,
                      uint64_t now, struct nftx_dns **ret)
{
    struct egress_match *m = malloc(sizeof(*m));
    size_t n = 0, cap = 0;
    struct nftx_dns *d = NULL;
    if (!m)
        return -ENOMEM;
    for (size_t i = 0; i < s->n_learned; i++) {
        const struct net_learned *l = &s->learned[i];
        if (l->expires_us <= now)
            continue;
        egress_match_name(rules, n_rules, l->name, m);
        if (!m->any)
            continue;
        uint32_t t = (uint32_t)((l->expires_us - now + 999999) / 1000000);
        size_t need = m->all_ports ? 1 : m->n_ports;
        if (n + need > cap) {
            size_t ncap = (n + need) * 2;
            struct nftx_dns *p = realloc(d, ncap * sizeof(*p));
            if (!p) {
                free(d);
                free(m);
                return -ENOMEM;
            }
            d = p;
            cap = ncap;
        }
        for (size_t j = 0; j < need; j++)
            d[n++] = (struct nftx_dns){ l->addr, m->all_ports ? 0 : m->ports[j], t, l->name };
    }
    free(m);
    if (n > 1)
        qsort(d, n, sizeof(*d), cmp_dns);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k > 0 && d[k - 1].addr == d[i].addr && d[k - 1].port == d[i].port) {
            if (d[i].timeout_s > d[k - 1].timeout_s)
                d[k - 1] = d[i];
            continue;
        }
        d[k++] = d[i];
    }
    *ret = d;
    return (int)k;
}

/* Makes the tap's /32 routes exactly ips (source: the gateway). */
static int sync_routes(struct net *n, int ifindex, const uint32_t *ips, size_t n_ips, char *err,
                       size_t errlen)
{
    uint32_t cur[64];
    int nc = rtnl_route_list32(&n->rt, ifindex, cur, 64);
    if (nc < 0) {
        snprintf(err, errlen, "cannot list routes: %s", strerror(-nc));
        return nc;
    }
    for (int i = 0; i < nc; i++) {
        bool keep = false;
        for (size_t j = 0; j < n_ips && !keep; j++)
            keep = cur[i] == ips[j];
        int r = keep ? 0 : rtnl_route_del(&n->rt, cur[i], 32, ifindex);
        if (r < 0) {
            snprintf(err, errlen, "cannot delete route: %s", strerror(-r));
            return r;
        }
    }
    for (size_t j = 0; j < n_ips; j++) {
        int r = rtnl_route_replace(&n->rt, ips[j], 32, 0, ifindex, net_gateway(n));
        if (r < 0) {
            snprintf(err, errlen, "cannot add route to the sandbox: %s", strerror(-r));
            return r;
        }
    }
    return 0;
}

int net_sandbox_apply(struct net *n, const struct net_sandbox *s, char *err, size_t errlen)
{
    if (!net_id_valid(s->id) || s->n_member_ips > NET_MAX_MEMBER_ADDRS || s->ip == 0 ||
        s->n_egress > EGRESS_MAX_RULES) {
        snprintf(err, errlen, "invalid sandbox network state");
        return -EINVAL;
    }
    size_t ncap = s->n_egress ? s->n_egress : 1;
    struct egress_rule *rules = malloc(ncap * sizeof(*rules));
    /* static elements: the private exceptions (pnets) apart from the rest (nets), each list
     * without overlaps, so a wide rule outside the private blocks (0.0.0.0/0) never swallows a
     * private one */
    struct egress_net *nets = malloc(2 * ncap * sizeof(*nets)), *pnets = nets ? nets + ncap : NULL;
    struct egress_rule *split = malloc(ncap * sizeof(*split));
    struct nftx_dns *dns = NULL;
    struct buf b;
    buf_init(&b, NFT_TEXT_MAX);
    int r = -ENOMEM;
    if (!rules || !nets || !split) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    bool all;
    size_t bad = 0;
    r = egress_parse_list(s->egress, s->n_egress, rules, ncap, &all, &bad);
    if (r < 0) {
        snprintf(err, errlen, "invalid egress rule %zu", bad);
        goto out;
    }
    size_t n_rules = (size_t)r;
    struct net_sb *sb = sb_get(n, s->id);
    if (!sb) {
        r = -ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    int ifindex = rtnl_link_index(&n->rt, sb->tap);
    if (ifindex < 0) {
        r = ifindex;
        snprintf(err, errlen, "no tap '%s' for sandbox '%s': %s", sb->tap, s->id,
                 strerror(-r));
        goto out;
    }
    uint32_t ips[1 + NET_MAX_MEMBER_ADDRS];
    ips[0] = s->ip;
    memcpy(ips + 1, s->member_ips, s->n_member_ips * sizeof(ips[0]));
    struct nftx_sandbox x = {
        .id = s->id, .tap = sb->tap, .ips = ips, .n_ips = 1 + s->n_member_ips,
        .allow_all = all, .nets = nets, .pnets = pnets, .capped = s->capped,
    };
    size_t n_split = egress_private_rules(s->egress, s->n_egress, split, ncap);
    x.n_pnets = egress_static_nets(split, n_split, pnets);
    if (!all) {
        n_split = 0;
        for (size_t i = 0; i < n_rules; i++)
            if (rules[i].kind == EGRESS_NET && !egress_net_private(rules[i].addr, rules[i].prefix))
                split[n_split++] = rules[i];
        x.n_nets = egress_static_nets(split, n_split, nets);
        r = derive_dns(sb, rules, n_rules, net_now_us(), &dns);
        if (r < 0) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        x.dns = dns;
        x.n_dns = (size_t)r;
    }
    r = run(n, &b, nftx_sandbox_apply(&b, &x), NULL, err, errlen);
    if (r < 0)
        goto out;
    r = sync_routes(n, ifindex, ips, x.n_ips, err, errlen);
    if (r < 0)
        goto out;
    free(sb->rules);
    sb->rules = rules;
    rules = NULL;
    sb->n_rules = n_rules;
    sb->allow_all = all;
    sb->applied = true;
out:
    buf_release(&b);
    free(dns);
    free(nets);
    free(split);
    free(rules);
    return r;
}

static int sandbox_remove(struct net *n, const char *id, bool delete_tap, char *err,
                          size_t errlen);

int net_sandbox_remove(struct net *n, const char *id, char *err, size_t errlen)
{
    return sandbox_remove(n, id, true, err, errlen);
}

int net_sandbox_unplug(struct net *n, const char *id, char *err, size_t errlen)
{
    return sandbox_remove(n, id, false, err, errlen);
}

static int sandbox_remove(struct net *n, const char *id, bool delete_tap, char *err,
                          size_t errlen)
{
    char tap[NET_TAP_NAME_MAX];
    int r = net_sandbox_tap(id, tap, err, errlen);
    if (r < 0)
        return r;
    struct buf b;
    buf_init(&b, NFT_TEXT_MAX);
    r = run(n, &b, nftx_sandbox_remove(&b, id, tap), NULL, err, errlen);
    if (r < 0)
        return r;
    /* a tap of this name is stale now: its routes go with it */
    r = delete_tap ? rtnl_link_del(&n->rt, tap) : 0;
    if (r < 0) {
        snprintf(err, errlen, "cannot delete tap '%s': %s", tap, strerror(-r));
        return r;
    }
    sb_forget(n, id);
    return 0;
}

/* The sandbox id a per-sandbox object name belongs to, or NULL. */
static const char *object_id(const char *name)
{
    static const char *const prefixes[] = { "ceg_", "cin_", "sp_", "eg_", "pap_", "pa_", "ap_",
                                            "dp_", "a_", "d_" };
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t len = strlen(prefixes[i]);
        if (strncmp(name, prefixes[i], len) == 0 && net_id_valid(name + len))
            return name + len;
    }
    return NULL;
}

/* The name of the nftables object of kind ("chain", "set", "counter") that item of a listing
 * holds, and (ret_obj) the object; NULL when item holds no such object or it has no name. */
static const char *object_name(json_t *item, const char *kind, json_t **ret_obj)
{
    json_t *o = json_object_get(item, kind);
    if (ret_obj)
        *ret_obj = o;
    return json_string_value(json_object_get(o, "name"));
}

/* Lists the table as parsed JSON: the array under "nftables". */
static int list_table(struct net *n, json_t **ret, char *err, size_t errlen)
{
    struct buf b;
    buf_init(&b, 256);
    char *out = NULL;
    int r = buf_appendf(&b, "list table inet %s", NET_TABLE);
    r = run(n, &b, r, &out, err, errlen);
    if (r < 0)
        return r;
    json_t *root = json_loads(out, 0, NULL);
    free(out);
    json_t *arr = json_object_get(root, "nftables");
    if (!json_is_array(arr)) {
        json_decref(root);
        snprintf(err, errlen, "unexpected nftables JSON output");
        return -EBADMSG;
    }
    json_incref(arr);
    json_decref(root);
    *ret = arr;
    return 0;
}

int net_sandbox_prune(struct net *n, const char *const *keep, size_t n_keep, char *err,
                      size_t errlen)
{
    json_t *arr;
    int r = list_table(n, &arr, err, errlen);
    if (r < 0)
        return r;
    /* distinct stale ids, removed after the walk (removal changes the table) */
    char (*stale)[NET_ID_MAX + 1] = NULL;
    size_t n_stale = 0, cap = 0;
    size_t i;
    json_t *item;
    json_array_foreach(arr, i, item) {
        static const char *const kinds[] = { "chain", "set", "counter" };
        for (size_t k = 0; k < 3; k++) {
            const char *name = object_name(item, kinds[k], NULL);
            const char *id = name ? object_id(name) : NULL;
            bool skip = !id;
            for (size_t j = 0; j < n_keep && !skip; j++)
                skip = keep[j] && strcmp(keep[j], id) == 0;
            for (size_t j = 0; j < n_stale && !skip; j++)
                skip = strcmp(stale[j], id) == 0;
            if (skip)
                continue;
            void *p = grow_array(stale, n_stale, &cap, sizeof(*stale), 8);
            if (!p) {
                r = -ENOMEM;
                snprintf(err, errlen, "out of memory");
                goto out;
            }
            stale = p;
            snprintf(stale[n_stale++], NET_ID_MAX + 1, "%s", id);
        }
    }
    for (size_t j = 0; j < n_stale && r == 0; j++)
        r = net_sandbox_remove(n, stale[j], err, errlen);
    /* and whatever hearthd remembers of sandboxes it should not keep */
    for (struct net_sb *s = n->sbs, *next; s && r == 0; s = next) {
        next = s->next;
        bool kept = false;
        for (size_t j = 0; j < n_keep && !kept; j++)
            kept = keep[j] && strcmp(keep[j], s->id) == 0;
        if (!kept)
            sb_forget(n, s->id);
    }
out:
    free(stale);
    json_decref(arr);
    return r;
}

int net_sandbox_set_capped(struct net *n, const char *id, bool capped, char *err, size_t errlen)
{
    char tap[NET_TAP_NAME_MAX];
    int r = net_sandbox_tap(id, tap, err, errlen);
    if (r < 0)
        return r;
    struct buf b;
    buf_init(&b, 4096);
    return run(n, &b, nftx_capped(&b, tap, capped), NULL, err, errlen);
}

void net_learn(struct net *n, const char *id, const char *name, const uint32_t *addrs,
               size_t n_addrs, uint32_t ttl_s)
{
    char lname[EGRESS_HOST_MAX + 1];
    if (!net_id_valid(id) || !egress_name_valid(name) || n_addrs == 0)
        return;
    /* the name came from a guest's query: only its validated, lowercased form goes further */
    size_t len = strlen(name);
    if (name[len - 1] == '.')
        len--;
    for (size_t i = 0; i < len; i++)
        lname[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] - 'A' + 'a') : name[i];
    lname[len] = '\0';
    uint32_t ttl = ttl_s < NET_TTL_MIN ? NET_TTL_MIN : ttl_s > NET_TTL_MAX ? NET_TTL_MAX : ttl_s;
    struct net_sb *s = sb_get(n, id);
    if (!s)
        return;
    uint64_t now = net_now_us();
    for (size_t i = 0; i < n_addrs; i++)
        learned_put(s, lname, addrs[i], now + (uint64_t)ttl * 1000000u, now);
    if (!s->applied || s->allow_all)
        return;
    struct egress_match *m = malloc(sizeof(*m));
    if (!m)
        return;
    egress_match_name(s->rules, s->n_rules, lname, m);
    size_t per = m->all_ports ? 1 : m->n_ports;
    struct nftx_dns *d = m->any ? calloc(n_addrs * per, sizeof(*d)) : NULL;
    size_t k = 0;
    for (size_t i = 0; d && i < n_addrs; i++) {
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++)
            dup = addrs[j] == addrs[i];
        for (size_t p = 0; p < per && !dup; p++)
            d[k++] = (struct nftx_dns){ addrs[i], m->all_ports ? 0 : m->ports[p], ttl, lname };
    }
    if (k > 0) {
        struct buf b;
        char err[256];
        buf_init(&b, NFT_TEXT_MAX);
        /* net_learn has no error path: the resolver answers anyway, and a connection the set
         * misses is refused like any other (the next answer retries) */
        (void)run(n, &b, nftx_dns_add(&b, id, d, k), NULL, err, sizeof(err));
    }
    free(d);
    free(m);
}

bool net_name_allowed(struct net *n, const char *id, const char *name)
{
    struct net_sb *s = sb_find(n, id);
    if (!s || !s->applied)
        return false; /* no rules in force: its egress is closed too */
    if (s->allow_all)
        return true;
    /* 0.0.0.0/0 opens every address outside the private blocks: names can carry nothing out
     * that a connection could not, so they resolve as with open egress (the form that opens
     * egress with private exceptions, since the API stores a list holding "*" as []) */
    for (size_t i = 0; i < s->n_rules; i++)
        if (s->rules[i].kind == EGRESS_NET && s->rules[i].prefix == 0 && s->rules[i].port == 0)
            return true;
    if (!egress_name_valid(name))
        return false; /* escaped bytes, an empty label: no rule can name it */
    struct egress_match *m = malloc(sizeof(*m));
    if (!m)
        return false;
    egress_match_name(s->rules, s->n_rules, name, m);
    bool any = m->any;
    free(m);
    return any;
}

static uint32_t parse_ip4(const char *s, bool *ok)
{
    struct egress_rule r;
    *ok = s && egress_parse(s, &r) == 0 && r.kind == EGRESS_NET && r.prefix == 32 &&
          r.port == 0;
    return *ok ? r.addr : 0;
}

void net_learned_reload(struct net *n)
{
    json_t *arr;
    char err[256];
    if (list_table(n, &arr, err, sizeof(err)) < 0)
        return;
    uint64_t now = net_now_us();
    size_t i;
    json_t *item;
    json_array_foreach(arr, i, item) {
        json_t *set;
        const char *name = object_name(item, "set", &set);
        if (!name || (strncmp(name, "d_", 2) != 0 && strncmp(name, "dp_", 3) != 0))
            continue;
        const char *id = name + (name[1] == '_' ? 2 : 3);
        if (!net_id_valid(id))
            continue;
        size_t j;
        json_t *e;
        json_array_foreach(json_object_get(set, "elem"), j, e) {
            json_t *el = json_object_get(e, "elem");
            const char *dn = json_string_value(json_object_get(el, "comment"));
            json_t *val = json_object_get(el, "val");
            json_t *exp = json_object_get(el, "expires");
            if (json_is_object(val))
                val = json_array_get(json_object_get(val, "concat"), 0);
            bool ok;
            uint32_t addr = parse_ip4(json_string_value(val), &ok);
            if (!ok || !egress_name_valid(dn) || !json_is_integer(exp) ||
                json_integer_value(exp) <= 0)
                continue;
            struct net_sb *s = sb_get(n, id);
            if (s)
                learned_put(s, dn, addr, now + (uint64_t)json_integer_value(exp) * 1000000u,
                            now);
        }
    }
    json_decref(arr);
}

static int network_pair(struct net *n, uint32_t subnet, bool add, char *err, size_t errlen)
{
    struct buf b;
    buf_init(&b, 4096);
    int r = nftx_network(&b, subnet, add);
    r = run(n, &b, r, NULL, err, errlen);
    return r;
}

int net_network_add(struct net *n, uint32_t subnet, char *err, size_t errlen)
{
    return network_pair(n, subnet, true, err, errlen);
}

int net_network_remove(struct net *n, uint32_t subnet, char *err, size_t errlen)
{
    return network_pair(n, subnet, false, err, errlen);
}

struct counted {
    char id[NET_ID_MAX + 1];
    struct net_counter_reading v;
};

int net_counters_read(struct net *n, net_counter_fn fn, void *ud, char *err, size_t errlen)
{
    struct buf b;
    buf_init(&b, 256);
    char *out = NULL;
    /* listed, never reset: a reset hands the bytes to hearthd's memory before they are stored,
     * and a store error or a crash then loses them; the control layer stores absolute readings
     * instead (ctl/netplane.c). A context of its own: libnftables 1.0.6 keeps a cache per
     * context that stays valid while the ruleset generation does not change, and a listing
     * answered from that cache is stale (found by the counters test). */
    struct nft fresh = { 0 };
    int r = buf_appendf(&b, "list counters table inet %s", NET_TABLE);
    if (r == 0)
        r = buf_append(&b, "", 1);
    if (r < 0)
        snprintf(err, errlen, "cannot build nftables transaction: %s", strerror(-r));
    else
        r = nft_init(&fresh, n->nsfd, n->homefd, err, errlen);
    if (r == 0)
        r = nft_run(&fresh, (const char *)b.data, &out, err, errlen);
    nft_release(&fresh);
    buf_release(&b);
    if (r < 0)
        return r;
    json_t *root = json_loads(out, 0, NULL);
    free(out);
    struct counted *c = NULL;
    size_t nc = 0, cap = 0;
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(root, "nftables"), i, item) {
        json_t *ctr;
        const char *name = object_name(item, "counter", &ctr);
        json_t *bytes = json_object_get(ctr, "bytes");
        if (!name || !json_is_integer(bytes) || strlen(name) < 5)
            continue;
        bool eg = strncmp(name, "ceg_", 4) == 0, in = strncmp(name, "cin_", 4) == 0;
        if ((!eg && !in) || !net_id_valid(name + 4))
            continue;
        size_t k = 0;
        while (k < nc && strcmp(c[k].id, name + 4) != 0)
            k++;
        if (k == nc) {
            void *p = grow_array(c, nc, &cap, sizeof(*c), 16);
            if (!p) {
                r = -ENOMEM;
                snprintf(err, errlen, "out of memory");
                break;
            }
            c = p;
            c[nc] = (struct counted){ .v.egress = 0 };
            snprintf(c[nc].id, sizeof(c[nc].id), "%s", name + 4);
            nc++;
        }
        uint64_t v = (uint64_t)json_integer_value(bytes);
        json_t *h = json_object_get(ctr, "handle");
        uint64_t handle = json_is_integer(h) ? (uint64_t)json_integer_value(h) : 0;
        if (eg) {
            c[k].v.egress = v;
            c[k].v.egress_handle = handle;
        } else {
            c[k].v.ingress = v;
            c[k].v.ingress_handle = handle;
        }
    }
    json_decref(root);
    for (size_t k = 0; k < nc && r == 0; k++)
        fn(ud, c[k].id, &c[k].v);
    free(c);
    return r;
}
