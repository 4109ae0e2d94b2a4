/* SPDX-License-Identifier: MIT */
/* golden.c: the golden pool (golden.h, docs/snapshots.md "Golden snapshots"): one booted and
 * paused VM per (kernel, image, QEMU, shape, disk) under <golden_dir>/<key>/, restored by
 * creates instead of a cold boot. The first cold create of its kind builds it in the
 * background with a VM of its own (no store row). Only a cache: never removed while clones'
 * disks may still name it. Templates' goldens (template_golden.c) go the same way under a
 * root of their own, with a step before the pause (the start command and ready check). */
#include "daemon/ctl/golden.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "daemon/ctl/ctl.h"
#include "daemon/ctl/guest.h"
#include "daemon/ctl/netplane.h"
#include "daemon/ctl/snapdir.h"
#include "daemon/ctl/template_files.h"
#include "daemon/host/host.h"
#include "daemon/host/snapshot.h"
#include "daemon/log.h"
#include "daemon/store/ids.h"
#include "daemon/store/store.h"

/* Someone else waiting for a build already under way (another template build, a create). */
struct golden_waiter {
    struct golden_waiter *next;
    ctl_golden_done_fn done;
    void *ud;
};

struct ctl_golden {
    struct ctl_golden *next;
    struct ctl *ctx;
    char id[STORE_ID_SIZE];         /* the builder VM (no store row) */
    char root[PATH_MAX];            /* the directory of the <key> dirs (golden_dir for catalog
                                       images, golden/<tag> for a template's) */
    char dir[PATH_MAX];             /* <root>/<key> */
    char tmp[PATH_MAX];             /* <dir>.tmp while being written */
    bool grow;                      /* the disk is larger than the image's file system */
    ctl_golden_prepare_fn prepare;  /* optional step before the pause (a template's start) */
    void *prepare_ud;
    void (*prepare_free)(void *ud);
    struct golden_waiter *waiters;  /* done callbacks, the builder's first */
};

