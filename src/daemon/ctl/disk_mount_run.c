/* SPDX-License-Identifier: MIT */
/* disk_mount_run.c: mount jobs in guests (disk_mount_run.h, docs/disks.md "Mounts"): mount or
 * keep, check, unmount, and let go of mounts nobody asked for; the (re)start hook and the
 * round that retries error mounts and checks mounted ones (disk_mount.c's lifecycle calls
 * land here). The disk's credentials are opened
 * (ctl_disk_credentials) just before a mount's exec is queued, go only into the environment of
 * that exec (which s3fs inherits), and are wiped as soon as the request is queued. */
#include "daemon/ctl/disk_mount_run.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/timefmt.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/disk.h"
#include "daemon/ctl/disk_mount_script.h"
#include "daemon/ctl/guest.h"
#include "daemon/log.h"
#include "daemon/store/store.h"

/* a mount: up to 20 s for the listing of a mount kept, 30 s for s3fs to show in the mount
 * table, 20 s for the first listing; a check: 20 s for its listing; the margins are for a slow
 * guest (TCG) */
#define MOUNT_MS 90000
#define CHECK_MS 40000
#define UNMOUNT_MS 20000
#define PRUNE_MS 20000

enum job_kind { JOB_MOUNT, JOB_CHECK, JOB_UNMOUNT, JOB_PRUNE };

struct mount_job {
    struct ctl *c;
    struct mount_job *next;
    enum job_kind kind;
    char sb[STORE_ID_SIZE];
    char path[STORE_MOUNT_PATH_SIZE];   /* "" for a prune (the whole guest) */
};

struct ctl_mounts {
    struct mount_job *jobs;             /* under way */
    struct event *timer;                /* the round */
    unsigned round_s;
};

static struct ctl_mounts *mounts_of(struct ctl *c)
{
    if (!c->mounts)
        c->mounts = calloc(1, sizeof(*c->mounts));
    return c->mounts;
}

/* Whether a job holds (sb, path): the same path, or a prune of that guest. */
static bool busy(struct ctl *c, const char *sb, const char *path)
{
    if (!c->mounts)
        return false;
    for (struct mount_job *j = c->mounts->jobs; j; j = j->next)
        if (strcmp(j->sb, sb) == 0 && (!j->path[0] || strcmp(j->path, path) == 0))
            return true;
    return false;
}

/* A new job on (sb, path), linked; NULL when busy or out of memory. */
static struct mount_job *job_new(struct ctl *c, enum job_kind kind, const char *sb,
                                 const char *path)
{
    struct ctl_mounts *M = mounts_of(c);
    if (!M || busy(c, sb, path))
        return NULL;
    struct mount_job *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->c = c;
    j->kind = kind;
    snprintf(j->sb, sizeof(j->sb), "%s", sb);
    snprintf(j->path, sizeof(j->path), "%s", path);
    j->next = M->jobs;
    M->jobs = j;
    return j;
}

static void job_free(struct mount_job *j)
{
    struct ctl *c = j->c;
    struct ctl_mounts *M = c->mounts;
    for (struct mount_job **p = &M->jobs; *p; p = &(*p)->next)
        if (*p == j) {
            *p = j->next;
            break;
        }
    free(j);
    if (!M->timer && !M->jobs) { /* stopped, and the last job ended */
        free(M);
        c->mounts = NULL;
    }
}

/* Records status (error: why) on the row unless it is unmounting or gone. */
static void set_status(struct ctl *c, const char *sb, const char *path,
                       enum store_mount_status status, const char *why)
{
    struct store_mount m;
    if (store_mount_get(c->store, sb, path, &m) < 0 || m.status == STORE_MOUNT_UNMOUNTING)
        return;
    if (m.status == status && (status != STORE_MOUNT_ERROR || strcmp(m.error, why) == 0))
        return;
    int r = store_mount_set_status(c->store, sb, path, status, why, timefmt_now_ms());
    if (r < 0 && r != -ENOENT)
        log_warn(NULL, "cannot record a mount's status", "{s:s,s:s,s:s}", "sandbox", sb,
                 "mount_path", path, "err", strerror(-r));
    if (status == STORE_MOUNT_ERROR)
        log_warn(NULL, "disk mount error", "{s:s,s:s,s:s}", "sandbox", sb, "mount_path", path,
                 "why", why);
    else if (status == STORE_MOUNT_MOUNTED)
        log_info(NULL, "disk mounted", "{s:s,s:s}", "sandbox", sb, "mount_path", path);
}

