/* SPDX-License-Identifier: MIT */
/* exec.c: the exec route. Validates the body, has the control layer check the sandbox and
 * start the command (ctl/sandbox_stream.h: its environment, the active count), and follows
 * the stream until its end. Owns one struct exec_run per call, freed when the answer has been
 * given and the stream has ended. Output is repaired to UTF-8 (docs/api.md §1.8 item 7)
 * without splitting sequences. */
#include "daemon/api/routes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/buf.h"
#include "common/utf8.h"
#include "common/wire.h"
#include "daemon/api/api.h"
#include "daemon/api/reply.h"
#include "daemon/api/stream_credit.h"
#include "daemon/api/validate.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/ctl/sandbox_stream.h"
#include "daemon/http/request.h"
#include "daemon/http/response.h"
#include "daemon/http/route.h"
#include "daemon/host/host.h"
#include "common/mono.h"
#include "daemon/log.h"
#include "daemon/store/ids.h"
#include "daemon/store/store.h"

#define EXEC_OUT_CAP (16u << 20)        /* §3.4.2: per stream */
#define EXEC_FRAME_TEXT (64u << 10)     /* §3.4.3: text per frame */
#define EXEC_HB_SECS 5
#define EXEC_PENDING_HIGH (1u << 20)    /* hold the agent's credit past this much queued output */

struct exec_run {
    struct api_call call;          /* req referenced */
    struct api_ctx *ctx;
    char id[STORE_ID_SIZE];
    bool streaming;
    /* the request, owned until the stream ends */
    char **argv;
    char *cwd;
    char *stdin_data;
    size_t stdin_len;
    uint32_t timeout_ms;
    const char **env_keys, **env_values; /* the call's overrides, borrowed from the body */
    size_t n_env;
    struct ctl_exec *exec;            /* the started command (ctl_exec_free()) */
    struct agent_stream_ops ops;
    uint32_t stream;
    bool starting, open, answered, aborted;
    struct agent_end end;
    bool have_end;
    int64_t t0_us, t1_us;
    /* buffered */
    struct buf out[2];
    bool trunc[2];
    /* streaming */
    struct buf carry[2];           /* an incomplete UTF-8 tail per stream */
    struct event *hb;
    size_t held;                   /* credit held back while the socket drains */
};

static void strv_free(char **v)
{
    if (!v)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

static void run_free(struct exec_run *x)
{
    ctl_exec_free(x->exec);
    http_response_on_drain(x->call.req, NULL, NULL);
    api_call_unhold(&x->call);
    strv_free(x->argv);
    free(x->env_keys);
    free(x->env_values);
    free(x->cwd);
    free(x->stdin_data);
    for (int i = 0; i < 2; i++) {
        buf_release(&x->out[i]);
        buf_release(&x->carry[i]);
    }
    if (x->hb)
        event_free(x->hb);
    free(x);
}

/* ---- streaming frames ---- */

static void hb_arm(struct exec_run *x)
{
    struct timeval tv = { .tv_sec = EXEC_HB_SECS };
    if (x->hb)
        event_add(x->hb, &tv);
}

/* Writes one NDJSON line {key: value}; value stolen. */
static void frame(struct exec_run *x, const char *key, json_t *value)
{
    json_t *o = json_object();
    if (!o || !value || json_object_set_new(o, key, value) < 0) {
        json_decref(o);
        return;
    }
    char *line = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!line)
        return;
    size_t n = strlen(line);
    char *l2 = realloc(line, n + 2);
    if (l2) {
        l2[n] = '\n';
        (void)http_response_write(x->call.req, l2, n + 1); /* a dead peer fires on_abort */
        free(l2);
    } else {
        free(line);
    }
    hb_arm(x);
}

static void on_hb(evutil_socket_t fd, short what, void *arg)
{
    struct exec_run *x = arg;
    frame(x, "hb", json_true());
}

/* Repairs and forwards a piece of output (final: flush what is carried). */
static void forward(struct exec_run *x, int which, const uint8_t *p, size_t len, bool final)
{
    struct buf *c = &x->carry[which];
    struct buf text;
    buf_init(&text, 4 * (len + c->len) + 16);
    const uint8_t *src = p;
    size_t n = len;
    if (c->len) {
        if (buf_append(c, p, len) < 0) {
            buf_release(&text);
            return;
        }
        src = c->data;
        n = c->len;
    }
    ssize_t used = utf8_sanitize(src, n, final, &text);
    if (used < 0) {
        buf_release(&text);
        return;
    }
    /* keep the unfinished tail (at most 3 bytes) for the next piece */
    uint8_t tail[4];
    size_t tl = n - (size_t)used;
    memcpy(tail, src + used, tl);
    c->len = 0;
    if (tl && buf_append(c, tail, tl) < 0)
        c->len = 0;
    const char *key = which == 0 ? "stdout" : "stderr";
    size_t off = 0;
    while (off < text.len) {
        size_t k = utf8_boundary(text.data + off, text.len - off, EXEC_FRAME_TEXT);
        frame(x, key, json_stringn((const char *)text.data + off, k));
        off += k;
    }
    buf_release(&text);
}

