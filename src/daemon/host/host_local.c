/* SPDX-License-Identifier: MIT */
/* host_local.c: the host interface (host.h) in-process, on hearthd's libevent loop. Each VM is
 * a state machine driven by events on its fds (qemu-img and QEMU pidfds, QMP and agent
 * sockets) and timers (connect retry, HELLO resend, one deadline); nothing blocks the loop.
 * Owns the VMs' processes, clients and run dirs; shares the run-dir layout, pid file and
 * failure explanations with vm.c through rundir.h. Knows nothing of sandboxes or the store.
 * Pause and restore live in host_snapshot.c, disk-chain flattening in host_flatten.c; the
 * three share host_internal.h. */
#include "daemon/host/host.h"
#include "daemon/host/host_internal.h"

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "daemon/host/cgroup.h"
#include "common/hostname.h"
#include "common/herr.h"
#include "common/mono.h"
#include "daemon/host/proc.h"
#include "daemon/host/qemu.h"
#include "daemon/host/qmp.h"
#include "daemon/host/migsplit.h"
#include "daemon/host/rundir.h"
#include "daemon/host/snapshot.h"
#include "daemon/host/usock.h"

#define HOST_ERR_STR_(name, str) [name] = str,
static const char *const host_err_names[] = { HOST_ERR_TABLE(HOST_ERR_STR_) };
#undef HOST_ERR_STR_

const char *host_err_to_string(enum host_err e)
{
    if ((unsigned)e < sizeof(host_err_names) / sizeof(host_err_names[0]))
        return host_err_names[e];
    return "unknown";
}

/* --- completions --- */

static void on_defer(evutil_socket_t fd, short what, void *arg)
{
    struct host *h = arg;
    /* Detach the whole list first: a callback may free h (host_free()). */
    struct hvm_defer *list = h->defers;
    h->defers = NULL;
    h->defers_tail = &h->defers;
    while (list) {
        struct hvm_defer *d = list;
        list = d->next;
        if (d->done)
            d->done(d->ud, d->id, &d->res);
        else if (d->on_exit)
            d->on_exit(d->ud, d->id, &d->ex);
        free(d);
    }
}

static struct hvm_defer *defer_new(struct host *h, const char *id)
{
    struct hvm_defer *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL; /* out of memory: the completion is lost; nothing better to do */
    snprintf(d->id, sizeof(d->id), "%s", id ? id : "");
    *h->defers_tail = d;
    h->defers_tail = &d->next;
    event_active(h->ev_defer, EV_TIMEOUT, 0);
    return d;
}

void hvm_defer_done(struct host *h, host_done_fn done, void *ud, const char *id,
                       const struct host_result *res)
{
    if (!done)
        return;
    struct hvm_defer *d = defer_new(h, id);
    if (!d)
        return;
    d->done = done;
    d->ud = ud;
    d->res = *res;
}

