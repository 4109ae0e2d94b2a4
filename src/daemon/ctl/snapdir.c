/* SPDX-License-Identifier: MIT */
/* snapdir.c: the lifetime of snapshot directories (snapdir.h, docs/snapshots.md "Lifetime"):
 * <snapshots_dir>/<sandbox id>/<ulid>/ for every pause, each with a `parent` file naming the
 * snapshot its disk layer is a qcow2 child of (absent: the rootfs image). A row names the
 * snapshot it resumes from (snapshot_dir) and the one its disk chain depends on (base_dir).
 * Also flattens disk chains that grew too deep. Golden snapshots are golden.c's. */
#include "daemon/ctl/snapdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/timefmt.h"
#include "daemon/ctl/ctl.h"
#include "daemon/host/host.h"
#include "daemon/host/snapshot.h"
#include "daemon/log.h"
#include "daemon/store/ids.h"
#include "daemon/store/store.h"

bool ctl_snapdir_under(const char *dir, const char *root)
{
    size_t n = strlen(root);
    return root[0] && strncmp(dir, root, n) == 0 && dir[n] == '/';
}

/* The snapshot dir's disk parent (its `parent` file) into out; "" when none. */
static void parent_read(const char *dir, char out[PATH_MAX])
{
    out[0] = '\0';
    char p[PATH_MAX];
    if ((size_t)snprintf(p, sizeof(p), "%s/parent", dir) >= sizeof(p))
        return;
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, out, PATH_MAX - 1);
    close(fd);
    out[n > 0 ? n : 0] = '\0';
    if (n > 0 && out[n - 1] == '\n')
        out[n - 1] = '\0';
}

int ctl_snapdir_parent_write(const char *dir, const char *parent)
{
    if (!parent || !*parent)
        return 0;
    char p[PATH_MAX];
    if ((size_t)snprintf(p, sizeof(p), "%s/parent", dir) >= sizeof(p))
        return -ENAMETOOLONG;
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    size_t n = strlen(parent);
    int r = write(fd, parent, n) == (ssize_t)n && fsync(fd) == 0 ? 0 : -EIO;
    close(fd);
    return r;
}

/* True when some snapshot under snapshots_dir names dir as its parent. */
static bool has_children(struct ctl *ctx, const char *dir)
{
    DIR *top = opendir(ctx->set.snapshots_dir);
    if (!top)
        return false;
    bool found = false;
    struct dirent *a;
    while (!found && (a = readdir(top))) {
        if (a->d_name[0] == '.')
            continue;
        char sub[PATH_MAX];
        if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", ctx->set.snapshots_dir, a->d_name) >=
            sizeof(sub))
            continue;
        DIR *d = opendir(sub);
        if (!d)
            continue;
        struct dirent *b;
        while (!found && (b = readdir(d))) {
            if (b->d_name[0] == '.')
                continue;
            char snap[PATH_MAX], parent[PATH_MAX];
            if ((size_t)snprintf(snap, sizeof(snap), "%s/%s", sub, b->d_name) >= sizeof(snap))
                continue;
            parent_read(snap, parent);
            found = strcmp(parent, dir) == 0;
        }
        closedir(d);
    }
    closedir(top);
    return found;
}

bool ctl_snapdir_has_children(struct ctl *ctx, const char *dir)
{
    return has_children(ctx, dir);
}

void ctl_snapshot_release(struct ctl *ctx, const char *dir)
{
    char cur[PATH_MAX];
    if (!dir || !*dir || (size_t)snprintf(cur, sizeof(cur), "%s", dir) >= sizeof(cur))
        return;
    /* walk up the chain while each link is unneeded (bounded: chains are short) */
    for (int depth = 0; depth < 256 && cur[0]; depth++) {
        if (!ctl_snapdir_under(cur, ctx->set.snapshots_dir))
            return; /* golden snapshots stay; anything else is not ours */
        uint64_t refs = 0;
        if (store_snapshot_refs(ctx->store, cur, &refs) < 0 || refs > 0 ||
            has_children(ctx, cur))
            return;
        char parent[PATH_MAX];
        parent_read(cur, parent);
        int r = snapshot_remove(cur);
        if (r < 0) {
            log_warn(NULL, "cannot remove snapshot", "{s:s,s:s}", "dir", cur, "err",
                     strerror(-r));
            return;
        }
        log_info(NULL, "snapshot removed", "{s:s}", "dir", cur);
        char *slash = strrchr(cur, '/');
        if (slash) {
            *slash = '\0';
            (void)rmdir(cur); /* the sandbox's folder, once empty */
        }
        snprintf(cur, sizeof(cur), "%s", parent);
    }
}

void ctl_snapdir_sweep(struct ctl *ctx)
{
    DIR *top = opendir(ctx->set.snapshots_dir);
    if (!top)
        return;
    struct dirent *a;
    while ((a = readdir(top))) {
        char sub[PATH_MAX];
        if (a->d_name[0] == '.' ||
            (size_t)snprintf(sub, sizeof(sub), "%s/%s", ctx->set.snapshots_dir, a->d_name) >=
                sizeof(sub))
            continue;
        DIR *d = opendir(sub);
        struct dirent *b;
        while (d && (b = readdir(d))) {
            char snap[PATH_MAX];
            if (b->d_name[0] != '.' &&
                (size_t)snprintf(snap, sizeof(snap), "%s/%s", sub, b->d_name) < sizeof(snap))
                ctl_snapshot_release(ctx, snap); /* a no-op for what a row or child needs */
        }
        if (d)
            closedir(d);
    }
    closedir(top);
}

