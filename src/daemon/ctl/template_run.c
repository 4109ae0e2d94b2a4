/* SPDX-License-Identifier: MIT */
/* template_run.c: the steps of a build attempt (docs/templates.md "How a build runs"):
 * settings steps change the build state, RUN/COPY/ADD steps are cache hits or run in a build
 * VM (restored from this attempt's snapshot of the parent layer, else booted cold from the
 * parent's disk) that is then paused into the step's layer; the final layer writes the
 * runtime settings. */
#include "daemon/ctl/template_attempt.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/timefmt.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/netplane.h"
#include "daemon/ctl/quota.h"
#include "daemon/ctl/template_log.h"
#include "daemon/ctl/template_files.h"
#include "daemon/ctl/template_layer.h"
#include "daemon/ctl/template_step.h"
#include "daemon/ctl/template_vm.h"
#include "daemon/host/host.h"
#include "daemon/host/snapshot.h"
#include "daemon/store/ids.h"

#define VM_RETRY_MS 2000                /* the host is full: try the VM again */

static void step_vm(struct tpl_build *b);

void tpl_attempt_vm_drop(struct tpl_build *b, bool now)
{
    if (b->run) {
        tpl_step_abandon(b->run);
        b->run = NULL;
    }
    if (b->op) {
        b->op->b = NULL; /* its callback cleans up */
        b->op = NULL;
    }
    if (b->vm[0] && b->c->host) {
        if (now)
            host_vm_discard(b->c->host, b->vm);
        else
            host_vm_destroy(b->c->host, b->vm, NULL, NULL);
        ctl_tpl_builder_net_done(b->c, b->vm);
    }
    b->vm[0] = 0;
}

/* ---- VM operations ---- */

static struct tpl_op *op_new(struct tpl_build *b)
{
    struct tpl_op *op = calloc(1, sizeof(*op));
    if (op) {
        op->b = b;
        op->c = b->c;
        snprintf(op->vm, sizeof(op->vm), "%s", b->vm);
        b->op = op;
    }
    return op;
}

static void on_paused(void *ud, const char *id, const struct host_result *res)
{
    struct tpl_op *op = ud;
    struct tpl_build *b = op->b;
    if (!b) {
        snapshot_remove(op->dir);
        if (res->err != HOST_OK && res->err != HOST_E_CANCELED)
            host_vm_destroy(op->c->host, id, NULL, NULL);
        free(op);
        return;
    }
    b->op = NULL;
    if (res->err != HOST_OK) {
        snapshot_remove(op->dir);
        free(op);
        if (res->err != HOST_E_GONE && res->err != HOST_E_CANCELED)
            host_vm_destroy(b->c->host, b->vm, NULL, NULL);
        ctl_tpl_builder_net_done(b->c, b->vm);
        b->vm[0] = 0;
        tpl_attempt_lost(b, res->msg[0] ? res->msg : "pause failed");
        return;
    }
    ctl_tpl_builder_net_done(b->c, b->vm);
    b->vm[0] = 0; /* QEMU quit: the VM is forgotten */
    struct tpl_layer_meta m = { .created_at = timefmt_now_ms(), .fs_mib = TPL_FS_MIB,
                                .text = b->text };
    snprintf(m.key, sizeof(m.key), "%s", b->key);
    snprintf(m.parent, sizeof(m.parent), "%s", b->parent);
    snprintf(m.user_id, sizeof(m.user_id), "%s", b->user_id);
    snprintf(m.workdir, sizeof(m.workdir), "%s", b->workdir);
    snprintf(m.user, sizeof(m.user), "%s", b->user);
    char **env = calloc(b->env.n + 1, sizeof(*env));
    for (size_t i = 0; env && i < b->env.n; i++)
        if (asprintf(&env[i], "%s=%s", b->env.v[i].key,
                     b->env.v[i].value ? b->env.v[i].value : "") < 0)
            env[i] = NULL;
    m.env = env;
    m.shell = b->shell;
    m.cmd = b->cmd;
    m.entrypoint = b->entrypoint;
    m.used_bytes = b->final_done ? b->used_bytes : 0;
    char dir[PATH_MAX];
    int rc = ctl_tpl_layer_dir(b->c, b->key, dir);
    if (rc == 0)
        rc = tpl_layer_meta_write(op->dir, &m);
    tpl_strv_free(env);
    if (rc == 0 && rename(op->dir, dir) < 0)
        rc = errno == ENOTEMPTY || errno == EEXIST ? 1 : -errno; /* made meanwhile */
    if (rc == 1)
        snapshot_remove(op->dir);
    free(op);
    if (rc < 0) {
        tpl_attempt_lost(b, "cannot keep the layer");
        return;
    }
    if (rc == 0) {
        json_array_append_new(b->made, json_string(b->key));
        snprintf(b->snap, sizeof(b->snap), "%s", b->key);
    }
    json_array_append_new(b->chain, json_string(b->key));
    snprintf(b->parent, sizeof(b->parent), "%s", b->key);
    b->on_base = false;
    b->key[0] = 0;
    tpl_attempt_advance(b);
}

