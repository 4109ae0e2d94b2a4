/* SPDX-License-Identifier: MIT */
/* loop.h: the agent's event loop: one poll() over the channel, a signalfd (SIGCHLD and the
 * power signals) and the pipes of running commands. main.c calls it after the init duties;
 * tests call it in a forked child over a socketpair. */
#pragma once

#include <stdbool.h>

/* Serves the host over the channel spec (see channel_open(); NULL finds the virtio port,
 * waiting for it to appear). pid1: reap everything, set the clock, power signals shut the guest
 * down. Returns only when not PID 1: 0 after the channel ended, a POWER request or
 * SIGTERM/SIGINT; 1 when the channel cannot be opened. */
int agent_run(const char *spec, bool pid1);
