/* SPDX-License-Identifier: MIT */
/* process.c: managed processes through the control layer (process.h). Each call is one agent
 * request (PROC_* frames, docs/agent-protocol.md "Interactive streams") owned by a struct
 * proc_req until its done callback ran; an error that needs the process's state (a closed
 * stdin, a terminal op on pipes, a signal after the tree exited) is followed by a PROC_GET.
 * The guest is not trusted: its records are checked field by field before they become views. */
#include "daemon/ctl/process.h"
#include "daemon/ctl/proc_record.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/ulid.h"
#include "common/wire.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/idle.h"
#include "daemon/ctl/sandbox_row.h"
#include "daemon/ctl/sandbox_stream.h"
#include "daemon/host/host.h"
#include "daemon/store/store.h"

#define PROC_ID_SIZE 64
#define PROC_INPUT_MAX (1u << 20)

/* ---- one request ---- */

struct proc_req {
    struct ctl *c;
    char id[STORE_ID_SIZE];
    char pid[PROC_ID_SIZE];
    uint16_t type;
    enum ctl_proc_view view;
    ctl_proc_done_fn done;
    void *ud;
    struct agent_stream_ops ops;
    uint32_t stream;
    bool counted;               /* ctl_idle_stream() opened (wait) */
    bool probing;               /* a PROC_GET after an error that needs the state */
    char first_error[32];       /* the error that started the probe */
    char *cmd0;                 /* start: the program, for spawn_failed */
    uint8_t *input;             /* input: the bytes, pushed under the stream's credit */
    size_t input_len, input_off;
    struct event *ev;           /* the deferred end */
    struct agent_end end;       /* its copy (json owned in end_json) */
    char *end_json;
};

static void req_free(struct proc_req *r)
{
    if (r->counted)
        ctl_idle_stream(r->c, r->id, false);
    if (r->ev)
        event_free(r->ev);
    free(r->cmd0);
    free(r->input);
    free(r->end_json);
    free(r);
}

static void finish_err(struct proc_req *r, const struct ctl_error *e)
{
    r->done(r->ud, e, NULL);
    req_free(r);
}

static void finish_view(struct proc_req *r, json_t *view)
{
    if (!view) {
        struct ctl_error e;
        ctl_error_set(&e, CTL_E_FAILED, NULL, NULL, "the agent sent a malformed answer");
        finish_err(r, &e);
        return;
    }
    r->done(r->ud, NULL, view);
    json_decref(view);
    req_free(r);
}

static void on_req_end(void *ud, const struct agent_end *end);
static void on_req_credit(void *ud, size_t room);

static int start_call(struct proc_req *r, uint16_t type, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text)
        return -ENOMEM;
    r->ops = (struct agent_stream_ops){ .on_end = on_req_end, .on_credit = on_req_credit };
    int rc = host_vm_proc_call(r->c->host, r->id, type, text, &r->ops, r, &r->stream);
    free(text);
    return rc;
}

static void map_error(struct proc_req *r, const struct agent_end *end, struct ctl_error *e)
{
    if (end->kind == AGENT_END_LOST) {
        ctl_error_set(e, CTL_E_UNAVAILABLE, NULL, NULL,
                      "the sandbox's agent went away; retry later");
        return;
    }
    const char *name = end->error;
    if (strcmp(name, "ESRCH") == 0) {
        ctl_error_set(e, CTL_E_NOT_FOUND, NULL, NULL, "process not found");
    } else if (r->type == WIRE_PROC_INPUT && strcmp(name, "EAGAIN") == 0) {
        ctl_error_set(e, CTL_E_LIMIT_REACHED, NULL, NULL,
                      "1 MiB of input is already queued; retry once it is written");
    } else if (r->type == WIRE_PROC_START && strcmp(name, "EMFILE") == 0) {
        ctl_error_set(e, CTL_E_LIMIT_REACHED, NULL, NULL,
                      "at most 64 processes may be live at once");
    } else if (r->type == WIRE_PROC_START && strcmp(name, "EEXIST") != 0 &&
               strcmp(name, "EINVAL") != 0 && strcmp(name, "ENOMEM") != 0) {
        /* ENOENT, EACCES, ENOTDIR, ENOEXEC…: the command could not start, no record */
        ctl_error_set(e, CTL_E_SPAWN_FAILED, "cmd", NULL, "cannot start \"%.200s\": %s: %.255s",
                      r->cmd0 ? r->cmd0 : "the default shell", name, end->message);
    } else {
        ctl_error_set(e, CTL_E_FAILED, NULL, NULL, "the agent failed: %s: %.255s", name,
                      end->message);
    }
}

