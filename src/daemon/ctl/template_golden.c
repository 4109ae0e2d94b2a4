/* SPDX-License-Identifier: MIT */
/* template_golden.c: a template's golden snapshots (template_vm.h, docs/templates.md "Ready
 * templates are snapshots"): golden.c's machinery (boot, grow, a step, pause, rename) under
 * <templates_dir>/golden/<tag>/, with the template's start command and ready check as the step
 * before the pause, so a create that restores one finds its processes running and ready. */
#include "daemon/ctl/template_vm.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/ctl/ctl.h"
#include "daemon/ctl/golden.h"
#include "daemon/ctl/template_files.h"

bool ctl_tpl_golden_find(struct ctl *c, const struct ctl_tpl_image *t, unsigned vcpus,
                         unsigned mem_mib, uint64_t disk_mib, char *out)
{
    char root[PATH_MAX];
    if (!ctl_tpl_key_valid(t->golden_tag) || ctl_tpl_golden_root(c, t->golden_tag, root) < 0)
        return false;
    return ctl_golden_find_in(c, root, t->image, vcpus, mem_mib, disk_mib, out);
}

/* A deep copy of what the start needs, alive for the build (golden.c frees it). */
static void image_free(void *ud)
{
    struct ctl_tpl_image *t = ud;
    ctl_tpl_image_release(t);
    free(t);
}

static struct ctl_tpl_image *image_dup(const struct ctl_tpl_image *src)
{
    struct ctl_tpl_image *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    memcpy(t->id, src->id, sizeof(t->id));
    memcpy(t->image, src->image, sizeof(t->image));
    memcpy(t->golden_tag, src->golden_tag, sizeof(t->golden_tag));
    memcpy(t->workdir, src->workdir, sizeof(t->workdir));
    memcpy(t->user, src->user, sizeof(t->user));
    t->fs_mib = src->fs_mib;
    t->ready = src->ready;
    t->ready.arg = NULL;
    bool ok = (!src->start_cmd || (t->start_cmd = strdup(src->start_cmd))) &&
              (!src->ready.arg || (t->ready.arg = strdup(src->ready.arg)));
    size_t n = 0;
    while (ok && src->env && src->env[n])
        n++;
    if (ok && src->env && (t->env = calloc(n + 1, sizeof(char *))))
        for (size_t i = 0; i < n && ok; i++)
            ok = (t->env[i] = strdup(src->env[i])) != NULL;
    else if (src->env)
        ok = false;
    if (!ok) {
        image_free(t);
        return NULL;
    }
    return t;
}

static void golden_start(struct ctl *c, const char *vm_id, void *ud, ctl_golden_done_fn next,
                         void *next_ud)
{
    ctl_tpl_vm_start(c, vm_id, ud, next, next_ud);
}

void ctl_tpl_golden_build(struct ctl *c, const struct ctl_tpl_image *t, unsigned vcpus,
                          unsigned mem_mib, uint64_t disk_mib, uint32_t cpu_quota_pct,
                          ctl_tpl_vm_done_fn done, void *ud)
{
    char gdir[PATH_MAX], root[PATH_MAX];
    struct ctl_tpl_image *copy = NULL;
    struct ctl_golden_spec s = { .root = root, .image = t->image, .vcpus = vcpus,
                                 .mem_mib = mem_mib, .disk_mib = disk_mib,
                                 .cpu_quota_pct = cpu_quota_pct,
                                 .grow = disk_mib > t->fs_mib,
                                 .prepare = golden_start, .prepare_free = image_free,
                                 .done = done, .done_ud = ud };
    /* golden/ and golden/<tag>/ first: golden.c makes only the last level */
    if (!ctl_tpl_key_valid(t->golden_tag) || ctl_tpl_dir(c, "golden", gdir) < 0 ||
        ctl_tpl_golden_root(c, t->golden_tag, root) < 0 ||
        (mkdir(c->set.templates_dir, 0700) < 0 && errno != EEXIST) ||
        (mkdir(gdir, 0700) < 0 && errno != EEXIST) || !(copy = image_dup(t))) {
        s.prepare = NULL;
        s.prepare_free = NULL;
        s.image = NULL; /* reported as failed, from the loop */
    }
    s.prepare_ud = copy;
    ctl_golden_build_spec(c, &s);
}
