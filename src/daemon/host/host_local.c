/* SPDX-License-Identifier: MIT */
/* host_local.c: the host interface (host.h) in-process, on hearthd's libevent loop. Each VM is
 * a state machine driven by events on its fds (qemu-img and QEMU pidfds, QMP and agent
 * sockets) and timers (connect retry, HELLO resend, one deadline); nothing blocks the loop.
 * Owns the VMs' processes, clients and run dirs; shares the run-dir layout, pid file and
 * failure explanations with vm.c through rundir.h. Knows nothing of sandboxes or the store. */
#include "host.h"

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "cgroup.h"
#include "common/fdio.h"
#include "common/hostname.h"
#include "herr.h"
#include "mono.h"
#include "proc.h"
#include "qemu.h"
#include "qmp.h"
#include "migsplit.h"
#include "rundir.h"
#include "snapshot.h"
#include "usock.h"

#define CONNECT_RETRY_MS 2       /* socket not there yet (QEMU makes it 10-30 ms in) */
#define HELLO_EVERY_MS 200       /* see agent_wait_ready() for why HELLO is resent */
#define DYING_GRACE_MS 2000      /* a lost connection during start: wait for QEMU's exit */
#define KILL_WAIT_MS 10000       /* SIGKILL'd processes exit promptly; give up after this */
#define PAUSE_TIMEOUT_MS 30000   /* a whole pause; the device state takes ~20 ms */
#define HOST_WARM_SLOTS 16

#define HOST_ERR_STR_(name, str) [name] = str,
static const char *const host_err_names[] = { HOST_ERR_TABLE(HOST_ERR_STR_) };
#undef HOST_ERR_STR_

const char *host_err_to_string(enum host_err e)
{
    if ((unsigned)e < sizeof(host_err_names) / sizeof(host_err_names[0]))
        return host_err_names[e];
    return "unknown";
}

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
enum restore_step {
    RESTORE_NONE,
    RESTORE_VERSION,   /* query-version: must be the snapshot's QEMU */
    RESTORE_CAPS,      /* migrate-set-capabilities x-ignore-shared */
    RESTORE_INCOMING,  /* migrate-incoming on incoming.sock */
    RESTORE_SEND,      /* writing the state file to incoming.sock */
    RESTORE_WAIT,      /* query-migrate until completed */
    RESTORE_CONT,      /* cont */
    RESTORE_DONE,      /* the guest runs: agent handshake (HELLO/READY) */
};

enum pause_step {
    PAUSE_PING,        /* PING sent; its PONG means the agent read everything */
    PAUSE_STOP,        /* stop */
    PAUSE_VERSION,     /* query-version, for meta.json */
    PAUSE_CAPS,        /* migrate-set-capabilities x-ignore-shared */
    PAUSE_PARAMS,      /* migrate-set-parameters: no bandwidth cap (a local socket) */
    PAUSE_MIGRATE,     /* migrate to migrate.sock; reading the stream into state */
    PAUSE_WAIT,        /* the stream ended: query-migrate until completed */
    PAUSE_QUIT,        /* quit sent: finish once QEMU exited */
};

enum hvm_step {
    STEP_DISK,          /* qemu-img runs */
    STEP_QMP_CONNECT,   /* retrying connect to qmp.sock */
    STEP_AGENT_CONNECT, /* retrying connect to agent.sock */
    STEP_AGENT_HELLO,   /* HELLO sent, resent every 200 ms until READY */
    STEP_DYING,         /* a connection was lost: waiting for QEMU to exit, briefly */
    STEP_NONE,
};

struct hvm {
    struct host *h;
    struct hvm *next;
    char id[RUNDIR_ID_MAX + 1];
    char run_dir[PATH_MAX];
    enum hvm_state state;
    enum hvm_step step;          /* where the agent side of a start is */
    bool qmp_caps_sent;          /* start: qmp_capabilities asked (after the greeting) */
    bool qmp_ready;              /* start: qmp_capabilities answered */
    int boot_ms;
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
    struct herr lost;            /* STEP_DYING: the connection error to report */
    int stop_stage;              /* STOPPING: STOP_POWER, then STOP_QUIT */
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
    enum restore_step rstep;
    char snap_dir[PATH_MAX];     /* restore source, or the pause target */
    char mem_path[PATH_MAX];     /* the RAM file QEMU maps */
    char qemu_version[128];      /* restore: the snapshot's; pause: this QEMU's */
    char hostname[64];           /* identity for HELLO; "" for none */
    unsigned char *state_buf;    /* restore: the state file, sent to incoming.sock */
    size_t state_len, state_off;
    int in_fd;                   /* restore: connection to incoming.sock, -1 */
    struct event *ev_in;
    /* pause */
    host_done_fn pause_done;     /* NULL when no pause is under way */
    void *pause_ud;
    enum pause_step pstep;
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
    int cont_tries;
    /* the disk resize in flight (host_vm_disk_resize()); one at a time */
    host_done_fn resize_done;    /* NULL when none */
    void *resize_ud;
    uint64_t resize_bytes;       /* the new virtual size */
};

enum { STOP_POWER, STOP_QUIT };

/* A completion waiting to be delivered from the loop. */
struct defer {
    struct defer *next;
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
    char cgroup_root[PATH_MAX];  /* "" when VMs get no cgroup */
    char cgroup_note[512];       /* why not, or which controllers are missing */
    int boot_ms, stop_ms, adopt_ms;
    struct hvm *vms;
    host_exit_fn on_exit;
    void *on_exit_ud;
    struct defer *defers, **defers_tail;
    struct event *ev_defer;
    char warmed[HOST_WARM_SLOTS][PATH_MAX]; /* snapshot RAM files whose page cache was filled */
    unsigned warm_next;
    struct flatten *flattens;    /* host_snapshot_flatten() jobs running */
};

/* A background host_snapshot_flatten(): qemu-img info, then qemu-img convert. */
struct flatten {
    struct flatten *next;
    struct host *h;
    char dir[PATH_MAX];
    host_done_fn done;
    void *ud;
    struct proc p;
    struct event *ev;
    bool converting;             /* stage 2 */
};

static void hvm_maybe_finish(struct hvm *vm);
static void hvm_spawn_qemu(struct hvm *vm);
static void hvm_start_disk(struct hvm *vm, const char *fmt);
static void restore_next(struct hvm *vm);
static void pause_next(struct hvm *vm);
static void pause_finalize(struct hvm *vm);
static void pause_fail(struct hvm *vm, enum host_err err, int errnum, const char *what,
                       const struct qmp_msg *reply);
static void pause_send_cont(struct hvm *vm);
static int pause_split_finish(struct hvm *vm);
static void pause_complete(struct hvm *vm, const struct host_result *res);
static void hvm_drop_migration(struct hvm *vm);
static void restore_start(struct hvm *vm, const struct host_vm_spec *spec);


/* --- completions --- */

static void on_defer(evutil_socket_t fd, short what, void *arg)
{
    struct host *h = arg;
    /* Detach the whole list first: a callback may free h (host_free()). */
    struct defer *list = h->defers;
    h->defers = NULL;
    h->defers_tail = &h->defers;
    while (list) {
        struct defer *d = list;
        list = d->next;
        if (d->done)
            d->done(d->ud, d->id, &d->res);
        else if (d->on_exit)
            d->on_exit(d->ud, d->id, &d->ex);
        free(d);
    }
}

static struct defer *defer_new(struct host *h, const char *id)
{
    struct defer *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL; /* out of memory: the completion is lost; nothing better to do */
    snprintf(d->id, sizeof(d->id), "%s", id ? id : "");
    *h->defers_tail = d;
    h->defers_tail = &d->next;
    event_active(h->ev_defer, EV_TIMEOUT, 0);
    return d;
}

static void defer_done(struct host *h, host_done_fn done, void *ud, const char *id,
                       const struct host_result *res)
{
    if (!done)
        return;
    struct defer *d = defer_new(h, id);
    if (!d)
        return;
    d->done = done;
    d->ud = ud;
    d->res = *res;
}

__attribute__((format(printf, 4, 5)))
static void result_set(struct host_result *res, enum host_err err, int errnum, const char *fmt,
                       ...)
{
    res->err = err;
    res->errnum = errnum;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
    va_end(ap);
}

__attribute__((format(printf, 6, 7)))
static void fail_now(struct host *h, host_done_fn done, void *ud, const char *id,
                     enum host_err err, const char *fmt, ...)
{
    struct host_result res = { .err = err, .errnum = -EINVAL };
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res.msg, sizeof(res.msg), fmt, ap);
    va_end(ap);
    defer_done(h, done, ud, id, &res);
}

/* Maps a start-up errno to the typed error. */
static enum host_err err_from_errno(int r)
{
    switch (r) {
    case -ENOENT:
        return HOST_E_NOT_FOUND;
    case -EINVAL:
    case -ENAMETOOLONG:
        return HOST_E_INVALID;
    case -EEXIST:
        return HOST_E_EXISTS;
    case -ETIMEDOUT:
        return HOST_E_TIMEOUT;
    case -ECHILD:
        return HOST_E_QEMU;
    case -EIO:
    case -EPROTO:
        return HOST_E_GUEST;
    case -ESRCH:
    case -ECONNRESET:
        return HOST_E_GONE;
    default:
        return HOST_E_SYSTEM;
    }
}

/* --- VM table --- */

static struct hvm *hvm_find(struct host *h, const char *id)
{
    for (struct hvm *vm = h->vms; id && vm; vm = vm->next)
        if (strcmp(vm->id, id) == 0)
            return vm;
    return NULL;
}

static void timer_arm(struct event *ev, int ms)
{
    struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
    event_add(ev, &tv);
}

static void ev_free(struct event **ev)
{
    if (*ev)
        event_free(*ev);
    *ev = NULL;
}

static void hvm_update_agent_write(struct hvm *vm)
{
    if (!vm->agent || !vm->ev_agent_w)
        return;
    if (agent_client_want_write(vm->agent))
        event_add(vm->ev_agent_w, NULL);
    else
        event_del(vm->ev_agent_w);
}

static void hvm_update_qmp_write(struct hvm *vm)
{
    if (!vm->qmp || !vm->ev_qmp_w)
        return;
    if (qmp_client_want_write(vm->qmp))
        event_add(vm->ev_qmp_w, NULL);
    else
        event_del(vm->ev_qmp_w);
}

static void resize_complete(struct hvm *vm, const struct host_result *res)
{
    host_done_fn done = vm->resize_done;
    vm->resize_done = NULL;
    defer_done(vm->h, done, vm->resize_ud, vm->id, res);
}

static void hvm_drop_qmp(struct hvm *vm)
{
    if (vm->resize_done) {
        /* the reply can no longer come: QEMU exits or the VM is being torn down */
        struct host_result res;
        result_set(&res, HOST_E_GONE, -ECONNRESET,
                   "vm '%s': qmp connection lost during the disk resize", vm->id);
        resize_complete(vm, &res);
    }
    ev_free(&vm->ev_qmp_r);
    ev_free(&vm->ev_qmp_w);
    qmp_client_free(vm->qmp);
    vm->qmp = NULL;
}

/* Ends the agent connection; with notify, its streams end with AGENT_END_LOST first. */
static void hvm_drop_agent(struct hvm *vm, bool notify)
{
    ev_free(&vm->ev_agent_r);
    ev_free(&vm->ev_agent_w);
    if (vm->agent && notify)
        agent_client_shutdown(vm->agent, -ECONNRESET);
    agent_client_free(vm->agent);
    vm->agent = NULL;
}

