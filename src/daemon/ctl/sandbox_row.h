/* SPDX-License-Identifier: MIT */
/* sandbox_row.h: the small store steps every sandbox operation shares: load a caller's row
 * with a typed not-found, settle a transition, record a snapshot dir, count live rows. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "daemon/store/store.h"

struct ctl;
struct ctl_error;

/* Reads user_id's sandbox id (user_id NULL: any user's) into sb, which the caller releases
 * either way. 0, or CTL_E_NOT_FOUND ("sandbox not found") / CTL_E_INTERNAL in e. */
__attribute__((warn_unused_result))
int ctl_row_load(struct ctl *c, const char *user_id, const char *id, struct store_sandbox *sb,
                 struct ctl_error *e);
/* The state of user_id's sandbox id in *ret. 0, CTL_E_NOT_FOUND or CTL_E_INTERNAL in e. */
__attribute__((warn_unused_result))
int ctl_row_state(struct ctl *c, const char *user_id, const char *id, enum store_state *ret,
                  struct ctl_error *e);
/* 0 when the VM layer runs, else CTL_E_UNAVAILABLE ("the vm layer is not available; retry
 * later") in e. */
__attribute__((warn_unused_result))
int ctl_row_vm_layer(const struct ctl *c, struct ctl_error *e);
/* The state check of an operation on user_id's sandbox id (*ret: its state): 1 when it is in
 * one of done_states already (nothing to do, and no VM layer needed), CTL_E_INVALID_STATE with
 * msg when it is in none of ok_states, CTL_E_UNAVAILABLE without a VM layer, else 0. Masks
 * of STORE_STATE_BIT(). */
__attribute__((warn_unused_result))
int ctl_row_require(struct ctl *c, const char *user_id, const char *id, unsigned done_states,
                    unsigned ok_states, const char *msg, enum store_state *ret,
                    struct ctl_error *e);
/* from → to with intent, now; a row that moved on meanwhile (-ESTALE) is left alone, other
 * errors are logged. */
void ctl_row_settle(struct ctl *c, const char *id, enum store_state from, enum store_state to,
                    enum store_state intent, const char *req_id);
/* Sets the row's snapshot_dir (NULL clears it), keeping its base_dir, while it is in state.
 * Errors are logged. */
void ctl_row_set_snapshot_dir(struct ctl *c, const char *id, enum store_state state,
                              const char *dir, const char *req_id);
/* How many of user's sandboxes are not terminal. 0 or -errno. */
int ctl_row_count_live(struct ctl *c, const char *user, uint64_t *ret);
/* The error of a row update r (< 0) of a sandbox that was in state: -ESTALE (it moved on)
 * CTL_E_INVALID_STATE with stale_msg, -ENOENT CTL_E_NOT_FOUND, else CTL_E_INTERNAL what. */
int ctl_row_update_failed(struct ctl_error *e, int r, enum store_state state,
                          const char *stale_msg, const char *what);
/* Inserts sb (id and fields set, name ignored) named name, or with a generated name when
 * name is NULL (drawn again, with a suffix, when it collides). 0, -EEXIST (name taken), or
 * the store's -errno. */
__attribute__((warn_unused_result))
int ctl_row_insert(struct ctl *c, struct store_sandbox *sb, const char *name,
                   const struct store_env *envs, size_t n_envs);
