/* SPDX-License-Identifier: MIT */
/* proto.h: the agent side of the channel protocol (docs/agent-protocol.md): dispatches each
 * frame from the host to the stream it belongs to, answers channel frames (HELLO, PING,
 * WINDOW) and turns every malformed or out-of-order frame into an ERROR. Runs on the loop. */
#pragma once

#include <jansson.h>

struct agent;
struct stream;
struct wire_frame;

/* Handles one frame from the host. Never fails: problems are answered on the channel. */
void proto_on_frame(struct agent *ag, const struct wire_frame *f);
/* Ends a stream without a frame of its own, whatever its kind. */
void proto_stream_abort(struct agent *ag, struct stream *s);
/* Sends ERROR on the stream and ends it. */
void proto_stream_fail(struct agent *ag, struct stream *s, int err, const char *msg);
/* Ends every stream (the host went away): commands killed, transfers abandoned. */
void proto_abort_all(struct agent *ag);