static void fd_close(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* The pause's sockets and file; the snapshot directory is the caller's business. */
static void hvm_drop_migration(struct hvm *vm)
{
    ev_free(&vm->ev_mig);
    fd_close(&vm->mig_cfd);
    fd_close(&vm->mig_lfd);
    fd_close(&vm->state_fd);
    fd_close(&vm->mem_fd);
    migsplit_free(vm->split);
    vm->split = NULL;
    free(vm->run);
    vm->run = NULL;
    vm->run_len = 0;
    ev_free(&vm->ev_in);
    fd_close(&vm->in_fd);
    free(vm->state_buf);
    vm->state_buf = NULL;
}

/* Frees everything but the struct; no callback can fire on vm afterwards. */
static void hvm_release(struct hvm *vm, bool notify_streams)
{
    hvm_drop_migration(vm);
    hvm_drop_agent(vm, notify_streams);
    hvm_drop_qmp(vm);
    ev_free(&vm->ev_pid);
    ev_free(&vm->ev_img);
    ev_free(&vm->ev_retry);
    ev_free(&vm->ev_deadline);
    ev_free(&vm->ev_kick);
    proc_release(&vm->qemu);
    proc_release(&vm->img);
}

static void hvm_unlink(struct hvm *vm)
{
    for (struct hvm **pp = &vm->h->vms; *pp; pp = &(*pp)->next) {
        if (*pp == vm) {
            *pp = vm->next;
            return;
        }
    }
}

/* The last step of a VM's life: called only at the tail of one of its own event callbacks. */
static void hvm_finish(struct hvm *vm)
{
    struct host *h = vm->h;
    hvm_release(vm, true);
    if (vm->remove_dir) {
        rundir_remove(vm->run_dir);
        /* QEMU is gone; a cgroup still busy (a process stuck past SIGKILL) is pruned later */
        if (h->cgroup_root[0])
            (void)cgroup_vm_remove(h->cgroup_root, vm->id);
    }
    hvm_unlink(vm);
    defer_done(h, vm->start_done, vm->start_ud, vm->id, &vm->start_res);
    defer_done(h, vm->destroy_done, vm->destroy_ud, vm->id, &vm->destroy_res);
    free(vm->extra_append);
    free(vm);
}

/* Ends a pause with res (from the loop). */
static void pause_complete(struct hvm *vm, const struct host_result *res)
{
    host_done_fn done = vm->pause_done;
    vm->pause_done = NULL;
    defer_done(vm->h, done, vm->pause_ud, vm->id, res);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    hvm_maybe_finish(arg);
}

static void hvm_kick(struct hvm *vm)
{
    event_active(vm->ev_kick, EV_TIMEOUT, 0);
}

/* Kills what runs and waits (on the loop) for it to exit, then finishes. */
static void hvm_kill(struct hvm *vm)
{
    vm->state = HVM_KILLING;
    vm->step = STEP_NONE;
    event_del(vm->ev_retry);
    if (vm->qemu_alive)
        proc_kill(&vm->qemu, SIGKILL);
    if (vm->img_alive)
        proc_kill(&vm->img, SIGKILL);
    if (vm->qemu_alive || vm->img_alive)
        timer_arm(vm->ev_deadline, KILL_WAIT_MS);
    else
        hvm_kick(vm);
}

static void hvm_maybe_finish(struct hvm *vm)
{
    if (vm->state == HVM_KILLING && !vm->qemu_alive && !vm->img_alive)
        hvm_finish(vm);
}

/* A create or adopt failed with res: kill and clean up (create), or just let go (adopt: the
 * VM stays as it is for the caller to decide). */
static void hvm_start_failed(struct hvm *vm, const struct host_result *res)
{
    vm->start_res = *res;
    if (vm->restore && vm->consume && vm->guest_ran) {
        /* the guest wrote into the snapshot's RAM file: it no longer matches its state */
        char meta[PATH_MAX];
        if (qemu_run_path(vm->snap_dir, "meta.json", meta, sizeof(meta)) == 0)
            (void)unlink(meta);
    }
    if (vm->state == HVM_ADOPTING) {
        /* not ours to kill: forget it, leave the run dir */
        vm->qemu_alive = false;
        vm->remove_dir = false;
        vm->state = HVM_KILLING;
        event_del(vm->ev_retry);
        event_del(vm->ev_deadline);
        hvm_kick(vm);
        return;
    }
    hvm_kill(vm);
}

static void hvm_start_failed_herr(struct hvm *vm, const struct herr *e)
{
    struct host_result res;
    result_set(&res, err_from_errno(e->code), e->code, "%s", e->msg);
    hvm_start_failed(vm, &res);
}

/* --- QEMU exit --- */

static void describe_exit(struct hvm *vm, struct host_exit *ex)
{
    ex->status_known = vm->qemu.reaped;
    ex->status = vm->qemu.status;
    char how[64] = "exited";
    if (ex->status_known)
        proc_status_describe(vm->qemu.status, how, sizeof(how));
    snprintf(ex->reason, sizeof(ex->reason), "qemu %s%s%s", how,
             vm->shutdown_reason[0] ? " after " : "", vm->shutdown_reason);
}

static void on_pid(evutil_socket_t fd, short what, void *arg)
{
    struct hvm *vm = arg;
    (void)proc_try_reap(&vm->qemu); /* -ECHILD for an adopted QEMU: no status, still gone */
    vm->qemu_alive = false;
    event_del(vm->ev_pid);
    switch (vm->state) {
    case HVM_CREATING:
    case HVM_ADOPTING: {
        struct herr e = { 0 };
        int r = rundir_explain_exit(vm->run_dir, vm->qemu.status, vm->qemu.reaped, &e);
        struct host_result res;
        result_set(&res, r == -EIO ? HOST_E_GUEST : HOST_E_QEMU, r, "%s", e.msg);
        if (vm->state == HVM_ADOPTING)
            result_set(&res, HOST_E_GONE, -ESRCH, "vm '%s': %s", vm->id, e.msg);
        hvm_start_failed(vm, &res);
        break;
    }
    case HVM_PAUSING:
        if (vm->pstep == PAUSE_QUIT) {
            pause_finalize(vm);
            break;
        }
        {
            struct host_result res;
            result_set(&res, HOST_E_GONE, -ESRCH, "vm '%s': qemu exited during the pause",
                       vm->id);
            hvm_drop_migration(vm);
            (void)snapshot_remove(vm->snap_dir);
            pause_complete(vm, &res);
        }
        /* a crash like any other */
        __attribute__((fallthrough));
    case HVM_RUNNING: {
        vm->state = HVM_EXITED;
        hvm_drop_agent(vm, true);
        hvm_drop_qmp(vm);
        event_del(vm->ev_deadline);
        if (vm->h->on_exit) {
            struct defer *d = defer_new(vm->h, vm->id);
            if (d) {
                d->on_exit = vm->h->on_exit;
                d->ud = vm->h->on_exit_ud;
                describe_exit(vm, &d->ex);
            }
        }
        break;
    }
    case HVM_STOPPING:
        vm->state = HVM_KILLING;
        break;
    case HVM_EXITED:
    case HVM_KILLING:
        break;
    }
    hvm_maybe_finish(vm);
}

static int hvm_watch_pid(struct hvm *vm)
{
    vm->ev_pid = event_new(vm->h->base, vm->qemu.pidfd, EV_READ | EV_PERSIST, on_pid, vm);
    if (!vm->ev_pid)
        return -ENOMEM;
    vm->qemu_alive = true;
    event_add(vm->ev_pid, NULL);
    return 0;
}

/* --- start steps --- */

static void hvm_conn_lost(struct hvm *vm, const char *what, int r)
{
    /* During start a lost connection almost always means QEMU is exiting: wait briefly
     * for its pidfd so the report names the real cause. */
    herr_clear(&vm->lost);
    herr_set(&vm->lost, r, "vm '%s': %s connection lost: %s", vm->id, what, strerror(-r));
    if (vm->state == HVM_ADOPTING || !vm->qemu_alive) {
        hvm_start_failed_herr(vm, &vm->lost);
        return;
    }
    vm->step = STEP_DYING;
    event_del(vm->ev_retry);
    timer_arm(vm->ev_deadline, DYING_GRACE_MS);
}

static void on_qmp_event(void *ud, const char *event, json_t *data)
{
    struct hvm *vm = ud;
    if (strcmp(event, "SHUTDOWN") == 0) {
        json_t *reason = json_object_get(data, "reason");
        snprintf(vm->shutdown_reason, sizeof(vm->shutdown_reason), "%s",
                 json_is_string(reason) ? json_string_value(reason) : "shutdown");
    }
}

static bool hvm_starting(const struct hvm *vm)
{
    return vm->state == HVM_CREATING || vm->state == HVM_ADOPTING;
}

/* A start is done when both handshakes are: QMP answered qmp_capabilities and the agent
 * answered our HELLO. They run side by side: QEMU answers qmp_capabilities only once it has
 * loaded the kernel (70-160 ms after its greeting under TCG here), time the guest spends
 * booting anyway. */
static void hvm_maybe_started(struct hvm *vm)
{
    if (!hvm_starting(vm) || !vm->qmp_ready || !vm->agent || vm->step != STEP_AGENT_HELLO ||
        !agent_client_ready(vm->agent))
        return;
    vm->step = STEP_NONE;
    vm->state = HVM_RUNNING;
    event_del(vm->ev_retry);
    event_del(vm->ev_deadline);
    vm->start_res = (struct host_result){ .err = HOST_OK };
    if (vm->restore && vm->consume)
        (void)snapshot_remove(vm->snap_dir); /* its files live on in the run dir */
    defer_done(vm->h, vm->start_done, vm->start_ud, vm->id, &vm->start_res);
    vm->start_done = NULL;
}

static void on_caps(void *ud, const struct qmp_msg *reply)
{
    struct hvm *vm = ud;
    if (!hvm_starting(vm))
        return; /* destroyed meanwhile */
    if (reply->kind == QMP_MSG_ERROR) {
        struct host_result res;
        result_set(&res, HOST_E_QEMU, -EREMOTEIO, "vm '%s': qmp_capabilities failed: %s: %s",
                   vm->id, reply->err_class, reply->err_desc);
        hvm_start_failed(vm, &res);
        return;
    }
    if (vm->restore) {
        vm->rstep = RESTORE_VERSION;
        restore_next(vm);
        return;
    }
    /* an adopted VM may have been stopped by a pause its hearthd did not finish: it runs
     * again (cont on a running VM does nothing); the reply is not needed */
    if (vm->state == HVM_ADOPTING && qmp_client_send(vm->qmp, "cont", NULL, NULL, NULL) == 0)
        hvm_update_qmp_write(vm);
    vm->qmp_ready = true;
    hvm_maybe_started(vm);
}

static void on_qmp_readable(evutil_socket_t fd, short what, void *arg)
{
    struct hvm *vm = arg;
    int r = qmp_client_on_readable(vm->qmp);
    if (r < 0) {
        hvm_drop_qmp(vm);
        if (vm->state == HVM_CREATING || vm->state == HVM_ADOPTING)
            hvm_conn_lost(vm, "qmp", r);
        /* running or stopping: QEMU is exiting; its pidfd tells */
        hvm_maybe_finish(vm);
        return;
    }
    if (hvm_starting(vm) && !vm->qmp_caps_sent && qmp_client_greeted(vm->qmp)) {
        vm->qmp_caps_sent = true;
        r = qmp_client_send(vm->qmp, "qmp_capabilities", NULL, on_caps, vm);
        if (r < 0) {
            hvm_drop_qmp(vm);
            hvm_conn_lost(vm, "qmp", r);
            hvm_maybe_finish(vm);
            return;
        }
    }
    hvm_update_qmp_write(vm);
    hvm_maybe_finish(vm);
}

static void on_qmp_writable(evutil_socket_t fd, short what, void *arg)
{
    struct hvm *vm = arg;
    if (qmp_client_on_writable(vm->qmp) < 0) {
        event_del(vm->ev_qmp_w); /* the read side sees the broken connection */
        return;
    }
    hvm_update_qmp_write(vm);
}

static void on_agent_readable(evutil_socket_t fd, short what, void *arg)
{
    struct hvm *vm = arg;
    int r = agent_client_on_readable(vm->agent);
    if (r < 0) {
        /* the streams ended with LOST inside on_readable already */
        hvm_drop_agent(vm, true);
        if (vm->state == HVM_CREATING || vm->state == HVM_ADOPTING)
            hvm_conn_lost(vm, "agent", r);
        hvm_maybe_finish(vm);
        return;
    }
    hvm_maybe_started(vm);
    if (vm->state == HVM_PAUSING && vm->pstep == PAUSE_PING && agent_client_pong_seen(vm->agent)) {
        vm->pause_aligned = true;
        vm->pstep = PAUSE_STOP;
        pause_next(vm);
    }
    hvm_update_agent_write(vm);
}

static void on_agent_writable(evutil_socket_t fd, short what, void *arg)
{
    struct hvm *vm = arg;
    if (agent_client_on_writable(vm->agent) < 0) {
        event_del(vm->ev_agent_w); /* the read side sees the broken connection */
        return;
    }
    hvm_update_agent_write(vm);
}

static int hvm_sock_path(struct hvm *vm, const char *name, char *out)
{
    return qemu_run_path(vm->run_dir, name, out, PATH_MAX);
}

/* One connect attempt to a socket QEMU makes: 1 connected, 0 retry later, < 0 failed. */
static int try_connect(struct hvm *vm, const char *name, int *ret_fd)
{
    char path[PATH_MAX];
    if (hvm_sock_path(vm, name, path) < 0)
        return -ENAMETOOLONG;
    int r = usock_connect(path, ret_fd);
    if (r == 0)
        return 1;
    if (r == -ENOENT || r == -ECONNREFUSED)
        return 0;
    return r;
}

static void step_qmp_connect(struct hvm *vm)
{
    int fd;
    int r = try_connect(vm, "qmp.sock", &fd);
    if (r == 0) {
        timer_arm(vm->ev_retry, CONNECT_RETRY_MS);
        return;
    }
    struct herr e = { 0 };
    if (r < 0) {
        herr_set(&e, r, "vm '%s': cannot connect to qmp.sock: %s", vm->id, strerror(-r));
        hvm_start_failed_herr(vm, &e);
        return;
    }
    if (qmp_client_new(fd, on_qmp_event, vm, &vm->qmp) < 0 ||
        !(vm->ev_qmp_r = event_new(vm->h->base, fd, EV_READ | EV_PERSIST, on_qmp_readable,
                                   vm)) ||
        !(vm->ev_qmp_w = event_new(vm->h->base, fd, EV_WRITE, on_qmp_writable, vm))) {
        herr_set(&e, -ENOMEM, "vm '%s': out of memory", vm->id);
        hvm_start_failed_herr(vm, &e);
        return;
    }
    /* the greeting and qmp_capabilities follow on the QMP fd's events; meanwhile the agent
     * (a restore connects it once the guest runs again) */
    event_add(vm->ev_qmp_r, NULL);
    if (vm->restore) {
        vm->step = STEP_NONE;
        return;
    }
    vm->step = STEP_AGENT_CONNECT;
    timer_arm(vm->ev_retry, 0);
}

static void step_agent_connect(struct hvm *vm)
{
    int fd;
    int r = try_connect(vm, "agent.sock", &fd);
    if (r == 0) {
        timer_arm(vm->ev_retry, CONNECT_RETRY_MS);
        return;
    }
    struct herr e = { 0 };
    if (r < 0) {
        herr_set(&e, r, "vm '%s': cannot connect to agent.sock: %s", vm->id, strerror(-r));
        hvm_start_failed_herr(vm, &e);
        return;
    }
    if (agent_client_new(fd, &vm->agent) < 0) {
        herr_set(&e, -ENOMEM, "vm '%s': out of memory", vm->id);
        hvm_start_failed_herr(vm, &e);
        return;
    }
    /* every HELLO then carries the hostname (and fresh entropy): after a restore the guest
     * still has the snapshot's (docs/agent-protocol.md "Identity and entropy") */
    if (vm->hostname[0] && (r = agent_client_set_identity(vm->agent, vm->hostname)) < 0) {
        herr_set(&e, r, "vm '%s': invalid hostname '%s'", vm->id, vm->hostname);
        hvm_start_failed_herr(vm, &e);
        return;
    }
    vm->ev_agent_r = event_new(vm->h->base, fd, EV_READ | EV_PERSIST, on_agent_readable, vm);
    vm->ev_agent_w = event_new(vm->h->base, fd, EV_WRITE, on_agent_writable, vm);
    if (!vm->ev_agent_r || !vm->ev_agent_w) {
        herr_set(&e, -ENOMEM, "vm '%s': out of memory", vm->id);
        hvm_start_failed_herr(vm, &e);
        return;
    }
    /* An adopted agent may hold half a frame of the previous host: resync first. */
    bool resync = vm->state == HVM_ADOPTING || (vm->restore && !vm->aligned);
    if (resync && (r = agent_client_resync(vm->agent)) < 0) {
        herr_set(&e, r, "vm '%s': agent: cannot queue the resync preamble", vm->id);
        hvm_start_failed_herr(vm, &e);
        return;
    }
    vm->step = STEP_AGENT_HELLO;
    event_add(vm->ev_agent_r, NULL);
    timer_arm(vm->ev_retry, 0);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    struct hvm *vm = arg;
    if (vm->state == HVM_PAUSING && vm->pstep == PAUSE_WAIT) {
        pause_next(vm);
        return;
    }
    if (vm->state == HVM_RUNNING && vm->pause_cont) {
        pause_send_cont(vm);
        return;
    }
    if (!hvm_starting(vm)) {
        hvm_maybe_finish(vm);
        return;
    }
    if (vm->restore && vm->rstep == RESTORE_WAIT) {
        restore_next(vm);
        return;
    }
    switch (vm->step) {
    case STEP_QMP_CONNECT:
        step_qmp_connect(vm);
        break;
    case STEP_AGENT_CONNECT:
        step_agent_connect(vm);
        break;
    case STEP_AGENT_HELLO: {
        int r = agent_client_hello(vm->agent);
        if (r < 0) {
            hvm_drop_agent(vm, true);
            hvm_conn_lost(vm, "agent", r);
            break;
        }
        hvm_update_agent_write(vm);
        timer_arm(vm->ev_retry, HELLO_EVERY_MS);
        break;
    }
    default:
        break;
    }
    hvm_maybe_finish(vm);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct hvm *vm = arg;
    struct herr e = { 0 };
    switch (vm->state) {
    case HVM_CREATING:
    case HVM_ADOPTING:
        if (vm->step == STEP_DYING) {
            hvm_start_failed_herr(vm, &vm->lost);
        } else if (vm->step == STEP_DISK) {
            herr_set(&e, -ETIMEDOUT, "vm '%s': qemu-img did not finish within %d ms", vm->id,
                     vm->boot_ms);
            hvm_start_failed_herr(vm, &e);
        } else if (vm->state == HVM_ADOPTING) {
            herr_set(&e, -ETIMEDOUT, "vm '%s': no QMP greeting or agent READY within %d ms",
                     vm->id, vm->boot_ms);
            hvm_start_failed_herr(vm, &e);
        } else {
            (void)rundir_explain_timeout(vm->run_dir, vm->boot_ms, &e); /* fills e */
            hvm_start_failed_herr(vm, &e);
        }
        break;
    case HVM_STOPPING:
        /* POWER had its time: ask QMP to quit, and after that SIGKILL */
        if (vm->stop_stage == STOP_POWER && vm->qmp &&
            qmp_client_send(vm->qmp, "quit", NULL, NULL, NULL) == 0) {
            vm->stop_stage = STOP_QUIT;
            hvm_update_qmp_write(vm);
            timer_arm(vm->ev_deadline, vm->h->stop_ms);
        } else {
            hvm_kill(vm);
        }
        break;
    case HVM_PAUSING:
        if (vm->pstep == PAUSE_QUIT)
            proc_kill(&vm->qemu, SIGKILL); /* quit did not end it: the state is saved */
        else
            pause_fail(vm, HOST_E_TIMEOUT, -ETIMEDOUT, "the snapshot did not finish in time",
                       NULL);
        break;
    case HVM_KILLING:
        /* SIGKILL did not end it within KILL_WAIT_MS (D state?): stop waiting */
        vm->qemu_alive = false;
        vm->img_alive = false;
        break;
    default:
        break;
    }
    hvm_maybe_finish(vm);
}

/* The fresh, still empty layer over a shared snapshot's disk is what every clone of it starts
 * with: keep a copy in the snapshot (written aside, then renamed) so the next clone copies it
 * instead of running qemu-img. Best effort. */
static void layer_template_keep(struct hvm *vm, const char *disk)
{
    char tmpl[PATH_MAX], tmp[PATH_MAX];
    if (qemu_run_path(vm->snap_dir, "layer.qcow2", tmpl, sizeof(tmpl)) < 0 ||
        (size_t)snprintf(tmp, sizeof(tmp), "%s.%s", tmpl, vm->id) >= sizeof(tmp) ||
        access(tmpl, F_OK) == 0)
        return;
    if (snapshot_copy_file(disk, tmp) == 0 && rename(tmp, tmpl) == 0)
        return;
    (void)unlink(tmp);
}

static void on_img(evutil_socket_t fd, short what, void *arg)
{
    struct hvm *vm = arg;
    (void)proc_try_reap(&vm->img);
    vm->img_alive = false;
    ev_free(&vm->ev_img);
    struct herr e = { 0 };
    char disk[PATH_MAX], log[PATH_MAX];
    if (vm->state != HVM_CREATING) {
        proc_release(&vm->img);
        hvm_maybe_finish(vm);
        return;
    }
    (void)hvm_sock_path(vm, "disk.qcow2", disk);
    (void)hvm_sock_path(vm, "qemu.log", log);
    int r = qemu_disk_explain(vm->h->qemu_img, vm->rootfs, disk, log, vm->img.status, &e);
    proc_release(&vm->img);
    if (r < 0) {
        struct host_result res;
        result_set(&res, HOST_E_QEMU, r, "vm '%s': %s", vm->id, e.msg);
        hvm_start_failed(vm, &res);
        hvm_maybe_finish(vm);
        return;
    }
    if (vm->restore && !vm->consume)
        layer_template_keep(vm, disk);
    hvm_spawn_qemu(vm);
}

/* The disk layer exists: start QEMU (booting, or waiting for its incoming state). */
static void hvm_spawn_qemu(struct hvm *vm)
{
    struct herr e = { 0 };
    char log[PATH_MAX];
    (void)hvm_sock_path(vm, "qemu.log", log);
    struct qemu_config qc = {
        .qemu_bin = vm->h->qemu_bin[0] ? vm->h->qemu_bin : NULL,
        .kernel = vm->h->kernel,
        .run_dir = vm->run_dir,
        .accel = vm->h->accel,
        .vcpus = vm->vcpus,
        .memory_mib = vm->memory_mib,
        .extra_append = vm->extra_append,
        .mem_path = vm->mem_path[0] ? vm->mem_path : NULL,
        .mem_private = vm->ram_private,
        .incoming = vm->restore,
    };
    char **argv = NULL;
    int r = qemu_argv_build(&qc, &argv);
    if (r < 0) {
        herr_set(&e, -EINVAL, "vm '%s': invalid shape (vcpus %u, memory %u MiB)", vm->id,
                 qc.vcpus, qc.memory_mib);
        hvm_start_failed_herr(vm, &e);
        hvm_maybe_finish(vm);
        return;
    }
    /* limits first, then QEMU joins right after exec (before it has touched guest RAM); a
     * failure only costs the limits (host_cgroups() told the operator at start) */
    struct cgroup_limits lim = cgroup_vm_limits(vm->memory_mib, vm->cpu_quota_pct);
    struct herr ce = { 0 };
    const char *cgr = vm->h->cgroup_root;
    bool cg = cgr[0] && cgroup_vm_setup(cgr, vm->id, &lim, &ce) == 0;
    r = proc_spawn(argv, log, &vm->qemu);
    if (r < 0) {
        herr_set(&e, r, "vm '%s': cannot run '%s': %s", vm->id, argv[0], strerror(-r));
        qemu_argv_free(argv);
        hvm_start_failed_herr(vm, &e);
        hvm_maybe_finish(vm);
        return;
    }
    qemu_argv_free(argv);
    if (cg)
        (void)cgroup_vm_attach(cgr, vm->id, vm->qemu.pid, &ce); /* see above */
    (void)rundir_pidfile_write(vm->run_dir, vm->qemu.pid); /* without it only adopt fails */
    if (hvm_watch_pid(vm) < 0) {
        proc_kill(&vm->qemu, SIGKILL);
        (void)proc_wait(&vm->qemu, -1); /* SIGKILL: prompt; only on out of memory */
        herr_set(&e, -ENOMEM, "vm '%s': out of memory", vm->id);
        hvm_start_failed_herr(vm, &e);
        hvm_maybe_finish(vm);
        return;
    }
    vm->step = STEP_QMP_CONNECT;
    timer_arm(vm->ev_retry, 0);
}

/* --- VM objects --- */

static struct hvm *hvm_new(struct host *h, const char *id, enum hvm_state state)
{
    struct hvm *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return NULL;
    vm->h = h;
    vm->state = state;
    vm->step = STEP_NONE;
    vm->qemu.pidfd = -1;
    vm->img.pidfd = -1;
    vm->in_fd = vm->mig_lfd = vm->mig_cfd = vm->state_fd = vm->mem_fd = -1;
    snprintf(vm->id, sizeof(vm->id), "%s", id);
    if (qemu_run_path(h->run_root, id, vm->run_dir, sizeof(vm->run_dir)) < 0)
        goto out_free;
    vm->ev_retry = event_new(h->base, -1, 0, on_retry, vm);
    vm->ev_deadline = event_new(h->base, -1, 0, on_deadline, vm);
    vm->ev_kick = event_new(h->base, -1, 0, on_kick, vm);
    if (!vm->ev_retry || !vm->ev_deadline || !vm->ev_kick)
        goto out_free;
    vm->next = h->vms;
    h->vms = vm;
    return vm;
out_free:
    hvm_release(vm, false);
    free(vm);
    return NULL;
}

/* --- the host --- */

static int copy_str(char *out, size_t len, const char *s)
{
    if ((size_t)snprintf(out, len, "%s", s ? s : "") >= len)
        return -ENAMETOOLONG;
    return 0;
}

int host_new(struct event_base *base, const struct host_config *c, struct host **ret)
{
    if (!base || !c || !c->images_dir || !c->run_root || c->run_root[0] != '/' ||
        strchr(c->run_root, ','))
        return -EINVAL;
    enum qemu_accel accel = QEMU_ACCEL_AUTO;
    if (c->accel && qemu_accel_from_string(c->accel, &accel) < 0)
        return -EINVAL;
    struct host *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->base = base;
    h->accel = qemu_accel_resolve(accel, "/sys/module", "/dev/kvm");
    h->boot_ms = c->boot_timeout_ms > 0 ? c->boot_timeout_ms : 30000;
    h->stop_ms = c->stop_timeout_ms > 0 ? c->stop_timeout_ms : 10000;
    h->adopt_ms = c->adopt_timeout_ms > 0 ? c->adopt_timeout_ms : 10000;
    h->defers_tail = &h->defers;
    int r = 0;
    if (copy_str(h->images_dir, sizeof(h->images_dir), c->images_dir) < 0 ||
        copy_str(h->run_root, sizeof(h->run_root), c->run_root) < 0 ||
        copy_str(h->qemu_bin, sizeof(h->qemu_bin), c->qemu_bin) < 0 ||
        copy_str(h->qemu_img, sizeof(h->qemu_img), c->qemu_img) < 0) {
        r = -ENAMETOOLONG;
        goto out_free;
    }
    if (c->kernel)
        r = copy_str(h->kernel, sizeof(h->kernel), c->kernel);
    else
        r = qemu_run_path(h->images_dir, "vmlinux", h->kernel, sizeof(h->kernel));
    if (r < 0)
        goto out_free;
    const char *cg = c->cgroup_root ? c->cgroup_root : "/sys/fs/cgroup/hearth";
    if (cg[0]) {
        struct herr ce = { 0 };
        char missing[64] = "";
        if (cgroup_root_check(cg, missing, sizeof(missing), &ce) < 0) {
            snprintf(h->cgroup_note, sizeof(h->cgroup_note), "%s", ce.msg);
        } else {
            if (missing[0])
                snprintf(h->cgroup_note, sizeof(h->cgroup_note),
                         "cgroup root '%s' cannot have the %s controller(s): those limits are "
                         "skipped", cg, missing);
            if ((r = copy_str(h->cgroup_root, sizeof(h->cgroup_root), cg)) < 0)
                goto out_free;
        }
    } else {
        snprintf(h->cgroup_note, sizeof(h->cgroup_note), "cgroups are turned off");
    }
    if (mkdir(h->run_root, 0700) < 0 && errno != EEXIST) {
        r = -errno;
        goto out_free;
    }
    h->ev_defer = event_new(base, -1, 0, on_defer, h);
    if (!h->ev_defer) {
        r = -ENOMEM;
        goto out_free;
    }
    *ret = h;
    return 0;
out_free:
    free(h);
    return r;
}

void host_set_on_exit(struct host *h, host_exit_fn fn, void *ud)
{
    h->on_exit = fn;
    h->on_exit_ud = ud;
}

static void host_release(struct host *h)
{
    /* completions still queued run now: the loop will not get to them */
    while (h->defers) {
        struct defer *d = h->defers;
        h->defers = d->next;
        if (d->done)
            d->done(d->ud, d->id, &d->res);
        else if (d->on_exit)
            d->on_exit(d->ud, d->id, &d->ex);
        free(d);
    }
    if (h->ev_defer)
        event_free(h->ev_defer);
    free(h);
}

static void flatten_stop_all(struct host *h, bool notify);

void host_free(struct host *h)
{
    if (!h)
        return;
    flatten_stop_all(h, true);
    while (h->vms) {
        struct hvm *vm = h->vms;
        h->vms = vm->next;
        if (vm->qemu_alive && vm->state != HVM_ADOPTING) {
            proc_kill(&vm->qemu, SIGKILL);
            (void)proc_wait(&vm->qemu, mono_now_us() + KILL_WAIT_MS * 1000); /* prompt */
        }
        if (vm->img_alive) {
            proc_kill(&vm->img, SIGKILL);
            (void)proc_wait(&vm->img, mono_now_us() + KILL_WAIT_MS * 1000);
        }
        hvm_release(vm, true);
        if (vm->state != HVM_ADOPTING) {
            rundir_remove(vm->run_dir);
            if (h->cgroup_root[0])
                (void)cgroup_vm_remove(h->cgroup_root, vm->id); /* busy: pruned at next start */
        }
        struct host_result cancel;
        result_set(&cancel, HOST_E_CANCELED, -ECANCELED, "vm '%s': the host was shut down",
                   vm->id);
        if (vm->start_done)
            vm->start_done(vm->start_ud, vm->id, &cancel);
        if (vm->pause_done)
            vm->pause_done(vm->pause_ud, vm->id, &cancel);
        if (vm->destroy_done) {
            struct host_result ok = { .err = HOST_OK };
            vm->destroy_done(vm->destroy_ud, vm->id, &ok);
        }
        free(vm->extra_append);
        free(vm);
    }
    host_release(h);
}

void host_vm_discard(struct host *h, const char *id)
{
    struct hvm *vm = hvm_find(h, id);
    if (!vm)
        return;
    hvm_unlink(vm);
    if (vm->qemu_alive && vm->state != HVM_ADOPTING) {
        proc_kill(&vm->qemu, SIGKILL);
        (void)proc_wait(&vm->qemu, mono_now_us() + KILL_WAIT_MS * 1000); /* prompt */
    }
    if (vm->img_alive) {
        proc_kill(&vm->img, SIGKILL);
        (void)proc_wait(&vm->img, mono_now_us() + KILL_WAIT_MS * 1000);
    }
    hvm_release(vm, false);
    rundir_remove(vm->run_dir);
    if (h->cgroup_root[0])
        (void)cgroup_vm_remove(h->cgroup_root, vm->id);
    free(vm->extra_append);
    free(vm);
}

void host_free_keep_vms(struct host *h)
{
    if (!h)
        return;
    flatten_stop_all(h, false);
    while (h->vms) {
        struct hvm *vm = h->vms;
        h->vms = vm->next;
        hvm_release(vm, false);
        free(vm->extra_append);
        free(vm);
    }
    /* what a crash would lose: pending completions are dropped, not run */
    while (h->defers) {
        struct defer *d = h->defers;
        h->defers = d->next;
        free(d);
    }
    host_release(h);
}

/* --- create --- */

/* Resolves spec->rootfs to an absolute path: a path as given, or a catalog name. */
static int resolve_rootfs(struct host *h, const char *rootfs, char *out, size_t len)
{
    if (!rootfs || !*rootfs)
        return -EINVAL;
    if (strchr(rootfs, '/')) {
        if (rootfs[0] != '/')
            return -EINVAL;
        return copy_str(out, len, rootfs);
    }
    /* a catalog name: [a-z0-9][a-z0-9._-]*, no ".." */
    for (const char *p = rootfs; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              (p != rootfs && (*p == '.' || *p == '_' || *p == '-'))))
            return -EINVAL;
    if (strstr(rootfs, ".."))
        return -EINVAL;
    if ((size_t)snprintf(out, len, "%s/%s.ext4", h->images_dir, rootfs) >= len)
        return -ENAMETOOLONG;
    return 0;
}

