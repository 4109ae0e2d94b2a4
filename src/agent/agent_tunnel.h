/* SPDX-License-Identifier: MIT */
/* agent_tunnel.h: TCP_OPEN streams (docs/agent-protocol.md, "Tunnels"): a TCP connection to
 * 127.0.0.1:port inside the guest, its bytes moved as DATA frames under the stream's credit in
 * both directions, each side's EOF a half-close. All calls run on the loop; errors are answered
 * on the stream, never returned. */
#pragma once

#include <stdint.h>

struct agent;
struct stream;
struct wire_frame;
struct agent_pollset;

/* Starts the connect a TCP_OPEN frame asks for, or answers ERROR on its stream id. */
void tunnel_open(struct agent *ag, const struct wire_frame *f);
/* DATA or CANCEL for an open tunnel. */
void tunnel_on_frame(struct agent *ag, struct stream *s, const struct wire_frame *f);
/* Adds the socket to the poll set when it has work (connect, credit to read, bytes to write). */
void tunnel_poll_add(struct agent *ag, struct stream *s, struct agent_pollset *ps);
/* The socket is ready. May end the stream. */
void tunnel_on_poll(struct agent *ag, struct stream *s, short revents);
/* Fails connects older than 5 s (ETIMEDOUT). Returns ms to the next deadline, or -1. */
int tunnel_check_deadlines(struct agent *ag, uint64_t now_ms);
/* Ends the stream without a frame: closes the socket and frees the stream. */
void tunnel_abort(struct agent *ag, struct stream *s);
