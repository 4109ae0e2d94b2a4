/* SPDX-License-Identifier: MIT */
/* host_sync.h: blocking calls over the event-driven host (host.h), for callers that want to
 * wait: `hearthd vm run`, the benchmarks and the integration tests. Like Redis's syncio over
 * its event loop: each call starts one host operation on a private libevent loop and runs that
 * loop until the operation's callback fired (or a deadline passed), so every caller runs the
 * very engine hearthd runs. Never used by hearthd's own loop (it would stall every VM). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/host/agent_output.h"
#include "daemon/host/host.h"

struct herr;
struct host_sync;

/* Creates a loop and a host on it (host_new() with c). 0 and *ret (host_sync_free()), or
 * host_new()'s error. */
__attribute__((warn_unused_result))
int host_sync_new(const struct host_config *c, struct host_sync **ret);
/* The size of an id host_sync_new_private() draws: "sb-" + a ULID + NUL. */
#define HOST_SYNC_ID_SIZE 32
/* host_sync_new() for one caller's own VMs (a test, a benchmark): in a fresh run root
 * /tmp/<prefix>.XXXXXX (c->run_root is ignored), which host_sync_free() removes once it is
 * empty, with a new VM id ("sb-<ULID>", a run dir name the host accepts) in ret_id. 0, or
 * -errno with nothing left behind. */
__attribute__((warn_unused_result))
int host_sync_new_private(const struct host_config *c, const char *prefix,
                          char ret_id[HOST_SYNC_ID_SIZE], struct host_sync **ret);
/* The run root host_sync_new_private() made; NULL for host_sync_new()'s. */
const char *host_sync_run_root(const struct host_sync *s);
/* host_free() (every VM killed, run dirs removed unless kept), then the loop, then a private
 * run root if it is empty. NULL is fine. */
void host_sync_free(struct host_sync *s);
/* Borrowed; for host_* calls and events of the caller's own (signals, timers). */
struct host *host_sync_host(struct host_sync *s);
struct event_base *host_sync_base(struct host_sync *s);
/* Makes the wait under way (or the next one) return -EINTR: for a callback, e.g. a signal. */
void host_sync_interrupt(struct host_sync *s);

/* Runs the loop until cond(arg) is true (checked after each round of events), deadline_us
 * (monotonic µs; < 0: none) passed (-ETIMEDOUT) or host_sync_interrupt() (-EINTR). 0 when
 * cond held; -ESRCH when no event is left that could make it true (no VM, no operation). */
int host_sync_run(struct host_sync *s, bool (*cond)(void *arg), void *arg, int64_t deadline_us);

/* The host errors as -errno, for callers that report errno values: HOST_OK 0, NOT_FOUND
 * -ENOENT, INVALID its errnum (-EINVAL; a refused snapshot -ESTALE, -EBADMSG), EXISTS -EEXIST,
 * QEMU -ECHILD, GUEST -EIO, TIMEOUT -ETIMEDOUT, GONE -ESRCH, BUSY -EBUSY, CANCELED -ECANCELED,
 * SYSTEM the result's errnum. */
int host_sync_errno(const struct host_result *res);

/* The operations of host.h, waited for. Each returns 0 or host_sync_errno() of the result,
 * with its message in e (may be NULL); -EINTR when interrupted (the operation goes on). */
int host_sync_vm_create(struct host_sync *s, const struct host_vm_spec *spec, struct herr *e);
int host_sync_vm_destroy(struct host_sync *s, const char *id, struct herr *e);
int host_sync_vm_pause(struct host_sync *s, const char *id, const char *snap_dir,
                       struct herr *e);
int host_sync_vm_set_net(struct host_sync *s, const char *id, const char *net_json,
                         struct herr *e);
/* host_vm_snapshot_live(); *ret_stopped_us (may be NULL) gets how long the VM was stopped. */
int host_sync_vm_snapshot_live(struct host_sync *s, const char *id, const char *snap_dir,
                               int64_t *ret_stopped_us, struct herr *e);
/* host_vm_ping(), host_vm_agent_reconnect() (-ETIMEDOUT past deadline_us). */
int host_sync_vm_ping(struct host_sync *s, const char *id, int64_t deadline_us, struct herr *e);
int host_sync_vm_agent_reconnect(struct host_sync *s, const char *id, int64_t deadline_us,
                                 struct herr *e);
/* One raw QMP command (host_vm_qmp()); *ret_json (may be NULL; free()) gets the reply's
 * "return" value as JSON text. -EREMOTEIO when QEMU answered with an error. */
int host_sync_vm_qmp(struct host_sync *s, const char *id, const char *cmd, const char *args_json,
                     int64_t deadline_us, char **ret_json, struct herr *e);
/* Waits until VM id's QEMU exits unasked (host_set_on_exit() belongs to the adapter): 0 and
 * *ret_exit (may be NULL), or -ETIMEDOUT. An exit that came earlier is returned at once. */
int host_sync_vm_wait_exit(struct host_sync *s, const char *id, int64_t deadline_us,
                           struct host_exit *ret_exit);

/* --- streams, waited for (deadline_us: monotonic µs, < 0 none; past it the stream is
 * cancelled and the call returns -ETIMEDOUT) --- */


/* Runs one command and buffers up to out_cap bytes each of stdout and stderr. 0 when the
 * command ran (see *ret; release it), the agent's error (-ENOENT: no such program or cwd,
 * ...), -ETIMEDOUT, or the VM's (-ENOENT no VM, -EBUSY not running, -ECONNRESET lost). */
int host_sync_exec(struct host_sync *s, const char *id, const struct agent_exec_req *req,
                   size_t out_cap, int64_t deadline_us, struct agent_exec_result *ret,
                   struct herr *e);
/* Starts n commands at once and waits for all; rets[i] and errs[i] (may be NULL) as
 * host_sync_exec(). Returns 0 when every one ran, else the first error. */
int host_sync_exec_many(struct host_sync *s, const char *id, const struct agent_exec_req *reqs,
                        size_t n, size_t out_cap, int64_t deadline_us,
                        struct agent_exec_result *rets, int *errs, struct herr *e);
/* Runs one command with ops (on_data only; on_end is the adapter's) getting its output live;
 * *ret_end (may be NULL) gets how it ended. 0 when it ended with EXIT, else as above; -EINTR
 * when interrupted (the stream is cancelled). */
int host_sync_exec_stream(struct host_sync *s, const char *id, const struct agent_exec_req *req,
                          const struct agent_stream_ops *ops, void *ud, int64_t deadline_us,
                          struct agent_end *ret_end, struct herr *e);
/* Uploads src_fd's remaining bytes (blocking reads) to path with mode; *ret_size (may be
 * NULL) gets the size the agent wrote. */
int host_sync_file_put(struct host_sync *s, const char *id, const char *path, uint32_t mode,
                       int src_fd, int64_t deadline_us, uint64_t *ret_size, struct herr *e);
/* Downloads path into dst_fd (written fully, blocking); *ret_size (may be NULL) gets the
 * bytes written. */
int host_sync_file_get(struct host_sync *s, const char *id, const char *path, int dst_fd,
                       int64_t deadline_us, uint64_t *ret_size, struct herr *e);