void host_vm_create(struct host *h, const struct host_vm_spec *spec, host_done_fn done,
                    void *ud)
{
    const char *id = spec ? spec->id : NULL;
    if (!spec || !rundir_id_valid(id)) {
        fail_now(h, done, ud, id, HOST_E_INVALID, "invalid sandbox id '%.64s'", id ? id : "");
        return;
    }
    if (hvm_find(h, id)) {
        fail_now(h, done, ud, id, HOST_E_EXISTS, "vm '%s' already exists", id);
        return;
    }
    char path[PATH_MAX];
    struct herr e = { 0 };
    int r = 0;
    char rootfs_abs[PATH_MAX] = "";
    if (spec->hostname && !hostname_valid(spec->hostname, strlen(spec->hostname))) {
        fail_now(h, done, ud, id, HOST_E_INVALID, "vm '%s': invalid hostname", id);
        return;
    }
    if (spec->snapshot) {
        if ((r = rundir_check_file("kernel", h->kernel, &e)) < 0) {
            fail_now(h, done, ud, id, err_from_errno(r), "vm '%s': %s", id, e.msg);
            return;
        }
        goto make_vm;
    }
    r = resolve_rootfs(h, spec->rootfs, path, sizeof(path));
    if (r < 0) {
        fail_now(h, done, ud, id, HOST_E_INVALID, "vm '%s': invalid rootfs '%.200s'", id,
                 spec->rootfs ? spec->rootfs : "");
        return;
    }
    if ((r = rundir_check_file("kernel", h->kernel, &e)) < 0 ||
        (r = rundir_check_file("rootfs image", path, &e)) < 0 || !realpath(path, rootfs_abs)) {
        if (r == 0)
            r = herr_set(&e, -errno, "rootfs image '%s': %s", path, strerror(errno));
        fail_now(h, done, ud, id, err_from_errno(r), "vm '%s': %s", id, e.msg);
        return;
    }
    /* a device smaller than the image's file system would cut it: refuse up front */
    struct stat ist;
    if (spec->disk_mib && stat(rootfs_abs, &ist) == 0 &&
        (spec->disk_mib > HOST_DISK_MAX_MIB || (uint64_t)ist.st_size > spec->disk_mib << 20)) {
        fail_now(h, done, ud, id, HOST_E_INVALID,
                 "vm '%s': disk of %llu MiB is smaller than the image '%s' (%lld MiB)", id,
                 (unsigned long long)spec->disk_mib, rootfs_abs,
                 (long long)(ist.st_size >> 20));
        return;
    }
make_vm:;
    struct hvm *vm = hvm_new(h, id, HVM_CREATING);
    if (!vm) {
        fail_now(h, done, ud, id, HOST_E_SYSTEM, "vm '%s': out of memory", id);
        return;
    }
    vm->start_done = done;
    vm->start_ud = ud;
    vm->boot_ms = spec->boot_timeout_ms > 0 ? spec->boot_timeout_ms : h->boot_ms;
    vm->vcpus = spec->vcpus ? spec->vcpus : 1;
    vm->memory_mib = spec->memory_mib ? spec->memory_mib : 256;
    vm->disk_mib = spec->disk_mib;
    vm->cpu_quota_pct = spec->cpu_quota_pct;
    snprintf(vm->rootfs, sizeof(vm->rootfs), "%s", rootfs_abs);
    snprintf(vm->hostname, sizeof(vm->hostname), "%s", spec->hostname ? spec->hostname : "");
    if (spec->extra_append && !(vm->extra_append = strdup(spec->extra_append))) {
        herr_set(&e, -ENOMEM, "vm '%s': out of memory", id);
        goto out_fail;
    }
    timer_arm(vm->ev_deadline, vm->boot_ms);
    char sock[PATH_MAX];
    if (hvm_sock_path(vm, "agent.sock", sock) < 0 || strlen(sock) >= 108) {
        herr_set(&e, -ENAMETOOLONG, "run root '%s' is too long for socket paths", h->run_root);
        goto out_fail;
    }
    if (mkdir(vm->run_dir, 0700) < 0) {
        r = -errno;
        herr_set(&e, r, "vm '%s': cannot create run dir '%s': %s", id, vm->run_dir,
                 strerror(-r));
        goto out_fail;
    }
    vm->remove_dir = true;
    if (spec->snapshot) {
        vm->restore = true;
        vm->consume = spec->snapshot_consume;
        vm->rstep = RESTORE_NONE;
        restore_start(vm, spec);
        return;
    }
    hvm_start_disk(vm, "raw");
    return;
out_fail:
    /* finishes from the loop (hvm_kick), never inside this call */
    hvm_start_failed_herr(vm, &e);
}

