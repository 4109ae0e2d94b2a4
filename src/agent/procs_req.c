/* SPDX-License-Identifier: MIT */
/* procs_req.c: the managed-process requests. Each checks what the host sent (everything in it
 * is bounded: ids, sizes, counts, times), acts on procs.c's table and answers DONE or ERROR on
 * its own stream; ATTACH, INPUT, WAIT and a remove keep a stream open and are moved on by
 * procreq_pump() each turn. Never kills a process because a stream ended. */
#include "agent/procs_req.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/agent.h"
#include "agent/procs.h"
#include "agent/spawn.h"
#include "agent/stream.h"

#define PROC_OUTPUT_HEADER 9u         /* seq u64 LE, stream u8 */
#define PROC_WAIT_MAX_MS 300000       /* PROC_WAIT's timeout_ms: 0..this */
#define PROC_WAIT_DEFAULT_MS 30000
#define PROC_GRACE_MAX_MS 60000       /* remove's grace_ms: 0..this */
#define PROC_GRACE_DEFAULT_MS 1000
#define PROC_LIST_BUDGET (WIRE_MAX_PAYLOAD - 1024u) /* a list's records, to fit one frame */

bool procreq_owns(const struct stream *s)
{
    return s->kind == STREAM_PROC_ATTACH || s->kind == STREAM_PROC_INPUT ||
           s->kind == STREAM_PROC_WAIT;
}

/* A host-chosen id: 1..PROC_ID_MAX bytes of [A-Za-z0-9._-]. */
static bool id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > PROC_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

/* An optional integer member within [min, max]; def when absent or null. false when bad. */
static bool get_int(json_t *o, const char *key, json_int_t min, json_int_t max, json_int_t def,
                    json_int_t *ret)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        *ret = def;
        return true;
    }
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return false;
    *ret = json_integer_value(v);
    return true;
}

/* The process a request names by "id", or NULL after answering (EINVAL, ESRCH). */
static struct proc *named(struct agent *ag, const struct wire_frame *f, json_t *root)
{
    const char *id = json_string_value(json_object_get(root, "id"));
    if (!id || !id_valid(id)) {
        agent_send_error(ag, f->stream, EINVAL, "'id' must be 1 to %d of [A-Za-z0-9._-]",
                         PROC_ID_MAX);
        return NULL;
    }
    struct proc *p = procs_find(ag, id);
    if (!p)
        agent_send_error(ag, f->stream, ESRCH, "no process '%s'", id);
    return p;
}

static void answer_record(struct agent *ag, uint32_t stream, const struct proc *p)
{
    (void)agent_send_json(ag, WIRE_DONE, stream, procs_record(p, false));
}

/* A stream of kind about p, or NULL after answering (EEXIST cannot happen: proto.c checked). */
static struct stream *open_stream(struct agent *ag, const struct wire_frame *f,
                                  enum stream_kind kind, const struct proc *p)
{
    int r;
    struct stream *s = stream_add(&ag->streams, f->stream, kind, &r);
    if (!s) {
        agent_send_error(ag, f->stream, -r, "cannot open stream %u", f->stream);
        return NULL;
    }
    s->proc.key = p->key;
    return s;
}

static void on_start(struct agent *ag, const struct wire_frame *f, json_t *root)
{
    char msg[300] = "";
    const char *id = json_string_value(json_object_get(root, "id"));
    json_t *rb = json_object_get(root, "ring_bytes");
    if (!id || !id_valid(id) || (rb && !json_is_null(rb) && !json_is_integer(rb))) {
        agent_send_error(ag, f->stream, EINVAL,
                         "'id' must be 1 to %d of [A-Za-z0-9._-], 'ring_bytes' an integer",
                         PROC_ID_MAX);
        return;
    }
    if (procs_find(ag, id)) {
        agent_send_error(ag, f->stream, EEXIST, "process '%s' exists", id);
        return;
    }
    /* the host picks the ring's size; out of bounds is clamped, not refused */
    json_int_t ring = json_is_integer(rb) ? json_integer_value(rb) : PROC_RING_DEFAULT;
    ring = ring < PROC_RING_MIN ? PROC_RING_MIN : ring > PROC_RING_MAX ? PROC_RING_MAX : ring;
    struct spawn_req q;
    int r = spawn_req_parse(root, &q, "/root", msg, sizeof(msg));
    if (r == 0 && strlen(q.cwd) > PROC_CWD_MAX) {
        snprintf(msg, sizeof(msg), "'cwd' must be at most %u bytes", PROC_CWD_MAX);
        r = EINVAL;
    }
    q.stdin_open = true;
    struct proc *p = NULL;
    if (r == 0)
        r = procs_start(ag, id, &q, (size_t)ring, &p, msg, sizeof(msg));
    spawn_req_release(&q);
    if (r) {
        agent_send_error(ag, f->stream, r, "%s", msg[0] ? msg : strerror(r));
        return;
    }
    answer_record(ag, f->stream, p);
}