/* One line for a guest chore that failed (err < 0: it did not run to its end). */
static void job_why(char *out, size_t len, int err, int status, const char *msg,
                    unsigned limit_ms)
{
    if (err == -ETIMEDOUT)
        snprintf(out, len, "the guest did not finish within %u s", limit_ms / 1000);
    else if (err < 0)
        snprintf(out, len, "the guest agent did not answer (%s)", msg[0] ? msg : strerror(-err));
    else if (msg[0])
        snprintf(out, len, "%s", msg);
    else
        snprintf(out, len, "the mount script exited with status %d", status);
    /* the guest wrote it: one line of printable ASCII in the row and the API's JSON */
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            *p = '?';
    size_t n = strlen(out);
    while (n && out[n - 1] == ' ')
        out[--n] = '\0';
}

/* The row (sb, path) with its disk (for creds_at and the credentials). 0 or -errno. */
static int load(struct ctl *c, const char *sb_id, const char *path, struct store_mount *m,
                struct store_disk *d)
{
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    int r = store_sandbox_get(c->store, NULL, sb_id, &sb);
    if (r == 0)
        r = store_mount_get(c->store, sb_id, path, m);
    if (r == 0)
        r = store_disk_get(c->store, sb.user_id, m->disk_id, d);
    store_sandbox_release(&sb);
    return r;
}

/* ---- mount ---- */

static void on_mounted(void *ud, int err, int status, const char *msg)
{
    struct mount_job *j = ud;
    struct ctl *c = j->c;
    char sb[STORE_ID_SIZE], path[STORE_MOUNT_PATH_SIZE];
    snprintf(sb, sizeof(sb), "%s", j->sb);
    snprintf(path, sizeof(path), "%s", j->path);
    job_free(j);
    struct store_mount m;
    int r = store_mount_get(c->store, sb, path, &m);
    if (r == -ENOENT || (r == 0 && m.status == STORE_MOUNT_UNMOUNTING)) {
        /* detached (or the sandbox went) while it was being mounted: take it down again */
        if (r == 0)
            ctl_mount_job_unmount(c, sb, path);
        return;
    }
    if (r < 0)
        return;
    if (err == 0 && status == 0) {
        set_status(c, sb, path, STORE_MOUNT_MOUNTED, NULL);
        return;
    }
    char why[STORE_MOUNT_ERROR_SIZE];
    job_why(why, sizeof(why), err, status, msg, MOUNT_MS);
    set_status(c, sb, path, STORE_MOUNT_ERROR, why);
}

/* Why the credentials of a disk cannot be opened, for the row. */
static const char *creds_why(int r)
{
    switch (r) {
    case -ENOPROTOOPT:
        return "disks are not configured on this host";
    case -ENOKEY:
        return "the disk's credentials are sealed under a key this host no longer has";
    case -EBADMSG:
        return "the disk's sealed credentials are damaged";
    default:
        return "cannot open the disk's credentials";
    }
}

void ctl_mount_job_mount(struct ctl *c, const char *sb_id, const char *path)
{
    if (!c->host)
        return;
    struct mount_job *j = job_new(c, JOB_MOUNT, sb_id, path);
    if (!j)
        return;
    struct store_mount m;
    struct store_disk d;
    char tag[DISK_TAG_SIZE], src[STORE_BUCKET_SIZE + STORE_SUB_PATH_SIZE + 4];
    char opts[DISK_OPTS_SIZE];
    const char *why = NULL;
    int r = load(c, sb_id, path, &m, &d);
    if (r < 0) {
        job_free(j);
        return; /* detached or destroyed meanwhile */
    }
    disk_script_tag(&m, d.updated_at, tag);
    if (disk_script_source(&m, src, sizeof(src)) < 0 ||
        disk_script_options(&m, tag, opts, sizeof(opts)) < 0)
        why = "the disk's endpoint or region cannot be handed to s3fs";
    struct ctl_disk_creds cr;
    if (!why && (r = ctl_disk_credentials(c, &d, &cr)) < 0)
        why = creds_why(r);
    if (why) {
        job_free(j);
        set_status(c, sb_id, path, STORE_MOUNT_ERROR, why);
        return;
    }
    /* the only copies of the clear credentials: cr and the two env lines, on this stack */
    char ak[CTL_DISK_KEY_MAX + 32], sk[CTL_DISK_KEY_MAX + 32];
    snprintf(ak, sizeof(ak), "AWS_ACCESS_KEY_ID=%s", cr.access_key);
    snprintf(sk, sizeof(sk), "AWS_SECRET_ACCESS_KEY=%s", cr.secret_key);
    ctl_disk_creds_wipe(&cr);
    const char *env[] = { ak, sk, NULL };
    const char *argv[9];
    disk_script_mount_argv(path, src, opts, tag, argv);
    r = guest_run_env(c->host, c->base, sb_id, argv, env, MOUNT_MS, on_mounted, j);
    explicit_bzero(ak, sizeof(ak));
    explicit_bzero(sk, sizeof(sk));
    if (r < 0) {
        job_free(j);
        /* no running VM: the next (re)start or round mounts it */
        if (r != -ENOENT && r != -EBUSY)
            set_status(c, sb_id, path, STORE_MOUNT_ERROR, "cannot reach the guest agent");
    }
}