/* Runs qemu-img to make the VM's disk layer over vm->rootfs (of format fmt); on_img goes on. */
static void hvm_start_disk(struct hvm *vm, const char *fmt)
{
    struct host *h = vm->h;
    const char *id = vm->id;
    struct herr e = { 0 };
    char disk[PATH_MAX], log[PATH_MAX];
    (void)hvm_sock_path(vm, "disk.qcow2", disk);
    (void)hvm_sock_path(vm, "qemu.log", log);
    char **argv = NULL;
    int r = qemu_disk_argv_fmt(h->qemu_img[0] ? h->qemu_img : NULL, vm->rootfs, fmt, disk,
                               vm->disk_mib, &argv);
    if (r < 0) {
        herr_set(&e, r, "vm '%s': invalid disk size %llu MiB", id,
                 (unsigned long long)vm->disk_mib);
        goto out_fail;
    }
    vm->step = STEP_DISK;
    r = proc_spawn(argv, log, &vm->img);
    if (r < 0) {
        herr_set(&e, r, "vm '%s': cannot run '%s': %s; install qemu-utils", id, argv[0],
                 strerror(-r));
        qemu_argv_free(argv);
        goto out_fail;
    }
    qemu_argv_free(argv);
    vm->img_alive = true;
    vm->ev_img = event_new(h->base, vm->img.pidfd, EV_READ, on_img, vm);
    if (!vm->ev_img) {
        herr_set(&e, -ENOMEM, "vm '%s': out of memory", id);
        goto out_fail;
    }
    event_add(vm->ev_img, NULL);
    return;
out_fail:
    /* finishes from the loop (hvm_kick), never inside this call */
    hvm_start_failed_herr(vm, &e);
}

/* --- adopt --- */

void host_vm_adopt(struct host *h, const char *id, host_done_fn done, void *ud)
{
    if (!rundir_id_valid(id)) {
        fail_now(h, done, ud, id, HOST_E_INVALID, "invalid sandbox id '%.64s'", id ? id : "");
        return;
    }
    if (hvm_find(h, id)) {
        fail_now(h, done, ud, id, HOST_E_EXISTS, "vm '%s' is already known", id);
        return;
    }
    struct hvm *vm = hvm_new(h, id, HVM_ADOPTING);
    if (!vm) {
        fail_now(h, done, ud, id, HOST_E_SYSTEM, "vm '%s': out of memory", id);
        return;
    }
    vm->start_done = done;
    vm->start_ud = ud;
    vm->boot_ms = h->adopt_ms;
    struct host_result res;
    pid_t pid;
    int pidfd;
    int r = rundir_pidfile_open(vm->run_dir, &pid, &pidfd);
    if (r < 0) {
        if (r == -ENOENT)
            result_set(&res, HOST_E_NOT_FOUND, r, "vm '%s': no pid file in '%s'", id,
                       vm->run_dir);
        else if (r == -ESRCH)
            result_set(&res, HOST_E_GONE, r, "vm '%s': its qemu is gone (or the pid was reused)",
                       id);
        else
            result_set(&res, r == -EBADMSG ? HOST_E_INVALID : HOST_E_SYSTEM, r,
                       "vm '%s': pid file in '%s': %s", id, vm->run_dir,
                       r == -EBADMSG ? "malformed" : strerror(-r));
        hvm_start_failed(vm, &res);
        return;
    }
    vm->qemu.pid = pid;
    vm->qemu.pidfd = pidfd;
    if (hvm_watch_pid(vm) < 0) {
        result_set(&res, HOST_E_SYSTEM, -ENOMEM, "vm '%s': out of memory", id);
        hvm_start_failed(vm, &res);
        return;
    }
    timer_arm(vm->ev_deadline, vm->boot_ms);
    vm->step = STEP_QMP_CONNECT;
    timer_arm(vm->ev_retry, 0);
}

