/* SPDX-License-Identifier: MIT */
/* agent_exec.c: runs commands for EXEC streams. Each command gets a new session (so SIGNAL, CANCEL
 * and the deadline reach its whole process group), three pipes or a terminal, and a merged
 * environment (spawn.c starts it). Output is forwarded only while the stream has credit and
 * the output queue has room, so a slow host slows the command down. */
#include "agent/agent_exec.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/spawn.h"

/* A pty's leader was reaped but something else keeps the terminal open (a background job):
 * what it wrote before is read for this long, then the terminal is closed and EXIT sent, as
 * sshd does, instead of waiting for every holder. */
#define EXEC_PTY_LINGER_MS 250

struct exec_req {
    struct spawn_req sp; /* argv, env, cwd, pty */
    uint64_t timeout_ms;
};

/* Validates the request; on failure returns a positive errno and a message in msg. */
static int parse_req(json_t *root, struct exec_req *q, char *msg, size_t msgsize)
{
    json_t *in = json_object_get(root, "stdin");
    json_t *tmo = json_object_get(root, "timeout_ms");
    if ((in && !json_is_boolean(in) && !json_is_null(in)) ||
        (tmo && !json_is_integer(tmo) && !json_is_null(tmo))) {
        snprintf(msg, msgsize, "wrong type for 'stdin' or 'timeout_ms'");
        return EINVAL;
    }
    int r = spawn_req_parse(root, &q->sp, "/", msg, msgsize);
    if (r)
        return r;
    /* a terminal always takes input: STDIN frames are what the user types */
    q->sp.stdin_open = q->sp.pty || json_is_true(in);
    json_int_t t = json_is_integer(tmo) ? json_integer_value(tmo) : 0;
    if (t < 0) {
        snprintf(msg, msgsize, "'timeout_ms' must not be negative");
        return EINVAL;
    }
    q->timeout_ms = (uint64_t)t;
    return 0;
}

void exec_open(struct agent *ag, const struct wire_frame *f)
{
    char msg[300] = "";
    struct exec_req q = { 0 };
    json_t *root = agent_parse_json(ag, f);
    if (!root)
        return;
    int r = 0;
    struct stream *s = stream_add(&ag->streams, f->stream, STREAM_EXEC, &r);
    if (!s) {
        agent_send_error(ag, f->stream, -r, "cannot open stream %u", f->stream);
        goto out_free;
    }
    s->exec.in_fd = s->exec.out_fd = s->exec.err_fd = -1;
    struct spawn_child child;
    r = parse_req(root, &q, msg, sizeof(msg));
    if (r == 0)
        r = spawn_start(&q.sp, &child, msg, sizeof(msg));
    if (r) {
        agent_send_error(ag, f->stream, r, "%s", msg[0] ? msg : strerror(r));
        stream_remove(&ag->streams, s);
        goto out_free;
    }
    s->exec.pid = s->exec.pgid = child.pid;
    s->exec.in_fd = child.in_fd;
    s->exec.out_fd = child.out_fd;
    s->exec.err_fd = child.err_fd;
    s->exec.pty = q.sp.pty;
    buf_init(&s->exec.in_buf, WIRE_INITIAL_WINDOW);
    s->exec.stdin_pipe = q.sp.stdin_open;
    s->exec.start_ms = agent_now_ms();
    if (q.timeout_ms)
        s->exec.deadline_ms = s->exec.start_ms + q.timeout_ms;
out_free:
    spawn_req_release(&q.sp);
    json_decref(root);
}

static void exec_free(struct agent *ag, struct stream *s)
{
    struct exec_state *x = &s->exec;
    spawn_close(&x->in_fd);
    spawn_close(&x->out_fd);
    spawn_close(&x->err_fd);
    buf_release(&x->in_buf);
    stream_remove(&ag->streams, s);
}

void exec_abort(struct agent *ag, struct stream *s)
{
    if (s->exec.pid > 0)
        (void)kill(-s->exec.pgid, SIGKILL); /* the group may be gone already */
    exec_free(ag, s);
}

/* Sends EXIT and frees the stream once the command is reaped and both pipes are drained. */
static void maybe_finish(struct agent *ag, struct stream *s)
{
    struct exec_state *x = &s->exec;
    if (x->pid > 0 || x->out_fd >= 0 || x->err_fd >= 0)
        return;
    json_t *o = json_object();
    if (o) {
        if (WIFSIGNALED(x->status))
            json_object_set_new(o, "signal", json_integer(WTERMSIG(x->status)));
        else
            json_object_set_new(o, "exit_code", json_integer(WEXITSTATUS(x->status)));
        if (x->timed_out)
            json_object_set_new(o, "timed_out", json_true());
        json_object_set_new(o, "duration_ms", json_integer(agent_now_ms() - x->start_ms));
    }
    (void)agent_send_json(ag, WIRE_EXIT, s->id, o);
    exec_free(ag, s);
}

