/* SPDX-License-Identifier: MIT */
/* template_contexts.c: POST /v1/template-contexts (a hearth extension, docs/api.md §3.10.7):
 * the raw tar body of a build context, streamed to a new file under ctl_template_upload_dir()
 * with the size limit enforced while it arrives (413 past it, as for file uploads, §3.5.1),
 * then handed to ctl_template_context_put, which checks it and keeps it as ctx_<sha256>. The
 * body never sits in memory whole; a failed or abandoned upload leaves no file behind. */
#include "daemon/api/routes.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "daemon/api/api.h"
#include "daemon/api/reply.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/template.h"
#include "daemon/http/request.h"
#include "daemon/http/response.h"

/* When the operator set no limit (0), the documented default (docs/operations.md). */
#define TPL_CONTEXT_MAX_DEFAULT (256ull << 20)

struct ctx_upload {
    struct api_call call;           /* first: api_call_hold() */
    char path[PATH_MAX];
    int fd;                         /* -1 once closed */
};

static void upload_free(struct ctx_upload *x)
{
    if (x->fd >= 0)
        close(x->fd);
    if (x->path[0])
        (void)unlink(x->path); /* after a put the file is gone already: ENOENT is fine */
    api_call_unhold(&x->call);
    free(x);
}

static void on_abort(struct http_request *req, void *ud)
{
    struct ctx_upload *x = ud;
    api_reply_done(&x->call, 499);
    upload_free(x); /* no body callback runs after this */
}

/* Writes the whole piece: a short write to a local file is the disk filling up. */
static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -ENOSPC;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* A refusal (a negative return) ends the body without on_body_end: x goes here. */
static int on_body_data(struct http_request *req, const uint8_t *p, size_t len, void *ud)
{
    struct ctx_upload *x = ud;
    int r = write_all(x->fd, p, len);
    if (r == 0)
        return 0;
    http_request_on_abort(x->call.req, NULL, NULL);
    if (r == -ENOSPC || r == -EDQUOT)
        api_reply_error(&x->call, 507, "no space left for the build context",
                        "insufficient_storage");
    else
        api_reply_internal(&x->call, "write build context", r);
    upload_free(x);
    return r;
}

static void on_body_end(struct http_request *req, int err, void *ud)
{
    struct ctx_upload *x = ud;
    http_request_on_abort(x->call.req, NULL, NULL);
    if (err < 0) {
        /* 413/400/408 answered by the HTTP layer */
        api_reply_done(&x->call, err == -EMSGSIZE ? 413 : err == -ETIMEDOUT ? 408 : 400);
        upload_free(x);
        return;
    }
    if (http_request_body_received(req) == 0) {
        api_reply_field(&x->call, "context", "empty body: send a tar archive", "invalid_request");
        upload_free(x);
        return;
    }
    int r = close(x->fd);
    x->fd = -1;
    if (r < 0) {
        api_reply_internal(&x->call, "write build context", -errno);
        upload_free(x);
        return;
    }
    struct ctl_caller who = api_caller(&x->call);
    struct ctl_error e;
    char id[96];
    uint64_t size = 0;
    if (ctl_template_context_put(x->call.ctx->ctl, &who, x->path, id, &size, &e) < 0)
        api_reply_ctl(&x->call, &e);
    else
        api_reply_ok(&x->call, json_pack("{s:s,s:I}", "id", id, "size_bytes", (json_int_t)size));
    upload_free(x);
}

void api_template_context_upload(struct api_call *call)
{
    struct ctl *c = call->ctx->ctl;
    uint64_t max = c->set.template_context_max_bytes ? c->set.template_context_max_bytes
                                                     : TPL_CONTEXT_MAX_DEFAULT;
    int64_t cl = http_request_content_length(call->req);
    if (cl >= 0 && (uint64_t)cl > max) {
        char msg[96];
        snprintf(msg, sizeof(msg), "build context larger than %llu bytes",
                 (unsigned long long)max);
        api_reply_fail_code(call, 413, "payload_too_large", msg);
        return;
    }
    char dir[PATH_MAX];
    int r = ctl_template_upload_dir(c, dir);
    if (r < 0) {
        api_reply_internal(call, "template upload dir", r);
        return;
    }
    struct ctx_upload *x = api_call_hold(call, sizeof(*x), "template context");
    if (!x)
        return;
    x->fd = -1;
    if ((size_t)snprintf(x->path, sizeof(x->path), "%s/upload-XXXXXX", dir) >= sizeof(x->path)) {
        x->path[0] = '\0';
        api_reply_internal(call, "template upload path", -ENAMETOOLONG);
        upload_free(x);
        return;
    }
    x->fd = mkostemp(x->path, O_CLOEXEC);
    if (x->fd < 0) {
        r = -errno;
        x->path[0] = '\0';
        api_reply_internal(call, "create template upload", r);
        upload_free(x);
        return;
    }
    http_request_on_abort(call->req, on_abort, x);
    r = http_request_stream_body(call->req, max, on_body_data, on_body_end, x);
    if (r < 0) {
        /* detached or already answered: nothing more to say */
        http_request_on_abort(call->req, NULL, NULL);
        upload_free(x);
    }
}
