/* SPDX-License-Identifier: MIT */
/* processes.c: the managed-process routes (docs/api.md §3.11). Each parses its path, query and
 * body, has the control layer check the sandbox (running, the caller's) and send one agent
 * request (ctl/process.h), and answers when it ends; connect streams the process's output as
 * NDJSON with heartbeats, holding the agent's credit while the client's socket is full, so a
 * replay of the whole ring never sits in hearthd. */
#include "daemon/api/routes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/b64.h"
#include "daemon/api/reply.h"
#include "daemon/api/sandboxes.h"
#include "daemon/api/api.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/proc_record.h"
#include "daemon/ctl/process.h"
#include "daemon/ctl/sandbox_check.h"
#include "daemon/ctl/sandbox_stream.h"
#include "daemon/host/agent_client.h"
#include "daemon/http/request.h"
#include "daemon/http/response.h"
#include "daemon/http/route.h"
#include "daemon/store/ids.h"
#include "daemon/store/store.h"

#define PROC_ARGV_MAX (32u << 10)       /* cmd + args: the agent keeps them in the record */
#define PROC_CWD_MAX 1024
#define PROC_INPUT_MAX (1u << 20)       /* §3.11.5: decoded */
#define PROC_SIZE_MAX 1000              /* rows, cols */
#define PROC_WAIT_MAX_MS 300000
#define PROC_GRACE_MAX_MS 60000
#define CONNECT_HB_SECS 5
#define CONNECT_PENDING_HIGH (1u << 20) /* hold the agent's credit past this much queued */
#define PROC_PID_SIZE 64

/* ---- the common prologue ---- */

/* A held call answered when its agent request ends. */
struct proc_call {
    struct api_call call;
    bool reply_ok;          /* answer {"ok":true} instead of the view */
};

/* The sandbox (segment 2) of a running sandbox of the caller into id, and the process id
 * (segment 4, when want_pid) into pid; false when it answered (404, 409, 503). */
static bool prologue(const struct api_call *call, bool want_pid, char id[STORE_ID_SIZE],
                     char pid[PROC_PID_SIZE])
{
    if (!api_sandbox_path_id(call, 2, id))
        return false;
    struct ctl_caller who = api_caller(call);
    struct ctl_error e;
    if (ctl_sandbox_stream_check(call->ctx->ctl, &who, id, &e) < 0) {
        api_reply_ctl(call, &e);
        return false;
    }
    if (!want_pid)
        return true;
    const struct http_path *p = http_request_path(call->req);
    if (p->n < 5 || ids_canonical("proc_", p->seg[4], p->seg_len[4], pid, PROC_PID_SIZE) < 0) {
        api_reply_fail_str(call, 404, "process not found");
        return false;
    }
    return true;
}

static void on_done(void *ud, const struct ctl_error *e, json_t *view)
{
    struct proc_call *pc = ud;
    if (e)
        api_reply_ctl(&pc->call, e);
    else if (pc->reply_ok)
        api_reply_ok(&pc->call, json_pack("{s:b}", "ok", 1));
    else
        api_reply_ok(&pc->call, json_incref(view));
    api_call_unhold(&pc->call);
    free(pc);
}

static struct proc_call *hold(const struct api_call *call, bool reply_ok)
{
    struct proc_call *pc = api_call_hold(call, sizeof(*pc), "process");
    if (pc)
        pc->reply_ok = reply_ok;
    return pc;
}

/* After a ctl call: r < 0 answers e and drops pc. */
static void started(struct proc_call *pc, int r, const struct ctl_error *e)
{
    if (r < 0) {
        api_reply_ctl(&pc->call, e);
        api_call_unhold(&pc->call);
        free(pc);
    }
}

/* body[key] with null as absent. */
static json_t *field(json_t *body, const char *key)
{
    json_t *v = json_object_get(body, key);
    return json_is_null(v) ? NULL : v;
}

static bool str_ok(json_t *v)
{
    return json_is_string(v) && memchr(json_string_value(v), 0, json_string_length(v)) == NULL;
}

