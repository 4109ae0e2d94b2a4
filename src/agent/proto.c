/* SPDX-License-Identifier: MIT */
/* proto.c: routes host frames. Opening frames go to exec.c, files.c and power.c; frames for an
 * open stream go to its owner; anything the protocol does not allow gets an ERROR on its stream
 * (or stream 0) and the agent goes on serving every other stream. */
#include "agent/proto.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent/agent.h"
#include "agent/agent_exec.h"
#include "agent/agent_files.h"
#include "agent/agent_tunnel.h"
#include "agent/identity.h"
#include "agent/netcfg.h"
#include "agent/power.h"
#include "agent/procs_req.h"

/* Credit beyond this is a confused or hostile host; it cannot help anyway. */
#define PROTO_MAX_CREDIT (1ull << 40)

void proto_stream_abort(struct agent *ag, struct stream *s)
{
    if (s->kind == STREAM_EXEC)
        exec_abort(ag, s);
    else if (procreq_owns(s))
        procreq_abort(ag, s); /* the process lives on */
    else if (s->kind == STREAM_TCP)
        tunnel_abort(ag, s);
    else
        files_abort(ag, s);
}

void proto_stream_fail(struct agent *ag, struct stream *s, int err, const char *msg)
{
    agent_send_error(ag, s->id, err, "%s", msg);
    proto_stream_abort(ag, s);
}

void proto_abort_all(struct agent *ag)
{
    while (ag->streams.n)
        proto_stream_abort(ag, ag->streams.s[ag->streams.n - 1]);
}

/* Hostname and entropy from a new session's HELLO. A restored guest (a clone of a shared
 * snapshot) runs with the snapshot's hostname and CRNG state until told otherwise, and a new
 * session is the first thing that happens after every restore. Bad values are skipped with a
 * console line: the HELLO is still answered, so a confused host still gets its READY. */
static void apply_identity(struct agent *ag, json_t *hello)
{
    struct identity id;
    char why[160];
    if (identity_from_hello(hello, &id, why, sizeof(why)) < 0)
        agent_log("bad identity in HELLO: %s, ignoring that field", why);
    /* Only init may change the machine: a test agent must not rename its host. */
    if (ag->pid1)
        identity_apply(&id);
    explicit_bzero(&id, sizeof(id));
}

/* Parses a net object (a NETCFG's) and, as PID 1, applies it; 0, or -EINVAL / the failing
 * step's -errno with why. Remembers what was applied, so a HELLO that repeats it changes
 * nothing; it is newer than any HELLO's config still pending, which is dropped. */
static int apply_net(struct agent *ag, json_t *net, char *why, size_t why_len)
{
    struct netcfg c;
    char canon[NETCFG_CANON_MAX];
    int r = netcfg_parse(net, &c, why, why_len);
    if (r < 0)
        return r;
    ag->net_pending_set = false;
    /* cannot fail: NETCFG_CANON_MAX has room for every object the parser accepts */
    if (netcfg_canonical(&c, canon, sizeof(canon)) < 0)
        canon[0] = 0;
    /* Only init may change the machine; a test agent validates and answers. */
    if (ag->pid1 && (r = netcfg_apply(&c, why, why_len)) < 0) {
        ag->net_applied[0] = 0; /* partly applied: the next HELLO must apply it again */
        return r;
    }
    memcpy(ag->net_applied, canon, sizeof(canon));
    return 0;
}

/* The "net" of a HELLO: validated now, applied when it differs from what was applied last.
 * The apply runs right after READY has been written (agent_apply_pending_net() from the loop):
 * the host sends nothing but HELLOs before READY, and whatever it sends after READY is read
 * only once the config is in place, so an exec right after a restore already sees its own
 * MAC and addresses. A bad one is skipped with a console line: the HELLO is still answered. */
