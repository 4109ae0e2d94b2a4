/* SPDX-License-Identifier: MIT */
/* stream.h: the agent's table of open streams (docs/agent-protocol.md, "Streams"). A stream is
 * opened by the host with EXEC, FILE_PUT, FILE_GET or a PROC_* request and lives until the agent
 * sends its one terminal frame or the connection drops. The table owns the stream structs. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"

#define STREAM_MAX 1024 /* open streams at once; more is answered with EMFILE */

enum stream_kind {
    STREAM_EXEC,
    STREAM_FILE_PUT,
    STREAM_FILE_GET,
    STREAM_PROC_ATTACH, /* PROC_ATTACH: a managed process's output, replayed and followed */
    STREAM_PROC_INPUT,  /* PROC_INPUT: bytes for a managed process's stdin */
    STREAM_PROC_WAIT,   /* PROC_WAIT, or a PROC_CTL remove waiting for the tree to exit */
    STREAM_TCP,         /* TCP_OPEN: a tunnel (agent_tunnel.c) */
};

struct exec_state {
    pid_t pid;            /* leader of the command's session; 0 once reaped */
    pid_t pgid;           /* its process group (= the first pid), for SIGNAL after reaping */
    int in_fd;            /* write end of the command's stdin, -1 when closed */
    int out_fd;           /* read end of stdout, -1 after EOF */
    int err_fd;           /* read end of stderr, -1 after EOF */
    struct buf in_buf;    /* STDIN bytes the pipe did not take yet (bounded by the window) */
    bool in_eof;          /* the host sent STDIN with EOF: close in_fd once in_buf drains */
    bool stdin_pipe;      /* STDIN frames are taken: "stdin":true, or a pty */
    bool pty;             /* on a pseudo-terminal: out_fd is its master, in_fd a copy of it */
    uint64_t linger_ms;   /* pty: monotonic time after the leader's reaping when the terminal
                             is closed even if someone else holds it; 0 before */
    int status;           /* wait status, valid once pid == 0 */
    bool timed_out;       /* the deadline killed it */
    uint64_t start_ms;    /* monotonic start, for duration_ms */
    uint64_t deadline_ms; /* monotonic deadline, 0 for none */
};

struct file_state {
    int fd;               /* the file (FILE_GET) or the temporary file (FILE_PUT) */
    char *path;           /* owned: the target path */
    char *tmp;            /* owned: FILE_PUT's temporary file, NULL once renamed */
    uint64_t size;        /* bytes written or sent so far */
};

/* A stream about a managed process (procs.h). It names the process by key, never by pointer:
 * the record can be dropped while the stream is open (procs.c ends such streams first). */
struct procref_state {
    uint32_t key;          /* the process's key */
    uint64_t next_seq;     /* ATTACH: the next output event to send */
    bool follow;           /* ATTACH: keep following live output after the replay */
    bool tree;             /* WAIT: until the whole tree exited, not only the leader */
    bool remove;           /* WAIT: a remove; ends when the record is dropped */
    uint64_t deadline_ms;  /* WAIT: monotonic time to answer anyway */
    uint64_t input_left;   /* INPUT: bytes the host still has to send */
    bool input_eof;        /* INPUT: the host's EOF came; nothing more may */
    void *input;           /* INPUT: its struct proc_input, owned by the process's queue */
};

/* A tunnel's guest-side connection (agent_tunnel.c). */
struct tcp_state {
    int fd;               /* the guest-side TCP socket, -1 once closed */
    bool connecting;      /* connect() in progress: TCP_CONNECTED not sent yet */
    uint64_t deadline_ms; /* monotonic end of the connect attempt */
    struct buf in_buf;    /* DATA bytes the socket did not take yet (bounded by the window) */
    bool in_eof;          /* the host sent EOF: shut our writing half once in_buf drains */
    bool wr_done;         /* our writing half is shut (or broken) */
    bool rd_done;         /* the guest side's EOF went to the host as DATA with EOF */
};

struct stream {
    uint32_t id;            /* host-chosen, never 0 */
    enum stream_kind kind;
    uint64_t send_credit;   /* bytes the agent may still send on this stream */
    uint64_t recv_credit;   /* bytes the host may still send before we return credit */
    union {
        struct exec_state exec;
        struct file_state file;
        struct procref_state proc;
        struct tcp_state tcp;
    };
};

struct stream_table {
    struct stream *s[STREAM_MAX]; /* owned; dense, unordered */
    size_t n;
};

/* The stream with this id, or NULL. */
struct stream *stream_find(struct stream_table *t, uint32_t id);
/* Adds a zeroed stream with both credits at WIRE_INITIAL_WINDOW. Returns it, or NULL with
 * *ret_err = -EEXIST (id in use), -EMFILE (table full) or -ENOMEM. */
struct stream *stream_add(struct stream_table *t, uint32_t id, enum stream_kind kind,
                          int *ret_err);
/* Unlinks and frees s; the caller has released what the kind-specific state holds. */
void stream_remove(struct stream_table *t, struct stream *s);
