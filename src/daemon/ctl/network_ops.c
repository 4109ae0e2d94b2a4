/* SPDX-License-Identifier: MIT */
/* network_ops.c: private networks and a sandbox's memberships (network_ops.h, sandbox_ops.h;
 * docs/api.md §3.8). Members of one network reach each other on any port and resolve each
 * other by name through hearthd's DNS (netplane.c); a running member gets its new address
 * live (the agent's NETCFG), a paused one when it next runs. */
#include "daemon/ctl/network_ops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/crashpt.h"
#include "common/timefmt.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/netplane.h"
#include "daemon/ctl/quota.h"
#include "daemon/ctl/sandbox_check.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/ctl/sandbox_row.h"
#include "daemon/store/ids.h"
#include "daemon/store/store.h"


/* Where attach and detach are accepted (§3.8.5): live when running, stored when paused/error. */
#define ATTACH_STATES                                                                            \
    (STORE_STATE_BIT(STORE_RUNNING) | STORE_STATE_BIT(STORE_PAUSED) |                            \
     STORE_STATE_BIT(STORE_ERROR))

int ctl_network_resolve(struct ctl *ctx, const char *user_id, const char *ref,
                        struct store_network *ret)
{
    char canon[STORE_ID_SIZE];
    size_t len = strlen(ref);
    /* an id-shaped reference is an id only (§1.9), matched case-insensitively */
    if (len > 4 && strncasecmp(ref, IDS_NETWORK_PREFIX, 4) == 0) {
        if (ids_canonical(IDS_NETWORK_PREFIX, ref, len, canon, sizeof(canon)) < 0)
            return -ENOENT;
        ref = canon;
    } else if (!ctl_network_name_valid(ref, len)) {
        return -ENOENT;
    }
    return store_network_get(ctx->store, user_id, ref, ret);
}

int ctl_network_create(struct ctl *ctx, const char *user_id, const char *name,
                       struct store_network *ret, struct ctl_error *e)
{
    int r = ctl_quota_networks(ctx, user_id, e);
    if (r < 0)
        return r;
    struct store_network net = { .created_at = timefmt_now_ms() };
    snprintf(net.user_id, sizeof(net.user_id), "%s", user_id);
    snprintf(net.name, sizeof(net.name), "%s", name);
    if (ids_new_network(net.id) < 0)
        return ctl_error_internal(e, "new network id", -EIO);
    /* a subnet freed by a delete may be taken again; retry past a collision */
    for (int attempt = 0; attempt < 3; attempt++) {
        r = ctl_net_alloc_subnet(ctx, net.subnet);
        if (r == 0)
            r = store_network_insert(ctx->store, &net);
        if (r != -EADDRINUSE)
            break;
    }
    if (r == -EEXIST)
        return ctl_error_set(e, CTL_E_NAME_TAKEN, "name", NULL, "name already in use: %s",
                             net.name);
    if (r == -EADDRNOTAVAIL)
        return ctl_error_set(e, CTL_E_NO_CAPACITY, NULL, NULL, "no free network address range");
    if (r < 0)
        return ctl_error_internal(e, "create network", r);
    ctl_net_subnet_added(ctx, net.subnet);
    *ret = net;
    return 0;
}

/* Removes the memberships of n's members that are being destroyed (the store's trigger would
 * remove them when the destroy completes; their VMs are stopping and their data plane goes with
 * them). Returns how many members are left that are not being destroyed, or -errno. */
static int64_t detach_destroying(struct ctl *ctx, const struct store_network *n)
{
    struct store_member *m = NULL;
    size_t nm = 0;
    int r = store_member_list(ctx->store, n->id, NULL, &m, &nm);
    if (r < 0)
        return r;
    int64_t live = 0;
    for (size_t i = 0; i < nm; i++) {
        if (m[i].status != STORE_DESTROYING) {
            live++;
            continue;
        }
        r = store_member_remove(ctx->store, n->id, m[i].sandbox_id);
        if (r < 0 && r != -ENOENT) { /* -ENOENT: its destroy completed meanwhile */
            free(m);
            return r;
        }
    }
    free(m);
    return live;
}

