/* SPDX-License-Identifier: MIT */
/* host_sync.c: the blocking adapter over host.h (see host_sync.h): one private libevent loop
 * and host, each call one host operation and the loop run until its callback fired. Owns the
 * loop, the host and the exits it recorded; the VMs are the host's. */
#include "daemon/host/host_sync.h"

#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fdio.h"
#include "common/herr.h"
#include "common/mono.h"
#include "common/ulid.h"
#include "daemon/host/agent_output.h"
#include "common/wire.h"
#include "daemon/host/rundir.h"

#define PUT_CHUNK (256u * 1024u) /* bytes read from an upload's source per write */

/* An exit host_set_on_exit() reported, kept for host_sync_vm_wait_exit(). */
struct sync_exit {
    struct sync_exit *next;
    char id[RUNDIR_ID_MAX + 1];
    struct host_exit ex;
};

struct host_sync {
    struct event_base *base;     /* owned */
    struct host *h;              /* owned */
    struct sync_exit *exits;     /* owned, newest first */
    bool interrupted;            /* host_sync_interrupt() since the last wait */
    bool timed_out;              /* the wait's deadline passed */
    char run_root[64];           /* host_sync_new_private()'s, removed at free; "" if none */
};

static void on_exit_record(void *ud, const char *id, const struct host_exit *ex)
{
    struct host_sync *s = ud;
    struct sync_exit *x = calloc(1, sizeof(*x));
    if (!x)
        return; /* out of memory: a waiter times out instead */
    snprintf(x->id, sizeof(x->id), "%s", id);
    x->ex = *ex;
    x->next = s->exits;
    s->exits = x;
}

int host_sync_new(const struct host_config *c, struct host_sync **ret)
{
    struct host_sync *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->base = event_base_new();
    if (!s->base) {
        free(s);
        return -ENOMEM;
    }
    int r = host_new(s->base, c, &s->h);
    if (r < 0) {
        event_base_free(s->base);
        free(s);
        return r;
    }
    host_set_on_exit(s->h, on_exit_record, s);
    *ret = s;
    return 0;
}

int host_sync_new_private(const struct host_config *c, const char *prefix,
                          char ret_id[HOST_SYNC_ID_SIZE], struct host_sync **ret)
{
    char root[sizeof(((struct host_sync *)0)->run_root)], u[ULID_LEN + 1];
    if ((size_t)snprintf(root, sizeof(root), "/tmp/%s.XXXXXX", prefix) >= sizeof(root))
        return -ENAMETOOLONG;
    if (ulid_generate(u) < 0)
        return -EIO;
    if (!mkdtemp(root))
        return -errno;
    struct host_config pc = *c;
    pc.run_root = root;
    int r = host_sync_new(&pc, ret);
    if (r < 0) {
        (void)rmdir(root);
        return r;
    }
    memcpy((*ret)->run_root, root, sizeof(root));
    snprintf(ret_id, HOST_SYNC_ID_SIZE, "sb-%s", u);
    return 0;
}

const char *host_sync_run_root(const struct host_sync *s)
{
    return s->run_root[0] ? s->run_root : NULL;
}

void host_sync_free(struct host_sync *s)
{
    if (!s)
        return;
    host_free(s->h);
    while (s->exits) {
        struct sync_exit *x = s->exits;
        s->exits = x->next;
        free(x);
    }
    event_base_free(s->base);
    if (s->run_root[0])
        (void)rmdir(s->run_root); /* not empty: a kept run dir, left for the caller to see */
    free(s);
}

struct host *host_sync_host(struct host_sync *s)
{
    return s->h;
}

struct event_base *host_sync_base(struct host_sync *s)
{
    return s->base;
}

void host_sync_interrupt(struct host_sync *s)
{
    s->interrupted = true;
    event_base_loopbreak(s->base);
}

static void on_wait_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct host_sync *s = arg;
    s->timed_out = true;
    event_base_loopbreak(s->base);
}

