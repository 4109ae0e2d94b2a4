/* SPDX-License-Identifier: MIT */
/* pool_take.c: the identity of a sandbox applied to the pooled VM it took (pool_take.h). What
 * the pooled VM had of its own is nothing a user gave: it was restored from a golden snapshot
 * no user ran in, reseeded by its own HELLO (64 fresh bytes of the host's getrandom(): two
 * pooled VMs never share a CRNG state), its disk a layer of its own. So a take only adds. */
#include "daemon/ctl/pool_take.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeline.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/guest.h"
#include "daemon/ctl/netplane.h"
#include "daemon/host/host.h"
#include "daemon/log.h"
#include "daemon/store/store.h"

/* hostname(1) and a file or two: quick, but a loaded TCG guest is slow */
#define POOL_IDENTITY_MS 6000

struct apply_op {
    struct ctl *ctx;
    char id[STORE_ID_SIZE];
    char hostname[STORE_NAME_SIZE];
    char **keys;
    size_t n_keys;
    struct timeline tl;
    ctl_pool_applied_fn done;
    void *ud;
};

static void apply_end(struct apply_op *a, int err, const char *msg)
{
    char steps[256];
    timeline_format(&a->tl, steps, sizeof(steps));
    if (err == 0)
        log_info(NULL, "pool: identity applied", "{s:s,s:s}", "sandbox", a->id, "steps", steps);
    a->done(a->ud, err, msg, &a->tl);
    for (size_t i = 0; i < a->n_keys; i++)
        free(a->keys[i]);
    free(a->keys);
    free(a);
}

static void on_identity(void *ud, int err, int status, const char *msg)
{
    struct apply_op *a = ud;
    timeline_mark(&a->tl, "identity");
    if (err < 0 || status != 0) {
        char why[400];
        snprintf(why, sizeof(why), "cannot set the guest's identity: %s (%s %d)", msg,
                 err < 0 ? "error" : "exit status", err < 0 ? err : status);
        apply_end(a, err < 0 ? err : -EIO, why);
        return;
    }
    apply_end(a, 0, "");
}

static void identity(struct apply_op *a)
{
    const char **argv = guest_identity_argv(a->hostname, (const char *const *)a->keys,
                                            a->n_keys);
    int r = argv ? guest_run(a->ctx->host, a->ctx->base, a->id, argv, POOL_IDENTITY_MS,
                             on_identity, a)
                 : -ENOMEM;
    free(argv);
    if (r < 0)
        apply_end(a, r, "cannot reach the guest agent of the pooled vm");
}

static void on_net(void *ud, const char *id, const struct host_result *res)
{
    (void)id;
    struct apply_op *a = ud;
    timeline_mark(&a->tl, "net_apply");
    if (res->err != HOST_OK) {
        char why[600];
        snprintf(why, sizeof(why), "cannot configure the guest's network: %s", res->msg);
        apply_end(a, -EIO, why);
        return;
    }
    identity(a);
}

void ctl_pool_apply(struct ctl *ctx, const char *id, int64_t taken_us, const char *hostname,
                    const char *const *keys, size_t n_keys, ctl_pool_applied_fn done, void *ud)
{
    struct apply_op *a = calloc(1, sizeof(*a));
    if (!a || (n_keys && !(a->keys = calloc(n_keys, sizeof(char *))))) {
        free(a);
        struct timeline none = { 0 };
        done(ud, -ENOMEM, "out of memory", &none);
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
    timeline_start_at(&a->tl, taken_us);
    timeline_mark(&a->tl, "pool_take");
    /* the sandbox's data plane on the tap the pooled VM has had since its restore: the same
     * call that wires a resumed sandbox's kept tap */
    struct ctl_net_vm nv;
    if (ctl_net_vm_prepare(ctx, id, &nv) < 0) {
        apply_end(a, -EIO, "cannot set up the sandbox's network");
        return;
    }
    if (!nv.net_json) { /* no networking: the NIC has no link, nothing to tell the guest */
        ctl_net_vm_release(&nv);
        timeline_mark(&a->tl, "net_apply");
        identity(a);
        return;
    }
    host_vm_set_net(ctx->host, id, nv.net_json, on_net, a);
    ctl_net_vm_release(&nv);
}
