/* SPDX-License-Identifier: MIT */
/* host.h: the host interface: what the control plane (API, lifecycle, reconciler) asks of a
 * machine that runs microVMs. Plain data in (ids, paths, numbers, strings), callbacks out, no
 * pointers into the store and no handles to QEMU objects, so the same calls can later travel
 * over HTTP to `hearthd --role=host`. host_local.c and its siblings (host_internal.h)
 * implement it in-process on a libevent loop (hearthd's; host_sync.h's for blocking
 * callers): nothing here blocks the loop (no sleep, no waiting on a socket or a child).
 *
 * Threading and re-entrancy: every call must run on the loop's thread; every callback runs
 * from the loop (event_base_dispatch), never from inside the call that started the operation,
 * with one exception stated where it applies (a stream cancelled or broken synchronously).
 * Completion callbacks (host_done_fn, host_exit_fn) run from a deferred event with no host
 * object on the stack, so they may call any host_* function, host_free() included. Stream
 * callbacks (agent_stream_ops) run while the VM's agent connection is being read: they may
 * call any host_* function except host_free()/host_free_keep_vms(). No call frees a VM
 * synchronously: a VM is unlinked and freed at the end of one of its own event callbacks,
 * after its clients and events are gone, so no callback can fire on freed memory.
 *
 * Ownership: every string and struct passed in is borrowed for the call only (copied when
 * kept), except the agent_exec_req and agent_stream_ops of a stream, which stay borrowed until
 * that stream's on_end, and each `ud`, which is the caller's and never touched. Results passed
 * to callbacks are borrowed for the callback. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/timeline.h"
#include "daemon/host/agent_client.h"

struct event_base;
struct host;

/* Errors as they cross the seam; append only, never renumber. */
#define HOST_ERR_TABLE(X)                                                                        \
    X(HOST_OK, "ok")                     /* success */                                          \
    X(HOST_E_INVALID, "invalid")         /* bad id, spec or argument */                         \
    X(HOST_E_EXISTS, "exists")           /* the id already has a VM or a run dir */             \
    X(HOST_E_NOT_FOUND, "not_found")     /* no such VM, image or pid file */                    \
    X(HOST_E_QEMU, "qemu")               /* QEMU or qemu-img failed or exited */                \
    X(HOST_E_GUEST, "guest")             /* the guest failed: kernel panic, agent protocol */   \
    X(HOST_E_TIMEOUT, "timeout")         /* the operation's deadline passed */                  \
    X(HOST_E_GONE, "gone")               /* the VM exited or its connection broke */            \
    X(HOST_E_BUSY, "busy")               /* the VM is starting or being destroyed */            \
    X(HOST_E_CANCELED, "canceled")       /* host_free() ended the operation */                  \
    X(HOST_E_SYSTEM, "system")           /* a system call failed (errno in the result) */

#define HOST_ERR_ENUM_(name, str) name,
enum host_err { HOST_ERR_TABLE(HOST_ERR_ENUM_) };
#undef HOST_ERR_ENUM_

/* "ok", "invalid", ... (stable names for JSON); "unknown" for other values. */
const char *host_err_to_string(enum host_err e);

/* Outcome of an asynchronous operation. */
struct host_result {
    enum host_err err;          /* HOST_OK on success */
    int errnum;                 /* the underlying -errno, 0 on success */
    char msg[512];              /* one line: subject in quotes, cause; "" on success */
    /* create and pause: the host's steps (docs/performance.md "Where the time goes"), from
     * the call to the completion; the caller appends them to its own (timeline_append).
     * Unstarted (start_us 0) for the other operations and for failures found up front. */
    struct timeline tl;
};

