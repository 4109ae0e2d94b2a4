/* SPDX-License-Identifier: MIT */
/* template_ops.c: the API-facing template operations of template.h (docs/api.md §3.10):
 * submit (name, Dockerfile, base resolution, context, options, quota), read, list, delete.
 * The build itself is template_build.c's; logs are template_log.c's, contexts
 * template_context.c's. */
#include "daemon/ctl/template.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>

#include "common/timefmt.h"
#include "daemon/ctl/catalog.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/ctl/status_wait.h"
#include "daemon/ctl/template_build.h"
#include "daemon/ctl/template_files.h"
#include "daemon/store/ids.h"
#include "daemon/tpl/dockerfile.h"
#include "daemon/tpl/oci.h"

/* A template name (docs/api.md §1.9): ^[a-z0-9][a-z0-9-]{0,62}$. */
static bool tpl_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || (ch == '-' && i > 0);
        if (!ok)
            return false;
    }
    return true;
}

/* The caller's template by reference (§1.9: an id-shaped ref is an id only, any case). */
static int tpl_lookup(struct ctl *c, const char *user_id, const char *ref, bool with_text,
                      struct store_template *ret)
{
    char canon[STORE_ID_SIZE];
    size_t len = strlen(ref);
    size_t plen = strlen(IDS_TEMPLATE_PREFIX);
    if (len > plen && strncasecmp(ref, IDS_TEMPLATE_PREFIX, plen) == 0) {
        if (ids_canonical(IDS_TEMPLATE_PREFIX, ref, len, canon, sizeof(canon)) < 0)
            return -ENOENT;
        ref = canon;
    } else if (!tpl_name_ok(ref)) {
        return -ENOENT;
    }
    return store_template_get(c->store, user_id, ref, with_text, ret);
}

/* FROM (or base) to its stored form (docs/templates.md "How a build runs"): the catalog name,
 * the user's ready template as tpl_<ULID>, or oci:<ref> on an allowed registry. 0, -ENOENT
 * (nothing of that name), -EBUSY (a template of the user's that is not ready), or -errno. */
static int tpl_base_resolve(struct ctl *c, const char *user_id, const char *name,
                            char out[STORE_TPL_BASE_SIZE])
{
    const struct ctl_rootfs *r = ctl_rootfs_resolve(c, name); /* catalog names, then aliases */
    if (r) {
        snprintf(out, STORE_TPL_BASE_SIZE, "%s", r->name);
        return 0;
    }
    struct store_template t;
    store_template_init(&t);
    int rc = tpl_lookup(c, user_id, name, false, &t);
    if (rc == 0) {
        bool ready = t.status == STORE_TPL_READY && t.deleted_at == 0;
        snprintf(out, STORE_TPL_BASE_SIZE, "%s", t.id);
        store_template_release(&t);
        return ready ? 0 : -EBUSY;
    }
    store_template_release(&t);
    if (rc != -ENOENT)
        return rc;
    size_t reg;
    if (c->oci && c->oci->n_reg > 0 && tpl_oci_ref_allowed(c->oci, name, &reg)) {
        if ((size_t)snprintf(out, STORE_TPL_BASE_SIZE, "oci:%s", name) >= STORE_TPL_BASE_SIZE)
            return -ENAMETOOLONG;
        return 0;
    }
    return -ENOENT;
}

static bool ready_valid(const struct ctl_tpl_ready *r, const char **why)
{
    if (r->timeout_s > CTL_TPL_READY_TIMEOUT_MAX_S) {
        *why = "timeout_seconds must be from 1 to 600";
        return false;
    }
    switch (r->kind) {
    case CTL_TPL_READY_NONE:
        return true;
    case CTL_TPL_READY_PORT:
        *why = "port must be from 1 to 65535";
        return r->port >= 1;
    case CTL_TPL_READY_FILE:
        *why = "file must be an absolute path of at most 4096 bytes";
        return r->arg && r->arg[0] == '/' && strlen(r->arg) <= CTL_TPL_START_MAX;
    case CTL_TPL_READY_COMMAND:
        *why = "command must be 1 to 4096 bytes";
        return r->arg && r->arg[0] && strlen(r->arg) <= CTL_TPL_START_MAX;
    case CTL_TPL_READY_DELAY:
        *why = "delay_ms must be from 1 to 600000";
        return r->delay_ms >= 1 && r->delay_ms <= 600000;
    }
    *why = "unknown ready check";
    return false;
}

