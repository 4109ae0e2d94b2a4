/* SPDX-License-Identifier: MIT */
/* endpoint.c: the endpoint URL parser and the address policy of endpoint.h. The URL is a
 * user's string that hearthd will connect to on the user's behalf, so both are strict: a shape
 * the parser does not know is refused rather than guessed, and an address is judged in its
 * IPv4 form whatever IPv6 wrapping it comes in (docs/disks.md "Endpoint checks"). */
#include "daemon/disk/endpoint.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* A DNS name: labels of [a-z0-9-] (and '_', seen in real bucket hosts), 1-63 each, not
 * starting or ending with '-'; at most 253 in all. */
static bool dns_name_ok(const char *h, size_t n)
{
    if (n == 0 || n > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (c == '.') {
            if (label == 0 || h[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        if (!is_alnum(c) && c != '-' && c != '_')
            return false;
        if (c == '-' && label == 0)
            return false;
        if (++label > 63)
            return false;
    }
    return label > 0 ? h[n - 1] != '-' : true; /* a trailing dot is a valid FQDN */
}

/* Path characters: RFC 3986 pchar and '/' without percent escapes (an escaped "." or "/"
 * would be folded by some servers into a path other than the one signed). */
static bool path_ok(const char *p, size_t n)
{
    static const char extra[] = "-._~!$&'()*+,;=:@/";
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(p[i]) && !strchr(extra, p[i]))
            return false;
    /* no "." or ".." segment: servers would fold them and sign something else */
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && p[j] != '/')
            j++;
        size_t len = j - i;
        if ((len == 1 && p[i] == '.') || (len == 2 && p[i] == '.' && p[i + 1] == '.'))
            return false;
        i = j + 1;
    }
    return true;
}

int disk_endpoint_parse(const char *url, struct disk_endpoint *ret, const char **why)
{
    static const char *dummy;
    if (!why)
        why = &dummy;
    struct disk_endpoint e = { 0 };
    *why = "expected an http:// or https:// URL";
    if (!url || !ret)
        return -EINVAL;
    size_t len = strnlen(url, DISK_ENDPOINT_MAX + 1);
    if (len > DISK_ENDPOINT_MAX) {
        *why = "endpoint too long (at most 511 bytes)";
        return -EINVAL;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c >= 0x7f) {
            *why = "endpoint holds a space, a control or a non-ASCII character";
            return -EINVAL;
        }
    }
    const char *p;
    if (strncasecmp(url, "https://", 8) == 0) {
        e.https = true;
        p = url + 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        p = url + 7;
    } else {
        return -EINVAL;
    }
    if (strpbrk(p, "?#")) {
        *why = "endpoint must not have a query or a fragment";
        return -EINVAL;
    }
    size_t auth_len = strcspn(p, "/");
    if (memchr(p, '@', auth_len)) {
        *why = "endpoint must not hold user information (credentials go in credentials)";
        return -EINVAL;
    }
    const char *host = p, *port = NULL;
    size_t host_len;
    if (p[0] == '[') {
        const char *close = memchr(p, ']', auth_len);
        if (!close) {
            *why = "bad IPv6 literal in endpoint";
            return -EINVAL;
        }
        host = p + 1;
        host_len = (size_t)(close - host);
        if (close + 1 < p + auth_len) {
            if (close[1] != ':') {
                *why = "bad IPv6 literal in endpoint";
                return -EINVAL;
            }
            port = close + 2;
        }
        char tmp[INET6_ADDRSTRLEN];
        struct in6_addr a6;
        if (host_len == 0 || host_len >= sizeof(tmp)) {
            *why = "bad IPv6 literal in endpoint";
            return -EINVAL;
        }
        memcpy(tmp, host, host_len);
        tmp[host_len] = '\0';
        if (inet_pton(AF_INET6, tmp, &a6) != 1) {
            *why = "bad IPv6 literal in endpoint";
            return -EINVAL;
        }
        e.host_is_ip = e.host_is_v6 = true;
    } else {
        const char *colon = memchr(p, ':', auth_len);
        host_len = colon ? (size_t)(colon - p) : auth_len;
        if (colon)
            port = colon + 1;
    }
    if (host_len == 0) {
        *why = "endpoint has no host";
        return -EINVAL;
    }
    if (host_len >= sizeof(e.host)) {
        *why = "endpoint host too long";
        return -EINVAL;
    }
    for (size_t i = 0; i < host_len; i++)
        e.host[i] = lower(host[i]);
    e.host[host_len] = '\0';
    if (!e.host_is_ip) {
        struct in_addr a4;
        if (inet_pton(AF_INET, e.host, &a4) == 1) {
            e.host_is_ip = true;
        } else if (!dns_name_ok(e.host, host_len)) {
            *why = "endpoint host is not a valid host name";
            return -EINVAL;
        } else {
            /* an all-digit last label (010.0.0.1, 2130706433) or a hex one is a numeric form
             * some resolvers still read as an address: not a host name */
            const char *last = strrchr(e.host, '.');
            last = last && last[1] ? last + 1 : e.host;
            size_t digits = strspn(last, "0123456789");
            if (last[digits] == '\0' || last[digits] == '.' || strncmp(last, "0x", 2) == 0) {
                *why = "endpoint host is neither a host name nor a plain IP address";
                return -EINVAL;
            }
        }
    }
    e.port = e.https ? 443 : 80;
    if (port) {
        size_t plen = (size_t)(p + auth_len - port);
        unsigned v = 0;
        if (plen == 0 || plen > 5) {
            *why = "bad port in endpoint";
            return -EINVAL;
        }
        for (size_t i = 0; i < plen; i++) {
            if (port[i] < '0' || port[i] > '9') {
                *why = "bad port in endpoint";
                return -EINVAL;
            }
            v = v * 10 + (unsigned)(port[i] - '0');
        }
        if (v == 0 || v > 65535) {
            *why = "bad port in endpoint";
            return -EINVAL;
        }
        e.port = (uint16_t)v;
    }
    const char *path = p + auth_len;
    size_t path_len = strlen(path);
    while (path_len > 0 && path[path_len - 1] == '/')
        path_len--;
    if (!path_ok(path, path_len) || memmem(path, path_len, "//", 2)) {
        *why = "endpoint path holds characters or segments that are not allowed";
        return -EINVAL;
    }
    memcpy(e.path, path, path_len);
    e.path[path_len] = '\0';
    *ret = e;
    *why = "";
    return 0;
}

