/* SPDX-License-Identifier: MIT */
/* agent_client.c: host side of the agent channel: streams, flow-control credit, callbacks,
 * driven by the owner's event loop (host_local.c). Owns the socket and its streams; the frame
 * codec is src/common/wire.c. Never blocks; knows nothing of QEMU. */
#include "daemon/host/agent_client.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/hostname.h"
#include "common/utf8.h"
#include "common/wire.h"
#include "daemon/host/usock.h"
#include "common/mono.h"

#define AGENT_OUT_MAX (8u * 1024u * 1024u)  /* queued output; past it the peer is not reading */
#define AGENT_PUMP_LOW (1024u * 1024u)      /* refill data frames while less is queued */
#define AGENT_MAX_CREDIT (1ull << 40)       /* more granted credit is a violation */
#define AGENT_PUSH_MAX (1024u * 1024u)      /* bytes a pushed upload buffers before refusing */
#define AGENT_HELLO_ENTROPY 64             /* random bytes in each HELLO */
#define AGENT_NET_MAX (16u * 1024u)         /* a net object's JSON; a valid one is < 4 KiB */
#define AGENT_PTY_MAX 1000                  /* rows and cols of a terminal: 1..1000 */
#define AGENT_PROC_OUTPUT_HEADER 9u         /* PROC_OUTPUT: seq u64 LE, stream u8 */
#define AGENT_TUNNEL_PUSH_MAX (256u * 1024u) /* a tunnel's pushed bytes: many may be open */

struct agent_stream {
    uint32_t id;
    uint16_t kind;                   /* WIRE_EXEC, WIRE_FILE_PUT, WIRE_FILE_GET, WIRE_POWER,
                                        WIRE_NETCFG, WIRE_PROC_* */
    bool pty;                        /* an EXEC on a terminal: RESIZE allowed */
    const struct agent_stream_ops *ops;
    void *ud;
    uint64_t send_credit;            /* bytes we may still send on it */
    uint64_t recv_credit;            /* bytes the agent may still send us */
    /* data source: memory (exec stdin); a file put is pushed (below) */
    const uint8_t *src_mem;
    size_t src_len, src_off;
    bool src_active;                 /* data left to send (then an EOF frame) */
    uint16_t src_type;               /* WIRE_STDIN or WIRE_DATA */
    bool cancelled;                  /* CANCEL sent */
    /* pushed source (agent_file_put_push_start(), an exec with stdin_push or pty, PROC_INPUT):
     * bytes the owner wrote, not yet framed */
    bool push;
    struct buf pushed;               /* max AGENT_PUSH_MAX; push_off bytes already sent */
    size_t push_off;
    bool push_eof;                   /* agent_stream_finish() was called */
    bool push_blocked;               /* a write was refused in part: on_credit owed */
    bool tcp_up;                     /* TCP_OPEN: TCP_CONNECTED came */
    bool tcp_peer_eof;               /* TCP_OPEN: the guest side's EOF came */
    struct agent_stream *next;
};

struct agent_client {
    int fd;                          /* owned */
    bool broken;                     /* connection failed; every stream ended */
    int broken_err;
    struct wire_reader rd;
    struct buf out;                  /* queued frames */
    uint32_t next_stream;
    struct agent_stream *streams;
    bool ready;
    int ready_err;                   /* READY of a version we do not speak */
    char agent_name[64];
    char boot_id[64];
    char session[33];                /* random hex naming this connection in HELLO */
    char hostname[HOSTNAME_MAX + 1]; /* sent in HELLO when not "" */
    json_t *net;                     /* sent in HELLO as "net" when not NULL; owned */
    uint64_t ping_seq;               /* payload of the last PING on stream 0 */
    bool pong_seen;
    struct agent_client_stats st;
    char last_error[256];
    agent_self_fn self_fn;           /* SELF frames go here (NULL: dropped) */
    void *self_ud;
};

__attribute__((format(printf, 2, 3)))
static void note(struct agent_client *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->last_error, sizeof(c->last_error), fmt, ap);
    va_end(ap);
}

/* A fresh session name: random hex. */
static void session_name(struct agent_client *c)
{
    uint8_t rnd[16];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        /* no entropy this early is unheard of on a host; a clock-based name still differs
         * from the previous connection's, which is all the agent needs */
        uint64_t t = (uint64_t)mono_now_us(), a = (uint64_t)(uintptr_t)c;
        memcpy(rnd, &t, sizeof(t));
        memcpy(rnd + 8, &a, sizeof(a));
    }
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(c->session + 2 * i, 3, "%02x", rnd[i]);
}