int host_sync_run(struct host_sync *s, bool (*cond)(void *arg), void *arg, int64_t deadline_us)
{
    struct event *t = NULL;
    s->timed_out = false;
    if (deadline_us >= 0) {
        t = evtimer_new(s->base, on_wait_deadline, s);
        if (!t)
            return -ENOMEM;
        int64_t left = deadline_us - mono_now_us();
        struct timeval tv = { .tv_sec = left > 0 ? left / 1000000 : 0,
                              .tv_usec = left > 0 ? left % 1000000 : 0 };
        evtimer_add(t, &tv);
    }
    int r = 0;
    for (;;) {
        if (cond(arg))
            break;
        if (s->interrupted) {
            s->interrupted = false;
            r = -EINTR;
            break;
        }
        if (s->timed_out) {
            r = -ETIMEDOUT;
            break;
        }
        int n = event_base_loop(s->base, EVLOOP_ONCE);
        if (n != 0) { /* 1: no event is pending, so nothing can ever make cond true */
            r = n < 0 ? -EIO : -ESRCH;
            break;
        }
    }
    if (t)
        event_free(t);
    return r;
}

int host_sync_errno(const struct host_result *res)
{
    switch (res->err) {
    case HOST_OK:
        return 0;
    case HOST_E_NOT_FOUND:
        return -ENOENT;
    case HOST_E_INVALID: /* a restore's refusal keeps its cause: -ESTALE, -EBADMSG */
        return res->errnum < 0 ? res->errnum : -EINVAL;
    case HOST_E_EXISTS:
        return -EEXIST;
    case HOST_E_QEMU:
        return -ECHILD;
    case HOST_E_GUEST:
        return -EIO;
    case HOST_E_TIMEOUT:
        return -ETIMEDOUT;
    case HOST_E_GONE:
        return -ESRCH;
    case HOST_E_BUSY:
        return -EBUSY;
    case HOST_E_CANCELED:
        return -ECANCELED;
    case HOST_E_SYSTEM:
    default:
        return res->errnum < 0 ? res->errnum : -EIO;
    }
}

/* --- operations with a host_done_fn --- */

/* One operation's completion, on the heap: a wait that gives up (deadline, interrupt) leaves
 * it to the callback, which frees it then. */
struct op {
    bool done;
    bool abandoned;              /* nobody waits any more: the callback frees */
    struct host_result res;
    char *ret_json;              /* host_vm_qmp(): the reply, owned */
    int64_t *stopped_us;         /* host_vm_snapshot_live(): the waiter's, or NULL */
};

static struct op *op_new(struct herr *e)
{
    struct op *o = calloc(1, sizeof(*o));
    if (!o)
        herr_set(e, -ENOMEM, "out of memory");
    return o;
}

static void op_free(struct op *o)
{
    free(o->ret_json);
    free(o);
}

/* Why a wait ended early: its deadline passed, or it was interrupted. */
static const char *wait_err_text(int r)
{
    return r == -ETIMEDOUT ? "no answer before the deadline" : strerror(-r);
}

static void on_op_done(void *ud, const char *id, const struct host_result *res)
{
    struct op *o = ud;
    if (o->abandoned) {
        op_free(o);
        return;
    }
    o->done = true;
    o->res = *res;
}

static bool op_done(void *arg)
{
    return ((struct op *)arg)->done;
}

/* Waits for o (started with on_op_done) and turns its result into an errno with e; o is
 * freed or left to its callback. */
static int op_wait(struct host_sync *s, struct op *o, int64_t deadline_us, const char *what,
                   struct herr *e)
{
    int r = host_sync_run(s, op_done, o, deadline_us);
    if (r < 0) {
        o->abandoned = true;
        return herr_set(e, r, "%s: %s", what, wait_err_text(r));
    }
    r = host_sync_errno(&o->res);
    if (r < 0)
        herr_set(e, r, "%s", o->res.msg);
    op_free(o);
    return r;
}

/* The host operations with a host_done_fn, one shape for the waits below. */
enum op_kind { OP_CREATE, OP_DESTROY, OP_PAUSE, OP_SET_NET, OP_PING, OP_RECONNECT };

