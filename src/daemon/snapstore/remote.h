/* SPDX-License-Identifier: MIT */
/* remote.h: the operator's snapshot store (snapshot_s3_* in hearthd.conf, docs/operations.md):
 * its settings and a connection for one worker thread. The address policy of user disks
 * (disk/endpoint.h: no loopback, no private ranges of hearth's own) does not apply: this
 * endpoint comes from the operator's own file, not from a user, and an S3 server on loopback or
 * a private LAN is the normal case (MinIO next to the hosts). Only http/https, no redirects,
 * no proxies and a per-request timeout still hold (disk/s3.h). Blocking: threads only. */
#pragma once

#include <stdbool.h>

#include "daemon/disk/endpoint.h"
#include "daemon/disk/s3.h"

#define SNAP_REMOTE_KEY_SIZE 256

struct snap_remote {
    char endpoint[DISK_ENDPOINT_MAX + 1]; /* http(s)://host[:port][/prefix] */
    char bucket[64];
    char region[64];                      /* "" = us-east-1 */
    bool path_style;
    char access_key[SNAP_REMOTE_KEY_SIZE];
    char secret_key[SNAP_REMOTE_KEY_SIZE]; /* read from snapshot_s3_secret_key_file */
    long timeout_ms;                      /* per request; 0 = 30 s */
};

/* One thread's connection: the parsed endpoint, the address it is pinned to, and the
 * disk_s3 that points at both (and borrows r's strings: keep r alive). */
struct snap_conn {
    struct disk_endpoint ep;
    char ip[64];
    struct disk_s3 s3;
};

/* Parses r's endpoint and resolves its host (the first IPv4 or IPv6 address). 0, or -EINVAL
 * (bad endpoint) / -EHOSTUNREACH (cannot resolve) with a one-line why. */
__attribute__((warn_unused_result))
int snap_remote_connect(const struct snap_remote *r, struct snap_conn *c,
                        char why[DISK_S3_WHY_SIZE]);