/* An integer field lo..hi (def when absent) into *ret; false when it answered 400. */
static bool int_in(const struct api_call *call, json_t *obj, const char *key, const char *name,
                   json_int_t lo, json_int_t hi, json_int_t def, json_int_t *ret)
{
    json_t *v = field(obj, key);
    if (!v) {
        *ret = def;
        return true;
    }
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
        char msg[96];
        snprintf(msg, sizeof(msg), "must be an integer from %lld to %lld", (long long)lo,
                 (long long)hi);
        api_reply_field(call, name, msg, "invalid_request");
        return false;
    }
    *ret = json_integer_value(v);
    return true;
}

/* ---- POST …/processes (§3.11.1) ---- */

struct start_args {
    const char **argv;          /* NULL-terminated, borrowed from the body; NULL: none */
    const char **keys, **values;
    size_t n_env;
};

static void start_args_free(struct start_args *a)
{
    free(a->argv);
    free(a->keys);
    free(a->values);
}

/* env: any key (unlike exec), the limits of the sandbox's envs. false when it answered. */
static bool parse_env(const struct api_call *call, json_t *env, struct start_args *a)
{
    if (!env)
        return true;
    if (!json_is_object(env)) {
        api_reply_field(call, "env", "must be an object of strings", "invalid_request");
        return false;
    }
    size_t n = json_object_size(env), total = 0;
    if (n > CTL_MAX_ENVS) {
        char msg[64];
        snprintf(msg, sizeof(msg), "at most %d entries", CTL_MAX_ENVS);
        api_reply_field(call, "env", msg, "invalid_request");
        return false;
    }
    a->keys = calloc(n + 1, sizeof(*a->keys));
    a->values = calloc(n + 1, sizeof(*a->values));
    if (!a->keys || !a->values) {
        api_reply_internal(call, "process env", -ENOMEM);
        return false;
    }
    const char *k;
    json_t *v;
    json_object_foreach(env, k, v) {
        char f[300];
        snprintf(f, sizeof(f), "env.%.200s", k);
        const char *why = NULL;
        if (!ctl_env_key_valid(k))
            why = "invalid key: must match ^[A-Za-z_][A-Za-z0-9_]*$";
        else if (!str_ok(v))
            why = "must be a string without NUL";
        else if (json_string_length(v) > CTL_MAX_ENV_VALUE)
            why = "value longer than 4096 bytes";
        if (why) {
            api_reply_field(call, f, why, "invalid_request");
            return false;
        }
        total += strlen(k) + json_string_length(v);
        a->keys[a->n_env] = k;
        a->values[a->n_env++] = json_string_value(v);
    }
    if (total > CTL_MAX_ENV_TOTAL) {
        api_reply_field(call, "env", "keys and values exceed 65536 bytes in total",
                        "invalid_request");
        return false;
    }
    return true;
}

/* cmd and args into a->argv; false when it answered. */
static bool parse_argv(const struct api_call *call, json_t *body, bool pty, struct start_args *a)
{
    json_t *cmd = field(body, "cmd"), *args = field(body, "args");
    if (!cmd && !pty) {
        api_reply_field(call, "cmd", "is required without pty", "invalid_request");
        return false;
    }
    if (cmd && (!str_ok(cmd) || json_string_length(cmd) == 0)) {
        api_reply_field(call, "cmd", "must be a non-empty string", "invalid_request");
        return false;
    }
    if (args && !json_is_array(args)) {
        api_reply_field(call, "args", "must be an array of strings", "invalid_request");
        return false;
    }
    if (args && json_array_size(args) && !cmd) {
        api_reply_field(call, "args", "need cmd", "invalid_request");
        return false;
    }
    if (!cmd)
        return true;
    size_t na = json_array_size(args), total = json_string_length(cmd);
    if (!(a->argv = calloc(na + 2, sizeof(*a->argv)))) {
        api_reply_internal(call, "process argv", -ENOMEM);
        return false;
    }
    a->argv[0] = json_string_value(cmd);
    for (size_t i = 0; i < na; i++) {
        json_t *v = json_array_get(args, i);
        if (!str_ok(v)) {
            char f[32];
            snprintf(f, sizeof(f), "args[%zu]", i);
            api_reply_field(call, f, "must be a string without NUL", "invalid_request");
            return false;
        }
        total += json_string_length(v) + 1;
        a->argv[i + 1] = json_string_value(v);
    }
    if (total > PROC_ARGV_MAX) {
        api_reply_field(call, "args", "cmd and args exceed 32 KiB", "invalid_request");
        return false;
    }
    return true;
}

