/* SPDX-License-Identifier: MIT */
/* plainmig.h: the comparison point of bench_snapshots: QEMU restoring a plain migration stream
 * (every RAM page in it) by itself, the way a VMM without hearth's RAM files restores. */
#pragma once

struct herr;

/* Starts QEMU with hearth's own command line for a memory_mib, 1-vCPU guest (qemu.h, so the
 * device set matches the saved VM's; unconfined, no -sandbox, RAM an empty private file) in
 * workdir/run over a new qcow2 layer on disk (the saved VM's disk), loads the stream file with
 * `migrate-incoming exec:cat`, waits for the migration to complete and `cont`. *ret_ms: spawn
 * to the vCPUs running again (no agent round trip: ours is timed to READY, so the comparison
 * favours the plain side). QEMU is stopped and workdir/run removed before returning. 0 or
 * -errno with e. */
int plainmig_restore(const char *kernel, const char *disk, unsigned memory_mib,
                     const char *stream, const char *workdir, double *ret_ms, struct herr *e);