/* Ends the stream with ERROR for a protocol violation; the command is killed. */
static void fail(struct agent *ag, struct stream *s, int err, const char *msg)
{
    agent_send_error(ag, s->id, err, "%s", msg);
    exec_abort(ag, s);
}

/* Writes what the stdin pipe takes and returns the credit for it; closes stdin once the host's
 * EOF came and everything before it went in, or when the command closed its end (EPIPE). */
static void feed_stdin(struct agent *ag, struct stream *s)
{
    struct exec_state *x = &s->exec;
    if (!agent_feed_fd(ag, s, &x->in_buf, x->in_fd) || (x->in_eof && x->in_buf.len == 0))
        spawn_close(&x->in_fd);
}

static void on_stdin(struct agent *ag, struct stream *s, const struct wire_frame *f)
{
    struct exec_state *x = &s->exec;
    if (!x->stdin_pipe || x->in_eof) {
        fail(ag, s, EPROTO, x->in_eof ? "stdin after end of file" : "the command has no stdin pipe");
        return;
    }
    if (f->len > s->recv_credit) {
        fail(ag, s, EPROTO, "stdin beyond the flow-control window");
        return;
    }
    s->recv_credit -= f->len;
    if (f->flags & WIRE_F_EOF)
        x->in_eof = true;
    /* Cannot fail: the buffer's maximum is the window the host has to respect. */
    if (buf_append(&x->in_buf, f->payload, f->len) < 0) {
        fail(ag, s, ENOMEM, "cannot buffer stdin");
        return;
    }
    feed_stdin(ag, s);
}

static void on_signal(struct agent *ag, struct stream *s, const struct wire_frame *f)
{
    json_t *root = agent_parse_json(ag, f);
    if (!root) {
        exec_abort(ag, s);
        return;
    }
    json_t *sig = json_object_get(root, "signal");
    json_int_t n = json_is_integer(sig) ? json_integer_value(sig) : -1;
    json_decref(root);
    if (n < 1 || n > SIGRTMAX) {
        fail(ag, s, EINVAL, "'signal' must be an integer from 1 to 64");
        return;
    }
    (void)kill(-s->exec.pgid, (int)n); /* the group may have exited already: nothing to do */
}

/* RESIZE {"rows","cols"}: the kernel sends SIGWINCH to the terminal's foreground group. */
static void on_resize(struct agent *ag, struct stream *s, const struct wire_frame *f)
{
    struct exec_state *x = &s->exec;
    if (!x->pty) {
        fail(ag, s, ENOTTY, "RESIZE on a command without a terminal");
        return;
    }
    json_t *root = agent_parse_json(ag, f);
    if (!root) {
        exec_abort(ag, s);
        return;
    }
    uint16_t rows, cols;
    int r = spawn_pty_size(root, &rows, &cols);
    json_decref(root);
    if (r < 0) {
        fail(ag, s, EINVAL, "RESIZE must be {\"rows\":1..1000,\"cols\":1..1000}");
        return;
    }
    int master = x->out_fd >= 0 ? x->out_fd : x->in_fd;
    if (master >= 0)
        (void)spawn_pty_resize(master, rows, cols); /* a hung-up terminal has no size to set */
}

void exec_on_frame(struct agent *ag, struct stream *s, const struct wire_frame *f)
{
    switch (f->type) {
    case WIRE_STDIN:
        on_stdin(ag, s, f);
        break;
    case WIRE_SIGNAL:
        on_signal(ag, s, f);
        break;
    case WIRE_RESIZE:
        on_resize(ag, s, f);
        break;
    case WIRE_CANCEL:
        /* The group dies, the pipes reach EOF and EXIT reports the signal as usual. */
        (void)kill(-s->exec.pgid, SIGKILL);
        break;
    default:
        fail(ag, s, EPROTO, "frame type not valid on an exec stream");
        break;
    }
}

