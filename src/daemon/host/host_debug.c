/* SPDX-License-Identifier: MIT */
/* host_debug.c: host operations for tests, benchmarks and `hearthd vm run` (host.h, last
 * section): an agent PING round trip, dropping and remaking the agent connection, and one raw
 * QMP command. The daemon never calls them; they reach into a VM only through its clients. */
#include "daemon/host/host.h"
#include "daemon/host/host_internal.h"

#include <errno.h>
#include <event2/event.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "daemon/host/usock.h"

/* The VM of id when it runs, else fails done (deferred) and returns NULL. */
static struct host_vm *running_vm(struct host *h, const char *id, host_done_fn done, void *ud)
{
    struct host_vm *vm = hvm_find(h, id);
    if (!vm) {
        hvm_fail_now(h, done, ud, id, HOST_E_NOT_FOUND, "no vm '%.64s'", id ? id : "");
        return NULL;
    }
    if (vm->state != HVM_RUNNING) {
        hvm_fail_now(h, done, ud, id, HOST_E_BUSY, "vm '%s' is not running", id);
        return NULL;
    }
    return vm;
}

static void debug_complete(struct host_vm *vm, host_done_fn *done, void **ud, enum host_err err,
                           const char *what)
{
    host_done_fn fn = *done;
    *done = NULL;
    struct host_result res = { .err = HOST_OK };
    if (err != HOST_OK)
        hvm_result_set(&res, err, -ECONNRESET, "vm '%s': the agent connection ended before the %s",
                   vm->id, what);
    hvm_defer_done(vm->h, fn, *ud, vm->id, &res);
}

void host_vm_ping(struct host *h, const char *id, host_done_fn done, void *ud)
{
    struct host_vm *vm = running_vm(h, id, done, ud);
    if (!vm)
        return;
    if (vm->ping_done || !vm->agent) {
        hvm_fail_now(h, done, ud, id, HOST_E_BUSY, "vm '%s': a ping is under way or no agent", id);
        return;
    }
    int r = agent_client_ping_send(vm->agent);
    if (r < 0) {
        hvm_fail_now(h, done, ud, id, HOST_E_GONE, "vm '%s': cannot send PING: %s", id,
                 strerror(-r));
        return;
    }
    vm->ping_done = done;
    vm->ping_ud = ud;
    (void)agent_client_on_writable(vm->agent); /* the PING now; a failure shows on read */
    hvm_update_agent_write(vm);
}

int host_vm_agent_disconnect(struct host *h, const char *id)
{
    struct host_vm *vm = hvm_find(h, id);
    if (!vm)
        return -ENOENT;
    if (vm->state != HVM_RUNNING)
        return -EBUSY;
    hvm_drop_agent(vm, true);
    return 0;
}

void host_vm_agent_reconnect(struct host *h, const char *id, host_done_fn done, void *ud)
{
    struct host_vm *vm = running_vm(h, id, done, ud);
    if (!vm)
        return;
    if (vm->reconnect_done) {
        hvm_fail_now(h, done, ud, id, HOST_E_BUSY, "vm '%s': a reconnect is under way", id);
        return;
    }
    hvm_drop_agent(vm, true);
    char path[PATH_MAX];
    int fd = -1;
    int r = hvm_sock_path(vm, "agent.sock", path) < 0 ? -ENAMETOOLONG : usock_connect(path, &fd);
    struct herr e = { 0 };
    if (r < 0 || hvm_agent_attach(vm, fd, true, &e) < 0) {
        hvm_drop_agent(vm, false);
        hvm_fail_now(h, done, ud, id, HOST_E_GONE, "vm '%s': cannot reconnect the agent: %s", id,
                 r < 0 ? strerror(-r) : e.msg);
        return;
    }
    vm->reconnect_done = done;
    vm->reconnect_ud = ud;
    hvm_debug_hello(vm);
}

void hvm_debug_hello(struct host_vm *vm)
{
    if (!vm->agent || agent_client_hello(vm->agent) < 0) {
        debug_complete(vm, &vm->reconnect_done, &vm->reconnect_ud, HOST_E_GONE, "READY");
        return;
    }
    hvm_update_agent_write(vm);
    hvm_timer_arm(vm->ev_retry, HVM_HELLO_EVERY_MS);
}

void hvm_debug_agent_read(struct host_vm *vm)
{
    if (vm->ping_done && agent_client_pong_seen(vm->agent))
        debug_complete(vm, &vm->ping_done, &vm->ping_ud, HOST_OK, "PONG");
    if (vm->reconnect_done && agent_client_ready(vm->agent)) {
        event_del(vm->ev_retry);
        debug_complete(vm, &vm->reconnect_done, &vm->reconnect_ud, HOST_OK, "READY");
    }
}

static void qmp_complete(struct host_vm *vm, const struct host_result *res, const char *ret_json)
{
    host_qmp_fn fn = vm->qmp_done;
    vm->qmp_done = NULL;
    fn(vm->qmp_ud, vm->id, res, ret_json);
}

void hvm_debug_drop(struct host_vm *vm, bool qmp, bool agent)
{
    if (agent && vm->ping_done)
        debug_complete(vm, &vm->ping_done, &vm->ping_ud, HOST_E_GONE, "PONG");
    if (agent && vm->reconnect_done) {
        event_del(vm->ev_retry);
        debug_complete(vm, &vm->reconnect_done, &vm->reconnect_ud, HOST_E_GONE, "READY");
    }
    if (qmp && vm->qmp_done) {
        struct host_result res;
        hvm_result_set(&res, HOST_E_GONE, -ECONNRESET, "vm '%s': qmp connection lost", vm->id);
        qmp_complete(vm, &res, NULL);
    }
}

static void on_debug_reply(void *ud, const struct qmp_msg *reply)
{
    struct host_vm *vm = ud;
    struct host_result res = { .err = HOST_OK };
    if (reply->kind == QMP_MSG_ERROR) {
        hvm_result_set(&res, HOST_E_QEMU, -EREMOTEIO, "vm '%s': %s: %s", vm->id, reply->err_class,
                   reply->err_desc);
        qmp_complete(vm, &res, NULL);
        return;
    }
    char *ret = json_dumps(reply->ret, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!ret)
        hvm_result_set(&res, HOST_E_SYSTEM, -ENOMEM, "vm '%s': out of memory", vm->id);
    qmp_complete(vm, &res, ret);
    free(ret);
}

int host_vm_qmp(struct host *h, const char *id, const char *cmd, const char *args_json,
                host_qmp_fn done, void *ud)
{
    struct host_vm *vm = hvm_find(h, id);
    if (!vm)
        return -ENOENT;
    if (vm->state != HVM_RUNNING || !vm->qmp || vm->qmp_done || vm->resize_done)
        return -EBUSY;
    json_t *args = NULL;
    if (args_json && !json_is_object(args = json_loads(args_json, 0, NULL))) {
        json_decref(args);
        return -EINVAL;
    }
    int r = qmp_client_send(vm->qmp, cmd, args, on_debug_reply, vm);
    json_decref(args);
    if (r < 0)
        return r;
    vm->qmp_done = done;
    vm->qmp_ud = ud;
    hvm_update_qmp_write(vm);
    return 0;
}
