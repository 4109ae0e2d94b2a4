/* SPDX-License-Identifier: MIT */
/* agent_client.h: host side of the agent protocol (docs/agent-protocol.md) over agent.sock,
 * asynchronous only: the owner's event loop calls agent_client_on_readable()/_on_writable();
 * streams are multiplexed with per-stream flow control and per-stream callbacks. Nothing here
 * waits (host_sync.h blocks on top of the host for callers that want to). A hostile or broken
 * agent never crashes or hangs the client: a bad frame ends at most its own stream (with an
 * error) and is counted. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct herr;
struct agent_client;

enum agent_end_kind {
    AGENT_END_EXIT,  /* EXIT: the command ended */
    AGENT_END_DONE,  /* DONE: a FILE_PUT committed, a POWER was accepted */
    AGENT_END_ERROR, /* ERROR from the agent, or a protocol violation seen by us */
    AGENT_END_LOST,  /* the connection went away (or the stream was cancelled locally) */
};

/* How a stream ended; strings are NUL-terminated copies. */
struct agent_end {
    enum agent_end_kind kind;
    int exit_code;        /* EXIT: 0..255, or -1 when killed by a signal */
    int signal;           /* EXIT: signal number, 0 when it exited */
    bool timed_out;       /* EXIT: the agent's timeout_ms killed it */
    uint64_t duration_ms; /* EXIT */
    uint64_t size;        /* DONE of FILE_PUT: bytes written */
    int err;              /* ERROR/LOST: -errno (-EPROTO for unknown names or violations) */
    char error[32];       /* ERROR: the agent's name ("ENOENT"), or ours ("EPROTO") */
    char message[256];    /* ERROR/LOST: detail */
    const char *json;     /* DONE/EXIT: the frame's JSON payload, NUL-terminated, borrowed for
                             the on_end call ("" when empty); NULL for other kinds */
};

/* Per-stream callbacks, all optional; ud is the caller's and borrowed until on_end. */
#define AGENT_DATA_HOLD 1

struct agent_stream_ops {
    /* Output bytes: type is WIRE_STDOUT, WIRE_STDERR or WIRE_DATA, or for a PROC_ATTACH
     * WIRE_PROC_OUTPUT (checked with agent_proc_output_parse() already) or WIRE_PROC_GAP (a JSON
     * object with a positive "oldest_available_seq"); both count against the credit like any
     * data. p borrowed for the call.
     * Returning 0 gives their credit back to the agent at once; AGENT_DATA_HOLD keeps it
     * until the consumer calls agent_stream_consumed() (backpressure). Returning < 0 cancels
     * the stream, which then ends with that error. A FILE_GET ends after its EOF data. */
    int (*on_data)(void *ud, uint16_t type, const uint8_t *p, size_t len, bool eof);
    /* FILE_INFO of a FILE_GET. */
    void (*on_info)(void *ud, uint64_t size, uint32_t mode);
    /* A pushed upload (agent_file_put_push_start()) that had a write refused in part has
     * room again: room bytes may be written now. */
    void (*on_credit)(void *ud, size_t room);
    /* TCP_CONNECTED of a tunnel (agent_tcp_open()): the guest's connection is up. */
    void (*on_open)(void *ud);
    /* Called exactly once, after which the stream is gone (not on agent_client_free()). */
    void (*on_end)(void *ud, const struct agent_end *end);
};

/* EXEC request; everything is borrowed until the stream ends. */
struct agent_exec_req {
    const char *const *argv; /* NULL-terminated, non-empty */
    const char *const *env;  /* "KEY=VALUE" strings, NULL-terminated; NULL for none */
    const char *cwd;         /* absolute; NULL for "/" */
    uint32_t timeout_ms;     /* 0: none (the agent kills the group past it) */
    bool stdin_pipe;         /* give the command a stdin pipe fed from stdin_data */
    const void *stdin_data;  /* sent in STDIN frames under flow control, then EOF */
    size_t stdin_len;
    /* stdin is pushed by the caller with agent_stream_write() (STDIN frames) and ended with
     * agent_stream_finish() (EOF) instead of stdin_data: a shell, a live command */
    bool stdin_push;
    /* run on a new pseudo-terminal of rows x cols: stdin, stdout and stderr are the terminal,
     * its output comes as WIRE_STDOUT, agent_stream_resize() resizes it; argv NULL starts the
     * default login shell (/bin/bash -l, else /bin/sh -l). Implies stdin_push. */
    bool pty;
    uint16_t rows, cols;
};

