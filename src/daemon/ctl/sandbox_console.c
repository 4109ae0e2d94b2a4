/* SPDX-License-Identifier: MIT */
/* sandbox_console.c: a sandbox's console log for the logs route (sandbox_console.h): the
 * ownership check, the path in the run dir, and the liveness a follower stops on. */
#include "daemon/ctl/sandbox_console.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "daemon/ctl/ctl.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/ctl/sandbox_row.h"
#include "daemon/host/host.h"
#include "daemon/store/store.h"

static bool state_live(enum store_state s)
{
    return s == STORE_CREATING || s == STORE_RUNNING || s == STORE_RESUMING ||
           s == STORE_PAUSING || s == STORE_FORKING;
}

int ctl_sandbox_console(struct ctl *c, const struct ctl_caller *who, const char *id, char *path,
                        size_t len, bool *live, struct ctl_error *e)
{
    enum store_state s;
    if (ctl_row_state(c, who->user_id, id, &s, e) < 0)
        return -1;
    *live = state_live(s) && c->host;
    char dir[4096];
    if (!c->host || host_vm_run_dir(c->host, id, dir, sizeof(dir)) < 0 ||
        (size_t)snprintf(path, len, "%s/console.log", dir) >= len) {
        path[0] = 0; /* no VM layer: no console */
        *live = false;
    }
    return 0;
}

bool ctl_sandbox_console_live(struct ctl *c, const char *id)
{
    enum store_state s;
    struct ctl_error e;
    return c->host && ctl_row_state(c, NULL, id, &s, &e) == 0 && state_live(s);
}
