/* SPDX-License-Identifier: MIT */
/* host_internal.h: what the files of the in-process host share: host_local.c (the host,
 * completions, queries), host_vm.c (struct host_vm, teardown, QEMU's exit), host_boot.c
 * (create), host_adopt.c, host_destroy.c, host_resize.c, host_net.c, host_streams.c,
 * host_debug.c (test operations), host_snapshot.c (pause and restore), host_flatten.c (disk
 * chains). Not a public interface: host.h is. Everything here runs on the loop's thread. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "daemon/host/agent_client.h"
#include "daemon/host/cgroup.h"
#include "common/herr.h"
#include "daemon/host/host.h"
#include "daemon/host/proc.h"
#include "daemon/host/qemu.h"
#include "daemon/host/qmp.h"
#include "daemon/host/rundir.h"

struct migsplit;
struct jail_plan;

#define HVM_CONNECT_RETRY_MS 2       /* socket not there yet (QEMU makes it 10-30 ms in) */
#define HVM_HELLO_EVERY_MS 200       /* see host_boot.c's on_retry() for why HELLO is resent */
#define HVM_DYING_GRACE_MS 2000      /* a lost connection during start: wait for QEMU's exit */
#define HVM_KILL_WAIT_MS 10000       /* SIGKILL'd processes exit promptly; give up after this */
#define HVM_PAUSE_TIMEOUT_MS 30000   /* a whole pause; the device state takes ~20 ms */
#define HVM_WARM_SLOTS 16

enum hvm_state {
    HVM_CREATING,    /* create steps under way */
    HVM_ADOPTING,    /* adopt steps under way */
    HVM_RUNNING,     /* READY seen; takes streams */
    HVM_EXITED,      /* QEMU exited unasked; kept until destroyed */
    HVM_STOPPING,    /* destroy: POWER, then QMP quit */
    HVM_KILLING,     /* processes SIGKILL'd (or none): finish once all exited */
    HVM_PAUSING,     /* host_vm_pause(): stop, device state out, quit (pause_step) */
};

/* Where a restore is, between the QMP handshake and cont (docs/snapshots.md "Restore"). */
enum hvm_restore_step {
    HVM_RESTORE_NONE,
    HVM_RESTORE_VERSION,   /* query-version: must be the snapshot's QEMU */
    HVM_RESTORE_CAPS,      /* migrate-set-capabilities x-ignore-shared */
    HVM_RESTORE_INCOMING,  /* migrate-incoming on incoming.sock */
    HVM_RESTORE_SEND,      /* writing the state file to incoming.sock */
    HVM_RESTORE_WAIT,      /* query-migrate until completed */
    HVM_RESTORE_CONT,      /* cont */
    HVM_RESTORE_DONE,      /* the guest runs: agent handshake (HELLO/READY) */
};

enum hvm_pause_step {
    HVM_PAUSE_PING,        /* PING sent; its PONG means the agent read everything */
    HVM_PAUSE_STOP,        /* stop */
    HVM_PAUSE_VERSION,     /* query-version, for meta.json */
    HVM_PAUSE_CAPS,        /* migrate-set-capabilities x-ignore-shared */
    HVM_PAUSE_PARAMS,      /* migrate-set-parameters: no bandwidth cap (a local socket) */
    HVM_PAUSE_MIGRATE,     /* migrate to migrate.sock; reading the stream into state */
    HVM_PAUSE_WAIT,        /* the stream ended: query-migrate until completed */
    HVM_PAUSE_QUIT,        /* quit sent: finish once QEMU exited */
    HVM_PAUSE_CONT,        /* live snapshot: files copied, cont sent (host_livesnap.c) */
};

enum hvm_step {
    HVM_STEP_DISK,          /* qemu-img runs */
    HVM_STEP_QMP_CONNECT,   /* retrying connect to qmp.sock */
    HVM_STEP_AGENT_CONNECT, /* retrying connect to agent.sock */
    HVM_STEP_AGENT_HELLO,   /* HELLO sent, resent every 200 ms until READY */
    HVM_STEP_DYING,         /* a connection was lost: waiting for QEMU to exit, briefly */
    HVM_STEP_NONE,
};