/* The row's options: the request's own shapes (docs/api.md §3.10.3), so readers
 * (ctl_template_resolve) parse what the API documents. */
static int options_json(const struct ctl_tpl_submit *req, char out[STORE_TPL_OPTIONS_MAX])
{
    json_t *o = json_object();
    if (!o)
        return -ENOMEM;
    if (req->start_cmd)
        json_object_set_new(o, "start_cmd", json_string(req->start_cmd));
    const struct ctl_tpl_ready *r = &req->ready;
    if (r->kind != CTL_TPL_READY_NONE) {
        json_t *rj = json_object();
        switch (r->kind) {
        case CTL_TPL_READY_PORT: json_object_set_new(rj, "port", json_integer(r->port)); break;
        case CTL_TPL_READY_FILE: json_object_set_new(rj, "file", json_string(r->arg)); break;
        case CTL_TPL_READY_COMMAND:
            json_object_set_new(rj, "command", json_string(r->arg));
            break;
        case CTL_TPL_READY_DELAY:
            json_object_set_new(rj, "delay_ms", json_integer(r->delay_ms));
            break;
        case CTL_TPL_READY_NONE: break;
        }
        if (r->timeout_s)
            json_object_set_new(rj, "timeout_seconds", json_integer(r->timeout_s));
        json_object_set_new(o, "ready", rj);
    }
    if (req->no_cache)
        json_object_set_new(o, "no_cache", json_true());
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    if (!s)
        return -ENOMEM;
    int rc = strlen(s) < STORE_TPL_OPTIONS_MAX ? 0 : -EMSGSIZE;
    if (rc == 0)
        snprintf(out, STORE_TPL_OPTIONS_MAX, "%s", s);
    free(s);
    return rc;
}

static int quota_templates(struct ctl *c, const char *user_id, struct ctl_error *e)
{
    if (c->set.max_templates == 0)
        return 0;
    struct store_template *rows = NULL;
    size_t n = 0;
    uint64_t total = 0;
    int rc = store_template_list(c->store, user_id, 1, 0, &rows, &n, &total);
    for (size_t i = 0; i < n; i++)
        store_template_release(&rows[i]);
    free(rows);
    if (rc < 0)
        return ctl_error_internal(e, "count templates", rc);
    if (total >= c->set.max_templates)
        return ctl_error_set(e, CTL_E_QUOTA, NULL, NULL,
                             "template quota reached (%u live templates)",
                             c->set.max_templates);
    return 0;
}

static int base_error(int rc, const char *field, unsigned line, const char *name,
                      struct ctl_error *e)
{
    if (rc == -EBUSY)
        return strcmp(field, "base") == 0
            ? ctl_error_set(e, CTL_E_INVALID, "base", NULL, "template '%s' is not ready", name)
            : ctl_error_set(e, CTL_E_BAD_DOCKERFILE, "dockerfile", NULL,
                            "line %u: template '%s' is not ready", line, name);
    if (rc == -ENOENT || rc == -ENAMETOOLONG)
        return strcmp(field, "base") == 0
            ? ctl_error_set(e, CTL_E_INVALID, "base", NULL, "unknown image '%s'", name)
            : ctl_error_set(e, CTL_E_BAD_DOCKERFILE, "dockerfile", NULL,
                            "line %u: FROM image '%s' is not allowed", line, name);
    return ctl_error_internal(e, "resolve base", rc);
}

static unsigned n_steps_line(const struct tpl_dockerfile *df, size_t i)
{
    return df->n_steps ? df->steps[i].line : df->from_line;
}

/* A build's chain of layers (the base template's, one per RUN/COPY/ADD, the final one) stays
 * at most CTL_TPL_MAX_LAYERS long: every sandbox of the template reads through all of them
 * (docs/templates.md "Layers and the cache"). */
