/* SPDX-License-Identifier: MIT */
/* host_net.c: a VM's guest network: host_vm_set_net() (a NETCFG stream to the agent) and the
 * net object every HELLO carries; host_vm_set_identity() (a new HELLO with both). */
#include "daemon/host/host.h"
#include "daemon/host/host_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hostname.h"

#include <jansson.h>

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

void host_vm_set_identity(struct host *h, const char *id, const char *hostname,
                          const char *net_json, host_done_fn done, void *ud)
{
    struct host_vm *vm = hvm_find(h, id);
    if (vm && (!hostname || !hostname_valid(hostname, strlen(hostname)) ||
               strlen(hostname) >= sizeof(vm->hostname))) {
        hvm_fail_now(h, done, ud, id, HOST_E_INVALID, "vm '%s': invalid hostname", id);
        return;
    }
    if (!vm || vm->state != HVM_RUNNING || !vm->agent || vm->reconnect_done) {
        hvm_fail_now(h, done, ud, id, vm ? HOST_E_BUSY : HOST_E_NOT_FOUND,
                     vm ? "vm '%s': not running, or a reconnect under way" : "vm '%s': no such vm",
                     id);
        return;
    }
    int r = host_vm_set_net_json(h, id, net_json);
    if (r == 0)
        r = agent_client_set_identity(vm->agent, hostname);
    if (r < 0) {
        hvm_fail_now(h, done, ud, id, r == -EINVAL ? HOST_E_INVALID : HOST_E_SYSTEM,
                     "vm '%s': cannot keep the identity: %s", id, strerror(-r));
        return;
    }
    snprintf(vm->hostname, sizeof(vm->hostname), "%s", hostname);
    /* a new session on the same connection (no reconnect: nothing to race with the agent's
     * noticing a hang-up): its first HELLO carries the hostname, fresh entropy and the net
     * object, which the agent applies before READY (docs/agent-protocol.md "Identity and
     * entropy"); the HELLO is resent until READY, as at a start */
    agent_client_new_session(vm->agent);
    vm->reconnect_done = done;
    vm->reconnect_ud = ud;
    hvm_debug_hello(vm);
}