/* ---- the end ---- */

static int exit_code(const struct agent_end *e)
{
    if (e->kind != AGENT_END_EXIT)
        return -1;
    return e->signal ? 128 + e->signal : e->exit_code;
}

/* The result.error text, or NULL. */
static void error_text(const struct exec_run *x, char *out, size_t len)
{
    const struct agent_end *e = &x->end;
    out[0] = '\0';
    if (e->kind == AGENT_END_EXIT || e->kind == AGENT_END_DONE)
        return;
    if (e->kind == AGENT_END_LOST)
        snprintf(out, len, "agent connection lost");
    else if (strcmp(e->error, "ENOENT") == 0 && !x->cwd)
        snprintf(out, len, "exec: \"%.200s\": executable file not found in $PATH", x->argv[0]);
    else
        snprintf(out, len, "exec: \"%.200s\": %.31s: %.255s", x->argv[0], e->error, e->message);
    utf8_cut_partial(out); /* the command and the agent's message are cut to a length */
}

static void finish(struct exec_run *x)
{
    char err[600];
    error_text(x, err, sizeof(err));
    int code = exit_code(&x->end);
    if (x->streaming) {
        for (int i = 0; i < 2; i++)
            if (x->carry[i].len)
                forward(x, i, NULL, 0, true);
        if (err[0])
            frame(x, "error", json_string(err));
        frame(x, "exit_code", json_integer(code));
        (void)http_response_end(x->call.req);
        api_reply_done(&x->call, 200);
    } else {
        json_t *res = json_object();
        for (int i = 0; i < 2; i++) {
            struct buf text;
            buf_init(&text, 3 * (size_t)EXEC_OUT_CAP + 16);
            if (utf8_sanitize(x->out[i].data, x->out[i].len, true, &text) < 0)
                text.len = 0;
            json_object_set_new(res, i == 0 ? "stdout" : "stderr",
                                json_stringn(text.data ? (const char *)text.data : "",
                                             text.len));
            buf_release(&text);
        }
        json_object_set_new(res, "exit_code", json_integer(code));
        if (err[0])
            json_object_set_new(res, "error", json_string(err));
        double ms = (double)(x->t1_us - x->t0_us) / 1000.0;
        ms = (double)(int64_t)(ms * 1000.0 + 0.5) / 1000.0;
        if (x->trunc[0] || x->trunc[1])
            (void)http_response_add_header(x->call.req, "X-Hearth-Output-Truncated",
                                           x->trunc[0] && x->trunc[1] ? "stdout,stderr"
                                           : x->trunc[0]             ? "stdout"
                                                                     : "stderr");
        api_reply_ok(&x->call, json_pack("{s:o,s:f}", "result", res, "exec_ms", ms));
    }
    x->answered = true;
}

/* ---- stream callbacks ---- */

static int on_data(void *ud, uint16_t type, const uint8_t *p, size_t len, bool eof)
{
    struct exec_run *x = ud;
    int which = type == WIRE_STDERR ? 1 : 0;
    if (x->aborted)
        return 0;
    if (!x->streaming) {
        struct buf *b = &x->out[which];
        size_t room = EXEC_OUT_CAP - b->len;
        if (len > room)
            x->trunc[which] = true; /* read and dropped (§3.4.2) */
        if (buf_append(b, p, len < room ? len : room) < 0)
            x->trunc[which] = true;
        return 0;
    }
    forward(x, which, p, len, false);
    if (http_response_pending(x->call.req) > EXEC_PENDING_HIGH) {
        x->held += len;
        return AGENT_DATA_HOLD;
    }
    return 0;
}

static void on_end(void *ud, const struct agent_end *end)
{
    struct exec_run *x = ud;
    x->end = *end;
    x->have_end = true;
    x->open = false;
    x->t1_us = mono_now_us();
    if (x->starting)
        return; /* the starter finishes */
    if (x->aborted) {
        log_info(http_request_id(x->call.req), "exec cancelled: client went away", "{s:s}",
                 "sandbox", x->id);
        api_reply_done(&x->call, 499);
        run_free(x);
        return;
    }
    finish(x);
    run_free(x);
}

