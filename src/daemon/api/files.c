/* SPDX-License-Identifier: MIT */
/* files.c: the files routes (files.h). One struct file_run per call, freed once the host stream
 * has ended and the HTTP side is done with it (answered, body finished, or client gone). The
 * body is paused while the agent has no credit (host_stream_write() took less) and resumed
 * from on_credit; downloads hold the agent's credit while the socket is backed up. */
#include "daemon/api/routes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/buf.h"
#include "daemon/api/api.h"
#include "daemon/api/reply.h"
#include "daemon/api/sandboxes.h"
#include "daemon/api/stream_credit.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/ctl/sandbox_stream.h"
#include "daemon/http/request.h"
#include "daemon/http/response.h"
#include "daemon/http/route.h"
#include "daemon/host/host.h"
#include "daemon/log.h"
#include "daemon/store/ids.h"
#include "daemon/store/store.h"

#define FILE_MAX_UPLOAD (2ull << 30)     /* §3.5.1 */
#define FILE_PATH_MAX 4096
#define FILE_PENDING_HIGH (4u << 20)     /* hold download credit past this much queued */

struct file_run {
    struct api_call call;                /* req referenced */
    struct api_ctx *ctx;
    char id[STORE_ID_SIZE];
    char path[FILE_PATH_MAX + 1];
    struct agent_stream_ops ops;
    uint32_t stream;
    bool host_open;                      /* the host stream has not ended */
    bool body_live;                      /* upload: body callbacks may still run */
    bool body_done;                      /* upload: the whole body was handed over */
    bool finished;                       /* upload: host_stream_finish() sent */
    bool answered, aborted, started;
    struct buf pending;                  /* upload: bytes the agent did not take yet */
    size_t held;                         /* download: credit held back */
};

static void run_maybe_free(struct file_run *x)
{
    if (x->host_open || x->body_live || !(x->answered || x->aborted))
        return;
    http_response_on_drain(x->call.req, NULL, NULL);
    api_call_unhold(&x->call);
    buf_release(&x->pending);
    free(x);
}

/* Common checks: id and owner, path, then the control layer's (state, VM layer). Returns a new
 * run, or NULL having answered. */
static struct file_run *run_new(struct api_call *call)
{
    struct api_ctx *ctx = call->ctx;
    char id[STORE_ID_SIZE];
    if (!api_sandbox_owned(call, id))
        return NULL;
    const char *path = http_query_get(http_request_query(call->req), "path");
    if (!path || path[0] != '/' || strlen(path) > FILE_PATH_MAX) {
        api_reply_fail(call, 400, json_pack("{s:s,s:s}", "path", "must be an absolute path",
                                            "code", "invalid_request"));
        return NULL;
    }
    struct ctl_caller who = api_caller(call);
    struct ctl_error e;
    if (ctl_sandbox_stream_check(ctx->ctl, &who, id, &e) < 0) {
        api_reply_ctl(call, &e);
        return NULL;
    }
    struct file_run *x = api_call_hold(call, sizeof(*x), "files");
    if (!x)
        return NULL;
    x->ctx = ctx;
    memcpy(x->id, id, sizeof(x->id));
    snprintf(x->path, sizeof(x->path), "%s", path);
    buf_init(&x->pending, 1u << 20);
    return x;
}

static void reply_start_error(struct file_run *x, const struct ctl_error *e)
{
    api_reply_ctl(&x->call, e);
    x->answered = true;
}

