/* SPDX-License-Identifier: MIT */
/* test_catalog.c: the rootfs catalog (ctl/catalog.h) over a temp images dir: the catalog's
 * order and files, name → image only for present images, operator aliases
 * (ctl_rootfs_resolve: names win, an alias reaches only a present image, no chains) and the
 * load-time check of rootfs_aliases against the catalog. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/config.h"
#include "daemon/ctl/catalog.h"
#include "daemon/ctl/ctl.h"
#include "harness.h"

struct cat {
    char dir[64];
    struct ctl ctl;
};

static void put(struct cat *t, const char *file)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/%s", t->dir, file);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
}

static void cat_open(struct cat *t, const char *const *files)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->dir, sizeof(t->dir), "/tmp/hearth-cat-XXXXXX");
    CHECK(mkdtemp(t->dir) != NULL);
    ctl_init(&t->ctl);
    snprintf(t->ctl.set.images_dir, sizeof(t->ctl.set.images_dir), "%s", t->dir);
    for (; *files; files++)
        put(t, *files);
}

static void cat_close(struct cat *t)
{
    static const char *const all[] = { "debian-12.ext4", "node.ext4", "debian-base.ext4",
                                       "minimal.ext4" };
    char p[128];
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", t->dir, all[i]);
        (void)unlink(p);
    }
    (void)rmdir(t->dir);
}

static void alias(struct cat *t, const char *a, const char *target)
{
    struct ctl_rootfs_alias *x = &t->ctl.set.rootfs_aliases[t->ctl.set.n_rootfs_aliases++];
    snprintf(x->alias, sizeof(x->alias), "%s", a);
    snprintf(x->target, sizeof(x->target), "%s", target);
}

TEST(catalog_order_and_files)
{
    size_t n;
    const struct ctl_rootfs *all = ctl_rootfs_all(&n);
    CHECK_EQ(n, 4);
    CHECK_STR(all[0].name, "devbox:1");
    CHECK_STR(all[0].file, "debian-12.ext4");
    CHECK_STR(all[1].name, "node");
    CHECK_STR(all[1].file, "node.ext4");
    CHECK_STR(all[2].name, "debian-12");
    CHECK_STR(all[2].file, "debian-base.ext4");
    CHECK_STR(all[3].name, "minimal");
    CHECK_STR(ctl_rootfs_default(), "devbox:1");
    for (size_t i = 0; i < n; i++)
        CHECK(all[i].description && strlen(all[i].description) > 10);
}

TEST(resolve_names_then_aliases)
{
    struct cat t;
    static const char *const files[] = { "debian-12.ext4", "debian-base.ext4", NULL };
    cat_open(&t, files);
    /* names: present ones only */
    const struct ctl_rootfs *r = ctl_rootfs_resolve(&t.ctl, "devbox:1");
    CHECK(r && strcmp(r->file, "debian-12.ext4") == 0);
    r = ctl_rootfs_resolve(&t.ctl, "debian-12");
    CHECK(r && strcmp(r->file, "debian-base.ext4") == 0);
    CHECK(ctl_rootfs_resolve(&t.ctl, "node") == NULL); /* in the catalog, not in the dir */
    CHECK(ctl_rootfs_resolve(&t.ctl, "nodeops/sandbox:debian") == NULL); /* no aliases yet */
    /* aliases */
    alias(&t, "nodeops/sandbox:debian", "devbox:1");
    alias(&t, "nodeops/sandbox:node", "node");
    alias(&t, "chain", "nodeops/sandbox:debian");  /* config refuses this; resolve ignores it */
    r = ctl_rootfs_resolve(&t.ctl, "nodeops/sandbox:debian");
    CHECK(r && strcmp(r->name, "devbox:1") == 0);
    CHECK(ctl_rootfs_resolve(&t.ctl, "nodeops/sandbox:node") == NULL); /* target absent */
    CHECK(ctl_rootfs_resolve(&t.ctl, "chain") == NULL);                /* one step only */
    CHECK(ctl_rootfs_find(&t.ctl, "nodeops/sandbox:debian") == NULL);  /* find: names only */
    put(&t, "node.ext4");
    r = ctl_rootfs_resolve(&t.ctl, "nodeops/sandbox:node");
    CHECK(r && strcmp(r->name, "node") == 0);
    /* near misses */
    static const char *const miss[] = { "", "NODEOPS/SANDBOX:DEBIAN", "nodeops/sandbox:debian ",
                                        "nodeops/sandbox", "devbox", "devbox:10", "debian-12.ext4",
                                        "../debian-12.ext4", "minimal" };
    for (size_t i = 0; i < sizeof(miss) / sizeof(miss[0]); i++)
        if (ctl_rootfs_resolve(&t.ctl, miss[i]) != NULL)
            harness_fail(__FILE__, __LINE__, "resolved: '%s'", miss[i]);
    cat_close(&t);
}

TEST(aliases_checked_against_the_catalog)
{
    struct hd_config c;
    char err[512];
    config_defaults(&c);
    CHECK_EQ(ctl_rootfs_aliases_check(&c, err, sizeof(err)), 0); /* the default is good */
    static const char *const good[] = {
        "rootfs_aliases = a=devbox:1,b=node,c=debian-12,d=minimal\n",
        "rootfs_aliases = \"\"\n",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        config_defaults(&c);
        CHECK_EQ(config_parse(&c, good[i], strlen(good[i]), "t.conf", err, sizeof(err)), 0);
        CHECK_EQ(ctl_rootfs_aliases_check(&c, err, sizeof(err)), 0);
    }
    static const char *const bad[] = {
        "rootfs_aliases = a=devbox:2\n",             /* no such image */
        "rootfs_aliases = a=debian-base\n",          /* a file's stem, not a name */
        "rootfs_aliases = a=node,b=b\n",
        "rootfs_aliases = a=node,b=a\n",             /* no alias of an alias */
        "rootfs_aliases = node=devbox:1\n",          /* a catalog name as alias */
        "rootfs_aliases = devbox:1=minimal\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        config_defaults(&c);
        CHECK_EQ(config_parse(&c, bad[i], strlen(bad[i]), "t.conf", err, sizeof(err)), 0);
        err[0] = '\0';
        if (ctl_rootfs_aliases_check(&c, err, sizeof(err)) != -EINVAL)
            harness_fail(__FILE__, __LINE__, "accepted: %s", bad[i]);
        CHECK(strstr(err, "rootfs_aliases") != NULL);
    }
}