/* ---- check ---- */

static void on_checked(void *ud, int err, int status, const char *msg)
{
    struct mount_job *j = ud;
    struct ctl *c = j->c;
    log_debug(NULL, "disk mount checked", "{s:s,s:s,s:i,s:i,s:s}", "sandbox", j->sb,
              "mount_path", j->path, "err", err, "status", status, "msg", msg);
    if (err == 0 && status == 0) {
        job_free(j);
        return;
    }
    char why[STORE_MOUNT_ERROR_SIZE];
    job_why(why, sizeof(why), err, status, msg, CHECK_MS);
    struct store_mount m;
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    /* only a mount still recorded as mounted turns error (a detach may have come), and only
     * while its sandbox runs: a check cut off because the VM was being paused or stopped says
     * nothing of the mount (the resume checks it again) */
    bool runs = store_sandbox_get(c->store, NULL, j->sb, &sb) == 0 &&
                sb.status == STORE_RUNNING && sb.target_state == STORE_STATE_NONE;
    if (runs && store_mount_get(c->store, j->sb, j->path, &m) == 0 &&
        m.status == STORE_MOUNT_MOUNTED)
        set_status(c, j->sb, j->path, STORE_MOUNT_ERROR, why);
    store_sandbox_release(&sb);
    job_free(j);
}

static void job_check(struct ctl *c, const char *sb_id, const char *path)
{
    struct mount_job *j = job_new(c, JOB_CHECK, sb_id, path);
    if (!j)
        return;
    const char *argv[6];
    disk_script_check_argv(path, argv);
    if (guest_run(c->host, c->base, sb_id, argv, CHECK_MS, on_checked, j) < 0)
        job_free(j);
}

/* ---- unmount ---- */

static void on_unmounted(void *ud, int err, int status, const char *msg)
{
    struct mount_job *j = ud;
    struct ctl *c = j->c;
    if (err < 0 || status != 0)
        log_warn(NULL, "disk unmount failed in the guest; the row goes anyway", "{s:s,s:s,s:s}",
                 "sandbox", j->sb, "mount_path", j->path, "err", msg);
    struct store_mount m;
    if (store_mount_get(c->store, j->sb, j->path, &m) == 0 && m.status == STORE_MOUNT_UNMOUNTING &&
        store_mount_remove(c->store, j->sb, j->path) == 0)
        log_info(NULL, "disk detached", "{s:s,s:s}", "sandbox", j->sb, "mount_path", j->path);
    job_free(j);
}

void ctl_mount_job_unmount(struct ctl *c, const char *sb_id, const char *path)
{
    struct mount_job *j = job_new(c, JOB_UNMOUNT, sb_id, path);
    if (!j)
        return;
    const char *argv[6];
    disk_script_unmount_argv(path, argv);
    int r = c->host ? guest_run(c->host, c->base, sb_id, argv, UNMOUNT_MS, on_unmounted, j)
                    : -ENOENT;
    if (r < 0) /* no VM: nothing is mounted; the row goes now */
        on_unmounted(j, r, 0, "no running vm");
}

/* ---- (re)start ---- */