struct host_config {
    const char *images_dir;     /* catalog: <images_dir>/vmlinux and <name>.ext4; required */
    const char *run_root;       /* run dirs live in <run_root>/<id>/ (e.g. /var/lib/hearth/vms);
                                   created 0700 if missing; absolute, no ','; required */
    const char *accel;          /* "auto" (NULL), "kvm" or "tcg" */
    const char *qemu_bin;       /* default qemu-system-x86_64 from PATH */
    const char *qemu_img;       /* default qemu-img from PATH */
    const char *kernel;         /* default <images_dir>/vmlinux */
    int boot_timeout_ms;        /* create: spawn to READY; default 30000 */
    int stop_timeout_ms;        /* destroy: each stage; default 10000 */
    int adopt_timeout_ms;       /* adopt: QMP and agent READY; default 10000 */
    const char *cgroup_root;    /* cgroup v2 dir holding one cgroup per VM (cgroup.h); NULL:
                                   "/sys/fs/cgroup/hearth"; "": no cgroups */
    bool keep_run_dirs;         /* destroy and host_free() leave run dirs (logs) in place:
                                   `hearthd vm run --keep` */
    uint64_t console_log_max;   /* each VM's console.log is capped here, the older part kept
                                   in console.log.1 (console_log.h); 0: 4 MiB */
    /* QEMU's confinement (docs/security.md): on unless no_jail. Each QEMU runs as its own
     * uid from [jail_uid_base, jail_uid_base + jail_uid_count) (0: 200000 and 65536), in a
     * mount namespace that shows only its run dir, kernel, disk chain, /usr and a few /dev
     * nodes, with no capabilities, no_new_privs and QEMU's strictest -sandbox. Needs root. */
    bool no_jail;
    /* Each VM's I/O throttle on the disk holding run_root (cgroup_limits.io_*): bytes and
     * operations per second, each way; 0: no limit. */
    uint64_t io_bps;
    uint32_t io_iops;
    uint32_t jail_uid_base;
    uint32_t jail_uid_count;
};

struct host_vm_spec {
    const char *id;             /* "sb-<ULID>" (rundir_id_valid()); names the run dir */
    const char *rootfs;         /* absolute path of a raw image (the catalog in the control
                                   layer maps names to paths) or of a qcow2 image (found by
                                   its magic "QFI\xfb": a template's top layer, whose backing
                                   chain the jail binds read-only); never written. Else
                                   HOST_E_INVALID */
    unsigned vcpus;             /* default 1 */
    unsigned memory_mib;        /* default 256 */
    uint64_t disk_mib;          /* virtual disk size; 0: the image's size (a qcow2 image's
                                   virtual size); smaller than that: HOST_E_INVALID. Growing
                                   the disk does not grow the filesystem (resize2fs in the
                                   guest) */
    uint32_t cpu_quota_pct;     /* cpu.max cap in percent of one CPU; 0: vcpus * 100 + 50
                                   (the vCPUs and half a CPU for QEMU's own threads) */
    const char *extra_append;   /* extra kernel arguments, may be NULL */
    int boot_timeout_ms;        /* 0: the host's default */
    /* Restore instead of boot (docs/snapshots.md): the VM starts from the snapshot directory
     * `snapshot` (absolute, no ','), which must match vcpus, memory_mib, this kernel and this
     * QEMU (else HOST_E_INVALID naming the mismatch; a corrupt one: HOST_E_INVALID too).
     * rootfs, disk_mib and extra_append are then unused. */
    const char *snapshot;
    /* true: the snapshot belongs to this VM alone, so the VM takes its RAM file and disk layer
     * over (hard links, no copy; RAM mapped shared, so a later pause writes no RAM) and the
     * snapshot directory is removed once the VM runs. false: the snapshot is a shared base
     * (a golden snapshot, a fork's source): the VM maps its RAM copy-on-write and writes a
     * new qcow2 layer over its disk; the snapshot is never changed. */
    bool snapshot_consume;
    /* The guest's hostname, told to the agent with every HELLO (after a restore the guest
     * still has the snapshot's). NULL: not sent. [a-z0-9-], 1..63. */
    const char *hostname;
    /* Networking (docs/agent-protocol.md "Network"). Every VM has one virtio-net NIC, the
     * last device, so boots and restores have the same device set. tap_fd > 0: an open tap
     * (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR) that the caller owns, borrowed for the call (the
     * host keeps its own copy until QEMU has inherited it): the NIC's link. 0 or < 0: the NIC
     * sits on a hub port that leads nowhere (golden-snapshot builders). A restore of a
     * snapshot taken before VMs had a NIC gets none (and ignores the tap): no network. A
     * snapshot taken on a tap must be restored on a tap (the guest negotiated the tap's
     * offloads; a hub port cannot offer them and QEMU refuses the state). */
    int tap_fd;
    /* The NIC's MAC, "xx:xx:xx:xx:xx:xx", unicast; NULL: QEMU's default. A restore loads the
     * snapshot's MAC with the device state: the new one takes effect through net_json's
     * "mac", which the agent sets before READY. */
    const char *mac;
    /* The net object (JSON text, at most 16 KiB), sent in every HELLO of this VM, so the
     * guest has these addresses, routes and DNS before create's done runs, after a boot and
     * after a restore alike. Checked to be a JSON object here and field by field by the
     * agent (a bad field is logged in the guest and the VM starts without it). NULL: none. */
    const char *net_json;
};