/* --- destroy --- */

void host_vm_destroy(struct host *h, const char *id, host_done_fn done, void *ud)
{
    if (!rundir_id_valid(id)) {
        fail_now(h, done, ud, id, HOST_E_INVALID, "invalid sandbox id '%.64s'", id ? id : "");
        return;
    }
    struct hvm *vm = hvm_find(h, id);
    if (vm && vm->destroy_done) {
        fail_now(h, done, ud, id, HOST_E_BUSY, "vm '%s' is being destroyed", id);
        return;
    }
    if (!vm) {
        /* an orphan run dir (or nothing): kill a QEMU the pid file proves alive, remove */
        char dir[PATH_MAX];
        struct stat st;
        if (qemu_run_path(h->run_root, id, dir, sizeof(dir)) < 0 || lstat(dir, &st) < 0 ||
            !S_ISDIR(st.st_mode)) {
            fail_now(h, done, ud, id, HOST_E_NOT_FOUND, "no vm '%s'", id);
            return;
        }
        vm = hvm_new(h, id, HVM_KILLING);
        if (!vm) {
            fail_now(h, done, ud, id, HOST_E_SYSTEM, "vm '%s': out of memory", id);
            return;
        }
        vm->remove_dir = true;
        vm->destroy_done = done;
        vm->destroy_ud = ud;
        pid_t pid;
        int pidfd;
        if (rundir_pidfile_open(vm->run_dir, &pid, &pidfd) == 0) {
            vm->qemu.pid = pid;
            vm->qemu.pidfd = pidfd;
            if (hvm_watch_pid(vm) < 0)
                vm->qemu_alive = false; /* out of memory: kill without waiting */
        }
        hvm_kill(vm);
        return;
    }
    vm->destroy_done = done;
    vm->destroy_ud = ud;
    vm->remove_dir = true;
    if (vm->start_done) {
        struct host_result res;
        result_set(&res, HOST_E_CANCELED, -ECANCELED, "vm '%s' was destroyed while starting",
                   id);
        defer_done(h, vm->start_done, vm->start_ud, id, &res);
        vm->start_done = NULL;
    }
    if (vm->pause_done) {
        struct host_result res;
        result_set(&res, HOST_E_CANCELED, -ECANCELED, "vm '%s' was destroyed while pausing", id);
        hvm_drop_migration(vm);
        (void)snapshot_remove(vm->snap_dir);
        pause_complete(vm, &res);
        hvm_kill(vm);
        return;
    }
    switch (vm->state) {
    case HVM_PAUSING: /* handled above */
    case HVM_RUNNING:
        vm->state = HVM_STOPPING;
        vm->stop_stage = STOP_POWER;
        if (!vm->agent || agent_power_start(vm->agent, "poweroff", NULL, NULL, NULL) < 0) {
            timer_arm(vm->ev_deadline, 0); /* straight to QMP quit */
            return;
        }
        hvm_update_agent_write(vm);
        timer_arm(vm->ev_deadline, h->stop_ms);
        return;
    case HVM_CREATING:
    case HVM_ADOPTING:
    case HVM_EXITED:
        hvm_kill(vm);
        return;
    case HVM_STOPPING:
    case HVM_KILLING:
        /* a failing start is being cleaned up: the destroy completes with it */
        return;
    }
}

/* --- restore (docs/snapshots.md "Restore") --- */

static void restore_fail(struct hvm *vm, enum host_err err, int errnum, const char *what,
                         const struct qmp_msg *reply)
{
    struct host_result res;
    if (reply && reply->kind == QMP_MSG_ERROR)
        result_set(&res, err, errnum, "vm '%s': restore from '%s': %s failed: %s: %s", vm->id,
                   vm->snap_dir, what, reply->err_class, reply->err_desc);
    else
        result_set(&res, err, errnum, "vm '%s': restore from '%s': %s", vm->id, vm->snap_dir,
                   what);
    hvm_start_failed(vm, &res);
    hvm_maybe_finish(vm);
}

static void restore_next(struct hvm *vm);

/* Both sides of a snapshot migrate with x-ignore-shared: RAM shared with a file stays out of
 * the stream (docs/guests.md). A new object, or NULL. */
static json_t *ignore_shared_caps(void)
{
    return json_pack("{s:[{s:s,s:b}]}", "capabilities", "capability", "x-ignore-shared",
                     "state", 1);
}

static void on_restore_reply(void *ud, const struct qmp_msg *reply)
{
    struct hvm *vm = ud;
    if (vm->state != HVM_CREATING || !vm->restore)
        return;
    static const char *const names[] = {
        [RESTORE_VERSION] = "query-version", [RESTORE_CAPS] = "migrate-set-capabilities",
        [RESTORE_INCOMING] = "migrate-incoming", [RESTORE_WAIT] = "query-migrate",
        [RESTORE_CONT] = "cont",
    };
    if (reply->kind == QMP_MSG_ERROR) {
        restore_fail(vm, HOST_E_QEMU, -EREMOTEIO, names[vm->rstep], reply);
        return;
    }
    switch (vm->rstep) {
    case RESTORE_VERSION: {
        char version[128];
        qmp_version_string(reply->ret, version, sizeof(version));
        if (strcmp(version, vm->qemu_version) != 0) {
            char why[400];
            snprintf(why, sizeof(why), "the snapshot was taken with QEMU %s; this is QEMU %s",
                     vm->qemu_version, version);
            restore_fail(vm, HOST_E_INVALID, -ESTALE, why, NULL);
            return;
        }
        vm->rstep = RESTORE_CAPS;
        break;
    }
    case RESTORE_CAPS:
        vm->rstep = RESTORE_INCOMING;
        break;
    case RESTORE_INCOMING:
        vm->rstep = RESTORE_SEND;
        break;
    case RESTORE_WAIT: {
        const char *st = json_string_value(json_object_get(reply->ret, "status"));
        if (st && (strcmp(st, "failed") == 0 || strcmp(st, "cancelled") == 0)) {
            const char *why = json_string_value(json_object_get(reply->ret, "error-desc"));
            char msg[400];
            snprintf(msg, sizeof(msg), "loading the device state %s: %s", st,
                     why ? why : "(no reason given; see qemu.log)");
            restore_fail(vm, HOST_E_QEMU, -EIO, msg, NULL);
            return;
        }
        if (!st || strcmp(st, "completed") != 0) {
            timer_arm(vm->ev_retry, 1); /* ~1 ms polls: the load takes a few ms */
            return;
        }
        vm->rstep = RESTORE_CONT;
        vm->guest_ran = true;
        break;
    }
    case RESTORE_CONT:
        /* the guest runs: now the agent handshake (resync only when the pause could not
         * prove the agent's reader idle) */
        vm->rstep = RESTORE_DONE;
        vm->qmp_ready = true;
        vm->step = STEP_AGENT_CONNECT;
        timer_arm(vm->ev_retry, 0);
        return;
    default:
        return;
    }
    restore_next(vm);
}

static void on_restore_in_writable(evutil_socket_t fd, short what, void *arg)
{
    struct hvm *vm = arg;
    while (vm->state_off < vm->state_len) {
        ssize_t n = send(vm->in_fd, vm->state_buf + vm->state_off,
                         vm->state_len - vm->state_off, MSG_NOSIGNAL);
        if (n > 0) {
            vm->state_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN) {
            event_add(vm->ev_in, NULL);
            return;
        }
        /* QEMU refused the stream and is exiting: its pidfd tells why */
        restore_fail(vm, HOST_E_QEMU, -errno, "QEMU stopped reading the device state", NULL);
        return;
    }
    ev_free(&vm->ev_in);
    fd_close(&vm->in_fd); /* EOF ends QEMU's load */
    free(vm->state_buf);
    vm->state_buf = NULL;
    vm->rstep = RESTORE_WAIT;
    restore_next(vm);
}

/* Sends the command of the current step (or starts the state upload). */
static void restore_next(struct hvm *vm)
{
    int r = 0;
    json_t *args = NULL;
    switch (vm->rstep) {
    case RESTORE_VERSION:
        r = qmp_client_send(vm->qmp, "query-version", NULL, on_restore_reply, vm);
        break;
    case RESTORE_CAPS:
        args = ignore_shared_caps();
        r = args ? qmp_client_send(vm->qmp, "migrate-set-capabilities", args, on_restore_reply,
                                   vm)
                 : -ENOMEM;
        break;
    case RESTORE_INCOMING: {
        char path[PATH_MAX], uri[PATH_MAX + 8];
        (void)hvm_sock_path(vm, "incoming.sock", path);
        snprintf(uri, sizeof(uri), "unix:%s", path);
        args = json_pack("{s:s}", "uri", uri);
        r = args ? qmp_client_send(vm->qmp, "migrate-incoming", args, on_restore_reply, vm)
                 : -ENOMEM;
        break;
    }
    case RESTORE_SEND: {
        char path[PATH_MAX];
        (void)hvm_sock_path(vm, "incoming.sock", path);
        r = usock_connect(path, &vm->in_fd); /* QEMU listens once migrate-incoming returned */
        if (r < 0) {
            restore_fail(vm, HOST_E_QEMU, r, "cannot connect to incoming.sock", NULL);
            return;
        }
        vm->ev_in = event_new(vm->h->base, vm->in_fd, EV_WRITE, on_restore_in_writable, vm);
        if (!vm->ev_in) {
            restore_fail(vm, HOST_E_SYSTEM, -ENOMEM, "out of memory", NULL);
            return;
        }
        on_restore_in_writable(vm->in_fd, EV_WRITE, vm);
        return;
    }
    case RESTORE_WAIT:
        r = qmp_client_send(vm->qmp, "query-migrate", NULL, on_restore_reply, vm);
        break;
    case RESTORE_CONT:
        r = qmp_client_send(vm->qmp, "cont", NULL, on_restore_reply, vm);
        break;
    default:
        return;
    }
    json_decref(args);
    if (r < 0) {
        restore_fail(vm, HOST_E_QEMU, r, "the QMP connection broke", NULL);
        return;
    }
    hvm_update_qmp_write(vm);
}

/* Reads the whole state file (a few ten KB; bounded) for restore_next(). */
static int read_small_file(const char *path, size_t max, unsigned char **ret, size_t *ret_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_size <= 0 || (uint64_t)st.st_size > max) {
        close(fd);
        return -EFBIG;
    }
    unsigned char *buf = malloc((size_t)st.st_size);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (!buf || got != (size_t)st.st_size) {
        free(buf);
        return buf ? -EIO : -ENOMEM;
    }
    *ret = buf;
    *ret_len = got;
    return 0;
}

/* A shared snapshot's RAM file is mostly holes. A clone maps it private and reads only what
 * its guest touches, but the clone's first pause migrates every page: each hole read through
 * the mapping allocates a zeroed page-cache page (measured: 2.2 s for 1 GiB the first time,
 * 0.25 s once they are cached). Filling the page cache once per snapshot, in the background,
 * takes that off the pause: the pages are clean, shared by every clone, and reclaimable. */
static void *warm_thread(void *arg)
{
    char *path = arg;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
        close(fd);
    }
    free(path);
    return NULL;
}

static void warm_snapshot_ram(struct host *h, const char *mem)
{
    for (unsigned i = 0; i < HOST_WARM_SLOTS; i++)
        if (strcmp(h->warmed[i], mem) == 0)
            return;
    snprintf(h->warmed[h->warm_next], sizeof(h->warmed[0]), "%s", mem);
    h->warm_next = (h->warm_next + 1) % HOST_WARM_SLOTS;
    char *arg = strdup(mem);
    pthread_attr_t attr;
    pthread_t t;
    if (!arg || pthread_attr_init(&attr) != 0) {
        free(arg);
        return;
    }
    (void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, warm_thread, arg) != 0)
        free(arg); /* an optimisation only */
    pthread_attr_destroy(&attr);
}

/* Snapshot state larger than this is not ours (device state is ~50 KB). */
#define RESTORE_STATE_MAX (64u << 20)

/* host_vm_create() with spec->snapshot: verify, lay out the run dir, then spawn (consume) or
 * make the disk layer first (shared base). */
