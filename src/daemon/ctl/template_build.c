/* SPDX-License-Identifier: MIT */
/* template_build.c: the template builder (docs/templates.md "How a build runs", "Layers and
 * the cache", "Failures, cancel and restart"): a FIFO of pending templates, at most
 * max_concurrent_builds attempts at once. An attempt walks the Dockerfile: settings steps
 * change the build state, RUN/COPY/ADD steps are cache hits (their layer exists) or run in a
 * build VM restored from the previous step's snapshot (or booted cold from the parent layer)
 * and paused into a new layer; a final layer writes the runtime settings; the golden snapshot
 * follows (template_vm.h); then `ready`. */
#include "daemon/ctl/template_attempt.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/timefmt.h"
#include "common/utf8.h"
#include "daemon/ctl/catalog.h"
#include "daemon/ctl/status_wait.h"
#include "daemon/ctl/template_build.h"
#include "daemon/ctl/template_log.h"
#include "daemon/ctl/template_oci.h"
#include "daemon/ctl/template_state.h"
#include "daemon/ctl/template_files.h"
#include "daemon/ctl/template_layer.h"
#include "daemon/ctl/template_step.h"
#include "daemon/ctl/template_vm.h"
#include "daemon/host/host.h"
#include "daemon/host/snapshot.h"
#include "daemon/log.h"
#include "daemon/store/ids.h"
#include "daemon/tpl/dockerfile.h"
#include "daemon/tpl/oci.h"



/* ---- bookkeeping ---- */

static unsigned running(struct ctl_templates *s)
{
    unsigned n = 0;
    for (struct tpl_build *b = s->builds; b; b = b->next)
        n++;
    return n;
}

static struct tpl_build *find(struct ctl *c, const char *id)
{
    struct ctl_templates *s = c->templates;
    for (struct tpl_build *b = s ? s->builds : NULL; b; b = b->next)
        if (strcmp(b->id, id) == 0)
            return b;
    return NULL;
}

static bool in_array(json_t *a, const char *key)
{
    size_t i;
    json_t *k;
    json_array_foreach(a, i, k) {
        const char *s = json_string_value(k);
        if (s && strcmp(s, key) == 0)
            return true;
    }
    return false;
}

bool ctl_tpl_build_uses(struct ctl *c, const char *name)
{
    struct ctl_templates *s = c->templates;
    for (struct tpl_build *b = s ? s->builds : NULL; b; b = b->next)
        if (strcmp(b->key, name) == 0 || strcmp(b->img.golden_tag, name) == 0 ||
            in_array(b->chain, name) || in_array(b->made, name))
            return true;
    return false;
}

static void build_free(struct tpl_build *b)
{
    struct ctl_templates *s = b->c->templates;
    for (struct tpl_build **pp = &s->builds; *pp; pp = &(*pp)->next)
        if (*pp == b) {
            *pp = b->next;
            break;
        }
    tpl_oci_job_abandon(b->oci);
    if (b->timeout)
        event_free(b->timeout);
    if (b->retry)
        event_free(b->retry);
    ctl_tpl_log_close(b->log);
    tpl_dockerfile_free(&b->df);
    tpl_vars_free(&b->env);
    tpl_vars_free(&b->args);
    tpl_strv_free(b->shell);
    tpl_strv_free(b->cmd);
    tpl_strv_free(b->entrypoint);
    tpl_strv_free(b->argv);
    tpl_strv_free(b->envv);
    json_decref(b->chain);
    json_decref(b->made);
    ctl_tpl_image_release(&b->img);
    free(b->options);
    free(b);
}

static void rm_rf(const char *path)
{
    (void)snapshot_remove(path);
}

/* What a build no longer needs once it ended: the snapshots (RAM, device state) of its
 * layers; disk.qcow2 and layer.json stay. */