/* Newest first, records compacted, as many as fit one frame ("truncated" when not all). */
static void on_list(struct agent *ag, const struct wire_frame *f)
{
    json_t *list = json_array();
    bool truncated = false;
    size_t total = 0;
    struct proc_table *t = ag->procs;
    for (size_t i = t ? t->n : 0; list && i-- > 0;) {
        json_t *rec = procs_record(t->p[i], true);
        char *text = rec ? json_dumps(rec, JSON_COMPACT) : NULL;
        size_t len = text ? strlen(text) + 1 : 0;
        free(text);
        if (!rec || total + len > PROC_LIST_BUDGET) {
            json_decref(rec);
            truncated = true;
            break;
        }
        total += len;
        json_array_append_new(list, rec);
    }
    json_t *o = json_pack("{s:o*}", "processes", list);
    if (o && truncated)
        json_object_set_new(o, "truncated", json_true());
    (void)agent_send_json(ag, WIRE_DONE, f->stream, o);
}

static void on_attach(struct agent *ag, const struct wire_frame *f, json_t *root)
{
    json_int_t after;
    json_t *follow = json_object_get(root, "follow");
    if (!get_int(root, "after", 0, INT64_MAX - 1, 0, &after) ||
        (follow && !json_is_boolean(follow))) {
        agent_send_error(ag, f->stream, EINVAL,
                         "'after' must be a non-negative integer, 'follow' a boolean");
        return;
    }
    struct proc *p = named(ag, f, root);
    struct stream *s = p ? open_stream(ag, f, STREAM_PROC_ATTACH, p) : NULL;
    if (!s)
        return;
    s->proc.next_seq = (uint64_t)after + 1;
    s->proc.follow = !follow || json_is_true(follow);
}

static void on_input(struct agent *ag, const struct wire_frame *f, json_t *root)
{
    json_int_t size;
    if (!get_int(root, "size", 0, PROC_INPUT_MAX, -1, &size) || size < 0) {
        agent_send_error(ag, f->stream, EINVAL, "'size' must be an integer from 0 to %u",
                         PROC_INPUT_MAX);
        return;
    }
    struct proc *p = named(ag, f, root);
    if (!p)
        return;
    struct proc_input *in;
    int r = procs_input_add(p, f->stream, (size_t)size, &in);
    if (r == -EAGAIN)
        agent_send_error(ag, f->stream, EAGAIN, "%u bytes of input are queued already",
                         PROC_INPUT_MAX);
    else if (r < 0)
        agent_send_error(ag, f->stream, -r, "the process's stdin is closed or its leader exited");
    if (r < 0)
        return;
    struct stream *s = open_stream(ag, f, STREAM_PROC_INPUT, p);
    if (!s) {
        procs_input_detach(p, in);
        return;
    }
    s->proc.input = in;
    s->proc.input_left = (uint64_t)size;
}

static void on_ctl_remove(struct agent *ag, const struct wire_frame *f, struct proc *p,
                          json_int_t grace)
{
    if (p->tree_exited) {
        answer_record(ag, f->stream, p);
        procs_drop(ag, p); /* its attaches get their DONE too */
        return;
    }
    struct stream *s = open_stream(ag, f, STREAM_PROC_WAIT, p);
    if (!s)
        return;
    s->proc.remove = true;
    s->proc.tree = true;
    procs_remove_start(p, (uint64_t)grace);
}

static void on_ctl(struct agent *ag, const struct wire_frame *f, json_t *root)
{
    const char *op = json_string_value(json_object_get(root, "op"));
    json_int_t sig = 0, grace = 0;
    uint16_t rows = 0, cols = 0;
    bool ok = op && (strcmp(op, "close_stdin") == 0 ||
                     (strcmp(op, "resize") == 0 && spawn_pty_size(root, &rows, &cols) == 0) ||
                     (strcmp(op, "signal") == 0 &&
                      get_int(root, "signal", 1, SIGRTMAX, 0, &sig) && sig > 0) ||
                     (strcmp(op, "remove") == 0 &&
                      get_int(root, "grace_ms", 0, PROC_GRACE_MAX_MS, PROC_GRACE_DEFAULT_MS,
                              &grace)));
    if (!ok) {
        agent_send_error(ag, f->stream, EINVAL,
                         "'op' must be close_stdin, resize (rows, cols 1..1000), signal "
                         "(signal 1..64) or remove (grace_ms 0..60000)");
        return;
    }
    struct proc *p = named(ag, f, root);
    if (!p)
        return;
    if (op[0] == 'r' && op[2] == 'm') {
        on_ctl_remove(ag, f, p, grace);
        return;
    }
    int r = 0;
    if (strcmp(op, "close_stdin") == 0) {
        if (p->pty)
            r = -ENOTTY;
        else
            procs_close_stdin(ag, p);
    } else if (strcmp(op, "resize") == 0) {
        int m = !p->pty ? -1 : p->out_fd >= 0 ? p->out_fd : p->in_fd;
        r = !p->pty ? -ENOTTY : m < 0 ? 0 : spawn_pty_resize(m, rows, cols);
    } else {
        r = procs_signal(p, (int)sig);
    }
    if (r < 0) {
        agent_send_error(ag, f->stream, -r, "cannot %s process '%s': %s", op, p->id,
                         strerror(-r));
        return;
    }
    answer_record(ag, f->stream, p);
}