static int op_run(struct host_sync *s, enum op_kind kind, const char *id, const void *arg,
                  int64_t deadline_us, struct herr *e)
{
    static const char *const what[] = {
        [OP_CREATE] = "create", [OP_DESTROY] = "destroy", [OP_PAUSE] = "pause",
        [OP_SET_NET] = "set net", [OP_PING] = "agent ping", [OP_RECONNECT] = "agent reconnect",
    };
    struct op *o = op_new(e);
    if (!o)
        return -ENOMEM;
    /* the operations of a VM id, with a string argument or none */
    static void (*const with_str[])(struct host *, const char *, const char *, host_done_fn,
                                    void *) = { [OP_PAUSE] = host_vm_pause,
                                                [OP_SET_NET] = host_vm_set_net };
    static void (*const id_only[])(struct host *, const char *, host_done_fn, void *) = {
        [OP_DESTROY] = host_vm_destroy, [OP_PING] = host_vm_ping,
        [OP_RECONNECT] = host_vm_agent_reconnect,
    };
    if (kind == OP_CREATE)
        host_vm_create(s->h, arg, on_op_done, o);
    else if (kind == OP_PAUSE || kind == OP_SET_NET)
        with_str[kind](s->h, id, arg, on_op_done, o);
    else
        id_only[kind](s->h, id, on_op_done, o);
    return op_wait(s, o, deadline_us, what[kind], e);
}

int host_sync_vm_create(struct host_sync *s, const struct host_vm_spec *spec, struct herr *e)
{
    return op_run(s, OP_CREATE, NULL, spec, -1, e);
}

int host_sync_vm_destroy(struct host_sync *s, const char *id, struct herr *e)
{
    return op_run(s, OP_DESTROY, id, NULL, -1, e);
}

int host_sync_vm_pause(struct host_sync *s, const char *id, const char *snap_dir,
                       struct herr *e)
{
    return op_run(s, OP_PAUSE, id, snap_dir, -1, e);
}

int host_sync_vm_set_net(struct host_sync *s, const char *id, const char *net_json,
                         struct herr *e)
{
    return op_run(s, OP_SET_NET, id, net_json, -1, e);
}

static void on_live_done(void *ud, const char *id, const struct host_result *res,
                         const struct host_live_stats *st)
{
    struct op *o = ud;
    if (!o->abandoned && o->stopped_us)
        *o->stopped_us = st->stopped_us;
    on_op_done(o, id, res);
}

int host_sync_vm_snapshot_live(struct host_sync *s, const char *id, const char *snap_dir,
                               int64_t *ret_stopped_us, struct herr *e)
{
    struct op *o = op_new(e);
    if (!o)
        return -ENOMEM;
    o->stopped_us = ret_stopped_us;
    host_vm_snapshot_live(s->h, id, snap_dir, on_live_done, o);
    return op_wait(s, o, -1, "live snapshot", e);
}

int host_sync_vm_ping(struct host_sync *s, const char *id, int64_t deadline_us, struct herr *e)
{
    return op_run(s, OP_PING, id, NULL, deadline_us, e);
}

int host_sync_vm_agent_reconnect(struct host_sync *s, const char *id, int64_t deadline_us,
                                 struct herr *e)
{
    return op_run(s, OP_RECONNECT, id, NULL, deadline_us, e);
}

static void on_qmp_reply(void *ud, const char *id, const struct host_result *res,
                         const char *ret_json)
{
    struct op *o = ud;
    struct host_result r = *res;
    if (!o->abandoned && ret_json && !(o->ret_json = strdup(ret_json))) {
        r.err = HOST_E_SYSTEM;
        r.errnum = -ENOMEM;
        snprintf(r.msg, sizeof(r.msg), "out of memory");
    }
    on_op_done(ud, id, &r);
}

int host_sync_vm_qmp(struct host_sync *s, const char *id, const char *cmd, const char *args_json,
                     int64_t deadline_us, char **ret_json, struct herr *e)
{
    struct op *o = op_new(e);
    if (!o)
        return -ENOMEM;
    int r = host_vm_qmp(s->h, id, cmd, args_json, on_qmp_reply, o);
    if (r < 0) {
        op_free(o);
        return herr_set(e, r, "qmp '%s': %s", cmd, strerror(-r));
    }
    r = host_sync_run(s, op_done, o, deadline_us);
    if (r < 0) {
        o->abandoned = true;
        return herr_set(e, r, "qmp '%s': %s", cmd,
                        wait_err_text(r));
    }
    if (o->res.err == HOST_E_QEMU)
        r = herr_set(e, -EREMOTEIO, "%s", o->res.msg);
    else if ((r = host_sync_errno(&o->res)) < 0)
        herr_set(e, r, "%s", o->res.msg);
    else if (!o->ret_json)
        r = herr_set(e, -ENOMEM, "qmp '%s': out of memory", cmd);
    if (r == 0 && ret_json) {
        *ret_json = o->ret_json;
        o->ret_json = NULL;
    }
    op_free(o);
    return r;
}