static void on_start_body(struct api_call *call, json_t *body)
{
    char id[STORE_ID_SIZE];
    if (!prologue(call, false, id, NULL))
        return;
    if (!json_is_object(body)) {
        api_reply_field(call, "body", "must be a JSON object", "invalid_request");
        return;
    }
    struct start_args a = { 0 };
    struct ctl_proc_start_req req = { .rows = 24, .cols = 80 };
    json_t *pty = field(body, "pty"), *cwd = field(body, "cwd");
    json_int_t rows = 24, cols = 80;
    if (pty && !json_is_object(pty)) {
        api_reply_field(call, "pty", "must be an object {rows, cols}", "invalid_request");
        return;
    }
    if (pty && (!int_in(call, pty, "rows", "pty.rows", 1, PROC_SIZE_MAX, 24, &rows) ||
                !int_in(call, pty, "cols", "pty.cols", 1, PROC_SIZE_MAX, 80, &cols)))
        return;
    if (cwd && (!str_ok(cwd) || json_string_value(cwd)[0] != '/' ||
                json_string_length(cwd) > PROC_CWD_MAX)) {
        api_reply_field(call, "cwd", "must be an absolute path of at most 1024 bytes",
                        "invalid_request");
        return;
    }
    if (!parse_argv(call, body, pty != NULL, &a) || !parse_env(call, field(body, "env"), &a))
        goto out;
    req = (struct ctl_proc_start_req){ .argv = a.argv, .env_keys = a.keys,
                                       .env_values = a.values, .n_env = a.n_env,
                                       .cwd = cwd ? json_string_value(cwd) : NULL,
                                       .pty = pty != NULL, .rows = (uint16_t)rows,
                                       .cols = (uint16_t)cols };
    struct proc_call *pc = hold(call, false);
    if (pc) {
        struct ctl_error e;
        started(pc, ctl_process_start(call->ctx->ctl, id, &req, on_done, pc, &e), &e);
    }
out:
    start_args_free(&a);
}

void api_process_start(struct api_call *call)
{
    api_read_json(call, on_start_body);
}

/* ---- GET list, GET one, stdin/close, DELETE, wait (§3.11.2, .3, .6, .9, .10) ---- */

void api_process_list(struct api_call *call)
{
    char id[STORE_ID_SIZE];
    if (!prologue(call, false, id, NULL))
        return;
    struct proc_call *pc = hold(call, false);
    struct ctl_error e;
    if (pc)
        started(pc, ctl_process_list(call->ctx->ctl, id, on_done, pc, &e), &e);
}

void api_process_get(struct api_call *call)
{
    char id[STORE_ID_SIZE], pid[PROC_PID_SIZE];
    if (!prologue(call, true, id, pid))
        return;
    struct proc_call *pc = hold(call, false);
    struct ctl_error e;
    if (pc)
        started(pc, ctl_process_get(call->ctx->ctl, id, pid, on_done, pc, &e), &e);
}

/* A control op with its arguments checked. */
static void control(struct api_call *call, const char *id, const char *pid, enum ctl_proc_op op,
                    uint32_t a, uint32_t b, bool reply_ok)
{
    struct proc_call *pc = hold(call, reply_ok);
    struct ctl_error e;
    if (pc)
        started(pc, ctl_process_control(call->ctx->ctl, id, pid, op, a, b, on_done, pc, &e), &e);
}

