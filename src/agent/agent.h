/* SPDX-License-Identifier: MIT */
/* agent.h: the agent's state, passed explicitly to every module: the channel, the frame reader,
 * the bounded output queue to the host, the stream table and the managed processes. Also the
 * small helpers every module uses to answer the host (agent.c). Single-threaded: everything runs
 * on the loop. */
#pragma once

#include <jansson.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

#include "agent/channel.h"
#include "agent/netcfg.h"
#include "agent/stream.h"
#include "common/buf.h"
#include "common/wire.h"

#define AGENT_VERSION "hearth-agent/0.1.0"
/* Above this many queued bytes the agent stops producing data (pipes, files) and stops reading
 * the channel, so a host that does not read cannot make us buffer without bound. */
#define AGENT_OUT_HIGH (1024u * 1024u)
/* Hard ceiling of the queue: room for the control frames answering what was already read. */
#define AGENT_OUT_MAX (16u * 1024u * 1024u)

/* What a polled fd is to the loop. */
enum agent_role {
    ROLE_CHANNEL,
    ROLE_LISTEN,
    ROLE_SIGNAL,
    ROLE_STDIN,
    ROLE_STDOUT,
    ROLE_STDERR,
    ROLE_SELF,     /* the self endpoint's fds (self.c) */
    ROLE_PROC_IN,  /* a managed process's fds (procs.h), named by its key */
    ROLE_PROC_OUT,
    ROLE_PROC_ERR,
    ROLE_TCP,      /* a tunnel's socket (agent_tunnel.c), named by its stream id */
};

/* the self endpoint's fds (self.c checks its own count against this) */
#define AGENT_SELF_POLL_MAX 10
/* 3 fds for each of the 256 records procs.h keeps (PROCS_MAX) */
#define AGENT_POLL_MAX (3 + 3 * STREAM_MAX + 3 * 256 + AGENT_SELF_POLL_MAX)

struct agent_self;

/* The fds one loop iteration polls. Streams are named by id, not pointer, because handling one
 * fd may end a stream whose other fds are later in the set. */
struct agent_pollset {
    struct pollfd fds[AGENT_POLL_MAX];
    uint32_t ids[AGENT_POLL_MAX];   /* stream id (a process's key for ROLE_PROC_*), 0 for the
                                       agent's own fds */
    uint8_t roles[AGENT_POLL_MAX];  /* enum agent_role */
    size_t n;
};

static inline void agent_poll_add(struct agent_pollset *ps, int fd, short events, uint32_t id,
                                  enum agent_role role)
{
    if (ps->n >= AGENT_POLL_MAX)
        return;
    ps->fds[ps->n] = (struct pollfd){ .fd = fd, .events = events };
    ps->ids[ps->n] = id;
    ps->roles[ps->n] = (uint8_t)role;
    ps->n++;
}

struct proc_table;

enum agent_power {
    AGENT_POWER_NONE,
    AGENT_POWER_OFF,
    AGENT_POWER_REBOOT,
};

struct agent {
    struct channel ch;
    struct wire_reader rd;     /* bytes from the host */
    struct buf out;            /* frames to the host, at most AGENT_OUT_MAX */
    size_t out_partial;        /* leading bytes of out that finish a frame already partly
                                  written: they must go out before anything else */
    struct stream_table streams;
    struct proc_table *procs;  /* managed processes (procs.h), NULL until the first; they
                                  outlive connections and sessions */
    int sig_fd;                /* signalfd: SIGCHLD and the power signals */
    bool pid1;                 /* running as init: do init duties, never exit */
    bool quit;                 /* not PID 1: leave the loop */
    enum agent_power power;    /* a shutdown was asked for */
    char boot_id[40];
    char session[65];          /* "session" of the last HELLO; "" before the first */
    char net_applied[NETCFG_CANON_MAX]; /* netcfg_canonical() of the net object applied
                                           last (HELLO or NETCFG); "" before the first */
    /* A HELLO's new net object waits here until READY is on its way (loop.c applies it at the
     * start of the next turn): the host counts the guest ready ~50 ms sooner under TCG, and
     * every frame after READY is read only once the config is in place. */
    struct netcfg net_pending;
    char net_pending_canon[NETCFG_CANON_MAX];
    bool net_pending_set;
    bool neigh_flush_pending;    /* same config, new session: forget the old gateway's MAC */
    struct agent_pollset ps;   /* rebuilt every loop iteration */
    struct agent_self *self;   /* the in-guest self endpoint (self.c); NULL without memory */
};

/* Monotonic milliseconds. */
uint64_t agent_now_ms(void);
/* A poll timeout: the sooner of next (-1: none) and the ms from now_ms to at_ms (0 when past,
 * at most 60 s). */
int agent_timeout_min(int next, uint64_t at_ms, uint64_t now_ms);
/* One line on stderr (the console when PID 1), prefixed "hearth-agent: ". */
void agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Name of an errno value ("ENOENT"); "EIO" when unknown. */
const char *agent_errno_name(int err);

/* Applies what a HELLO left pending (see net_pending); a no-op when nothing is. */
void agent_apply_pending_net(struct agent *ag);

/* True when the output queue is below AGENT_OUT_HIGH, so producers may add data. */
bool agent_out_room(const struct agent *ag);
/* Queues a frame. Dropped (with a console line) when the host is not connected or the queue is
 * at its ceiling; returns 0 or that -errno. */
int agent_send(struct agent *ag, uint16_t type, uint16_t flags, uint32_t stream, const void *p,
               size_t len);
/* Queues a frame whose payload is obj in compact JSON. Takes ownership of obj (may be NULL,
 * which is out of memory and drops the frame). */
int agent_send_json(struct agent *ag, uint16_t type, uint32_t stream, json_t *obj);
/* Queues ERROR {"error":<name of err>,"message":...} on stream. err is a positive errno. */
void agent_send_error(struct agent *ag, uint32_t stream, int err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Queues READY. An answer to HELLO carries that HELLO's session, so the host can tell it from
 * a READY meant for an earlier connection; the one sent on noticing a connection does not. */
void agent_send_ready(struct agent *ag, bool answer);
/* Drops the first n bytes of the output queue after a write() took them, keeping track of a
 * frame that was written only in part. */
void agent_out_written(struct agent *ag, size_t n);
/* Forgets every queued frame not yet started, keeping the rest of a partly written one, so
 * the byte stream the host reads stays frame-aligned across a reconnect. */
void agent_out_drop_unsent(struct agent *ag);
/* Queues WINDOW granting credit bytes on stream. */
/* Parses a frame's payload as a JSON object. On failure answers ERROR (EINVAL) on the frame's
 * stream and returns NULL; the caller owns the result (json_decref). */
json_t *agent_parse_json(struct agent *ag, const struct wire_frame *f);
void agent_send_window(struct agent *ag, uint32_t stream, uint32_t credit);
/* Writes what fd takes of in (host bytes held under stream s's credit: a command's stdin, a
 * tunnel's socket) and returns that credit to the host. When fd is -1 or broken (an error other
 * than EAGAIN: the reader went away) everything left goes nowhere, its credit returned all the
 * same, and false is returned. */
bool agent_feed_fd(struct agent *ag, struct stream *s, struct buf *in, int fd);