/* Maps an agent error at the end of a transfer to the answer (before any byte was sent). */
static void reply_agent_error(struct file_run *x, const struct agent_end *e, bool get)
{
    const char *name = e->error;
    if (e->kind == AGENT_END_LOST) {
        api_reply_error(&x->call, 500, "agent connection lost", "internal");
    } else if (get && strcmp(name, "ENOENT") == 0) {
        api_reply_fail_str(&x->call, 404, "file not found");
    } else if (get && (strcmp(name, "EISDIR") == 0 || strcmp(name, "EINVAL") == 0)) {
        api_reply_fail(&x->call, 400, json_pack("{s:s,s:s}", "path", "not a regular file",
                                                "code", "invalid_request"));
    } else if (!get && strcmp(name, "EISDIR") == 0) {
        api_reply_fail(&x->call, 400, json_pack("{s:s,s:s}", "path", "is a directory", "code",
                                                "invalid_request"));
    } else if (strcmp(name, "ENOTDIR") == 0 || strcmp(name, "EINVAL") == 0 ||
               strcmp(name, "ENAMETOOLONG") == 0) {
        api_reply_fail(&x->call, 400, json_pack("{s:s,s:s}", "path", "cannot be used here",
                                                "code", "invalid_request"));
    } else {
        log_error(http_request_id(x->call.req), "file transfer failed", "{s:s,s:s,s:s}",
                  "sandbox", x->id, "err", name, "detail", e->message);
        api_reply_error(&x->call, 500, "file transfer failed", "internal");
    }
    x->answered = true;
}

static void on_abort(struct http_request *req, void *ud)
{
    struct file_run *x = ud;
    x->aborted = true;
    x->body_live = false;
    if (!x->answered)
        api_reply_done(&x->call, 499);
    if (x->host_open) {
        /* ends the stream at once (on_end runs inside and may free x) */
        (void)host_vm_exec_cancel(x->ctx->ctl->host, x->id, x->stream);
        return;
    }
    run_maybe_free(x);
}

/* ---- upload ---- */

static void put_flush(struct file_run *x)
{
    while (x->pending.len && x->host_open) {
        ssize_t n = host_stream_write(x->ctx->ctl->host, x->id, x->stream, x->pending.data,
                                      x->pending.len);
        if (n <= 0)
            return; /* on_credit comes back (or on_end: the stream broke) */
        buf_consume(&x->pending, (size_t)n);
    }
    if (x->pending.len)
        return;
    if (x->body_done && !x->finished && x->host_open) {
        x->finished = true;
        (void)host_stream_finish(x->ctx->ctl->host, x->id, x->stream);
    } else if (!x->body_done && x->body_live) {
        http_request_resume_body(x->call.req);
    }
}

static void on_put_credit(void *ud, size_t room)
{
    put_flush(ud);
}

static void on_put_end(void *ud, const struct agent_end *end)
{
    struct file_run *x = ud;
    x->host_open = false;
    if (!x->answered && !x->aborted) {
        if (end->kind == AGENT_END_DONE && x->body_done)
            api_reply_ok(&x->call, json_pack("{s:s,s:I}", "path", x->path, "bytes",
                                             (json_int_t)end->size));
        else
            reply_agent_error(x, end, false);
        x->answered = true;
    }
    run_maybe_free(x);
}

static int on_body_data(struct http_request *req, const uint8_t *p, size_t len, void *ud)
{
    struct file_run *x = ud;
    if (!x->host_open || x->answered) {
        x->body_live = false; /* no end callback follows a refusal */
        run_maybe_free(x);
        return -EPIPE;
    }
    size_t off = 0;
    if (!x->pending.len) {
        ssize_t n = host_stream_write(x->ctx->ctl->host, x->id, x->stream, p, len);
        if (n < 0) {
            x->body_live = false;
            run_maybe_free(x);
            return (int)n;
        }
        off = (size_t)n;
    }
    if (off < len) {
        if (buf_append(&x->pending, p + off, len - off) < 0) {
            x->body_live = false;
            run_maybe_free(x);
            return -ENOMEM;
        }
        http_request_pause_body(req);
    }
    return 0;
}