/* Completion of create, adopt and destroy. id is borrowed for the call. */
typedef void (*host_done_fn)(void *ud, const char *id, const struct host_result *res);

/* A VM's QEMU exited without host_vm_destroy() asking it to. */
struct host_exit {
    bool status_known;          /* false for an adopted QEMU (not our child: no wait status) */
    int status;                 /* wait status when known */
    char reason[160];           /* "killed by signal 9 (Killed)", "guest-shutdown", ... */
};
typedef void (*host_exit_fn)(void *ud, const char *id, const struct host_exit *ex);

/* A run dir under run_root that no VM of this host object claims. */
struct host_orphan {
    char id[65];                /* the run dir's name, cut at 64 bytes (see valid) */
    bool valid;                 /* the name is a sandbox id */
    pid_t pid;                  /* the QEMU recorded in its pid file, 0 when none */
    bool alive;                 /* that QEMU still runs (start time checked) */
};

/* Creates a host on base (borrowed; must outlive the host). Copies c. Returns 0 and *ret
 * (free with host_free()), -EINVAL (missing or bad field), -ENOMEM, or -errno creating
 * run_root. Does not start, adopt or kill anything. */
__attribute__((warn_unused_result))
int host_new(struct event_base *base, const struct host_config *c, struct host **ret);
/* Stops every VM (SIGKILL, no grace: use host_vm_destroy() for a clean stop) and removes
 * their run dirs; every pending operation's callback runs with HOST_E_CANCELED and every
 * open stream ends with AGENT_END_LOST before this returns. NULL is fine. */
void host_free(struct host *h);
/* Same, but leaves every QEMU running and every run dir in place (no callbacks run): what a
 * crashing hearthd leaves behind, for host_vm_adopt() by a later host object. Streams are
 * dropped without on_end. NULL is fine. */
void host_free_keep_vms(struct host *h);

/* Kills VM id now (SIGKILL, waits for the exit), removes its run dir and forgets it; none of
 * its pending callbacks run. For VMs that must not outlive a stopping hearthd (a golden
 * snapshot being built). Blocks for at most a bounded kill wait. Unknown id: nothing. */
void host_vm_discard(struct host *h, const char *id);

/* Sets the callback for VMs whose QEMU exits unasked (crash, guest poweroff, kill from
 * outside). The VM stays known (state exited, run dir and logs kept) until host_vm_destroy().
 * fn may be NULL. */
void host_set_on_exit(struct host *h, host_exit_fn fn, void *ud);

/* Starts creating VM spec->id: run dir, qcow2 layer (qemu-img), QEMU, QMP, agent READY, all
 * under one deadline. done runs exactly once: HOST_OK (the VM runs and takes execs), or an
 * error: HOST_E_INVALID, HOST_E_EXISTS, HOST_E_NOT_FOUND (image or binary missing), HOST_E_QEMU
 * (with the tail of qemu.log), HOST_E_GUEST (kernel panic, with the console tail),
 * HOST_E_TIMEOUT, HOST_E_CANCELED; on error nothing is left (no process, no run dir). */
void host_vm_create(struct host *h, const struct host_vm_spec *spec, host_done_fn done,
                    void *ud);
/* Stops VM id and removes its run dir: agent POWER poweroff, wait for exit; QMP quit, wait;
 * SIGKILL. done runs once with HOST_OK, or HOST_E_NOT_FOUND (no VM and no run dir of that id).
 * Works on a VM in any state (a pending create ends with HOST_E_CANCELED first), on an exited
 * one, and on an orphan run dir this host does not know (its QEMU, if the pid file proves it
 * alive, is killed). Streams of the VM end with AGENT_END_LOST. */
