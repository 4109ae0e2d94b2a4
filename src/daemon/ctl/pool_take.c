/* SPDX-License-Identifier: MIT */
/* pool_take.c: the identity of a sandbox applied to the pooled VM it took (pool_take.h). What
 * the pooled VM had of its own is nothing a user gave: it was restored from a golden snapshot
 * no user ran in, its disk a layer of its own. A take adds the sandbox's data plane on the
 * VM's tap, then one new agent session (host_vm_set_identity) whose HELLO sets the hostname and
 * /etc/hostname, reseeds the CRNG from fresh host entropy and applies the guest's network: no
 * command runs in the guest unless there are SSH keys to install (as after a golden restore). */
#include "daemon/ctl/pool_take.h"

#include <errno.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mono.h"
#include "common/timeline.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/guest.h"
#include "daemon/ctl/netplane.h"
#include "daemon/host/host.h"
#include "daemon/log.h"
#include "daemon/store/store.h"

/* one agent round trip (and the keys' command): quick, but a loaded TCG guest is slow */
#define POOL_IDENTITY_MS 6000

struct apply_op {
    struct ctl *ctx;
    char id[STORE_ID_SIZE];
    char hostname[STORE_NAME_SIZE];
    char **keys;
    size_t n_keys;
    int64_t start_us;           /* monotonic, for the log line */
    struct event *deadline;
    bool answered;              /* done ran (the deadline passed first) */
    bool host_pending;          /* a callback of the host's or the guest's is still to come */
    ctl_pool_applied_fn done;
    void *ud;
};

static void apply_free(struct apply_op *a)
{
    for (size_t i = 0; i < a->n_keys; i++)
        free(a->keys[i]);
    free(a->keys);
    if (a->deadline)
        event_free(a->deadline);
    free(a);
}

/* Answers once; a is freed when nothing of the host's is pending any more. */
static void apply_end(struct apply_op *a, int err, const char *msg)
{
    if (!a->answered) {
        a->answered = true;
        if (a->deadline)
            event_del(a->deadline);
        if (err == 0)
            log_info(NULL, "pool: identity applied", "{s:s,s:f}", "sandbox", a->id, "ms",
                     (double)(mono_now_us() - a->start_us) / 1e3);
        a->done(a->ud, err, msg);
    }
    if (!a->host_pending)
        apply_free(a);
}

static void on_deadline(evutil_socket_t fd, short what, void *ud)
{
    (void)fd;
    (void)what;
    apply_end(ud, -ETIMEDOUT, "the pooled vm's agent did not take the identity in time");
}

static void on_keys(void *ud, int err, int status, const char *msg)
{
    struct apply_op *a = ud;
    a->host_pending = false;
    if (a->answered) {
        apply_free(a);
        return;
    }
    if (err < 0 || status != 0) {
        char why[400];
        snprintf(why, sizeof(why), "cannot install the SSH keys: %s (%s %d)", msg,
                 err < 0 ? "error" : "exit status", err < 0 ? err : status);
        apply_end(a, err < 0 ? err : -EIO, why);
        return;
    }
    apply_end(a, 0, "");
}

static void on_identity(void *ud, const char *id, const struct host_result *res)
{
    (void)id;
    struct apply_op *a = ud;
    a->host_pending = false;
    if (a->answered) { /* the deadline answered already */
        apply_free(a);
        return;
    }
    if (res->err != HOST_OK) {
        char why[600];
        snprintf(why, sizeof(why), "cannot give the pooled vm its identity: %s", res->msg);
        apply_end(a, -EIO, why);
        return;
    }
    if (a->n_keys == 0) {
        apply_end(a, 0, "");
        return;
    }
    /* the keys as create installs them after any restore: the same script (hostname again,
     * harmless) */
    const char **argv = guest_identity_argv(a->hostname, (const char *const *)a->keys,
                                            a->n_keys);
    int r = argv ? guest_run(a->ctx->host, a->ctx->base, a->id, argv, POOL_IDENTITY_MS, on_keys,
                             a)
                 : -ENOMEM;
    free(argv);
    a->host_pending = r == 0;
    if (r < 0)
        apply_end(a, r, "cannot reach the guest agent of the pooled vm");
}

void ctl_pool_apply(struct ctl *ctx, const char *id, struct timeline *tl, const char *hostname,
                    const char *const *keys, size_t n_keys, ctl_pool_applied_fn done, void *ud)
{
    struct apply_op *a = calloc(1, sizeof(*a));
    if (!a || (n_keys && !(a->keys = calloc(n_keys, sizeof(char *))))) {
        free(a);
        done(ud, -ENOMEM, "out of memory");
        return;
    }
    a->ctx = ctx;
    a->done = done;
    a->ud = ud;
    snprintf(a->id, sizeof(a->id), "%s", id);
    snprintf(a->hostname, sizeof(a->hostname), "%s", hostname);
    for (size_t i = 0; i < n_keys; i++)
        if ((a->keys[a->n_keys] = strdup(keys[i])))
            a->n_keys++;
    a->start_us = mono_now_us();
    struct timeval tv = { .tv_sec = POOL_IDENTITY_MS / 1000 };
    if (!(a->deadline = evtimer_new(ctx->base, on_deadline, a)) ||
        event_add(a->deadline, &tv) < 0) {
        apply_end(a, -ENOMEM, "out of memory");
        return;
    }
    /* the sandbox's data plane on the tap the pooled VM has had since its restore: the same
     * call that wires a resumed sandbox's kept tap */
    struct ctl_net_vm nv;
    if (ctl_net_vm_prepare(ctx, id, &nv) < 0) {
        apply_end(a, -EIO, "cannot set up the sandbox's network");
        return;
    }
    if (tl)
        timeline_mark(tl, "net_apply");
    a->host_pending = true;
    host_vm_set_identity(ctx->host, id, a->hostname, nv.net_json, on_identity, a);
    ctl_net_vm_release(&nv);
}
