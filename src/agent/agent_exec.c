/* SPDX-License-Identifier: MIT */
/* agent_exec.c: runs commands for EXEC streams. Each command gets a new session (so SIGNAL, CANCEL
 * and the deadline reach its whole process group), three pipes and a merged environment; a
 * CLOEXEC pipe reports why exec failed. Output is forwarded only while the stream has credit
 * and the output queue has room, so a slow host slows the command down. */
#include "agent/agent_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/usercg.h"

#define EXEC_MAX_ARGV 4096 /* a frame is at most 256 KiB anyway; this bounds the array */

static const char *const base_env[] = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME=/root",
    "TERM=xterm",
    "LANG=C.UTF-8",
};
#define BASE_ENV_N (sizeof(base_env) / sizeof(base_env[0]))

/* What the child reports through the error pipe when it cannot start the command. */
struct exec_failure {
    int stage; /* 0: chdir, 1: exec */
    int err;
};

struct exec_req {
    char **argv;       /* NULL-terminated; strings borrowed from the JSON */
    char **envp;       /* NULL-terminated; entries owned (strdup'ed) */
    size_t nenv;
    const char *cwd;   /* borrowed from the JSON */
    bool stdin_pipe;
    uint64_t timeout_ms;
};

static void exec_req_release(struct exec_req *q)
{
    free(q->argv);
    for (size_t i = 0; q->envp && i < q->nenv; i++)
        free(q->envp[i]);
    free(q->envp);
}

/* Sets or replaces NAME=value in q->envp (room was allocated for every key). */
static int env_set(struct exec_req *q, const char *key, const char *val)
{
    size_t klen = strlen(key);
    size_t len = klen + 1 + strlen(val) + 1;
    char *e = malloc(len);
    if (!e)
        return -ENOMEM;
    memcpy(e, key, klen);
    e[klen] = '=';
    memcpy(e + klen + 1, val, len - klen - 1);
    for (size_t i = 0; i < q->nenv; i++) {
        if (strncmp(q->envp[i], e, klen + 1) == 0) {
            free(q->envp[i]);
            q->envp[i] = e;
            return 0;
        }
    }
    q->envp[q->nenv++] = e;
    return 0;
}

/* Validates the request; on failure returns a positive errno and a message in msg. */
static int parse_req(json_t *root, struct exec_req *q, char *msg, size_t msgsize)
{
    json_t *argv = json_object_get(root, "argv");
    if (!json_is_array(argv) || json_array_size(argv) == 0 ||
        json_array_size(argv) > EXEC_MAX_ARGV) {
        snprintf(msg, msgsize, "'argv' must be a non-empty array of at most %d strings",
                 EXEC_MAX_ARGV);
        return EINVAL;
    }
    json_t *env = json_object_get(root, "env");
    json_t *cwd = json_object_get(root, "cwd");
    json_t *in = json_object_get(root, "stdin");
    json_t *tmo = json_object_get(root, "timeout_ms");
    if ((env && !json_is_object(env) && !json_is_null(env)) ||
        (cwd && !json_is_string(cwd) && !json_is_null(cwd)) ||
        (in && !json_is_boolean(in) && !json_is_null(in)) ||
        (tmo && !json_is_integer(tmo) && !json_is_null(tmo))) {
        snprintf(msg, msgsize, "wrong type for 'env', 'cwd', 'stdin' or 'timeout_ms'");
        return EINVAL;
    }
    q->argv = calloc(json_array_size(argv) + 1, sizeof(*q->argv));
    size_t nkeys = json_is_object(env) ? json_object_size(env) : 0;
    q->envp = calloc(BASE_ENV_N + nkeys + 1, sizeof(*q->envp));
    if (!q->argv || !q->envp)
        return ENOMEM;
    for (size_t i = 0; i < json_array_size(argv); i++) {
        json_t *a = json_array_get(argv, i);
        if (!json_is_string(a)) {
            snprintf(msg, msgsize, "'argv' must be a non-empty array of strings");
            return EINVAL;
        }
        q->argv[i] = (char *)json_string_value(a);
    }
    if (q->argv[0][0] == 0) {
        snprintf(msg, msgsize, "'argv[0]' is empty");
        return ENOENT;
    }
    for (size_t i = 0; i < BASE_ENV_N; i++) {
        q->envp[i] = strdup(base_env[i]);
        if (!q->envp[i])
            return ENOMEM;
        q->nenv++;
    }
    const char *key;
    json_t *val;
    json_object_foreach(json_is_object(env) ? env : NULL, key, val) {
        if (!json_is_string(val) || key[0] == 0 || strchr(key, '=')) {
            snprintf(msg, msgsize, "'env' entries must be NAME: \"string\" without '='");
            return EINVAL;
        }
        if (env_set(q, key, json_string_value(val)) < 0)
            return ENOMEM;
    }
    q->cwd = json_is_string(cwd) ? json_string_value(cwd) : "/";
    if (q->cwd[0] != '/') {
        snprintf(msg, msgsize, "'cwd' must be an absolute path");
        return EINVAL;
    }
    q->stdin_pipe = json_is_true(in);
    json_int_t t = json_is_integer(tmo) ? json_integer_value(tmo) : 0;
    if (t < 0) {
        snprintf(msg, msgsize, "'timeout_ms' must not be negative");
        return EINVAL;
    }
    q->timeout_ms = (uint64_t)t;
    return 0;
}

