/* SPDX-License-Identifier: MIT */
/* disk_mount.c: the typed operations on a sandbox's disk mounts (disk_mount.h, docs/api.md
 * §3.9.6–§3.9.9): attach live, detach, list, and the disks[] of create and fork checked and
 * resolved before anything is stored. The rows decide; the work in the guest is
 * disk_mount_run.c's. */
#include "daemon/ctl/disk_mount.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timefmt.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/disk.h"
#include "daemon/ctl/disk_mount_run.h"
#include "daemon/ctl/sandbox_check.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/ctl/sandbox_row.h"
#include "daemon/log.h"

#define PATH_RULE "must be a normalised absolute path, not / and not a system directory " \
                  "(see docs/api.md §3.9.6)"
#define SUB_RULE "must be a relative key prefix without '.' or '..' segments, at most 1024 bytes"

static int not_configured(struct ctl_error *e)
{
    return ctl_error_set(e, CTL_E_NOT_CONFIGURED, NULL, NULL, "disks API not configured");
}

/* user_id's live disk ref (deleted ones too with any_state): 0, CTL_E_NOT_FOUND or
 * CTL_E_INTERNAL. */
static int disk_get(struct ctl *c, const char *user_id, const char *ref, bool any_state,
                    struct store_disk *d, struct ctl_error *e)
{
    int r = ctl_disk_resolve(c, user_id, ref, d);
    if (r == 0 && d->deleted_at && !any_state)
        r = -ENOENT;
    if (r == -ENOENT)
        return ctl_error_set(e, CTL_E_NOT_FOUND, NULL, NULL, "disk not found");
    if (r < 0)
        return ctl_error_internal(e, "read disk", r);
    return 0;
}

int ctl_sandbox_disk_attach(struct ctl *c, const struct ctl_caller *who, const char *id,
                            const struct ctl_mount_req *req, bool *ret_unchanged,
                            struct ctl_error *e)
{
    *ret_unchanged = false;
    if (!ctl_disks_enabled(c))
        return not_configured(e);
    const char *sub = req->sub_path ? req->sub_path : "";
    if (!ctl_mount_path_valid(req->mount_path))
        return ctl_error_set(e, CTL_E_INVALID, "mount_path", NULL, PATH_RULE);
    if (!ctl_sub_path_valid(sub))
        return ctl_error_set(e, CTL_E_INVALID, "sub_path", NULL, SUB_RULE);
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    int r = ctl_row_load(c, who->user_id, id, &sb, e);
    enum store_state st = sb.status;
    store_sandbox_release(&sb);
    if (r < 0)
        return r;
    if (st != STORE_RUNNING)
        return ctl_error_set(e, CTL_E_INVALID_STATE, NULL, store_state_to_string(st),
                             "a disk is attached live to a running sandbox only (create and "
                             "fork take disks)");
    struct store_disk d;
    r = disk_get(c, who->user_id, req->disk, false, &d, e);
    if (r < 0)
        return r;
    struct store_mount m;
    r = store_mount_get(c->store, id, req->mount_path, &m);
    if (r == 0 && strcmp(m.disk_id, d.id) == 0 && strcmp(m.sub_path, sub) == 0 &&
        m.status != STORE_MOUNT_UNMOUNTING) {
        *ret_unchanged = true;
        return 0;
    }
    if (r == 0)
        return ctl_error_set(e, CTL_E_INVALID, "mount_path", NULL, "already in use");
    if (r != -ENOENT)
        return ctl_error_internal(e, "read mount", r);
    memset(&m, 0, sizeof(m));
    snprintf(m.sandbox_id, sizeof(m.sandbox_id), "%s", id);
    snprintf(m.mount_path, sizeof(m.mount_path), "%s", req->mount_path);
    snprintf(m.disk_id, sizeof(m.disk_id), "%s", d.id);
    snprintf(m.sub_path, sizeof(m.sub_path), "%s", sub);
    m.status = STORE_MOUNT_PENDING;
    m.created_at = m.updated_at = timefmt_now_ms();
    r = store_mount_add(c->store, &m);
    if (r == -EEXIST)
        return ctl_error_set(e, CTL_E_INVALID, "mount_path", NULL, "already in use");
    if (r == -E2BIG)
        return ctl_error_set(e, CTL_E_LIMIT_REACHED, NULL, NULL,
                             "a sandbox has at most %d disk mounts", STORE_MAX_MOUNTS);
    if (r == -ENOENT) /* the sandbox or the disk went meanwhile */
        return ctl_error_set(e, CTL_E_NOT_FOUND, NULL, NULL, "disk not found");
    if (r < 0)
        return ctl_error_internal(e, "add mount", r);
    log_info(who->req_id, "disk attach", "{s:s,s:s,s:s}", "sandbox", id, "disk", d.id,
             "mount_path", m.mount_path);
    ctl_mount_job_mount(c, id, m.mount_path);
    return 0;
}

