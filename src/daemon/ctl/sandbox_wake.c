/* SPDX-License-Identifier: MIT */
/* sandbox_wake.c: waking a paused sandbox on traffic (sandbox_wake.h). Placeholder until the
 * lead lands the real one: a running sandbox answers 0, anything else fails. */
#include "daemon/ctl/sandbox_wake.h"

#include <errno.h>

#include "daemon/ctl/ctl.h"
#include "daemon/store/store.h"

int ctl_sandbox_wake(struct ctl *c, const char *user_id, const char *id, const char *actor,
                     ctl_wake_fn fn, void *ud, struct ctl_wake **ret, struct ctl_error *e)
{
    (void)actor, (void)fn, (void)ud;
    *ret = NULL;
    struct store_sandbox sb;
    int r = store_sandbox_get(c->store, user_id, id, &sb);
    if (r < 0)
        return ctl_error_set(e, CTL_E_NOT_FOUND, NULL, NULL, "sandbox not found");
    bool running = sb.status == STORE_RUNNING;
    store_sandbox_release(&sb);
    if (running)
        return 0;
    return ctl_error_set(e, CTL_E_UNAVAILABLE, NULL, NULL, "waking is not built yet");
}

void ctl_wake_cancel(struct ctl *c, struct ctl_wake *w)
{
    (void)c, (void)w;
}

unsigned ctl_wake_pending(const struct ctl *c)
{
    (void)c;
    return 0;
}