struct agent_client_stats {
    uint64_t resyncs;         /* bad headers met */
    uint64_t skipped;         /* garbage bytes dropped */
    uint64_t stray_frames;    /* frames for unknown or ended streams, ignored */
    uint64_t violations;      /* protocol violations (bad JSON, data beyond credit, ...) */
    uint64_t channel_errors;  /* ERROR frames on stream 0 (agent reports) */
    uint64_t stale_ready;     /* READY frames that did not answer this connection's HELLO */
};

/* Wraps a connected stream socket (takes ownership of fd; made non-blocking). Returns 0 and
 * *ret (free with agent_client_free()), or -ENOMEM (fd closed). */
__attribute__((warn_unused_result))
int agent_client_new(int fd, struct agent_client **ret);
/* Makes every HELLO of this connection carry hostname (copied), which the agent sets as the
 * guest's hostname when the session is new to it: how a restored VM learns its own name. 0, or
 * -EINVAL when hostname is NULL or not valid per common/hostname.h (nothing changes then). */
__attribute__((warn_unused_result))
int agent_client_set_identity(struct agent_client *c, const char *hostname);
/* Makes every HELLO of this connection carry "net": net_json (a JSON object, at most 16 KiB;
 * copied), which the agent applies before READY when it differs from what it applied last
 * (docs/agent-protocol.md "Network"): how a restored clone gets its own MAC and addresses.
 * NULL stops sending it. 0, or -EINVAL when net_json is not a JSON object (nothing changes). */
__attribute__((warn_unused_result))
int agent_client_set_net(struct agent_client *c, const char *net_json);
/* The random name of this connection, sent in HELLO and echoed by the agent's READY. */
const char *agent_client_session(const struct agent_client *c);
/* For a connection to an agent that may have served another host before (a reconnect, a
 * re-adopted VM): queues WIRE_HEADER_SIZE + WIRE_MAX_PAYLOAD zero bytes, which finish any frame
 * the previous host left half-written in the agent's reader, so the HELLO that follows is
 * read as a frame. Call before the first HELLO. 0 or -ENOMEM/-EMSGSIZE. */
__attribute__((warn_unused_result))
int agent_client_resync(struct agent_client *c);
/* Breaks the connection as if it was lost with err: every open stream ends now with
 * AGENT_END_LOST (callbacks run before this returns); the client is then unusable. */
void agent_client_shutdown(struct agent_client *c, int err);
/* Closes the socket and frees every stream without calling callbacks. NULL is fine. */
void agent_client_free(struct agent_client *c);

/* --- driven by the owner's event loop --- */
int agent_client_fd(const struct agent_client *c);
/* True while output is queued: poll for POLLOUT too. */
bool agent_client_want_write(const struct agent_client *c);
/* Reads and dispatches frames. Returns 0, or -ECONNRESET (peer closed), -ENOBUFS (peer does
 * not read what we must send), -errno; then every open stream has ended with
 * AGENT_END_LOST and the client is unusable (free it). */
int agent_client_on_readable(struct agent_client *c);
/* Writes queued output. Same returns as agent_client_on_readable(). */
int agent_client_on_writable(struct agent_client *c);
/* Queues HELLO {"version":1,"time_ns":now,"session":...,"entropy":<64 fresh random bytes, hex>}
 * plus "hostname" when set with agent_client_set_identity() and "net" when set with
 * agent_client_set_net(). */