static void apply_hello_net(struct agent *ag, json_t *net, bool new_session)
{
    char why[200], canon[NETCFG_CANON_MAX];
    struct netcfg c;
    if (netcfg_parse(net, &c, why, sizeof(why)) < 0) {
        agent_log("cannot apply 'net' from HELLO: %s, ignoring it", why);
        return;
    }
    /* cannot fail: NETCFG_CANON_MAX has room for every object the parser accepts */
    if (netcfg_canonical(&c, canon, sizeof(canon)) < 0)
        canon[0] = 0;
    if (canon[0] && strcmp(canon, ag->net_applied) == 0) {
        /* The same configuration again, but a new session may be a restore onto another
         * tap: the gateway's MAC may differ now, so the guest must resolve it again. */
        if (new_session)
            ag->neigh_flush_pending = true;
        ag->net_pending_set = false;
        return;
    }
    ag->net_pending = c;
    memcpy(ag->net_pending_canon, canon, sizeof(canon));
    ag->net_pending_set = true;
}

void agent_apply_pending_net(struct agent *ag)
{
    if (ag->neigh_flush_pending) {
        ag->neigh_flush_pending = false;
        if (ag->pid1 && netcfg_flush_neighbours() < 0)
            agent_log("cannot flush the neighbour cache, ignoring");
    }
    if (!ag->net_pending_set)
        return;
    ag->net_pending_set = false;
    char why[200];
    /* Only init may change the machine; a test agent validates and records. */
    if (ag->pid1 && netcfg_apply(&ag->net_pending, why, sizeof(why)) < 0) {
        ag->net_applied[0] = 0; /* partly applied: the next HELLO must apply it again */
        agent_log("cannot apply 'net' from HELLO: %s", why);
        return;
    }
    memcpy(ag->net_applied, ag->net_pending_canon, sizeof(ag->net_applied));
}

static void on_netcfg(struct agent *ag, const struct wire_frame *f)
{
    json_t *root = agent_parse_json(ag, f);
    if (!root)
        return;
    char why[200] = "";
    int r = apply_net(ag, root, why, sizeof(why));
    json_decref(root);
    if (r < 0) {
        agent_send_error(ag, f->stream, -r, "%s", why);
        return;
    }
    (void)agent_send_json(ag, WIRE_DONE, f->stream, json_object());
}

static void on_hello(struct agent *ag, const struct wire_frame *f)
{
    json_t *root = agent_parse_json(ag, f);
    if (!root)
        return;
    /* A HELLO from a new session means the host reconnected, whether or not the port's
     * hang-up was seen in between (a fast reconnect can hide it): the old connection's streams
     * end here, so a stale stream can never collide with the new host's ids. Repeats of the
     * same HELLO (the host resends until READY) keep the streams. */
    json_t *sess = json_object_get(root, "session");
    bool repeat = json_is_string(sess) && ag->session[0] &&
                  strcmp(json_string_value(sess), ag->session) == 0;
    if (json_is_string(sess) && strlen(json_string_value(sess)) < sizeof(ag->session) &&
        !repeat) {
        if (ag->session[0])
            proto_abort_all(ag);
        snprintf(ag->session, sizeof(ag->session), "%s", json_string_value(sess));
    }
    json_t *t = json_object_get(root, "time_ns");
    if (json_is_integer(t) && json_integer_value(t) > 0 && ag->pid1) {
        /* The guest's clock starts from the RTC at boot and is frozen across a snapshot: the
         * host's clock is the one to trust. */
        json_int_t ns = json_integer_value(t);
        struct timespec ts = { .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };
        if (clock_settime(CLOCK_REALTIME, &ts) < 0)
            agent_log("cannot set the clock: %s, ignoring", strerror(errno));
    }
    if (!repeat)
        apply_identity(ag, root);
    json_t *net = json_object_get(root, "net");
    if (net)
        apply_hello_net(ag, net, !repeat);
    json_decref(root);
    agent_send_ready(ag, true);
}

static void on_window(struct agent *ag, struct stream *s, const struct wire_frame *f)
{
    uint32_t credit;
    if (wire_window_credit(f, &credit) < 0) {
        proto_stream_fail(ag, s, EPROTO, "WINDOW payload must be 4 bytes");
        return;
    }
    s->send_credit += credit;
    if (s->send_credit > PROTO_MAX_CREDIT)
        s->send_credit = PROTO_MAX_CREDIT;
}

