/* SPDX-License-Identifier: MIT */
/* host_streams.c: the stream operations of host.h (exec, signal, cancel, file put and get,
 * credit) on a VM's agent client, with its write event kept in step. */
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

#include "common/herr.h"
#include "common/hostname.h"
#include "common/mono.h"
#include "daemon/host/cgroup.h"
#include "daemon/host/migsplit.h"
#include "daemon/host/proc.h"
#include "daemon/host/qemu.h"
#include "daemon/host/qmp.h"
#include "daemon/host/rundir.h"
#include "daemon/host/snapshot.h"
#include "daemon/host/usock.h"

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
