/* SPDX-License-Identifier: MIT */
/* snapshots.c: the routes of the snapshot-native lifecycle (docs/api.md §3.3.1–§3.3.3):
 * pause, resume and fork parse the request, call the control layer's operation
 * (ctl/sandbox_ops.h) and answer with the sandbox's view: 200, or 202 with X-Poll-After when
 * it is still moving after a short hold (§1.12, long_poll.h). A fork holds its request until
 * its child runs. */
#include "daemon/api/routes.h"

#include <errno.h>
#include <stdlib.h>

#include "daemon/api/api.h"
#include "daemon/api/jsend.h"
#include "daemon/api/reply.h"
#include "daemon/api/sandbox_view.h"
#include "daemon/api/long_poll.h"
#include "daemon/api/sandboxes.h"
#include "daemon/api/validate.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/http/request.h"
#include "daemon/http/response.h"
#include "daemon/store/store.h"

typedef int (*state_op_fn)(struct ctl *c, const struct ctl_caller *who, const char *id,
                           struct ctl_error *e);

/* pause and resume: the operation, then where the sandbox is now. */
static void state_route(struct api_call *call, state_op_fn op)
{
    char id[STORE_ID_SIZE];
    if (!api_sandbox_path_id(call, 2, id))
        return;
    struct ctl_caller who = api_caller(call);
    struct ctl_error e;
    if (op(call->ctx->ctl, &who, id, &e) < 0)
        api_reply_ctl(call, &e);
    else
        api_sandbox_reply_lifecycle(call, id);
}

void api_sandbox_pause(struct api_call *call)
{
    state_route(call, ctl_sandbox_pause);
}

void api_sandbox_resume(struct api_call *call)
{
    state_route(call, ctl_sandbox_resume);
}

/* ---- fork ---- */

struct fork_wait {
    struct api_call call;           /* req referenced */
    json_t *body;                   /* referenced: the request borrows its strings */
    struct ctl_fork *op;            /* while the fork may still be abandoned */
    bool client_gone;
    char children[CTL_FORK_COUNT_MAX][STORE_ID_SIZE]; /* count > 1: all of them */
    size_t n_children;
};

static void on_fork_abort(struct http_request *req, void *ud)
{
    struct fork_wait *w = ud;
    w->client_gone = true; /* a fork waiting for its source stops; one restoring completes */
    if (w->op)
        ctl_sandbox_fork_abandon(w->op);
}

static void on_forked(void *ud, const struct ctl_error *e, const char *id,
                      const struct store_sandbox *unused)
{
    struct fork_wait *w = ud;
    if (!w->client_gone) {
        if (e->code != CTL_OK) {
            api_reply_ctl(&w->call, e);
        } else {
            struct store_sandbox sb;
            store_sandbox_init(&sb);
            if (store_sandbox_get(w->call.ctx->ctl->store, NULL, id, &sb) == 0) {
                json_t *view = api_sandbox_view(&w->call.ctx->ctl->set, &sb);
                json_t *ids = w->n_children > 1 ? json_array() : NULL;
                for (size_t i = 0; ids && i < w->n_children; i++)
                    json_array_append_new(ids, json_string(w->children[i]));
                if (view && ids) /* (hearth) count > 1: every child, the view's first */
                    json_object_set_new(view, "children", ids);
                else
                    json_decref(ids);
                api_reply_ok(&w->call, view);
            } else
                api_reply_internal(&w->call, "read sandbox", -EIO);
            store_sandbox_release(&sb);
        }
    }
    api_call_unhold(&w->call);
    json_decref(w->body);
    free(w);
}

static void on_fork_body(struct api_call *call, json_t *body)
{
    struct ctl *ctl = call->ctx->ctl;
    char id[STORE_ID_SIZE];
    if (!api_sandbox_path_id(call, 2, id))
        return;
    if (!ctl->host) {
        api_reply_error(call, 503, "the vm layer is not available; retry later", "unavailable");
        return;
    }
    /* bad fields are 400 whatever the source's state (nothing is looked up for them) */
    struct ctl_fork_req fr;
    json_t *fail = NULL;
    int st = api_validate_fork(ctl, body, &fr, &fail);
    if (st) {
        api_reply_fail(call, st, fail);
        return;
    }
    struct fork_wait *w = api_call_hold(call, sizeof(*w), "fork");
    if (!w) {
        ctl_fork_req_release(&fr);
        return;
    }
    w->body = json_incref(body);
    fr.children = w->children;
    fr.n_children = &w->n_children;
    struct ctl_caller who = api_caller(call);
    struct ctl_error e;
    struct ctl_fork *op = NULL;
    if (ctl_sandbox_fork(ctl, &who, id, &fr, on_forked, w, &op, &e) < 0) {
        api_call_unhold(&w->call);
        json_decref(w->body);
        free(w);
        api_reply_ctl(call, &e);
        return;
    }
    if (op) { /* still running: w is alive until on_forked */
        w->op = op;
        http_request_on_abort(call->req, on_fork_abort, w);
    }
}

void api_sandbox_fork(struct api_call *call)
{
    api_read_json(call, on_fork_body);
}