static int chain_check(struct ctl *c, const char *user_id, const char *base,
                       const struct tpl_dockerfile *df, struct ctl_error *e)
{
    size_t n = 1, last = 0;
    for (size_t i = 0; i < df->n_steps; i++)
        if (df->steps[i].kind == TPL_RUN || df->steps[i].kind == TPL_COPY ||
            df->steps[i].kind == TPL_ADD) {
            n++;
            last = i;
        }
    if (strncmp(base, IDS_TEMPLATE_PREFIX, strlen(IDS_TEMPLATE_PREFIX)) == 0) {
        struct store_template t;
        store_template_init(&t);
        if (store_template_get(c->store, user_id, base, true, &t) == 0) {
            json_t *a = json_loads(t.layers ? t.layers : "[]", 0, NULL);
            n += json_array_size(a);
            json_decref(a);
        }
        store_template_release(&t);
    }
    if (n <= CTL_TPL_MAX_LAYERS)
        return 0;
    return ctl_error_set(e, CTL_E_BAD_DOCKERFILE, "dockerfile", NULL,
                         "line %u: the build would make a chain of %zu layers (base included), "
                         "over %d: join RUN steps with &&",
                         n_steps_line(df, last), n, CTL_TPL_MAX_LAYERS);
}

int ctl_template_submit(struct ctl *c, const struct ctl_caller *who,
                        const struct ctl_tpl_submit *req, struct store_template *ret,
                        struct ctl_error *e)
{
    if (!req->name || !tpl_name_ok(req->name))
        return ctl_error_set(e, CTL_E_INVALID, "name", NULL,
                             "name must match ^[a-z0-9][a-z0-9-]{0,62}$");
    if (!req->dockerfile)
        return ctl_error_set(e, CTL_E_BAD_DOCKERFILE, "dockerfile", NULL, "dockerfile is required");
    char ctx_path[PATH_MAX];
    if (req->context) {
        if (ctl_tpl_context_path(c, req->context, ctx_path) < 0)
            return ctl_error_set(e, CTL_E_INVALID, "context", NULL,
                                 "context must be ctx_<sha256> from POST /v1/template-contexts");
        if (access(ctx_path, R_OK) < 0)
            return ctl_error_set(e, CTL_E_INVALID, "context", NULL, "unknown context '%s'",
                                 req->context);
    }
    if (req->start_cmd && (!req->start_cmd[0] || strlen(req->start_cmd) > CTL_TPL_START_MAX))
        return ctl_error_set(e, CTL_E_INVALID, "start_cmd", NULL,
                             "start_cmd must be 1 to 4096 bytes");
    const char *why = NULL;
    if (!ready_valid(&req->ready, &why))
        return ctl_error_set(e, CTL_E_INVALID, "ready", NULL, "%s", why);

    struct tpl_dockerfile df = { 0 };
    struct tpl_error perr = { 0 };
    if (tpl_dockerfile_parse(req->dockerfile, req->dockerfile_len, req->context != NULL, &df,
                             &perr) < 0)
        return ctl_error_set(e, CTL_E_BAD_DOCKERFILE, "dockerfile", NULL, "%s",
                             perr.msg[0] ? perr.msg : "invalid Dockerfile");
    struct store_template t;
    store_template_init(&t);
    int rc = tpl_base_resolve(c, who->user_id, df.from, t.base);
    if (rc < 0) {
        rc = base_error(rc, "dockerfile", df.from_line, df.from, e);
        tpl_dockerfile_free(&df);
        return rc;
    }
    rc = chain_check(c, who->user_id, t.base, &df, e);
    tpl_dockerfile_free(&df);
    if (rc < 0)
        return rc;
    if (req->base) {
        char b[STORE_TPL_BASE_SIZE];
        rc = tpl_base_resolve(c, who->user_id, req->base, b);
        if (rc < 0)
            return base_error(rc, "base", 0, req->base, e);
        if (strcmp(b, t.base) != 0)
            return ctl_error_set(e, CTL_E_INVALID, "base", NULL,
                                 "base '%s' does not name the FROM image", req->base);
    }
    if (!c->host)
        return ctl_error_set(e, CTL_E_UNAVAILABLE, NULL, NULL, "no VM layer: builds cannot run");
    if ((rc = quota_templates(c, who->user_id, e)) < 0)
        return rc;
    if (options_json(req, t.options) < 0)
        return ctl_error_set(e, CTL_E_INVALID, "start_cmd", NULL, "options too large");

