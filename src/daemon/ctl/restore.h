/* SPDX-License-Identifier: MIT */
/* restore.h: the restore step resume and fork share (sandbox_resume.c): the row goes from
 * `from` to resuming (intent running) and the host restores its snapshot in the background. */
#pragma once

#include <stddef.h>

#include "daemon/store/store.h"

struct ctl;
struct ctl_error;
struct timeline;

/* How a restore ended: CTL_OK (running), CTL_E_INVALID_STATE (deleted meanwhile) or
 * CTL_E_FAILED (the snapshot did not restore; the row is `error`). */
typedef void (*ctl_restore_done_fn)(void *ud, const struct ctl_error *e, const char *id);

/* from → resuming, then the restore; keys (taken over; may be NULL) are installed in the
 * guest once it runs. tl: the operation's steps so far (a resume's checks, a fork's), which
 * the restore's steps extend (from STORE_FORKING: a fork's, else a resume's); NULL: they
 * start now. Returns 0 (done, when not NULL, runs once, maybe before this returns)
 * or -errno: -ESTALE not in state from any more, -ENOMEM (nothing changed, done never runs). */
int ctl_restore_start(struct ctl *c, const char *id, enum store_state from,
                      const char *req_id, char **keys, size_t n_keys,
                      const struct timeline *tl, ctl_restore_done_fn done, void *ud);