/* ---- the address policy ---- */

static bool in_cidr(const struct disk_cidr *c, int family, const uint8_t *a)
{
    if (c->family != family)
        return false;
    unsigned full = c->prefix / 8, rest = c->prefix % 8;
    if (memcmp(c->addr, a, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff00u >> rest);
    return (c->addr[full] & mask) == (a[full] & mask);
}

static bool in_list(const struct disk_cidr *list, size_t n, int family, const uint8_t *a)
{
    for (size_t i = 0; i < n; i++)
        if (in_cidr(&list[i], family, a))
            return true;
    return false;
}

/* The fixed rules for an IPv4 address (a[0..4)); NULL when none refuses it. */
static const char *v4_refusal(const uint8_t *a)
{
    uint32_t v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
    if (v == 0)
        return "the unspecified address";
    if (a[0] == 0)
        return "in 0.0.0.0/8 (this network)";
    if (a[0] == 127)
        return "loopback";
    if (a[0] == 169 && a[1] == 254)
        return "link-local (cloud metadata lives there)";
    if (v == 0xffffffffu)
        return "the broadcast address";
    if (a[0] >= 224 && a[0] <= 239)
        return "multicast";
    if (a[0] >= 240)
        return "reserved (240.0.0.0/4)";
    return NULL;
}

int disk_addr_judge(const struct disk_addr_policy *p, const struct sockaddr *sa, const char **why)
{
    static const char *dummy;
    if (!why)
        why = &dummy;
    *why = "not an IP address";
    if (!sa)
        return -EACCES;
    uint8_t a[16];
    int family = sa->sa_family;
    if (family == AF_INET) {
        memcpy(a, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
    } else if (family == AF_INET6) {
        memcpy(a, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
    } else {
        return -EACCES;
    }
    /* the operator's allow list comes first, in the form the address arrived in */
    if (p && in_list(p->allow, p->n_allow, family, a)) {
        *why = "";
        return 0;
    }
    if (family == AF_INET6) {
        static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
        static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 };
        static const uint8_t zero[16] = { 0 };
        bool compat = memcmp(a, zero, 12) == 0 && memcmp(a + 12, zero, 4) != 0;
        if (memcmp(a, zero, 16) == 0) {
            *why = "the unspecified address";
            return -EACCES;
        }
        if (memcmp(a, zero, 15) == 0 && a[15] == 1) {
            *why = "loopback";
            return -EACCES;
        }
        if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0 || compat) {
            /* an IPv4 address in IPv6 clothes: judged as itself, allow list included */
            uint8_t v4[4];
            memcpy(v4, a + 12, 4);
            if (p && in_list(p->allow, p->n_allow, AF_INET, v4)) {
                *why = "";
                return 0;
            }
            memcpy(a, v4, 4);
            family = AF_INET;
        } else if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) {
            *why = "link-local";
            return -EACCES;
        } else if (a[0] == 0xff) {
            *why = "multicast";
            return -EACCES;
        } else if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) {
            *why = "site-local (deprecated)";
            return -EACCES;
        }
    }
    if (family == AF_INET && (*why = v4_refusal(a)) != NULL)
        return -EACCES;
    if (p && in_list(p->own, p->n_own, family, a)) {
        *why = "inside one of hearth's own networks";
        return -EACCES;
    }
    *why = "";
    return 0;
}