/* A fresh <snapshots_dir>/<id>/<ulid> (not created; the host creates it). */
int ctl_snapdir_new(struct ctl *ctx, const char *id, char out[PATH_MAX])
{
    char ulid[IDS_ULID_LEN + 1], sub[PATH_MAX];
    int r = ids_ulid_new(timefmt_now_ms(), ulid);
    if (r < 0)
        return r;
    if (mkdir(ctx->set.snapshots_dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", ctx->set.snapshots_dir, id) >= sizeof(sub) ||
        (size_t)snprintf(out, PATH_MAX, "%s/%s", sub, ulid) >= PATH_MAX)
        return -ENAMETOOLONG;
    if (mkdir(sub, 0700) == 0)
        return snapshot_fsync_dir(ctx->set.snapshots_dir); /* the entry a pause commits under */
    return errno == EEXIST ? 0 : -errno;
}

/* ---- flattening long disk chains ---- */

/* A snapshot whose disk sits on this many ancestor snapshots gets flattened (each fork
 * generation and each resume from a shared snapshot adds one qcow2 layer to the chain, and
 * every read that misses walks it). */
#define FLATTEN_DEPTH 3

struct flatten_op {
    struct ctl *ctx;
    char id[STORE_ID_SIZE];
    char parent[PATH_MAX];          /* the snapshot's parent before */
    char dir[PATH_MAX];             /* the snapshot (the callback's id is cut at 64 bytes) */
};

static void on_flattened(void *ud, const char *unused, const struct host_result *res)
{
    struct flatten_op *fo = ud;
    struct ctl *ctx = fo->ctx;
    const char *dir = fo->dir;
    if (res->err != HOST_OK) {
        if (res->err != HOST_E_CANCELED)
            log_warn(NULL, "snapshot flatten failed; the chain stays", "{s:s,s:s}", "dir", dir,
                     "err", res->msg);
        free(fo);
        return;
    }
    /* the disk no longer needs its parents (VMs that opened the old file keep its chain
     * open; their rows still name the parent as base where they do) */
    char p[PATH_MAX + 16];
    snprintf(p, sizeof(p), "%s/parent", dir);
    (void)unlink(p);
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    if (store_sandbox_get(ctx->store, NULL, fo->id, &sb) == 0 && sb.status == STORE_PAUSED &&
        sb.snapshot_dir && strcmp(sb.snapshot_dir, dir) == 0 && sb.base_dir &&
        strcmp(sb.base_dir, fo->parent) == 0) {
        struct store_sandbox_patch pt = { .fields = STORE_PATCH_SNAPSHOT,
                                          .allowed_states = STORE_STATE_BIT(STORE_PAUSED),
                                          .snapshot_dir = dir, .base_dir = NULL,
                                          .now_ms = timefmt_now_ms() };
        if (store_sandbox_update(ctx->store, NULL, fo->id, &pt) < 0)
            log_warn(NULL, "cannot record the flattened snapshot's base", "{s:s}", "sandbox",
                     fo->id);
    }
    store_sandbox_release(&sb);
    log_info(NULL, "snapshot flattened", "{s:s,s:s}", "dir", dir, "was_on", fo->parent);
    ctl_snapshot_release(ctx, fo->parent);
    free(fo);
}

void ctl_snapdir_flatten_if_deep(struct ctl *ctx, const char *id, const char *dir)
{
    char cur[PATH_MAX], parent[PATH_MAX], first[PATH_MAX] = "";
    snprintf(cur, sizeof(cur), "%s", dir);
    int depth = 0;
    for (; depth < 64; depth++) {
        parent_read(cur, parent);
        if (!parent[0] || !ctl_snapdir_under(parent, ctx->set.snapshots_dir))
            break;
        if (!first[0])
            snprintf(first, sizeof(first), "%s", parent);
        snprintf(cur, sizeof(cur), "%s", parent);
    }
    if (depth < FLATTEN_DEPTH || !ctx->host)
        return;
    struct flatten_op *fo = calloc(1, sizeof(*fo));
    if (!fo)
        return;
    fo->ctx = ctx;
    snprintf(fo->id, sizeof(fo->id), "%s", id);
    snprintf(fo->parent, sizeof(fo->parent), "%s", first);
    snprintf(fo->dir, sizeof(fo->dir), "%s", dir);
    log_info(NULL, "snapshot flatten", "{s:s,s:i}", "dir", dir, "depth", depth);
    host_snapshot_flatten(ctx->host, dir, on_flattened, fo);
}

/* Decides whether sandbox id may take snapshot dir over (docs/snapshots.md "Lifetime"). */
bool ctl_snapdir_may_consume(struct ctl *ctx, const char *id, const char *dir)
{
    char own[PATH_MAX];
    if ((size_t)snprintf(own, sizeof(own), "%s/%s", ctx->set.snapshots_dir, id) >= sizeof(own) ||
        !ctl_snapdir_under(dir, own))
        return false;
    uint64_t refs = 0;
    return store_snapshot_refs(ctx->store, dir, &refs) == 0 && refs == 1 &&
           !has_children(ctx, dir);
}
