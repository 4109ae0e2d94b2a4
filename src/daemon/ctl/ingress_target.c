/* SPDX-License-Identifier: MIT */
/* ingress_target.c: resolving and metering ingress traffic (ingress_target.h). One message and
 * one code for every miss, and the store is read the same way for each, so a client cannot tell
 * an unknown sandbox from a hidden one. */
#include "daemon/ctl/ingress_target.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/timefmt.h"
#include "daemon/ctl/credential.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/idle.h"
#include "daemon/log.h"
#include "daemon/store/ids.h"

#define NOT_FOUND_MSG "no such sandbox"

static bool has_vm_state(enum store_state s)
{
    return s == STORE_RUNNING || s == STORE_PAUSING || s == STORE_PAUSED ||
           s == STORE_RESUMING || s == STORE_FORKING;
}

int ctl_ingress_resolve(struct ctl *c, const char *ref, const struct ctl_credential *cred,
                        struct ctl_ingress_target *ret, struct ctl_error *e)
{
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    char id[STORE_ID_SIZE];
    int r;
    if (ids_canonical("sb-", ref, strlen(ref), id, sizeof(id)) == 0)
        r = store_sandbox_get(c->store, NULL, id, &sb);
    else
        r = store_sandbox_get_ingress_name(c->store, ref, &sb);
    if (r < 0 && r != -ENOENT && r != -ENOTUNIQ)
        return ctl_error_internal(e, "read sandbox", r);
    bool ok = r == 0 && sb.ingress_enabled && has_vm_state(sb.status);
    if (ok && cred)
        ok = cred->sandbox_id[0] ? strcmp(cred->sandbox_id, sb.id) == 0
                                 : strcmp(cred->user_id, sb.user_id) == 0;
    if (ok) {
        snprintf(ret->id, sizeof(ret->id), "%s", sb.id);
        snprintf(ret->user_id, sizeof(ret->user_id), "%s", sb.user_id);
    }
    if (r == 0)
        store_sandbox_release(&sb);
    return ok ? 0 : ctl_error_set(e, CTL_E_NOT_FOUND, NULL, NULL, NOT_FOUND_MSG);
}

bool ctl_ingress_open_ok(struct ctl *c, const char *id)
{
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    if (store_sandbox_get(c->store, NULL, id, &sb) < 0)
        return false;
    bool ok = sb.ingress_enabled && sb.status == STORE_RUNNING;
    store_sandbox_release(&sb);
    return ok;
}

void ctl_ingress_count(struct ctl *c, const char *id, uint64_t bytes)
{
    if (bytes == 0)
        return;
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    if (store_sandbox_get(c->store, NULL, id, &sb) < 0)
        return; /* gone: nothing left to count against */
    /* read and written on the loop thread, like the network meter (netplane.c): no lost update */
    struct store_sandbox_patch p = {
        .fields = STORE_PATCH_BW_COUNTERS,
        .bw_used_bytes = sb.bw_used_bytes,
        .bw_ingress_bytes = sb.bw_ingress_bytes + (int64_t)bytes,
        .bw_capped = sb.bw_capped,
        .now_ms = timefmt_now_ms(),
    };
    int r = store_sandbox_update(c->store, NULL, id, &p);
    if (r < 0)
        log_warn(NULL, "ingress: store counter", "{s:s,s:s}", "sandbox", id, "err",
                 strerror(-r));
    store_sandbox_release(&sb);
}

void ctl_ingress_touch(struct ctl *c, const char *user_id, const char *id)
{
    ctl_idle_touch_request(c, user_id, id);
}
