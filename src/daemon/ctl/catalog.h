/* SPDX-License-Identifier: MIT */
/* catalog.h: what a sandbox can be made of (docs/api.md §2.3, §2.4): the built-in shapes and
 * the rootfs catalog, and the one mapping from a rootfs name to the absolute image path the
 * host boots (host.h always gets absolute paths). Reads the images dir; no store. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctl;
struct hd_config;

struct ctl_shape {
    const char *id;
    int32_t vcpu;
    int64_t mem_mib;
    int64_t default_disk_mib;
    int32_t cpu_quota_pct;       /* 0 = no cap (field omitted) */
};

struct ctl_rootfs {
    const char *name;            /* catalog name: "devbox:1" */
    const char *file;            /* image file in the images dir: "debian-12.ext4" */
    const char *description;
};

/* The built-in shapes in catalog order (static; *ret_n of them). */
const struct ctl_shape *ctl_shapes(size_t *ret_n);
/* The built-in shape with that id, or NULL. */
const struct ctl_shape *ctl_shape_find(const char *id);
/* Every catalog image, present or not (static; *ret_n of them). */
const struct ctl_rootfs *ctl_rootfs_all(size_t *ret_n);
/* Whether image file (or "vmlinux") is readable in the images dir. */
bool ctl_image_present(const struct ctl *c, const char *file);
/* The catalog image with that name, or NULL. Only images present in the images dir count
 * (others are disabled). */
const struct ctl_rootfs *ctl_rootfs_find(const struct ctl *c, const char *name);
/* A present catalog image by name, else by an operator alias (rootfs_aliases, docs/templates.md
 * "The catalog"): what a Dockerfile's FROM and create's rootfs resolve through. NULL when
 * neither names a present image. */
const struct ctl_rootfs *ctl_rootfs_resolve(const struct ctl *c, const char *name);
/* Checks the config's rootfs_aliases against the catalog: every target a catalog name, no
 * alias one. Returns 0, or -EINVAL with a config error line in reterr (len bytes). */
int ctl_rootfs_aliases_check(const struct hd_config *cfg, char *reterr, size_t len);
/* The default image's name ("devbox:1"). */
const char *ctl_rootfs_default(void);
/* The absolute path of the image to boot rootfs with a disk of disk_mib in out (len bytes):
 * <stem>.<N>.ext4, a variant grown offline to N MiB, when one fits the disk and exists, else
 * the base image <file> (its file system is then grown in the guest). */
void ctl_rootfs_image(const struct ctl *c, const struct ctl_rootfs *rootfs, uint64_t disk_mib,
                      char *out, size_t len);
