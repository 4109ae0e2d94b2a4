/* SPDX-License-Identifier: MIT */
/* host_resize.c: host_vm_disk_resize(): grow a running VM's root disk online (QMP query-block,
 * then block_resize); never shrinks. */
#include "daemon/host/host.h"
#include "daemon/host/host_internal.h"

#include <errno.h>
#include <string.h>

#include <jansson.h>

/* --- disk resize --- */

static void on_block_resize(void *ud, const struct qmp_msg *reply)
{
    struct host_vm *vm = ud;
    struct host_result res = { .err = HOST_OK };
    if (reply->kind == QMP_MSG_ERROR)
        hvm_result_set(&res, HOST_E_QEMU, -EREMOTEIO, "vm '%s': block_resize failed: %s: %s",
                   vm->id, reply->err_class, reply->err_desc);
    hvm_resize_complete(vm, &res);
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
        hvm_resize_complete(vm, &res);
        return;
    }
    if (cur < 0) {
        hvm_result_set(&res, HOST_E_QEMU, -EPROTO, "vm '%s': query-block shows no drive 'root'",
                   vm->id);
        hvm_resize_complete(vm, &res);
        return;
    }
    if ((uint64_t)cur > vm->resize_bytes) {
        hvm_result_set(&res, HOST_E_INVALID, -EINVAL,
                   "vm '%s': the disk is %lld MiB already and cannot shrink to %llu MiB",
                   vm->id, (long long)(cur >> 20), (unsigned long long)(vm->resize_bytes >> 20));
        hvm_resize_complete(vm, &res);
        return;
    }
    if ((uint64_t)cur == vm->resize_bytes) {
        res = (struct host_result){ .err = HOST_OK };
        hvm_resize_complete(vm, &res);
        return;
    }
    json_t *args = json_pack("{s:s,s:I}", "device", "root", "size",
                             (json_int_t)vm->resize_bytes);
    int r = args ? qmp_client_send(vm->qmp, "block_resize", args, on_block_resize, vm)
                 : -ENOMEM;
    json_decref(args);
    if (r < 0) {
        hvm_result_set(&res, hvm_err_from_errno(r), r, "vm '%s': cannot send block_resize: %s",
                       vm->id,
                   strerror(-r));
        hvm_resize_complete(vm, &res);
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
