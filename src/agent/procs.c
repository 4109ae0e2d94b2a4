/* SPDX-License-Identifier: MIT */
/* procs.c: the agent's managed processes: the record table, each process's fds (its output read
 * always into its ring, so a flooding process churns only its own history and never waits for a
 * host; its input queue written in call order), reaping, the tree check and a remove's SIGKILL.
 * Streams about a process are answered here only when the process ends them (its input written,
 * its record dropped); the requests themselves are procs_req.c's. */
#include "agent/procs.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/spawn.h"
#include "agent/stream.h"
#include "common/utf8.h"

#define PROC_CMDLINE_MAX 4096   /* bytes of /proc/<pid>/cmdline shown for the foreground */
#define PROC_COMPACT_ARGS 256   /* a list shows args only when they are this short */
/* A group outliving its leader is checked at every turn of the loop (every child's exit wakes
 * it: orphans are the agent's) and at least this often, for a member whose parent is alive
 * outside the group and reaps it without telling us. */
#define PROC_TREE_RECHECK_MS 1000

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

struct proc_table *procs_table(struct agent *ag)
{
    if (!ag->procs)
        ag->procs = calloc(1, sizeof(*ag->procs));
    return ag->procs;
}

struct proc *procs_find(struct agent *ag, const char *id)
{
    struct proc_table *t = ag->procs;
    for (size_t i = 0; t && i < t->n; i++)
        if (strcmp(t->p[i]->id, id) == 0)
            return t->p[i];
    return NULL;
}

struct proc *procs_by_key(struct agent *ag, uint32_t key)
{
    struct proc_table *t = ag->procs;
    for (size_t i = 0; t && i < t->n; i++)
        if (t->p[i]->key == key)
            return t->p[i];
    return NULL;
}

size_t procs_live(struct agent *ag)
{
    size_t n = 0;
    struct proc_table *t = ag->procs;
    for (size_t i = 0; t && i < t->n; i++)
        if (!t->p[i]->tree_exited)
            n++;
    return n;
}

static void input_free(struct proc_input *in)
{
    buf_release(&in->data);
    free(in);
}

/* Ends the stream of an input with DONE {"input_seq"} (err 0) or ERROR err. */
static void input_answer(struct agent *ag, struct proc_input *in, int err, const char *why)
{
    struct stream *s = in->stream ? stream_find(&ag->streams, in->stream) : NULL;
    if (!s || s->kind != STREAM_PROC_INPUT)
        return;
    if (err)
        agent_send_error(ag, s->id, err, "%s", why);
    else
        (void)agent_send_json(ag, WIRE_DONE, s->id,
                              json_pack("{s:I}", "input_seq", (json_int_t)in->seq));
    stream_remove(&ag->streams, s);
}

/* Every queued input fails (stdin broke, the record goes): their streams get ERROR. */
static void inputs_fail(struct agent *ag, struct proc *p, int err, const char *why)
{
    while (p->inputs) {
        struct proc_input *in = p->inputs;
        p->inputs = in->next;
        input_answer(ag, in, err, why);
        input_free(in);
    }
    p->input_queued = 0;
}

static void close_stdin_now(struct agent *ag, struct proc *p)
{
    spawn_close(&p->in_fd);
    p->stdin_closed = true;
    inputs_fail(ag, p, EPIPE, "the process's stdin is closed");
}

/* Writes queued input in call order; an input whose bytes are all written is answered. */
static void feed(struct agent *ag, struct proc *p)
{
    while (p->inputs && p->in_fd >= 0) {
        struct proc_input *in = p->inputs;
        if (in->written < in->data.len) {
            ssize_t n = write(p->in_fd, in->data.data + in->written, in->data.len - in->written);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && errno == EAGAIN)
                return;
            if (n < 0) {
                /* EPIPE: nobody reads it any more; EIO: the terminal hung up */
                close_stdin_now(ag, p);
                return;
            }
            in->written += (size_t)n;
            continue;
        }
        if (!in->complete)
            return; /* its next bytes are still on the way */
        p->inputs = in->next;
        p->input_queued -= in->size;
        input_answer(ag, in, 0, NULL);
        input_free(in);
    }
    if (!p->inputs && p->stdin_closing && p->in_fd >= 0)
        close_stdin_now(ag, p);
}

