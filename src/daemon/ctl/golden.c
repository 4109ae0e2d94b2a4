/* SPDX-License-Identifier: MIT */
/* golden.c: the golden pool (golden.h, docs/snapshots.md "Golden snapshots"): one booted and
 * paused VM per (kernel, image, QEMU, shape, disk) under <golden_dir>/<key>/, restored by
 * creates instead of a cold boot. The first cold create of its kind builds it in the
 * background with a VM of its own (no store row). Only a cache: never removed while clones'
 * disks may still name it. */
#include "daemon/ctl/golden.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "daemon/ctl/ctl.h"
#include "daemon/ctl/guest.h"
#include "daemon/ctl/netplane.h"
#include "daemon/ctl/snapdir.h"
#include "daemon/host/host.h"
#include "daemon/host/snapshot.h"
#include "daemon/log.h"
#include "daemon/store/ids.h"
#include "daemon/store/store.h"

struct ctl_golden {
    struct ctl_golden *next;
    struct ctl *ctx;
    char id[STORE_ID_SIZE];         /* the builder VM (no store row) */
    char dir[PATH_MAX];             /* <golden_dir>/<key> */
    char tmp[PATH_MAX];             /* <dir>.tmp while being written */
    bool grow;                      /* the disk is larger than the image's file system */
};

static int golden_key_dir(struct ctl *ctx, const char *image, unsigned vcpus,
                          unsigned mem_mib, uint64_t disk_mib, char *out)
{
    char kernel[PATH_MAX], kabs[PATH_MAX], iabs[PATH_MAX];
    struct stat ks, is;
    if ((size_t)snprintf(kernel, sizeof(kernel), "%s/vmlinux", ctx->set.images_dir) >=
            sizeof(kernel) ||
        !realpath(kernel, kabs) || !realpath(image, iabs) || stat(kabs, &ks) < 0 ||
        stat(iabs, &is) < 0)
        return -ENOENT;
    /* a snapshot restores only under the QEMU that took it: an upgraded QEMU binary makes
     * new keys (and the old goldens unused, not broken) */
    struct stat qs = { 0 };
    const char *qemu_dirs[] = { "/usr/bin", "/usr/local/bin", "/bin" };
    for (size_t i = 0; i < sizeof(qemu_dirs) / sizeof(qemu_dirs[0]); i++) {
        char q[PATH_MAX];
        snprintf(q, sizeof(q), "%s/qemu-system-x86_64", qemu_dirs[i]);
        if (stat(q, &qs) == 0)
            break;
    }
    /* the recipe of a booted VM: kernel and image (paths carry their recipe keys; size and
     * mtime catch a rebuilt file), QEMU, shape and disk; "nic1": the VM has the virtio-net
     * NIC (goldens from before have none, and their clones would have no network) */
    char recipe[3 * PATH_MAX];
    int n = snprintf(recipe, sizeof(recipe),
                     "golden-1|nic1|%s|%lld|%lld|%s|%lld|%lld|%lld|%lld|%u|%u|%llu", kabs,
                     (long long)ks.st_size, (long long)ks.st_mtime, iabs, (long long)is.st_size,
                     (long long)is.st_mtime, (long long)qs.st_size, (long long)qs.st_mtime,
                     vcpus, mem_mib, (unsigned long long)disk_mib);
    if (n < 0 || (size_t)n >= sizeof(recipe))
        return -ENAMETOOLONG;
    unsigned char md[32];
    unsigned mdlen = 0;
    if (EVP_Digest(recipe, (size_t)n, md, &mdlen, EVP_sha256(), NULL) != 1)
        return -EIO;
    char hex[33];
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    if ((size_t)snprintf(out, PATH_MAX, "%s/%s", ctx->set.golden_dir, hex) >= PATH_MAX)
        return -ENAMETOOLONG;
    return 0;
}

bool ctl_golden_find(struct ctl *ctx, const char *image, unsigned vcpus, unsigned mem_mib,
                     uint64_t disk_mib, char *out)
{
    if (!ctx->set.golden || !ctx->set.golden_dir[0] ||
        golden_key_dir(ctx, image, vcpus, mem_mib, disk_mib, out) < 0)
        return false;
    return snapshot_is_complete(out);
}

void ctl_golden_discard(struct ctl *ctx, const char *dir)
{
    if (!ctl_snapdir_under(dir, ctx->set.golden_dir))
        return;
    /* Sandboxes created from it have disk layers whose qcow2 backing names its disk.qcow2 by
     * path, so the directory stays where it is; without meta.json it is no longer restored
     * (and not rebuilt under the same key: delete it once no sandbox uses it) */
    char meta[PATH_MAX + 16];
    snprintf(meta, sizeof(meta), "%s/meta.json", dir);
    if (unlink(meta) == 0)
        log_warn(NULL, "golden snapshot discarded; creates of its kind boot cold", "{s:s}",
                 "dir", dir);
}

static void golden_free(struct ctl_golden *g)
{
    struct ctl *ctx = g->ctx;
    for (struct ctl_golden **pp = &ctx->goldens; *pp; pp = &(*pp)->next)
        if (*pp == g) {
            *pp = g->next;
            break;
        }
    free(g);
}