static void on_step_done(void *ud, int err, int status, const char *out, const char *msg)
{
    struct tpl_build *b = ud;
    b->run = NULL;
    if (err < 0) {
        tpl_attempt_lost(b, msg[0] ? msg : "the build VM failed");
        return;
    }
    if (status != 0) {
        if (b->final_done)
            tpl_attempt_failed(b, "the final layer exited with status %d", status);
        else
            tpl_attempt_failed(b, "step %zu (line %u: %s) exited with status %d", b->step + 1, b->line,
                       b->text, status);
        return;
    }
    if (b->req.capture)
        b->used_bytes = strtoll(out, NULL, 10);
    char dir[PATH_MAX];
    struct tpl_op *op = op_new(b);
    if (!op || ctl_tpl_layer_dir(b->c, b->key, dir) < 0 ||
        (size_t)snprintf(op->dir, sizeof(op->dir), "%s.tmp", dir) >= sizeof(op->dir)) {
        tpl_attempt_lost(b, "out of memory");
        return;
    }
    snapshot_remove(op->dir);
    host_vm_pause(b->c->host, b->vm, op->dir, on_paused, op);
}

static void on_vm_up(void *ud, const char *id, const struct host_result *res)
{
    struct tpl_op *op = ud;
    struct tpl_build *b = op->b;
    free(op);
    (void)id;
    if (!b)
        return; /* the build went first: vm_drop destroyed the VM (a pending create ends
                   CANCELED) */
    b->op = NULL;
    if (res->err != HOST_OK) {
        ctl_tpl_builder_net_done(b->c, b->vm);
        b->vm[0] = 0;
        tpl_attempt_lost(b, res->msg[0] ? res->msg : "the build VM did not start");
        return;
    }
    int rc = tpl_step_start(b->c, b->vm, &b->req, b->log, on_step_done, b, &b->run);
    if (rc < 0)
        tpl_attempt_lost(b, "cannot run the step in the build VM");
}

static void on_retry(evutil_socket_t fd, short what, void *ud)
{
    (void)fd;
    (void)what;
    step_vm(ud);
}

/* Starts the VM of step b->key: a restore of the snapshot this attempt made of the parent,
 * else a cold boot of the parent's disk (or the base image). */
static void step_vm(struct tpl_build *b)
{
    struct ctl *c = b->c;
    struct ctl_error e = { 0 };
    if (ctl_quota_host_vm(c, &e) < 0) {
        struct timeval tv = { VM_RETRY_MS / 1000, (VM_RETRY_MS % 1000) * 1000 };
        if (!b->retry)
            b->retry = evtimer_new(c->base, on_retry, b);
        if (b->retry)
            evtimer_add(b->retry, &tv);
        return;
    }
    if (ids_new_sandbox(b->vm) < 0) {
        tpl_attempt_lost(b, "no VM id");
        return;
    }
    char snapdir[PATH_MAX], disk[PATH_MAX];
    struct host_vm_spec spec = { .id = b->vm, .vcpus = c->set.template_build_vcpus,
                                 .memory_mib = c->set.template_build_mem_mib,
                                 .extra_append = "hearth.hostname=sandbox" };
    if (!spec.vcpus)
        spec.vcpus = 1;
    if (!spec.memory_mib)
        spec.memory_mib = 1024;
    bool restore = !b->on_base && b->snap[0] && strcmp(b->snap, b->parent) == 0 &&
                   ctl_tpl_layer_dir(c, b->snap, snapdir) == 0 &&
                   snapshot_is_complete(snapdir);
    if (restore) {
        spec.snapshot = snapdir;
        spec.snapshot_consume = false;
    } else if (b->on_base) {
        spec.rootfs = b->base_image;
    } else if (ctl_tpl_layer_disk(c, b->parent, disk) == 0) {
        spec.rootfs = disk;
    }
    struct ctl_net_vm nv;
    memset(&nv, 0, sizeof(nv));
    int rc = ctl_tpl_builder_net(c, b->vm, &nv);
    if (rc == 0)
        ctl_net_vm_spec(&nv, &spec);
    struct tpl_op *op = op_new(b);
    if (!op) {
        if (rc == 0)
            ctl_net_vm_release(&nv);
        tpl_attempt_lost(b, "out of memory");
        return;
    }
    host_vm_create(c->host, &spec, on_vm_up, op);
    if (rc == 0)
        ctl_net_vm_release(&nv);
}

