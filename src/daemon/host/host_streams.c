/* SPDX-License-Identifier: MIT */
/* host_streams.c: the stream operations of host.h (exec, signal, cancel, file put and get,
 * credit) on a VM's agent client, with its write event kept in step. */
#include "daemon/host/host.h"
#include "daemon/host/host_internal.h"
#include "common/mono.h"

#include <errno.h>

/* VM id when it runs with an agent, or NULL with *ret_err: -ENOENT, -EBUSY (not running),
 * -ENOTCONN. */
static struct host_vm *running(struct host *h, const char *id, int *ret_err)
{
    struct host_vm *vm = hvm_find(h, id);
    *ret_err = !vm ? -ENOENT : vm->state != HVM_RUNNING ? -EBUSY : !vm->agent ? -ENOTCONN : 0;
    return *ret_err ? NULL : vm;
}

/* VM id with an agent in any state (streams may be touched while the VM stops), or NULL with
 * *ret_err: -ENOENT (no VM), or no_agent (a VM without an agent). */
static struct host_vm *with_agent(struct host *h, const char *id, int no_agent, int *ret_err)
{
    struct host_vm *vm = hvm_find(h, id);
    *ret_err = !vm ? -ENOENT : !vm->agent ? no_agent : 0;
    return *ret_err ? NULL : vm;
}

/* The result r of an agent call on vm, after its write event follows what the call queued. */
static ssize_t queued(struct host_vm *vm, ssize_t r)
{
    hvm_update_agent_write(vm);
    return r;
}

int host_vm_exec(struct host *h, const char *id, const struct agent_exec_req *req,
                 const struct agent_stream_ops *ops, void *ud, uint32_t *ret_stream)
{
    int r;
    struct host_vm *vm = running(h, id, &r);
    return vm ? (int)queued(vm, agent_exec_start(vm->agent, req, ops, ud, ret_stream)) : r;
}

int host_vm_exec_cancel(struct host *h, const char *id, uint32_t stream)
{
    int r;
    struct host_vm *vm = with_agent(h, id, -ESRCH, &r);
    if (!vm)
        return r;
    r = (int)queued(vm, agent_stream_cancel(vm->agent, stream, true));
    return r == -ESRCH ? -ESRCH : 0; /* a send failure breaks the client; the stream ended */
}

int host_vm_exec_signal(struct host *h, const char *id, uint32_t stream, int sig)
{
    int r;
    struct host_vm *vm = with_agent(h, id, -ESRCH, &r);
    return vm ? (int)queued(vm, agent_stream_signal(vm->agent, stream, sig)) : r;
}

int host_vm_file_put_start(struct host *h, const char *id, const char *path, uint32_t mode,
                           const struct agent_stream_ops *ops, void *ud, uint32_t *ret_stream)
{
    int r;
    struct host_vm *vm = running(h, id, &r);
    return vm ? (int)queued(vm, agent_file_put_push_start(vm->agent, path, mode, ops, ud,
                                                          ret_stream))
              : r;
}

ssize_t host_stream_write(struct host *h, const char *id, uint32_t stream, const void *data,
                          size_t len)
{
    int r;
    struct host_vm *vm = with_agent(h, id, -ENOTCONN, &r);
    return vm ? queued(vm, agent_stream_write(vm->agent, stream, data, len)) : r;
}

int host_stream_finish(struct host *h, const char *id, uint32_t stream)
{
    int r;
    struct host_vm *vm = with_agent(h, id, -ENOTCONN, &r);
    return vm ? (int)queued(vm, agent_stream_finish(vm->agent, stream)) : r;
}

int host_vm_file_get(struct host *h, const char *id, const char *path,
                     const struct agent_stream_ops *ops, void *ud, uint32_t *ret_stream)
{
    int r;
    struct host_vm *vm = running(h, id, &r);
    return vm ? (int)queued(vm, agent_file_get_start(vm->agent, path, ops, ud, ret_stream)) : r;
}

int host_stream_consumed(struct host *h, const char *id, uint32_t stream, size_t n)
{
    int r;
    struct host_vm *vm = with_agent(h, id, -ESRCH, &r);
    if (!vm)
        return r;
    r = agent_stream_consumed(vm->agent, stream, n);
    if (r == 0)
        (void)agent_client_on_writable(vm->agent); /* the WINDOW now; a failure shows on read */
    return (int)queued(vm, r);
}

/* --- interactive streams (issue 12) --- */

int host_stream_resize(struct host *h, const char *id, uint32_t stream, uint16_t rows,
                       uint16_t cols)
{
    int r;
    struct host_vm *vm = with_agent(h, id, -ESRCH, &r);
    return vm ? (int)queued(vm, agent_stream_resize(vm->agent, stream, rows, cols)) : r;
}

int host_vm_tcp_open(struct host *h, const char *id, uint16_t port,
                     const struct agent_stream_ops *ops, void *ud, uint32_t *ret_stream)
{
    int r;
    struct host_vm *vm = running(h, id, &r);
    return vm ? (int)queued(vm, agent_tcp_open(vm->agent, port, ops, ud, ret_stream)) : r;
}

int host_vm_proc_call(struct host *h, const char *id, uint16_t type, const char *json,
                      const struct agent_stream_ops *ops, void *ud, uint32_t *ret_stream)
{
    int r;
    struct host_vm *vm = running(h, id, &r);
    return vm ? (int)queued(vm, agent_proc_call(vm->agent, type, json, ops, ud, ret_stream)) : r;
}

void host_set_self_handler(struct host *h, host_self_fn fn, void *ud)
{
    h->self_fn = fn;
    h->self_ud = ud;
}

uint64_t host_self_rate_limited(const struct host *h)
{
    return h ? h->self_rate_limited : 0;
}

/* A guest's SELF (agent_client's handler of every VM's client, set in hvm_agent_attach(), so
 * re-adopted and restored VMs have it too). At most one per HVM_SELF_GAP_MS per VM is passed
 * on: a guest that floods them costs a JSON parse each and nothing more. */
void hvm_on_self(void *ud, const char *action, const char *reason)
{
    struct host_vm *vm = ud;
    int64_t now = mono_now_us();
    if (vm->self_last_us && now - vm->self_last_us < HVM_SELF_GAP_MS * 1000LL) {
        vm->self_dropped++;
        vm->h->self_rate_limited++;
        return;
    }
    vm->self_last_us = now;
    if (vm->h->self_fn)
        vm->h->self_fn(vm->h->self_ud, vm->id, action, reason);
}
