/* SPDX-License-Identifier: MIT */
/* proc_calls.c: libhearth's managed-process calls (docs/api.md §3.11): one function per route,
 * and connect's NDJSON events decoded (base64 data checked strictly) as they arrive. Requests
 * that start something are never retried. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/b64.h"
#include "lib/lib_internal.h"
#include "lib/ndjson.h"

#define PROC_LINE_MAX ((size_t)1 << 20)  /* a data event holds ≤ 64 KiB, ~88 KiB encoded */
#define PROC_INPUT_MAX ((size_t)1 << 20)

/* "/v1/sandboxes/{id}/processes[/{pid}]<suffix>", escaped; NULL for an empty id or pid. */
static char *proc_path(const char *id, const char *pid, const char *suffix)
{
    if (!id || !*id || (pid && !*pid))
        return NULL;
    char *e = pid ? curl_easy_escape(NULL, pid, 0) : NULL;
    if (pid && !e)
        return NULL;
    size_t n = strlen("/processes/") + (e ? strlen(e) : 0) + strlen(suffix) + 1;
    char *tail = malloc(n);
    if (tail)
        snprintf(tail, n, "/processes%s%s%s", e ? "/" : "", e ? e : "", suffix);
    curl_free(e);
    char *p = tail ? lib_id_path("/v1/sandboxes/", id, tail) : NULL;
    free(tail);
    return p;
}

/* One call; body (stolen, may be NULL); timeout_ms 0: none. */
static int proc_call(hearth_client *c, const char *method, const char *id, const char *pid,
                     const char *suffix, json_t *body, long timeout_ms, bool no_retry,
                     hearth_obj **ret, struct hearth_error *reterr)
{
    char *path = proc_path(id, pid, suffix);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    int rc;
    json_decref(body);
    if (!path)
        rc = err_set(reterr, HEARTH_ERR_INVALID, 0, "empty sandbox or process id");
    else if (body && !text)
        rc = err_set(reterr, HEARTH_ERR_NOMEM, 0, "out of memory");
    else {
        struct hreq r = { .method = method, .path = path, .body = text,
                          .body_len = text ? strlen(text) : 0, .upload_fd = -1,
                          .timeout_ms = timeout_ms, .no_retry = no_retry };
        rc = lib_call_obj(c, &r, ret, reterr);
    }
    free(path);
    free(text);
    return rc;
}

/* proc_call() on one process: pid must be given (NULL would address the list). */
static int pid_call(hearth_client *c, const char *method, const char *id, const char *pid,
                    const char *suffix, json_t *body, long timeout_ms, bool no_retry,
                    hearth_obj **ret, struct hearth_error *reterr)
{
    if (!pid || !*pid) {
        json_decref(body);
        return err_set(reterr, HEARTH_ERR_INVALID, 0, "empty process id");
    }
    return proc_call(c, method, id, pid, suffix, body, timeout_ms, no_retry, ret, reterr);
}

HEARTH_EXPORT int hearth_body_set_pty(hearth_body *b, int rows, int cols)
{
    json_t *pty = json_pack("{s:i,s:i}", "rows", rows, "cols", cols);
    if (!b) {
        json_decref(pty);
        return HEARTH_ERR_INVALID;
    }
    if (!pty || json_object_set_new(b->root, "pty", pty) < 0)
        return HEARTH_ERR_NOMEM;
    return HEARTH_OK;
}

HEARTH_EXPORT int hearth_process_start(hearth_client *c, const char *id, const hearth_body *body,
                                       hearth_obj **ret, struct hearth_error *reterr)
{
    json_t *b = body ? json_deep_copy(body->root) : json_object();
    return proc_call(c, "POST", id, NULL, "", b, c->timeout_ms, true, ret, reterr);
}

HEARTH_EXPORT int hearth_process_list(hearth_client *c, const char *id, hearth_obj **ret,
                                      struct hearth_error *reterr)
{
    return proc_call(c, "GET", id, NULL, "", NULL, c->timeout_ms, false, ret, reterr);
}

HEARTH_EXPORT int hearth_process_get(hearth_client *c, const char *id, const char *pid,
                                     hearth_obj **ret, struct hearth_error *reterr)
{
    return pid_call(c, "GET", id, pid, "", NULL, c->timeout_ms, false, ret, reterr);
}