/* In the child after fork: only async-signal-safe calls until exec. */
static __attribute__((noreturn)) void child_run(const struct exec_req *q, int in, int out,
                                                int err, int report, int cg)
{
    /* into the user cgroup first (usercg.h): its limits hold for all the command forks */
    if (cg >= 0)
        (void)!write(cg, "0", 1); /* no cgroup: the command runs without limits */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* The agent ignores SIGPIPE; an ignored disposition would survive exec. */
    signal(SIGPIPE, SIG_DFL);
    setsid();
    /* dup2 clears CLOEXEC on the copies; the originals close on exec. */
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
        goto fail_exec;
    struct exec_failure f = { 0, 0 };
    if (chdir(q->cwd) < 0) {
        f.err = errno;
        goto report;
    }
    extern char **environ;
    environ = q->envp;
    execvp(q->argv[0], q->argv);
fail_exec:
    f.stage = 1;
    f.err = errno;
report:
    (void)!write(report, &f, sizeof(f));
    _exit(127);
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Forks the command. Returns 0 with the stream's fds and pid set, or a positive errno with a
 * message. */
static int spawn(struct stream *s, const struct exec_req *q, char *msg, size_t msgsize)
{
    struct exec_state *x = &s->exec;
    int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, rep[2] = { -1, -1 };
    int r = 0;
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0 ||
        pipe2(rep, O_CLOEXEC) < 0) {
        r = errno;
        snprintf(msg, msgsize, "cannot create pipes: %s", strerror(r));
        goto out_close;
    }
    int cg = usercg_procs_open();
    pid_t pid = fork();
    if (pid < 0) {
        r = errno;
        if (cg >= 0)
            close(cg);
        snprintf(msg, msgsize, "cannot fork: %s", strerror(r));
        goto out_close;
    }
    if (pid == 0)
        child_run(q, in[0], out[1], err[1], rep[1], cg);
    if (cg >= 0)
        close(cg);
    close_fd(&in[0]);
    close_fd(&out[1]);
    close_fd(&err[1]);
    close_fd(&rep[1]);
    /* Blocks only until the child execs or fails, which takes no longer than a chdir and an
     * exec: waiting here keeps "could not start" a plain ERROR instead of a late event. */
    struct exec_failure f;
    ssize_t n;
    do
        n = read(rep[0], &f, sizeof(f));
    while (n < 0 && errno == EINTR);
    if (n == (ssize_t)sizeof(f)) {
        /* The child exits 127 and is reaped as an orphan: it never joined a stream. */
        r = f.err ? f.err : EIO;
        snprintf(msg, msgsize, f.stage == 0 ? "cannot change to directory '%.200s': %s"
                                            : "cannot execute '%.200s': %s",
                 f.stage == 0 ? q->cwd : q->argv[0], strerror(r));
        goto out_close;
    }
    x->pid = x->pgid = pid;
    x->out_fd = out[0];
    x->err_fd = err[0];
    x->in_fd = in[1];
    (void)fcntl(x->out_fd, F_SETFL, O_NONBLOCK);
    (void)fcntl(x->err_fd, F_SETFL, O_NONBLOCK);
    (void)fcntl(x->in_fd, F_SETFL, O_NONBLOCK);
    if (!q->stdin_pipe)
        close_fd(&x->in_fd); /* the command reads end of file at once, like /dev/null */
    close_fd(&rep[0]);
    return 0;
out_close:
    for (int i = 0; i < 2; i++) {
        close_fd(&in[i]);
        close_fd(&out[i]);
        close_fd(&err[i]);
        close_fd(&rep[i]);
    }
    return r;
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
    r = parse_req(root, &q, msg, sizeof(msg));
    if (r == 0)
        r = spawn(s, &q, msg, sizeof(msg));
    if (r) {
        agent_send_error(ag, f->stream, r, "%s", msg[0] ? msg : strerror(r));
        stream_remove(&ag->streams, s);
        goto out_free;
    }
    buf_init(&s->exec.in_buf, WIRE_INITIAL_WINDOW);
    s->exec.stdin_pipe = q.stdin_pipe;
    s->exec.start_ms = agent_now_ms();
    if (q.timeout_ms)
        s->exec.deadline_ms = s->exec.start_ms + q.timeout_ms;
out_free:
    exec_req_release(&q);
    json_decref(root);
}

