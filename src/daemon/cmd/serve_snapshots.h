/* SPDX-License-Identifier: MIT */
/* serve_snapshots.h: what `hearthd serve` sets up for snapshots on S3 (docs/snapshots.md
 * "Snapshots on S3"), kept out of cmd_serve.c: the snapshot_s3_* keys checked, the secret key
 * read from its file, and the control layer's store started. */
#pragma once

struct hd_config;
struct ctl;

/* Starts the snapshot store when snapshot_store = s3 (after reconcile: it queues the uploads
 * a stopped hearthd left). 0, or -errno after logging why (hearthd then does not start: a
 * configured store that cannot work must not silently keep snapshots local only). */
int serve_snapshots_start(const struct hd_config *cfg, struct ctl *c);