struct host_vm {
    struct host *h;
    struct host_vm *next;
    char id[RUNDIR_ID_MAX + 1];
    char run_dir[PATH_MAX];
    enum hvm_state state;
    enum hvm_step step;          /* where the agent side of a start is */
    bool qmp_caps_sent;          /* start: qmp_capabilities asked (after the greeting) */
    bool qmp_ready;              /* start: qmp_capabilities answered */
    int boot_ms;
    struct timeline tl;          /* the create's or pause's steps, handed over in its result */
    bool remove_dir;             /* finish removes the run dir */
    /* processes: QEMU and, while the disk layer is made, qemu-img */
    struct proc qemu;
    bool qemu_alive;             /* pidfd open and not yet readable */
    struct proc img;
    bool img_alive;
    /* clients, owned; NULL when not connected */
    struct qmp_client *qmp;
    struct agent_client *agent;
    char shutdown_reason[32];    /* from QMP SHUTDOWN */
    /* events, owned; freed in hvm_free_events() */
    struct event *ev_pid, *ev_img, *ev_qmp_r, *ev_qmp_w, *ev_agent_r, *ev_agent_w;
    struct event *ev_retry;      /* connect retry, HELLO resend */
    struct event *ev_deadline;   /* create/adopt deadline, destroy stage, kill wait */
    struct event *ev_kick;       /* runs hvm_maybe_finish() from the loop */
    /* pending completions */
    host_done_fn start_done;     /* create or adopt */
    void *start_ud;
    struct host_result start_res;
    host_done_fn destroy_done;
    void *destroy_ud;
    struct host_result destroy_res;
    struct herr lost;            /* HVM_STEP_DYING: the connection error to report */
    int stop_stage;              /* STOPPING: HVM_STOP_POWER, then HVM_STOP_QUIT */
    /* create inputs, copied */
    char rootfs[PATH_MAX];       /* absolute backing image */
    unsigned vcpus, memory_mib;
    uint32_t cpu_quota_pct;
    uint64_t disk_mib;
    char *extra_append;          /* owned, may be NULL */
    /* restore (a create from a snapshot) */
    bool restore;
    bool consume;                /* the snapshot is this VM's: RAM and disk taken over */
    bool ram_private;            /* RAM is a copy-on-write mapping of mem_path (shared base) */
    bool aligned;                /* no resync preamble needed before HELLO */
    bool guest_ran;              /* cont was sent: a consumed snapshot is no longer intact */
    enum hvm_restore_step rstep;
    char snap_dir[PATH_MAX];     /* restore source, or the pause target */
    char mem_path[PATH_MAX];     /* the RAM file QEMU maps */
    uint32_t jail_uid;           /* QEMU's uid and gid when jailed; 0 when not */
    char backing[PATH_MAX];      /* the disk layer's backing name when QEMU started: a pause
                                    refuses a layer whose header QEMU changed */
    char qemu_version[128];      /* restore: the snapshot's; pause: this QEMU's */
    char hostname[64];           /* identity for HELLO; "" for none */
    int64_t self_last_us;        /* when this VM's last SELF was passed on (monotonic) */
    uint64_t self_dropped;       /* SELF frames dropped by the rate limit */
    bool nic;                    /* QEMU gets the virtio-net NIC (all but old snapshots) */
    int tap_fd;                  /* our copy of the spec's tap until QEMU has it; -1 */
    char mac[18];                /* the NIC's MAC for QEMU; "" for QEMU's default */
    char *net_json;              /* owned; the net object every HELLO carries; NULL: none */
    struct hvm_netreq *netreqs;      /* host_vm_set_net() calls waiting for the agent */
    unsigned char *state_buf;    /* restore: the state file, sent to incoming.sock */
    size_t state_len, state_off;
    int in_fd;                   /* restore: connection to incoming.sock, -1 */
    struct event *ev_in;
    /* pause */
    host_done_fn pause_done;     /* NULL when no pause is under way */
    void *pause_ud;
    enum hvm_pause_step pstep;
    int mig_lfd, mig_cfd;        /* migrate.sock listener and QEMU's connection, -1 */
    int state_fd;                /* snap_dir/state being written, -1 */
    int mem_fd;                  /* ram_private: snap_dir/mem being written, -1 */
    struct migsplit *split;      /* ram_private: RAM pages out of the stream */
    char split_err[200];         /* why the split failed, for the pause's error */
    unsigned char *run;          /* pending contiguous RAM pages (one pwrite) */
    size_t run_len;
    uint64_t run_off;
    struct event *ev_mig;
    bool pause_cont;             /* a failed pause stopped the VM: cont is being sent */
    bool pause_aligned;          /* the PING was answered before the stop */
    struct hvm_live *live;       /* host_vm_snapshot_live() under way (a pause that ends in
                                    cont, not quit); NULL for a pause */
    int cont_tries;
    /* the disk resize in flight (host_vm_disk_resize()); one at a time */
    host_done_fn resize_done;    /* NULL when none */
    void *resize_ud;
    uint64_t resize_bytes;       /* the new virtual size */
    /* test and benchmark operations (host_debug.c), one of each at a time */
    host_done_fn ping_done;      /* host_vm_ping(): PING sent, PONG awaited */
    void *ping_ud;
    host_done_fn reconnect_done; /* host_vm_agent_reconnect(): READY awaited */
    void *reconnect_ud;
    host_qmp_fn qmp_done;        /* host_vm_qmp(): reply awaited */
    void *qmp_ud;
};

