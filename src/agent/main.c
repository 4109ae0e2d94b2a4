/* SPDX-License-Identifier: MIT */
/* main.c: hearth-agent's entry. As PID 1 (init=/sbin/hearth-agent) it does the init duties and
 * serves the virtio port forever; as a normal process (tests, debugging) it serves the channel
 * given with --channel and exits when that ends. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/init.h"
#include "agent/loop.h"

static const char usage[] =
    "usage: hearth-agent [--channel fd:N | listen:PATH | DEVICE]\n"
    "  without --channel: find the virtio-serial port named 'hearth.agent'\n";

int main(int argc, char **argv)
{
    const char *spec = NULL;
    bool pid1 = getpid() == 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--channel") == 0 && i + 1 < argc) {
            spec = argv[++i];
        } else if (!pid1) {
            fputs(usage, stderr);
            return 2;
        }
        /* As PID 1 unknown arguments come from the kernel command line: ignore them. */
    }
    if (!pid1)
        return agent_run(spec, false);
    init_system();
    agent_log("started");
    for (;;) {
        /* agent_run returns as PID 1 only when the loop could not start: try again. */
        (void)agent_run(spec, true);
        sleep(1);
    }
}
