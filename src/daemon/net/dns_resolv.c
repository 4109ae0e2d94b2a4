/* SPDX-License-Identifier: MIT */
/* dns_resolv.c: the DNS server's default upstreams, read from resolv.conf-style text. Only
 * "nameserver" lines with an IPv4 address count: the upstream sockets are IPv4. */
#include "daemon/net/dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"

#define RESOLV_MAX (64u << 10)

/* The next whitespace-delimited word of [*p, end), or false at the end of the line. */
static bool word(const char **p, const char *end, const char **ret, size_t *ret_len)
{
    const char *s = *p;
    while (s < end && (*s == ' ' || *s == '\t' || *s == '\r'))
        s++;
    const char *w = s;
    while (s < end && *s != ' ' && *s != '\t' && *s != '\r')
        s++;
    *p = s;
    *ret = w;
    *ret_len = (size_t)(s - w);
    return s > w;
}

static void parse_line(const char *line, const char *end, struct sockaddr_in *out, size_t cap,
                       size_t *n)
{
    const char *w;
    size_t wl;
    if (!word(&line, end, &w, &wl) || wl != 10 || memcmp(w, "nameserver", 10) != 0)
        return;
    if (!word(&line, end, &w, &wl) || wl >= INET_ADDRSTRLEN || *n >= cap)
        return;
    char addr[INET_ADDRSTRLEN];
    memcpy(addr, w, wl);
    addr[wl] = '\0';
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53) };
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
        return; /* IPv6, or junk */
    out[(*n)++] = sa;
}

int dns_upstreams_from_resolv_conf(const char *path, struct sockaddr_in *out, size_t cap,
                                   size_t *n)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct buf b;
    buf_init(&b, RESOLV_MAX);
    int r = buf_read_fd(&b, fd);
    if (r == -EMSGSIZE)
        r = -EFBIG;
    if (r < 0)
        goto out;
    size_t found = 0;
    const char *s = (const char *)b.data, *end = s + b.len;
    while (s && s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *eol = nl ? nl : end;
        parse_line(s, eol, out, cap, &found);
        s = nl ? nl + 1 : end;
    }
    *n = found;
    r = 0;
out:
    buf_release(&b);
    close(fd);
    return r;
}
