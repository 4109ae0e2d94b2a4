/* SPDX-License-Identifier: MIT */
/* sandbox_ops.h: the typed sandbox operations of the control layer (docs/api.md §3.2, §3.3,
 * §3.6, §3.7, §3.8). Each takes the caller and a checked request, records a durable intent in
 * the store before any VM work (host.h), and reports a typed error (ctl.h). No HTTP: the API,
 * the reconciler or a test drive them alike. Everything runs on the loop thread.
 *
 * Synchronous operations return 0 or a -errno with *e filled. Asynchronous ones (create,
 * fork) return < 0 with *e when nothing started (done never runs), else 0, and done runs
 * exactly once later, possibly before the call returns. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/ctl/sandbox_check.h"
#include "daemon/store/store.h"

struct ctl;
struct ctl_error;

/* Who asks: the owner of the rows touched and the key recorded as created_by. */
struct ctl_caller {
    const char *user_id;
    const char *key_id;
    const char *req_id;      /* for the log; may be NULL */
    const char *actor;       /* who asks, for the event log (events.h): NULL is "api" */
    const char *reason;      /* why, for the event log; may be NULL */
    int64_t start_us;        /* the request's arrival (monotonic), where an operation's
                                timeline starts; 0: when the control layer is called */
};

/* How an asynchronous operation ended: e->code CTL_OK with the sandbox's row (borrowed for
 * the call; NULL when the operation has none at hand: read it by id), or the error. */
typedef void (*ctl_sandbox_done_fn)(void *ud, const struct ctl_error *e, const char *id,
                                    const struct store_sandbox *sb);

/* ---- create (§3.2.1) ---- */

/* Creates a sandbox from a checked request (ownership of req's lists stays with the caller):
 * the 503/403 checks first, then the row (creating, intent running), its networks, and the
 * VM: a golden snapshot's restore or a cold boot, the guest's SSH keys and file system size.
 * Sync errors: CTL_E_INVALID/CTL_E_UNKNOWN_REF (shape, rootfs, networks[i].id),
 * CTL_E_UNAVAILABLE, CTL_E_QUOTA, CTL_E_NAME_TAKEN, CTL_E_NO_CAPACITY (networks, or the host's
 * host_max_vms: quota.h), CTL_E_NO_SPACE (space.h), CTL_E_INTERNAL; nothing is stored for any of them but a failed join (the row turns failed). done then reports
 * CTL_OK with the running row, CTL_E_BOOT_FAILED, or CTL_E_INVALID_STATE ("destroying") when
 * the sandbox was deleted meanwhile. */
__attribute__((warn_unused_result))
int ctl_sandbox_create(struct ctl *c, const struct ctl_caller *who,
                       const struct ctl_create_req *req, ctl_sandbox_done_fn done, void *ud,
                       struct ctl_error *e);

/* ---- destroy (§3.2.6) ---- */

/* Destroys sandbox id: a live VM is torn down behind a durable `destroying` (the row turns
 * destroyed when the host is done), anything else turns destroyed at once. Idempotent: a
 * destroying or destroyed row is left as it is. *ret_state is the state reported.
 * CTL_E_NOT_FOUND, CTL_E_UNAVAILABLE (a live VM and no VM layer), CTL_E_INTERNAL. */
__attribute__((warn_unused_result))
int ctl_sandbox_destroy(struct ctl *c, const struct ctl_caller *who, const char *id,
                        enum store_state *ret_state, struct ctl_error *e);
/* Starts host_vm_destroy() of sandbox id, whose row is already destroying with its intent (or
 * failed); on success the row becomes destroyed. Errors are logged; the intent stays for
 * reconcile. req_id may be NULL. */
void ctl_sandbox_destroy_vm(struct ctl *c, const char *id, const char *req_id);

/* ---- pause, resume, fork (§3.3.1–§3.3.3) ---- */

/* Pauses a running sandbox (running → pausing, then the host's pause into a new snapshot);
 * a paused or pausing one is left as it is. 0: read the row for where it is now.
 * CTL_E_NOT_FOUND, CTL_E_INVALID_STATE (not running), CTL_E_UNAVAILABLE, CTL_E_NO_SPACE,
 * CTL_E_INTERNAL. */
__attribute__((warn_unused_result))
int ctl_sandbox_pause(struct ctl *c, const struct ctl_caller *who, const char *id,
                      struct ctl_error *e);
/* The pause step alone (auto-pause): running → pausing, then the host. 0; -ESTALE (not
 * running any more); -ENOSPC (under the free-space threshold, space.h: nothing done); -errno. */
int ctl_sandbox_pause_start(struct ctl *c, const char *id, const char *req_id);

/* Resumes a paused (or error) sandbox from its snapshot in the background (up to 3 restore
 * attempts, then error); a running or resuming one is left alone, and a forking child is told
 * to run when its copy ends. 0: read the row for where it is now. CTL_E_NOT_FOUND,
 * CTL_E_INVALID_STATE, CTL_E_UNAVAILABLE, CTL_E_NO_CAPACITY (host_max_vms), CTL_E_INTERNAL. */
__attribute__((warn_unused_result))
int ctl_sandbox_resume(struct ctl *c, const struct ctl_caller *who, const char *id,
                       struct ctl_error *e);