static void on_host_error(struct agent *ag, struct stream *s, const struct wire_frame *f)
{
    if (!s && f->stream != 0)
        return; /* the host ending a stream that already ended here: nothing to do */
    if (!s) {
        agent_log("host reports on stream %u: %.*s", f->stream,
                  (int)(f->len > 300 ? 300 : f->len), (const char *)f->payload);
        return;
    }
    /* The host ended the stream: nothing more may be sent on it. */
    proto_stream_abort(ag, s);
}

/* A frame that opens a stream: checks its id, then hands it to its opener. */
static void on_open(struct agent *ag, const struct wire_frame *f,
                    void (*open)(struct agent *ag, const struct wire_frame *f))
{
    if (f->stream == 0) {
        agent_send_error(ag, 0, EINVAL, "'%s' cannot use stream 0", wire_type_to_string(f->type));
        return;
    }
    if (stream_find(&ag->streams, f->stream)) {
        /* Answered on the id in use: the host knows it reused one; the stream goes on. */
        agent_send_error(ag, f->stream, EEXIST, "stream %u is already open", f->stream);
        return;
    }
    open(ag, f);
}

/* The frames that open a stream, with their openers. */
static const struct {
    uint16_t type;
    void (*open)(struct agent *ag, const struct wire_frame *f);
} openers[] = {
    { WIRE_EXEC, exec_open },         { WIRE_POWER, power_open },
    { WIRE_FILE_PUT, files_put_open }, { WIRE_FILE_GET, files_get_open },
    { WIRE_NETCFG, on_netcfg },
    /* managed processes: every request opens a stream (procs_req.c) */
    { WIRE_PROC_START, procreq_open }, { WIRE_PROC_LIST, procreq_open },
    { WIRE_PROC_GET, procreq_open },   { WIRE_PROC_ATTACH, procreq_open },
    { WIRE_PROC_INPUT, procreq_open }, { WIRE_PROC_CTL, procreq_open },
    { WIRE_PROC_WAIT, procreq_open },
    { WIRE_TCP_OPEN, tunnel_open },
};

void proto_on_frame(struct agent *ag, const struct wire_frame *f)
{
    for (size_t i = 0; i < sizeof(openers) / sizeof(openers[0]); i++) {
        if (openers[i].type == f->type) {
            on_open(ag, f, openers[i].open);
            return;
        }
    }
    struct stream *s = f->stream ? stream_find(&ag->streams, f->stream) : NULL;
    switch (f->type) {
    case WIRE_HELLO:
        on_hello(ag, f);
        return;
    case WIRE_PING:
        (void)agent_send(ag, WIRE_PONG, 0, f->stream, f->payload, f->len);
        return;
    case WIRE_PONG:
    case WIRE_READY:
        return; /* nothing asked for them; harmless */
    case WIRE_ERROR:
        on_host_error(ag, s, f);
        return;
    case WIRE_WINDOW:
    case WIRE_CANCEL:
    case WIRE_STDIN:
    case WIRE_SIGNAL:
    case WIRE_RESIZE:
    case WIRE_DATA:
        break;
    default:
        /* Unknown types and agent-to-host types (STDOUT, EXIT, ...) the host must not send. */
        if (s)
            proto_stream_fail(ag, s, EPROTO, "frame type not accepted by the agent");
        else
            agent_send_error(ag, f->stream, EPROTO, "frame type %u not accepted by the agent",
                             f->type);
        return;
    }
    if (!s && f->type == WIRE_WINDOW)
        return; /* credit for a stream that just ended races its terminal frame: normal */
    if (!s) {
        agent_send_error(ag, f->stream, ESRCH, "no open stream %u for '%s'", f->stream,
                         wire_type_to_string(f->type));
        return;
    }
    if (f->type == WIRE_WINDOW)
        on_window(ag, s, f);
    else if (s->kind == STREAM_EXEC)
        exec_on_frame(ag, s, f);
    else if (procreq_owns(s))
        procreq_on_frame(ag, s, f);
    else if (s->kind == STREAM_TCP)
        tunnel_on_frame(ag, s, f);
    else
        files_on_frame(ag, s, f);
}
