/* SPDX-License-Identifier: MIT */
/* procs.h: managed processes (docs/agent-protocol.md, "Managed processes"): commands the agent
 * owns, not a connection, with their records, output rings and input queues. A host that goes
 * away (or a new session) ends the streams about them, never the processes. The request
 * handlers are procs_req.c; this module keeps the table and the processes' fds. All calls run
 * on the loop. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/outring.h"
#include "common/buf.h"

struct agent;
struct agent_pollset;
struct spawn_req;
struct stream;

#define PROCS_MAX 256                     /* records kept; the oldest exited one makes room */
#define PROCS_LIVE_MAX 64                 /* processes whose tree has not exited */
#define PROC_ID_MAX 64                    /* bytes of a host-chosen id */
#define PROC_INPUT_MAX (1024u * 1024u)    /* input bytes queued per process */
#define PROC_RING_DEFAULT (8u << 20)      /* output ring budget without "ring_bytes" */
#define PROC_RING_MIN (64u << 10)
#define PROC_RING_MAX (64u << 20)
#define PROC_ARGV_BYTES_MAX (32u * 1024u) /* argv strings together, kept in the record */
#define PROC_CWD_MAX 1024u
#define PROC_DRAIN_MS 100 /* after the leader's reaping, output still counts as its own */

enum proc_state {
    PROC_RUNNING,
    PROC_TERMINATING, /* a remove is under way */
    PROC_EXITED,      /* the leader exited */
};

/* One PROC_INPUT, queued in the order the calls came. */
struct proc_input {
    struct proc_input *next;
    uint32_t stream;      /* its stream, 0 once that ended (the bytes still go in) */
    uint64_t seq;         /* input_seq: 1, 2, ... per process */
    size_t size;          /* bytes announced */
    size_t written;       /* bytes written to the process */
    bool complete;        /* all size bytes arrived */
    struct buf data;      /* bytes arrived, at most size */
};

struct proc {
    uint32_t key;              /* unique for the agent's life: names it in poll sets, streams */
    char id[PROC_ID_MAX + 1];  /* the host's name for it */
    bool pty;                  /* on a terminal: out_fd the master, in_fd a copy of it */
    pid_t pid;                 /* leader, = its process group and session */
    enum proc_state state;
    bool leader_exited;
    bool tree_exited;          /* kill(-pid, 0) found nobody in the group */
    int status;                /* wait status once leader_exited */
    uint64_t created_ms;       /* wall clock, Unix ms */
    uint64_t finished_ms;      /* wall clock when the leader exited */
    json_t *argv;              /* owned: the command as run (an array of strings) */
    char *cwd;                 /* owned */
    int in_fd, out_fd, err_fd; /* -1 when closed */
    bool stdin_closing;        /* close_stdin asked: close once the queued input is written */
    bool stdin_closed;         /* closed (asked, or the write end broke) */
    struct outring ring;
    struct proc_input *inputs; /* owned queue, oldest first */
    size_t input_queued;       /* bytes announced by the queued inputs */
    uint64_t input_seq;        /* the last input's seq, 0 before any */
    uint64_t drain_at_ms;      /* monotonic: when output counts as drained; 0 = not yet set */
    bool drained;              /* the leader exited and what it wrote is in the ring */
    uint64_t kill_at_ms;       /* remove: monotonic time of SIGKILL, 0 when none pending */
    uint64_t give_up_ms;       /* remove: monotonic time to drop the record anyway */
};

struct proc_table {
    struct proc *p[PROCS_MAX]; /* owned; oldest first */
    size_t n;
    uint32_t next_key;
};

/* The table (allocated on first use; NULL when out of memory). Owned by the agent. */
struct proc_table *procs_table(struct agent *ag);
struct proc *procs_find(struct agent *ag, const char *id);
struct proc *procs_by_key(struct agent *ag, uint32_t key);
/* Processes whose tree has not exited. */
size_t procs_live(struct agent *ag);

/* Starts a process named id (checked by the caller) from q with a ring of ring_bytes. 0 with
 * *ret, or a positive errno with msg: EMFILE (PROCS_LIVE_MAX live), ENOMEM, or why spawn_start
 * failed (no record then). Makes room by dropping the oldest exited record. */
int procs_start(struct agent *ag, const char *id, const struct spawn_req *q, size_t ring_bytes,
                struct proc **ret, char *msg, size_t msg_size);
/* The record JSON (docs/agent-protocol.md). compact: args and the foreground's args left out
 * when long (a list must fit one frame). NULL when out of memory. */
json_t *procs_record(const struct proc *p, bool compact);
/* Ends every stream about p (ATTACH, WAIT: DONE with its final record; INPUT: ERROR EPIPE),
 * closes its fds and frees it; the process group, if any is left, is not touched. */
void procs_drop(struct agent *ag, struct proc *p);
/* Signals the terminal's foreground group (pty) or the process group. -ESRCH once the tree
 * exited. */
int procs_signal(struct proc *p, int sig);
/* SIGTERM now, SIGKILL after grace_ms, the record dropped by procs_req.c once the tree exited
 * or grace_ms + 2 s passed. */
void procs_remove_start(struct proc *p, uint64_t grace_ms);

/* Queues an input of size bytes for stream. 0 with *ret, -EPIPE (stdin closed, the leader
 * exited), -EAGAIN (PROC_INPUT_MAX would be exceeded), -ENOMEM. */
int procs_input_add(struct proc *p, uint32_t stream, size_t size, struct proc_input **ret);
/* Bytes of an input arrived (len fits: the caller checked). eof: all of them are in. */
int procs_input_data(struct agent *ag, struct proc *p, struct proc_input *in, const void *d,
                     size_t len, bool eof);
/* The input's stream ended early: its bytes not written yet are dropped when it is incomplete. */
void procs_input_detach(struct proc *p, struct proc_input *in);
/* close_stdin: now, or after the queued input. */
void procs_close_stdin(struct agent *ag, struct proc *p);

/* --- the loop's hooks --- */
/* Timers (drain, tree checks, SIGKILL of a remove). Returns ms to the next, or -1. */
int procs_tick(struct agent *ag, uint64_t now_ms);
void procs_poll_add(struct agent *ag, struct agent_pollset *ps);
/* An fd of the process with this key is ready (role: ROLE_PROC_*). */
void procs_on_poll(struct agent *ag, uint32_t key, int role, short revents);
/* A child was reaped. True when it was a managed process's leader. */
bool procs_on_reaped(struct agent *ag, pid_t pid, int status);
/* The (test) agent is leaving: SIGKILL every group, free everything. */
void procs_release(struct agent *ag);