int procs_input_add(struct proc *p, uint32_t stream, size_t size, struct proc_input **ret)
{
    if (p->stdin_closed || p->stdin_closing || p->in_fd < 0 || p->leader_exited)
        return -EPIPE;
    if (size > PROC_INPUT_MAX - p->input_queued)
        return -EAGAIN;
    struct proc_input *in = calloc(1, sizeof(*in));
    if (!in)
        return -ENOMEM;
    in->stream = stream;
    in->size = size;
    in->seq = ++p->input_seq;
    buf_init(&in->data, size);
    struct proc_input **pp = &p->inputs;
    while (*pp)
        pp = &(*pp)->next;
    *pp = in;
    p->input_queued += size;
    *ret = in;
    return 0;
}

int procs_input_data(struct agent *ag, struct proc *p, struct proc_input *in, const void *d,
                     size_t len, bool eof)
{
    if (len && buf_append(&in->data, d, len) < 0)
        return -ENOMEM; /* cannot happen: the caller kept len within size */
    in->complete = eof;
    feed(ag, p);
    return 0;
}

void procs_input_detach(struct proc *p, struct proc_input *in)
{
    in->stream = 0;
    if (in->complete)
        return; /* written in its turn; nobody hears of it */
    for (struct proc_input **pp = &p->inputs; *pp; pp = &(*pp)->next) {
        if (*pp == in) {
            *pp = in->next;
            p->input_queued -= in->size;
            input_free(in);
            return;
        }
    }
}

void procs_close_stdin(struct agent *ag, struct proc *p)
{
    if (p->stdin_closed)
        return;
    p->stdin_closing = true;
    feed(ag, p);
    if (!p->inputs && p->in_fd >= 0)
        close_stdin_now(ag, p);
    p->stdin_closed = p->in_fd < 0;
}

/* The terminal's master, whichever descriptor of it is still open; -1. */
static int master_fd(const struct proc *p)
{
    return !p->pty ? -1 : p->out_fd >= 0 ? p->out_fd : p->in_fd;
}

int procs_signal(struct proc *p, int sig)
{
    if (p->tree_exited)
        return -ESRCH;
    int m = master_fd(p);
    pid_t fg = m >= 0 ? tcgetpgrp(m) : -1;
    if (fg > 0 && fg != p->pid && kill(-fg, sig) == 0)
        return 0;
    if (kill(-p->pid, sig) < 0)
        return -errno;
    return 0;
}

/* The process group and, on a terminal, its foreground group (a shell's job) once each. */
static void signal_all(struct proc *p, int sig)
{
    (void)kill(-p->pid, sig); /* gone already is fine */
    int m = master_fd(p);
    pid_t fg = m >= 0 ? tcgetpgrp(m) : -1;
    if (fg > 0 && fg != p->pid)
        (void)kill(-fg, sig);
}

void procs_remove_start(struct proc *p, uint64_t grace_ms)
{
    if (p->tree_exited || p->give_up_ms)
        return; /* nothing to stop, or a remove is under way: its timers stand */
    uint64_t now = agent_now_ms();
    p->state = PROC_TERMINATING;
    signal_all(p, SIGTERM);
    if (grace_ms == 0) {
        signal_all(p, SIGKILL);
    } else {
        p->kill_at_ms = now + grace_ms;
    }
    p->give_up_ms = now + grace_ms + 2000;
}

static void proc_free(struct proc *p)
{
    spawn_close(&p->in_fd);
    spawn_close(&p->out_fd);
    spawn_close(&p->err_fd);
    outring_release(&p->ring);
    while (p->inputs) {
        struct proc_input *in = p->inputs;
        p->inputs = in->next;
        input_free(in);
    }
    json_decref(p->argv);
    free(p->cwd);
    free(p);
}

void procs_drop(struct agent *ag, struct proc *p)
{
    /* backwards: a removed stream is replaced by the last one, already visited */
    for (size_t i = ag->streams.n; i-- > 0;) {
        struct stream *s = ag->streams.s[i];
        if ((s->kind != STREAM_PROC_ATTACH && s->kind != STREAM_PROC_WAIT &&
             s->kind != STREAM_PROC_INPUT) ||
            s->proc.key != p->key)
            continue;
        if (s->kind == STREAM_PROC_INPUT)
            agent_send_error(ag, s->id, EPIPE, "the process's record was removed");
        else
            (void)agent_send_json(ag, WIRE_DONE, s->id, procs_record(p, false));
        stream_remove(&ag->streams, s);
    }
    struct proc_table *t = ag->procs;
    for (size_t i = 0; i < t->n; i++) {
        if (t->p[i] == p) {
            memmove(&t->p[i], &t->p[i + 1], (t->n - i - 1) * sizeof(t->p[0]));
            t->n--;
            break;
        }
    }
    proc_free(p);
}