enum { HVM_STOP_POWER, HVM_STOP_QUIT };

/* A completion waiting to be delivered from the loop. */
struct hvm_defer {
    struct hvm_defer *next;
    host_done_fn done;           /* or */
    host_exit_fn on_exit;
    void *ud;
    char id[RUNDIR_ID_MAX + 1];
    struct host_result res;
    struct host_exit ex;
};

struct host {
    struct event_base *base;     /* borrowed */
    char images_dir[PATH_MAX];
    char run_root[PATH_MAX];
    char kernel[PATH_MAX];
    char qemu_bin[PATH_MAX];     /* "" for the default */
    char qemu_img[PATH_MAX];
    enum qemu_accel accel;       /* resolved */
    struct cgroup_layout cg;     /* v1 or v2 roots; kind CGROUP_NONE: VMs get no cgroup */
    char io_dev[24];             /* the disk run_root is on ("MAJ:MIN"), "" when none */
    uint64_t io_bps;             /* host_config.io_bps */
    uint32_t io_iops;            /* host_config.io_iops */
    char cgroup_note[512];       /* why not, or which controllers are missing */
    bool jail;                   /* QEMUs run confined (jail.h) */
    uint32_t uid_base, uid_count;  /* the jail's uid range */
    int boot_ms, stop_ms, adopt_ms;
    struct host_vm *vms;
    host_exit_fn on_exit;
    void *on_exit_ud;
    struct hvm_defer *defers, **defers_tail;
    struct event *ev_defer;
    char warmed[HVM_WARM_SLOTS][PATH_MAX]; /* snapshot RAM files whose page cache was filled */
    unsigned warm_next;
    /* shared-base RAM files whose checksum passed: never written again, so checked once */
    struct hvm_ram_ok { dev_t dev; ino_t ino; int64_t mtime_ns; } ram_ok[HVM_WARM_SLOTS];
    unsigned ram_ok_next;
    struct hvm_flatten *flattens;    /* host_snapshot_flatten() jobs running */
    bool keep_dirs;              /* host_config.keep_run_dirs */
    uint64_t console_max;        /* console.log cap in bytes (console_log.c) */
    struct event *ev_console;    /* owned: the periodic check of every console log */
    host_self_fn self_fn;        /* host_set_self_handler() */
    void *self_ud;
    uint64_t self_rate_limited;  /* SELF frames of every VM dropped by HVM_SELF_GAP_MS */
};

/* A background host_snapshot_flatten(): qemu-img info, then qemu-img convert. */
struct hvm_flatten {
    struct hvm_flatten *next;
    struct host *h;
    char dir[PATH_MAX];
    host_done_fn done;
    void *ud;
    struct proc p;
    struct event *ev;
    bool converting;             /* stage 2 */
};

/* A host_vm_set_net() in flight: its NETCFG stream's ud. */
struct hvm_netreq {
    struct hvm_netreq *next;
    struct host_vm *vm;
    char *net_json;              /* owned; becomes vm->net_json on DONE */
    host_done_fn done;
    void *ud;
};

/* --- completions (host_local.c) --- */

/* Queues an empty completion for id, to run from the loop (the caller fills it in); NULL when
 * out of memory (the completion is then lost). */
struct hvm_defer *hvm_defer_new(struct host *h, const char *id);

/* Queues done(ud, id, res) to run from the loop; NULL done: nothing. */
void hvm_defer_done(struct host *h, host_done_fn done, void *ud, const char *id,
                const struct host_result *res);
