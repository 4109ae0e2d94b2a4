/* SPDX-License-Identifier: MIT */
/* self.h: the in-guest self endpoint (docs/api.md §3.15, docs/guests.md): an HTTP listener on
 * 127.0.0.1:1029 and the FIFO /run/self through which the guest asks to be paused or deleted;
 * each accepted request goes to the host as a SELF frame on stream 0. Loop hooks only; the
 * parsing is self_req.c. Tests move it with HEARTH_AGENT_SELF_PORT and HEARTH_AGENT_SELF_FIFO. */
#pragma once

#include <stdint.h>

struct agent;
struct agent_pollset;

#define SELF_PORT 1029
#define SELF_FIFO "/run/self"
#define SELF_CONN_MAX 8            /* connections served at once; more wait in the backlog */
#define SELF_POLL_MAX (2 + SELF_CONN_MAX)

/* Opens the listener and the FIFO (failures are console lines: the agent serves on without
 * them). As PID 1 they are 127.0.0.1:1029 and /run/self; else only what the environment names
 * (HEARTH_AGENT_SELF_PORT=n, 0 for none; HEARTH_AGENT_SELF_FIFO=path). */
void self_init(struct agent *ag);
/* Each turn: sends a request still pending when a host is connected, drops connections past
 * their deadline, adds the fds to poll (ROLE_SELF) and lowers *timeout_ms to the next deadline. */
void self_poll_add(struct agent *ag, struct agent_pollset *ps, int *timeout_ms);
/* An fd added by self_poll_add() with this id is ready. */
void self_on_poll(struct agent *ag, uint32_t id, short revents);
void self_free(struct agent *ag);