HEARTH_EXPORT int hearth_process_input(hearth_client *c, const char *id, const char *pid,
                                       const void *data, size_t len, hearth_obj **ret,
                                       struct hearth_error *reterr)
{
    if (len > PROC_INPUT_MAX || (len && !data))
        return err_set(reterr, HEARTH_ERR_INVALID, 0, "input is larger than 1 MiB");
    char *b64 = malloc(B64_ENC_LEN(len) + 1);
    if (!b64)
        return err_set(reterr, HEARTH_ERR_NOMEM, 0, "out of memory");
    b64_encode(data, len, b64);
    json_t *body = json_pack("{s:s}", "data_base64", b64);
    free(b64);
    return pid_call(c, "POST", id, pid, "/input", body, c->timeout_ms, true, ret, reterr);
}

HEARTH_EXPORT int hearth_process_close_stdin(hearth_client *c, const char *id, const char *pid,
                                             struct hearth_error *reterr)
{
    return pid_call(c, "POST", id, pid, "/stdin/close", NULL, c->timeout_ms, false, NULL,
                     reterr);
}

HEARTH_EXPORT int hearth_process_resize(hearth_client *c, const char *id, const char *pid,
                                        int rows, int cols, struct hearth_error *reterr)
{
    return pid_call(c, "POST", id, pid, "/resize",
                     json_pack("{s:i,s:i}", "rows", rows, "cols", cols), c->timeout_ms, false,
                     NULL, reterr);
}

HEARTH_EXPORT int hearth_process_signal(hearth_client *c, const char *id, const char *pid,
                                        const char *signal, struct hearth_error *reterr)
{
    if (!signal)
        return err_set(reterr, HEARTH_ERR_INVALID, 0, "no signal");
    return pid_call(c, "POST", id, pid, "/signal", json_pack("{s:s}", "signal", signal),
                     c->timeout_ms, true, NULL, reterr);
}

HEARTH_EXPORT int hearth_process_wait(hearth_client *c, const char *id, const char *pid,
                                      bool tree, int64_t timeout_ms, hearth_obj **ret,
                                      struct hearth_error *reterr)
{
    char q[96];
    int64_t t = timeout_ms < 0 ? 30000 : timeout_ms;
    snprintf(q, sizeof(q), "/wait?scope=%s&timeout_ms=%lld", tree ? "tree" : "leader",
             (long long)t);
    /* the server holds the call for up to t: the client waits that long and its own timeout */
    return pid_call(c, "GET", id, pid, q, NULL, (long)t + c->timeout_ms, false, ret, reterr);
}

HEARTH_EXPORT int hearth_process_delete(hearth_client *c, const char *id, const char *pid,
                                        int64_t grace_ms, hearth_obj **ret,
                                        struct hearth_error *reterr)
{
    char q[64] = "";
    int64_t g = grace_ms < 0 ? 1000 : grace_ms;
    if (grace_ms >= 0)
        snprintf(q, sizeof(q), "?grace_ms=%lld", (long long)grace_ms);
    /* the server answers within grace + 2 s */
    return pid_call(c, "DELETE", id, pid, q, NULL, (long)g + 2000 + c->timeout_ms, false, ret,
                     reterr);
}

/* ---- connect ---- */

struct connect_ctx {
    struct ndjson nd;
    hearth_proc_event_fn fn;
    void *ud;
    uint8_t *data;              /* decoded bytes of one event */
    int exit_code;
    bool have_exit, bad, stopped;
};

