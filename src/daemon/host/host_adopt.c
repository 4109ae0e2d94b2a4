/* SPDX-License-Identifier: MIT */
/* host_adopt.c: host_vm_adopt(): take over a VM an earlier host object (another hearthd)
 * left running: pid file checked against /proc, a pidfd, then QMP and the agent as a start. */
#include "daemon/host/host.h"
#include "daemon/host/host_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* --- adopt --- */

/* What a pause of the adopted VM must record and where its RAM is, from the command line QEMU
 * was started with (qemu.c): -smp, -m, and the memory backend's mem-path and share=off (RAM
 * mapped private from a shared snapshot, split out of the stream at a pause) and whether it has
 * the NIC. Without this an
 * adopted VM paused into a snapshot of "0 vCPUs and 0 MiB" that no restore accepts (found by
 * the crash harness, tests/api/test_crash_vm.c). */
static void adopt_shape(struct host_vm *vm, pid_t pid)
{
    char buf[16384];
    ssize_t n = rundir_proc_cmdline(pid, buf, sizeof(buf));
    if (n <= 0)
        return;
    const char *prev = "";
    for (const char *a = buf; a < buf + n; prev = a, a += strlen(a) + 1) {
        unsigned v;
        if (strstr(a, "virtio-net-device")) /* older hearthd versions started VMs without */
            vm->nic = true;
        if (strcmp(prev, "-smp") == 0 && sscanf(a, "%u", &v) == 1)
            vm->vcpus = v;
        else if (strcmp(prev, "-m") == 0 && sscanf(a, "%u", &v) == 1)
            vm->memory_mib = v;
        const char *mp = strncmp(a, "memory-backend-file,", 20) == 0 ? strstr(a, "mem-path=")
                                                                      : NULL;
        if (mp) {
            mp += 9;
            size_t len = strcspn(mp, ",");
            if (len < sizeof(vm->mem_path))
                snprintf(vm->mem_path, sizeof(vm->mem_path), "%.*s", (int)len, mp);
            vm->ram_private = strstr(a, "share=off") != NULL;
        }
    }
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
    struct host_vm *vm = hvm_new_start(h, id, HVM_ADOPTING, done, ud);
    if (!vm)
        return;
    vm->boot_ms = h->adopt_ms;
    struct host_result res;
    pid_t pid;
    int pidfd;
    int r = hvm_pidfile_open(h, vm->run_dir, &pid, &pidfd);
    if (r < 0) {
        if (r == -ENOENT)
            hvm_result_set(&res, HOST_E_NOT_FOUND, r, "vm '%s': no pid file in '%s'", id,
                       vm->run_dir);
        else if (r == -EPERM)
            hvm_result_set(&res, HOST_E_INVALID, r,
                           "vm '%s': its pid file names a process that is not its qemu", id);
        else if (r == -ESRCH)
            hvm_result_set(&res, HOST_E_GONE, r,
                           "vm '%s': its qemu is gone (or the pid was reused)",
                       id);
        else
            hvm_result_set(&res, r == -EBADMSG ? HOST_E_INVALID : HOST_E_SYSTEM, r,
                       "vm '%s': pid file in '%s': %s", id, vm->run_dir,
                       r == -EBADMSG ? "malformed" : strerror(-r));
        hvm_start_failed(vm, &res);
        return;
    }
    hvm_jail_adopt(vm);
    vm->qemu.pid = pid;
    vm->qemu.pidfd = pidfd;
    adopt_shape(vm, pid); /* a pause must record its shape and NIC */
    if (hvm_watch_pid(vm) < 0) {
        hvm_result_set(&res, HOST_E_SYSTEM, -ENOMEM, "vm '%s': out of memory", id);
        hvm_start_failed(vm, &res);
        return;
    }
    hvm_timer_arm(vm->ev_deadline, vm->boot_ms);
    vm->step = HVM_STEP_QMP_CONNECT;
    hvm_timer_arm(vm->ev_retry, 0);
}
