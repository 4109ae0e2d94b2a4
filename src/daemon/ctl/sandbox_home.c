/* SPDX-License-Identifier: MIT */
/* sandbox_home.c: the one decision of sandbox_home.h, from the sandbox's row (host_id) and the
 * host registry (address, status). A dead host is not tried (the answer is quick and clear); a
 * host that died since its last report is found by the forwarder's connect timeout. */
#include "daemon/ctl/sandbox_home.h"

#include <stdio.h>
#include <string.h>

#include "common/timefmt.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/hosts.h"

void ctl_sandbox_home(struct ctl *c, const char *user_id, const char *id,
                      struct ctl_sandbox_home *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->where = CTL_HOME_LOCAL;
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    if (store_sandbox_get(c->store, user_id, id, &sb) < 0) {
        store_sandbox_release(&sb);
        return;
    }
    bool elsewhere = sb.host_id[0] && strcmp(sb.host_id, c->set.host_id) != 0;
    snprintf(ret->host_id, sizeof(ret->host_id), "%s", sb.host_id);
    store_sandbox_release(&sb);
    if (!elsewhere)
        return;
    struct store_host h;
    memset(&h, 0, sizeof(h));
    ret->where = CTL_HOME_DOWN;
    if (store_host_get(c->store, ret->host_id, &h) < 0) {
        snprintf(ret->why, sizeof(ret->why), "host %s is not registered", ret->host_id);
        return;
    }
    int64_t dead_ms = (int64_t)c->set.host_dead_after_s * 1000;
    if (ctl_host_status_of(&h, timefmt_now_ms(), dead_ms) == CTL_HOST_DEAD) {
        snprintf(ret->why, sizeof(ret->why), "host %s stopped reporting", ret->host_id);
        return;
    }
    if (!h.address[0]) {
        snprintf(ret->why, sizeof(ret->why), "host %s has no host_address", ret->host_id);
        return;
    }
    snprintf(ret->address, sizeof(ret->address), "%s", h.address);
    ret->where = CTL_HOME_REMOTE;
}