void host_vm_destroy(struct host *h, const char *id, host_done_fn done, void *ud);
/* Re-adopts VM id left running by an earlier host object (another hearthd): validates the
 * pid file against /proc, opens a pidfd, connects QMP and the agent (resync preamble, HELLO,
 * READY). done: HOST_OK, HOST_E_NOT_FOUND (no run dir or pid file), HOST_E_GONE (the QEMU is
 * gone or the pid was reused), HOST_E_EXISTS (already known here), HOST_E_TIMEOUT. On failure
 * the run dir is left alone (the caller decides: destroy it or report). */
void host_vm_adopt(struct host *h, const char *id, host_done_fn done, void *ud);
/* Lists run dirs under run_root that this host neither runs nor is creating or adopting
 * (call after adopting what the store claims). Returns 0 and *ret (free()) with *ret_n
 * entries, or -errno. Blocking only on a directory read. */
__attribute__((warn_unused_result))
int host_vm_list_orphans(struct host *h, struct host_orphan **ret, size_t *ret_n);

/* Pauses VM id into the snapshot directory snap_dir (absolute, no ','; created, or empty):
 * a PING round trip (the agent's reader is then between frames), QMP stop, device state
 * migrated into snap_dir/state, QEMU quits, the RAM file and disk layer are linked into
 * snap_dir, meta.json is written last. A VM whose RAM is a private mapping of a shared
 * snapshot has its RAM pages written out of the migration stream into snap_dir/mem.
 * done runs once: HOST_OK (QEMU has exited and the VM is forgotten: no on_exit; its run dir
 * is gone), HOST_E_BUSY (not running, or another pause or resize under way), HOST_E_NOT_FOUND,
 * HOST_E_INVALID (bad dir), HOST_E_QEMU or HOST_E_TIMEOUT (the snapshot failed: the VM was
 * continued and keeps running; snap_dir is removed), HOST_E_GONE (QEMU exited meanwhile: the
 * VM is in the exited state as after any crash, on_exit runs too), HOST_E_CANCELED (destroyed
 * meanwhile). Open streams end with AGENT_END_LOST when QEMU exits. */
void host_vm_pause(struct host *h, const char *id, const char *snap_dir, host_done_fn done,
                   void *ud);

/* What a live snapshot cost its VM (docs/performance.md "Live fork"). */
struct host_live_stats {
    int64_t stopped_us;         /* from `stop` sent to `cont` answered: the guest's pause */
};
/* Completion of host_vm_snapshot_live(); st is borrowed for the call (zeroed on errors
 * before the VM stopped). On HOST_OK res->tl has the steps: ping, stop, state, disk_freeze,
 * ram_copy, cont, seal. */
typedef void (*host_live_fn)(void *ud, const char *id, const struct host_result *res,
                             const struct host_live_stats *st);
/* Snapshots running VM id into snap_dir (as host_vm_pause(), same format, a shared base for
 * restores with snapshot_consume = false) and lets it run on: PING, QMP stop, the device
 * state migrated into snap_dir/state (a private-RAM VM's pages split into snap_dir/mem), the
 * disk layer and the RAM file copied into snap_dir while the vCPUs are stopped, cont, then
 * meta.json (checksum and fsync while the VM runs again). The VM's agent connection and
 * streams stay; execs asked while it is stopped get HOST_E_BUSY. done runs once: HOST_OK (the
 * VM runs, snap_dir is complete), or the errors of host_vm_pause(): on every error but
 * HOST_E_GONE and HOST_E_CANCELED the VM was continued and keeps running; snap_dir is
 * removed. A hearthd that dies while the VM is stopped leaves it to host_vm_adopt(), which
 * continues it. */
void host_vm_snapshot_live(struct host *h, const char *id, const char *snap_dir,
                           host_live_fn done, void *ud);

/* Reconfigures the guest's network of running VM id: net_json (a net object, JSON text, at
 * most 16 KiB, copied) goes to the agent in a NETCFG stream; once the agent answered DONE it
 * is the VM's current net object, which every later HELLO carries (a reconnect, an adopt).
 * done runs once: HOST_OK (the guest runs it), HOST_E_INVALID (net_json is not a JSON
 * object, or the agent refused a field: the message names it; the guest keeps its old
 * configuration), HOST_E_GUEST (a step failed in the guest, with the agent's errno name and
 * message; what came before that step stays applied), HOST_E_NOT_FOUND, HOST_E_BUSY (not
 * running), HOST_E_GONE (the connection ended first). Several may be in flight; the agent
 * applies them in order. */
