/* SPDX-License-Identifier: MIT */
/* template_resolve.c: what a create from a template needs (template.h ctl_template_resolve):
 * the row's status rules, the top layer to boot, the runtime settings the build left in the top
 * layer's layer.json, the start command and ready check from the row's options, and the golden
 * tag that names the template's golden snapshots (docs/templates.md "Ready templates are
 * snapshots"); the parsing is template_image.c's. */
#include "daemon/ctl/template.h"
#include "daemon/ctl/template_vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/ctl/template_files.h"
#include "daemon/log.h"

#define LAYER_JSON_MAX (256u << 10) /* template_image.c refuses more */

static int fail(char *err, size_t len, const char *why)
{
    snprintf(err, len, "%s", why);
    return -EINVAL;
}

/* Reads the top layer's layer.json (bounded) into t. */
static int layer_read(struct ctl *c, const char *key, struct ctl_tpl_image *t, char *err,
                      size_t errlen)
{
    char dir[PATH_MAX], path[PATH_MAX + 16];
    if (ctl_tpl_layer_dir(c, key, dir) < 0)
        return fail(err, errlen, "bad top layer key");
    snprintf(path, sizeof(path), "%s/layer.json", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        snprintf(err, errlen, "layer.json: %s", strerror(errno));
        return -errno;
    }
    char *buf = malloc(LAYER_JSON_MAX + 1);
    ssize_t n = buf ? read(fd, buf, LAYER_JSON_MAX + 1) : -1;
    close(fd);
    int r = n < 0 ? fail(err, errlen, "layer.json: cannot read")
                  : ctl_tpl_layer_parse(buf, (size_t)n, t, err, errlen);
    free(buf);
    return r;
}

int ctl_template_resolve(struct ctl *c, const char *user_id, const char *ref,
                         struct ctl_tpl_image *ret, struct ctl_error *e)
{
    memset(ret, 0, sizeof(*ret));
    struct store_template t;
    store_template_init(&t);
    int r = store_template_get(c->store, user_id, ref, false, &t);
    if (r == -ENOENT)
        return ctl_error_set(e, CTL_E_UNKNOWN_REF, "rootfs", NULL, "unknown rootfs: %.100s",
                             ref);
    if (r < 0)
        return ctl_error_internal(e, "read template", r);
    if (t.deleted_at) {
        /* by name only live ones are found: this is an id */
        store_template_release(&t);
        return ctl_error_set(e, CTL_E_NOT_FOUND, NULL, NULL, "template not found");
    }
    switch (t.status) {
    case STORE_TPL_READY:
        break;
    case STORE_TPL_PENDING:
    case STORE_TPL_BUILDING:
        r = ctl_error_set(e, CTL_E_TEMPLATE_NOT_READY, NULL, NULL,
                          "template %s is %s; wait until it is ready", t.name,
                          store_tpl_status_name(t.status));
        store_template_release(&t);
        return r;
    default:
        r = ctl_error_set(e, CTL_E_INVALID, "rootfs", NULL, "template %s %s", t.name,
                          t.status == STORE_TPL_FAILED ? "failed" : "was cancelled");
        store_template_release(&t);
        return r;
    }
    char why[200] = "";
    snprintf(ret->id, sizeof(ret->id), "%s", t.id);
    r = ctl_tpl_layer_disk(c, t.top_layer, ret->image);
    if (r == 0)
        r = layer_read(c, t.top_layer, ret, why, sizeof(why));
    if (r == 0)
        r = ctl_tpl_options_parse(t.options, ret, why, sizeof(why));
    struct stat st;
    if (r == 0 && stat(ret->image, &st) < 0) {
        r = -errno;
        snprintf(why, sizeof(why), "top layer: %s", strerror(errno));
    }
    if (r == 0)
        ctl_tpl_golden_tag(t.top_layer, ret->start_cmd, &ret->ready, ret->golden_tag);
    store_template_release(&t);
    if (r < 0) {
        ctl_tpl_image_release(ret);
        /* a ready template whose files are unusable: the server's fault, in the log */
        log_error(NULL, "template unusable", "{s:s,s:s}", "template", ref, "err", why);
        return ctl_error_internal(e, "template files", r);
    }
    return 0;
}