int ctl_network_delete(struct ctl *ctx, const char *user_id, const struct store_network *n,
                       struct ctl_error *e)
{
    uint64_t members = 0;
    int r = store_network_delete(ctx->store, user_id, n->id, timefmt_now_ms(), &members);
    /* members still `destroying` (a delete right after destroying them) do not hold the
     * network: they leave now, and the delete is tried once more (docs/networking.md) */
    if (r == -EBUSY) {
        int64_t live = detach_destroying(ctx, n);
        if (live < 0)
            return ctl_error_internal(e, "delete network", (int)live);
        if (live == 0)
            r = store_network_delete(ctx->store, user_id, n->id, timefmt_now_ms(), &members);
    }
    if (r == -EBUSY)
        return ctl_error_set(e, CTL_E_IN_USE, NULL, NULL, "network has %llu member%s",
                             (unsigned long long)members, members == 1 ? "" : "s");
    if (r < 0 && r != -EALREADY) /* a repeat by id answers like the first call (§1.11) */
        return ctl_error_internal(e, "delete network", r);
    if (r == 0)
        ctl_net_subnet_released(ctx, n->subnet);
    return 0;
}

/* The sandbox (in an attachable state) and the network of a membership change. */
static int member_load(struct ctl *ctx, const struct ctl_caller *who, const char *id,
                       const char *ref, bool live_only, enum store_state *ret_state,
                       struct store_network *ret_net, struct ctl_error *e)
{
    enum store_state s = STORE_STATE_NONE;
    int r = ctl_row_state(ctx, who->user_id, id, &s, e);
    if (r < 0)
        return r;
    if (!(STORE_STATE_BIT(s) & ATTACH_STATES))
        return ctl_error_set(e, CTL_E_INVALID_STATE, NULL, store_state_to_string(s),
                             "networks can change only while running, paused or in error");
    r = ctl_network_resolve(ctx, who->user_id, ref, ret_net);
    if (r == 0 && live_only && ret_net->deleted_at)
        r = -ENOENT;
    if (r == -ENOENT)
        return ctl_error_set(e, CTL_E_NOT_FOUND, NULL, NULL, "network not found");
    if (r < 0)
        return ctl_error_internal(e, "read network", r);
    *ret_state = s;
    return 0;
}

/* Joins (attach) or leaves the network; a running member gets its new config at once. */
static int member_change(struct ctl *ctx, const struct ctl_caller *who, const char *id,
                         const char *ref, bool attach, struct ctl_error *e)
{
    enum store_state s = STORE_STATE_NONE;
    struct store_network n;
    int r = member_load(ctx, who, id, ref, attach, &s, &n, e);
    if (r < 0)
        return r;
    r = attach ? ctl_net_join(ctx, n.id, n.subnet, id) : store_member_remove(ctx->store, n.id, id);
    if (r == -E2BIG)
        return ctl_error_set(e, CTL_E_LIMIT_REACHED, NULL, NULL,
                             "a sandbox joins at most 8 networks");
    if (r == -EADDRNOTAVAIL)
        return ctl_error_set(e, CTL_E_NO_CAPACITY, NULL, NULL, "the network has no free address");
    if (r < 0 && r != (attach ? -EEXIST : -ENOENT))
        return ctl_error_internal(e, attach ? "join network" : "leave network", r);
    /* the membership is stored, the running member's data plane not changed yet */
    crashpt(attach ? "net-attach-stored" : "net-detach-stored");
    if (r == 0 && s == STORE_RUNNING)
        ctl_net_refresh(ctx, id, true);
    return 0;
}

int ctl_sandbox_network_attach(struct ctl *ctx, const struct ctl_caller *who, const char *id,
                               const char *ref, struct ctl_error *e)
{
    return member_change(ctx, who, id, ref, true, e);
}

int ctl_sandbox_network_detach(struct ctl *ctx, const struct ctl_caller *who, const char *id,
                               const char *ref, struct ctl_error *e)
{
    return member_change(ctx, who, id, ref, false, e);
}