static void trim_layers(struct tpl_build *b)
{
    size_t i;
    json_t *k;
    json_array_foreach(b->made, i, k) {
        char dir[PATH_MAX], p[PATH_MAX + 16];
        if (ctl_tpl_layer_dir(b->c, json_string_value(k), dir) < 0)
            continue;
        const char *drop[] = { "mem", "state", "meta.json" };
        for (size_t j = 0; j < 3; j++) {
            snprintf(p, sizeof(p), "%s/%s", dir, drop[j]);
            (void)unlink(p);
        }
    }
}

static char *layers_text(struct tpl_build *b)
{
    return json_dumps(b->chain, JSON_COMPACT);
}

static void work_dir_remove(struct tpl_build *b)
{
    char w[PATH_MAX];
    if (ctl_tpl_work_dir(b->c, b->id, w) == 0)
        rm_rf(w);
}

/* ---- ends of an attempt ---- */

static void count(struct ctl *c, int which)
{
    struct ctl_templates *s = ctl_tpl_state(c);
    if (s)
        s->results[which]++;
}

/* The end of b's attempt: its snapshots trimmed, its scratch gone (unless retried), the result
 * counted (result: 0 ready, 1 failed, -1 lost and retried), b freed, followers told (status
 * NULL: only those of this attempt), the queue woken. */
static void attempt_close(struct tpl_build *b, int result, const char *status)
{
    trim_layers(b);
    if (result >= 0) {
        work_dir_remove(b);
        count(b->c, result);
    }
    struct ctl *c = b->c;
    char id[STORE_ID_SIZE];
    int32_t attempt = b->attempt;
    snprintf(id, sizeof(id), "%s", b->id);
    build_free(b);
    if (status)
        ctl_tpl_follow_final(c, id, attempt, status);
    else
        ctl_tpl_follow_attempt_end(c, id, attempt);
    ctl_tpl_kick(c);
}