__attribute__((format(printf, 4, 5)))
void hvm_result_set(struct host_result *res, enum host_err err, int errnum, const char *fmt, ...);
__attribute__((format(printf, 6, 7)))
void hvm_fail_now(struct host *h, host_done_fn done, void *ud, const char *id, enum host_err err,
              const char *fmt, ...);

/* Maps a start-up errno to the typed error (host_local.c). */
enum host_err hvm_err_from_errno(int r);
/* Copies s (NULL: "") into out; -ENAMETOOLONG when it does not fit (host_local.c). */
int hvm_copy_str(char *out, size_t len, const char *s);

/* --- VM objects and events (host_vm.c) --- */

/* A new VM in state, linked into the host's table, its timers made (host_boot.c, whose
 * on_retry/on_deadline they run). NULL when out of memory. */
struct host_vm *hvm_new(struct host *h, const char *id, enum hvm_state state);
/* hvm_new() for a create or adopt whose completion is done(ud); out of memory fails done
 * (from the loop) and returns NULL. */
struct host_vm *hvm_new_start(struct host *h, const char *id, enum hvm_state state,
                              host_done_fn done, void *ud);
/* Frees everything but the struct; no callback can fire on vm afterwards. */
void hvm_release(struct host_vm *vm, bool notify_streams);
/* Frees the struct and what it owns, after hvm_release(). */
void hvm_free(struct host_vm *vm);
/* Unlinks vm from its host's table. */
void hvm_unlink(struct host_vm *vm);
/* The event of vm->ev_kick: hvm_maybe_finish() from the loop. */
void hvm_on_kick(evutil_socket_t fd, short what, void *arg);
/* SIGKILLs QEMU (unless adopted) and qemu-img and waits for them, bounded: off the loop's
 * usual path (host_free(), host_vm_discard()). */
void hvm_kill_now(struct host_vm *vm);
/* host_jail.c. The uid, run-dir ownership, jail plan and cgroup (made, its cgroup.procs
 * opened) of vm's next QEMU; with the jail off, a plan that only joins the cgroup. 0 and *ret
 * (jail_plan_free()), or -errno with e. */
int hvm_jail_plan(struct host_vm *vm, struct jail_plan **ret, struct herr *e);
/* A pause of a jailed VM: its disk layer (which QEMU could write) must be a regular file whose
 * backing is the one it started with. 0 or -EINVAL with e. */
int hvm_jail_check_layer(struct host_vm *vm, const char *disk, struct herr *e);
/* rundir_pidfile_open(), and for a run dir owned by a jail uid (QEMU could rewrite the file)
 * the pid must be a process of that uid: -EPERM otherwise. */
int hvm_pidfile_open(struct host *h, const char *dir, pid_t *ret_pid, int *ret_pidfd);
/* hvm_pidfile_open(), or without a pid file the QEMU whose command line names dir (a hearthd
 * killed between spawn and pid file; rundir_find_qemu), under the same uid check. -ENOENT when
 * neither names a live process. */
int hvm_qemu_open(struct host *h, const char *dir, pid_t *ret_pid, int *ret_pidfd);
/* Adopt: a run dir owned by a jail uid sets vm->jail_uid and backing (what a pause checks). */
void hvm_jail_adopt(struct host_vm *vm);
/* Removes the run dir and the cgroup of vm. */
void hvm_remove_dir(struct host_vm *vm);
/* Kills what runs and waits (on the loop) for it to exit, then finishes. */
void hvm_kill(struct host_vm *vm);
/* Watches QEMU's pidfd (vm->qemu); 0 or -ENOMEM. */
int hvm_watch_pid(struct host_vm *vm);
/* Ends a disk resize with res (from the loop). */
void hvm_resize_complete(struct host_vm *vm, const struct host_result *res);

