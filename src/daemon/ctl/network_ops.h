/* SPDX-License-Identifier: MIT */
/* network_ops.h: private networks (docs/api.md §2.5, §3.8) as typed operations: create and
 * delete a network (its subnet enters or leaves the data plane), and look one up by id or
 * name. A sandbox's attach and detach are in sandbox_ops.h. */
#pragma once

#include <stdint.h>

#include "daemon/store/store.h"

struct ctl;
struct ctl_error;

/* Resolves an id (case-insensitive ULID) or a name of user_id's networks (deleted ones too).
 * 0 or -ENOENT, or the store's -errno. */
int ctl_network_resolve(struct ctl *c, const char *user_id, const char *ref,
                        struct store_network *ret);
/* Creates user_id's network name (checked: ctl_network_name_valid) with a free /24 into *ret.
 * CTL_E_QUOTA, CTL_E_NAME_TAKEN, CTL_E_NO_CAPACITY, CTL_E_INTERNAL. */
__attribute__((warn_unused_result))
int ctl_network_create(struct ctl *c, const char *user_id, const char *name,
                       struct store_network *ret, struct ctl_error *e);
/* Deletes network n (resolved) of user_id; a repeat answers like the first call. CTL_E_IN_USE
 * (members left), CTL_E_INTERNAL. */
__attribute__((warn_unused_result))
int ctl_network_delete(struct ctl *c, const char *user_id, const struct store_network *n,
                       struct ctl_error *e);