static void restore_start(struct hvm *vm, const struct host_vm_spec *spec)
{
    struct host *h = vm->h;
    struct herr e = { 0 };
    int r;
    char kernel_abs[PATH_MAX], snap[PATH_MAX];
    if (!realpath(h->kernel, kernel_abs)) {
        herr_set(&e, -ENOENT, "kernel '%s': %s", h->kernel, strerror(errno));
        goto fail;
    }
    if (!realpath(spec->snapshot, snap) || strchr(snap, ',')) {
        herr_set(&e, -ENOENT, "vm '%s': snapshot '%s': %s", vm->id, spec->snapshot,
                 errno ? strerror(errno) : "contains ','");
        goto fail;
    }
    snprintf(vm->snap_dir, sizeof(vm->snap_dir), "%s", snap);
    struct snapshot_meta meta;
    r = snapshot_verify(snap, vm->vcpus, vm->memory_mib, kernel_abs, &meta, &e);
    if (r < 0) {
        struct host_result res;
        result_set(&res, r == -ENOENT ? HOST_E_NOT_FOUND : HOST_E_INVALID, r, "vm '%s': %s",
                   vm->id, e.msg);
        hvm_start_failed(vm, &res);
        return;
    }
    snprintf(vm->qemu_version, sizeof(vm->qemu_version), "%s", meta.qemu_version);
    vm->aligned = meta.agent_aligned;
    char state[PATH_MAX], smem[PATH_MAX], sdisk[PATH_MAX], disk[PATH_MAX], mem[PATH_MAX];
    if (qemu_run_path(snap, "state", state, sizeof(state)) < 0 ||
        qemu_run_path(snap, "mem", smem, sizeof(smem)) < 0 ||
        qemu_run_path(snap, "disk.qcow2", sdisk, sizeof(sdisk)) < 0 ||
        hvm_sock_path(vm, "disk.qcow2", disk) < 0 || hvm_sock_path(vm, "mem", mem) < 0) {
        herr_set(&e, -ENAMETOOLONG, "vm '%s': snapshot path '%s' is too long", vm->id, snap);
        goto fail;
    }
    r = read_small_file(state, RESTORE_STATE_MAX, &vm->state_buf, &vm->state_len);
    if (r < 0) {
        herr_set(&e, r, "vm '%s': snapshot state '%s': %s", vm->id, state, strerror(-r));
        goto fail;
    }
    if (vm->consume) {
        /* hard links: the snapshot stays whole until the VM runs (a failed start before cont
         * leaves it as it was); the snapshot dir goes once READY */
        if ((r = snapshot_link_or_copy(smem, mem)) < 0 ||
            (r = snapshot_link_or_copy(sdisk, disk)) < 0) {
            herr_set(&e, r, "vm '%s': cannot take over the snapshot's files: %s", vm->id,
                     strerror(-r));
            goto fail;
        }
        snprintf(vm->mem_path, sizeof(vm->mem_path), "%s", mem);
        hvm_spawn_qemu(vm);
        return;
    }
    vm->ram_private = true;
    snprintf(vm->mem_path, sizeof(vm->mem_path), "%s", smem);
    warm_snapshot_ram(h, smem);
    /* a new qcow2 layer whose backing is the snapshot's frozen disk: a copy of the empty layer
     * the first clone left in the snapshot (~0.1 ms), else qemu-img (~10 ms) */
    snprintf(vm->rootfs, sizeof(vm->rootfs), "%s", sdisk);
    vm->disk_mib = 0;
    char tmpl[PATH_MAX];
    if (qemu_run_path(snap, "layer.qcow2", tmpl, sizeof(tmpl)) == 0 &&
        snapshot_copy_file(tmpl, disk) == 0) {
        hvm_spawn_qemu(vm);
        return;
    }
    (void)unlink(disk);
    hvm_start_disk(vm, "qcow2");
    return;
fail:
    hvm_start_failed_herr(vm, &e);
}

/* --- pause --- */

/* The pause failed before QEMU was told to quit: the VM continues and keeps running. */
static void pause_fail(struct hvm *vm, enum host_err err, int errnum, const char *what,
                       const struct qmp_msg *reply)
{
    struct host_result res;
    if (reply && reply->kind == QMP_MSG_ERROR)
        result_set(&res, err, errnum, "vm '%s': pause: %s failed: %s: %s", vm->id, what,
                   reply->err_class, reply->err_desc);
    else
        result_set(&res, err, errnum, "vm '%s': pause: %s", vm->id, what);
    hvm_drop_migration(vm); /* a migration in flight fails on its closed socket */
    (void)snapshot_remove(vm->snap_dir);
    event_del(vm->ev_deadline);
    event_del(vm->ev_retry);
    vm->state = HVM_RUNNING;
    pause_complete(vm, &res);
    /* stop may have been sent: cont (a running VM ignores it) */
    vm->pause_cont = vm->qmp && vm->pstep >= PAUSE_STOP;
    vm->cont_tries = 0;
    if (vm->pause_cont)
        timer_arm(vm->ev_retry, 0);
}

static void on_cont_reply(void *ud, const struct qmp_msg *reply)
{
    struct hvm *vm = ud;
    if (vm->state != HVM_RUNNING || !vm->pause_cont)
        return;
    if (reply->kind == QMP_MSG_ERROR && ++vm->cont_tries < 200) {
        timer_arm(vm->ev_retry, 10); /* e.g. the failed migration is still winding down */
        return;
    }
    vm->pause_cont = false;
}

/* After a failed pause: cont, once QMP takes a command (one at a time). */
static void pause_send_cont(struct hvm *vm)
{
    if (!vm->qmp) {
        vm->pause_cont = false;
        return;
    }
    int r = qmp_client_send(vm->qmp, "cont", NULL, on_cont_reply, vm);
    if (r == -EBUSY) {
        timer_arm(vm->ev_retry, 5); /* the pause's last command is still answering */
        return;
    }
    if (r < 0)
        vm->pause_cont = false; /* QMP broke: QEMU is exiting (pidfd) */
    hvm_update_qmp_write(vm);
}


#define PAUSE_RUN_MAX (1u << 20) /* RAM pages gathered into one pwrite */

static int run_flush(struct hvm *vm)
{
    int r = fd_pwrite_all(vm->mem_fd, vm->run, vm->run_len, vm->run_off);
    vm->run_len = 0;
    return r;
}

static int split_on_state(void *ud, const void *buf, size_t len)
{
    return fd_write_all(((struct hvm *)ud)->state_fd, buf, len);
}

static int split_on_ram(void *ud, uint64_t off, const void *buf, size_t len)
{
    struct hvm *vm = ud;
    if (vm->run_len && (off != vm->run_off + vm->run_len || vm->run_len + len > PAUSE_RUN_MAX)) {
        int r = run_flush(vm);
        if (r < 0)
            return r;
    }
    if (!vm->run_len)
        vm->run_off = off;
    memcpy(vm->run + vm->run_len, buf, len);
    vm->run_len += len;
    return 0;
}

/* The RAM of a VM restored from a shared snapshot is a private mapping, so QEMU migrates it
 * with the device state: its pages are split out of the stream into snap_dir/mem (sparse), and
 * the rest is what a VM with a RAM file of its own would have sent (migsplit.h). */