/* The errors whose answer carries the process's state (docs/api.md §3.11.5–§3.11.8). */
static bool needs_state(const struct proc_req *r, const char *name)
{
    if (r->type != WIRE_PROC_INPUT && r->type != WIRE_PROC_CTL)
        return false;
    return strcmp(name, "EPIPE") == 0 || strcmp(name, "ENOTTY") == 0 ||
           strcmp(name, "ESRCH") == 0;
}

static const char *state_message(const char *first, const char *state)
{
    if (strcmp(first, "EPIPE") == 0)
        return strcmp(state, "running") == 0 || strcmp(state, "starting") == 0
                   ? "the process's stdin is closed"
                   : "the process has exited";
    if (strcmp(first, "ENOTTY") == 0)
        return "not possible for this kind of process (pipes or terminal)";
    return "the process tree has exited";
}

static void ended(struct proc_req *r)
{
    const struct agent_end *end = &r->end;
    struct ctl_error e;
    if (r->probing) {
        json_t *j = end->kind == AGENT_END_DONE ? json_loads(end->json, 0, NULL) : NULL;
        const char *state = NULL;
        if (j && ctl_proc_str_field(j, "state", 15, &state))
            ctl_error_set(&e, CTL_E_INVALID_STATE, NULL, state, "%s",
                          state_message(r->first_error, state));
        else if (end->kind == AGENT_END_ERROR && strcmp(end->error, "ESRCH") == 0)
            ctl_error_set(&e, CTL_E_NOT_FOUND, NULL, NULL, "process not found");
        else
            map_error(r, end, &e);
        json_decref(j);
        finish_err(r, &e);
        return;
    }
    if (end->kind == AGENT_END_DONE) {
        finish_view(r, ctl_proc_answer_view(r->view, end->json));
        return;
    }
    if (end->kind == AGENT_END_ERROR && needs_state(r, end->error)) {
        snprintf(r->first_error, sizeof(r->first_error), "%s", end->error);
        r->probing = true;
        r->view = CTL_PROC_VIEW_RECORD;
        int rc = start_call(r, WIRE_PROC_GET, json_pack("{s:s}", "id", r->pid));
        if (rc == 0)
            return;
        r->probing = false;
    }
    map_error(r, end, &e);
    finish_err(r, &e);
}

static void on_deferred(evutil_socket_t fd, short what, void *arg)
{
    ended(arg);
}

/* Deferred to the loop: the starter has returned by then, and a probe starts outside the
 * agent client's callback. */
static void on_req_end(void *ud, const struct agent_end *end)
{
    struct proc_req *r = ud;
    r->end = *end;
    free(r->end_json);
    r->end_json = end->json ? strdup(end->json) : NULL;
    r->end.json = r->end_json;
    if (end->json && !r->end_json) {
        r->end.kind = AGENT_END_LOST; /* out of memory: reported as retry later */
        r->end.json = NULL;
    }
    struct timeval tv = { 0, 0 };
    event_add(r->ev, &tv);
}

/* Pushes what credit allows of an input, then its EOF. */
static void push_input(struct proc_req *r)
{
    while (r->input_off < r->input_len) {
        ssize_t n = host_stream_write(r->c->host, r->id, r->stream, r->input + r->input_off,
                                      r->input_len - r->input_off);
        if (n <= 0)
            return; /* on_credit resumes; an error ends the stream on its own */
        r->input_off += (size_t)n;
    }
    (void)host_stream_finish(r->c->host, r->id, r->stream);
    r->input_off = r->input_len + 1; /* finished */
}

static void on_req_credit(void *ud, size_t room)
{
    struct proc_req *r = ud;
    if (r->input && r->input_off <= r->input_len)
        push_input(r);
}

static int start_failed(struct ctl_error *e, int rc)
{
    if (rc == -ENOENT || rc == -EBUSY || rc == -ENOTCONN)
        return ctl_error_set(e, CTL_E_UNAVAILABLE, NULL, NULL,
                             "the sandbox's vm is not reachable; retry later");
    return ctl_error_internal(e, "process request", rc);
}

