/* SPDX-License-Identifier: MIT */
/* host_livesnap.c: host_vm_snapshot_live(), a pause that ends in cont instead of quit
 * (docs/snapshots.md "Live fork"). The pause's steps (host_snapshot.c) run unchanged up to a
 * completed migration: the agent is between frames (PING), the vCPUs are stopped and the
 * device state is in snap_dir/state. Then, still stopped, the disk layer and the RAM file are
 * copied into snap_dir (the VM's own files stay its own: it continues on them), cont, and
 * meta.json is written while the guest runs again: its checksum and fsyncs are off the
 * stopped time. Copies, not a qcow2 overlay swapped in under QEMU: the run dir keeps its one
 * disk.qcow2 and mem, which every later pause, adopt and jail check expect. */
#include "daemon/host/host_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crashpt.h"
#include "common/mono.h"
#include "daemon/host/snapshot.h"

struct hvm_live {
    host_live_fn done;
    void *ud;
    int64_t stop_us;            /* when stop was sent */
    struct host_live_stats st;
};

/* The pause's completion, turned into the live one (runs from the loop, or from host_free()'s
 * cancel). */
static void live_done(void *ud, const char *id, const struct host_result *res)
{
    struct hvm_live *l = ud;
    l->done(l->ud, id, res, &l->st);
    free(l);
}

void hvm_live_stopping(struct host_vm *vm)
{
    if (vm->live)
        vm->live->stop_us = mono_now_us();
}

static void on_live_cont(void *ud, const struct qmp_msg *reply)
{
    struct host_vm *vm = ud;
    if (vm->state != HVM_PAUSING || !vm->live || vm->pstep != HVM_PAUSE_CONT)
        return;
    if (reply->kind == QMP_MSG_ERROR) {
        hvm_pause_fail(vm, HOST_E_QEMU, -EREMOTEIO, "cont", reply); /* retries cont */
        return;
    }
    struct hvm_live *l = vm->live;
    timeline_mark(&vm->tl, "cont");
    l->st.stopped_us = mono_now_us() - l->stop_us;
    event_del(vm->ev_deadline);
    event_del(vm->ev_retry);
    vm->state = HVM_RUNNING;
    crashpt("livefork-after-cont"); /* the VM runs; snap_dir has no meta.json */
    struct host_result res = { .err = HOST_OK };
    struct herr e = { 0 };
    char mem[PATH_MAX];
    if (hvm_snapshot_meta(vm, &e) < 0) {
        (void)snapshot_remove(vm->snap_dir);
        hvm_result_set(&res, HOST_E_SYSTEM, e.code, "vm '%s': live snapshot: %s", vm->id, e.msg);
    } else if (qemu_run_path(vm->snap_dir, "mem", mem, sizeof(mem)) == 0) {
        /* its checksum was just computed from our own copy: the children's restores need
         * not read the whole file again to check it */
        (void)hvm_ram_checked(vm->h, mem, true);
    }
    timeline_mark(&vm->tl, "seal");
    res.tl = vm->tl;
    hvm_pause_complete(vm, &res);
}

/* Copies the VM's file name (in its run dir) into snap_dir. 0 or -errno with e. */
static int copy_in(struct host_vm *vm, const char *name, struct herr *e)
{
    char src[PATH_MAX], dst[PATH_MAX];
    if (hvm_sock_path(vm, name, src) < 0 || qemu_run_path(vm->snap_dir, name, dst, sizeof(dst)) < 0)
        return herr_set(e, -ENAMETOOLONG, "path of '%s' too long", name);
    /* sparse: a RAM file is mostly the guest's untouched pages; O_NOFOLLOW and a regular
     * file only, since a jailed QEMU owned the source */
    int r = snapshot_copy_sparse(src, dst);
    if (r < 0)
        return herr_set(e, r, "cannot copy '%s' into '%s': %s", name, vm->snap_dir, strerror(-r));
    return 0;
}

void hvm_live_frozen(struct host_vm *vm)
{
    struct herr e = { 0 };
    char disk[PATH_MAX];
    hvm_drop_migration(vm); /* the state (and a private RAM) is written and fsynced */
    /* the migration's end flushed and inactivated the disk: the layer on disk is whole; the
     * copy must still have the backing the VM was given (a jailed QEMU could rewrite it) */
    if (copy_in(vm, "disk.qcow2", &e) < 0 ||
        (qemu_run_path(vm->snap_dir, "disk.qcow2", disk, sizeof(disk)) == 0 &&
         hvm_jail_check_layer(vm, disk, &e) < 0)) {
        hvm_pause_fail(vm, HOST_E_SYSTEM, e.code, e.msg, NULL);
        return;
    }
    timeline_mark(&vm->tl, "disk_freeze");
    if (!vm->ram_private) { /* a private RAM came in the stream (host_snapshot.c) */
        if (copy_in(vm, "mem", &e) < 0) {
            hvm_pause_fail(vm, HOST_E_SYSTEM, e.code, e.msg, NULL);
            return;
        }
        timeline_mark(&vm->tl, "ram_copy");
    }
    crashpt("livefork-stopped"); /* files copied, the VM stopped: adopt must cont it */
    vm->pstep = HVM_PAUSE_CONT;
    /* cont after a completed migration takes the disk back (QEMU reactivates it) */
    int r = qmp_client_send(vm->qmp, "cont", NULL, on_live_cont, vm);
    if (r < 0) {
        hvm_pause_fail(vm, HOST_E_QEMU, r, "the QMP connection broke", NULL);
        return;
    }
    hvm_update_qmp_write(vm);
}

void host_vm_snapshot_live(struct host *h, const char *id, const char *snap_dir,
                           host_live_fn done, void *ud)
{
    struct hvm_live *l = calloc(1, sizeof(*l));
    if (!l) { /* the one completion that cannot wait for the loop: there is no memory to defer */
        struct host_live_stats none = { 0 };
        struct host_result res;
        hvm_result_set(&res, HOST_E_SYSTEM, -ENOMEM, "vm '%s': out of memory", id ? id : "");
        done(ud, id, &res, &none);
        return;
    }
    l->done = done;
    l->ud = ud;
    hvm_pause_begin(h, id, snap_dir, live_done, l, l);
}