void host_vm_set_net(struct host *h, const char *id, const char *net_json, host_done_fn done,
                     void *ud);
/* Sets VM id's current net object without telling the guest (NULL: none): what later HELLOs
 * carry. For an adopt after a hearthd restart: call right after host_vm_adopt() (the HELLO is
 * sent from the loop), so the re-adopted guest keeps its configuration. 0, -ENOENT, -EINVAL
 * (not a JSON object), -ENOMEM. */
int host_vm_set_net_json(struct host *h, const char *id, const char *net_json);

/* Gives running VM id a new identity in one agent round trip, without a command in the guest
 * (a warm pool's VM becoming a sandbox's, docs/performance.md "Warm pools"): hostname
 * ([a-z0-9-], 1..63) and net_json (a net object, or NULL: none) become what every HELLO of the
 * VM carries, then a new agent session starts on the same connection, so its HELLO (resent
 * until READY) sets the hostname and /etc/hostname, reseeds the CRNG from fresh host entropy
 * and applies the network (MAC, addresses, routes, DNS) before READY. done: HOST_OK once READY
 * came, HOST_E_INVALID (bad hostname or net object), HOST_E_NOT_FOUND, HOST_E_BUSY (not
 * running, or a reconnect under way), HOST_E_GONE (the connection ended first). The agent ends
 * the VM's streams at the new session. No deadline: the caller's. Plain data
 * only: the VM keeps its id (run dir, cgroup, jail, tap name), so a pooled VM is made under
 * the id its sandbox will have and nothing is renamed. */
void host_vm_set_identity(struct host *h, const char *id, const char *hostname,
                          const char *net_json, host_done_fn done, void *ud);

/* Flattens the disk of the snapshot in snap_dir in the background: a new qcow2 holding every
 * cluster its backing chain adds above the chain's bottom (the rootfs image, or a golden
 * snapshot's disk), with that bottom as its only backing, renamed over snap_dir/disk.qcow2.
 * Guest-visible content is unchanged, so VMs and snapshots already using the old file (by fd or
 * by path) are unaffected; afterwards the snapshot no longer needs its parents. done: HOST_OK
 * (also when the chain was short already), HOST_E_NOT_FOUND (no such disk), HOST_E_QEMU
 * (qemu-img failed: the old disk is kept), HOST_E_CANCELED (the host stopped). */
void host_snapshot_flatten(struct host *h, const char *snap_dir, host_done_fn done, void *ud);

/* Largest virtual disk create and resize take: 16 TiB in MiB (the config's max_disk_mib cap). */
#define HOST_DISK_MAX_MIB (1ull << 24)

/* Grows VM id's root disk (drive `root`) online to new_mib MiB: QMP query-block, then
 * block_resize; the guest sees the new capacity at once (virtio config change). The guest's
 * file system is not grown (resize2fs in the guest is the caller's next step). done runs once:
 * HOST_OK (also when the disk already has that size: a retry), HOST_E_INVALID (bad id or size,
 * or smaller than the disk is: shrinking would cut the file system), HOST_E_NOT_FOUND,
 * HOST_E_BUSY (not running, or another resize under way), HOST_E_QEMU (QEMU refused, with its
 * error), HOST_E_GONE (QEMU exited or the host was freed meanwhile). */
void host_vm_disk_resize(struct host *h, const char *id, uint64_t new_mib, host_done_fn done,
                         void *ud);

/* Whether VMs get cgroups: true when cgroup_root is usable (each QEMU then runs in
 * <cgroup_root>/<id> with memory.max = guest RAM + CGROUP_QEMU_OVERHEAD_MIB and cpu.max from
 * the spec's quota). note gets why not (false), or which controllers the root cannot have
 * (true; those limits are skipped), or "". For one warning at start; a VM never fails for
 * want of a cgroup. */
bool host_cgroups(struct host *h, char *note, size_t len);
/* Removes cgroups under cgroup_root that no VM of this host claims and no process holds (after
 * reconcile destroyed the orphans). Returns how many, or -errno; 0 when cgroups are off. */
int host_cgroup_prune(struct host *h);

