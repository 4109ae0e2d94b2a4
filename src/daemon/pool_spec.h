/* SPDX-License-Identifier: MIT */
/* pool_spec.h: the warm_pool config value (docs/operations.md "Warm pools"): which warm pools
 * hearthd keeps, as text. Pure syntax, no catalog: ctl/pool.c checks the names at start. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define POOL_SPEC_MAX 16            /* pools in one config */
#define POOL_SPEC_MAX_COUNT 64      /* VMs in one pool */
#define POOL_SPEC_NAME_SIZE 64      /* a rootfs name or a shape id, with its NUL */
#define POOL_SPEC_LABEL_SIZE 160    /* "minimal/s-1vcpu-256mb/2048" */

struct pool_spec {
    char rootfs[POOL_SPEC_NAME_SIZE];   /* a catalog name: "minimal", "devbox:1" */
    char shape[POOL_SPEC_NAME_SIZE];    /* a shape id: "s-1vcpu-256mb" */
    uint64_t disk_mib;                  /* 0: the shape's default disk */
    unsigned count;                     /* VMs kept ready: 1..POOL_SPEC_MAX_COUNT */
    char label[POOL_SPEC_LABEL_SIZE];   /* the entry as written, without "=count": the pool's
                                           name in metrics and logs */
};

/* Parses text: entries separated by spaces, tabs or commas, each ROOTFS/SHAPE[/DISK_MIB]=COUNT
 * (ROOTFS [A-Za-z0-9._:-]{1,63}, SHAPE [a-z0-9-]{1,63}, DISK_MIB 1..16777216, COUNT 1..64);
 * "" or "off": no pools. Fills out (POOL_SPEC_MAX entries) and *ret_n. Returns 0, or -EINVAL
 * with a one-line reason naming the entry in why. A repeated (rootfs, shape, disk) is an
 * error. */
int pool_spec_parse(const char *text, struct pool_spec *out, size_t *ret_n, char *why,
                    size_t why_len);