void api_process_close_stdin(struct api_call *call)
{
    char id[STORE_ID_SIZE], pid[PROC_PID_SIZE];
    if (prologue(call, true, id, pid))
        control(call, id, pid, CTL_PROC_CLOSE_STDIN, 0, 0, true);
}

void api_process_delete(struct api_call *call)
{
    char id[STORE_ID_SIZE], pid[PROC_PID_SIZE];
    int64_t grace;
    if (!api_query_int_in(call, "grace_ms", 0, PROC_GRACE_MAX_MS, 1000, &grace) ||
        !prologue(call, true, id, pid))
        return;
    control(call, id, pid, CTL_PROC_REMOVE, (uint32_t)grace, 0, false);
}

void api_process_wait(struct api_call *call)
{
    char id[STORE_ID_SIZE], pid[PROC_PID_SIZE];
    const char *scope = http_query_get(http_request_query(call->req), "scope");
    if (scope && strcmp(scope, "leader") != 0 && strcmp(scope, "tree") != 0) {
        api_reply_field(call, "scope", "must be leader or tree", "invalid_request");
        return;
    }
    int64_t timeout;
    if (!api_query_int_in(call, "timeout_ms", 0, PROC_WAIT_MAX_MS, 30000, &timeout) ||
        !prologue(call, true, id, pid))
        return;
    struct proc_call *pc = hold(call, false);
    struct ctl_error e;
    bool tree = scope && strcmp(scope, "tree") == 0;
    if (pc)
        started(pc, ctl_process_wait(call->ctx->ctl, id, pid, tree, (uint32_t)timeout, on_done,
                                     pc, &e), &e);
}

/* ---- bodies: resize, signal, input (§3.11.7, .8, .5) ---- */

static void on_resize_body(struct api_call *call, json_t *body)
{
    char id[STORE_ID_SIZE], pid[PROC_PID_SIZE];
    json_int_t rows, cols;
    if (!prologue(call, true, id, pid))
        return;
    if (!json_is_object(body) || !field(body, "rows") || !field(body, "cols")) {
        api_reply_field(call, json_is_object(body) && field(body, "rows") ? "cols" : "rows",
                        "is required", "invalid_request");
        return;
    }
    if (int_in(call, body, "rows", "rows", 1, PROC_SIZE_MAX, 0, &rows) &&
        int_in(call, body, "cols", "cols", 1, PROC_SIZE_MAX, 0, &cols))
        control(call, id, pid, CTL_PROC_RESIZE, (uint32_t)rows, (uint32_t)cols, true);
}

void api_process_resize(struct api_call *call)
{
    api_read_json(call, on_resize_body);
}

static void on_signal_body(struct api_call *call, json_t *body)
{
    char id[STORE_ID_SIZE], pid[PROC_PID_SIZE];
    if (!prologue(call, true, id, pid))
        return;
    json_t *s = json_is_object(body) ? field(body, "signal") : NULL;
    int sig = str_ok(s) ? ctl_process_signal_parse(json_string_value(s)) : 0;
    if (!sig) {
        api_reply_field(call, "signal",
                        "must be one of SIGHUP, SIGINT, SIGQUIT, SIGKILL, SIGTERM, SIGUSR1, "
                        "SIGUSR2, SIGWINCH", "invalid_request");
        return;
    }
    control(call, id, pid, CTL_PROC_SIGNAL, (uint32_t)sig, 0, true);
}

void api_process_signal(struct api_call *call)
{
    api_read_json(call, on_signal_body);
}

