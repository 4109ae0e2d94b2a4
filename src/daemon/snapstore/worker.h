/* SPDX-License-Identifier: MIT */
/* worker.h: one blocking job (an upload or a fetch) on a thread of its own, its end reported
 * on the libevent loop: the thread writes one byte to a pipe the loop watches, and the loop
 * joins it and calls done. No libevent call crosses threads; the job's memory is the caller's
 * until done runs. hearthd's only threads besides these are disk probes, OCI imports and the
 * RAM checksum's: uploads are minutes of network I/O that the loop must not wait for. */
#pragma once

struct event_base;
struct snap_worker;

typedef void (*snap_work_fn)(void *arg);     /* on the thread */
typedef void (*snap_done_fn)(void *arg);     /* on the loop, once, after work returned */

/* Starts work(arg) on a new thread. 0 (done runs later, exactly once), -ENOMEM, -EAGAIN. */
__attribute__((warn_unused_result))
int snap_worker_start(struct event_base *base, snap_work_fn work, snap_done_fn done, void *arg);
/* Threads started and not yet reported. */
unsigned snap_worker_running(void);
/* At exit: waits for every thread to end (their done callbacks never run). The caller has
 * asked them to stop (struct snap_xfer_ctl's cancel). */
void snap_worker_drain(void);