static void on_body_end(struct http_request *req, int err, void *ud)
{
    struct file_run *x = ud;
    x->body_live = false;
    if (err == 0) {
        x->body_done = true;
        put_flush(x);
        run_maybe_free(x);
        return;
    }
    /* 413/400/408 answered by the HTTP layer, or we answered first (-ECANCELED): the partial
     * file is discarded by cancelling the transfer */
    if (!x->answered) {
        api_reply_done(&x->call, err == -EMSGSIZE ? 413 : err == -ETIMEDOUT ? 408 : 400);
        x->answered = true;
    }
    if (x->host_open) {
        (void)host_vm_exec_cancel(x->ctx->ctl->host, x->id, x->stream); /* may free x */
        return;
    }
    run_maybe_free(x);
}

void api_sandbox_file_put(struct api_call *call)
{
    int64_t cl = http_request_content_length(call->req);
    struct file_run *x = run_new(call);
    if (!x)
        return;
    if (cl > (int64_t)FILE_MAX_UPLOAD) {
        api_reply_fail_code(call, 413, "payload_too_large", "file larger than 2 GiB");
        x->answered = true;
        run_maybe_free(x);
        return;
    }
    x->ops = (struct agent_stream_ops){ .on_credit = on_put_credit, .on_end = on_put_end };
    struct ctl_error e;
    int r = ctl_sandbox_file_put_start(x->ctx->ctl, x->id, x->path, 0644, &x->ops, x,
                                       &x->stream, &e);
    if (r < 0) {
        reply_start_error(x, &e);
        run_maybe_free(x);
        return;
    }
    x->host_open = true;
    x->body_live = true;
    http_request_on_abort(call->req, on_abort, x);
    r = http_request_stream_body(call->req, FILE_MAX_UPLOAD, on_body_data, on_body_end, x);
    if (r < 0) {
        x->body_live = false;
        x->aborted = true; /* detached or already answered: nothing to say */
        (void)host_vm_exec_cancel(x->ctx->ctl->host, x->id, x->stream);
    }
}

/* ---- download ---- */

static void on_get_info(void *ud, uint64_t size, uint32_t mode)
{
    struct file_run *x = ud;
    if (x->aborted || x->answered)
        return;
    x->started = true;
    (void)http_response_start(x->call.req, 200, "application/octet-stream", (int64_t)size);
}

static int on_get_data(void *ud, uint16_t type, const uint8_t *p, size_t len, bool eof)
{
    struct file_run *x = ud;
    if (x->aborted || !x->started)
        return 0;
    (void)http_response_write(x->call.req, p, len); /* a dead peer fires on_abort */
    if (http_response_pending(x->call.req) > FILE_PENDING_HIGH) {
        x->held += len;
        return AGENT_DATA_HOLD;
    }
    return 0;
}

static void on_get_drain(struct http_request *req, void *ud)
{
    struct file_run *x = ud;
    api_stream_credit_return(x->ctx->ctl->host, x->id, x->stream, x->host_open, &x->held);
}

static void on_get_end(void *ud, const struct agent_end *end)
{
    struct file_run *x = ud;
    x->host_open = false;
    if (!x->answered && !x->aborted) {
        if (x->started) {
            /* short of Content-Length on an error: ending early closes the connection */
            (void)http_response_end(x->call.req);
            api_reply_done(&x->call, 200);
        } else if (end->kind == AGENT_END_DONE) {
            (void)http_response_send(x->call.req, 200, "application/octet-stream", NULL, 0);
            api_reply_done(&x->call, 200);
        } else {
            reply_agent_error(x, end, true);
        }
        x->answered = true;
    }
    run_maybe_free(x);
}

void api_sandbox_file_get(struct api_call *call)
{
    struct file_run *x = run_new(call);
    if (!x)
        return;
    x->ops = (struct agent_stream_ops){ .on_info = on_get_info, .on_data = on_get_data,
                                        .on_end = on_get_end };
    struct ctl_error e;
    int r = ctl_sandbox_file_get_start(x->ctx->ctl, x->id, x->path, &x->ops, x, &x->stream,
                                       &e);
    if (r < 0) {
        reply_start_error(x, &e);
        run_maybe_free(x);
        return;
    }
    x->host_open = true;
    http_request_on_abort(call->req, on_abort, x);
    http_response_on_drain(call->req, on_get_drain, x);
}
