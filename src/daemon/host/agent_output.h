/* SPDX-License-Identifier: MIT */
/* agent_output.h: a command's output gathered in memory, for callers that wait for the whole
 * command (host_sync.h, the agent client's tests): stdout and stderr each kept up to a cap, the
 * rest dropped and marked, and the stream's end turned into an exit status and an errno. Pure:
 * no I/O, no loop. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"

struct agent_end;
struct herr;

/* A finished command. Release with agent_exec_result_release(). */
struct agent_exec_result {
    int exit_code;        /* 0..255, or -1 when killed by a signal or never ended */
    int signal;           /* 0 unless killed */
    bool timed_out;       /* the request's timeout_ms killed it */
    uint64_t duration_ms;
    uint8_t *out;         /* stdout, owned (NUL-terminated, never NULL once finished) */
    size_t out_len;
    bool out_truncated;   /* more than the cap arrived; the rest was dropped */
    uint8_t *err;         /* stderr, same rules */
    size_t err_len;
    bool err_truncated;
};
void agent_exec_result_release(struct agent_exec_result *r);

/* The buffers behind one result while the command runs. */
struct agent_output {
    struct agent_exec_result *res; /* borrowed; filled as bytes come and at finish */
    struct buf out, err;
};

/* Starts gathering into res (reset, exit_code -1), up to cap bytes of each stream. */
void agent_output_init(struct agent_output *o, struct agent_exec_result *res, size_t cap);
/* Keeps what fits of len bytes of stderr (WIRE_STDERR) or stdout (any other type). */
void agent_output_add(struct agent_output *o, uint16_t type, const uint8_t *p, size_t len);
/* Moves the bytes into the result (empty strings rather than NULL) and, when end is an EXIT,
 * its status; end NULL: the command never ended. The buffers are released. */
void agent_output_finish(struct agent_output *o, const struct agent_end *end);
/* Drops what was gathered without touching the result. */
void agent_output_release(struct agent_output *o);

/* 0 for an EXIT or DONE end; otherwise the end's -errno (-EPROTO, -ECONNRESET when it has
 * none) with "agent: …" in e. */
int agent_end_errno(const struct agent_end *end, struct herr *e);
