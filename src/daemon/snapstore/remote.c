/* SPDX-License-Identifier: MIT */
/* remote.c: resolving the operator's snapshot store (remote.h). */
#include "daemon/snapstore/remote.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int snap_remote_connect(const struct snap_remote *r, struct snap_conn *c,
                        char why[DISK_S3_WHY_SIZE])
{
    memset(c, 0, sizeof(*c));
    const char *w;
    if (disk_endpoint_parse(r->endpoint, &c->ep, &w) < 0) {
        snprintf(why, DISK_S3_WHY_SIZE, "snapshot_s3_endpoint: %s", w);
        return -EINVAL;
    }
    c->s3 = (struct disk_s3){ .ep = &c->ep, .bucket = r->bucket, .region = r->region,
                              .path_style = r->path_style, .access_key = r->access_key,
                              .secret_key = r->secret_key, .connect_ip = c->ip,
                              .timeout_ms = r->timeout_ms > 0 ? r->timeout_ms : 30000 };
    char host[DISK_HOST_SIZE + 64];
    if (disk_s3_connect_host(&c->s3, host, sizeof(host)) < 0) {
        snprintf(why, DISK_S3_WHY_SIZE, "virtual-hosted addressing needs a host name");
        return -EINVAL;
    }
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res) {
        snprintf(why, DISK_S3_WHY_SIZE, "cannot resolve the snapshot store's host");
        return -EHOSTUNREACH;
    }
    for (struct addrinfo *a = res; a && !c->ip[0]; a = a->ai_next) {
        const void *src = a->ai_family == AF_INET
            ? (const void *)&((struct sockaddr_in *)(void *)a->ai_addr)->sin_addr
            : a->ai_family == AF_INET6
            ? (const void *)&((struct sockaddr_in6 *)(void *)a->ai_addr)->sin6_addr
            : NULL;
        if (src && !inet_ntop(a->ai_family, src, c->ip, sizeof(c->ip)))
            c->ip[0] = '\0';
    }
    freeaddrinfo(res);
    if (!c->ip[0]) {
        snprintf(why, DISK_S3_WHY_SIZE, "cannot resolve the snapshot store's host");
        return -EHOSTUNREACH;
    }
    return 0;
}