struct ctl_fork;
/* Forks sandbox src into req->count new ones (§3.3.3): each child shares the source's
 * snapshot, gets its own address, joins the source's networks, and is restored (or stays
 * paused with start_paused). A source still pausing is waited for (up to 30 s); a running one
 * is snapshotted live first (it stops for the copy and runs on; docs/snapshots.md "Live
 * fork"). req is taken over (released by the operation). Sync errors: CTL_E_UNAVAILABLE,
 * CTL_E_QUOTA (the user's max_sandboxes), CTL_E_NO_CAPACITY (host_max_vms), CTL_E_NO_SPACE,
 * CTL_E_INTERNAL. done reports CTL_OK with the first child's id (all of them in
 * req->children), or the first child's failure: CTL_E_NOT_FOUND, CTL_E_INVALID_STATE (the
 * source is in another state, or a live fork or pause of it is under way),
 * CTL_E_NAME_TAKEN, CTL_E_NO_CAPACITY, CTL_E_QUOTA, CTL_E_FAILED, CTL_E_INTERNAL. *ret_op (NULL when done already ran) lets the caller abandon it; it is
 * valid until done runs. */
__attribute__((warn_unused_result))
int ctl_sandbox_fork(struct ctl *c, const struct ctl_caller *who, const char *src,
                     struct ctl_fork_req *req, ctl_sandbox_done_fn done, void *ud,
                     struct ctl_fork **ret_op, struct ctl_error *e);
/* Whether a live fork of sandbox id is under way (a pause is refused meanwhile). */
bool ctl_fork_live_busy(struct ctl *c, const char *id);
/* The caller lost interest: a fork still waiting for its source stops at its next check
 * (done reports CTL_E_FAILED "abandoned"); one being restored completes. done runs either way. */
void ctl_sandbox_fork_abandon(struct ctl_fork *op);

/* ---- disk and SSH keys (§3.3.4, §3.3.5) ---- */

/* Grows a running sandbox's disk to mib (larger than now, at most the operator's maximum):
 * the host's block resize, then resize2fs in the guest; disk_mib is stored once both worked.
 * Sync errors: CTL_E_NOT_FOUND, CTL_E_INVALID (disk_mib), CTL_E_INVALID_STATE,
 * CTL_E_UNAVAILABLE, CTL_E_INTERNAL. done reports CTL_OK, CTL_E_INVALID_STATE ("running": the
 * VM went or another resize holds the disk), CTL_E_INVALID (disk_mib: larger already) or
 * CTL_E_FAILED (the size is unchanged). */
__attribute__((warn_unused_result))
int ctl_sandbox_resize(struct ctl *c, const struct ctl_caller *who, const char *id,
                       int64_t mib, ctl_sandbox_done_fn done, void *ud, struct ctl_error *e);

/* How a key add ended: the sandbox's number of keys now. */
typedef void (*ctl_keys_done_fn)(void *ud, size_t count);
/* Adds n canonical keys (ctl_ssh_key) to a configurable sandbox; a running guest gets the
 * whole list in authorized_keys (its failure is logged, not reported). CTL_E_NOT_FOUND,
 * CTL_E_INVALID ("keys": more than 64 in total), CTL_E_INVALID_STATE, CTL_E_INTERNAL. On 0,
 * done runs once, maybe before this returns. */
__attribute__((warn_unused_result))
int ctl_sandbox_keys_add(struct ctl *c, const struct ctl_caller *who, const char *id,
                         const char *const *keys, size_t n, ctl_keys_done_fn done, void *ud,
                         struct ctl_error *e);

/* ---- settings of a sandbox (§3.2.5, §3.6, §3.7, §3.8.5) ---- */

/* Applies a checked PATCH (§3.2.5) to a configurable sandbox; *ret gets the row after (the
 * caller releases it whatever the result). CTL_E_NOT_FOUND, CTL_E_INVALID_STATE,
 * CTL_E_INTERNAL. */
__attribute__((warn_unused_result))
int ctl_sandbox_patch(struct ctl *c, const struct ctl_caller *who, const char *id,
                      const struct ctl_patch_req *p, struct store_sandbox *ret,
                      struct ctl_error *e);
/* Replaces the egress allowlist (canonical rules; n == 0: allow all) of a configurable
 * sandbox; a running one's data plane follows at once. *ret gets the row after (the caller
 * releases it whatever the result). */
__attribute__((warn_unused_result))
int ctl_sandbox_egress_set(struct ctl *c, const struct ctl_caller *who, const char *id,
                           const char *const *rules, size_t n, struct store_sandbox *ret,
                           struct ctl_error *e);
/* Adds add_bytes (1..2^50, checked by the caller) to a metered sandbox's quota; uncaps it
 * when it is under again. Unmetered: nothing changes. *sb gets the row after (the caller
 * releases it whatever the result). */
__attribute__((warn_unused_result))
int ctl_sandbox_bandwidth_recharge(struct ctl *c, const struct ctl_caller *who, const char *id,
                                   int64_t add_bytes, struct store_sandbox *sb,
                                   struct ctl_error *e);
/* Joins sandbox id to the network ref (id or name) or leaves it; a running member gets its
 * new config at once. CTL_E_NOT_FOUND (sandbox or network: msg says which),
 * CTL_E_INVALID_STATE, CTL_E_LIMIT_REACHED, CTL_E_NO_CAPACITY, CTL_E_INTERNAL. A sandbox is
 * looked up before the network. */
__attribute__((warn_unused_result))
int ctl_sandbox_network_attach(struct ctl *c, const struct ctl_caller *who, const char *id,
                               const char *ref, struct ctl_error *e);
__attribute__((warn_unused_result))
int ctl_sandbox_network_detach(struct ctl *c, const struct ctl_caller *who, const char *id,
                               const char *ref, struct ctl_error *e);
