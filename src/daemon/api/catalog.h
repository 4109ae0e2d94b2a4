/* SPDX-License-Identifier: MIT */
/* catalog.h: the unversioned probes and the read-only catalog routes (spec/API.md §3.1):
 * healthz, readyz, whoami, shapes, rootfs, hosts; plus the lookups create needs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct api_call;
struct api_ctx;

struct api_shape {
    const char *id;
    int32_t vcpu;
    int64_t mem_mib;
    int64_t default_disk_mib;
    int32_t cpu_quota_pct;       /* 0 = no cap (field omitted) */
};

struct api_rootfs {
    const char *name;            /* catalog name: "devbox:1" */
    const char *file;            /* image file in the images dir: "debian-12.ext4" */
    const char *description;
};

/* The built-in shape with that id, or NULL. */
const struct api_shape *api_shape_find(const char *id);
/* The catalog image with that name, or NULL. Only images present in the images dir count
 * (others are disabled). */
const struct api_rootfs *api_rootfs_find(const struct api_ctx *ctx, const char *name);
/* The default image's name ("devbox:1"). */
const char *api_rootfs_default(void);
/* Why the server cannot take new work ("" when ready); for readyz. */
void api_ready_reason(struct api_ctx *ctx, char *out, size_t len);

void api_get_healthz(struct api_call *call);
void api_get_readyz(struct api_call *call);
void api_get_whoami(struct api_call *call);
void api_get_shapes(struct api_call *call);
void api_get_rootfs(struct api_call *call);
void api_get_hosts(struct api_call *call);
