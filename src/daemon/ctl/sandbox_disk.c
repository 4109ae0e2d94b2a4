/* SPDX-License-Identifier: MIT */
/* sandbox_disk.c: growing a running sandbox's disk (sandbox_ops.h, docs/api.md §3.3.4): QMP
 * block_resize through the host, then resize2fs in the guest (guest.h); the new disk_mib is
 * stored only after both succeeded, and never lowered (a concurrent larger resize may have
 * finished first). A failure leaves the size as it was. */
#include "daemon/ctl/sandbox_ops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/crashpt.h"
#include "common/timefmt.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/guest.h"
#include "daemon/ctl/sandbox_row.h"
#include "daemon/host/host.h"
#include "daemon/log.h"
#include "daemon/store/store.h"

/* resize2fs after a resize (online, the file system is in use) */
#define RESIZE_GROW_MS 60000

struct resize_op {
    struct ctl *ctx;
    ctl_sandbox_done_fn done;
    void *ud;
    char req_id[160];
    char id[STORE_ID_SIZE];
    int64_t from_mib;                 /* disk_mib when the call started */
    int64_t mib;                      /* the size asked for */
};

static void resize_end(struct resize_op *w, const struct ctl_error *e)
{
    w->done(w->ud, e, w->id, NULL);
    free(w);
}

/* Reports CTL_E_FAILED with msg (logged); disk_mib stays as it was. */
static void resize_fail(struct resize_op *w, const char *msg)
{
    log_error(w->req_id, "sandbox resize failed", "{s:s,s:I,s:I,s:s}", "sandbox", w->id,
              "from_mib", (json_int_t)w->from_mib, "to_mib", (json_int_t)w->mib, "err", msg);
    struct ctl_error e;
    (void)ctl_error_set(&e, CTL_E_FAILED, NULL, NULL, "%s", msg);
    resize_end(w, &e);
}

static void on_resize_grown(void *ud, int err, int status, const char *msg)
{
    struct resize_op *w = ud;
    struct ctl *ctx = w->ctx;
    if (err < 0 || status != 0) {
        char why[400];
        snprintf(why, sizeof(why), "the disk grew to %lld MiB but the guest's file system did "
                 "not: resize2fs: %s (%s %d)", (long long)w->mib, msg,
                 err < 0 ? "error" : "exit status", err < 0 ? err : status);
        resize_fail(w, why);
        return;
    }
    /* both steps done: now the size is true, record it (never lower it: a concurrent larger
     * resize may have finished first; the loop runs one handler at a time) */
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    int r = store_sandbox_get(ctx->store, NULL, w->id, &sb);
    int64_t have = r == 0 ? sb.disk_mib : 0;
    store_sandbox_release(&sb);
    if (r == 0 && have < w->mib) {
        struct store_sandbox_patch p = { .fields = STORE_PATCH_DISK, .disk_mib = w->mib,
                                         .allowed_states = 0, .now_ms = timefmt_now_ms() };
        r = store_sandbox_update(ctx->store, NULL, w->id, &p);
    }
    if (r < 0) {
        char why[200];
        snprintf(why, sizeof(why), "the disk grew to %lld MiB but the new size cannot be "
                 "recorded: %s", (long long)w->mib, strerror(-r));
        resize_fail(w, why);
        return;
    }
    log_info(w->req_id, "sandbox resized", "{s:s,s:I,s:I}", "sandbox", w->id, "from_mib",
             (json_int_t)w->from_mib, "to_mib", (json_int_t)w->mib);
    struct ctl_error ok = { .code = CTL_OK };
    resize_end(w, &ok);
}

static void on_disk_resized(void *ud, const char *id, const struct host_result *res)
{
    struct resize_op *w = ud;
    struct ctl *ctx = w->ctx;
    struct ctl_error e;
    if (res->err == HOST_E_BUSY || res->err == HOST_E_NOT_FOUND || res->err == HOST_E_GONE) {
        /* not running any more, or another resize holds the disk */
        (void)ctl_error_set(&e, CTL_E_INVALID_STATE, NULL, "running", "%s", res->msg);
        resize_end(w, &e);
        return;
    }
    if (res->err == HOST_E_INVALID) { /* the disk is larger already (a concurrent resize) */
        (void)ctl_error_set(&e, CTL_E_INVALID, "disk_mib", NULL, "%s", res->msg);
        resize_end(w, &e);
        return;
    }
    if (res->err != HOST_OK) {
        resize_fail(w, res->msg[0] ? res->msg : host_err_to_string(res->err));
        return;
    }
    crashpt("resize-disk-grown"); /* the qcow2 is larger, the guest's fs and the row are not */
    if (guest_run(ctx->host, ctx->base, w->id, guest_grow_root_argv(), RESIZE_GROW_MS,
                  on_resize_grown, w) < 0)
        resize_fail(w, "the disk grew but the guest agent cannot be reached to grow the file "
                       "system");
}

int ctl_sandbox_resize(struct ctl *ctx, const struct ctl_caller *who, const char *id,
                       int64_t mib, ctl_sandbox_done_fn done, void *ud, struct ctl_error *e)
{
    struct store_sandbox sb;
    int r = ctl_row_load(ctx, who->user_id, id, &sb, e);
    int64_t from = sb.disk_mib;
    store_sandbox_release(&sb);
    if (r < 0)
        return r;
    if (mib <= from || mib > ctx->set.max_disk_mib)
        return ctl_error_set(e, CTL_E_INVALID, "disk_mib", NULL,
                             "must be larger than %lld and at most %lld", (long long)from,
                             (long long)ctx->set.max_disk_mib);
    enum store_state st;
    r = ctl_row_require(ctx, who->user_id, id, 0, STORE_STATE_BIT(STORE_RUNNING),
                        "only a running sandbox can be resized", &st, e);
    if (r < 0)
        return r;
    struct resize_op *w = calloc(1, sizeof(*w));
    if (!w)
        return ctl_error_internal(e, "resize", -ENOMEM);
    w->ctx = ctx;
    w->done = done;
    w->ud = ud;
    snprintf(w->req_id, sizeof(w->req_id), "%s", who->req_id ? who->req_id : "");
    memcpy(w->id, id, sizeof(w->id));
    w->from_mib = from;
    w->mib = mib;
    log_info(who->req_id, "sandbox resize", "{s:s,s:I,s:I}", "sandbox", id, "from_mib",
             (json_int_t)from, "to_mib", (json_int_t)mib);
    host_vm_disk_resize(ctx->host, id, (uint64_t)mib, on_disk_resized, w);
    return 0;
}
