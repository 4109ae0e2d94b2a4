/* SPDX-License-Identifier: MIT */
/* disk.h: S3 disks (docs/api.md §3.9, docs/disks.md) as typed operations of the control layer:
 * register a bucket (checked with a signed HEAD before anything is stored), read, list, rotate
 * its credentials, delete; and hand a disk's credentials, opened from their sealed form, to
 * the mount code (disk_mount.h) and nobody else. Credentials never leave through a view, a log
 * line or an error message. Everything runs on the loop thread; the bucket check runs on a
 * worker thread (disk/probe.h) and reports back on the loop. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "daemon/store/store.h"

struct ctl;
struct ctl_error;
struct disk_cidr;

#define CTL_DISK_KEY_MAX 256           /* access_key and secret_key: bytes each */
#define CTL_DISK_PROBE_TIMEOUT_MS 3000 /* docs/api.md §3.9.2 */

/* A disk's credentials in the clear: only on the stack of the code that mounts or probes, and
 * wiped (ctl_disk_creds_wipe) as soon as they were used. */
struct ctl_disk_creds {
    char access_key[CTL_DISK_KEY_MAX + 1];
    char secret_key[CTL_DISK_KEY_MAX + 1];
};
void ctl_disk_creds_wipe(struct ctl_disk_creds *c);

/* A checked POST /v1/disks body (api/disks.c checks shapes; ctl checks meaning). */
struct ctl_disk_req {
    const char *name;
    const char *bucket;
    const char *endpoint;
    const char *region;                /* NULL: not given */
    bool path_style;
    struct ctl_disk_creds creds;
};

/* How an asynchronous disk operation ended: e->code CTL_OK with the disk's row (borrowed for
 * the call), or the error. */
typedef void (*ctl_disk_done_fn)(void *ud, const struct ctl_error *e, const struct store_disk *d);

/* Sets disks up at start (cmd_serve.c): loads the key file (created 0600 with one key when
 * missing) and keeps the endpoint policy: hearth's own pools and the operator's allow list
 * (copied). 0, or -errno with *why (static text); disks stay off then. Logs the file's path and
 * the sealing key's id, never a key. */
__attribute__((warn_unused_result))
int ctl_disks_start(struct ctl *c, const char *key_file, const struct disk_cidr *own,
                    size_t n_own, const struct disk_cidr *allow, size_t n_allow,
                    const char **why);
/* Forgets running bucket checks (their done never runs), waits for their threads, wipes the
 * keys. Before the loop is freed (ctl_service_release). */
void ctl_disks_stop(struct ctl *c);

/* Whether the operator set disks up (a key file is loaded); every disk route answers 503
 * disks_not_configured (CTL_E_NOT_CONFIGURED) otherwise. */
bool ctl_disks_enabled(const struct ctl *c);

/* Resolves user_id's disk by id or name (deleted ones by id): 0, -ENOENT, or the store's
 * -errno. */
int ctl_disk_resolve(struct ctl *c, const char *user_id, const char *ref, struct store_disk *ret);

/* Registers a disk: name, bucket, endpoint, region checked (CTL_E_INVALID with the field:
 * "name", "config.bucket", "config.endpoint" including an address the operator's policy
 * refuses, "config.region", "credentials.access_key", "credentials.secret_key"), the per-user
 * quota (CTL_E_QUOTA), the name (CTL_E_NAME_TAKEN), CTL_E_NOT_CONFIGURED; then the bucket
 * probe with these credentials (CTL_DISK_PROBE_TIMEOUT_MS), then the row with the sealed
 * credentials. Returns < 0 with *e when nothing started (done never runs), else 0, and done
 * runs exactly once later on the loop: CTL_OK with the row, CTL_E_PROBE_FAILED (field
 * "config", msg "bucket check failed: <reason>"), CTL_E_NAME_TAKEN (raced), CTL_E_INTERNAL. */
__attribute__((warn_unused_result))
int ctl_disk_create(struct ctl *c, const char *user_id, const struct ctl_disk_req *req,
                    ctl_disk_done_fn done, void *ud, struct ctl_error *e);
/* Rotates the credentials of user_id's live disk ref after probing the bucket with the new
 * ones (the old ones are kept when the probe fails). Same calling convention and codes as
 * create, plus CTL_E_NOT_FOUND ("disk not found"). Mounts in place keep the old credentials
 * until they are next mounted (docs/api.md §3.9.4). */
__attribute__((warn_unused_result))
int ctl_disk_rotate(struct ctl *c, const char *user_id, const char *ref,
                    const struct ctl_disk_creds *creds, ctl_disk_done_fn done, void *ud,
                    struct ctl_error *e);
/* Deletes user_id's disk d (resolved); a repeat by id answers like the first call.
 * CTL_E_IN_USE ("disk is attached to N sandbox(es)"), CTL_E_INTERNAL. */
__attribute__((warn_unused_result))
int ctl_disk_delete(struct ctl *c, const char *user_id, const struct store_disk *d,
                    struct ctl_error *e);

/* Opens d's sealed credentials into *ret (wipe after use). 0, -ENOPROTOOPT (disks not
 * configured), -ENOKEY (sealed under a key no longer in the key file), -EBADMSG (tampered
 * with). For the mount code and the probe only. */
__attribute__((warn_unused_result))
int ctl_disk_credentials(struct ctl *c, const struct store_disk *d, struct ctl_disk_creds *ret);