static void on_golden_paused(void *ud, const char *id, const struct host_result *res)
{
    struct ctl_golden *g = ud;
    if (res->err == HOST_OK && rename(g->tmp, g->dir) == 0) {
        /* the rename is what makes it the golden snapshot: durable before a create uses it */
        if (snapshot_fsync_dir(g->ctx->set.golden_dir) < 0)
            log_warn(NULL, "golden snapshot: cannot fsync its directory", "{s:s}", "dir",
                     g->dir);
        log_info(NULL, "golden snapshot ready", "{s:s}", "dir", g->dir);
    } else {
        log_warn(NULL, "golden snapshot failed; creates keep booting", "{s:s,s:s}", "dir",
                 g->dir, "err", res->err == HOST_OK ? strerror(errno) : res->msg);
        (void)snapshot_remove(g->tmp);
        if (res->err != HOST_OK && res->err != HOST_E_CANCELED)
            host_vm_destroy(g->ctx->host, id, NULL, NULL);
    }
    golden_free(g);
}

static void on_golden_grown(void *ud, int err, int status, const char *msg)
{
    struct ctl_golden *g = ud;
    if (err < 0 || status != 0) {
        log_warn(NULL, "golden snapshot: cannot grow the file system", "{s:s,s:s}", "dir",
                 g->dir, "err", msg);
        host_vm_destroy(g->ctx->host, g->id, NULL, NULL);
        golden_free(g);
        return;
    }
    host_vm_pause(g->ctx->host, g->id, g->tmp, on_golden_paused, g);
}

static void on_golden_booted(void *ud, const char *id, const struct host_result *res)
{
    struct ctl_golden *g = ud;
    if (res->err != HOST_OK) {
        log_warn(NULL, "golden snapshot: boot failed", "{s:s,s:s}", "dir", g->dir, "err",
                 res->msg);
        golden_free(g);
        return;
    }
    /* the snapshot carries a file system that fills its disk, as a cold create's does */
    if (g->grow && guest_run(g->ctx->host, g->ctx->base, id, guest_grow_root_argv(), 60000,
                             on_golden_grown, g) == 0)
        return;
    host_vm_pause(g->ctx->host, id, g->tmp, on_golden_paused, g);
}

void ctl_golden_build(struct ctl *ctx, const char *image, unsigned vcpus, unsigned mem_mib,
                      uint64_t disk_mib, uint32_t cpu_quota_pct, bool grow)
{
    if (!ctx->set.golden || !ctx->host || !ctx->set.golden_dir[0])
        return;
    struct ctl_golden *g = calloc(1, sizeof(*g));
    if (!g)
        return;
    g->ctx = ctx;
    g->grow = grow;
    if (golden_key_dir(ctx, image, vcpus, mem_mib, disk_mib, g->dir) < 0 ||
        (size_t)snprintf(g->tmp, sizeof(g->tmp), "%s.tmp", g->dir) >= sizeof(g->tmp) ||
        ids_new_sandbox(g->id) < 0) {
        free(g);
        return;
    }
    for (struct ctl_golden *o = ctx->goldens; o; o = o->next)
        if (strcmp(o->dir, g->dir) == 0) {
            free(g); /* being built */
            return;
        }
    /* a golden dir without meta.json was discarded and may still back clones' disks: it is
     * left alone (docs/snapshots.md) */
    if (access(g->dir, F_OK) == 0 || (mkdir(ctx->set.golden_dir, 0700) < 0 && errno != EEXIST)) {
        free(g);
        return;
    }
    (void)snapshot_remove(g->tmp); /* a crashed build's leftovers */
    g->next = ctx->goldens;
    ctx->goldens = g;
    log_info(NULL, "golden snapshot: building", "{s:s,s:s,s:i,s:i}", "dir", g->dir, "image",
             image, "vcpus", (int)vcpus, "mem_mib", (int)mem_mib);
    struct host_vm_spec spec = { .id = g->id, .rootfs = image, .vcpus = vcpus,
                                 .memory_mib = mem_mib, .disk_mib = disk_mib,
                                 .cpu_quota_pct = cpu_quota_pct,
                                 .extra_append = "hearth.hostname=sandbox" };
    /* a tap without routes or rules: the guest negotiates the tap's offloads (checksum, TSO)
     * at boot and its clones keep them; on a hub port they would run without */
    int tap = ctl_net_tap_only(ctx, g->id);
    spec.tap_fd = tap;
    host_vm_create(ctx->host, &spec, on_golden_booted, g);
    if (tap >= 0)
        close(tap);
}

void ctl_golden_stop(struct ctl *ctx)
{
    /* a golden build is only a cache: its VM must not outlive hearthd (the next create
     * starts it again) */
    while (ctx->goldens) {
        struct ctl_golden *g = ctx->goldens;
        ctx->goldens = g->next;
        if (ctx->host)
            host_vm_discard(ctx->host, g->id);
        (void)snapshot_remove(g->tmp);
        free(g);
    }
}

void ctl_golden_release(struct ctl *ctx)
{
    while (ctx->goldens) {
        struct ctl_golden *g = ctx->goldens;
        ctx->goldens = g->next;
        free(g);
    }
}
