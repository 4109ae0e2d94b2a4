/* SPDX-License-Identifier: MIT */
/* sandbox_keys.c: adding SSH keys to a sandbox (sandbox_ops.h, docs/api.md §3.3.5): stored
 * first (deduplicated, at most 64), then, when it runs, authorized_keys is rewritten in the
 * guest with the whole list (guest.h). A guest that cannot be reached keeps them for the next
 * identity step. */
#include "daemon/ctl/sandbox_ops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timefmt.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/guest.h"
#include "daemon/ctl/sandbox_row.h"
#include "daemon/log.h"
#include "daemon/store/store.h"

#define IDENTITY_MS 6000

struct keys_op {
    ctl_keys_done_fn done;
    void *ud;
    char req_id[160];
    char id[STORE_ID_SIZE];
    size_t count;
};

static void on_keys_installed(void *ud, int err, int status, const char *msg)
{
    struct keys_op *w = ud;
    if (err < 0 || status != 0)
        /* stored: the next identity step (or a later add) installs them */
        log_warn(w->req_id, "cannot install ssh keys in the guest, ignoring", "{s:s,s:s}",
                 "sandbox", w->id, "err", msg);
    w->done(w->ud, w->count);
    free(w);
}

/* Starts rewriting authorized_keys in the running guest; false when it cannot start. */
static bool keys_install(struct ctl *ctx, const struct ctl_caller *who, const char *id,
                         size_t count, ctl_keys_done_fn done, void *ud)
{
    struct store_sandbox sb;
    struct ctl_error e;
    if (ctl_row_load(ctx, who->user_id, id, &sb, &e) < 0) {
        store_sandbox_release(&sb);
        return false;
    }
    const char **argv = guest_identity_argv(sb.hostname, (const char *const *)sb.ssh_pubkeys.v,
                                            sb.ssh_pubkeys.n);
    struct keys_op *w = argv ? calloc(1, sizeof(*w)) : NULL;
    if (w) {
        w->done = done;
        w->ud = ud;
        snprintf(w->req_id, sizeof(w->req_id), "%s", who->req_id ? who->req_id : "");
        memcpy(w->id, id, sizeof(w->id));
        w->count = count;
        if (guest_run(ctx->host, ctx->base, id, argv, IDENTITY_MS, on_keys_installed, w) < 0) {
            free(w);
            w = NULL;
        }
    }
    free(argv);
    store_sandbox_release(&sb);
    return w != NULL;
}

int ctl_sandbox_keys_add(struct ctl *ctx, const struct ctl_caller *who, const char *id,
                         const char *const *keys, size_t n, ctl_keys_done_fn done, void *ud,
                         struct ctl_error *e)
{
    enum store_state st = STORE_STATE_NONE;
    int r = ctl_row_state(ctx, who->user_id, id, &st, e);
    if (r < 0)
        return r;
    size_t count = 0;
    r = store_sandbox_ssh_add(ctx->store, who->user_id, id, STORE_STATES_CONFIGURABLE, keys, n,
                              timefmt_now_ms(), &count);
    if (r == -E2BIG)
        return ctl_error_set(e, CTL_E_INVALID, "keys", NULL, "more than 64 keys in total");
    if (r < 0)
        return ctl_row_update_failed(e, r, st, "sandbox is being destroyed", "add ssh keys");
    /* live when running: rewrite authorized_keys with the whole list */
    if (st != STORE_RUNNING || !ctx->host || !keys_install(ctx, who, id, count, done, ud))
        done(ud, count);
    return 0;
}