static bool wait_over(const struct proc *p, bool tree)
{
    return tree ? p->tree_exited : p->leader_exited;
}

static void on_wait(struct agent *ag, const struct wire_frame *f, json_t *root)
{
    const char *scope = json_string_value(json_object_get(root, "scope"));
    json_t *sc = json_object_get(root, "scope");
    json_int_t tmo;
    if ((sc && !json_is_null(sc) &&
         (!scope || (strcmp(scope, "leader") != 0 && strcmp(scope, "tree") != 0))) ||
        !get_int(root, "timeout_ms", 0, PROC_WAIT_MAX_MS, PROC_WAIT_DEFAULT_MS, &tmo)) {
        agent_send_error(ag, f->stream, EINVAL,
                         "'scope' must be leader or tree, 'timeout_ms' 0 to %d",
                         PROC_WAIT_MAX_MS);
        return;
    }
    bool tree = scope && strcmp(scope, "tree") == 0;
    struct proc *p = named(ag, f, root);
    if (!p)
        return;
    if (wait_over(p, tree) || tmo == 0) {
        answer_record(ag, f->stream, p);
        return;
    }
    struct stream *s = open_stream(ag, f, STREAM_PROC_WAIT, p);
    if (!s)
        return;
    s->proc.tree = tree;
    s->proc.deadline_ms = agent_now_ms() + (uint64_t)tmo;
}

void procreq_open(struct agent *ag, const struct wire_frame *f)
{
    if (f->type == WIRE_PROC_OUTPUT || f->type == WIRE_PROC_GAP) {
        agent_send_error(ag, f->stream, EPROTO, "frame type %u not accepted by the agent",
                         f->type);
        return;
    }
    json_t *root = agent_parse_json(ag, f);
    if (!root)
        return;
    switch (f->type) {
    case WIRE_PROC_START:
        on_start(ag, f, root);
        break;
    case WIRE_PROC_LIST:
        on_list(ag, f);
        break;
    case WIRE_PROC_GET: {
        struct proc *p = named(ag, f, root);
        if (p)
            answer_record(ag, f->stream, p);
        break;
    }
    case WIRE_PROC_ATTACH:
        on_attach(ag, f, root);
        break;
    case WIRE_PROC_INPUT:
        on_input(ag, f, root);
        break;
    case WIRE_PROC_CTL:
        on_ctl(ag, f, root);
        break;
    default:
        on_wait(ag, f, root);
        break;
    }
    json_decref(root);
}

void procreq_abort(struct agent *ag, struct stream *s)
{
    struct proc *p = procs_by_key(ag, s->proc.key);
    if (s->kind == STREAM_PROC_INPUT && p && s->proc.input)
        procs_input_detach(p, s->proc.input);
    stream_remove(&ag->streams, s);
}

/* Ends the stream with ERROR (a violation, a cancel); the process is not touched. */
static void fail(struct agent *ag, struct stream *s, int err, const char *msg)
{
    agent_send_error(ag, s->id, err, "%s", msg);
    procreq_abort(ag, s);
}

static void on_input_data(struct agent *ag, struct stream *s, const struct wire_frame *f)
{
    struct proc *p = procs_by_key(ag, s->proc.key);
    bool eof = f->flags & WIRE_F_EOF;
    if (s->proc.input_eof || f->len > s->recv_credit || f->len > s->proc.input_left) {
        fail(ag, s, EPROTO, "more input than 'size' announced");
        return;
    }
    if (eof && f->len != s->proc.input_left) {
        fail(ag, s, EINVAL, "input ended before 'size' bytes");
        return;
    }
    s->recv_credit -= f->len;
    s->proc.input_left -= f->len;
    struct proc_input *in = s->proc.input;
    if (!p || !in) {
        fail(ag, s, EPIPE, "the process is gone");
        return;
    }
    s->proc.input_eof = eof; /* then it is written in its turn, and the stream answered */
    /* may answer and end the stream: s is not used after this */
    if (procs_input_data(ag, p, in, f->payload, f->len, eof) < 0)
        agent_log("cannot queue input for process '%s': out of memory", p->id);
}

