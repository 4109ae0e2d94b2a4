/* SPDX-License-Identifier: MIT */
/* shell_internal.h: what shell.c (the shell's life and its raw transport, docs/api.md §3.12.1)
 * and shell_ws.c (the WebSocket transport, §3.12.3) share: the per-connection state and the
 * hooks each calls in the other. Private to those two files. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/api/reply.h"
#include "daemon/api/shell_frames.h"
#include "daemon/host/agent_client.h"
#include "daemon/store/store.h"

struct shell_ws;

struct shell {
    struct api_call call;        /* req referenced until the upgrade */
    struct api_ctx *ctx;
    char id[STORE_ID_SIZE];
    uint32_t stream;
    struct ctl_exec *exec;       /* the started shell (ctl_exec_free()) */
    struct agent_stream_ops ops;
    struct bufferevent *bev;     /* the client's connection after the 101; owned */
    struct shell_parser parser;
    struct event *kill_timer;
    struct shell_ws *ws;         /* the WebSocket transport, NULL for the raw one; owned */
    bool open;                   /* the exec stream has not ended */
    bool upgraded;
    bool hung_up;                /* the client is gone (or broke the protocol): SIGHUP sent */
    bool read_blocked;           /* stdin refused bytes: reading waits for on_credit */
    int depth;
    bool dead;
    size_t held;
};

/* shell.c */
void shell_enter(struct shell *t);
void shell_leave(struct shell *t);
/* Feeds frame-stream bytes to the shell: returns the bytes consumed; fewer than len when the
 * shell's stdin is full (t->read_blocked set) or the stream is malformed (the shell hung up). */
size_t shell_feed(struct shell *t, const uint8_t *p, size_t len);
/* The client left or broke the protocol: SIGHUP, SIGKILL 5 s later; close_now drops the
 * connection at once. */
void shell_hang_up(struct shell *t, bool close_now);
/* After the checks: starts the shell, answers 101 with protocol (and the headers the caller
 * added) and serves the connection; ws (taken) selects the WebSocket transport. */
void shell_serve(const struct api_call *call, const char *id, const char *protocol,
                 struct shell_ws *ws);

/* shell_ws.c */
void shell_ws_free(struct shell_ws *ws);
/* The connection became readable / the shell's stdin has room again. */
void shell_ws_on_read(struct shell *t);
/* Terminal output as one binary message. 0 or -ENOMEM. */
int shell_ws_output(struct shell *t, const uint8_t *p, size_t len);
/* Starts the pings (every 30 s) once the connection is ours. */
void shell_ws_started(struct shell *t);
/* Queues a close with code (1000 at the shell's exit, 1002 for a protocol violation). */
void shell_ws_close(struct shell *t, uint16_t code);
/* True once the close handshake is done on our side (nothing more to send). */
bool shell_ws_finished(const struct shell *t);
