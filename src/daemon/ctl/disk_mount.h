/* SPDX-License-Identifier: MIT */
/* disk_mount.h: mounts of S3 disks in sandboxes (docs/api.md §3.9.6–§3.9.9, docs/disks.md
 * "Mounts"): the rows (store: sandbox_disks) decide what should be mounted; the guest does the
 * mounting (s3fs through the agent, credentials handed over in memory, never written to the
 * guest's disk). A mount is pending until the guest reports it mounted, or error with a one-line
 * reason; error mounts are retried every 30 s while the sandbox runs, and mounted ones are
 * checked on the same round (a bucket gone turns error, the sandbox keeps running). Everything
 * runs on the loop thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "daemon/store/store.h"

struct ctl;
struct ctl_error;
struct ctl_caller;

/* One mount as requested (attach body, create's and fork's disks[i]); strings borrowed. */
struct ctl_mount_req {
    const char *disk;                  /* id or name */
    const char *mount_path;            /* checked: ctl_mount_path_valid() */
    const char *sub_path;              /* NULL or "": the whole bucket */
};

/* Attaches a disk to a running sandbox live: the row is recorded pending and the mount starts
 * in the background. *ret_unchanged is true when the same (disk, mount_path, sub_path) was there
 * already (nothing done). CTL_E_NOT_CONFIGURED, CTL_E_NOT_FOUND ("sandbox not found", "disk not
 * found"), CTL_E_INVALID_STATE (not running), CTL_E_INVALID (field "mount_path": "already in
 * use", or a path the rules refuse; "sub_path"), CTL_E_LIMIT_REACHED (16 mounts),
 * CTL_E_INTERNAL. */
__attribute__((warn_unused_result))
int ctl_sandbox_disk_attach(struct ctl *c, const struct ctl_caller *who, const char *id,
                            const struct ctl_mount_req *req, bool *ret_unchanged,
                            struct ctl_error *e);
/* Detaches (disk, mount_path) from sandbox id: running → unmounting, unmounted in the guest,
 * then the row goes; paused or error → the row goes at once. *ret_detached false when there
 * was no such mount. CTL_E_NOT_FOUND (sandbox or disk), CTL_E_INVALID_STATE, CTL_E_INTERNAL. */
__attribute__((warn_unused_result))
int ctl_sandbox_disk_detach(struct ctl *c, const struct ctl_caller *who, const char *id,
                            const char *disk, const char *mount_path, bool *ret_detached,
                            struct ctl_error *e);
/* The mounts of sandbox id (any state) ordered by mount_path; *ret (free()) holds *ret_n.
 * CTL_E_NOT_FOUND, CTL_E_INTERNAL. */
__attribute__((warn_unused_result))
int ctl_sandbox_disk_list(struct ctl *c, const struct ctl_caller *who, const char *id,
                          struct store_mount **ret, size_t *ret_n, struct ctl_error *e);

/* ctl_disk_mounts_prepare() for the disks[] of a create or fork request (sandbox_check.h). */
struct ctl_disk_ref;
__attribute__((warn_unused_result))
int ctl_disk_mounts_prepare_refs(struct ctl *c, const char *user_id,
                                 const struct ctl_disk_ref *refs, size_t n,
                                 struct store_mount *out, struct ctl_error *e);
/* Resolves and checks create's or fork's disks[] for user_id before anything is stored:
 * CTL_E_NOT_CONFIGURED, CTL_E_UNKNOWN_REF (field "disks[i].disk_id"), CTL_E_INVALID
 * ("disks[i].mount_path": two at one path). On 0, out[0..n) are the rows to store
 * (sandbox_id empty, status pending). */
__attribute__((warn_unused_result))
int ctl_disk_mounts_prepare(struct ctl *c, const char *user_id, const struct ctl_mount_req *req,
                            size_t n, struct store_mount *out, struct ctl_error *e);

/* The guest of sandbox id (re)started: after a create's boot or restore, a resume, a fork
 * child's first run, a hearthd restart that adopted it. Mounts every recorded row (a fork
 * child first lets go of whatever its source had mounted) and records each outcome. Errors go
 * to the rows and the log. */
void ctl_disk_mounts_start(struct ctl *c, const char *id);
/* Starts and stops the 30 s round (retry error mounts, check mounted ones); ctl.c calls them. */
int ctl_disk_mounts_watch_start(struct ctl *c);
void ctl_disk_mounts_watch_stop(struct ctl *c);
/* A stopping hearthd, after the VM layer let go of the VMs: frees the jobs still under way
 * (their guest chores were dropped by guest_jobs_drop_all() and never report). */
void ctl_disk_mounts_release(struct ctl *c);
