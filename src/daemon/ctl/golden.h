/* SPDX-License-Identifier: MIT */
/* golden.h: golden snapshots for create (docs/snapshots.md "Golden snapshots"). image is
 * always an absolute image path (catalog.h). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct ctl;

/* The golden snapshot for booting image with this shape and disk: its directory in out
 * (PATH_MAX) and true when it exists and is complete. */
bool ctl_golden_find(struct ctl *c, const char *image, unsigned vcpus, unsigned mem_mib,
                     uint64_t disk_mib, char *out);
/* Starts building that golden snapshot in the background (a cold-booted VM of its own, its
 * file system grown to the disk when grow, paused into the golden dir) unless it exists or is
 * being built. Errors are logged. */
void ctl_golden_build(struct ctl *c, const char *image, unsigned vcpus, unsigned mem_mib,
                      uint64_t disk_mib, uint32_t cpu_quota_pct, bool grow);
/* A golden snapshot that failed to restore (another QEMU, a corrupt file): no longer restored,
 * so the next create cold-boots. */
void ctl_golden_discard(struct ctl *c, const char *dir);
/* Shutdown: builds in progress are abandoned and their VMs killed (ctl_stop). */
void ctl_golden_stop(struct ctl *c);
/* Frees the bookkeeping (ctl_release). */
void ctl_golden_release(struct ctl *c);