void exec_poll_add(struct agent *ag, struct stream *s, struct agent_pollset *ps)
{
    struct exec_state *x = &s->exec;
    bool can_send = s->send_credit > 0 && agent_out_room(ag);
    if (x->out_fd >= 0 && can_send)
        agent_poll_add(ps, x->out_fd, POLLIN, s->id, ROLE_STDOUT);
    if (x->err_fd >= 0 && can_send)
        agent_poll_add(ps, x->err_fd, POLLIN, s->id, ROLE_STDERR);
    if (x->in_fd >= 0 && x->in_buf.len)
        agent_poll_add(ps, x->in_fd, POLLOUT, s->id, ROLE_STDIN);
}

/* Reads one chunk of a pipe or terminal straight into the output queue as a STDOUT/STDERR
 * frame. Returns 1 after forwarding bytes, 0 when nothing could be read or sent now, -1 when
 * the fd ended (EOF, or EIO from a terminal whose last holder closed it; the stream may be
 * gone then). */
static int forward(struct agent *ag, struct stream *s, int *fd, uint16_t type)
{
    size_t want = s->send_credit < WIRE_DATA_CHUNK ? (size_t)s->send_credit : WIRE_DATA_CHUNK;
    if (want == 0)
        return 0;
    uint8_t *p = buf_reserve(&ag->out, WIRE_HEADER_SIZE + want, NULL);
    if (!p)
        return 0; /* queue at its ceiling: try again when it drains */
    ssize_t n = read(*fd, p + WIRE_HEADER_SIZE, want);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n <= 0) {
        spawn_close(fd);
        maybe_finish(ag, s);
        return -1;
    }
    wire_header_put(p, type, 0, s->id, (uint32_t)n);
    buf_commit(&ag->out, WIRE_HEADER_SIZE + (size_t)n);
    s->send_credit -= (uint64_t)n;
    return 1;
}

/* The linger after a pty's leader was reaped is over: forwards what the terminal holds and,
 * once a read finds it empty, closes it (hanging it up for whoever still has it) and ends the
 * stream. Without credit it waits for the host like any output. */
static void pty_linger_over(struct agent *ag, struct stream *s)
{
    for (int i = 0; i < 16; i++) {
        if (s->send_credit == 0 || !agent_out_room(ag))
            return;
        int r = forward(ag, s, &s->exec.out_fd, WIRE_STDOUT);
        if (r < 0)
            return;
        if (r == 0)
            break;
    }
    if (s->send_credit == 0 || !agent_out_room(ag))
        return;
    spawn_close(&s->exec.out_fd);
    spawn_close(&s->exec.in_fd);
    maybe_finish(ag, s);
}

void exec_on_poll(struct agent *ag, struct stream *s, int role, short revents)
{
    if (role == ROLE_STDIN)
        feed_stdin(ag, s);
    else if (role == ROLE_STDOUT)
        (void)forward(ag, s, &s->exec.out_fd, WIRE_STDOUT);
    else if (role == ROLE_STDERR)
        (void)forward(ag, s, &s->exec.err_fd, WIRE_STDERR);
}

bool exec_on_reaped(struct agent *ag, pid_t pid, int status)
{
    for (size_t i = 0; i < ag->streams.n; i++) {
        struct stream *s = ag->streams.s[i];
        if (s->kind != STREAM_EXEC || s->exec.pid != pid)
            continue;
        s->exec.pid = 0;
        s->exec.status = status;
        if (s->exec.pty)
            s->exec.linger_ms = agent_now_ms() + EXEC_PTY_LINGER_MS;
        maybe_finish(ag, s);
        return true;
    }
    return false;
}

int exec_check_deadlines(struct agent *ag, uint64_t now_ms)
{
    int next = -1;
    /* backwards: a stream that ends is replaced by the last one, already visited */
    for (size_t i = ag->streams.n; i-- > 0;) {
        struct stream *s = ag->streams.s[i];
        struct exec_state *x = &s->exec;
        if (s->kind != STREAM_EXEC)
            continue;
        if (x->linger_ms && x->pid == 0 && x->out_fd >= 0) {
            if (now_ms >= x->linger_ms) {
                pty_linger_over(ag, s);
                if (next < 0 || next > 10)
                    next = 10; /* the stream may be gone; else it waits for credit */
                continue;
            }
            if (next < 0 || x->linger_ms - now_ms < (uint64_t)next)
                next = (int)(x->linger_ms - now_ms);
        }
        if (!x->deadline_ms)
            continue;
        if (now_ms >= x->deadline_ms) {
            (void)kill(-x->pgid, SIGKILL);
            x->timed_out = true;
            x->deadline_ms = 0;
            continue;
        }
        uint64_t left = x->deadline_ms - now_ms;
        if (next < 0 || left < (uint64_t)next)
            next = left > 60000 ? 60000 : (int)left;
    }
    return next;
}