static int pause_split_open(struct hvm *vm)
{
    if (!vm->ram_private)
        return 0;
    char mem[PATH_MAX];
    if (qemu_run_path(vm->snap_dir, "mem", mem, sizeof(mem)) < 0)
        return -ENAMETOOLONG;
    vm->mem_fd = open(mem, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (vm->mem_fd < 0)
        return -errno;
    uint64_t size = (uint64_t)vm->memory_mib << 20;
    if (ftruncate(vm->mem_fd, (off_t)size) < 0)
        return -errno;
    vm->run = malloc(PAUSE_RUN_MAX);
    if (!vm->run)
        return -ENOMEM;
    struct migsplit_ops ops = { .on_state = split_on_state, .on_ram = split_on_ram };
    return migsplit_new(QEMU_RAM_BLOCK, size, &ops, vm, &vm->split);
}

static int pause_stream_write(struct hvm *vm, const void *p, size_t n)
{
    if (!vm->split)
        return fd_write_all(vm->state_fd, p, n);
    struct herr e = { 0 };
    int r = migsplit_push(vm->split, p, n, &e);
    if (r < 0 && e.msg[0])
        snprintf(vm->split_err, sizeof(vm->split_err), "%.199s", e.msg);
    return r;
}

/* The stream ended: it must have been whole; the RAM file gets its last pages. */
static int pause_split_finish(struct hvm *vm)
{
    if (!vm->split)
        return 0;
    struct herr e = { 0 };
    int r = migsplit_finish(vm->split, &e);
    if (r < 0 && e.msg[0])
        snprintf(vm->split_err, sizeof(vm->split_err), "%.199s", e.msg);
    if (r == 0)
        r = run_flush(vm);
    if (r == 0 && fsync(vm->mem_fd) < 0)
        r = -errno;
    return r;
}

static void pause_next(struct hvm *vm);

static void on_pause_reply(void *ud, const struct qmp_msg *reply)
{
    struct hvm *vm = ud;
    if (vm->state != HVM_PAUSING)
        return;
    static const char *const names[] = {
        [PAUSE_STOP] = "stop", [PAUSE_VERSION] = "query-version",
        [PAUSE_CAPS] = "migrate-set-capabilities", [PAUSE_PARAMS] = "migrate-set-parameters",
        [PAUSE_MIGRATE] = "migrate",
        [PAUSE_WAIT] = "query-migrate", [PAUSE_QUIT] = "quit",
    };
    if (reply->kind == QMP_MSG_ERROR) {
        if (vm->pstep == PAUSE_QUIT)
            return; /* QEMU exits anyway, or the deadline kills it */
        pause_fail(vm, HOST_E_QEMU, -EREMOTEIO, names[vm->pstep], reply);
        return;
    }
    switch (vm->pstep) {
    case PAUSE_STOP:
        vm->pstep = PAUSE_VERSION;
        break;
    case PAUSE_VERSION:
        qmp_version_string(reply->ret, vm->qemu_version, sizeof(vm->qemu_version));
        vm->pstep = PAUSE_CAPS;
        break;
    case PAUSE_CAPS:
        vm->pstep = PAUSE_PARAMS;
        break;
    case PAUSE_PARAMS:
        vm->pstep = PAUSE_MIGRATE;
        break;
    case PAUSE_MIGRATE:
        return; /* the stream arrives on migrate.sock */
    case PAUSE_WAIT: {
        const char *st = json_string_value(json_object_get(reply->ret, "status"));
        if (st && (strcmp(st, "failed") == 0 || strcmp(st, "cancelled") == 0)) {
            const char *why = json_string_value(json_object_get(reply->ret, "error-desc"));
            char msg[400];
            snprintf(msg, sizeof(msg), "migration %s: %s", st, why ? why : "(no reason given)");
            pause_fail(vm, HOST_E_QEMU, -EIO, msg, NULL);
            return;
        }
        if (!st || strcmp(st, "completed") != 0) {
            timer_arm(vm->ev_retry, 1);
            return;
        }
        vm->pstep = PAUSE_QUIT;
        break;
    }
    case PAUSE_QUIT:
    case PAUSE_PING:
        return;
    }
    pause_next(vm);
}

static void on_mig_readable(evutil_socket_t fd, short what, void *arg)
{
    struct hvm *vm = arg;
    if (vm->state != HVM_PAUSING)
        return;
    if (vm->mig_cfd < 0) {
        vm->mig_cfd = accept4(vm->mig_lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (vm->mig_cfd < 0) {
            if (errno != EAGAIN && errno != EINTR)
                pause_fail(vm, HOST_E_SYSTEM, -errno, "accept on migrate.sock failed", NULL);
            return;
        }
        ev_free(&vm->ev_mig);
        fd_close(&vm->mig_lfd);
        vm->ev_mig = event_new(vm->h->base, vm->mig_cfd, EV_READ | EV_PERSIST, on_mig_readable,
                               vm);
        if (!vm->ev_mig) {
            pause_fail(vm, HOST_E_SYSTEM, -ENOMEM, "out of memory", NULL);
            return;
        }
        event_add(vm->ev_mig, NULL);
        return;
    }
    unsigned char buf[65536];
    for (int rounds = 0; rounds < 64; rounds++) {
        ssize_t n = read(vm->mig_cfd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n < 0) {
            pause_fail(vm, HOST_E_QEMU, -errno, "reading the device state failed", NULL);
            return;
        }
        if (n == 0) {
            /* QEMU sent everything: the state file is complete once it is on disk */
            ev_free(&vm->ev_mig);
            fd_close(&vm->mig_cfd);
            int fr = pause_split_finish(vm);
            if (fr < 0) {
                pause_fail(vm, HOST_E_QEMU, fr, "the migration stream could not be split", NULL);
                return;
            }
            if (fsync(vm->state_fd) < 0) {
                pause_fail(vm, HOST_E_SYSTEM, -errno, "fsync of the device state failed", NULL);
                return;
            }
            fd_close(&vm->state_fd);
            vm->pstep = PAUSE_WAIT;
            pause_next(vm);
            return;
        }
        int r = pause_stream_write(vm, buf, (size_t)n);
        if (r < 0) {
            char why[300];
            snprintf(why, sizeof(why), "writing the snapshot failed: %s",
                     vm->split_err[0] ? vm->split_err : strerror(-r));
            pause_fail(vm, r == -EBADMSG ? HOST_E_QEMU : HOST_E_SYSTEM, r, why, NULL);
            return;
        }
    }
}

/* Opens migrate.sock and the state file for the migration. */
static int pause_listen(struct hvm *vm)
{
    char path[PATH_MAX], state[PATH_MAX];
    if (hvm_sock_path(vm, "migrate.sock", path) < 0 || strlen(path) >= 108 ||
        qemu_run_path(vm->snap_dir, "state", state, sizeof(state)) < 0)
        return -ENAMETOOLONG;
    vm->state_fd = open(state, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (vm->state_fd < 0)
        return -errno;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    memcpy(sa.sun_path, path, strlen(path) + 1); /* < 108, checked above */
    vm->mig_lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (vm->mig_lfd < 0)
        return -errno;
    (void)unlink(path);
    if (bind(vm->mig_lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(vm->mig_lfd, 1) < 0)
        return -errno;
    vm->ev_mig = event_new(vm->h->base, vm->mig_lfd, EV_READ | EV_PERSIST, on_mig_readable, vm);
    if (!vm->ev_mig)
        return -ENOMEM;
    event_add(vm->ev_mig, NULL);
    return 0;
}

static void pause_next(struct hvm *vm)
{
    int r = 0;
    json_t *args = NULL;
    switch (vm->pstep) {
    case PAUSE_STOP:
        r = qmp_client_send(vm->qmp, "stop", NULL, on_pause_reply, vm);
        break;
    case PAUSE_VERSION:
        r = qmp_client_send(vm->qmp, "query-version", NULL, on_pause_reply, vm);
        break;
    case PAUSE_CAPS:
        args = ignore_shared_caps();
        r = args ? qmp_client_send(vm->qmp, "migrate-set-capabilities", args, on_pause_reply, vm)
                 : -ENOMEM;
        break;
    case PAUSE_PARAMS:
        /* QEMU caps migrations at 128 MiB/s by default: a restored VM's RAM crosses this
         * local socket and would take ~4x longer (docs/guests.md) */
        args = json_pack("{s:I}", "max-bandwidth", (json_int_t)1 << 40);
        r = args ? qmp_client_send(vm->qmp, "migrate-set-parameters", args, on_pause_reply, vm)
                 : -ENOMEM;
        break;
    case PAUSE_MIGRATE: {
        r = pause_listen(vm);
        if (r < 0) {
            pause_fail(vm, HOST_E_SYSTEM, r, "cannot open migrate.sock or the state file", NULL);
            return;
        }
        char path[PATH_MAX], uri[PATH_MAX + 8];
        (void)hvm_sock_path(vm, "migrate.sock", path);
        snprintf(uri, sizeof(uri), "unix:%s", path);
        args = json_pack("{s:s}", "uri", uri);
        r = args ? qmp_client_send(vm->qmp, "migrate", args, on_pause_reply, vm) : -ENOMEM;
        break;
    }
    case PAUSE_WAIT:
        r = qmp_client_send(vm->qmp, "query-migrate", NULL, on_pause_reply, vm);
        break;
    case PAUSE_QUIT:
        /* the state is saved: QEMU may go; its exit (pidfd) finishes the pause */
        r = qmp_client_send(vm->qmp, "quit", NULL, on_pause_reply, vm);
        if (r < 0) {
            proc_kill(&vm->qemu, SIGKILL); /* the RAM file is consistent: nothing to lose */
            r = 0;
        }
        break;
    case PAUSE_PING:
        return;
    }
    json_decref(args);
    if (r < 0) {
        pause_fail(vm, HOST_E_QEMU, r, "the QMP connection broke", NULL);
        return;
    }
    hvm_update_qmp_write(vm);
}

/* QEMU exited after quit: move the RAM file and disk layer into the snapshot, write meta.json
 * last. The VM is then forgotten (its run dir holds only links). */
static void pause_finalize(struct hvm *vm)
{
    struct host *h = vm->h;
    struct herr e = { 0 };
    struct host_result res = { .err = HOST_OK };
    char src[PATH_MAX], dst[PATH_MAX];
    int r = 0;
    if (!vm->ram_private && (hvm_sock_path(vm, "mem", src) < 0 ||
                             qemu_run_path(vm->snap_dir, "mem", dst, sizeof(dst)) < 0 ||
                             (r = snapshot_link_or_copy(src, dst)) < 0))
        herr_set(&e, r ? r : -ENAMETOOLONG, "cannot link the RAM file into '%s': %s",
                 vm->snap_dir, strerror(r ? -r : ENAMETOOLONG));
    if (!e.code && (hvm_sock_path(vm, "disk.qcow2", src) < 0 ||
                    qemu_run_path(vm->snap_dir, "disk.qcow2", dst, sizeof(dst)) < 0 ||
                    (r = snapshot_link_or_copy(src, dst)) < 0))
        herr_set(&e, r ? r : -ENAMETOOLONG, "cannot link the disk layer into '%s': %s",
                 vm->snap_dir, strerror(r ? -r : ENAMETOOLONG));
    struct snapshot_meta m = { .vcpus = vm->vcpus, .memory_mib = vm->memory_mib,
                               .agent_aligned = vm->pause_aligned };
    snprintf(m.qemu_version, sizeof(m.qemu_version), "%s", vm->qemu_version);
    struct stat kst;
    if (!e.code && (!realpath(h->kernel, m.kernel) || stat(m.kernel, &kst) < 0))
        herr_set(&e, -errno, "kernel '%s': %s", h->kernel, strerror(errno));
    m.kernel_size = e.code ? 0 : (int64_t)kst.st_size;
    if (!e.code && snapshot_meta_write(vm->snap_dir, &m, &e) < 0 && !e.code)
        e.code = -EIO;
    if (e.code) {
        /* QEMU is gone but its RAM file and disk are still in the run dir: keep them (an
         * operator can recover them) and report the VM as exited */
        result_set(&res, HOST_E_SYSTEM, e.code, "vm '%s': pause: %s", vm->id, e.msg);
        vm->state = HVM_EXITED;
        hvm_drop_agent(vm, true);
        hvm_drop_qmp(vm);
        pause_complete(vm, &res);
        return;
    }
    pause_complete(vm, &res);
    vm->remove_dir = true;
    vm->state = HVM_KILLING;
}

void host_vm_pause(struct host *h, const char *id, const char *snap_dir, host_done_fn done,
                   void *ud)
{
    if (!rundir_id_valid(id)) {
        fail_now(h, done, ud, id, HOST_E_INVALID, "invalid sandbox id '%.64s'", id ? id : "");
        return;
    }
    if (!snap_dir || snap_dir[0] != '/' || strchr(snap_dir, ',') ||
        strlen(snap_dir) + 16 >= PATH_MAX) {
        fail_now(h, done, ud, id, HOST_E_INVALID,
                 "vm '%s': snapshot dir must be an absolute path without ','", id);
        return;
    }
    struct hvm *vm = hvm_find(h, id);
    if (!vm) {
        fail_now(h, done, ud, id, HOST_E_NOT_FOUND, "no vm '%s'", id);
        return;
    }
    if (vm->state != HVM_RUNNING || !vm->qmp || !vm->agent || vm->resize_done ||
        vm->pause_done || vm->pause_cont) {
        fail_now(h, done, ud, id, HOST_E_BUSY, "vm '%s' is not running, or busy", id);
        return;
    }
    if (mkdir(snap_dir, 0700) < 0 && errno != EEXIST) {
        fail_now(h, done, ud, id, HOST_E_SYSTEM, "vm '%s': cannot create '%s': %s", id,
                 snap_dir, strerror(errno));
        return;
    }
    snprintf(vm->snap_dir, sizeof(vm->snap_dir), "%s", snap_dir);
    int r = pause_split_open(vm);
    if (r < 0) {
        hvm_drop_migration(vm);
        (void)snapshot_remove(snap_dir);
        fail_now(h, done, ud, id, HOST_E_SYSTEM, "vm '%s': cannot start the RAM file in '%s': %s",
                 id, snap_dir, strerror(-r));
        return;
    }
    vm->pause_done = done;
    vm->pause_ud = ud;
    vm->state = HVM_PAUSING;
    vm->pstep = PAUSE_PING;
    vm->pause_aligned = false;
    r = agent_client_ping_send(vm->agent);
    if (r < 0) {
        /* no agent: stop right away (a restore then resyncs) */
        vm->pstep = PAUSE_STOP;
        pause_next(vm);
    } else {
        hvm_update_agent_write(vm);
    }
    timer_arm(vm->ev_deadline, PAUSE_TIMEOUT_MS);
}


/* --- flattening a snapshot's disk chain --- */

static void flatten_free(struct flatten *f)
{
    for (struct flatten **pp = &f->h->flattens; *pp; pp = &(*pp)->next)
        if (*pp == f) {
            *pp = f->next;
            break;
        }
    if (f->ev)
        event_free(f->ev);
    proc_release(&f->p);
    free(f);
}

static void flatten_finish(struct flatten *f, enum host_err err, int errnum, const char *msg)
{
    struct host_result res = { .err = err, .errnum = errnum };
    if (err != HOST_OK)
        snprintf(res.msg, sizeof(res.msg), "snapshot '%.200s': flatten: %.280s", f->dir, msg);
    char tmp[PATH_MAX + 32];
    snprintf(tmp, sizeof(tmp), "%s/disk.flat.qcow2", f->dir);
    if (err != HOST_OK)
        (void)unlink(tmp);
    snprintf(tmp, sizeof(tmp), "%s/flatten.json", f->dir);
    (void)unlink(tmp);
    defer_done(f->h, f->done, f->ud, f->dir, &res);
    flatten_free(f);
}

static void flatten_stop_all(struct host *h, bool notify)
{
    while (h->flattens) {
        struct flatten *f = h->flattens;
        proc_kill(&f->p, SIGKILL);
        (void)proc_wait(&f->p, mono_now_us() + KILL_WAIT_MS * 1000);
        if (notify) {
            struct host_result res = { .err = HOST_E_CANCELED, .errnum = -ECANCELED };
            snprintf(res.msg, sizeof(res.msg), "snapshot '%.400s': the host was shut down",
                     f->dir);
            if (f->done)
                f->done(f->ud, f->dir, &res);
        }
        flatten_free(f);
    }
}

static int flatten_spawn(struct flatten *f, char **argv, const char *log);

static void on_flatten_child(evutil_socket_t fd, short what, void *arg)
{
    struct flatten *f = arg;
    (void)proc_try_reap(&f->p);
    int status = f->p.status;
    proc_release(&f->p);
    event_free(f->ev);
    f->ev = NULL;
    char info[PATH_MAX + 32], disk[PATH_MAX + 32], flat[PATH_MAX + 32];
    snprintf(info, sizeof(info), "%s/flatten.json", f->dir);
    snprintf(disk, sizeof(disk), "%s/disk.qcow2", f->dir);
    snprintf(flat, sizeof(flat), "%s/disk.flat.qcow2", f->dir);
    if (status != 0) {
        char tail[300];
        qemu_log_tail(info, tail, sizeof(tail));
        flatten_finish(f, HOST_E_QEMU, -EIO, tail);
        return;
    }
    if (f->converting) {
        /* the new file is whole: it replaces the old name; users of the old inode keep it */
        int ffd = open(flat, O_RDONLY | O_CLOEXEC);
        if (ffd >= 0) {
            (void)fsync(ffd);
            close(ffd);
        }
        if (rename(flat, disk) < 0)
            flatten_finish(f, HOST_E_SYSTEM, -errno, strerror(errno));
        else
            flatten_finish(f, HOST_OK, 0, "");
        return;
    }
    /* stage 1 done: the chain, top first; its last entry is what stays as the backing */
    json_error_t je;
    json_t *chain = json_load_file(info, 0, &je);
    size_t n = json_array_size(chain);
    json_t *bottom = n ? json_array_get(chain, n - 1) : NULL;
    const char *bfile = json_string_value(json_object_get(bottom, "filename"));
    const char *bfmt = json_string_value(json_object_get(bottom, "format"));
    if (!json_is_array(chain) || !bfile || !bfmt) {
        json_decref(chain);
        flatten_finish(f, HOST_E_QEMU, -EBADMSG, "qemu-img info gave no backing chain");
        return;
    }
    if (n <= 2) {
        json_decref(chain);
        flatten_finish(f, HOST_OK, 0, ""); /* only the bottom below: nothing to fold */
        return;
    }
    char bfile_c[PATH_MAX], bfmt_c[16];
    snprintf(bfile_c, sizeof(bfile_c), "%s", bfile);
    snprintf(bfmt_c, sizeof(bfmt_c), "%s", bfmt);
    json_decref(chain);
    (void)unlink(flat);
    const char *img = f->h->qemu_img[0] ? f->h->qemu_img : "qemu-img";
    /* -U: VMs have these files open (shared, read-only); -B: clusters only the bottom has
     * stay there */
    char *argv[] = { (char *)img, "convert", "-U", "-q", "-f", "qcow2", "-O", "qcow2",
                     "-B", bfile_c, "-F", bfmt_c, disk, flat, NULL };
    f->converting = true;
    int r = flatten_spawn(f, argv, info);
    if (r < 0)
        flatten_finish(f, HOST_E_QEMU, r, "cannot run qemu-img");
}

static int flatten_spawn(struct flatten *f, char **argv, const char *log)
{
    (void)unlink(log);
    int r = proc_spawn(argv, log, &f->p);
    if (r < 0)
        return r;
    f->ev = event_new(f->h->base, f->p.pidfd, EV_READ, on_flatten_child, f);
    if (!f->ev) {
        proc_kill(&f->p, SIGKILL);
        (void)proc_wait(&f->p, -1);
        proc_release(&f->p);
        return -ENOMEM;
    }
    event_add(f->ev, NULL);
    return 0;
}

void host_snapshot_flatten(struct host *h, const char *snap_dir, host_done_fn done, void *ud)
{
    char disk[PATH_MAX + 32], info[PATH_MAX + 32];
    if (!snap_dir || snap_dir[0] != '/' || strlen(snap_dir) >= PATH_MAX - 32) {
        fail_now(h, done, ud, snap_dir, HOST_E_INVALID, "invalid snapshot dir");
        return;
    }
    snprintf(disk, sizeof(disk), "%s/disk.qcow2", snap_dir);
    snprintf(info, sizeof(info), "%s/flatten.json", snap_dir);
    if (access(disk, R_OK) < 0) {
        fail_now(h, done, ud, snap_dir, HOST_E_NOT_FOUND, "snapshot '%s' has no disk.qcow2",
                 snap_dir);
        return;
    }
    struct flatten *f = calloc(1, sizeof(*f));
    if (!f) {
        fail_now(h, done, ud, snap_dir, HOST_E_SYSTEM, "out of memory");
        return;
    }
    f->h = h;
    f->done = done;
    f->ud = ud;
    f->p.pidfd = -1;
    snprintf(f->dir, sizeof(f->dir), "%s", snap_dir);
    f->next = h->flattens;
    h->flattens = f;
    const char *img = h->qemu_img[0] ? h->qemu_img : "qemu-img";
    char *argv[] = { (char *)img, "info", "-U", "--backing-chain", "--output=json", disk, NULL };
    int r = flatten_spawn(f, argv, info);
    if (r < 0) {
        struct host_result res = { .err = HOST_E_QEMU, .errnum = r };
        snprintf(res.msg, sizeof(res.msg), "snapshot '%s': cannot run qemu-img", snap_dir);
        defer_done(h, done, ud, snap_dir, &res);
        flatten_free(f);
    }
}

/* --- disk resize --- */

static void on_block_resize(void *ud, const struct qmp_msg *reply)
{
    struct hvm *vm = ud;
    struct host_result res = { .err = HOST_OK };
    if (reply->kind == QMP_MSG_ERROR)
        result_set(&res, HOST_E_QEMU, -EREMOTEIO, "vm '%s': block_resize failed: %s: %s",
                   vm->id, reply->err_class, reply->err_desc);
    resize_complete(vm, &res);
}

/* The virtual size of drive `root` in a query-block reply, or -1. */
static int64_t root_virtual_size(json_t *blocks)
{
    size_t i;
    json_t *b;
    json_array_foreach(blocks, i, b) {
        json_t *dev = json_object_get(b, "device");
        if (!json_is_string(dev) || strcmp(json_string_value(dev), "root") != 0)
            continue;
        json_t *vs = json_object_get(json_object_get(json_object_get(b, "inserted"), "image"),
                                     "virtual-size");
        return json_is_integer(vs) ? (int64_t)json_integer_value(vs) : -1;
    }
    return -1;
}

/* query-block answered: refuse to shrink (a shrunk qcow2 cuts the guest's file system), do
 * nothing when the size is already right (a retry after a crash between the two steps), else
 * block_resize. */
static void on_query_block(void *ud, const struct qmp_msg *reply)
{
    struct hvm *vm = ud;
    struct host_result res;
    int64_t cur = reply->kind == QMP_MSG_RETURN ? root_virtual_size(reply->ret) : -1;
    if (reply->kind == QMP_MSG_ERROR) {
        result_set(&res, HOST_E_QEMU, -EREMOTEIO, "vm '%s': query-block failed: %s: %s",
                   vm->id, reply->err_class, reply->err_desc);
        resize_complete(vm, &res);
        return;
    }
    if (cur < 0) {
        result_set(&res, HOST_E_QEMU, -EPROTO, "vm '%s': query-block shows no drive 'root'",
                   vm->id);
        resize_complete(vm, &res);
        return;
    }
    if ((uint64_t)cur > vm->resize_bytes) {
        result_set(&res, HOST_E_INVALID, -EINVAL,
                   "vm '%s': the disk is %lld MiB already and cannot shrink to %llu MiB",
                   vm->id, (long long)(cur >> 20), (unsigned long long)(vm->resize_bytes >> 20));
        resize_complete(vm, &res);
        return;
    }
    if ((uint64_t)cur == vm->resize_bytes) {
        res = (struct host_result){ .err = HOST_OK };
        resize_complete(vm, &res);
        return;
    }
    json_t *args = json_pack("{s:s,s:I}", "device", "root", "size",
                             (json_int_t)vm->resize_bytes);
    int r = args ? qmp_client_send(vm->qmp, "block_resize", args, on_block_resize, vm)
                 : -ENOMEM;
    json_decref(args);
    if (r < 0) {
        result_set(&res, err_from_errno(r), r, "vm '%s': cannot send block_resize: %s", vm->id,
                   strerror(-r));
        resize_complete(vm, &res);
        return;
    }
    hvm_update_qmp_write(vm);
}

void host_vm_disk_resize(struct host *h, const char *id, uint64_t new_mib, host_done_fn done,
                         void *ud)
{
    struct hvm *vm = hvm_find(h, id);
    if (!rundir_id_valid(id) || new_mib == 0 || new_mib > HOST_DISK_MAX_MIB) {
        fail_now(h, done, ud, id, HOST_E_INVALID, "vm '%.64s': invalid disk size %llu MiB",
                 id ? id : "", (unsigned long long)new_mib);
        return;
    }
    if (!vm) {
        fail_now(h, done, ud, id, HOST_E_NOT_FOUND, "no vm '%s'", id);
        return;
    }
    if (vm->state != HVM_RUNNING || !vm->qmp) {
        fail_now(h, done, ud, id, HOST_E_BUSY, "vm '%s' is not running", id);
        return;
    }
    if (vm->resize_done) {
        fail_now(h, done, ud, id, HOST_E_BUSY, "vm '%s': a disk resize is under way", id);
        return;
    }
    vm->resize_bytes = new_mib << 20;
    int r = qmp_client_send(vm->qmp, "query-block", NULL, on_query_block, vm);
    if (r < 0) {
        fail_now(h, done, ud, id, r == -EBUSY ? HOST_E_BUSY : HOST_E_SYSTEM,
                 "vm '%s': cannot send query-block: %s", id, strerror(-r));
        return;
    }
    vm->resize_done = done;
    vm->resize_ud = ud;
    hvm_update_qmp_write(vm);
}

/* --- queries --- */

bool host_cgroups(struct host *h, char *note, size_t len)
{
    if (len)
        snprintf(note, len, "%s", h->cgroup_note);
    return h->cgroup_root[0] != 0;
}

static bool cgroup_claimed(void *ud, const char *name)
{
    return hvm_find(ud, name) != NULL;
}

int host_cgroup_prune(struct host *h)
{
    if (!h->cgroup_root[0])
        return 0;
    int r = cgroup_prune(h->cgroup_root, cgroup_claimed, h);
    return r == -ENOENT ? 0 : r;
}

int host_vm_list_orphans(struct host *h, struct host_orphan **ret, size_t *ret_n)
{
    DIR *d = opendir(h->run_root);
    if (!d)
        return -errno;
    struct host_orphan *v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int r = 0;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
            continue;
        if (hvm_find(h, de->d_name))
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            struct host_orphan *nv = realloc(v, ncap * sizeof(*nv));
            if (!nv) {
                r = -ENOMEM;
                break;
            }
            v = nv;
            cap = ncap;
        }
        struct host_orphan *o = &v[n++];
        *o = (struct host_orphan){ 0 };
        snprintf(o->id, sizeof(o->id), "%.64s", de->d_name);
        o->valid = rundir_id_valid(de->d_name);
        char dir[PATH_MAX];
        pid_t pid;
        int pidfd;
        if (o->valid && qemu_run_path(h->run_root, de->d_name, dir, sizeof(dir)) == 0 &&
            rundir_pidfile_open(dir, &pid, &pidfd) == 0) {
            o->pid = pid;
            o->alive = true;
            close(pidfd);
        }
    }
    closedir(d);
    if (r < 0) {
        free(v);
        return r;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

bool host_vm_running(struct host *h, const char *id)
{
    struct hvm *vm = hvm_find(h, id);
    return vm && vm->state == HVM_RUNNING && vm->qemu_alive;
}

pid_t host_vm_pid(struct host *h, const char *id)
{
    struct hvm *vm = hvm_find(h, id);
    return vm && vm->qemu_alive ? vm->qemu.pid : 0;
}

int host_vm_run_dir(struct host *h, const char *id, char *out, size_t len)
{
    if (!rundir_id_valid(id))
        return -EINVAL;
    if ((size_t)snprintf(out, len, "%s/%s", h->run_root, id) >= len)
        return -ENAMETOOLONG;
    return 0;
}

unsigned host_vm_count(struct host *h)
{
    unsigned n = 0;
    for (struct hvm *vm = h->vms; vm; vm = vm->next)
        n += vm->state == HVM_RUNNING && vm->qemu_alive;
    return n;
}

/* --- streams --- */

/* The running VM's agent, or NULL with *ret_err set. */
static struct agent_client *running_agent(struct host *h, const char *id, struct hvm **ret_vm,
                                          int *ret_err)
{
    struct hvm *vm = hvm_find(h, id);
    if (!vm) {
        *ret_err = -ENOENT;
        return NULL;
    }
    if (vm->state != HVM_RUNNING) {
        *ret_err = -EBUSY;
        return NULL;
    }
    if (!vm->agent) {
        *ret_err = -ENOTCONN;
        return NULL;
    }
    *ret_vm = vm;
    return vm->agent;
}

/* Any VM's agent (streams may be touched while the VM stops), or NULL. */
static struct agent_client *any_agent(struct host *h, const char *id, struct hvm **ret_vm)
{
    struct hvm *vm = hvm_find(h, id);
    if (!vm || !vm->agent)
        return NULL;
    *ret_vm = vm;
    return vm->agent;
}

int host_vm_exec(struct host *h, const char *id, const struct agent_exec_req *req,
                 const struct agent_stream_ops *ops, void *ud, uint32_t *ret_stream)
{
    struct hvm *vm;
    int r;
    struct agent_client *a = running_agent(h, id, &vm, &r);
    if (!a)
        return r;
    r = agent_exec_start(a, req, ops, ud, ret_stream);
    hvm_update_agent_write(vm);
    return r;
}

int host_vm_exec_cancel(struct host *h, const char *id, uint32_t stream)
{
    struct hvm *vm;
    struct agent_client *a = any_agent(h, id, &vm);
    if (!a)
        return hvm_find(h, id) ? -ESRCH : -ENOENT;
    int r = agent_stream_cancel(a, stream, true);
    hvm_update_agent_write(vm);
    return r == -ESRCH ? -ESRCH : 0; /* a send failure breaks the client; the stream ended */
}

int host_vm_exec_signal(struct host *h, const char *id, uint32_t stream, int sig)
{
    struct hvm *vm;
    struct agent_client *a = any_agent(h, id, &vm);
    if (!a)
        return hvm_find(h, id) ? -ESRCH : -ENOENT;
    int r = agent_stream_signal(a, stream, sig);
    hvm_update_agent_write(vm);
    return r;
}

int host_vm_file_put_start(struct host *h, const char *id, const char *path, uint32_t mode,
                           const struct agent_stream_ops *ops, void *ud, uint32_t *ret_stream)
{
    struct hvm *vm;
    int r;
    struct agent_client *a = running_agent(h, id, &vm, &r);
    if (!a)
        return r;
    r = agent_file_put_push_start(a, path, mode, ops, ud, ret_stream);
    hvm_update_agent_write(vm);
    return r;
}

ssize_t host_stream_write(struct host *h, const char *id, uint32_t stream, const void *data,
                          size_t len)
{
    struct hvm *vm;
    struct agent_client *a = any_agent(h, id, &vm);
    if (!a)
        return hvm_find(h, id) ? -ENOTCONN : -ENOENT;
    ssize_t n = agent_stream_write(a, stream, data, len);
    hvm_update_agent_write(vm);
    return n;
}

int host_stream_finish(struct host *h, const char *id, uint32_t stream)
{
    struct hvm *vm;
    struct agent_client *a = any_agent(h, id, &vm);
    if (!a)
        return hvm_find(h, id) ? -ENOTCONN : -ENOENT;
    int r = agent_stream_finish(a, stream);
    hvm_update_agent_write(vm);
    return r;
}

int host_vm_file_get(struct host *h, const char *id, const char *path,
                     const struct agent_stream_ops *ops, void *ud, uint32_t *ret_stream)
{
    struct hvm *vm;
    int r;
    struct agent_client *a = running_agent(h, id, &vm, &r);
    if (!a)
        return r;
    r = agent_file_get_start(a, path, ops, ud, ret_stream);
    hvm_update_agent_write(vm);
    return r;
}

int host_stream_consumed(struct host *h, const char *id, uint32_t stream, size_t n)
{
    struct hvm *vm;
    struct agent_client *a = any_agent(h, id, &vm);
    if (!a)
        return hvm_find(h, id) ? -ESRCH : -ENOENT;
    int r = agent_stream_consumed(a, stream, n);
    if (r == 0)
        (void)agent_client_on_writable(a); /* send the WINDOW now; a failure shows on read */
    hvm_update_agent_write(vm);
    return r;
}