/* ---- the steps ---- */

static char **env_list(const struct tpl_vars *env, const struct tpl_vars *args)
{
    size_t n = env->n + args->n;
    char **v = calloc(n + 1, sizeof(*v));
    size_t k = 0;
    /* ARG values are in RUN's environment (as Docker does), ENV wins over them */
    for (size_t i = 0; v && i < args->n; i++)
        if (args->v[i].value && !tpl_vars_get(env, args->v[i].key) &&
            asprintf(&v[k], "%s=%s", args->v[i].key, args->v[i].value) >= 0)
            k++;
    for (size_t i = 0; v && i < env->n; i++)
        if (asprintf(&v[k], "%s=%s", env->v[i].key, env->v[i].value ? env->v[i].value : "") >= 0)
            k++;
    return v;
}

static void strv_append_json(json_t *a, char *const *v)
{
    for (size_t i = 0; v && v[i]; i++)
        json_array_append_new(a, json_string(v[i]));
}

/* What a RUN's result depends on beyond its text: the environment, WORKDIR, USER, SHELL. */
static char *run_inputs(struct tpl_build *b, char *const *env)
{
    json_t *o = json_pack("{s:[],s:s,s:s,s:[]}", "env", "workdir", b->workdir, "user", b->user,
                          "shell");
    if (!o)
        return NULL;
    strv_append_json(json_object_get(o, "env"), env);
    strv_append_json(json_object_get(o, "shell"), b->shell);
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

static char **argv_of(const struct tpl_step *st)
{
    char **v = calloc(st->argc + 1, sizeof(*v));
    for (size_t i = 0; v && i < st->argc; i++)
        if (!(v[i] = strdup(st->argv[i]))) {
            tpl_strv_free(v);
            return NULL;
        }
    return v;
}

/* Updates the build state for a step that needs no VM. */
static int apply_setting(struct tpl_build *b, const struct tpl_step *st)
{
    int rc = 0;
    switch (st->kind) {
    case TPL_ENV:
    case TPL_ARG:
        for (size_t i = 0; i < st->n_kv && rc == 0; i++) {
            struct tpl_vars all = { 0 };
            for (size_t j = 0; j < b->args.n && rc == 0; j++)
                rc = tpl_vars_set(&all, b->args.v[j].key, b->args.v[j].value ? b->args.v[j].value : "");
            for (size_t j = 0; j < b->env.n && rc == 0; j++)
                rc = tpl_vars_set(&all, b->env.v[j].key, b->env.v[j].value);
            const char *raw = st->kv[i].value;
            if (st->kind == TPL_ARG && !raw) {
                tpl_vars_free(&all);
                continue; /* no build arguments: an ARG without a default has no value */
            }
            char *val = raw ? tpl_expand(raw, &all) : NULL;
            tpl_vars_free(&all);
            if (raw && !val)
                return -EINVAL;
            rc = tpl_vars_set(st->kind == TPL_ENV ? &b->env : &b->args, st->kv[i].key, val);
            free(val);
        }
        return rc;
    case TPL_WORKDIR:
    case TPL_USER: {
        struct tpl_vars all = { 0 };
        for (size_t j = 0; j < b->args.n; j++)
            (void)tpl_vars_set(&all, b->args.v[j].key, b->args.v[j].value ? b->args.v[j].value : "");
        for (size_t j = 0; j < b->env.n; j++)
            (void)tpl_vars_set(&all, b->env.v[j].key, b->env.v[j].value);
        char *v = st->argc ? tpl_expand(st->argv[0], &all) : strdup("");
        tpl_vars_free(&all);
        if (!v)
            return -EINVAL;
        if (st->kind == TPL_USER) {
            snprintf(b->user, sizeof(b->user), "%s", strcmp(v, "root") == 0 ? "" : v);
        } else if (v[0] == '/') {
            snprintf(b->workdir, sizeof(b->workdir), "%s", v);
        } else { /* relative to the previous WORKDIR */
            char w[sizeof(b->workdir)];
            if ((size_t)snprintf(w, sizeof(w), "%s/%s", b->workdir, v) >= sizeof(w)) {
                free(v);
                return -ENAMETOOLONG;
            }
            snprintf(b->workdir, sizeof(b->workdir), "%s", w);
        }
        free(v);
        return 0;
    }
    case TPL_SHELL:
        tpl_strv_free(b->shell);
        b->shell = argv_of(st);
        return b->shell ? 0 : -ENOMEM;
    case TPL_CMD:
    case TPL_ENTRYPOINT: {
        char **v;
        if (st->json) {
            v = argv_of(st);
        } else { /* shell form: the shell runs it */
            v = calloc(4, sizeof(*v));
            if (v) {
                v[0] = strdup(b->shell ? b->shell[0] : "/bin/sh");
                v[1] = strdup(b->shell && b->shell[1] ? b->shell[1] : "-c");
                v[2] = strdup(st->argc ? st->argv[0] : "");
            }
        }
        char ***slot = st->kind == TPL_CMD ? &b->cmd : &b->entrypoint;
        tpl_strv_free(*slot);
        *slot = v;
        return 0;
    }
    default:
        return 0; /* LABEL, EXPOSE, VOLUME, …: recorded in the Dockerfile only */
    }
}

/* Prepares b->req for the RUN/COPY/ADD step st (or the final layer when st is NULL) and its
 * key. 0 or -errno. */
static int prepare(struct tpl_build *b, const struct tpl_step *st)
{
    tpl_strv_free(b->argv);
    tpl_strv_free(b->envv);
    b->argv = NULL;
    b->envv = env_list(&b->env, &b->args);
    memset(&b->req, 0, sizeof(b->req));
    char *inputs = NULL;
    if (!st) {
        char **runtime = env_list(&b->env, &(struct tpl_vars){ 0 });
        b->argv = tpl_step_final_argv(runtime, b->workdir);
        inputs = run_inputs(b, runtime);
        tpl_strv_free(runtime);
        b->req.capture = true;
        snprintf(b->text, sizeof(b->text), "%s", "");
    } else if (st->kind == TPL_RUN) {
        char **cmd = NULL;
        if (st->json) {
            cmd = argv_of(st);
        } else {
            size_t n = tpl_strv_len(b->shell);
            cmd = calloc(n + 2, sizeof(*cmd));
            for (size_t i = 0; cmd && i < n; i++)
                cmd[i] = strdup(b->shell[i]);
            if (cmd)
                cmd[n] = strdup(st->argc ? st->argv[0] : "");
        }
        b->argv = tpl_step_run_argv(cmd, b->workdir, b->user);
        tpl_strv_free(cmd);
        inputs = run_inputs(b, b->envv);
    } else { /* COPY, ADD: sources and destination are expanded like Docker does */
        struct tpl_vars all = { 0 };
        for (size_t j = 0; j < b->args.n; j++)
            (void)tpl_vars_set(&all, b->args.v[j].key, b->args.v[j].value ? b->args.v[j].value : "");
        for (size_t j = 0; j < b->env.n; j++)
            (void)tpl_vars_set(&all, b->env.v[j].key, b->env.v[j].value);
        char **ex = calloc(st->argc + 1, sizeof(*ex));
        for (size_t i = 0; ex && i < st->argc; i++)
            ex[i] = tpl_expand(st->argv[i], &all);
        char *chown = st->chown ? tpl_expand(st->chown, &all) : NULL;
        tpl_vars_free(&all);
        bool ok = ex != NULL;
        for (size_t i = 0; ok && i < st->argc; i++)
            ok = ex[i] != NULL;
        if (ok)
            b->argv = tpl_step_copy_argv(ex, st->argc - 1, ex[st->argc - 1], b->workdir, chown,
                                         st->chmod, st->kind == TPL_ADD);
        tpl_strv_free(ex);
        free(chown);
        b->req.upload = b->ctx;
        /* the context's bytes are in the key through its digest (its file name) */
        const char *slash = strrchr(b->ctx, '/');
        if (asprintf(&inputs, "ctx=%s|workdir=%s", slash ? slash + 1 : b->ctx, b->workdir) < 0)
            inputs = NULL;
        snprintf(b->text, sizeof(b->text), "%s", st->text);
    }
    if (st && st->kind == TPL_RUN)
        snprintf(b->text, sizeof(b->text), "%s", st->text);
    b->req.argv = b->argv;
    b->req.env = st ? b->envv : NULL;
    if (!b->argv || !inputs) {
        free(inputs);
        return -ENOMEM;
    }
    tpl_layer_key(b->user_id, b->parent, st ? st->text : "#final", inputs, b->key);
    free(inputs);
    return 0;
}

/* A cache hit: the layer exists and is complete. */
static bool cached(struct tpl_build *b)
{
    char disk[PATH_MAX], dir[PATH_MAX];
    if (b->no_cache || ctl_tpl_layer_disk(b->c, b->key, disk) < 0 ||
        ctl_tpl_layer_dir(b->c, b->key, dir) < 0 || access(disk, R_OK) < 0)
        return false;
    struct tpl_layer_meta m;
    if (tpl_layer_meta_read(dir, &m) < 0)
        return false;
    tpl_layer_meta_release(&m);
    return true;
}

static void use_cache(struct tpl_build *b)
{
    ctl_tpl_log_line(b->log, false, " ---> Using cache");
    ctl_tpl_log_line(b->log, false, " ---> %.12s", b->key);
    json_array_append_new(b->chain, json_string(b->key));
    snprintf(b->parent, sizeof(b->parent), "%s", b->key);
    b->on_base = false;
    b->key[0] = 0;
}

static size_t steps_total(const struct tpl_build *b)
{
    return b->df.n_steps + 1; /* FROM is step 1 */
}

/* Runs the steps from b->step until one needs a VM (or the build ends). */
void tpl_attempt_advance(struct tpl_build *b)
{
    while (b->step < b->df.n_steps) {
        const struct tpl_step *st = &b->df.steps[b->step];
        b->line = st->line;
        ctl_tpl_log_line(b->log, false, "Step %zu/%zu : %s", b->step + 2, steps_total(b),
                         st->text);
        if (st->kind != TPL_RUN && st->kind != TPL_COPY && st->kind != TPL_ADD) {
            if (apply_setting(b, st) < 0) {
                tpl_attempt_failed(b, "step %zu (line %u: %s): cannot expand its variables",
                           b->step + 2, st->line, st->text);
                return;
            }
            b->step++;
            continue;
        }
        if (prepare(b, st) < 0) {
            tpl_attempt_failed(b, "step %zu (line %u: %s): cannot prepare it", b->step + 2, st->line,
                       st->text);
            return;
        }
        b->step++;
        if (cached(b)) {
            use_cache(b);
            continue;
        }
        ctl_tpl_log_flush(b->log);
        step_vm(b);
        return;
    }
    if (!b->final_done) {
        /* the runtime settings layer: /etc/environment and WORKDIR (docs/templates.md) */
        b->final_done = true;
        if (prepare(b, NULL) < 0) {
            tpl_attempt_failed(b, "cannot prepare the final layer");
            return;
        }
        if (cached(b)) {
            char dir[PATH_MAX];
            struct tpl_layer_meta m;
            if (ctl_tpl_layer_dir(b->c, b->key, dir) == 0 && tpl_layer_meta_read(dir, &m) == 0) {
                b->used_bytes = m.used_bytes;
                tpl_layer_meta_release(&m);
            }
            use_cache(b);
        } else {
            ctl_tpl_log_line(b->log, false, "Writing the runtime settings");
            ctl_tpl_log_flush(b->log);
            step_vm(b);
            return;
        }
    }
    tpl_attempt_finish(b);
}