struct host_vm *hvm_find(struct host *h, const char *id);
void hvm_timer_arm(struct event *ev, int ms);
void hvm_ev_free(struct event **ev);
void hvm_fd_close(int *fd);
void hvm_update_agent_write(struct host_vm *vm);
void hvm_update_qmp_write(struct host_vm *vm);
void hvm_drop_qmp(struct host_vm *vm);
/* Ends the agent connection; with notify, its streams end with AGENT_END_LOST first. */
void hvm_drop_agent(struct host_vm *vm, bool notify);
/* The pause's and restore's sockets, files and buffers. */
void hvm_drop_migration(struct host_vm *vm);
void hvm_maybe_finish(struct host_vm *vm);
/* A create or adopt failed: kill and clean up (create), or let go (adopt). */
void hvm_start_failed(struct host_vm *vm, const struct host_result *res);
void hvm_start_failed_herr(struct host_vm *vm, const struct herr *e);
int hvm_sock_path(struct host_vm *vm, const char *name, char *out);
/* The disk layer exists: start QEMU (booting, or waiting for its incoming state). */
void hvm_spawn_qemu(struct host_vm *vm);
/* Wraps fd (taken) as the VM's agent client with its events, hostname and net object; with
 * resync the preamble is queued first. 0 or -errno with e (the caller fails or reports). */
int hvm_agent_attach(struct host_vm *vm, int fd, bool resync, struct herr *e);
/* agent_client's SELF handler for vm (host_streams.c): rate-limited to one per HVM_SELF_GAP_MS,
 * then passed to the host's handler with the VM's id. */
#define HVM_SELF_GAP_MS 1000
void hvm_on_self(void *ud, const char *action, const char *reason);
/* Runs qemu-img for the VM's disk layer over vm->rootfs (of format fmt). */
void hvm_start_disk(struct host_vm *vm, const char *fmt);

/* Longest net object a VM keeps (a valid one is under 4 KiB). */
#define HVM_NET_JSON_MAX (16u * 1024u)
/* True when net_json is a JSON object of at most HVM_NET_JSON_MAX bytes. */
bool hvm_net_json_valid(const char *net_json);

/* --- pause and restore (host_snapshot.c) --- */

/* host_vm_create() with a snapshot: verify, lay out the run dir, spawn or make the disk. */
void hvm_restore_start(struct host_vm *vm, const struct host_vm_spec *spec);
/* Sends the command of the current restore step (or starts the state upload). */
void hvm_restore_next(struct host_vm *vm);
void hvm_pause_next(struct host_vm *vm);
/* QEMU exited after quit: move the files into the snapshot, meta.json last. */
void hvm_pause_finalize(struct host_vm *vm);
/* The pause failed before quit: the VM is continued and keeps running. */
void hvm_pause_fail(struct host_vm *vm, enum host_err err, int errnum, const char *what,
                const struct qmp_msg *reply);
void hvm_pause_send_cont(struct host_vm *vm);
int hvm_pause_split_finish(struct host_vm *vm);
/* Writes snap_dir/meta.json of vm's snapshot (last: it commits the snapshot). 0 or -errno. */
int hvm_snapshot_meta(struct host_vm *vm, struct herr *e);
/* host_vm_pause(), or with live a live snapshot (host_livesnap.c; done is then its
 * trampoline and ud the live op). */
void hvm_pause_begin(struct host *h, const char *id, const char *snap_dir, host_done_fn done,
                     void *ud, struct hvm_live *live);
/* Whether the shared base RAM file mem was checked against its checksum in this process (by
 * inode and mtime); with remember, records it as checked. */
bool hvm_ram_checked(struct host *h, const char *mem, bool remember);
/* --- live snapshot (host_livesnap.c) --- */
/* The pause machinery of a live snapshot reached a completed migration: copy, cont, seal. */
void hvm_live_frozen(struct host_vm *vm);
/* stop is about to be sent: a live snapshot's stopped time starts (a no-op for a pause). */
void hvm_live_stopping(struct host_vm *vm);
/* Ends a pause with res (from the loop). */
void hvm_pause_complete(struct host_vm *vm, const struct host_result *res);

/* --- test and benchmark operations (host_debug.c) --- */

/* The QMP (qmp) or agent (agent) connection goes away: pending operations on it end. */
void hvm_debug_drop(struct host_vm *vm, bool qmp, bool agent);
/* After the agent's bytes were read: a PONG or READY may end a ping or reconnect. */
void hvm_debug_agent_read(struct host_vm *vm);
/* The reconnect's HELLO (re)sent, every HVM_HELLO_EVERY_MS until READY. */
void hvm_debug_hello(struct host_vm *vm);

/* --- flattening (host_flatten.c) --- */

/* Stops every flatten job (SIGKILL); with notify, their callbacks run with HOST_E_CANCELED. */
void hvm_flatten_stop_all(struct host *h, bool notify);