static void on_input_body(struct api_call *call, json_t *body)
{
    char id[STORE_ID_SIZE], pid[PROC_PID_SIZE];
    if (!prologue(call, true, id, pid))
        return;
    json_t *d = json_is_object(body) ? field(body, "data_base64") : NULL;
    if (!json_is_string(d)) {
        api_reply_field(call, "data_base64", "is required (a base64 string)", "invalid_request");
        return;
    }
    size_t len = json_string_length(d);
    if (len > B64_ENC_LEN(PROC_INPUT_MAX)) {
        api_reply_field(call, "data_base64", "exceeds 1 MiB decoded", "invalid_request");
        return;
    }
    uint8_t *bytes = malloc(B64_DEC_MAX(len) + 1);
    if (!bytes) {
        api_reply_internal(call, "process input", -ENOMEM);
        return;
    }
    ssize_t n = b64_decode(json_string_value(d), len, bytes);
    if (n < 0) {
        api_reply_field(call, "data_base64", "must be standard base64 with padding",
                        "invalid_request");
    } else {
        struct proc_call *pc = hold(call, false);
        struct ctl_error e;
        if (pc)
            started(pc, ctl_process_input(call->ctx->ctl, id, pid, bytes, (size_t)n, on_done,
                                          pc, &e), &e);
    }
    free(bytes);
}

void api_process_input(struct api_call *call)
{
    api_read_json(call, on_input_body);
}

/* ---- connect (§3.11.4) ---- */

struct connect {
    struct api_call call;
    char id[STORE_ID_SIZE];
    char pid[PROC_PID_SIZE];
    uint64_t after;
    bool follow;
    bool streaming;             /* the 200 head went out */
    bool getting;               /* the first PROC_GET is under way */
    bool aborted;
    struct ctl_proc_attach *attach;
    struct event *hb;
    bool holding;               /* the agent's credit is held while the socket drains */
};

static void connect_free(struct connect *k)
{
    ctl_process_attach_free(k->attach);
    http_response_on_drain(k->call.req, NULL, NULL);
    api_call_unhold(&k->call);
    if (k->hb)
        event_free(k->hb);
    free(k);
}

/* One NDJSON line (o stolen); re-arms the heartbeat. */
static void event_line(struct connect *k, json_t *o)
{
    char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!line)
        return;
    size_t n = strlen(line);
    char *l2 = realloc(line, n + 2);
    if (!l2) {
        free(line);
        return;
    }
    l2[n] = '\n';
    (void)http_response_write(k->call.req, l2, n + 1); /* a dead peer fires on_abort */
    free(l2);
    struct timeval tv = { .tv_sec = CONNECT_HB_SECS };
    event_add(k->hb, &tv);
}

static void on_hb(evutil_socket_t fd, short what, void *arg)
{
    event_line(arg, json_pack("{s:s}", "type", "heartbeat"));
}

/* A data event, written in place: base64 needs no JSON escaping, so the line is built once
 * (a replay of the whole ring is hundreds of these). */
static int on_output(void *ud, uint64_t seq, const char *stream, const uint8_t *p, size_t len)
{
    struct connect *k = ud;
    char head[128];
    int hl = snprintf(head, sizeof(head),
                      "{\"type\":\"data\",\"seq\":%llu,\"stream\":\"%s\",\"data_base64\":\"",
                      (unsigned long long)seq, stream);
    char *line = hl > 0 && (size_t)hl < sizeof(head) ? malloc((size_t)hl + B64_ENC_LEN(len) + 3)
                                                     : NULL;
    if (line) {
        memcpy(line, head, (size_t)hl);
        size_t n = (size_t)hl + b64_encode(p, len, line + hl);
        memcpy(line + n, "\"}\n", 3);
        (void)http_response_write(k->call.req, line, n + 3); /* a dead peer fires on_abort */
        free(line);
        struct timeval tv = { .tv_sec = CONNECT_HB_SECS };
        event_add(k->hb, &tv);
    }
    if (http_response_pending(k->call.req) > CONNECT_PENDING_HIGH) {
        k->holding = true;
        return AGENT_DATA_HOLD;
    }
    return 0;
}

static void on_gap(void *ud, uint64_t oldest)
{
    struct connect *k = ud;
    char msg[96];
    snprintf(msg, sizeof(msg), "output before seq %llu was discarded",
             (unsigned long long)oldest);
    event_line(k, json_pack("{s:s,s:s,s:I}", "type", "error", "error", msg,
                            "oldest_available_seq", (json_int_t)oldest));
}