/* What a running VM uses now (host_usage.c): from its cgroup (v1 or v2) when it has one, a
 * counter the cgroup cannot tell from its QEMU's /proc entry; disk_bytes is what its disk layer (run dir disk.qcow2) takes on the
 * host. Returns 0, or -ENOENT when id is not running here. */
struct host_vm_usage {
    uint64_t cpu_usec;          /* CPU time of the whole QEMU since it started */
    uint64_t memory_bytes;      /* charged to its cgroup (or its RSS) */
    uint64_t pids;              /* tasks (QEMU's threads) */
    uint64_t disk_bytes;        /* allocated bytes of the disk layer */
    bool has_cpu, has_memory, has_pids, has_disk;
    bool from_cgroup;           /* read from the VM's cgroup, not /proc */
};
int host_vm_usage(struct host *h, const char *id, struct host_vm_usage *out);
/* The accelerator VMs run under: "kvm" or "tcg" (config `accel`, auto resolved at host_new).
 * Snapshots record it; a restore under the other one is refused (HOST_E_INVALID). */
const char *host_accel_name(const struct host *h);
/* Whether VMs run confined (host_config.no_jail unset), with the uid range. */
bool host_jailed(struct host *h, uint32_t *ret_uid_base, uint32_t *ret_uid_count);

/* True when VM id exists here and is running (READY seen, QEMU alive). */
bool host_vm_running(struct host *h, const char *id);
/* The QEMU pid of VM id (for logs and tests), or 0. */
pid_t host_vm_pid(struct host *h, const char *id);
/* The run dir of VM id (<run_root>/<id>) into out; 0, -ENAMETOOLONG or -EINVAL (bad id). */
int host_vm_run_dir(struct host *h, const char *id, char *out, size_t len);
/* VMs known here that are running (for metrics). */
unsigned host_vm_count(struct host *h);

/* --- streams. ops (and req) stay borrowed until ops->on_end, which runs exactly once per
 * stream that started (return 0). on_end may run before the starting call returns only when
 * the connection breaks at that moment. Synchronous errors: -ENOENT (no such VM), -EBUSY (not
 * running: starting, exited or being destroyed), -EINVAL, -ENOMEM, -ENOTCONN. --- */

/* Runs a command; output to ops->on_data (WIRE_STDOUT/WIRE_STDERR; return AGENT_DATA_HOLD to
 * hold the credit until host_stream_consumed()), end to ops->on_end (AGENT_END_EXIT). */
__attribute__((warn_unused_result))
int host_vm_exec(struct host *h, const char *id, const struct agent_exec_req *req,
                 const struct agent_stream_ops *ops, void *ud, uint32_t *ret_stream);
/* Cancels a stream of VM id: it ends now (on_end with AGENT_END_LOST, -ECANCELED, before
 * this returns) and the agent kills the command. -ENOENT, -ESRCH (no such stream). */
int host_vm_exec_cancel(struct host *h, const char *id, uint32_t stream);
/* Sends a signal to an exec stream's process group. -ENOENT, -ESRCH. */
int host_vm_exec_signal(struct host *h, const char *id, uint32_t stream, int sig);

/* Opens an upload to path (absolute, in the guest) with mode. The caller pushes the bytes
 * with host_stream_write() and ends with host_stream_finish(); on_end gets AGENT_END_DONE with
 * the size written, or an error. */
__attribute__((warn_unused_result))
int host_vm_file_put_start(struct host *h, const char *id, const char *path, uint32_t mode,
                           const struct agent_stream_ops *ops, void *ud, uint32_t *ret_stream);
/* Hands up to len bytes of an upload over (copied). Returns how many were taken (0..len);
 * when fewer, ops->on_credit(ud, room) runs once there is room again: push the rest then
 * (the HTTP layer stops reading the request body meanwhile). -ENOENT, -ESRCH, -EPIPE (after
 * finish), -ENOTCONN. */
ssize_t host_stream_write(struct host *h, const char *id, uint32_t stream, const void *data,
                          size_t len);
/* Ends an upload after the bytes written so far. -ENOENT, -ESRCH, -EPIPE (twice). */
int host_stream_finish(struct host *h, const char *id, uint32_t stream);
/* Downloads path: ops->on_info (size, mode), then ops->on_data (WIRE_DATA, the last with eof)
 * and on_end AGENT_END_DONE. Return AGENT_DATA_HOLD from on_data to apply backpressure and
 * call host_stream_consumed() once the bytes are passed on. */
