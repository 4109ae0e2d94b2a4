/* SPDX-License-Identifier: MIT */
/* host_destroy.c: host_vm_destroy() (agent POWER, QMP quit, SIGKILL, run dir removed; also of
 * an orphan run dir) and host_vm_discard() (kill now, for VMs that must not outlive hearthd). */
#include "daemon/host/host.h"
#include "daemon/host/host_internal.h"

#include <errno.h>
#include <limits.h>
#include <sys/stat.h>

#include "daemon/host/snapshot.h"

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
        /* no pid file: hvm_qemu_open finds a QEMU by its command line */
        if (hvm_qemu_open(h, vm->run_dir, &pid, &pidfd) == 0) {
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
        hvm_result_set(&res, HOST_E_CANCELED, -ECANCELED, "vm '%s' was destroyed while pausing",
                       id);
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

void host_vm_discard(struct host *h, const char *id)
{
    struct host_vm *vm = hvm_find(h, id);
    if (!vm)
        return;
    hvm_unlink(vm);
    hvm_kill_now(vm);
    hvm_release(vm, false);
    hvm_remove_dir(vm);
    hvm_free(vm);
}