static void exec_free(struct agent *ag, struct stream *s)
{
    struct exec_state *x = &s->exec;
    close_fd(&x->in_fd);
    close_fd(&x->out_fd);
    close_fd(&x->err_fd);
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

/* Writes what the stdin pipe takes and returns the credit for it. */
static void feed_stdin(struct agent *ag, struct stream *s)
{
    struct exec_state *x = &s->exec;
    size_t done = 0;
    while (x->in_fd >= 0 && done < x->in_buf.len) {
        ssize_t n = write(x->in_fd, x->in_buf.data + done, x->in_buf.len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n < 0) {
            /* The command closed its stdin (EPIPE): what is left goes nowhere. */
            close_fd(&x->in_fd);
            done = x->in_buf.len;
            break;
        }
        done += (size_t)n;
    }
    if (x->in_fd < 0)
        done = x->in_buf.len;
    buf_consume(&x->in_buf, done);
    if (done) {
        s->recv_credit += done;
        agent_send_window(ag, s->id, (uint32_t)done);
    }
    if (x->in_eof && x->in_buf.len == 0)
        close_fd(&x->in_fd);
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

void exec_on_frame(struct agent *ag, struct stream *s, const struct wire_frame *f)
{
    switch (f->type) {
    case WIRE_STDIN:
        on_stdin(ag, s, f);
        break;
    case WIRE_SIGNAL:
        on_signal(ag, s, f);
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

/* Reads one chunk of a pipe straight into the output queue as a STDOUT/STDERR frame. */
static void forward(struct agent *ag, struct stream *s, int *fd, uint16_t type)
{
    size_t want = s->send_credit < WIRE_DATA_CHUNK ? (size_t)s->send_credit : WIRE_DATA_CHUNK;
    if (want == 0)
        return;
    uint8_t *p = buf_reserve(&ag->out, WIRE_HEADER_SIZE + want, NULL);
    if (!p)
        return; /* queue at its ceiling: try again when it drains */
    ssize_t n = read(*fd, p + WIRE_HEADER_SIZE, want);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        close_fd(fd);
        maybe_finish(ag, s);
        return;
    }
    wire_header_put(p, type, 0, s->id, (uint32_t)n);
    buf_commit(&ag->out, WIRE_HEADER_SIZE + (size_t)n);
    s->send_credit -= (uint64_t)n;
}

void exec_on_poll(struct agent *ag, struct stream *s, int role, short revents)
{
    if (role == ROLE_STDIN)
        feed_stdin(ag, s);
    else if (role == ROLE_STDOUT)
        forward(ag, s, &s->exec.out_fd, WIRE_STDOUT);
    else if (role == ROLE_STDERR)
        forward(ag, s, &s->exec.err_fd, WIRE_STDERR);
}

bool exec_on_reaped(struct agent *ag, pid_t pid, int status)
{
    for (size_t i = 0; i < ag->streams.n; i++) {
        struct stream *s = ag->streams.s[i];
        if (s->kind != STREAM_EXEC || s->exec.pid != pid)
            continue;
        s->exec.pid = 0;
        s->exec.status = status;
        maybe_finish(ag, s);
        return true;
    }
    return false;
}

int exec_check_deadlines(struct agent *ag, uint64_t now_ms)
{
    int next = -1;
    for (size_t i = 0; i < ag->streams.n; i++) {
        struct exec_state *x = &ag->streams.s[i]->exec;
        if (ag->streams.s[i]->kind != STREAM_EXEC || !x->deadline_ms)
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
