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
/* How a golden build ended: err 0 (the snapshot exists), or -errno with a one-line msg. */
typedef void (*ctl_golden_done_fn)(void *ud, int err, const char *msg);
/* A step in the booted VM before the pause (a template's start command and ready check): it
 * calls next(next_ud, err, msg) exactly once, later, from the loop. */
typedef void (*ctl_golden_prepare_fn)(struct ctl *c, const char *vm_id, void *ud,
                                      ctl_golden_done_fn next, void *next_ud);

/* A golden build in full (template goldens, template_golden.c). */
struct ctl_golden_spec {
    const char *root;               /* the directory of its <key> dir (made if missing, its
                                       parent must exist); NULL: golden_dir */
    const char *image;              /* absolute: raw (catalog) or qcow2 (a template's layer);
                                       NULL: done gets an error (the caller could not set up) */
    unsigned vcpus, mem_mib;
    uint64_t disk_mib;
    uint32_t cpu_quota_pct;
    bool grow;                      /* resize2fs after the boot */
    ctl_golden_prepare_fn prepare;  /* NULL: none */
    void *prepare_ud;
    void (*prepare_free)(void *ud); /* frees prepare_ud once the build is over; NULL: none */
    ctl_golden_done_fn done;        /* NULL: errors are only logged. Runs once, from the loop
                                       (0 at once when the snapshot exists; a build under way
                                       for the same dir reports to every caller), never after
                                       ctl_golden_stop */
    void *done_ud;
};
void ctl_golden_build_spec(struct ctl *c, const struct ctl_golden_spec *s);
/* The directory of the golden snapshot of (image, shape, disk) under root (NULL: golden_dir)
 * into out (PATH_MAX): a key over the kernel, the image, QEMU, the shape and the disk. 0 or
 * -errno (-ENOENT: kernel or image missing). */
int ctl_golden_dir(struct ctl *c, const char *root, const char *image, unsigned vcpus,
                   unsigned mem_mib, uint64_t disk_mib, char *out);
/* ctl_golden_find under root (NULL: golden_dir), whether or not golden creates are on. */
bool ctl_golden_find_in(struct ctl *c, const char *root, const char *image, unsigned vcpus,
                        unsigned mem_mib, uint64_t disk_mib, char *out);
/* A golden snapshot that failed to restore (another QEMU, a corrupt file): no longer restored,
 * so the next create cold-boots. dir is under golden_dir or the templates' golden/. */
void ctl_golden_discard(struct ctl *c, const char *dir);
/* Shutdown: builds in progress are abandoned and their VMs killed (ctl_stop). */
void ctl_golden_stop(struct ctl *c);
/* Frees the bookkeeping (ctl_release). */
void ctl_golden_release(struct ctl *c);
