/* SPDX-License-Identifier: MIT */
/* client.h: a tiny host side for the agent tests. Starts hearth-agent's loop in a forked child
 * over a socketpair (non-PID-1 mode) and speaks the protocol to it with src/common/wire.h. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/wire.h"

struct client {
    int fd;                  /* our end of the channel */
    pid_t agent;             /* the forked agent */
    struct wire_reader rd;
};

/* Forks an agent serving "fd:N" (or spec when not NULL, then fd is -1). Returns 0 or -errno. */
int client_start(struct client *c, const char *spec);
/* Connects to a listening agent's Unix socket (replacing c->fd). */
int client_connect(struct client *c, const char *path);
/* Closes our end and waits for the agent (it exits when the channel ends). Returns its status. */
int client_stop(struct client *c);

/* Writes a whole frame (blocking). */
int client_send(struct client *c, uint16_t type, uint16_t flags, uint32_t stream, const void *p,
                size_t len);
int client_send_str(struct client *c, uint16_t type, uint32_t stream, const char *s);
/* Writes raw bytes. */
int client_send_raw(struct client *c, const void *p, size_t len);
/* Next frame within timeout_ms: 1 (payload valid until the next call), 0 timeout, -1 EOF. */
int client_recv(struct client *c, struct wire_frame *f, int timeout_ms);
/* Next frame of the given type on stream (others are skipped); 1, 0 or -1 as above. */
int client_expect(struct client *c, uint16_t type, uint32_t stream, struct wire_frame *f,
                  int timeout_ms);
/* PING with a unique payload; true when the matching PONG comes back. */
bool client_ping(struct client *c);

struct exec_result {
    struct buf out;         /* stdout bytes */
    struct buf err;         /* stderr bytes */
    int exit_code;          /* -1 unless exited */
    int signal;             /* 0 unless killed */
    bool timed_out;
    char error[32];         /* ERROR name when the stream ended with ERROR, else "" */
    uint64_t max_outstanding; /* most unacknowledged output bytes seen */
};

void exec_result_release(struct exec_result *r);
/* Opens EXEC on stream with the JSON request, writes stdin (then EOF) when given, collects
 * output returning credit as it goes, and waits for EXIT or ERROR. 0 or -1 (timeout/EOF). */
int client_exec(struct client *c, uint32_t stream, const char *json, const void *in,
                size_t in_len, struct exec_result *r);
/* Reads the "error" name out of an ERROR payload into out. */
void client_error_name(const struct wire_frame *f, char *out, size_t size);

/* How client_collect() stopped. */
enum collect_end {
    COLLECT_TIMEOUT = 0, /* or the channel ended */
    COLLECT_FOUND,       /* `until` appeared in the output */
    COLLECT_EXIT,        /* EXIT arrived */
    COLLECT_ERROR,       /* ERROR arrived */
};

/* Reads frames of stream, appending STDOUT and STDERR bytes to out (credit returned), until
 * `until` (may be NULL) shows in out, the stream ends, or timeout_ms passes. *ret_end (may be
 * NULL) gets the terminal frame's JSON (caller json_decref()s). */
enum collect_end client_collect(struct client *c, uint32_t stream, struct buf *out,
                                const char *until, int timeout_ms, json_t **ret_end);
/* True when out contains needle. */
bool client_buf_has(const struct buf *out, const char *needle);
