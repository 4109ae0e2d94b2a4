/* SPDX-License-Identifier: MIT */
/* template_files.c: the paths of template_files.h. */
#include "daemon/ctl/template_files.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "daemon/ctl/ctl.h"

bool ctl_tpl_key_valid(const char *s)
{
    size_t i = 0;
    for (; s && s[i]; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return i == 64;
}

static bool tpl_id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n != 30 || strncmp(id, "tpl_", 4) != 0)
        return false;
    for (size_t i = 4; i < n; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'A' && id[i] <= 'Z')))
            return false;
    return true;
}

static int put(char *out, const char *fmt, const char *a, const char *b, const char *d)
{
    int n = snprintf(out, PATH_MAX, fmt, a, b, d);
    return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

int ctl_tpl_dir(const struct ctl *c, const char *sub, char *out)
{
    if (!c->set.templates_dir[0] || !sub || strchr(sub, '/') || strstr(sub, ".."))
        return -EINVAL;
    return put(out, "%s/%s%s", c->set.templates_dir, sub, "");
}

int ctl_tpl_layer_dir(const struct ctl *c, const char *key, char *out)
{
    if (!ctl_tpl_key_valid(key))
        return -EINVAL;
    return put(out, "%s/layers/%s%s", c->set.templates_dir, key, "");
}

int ctl_tpl_layer_disk(const struct ctl *c, const char *key, char *out)
{
    if (!ctl_tpl_key_valid(key))
        return -EINVAL;
    return put(out, "%s/layers/%s/%s", c->set.templates_dir, key, "disk.qcow2");
}

int ctl_tpl_golden_root(const struct ctl *c, const char *tag, char *out)
{
    if (!ctl_tpl_key_valid(tag))
        return -EINVAL;
    return put(out, "%s/golden/%s%s", c->set.templates_dir, tag, "");
}

int ctl_tpl_context_path(const struct ctl *c, const char *ctx_id, char *out)
{
    if (!ctx_id || strncmp(ctx_id, "ctx_", 4) != 0 || !ctl_tpl_key_valid(ctx_id + 4))
        return -EINVAL;
    return put(out, "%s/contexts/%s.tar%s", c->set.templates_dir, ctx_id + 4, "");
}

int ctl_tpl_work_dir(const struct ctl *c, const char *tpl_id, char *out)
{
    if (!tpl_id_valid(tpl_id))
        return -EINVAL;
    return put(out, "%s/work/%s%s", c->set.templates_dir, tpl_id, "");
}