/* Copies argv into a JSON array, at most PROC_ARGV_BYTES_MAX bytes together. */
static json_t *argv_copy(char *const *argv)
{
    json_t *a = json_array();
    size_t total = 0;
    for (size_t i = 0; a && argv[i]; i++) {
        total += strlen(argv[i]);
        if (total > PROC_ARGV_BYTES_MAX || json_array_append_new(a, json_string(argv[i])) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

/* Room for one more record: the oldest one whose tree exited goes. */
static bool make_room(struct agent *ag)
{
    struct proc_table *t = ag->procs;
    if (t->n < PROCS_MAX)
        return true;
    for (size_t i = 0; i < t->n; i++) {
        if (t->p[i]->tree_exited && !t->p[i]->give_up_ms) {
            procs_drop(ag, t->p[i]);
            return true;
        }
    }
    return false;
}

int procs_start(struct agent *ag, const char *id, const struct spawn_req *q, size_t ring_bytes,
                struct proc **ret, char *msg, size_t msg_size)
{
    struct proc_table *t = procs_table(ag);
    if (!t)
        return ENOMEM;
    if (procs_live(ag) >= PROCS_LIVE_MAX) {
        snprintf(msg, msg_size, "%d processes are running already", PROCS_LIVE_MAX);
        return EMFILE;
    }
    struct proc *p = calloc(1, sizeof(*p));
    if (!p)
        return ENOMEM;
    p->in_fd = p->out_fd = p->err_fd = -1;
    p->argv = argv_copy(q->argv);
    p->cwd = strdup(q->cwd);
    if (!p->argv || !p->cwd) {
        int r = p->cwd ? EINVAL : ENOMEM;
        proc_free(p);
        snprintf(msg, msg_size, "'argv' must hold at most %u bytes", PROC_ARGV_BYTES_MAX);
        return r;
    }
    if (!make_room(ag)) {
        proc_free(p);
        snprintf(msg, msg_size, "%d records and none of them exited", PROCS_MAX);
        return EMFILE;
    }
    struct spawn_child child;
    int r = spawn_start(q, &child, msg, msg_size);
    if (r) {
        proc_free(p);
        return r;
    }
    snprintf(p->id, sizeof(p->id), "%s", id);
    p->key = ++t->next_key ? t->next_key : ++t->next_key;
    p->pty = q->pty;
    p->pid = child.pid;
    p->state = PROC_RUNNING;
    p->created_ms = wall_ms();
    p->in_fd = child.in_fd;
    p->out_fd = child.out_fd;
    p->err_fd = child.err_fd;
    outring_init(&p->ring, ring_bytes);
    t->p[t->n++] = p;
    *ret = p;
    return 0;
}

/* Drained: the leader is gone and its fds are closed, or the linger after it passed. */
static void check_drained(struct proc *p)
{
    if (p->leader_exited && p->out_fd < 0 && p->err_fd < 0)
        p->drained = true;
}

/* Reads one chunk of an output fd into the ring. Returns the bytes read, 0 for nothing now,
 * -1 when the fd ended (closed). */
static ssize_t read_output(struct proc *p, int *fd, uint8_t which)
{
    static uint8_t chunk[OUTRING_EVENT_MAX];
    ssize_t n = read(*fd, chunk, sizeof(chunk));
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n <= 0) {
        /* EOF of a pipe, or EIO of a terminal nobody holds any more */
        spawn_close(fd);
        check_drained(p);
        return -1;
    }
    /* Out of memory loses this chunk (the next seq says nothing of it): the process must not
     * stop, and the agent has no better place for its output. */
    if (outring_push(&p->ring, which, chunk, (size_t)n) < 0)
        agent_log("cannot keep %zd bytes of output of process '%s': out of memory, dropping them",
                  n, p->id);
    return n;
}

static uint8_t out_stream(const struct proc *p)
{
    return p->pty ? 2 : 0;
}

/* After the leader exited: what is in the fds now belongs to its output. Bounded, so a
 * descendant that keeps flooding cannot hold the loop. */
static void drain_now(struct proc *p)
{
    size_t budget = p->ring.max + OUTRING_EVENT_MAX;
    while (p->out_fd >= 0 && budget) {
        ssize_t n = read_output(p, &p->out_fd, out_stream(p));
        if (n <= 0)
            break;
        budget = (size_t)n > budget ? 0 : budget - (size_t)n;
    }
    while (p->err_fd >= 0 && budget) {
        ssize_t n = read_output(p, &p->err_fd, 1);
        if (n <= 0)
            break;
        budget = (size_t)n > budget ? 0 : budget - (size_t)n;
    }
    p->drained = true;
}

static void check_tree(struct proc *p)
{
    if (!p->leader_exited || p->tree_exited)
        return;
    if (kill(-p->pid, 0) < 0 && errno == ESRCH)
        p->tree_exited = true;
}

int procs_tick(struct agent *ag, uint64_t now_ms)
{
    int next = -1;
    struct proc_table *t = ag->procs;
    for (size_t i = 0; t && i < t->n; i++) {
        struct proc *p = t->p[i];
        if (p->drain_at_ms && !p->drained) {
            if (now_ms >= p->drain_at_ms)
                drain_now(p);
            else
                next = agent_timeout_min(next, p->drain_at_ms, now_ms);
        }
        if (p->kill_at_ms) {
            if (now_ms >= p->kill_at_ms) {
                signal_all(p, SIGKILL);
                p->kill_at_ms = 0;
            } else {
                next = agent_timeout_min(next, p->kill_at_ms, now_ms);
            }
        }
        check_tree(p);
        /* a group outliving its leader: its members may not be our children, so no SIGCHLD
         * tells when they go */
        if (p->leader_exited && !p->tree_exited)
            next = agent_timeout_min(next, now_ms + PROC_TREE_RECHECK_MS, now_ms);
        if (p->give_up_ms)
            next = agent_timeout_min(next, p->give_up_ms, now_ms);
    }
    return next;
}

void procs_poll_add(struct agent *ag, struct agent_pollset *ps)
{
    struct proc_table *t = ag->procs;
    for (size_t i = 0; t && i < t->n; i++) {
        struct proc *p = t->p[i];
        if (p->out_fd >= 0)
            agent_poll_add(ps, p->out_fd, POLLIN, p->key, ROLE_PROC_OUT);
        if (p->err_fd >= 0)
            agent_poll_add(ps, p->err_fd, POLLIN, p->key, ROLE_PROC_ERR);
        if (p->in_fd >= 0 && p->inputs && p->inputs->written < p->inputs->data.len)
            agent_poll_add(ps, p->in_fd, POLLOUT, p->key, ROLE_PROC_IN);
    }
}

void procs_on_poll(struct agent *ag, uint32_t key, int role, short revents)
{
    struct proc *p = procs_by_key(ag, key);
    if (!p)
        return;
    if (role == ROLE_PROC_OUT && p->out_fd >= 0)
        (void)read_output(p, &p->out_fd, out_stream(p));
    else if (role == ROLE_PROC_ERR && p->err_fd >= 0)
        (void)read_output(p, &p->err_fd, 1);
    else if (role == ROLE_PROC_IN)
        feed(ag, p);
}

bool procs_on_reaped(struct agent *ag, pid_t pid, int status)
{
    struct proc_table *t = ag->procs;
    for (size_t i = 0; t && i < t->n; i++) {
        struct proc *p = t->p[i];
        if (p->pid != pid || p->leader_exited)
            continue;
        p->leader_exited = true;
        p->status = status;
        p->finished_ms = wall_ms();
        if (p->state == PROC_RUNNING)
            p->state = PROC_EXITED;
        /* a terminal's last bytes may still be on their way to the master when the leader is
         * reaped (the kernel moves them in a work item): wait a little before calling the
         * output complete */
        p->drain_at_ms = agent_now_ms() + PROC_DRAIN_MS;
        check_drained(p);
        check_tree(p);
        return true;
    }
    return false;
}

void procs_release(struct agent *ag)
{
    struct proc_table *t = ag->procs;
    for (size_t i = 0; t && i < t->n; i++) {
        if (!t->p[i]->tree_exited)
            (void)kill(-t->p[i]->pid, SIGKILL); /* gone already is fine */
        proc_free(t->p[i]);
    }
    free(t);
    ag->procs = NULL;
}

/* --- records --- */

static const char *state_name(enum proc_state s)
{
    static const char *const names[] = {
        [PROC_RUNNING] = "running",
        [PROC_TERMINATING] = "terminating",
        [PROC_EXITED] = "exited",
    };
    return names[s];
}

/* A JSON string of bytes that may not be UTF-8 (a foreground's command line). */
static json_t *string_from_bytes(const char *p, size_t len)
{
    struct buf b;
    buf_init(&b, 4 * len + 4);
    json_t *j = NULL;
    if (utf8_sanitize((const uint8_t *)p, len, true, &b) >= 0)
        j = json_stringn(b.len ? (const char *)b.data : "", b.len);
    buf_release(&b);
    return j;
}

/* args: argv[from..] as an array; [] with truncated set in compact form when long. */
static json_t *args_of(json_t *argv, size_t from, bool compact, bool *truncated)
{
    json_t *a = json_array();
    size_t total = 0;
    for (size_t i = from; a && i < json_array_size(argv); i++) {
        json_t *s = json_array_get(argv, i);
        total += json_string_length(s);
        if (compact && total > PROC_COMPACT_ARGS) {
            json_array_clear(a);
            *truncated = true;
            break;
        }
        json_array_append(a, s);
    }
    return a;
}

/* {pid, cmd, args} of the terminal's foreground group leader, or NULL. */
static json_t *foreground(const struct proc *p, bool compact)
{
    int m = master_fd(p);
    pid_t fg = m >= 0 && !p->leader_exited ? tcgetpgrp(m) : -1;
    if (fg <= 0)
        return NULL;
    json_t *o = json_pack("{s:i}", "pid", (int)fg);
    char path[64], line[PROC_CMDLINE_MAX];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)fg);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, line, sizeof(line)) : -1;
    if (fd >= 0)
        close(fd);
    if (!o || n <= 0)
        return o;
    json_t *argv = json_array();
    for (ssize_t off = 0; argv && off < n;) {
        size_t len = strnlen(line + off, (size_t)(n - off));
        json_array_append_new(argv, string_from_bytes(line + off, len));
        off += (ssize_t)len + 1;
    }
    bool truncated = false;
    if (argv && json_array_size(argv)) {
        json_object_set(o, "cmd", json_array_get(argv, 0));
        json_object_set_new(o, "args", args_of(argv, 1, compact, &truncated));
        if (truncated)
            json_object_set_new(o, "args_truncated", json_true());
    }
    json_decref(argv);
    return o;
}

