/* SPDX-License-Identifier: MIT */
/* egress_rules.c: egress rules (docs/api.md §3.6.3) as data: parse, match a DNS name, derive the static
 * sets. The API validates rules before they are stored; this parser is strict anyway because
 * its output becomes nftables text, and it must never crash on what it is given. */
#include "daemon/net/egress_rules.h"

#include <errno.h>
#include <string.h>

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Decimal 0..max from s[0..len), no sign, no leading zero (except "0"), at most 5 digits. */
static int parse_dec(const char *s, size_t len, unsigned max, unsigned *ret)
{
    if (len == 0 || len > 5 || (len > 1 && s[0] == '0'))
        return -EINVAL;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_digit(s[i]))
            return -EINVAL;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > max)
        return -EINVAL;
    *ret = v;
    return 0;
}

/* Strict dotted quad in s[0..len). */
static int parse_ipv4(const char *s, size_t len, uint32_t *ret)
{
    uint32_t a = 0;
    size_t start = 0;
    int parts = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.')
            continue;
        unsigned v;
        if (parts == 4 || parse_dec(s + start, i - start, 255, &v) < 0)
            return -EINVAL;
        a = a << 8 | v;
        parts++;
        start = i + 1;
    }
    if (parts != 4)
        return -EINVAL;
    *ret = a;
    return 0;
}

/* Validates and lowercases a host name of len bytes into out (EGRESS_HOST_MAX + 1). */
static int parse_host(const char *s, size_t len, char *out)
{
    if (len > 0 && s[len - 1] == '.')
        len--;
    if (len == 0 || len > EGRESS_HOST_MAX)
        return -EINVAL;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        char c = lower(s[i]);
        if (c == '.') {
            if (label == 0 || s[i - 1] == '-')
                return -EINVAL;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || is_digit(c) || c == '-') {
            if (c == '-' && label == 0)
                return -EINVAL;
            if (++label > 63)
                return -EINVAL;
        } else {
            return -EINVAL;
        }
        out[i] = c;
    }
    if (s[len - 1] == '-')
        return -EINVAL;
    out[len] = '\0';
    return 0;
}

int egress_parse(const char *s, struct egress_rule *ret)
{
    if (!s)
        return -EINVAL;
    size_t len = strnlen(s, 300);
    if (len == 0 || len > 260)
        return -EINVAL;
    struct egress_rule r = { .kind = EGRESS_NET };
    if (len == 1 && s[0] == '*') {
        r.kind = EGRESS_ALL;
        *ret = r;
        return 0;
    }
    /* a port follows the last ':'; IPv6 literals (two or more ':') are refused */
    const char *colon = memchr(s, ':', len);
    size_t body = len;
    if (colon) {
        body = (size_t)(colon - s);
        unsigned port;
        if (parse_dec(colon + 1, len - body - 1, 65535, &port) < 0 || port == 0)
            return -EINVAL;
        r.port = (uint16_t)port;
    }
    if (body == 0)
        return -EINVAL;
    const char *slash = memchr(s, '/', body);
    if (slash) {
        size_t alen = (size_t)(slash - s);
        unsigned prefix;
        if (parse_ipv4(s, alen, &r.addr) < 0 ||
            parse_dec(slash + 1, body - alen - 1, 32, &prefix) < 0)
            return -EINVAL;
        r.prefix = (uint8_t)prefix;
        r.addr &= prefix ? ~0u << (32 - prefix) : 0;
    } else if (parse_ipv4(s, body, &r.addr) == 0) {
        r.prefix = 32;
    } else if (body > 2 && s[0] == '*' && s[1] == '.') {
        r.kind = EGRESS_SUFFIX;
        if (parse_host(s + 2, body - 2, r.host) < 0)
            return -EINVAL;
    } else {
        r.kind = EGRESS_HOST;
        if (parse_host(s, body, r.host) < 0)
            return -EINVAL;
    }
    *ret = r;
    return 0;
}

int egress_parse_list(const char *const *rules, size_t n, struct egress_rule *out, size_t cap,
                      bool *ret_all, size_t *ret_bad)
{
    size_t k = 0;
    bool all = n == 0;
    for (size_t i = 0; i < n; i++) {
        struct egress_rule r;
        if (egress_parse(rules[i], &r) < 0) {
            if (ret_bad)
                *ret_bad = i;
            return -EINVAL;
        }
        if (r.kind == EGRESS_ALL) {
            all = true;
            continue;
        }
        if (k == cap)
            return -E2BIG;
        out[k++] = r;
    }
    *ret_all = all;
    return all ? 0 : (int)k;
}

