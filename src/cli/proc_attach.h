/* SPDX-License-Identifier: MIT */
/* proc_attach.h: following a managed process's output from the CLI (cmd_process_attach.c),
 * shared by `process run|start --follow|shell|attach`: output to stdout/stderr (or the raw
 * NDJSON), local stdin forwarded as input, and for a PTY a raw local terminal whose size
 * follows SIGWINCH and whose Ctrl-] detaches. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct cli;

/* Follows process pid of sandbox id from seq after (follow: until it ends). forward_stdin
 * sends local stdin as input (a pipe's EOF closes the process's stdin); pty with a terminal on
 * stdin makes it raw for the call. Returns 0 with *ret_exit_code (may be NULL) the exit
 * event's code, or -1 when none came (detached, or the replay ended without follow); or an
 * error's exit code after printing it. */
int cli_proc_attach(struct cli *cli, const char *id, const char *pid, bool pty, int64_t after,
                    bool follow, bool forward_stdin, bool raw, int *ret_exit_code);
/* The exit status for a process exit code (-1: none came, 0). */
int cli_proc_exit_status(int exit_code);
