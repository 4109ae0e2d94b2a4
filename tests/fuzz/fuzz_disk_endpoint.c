/* SPDX-License-Identifier: MIT */
/* fuzz_disk_endpoint.c: libFuzzer driver for the disk endpoint parser and address policy
 * (src/daemon/disk/endpoint.c). The input is a URL; one the parser accepts must hold no
 * control character, space, '?' or '#' (nor '@' in its host), and must be a fixed point: printed back from its
 * parts it parses to the same parts. The input's first bytes are also an address, judged as
 * IPv4 and as its IPv4-mapped IPv6 form, which must get the same verdict.
 * Run: make fuzz FUZZ_TARGETS=disk_endpoint (docs/testing.md "Fuzzing"). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/disk/endpoint.h"

static void check_parsed(const char *url, const struct disk_endpoint *e)
{
    if (!e->host[0] || e->port == 0 || strpbrk(url, "?# \t\r\n") || strchr(e->host, '@'))
        abort();
    if (e->path[0] && (e->path[0] != '/' || e->path[strlen(e->path) - 1] == '/'))
        abort();
    char again[DISK_ENDPOINT_MAX * 2 + 64];
    snprintf(again, sizeof(again), "%s://%s%s%s:%u%s", e->https ? "https" : "http",
             e->host_is_v6 ? "[" : "", e->host, e->host_is_v6 ? "]" : "", e->port, e->path);
    struct disk_endpoint e2;
    if (strlen(again) > DISK_ENDPOINT_MAX)
        return; /* the explicit port can push a long URL over the limit */
    if (disk_endpoint_parse(again, &e2, NULL) != 0 || memcmp(e, &e2, sizeof(e2)) != 0)
        abort();
}

static void check_mapped(const uint8_t *d, size_t n)
{
    if (n < 4)
        return;
    struct disk_cidr own = { .family = AF_INET, .addr = { 10, 88 }, .prefix = 16 };
    struct disk_addr_policy p = { .own = &own, .n_own = 1 };
    struct sockaddr_in s4 = { .sin_family = AF_INET };
    memcpy(&s4.sin_addr, d, 4);
    struct sockaddr_in6 s6 = { .sin6_family = AF_INET6 };
    s6.sin6_addr.s6_addr[10] = 0xff;
    s6.sin6_addr.s6_addr[11] = 0xff;
    memcpy(&s6.sin6_addr.s6_addr[12], d, 4);
    const char *w;
    int a = disk_addr_judge(&p, (struct sockaddr *)&s4, &w);
    int b = disk_addr_judge(&p, (struct sockaddr *)&s6, &w);
    if (a != b)
        abort();
    if (n >= 16) {
        memcpy(&s6.sin6_addr, d, 16);
        (void)disk_addr_judge(&p, (struct sockaddr *)&s6, &w);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = malloc(size + 1);
    if (!url)
        return 0;
    memcpy(url, data, size);
    url[size] = '\0';
    struct disk_endpoint e;
    const char *why = NULL;
    if (disk_endpoint_parse(url, &e, &why) == 0)
        check_parsed(url, &e);
    else if (!why || !*why)
        abort();
    check_mapped(data, size);
    free(url);
    return 0;
}