static struct proc_req *req_new(struct ctl *c, const char *id, const char *pid, uint16_t type,
                                enum ctl_proc_view view, ctl_proc_done_fn done, void *ud)
{
    struct proc_req *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    if (!(r->ev = evtimer_new(c->base, on_deferred, r))) {
        free(r);
        return NULL;
    }
    r->c = c;
    snprintf(r->id, sizeof(r->id), "%s", id);
    snprintf(r->pid, sizeof(r->pid), "%s", pid ? pid : "");
    r->type = type;
    r->view = view;
    r->done = done;
    r->ud = ud;
    return r;
}

/* Sends body (stolen) as type; 0, or the error in e with r freed. */
static int send_req(struct proc_req *r, json_t *body, struct ctl_error *e)
{
    int rc = body ? start_call(r, r->type, body) : -ENOMEM;
    if (rc < 0) {
        req_free(r);
        return start_failed(e, rc);
    }
    return 0;
}

static int simple(struct ctl *c, const char *id, const char *pid, uint16_t type,
                  enum ctl_proc_view view, json_t *body, ctl_proc_done_fn done, void *ud,
                  struct ctl_error *e)
{
    if (!c->host) {
        json_decref(body);
        return ctl_row_vm_layer(c, e);
    }
    struct proc_req *r = req_new(c, id, pid, type, view, done, ud);
    if (!r) {
        json_decref(body);
        return ctl_error_internal(e, "process request", -ENOMEM);
    }
    return send_req(r, body, e);
}

/* ---- the calls ---- */

/* The start body: a new id, argv, env (the sandbox's under the call's), cwd, pty, ring. */
static json_t *start_body(struct ctl *c, const char *id, const struct ctl_proc_start_req *req,
                          char *ret_pid, int *ret_err)
{
    char ulid[ULID_LEN + 1];
    char **env = NULL;
    *ret_err = ulid_generate(ulid);
    if (*ret_err < 0)
        return NULL;
    snprintf(ret_pid, PROC_ID_SIZE, "proc_%s", ulid);
    *ret_err = ctl_sandbox_env(c, id, NULL, req->env_keys, req->env_values, req->n_env, &env);
    json_t *envo = json_object();
    for (char **p = env; *ret_err == 0 && p && *p; p++) {
        char *eq = strchr(*p, '=');
        if (eq && json_object_setn_new(envo, *p, (size_t)(eq - *p), json_string(eq + 1)) < 0)
            *ret_err = -ENOMEM;
    }
    ctl_sandbox_env_free(env);
    if (req->pty && !json_object_get(envo, "TERM"))
        json_object_set_new(envo, "TERM", json_string("xterm-256color"));
    json_t *b = json_pack("{s:s,s:o,s:s,s:I}", "id", ret_pid, "env", envo, "cwd",
                          req->cwd ? req->cwd : "/root", "ring_bytes",
                          (json_int_t)c->set.process_output_bytes);
    if (*ret_err < 0 || !b) {
        json_decref(b);
        *ret_err = *ret_err < 0 ? *ret_err : -ENOMEM;
        return NULL;
    }
    if (req->argv) {
        json_t *argv = json_array();
        for (const char *const *a = req->argv; *a; a++)
            json_array_append_new(argv, json_string(*a));
        json_object_set_new(b, "argv", argv);
    }
    if (req->pty)
        json_object_set_new(b, "pty", json_pack("{s:i,s:i}", "rows", (int)req->rows, "cols",
                                                (int)req->cols));
    return b;
}

int ctl_process_start(struct ctl *c, const char *id, const struct ctl_proc_start_req *req,
                      ctl_proc_done_fn done, void *ud, struct ctl_error *e)
{
    if (!c->host)
        return ctl_row_vm_layer(c, e);
    struct proc_req *r = req_new(c, id, NULL, WIRE_PROC_START, CTL_PROC_VIEW_RECORD, done, ud);
    if (!r)
        return ctl_error_internal(e, "process start", -ENOMEM);
    if (req->argv && req->argv[0] && !(r->cmd0 = strdup(req->argv[0]))) {
        req_free(r);
        return ctl_error_internal(e, "process start", -ENOMEM);
    }
    int err;
    json_t *body = start_body(c, id, req, r->pid, &err);
    if (!body) {
        req_free(r);
        return ctl_error_internal(e, "process start", err);
    }
    return send_req(r, body, e);
}

int ctl_process_list(struct ctl *c, const char *id, ctl_proc_done_fn done, void *ud,
                     struct ctl_error *e)
{
    return simple(c, id, NULL, WIRE_PROC_LIST, CTL_PROC_VIEW_LIST, json_object(), done, ud, e);
}