int ctl_golden_dir(struct ctl *ctx, const char *root, const char *image, unsigned vcpus,
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
     * NIC (goldens from before have none, and their clones would have no network); the
     * accelerator: a TCG snapshot does not restore under KVM (other CPU model), and a host
     * switched with `accel` must build its own goldens, not fail on the old ones */
    const char *accel = ctx->host ? host_accel_name(ctx->host) : "tcg";
    char recipe[3 * PATH_MAX];
    int n = snprintf(recipe, sizeof(recipe),
                     "golden-1|nic1|%s%s|%s|%lld|%lld|%s|%lld|%lld|%lld|%lld|%u|%u|%llu",
                     strcmp(accel, "tcg") ? "accel=" : "", strcmp(accel, "tcg") ? accel : "",
                     kabs,
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
    if ((size_t)snprintf(out, PATH_MAX, "%s/%s", root ? root : ctx->set.golden_dir, hex) >=
        PATH_MAX)
        return -ENAMETOOLONG;
    return 0;
}

bool ctl_golden_find(struct ctl *ctx, const char *image, unsigned vcpus, unsigned mem_mib,
                     uint64_t disk_mib, char *out)
{
    if (!ctx->set.golden || !ctx->set.golden_dir[0])
        return false;
    return ctl_golden_find_in(ctx, NULL, image, vcpus, mem_mib, disk_mib, out);
}

bool ctl_golden_find_in(struct ctl *ctx, const char *root, const char *image, unsigned vcpus,
                        unsigned mem_mib, uint64_t disk_mib, char *out)
{
    if (ctl_golden_dir(ctx, root, image, vcpus, mem_mib, disk_mib, out) < 0)
        return false;
    return snapshot_is_complete(out);
}

void ctl_golden_discard(struct ctl *ctx, const char *dir)
{
    char tpl[PATH_MAX];
    if (!ctl_snapdir_under(dir, ctx->set.golden_dir) &&
        (ctl_tpl_dir(ctx, "golden", tpl) < 0 || !ctl_snapdir_under(dir, tpl)))
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

/* Unlinks g, tells every waiter how it ended (err 0, or -errno with msg) and frees g. */
static void golden_end(struct ctl_golden *g, int err, const char *msg)
{
    struct ctl *ctx = g->ctx;
    for (struct ctl_golden **pp = &ctx->goldens; *pp; pp = &(*pp)->next)
        if (*pp == g) {
            *pp = g->next;
            break;
        }
    if (g->prepare_free)
        g->prepare_free(g->prepare_ud);
    while (g->waiters) {
        struct golden_waiter *w = g->waiters;
        g->waiters = w->next;
        w->done(w->ud, err, msg);
        free(w);
    }
    free(g);
}

static void on_golden_paused(void *ud, const char *id, const struct host_result *res)
{
    struct ctl_golden *g = ud;
    if (res->err == HOST_OK && rename(g->tmp, g->dir) == 0) {
        /* the rename is what makes it the golden snapshot: durable before a create uses it */
        if (snapshot_fsync_dir(g->root) < 0)
            log_warn(NULL, "golden snapshot: cannot fsync its directory", "{s:s}", "dir",
                     g->dir);
        log_info(NULL, "golden snapshot ready", "{s:s}", "dir", g->dir);
        golden_end(g, 0, "");
        return;
    }
    char why[300];
    snprintf(why, sizeof(why), "golden snapshot: %.250s",
             res->err == HOST_OK ? strerror(errno) : res->msg);
    log_warn(NULL, "golden snapshot failed; creates keep booting", "{s:s,s:s}", "dir", g->dir,
             "err", why);
    (void)snapshot_remove(g->tmp);
    if (res->err != HOST_OK && res->err != HOST_E_CANCELED)
        host_vm_destroy(g->ctx->host, id, NULL, NULL);
    golden_end(g, -EIO, why);
}

/* The VM is ready to be paused (grown, prepared); err < 0: it is not, it goes. */
static void golden_step_done(void *ud, int err, const char *msg)
{
    struct ctl_golden *g = ud;
    if (err < 0) {
        log_warn(NULL, "golden snapshot: the VM did not get ready", "{s:s,s:s}", "dir", g->dir,
                 "err", msg);
        host_vm_destroy(g->ctx->host, g->id, NULL, NULL);
        golden_end(g, err, msg);
        return;
    }
    host_vm_pause(g->ctx->host, g->id, g->tmp, on_golden_paused, g);
}

static void golden_prepare(struct ctl_golden *g)
{
    if (!g->prepare) {
        golden_step_done(g, 0, "");
        return;
    }
    g->prepare(g->ctx, g->id, g->prepare_ud, golden_step_done, g);
}

static void on_golden_grown(void *ud, int err, int status, const char *msg)
{
    struct ctl_golden *g = ud;
    if (err < 0 || status != 0) {
        char why[300];
        snprintf(why, sizeof(why), "cannot grow the file system: %.250s", msg);
        golden_step_done(g, err < 0 ? err : -EIO, why);
        return;
    }
    golden_prepare(g);
}

static void on_golden_booted(void *ud, const char *id, const struct host_result *res)
{
    struct ctl_golden *g = ud;
    if (res->err != HOST_OK) {
        char why[300];
        snprintf(why, sizeof(why), "boot failed: %.250s", res->msg);
        log_warn(NULL, "golden snapshot: boot failed", "{s:s,s:s}", "dir", g->dir, "err",
                 res->msg);
        golden_end(g, -EIO, why);
        return;
    }
    /* the snapshot carries a file system that fills its disk, as a cold create's does */
    if (g->grow && guest_run(g->ctx->host, g->ctx->base, id, guest_grow_root_argv(), 60000,
                             on_golden_grown, g) == 0)
        return;
    golden_prepare(g);
}

void ctl_golden_build(struct ctl *ctx, const char *image, unsigned vcpus, unsigned mem_mib,
                      uint64_t disk_mib, uint32_t cpu_quota_pct, bool grow)
{
    if (!ctx->set.golden || !ctx->set.golden_dir[0])
        return;
    struct ctl_golden_spec s = { .image = image, .vcpus = vcpus, .mem_mib = mem_mib,
                                 .disk_mib = disk_mib, .cpu_quota_pct = cpu_quota_pct,
                                 .grow = grow };
    ctl_golden_build_spec(ctx, &s);
}

/* A done callback that runs from the loop, for a snapshot that exists (or cannot be built). */
struct golden_later {
    ctl_golden_done_fn done;
    void *ud;
    int err;
    char msg[160];
};

static void on_later(evutil_socket_t fd, short what, void *arg)
{
    struct golden_later *l = arg;
    l->done(l->ud, l->err, l->msg);
    free(l);
}

static void golden_report_later(struct ctl *ctx, const struct ctl_golden_spec *s, int err,
                                const char *msg)
{
    if (s->prepare_free)
        s->prepare_free(s->prepare_ud);
    if (!s->done)
        return;
    struct golden_later *l = calloc(1, sizeof(*l));
    struct timeval now = { 0 };
    if (l) {
        *l = (struct golden_later){ .done = s->done, .ud = s->done_ud, .err = err };
        snprintf(l->msg, sizeof(l->msg), "%s", msg);
    }
    if (!l || event_base_once(ctx->base, -1, EV_TIMEOUT, on_later, l, &now) < 0) {
        free(l);
        log_error(NULL, "golden snapshot: cannot report", "{s:s}", "msg", msg);
    }
}

void ctl_golden_build_spec(struct ctl *ctx, const struct ctl_golden_spec *s)
{
    const char *root = s->root ? s->root : ctx->set.golden_dir;
    if (!s->image) {
        golden_report_later(ctx, s, -EINVAL, "golden snapshot: cannot prepare its directory");
        return;
    }
    struct ctl_golden *g = ctx->host && root[0] ? calloc(1, sizeof(*g)) : NULL;
    struct golden_waiter *w = s->done ? calloc(1, sizeof(*w)) : NULL;
    if (!g || (s->done && !w)) {
        free(g);
        free(w);
        golden_report_later(ctx, s, ctx->host ? -ENOMEM : -ENODEV,
                            ctx->host ? "out of memory" : "no VM layer");
        return;
    }
    if (w)
        *w = (struct golden_waiter){ .done = s->done, .ud = s->done_ud };
    g->ctx = ctx;
    g->grow = s->grow;
    snprintf(g->root, sizeof(g->root), "%s", root);
    if (ctl_golden_dir(ctx, s->root, s->image, s->vcpus, s->mem_mib, s->disk_mib, g->dir) < 0 ||
        (size_t)snprintf(g->tmp, sizeof(g->tmp), "%s.tmp", g->dir) >= sizeof(g->tmp) ||
        ids_new_sandbox(g->id) < 0) {
        free(g);
        free(w);
        golden_report_later(ctx, s, -ENOENT, "golden snapshot: image not found");
        return;
    }
    for (struct ctl_golden *o = ctx->goldens; o; o = o->next)
        if (strcmp(o->dir, g->dir) == 0) {
            /* being built: told when that build ends */
            free(g);
            if (w) {
                w->next = o->waiters;
                o->waiters = w;
            }
            if (s->prepare_free)
                s->prepare_free(s->prepare_ud);
            return;
        }
    /* a golden dir without meta.json was discarded and may still back clones' disks: it is
     * left alone (docs/snapshots.md) */
    bool complete = snapshot_is_complete(g->dir);
    if (complete || access(g->dir, F_OK) == 0 || (mkdir(root, 0700) < 0 && errno != EEXIST)) {
        free(g);
        free(w);
        golden_report_later(ctx, s, complete ? 0 : -EEXIST,
                            complete ? "" : "golden snapshot: a discarded one is in the way");
        return;
    }
    g->waiters = w;
    g->prepare = s->prepare;
    g->prepare_ud = s->prepare_ud;
    g->prepare_free = s->prepare_free;
    (void)snapshot_remove(g->tmp); /* a crashed build's leftovers */
    g->next = ctx->goldens;
    ctx->goldens = g;
    log_info(NULL, "golden snapshot: building", "{s:s,s:s,s:i,s:i}", "dir", g->dir, "image",
             s->image, "vcpus", (int)s->vcpus, "mem_mib", (int)s->mem_mib);
    struct host_vm_spec spec = { .id = g->id, .rootfs = s->image, .vcpus = s->vcpus,
                                 .memory_mib = s->mem_mib, .disk_mib = s->disk_mib,
                                 .cpu_quota_pct = s->cpu_quota_pct,
                                 .extra_append = "hearth.hostname=sandbox" };
    /* a tap without routes or rules: the guest negotiates the tap's offloads (checksum, TSO)
     * at boot and its clones keep them; on a hub port they would run without */
    int tap = ctl_net_tap_only(ctx, g->id);
    spec.tap_fd = tap;
    host_vm_create(ctx->host, &spec, on_golden_booted, g);
    if (tap >= 0)
        close(tap);
}

/* Frees g without a word to its waiters (shutdown: their owners are going too). */
static void golden_forget(struct ctl_golden *g)
{
    if (g->prepare_free)
        g->prepare_free(g->prepare_ud);
    while (g->waiters) {
        struct golden_waiter *w = g->waiters;
        g->waiters = w->next;
        free(w);
    }
    free(g);
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
        golden_forget(g);
    }
}

void ctl_golden_release(struct ctl *ctx)
{
    while (ctx->goldens) {
        struct ctl_golden *g = ctx->goldens;
        ctx->goldens = g->next;
        golden_forget(g);
    }
}