__attribute__((format(printf, 4, 5)))
void hvm_result_set(struct host_result *res, enum host_err err, int errnum, const char *fmt,
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
void hvm_fail_now(struct host *h, host_done_fn done, void *ud, const char *id,
                     enum host_err err, const char *fmt, ...)
{
    struct host_result res = { .err = err, .errnum = -EINVAL };
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res.msg, sizeof(res.msg), fmt, ap);
    va_end(ap);
    hvm_defer_done(h, done, ud, id, &res);
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

struct host_vm *hvm_find(struct host *h, const char *id)
{
    for (struct host_vm *vm = h->vms; id && vm; vm = vm->next)
        if (strcmp(vm->id, id) == 0)
            return vm;
    return NULL;
}

void hvm_timer_arm(struct event *ev, int ms)
{
    struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
    event_add(ev, &tv);
}

void hvm_ev_free(struct event **ev)
{
    if (*ev)
        event_free(*ev);
    *ev = NULL;
}

void hvm_update_agent_write(struct host_vm *vm)
{
    if (!vm->agent || !vm->ev_agent_w)
        return;
    if (agent_client_want_write(vm->agent))
        event_add(vm->ev_agent_w, NULL);
    else
        event_del(vm->ev_agent_w);
}

void hvm_update_qmp_write(struct host_vm *vm)
{
    if (!vm->qmp || !vm->ev_qmp_w)
        return;
    if (qmp_client_want_write(vm->qmp))
        event_add(vm->ev_qmp_w, NULL);
    else
        event_del(vm->ev_qmp_w);
}

static void resize_complete(struct host_vm *vm, const struct host_result *res)
{
    host_done_fn done = vm->resize_done;
    vm->resize_done = NULL;
    hvm_defer_done(vm->h, done, vm->resize_ud, vm->id, res);
}

void hvm_drop_qmp(struct host_vm *vm)
{
    if (vm->resize_done) {
        /* the reply can no longer come: QEMU exits or the VM is being torn down */
        struct host_result res;
        hvm_result_set(&res, HOST_E_GONE, -ECONNRESET,
                   "vm '%s': qmp connection lost during the disk resize", vm->id);
        resize_complete(vm, &res);
    }
    hvm_debug_drop(vm, true, false);
    hvm_ev_free(&vm->ev_qmp_r);
    hvm_ev_free(&vm->ev_qmp_w);
    qmp_client_free(vm->qmp);
    vm->qmp = NULL;
}

/* Ends the agent connection; with notify, its streams end with AGENT_END_LOST first. */
void hvm_drop_agent(struct host_vm *vm, bool notify)
{
    hvm_debug_drop(vm, false, true);
    hvm_ev_free(&vm->ev_agent_r);
    hvm_ev_free(&vm->ev_agent_w);
    if (vm->agent && notify)
        agent_client_shutdown(vm->agent, -ECONNRESET);
    agent_client_free(vm->agent);
    vm->agent = NULL;
}

void hvm_fd_close(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* The pause's sockets and file; the snapshot directory is the caller's business. */
void hvm_drop_migration(struct host_vm *vm)
{
    hvm_ev_free(&vm->ev_mig);
    hvm_fd_close(&vm->mig_cfd);
    hvm_fd_close(&vm->mig_lfd);
    hvm_fd_close(&vm->state_fd);
    hvm_fd_close(&vm->mem_fd);
    migsplit_free(vm->split);
    vm->split = NULL;
    free(vm->run);
    vm->run = NULL;
    vm->run_len = 0;
    hvm_ev_free(&vm->ev_in);
    hvm_fd_close(&vm->in_fd);
    free(vm->state_buf);
    vm->state_buf = NULL;
}

/* Frees the struct and what it owns, after hvm_release(). NETCFG requests still listed lost
 * their stream without on_end (host_free_keep_vms()): nothing is owed to them. */
static void hvm_free(struct host_vm *vm)
{
    while (vm->netreqs) {
        struct hvm_netreq *q = vm->netreqs;
        vm->netreqs = q->next;
        free(q->net_json);
        free(q);
    }
    free(vm->extra_append);
    free(vm->net_json);
    free(vm);
}

/* Frees everything but the struct; no callback can fire on vm afterwards. */
static void hvm_release(struct host_vm *vm, bool notify_streams)
{
    hvm_drop_migration(vm);
    hvm_drop_agent(vm, notify_streams);
    hvm_drop_qmp(vm);
    hvm_ev_free(&vm->ev_pid);
    hvm_ev_free(&vm->ev_img);
    hvm_ev_free(&vm->ev_retry);
    hvm_ev_free(&vm->ev_deadline);
    hvm_ev_free(&vm->ev_kick);
    proc_release(&vm->qemu);
    proc_release(&vm->img);
    hvm_fd_close(&vm->tap_fd);
}

static void hvm_unlink(struct host_vm *vm)
{
    for (struct host_vm **pp = &vm->h->vms; *pp; pp = &(*pp)->next) {
        if (*pp == vm) {
            *pp = vm->next;
            return;
        }
    }
}

/* The last step of a VM's life: called only at the tail of one of its own event callbacks. */
static void hvm_finish(struct host_vm *vm)
{
    struct host *h = vm->h;
    hvm_release(vm, true);
    if (vm->remove_dir && !h->keep_dirs) {
        rundir_remove(vm->run_dir);
        /* QEMU is gone; a cgroup still busy (a process stuck past SIGKILL) is pruned later */
        if (h->cgroup_root[0])
            (void)cgroup_vm_remove(h->cgroup_root, vm->id);
    }
    hvm_unlink(vm);
    hvm_defer_done(h, vm->start_done, vm->start_ud, vm->id, &vm->start_res);
    hvm_defer_done(h, vm->destroy_done, vm->destroy_ud, vm->id, &vm->destroy_res);
    hvm_free(vm);
}

/* Ends a pause with res (from the loop). */
void hvm_pause_complete(struct host_vm *vm, const struct host_result *res)
{
    host_done_fn done = vm->pause_done;
    vm->pause_done = NULL;
    hvm_defer_done(vm->h, done, vm->pause_ud, vm->id, res);
}

static void on_kick(evutil_socket_t fd, short what, void *arg)
{
    hvm_maybe_finish(arg);
}

static void hvm_kick(struct host_vm *vm)
{
    event_active(vm->ev_kick, EV_TIMEOUT, 0);
}

/* Kills what runs and waits (on the loop) for it to exit, then finishes. */
static void hvm_kill(struct host_vm *vm)
{
    vm->state = HVM_KILLING;
    vm->step = HVM_STEP_NONE;
    event_del(vm->ev_retry);
    if (vm->qemu_alive)
        proc_kill(&vm->qemu, SIGKILL);
    if (vm->img_alive)
        proc_kill(&vm->img, SIGKILL);
    if (vm->qemu_alive || vm->img_alive)
        hvm_timer_arm(vm->ev_deadline, HVM_KILL_WAIT_MS);
    else
        hvm_kick(vm);
}

void hvm_maybe_finish(struct host_vm *vm)
{
    if (vm->state == HVM_KILLING && !vm->qemu_alive && !vm->img_alive)
        hvm_finish(vm);
}

/* A create or adopt failed with res: kill and clean up (create), or just let go (adopt: the
 * VM stays as it is for the caller to decide). */
void hvm_start_failed(struct host_vm *vm, const struct host_result *res)
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

void hvm_start_failed_herr(struct host_vm *vm, const struct herr *e)
{
    struct host_result res;
    hvm_result_set(&res, err_from_errno(e->code), e->code, "%s", e->msg);
    hvm_start_failed(vm, &res);
}

/* --- QEMU exit --- */

static void describe_exit(struct host_vm *vm, struct host_exit *ex)
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
    struct host_vm *vm = arg;
    (void)proc_try_reap(&vm->qemu); /* -ECHILD for an adopted QEMU: no status, still gone */
    vm->qemu_alive = false;
    event_del(vm->ev_pid);
    switch (vm->state) {
    case HVM_CREATING:
    case HVM_ADOPTING: {
        struct herr e = { 0 };
        int r = rundir_explain_exit(vm->run_dir, vm->qemu.status, vm->qemu.reaped, &e);
        struct host_result res;
        hvm_result_set(&res, r == -EIO ? HOST_E_GUEST : HOST_E_QEMU, r, "%s", e.msg);
        if (vm->state == HVM_ADOPTING)
            hvm_result_set(&res, HOST_E_GONE, -ESRCH, "vm '%s': %s", vm->id, e.msg);
        hvm_start_failed(vm, &res);
        break;
    }
    case HVM_PAUSING:
        if (vm->pstep == HVM_PAUSE_QUIT) {
            hvm_pause_finalize(vm);
            break;
        }
        {
            struct host_result res;
            hvm_result_set(&res, HOST_E_GONE, -ESRCH, "vm '%s': qemu exited during the pause",
                       vm->id);
            hvm_drop_migration(vm);
            (void)snapshot_remove(vm->snap_dir);
            hvm_pause_complete(vm, &res);
        }
        /* a crash like any other */
        __attribute__((fallthrough));
    case HVM_RUNNING: {
        vm->state = HVM_EXITED;
        hvm_drop_agent(vm, true);
        hvm_drop_qmp(vm);
        event_del(vm->ev_deadline);
        if (vm->h->on_exit) {
            struct hvm_defer *d = defer_new(vm->h, vm->id);
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

static int hvm_watch_pid(struct host_vm *vm)
{
    vm->ev_pid = event_new(vm->h->base, vm->qemu.pidfd, EV_READ | EV_PERSIST, on_pid, vm);
    if (!vm->ev_pid)
        return -ENOMEM;
    vm->qemu_alive = true;
    event_add(vm->ev_pid, NULL);
    return 0;
}

/* --- start steps --- */

static void hvm_conn_lost(struct host_vm *vm, const char *what, int r)
{
    /* During start a lost connection almost always means QEMU is exiting: wait briefly
     * for its pidfd so the report names the real cause. */
    herr_clear(&vm->lost);
    herr_set(&vm->lost, r, "vm '%s': %s connection lost: %s", vm->id, what, strerror(-r));
    if (vm->state == HVM_ADOPTING || !vm->qemu_alive) {
        hvm_start_failed_herr(vm, &vm->lost);
        return;
    }
    vm->step = HVM_STEP_DYING;
    event_del(vm->ev_retry);
    hvm_timer_arm(vm->ev_deadline, HVM_DYING_GRACE_MS);
}

static void on_qmp_event(void *ud, const char *event, json_t *data)
{
    struct host_vm *vm = ud;
    if (strcmp(event, "SHUTDOWN") == 0) {
        json_t *reason = json_object_get(data, "reason");
        snprintf(vm->shutdown_reason, sizeof(vm->shutdown_reason), "%s",
                 json_is_string(reason) ? json_string_value(reason) : "shutdown");
    }
}

static bool hvm_starting(const struct host_vm *vm)
{
    return vm->state == HVM_CREATING || vm->state == HVM_ADOPTING;
}

/* A start is done when both handshakes are: QMP answered qmp_capabilities and the agent
 * answered our HELLO. They run side by side: QEMU answers qmp_capabilities only once it has
 * loaded the kernel (70-160 ms after its greeting under TCG here), time the guest spends
 * booting anyway. */
static void hvm_maybe_started(struct host_vm *vm)
{
    if (!hvm_starting(vm) || !vm->qmp_ready || !vm->agent || vm->step != HVM_STEP_AGENT_HELLO ||
        !agent_client_ready(vm->agent))
        return;
    vm->step = HVM_STEP_NONE;
    vm->state = HVM_RUNNING;
    event_del(vm->ev_retry);
    event_del(vm->ev_deadline);
    vm->start_res = (struct host_result){ .err = HOST_OK };
    if (vm->restore && vm->consume)
        (void)snapshot_remove(vm->snap_dir); /* its files live on in the run dir */
    hvm_defer_done(vm->h, vm->start_done, vm->start_ud, vm->id, &vm->start_res);
    vm->start_done = NULL;
}

static void on_caps(void *ud, const struct qmp_msg *reply)
{
    struct host_vm *vm = ud;
    if (!hvm_starting(vm))
        return; /* destroyed meanwhile */
    if (reply->kind == QMP_MSG_ERROR) {
        struct host_result res;
        hvm_result_set(&res, HOST_E_QEMU, -EREMOTEIO, "vm '%s': qmp_capabilities failed: %s: %s",
                   vm->id, reply->err_class, reply->err_desc);
        hvm_start_failed(vm, &res);
        return;
    }
    if (vm->restore) {
        vm->rstep = HVM_RESTORE_VERSION;
        hvm_restore_next(vm);
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
    struct host_vm *vm = arg;
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
    struct host_vm *vm = arg;
    if (qmp_client_on_writable(vm->qmp) < 0) {
        event_del(vm->ev_qmp_w); /* the read side sees the broken connection */
        return;
    }
    hvm_update_qmp_write(vm);
}

static void on_agent_readable(evutil_socket_t fd, short what, void *arg)
{
    struct host_vm *vm = arg;
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
    hvm_debug_agent_read(vm);
    if (vm->state == HVM_PAUSING && vm->pstep == HVM_PAUSE_PING && agent_client_pong_seen(vm->agent)) {
        vm->pause_aligned = true;
        vm->pstep = HVM_PAUSE_STOP;
        hvm_pause_next(vm);
    }
    hvm_update_agent_write(vm);
}

static void on_agent_writable(evutil_socket_t fd, short what, void *arg)
{
    struct host_vm *vm = arg;
    if (agent_client_on_writable(vm->agent) < 0) {
        event_del(vm->ev_agent_w); /* the read side sees the broken connection */
        return;
    }
    hvm_update_agent_write(vm);
}

int hvm_sock_path(struct host_vm *vm, const char *name, char *out)
{
    return qemu_run_path(vm->run_dir, name, out, PATH_MAX);
}

/* One connect attempt to socket name, which QEMU makes 10-30 ms in: returns the fd, or -1
 * when the retry timer was armed or the start failed (reported). */
static int connect_or_retry(struct host_vm *vm, const char *name)
{
    char path[PATH_MAX];
    int fd = -1;
    int r = hvm_sock_path(vm, name, path) < 0 ? -ENAMETOOLONG : usock_connect(path, &fd);
    if (r == 0)
        return fd;
    if (r == -ENOENT || r == -ECONNREFUSED) {
        hvm_timer_arm(vm->ev_retry, HVM_CONNECT_RETRY_MS);
        return -1;
    }
    struct herr e = { 0 };
    herr_set(&e, r, "vm '%s': cannot connect to %s: %s", vm->id, name, strerror(-r));
    hvm_start_failed_herr(vm, &e);
    return -1;
}

static void step_qmp_connect(struct host_vm *vm)
{
    int fd = connect_or_retry(vm, "qmp.sock");
    if (fd < 0)
        return;
    if (qmp_client_new(fd, on_qmp_event, vm, &vm->qmp) < 0 ||
        !(vm->ev_qmp_r = event_new(vm->h->base, fd, EV_READ | EV_PERSIST, on_qmp_readable,
                                   vm)) ||
        !(vm->ev_qmp_w = event_new(vm->h->base, fd, EV_WRITE, on_qmp_writable, vm))) {
        struct herr e = { 0 };
        herr_set(&e, -ENOMEM, "vm '%s': out of memory", vm->id);
        hvm_start_failed_herr(vm, &e);
        return;
    }
    /* the greeting and qmp_capabilities follow on the QMP fd's events; meanwhile the agent
     * (a restore connects it once the guest runs again) */
    event_add(vm->ev_qmp_r, NULL);
    if (vm->restore) {
        vm->step = HVM_STEP_NONE;
        return;
    }
    vm->step = HVM_STEP_AGENT_CONNECT;
    hvm_timer_arm(vm->ev_retry, 0);
}

int hvm_agent_attach(struct host_vm *vm, int fd, bool resync, struct herr *e)
{
    int r = agent_client_new(fd, &vm->agent);
    if (r < 0)
        return herr_set(e, r, "vm '%s': out of memory", vm->id);
    /* every HELLO then carries the hostname (and fresh entropy): after a restore the guest
     * still has the snapshot's (docs/agent-protocol.md "Identity and entropy") */
    if (vm->hostname[0] && (r = agent_client_set_identity(vm->agent, vm->hostname)) < 0)
        return herr_set(e, r, "vm '%s': invalid hostname '%s'", vm->id, vm->hostname);
    /* ... and the net object: a restored clone gets its own MAC and addresses before READY */
    if (vm->net_json && (r = agent_client_set_net(vm->agent, vm->net_json)) < 0)
        return herr_set(e, r, "vm '%s': invalid net object", vm->id);
    vm->ev_agent_r = event_new(vm->h->base, fd, EV_READ | EV_PERSIST, on_agent_readable, vm);
    vm->ev_agent_w = event_new(vm->h->base, fd, EV_WRITE, on_agent_writable, vm);
    if (!vm->ev_agent_r || !vm->ev_agent_w)
        return herr_set(e, -ENOMEM, "vm '%s': out of memory", vm->id);
    /* An agent that served another connection may hold half a frame of it: resync first. */
    if (resync && (r = agent_client_resync(vm->agent)) < 0)
        return herr_set(e, r, "vm '%s': agent: cannot queue the resync preamble", vm->id);
    event_add(vm->ev_agent_r, NULL);
    return 0;
}

static void step_agent_connect(struct host_vm *vm)
{
    int fd = connect_or_retry(vm, "agent.sock");
    if (fd < 0)
        return;
    struct herr e = { 0 };
    bool resync = vm->state == HVM_ADOPTING || (vm->restore && !vm->aligned);
    if (hvm_agent_attach(vm, fd, resync, &e) < 0) {
        hvm_start_failed_herr(vm, &e);
        return;
    }
    vm->step = HVM_STEP_AGENT_HELLO;
    hvm_timer_arm(vm->ev_retry, 0);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    struct host_vm *vm = arg;
    if (vm->state == HVM_PAUSING && vm->pstep == HVM_PAUSE_WAIT) {
        hvm_pause_next(vm);
        return;
    }
    if (vm->state == HVM_RUNNING && vm->pause_cont) {
        hvm_pause_send_cont(vm);
        return;
    }
    if (vm->state == HVM_RUNNING && vm->reconnect_done) {
        hvm_debug_hello(vm);
        return;
    }
    if (!hvm_starting(vm)) {
        hvm_maybe_finish(vm);
        return;
    }
    if (vm->restore && vm->rstep == HVM_RESTORE_WAIT) {
        hvm_restore_next(vm);
        return;
    }
    switch (vm->step) {
    case HVM_STEP_QMP_CONNECT:
        step_qmp_connect(vm);
        break;
    case HVM_STEP_AGENT_CONNECT:
        step_agent_connect(vm);
        break;
    case HVM_STEP_AGENT_HELLO: {
        int r = agent_client_hello(vm->agent);
        if (r < 0) {
            hvm_drop_agent(vm, true);
            hvm_conn_lost(vm, "agent", r);
            break;
        }
        hvm_update_agent_write(vm);
        hvm_timer_arm(vm->ev_retry, HVM_HELLO_EVERY_MS);
        break;
    }
    default:
        break;
    }
    hvm_maybe_finish(vm);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct host_vm *vm = arg;
    struct herr e = { 0 };
    switch (vm->state) {
    case HVM_CREATING:
    case HVM_ADOPTING:
        if (vm->step == HVM_STEP_DYING) {
            hvm_start_failed_herr(vm, &vm->lost);
        } else if (vm->step == HVM_STEP_DISK) {
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
        if (vm->stop_stage == HVM_STOP_POWER && vm->qmp &&
            qmp_client_send(vm->qmp, "quit", NULL, NULL, NULL) == 0) {
            vm->stop_stage = HVM_STOP_QUIT;
            hvm_update_qmp_write(vm);
            hvm_timer_arm(vm->ev_deadline, vm->h->stop_ms);
        } else {
            hvm_kill(vm);
        }
        break;
    case HVM_PAUSING:
        if (vm->pstep == HVM_PAUSE_QUIT)
            proc_kill(&vm->qemu, SIGKILL); /* quit did not end it: the state is saved */
        else
            hvm_pause_fail(vm, HOST_E_TIMEOUT, -ETIMEDOUT, "the snapshot did not finish in time",
                       NULL);
        break;
    case HVM_KILLING:
        /* SIGKILL did not end it within HVM_KILL_WAIT_MS (D state?): stop waiting */
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
static void layer_template_keep(struct host_vm *vm, const char *disk)
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
    struct host_vm *vm = arg;
    (void)proc_try_reap(&vm->img);
    vm->img_alive = false;
    hvm_ev_free(&vm->ev_img);
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
        hvm_result_set(&res, HOST_E_QEMU, r, "vm '%s': %s", vm->id, e.msg);
        hvm_start_failed(vm, &res);
        hvm_maybe_finish(vm);
        return;
    }
    if (vm->restore && !vm->consume)
        layer_template_keep(vm, disk);
    hvm_spawn_qemu(vm);
}

/* The disk layer exists: start QEMU (booting, or waiting for its incoming state). */
void hvm_spawn_qemu(struct host_vm *vm)
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
        .nic = vm->nic,
        .net_fd = vm->tap_fd >= 0 ? PROC_KEEP_FD : 0,
        .mac = vm->mac[0] ? vm->mac : NULL,
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
    r = proc_spawn_keep(argv, log, vm->nic ? vm->tap_fd : -1, &vm->qemu);
    hvm_fd_close(&vm->tap_fd); /* QEMU has its own now (or never will) */
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
    vm->step = HVM_STEP_QMP_CONNECT;
    hvm_timer_arm(vm->ev_retry, 0);
}

/* --- VM objects --- */

static struct host_vm *hvm_new(struct host *h, const char *id, enum hvm_state state)
{
    struct host_vm *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return NULL;
    vm->h = h;
    vm->state = state;
    vm->step = HVM_STEP_NONE;
    vm->qemu.pidfd = -1;
    vm->img.pidfd = -1;
    vm->in_fd = vm->mig_lfd = vm->mig_cfd = vm->state_fd = vm->mem_fd = vm->tap_fd = -1;
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
    h->keep_dirs = c->keep_run_dirs;
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
        struct hvm_defer *d = h->defers;
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


void host_free(struct host *h)
{
    if (!h)
        return;
    hvm_flatten_stop_all(h, true);
    while (h->vms) {
        struct host_vm *vm = h->vms;
        h->vms = vm->next;
        if (vm->qemu_alive && vm->state != HVM_ADOPTING) {
            proc_kill(&vm->qemu, SIGKILL);
            (void)proc_wait(&vm->qemu, mono_now_us() + HVM_KILL_WAIT_MS * 1000); /* prompt */
        }
        if (vm->img_alive) {
            proc_kill(&vm->img, SIGKILL);
            (void)proc_wait(&vm->img, mono_now_us() + HVM_KILL_WAIT_MS * 1000);
        }
        hvm_release(vm, true);
        if (vm->state != HVM_ADOPTING && !h->keep_dirs) {
            rundir_remove(vm->run_dir);
            if (h->cgroup_root[0])
                (void)cgroup_vm_remove(h->cgroup_root, vm->id); /* busy: pruned at next start */
        }
        struct host_result cancel;
        hvm_result_set(&cancel, HOST_E_CANCELED, -ECANCELED, "vm '%s': the host was shut down",
                   vm->id);
        if (vm->start_done)
            vm->start_done(vm->start_ud, vm->id, &cancel);
        if (vm->pause_done)
            vm->pause_done(vm->pause_ud, vm->id, &cancel);
        if (vm->destroy_done) {
            struct host_result ok = { .err = HOST_OK };
            vm->destroy_done(vm->destroy_ud, vm->id, &ok);
        }
        hvm_free(vm);
    }
    host_release(h);
}

void host_vm_discard(struct host *h, const char *id)
{
    struct host_vm *vm = hvm_find(h, id);
    if (!vm)
        return;
    hvm_unlink(vm);
    if (vm->qemu_alive && vm->state != HVM_ADOPTING) {
        proc_kill(&vm->qemu, SIGKILL);
        (void)proc_wait(&vm->qemu, mono_now_us() + HVM_KILL_WAIT_MS * 1000); /* prompt */
    }
    if (vm->img_alive) {
        proc_kill(&vm->img, SIGKILL);
        (void)proc_wait(&vm->img, mono_now_us() + HVM_KILL_WAIT_MS * 1000);
    }
    hvm_release(vm, false);
    rundir_remove(vm->run_dir);
    if (h->cgroup_root[0])
        (void)cgroup_vm_remove(h->cgroup_root, vm->id);
    hvm_free(vm);
}

void host_free_keep_vms(struct host *h)
{
    if (!h)
        return;
    hvm_flatten_stop_all(h, false);
    while (h->vms) {
        struct host_vm *vm = h->vms;
        h->vms = vm->next;
        hvm_release(vm, false);
        hvm_free(vm);
    }
    /* what a crash would lose: pending completions are dropped, not run */
    while (h->defers) {
        struct hvm_defer *d = h->defers;
        h->defers = d->next;
        free(d);
    }
    host_release(h);
}

/* --- create --- */

void host_vm_create(struct host *h, const struct host_vm_spec *spec, host_done_fn done,
                    void *ud)
{
    const char *id = spec ? spec->id : NULL;
    if (!spec || !rundir_id_valid(id)) {
        hvm_fail_now(h, done, ud, id, HOST_E_INVALID, "invalid sandbox id '%.64s'", id ? id : "");
        return;
    }
    if (hvm_find(h, id)) {
        hvm_fail_now(h, done, ud, id, HOST_E_EXISTS, "vm '%s' already exists", id);
        return;
    }
    char path[PATH_MAX];
    struct herr e = { 0 };
    int r = 0;
    char rootfs_abs[PATH_MAX] = "";
    if (spec->hostname && !hostname_valid(spec->hostname, strlen(spec->hostname))) {
        hvm_fail_now(h, done, ud, id, HOST_E_INVALID, "vm '%s': invalid hostname", id);
        return;
    }
    if (spec->mac && !qemu_mac_valid(spec->mac)) {
        hvm_fail_now(h, done, ud, id, HOST_E_INVALID,
                 "vm '%s': invalid MAC '%.40s'; want a unicast xx:xx:xx:xx:xx:xx", id, spec->mac);
        return;
    }
    if (spec->net_json && !hvm_net_json_valid(spec->net_json)) {
        hvm_fail_now(h, done, ud, id, HOST_E_INVALID,
                 "vm '%s': the net object is not a JSON object of at most %u bytes", id,
                 HVM_NET_JSON_MAX);
        return;
    }
    if (spec->snapshot) {
        if ((r = rundir_check_file("kernel", h->kernel, &e)) < 0) {
            hvm_fail_now(h, done, ud, id, err_from_errno(r), "vm '%s': %s", id, e.msg);
            return;
        }
        goto make_vm;
    }
    /* the catalog (control layer) maps names to paths: only an absolute path comes here */
    if (!spec->rootfs || spec->rootfs[0] != '/' ||
        (r = copy_str(path, sizeof(path), spec->rootfs)) < 0) {
        hvm_fail_now(h, done, ud, id, HOST_E_INVALID, "vm '%s': invalid rootfs '%.200s'", id,
                 spec->rootfs ? spec->rootfs : "");
        return;
    }
    if ((r = rundir_check_file("kernel", h->kernel, &e)) < 0 ||
        (r = rundir_check_file("rootfs image", path, &e)) < 0 || !realpath(path, rootfs_abs)) {
        if (r == 0)
            r = herr_set(&e, -errno, "rootfs image '%s': %s", path, strerror(errno));
        hvm_fail_now(h, done, ud, id, err_from_errno(r), "vm '%s': %s", id, e.msg);
        return;
    }
    /* a device smaller than the image's file system would cut it: refuse up front */
    struct stat ist;
    if (spec->disk_mib && stat(rootfs_abs, &ist) == 0 &&
        (spec->disk_mib > HOST_DISK_MAX_MIB || (uint64_t)ist.st_size > spec->disk_mib << 20)) {
        hvm_fail_now(h, done, ud, id, HOST_E_INVALID,
                 "vm '%s': disk of %llu MiB is smaller than the image '%s' (%lld MiB)", id,
                 (unsigned long long)spec->disk_mib, rootfs_abs,
                 (long long)(ist.st_size >> 20));
        return;
    }
make_vm:;
    struct host_vm *vm = hvm_new(h, id, HVM_CREATING);
    if (!vm) {
        hvm_fail_now(h, done, ud, id, HOST_E_SYSTEM, "vm '%s': out of memory", id);
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
    snprintf(vm->mac, sizeof(vm->mac), "%s", spec->mac ? spec->mac : "");
    vm->nic = true; /* a restore of a snapshot without one turns it off */
    if ((spec->extra_append && !(vm->extra_append = strdup(spec->extra_append))) ||
        (spec->net_json && !(vm->net_json = strdup(spec->net_json)))) {
        herr_set(&e, -ENOMEM, "vm '%s': out of memory", id);
        goto out_fail;
    }
    /* the caller's fd is borrowed for this call only; QEMU is spawned later from the loop */
    if (spec->tap_fd > 0 && (vm->tap_fd = fcntl(spec->tap_fd, F_DUPFD_CLOEXEC, 3)) < 0) {
        r = -errno;
        herr_set(&e, r, "vm '%s': tap fd %d: %s", id, spec->tap_fd, strerror(-r));
        goto out_fail;
    }
    hvm_timer_arm(vm->ev_deadline, vm->boot_ms);
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
        vm->rstep = HVM_RESTORE_NONE;
        hvm_restore_start(vm, spec);
        return;
    }
    hvm_start_disk(vm, "raw");
    return;
out_fail:
    /* finishes from the loop (hvm_kick), never inside this call */
    hvm_start_failed_herr(vm, &e);
}

/* Runs qemu-img to make the VM's disk layer over vm->rootfs (of format fmt); on_img goes on. */
void hvm_start_disk(struct host_vm *vm, const char *fmt)
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
    vm->step = HVM_STEP_DISK;
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

/* True when process pid's command line has an argument containing word: what an adopted
 * QEMU was started with (older hearthd versions started VMs without a NIC). */
static bool cmdline_has(pid_t pid, const char *word)
{
    char path[64], buf[16384];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof(buf));
    close(fd);
    return n > 0 && memmem(buf, (size_t)n, word, strlen(word)) != NULL;
}

void host_vm_adopt(struct host *h, const char *id, host_done_fn done, void *ud)
{
    if (!rundir_id_valid(id)) {
        hvm_fail_now(h, done, ud, id, HOST_E_INVALID, "invalid sandbox id '%.64s'", id ? id : "");
        return;
    }
    if (hvm_find(h, id)) {
        hvm_fail_now(h, done, ud, id, HOST_E_EXISTS, "vm '%s' is already known", id);
        return;
    }
    struct host_vm *vm = hvm_new(h, id, HVM_ADOPTING);
    if (!vm) {
        hvm_fail_now(h, done, ud, id, HOST_E_SYSTEM, "vm '%s': out of memory", id);
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
            hvm_result_set(&res, HOST_E_NOT_FOUND, r, "vm '%s': no pid file in '%s'", id,
                       vm->run_dir);
        else if (r == -ESRCH)
            hvm_result_set(&res, HOST_E_GONE, r, "vm '%s': its qemu is gone (or the pid was reused)",
                       id);
        else
            hvm_result_set(&res, r == -EBADMSG ? HOST_E_INVALID : HOST_E_SYSTEM, r,
                       "vm '%s': pid file in '%s': %s", id, vm->run_dir,
                       r == -EBADMSG ? "malformed" : strerror(-r));
        hvm_start_failed(vm, &res);
        return;
    }
    vm->qemu.pid = pid;
    vm->qemu.pidfd = pidfd;
    vm->nic = cmdline_has(pid, "virtio-net-device"); /* a pause must record it */
    if (hvm_watch_pid(vm) < 0) {
        hvm_result_set(&res, HOST_E_SYSTEM, -ENOMEM, "vm '%s': out of memory", id);
        hvm_start_failed(vm, &res);
        return;
    }
    hvm_timer_arm(vm->ev_deadline, vm->boot_ms);
    vm->step = HVM_STEP_QMP_CONNECT;
    hvm_timer_arm(vm->ev_retry, 0);
}

/* --- destroy --- */

void host_vm_destroy(struct host *h, const char *id, host_done_fn done, void *ud)
{
    if (!rundir_id_valid(id)) {
        hvm_fail_now(h, done, ud, id, HOST_E_INVALID, "invalid sandbox id '%.64s'", id ? id : "");
        return;
    }
    struct host_vm *vm = hvm_find(h, id);
    if (vm && vm->destroy_done) {
        hvm_fail_now(h, done, ud, id, HOST_E_BUSY, "vm '%s' is being destroyed", id);
        return;
    }
    if (!vm) {
        /* an orphan run dir (or nothing): kill a QEMU the pid file proves alive, remove */
        char dir[PATH_MAX];
        struct stat st;
        if (qemu_run_path(h->run_root, id, dir, sizeof(dir)) < 0 || lstat(dir, &st) < 0 ||
            !S_ISDIR(st.st_mode)) {
            hvm_fail_now(h, done, ud, id, HOST_E_NOT_FOUND, "no vm '%s'", id);
            return;
        }
        vm = hvm_new(h, id, HVM_KILLING);
        if (!vm) {
            hvm_fail_now(h, done, ud, id, HOST_E_SYSTEM, "vm '%s': out of memory", id);
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
        hvm_result_set(&res, HOST_E_CANCELED, -ECANCELED, "vm '%s' was destroyed while starting",
                   id);
        hvm_defer_done(h, vm->start_done, vm->start_ud, id, &res);
        vm->start_done = NULL;
    }
    if (vm->pause_done) {
        struct host_result res;
        hvm_result_set(&res, HOST_E_CANCELED, -ECANCELED, "vm '%s' was destroyed while pausing", id);
        hvm_drop_migration(vm);
        (void)snapshot_remove(vm->snap_dir);
        hvm_pause_complete(vm, &res);
        hvm_kill(vm);
        return;
    }
    switch (vm->state) {
    case HVM_PAUSING: /* handled above */
    case HVM_RUNNING:
        vm->state = HVM_STOPPING;
        vm->stop_stage = HVM_STOP_POWER;
        if (!vm->agent || agent_power_start(vm->agent, "poweroff", NULL, NULL, NULL) < 0) {
            hvm_timer_arm(vm->ev_deadline, 0); /* straight to QMP quit */
            return;
        }
        hvm_update_agent_write(vm);
        hvm_timer_arm(vm->ev_deadline, h->stop_ms);
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

/* --- disk resize --- */

static void on_block_resize(void *ud, const struct qmp_msg *reply)
{
    struct host_vm *vm = ud;
    struct host_result res = { .err = HOST_OK };
    if (reply->kind == QMP_MSG_ERROR)
        hvm_result_set(&res, HOST_E_QEMU, -EREMOTEIO, "vm '%s': block_resize failed: %s: %s",
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
    struct host_vm *vm = ud;
    struct host_result res;
    int64_t cur = reply->kind == QMP_MSG_RETURN ? root_virtual_size(reply->ret) : -1;
    if (reply->kind == QMP_MSG_ERROR) {
        hvm_result_set(&res, HOST_E_QEMU, -EREMOTEIO, "vm '%s': query-block failed: %s: %s",
                   vm->id, reply->err_class, reply->err_desc);
        resize_complete(vm, &res);
        return;
    }
    if (cur < 0) {
        hvm_result_set(&res, HOST_E_QEMU, -EPROTO, "vm '%s': query-block shows no drive 'root'",
                   vm->id);
        resize_complete(vm, &res);
        return;
    }
    if ((uint64_t)cur > vm->resize_bytes) {
        hvm_result_set(&res, HOST_E_INVALID, -EINVAL,
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
        hvm_result_set(&res, err_from_errno(r), r, "vm '%s': cannot send block_resize: %s", vm->id,
                   strerror(-r));
        resize_complete(vm, &res);
        return;
    }
    hvm_update_qmp_write(vm);
}

void host_vm_disk_resize(struct host *h, const char *id, uint64_t new_mib, host_done_fn done,
                         void *ud)
{
    struct host_vm *vm = hvm_find(h, id);
    if (!rundir_id_valid(id) || new_mib == 0 || new_mib > HOST_DISK_MAX_MIB) {
        hvm_fail_now(h, done, ud, id, HOST_E_INVALID, "vm '%.64s': invalid disk size %llu MiB",
                 id ? id : "", (unsigned long long)new_mib);
        return;
    }
    if (!vm) {
        hvm_fail_now(h, done, ud, id, HOST_E_NOT_FOUND, "no vm '%s'", id);
        return;
    }
    if (vm->state != HVM_RUNNING || !vm->qmp) {
        hvm_fail_now(h, done, ud, id, HOST_E_BUSY, "vm '%s' is not running", id);
        return;
    }
    if (vm->resize_done) {
        hvm_fail_now(h, done, ud, id, HOST_E_BUSY, "vm '%s': a disk resize is under way", id);
        return;
    }
    vm->resize_bytes = new_mib << 20;
    int r = qmp_client_send(vm->qmp, "query-block", NULL, on_query_block, vm);
    if (r < 0) {
        hvm_fail_now(h, done, ud, id, r == -EBUSY ? HOST_E_BUSY : HOST_E_SYSTEM,
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
    struct host_vm *vm = hvm_find(h, id);
    return vm && vm->state == HVM_RUNNING && vm->qemu_alive;
}

pid_t host_vm_pid(struct host *h, const char *id)
{
    struct host_vm *vm = hvm_find(h, id);
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
    for (struct host_vm *vm = h->vms; vm; vm = vm->next)
        n += vm->state == HVM_RUNNING && vm->qemu_alive;
    return n;
}

/* --- network --- */

bool hvm_net_json_valid(const char *net_json)
{
    if (!net_json || strlen(net_json) > HVM_NET_JSON_MAX)
        return false;
    json_t *j = json_loads(net_json, JSON_REJECT_DUPLICATES, NULL);
    bool ok = json_is_object(j);
    json_decref(j);
    return ok;
}

static void netreq_unlink(struct hvm_netreq *q)
{
    for (struct hvm_netreq **pp = &q->vm->netreqs; *pp; pp = &(*pp)->next) {
        if (*pp == q) {
            *pp = q->next;
            return;
        }
    }
}

static void on_netcfg_end(void *ud, const struct agent_end *end)
{
    struct hvm_netreq *q = ud;
    struct host_vm *vm = q->vm;
    netreq_unlink(q);
    struct host_result res = { .err = HOST_OK };
    if (end->kind == AGENT_END_DONE) {
        free(vm->net_json);
        vm->net_json = q->net_json; /* what later HELLOs carry */
        q->net_json = NULL;
        /* checked in host_vm_set_net(), so it cannot fail */
        if (vm->agent)
            (void)!agent_client_set_net(vm->agent, vm->net_json);
    } else if (end->kind == AGENT_END_ERROR) {
        hvm_result_set(&res, end->err == -EINVAL ? HOST_E_INVALID : HOST_E_GUEST, end->err,
                   "vm '%s': network configuration failed in the guest: %s: %s", vm->id,
                   end->error, end->message);
    } else {
        hvm_result_set(&res, HOST_E_GONE, end->err ? end->err : -ECONNRESET,
                   "vm '%s': the agent connection ended before the network was configured: %s",
                   vm->id, end->message);
    }
    hvm_defer_done(vm->h, q->done, q->ud, vm->id, &res);
    free(q->net_json);
    free(q);
}

static const struct agent_stream_ops netcfg_ops = { .on_end = on_netcfg_end };

void host_vm_set_net(struct host *h, const char *id, const char *net_json, host_done_fn done,
                     void *ud)
{
    struct host_vm *vm = hvm_find(h, id);
    if (!vm) {
        hvm_fail_now(h, done, ud, id, HOST_E_NOT_FOUND, "no vm '%.64s'", id ? id : "");
        return;
    }
    if (!hvm_net_json_valid(net_json)) {
        hvm_fail_now(h, done, ud, id, HOST_E_INVALID,
                 "vm '%s': the net object is not a JSON object of at most %u bytes", id,
                 HVM_NET_JSON_MAX);
        return;
    }
    if (vm->state != HVM_RUNNING || !vm->agent) {
        hvm_fail_now(h, done, ud, id, HOST_E_BUSY, "vm '%s' is not running", id);
        return;
    }
    struct hvm_netreq *q = calloc(1, sizeof(*q));
    if (!q || !(q->net_json = strdup(net_json))) {
        free(q);
        hvm_fail_now(h, done, ud, id, HOST_E_SYSTEM, "vm '%s': out of memory", id);
        return;
    }
    *q = (struct hvm_netreq){ .next = vm->netreqs, .vm = vm, .net_json = q->net_json,
                          .done = done, .ud = ud };
    vm->netreqs = q;
    int r = agent_netcfg_start(vm->agent, net_json, &netcfg_ops, q, NULL);
    if (r < 0) {
        netreq_unlink(q);
        free(q->net_json);
        free(q);
        hvm_fail_now(h, done, ud, id, r == -ENOTCONN ? HOST_E_GONE : HOST_E_SYSTEM,
                 "vm '%s': cannot send the network configuration: %s", id, strerror(-r));
        return;
    }
    hvm_update_agent_write(vm);
}

int host_vm_set_net_json(struct host *h, const char *id, const char *net_json)
{
    struct host_vm *vm = hvm_find(h, id);
    if (!vm)
        return -ENOENT;
    if (net_json && !hvm_net_json_valid(net_json))
        return -EINVAL;
    char *copy = NULL;
    if (net_json && !(copy = strdup(net_json)))
        return -ENOMEM;
    if (vm->agent && agent_client_set_net(vm->agent, copy) < 0) {
        free(copy);
        return -EINVAL;
    }
    free(vm->net_json);
    vm->net_json = copy;
    return 0;
}

/* --- streams --- */

/* The running VM's agent, or NULL with *ret_err set. */
static struct agent_client *running_agent(struct host *h, const char *id, struct host_vm **ret_vm,
                                          int *ret_err)
{
    struct host_vm *vm = hvm_find(h, id);
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
static struct agent_client *any_agent(struct host *h, const char *id, struct host_vm **ret_vm)
{
    struct host_vm *vm = hvm_find(h, id);
    if (!vm || !vm->agent)
        return NULL;
    *ret_vm = vm;
    return vm->agent;
}

int host_vm_exec(struct host *h, const char *id, const struct agent_exec_req *req,
                 const struct agent_stream_ops *ops, void *ud, uint32_t *ret_stream)
{
    struct host_vm *vm;
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
    struct host_vm *vm;
    struct agent_client *a = any_agent(h, id, &vm);
    if (!a)
        return hvm_find(h, id) ? -ESRCH : -ENOENT;
    int r = agent_stream_cancel(a, stream, true);
    hvm_update_agent_write(vm);
    return r == -ESRCH ? -ESRCH : 0; /* a send failure breaks the client; the stream ended */
}

int host_vm_exec_signal(struct host *h, const char *id, uint32_t stream, int sig)
{
    struct host_vm *vm;
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
    struct host_vm *vm;
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
    struct host_vm *vm;
    struct agent_client *a = any_agent(h, id, &vm);
    if (!a)
        return hvm_find(h, id) ? -ENOTCONN : -ENOENT;
    ssize_t n = agent_stream_write(a, stream, data, len);
    hvm_update_agent_write(vm);
    return n;
}

int host_stream_finish(struct host *h, const char *id, uint32_t stream)
{
    struct host_vm *vm;
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
    struct host_vm *vm;
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
    struct host_vm *vm;
    struct agent_client *a = any_agent(h, id, &vm);
    if (!a)
        return hvm_find(h, id) ? -ESRCH : -ENOENT;
    int r = agent_stream_consumed(a, stream, n);
    if (r == 0)
        (void)agent_client_on_writable(a); /* send the WINDOW now; a failure shows on read */
    hvm_update_agent_write(vm);
    return r;
}