static void on_pruned(void *ud, int err, int status, const char *msg)
{
    struct mount_job *j = ud;
    struct ctl *c = j->c;
    char sb[STORE_ID_SIZE];
    snprintf(sb, sizeof(sb), "%s", j->sb);
    job_free(j);
    if (err < 0 || status != 0)
        log_warn(NULL, "cannot let go of stale disk mounts in the guest", "{s:s,s:s}", "sandbox",
                 sb, "err", msg);
    struct store_mount *v = NULL;
    size_t n = 0;
    if (store_mount_list(c->store, sb, &v, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        if (v[i].status == STORE_MOUNT_UNMOUNTING)
            ctl_mount_job_unmount(c, sb, v[i].mount_path);
        else
            ctl_mount_job_mount(c, sb, v[i].mount_path);
    }
    free(v);
}

void ctl_mount_run_start(struct ctl *c, const char *id)
{
    if (!c->host)
        return;
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    struct store_mount *v = NULL;
    size_t n = 0;
    int r = store_sandbox_get(c->store, NULL, id, &sb);
    if (r == 0)
        r = store_mount_list(c->store, id, &v, &n);
    /* what the guest may keep: "hearth:<tag> <path>" of every row not being detached */
    char (*keep)[DISK_TAG_SIZE + STORE_MOUNT_PATH_SIZE + 8] = NULL;
    const char *kv[STORE_MAX_MOUNTS + 1];
    size_t nk = 0;
    if (r == 0 && n && !(keep = calloc(n, sizeof(*keep))))
        r = -ENOMEM;
    for (size_t i = 0; r == 0 && i < n && nk < STORE_MAX_MOUNTS; i++) {
        struct store_disk d;
        char tag[DISK_TAG_SIZE];
        if (v[i].status == STORE_MOUNT_UNMOUNTING ||
            store_disk_get(c->store, sb.user_id, v[i].disk_id, &d) < 0)
            continue;
        disk_script_tag(&v[i], d.updated_at, tag);
        snprintf(keep[nk], sizeof(keep[nk]), "hearth:%s %s", tag, v[i].mount_path);
        kv[nk] = keep[nk];
        nk++;
    }
    store_sandbox_release(&sb);
    free(v);
    struct mount_job *j = r == 0 ? job_new(c, JOB_PRUNE, id, "") : NULL;
    const char *argv[STORE_MAX_MOUNTS + 5];
    if (j) {
        disk_script_prune_argv(kv, nk, argv);
        if (guest_run(c->host, c->base, id, argv, PRUNE_MS, on_pruned, j) < 0)
            job_free(j);
    } else if (r < 0) {
        log_warn(NULL, "cannot start a sandbox's disk mounts", "{s:s,s:s}", "sandbox", id, "err",
                 strerror(-r));
    }
    free(keep);
}

/* ---- the round ---- */

static void round_sandbox(struct ctl *c, const char *id)
{
    if (busy(c, id, ""))
        return;
    struct store_mount *v = NULL;
    size_t n = 0;
    if (store_mount_list(c->store, id, &v, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        if (busy(c, id, v[i].mount_path))
            continue;
        switch (v[i].status) {
        case STORE_MOUNT_PENDING: /* a mount lost with a hearthd restart, or not started */
        case STORE_MOUNT_ERROR:
            ctl_mount_job_mount(c, id, v[i].mount_path);
            break;
        case STORE_MOUNT_MOUNTED:
            job_check(c, id, v[i].mount_path);
            break;
        case STORE_MOUNT_UNMOUNTING:
            ctl_mount_job_unmount(c, id, v[i].mount_path);
            break;
        }
    }
    free(v);
}

static void on_round(evutil_socket_t fd, short what, void *arg)
{
    struct ctl *c = arg;
    struct store_strv ids = { 0 };
    if (c->host && store_mount_sandboxes(c->store, c->set.host_id, &ids) == 0)
        for (size_t i = 0; i < ids.n; i++)
            round_sandbox(c, ids.v[i]);
    store_strv_free(&ids);
    struct timeval tv = { c->mounts->round_s, 0 };
    event_add(c->mounts->timer, &tv);
}

int ctl_mount_watch_start(struct ctl *c)
{
    struct ctl_mounts *M = mounts_of(c);
    if (!M || !(M->timer = evtimer_new(c->base, on_round, c)))
        return -ENOMEM;
    M->round_s = c->set.disk_mount_check_s ? c->set.disk_mount_check_s : 30;
    /* the first round soon: after a hearthd restart it re-checks what the adopted VMs have
     * mounted and mounts what was still pending */
    struct timeval tv = { 1, 0 };
    event_add(M->timer, &tv);
    return 0;
}

void ctl_mount_watch_stop(struct ctl *c)
{
    if (!c->mounts)
        return;
    if (c->mounts->timer)
        event_free(c->mounts->timer);
    c->mounts->timer = NULL;
    /* jobs under way end with their VMs' agents (host shutdown); the last one frees this */
    if (!c->mounts->jobs) {
        free(c->mounts);
        c->mounts = NULL;
    }
}

void ctl_mount_release(struct ctl *c)
{
    ctl_mount_watch_stop(c);
    while (c->mounts && c->mounts->jobs)
        job_free(c->mounts->jobs); /* the last one frees c->mounts */
}