bool egress_name_valid(const char *name)
{
    char tmp[EGRESS_HOST_MAX + 1];
    if (!name)
        return false;
    return parse_host(name, strnlen(name, EGRESS_HOST_MAX + 2), tmp) == 0;
}

void egress_match_name(const struct egress_rule *rules, size_t n, const char *name,
                       struct egress_match *ret)
{
    char host[EGRESS_HOST_MAX + 1];
    ret->any = false;
    ret->all_ports = false;
    ret->n_ports = 0;
    if (!name || parse_host(name, strnlen(name, EGRESS_HOST_MAX + 2), host) < 0)
        return;
    size_t hlen = strlen(host);
    for (size_t i = 0; i < n; i++) {
        const struct egress_rule *r = &rules[i];
        bool hit = false;
        if (r->kind == EGRESS_HOST) {
            hit = strcmp(host, r->host) == 0;
        } else if (r->kind == EGRESS_SUFFIX) {
            /* "x.example.org" ends in ".example.org": strictly below, never the name itself */
            size_t slen = strlen(r->host);
            hit = hlen > slen + 1 && host[hlen - slen - 1] == '.' &&
                  memcmp(host + hlen - slen, r->host, slen) == 0;
        }
        if (!hit)
            continue;
        ret->any = true;
        if (r->port == 0) {
            ret->all_ports = true;
            continue;
        }
        bool seen = false;
        for (size_t j = 0; j < ret->n_ports && !seen; j++)
            seen = ret->ports[j] == r->port;
        if (!seen && ret->n_ports < EGRESS_MAX_PORTS)
            ret->ports[ret->n_ports++] = r->port;
    }
    if (ret->all_ports)
        ret->n_ports = 0;
}

static uint32_t mask_of(uint8_t prefix)
{
    return prefix ? ~0u << (32 - prefix) : 0;
}

/* Whether block a (addr/prefix) lies inside block b. */
static bool net_within(const struct egress_rule *a, const struct egress_rule *b)
{
    return b->prefix <= a->prefix && (a->addr & mask_of(b->prefix)) == b->addr;
}

size_t egress_static_nets(const struct egress_rule *rules, size_t n, struct egress_net *out)
{
    size_t k = 0;
    /* two passes so that every-port entries come first */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < n; i++) {
            const struct egress_rule *a = &rules[i];
            if (a->kind != EGRESS_NET || (pass == 0) != (a->port == 0))
                continue;
            bool covered = false;
            for (size_t j = 0; j < n && !covered; j++) {
                const struct egress_rule *b = &rules[j];
                if (j == i || b->kind != EGRESS_NET || (b->port != 0 && b->port != a->port))
                    continue;
                if (!net_within(a, b))
                    continue;
                /* of two identical entries keep the first; a wider or every-port one wins */
                bool same = b->prefix == a->prefix && b->port == a->port;
                covered = !same || j < i;
            }
            if (!covered)
                out[k++] = (struct egress_net){ a->addr, a->prefix, a->port };
        }
    }
    return k;
}

const struct egress_net egress_private_blocks[EGRESS_N_PRIVATE] = {
    { 0x00000000u, 8, 0 },          /* 0.0.0.0/8 */
    { 0x0a000000u, 8, 0 },          /* 10.0.0.0/8 */
    { 0x64400000u, 10, 0 },         /* 100.64.0.0/10 */
    { 0x7f000000u, 8, 0 },          /* 127.0.0.0/8 */
    { 0xa9fe0000u, 16, 0 },         /* 169.254.0.0/16 */
    { 0xac100000u, 12, 0 },         /* 172.16.0.0/12 */
    { 0xc0a80000u, 16, 0 },         /* 192.168.0.0/16 */
};

bool egress_net_private(uint32_t addr, uint8_t prefix)
{
    for (size_t i = 0; i < EGRESS_N_PRIVATE; i++) {
        const struct egress_net *b = &egress_private_blocks[i];
        if (b->prefix <= prefix && (addr & mask_of(b->prefix)) == b->addr)
            return true;
    }
    return false;
}

size_t egress_private_rules(const char *const *rules, size_t n, struct egress_rule *out,
                            size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < cap; i++) {
        struct egress_rule r;
        if (egress_parse(rules[i], &r) == 0 && r.kind == EGRESS_NET &&
            egress_net_private(r.addr, r.prefix))
            out[k++] = r;
    }
    return k;
}
