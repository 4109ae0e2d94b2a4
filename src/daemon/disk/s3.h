/* SPDX-License-Identifier: MIT */
/* s3.h: a small S3 client on libcurl (CURLOPT_AWS_SIGV4) for the disk code: the bucket probe,
 * and object put/get/delete/list for tests, the benchmark and later snapshot uploads. Every
 * request connects to one address given by the caller (checked against the endpoint policy
 * first: endpoint.h), follows no redirect, speaks http/https only, ignores proxy variables and
 * has a total timeout. Failure reasons are one line and never hold a credential. Blocking: run
 * it off the event loop (probe.h). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/disk/endpoint.h"

#define DISK_S3_WHY_SIZE 160

struct disk_s3 {
    const struct disk_endpoint *ep;
    const char *bucket;
    const char *region;           /* NULL or "": us-east-1 */
    bool path_style;              /* endpoint/bucket/key, else bucket.host/key */
    const char *access_key;
    const char *secret_key;
    const char *connect_ip;       /* numeric address the request goes to (pinned) */
    long timeout_ms;              /* whole request; 0 = 10 s */
};

/* The host name the request connects to: the endpoint's host (path style) or
 * "<bucket>.<host>" (virtual-hosted). 0 or -ENAMETOOLONG / -EINVAL (virtual-hosted on an IP). */
int disk_s3_connect_host(const struct disk_s3 *s, char *out, size_t size);

/* HEAD the bucket. 0, or -errno with why: "cannot connect", "timed out", "tls: …", "access
 * denied (403)", "no such bucket (404)", "redirect (301): wrong region or endpoint",
 * "unexpected status N". */
__attribute__((warn_unused_result))
int disk_s3_head_bucket(const struct disk_s3 *s, char why[DISK_S3_WHY_SIZE]);
/* HEAD an object: 0 when it exists, -ENOENT when not ("no such key (404)"), else as above.
 * Snapshots on S3 ask this before storing a chunk (snapstore/). */
__attribute__((warn_unused_result))
int disk_s3_head_object(const struct disk_s3 *s, const char *key, char why[DISK_S3_WHY_SIZE]);
/* PUT an object from memory. */
__attribute__((warn_unused_result))
int disk_s3_put(const struct disk_s3 *s, const char *key, const void *data, size_t len,
                char why[DISK_S3_WHY_SIZE]);
/* GET an object into a new buffer (*ret, free()) of at most cap bytes (-EFBIG beyond). */
__attribute__((warn_unused_result))
int disk_s3_get(const struct disk_s3 *s, const char *key, size_t cap, uint8_t **ret,
                size_t *ret_len, char why[DISK_S3_WHY_SIZE]);
/* DELETE an object (S3 answers 204 for a missing one too). */
__attribute__((warn_unused_result))
int disk_s3_delete(const struct disk_s3 *s, const char *key, char why[DISK_S3_WHY_SIZE]);
/* ListObjectsV2 of prefix (NULL: all): the raw XML answer (*ret, free(), NUL-terminated) of at
 * most cap bytes. */
__attribute__((warn_unused_result))
int disk_s3_list(const struct disk_s3 *s, const char *prefix, size_t cap, char **ret,
                 char why[DISK_S3_WHY_SIZE]);