__attribute__((warn_unused_result))
int agent_client_hello(struct agent_client *c);
/* Starts a new session on this connection: a new session name, not ready until the agent
 * answers the next HELLO (which it then applies in full: identity, entropy, network, as after a
 * reconnect; docs/agent-protocol.md "Identity and entropy"). */
void agent_client_new_session(struct agent_client *c);
/* Queues a PING on stream 0. Its PONG
 * proves the agent has read every byte sent before it. 0 or -ENOMEM/-ENOTCONN. */
__attribute__((warn_unused_result))
int agent_client_ping_send(struct agent_client *c);
/* True once the PONG of the latest agent_client_ping_send() arrived. */
bool agent_client_pong_seen(const struct agent_client *c);
/* True once a valid READY arrived. */
bool agent_client_ready(const struct agent_client *c);
/* -EPROTO once a READY of a protocol version we do not speak arrived (the text is in
 * agent_client_last_error()), else 0: such an agent never becomes ready. */
int agent_client_ready_error(const struct agent_client *c);
/* From the READY: "hearth-agent/0.1.0" and the boot id ("" before). Borrowed. */
const char *agent_client_agent_name(const struct agent_client *c);
const char *agent_client_boot_id(const struct agent_client *c);
/* Counters and the text of the most recent problem ("" when none; borrowed). */
void agent_client_stats(const struct agent_client *c, struct agent_client_stats *ret);
const char *agent_client_last_error(const struct agent_client *c);

/* Open streams. Return 0 and the new stream id in *ret_stream (may be NULL), -EINVAL for a
 * bad request, -ENOTCONN after the connection broke, -ENOMEM, -EMSGSIZE (request too big). */
__attribute__((warn_unused_result))
int agent_exec_start(struct agent_client *c, const struct agent_exec_req *req,
                     const struct agent_stream_ops *ops, void *ud, uint32_t *ret_stream);
/* Uploads to path (absolute, in the guest) with mode the bytes the caller pushes with
 * agent_stream_write() and ends with agent_stream_finish(): a source never read here, so
 * nothing blocks (an HTTP request body, a file read by host_sync.c). */
__attribute__((warn_unused_result))
int agent_file_put_push_start(struct agent_client *c, const char *path, uint32_t mode,
                              const struct agent_stream_ops *ops, void *ud,
                              uint32_t *ret_stream);
/* Buffers up to len bytes of a pushed stream (an upload, an exec's stdin with stdin_push or
 * pty, a PROC_INPUT; 1 MiB at most are buffered) and sends what credit allows. Returns the
 * bytes taken (0..len); when fewer than len, ops->on_credit runs once room is back. -ESRCH (no
 * such pushed stream), -EPIPE (finished), -ENOTCONN, -ENOMEM. */
ssize_t agent_stream_write(struct agent_client *c, uint32_t stream, const void *p, size_t len);
/* Ends a pushed stream: EOF follows the buffered bytes. An upload's on_end then gets DONE with
 * the size; an exec's stdin is closed (on a pty: input just stops, the terminal stays). */
int agent_stream_finish(struct agent_client *c, uint32_t stream);
/* Downloads path: FILE_INFO to on_info, bytes to on_data as WIRE_DATA. */
__attribute__((warn_unused_result))
int agent_file_get_start(struct agent_client *c, const char *path,
                         const struct agent_stream_ops *ops, void *ud, uint32_t *ret_stream);
/* action: "poweroff" or "reboot". */
__attribute__((warn_unused_result))
int agent_power_start(struct agent_client *c, const char *action,
                      const struct agent_stream_ops *ops, void *ud, uint32_t *ret_stream);
/* Opens a NETCFG stream with the net object net_json (a JSON object, at most 16 KiB): on_end
 * gets AGENT_END_DONE once the guest runs it, or AGENT_END_ERROR with the agent's errno name
 * and message (EINVAL naming the bad field). -EINVAL when net_json is not a JSON object. */