    int64_t now = timefmt_now_ms();
    if (ids_new_template(t.id) < 0)
        return ctl_error_internal(e, "new template id", -EIO);
    snprintf(t.user_id, sizeof(t.user_id), "%s", who->user_id);
    snprintf(t.name, sizeof(t.name), "%s", req->name);
    if (req->context)
        snprintf(t.context, sizeof(t.context), "%s", req->context);
    t.status = STORE_TPL_PENDING;
    t.created_at = now;
    t.dockerfile = strndup(req->dockerfile, req->dockerfile_len);
    if (!t.dockerfile)
        return ctl_error_internal(e, "copy dockerfile", -ENOMEM);
    rc = store_template_insert(c->store, &t);
    char id[STORE_ID_SIZE];
    snprintf(id, sizeof(id), "%s", t.id);
    store_template_release(&t);
    if (rc == -EEXIST)
        return ctl_error_set(e, CTL_E_NAME_TAKEN, "name", NULL, "name already in use: %s",
                             req->name);
    if (rc == -EMSGSIZE)
        return ctl_error_set(e, CTL_E_BAD_DOCKERFILE, "dockerfile", NULL,
                             "the Dockerfile is over 65536 bytes");
    if (rc < 0)
        return ctl_error_internal(e, "insert template", rc);
    ctl_tpl_kick(c);
    rc = store_template_get(c->store, who->user_id, id, false, ret);
    return rc < 0 ? ctl_error_internal(e, "read template", rc) : 0;
}

int ctl_template_get(struct ctl *c, const struct ctl_caller *who, const char *ref,
                     bool with_dockerfile, struct store_template *ret, struct ctl_error *e)
{
    int rc = tpl_lookup(c, who->user_id, ref, with_dockerfile, ret);
    if (rc == -ENOENT)
        return ctl_error_set(e, CTL_E_NOT_FOUND, NULL, NULL, "template not found");
    return rc < 0 ? ctl_error_internal(e, "read template", rc) : 0;
}

int ctl_template_list(struct ctl *c, const struct ctl_caller *who, size_t limit, size_t offset,
                      struct store_template **ret, size_t *ret_n, uint64_t *ret_total,
                      struct ctl_error *e)
{
    int rc = store_template_list(c->store, who->user_id, limit, offset, ret, ret_n, ret_total);
    return rc < 0 ? ctl_error_internal(e, "list templates", rc) : 0;
}

int ctl_template_delete(struct ctl *c, const struct ctl_caller *who, const char *ref,
                        struct ctl_error *e)
{
    struct store_template t;
    store_template_init(&t);
    int rc = tpl_lookup(c, who->user_id, ref, false, &t);
    if (rc == -ENOENT)
        return ctl_error_set(e, CTL_E_NOT_FOUND, NULL, NULL, "template not found");
    if (rc < 0)
        return ctl_error_internal(e, "read template", rc);
    enum store_tpl_status was = t.status;
    rc = store_template_delete(c->store, who->user_id, t.id, timefmt_now_ms(), &was);
    if (rc == -EALREADY) {
        store_template_release(&t);
        return 0; /* a repeat by id (§3.10.5) */
    }
    if (rc < 0) {
        store_template_release(&t);
        return rc == -ENOENT ? ctl_error_set(e, CTL_E_NOT_FOUND, NULL, NULL, "template not found")
                             : ctl_error_internal(e, "delete template", rc);
    }
    if (was == STORE_TPL_PENDING || was == STORE_TPL_BUILDING)
        ctl_tpl_cancel(c, t.id);
    ctl_status_wait_wake(c, t.id);
    store_template_release(&t);
    ctl_tpl_gc(c, false);
    return 0;
}