struct exit_wait {
    struct host_sync *s;
    const char *id;
};

static struct sync_exit *exit_find(struct host_sync *s, const char *id)
{
    for (struct sync_exit *x = s->exits; x; x = x->next)
        if (strcmp(x->id, id) == 0)
            return x;
    return NULL;
}

static bool exited(void *arg)
{
    struct exit_wait *w = arg;
    return exit_find(w->s, w->id) != NULL;
}

int host_sync_vm_wait_exit(struct host_sync *s, const char *id, int64_t deadline_us,
                           struct host_exit *ret_exit)
{
    struct exit_wait w = { s, id };
    int r = host_sync_run(s, exited, &w, deadline_us);
    if (r < 0)
        return r;
    if (ret_exit)
        *ret_exit = exit_find(s, id)->ex;
    return 0;
}

/* --- streams --- */

/* One stream's state, on the heap for the same reason as struct op. */
struct stream {
    struct host_sync *s;
    bool ended;
    bool abandoned;                       /* the waiter gave up: on_end frees */
    struct agent_end end;
    uint32_t id;
    /* buffered exec */
    bool gather;                          /* output goes into o */
    struct agent_output o;
    /* streamed exec: the caller's output callback */
    const struct agent_stream_ops *inner;
    void *inner_ud;
    /* file get */
    int dst_fd;                           /* -1 when not a download */
    uint64_t written;
    /* file put */
    bool credit;                          /* on_credit came since the last refused write */
};

/* A stream's state for call what ("exec", "file put", ...); NULL with e when out of memory. */
static struct stream *stream_new(struct host_sync *s, const char *what, struct herr *e)
{
    struct stream *x = calloc(1, sizeof(*x));
    if (!x) {
        herr_set(e, -ENOMEM, "agent %s: out of memory", what);
        return NULL;
    }
    x->s = s;
    x->dst_fd = -1;
    return x;
}

static void stream_free(struct stream *x)
{
    agent_output_release(&x->o);
    free(x);
}

static int on_stream_data(void *ud, uint16_t type, const uint8_t *p, size_t len, bool eof)
{
    struct stream *x = ud;
    if (x->abandoned)
        return 0;
    if (x->dst_fd >= 0) {
        int r = fd_write_all(x->dst_fd, p, len);
        if (r < 0)
            return r;
        x->written += len;
        return 0;
    }
    if (x->inner)
        return x->inner->on_data ? x->inner->on_data(x->inner_ud, type, p, len, eof) : 0;
    if (x->gather)
        agent_output_add(&x->o, type, p, len);
    return 0;
}

static void on_stream_credit(void *ud, size_t room)
{
    ((struct stream *)ud)->credit = true;
}

static void on_stream_end(void *ud, const struct agent_end *end)
{
    struct stream *x = ud;
    x->ended = true;
    x->end = *end;
    if (x->abandoned)
        stream_free(x); /* nobody waits for it */
}

static const struct agent_stream_ops stream_ops = {
    .on_data = on_stream_data,
    .on_credit = on_stream_credit,
    .on_end = on_stream_end,
};

static bool stream_ended(void *arg)
{
    return ((struct stream *)arg)->ended;
}

static const char *start_err_text(int r)
{
    switch (r) {
    case -ENOENT:
        return "no such vm";
    case -EBUSY:
        return "the vm is not running";
    case -ENOTCONN:
        return "the agent is not connected";
    default:
        return strerror(-r);
    }
}

/* x (from stream_new()) was started with result r: 0, or r with e and x freed. */
static int started(struct stream *x, int r, const char *what, struct herr *e)
{
    if (r < 0) {
        stream_free(x);
        herr_set(e, r, "agent %s: cannot start: %s", what, start_err_text(r));
    }
    return r;
}