void tpl_attempt_failed(struct tpl_build *b, const char *fmt, ...)
{
    char msg[STORE_TPL_ERROR_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* the store takes UTF-8 only (PostgreSQL holds nothing else): the cut may split a
     * character, and a piece quoted into the message may have been cut the same way */
    utf8_cut_partial(msg);
    if (!utf8_valid((const uint8_t *)msg, strlen(msg)))
        for (char *p = msg; *p; p++)
            if ((unsigned char)*p >= 0x80)
                *p = '?';
    tpl_attempt_vm_drop(b, false);
    ctl_tpl_log_line(b->log, true, "%s", msg);
    ctl_tpl_log_flush(b->log);
    char *layers = layers_text(b);
    struct store_tpl_update u = { .mask = STORE_TPL_SET_STATUS | STORE_TPL_SET_ERROR |
                                          (layers ? STORE_TPL_SET_LAYERS : 0),
                                  .from_states = 1u << STORE_TPL_BUILDING,
                                  .status = STORE_TPL_FAILED, .error = msg, .layers = layers };
    int rc = store_template_update(b->c->store, b->id, &u);
    free(layers);
    ctl_status_wait_wake(b->c, b->id);
    if (rc < 0 && rc != -ESTALE)
        log_warn(NULL, "template: cannot mark the build failed", "{s:s,s:i}", "template",
                 b->id, "err", rc);
    log_info(NULL, "template build failed", "{s:s,s:s}", "template", b->id, "error", msg);
    attempt_close(b, 1, "failed");
}

/* An infrastructure fault: the attempt is lost; retried while attempts are left. */
void tpl_attempt_lost(struct tpl_build *b, const char *why)
{
    if (b->attempt >= CTL_TPL_MAX_ATTEMPTS) {
        tpl_attempt_failed(b, "attempt %d failed: %s (no attempts left)", (int)b->attempt, why);
        return;
    }
    tpl_attempt_vm_drop(b, false);
    ctl_tpl_log_line(b->log, true, "attempt %d failed: %s; retrying", (int)b->attempt, why);
    ctl_tpl_log_flush(b->log);
    struct store_tpl_update u = { .mask = STORE_TPL_SET_STATUS,
                                  .from_states = 1u << STORE_TPL_BUILDING,
                                  .status = STORE_TPL_PENDING };
    if (store_template_update(b->c->store, b->id, &u) < 0)
        log_warn(NULL, "template: cannot requeue the build", "{s:s}", "template", b->id);
    ctl_status_wait_wake(b->c, b->id);
    log_warn(NULL, "template build attempt lost; retrying", "{s:s,s:i,s:s}", "template", b->id,
             "attempt", (int)b->attempt, "why", why);
    attempt_close(b, -1, NULL);
}

static void end_ready(struct tpl_build *b)
{
    char *layers = layers_text(b);
    const char *top = json_string_value(json_array_get(b->chain, json_array_size(b->chain) - 1));
    ctl_tpl_log_line(b->log, false, "Successfully built %.12s", top ? top : "");
    ctl_tpl_log_flush(b->log);
    struct store_tpl_update u = { .mask = STORE_TPL_SET_STATUS | STORE_TPL_SET_RESULT |
                                          STORE_TPL_SET_LAYERS | STORE_TPL_SET_ERROR,
                                  .from_states = 1u << STORE_TPL_BUILDING,
                                  .status = STORE_TPL_READY, .top_layer = top ? top : "",
                                  .ext4_size_bytes = b->used_bytes,
                                  .built_at = timefmt_now_ms(), .layers = layers, .error = "" };
    int rc = store_template_update(b->c->store, b->id, &u);
    free(layers);
    ctl_status_wait_wake(b->c, b->id);
    if (rc < 0)
        log_warn(NULL, "template: cannot mark the build ready", "{s:s,s:i}", "template", b->id,
                 "err", rc);
    else
        log_info(NULL, "template ready", "{s:s,s:s}", "template", b->id, "top", top ? top : "");
    attempt_close(b, 0, rc == 0 ? "ready" : "cancelled");
}

static void on_timeout(evutil_socket_t fd, short what, void *ud)
{
    (void)fd;
    (void)what;
    struct tpl_build *b = ud;
    tpl_attempt_failed(b, "build timed out after %u s", b->c->set.template_build_timeout_s);
}

/* ---- the golden snapshot, then ready ---- */

static void on_golden(void *ud, int err, const char *msg)
{
    struct tpl_op *op = ud;
    struct tpl_build *b = op->b;
    free(op);
    if (!b)
        return;
    b->op = NULL;
    b->golden_wait = false;
    if (err < 0) {
        /* the start command or ready check failing is the template's fault, not the host's */
        tpl_attempt_failed(b, "golden snapshot: %s", msg && msg[0] ? msg : strerror(-err));
        return;
    }
    end_ready(b);
}

void tpl_attempt_finish(struct tpl_build *b)
{
    struct ctl *c = b->c;
    const char *top = json_string_value(json_array_get(b->chain, json_array_size(b->chain) - 1));
    struct ctl_tpl_image *img = &b->img;
    ctl_tpl_image_release(img);
    snprintf(img->id, sizeof(img->id), "%s", b->id);
    if (!top || ctl_tpl_layer_disk(c, top, img->image) < 0) {
        tpl_attempt_failed(b, "the build made no layer");
        return;
    }
    img->fs_mib = TPL_FS_MIB;
    char why[256] = "";
    if (ctl_tpl_options_parse(b->options, img, why, sizeof(why)) < 0) {
        tpl_attempt_failed(b, "options: %s", why);
        return;
    }
    ctl_tpl_golden_tag(top, img->start_cmd, &img->ready, img->golden_tag);
    img->env = calloc(b->env.n + 1, sizeof(char *));
    for (size_t i = 0; img->env && i < b->env.n; i++)
        if (asprintf(&img->env[i], "%s=%s", b->env.v[i].key,
                     b->env.v[i].value ? b->env.v[i].value : "") < 0)
            img->env[i] = NULL;
    snprintf(img->workdir, sizeof(img->workdir), "%s", b->workdir);
    snprintf(img->user, sizeof(img->user), "%s", b->user);
    const struct ctl_shape *sh = ctl_shape_find("s-1vcpu-256mb");
    struct tpl_op *op = calloc(1, sizeof(*op));
    if (!sh || !op) {
        free(op);
        tpl_attempt_lost(b, "out of memory");
        return;
    }
    op->c = c;
    op->b = b;
    b->op = op;
    b->golden_wait = true;
    ctl_tpl_log_line(b->log, false, "Taking the golden snapshot (%s)", sh->id);
    ctl_tpl_log_flush(b->log);
    ctl_tpl_golden_build(c, img, (unsigned)sh->vcpu, (unsigned)sh->mem_mib, TPL_FS_MIB,
                         (uint32_t)sh->cpu_quota_pct, on_golden, op);
}

/* ---- the start of an attempt ---- */

static void attempt_begin(struct tpl_build *b);

/* The OCI base is imported: its ext4 is the base image, its manifest digest the base's
 * identity, its config's ENV/WORKDIR/USER the starting state. */
static void on_oci(void *ud, int err, const struct tpl_oci_image *img, const char *msg,
                   char **lines, size_t n)
{
    struct tpl_build *b = ud;
    b->oci = NULL;
    for (size_t i = 0; i < n; i++)
        ctl_tpl_log_line(b->log, false, "%s", lines[i]);
    if (err < 0) {
        /* the registry's answer is the Dockerfile's problem, not the host's: no retry */
        tpl_attempt_failed(b, "base %.200s: %.250s", b->base + 4, msg && msg[0] ? msg : strerror(-err));
        return;
    }
    snprintf(b->base_image, sizeof(b->base_image), "%s", img->image);
    snprintf(b->parent, sizeof(b->parent), "oci:%s", img->digest);
    for (size_t i = 0; img->env && img->env[i]; i++) {
        const char *eq = strchr(img->env[i], '=');
        char *k = eq ? strndup(img->env[i], (size_t)(eq - img->env[i])) : NULL;
        if (k)
            (void)tpl_vars_set(&b->env, k, eq + 1);
        free(k);
    }
    snprintf(b->workdir, sizeof(b->workdir), "%s", img->workdir);
    snprintf(b->user, sizeof(b->user), "%s", strcmp(img->user, "root") == 0 ? "" : img->user);
    b->on_base = true;
    attempt_begin(b);
}

#define TPL_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The base image and the starting state (docs/templates.md "How a build runs"). 0, 1 when an
 * OCI import runs (attempt_begin follows from on_oci), or -errno with why. */
static int base_setup(struct tpl_build *b, char *why, size_t len)
{
    struct ctl *c = b->c;
    /* every base starts with the PATH commands get (the agent's, docs/agent-protocol.md), as a
     * Docker image's config carries one: `ENV PATH=/opt/venv/bin:$PATH` then means what it
     * says; an OCI image's own PATH or a base template's replaces it */
    (void)tpl_vars_set(&b->env, "PATH", TPL_DEFAULT_PATH);
    if (strncmp(b->base, "oci:", 4) == 0) {
        ctl_tpl_log_line(b->log, false, "Importing %s", b->base + 4);
        ctl_tpl_log_flush(b->log);
        int rc = tpl_oci_job_start(c, b->base + 4, on_oci, b, &b->oci);
        if (rc < 0)
            snprintf(why, len, "OCI bases are off on this host (oci_registries)");
        return rc < 0 ? rc : 1;
    }
    if (strncmp(b->base, IDS_TEMPLATE_PREFIX, strlen(IDS_TEMPLATE_PREFIX)) == 0) {
        struct store_template t;
        store_template_init(&t);
        int rc = store_template_get(c->store, b->user_id, b->base, true, &t);
        char dir[PATH_MAX];
        if (rc < 0 || t.status != STORE_TPL_READY || !t.top_layer[0] ||
            ctl_tpl_layer_dir(c, t.top_layer, dir) < 0) {
            store_template_release(&t);
            snprintf(why, len, "base template %.200s is not ready", b->base);
            return -ENOENT;
        }
        struct tpl_layer_meta m;
        if (tpl_layer_meta_read(dir, &m) < 0) {
            store_template_release(&t);
            snprintf(why, len, "base template %.200s has lost its layers", b->base);
            return -ENOENT;
        }
        /* the base template's layers are this one's too (the collector keeps them) */
        json_t *chain = json_loads(t.layers ? t.layers : "[]", 0, NULL);
        if (json_is_array(chain)) {
            json_decref(b->chain);
            b->chain = chain;
        } else {
            json_decref(chain);
            json_array_append_new(b->chain, json_string(t.top_layer));
        }
        snprintf(b->parent, sizeof(b->parent), "%s", t.top_layer);
        store_template_release(&t);
        for (size_t i = 0; m.env && m.env[i]; i++) {
            char *eq = strchr(m.env[i], '=');
            if (eq) {
                *eq = 0;
                (void)tpl_vars_set(&b->env, m.env[i], eq + 1);
            }
        }
        snprintf(b->workdir, sizeof(b->workdir), "%s", m.workdir);
        snprintf(b->user, sizeof(b->user), "%s", m.user);
        b->shell = tpl_strv_dup(m.shell);
        b->cmd = tpl_strv_dup(m.cmd);
        b->entrypoint = tpl_strv_dup(m.entrypoint);
        tpl_layer_meta_release(&m);
        b->on_base = false;
        return 0;
    }
    const struct ctl_rootfs *r = ctl_rootfs_find(c, b->base);
    char abs[PATH_MAX];
    struct stat st;
    if (r)
        ctl_rootfs_image(c, r, TPL_FS_MIB, b->base_image, sizeof(b->base_image));
    if (!r || !realpath(b->base_image, abs) || stat(abs, &st) < 0) {
        snprintf(why, len, "base image %.200s is not available", b->base);
        return -ENOENT;
    }
    /* the image's identity: a rebuilt image file makes new keys */
    if ((size_t)snprintf(b->parent, sizeof(b->parent), "img:%s|%lld|%lld", abs,
                         (long long)st.st_size, (long long)st.st_mtime) >= sizeof(b->parent)) {
        snprintf(why, len, "base image path too long");
        return -ENAMETOOLONG;
    }
    b->on_base = true;
    return 0;
}

static void attempt_start(struct ctl *c, struct store_template *t)
{
    struct ctl_templates *s = ctl_tpl_state(c);
    struct tpl_build *b = s ? calloc(1, sizeof(*b)) : NULL;
    if (!b)
        return;
    b->c = c;
    snprintf(b->id, sizeof(b->id), "%s", t->id);
    snprintf(b->user_id, sizeof(b->user_id), "%s", t->user_id);
    snprintf(b->base, sizeof(b->base), "%s", t->base);
    b->attempt = t->attempt + 1;
    b->options = strdup(t->options);
    b->chain = json_array();
    b->made = json_array();
    json_t *o = json_loads(t->options, 0, NULL);
    b->no_cache = json_is_true(json_object_get(o, "no_cache"));
    json_decref(o);
    struct store_tpl_update u = { .mask = STORE_TPL_SET_STATUS | STORE_TPL_SET_ATTEMPT |
                                          STORE_TPL_SET_HOST | STORE_TPL_SET_ERROR,
                                  .from_states = 1u << STORE_TPL_PENDING,
                                  .status = STORE_TPL_BUILDING, .attempt = b->attempt,
                                  .started_at = timefmt_now_ms(), .host_id = c->set.host_id,
                                  .error = "" };
    if (!b->options || !b->chain || !b->made ||
        store_template_update(c->store, b->id, &u) < 0) {
        json_decref(b->chain);
        json_decref(b->made);
        free(b->options);
        free(b);
        return; /* deleted meanwhile, or the store failed: the next kick sees it again */
    }
    ctl_status_wait_wake(c, b->id);
    b->next = s->builds;
    s->builds = b;
    b->log = ctl_tpl_log_open(c, b->id, b->attempt, 0);
    b->timeout = evtimer_new(c->base, on_timeout, b);
    if (b->timeout) {
        struct timeval tv = { c->set.template_build_timeout_s ? c->set.template_build_timeout_s
                                                              : 1800, 0 };
        evtimer_add(b->timeout, &tv);
    }
    log_info(NULL, "template build started", "{s:s,s:i}", "template", b->id, "attempt",
             (int)b->attempt);
    char layers[PATH_MAX];
    if (ctl_tpl_dir(c, "layers", layers) < 0 ||
        (mkdir(c->set.templates_dir, 0700) < 0 && errno != EEXIST) ||
        (mkdir(layers, 0700) < 0 && errno != EEXIST)) {
        tpl_attempt_lost(b, "cannot make the templates directory");
        return;
    }
    if (t->context[0] && ctl_tpl_context_path(c, t->context, b->ctx) < 0)
        b->ctx[0] = 0;
    struct tpl_error perr = { 0 };
    int rc = tpl_dockerfile_parse(t->dockerfile ? t->dockerfile : "",
                                  t->dockerfile ? strlen(t->dockerfile) : 0, t->context[0] != 0,
                                  &b->df, &perr);
    if (rc < 0) {
        tpl_attempt_failed(b, "%s", perr.msg);
        return;
    }
    for (size_t i = 0; i < b->df.n_pre_args; i++)
        if (b->df.pre_args[i].value)
            (void)tpl_vars_set(&b->args, b->df.pre_args[i].key, b->df.pre_args[i].value);
    ctl_tpl_log_line(b->log, false, "Step 1/%zu : FROM %s", b->df.n_steps + 1, b->df.from);
    char why[256] = "";
    rc = base_setup(b, why, sizeof(why));
    if (rc < 0)
        tpl_attempt_failed(b, "%s", why);
    else if (rc == 0)
        attempt_begin(b);
}

/* The base is there: the steps start. */
static void attempt_begin(struct tpl_build *b)
{
    if (b->ctx[0] && access(b->ctx, R_OK) < 0) {
        tpl_attempt_failed(b, "the build context is gone");
        return;
    }
    if (!b->shell) {
        b->shell = calloc(3, sizeof(char *));
        if (b->shell) {
            b->shell[0] = strdup("/bin/sh");
            b->shell[1] = strdup("-c");
        }
    }
    tpl_attempt_advance(b);
}

/* ---- the queue ---- */

static void run_queue(struct ctl *c)
{
    struct ctl_templates *s = c->templates;
    if (!s || !s->started || s->stopped || !c->host)
        return;
    struct store_template *rows = NULL;
    size_t n = 0;
    if (store_template_list_status(c->store, STORE_TPL_PENDING, &rows, &n) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        unsigned max = c->set.max_concurrent_builds;
        if ((!max || running(s) < max) && !find(c, rows[i].id))
            attempt_start(c, &rows[i]);
        store_template_release(&rows[i]);
    }
    free(rows);
}

static void on_kick(evutil_socket_t fd, short what, void *ud)
{
    (void)fd;
    (void)what;
    run_queue(ud);
}

void ctl_tpl_kick(struct ctl *c)
{
    struct ctl_templates *s = ctl_tpl_state(c);
    if (!s || !c->base)
        return;
    if (!s->kick)
        s->kick = evtimer_new(c->base, on_kick, c);
    struct timeval tv = { 0, 0 };
    if (s->kick)
        evtimer_add(s->kick, &tv);
}

void ctl_tpl_cancel(struct ctl *c, const char *id)
{
    struct tpl_build *b = find(c, id);
    int32_t attempt = 0;
    if (b) {
        attempt = b->attempt;
        tpl_attempt_vm_drop(b, false);
        if (b->key[0]) { /* a pause may be writing its .tmp: the collector's at_start pass
                            and the op's callback remove it */
            char dir[PATH_MAX], tmp[PATH_MAX + 8];
            if (ctl_tpl_layer_dir(c, b->key, dir) == 0) {
                snprintf(tmp, sizeof(tmp), "%s.tmp", dir);
                rm_rf(tmp);
            }
        }
        ctl_tpl_log_line(b->log, true, "cancelled: the template was deleted");
        ctl_tpl_log_flush(b->log);
        work_dir_remove(b); /* its layers go with the collector's next pass (the caller's) */
        count(c, 2);
        build_free(b);
    } else {
        struct store_template t;
        store_template_init(&t);
        if (store_template_get(c->store, NULL, id, false, &t) == 0)
            attempt = t.attempt;
        store_template_release(&t);
        count(c, 2);
    }
    ctl_tpl_follow_final(c, id, attempt, "cancelled");
    ctl_tpl_kick(c);
}

/* ---- the builder's life ---- */

static void on_gc_timer(evutil_socket_t fd, short what, void *ud)
{
    (void)fd;
    (void)what;
    ctl_tpl_gc(ud, false);
}

void ctl_templates_start(struct ctl *c)
{
    struct ctl_templates *s = ctl_tpl_state(c);
    if (!s)
        return;
    s->started = true;
    s->stopped = false;
    /* attempts a stopped hearthd left building were lost to the infrastructure */
    struct store_template *rows = NULL;
    size_t n = 0;
    if (store_template_list_status(c->store, STORE_TPL_BUILDING, &rows, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
            struct store_template *t = &rows[i];
            bool last = t->attempt >= CTL_TPL_MAX_ATTEMPTS;
            char msg[STORE_TPL_ERROR_SIZE];
            snprintf(msg, sizeof(msg), "attempt %d lost: hearthd stopped during the build%s",
                     (int)t->attempt, last ? " (no attempts left)" : "; retrying");
            struct ctl_tpl_log *l = ctl_tpl_log_open(c, t->id, t->attempt,
                                                     ctl_tpl_log_next_seq(c, t->id, t->attempt));
            ctl_tpl_log_line(l, true, "%s", msg);
            ctl_tpl_log_close(l);
            struct store_tpl_update u = { .mask = STORE_TPL_SET_STATUS |
                                                  (last ? STORE_TPL_SET_ERROR : 0),
                                          .from_states = 1u << STORE_TPL_BUILDING,
                                          .status = last ? STORE_TPL_FAILED : STORE_TPL_PENDING,
                                          .error = msg };
            if (store_template_update(c->store, t->id, &u) < 0)
                log_warn(NULL, "template: cannot requeue a lost build", "{s:s}", "template",
                         t->id);
            ctl_status_wait_wake(c, t->id);
            char w[PATH_MAX];
            if (ctl_tpl_work_dir(c, t->id, w) == 0)
                rm_rf(w);
            log_warn(NULL, "template build lost at restart", "{s:s,s:i,s:b}", "template", t->id,
                     "attempt", (int)t->attempt, "retry", !last);
            store_template_release(t);
        }
        free(rows);
    }
    ctl_tpl_gc(c, true);
    if (!s->gc_timer && c->base)
        s->gc_timer = evtimer_new(c->base, on_gc_timer, c);
    if (s->gc_timer) {
        struct timeval tv = { 600, 0 };
        event_add(s->gc_timer, &tv);
    }
    ctl_tpl_kick(c);
}

void ctl_templates_stop(struct ctl *c)
{
    struct ctl_templates *s = c->templates;
    if (!s)
        return;
    s->stopped = true;
    /* running attempts are abandoned: their VMs must not outlive hearthd; the rows stay
     * building for the next start to retry */
    while (s->builds) {
        struct tpl_build *b = s->builds;
        tpl_attempt_vm_drop(b, true);
        build_free(b);
    }
    if (s->kick)
        evtimer_del(s->kick);
    if (s->gc_timer)
        evtimer_del(s->gc_timer);
}

void ctl_templates_release(struct ctl *c)
{
    struct ctl_templates *s = c->templates;
    if (!s)
        return;
    ctl_templates_stop(c);
    ctl_tpl_follow_drop_all(c);
    if (s->kick)
        event_free(s->kick);
    if (s->gc_timer)
        event_free(s->gc_timer);
    free(s);
    c->templates = NULL;
}

void ctl_tpl_build_counts(struct ctl *c, uint64_t ret[3])
{
    struct ctl_templates *s = c->templates;
    for (int i = 0; i < 3; i++)
        ret[i] = s ? s->results[i] : 0;
}