/* Decodes one event line into *ev (strings borrowed from o). 0 or -EBADMSG. */
static int decode_event(struct connect_ctx *s, json_t *o, struct hearth_proc_event *ev)
{
    const char *type = json_string_value(json_object_get(o, "type"));
    if (!type)
        return -EBADMSG;
    ev->kind = HEARTH_PROC_UNKNOWN;
    if (strcmp(type, "data") == 0) {
        json_t *seq = json_object_get(o, "seq"), *d = json_object_get(o, "data_base64");
        ev->stream = json_string_value(json_object_get(o, "stream"));
        if (!json_is_integer(seq) || !json_is_string(d) || !ev->stream ||
            json_string_length(d) > B64_ENC_LEN(64u << 10))
            return -EBADMSG;
        ssize_t n = b64_decode(json_string_value(d), json_string_length(d), s->data);
        if (n < 0)
            return -EBADMSG;
        ev->kind = HEARTH_PROC_DATA;
        ev->seq = json_integer_value(seq);
        ev->data = s->data;
        ev->len = (size_t)n;
    } else if (strcmp(type, "exit") == 0) {
        json_t *code = json_object_get(o, "exit_code");
        if (!json_is_integer(code))
            return -EBADMSG;
        ev->kind = HEARTH_PROC_EXIT;
        ev->exit_code = (int)json_integer_value(code);
        ev->signal = json_string_value(json_object_get(o, "signal"));
    } else if (strcmp(type, "heartbeat") == 0) {
        ev->kind = HEARTH_PROC_HEARTBEAT;
    } else if (strcmp(type, "error") == 0) {
        json_t *oldest = json_object_get(o, "oldest_available_seq");
        ev->message = json_string_value(json_object_get(o, "error"));
        ev->kind = json_is_integer(oldest) ? HEARTH_PROC_GAP : HEARTH_PROC_ERROR;
        ev->oldest_available_seq = json_is_integer(oldest) ? json_integer_value(oldest) : 0;
    }
    return 0;
}

static int on_line(void *ud, const char *line, size_t len)
{
    struct connect_ctx *s = ud;
    struct hearth_proc_event ev = { .line = line, .line_len = len };
    json_t *o = json_loadb(line, len, 0, NULL);
    if (!json_is_object(o) || decode_event(s, o, &ev) < 0) {
        json_decref(o);
        s->bad = true;
        return -EBADMSG;
    }
    if (ev.kind == HEARTH_PROC_EXIT) {
        s->exit_code = ev.exit_code;
        s->have_exit = true;
    }
    bool go = s->fn ? s->fn(s->ud, &ev) : true;
    json_decref(o);
    if (!go) {
        s->stopped = true;
        return -ECANCELED;
    }
    return 0;
}

static bool connect_sink(void *ud, const char *p, size_t n)
{
    struct connect_ctx *s = ud;
    return ndjson_feed(&s->nd, p, n, on_line, s) == 0;
}

HEARTH_EXPORT int hearth_process_connect(hearth_client *c, const char *id, const char *pid,
                                         int64_t after, bool follow,
                                         hearth_proc_event_fn on_event, void *userdata,
                                         int *ret_exit_code, struct hearth_error *reterr)
{
    char q[96];
    snprintf(q, sizeof(q), "/connect?after=%lld&follow=%s", (long long)(after < 0 ? 0 : after),
             follow ? "true" : "false");
    char *path = pid ? proc_path(id, pid, q) : NULL;
    if (!path)
        return err_set(reterr, HEARTH_ERR_INVALID, 0, "empty sandbox or process id");
    struct connect_ctx s = { .fn = on_event, .ud = userdata, .exit_code = -1,
                             .data = malloc(64u << 10) };
    if (!s.data) {
        free(path);
        return err_set(reterr, HEARTH_ERR_NOMEM, 0, "out of memory");
    }
    ndjson_init(&s.nd, PROC_LINE_MAX);
    struct hreq r = { .method = "GET", .path = path, .upload_fd = -1, .sink = connect_sink,
                      .sink_ud = &s, .stream = true };
    int rc = lib_call(c, &r, NULL, reterr);
    if (rc == HEARTH_ERR_ABORTED && s.bad)
        rc = err_set(reterr, HEARTH_ERR_PROTOCOL, 200, "malformed event in the connect stream");
    else if (rc == HEARTH_ERR_ABORTED && !s.stopped)
        rc = err_set(reterr, HEARTH_ERR_PROTOCOL, 200, "connect event line too long");
    if (rc == HEARTH_OK && ret_exit_code)
        *ret_exit_code = s.have_exit ? s.exit_code : -1;
    ndjson_release(&s.nd);
    free(s.data);
    free(path);
    return rc;
}