int ctl_process_get(struct ctl *c, const char *id, const char *pid, ctl_proc_done_fn done,
                    void *ud, struct ctl_error *e)
{
    return simple(c, id, pid, WIRE_PROC_GET, CTL_PROC_VIEW_RECORD, json_pack("{s:s}", "id", pid), done,
                  ud, e);
}

int ctl_process_control(struct ctl *c, const char *id, const char *pid, enum ctl_proc_op op,
                        uint32_t a, uint32_t b, ctl_proc_done_fn done, void *ud,
                        struct ctl_error *e)
{
    json_t *body = NULL;
    switch (op) {
    case CTL_PROC_CLOSE_STDIN:
        body = json_pack("{s:s,s:s}", "id", pid, "op", "close_stdin");
        break;
    case CTL_PROC_RESIZE:
        body = json_pack("{s:s,s:s,s:i,s:i}", "id", pid, "op", "resize", "rows", (int)a, "cols",
                         (int)b);
        break;
    case CTL_PROC_SIGNAL:
        body = json_pack("{s:s,s:s,s:i}", "id", pid, "op", "signal", "signal", (int)a);
        break;
    case CTL_PROC_REMOVE:
        body = json_pack("{s:s,s:s,s:I}", "id", pid, "op", "remove", "grace_ms", (json_int_t)a);
        break;
    }
    return simple(c, id, pid, WIRE_PROC_CTL, CTL_PROC_VIEW_RECORD, body, done, ud, e);
}

int ctl_process_wait(struct ctl *c, const char *id, const char *pid, bool tree,
                     uint32_t timeout_ms, ctl_proc_done_fn done, void *ud, struct ctl_error *e)
{
    if (!c->host)
        return ctl_row_vm_layer(c, e);
    struct proc_req *r = req_new(c, id, pid, WIRE_PROC_WAIT, CTL_PROC_VIEW_RECORD, done, ud);
    if (!r)
        return ctl_error_internal(e, "process wait", -ENOMEM);
    json_t *body = json_pack("{s:s,s:s,s:I}", "id", pid, "scope", tree ? "tree" : "leader",
                             "timeout_ms", (json_int_t)timeout_ms);
    int rc = send_req(r, body, e);
    if (rc == 0) {
        /* an open wait keeps the sandbox active (docs/api.md §2.14.8) */
        r->counted = true;
        ctl_idle_stream(c, id, true);
    }
    return rc;
}

int ctl_process_input(struct ctl *c, const char *id, const char *pid, const void *data,
                      size_t len, ctl_proc_done_fn done, void *ud, struct ctl_error *e)
{
    if (!c->host)
        return ctl_row_vm_layer(c, e);
    if (len > PROC_INPUT_MAX)
        return ctl_error_set(e, CTL_E_INVALID, "data_base64", NULL, "exceeds 1 MiB decoded");
    struct proc_req *r = req_new(c, id, pid, WIRE_PROC_INPUT, CTL_PROC_VIEW_INPUT, done, ud);
    if (!r || !(r->input = malloc(len ? len : 1))) {
        if (r)
            req_free(r);
        return ctl_error_internal(e, "process input", -ENOMEM);
    }
    memcpy(r->input, data, len);
    r->input_len = len;
    int rc = send_req(r, json_pack("{s:s,s:I}", "id", pid, "size", (json_int_t)len), e);
    if (rc == 0)
        push_input(r);
    return rc;
}

/* ---- connect ---- */

struct ctl_proc_attach {
    struct ctl *c;
    char id[STORE_ID_SIZE];
    const struct ctl_proc_attach_ops *ops;
    void *ud;
    struct agent_stream_ops aops;
    uint32_t stream;
    bool open, freeing;
    size_t held;                /* credit held back for the consumer */
    struct event *ev;
    struct agent_end end;
    char *end_json;
};

