/* SPDX-License-Identifier: MIT */
/* template_gc.c: the template collector (docs/templates.md "Failures, cancel and restart"):
 * layers and golden snapshots are kept while a live template lists them or a sandbox (not
 * destroyed or failed) of a deleted template leans on them; build contexts while a live
 * template names them or for a day after their upload; .tmp dirs of no running build and the
 * scratch dirs of builds that ended go. Runs on a delete, at start and every 10 minutes. */
#include "daemon/ctl/template.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "daemon/ctl/template_build.h"
#include "daemon/ctl/template_files.h"
#include "daemon/ctl/template_vm.h"
#include "daemon/host/snapshot.h"
#include "daemon/log.h"

#define CTX_KEEP_S 86400

/* The names (layer keys, golden tags, context ids, template ids) still needed. */
struct keep {
    json_t *set;                        /* object used as a set */
};

static void keep_add(struct keep *k, const char *name)
{
    if (name && name[0])
        json_object_set_new(k->set, name, json_true());
}

static bool kept(struct keep *k, const char *name)
{
    return json_object_get(k->set, name) != NULL;
}

/* What template t keeps: its layers, its golden tag, its context (live ones only). */
static void keep_template(struct ctl *c, struct keep *k, const struct store_template *t,
                          bool live)
{
    json_t *a = json_loads(t->layers ? t->layers : "[]", 0, NULL);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
        keep_add(k, json_string_value(v));
    json_decref(a);
    keep_add(k, t->top_layer); /* also when the row's list is empty */
    if (t->top_layer[0]) {
        struct ctl_tpl_image img;
        memset(&img, 0, sizeof(img));
        char why[256];
        (void)ctl_tpl_options_parse(t->options, &img, why, sizeof(why));
        char tag[65];
        ctl_tpl_golden_tag(t->top_layer, img.start_cmd, &img.ready, tag);
        keep_add(k, tag);
        ctl_tpl_image_release(&img);
    }
    if (live) {
        keep_add(k, t->context);
        keep_add(k, t->id);
    }
    (void)c;
}

static int collect(struct ctl *c, struct keep *k)
{
    struct store_template *rows = NULL;
    size_t n = 0;
    int rc = store_template_list_all(c->store, &rows, &n);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        struct store_template *t = &rows[i];
        bool live = t->deleted_at == 0;
        uint64_t users = 0;
        if (!live && store_template_sandboxes(c->store, t->id, &users) < 0)
            users = 1; /* when in doubt, keep */
        if (live || users > 0)
            keep_template(c, k, t, live);
        store_template_release(t);
    }
    free(rows);
    return 0;
}

static void remove_dir(const char *root, const char *name, const char *what)
{
    char p[PATH_MAX];
    if ((size_t)snprintf(p, sizeof(p), "%s/%s", root, name) >= sizeof(p))
        return;
    if (snapshot_remove(p) == 0)
        log_info(NULL, "template collector: removed", "{s:s,s:s}", "what", what, "path", p);
}

/* layers/ and golden/: entries named by a 64-hex key or tag, and their .tmp siblings. */
static void sweep_keyed(struct ctl *c, struct keep *k, const char *sub, bool at_start)
{
    char root[PATH_MAX];
    if (ctl_tpl_dir(c, sub, root) < 0)
        return;
    DIR *d = opendir(root);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        char name[80];
        size_t dl = strlen(de->d_name);
        if (dl >= sizeof(name) || de->d_name[0] == '.')
            continue;
        memcpy(name, de->d_name, dl + 1);
        char *dot = strstr(name, ".tmp");
        bool tmp = dot && dot[4] == 0;
        if (tmp)
            *dot = 0;
        if (!ctl_tpl_key_valid(name))
            continue;
        if (ctl_tpl_build_uses(c, name))
            continue;
        if (tmp) {
            /* golden/<tag>.tmp does not exist (its .tmp dirs are inside the tag's dir) */
            if (at_start || strcmp(sub, "layers") == 0)
                remove_dir(root, de->d_name, "stale layer");
            continue;
        }
        if (!kept(k, name))
            remove_dir(root, de->d_name, strcmp(sub, "layers") == 0 ? "layer" : "golden");
    }
    closedir(d);
}

static void sweep_contexts(struct ctl *c, struct keep *k)
{
    const char *subs[] = { "contexts", "uploads" };
    time_t now = time(NULL);
    for (size_t s = 0; s < 2; s++) {
        char root[PATH_MAX];
        if (ctl_tpl_dir(c, subs[s], root) < 0)
            continue;
        DIR *d = opendir(root);
        if (!d)
            continue;
        struct dirent *de;
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.')
                continue;
            char p[PATH_MAX], id[80];
            struct stat st;
            if ((size_t)snprintf(p, sizeof(p), "%s/%s", root, de->d_name) >= sizeof(p) ||
                lstat(p, &st) < 0 || now - st.st_mtime < CTX_KEEP_S)
                continue;
            size_t len = strlen(de->d_name);
            if (s == 0 && len == 68 && strcmp(de->d_name + 64, ".tar") == 0) {
                snprintf(id, sizeof(id), "ctx_%.64s", de->d_name);
                if (kept(k, id))
                    continue;
            }
            if (unlink(p) == 0)
                log_info(NULL, "template collector: removed", "{s:s,s:s}", "what", "context",
                         "path", p);
        }
        closedir(d);
    }
}

/* work/<id>: the scratch of builds; only running builds have one. */
static void sweep_work(struct ctl *c, struct keep *k, bool at_start)
{
    char root[PATH_MAX];
    if (ctl_tpl_dir(c, "work", root) < 0)
        return;
    DIR *d = opendir(root);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.' && (at_start || !kept(k, de->d_name)))
            remove_dir(root, de->d_name, "build scratch");
    closedir(d);
}

void ctl_tpl_gc(struct ctl *c, bool at_start)
{
    if (!c->set.templates_dir[0] || !c->store)
        return;
    struct keep k = { .set = json_object() };
    if (!k.set)
        return;
    int rc = collect(c, &k);
    if (rc < 0) {
        log_warn(NULL, "template collector: cannot list templates", "{s:i}", "err", rc);
        json_decref(k.set);
        return;
    }
    sweep_keyed(c, &k, "layers", at_start);
    sweep_keyed(c, &k, "golden", at_start);
    sweep_contexts(c, &k);
    sweep_work(c, &k, at_start);
    json_decref(k.set);
}