__attribute__((warn_unused_result))
int agent_netcfg_start(struct agent_client *c, const char *net_json,
                       const struct agent_stream_ops *ops, void *ud, uint32_t *ret_stream);
/* Sends SIGNAL {"signal":sig} to an exec stream's process group. -ESRCH for no such stream. */
int agent_stream_signal(struct agent_client *c, uint32_t stream, int sig);
/* Sends CANCEL. With drop, the stream also ends here at once (on_end gets AGENT_END_LOST
 * with -ECANCELED) and the agent's later frames for it are ignored; without, it ends when
 * the agent answers. -ESRCH for no such stream. */
int agent_stream_cancel(struct agent_client *c, uint32_t stream, bool drop);
/* Returns n bytes of receive credit to the agent (after AGENT_DATA_HOLD). -ESRCH, -EINVAL. */
int agent_stream_consumed(struct agent_client *c, uint32_t stream, size_t n);
/* Open streams. */
size_t agent_client_nstreams(const struct agent_client *c);

/* Sends RESIZE {"rows","cols"} to an exec stream started with pty (1..1000 each). -ESRCH for
 * no such stream, -EINVAL for a size out of range. */
int agent_stream_resize(struct agent_client *c, uint32_t stream, uint16_t rows, uint16_t cols);

/* Opens a TCP connection inside the guest to 127.0.0.1:port (TCP_OPEN). ops->on_open runs once
 * it is up; guest->host bytes come to ops->on_data as WIRE_DATA (eof: the guest side shut its
 * writing half); host->guest bytes are pushed with agent_stream_write() and
 * agent_stream_finish() half-closes. on_end: AGENT_END_DONE once both directions ended, or
 * AGENT_END_ERROR with "ECONNREFUSED" / "ETIMEDOUT" (no connection within 5 s) / ... */
__attribute__((warn_unused_result))
int agent_tcp_open(struct agent_client *c, uint16_t port, const struct agent_stream_ops *ops,
                   void *ud, uint32_t *ret_stream);

/* Sends a managed-process request: type is one of WIRE_PROC_START .. WIRE_PROC_WAIT (not
 * WIRE_PROC_OUTPUT or WIRE_PROC_GAP), json its payload (a JSON object of at most
 * WIRE_MAX_PAYLOAD bytes, copied; docs/agent-protocol.md "Managed processes" has the fields,
 * which the agent checks). on_end gets AGENT_END_DONE with end->json (the answer) or
 * AGENT_END_ERROR. PROC_ATTACH output comes to ops->on_data as WIRE_PROC_OUTPUT (the raw
 * payload: agent_proc_output_parse()) and WIRE_PROC_GAP (JSON); PROC_INPUT's bytes are pushed
 * with agent_stream_write() and ended with agent_stream_finish(). -EINVAL for another type or
 * a payload that is not a JSON object. */
__attribute__((warn_unused_result))
int agent_proc_call(struct agent_client *c, uint16_t type, const char *json,
                    const struct agent_stream_ops *ops, void *ud, uint32_t *ret_stream);
/* Splits a PROC_OUTPUT payload: 0 with *seq, *which (0 stdout, 1 stderr, 2 pty) and the bytes
 * (borrowed from p; any out-parameter may be NULL), or -EPROTO when it is shorter than its
 * 9-byte header or which > 2. */
int agent_proc_output_parse(const uint8_t *p, size_t len, uint64_t *seq, int *which,
                            const uint8_t **data, size_t *data_len);

/* Where SELF frames (the guest asking to be paused or destroyed) go: action is "pause" or
 * "delete", reason at most 128 characters of UTF-8 ("" when none). Both borrowed for the call.
 * A malformed SELF is counted as a violation and dropped. fn NULL drops them all. */
#define AGENT_SELF_REASON_CHARS 128
#define AGENT_SELF_MAX_PAYLOAD 4096
typedef void (*agent_self_fn)(void *ud, const char *action, const char *reason);
void agent_client_set_self_handler(struct agent_client *c, agent_self_fn fn, void *ud);