static int on_attach_data(void *ud, uint16_t type, const uint8_t *p, size_t len, bool eof)
{
    struct ctl_proc_attach *a = ud;
    if (a->freeing)
        return 0;
    if (type == WIRE_PROC_GAP) {
        json_t *j = json_loadb((const char *)p, len, 0, NULL);
        json_int_t oldest;
        if (ctl_proc_int_field(j, "oldest_available_seq", 0, INT64_MAX, &oldest))
            a->ops->on_gap(a->ud, (uint64_t)oldest);
        json_decref(j);
        return 0;
    }
    uint64_t seq;
    int which;
    const uint8_t *data;
    size_t n;
    if (type != WIRE_PROC_OUTPUT || agent_proc_output_parse(p, len, &seq, &which, &data, &n) < 0)
        return 0; /* a malformed frame from the guest is dropped */
    static const char *const names[] = { "stdout", "stderr", "pty" };
    int r = a->ops->on_output(a->ud, seq, names[which], data, n);
    if (r != AGENT_DATA_HOLD)
        return 0;
    a->held += len; /* the credit is the whole frame's, header included */
    return AGENT_DATA_HOLD;
}

static void on_attach_deferred(evutil_socket_t fd, short what, void *arg)
{
    struct ctl_proc_attach *a = arg;
    struct ctl_error e;
    if (a->end.kind == AGENT_END_DONE) {
        json_t *j = json_loads(a->end_json ? a->end_json : "", 0, NULL);
        json_t *view = j ? ctl_proc_record_view(j) : NULL;
        json_decref(j);
        if (view) {
            a->ops->on_end(a->ud, NULL, view);
            json_decref(view);
            return;
        }
        ctl_error_set(&e, CTL_E_FAILED, NULL, NULL, "the agent sent a malformed answer");
    } else if (a->end.kind == AGENT_END_LOST) {
        ctl_error_set(&e, CTL_E_UNAVAILABLE, NULL, NULL,
                      "the sandbox's agent went away; retry later");
    } else if (strcmp(a->end.error, "ESRCH") == 0) {
        ctl_error_set(&e, CTL_E_NOT_FOUND, NULL, NULL, "process not found");
    } else {
        ctl_error_set(&e, CTL_E_FAILED, NULL, NULL, "the agent failed: %s: %.255s",
                      a->end.error, a->end.message);
    }
    a->ops->on_end(a->ud, &e, NULL);
}

static void on_attach_end(void *ud, const struct agent_end *end)
{
    struct ctl_proc_attach *a = ud;
    a->open = false;
    if (a->freeing)
        return;
    a->end = *end;
    a->end_json = end->json ? strdup(end->json) : NULL;
    a->end.json = NULL;
    struct timeval tv = { 0, 0 };
    event_add(a->ev, &tv);
}

int ctl_process_attach(struct ctl *c, const char *id, const char *pid, uint64_t after,
                       bool follow, const struct ctl_proc_attach_ops *ops, void *ud,
                       struct ctl_proc_attach **ret, struct ctl_error *e)
{
    if (!c->host)
        return ctl_row_vm_layer(c, e);
    struct ctl_proc_attach *a = calloc(1, sizeof(*a));
    if (!a || !(a->ev = evtimer_new(c->base, on_attach_deferred, a))) {
        free(a);
        return ctl_error_internal(e, "process connect", -ENOMEM);
    }
    a->c = c;
    snprintf(a->id, sizeof(a->id), "%s", id);
    a->ops = ops;
    a->ud = ud;
    a->aops = (struct agent_stream_ops){ .on_data = on_attach_data, .on_end = on_attach_end };
    json_t *body = json_pack("{s:s,s:I,s:b}", "id", pid, "after", (json_int_t)after, "follow",
                             follow);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    a->open = true;
    int rc = text ? host_vm_proc_call(c->host, id, WIRE_PROC_ATTACH, text, &a->aops, a,
                                      &a->stream)
                  : -ENOMEM;
    free(text);
    if (rc < 0) {
        event_free(a->ev);
        free(a);
        return start_failed(e, rc);
    }
    /* an attached connect keeps the sandbox active (docs/api.md §2.14.8) */
    ctl_idle_stream(c, id, true);
    *ret = a;
    return 0;
}

void ctl_process_attach_consumed(struct ctl_proc_attach *a)
{
    if (!a || !a->held)
        return;
    size_t n = a->held;
    a->held = 0;
    if (a->open)
        (void)host_stream_consumed(a->c->host, a->id, a->stream, n);
}

void ctl_process_attach_free(struct ctl_proc_attach *a)
{
    if (!a)
        return;
    a->freeing = true;
    if (a->open)
        (void)host_vm_exec_cancel(a->c->host, a->id, a->stream); /* the process goes on */
    ctl_idle_stream(a->c, a->id, false);
    event_free(a->ev);
    free(a->end_json);
    free(a);
}