void procreq_on_frame(struct agent *ag, struct stream *s, const struct wire_frame *f)
{
    if (f->type == WIRE_CANCEL)
        fail(ag, s, ECANCELED, "cancelled by the host");
    else if (f->type == WIRE_DATA && s->kind == STREAM_PROC_INPUT)
        on_input_data(ag, s, f);
    else
        fail(ag, s, EPROTO, "frame type not valid on a process stream");
}

/* One PROC_OUTPUT frame straight into the output queue. */
static bool send_event(struct agent *ag, struct stream *s, const struct outring_event *e)
{
    size_t len = PROC_OUTPUT_HEADER + e->len;
    uint8_t *w = buf_reserve(&ag->out, WIRE_HEADER_SIZE + len, NULL);
    if (!w)
        return false; /* queue at its ceiling: the next turn */
    wire_header_put(w, WIRE_PROC_OUTPUT, 0, s->id, (uint32_t)len);
    uint8_t *q = w + WIRE_HEADER_SIZE;
    for (int i = 0; i < 8; i++)
        q[i] = (uint8_t)(e->seq >> (8 * i));
    q[8] = e->stream;
    memcpy(q + PROC_OUTPUT_HEADER, e->data, e->len);
    buf_commit(&ag->out, WIRE_HEADER_SIZE + len);
    s->send_credit -= len;
    return true;
}

/* PROC_GAP: the events from next_seq on were evicted; the replay goes on at the oldest. */
static bool send_gap(struct agent *ag, struct stream *s, uint64_t oldest)
{
    char text[64];
    int len = snprintf(text, sizeof(text), "{\"oldest_available_seq\":%llu}",
                       (unsigned long long)oldest);
    if ((uint64_t)len > s->send_credit)
        return false;
    if (agent_send(ag, WIRE_PROC_GAP, 0, s->id, text, (size_t)len) < 0)
        return false;
    s->send_credit -= (uint64_t)len;
    s->proc.next_seq = oldest;
    return true;
}

/* Sends what the credit allows; ends the stream once it has nothing more to send. */
static void attach_pump(struct agent *ag, struct stream *s, struct proc *p)
{
    while (ag->ch.connected && agent_out_room(ag)) {
        uint64_t oldest = outring_oldest(&p->ring);
        if (s->proc.next_seq < oldest) {
            if (!send_gap(ag, s, oldest))
                return;
            continue;
        }
        const struct outring_event *e = outring_get(&p->ring, s->proc.next_seq);
        if (e) {
            /* an event is never split: its seq names it whole */
            if (PROC_OUTPUT_HEADER + e->len > s->send_credit || !send_event(ag, s, e))
                return;
            s->proc.next_seq++;
            continue;
        }
        if (s->proc.follow && !(p->leader_exited && p->drained))
            return;
        answer_record(ag, s->id, p);
        stream_remove(&ag->streams, s);
        return;
    }
}

int procreq_pump(struct agent *ag, uint64_t now_ms)
{
    int next = -1;
    /* backwards: an ended stream is replaced by the last one, already visited */
    for (size_t i = ag->streams.n; i-- > 0;) {
        struct stream *s = ag->streams.s[i];
        if (s->kind != STREAM_PROC_ATTACH && s->kind != STREAM_PROC_WAIT)
            continue;
        struct proc *p = procs_by_key(ag, s->proc.key);
        if (!p) { /* cannot happen: a dropped record ends its streams */
            fail(ag, s, ESRCH, "the process is gone");
            continue;
        }
        if (s->kind == STREAM_PROC_ATTACH) {
            attach_pump(ag, s, p);
        } else if (!s->proc.remove) {
            if (wait_over(p, s->proc.tree) || now_ms >= s->proc.deadline_ms) {
                answer_record(ag, s->id, p);
                stream_remove(&ag->streams, s);
            } else {
                next = agent_timeout_min(next, s->proc.deadline_ms, now_ms);
            }
        }
    }
    /* removes: the record goes once the tree exited or the time is up, whether or not the
     * host that asked is still there */
    struct proc_table *t = ag->procs;
    for (size_t i = t ? t->n : 0; i-- > 0;) {
        struct proc *p = t->p[i];
        if (!p->give_up_ms)
            continue;
        if (p->tree_exited || now_ms >= p->give_up_ms)
            procs_drop(ag, p);
        else
            next = agent_timeout_min(next, p->give_up_ms, now_ms);
    }
    return next;
}
