/* SPDX-License-Identifier: MIT */
/* sandbox_console.h: where a sandbox's console log is and whether it can still grow, for the
 * logs route (docs/api.md §5.7): the file QEMU appends the guest's serial console to in the
 * VM's run dir, capped by the host (host/console_log.h); gone with the run dir. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct ctl;
struct ctl_caller;
struct ctl_error;

/* The console log path of who's sandbox id into path (the file may be missing), and *live:
 * whether the sandbox's VM may still write to it. 0, or -1 with CTL_E_NOT_FOUND /
 * CTL_E_INTERNAL in e. */
int ctl_sandbox_console(struct ctl *c, const struct ctl_caller *who, const char *id, char *path,
                        size_t len, bool *live, struct ctl_error *e);
/* Whether sandbox id's VM may still write to its console (running, or on its way there or to a
 * pause); false once it is paused, stopped or gone. */
bool ctl_sandbox_console_live(struct ctl *c, const char *id);