static void on_drain(struct http_request *req, void *ud)
{
    struct exec_run *x = ud;
    api_stream_credit_return(x->ctx->ctl->host, x->id, x->stream, x->open, &x->held);
}

static void on_abort(struct http_request *req, void *ud)
{
    struct exec_run *x = ud;
    x->aborted = true;
    if (x->open) {
        /* §3.4.1: kill the command's group; on_end runs before this returns and frees x */
        if (host_vm_exec_cancel(x->ctx->ctl->host, x->id, x->stream) == 0)
            return;
    }
    /* the stream is gone already (the VM went away): on_end came or will come */
    if (x->have_end) {
        api_reply_done(&x->call, 499);
        run_free(x);
    }
}

/* ---- validation (api/validate.c) ---- */

/* Checks the body and keeps what the command needs in x; the env overrides point into body,
 * so they are good only while the body is (the start reads them). Answers 400 and returns
 * false. */
static bool parse_body(struct exec_run *x, json_t *body, const struct store_sandbox *sb)
{
    struct api_exec_req r;
    json_t *fail = NULL;
    int st = api_validate_exec(body, (const char *const *)sb->env_keys.v, sb->env_keys.n, &r,
                               &fail);
    if (st) {
        api_reply_fail(&x->call, st, fail);
        return false;
    }
    /* moved into x, which run_free() releases */
    x->argv = r.argv;
    x->cwd = r.cwd;
    x->stdin_data = r.stdin_data;
    x->stdin_len = r.stdin_len;
    x->timeout_ms = r.timeout_ms;
    x->env_keys = r.env_keys;
    x->env_values = r.env_values;
    x->n_env = r.n_env;
    x->streaming |= r.streaming;
    return true;
}

static void on_exec_body(struct api_call *call, json_t *body)
{
    struct api_ctx *ctx = call->ctx;
    struct exec_run *x = api_call_hold(call, sizeof(*x), "exec");
    if (!x)
        return;
    x->ctx = ctx;
    for (int i = 0; i < 2; i++) {
        buf_init(&x->out[i], EXEC_OUT_CAP);
        buf_init(&x->carry[i], 16);
    }
    const struct http_path *p = http_request_path(call->req);
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    if (ids_canonical(IDS_SANDBOX_PREFIX, p->seg[2], p->seg_len[2], x->id, sizeof(x->id)) < 0 ||
        store_sandbox_get(ctx->ctl->store, call->auth.user_id, x->id, &sb) < 0) {
        api_reply_fail_str(call, 404, "sandbox not found");
        goto out_free;
    }
    bool qstream = false;
    if (http_query_get_bool(http_request_query(call->req), "stream", false, &qstream) < 0) {
        api_reply_field(call, "stream", "must be true or false", "invalid_request");
        goto out_free;
    }
    x->streaming = qstream;
    if (!parse_body(x, body, &sb))
        goto out_free;
    struct ctl_caller who = api_caller(call);
    struct ctl_error e;
    if (ctl_sandbox_stream_check(ctx->ctl, &who, x->id, &e) < 0) {
        api_reply_ctl(call, &e);
        goto out_free;
    }
    x->ops = (struct agent_stream_ops){ .on_data = on_data, .on_end = on_end };
    if (x->streaming && !(x->hb = evtimer_new(ctx->ctl->base, on_hb, x))) {
        api_reply_internal(call, "exec", -ENOMEM);
        goto out_free;
    }
    struct ctl_exec_req req = { .argv = (const char *const *)x->argv,
                                .env_keys = x->env_keys, .env_values = x->env_values,
                                .n_env = x->n_env, .cwd = x->cwd, .stdin_data = x->stdin_data,
                                .stdin_len = x->stdin_len, .timeout_ms = x->timeout_ms };
    x->starting = true;
    x->t0_us = mono_now_us();
    int r = ctl_sandbox_exec_start(ctx->ctl, x->id, &req, &x->ops, x, &x->exec, &x->stream, &e);
    x->starting = false;
    if (r < 0) {
        api_reply_ctl(call, &e);
        goto out_free;
    }
    x->open = !x->have_end;
    if (x->streaming) {
        (void)http_response_start_ndjson(call->req, 200);
        http_response_on_drain(call->req, on_drain, x);
        hb_arm(x);
    }
    if (x->have_end) {
        finish(x);
        goto out_free;
    }
    http_request_on_abort(call->req, on_abort, x);
    store_sandbox_release(&sb);
    return;
out_free:
    store_sandbox_release(&sb);
    run_free(x);
}

void api_sandbox_exec(struct api_call *call)
{
    api_read_json(call, on_exec_body);
}