/* The waiter gives up on stream x (deadline, interrupt): cancel it, which ends it now, or
 * leave it to on_end when it cannot be cancelled here. */
static void stream_abandon(struct host_sync *s, const char *id, struct stream *x)
{
    if (x->ended) {
        stream_free(x);
        return;
    }
    (void)host_vm_exec_cancel(s->h, id, x->id); /* ends it with LOST before returning */
    if (x->ended)
        stream_free(x);
    else
        x->abandoned = true;
}

/* Waits for x (started with r) to end; its errno and e; x is freed unless ret_x. */
static int stream_wait(struct host_sync *s, const char *id, struct stream *x, const char *what,
                       int64_t deadline_us, struct herr *e)
{
    int r = host_sync_run(s, stream_ended, x, deadline_us);
    if (r < 0) {
        herr_set(e, r, "agent %s: %s", what,
                 wait_err_text(r));
        return r;
    }
    return agent_end_errno(&x->end, e);
}

struct many {
    struct stream **xs;
    size_t n;
};

static bool all_ended(void *arg)
{
    struct many *m = arg;
    for (size_t i = 0; i < m->n; i++)
        if (m->xs[i] && !m->xs[i]->ended)
            return false;
    return true;
}

int host_sync_exec_many(struct host_sync *s, const char *id, const struct agent_exec_req *reqs,
                        size_t n, size_t out_cap, int64_t deadline_us,
                        struct agent_exec_result *rets, int *errs, struct herr *e)
{
    struct stream **xs = calloc(n ? n : 1, sizeof(*xs));
    if (!xs)
        return herr_set(e, -ENOMEM, "agent exec: out of memory");
    int first = 0;
    int *start_err = calloc(n ? n : 1, sizeof(*start_err));
    if (!start_err) {
        free(xs);
        return herr_set(e, -ENOMEM, "agent exec: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        rets[i] = (struct agent_exec_result){ .exit_code = -1 };
        xs[i] = stream_new(s, "exec", NULL);
        if (xs[i]) {
            agent_output_init(&xs[i]->o, &rets[i], out_cap); /* buffered as it comes */
            xs[i]->gather = true;
        }
        int r = xs[i] ? host_vm_exec(s->h, id, &reqs[i], &stream_ops, xs[i], &xs[i]->id)
                      : -ENOMEM;
        if (r < 0) {
            start_err[i] = r;
            if (xs[i])
                stream_free(xs[i]);
            xs[i] = NULL;
        }
    }
    struct many m = { xs, n };
    int r = host_sync_run(s, all_ended, &m, deadline_us);
    for (size_t i = 0; i < n; i++) {
        int ri;
        const char *prog = reqs[i].argv && reqs[i].argv[0] ? reqs[i].argv[0] : "";
        if (!xs[i]) {
            ri = herr_set(e, start_err[i], "agent exec '%s': cannot start: %s", prog,
                          start_err_text(start_err[i]));
            rets[i].out = (uint8_t *)calloc(1, 1);
            rets[i].err = (uint8_t *)calloc(1, 1);
        } else {
            if (!xs[i]->ended) {
                /* deadline or interrupt: stop the command, forget the stream */
                ri = r < 0 ? r : -ETIMEDOUT;
                herr_set(e, ri, "agent exec '%s': %s", prog,
                         wait_err_text(ri));
            } else {
                ri = agent_end_errno(&xs[i]->end, e);
            }
            agent_output_finish(&xs[i]->o, xs[i]->ended ? &xs[i]->end : NULL);
            xs[i]->gather = false;
            stream_abandon(s, id, xs[i]);
        }
        if (errs)
            errs[i] = ri;
        if (ri < 0 && first == 0)
            first = ri;
    }
    free(start_err);
    free(xs);
    return first;
}

int host_sync_exec(struct host_sync *s, const char *id, const struct agent_exec_req *req,
                   size_t out_cap, int64_t deadline_us, struct agent_exec_result *ret,
                   struct herr *e)
{
    return host_sync_exec_many(s, id, req, 1, out_cap, deadline_us, ret, NULL, e);
}

int host_sync_exec_stream(struct host_sync *s, const char *id, const struct agent_exec_req *req,
                          const struct agent_stream_ops *ops, void *ud, int64_t deadline_us,
                          struct agent_end *ret_end, struct herr *e)
{
    struct stream *x = stream_new(s, "exec", e);
    if (!x)
        return -ENOMEM;
    x->inner = ops;
    x->inner_ud = ud;
    int r = started(x, host_vm_exec(s->h, id, req, &stream_ops, x, &x->id), "exec", e);
    if (r < 0)
        return r;
    r = stream_wait(s, id, x, "exec", deadline_us, e);
    if (ret_end)
        *ret_end = x->end;
    if (r == 0 && x->end.kind != AGENT_END_EXIT)
        r = herr_set(e, -EPROTO, "agent exec: stream ended without EXIT");
    x->inner = NULL;
    stream_abandon(s, id, x);
    return r;
}

static bool credit_or_end(void *arg)
{
    struct stream *x = arg;
    return x->credit || x->ended;
}

/* Pushes src_fd's bytes into upload x until EOF, waiting for credit when refused. */
static int put_pump(struct host_sync *s, const char *id, struct stream *x, int src_fd,
                    int64_t deadline_us, struct herr *e)
{
    uint8_t *chunk = malloc(PUT_CHUNK);
    if (!chunk)
        return herr_set(e, -ENOMEM, "agent file put: out of memory");
    int r = 0;
    while (r == 0 && !x->ended) {
        ssize_t n = read(src_fd, chunk, PUT_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = herr_set(e, -errno, "agent file put: reading the source: %s", strerror(errno));
            break;
        }
        if (n == 0) {
            r = host_stream_finish(s->h, id, x->id);
            if (r < 0 && !x->ended)
                herr_set(e, r, "agent file put: cannot finish: %s", strerror(-r));
            else
                r = 0;
            break;
        }
        for (size_t off = 0; r == 0 && off < (size_t)n && !x->ended;) {
            x->credit = false;
            ssize_t w = host_stream_write(s->h, id, x->id, chunk + off, (size_t)n - off);
            if (w < 0) {
                if (!x->ended)
                    r = herr_set(e, (int)w, "agent file put: %s", strerror((int)-w));
                break;
            }
            off += (size_t)w;
            if (off < (size_t)n && !x->credit) {
                r = host_sync_run(s, credit_or_end, x, deadline_us);
                if (r < 0)
                    herr_set(e, r, "agent file put: %s",
                             wait_err_text(r));
            }
        }
    }
    free(chunk);
    return r;
}

int host_sync_file_put(struct host_sync *s, const char *id, const char *path, uint32_t mode,
                       int src_fd, int64_t deadline_us, uint64_t *ret_size, struct herr *e)
{
    struct stream *x = stream_new(s, "file put", e);
    if (!x)
        return -ENOMEM;
    int r = started(x, host_vm_file_put_start(s->h, id, path, mode, &stream_ops, x, &x->id),
                    "file put", e);
    if (r < 0)
        return r;
    r = put_pump(s, id, x, src_fd, deadline_us, e);
    if (r == 0)
        r = stream_wait(s, id, x, "file put", deadline_us, e);
    if (r == 0 && ret_size)
        *ret_size = x->end.size;
    stream_abandon(s, id, x);
    return r;
}

int host_sync_file_get(struct host_sync *s, const char *id, const char *path, int dst_fd,
                       int64_t deadline_us, uint64_t *ret_size, struct herr *e)
{
    struct stream *x = stream_new(s, "file get", e);
    if (!x)
        return -ENOMEM;
    x->dst_fd = dst_fd;
    int r = started(x, host_vm_file_get(s->h, id, path, &stream_ops, x, &x->id), "file get", e);
    if (r < 0)
        return r;
    r = stream_wait(s, id, x, "file get", deadline_us, e);
    if (r == 0 && x->end.kind != AGENT_END_DONE && x->end.kind != AGENT_END_EXIT)
        r = herr_set(e, -EPROTO, "agent file get: stream ended badly");
    if (r == 0 && ret_size)
        *ret_size = x->written;
    x->dst_fd = -1;
    stream_abandon(s, id, x);
    return r;
}
