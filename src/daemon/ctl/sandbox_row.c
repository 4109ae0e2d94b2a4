/* SPDX-License-Identifier: MIT */
/* sandbox_row.c: store steps shared by the sandbox operations (sandbox_row.h). Only store.h;
 * logs a failed bookkeeping step where the operation carries on. */
#include "daemon/ctl/sandbox_row.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/timefmt.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/events.h"
#include "daemon/ctl/sandbox_check.h"
#include "daemon/log.h"

int ctl_row_load(struct ctl *c, const char *user_id, const char *id, struct store_sandbox *sb,
                 struct ctl_error *e)
{
    store_sandbox_init(sb);
    int r = store_sandbox_get(c->store, user_id, id, sb);
    if (r == -ENOENT)
        return ctl_error_set(e, CTL_E_NOT_FOUND, NULL, NULL, "sandbox not found");
    if (r < 0)
        return ctl_error_internal(e, "read sandbox", r);
    return 0;
}

int ctl_row_state(struct ctl *c, const char *user_id, const char *id, enum store_state *ret,
                  struct ctl_error *e)
{
    struct store_sandbox sb;
    int r = ctl_row_load(c, user_id, id, &sb, e);
    *ret = sb.status;
    store_sandbox_release(&sb);
    return r;
}

int ctl_row_vm_layer(const struct ctl *c, struct ctl_error *e)
{
    if (c->host)
        return 0;
    return ctl_error_set(e, CTL_E_UNAVAILABLE, NULL, NULL,
                         "the vm layer is not available; retry later");
}

int ctl_row_require(struct ctl *c, const char *user_id, const char *id, unsigned done_states,
                    unsigned ok_states, const char *msg, enum store_state *ret,
                    struct ctl_error *e)
{
    int r = ctl_row_state(c, user_id, id, ret, e);
    if (r < 0)
        return r;
    if (STORE_STATE_BIT(*ret) & done_states)
        return 1;
    if (!(STORE_STATE_BIT(*ret) & ok_states))
        return ctl_error_set(e, CTL_E_INVALID_STATE, NULL, store_state_to_string(*ret), "%s",
                             msg);
    return ctl_row_vm_layer(c, e);
}

int ctl_row_update_failed(struct ctl_error *e, int r, enum store_state state,
                          const char *stale_msg, const char *what)
{
    if (r == -ESTALE)
        return ctl_error_set(e, CTL_E_INVALID_STATE, NULL, store_state_to_string(state), "%s",
                             stale_msg);
    if (r == -ENOENT)
        return ctl_error_set(e, CTL_E_NOT_FOUND, NULL, NULL, "sandbox not found");
    return ctl_error_internal(e, what, r);
}

void ctl_row_settle(struct ctl *c, const char *id, enum store_state from, enum store_state to,
                    enum store_state intent, const char *req_id)
{
    struct store_transition t = { .from = from, .to = to, .intent = intent,
                                  .now_ms = timefmt_now_ms() };
    int r = store_sandbox_transition(c->store, id, &t, NULL);
    if (r == 0)
        ctl_event_settled(c, id, from, to, t.now_ms, NULL);
    if (r < 0 && r != -ESTALE)
        log_error(req_id, "cannot record sandbox state", "{s:s,s:s,s:s,s:s}", "sandbox", id,
                  "from", store_state_to_string(from), "to", store_state_to_string(to), "err",
                  strerror(-r));
}

void ctl_row_set_snapshot_dir(struct ctl *c, const char *id, enum store_state state,
                              const char *dir, const char *req_id)
{
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    int r = store_sandbox_get(c->store, NULL, id, &sb);
    struct store_sandbox_patch p = { .fields = STORE_PATCH_SNAPSHOT,
                                     .allowed_states = STORE_STATE_BIT(state),
                                     .snapshot_dir = dir, .base_dir = sb.base_dir,
                                     .now_ms = timefmt_now_ms() };
    if (r == 0)
        r = store_sandbox_update(c->store, NULL, id, &p);
    if (r < 0)
        log_warn(req_id, "cannot record the snapshot dir", "{s:s,s:s}", "sandbox", id, "err",
                 strerror(-r));
    store_sandbox_release(&sb);
}

int ctl_row_count_live(struct ctl *c, const char *user, uint64_t *ret)
{
    uint64_t n[STORE_STATE__COUNT];
    int r = store_sandbox_count(c->store, user, n);
    if (r < 0)
        return r;
    *ret = 0;
    for (int s = 0; s < STORE_STATE__COUNT; s++)
        if (!store_state_is_terminal((enum store_state)s))
            *ret += n[s];
    return 0;
}

int ctl_row_insert(struct ctl *c, struct store_sandbox *sb, const char *name,
                   const struct store_env *envs, size_t n_envs)
{
    int r = -EEXIST;
    for (int attempt = 0; attempt < 8; attempt++) {
        if (name)
            snprintf(sb->name, sizeof(sb->name), "%s", name);
        else
            ctl_name_generate(attempt > 0, sb->name);
        r = store_sandbox_insert(c->store, sb, envs, n_envs);
        if (r != -EEXIST || name)
            break;
    }
    return r;
}
