/* SPDX-License-Identifier: MIT */
/* upload.h: writing one finished snapshot directory to the object store (docs/snapshots.md
 * "Snapshots on S3"): every data chunk of mem, disk.qcow2 and state that the store lacks, then
 * a layer manifest for each qcow2 file under data_dir its disk backs onto (the golden's, a
 * parent snapshot's, a template's layers; each once: they never change), then the snapshot's
 * manifest, last. Blocking: run on a worker thread (worker.h). */
#pragma once

#include <stddef.h>

#include "daemon/disk/s3.h"
#include "daemon/snapstore/paths.h"

#define SNAP_KEY_SIZE 1100

/* Uploads dir (a complete snapshot under p->data_dir). x (may be NULL): cancel is checked
 * between chunks (-ECANCELED) and done_bytes advances. 0 with the manifest's key in key and
 * what moved in *st, or -errno with a one-line why. */
__attribute__((warn_unused_result))
int snap_upload_snapshot(const struct disk_s3 *s, const struct snap_paths *p, const char *dir,
                         struct snap_xfer_ctl *x, struct snap_xfer_stats *st,
                         char key[SNAP_KEY_SIZE], char why[DISK_S3_WHY_SIZE]);