int ctl_sandbox_disk_detach(struct ctl *c, const struct ctl_caller *who, const char *id,
                            const char *disk, const char *mount_path, bool *ret_detached,
                            struct ctl_error *e)
{
    *ret_detached = false;
    if (!ctl_disks_enabled(c))
        return not_configured(e);
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    int r = ctl_row_load(c, who->user_id, id, &sb, e);
    enum store_state st = sb.status;
    store_sandbox_release(&sb);
    if (r < 0)
        return r;
    struct store_disk d;
    r = disk_get(c, who->user_id, disk, true, &d, e);
    if (r < 0)
        return r;
    if (st != STORE_RUNNING && st != STORE_PAUSED && st != STORE_ERROR)
        return ctl_error_set(e, CTL_E_INVALID_STATE, NULL, store_state_to_string(st),
                             "a disk is detached from a running, paused or error sandbox");
    struct store_mount m;
    r = store_mount_get(c->store, id, mount_path, &m);
    if (r == -ENOENT || (r == 0 && strcmp(m.disk_id, d.id) != 0))
        return 0; /* no such mount: retry safety (docs/api.md §3.9.9) */
    if (r < 0)
        return ctl_error_internal(e, "read mount", r);
    *ret_detached = true;
    log_info(who->req_id, "disk detach", "{s:s,s:s,s:s}", "sandbox", id, "disk", d.id,
             "mount_path", mount_path);
    if (st != STORE_RUNNING) { /* nothing is mounted while the guest does not run */
        r = store_mount_remove(c->store, id, mount_path);
        return r < 0 && r != -ENOENT ? ctl_error_internal(e, "remove mount", r) : 0;
    }
    if (m.status != STORE_MOUNT_UNMOUNTING) {
        r = store_mount_set_status(c->store, id, mount_path, STORE_MOUNT_UNMOUNTING, NULL,
                                   timefmt_now_ms());
        if (r < 0 && r != -ENOENT)
            return ctl_error_internal(e, "update mount", r);
    }
    ctl_mount_job_unmount(c, id, mount_path);
    return 0;
}

int ctl_sandbox_disk_list(struct ctl *c, const struct ctl_caller *who, const char *id,
                          struct store_mount **ret, size_t *ret_n, struct ctl_error *e)
{
    *ret = NULL;
    *ret_n = 0;
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    int r = ctl_row_load(c, who->user_id, id, &sb, e);
    store_sandbox_release(&sb);
    if (r < 0)
        return r;
    r = store_mount_list(c->store, id, ret, ret_n);
    return r < 0 ? ctl_error_internal(e, "list mounts", r) : 0;
}

int ctl_disk_mounts_prepare(struct ctl *c, const char *user_id, const struct ctl_mount_req *req,
                            size_t n, struct store_mount *out, struct ctl_error *e)
{
    if (n == 0)
        return 0;
    if (!ctl_disks_enabled(c))
        return not_configured(e);
    if (n > STORE_MAX_MOUNTS)
        return ctl_error_set(e, CTL_E_INVALID, "disks", NULL, "at most %d disks",
                             STORE_MAX_MOUNTS);
    int64_t now = timefmt_now_ms();
    for (size_t i = 0; i < n; i++) {
        char f[48];
        const char *sub = req[i].sub_path ? req[i].sub_path : "";
        snprintf(f, sizeof(f), "disks[%zu].mount_path", i);
        if (!ctl_mount_path_valid(req[i].mount_path))
            return ctl_error_set(e, CTL_E_INVALID, f, NULL, PATH_RULE);
        for (size_t k = 0; k < i; k++)
            if (strcmp(out[k].mount_path, req[i].mount_path) == 0)
                return ctl_error_set(e, CTL_E_INVALID, f, NULL, "already in use");
        snprintf(f, sizeof(f), "disks[%zu].sub_path", i);
        if (!ctl_sub_path_valid(sub))
            return ctl_error_set(e, CTL_E_INVALID, f, NULL, SUB_RULE);
        struct store_disk d;
        int r = ctl_disk_resolve(c, user_id, req[i].disk, &d);
        if (r == 0 && d.deleted_at)
            r = -ENOENT;
        snprintf(f, sizeof(f), "disks[%zu].disk_id", i);
        if (r == -ENOENT)
            return ctl_error_set(e, CTL_E_UNKNOWN_REF, f, NULL, "unknown disk: %.100s",
                                 req[i].disk);
        if (r < 0)
            return ctl_error_internal(e, "read disk", r);
        memset(&out[i], 0, sizeof(out[i]));
        snprintf(out[i].mount_path, sizeof(out[i].mount_path), "%s", req[i].mount_path);
        snprintf(out[i].disk_id, sizeof(out[i].disk_id), "%s", d.id);
        snprintf(out[i].sub_path, sizeof(out[i].sub_path), "%s", sub);
        out[i].status = STORE_MOUNT_PENDING;
        out[i].created_at = out[i].updated_at = now;
    }
    return 0;
}

int ctl_disk_mounts_prepare_refs(struct ctl *c, const char *user_id,
                                 const struct ctl_disk_ref *refs, size_t n,
                                 struct store_mount *out, struct ctl_error *e)
{
    struct ctl_mount_req req[CTL_MAX_DISKS];
    if (n > CTL_MAX_DISKS)
        return ctl_error_set(e, CTL_E_INVALID, "disks", NULL, "at most %d disks", CTL_MAX_DISKS);
    for (size_t i = 0; i < n; i++)
        req[i] = (struct ctl_mount_req){ .disk = refs[i].disk, .mount_path = refs[i].mount_path,
                                         .sub_path = refs[i].sub_path };
    return ctl_disk_mounts_prepare(c, user_id, req, n, out, e);
}

void ctl_disk_mounts_start(struct ctl *c, const char *id)
{
    ctl_mount_run_start(c, id);
}

int ctl_disk_mounts_watch_start(struct ctl *c)
{
    return ctl_mount_watch_start(c);
}

void ctl_disk_mounts_watch_stop(struct ctl *c)
{
    ctl_mount_watch_stop(c);
}

void ctl_disk_mounts_release(struct ctl *c)
{
    ctl_mount_release(c);
}
