/* SPDX-License-Identifier: MIT */
/* agent_exec.h: EXEC streams (docs/agent-protocol.md, "EXEC"): a command in its own session with
 * stdin, stdout and stderr pipes, forwarded under flow control, ended by EXIT. All calls run on
 * the loop; errors are answered on the stream, never returned. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct agent;
struct stream;
struct wire_frame;
struct agent_pollset;

/* Starts the command an EXEC frame asks for, or answers ERROR on its stream id. */
void exec_open(struct agent *ag, const struct wire_frame *f);
/* STDIN, SIGNAL or CANCEL for an open exec stream. */
void exec_on_frame(struct agent *ag, struct stream *s, const struct wire_frame *f);
/* Adds the stream's pipes that have work to the poll set. */
void exec_poll_add(struct agent *ag, struct stream *s, struct agent_pollset *ps);
/* One of the stream's pipes is ready (role: ROLE_STDIN/STDOUT/STDERR). May end the stream. */
void exec_on_poll(struct agent *ag, struct stream *s, int role, short revents);
/* A child was reaped. Returns true when it was a stream's command (which may end the stream). */
bool exec_on_reaped(struct agent *ag, pid_t pid, int status);
/* Kills commands past their deadline. Returns milliseconds to the next deadline, or -1. */
int exec_check_deadlines(struct agent *ag, uint64_t now_ms);
/* Ends the stream without a frame (connection gone, or an ERROR was sent): SIGKILLs the group,
 * closes the pipes and frees the stream. The command is reaped later as an orphan. */
void exec_abort(struct agent *ag, struct stream *s);
