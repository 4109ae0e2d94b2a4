/* SPDX-License-Identifier: MIT */
/* fetch.h: bringing a snapshot directory back from the object store by its manifest
 * (docs/snapshots.md "Snapshots on S3"): every chunk is fetched, decompressed and checked
 * against its SHA-256 before it is written; holes stay holes (the RAM file comes back sparse);
 * the qcow2 layers its disk backs onto that this host lacks are fetched the same way (each
 * into a temporary name, renamed when whole); meta.json is written last and the directory is
 * renamed into place, so a failed fetch leaves nothing a restore would take for a snapshot.
 * Blocking: run on a worker thread (worker.h). */
#pragma once

#include "daemon/disk/s3.h"
#include "daemon/snapstore/paths.h"

/* Fetches the snapshot whose local path is dir (under p->data_dir; it must not exist). 0 with
 * what moved in *st, or -errno with a one-line why: -ENOENT (no manifest, or a chunk or layer
 * missing in the store), -EBADMSG (a manifest that does not parse or does not match, a chunk
 * whose bytes fail their hash), -errno of the store or the local disk. */
__attribute__((warn_unused_result))
int snap_fetch_snapshot(const struct disk_s3 *s, const struct snap_paths *p, const char *dir,
                        struct snap_xfer_stats *st, char why[DISK_S3_WHY_SIZE]);
