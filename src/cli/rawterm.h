/* SPDX-License-Identifier: MIT */
/* rawterm.h: the local terminal of an interactive command (`sb shell`, a PTY `process
 * attach`): raw mode that comes back on every way out (leave, exit, SIGTERM/SIGHUP/SIGQUIT),
 * SIGWINCH as a byte on a non-blocking self-pipe to poll, and the terminal's size. One
 * terminal per process, as there is one stdin. */
#pragma once

#include <stdbool.h>

/* Puts the terminal on stdin in raw mode (cfmakeraw). false when stdin is not a terminal or
 * refuses: nothing changed. */
bool rawterm_enter(void);
/* Restores what rawterm_enter() found; a no-op when not raw. */
void rawterm_leave(void);
/* Installs the SIGWINCH handler and returns the read end of its self-pipe (poll it for
 * POLLIN, then rawterm_winch_drain()), or -errno. */
int rawterm_winch_open(void);
void rawterm_winch_drain(void);
/* SIGWINCH back to its default; closes the pipe. A no-op when not open. */
void rawterm_winch_close(void);
/* The local terminal's size (stdin's, else stdout's; else 24x80), at most 1000 each. */
void rawterm_size(int *rows, int *cols);
