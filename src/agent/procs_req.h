/* SPDX-License-Identifier: MIT */
/* procs_req.h: the managed-process requests (docs/agent-protocol.md, "Managed processes"):
 * PROC_START, LIST, GET, ATTACH, INPUT, CTL and WAIT, each a stream the host opens; ATTACH's
 * output under its credit, WAIT's and a remove's timers. Errors are answered on the stream,
 * never returned. Runs on the loop. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct agent;
struct stream;
struct wire_frame;

/* Handles a frame that opens a managed-process request (PROC_START .. PROC_WAIT). */
void procreq_open(struct agent *ag, const struct wire_frame *f);
/* True for the stream kinds of this module. */
bool procreq_owns(const struct stream *s);
/* DATA (PROC_INPUT's bytes) or CANCEL on one of its streams; anything else ends it (EPROTO). */
void procreq_on_frame(struct agent *ag, struct stream *s, const struct wire_frame *f);
/* Ends the stream without a frame (the connection went away); the process is not touched. */
void procreq_abort(struct agent *ag, struct stream *s);
/* Each turn: sends ATTACH output the credit allows, answers WAITs and removes that are due and
 * drops removed records. Returns ms to the next timer, or -1. */
int procreq_pump(struct agent *ag, uint64_t now_ms);