int agent_client_new(int fd, struct agent_client **ret)
{
    struct agent_client *c = usock_client_alloc(fd, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->fd = fd;
    c->next_stream = 1;
    session_name(c);
    wire_reader_init(&c->rd);
    buf_init(&c->out, AGENT_OUT_MAX);
    *ret = c;
    return 0;
}

static void stream_free(struct agent_stream *s)
{
    buf_release(&s->pushed);
    free(s);
}

void agent_client_free(struct agent_client *c)
{
    if (!c)
        return;
    while (c->streams) {
        struct agent_stream *s = c->streams;
        c->streams = s->next;
        stream_free(s);
    }
    wire_reader_release(&c->rd);
    buf_release(&c->out);
    json_decref(c->net);
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

int agent_client_fd(const struct agent_client *c)
{
    return c->fd;
}

bool agent_client_want_write(const struct agent_client *c)
{
    return !c->broken && c->out.len > 0;
}

bool agent_client_ready(const struct agent_client *c)
{
    return c->ready;
}

int agent_client_ready_error(const struct agent_client *c)
{
    return c->ready_err;
}

const char *agent_client_agent_name(const struct agent_client *c)
{
    return c->agent_name;
}

const char *agent_client_boot_id(const struct agent_client *c)
{
    return c->boot_id;
}

void agent_client_stats(const struct agent_client *c, struct agent_client_stats *ret)
{
    *ret = c->st;
    ret->resyncs = c->rd.resyncs;
    ret->skipped = c->rd.skipped;
}

const char *agent_client_last_error(const struct agent_client *c)
{
    return c->last_error;
}

size_t agent_client_nstreams(const struct agent_client *c)
{
    size_t n = 0;
    for (const struct agent_stream *s = c->streams; s; s = s->next)
        n++;
    return n;
}

static struct agent_stream *stream_find(struct agent_client *c, uint32_t id)
{
    for (struct agent_stream *s = c->streams; s; s = s->next)
        if (s->id == id)
            return s;
    return NULL;
}

/* Unlinks s, reports end and frees it. The callback runs after unlinking, so it may open new
 * streams or free its ud. */
static void stream_end(struct agent_client *c, struct agent_stream *s, const struct agent_end *end)
{
    for (struct agent_stream **pp = &c->streams; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    if (s->ops && s->ops->on_end)
        s->ops->on_end(s->ud, end);
    stream_free(s);
}

static void stream_end_err(struct agent_client *c, struct agent_stream *s,
                           enum agent_end_kind kind, int err, const char *name, const char *msg)
{
    struct agent_end end = { .kind = kind, .err = err, .exit_code = -1 };
    snprintf(end.error, sizeof(end.error), "%s", name);
    snprintf(end.message, sizeof(end.message), "%s", msg);
    stream_end(c, s, &end);
}

static void client_break(struct agent_client *c, int err)
{
    if (c->broken)
        return;
    c->broken = true;
    c->broken_err = err;
    note(c, "agent connection lost: %s", strerror(-err));
    while (c->streams)
        stream_end_err(c, c->streams, AGENT_END_LOST, err, strerrorname_np(-err) ?: "EIO",
                       "agent connection lost");
}

static int queue(struct agent_client *c, uint16_t type, uint16_t flags, uint32_t stream,
                 const void *p, size_t len)
{
    if (c->broken)
        return -ENOTCONN;
    int r = wire_append(&c->out, type, flags, stream, p, len);
    if (r == -EMSGSIZE && len <= WIRE_MAX_PAYLOAD) {
        /* the output queue is full: the peer stopped reading */
        client_break(c, -ENOBUFS);
        return -ENOBUFS;
    }
    return r;
}

static int queue_json(struct agent_client *c, uint16_t type, uint32_t stream, json_t *j)
{
    if (!j)
        return -ENOMEM;
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!s)
        return -ENOMEM;
    int r = queue(c, type, 0, stream, s, strlen(s));
    free(s);
    return r;
}

/* A violation on stream s: tell the agent to stop, end the stream with EPROTO. */
static void stream_violation(struct agent_client *c, struct agent_stream *s, const char *msg)
{
    c->st.violations++;
    note(c, "stream %u: %s", s->id, msg);
    (void)queue(c, WIRE_CANCEL, 0, s->id, NULL, 0); /* best effort: we drop the stream anyway */
    stream_end_err(c, s, AGENT_END_ERROR, -EPROTO, "EPROTO", msg);
}

/* Maps an errno name ("ENOENT") to -errno; -EPROTO when unknown. */
static int errno_from_name(const char *name)
{
    for (int i = 1; i < 134 && name; i++) {
        const char *n = strerrorname_np(i);
        if (n && strcmp(n, name) == 0)
            return -i;
    }
    return -EPROTO;
}

static json_t *parse_obj(const struct wire_frame *f)
{
    json_t *j = json_loadb((const char *)f->payload, f->len, JSON_REJECT_DUPLICATES, NULL);
    if (j && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* Reads an optional non-negative integer member; false when present but not one. */
static bool get_uint(json_t *o, const char *key, uint64_t max, uint64_t *ret)
{
    json_t *v = json_object_get(o, key);
    if (!v)
        return true;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t)json_integer_value(v) > max)
        return false;
    *ret = (uint64_t)json_integer_value(v);
    return true;
}

/* True for the streams whose answer is DONE with a JSON object (the managed-process calls). */
static bool kind_is_proc(uint16_t kind)
{
    return kind >= WIRE_PROC_START && kind <= WIRE_PROC_WAIT;
}

static void on_terminal(struct agent_client *c, struct agent_stream *s, const struct wire_frame *f)
{
    struct agent_end end = { .exit_code = -1 };
    json_t *j = parse_obj(f);
    if (!j) {
        stream_violation(c, s, "terminal frame payload is not a JSON object");
        return;
    }
    if (f->type == WIRE_ERROR) {
        json_t *name = json_object_get(j, "error"), *msg = json_object_get(j, "message");
        end.kind = AGENT_END_ERROR;
        snprintf(end.error, sizeof(end.error), "%s",
                 json_is_string(name) ? json_string_value(name) : "EPROTO");
        snprintf(end.message, sizeof(end.message), "%s",
                 json_is_string(msg) ? json_string_value(msg) : "");
        /* the guest's text, cut to fit: it goes on into JSON answers and log lines */
        utf8_cut_partial(end.error);
        utf8_cut_partial(end.message);
        end.err = errno_from_name(end.error);
    } else if (f->type == WIRE_EXIT) {
        uint64_t code = UINT64_MAX, sig = 0, dur = 0;
        json_t *to = json_object_get(j, "timed_out");
        if (s->kind != WIRE_EXEC || !get_uint(j, "exit_code", 255, &code) ||
            !get_uint(j, "signal", 128, &sig) || !get_uint(j, "duration_ms", UINT64_MAX, &dur) ||
            (to && !json_is_boolean(to)) || (code == UINT64_MAX && sig == 0)) {
            json_decref(j);
            stream_violation(c, s, "bad EXIT frame");
            return;
        }
        end.kind = AGENT_END_EXIT;
        end.exit_code = code == UINT64_MAX ? -1 : (int)code;
        end.signal = (int)sig;
        end.timed_out = json_is_true(to);
        end.duration_ms = dur;
    } else { /* DONE */
        uint64_t size = 0;
        if ((s->kind != WIRE_FILE_PUT && s->kind != WIRE_POWER && s->kind != WIRE_FILE_GET &&
             s->kind != WIRE_NETCFG && s->kind != WIRE_TCP_OPEN && !kind_is_proc(s->kind)) ||
            !get_uint(j, "size", UINT64_MAX, &size)) {
            json_decref(j);
            stream_violation(c, s, "bad DONE frame");
            return;
        }
        end.kind = AGENT_END_DONE;
        end.size = size;
    }
    json_decref(j);
    /* The answer's text for on_end: a PROC_* record, an EXIT's fields. It parsed as a JSON
     * object, so it holds no NUL of its own. */
    char *text = NULL;
    if (end.kind != AGENT_END_ERROR) {
        text = malloc((size_t)f->len + 1);
        if (!text) {
            stream_end_err(c, s, AGENT_END_ERROR, -ENOMEM, "ENOMEM", "out of memory");
            return;
        }
        memcpy(text, f->payload, f->len);
        text[f->len] = 0;
        end.json = text;
    }
    stream_end(c, s, &end);
    free(text);
}

static void on_stream_data(struct agent_client *c, struct agent_stream *s,
                           const struct wire_frame *f)
{
    bool ok = s->kind == WIRE_EXEC       ? (f->type == WIRE_STDOUT || f->type == WIRE_STDERR)
              : s->kind == WIRE_PROC_ATTACH ? (f->type == WIRE_PROC_OUTPUT ||
                                               f->type == WIRE_PROC_GAP)
                                            : (s->kind == WIRE_FILE_GET && f->type == WIRE_DATA);
    if (ok && f->type == WIRE_PROC_OUTPUT && agent_proc_output_parse(f->payload, f->len, NULL,
                                                                     NULL, NULL, NULL) < 0)
        ok = false;
    if (ok && f->type == WIRE_PROC_GAP) {
        json_t *g = parse_obj(f);
        json_t *seq = g ? json_object_get(g, "oldest_available_seq") : NULL;
        ok = json_is_integer(seq) && json_integer_value(seq) > 0;
        json_decref(g);
    }
    if (s->kind == WIRE_TCP_OPEN) { /* a tunnel: DATA once connected, nothing after its EOF */
        ok = f->type == WIRE_DATA && s->tcp_up && !s->tcp_peer_eof;
        s->tcp_peer_eof = ok && (f->flags & WIRE_F_EOF);
    }
    if (!ok) {
        char m[80];
        snprintf(m, sizeof(m), "unexpected %s frame on a %s stream", wire_type_to_string(f->type),
                 wire_type_to_string(s->kind));
        stream_violation(c, s, m);
        return;
    }
    if (f->len > s->recv_credit) {
        stream_violation(c, s, "data beyond the granted credit");
        return;
    }
    s->recv_credit -= f->len;
    if (s->ops && s->ops->on_data) {
        uint32_t id = s->id;
        int r = s->ops->on_data(s->ud, f->type, f->payload, f->len, f->flags & WIRE_F_EOF);
        s = stream_find(c, id); /* the callback may have cancelled it */
        if (!s)
            return;
        if (r < 0) {
            (void)queue(c, WIRE_CANCEL, 0, s->id, NULL, 0); /* best effort, dropping anyway */
            stream_end_err(c, s, AGENT_END_ERROR, r, strerrorname_np(-r) ?: "EIO",
                           "the consumer of the stream's data failed");
            return;
        }
        if (r == AGENT_DATA_HOLD)
            goto out_eof;
    }
    if (f->len > 0 && agent_stream_consumed(c, s->id, f->len) < 0)
        return;
out_eof:
    /* FILE_GET has no terminal frame of its own: its last DATA (EOF) ends it. A DONE the
     * agent might send after it is then a stray frame, ignored. */
    if ((s = stream_find(c, f->stream)) && s->kind == WIRE_FILE_GET && (f->flags & WIRE_F_EOF)) {
        struct agent_end end = { .kind = AGENT_END_DONE, .exit_code = -1, .json = "" };
        stream_end(c, s, &end);
    }
}

int agent_stream_consumed(struct agent_client *c, uint32_t stream, size_t n)
{
    struct agent_stream *s = stream_find(c, stream);
    if (!s)
        return -ESRCH;
    if (n > UINT32_MAX || s->recv_credit + n > AGENT_MAX_CREDIT)
        return -EINVAL;
    int r = wire_append_window(&c->out, s->id, (uint32_t)n);
    if (r < 0) {
        client_break(c, -ENOBUFS);
        return -ENOBUFS;
    }
    s->recv_credit += n;
    return 0;
}

static void on_ready(struct agent_client *c, const struct wire_frame *f)
{
    json_t *j = parse_obj(f);
    json_t *ver = j ? json_object_get(j, "version") : NULL;
    if (!json_is_integer(ver)) {
        c->st.violations++;
        note(c, "READY without a version, ignoring");
        json_decref(j);
        return;
    }
    if (json_integer_value(ver) != WIRE_VERSION) {
        c->ready_err = -EPROTO;
        note(c, "agent speaks protocol version %" JSON_INTEGER_FORMAT ", we speak %d",
             json_integer_value(ver), WIRE_VERSION);
        json_decref(j);
        return;
    }
    /* Only the answer to our own HELLO counts: a READY the agent sent on noticing a connection,
     * or one meant for an earlier host that QEMU held back and hands to us, says nothing about
     * where the agent's reader stands. The former asks for a HELLO, so send one now. */
    json_t *sess = json_object_get(j, "session");
    if (!json_is_string(sess) || strcmp(json_string_value(sess), c->session) != 0) {
        c->st.stale_ready++;
        if (!c->ready && !json_is_string(sess) && agent_client_hello(c) < 0)
            note(c, "cannot answer the agent's READY with HELLO");
        json_decref(j);
        return;
    }
    json_t *name = json_object_get(j, "agent"), *boot = json_object_get(j, "boot_id");
    snprintf(c->agent_name, sizeof(c->agent_name), "%s",
             json_is_string(name) ? json_string_value(name) : "");
    snprintf(c->boot_id, sizeof(c->boot_id), "%s",
             json_is_string(boot) ? json_string_value(boot) : "");
    c->ready = true;
    json_decref(j);
}

/* SELF {"action":"pause"|"delete","reason":"..."}: the guest asks to be paused or destroyed.
 * Anything else (a bad action, a reason that is not a string of at most 128 characters, which
 * the agent never sends) is a violation, dropped. */
static void on_self(struct agent_client *c, const struct wire_frame *f)
{
    json_t *j = f->len <= AGENT_SELF_MAX_PAYLOAD ? parse_obj(f) : NULL;
    const char *action = json_string_value(json_object_get(j, "action"));
    json_t *jr = json_object_get(j, "reason");
    const char *reason = jr ? json_string_value(jr) : "";
    size_t chars = 0;
    for (const char *p = reason; p && *p; p++)
        chars += ((unsigned char)*p & 0xc0) != 0x80;
    if (!action || (strcmp(action, "pause") != 0 && strcmp(action, "delete") != 0) || !reason ||
        chars > AGENT_SELF_REASON_CHARS || (jr && strlen(reason) != json_string_length(jr))) {
        c->st.violations++;
        note(c, "malformed SELF frame, dropping it");
    } else if (c->self_fn) {
        c->self_fn(c->self_ud, action, reason);
    }
    json_decref(j);
}

static void on_channel_frame(struct agent_client *c, const struct wire_frame *f)
{
    switch (f->type) {
    case WIRE_READY:
        on_ready(c, f);
        break;
    case WIRE_PING:
        (void)queue(c, WIRE_PONG, 0, 0, f->payload, f->len); /* a failure breaks the client */
        break;
    case WIRE_PONG:
        if (f->len == sizeof(c->ping_seq) && memcmp(f->payload, &c->ping_seq, f->len) == 0)
            c->pong_seen = true;
        break;
    case WIRE_SELF:
        on_self(c, f);
        break;
    case WIRE_ERROR:
        c->st.channel_errors++;
        note(c, "agent reports: %.*s", (int)(f->len > 200 ? 200 : f->len),
             (const char *)f->payload);
        break;
    default:
        c->st.violations++;
        note(c, "unexpected %s frame on stream 0, ignoring", wire_type_to_string(f->type));
        break;
    }
}

/* A tunnel's guest connection is up: once, on a TCP_OPEN stream only. */
static void on_tcp_connected(struct agent_client *c, struct agent_stream *s)
{
    if (s->kind != WIRE_TCP_OPEN || s->tcp_up) {
        stream_violation(c, s, "unexpected TCP_CONNECTED frame");
        return;
    }
    s->tcp_up = true;
    if (s->ops && s->ops->on_open)
        s->ops->on_open(s->ud);
}

static void on_frame(struct agent_client *c, const struct wire_frame *f)
{
    if (f->stream == 0) {
        on_channel_frame(c, f);
        return;
    }
    struct agent_stream *s = stream_find(c, f->stream);
    if (!s) {
        c->st.stray_frames++;
        return;
    }
    if (!wire_type_known(f->type)) {
        /* the contract: answer an unknown type with ERROR (EPROTO) on the same stream */
        c->st.violations++;
        note(c, "stream %u: unknown frame type %u, ignoring", f->stream, f->type);
        json_t *j = json_pack("{s:s, s:s}", "error", "EPROTO", "message", "unknown frame type");
        (void)queue_json(c, WIRE_ERROR, f->stream, j); /* a failure breaks the client */
        return;
    }
    switch (f->type) {
    case WIRE_STDOUT:
    case WIRE_STDERR:
    case WIRE_DATA:
    case WIRE_PROC_OUTPUT:
    case WIRE_PROC_GAP:
        on_stream_data(c, s, f);
        break;
    case WIRE_WINDOW: {
        uint32_t credit;
        if (wire_window_credit(f, &credit) < 0 || s->send_credit + credit > AGENT_MAX_CREDIT) {
            stream_violation(c, s, "bad WINDOW frame");
            break;
        }
        s->send_credit += credit;
        break;
    }
    case WIRE_FILE_INFO: {
        json_t *j = parse_obj(f);
        uint64_t size = 0, mode = 0;
        if (s->kind != WIRE_FILE_GET || !j || !get_uint(j, "size", UINT64_MAX, &size) ||
            !get_uint(j, "mode", 07777777, &mode)) {
            json_decref(j);
            stream_violation(c, s, "bad FILE_INFO frame");
            break;
        }
        json_decref(j);
        if (s->ops && s->ops->on_info)
            s->ops->on_info(s->ud, size, (uint32_t)mode);
        break;
    }
    case WIRE_EXIT:
    case WIRE_DONE:
    case WIRE_ERROR:
        on_terminal(c, s, f);
        break;
    case WIRE_TCP_CONNECTED:
        on_tcp_connected(c, s);
        break;
    case WIRE_PING:
        (void)queue(c, WIRE_PONG, 0, f->stream, f->payload, f->len);
        break;
    case WIRE_PONG:
        break;
    default:
        /* a host->agent type coming back: ignore it, keep the stream */
        c->st.violations++;
        note(c, "stream %u: unexpected %s frame from the agent, ignoring", f->stream,
             wire_type_to_string(f->type));
        break;
    }
}

/* Queues data frames from stream sources while credit and queue room allow. */
static void pump(struct agent_client *c)
{
    for (struct agent_stream *s = c->streams; s && !c->broken;) {
        struct agent_stream *next = s->next;
        while (s->src_active && c->out.len < AGENT_PUMP_LOW) {
            size_t want = WIRE_DATA_CHUNK;
            if (s->send_credit < want)
                want = (size_t)s->send_credit;
            size_t n = 0;
            bool eof = false;
            if (s->push) {
                size_t have = s->pushed.len - s->push_off;
                n = have < want ? have : want;
                eof = s->push_eof && n == have;
                if (n == 0 && !eof)
                    break; /* no credit or nothing written yet */
                if (queue(c, s->src_type, eof ? WIRE_F_EOF : 0, s->id,
                          s->pushed.data + s->push_off, n) < 0)
                    return;
                s->push_off += n;
                if (s->push_off == s->pushed.len) {
                    s->pushed.len = 0;
                    s->push_off = 0;
                }
            } else {
                n = s->src_len - s->src_off < want ? s->src_len - s->src_off : want;
                eof = s->src_off + n == s->src_len;
                if (n == 0 && !eof)
                    break; /* no credit */
                if (queue(c, s->src_type, eof ? WIRE_F_EOF : 0, s->id, s->src_mem + s->src_off,
                          n) < 0)
                    return;
                s->src_off += n;
            }
            s->send_credit -= n;
            if (eof)
                s->src_active = false;
        }
        s = next;
    }
}

static int flush(struct agent_client *c)
{
    int r = usock_send_queued(c->fd, &c->out);
    if (r < 0)
        client_break(c, r);
    return r;
}

static size_t push_room(const struct agent_stream *s)
{
    /* bytes already sent are reclaimed by compacting on the next write */
    return s->pushed.max - (s->pushed.len - s->push_off);
}

/* Tells pushed uploads that were refused bytes that room came back. Restarts the walk after
 * each callback, which may open, end or cancel streams. */
static void notify_credit(struct agent_client *c)
{
    bool again = true;
    while (again && !c->broken) {
        again = false;
        for (struct agent_stream *s = c->streams; s; s = s->next) {
            if (!s->push_blocked || push_room(s) < s->pushed.max / 2)
                continue;
            s->push_blocked = false;
            if (s->ops && s->ops->on_credit) {
                s->ops->on_credit(s->ud, push_room(s));
                again = true;
                break;
            }
        }
    }
}

int agent_client_on_writable(struct agent_client *c)
{
    if (c->broken)
        return c->broken_err;
    pump(c);
    int r = flush(c);
    if (r < 0)
        return r;
    pump(c);
    notify_credit(c);
    return c->broken ? c->broken_err : 0;
}

void agent_client_shutdown(struct agent_client *c, int err)
{
    client_break(c, err < 0 ? err : -ECONNRESET);
}

int agent_client_on_readable(struct agent_client *c)
{
    if (c->broken)
        return c->broken_err;
    for (int rounds = 0; rounds < 64; rounds++) {
        uint8_t *p = wire_reader_space(&c->rd, 65536);
        if (!p) {
            client_break(c, -ENOMEM);
            return -ENOMEM;
        }
        ssize_t n = recv(c->fd, p, 65536, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n <= 0) {
            client_break(c, n == 0 ? -ECONNRESET : -errno);
            return c->broken_err;
        }
        wire_reader_commit(&c->rd, (size_t)n);
        struct wire_frame f;
        while (!c->broken && wire_reader_next(&c->rd, &f) == 1)
            on_frame(c, &f);
        if (c->broken)
            return c->broken_err;
    }
    return agent_client_on_writable(c);
}

int agent_client_set_identity(struct agent_client *c, const char *hostname)
{
    if (!hostname || !hostname_valid(hostname, strlen(hostname)))
        return -EINVAL;
    snprintf(c->hostname, sizeof(c->hostname), "%s", hostname);
    return 0;
}

/* A net object's JSON text as an object, or NULL (-EINVAL: too long, not JSON, not an
 * object). The agent checks the fields; this only keeps junk off the channel. */
static json_t *net_parse(const char *net_json)
{
    if (!net_json || strlen(net_json) > AGENT_NET_MAX)
        return NULL;
    json_t *j = json_loads(net_json, JSON_REJECT_DUPLICATES, NULL);
    if (j && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

int agent_client_set_net(struct agent_client *c, const char *net_json)
{
    json_t *j = NULL;
    if (net_json && !(j = net_parse(net_json)))
        return -EINVAL;
    json_decref(c->net);
    c->net = j;
    return 0;
}

/* Adds "entropy": AGENT_HELLO_ENTROPY fresh random bytes in hex. Every restored clone of a
 * snapshot starts with the same kernel CRNG state; these reseed it (docs/agent-protocol.md). The
 * agent uses them only from the first HELLO of a session, but fresh bytes in each repeat cost
 * one getrandom(). Never blocks the loop: without entropy at hand the field is left out. */
static int hello_add_entropy(json_t *j)
{
    uint8_t rnd[AGENT_HELLO_ENTROPY];
    char hex[2 * AGENT_HELLO_ENTROPY + 1];
    if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd))
        return 0;
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
    int r = json_object_set_new(j, "entropy", json_string(hex)) < 0 ? -ENOMEM : 0;
    explicit_bzero(rnd, sizeof(rnd));
    explicit_bzero(hex, sizeof(hex));
    return r;
}

int agent_client_hello(struct agent_client *c)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    json_t *j = json_pack("{s:i, s:I, s:s}", "version", WIRE_VERSION, "time_ns",
                          (json_int_t)ts.tv_sec * 1000000000 + ts.tv_nsec, "session",
                          c->session);
    if (j && c->hostname[0] && json_object_set_new(j, "hostname", json_string(c->hostname)) < 0) {
        json_decref(j);
        j = NULL;
    }
    if (j && c->net && json_object_set(j, "net", c->net) < 0) {
        json_decref(j);
        j = NULL;
    }
    if (j && hello_add_entropy(j) < 0) {
        json_decref(j);
        j = NULL;
    }
    int r = queue_json(c, WIRE_HELLO, 0, j);
    if (r < 0)
        return r;
    return flush(c);
}

void agent_client_new_session(struct agent_client *c)
{
    session_name(c);
    c->ready = false;
}

const char *agent_client_session(const struct agent_client *c)
{
    return c->session;
}

int agent_client_resync(struct agent_client *c)
{
    /* Enough zero bytes to complete the longest frame the agent could be stuck inside; what is
     * left over is garbage it skips up to the magic of our HELLO. */
    size_t n = WIRE_HEADER_SIZE + WIRE_MAX_PAYLOAD;
    int r;
    uint8_t *p = buf_reserve(&c->out, n, &r);
    if (!p)
        return r;
    memset(p, 0, n);
    buf_commit(&c->out, n);
    return flush(c);
}

/* A new stream of kind, not linked yet, for the opening request req (json_decref()'d when
 * out of memory: NULL). */
static struct agent_stream *stream_new(struct agent_client *c, uint16_t kind,
                                       const struct agent_stream_ops *ops, void *ud, json_t *req)
{
    struct agent_stream *s = calloc(1, sizeof(*s));
    if (!s) {
        json_decref(req);
        return NULL;
    }
    s->id = c->next_stream++;
    if (c->next_stream == 0)
        c->next_stream = 1;
    s->kind = kind;
    s->ops = ops;
    s->ud = ud;
    s->send_credit = WIRE_INITIAL_WINDOW;
    s->recv_credit = WIRE_INITIAL_WINDOW;
    return s;
}

/* Queues the opening frame and links s; frees s on failure. */
static int stream_open(struct agent_client *c, struct agent_stream *s, json_t *req,
                       uint32_t *ret_stream)
{
    if (!req) {
        free(s);
        return -ENOMEM;
    }
    int r = queue_json(c, s->kind, s->id, req);
    if (r < 0) {
        free(s);
        return r;
    }
    s->next = c->streams;
    c->streams = s;
    if (ret_stream)
        *ret_stream = s->id;
    pump(c);
    (void)flush(c); /* a failure breaks the client and ends the stream with LOST */
    return 0;
}

int agent_exec_start(struct agent_client *c, const struct agent_exec_req *req,
                     const struct agent_stream_ops *ops, void *ud, uint32_t *ret_stream)
{
    if (c->broken)
        return -ENOTCONN;
    bool no_argv = !req->argv || !req->argv[0];
    if ((no_argv && (!req->pty || req->argv)) || (req->cwd && req->cwd[0] != '/'))
        return -EINVAL;
    if (req->pty && (req->rows < 1 || req->rows > AGENT_PTY_MAX || req->cols < 1 ||
                     req->cols > AGENT_PTY_MAX))
        return -EINVAL;
    bool push = req->stdin_push || req->pty;
    json_t *argv = json_array(), *env = json_object();
    json_t *j = json_object();
    if (!argv || !env || !j)
        goto out_nomem;
    for (size_t i = 0; req->argv && req->argv[i]; i++)
        if (json_array_append_new(argv, json_string(req->argv[i])) < 0)
            goto out_inval; /* not UTF-8 */
    for (size_t i = 0; req->env && req->env[i]; i++) {
        const char *eq = strchr(req->env[i], '=');
        if (!eq || eq == req->env[i])
            goto out_inval;
        char key[256];
        size_t kl = (size_t)(eq - req->env[i]);
        if (kl >= sizeof(key))
            goto out_inval;
        memcpy(key, req->env[i], kl);
        key[kl] = 0;
        if (json_object_set_new(env, key, json_string(eq + 1)) < 0)
            goto out_inval;
    }
    if (no_argv) {
        json_decref(argv); /* the agent starts the default login shell */
        argv = NULL;
    }
    if (req->pty && json_object_set_new(j, "pty", json_pack("{s:i, s:i}", "rows", req->rows,
                                                             "cols", req->cols)) < 0)
        goto out_nomem;
    if ((argv && json_object_set_new(j, "argv", argv) < 0) ||
        json_object_set_new(j, "env", env) < 0 ||
        json_object_set_new(j, "cwd", json_string(req->cwd ? req->cwd : "/")) < 0 ||
        json_object_set_new(j, "stdin", json_boolean(req->stdin_pipe || push)) < 0 ||
        json_object_set_new(j, "timeout_ms", json_integer(req->timeout_ms)) < 0) {
        argv = env = NULL; /* owned by j now (set_new steals even on failure) */
        goto out_nomem;
    }
    struct agent_stream *s = stream_new(c, WIRE_EXEC, ops, ud, j);
    if (!s)
        return -ENOMEM;
    s->pty = req->pty;
    if (push) {
        /* live stdin: the caller writes with agent_stream_write() */
        s->src_active = true;
        s->src_type = WIRE_STDIN;
        s->push = true;
        buf_init(&s->pushed, AGENT_PUSH_MAX);
    } else if (req->stdin_pipe) {
        s->src_active = true;
        s->src_type = WIRE_STDIN;
        s->src_mem = req->stdin_data;
        s->src_len = req->stdin_data ? req->stdin_len : 0;
    }
    return stream_open(c, s, j, ret_stream);
out_inval:
    json_decref(argv);
    json_decref(env);
    json_decref(j);
    return -EINVAL;
out_nomem:
    json_decref(argv);
    json_decref(env);
    json_decref(j);
    return -ENOMEM;
}

static bool path_ok(const char *path)
{
    return path && path[0] == '/';
}

int agent_file_put_push_start(struct agent_client *c, const char *path, uint32_t mode,
                              const struct agent_stream_ops *ops, void *ud,
                              uint32_t *ret_stream)
{
    if (c->broken)
        return -ENOTCONN;
    if (!path_ok(path) || mode > 07777)
        return -EINVAL;
    json_t *j = json_pack("{s:s, s:i}", "path", path, "mode", (int)mode);
    if (!j)
        return -EINVAL;
    struct agent_stream *s = stream_new(c, WIRE_FILE_PUT, ops, ud, j);
    if (!s)
        return -ENOMEM;
    s->src_active = true;
    s->src_type = WIRE_DATA;
    s->push = true;
    buf_init(&s->pushed, AGENT_PUSH_MAX);
    return stream_open(c, s, j, ret_stream);
}

ssize_t agent_stream_write(struct agent_client *c, uint32_t stream, const void *p, size_t len)
{
    struct agent_stream *s = stream_find(c, stream);
    if (!s || !s->push)
        return -ESRCH;
    if (s->push_eof || !s->src_active)
        return -EPIPE;
    if (c->broken)
        return -ENOTCONN;
    if (s->push_off > 0) { /* compact: drop what was sent */
        buf_consume(&s->pushed, s->push_off);
        s->push_off = 0;
    }
    size_t room = s->pushed.max - s->pushed.len;
    size_t n = len < room ? len : room;
    if (n > 0 && buf_append(&s->pushed, p, n) < 0)
        return -ENOMEM;
    if (n < len)
        s->push_blocked = true;
    pump(c);
    (void)flush(c); /* a failure breaks the client and ends the stream with LOST */
    return (ssize_t)n;
}

int agent_stream_finish(struct agent_client *c, uint32_t stream)
{
    struct agent_stream *s = stream_find(c, stream);
    if (!s || !s->push)
        return -ESRCH;
    if (s->push_eof)
        return -EPIPE;
    s->push_eof = true;
    pump(c);
    (void)flush(c); /* a failure breaks the client and ends the stream with LOST */
    return 0;
}

/* Opens a stream of kind whose opening request is req (taken; NULL: the request could not be
 * made from the caller's arguments, -EINVAL). */
static int stream_start(struct agent_client *c, uint16_t kind, json_t *req,
                        const struct agent_stream_ops *ops, void *ud, uint32_t *ret_stream)
{
    if (!req)
        return -EINVAL;
    struct agent_stream *s = stream_new(c, kind, ops, ud, req);
    return s ? stream_open(c, s, req, ret_stream) : -ENOMEM;
}

int agent_file_get_start(struct agent_client *c, const char *path,
                         const struct agent_stream_ops *ops, void *ud, uint32_t *ret_stream)
{
    if (c->broken)
        return -ENOTCONN;
    if (!path_ok(path))
        return -EINVAL;
    return stream_start(c, WIRE_FILE_GET, json_pack("{s:s}", "path", path), ops, ud,
                        ret_stream);
}

int agent_power_start(struct agent_client *c, const char *action,
                      const struct agent_stream_ops *ops, void *ud, uint32_t *ret_stream)
{
    if (c->broken)
        return -ENOTCONN;
    if (!action || (strcmp(action, "poweroff") != 0 && strcmp(action, "reboot") != 0))
        return -EINVAL;
    json_t *j = json_pack("{s:s}", "action", action);
    return j ? stream_start(c, WIRE_POWER, j, ops, ud, ret_stream) : -ENOMEM;
}

int agent_netcfg_start(struct agent_client *c, const char *net_json,
                       const struct agent_stream_ops *ops, void *ud, uint32_t *ret_stream)
{
    if (c->broken)
        return -ENOTCONN;
    return stream_start(c, WIRE_NETCFG, net_parse(net_json), ops, ud, ret_stream);
}

int agent_stream_signal(struct agent_client *c, uint32_t stream, int sig)
{
    struct agent_stream *s = stream_find(c, stream);
    if (!s || s->kind != WIRE_EXEC)
        return -ESRCH;
    int r = queue_json(c, WIRE_SIGNAL, stream, json_pack("{s:i}", "signal", sig));
    if (r < 0)
        return r;
    return flush(c);
}

int agent_stream_cancel(struct agent_client *c, uint32_t stream, bool drop)
{
    struct agent_stream *s = stream_find(c, stream);
    if (!s)
        return -ESRCH;
    s->cancelled = true;
    s->src_active = false;
    int r = queue(c, WIRE_CANCEL, 0, stream, NULL, 0);
    if (drop && (s = stream_find(c, stream)))
        stream_end_err(c, s, AGENT_END_LOST, -ECANCELED, "ECANCELED", "cancelled by the host");
    if (r < 0)
        return r;
    return flush(c);
}

int agent_client_ping_send(struct agent_client *c)
{
    c->ping_seq++;
    c->pong_seen = false;
    return queue(c, WIRE_PING, 0, 0, &c->ping_seq, sizeof(c->ping_seq));
}

bool agent_client_pong_seen(const struct agent_client *c)
{
    return c->pong_seen;
}

/* --- interactive streams (issue 12): placeholders until the agent side lands --- */

int agent_stream_resize(struct agent_client *c, uint32_t stream, uint16_t rows, uint16_t cols)
{
    struct agent_stream *s = stream_find(c, stream);
    if (!s || s->kind != WIRE_EXEC || !s->pty)
        return -ESRCH;
    if (rows < 1 || rows > AGENT_PTY_MAX || cols < 1 || cols > AGENT_PTY_MAX)
        return -EINVAL;
    int r = queue_json(c, WIRE_RESIZE, stream, json_pack("{s:i, s:i}", "rows", rows, "cols", cols));
    if (r < 0)
        return r;
    return flush(c);
}

int agent_tcp_open(struct agent_client *c, uint16_t port, const struct agent_stream_ops *ops,
                   void *ud, uint32_t *ret_stream)
{
    if (c->broken)
        return -ENOTCONN;
    if (port == 0)
        return -EINVAL;
    json_t *j = json_pack("{s:i}", "port", (int)port);
    if (!j)
        return -ENOMEM;
    struct agent_stream *s = stream_new(c, WIRE_TCP_OPEN, ops, ud, j);
    if (!s)
        return -ENOMEM;
    /* host->guest bytes are pushed like an upload's (agent_stream_write/finish): DATA frames
     * under the stream's credit, the last with EOF */
    s->src_active = true;
    s->src_type = WIRE_DATA;
    s->push = true;
    buf_init(&s->pushed, AGENT_TUNNEL_PUSH_MAX);
    return stream_open(c, s, j, ret_stream);
}

int agent_proc_call(struct agent_client *c, uint16_t type, const char *json,
                    const struct agent_stream_ops *ops, void *ud, uint32_t *ret_stream)
{
    if (c->broken)
        return -ENOTCONN;
    if (!kind_is_proc(type) || type == WIRE_PROC_OUTPUT || type == WIRE_PROC_GAP || !json ||
        strlen(json) > WIRE_MAX_PAYLOAD)
        return -EINVAL;
    json_t *j = json_loads(json, JSON_REJECT_DUPLICATES, NULL);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        return -EINVAL;
    }
    struct agent_stream *s = stream_new(c, type, ops, ud, j);
    if (!s)
        return -ENOMEM;
    if (type == WIRE_PROC_INPUT) {
        /* the bytes are pushed by the caller and end with agent_stream_finish() */
        s->src_active = true;
        s->src_type = WIRE_DATA;
        s->push = true;
        buf_init(&s->pushed, AGENT_PUSH_MAX);
    }
    return stream_open(c, s, j, ret_stream);
}

int agent_proc_output_parse(const uint8_t *p, size_t len, uint64_t *seq, int *which,
                            const uint8_t **data, size_t *data_len)
{
    if (len < AGENT_PROC_OUTPUT_HEADER || p[8] > 2)
        return -EPROTO;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    if (seq)
        *seq = v;
    if (which)
        *which = p[8];
    if (data)
        *data = p + AGENT_PROC_OUTPUT_HEADER;
    if (data_len)
        *data_len = len - AGENT_PROC_OUTPUT_HEADER;
    return 0;
}

void agent_client_set_self_handler(struct agent_client *c, agent_self_fn fn, void *ud)
{
    c->self_fn = fn;
    c->self_ud = ud;
}
