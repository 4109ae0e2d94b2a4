/* SPDX-License-Identifier: MIT */
/* catalog.c: the built-in shapes (§2.3), the rootfs catalog read from the images dir (§2.4),
 * the rootfs → image path mapping (catalog.h) and readiness. Nothing else in hearthd maps a
 * rootfs name to a file. */
#include "daemon/ctl/catalog.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/config.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/hosts.h"
#include "daemon/store/store.h"

/* §2.3 and §4 item 41: every shape the official SDK examples use, in catalog order. */
static const struct ctl_shape shapes[] = {
    { "s-1vcpu-256mb", 1, 256, 10240, 0 },
    { "s-1vcpu-512mb", 1, 512, 10240, 0 },
    { "s-1vcpu-1gb", 1, 1024, 10240, 0 },
    { "s-1vcpu-2gb", 1, 2048, 10240, 0 },
    { "s-2vcpu-2gb", 2, 2048, 10240, 0 },
    { "s-2vcpu-4gb", 2, 4096, 10240, 0 },
    { "s-4vcpu-4gb", 4, 4096, 10240, 0 },
    { "s-4vcpu-8gb", 4, 8192, 10240, 0 },
};
#define N_SHAPES (sizeof(shapes) / sizeof(shapes[0]))

/* §2.4: devbox:1 first (the default). The files are what images/build.sh links (the
 * package lists under images/rootfs/packages/; docs/images.md): devbox:1 kept the file name
 * debian-12.ext4 it had before the catalog's lean debian-12 (debian-base.ext4) existed. */
static const struct ctl_rootfs images[] = {
    { "devbox:1", "debian-12.ext4",
      "Debian 12 development box: bash, coreutils, python3 with pip and venv, gcc and make "
      "(build-essential), git, curl, wget, jq, unzip, xz, file, sudo, less, procps, iproute2, "
      "OpenSSH client and server, s3fs" },
    { "node", "node.ext4", "devbox:1 plus Debian 12's Node.js 18 and npm" },
    { "debian-12", "debian-base.ext4",
      "Debian 12 minbase with bash, coreutils, e2fsprogs, iproute2, ca-certificates, procps "
      "and util-linux: a small base for custom templates" },
    { "minimal", "minimal.ext4", "BusyBox, resize2fs and the hearth agent" },
};
#define N_IMAGES (sizeof(images) / sizeof(images[0]))

const struct ctl_shape *ctl_shape_find(const char *id)
{
    for (size_t i = 0; i < N_SHAPES; i++)
        if (strcmp(shapes[i].id, id) == 0)
            return &shapes[i];
    return NULL;
}

bool ctl_image_present(const struct ctl *ctx, const char *file)
{
    char p[PATH_MAX];
    int n = snprintf(p, sizeof(p), "%s/%s", ctx->set.images_dir, file);
    return n > 0 && (size_t)n < sizeof(p) && access(p, R_OK) == 0;
}

const struct ctl_rootfs *ctl_rootfs_find(const struct ctl *ctx, const char *name)
{
    for (size_t i = 0; i < N_IMAGES; i++)
        if (strcmp(images[i].name, name) == 0)
            return ctl_image_present(ctx, images[i].file) ? &images[i] : NULL;
    return NULL;
}

const struct ctl_rootfs *ctl_rootfs_resolve(const struct ctl *c, const char *name)
{
    const struct ctl_rootfs *r = ctl_rootfs_find(c, name);
    if (r)
        return r;
    for (size_t i = 0; i < c->set.n_rootfs_aliases; i++)
        if (strcmp(c->set.rootfs_aliases[i].alias, name) == 0)
            return ctl_rootfs_find(c, c->set.rootfs_aliases[i].target);
    return NULL;
}

static bool is_catalog_name(const char *name)
{
    for (size_t i = 0; i < N_IMAGES; i++)
        if (strcmp(images[i].name, name) == 0)
            return true;
    return false;
}

int ctl_rootfs_aliases_check(const struct hd_config *cfg, char *reterr, size_t len)
{
    for (size_t i = 0; i < cfg->n_rootfs_aliases; i++) {
        const struct config_alias *a = &cfg->rootfs_aliases[i];
        /* an alias that is a catalog name would never be used (names win) */
        if (is_catalog_name(a->alias)) {
            snprintf(reterr, len, "bad value for 'rootfs_aliases': '%s' is a catalog name",
                     a->alias);
            return -EINVAL;
        }
        if (!is_catalog_name(a->target)) {
            snprintf(reterr, len,
                     "bad value for 'rootfs_aliases': '%s' is not a catalog name (devbox:1, "
                     "node, debian-12, minimal)",
                     a->target);
            return -EINVAL;
        }
    }
    return 0;
}

const char *ctl_rootfs_default(void)
{
    return images[0].name;
}

void ctl_ready_reason(struct ctl *ctx, char *out, size_t len)
{
    int version;
    struct store_host self;
    out[0] = '\0';
    if (ctx->draining)
        snprintf(out, len, "draining");
    else if (!ctx->store || store_schema_version(ctx->store, &version) < 0)
        snprintf(out, len, "state store unavailable");
    else if (ctx->set.control_only ? !ctl_hosts_any_active(ctx)
                                   : ctx->hosts && store_host_get(ctx->store, ctx->set.host_id,
                                                                  &self) == 0 && self.drain)
        snprintf(out, len, "no active host"); /* docs/scale-out.md "Hosts": drained */
    else if (ctx->set.control_only)
        return; /* images are the hosts' */
    else if (!ctl_image_present(ctx, "vmlinux"))
        snprintf(out, len, "guest kernel missing in images dir");
    else if (!ctl_image_present(ctx, images[0].file))
        snprintf(out, len, "default image %s missing in images dir", images[0].name);
}

const struct ctl_shape *ctl_shapes(size_t *ret_n)
{
    *ret_n = N_SHAPES;
    return shapes;
}

const struct ctl_rootfs *ctl_rootfs_all(size_t *ret_n)
{
    *ret_n = N_IMAGES;
    return images;
}

/* images/build.sh makes <stem>.<DEFAULT_DISK_MIB>.ext4 beside <stem>.ext4 (a 1 GiB file
 * system): the same tree grown offline to the default disk size, so a create with the default
 * disk needs no resize2fs in the guest (~0.3 s under TCG). The largest variant that fits the
 * disk wins. */
void ctl_rootfs_image(const struct ctl *c, const struct ctl_rootfs *rootfs, uint64_t disk_mib,
                      char *out, size_t len)
{
    static const uint64_t variants_mib[] = { 10240 };
    const char *dir = c->set.images_dir, *file = rootfs->file;
    size_t stem = strlen(file);
    if (stem > 5 && strcmp(file + stem - 5, ".ext4") == 0)
        stem -= 5;
    for (size_t i = 0; i < sizeof(variants_mib) / sizeof(variants_mib[0]); i++) {
        if (variants_mib[i] > disk_mib)
            continue;
        snprintf(out, len, "%s/%.*s.%llu.ext4", dir, (int)stem, file,
                 (unsigned long long)variants_mib[i]);
        if (access(out, R_OK) == 0)
            return;
    }
    snprintf(out, len, "%s/%s", dir, file);
}