__attribute__((warn_unused_result))
int host_vm_file_get(struct host *h, const char *id, const char *path,
                     const struct agent_stream_ops *ops, void *ud, uint32_t *ret_stream);
/* Returns n held bytes of credit to a stream (after AGENT_DATA_HOLD). -ENOENT, -ESRCH. */
int host_stream_consumed(struct host *h, const char *id, uint32_t stream, size_t n);
/* Resizes the terminal of an exec stream started with pty. -ENOENT, -ESRCH, -EINVAL. */
int host_stream_resize(struct host *h, const char *id, uint32_t stream, uint16_t rows,
                       uint16_t cols);
/* Opens a TCP connection to 127.0.0.1:port inside VM id (agent_tcp_open()); bytes go in with
 * host_stream_write()/host_stream_finish() and come out to ops->on_data. */
__attribute__((warn_unused_result))
int host_vm_tcp_open(struct host *h, const char *id, uint16_t port,
                     const struct agent_stream_ops *ops, void *ud, uint32_t *ret_stream);
/* A managed-process request to VM id's agent (agent_proc_call()). */
__attribute__((warn_unused_result))
int host_vm_proc_call(struct host *h, const char *id, uint16_t type, const char *json,
                      const struct agent_stream_ops *ops, void *ud, uint32_t *ret_stream);
/* Where every VM's SELF requests go (the control layer acts on them as the sandbox's owner):
 * fn(ud, vm id, action, reason), on the loop. NULL drops them. */
typedef void (*host_self_fn)(void *ud, const char *id, const char *action, const char *reason);
void host_set_self_handler(struct host *h, host_self_fn fn, void *ud);
/* SELF requests of every VM dropped so far by the per-VM rate limit (one a second). */
uint64_t host_self_rate_limited(const struct host *h);

/* --- for tests, benchmarks and `hearthd vm run` (the daemon does not use these) --- */

/* A PING round trip to VM id's agent: done runs with HOST_OK once its PONG came (the agent
 * has read every byte sent before), HOST_E_NOT_FOUND, HOST_E_BUSY (not running, or a pause or
 * another ping under way), HOST_E_GONE (the connection ended first). */
void host_vm_ping(struct host *h, const char *id, host_done_fn done, void *ud);
/* Drops VM id's agent connection (its streams end with AGENT_END_LOST; the agent cancels the
 * connection's commands). The VM keeps running without one until host_vm_agent_reconnect().
 * 0, -ENOENT, -EBUSY (not running). */
int host_vm_agent_disconnect(struct host *h, const char *id);
/* Drops VM id's agent connection if any and makes a new one (resync preamble, HELLO resent
 * every 200 ms, READY), as a restarted hearthd would. done: HOST_OK once READY came,
 * HOST_E_NOT_FOUND, HOST_E_BUSY (not running, or a reconnect under way), HOST_E_GONE (the
 * socket refused or the connection ended), HOST_E_CANCELED. No deadline: the caller's. */
void host_vm_agent_reconnect(struct host *h, const char *id, host_done_fn done, void *ud);

/* Reply to host_vm_qmp(): res as for host_done_fn; ret_json is the "return" value as JSON
 * text on HOST_OK (borrowed for the call), NULL otherwise. Runs from the VM's QMP read (or
 * its teardown, with HOST_E_GONE): it may start host operations but not free the host. */
typedef void (*host_qmp_fn)(void *ud, const char *id, const struct host_result *res,
                            const char *ret_json);
/* Sends one raw QMP command cmd with args_json (a JSON object as text, or NULL) to running VM
 * id, for experiments that need QEMU directly (bench_snapshots' plain migration). Returns 0
 * and done runs once: HOST_OK with the reply, HOST_E_QEMU (QEMU's error class and desc in
 * msg), HOST_E_GONE (the connection ended first). Or, with done never run: -ENOENT, -EBUSY
 * (not running, or another command in flight), -EINVAL (args not a JSON object), -ENOMEM,
 * -ECONNRESET. */
__attribute__((warn_unused_result))
int host_vm_qmp(struct host *h, const char *id, const char *cmd, const char *args_json,
                 host_qmp_fn done, void *ud);
