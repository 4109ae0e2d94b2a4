/* SPDX-License-Identifier: MIT */
/* sandbox_home.h: is this sandbox's VM on this host, and if not, where (docs/scale-out.md
 * "Host channel")? The API asks before it serves a request addressed to a sandbox; a sandbox
 * another host runs is forwarded to that host's channel (hostchan.h), everything else is
 * served here as always (a missing sandbox, too: its 404 stays the local handler's). */
#pragma once

#include <stdbool.h>

#include "daemon/store/store.h"

struct ctl;

enum ctl_home {
    CTL_HOME_LOCAL,   /* serve here: this host runs it, or it has no host, or no such row */
    CTL_HOME_REMOTE,  /* forward to host_id at address */
    CTL_HOME_DOWN,    /* another host runs it, but cannot be reached now: why says so */
};

struct ctl_sandbox_home {
    enum ctl_home where;
    char host_id[STORE_HOST_SIZE];
    char address[128];
    char why[160];
};

/* Where sandbox id (user_id's; NULL: any user's, an admin) lives. Never fails: a store error
 * is CTL_HOME_LOCAL (the handler meets the same error and answers it). */
void ctl_sandbox_home(struct ctl *c, const char *user_id, const char *id,
                      struct ctl_sandbox_home *ret);
