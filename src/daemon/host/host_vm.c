/* SPDX-License-Identifier: MIT */
/* host_vm.c: one running VM (struct host_vm) as an object: the table of VMs, its events and
 * clients, its teardown (release, kill, finish from the loop), a failed start, and QEMU's exit
 * (the pidfd). Shared by every host_*.c through host_internal.h. */
#include "daemon/host/host_internal.h"

#include <errno.h>
#include <event2/event.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/mono.h"
#include "daemon/host/cgroup.h"
#include "daemon/host/migsplit.h"
#include "daemon/host/snapshot.h"

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

/* A write event (may be NULL) is pending exactly while its client has bytes queued. */
static void write_event_follow(struct event *ev, bool want_write)
{
    if (ev && want_write)
        event_add(ev, NULL);
    else if (ev)
        event_del(ev);
}

void hvm_update_agent_write(struct host_vm *vm)
{
    if (vm->agent)
        write_event_follow(vm->ev_agent_w, agent_client_want_write(vm->agent));
}

void hvm_update_qmp_write(struct host_vm *vm)
{
    if (vm->qmp)
        write_event_follow(vm->ev_qmp_w, qmp_client_want_write(vm->qmp));
}

void hvm_resize_complete(struct host_vm *vm, const struct host_result *res)
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
        hvm_resize_complete(vm, &res);
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
void hvm_free(struct host_vm *vm)
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
void hvm_release(struct host_vm *vm, bool notify_streams)
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

void hvm_unlink(struct host_vm *vm)
{
    for (struct host_vm **pp = &vm->h->vms; *pp; pp = &(*pp)->next) {
        if (*pp == vm) {
            *pp = vm->next;
            return;
        }
    }
}

/* The last step of a VM's life: called only at the tail of one of its own event callbacks. */
void hvm_remove_dir(struct host_vm *vm)
{
    struct host *h = vm->h;
    rundir_remove(vm->run_dir);
    /* QEMU is gone; a cgroup still busy (a process stuck past SIGKILL) is pruned later */
    (void)cgroup_layout_remove(&h->cg, vm->id);
}

void hvm_kill_now(struct host_vm *vm)
{
    if (vm->qemu_alive && vm->state != HVM_ADOPTING) {
        proc_kill(&vm->qemu, SIGKILL);
        (void)proc_wait(&vm->qemu, mono_now_us() + HVM_KILL_WAIT_MS * 1000); /* prompt */
    }
    if (vm->img_alive) {
        proc_kill(&vm->img, SIGKILL);
        (void)proc_wait(&vm->img, mono_now_us() + HVM_KILL_WAIT_MS * 1000);
    }
}

static void hvm_finish(struct host_vm *vm)
{
    struct host *h = vm->h;
    hvm_release(vm, true);
    if (vm->remove_dir && !h->keep_dirs)
        hvm_remove_dir(vm);
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
    vm->live = NULL; /* a live snapshot's op is done's ud: freed there */
    hvm_defer_done(vm->h, done, vm->pause_ud, vm->id, res);
}

void hvm_on_kick(evutil_socket_t fd, short what, void *arg)
{
    hvm_maybe_finish(arg);
}

static void hvm_kick(struct host_vm *vm)
{
    event_active(vm->ev_kick, EV_TIMEOUT, 0);
}

/* Kills what runs and waits (on the loop) for it to exit, then finishes. */
void hvm_kill(struct host_vm *vm)
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
    hvm_result_set(&res, hvm_err_from_errno(e->code), e->code, "%s", e->msg);
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
            struct hvm_defer *d = hvm_defer_new(vm->h, vm->id);
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

int hvm_watch_pid(struct host_vm *vm)
{
    vm->ev_pid = event_new(vm->h->base, vm->qemu.pidfd, EV_READ | EV_PERSIST, on_pid, vm);
    if (!vm->ev_pid)
        return -ENOMEM;
    vm->qemu_alive = true;
    event_add(vm->ev_pid, NULL);
    return 0;
}
