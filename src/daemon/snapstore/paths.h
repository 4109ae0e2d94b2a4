/* SPDX-License-Identifier: MIT */
/* paths.h: how a host's local files map to the identities objects on S3 carry (manifest.h):
 * a path under data_dir is named relative to it ("snapshots/<id>/<ulid>",
 * "golden/<key>/disk.qcow2"), a catalog image relative to images_dir; another host with
 * another data_dir finds the same things under its own. Also the counters one upload or fetch
 * reports. Pure but for snap_paths_image_rel (realpath). */
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct snap_paths {
    const char *data_dir;                 /* borrowed */
    const char *images_dir;               /* borrowed */
};

/* What one transfer moved. */
struct snap_xfer_stats {
    uint64_t plain_bytes;                 /* plain bytes of the data chunks covered */
    uint64_t wire_bytes;                  /* compressed bytes sent (upload) or received (fetch) */
    uint64_t chunks_sent;                 /* chunks stored (upload) or fetched (fetch) */
    uint64_t chunks_present;              /* chunks the store had already (upload) */
    uint64_t holes;                       /* all-zero chunks, never stored */
    uint64_t layers;                      /* layer manifests written or fetched */
};

/* Shared with the loop while a transfer runs. */
struct snap_xfer_ctl {
    atomic_bool cancel;                   /* set by the loop: stop at the next chunk */
    atomic_uint_fast64_t done_bytes;      /* plain bytes done so far */
};

/* The part of path under root ("" when path is not strictly under it). Borrowed from path. */
const char *snap_paths_rel(const char *path, const char *root);
/* root + "/" + rel into out. 0 or -ENAMETOOLONG. */
int snap_paths_join(const char *root, const char *rel, char *out, size_t size);
/* The identity of a catalog image a disk backs onto: path under images_dir, or a file of
 * images_dir whose real path is path's (images_dir may hold symlinks into a cache). 0 with
 * rel in out, or -ENOENT. */
int snap_paths_image_rel(const struct snap_paths *p, const char *path, char *out, size_t size);
/* mkdir -p of dir (mode 0700). 0 or -errno. */
int snap_paths_mkdirs(const char *dir);
