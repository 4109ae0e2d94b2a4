/* SPDX-License-Identifier: MIT */
/* host_route.c: the Host header of an ingress request read as `<port>-<ref>.<domain>[:port]`
 * (host_route.h). Strict: one DNS label before the domain, digits without a leading zero for
 * the port, letters, digits and '-' for the ref; anything else is a 400, never a guess. */
#include "daemon/ingress/host_route.h"

#include <errno.h>
#include <string.h>

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool label_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* The host part without ":port" (the port checked to be 1..65535 digits) and a trailing dot. */
static int strip_port(const char *host, size_t len, size_t *ret_len)
{
    if (len == 0 || host[0] == '[')
        return -EINVAL; /* empty, or an IPv6 literal: never a sandbox name */
    const char *colon = memchr(host, ':', len);
    if (colon) {
        size_t at = (size_t)(colon - host), nd = len - at - 1;
        if (nd == 0 || nd > 5)
            return -EINVAL;
        unsigned v = 0;
        for (size_t i = at + 1; i < len; i++) {
            if (host[i] < '0' || host[i] > '9')
                return -EINVAL;
            v = v * 10 + (unsigned)(host[i] - '0');
        }
        if (v == 0 || v > 65535)
            return -EINVAL;
        len = at;
    }
    if (len > 0 && host[len - 1] == '.')
        len--;
    if (len == 0 || len > 253)
        return -EINVAL;
    *ret_len = len;
    return 0;
}

int ingress_host_parse(const char *host, size_t len, const char *domain,
                       struct ingress_host *ret)
{
    if (!host || !domain)
        return -EINVAL;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)host[i] <= ' ' || (unsigned char)host[i] >= 0x7f)
            return -EINVAL;
    int r = strip_port(host, len, &len);
    if (r < 0)
        return r;
    size_t dlen = strlen(domain);
    if (dlen == 0 || len < dlen + 2 || host[len - dlen - 1] != '.')
        return -EDOM;
    for (size_t i = 0; i < dlen; i++)
        if (lower(host[len - dlen + i]) != lower(domain[i]))
            return -EDOM;
    size_t llen = len - dlen - 1; /* the first label: "<port>-<ref>" */
    if (memchr(host, '.', llen))
        return -EDOM; /* deeper than one label under the domain */
    size_t nd = 0;
    unsigned port = 0;
    while (nd < llen && host[nd] >= '0' && host[nd] <= '9') {
        if (nd == 5)
            return -EINVAL;
        port = port * 10 + (unsigned)(host[nd] - '0');
        nd++;
    }
    if (nd == 0 || (nd > 1 && host[0] == '0') || port == 0 || port > 65535)
        return -EINVAL;
    if (nd >= llen || host[nd] != '-')
        return -EINVAL;
    size_t rlen = llen - nd - 1;
    if (rlen == 0 || rlen > INGRESS_REF_MAX)
        return -EINVAL;
    const char *ref = host + nd + 1;
    for (size_t i = 0; i < rlen; i++) {
        char c = lower(ref[i]);
        if (!label_char(c))
            return -EINVAL;
        ret->ref[i] = c;
    }
    if (ref[0] == '-' || ref[rlen - 1] == '-')
        return -EINVAL;
    ret->ref[rlen] = '\0';
    ret->port = (uint16_t)port;
    return 0;
}

bool ingress_host_same(const char *sni, const char *host, size_t host_len)
{
    if (!sni || !host)
        return false;
    const char *colon = memchr(host, ':', host_len);
    if (colon)
        host_len = (size_t)(colon - host);
    if (host_len > 0 && host[host_len - 1] == '.')
        host_len--;
    size_t slen = strlen(sni);
    if (slen > 0 && sni[slen - 1] == '.')
        slen--;
    if (slen != host_len || slen == 0)
        return false;
    for (size_t i = 0; i < slen; i++)
        if (lower(sni[i]) != lower(host[i]))
            return false;
    return true;
}