json_t *procs_record(const struct proc *p, bool compact)
{
    bool truncated = false;
    uint64_t newest = p->ring.next_seq - 1;
    json_t *o = json_pack(
        "{s:s, s:s, s:i, s:s, s:b, s:b, s:I, s:O, s:o, s:s, s:{s:I, s:I, s:I}, s:I}",
        "process_id", p->id, "kind", p->pty ? "pty" : "process", "pid", (int)p->pid, "state",
        state_name(p->state), "leader_exited", p->leader_exited, "tree_exited", p->tree_exited,
        "created_ms", (json_int_t)p->created_ms, "cmd", json_array_get(p->argv, 0), "args",
        args_of(p->argv, 1, compact, &truncated), "cwd", p->cwd, "output", "oldest_seq",
        (json_int_t)(p->ring.n ? outring_oldest(&p->ring) : 0), "newest_seq",
        (json_int_t)newest, "bytes", (json_int_t)p->ring.bytes, "input_seq",
        (json_int_t)p->input_seq);
    if (!o)
        return NULL;
    if (truncated)
        json_object_set_new(o, "args_truncated", json_true());
    if (p->leader_exited) {
        bool sig = WIFSIGNALED(p->status);
        int code = sig ? 128 + WTERMSIG(p->status) : WEXITSTATUS(p->status);
        json_object_set_new(o, "finished_ms", json_integer((json_int_t)p->finished_ms));
        json_object_set_new(o, "exit_code", json_integer(code));
        if (sig)
            json_object_set_new(o, "signal", json_integer(WTERMSIG(p->status)));
    }
    json_t *fg = p->pty ? foreground(p, compact) : NULL;
    if (fg)
        json_object_set_new(o, "foreground", fg);
    return o;
}