/* The exit event of a final record whose leader exited. */
static void exit_event(struct connect *k, json_t *view)
{
    if (!json_is_true(json_object_get(view, "leader_exited")))
        return;
    json_t *code = json_object_get(view, "exit_code");
    json_t *o = json_pack("{s:s,s:I}", "type", "exit", "exit_code",
                          json_is_integer(code) ? json_integer_value(code) : (json_int_t)-1);
    json_t *sig = json_object_get(view, "signal");
    if (o && sig)
        json_object_set(o, "signal", sig);
    event_line(k, o);
}

static void on_attach_end(void *ud, const struct ctl_error *e, json_t *view)
{
    struct connect *k = ud;
    if (e)
        event_line(k, json_pack("{s:s,s:s}", "type", "error", "error", e->msg));
    else
        exit_event(k, view);
    (void)http_response_end(k->call.req);
    api_reply_done(&k->call, 200);
    connect_free(k);
}

static const struct ctl_proc_attach_ops attach_ops = {
    .on_output = on_output, .on_gap = on_gap, .on_end = on_attach_end,
};

static void on_drain(struct http_request *req, void *ud)
{
    struct connect *k = ud;
    if (k->holding) {
        k->holding = false;
        ctl_process_attach_consumed(k->attach);
    }
}

static void on_abort(struct http_request *req, void *ud)
{
    struct connect *k = ud;
    if (k->getting) {
        k->aborted = true; /* freed when the get ends */
        return;
    }
    api_reply_done(&k->call, 499);
    connect_free(k); /* detaches; the process goes on (§3.11.4) */
}

/* The process exists: answer 200 and attach. */
static void on_first_get(void *ud, const struct ctl_error *e, json_t *view)
{
    struct connect *k = ud;
    k->getting = false;
    if (k->aborted) {
        api_reply_done(&k->call, 499);
        connect_free(k);
        return;
    }
    if (e) {
        api_reply_ctl(&k->call, e);
        connect_free(k);
        return;
    }
    (void)http_response_start_ndjson(k->call.req, 200);
    k->streaming = true;
    http_response_on_drain(k->call.req, on_drain, k);
    struct ctl_error ae;
    if (ctl_process_attach(k->call.ctx->ctl, k->id, k->pid, k->after, k->follow, &attach_ops, k,
                           &k->attach, &ae) < 0) {
        on_attach_end(k, &ae, NULL);
        return;
    }
    struct timeval tv = { .tv_sec = CONNECT_HB_SECS };
    event_add(k->hb, &tv);
}

void api_process_connect(struct api_call *call)
{
    int64_t after;
    bool follow = true;
    if (!api_query_int_in(call, "after", 0, INT64_MAX, 0, &after))
        return;
    if (http_query_get_bool(http_request_query(call->req), "follow", true, &follow) < 0) {
        api_reply_field(call, "follow", "must be true or false", "invalid_request");
        return;
    }
    char id[STORE_ID_SIZE], pid[PROC_PID_SIZE];
    if (!prologue(call, true, id, pid))
        return;
    struct connect *k = api_call_hold(call, sizeof(*k), "process connect");
    if (!k)
        return;
    snprintf(k->id, sizeof(k->id), "%s", id);
    snprintf(k->pid, sizeof(k->pid), "%s", pid);
    k->after = (uint64_t)after;
    k->follow = follow;
    if (!(k->hb = evtimer_new(call->ctx->ctl->base, on_hb, k))) {
        api_reply_internal(call, "process connect", -ENOMEM);
        connect_free(k);
        return;
    }
    struct ctl_error e;
    k->getting = true;
    if (ctl_process_get(call->ctx->ctl, id, pid, on_first_get, k, &e) < 0) {
        api_reply_ctl(call, &e);
        connect_free(k);
        return;
    }
    http_request_on_abort(call->req, on_abort, k);
}
