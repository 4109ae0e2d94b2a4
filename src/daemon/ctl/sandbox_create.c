/* SPDX-License-Identifier: MIT */
/* sandbox_create.c: creating a sandbox (sandbox_ops.h, docs/api.md §3.2.1): every 503/403
 * check before anything is stored (§1.11), then the row (creating, intent running: reconcile
 * fails it if hearthd dies), its networks, and the VM: a golden snapshot's restore (golden.h)
 * or a cold boot of the image catalog.h picks, then the guest's SSH keys and file system size.
 * A golden snapshot that fails to restore falls back to a cold boot of the same spec. A
 * template (docs/templates.md) boots its top layer, or restores its own golden snapshot, and
 * a cold boot runs its start command and ready check before the sandbox is running. */
#include "daemon/ctl/sandbox_ops.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/crashpt.h"
#include "common/mono.h"
#include "common/timefmt.h"
#include "common/timeline.h"
#include "daemon/ctl/catalog.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/disk_mount.h"
#include "daemon/ctl/events.h"
#include "daemon/ctl/hosts.h"
#include "daemon/ctl/golden.h"
#include "daemon/ctl/guest.h"
#include "daemon/ctl/idle.h"
#include "daemon/ctl/netplane.h"
#include "daemon/ctl/network_ops.h"
#include "daemon/ctl/pool.h"
#include "daemon/ctl/pool_take.h"
#include "daemon/ctl/quota.h"
#include "daemon/ctl/sandbox_row.h"
#include "daemon/ctl/space.h"
#include "daemon/ctl/template.h"
#include "daemon/ctl/template_vm.h"
#include "daemon/ctl/usage.h"
#include "daemon/host/host.h"
#include "daemon/log.h"
#include "daemon/store/ids.h"
#include "daemon/store/store.h"

/* §2.14.5: the whole create gives up after 45 s; the boot gets most of it, the identity step
 * the rest. */
#define CREATE_BOOT_MS 38000
#define CREATE_IDENTITY_MS 6000
/* resize2fs of a fresh image to the sandbox's disk: ~0.3 s for 1 -> 10 GiB under TCG (see
 * docs/images.md); the bound is for the 256 GiB maximum on a slow host */
#define CREATE_GROW_MS 30000

struct create_op {
    struct ctl *ctx;
    ctl_sandbox_done_fn done;
    void *ud;
    char req_id[160];
    char id[STORE_ID_SIZE];
    char hostname[STORE_NAME_SIZE];
    struct store_strv keys;           /* owned canonical SSH keys to install */
    bool grow;                        /* the disk is larger than the image: resize2fs */
    int64_t boot_start_us;            /* monotonic, when the host was asked to boot */
    /* the boot: from a golden snapshot (golden[0]) or cold; a failed golden restore falls
     * back to a cold boot of the same spec */
    char golden[PATH_MAX];
    char image[PATH_MAX];
    char append[96];
    unsigned vcpus, mem_mib;
    uint64_t disk_mib;
    uint32_t cpu_quota_pct;
    struct ctl_tpl_image *tpl;        /* owned; NULL: a catalog image */
    struct timeline tl;               /* the steps (docs/performance.md "Where the time goes") */
    bool pooled;                      /* the VM is a warm pool's (pool.h) */
    bool pool_counted;                /* ctl_pool_take() counted this create (hit or miss) */
};

static void create_op_free(struct create_op *w)
{
    store_strv_free(&w->keys);
    if (w->tpl) {
        ctl_tpl_image_release(w->tpl);
        free(w->tpl);
    }
    free(w);
}

static void create_end(struct create_op *w, const struct ctl_error *e,
                       const struct store_sandbox *sb)
{
    struct ctl *ctx = w->ctx;
    bool counted = w->pool_counted;
    w->done(w->ud, e, w->id, sb);
    create_op_free(w);
    if (counted) /* answered: the pools may refill now */
        ctl_pool_create_ended(ctx);
}

static void create_deleted(struct create_op *w)
{
    struct ctl_error e;
    (void)ctl_error_set(&e, CTL_E_INVALID_STATE, NULL, "destroying",
                        "sandbox was deleted while creating");
    create_end(w, &e, NULL);
}

/* Records failed (unless deleted meanwhile), tears down what the host may still run, reports
 * and frees w. */
static void create_fail(struct create_op *w, const char *msg, bool vm_left)
{
    struct ctl *ctx = w->ctx;
    struct store_transition t = { .from = STORE_CREATING, .to = STORE_FAILED,
                                  .intent = STORE_STATE_NONE, .now_ms = timefmt_now_ms() };
    ctl_event_timeline(ctx, w->id, CTL_USAGE_OP_CREATE, &w->tl);
    int r = store_sandbox_transition(ctx->store, w->id, &t, NULL);
    if (r == 0)
        ctl_event_settled(ctx, w->id, STORE_CREATING, STORE_FAILED, t.now_ms, msg);
    log_error(w->req_id, "sandbox create failed", "{s:s,s:s}", "sandbox", w->id, "err", msg);
    if (r == 0 && vm_left)
        ctl_sandbox_destroy_vm(ctx, w->id, w->req_id);
    else
        ctl_net_vm_stopped(ctx, w->id, false);
    if (r == -ESTALE) { /* deleted while creating */
        create_deleted(w);
        return;
    }
    struct ctl_error e;
    (void)ctl_error_set(&e, CTL_E_BOOT_FAILED, NULL, NULL, "%s", msg);
    create_end(w, &e, NULL);
}

static void create_succeed(struct create_op *w)
{
    struct ctl *ctx = w->ctx;
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    crashpt("create-before-running"); /* identity set, the row still creating */
    struct store_transition t = { .from = STORE_CREATING, .to = STORE_RUNNING,
                                  .intent = STORE_STATE_NONE, .now_ms = timefmt_now_ms() };
    ctl_event_timeline(ctx, w->id, CTL_USAGE_OP_CREATE, &w->tl);
    int r = store_sandbox_transition(ctx->store, w->id, &t, &sb);
    if (r == 0)
        ctl_event_settled(ctx, w->id, STORE_CREATING, STORE_RUNNING, t.now_ms, NULL);
    if (r == -ESTALE) {
        store_sandbox_release(&sb);
        create_deleted(w);
        return;
    }
    if (r < 0) {
        store_sandbox_release(&sb);
        create_fail(w, "cannot record the running sandbox", true);
        return;
    }
    log_info(w->req_id, "sandbox running", "{s:s,s:f}", "sandbox", w->id, "spawn_ms",
             sb.spawn_ms);
    ctl_idle_touch(ctx, w->id);
    /* disks[]: mounting starts now; create does not wait for it (docs/api.md §3.2.1) */
    ctl_disk_mounts_start(ctx, w->id);
    /* A cold boot that worked: the first of its kind makes the golden snapshot the next
     * creates restore (docs/snapshots.md "Golden snapshots") */
    if (!w->golden[0] && w->tpl)
        ctl_tpl_golden_build(ctx, w->tpl, w->vcpus, w->mem_mib, w->disk_mib, w->cpu_quota_pct,
                             NULL, NULL);
    else if (!w->golden[0])
        ctl_golden_build(ctx, w->image, w->vcpus, w->mem_mib, w->disk_mib, w->cpu_quota_pct,
                         w->grow);
    struct ctl_error ok = { .code = CTL_OK };
    create_end(w, &ok, &sb);
    store_sandbox_release(&sb);
}

/* "cannot …: <msg> (error|exit status N)" for a guest chore that failed. */
static void chore_why(char *out, size_t len, const char *what, int err, int status,
                      const char *msg)
{
    snprintf(out, len, "%s: %s (%s %d)", what, msg, err < 0 ? "error" : "exit status",
             err < 0 ? err : status);
}

static void on_tpl_started(void *ud, int err, const char *msg)
{
    struct create_op *w = ud;
    if (err < 0) {
        create_fail(w, msg, true);
        return;
    }
    create_succeed(w);
}

/* The guest is set up: a template's cold boot still runs its start command and waits for its
 * ready check (a golden restore has them running already), then the sandbox runs. */
static void create_ready(struct create_op *w)
{
    timeline_mark(&w->tl, "identity");
    if (w->tpl && !w->golden[0]) {
        ctl_tpl_vm_start(w->ctx, w->id, w->tpl, on_tpl_started, w);
        return;
    }
    create_succeed(w);
}

static void on_grown(void *ud, int err, int status, const char *msg)
{
    struct create_op *w = ud;
    if (err < 0 || status != 0) {
        char why[400];
        chore_why(why, sizeof(why), "cannot grow the guest's root file system", err, status,
                  msg);
        create_fail(w, why, true);
        return;
    }
    create_ready(w);
}

static void on_identity(void *ud, int err, int status, const char *msg)
{
    struct create_op *w = ud;
    if (err < 0 || status != 0) {
        char why[400];
        chore_why(why, sizeof(why), "cannot set the guest's identity", err, status, msg);
        create_fail(w, why, true);
        return;
    }
    if (!w->grow) {
        create_ready(w);
        return;
    }
    /* the image's file system is smaller than the disk: df must show the disk asked for */
    struct ctl *ctx = w->ctx;
    if (guest_run(ctx->host, ctx->base, w->id, guest_grow_root_argv(), CREATE_GROW_MS, on_grown,
                  w) < 0)
        create_fail(w, "cannot reach the guest agent to grow the root file system", true);
}

static void create_boot(struct create_op *w);
static bool create_record(struct create_op *w);

static void on_host_created(void *ud, const char *id, const struct host_result *res)
{
    struct create_op *w = ud;
    struct ctl *ctx = w->ctx;
    if (res->err != HOST_OK && w->golden[0] &&
        (res->err == HOST_E_INVALID || res->err == HOST_E_NOT_FOUND ||
         res->err == HOST_E_QEMU)) {
        /* a golden snapshot that failed to restore: this create boots cold; one this host
         * can never restore (damaged, mismatched) is discarded, a QEMU that failed this once
         * is not held against it */
        log_warn(w->req_id, "golden restore failed; booting cold", "{s:s,s:s,s:s}", "sandbox",
                 w->id, "golden", w->golden, "err", res->msg);
        if (res->err == HOST_E_INVALID)
            ctl_golden_discard(ctx, w->golden);
        w->golden[0] = '\0';
        create_boot(w);
        return;
    }
    if (res->err != HOST_OK) {
        create_fail(w, res->msg[0] ? res->msg : host_err_to_string(res->err), false);
        return;
    }
    timeline_append(&w->tl, &res->tl);
    /* the VM part of spawn_ms, so an operator can tell a slow boot from slow bookkeeping */
    double boot_ms = (double)(mono_now_us() - w->boot_start_us) / 1e3;
    log_info(w->req_id, "sandbox vm ready", "{s:s,s:f}", "sandbox", w->id, "boot_ms", boot_ms);
    crashpt("create-vm-ready"); /* the VM runs, the row is creating without its pid */
    if (!create_record(w))
        return;
    timeline_mark(&w->tl, "record");
    /* The hostname came with the kernel command line (hearth.hostname=, set by the agent at
     * boot) or, after a golden restore, with the agent's HELLO; only SSH keys need a command
     * in the guest. */
    if (w->keys.n == 0) {
        on_identity(w, 0, 0, "");
        return;
    }
    const char **argv = guest_identity_argv(w->hostname, (const char *const *)w->keys.v,
                                            w->keys.n);
    int r = argv ? guest_run(ctx->host, ctx->base, w->id, argv, CREATE_IDENTITY_MS, on_identity,
                             w)
                 : -ENOMEM;
    free(argv);
    if (r < 0)
        create_fail(w, "cannot reach the guest agent after boot", true);
}

/* Records the sandbox's running VM on its row (host, run dir, pid, the golden base). false:
 * the create ended (deleted meanwhile, or failed). */
static bool create_record(struct create_op *w)
{
    struct ctl *ctx = w->ctx;
    char run_dir[PATH_MAX];
    if (host_vm_run_dir(ctx->host, w->id, run_dir, sizeof(run_dir)) < 0)
        run_dir[0] = '\0';
    struct store_sandbox_patch p = { .fields = STORE_PATCH_HOST | STORE_PATCH_SNAPSHOT,
                                     .allowed_states = STORE_STATE_BIT(STORE_CREATING),
                                     .base_dir = w->golden,
                                     .host_id = ctx->set.host_id,
                                     .run_dir = run_dir[0] ? run_dir : NULL,
                                     .qemu_pid = (int32_t)host_vm_pid(ctx->host, w->id),
                                     .now_ms = timefmt_now_ms() };
    int r = store_sandbox_update(ctx->store, NULL, w->id, &p);
    if (r == -ESTALE) {
        /* deleted meanwhile: the delete's destroy takes the VM down */
        create_deleted(w);
        return false;
    }
    if (r < 0) {
        create_fail(w, "cannot record the sandbox's vm", true);
        return false;
    }
    return true;
}

/* The pooled VM that failed its take is gone: this create takes today's path, same id. */
static void on_pool_vm_gone(void *ud, const char *id, const struct host_result *res)
{
    (void)id;
    (void)res;
    create_boot(ud);
}

static void on_pool_applied(void *ud, int err, const char *msg)
{
    struct create_op *w = ud;
    if (err < 0) {
        /* a pooled VM whose QEMU died before the host noticed (or whose guest failed the
         * identity): it is never the sandbox's; its tap stays held for the next VM */
        log_warn(w->req_id, "pooled vm failed its take; restoring the golden snapshot",
                 "{s:s,s:s}", "sandbox", w->id, "err", msg);
        w->pooled = false;
        host_vm_destroy(w->ctx->host, w->id, on_pool_vm_gone, w);
        return;
    }
    create_ready(w); /* a golden VM: its file system fills the disk, the sandbox runs */
}

/* A warm pool's VM is already this sandbox's (same id): record it, then give it the
 * sandbox's network, hostname and keys (pool_take.h). */
static void create_take(struct create_op *w)
{
    if (!create_record(w))
        return;
    timeline_mark(&w->tl, "record");
    ctl_pool_apply(w->ctx, w->id, &w->tl, w->hostname, (const char *const *)w->keys.v,
                   w->keys.n, on_pool_applied, w);
}

/* Asks the host for the VM: a restore of the golden snapshot when there is one, else a
 * cold boot. */
static void create_boot(struct create_op *w)
{
    struct ctl *ctx = w->ctx;
    if (w->pooled) {
        create_take(w);
        return;
    }
    struct host_vm_spec spec = { .id = w->id, .rootfs = w->image, .vcpus = w->vcpus,
                                 .memory_mib = w->mem_mib, .disk_mib = w->disk_mib,
                                 .cpu_quota_pct = w->cpu_quota_pct, .extra_append = w->append,
                                 .boot_timeout_ms = CREATE_BOOT_MS, .hostname = w->hostname };
    if (w->golden[0]) {
        spec.snapshot = w->golden;
        spec.snapshot_consume = false;
    }
    struct ctl_net_vm nv;
    if (ctl_net_vm_prepare(ctx, w->id, &nv) < 0) {
        create_fail(w, "cannot set up the sandbox's network", false);
        return;
    }
    ctl_net_vm_spec(&nv, &spec);
    timeline_mark(&w->tl, "net");
    w->boot_start_us = mono_now_us();
    crashpt("create-after-tap"); /* row creating, tap made, no VM yet */
    host_vm_create(ctx->host, &spec, on_host_created, w);
    ctl_net_vm_release(&nv);
}

/* The typed checks of a request any front end may have skipped. */
static int create_check(struct ctl *ctx, const struct ctl_create_req *cr, struct ctl_error *e)
{
    if (!cr->shape)
        return ctl_error_set(e, CTL_E_UNKNOWN_REF, "shape", NULL, "unknown shape");
    if (!cr->rootfs && !cr->template_ref)
        return ctl_error_set(e, CTL_E_UNKNOWN_REF, "rootfs", NULL, "unknown rootfs");
    if (cr->name && !ctl_sandbox_name_valid(cr->name, strlen(cr->name)))
        return ctl_error_set(e, CTL_E_INVALID, "name", NULL,
                             "must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$");
    if (cr->disk_mib < 0)
        return ctl_error_set(e, CTL_E_INVALID, "disk_mib", NULL, "must not be negative");
    if (cr->auto_pause_after_seconds && !ctl_auto_pause_valid(cr->auto_pause_after_seconds))
        return ctl_error_set(e, CTL_E_INVALID, "auto_pause_after_seconds", NULL,
                             "must be from %d to %d", CTL_AUTO_PAUSE_MIN, CTL_AUTO_PAUSE_MAX);
    if (cr->n_networks > CTL_MAX_NETWORKS || cr->n_envs > CTL_MAX_ENVS ||
        cr->n_egress > CTL_MAX_EGRESS || cr->n_ssh > STORE_MAX_SSH_KEYS)
        return ctl_error_set(e, CTL_E_INVALID, "body", NULL, "too many entries");
    return 0;
}

/* Resolves the request's network refs (duplicates dropped) into nets. */
static int create_networks(struct ctl *ctx, const struct ctl_caller *who,
                           const struct ctl_create_req *cr, struct store_network *nets,
                           size_t *ret_n, struct ctl_error *e)
{
    size_t n_nets = 0;
    for (size_t i = 0; i < cr->n_networks; i++) {
        struct store_network nw;
        int r = ctl_network_resolve(ctx, who->user_id, cr->networks[i], &nw);
        if (r == 0 && nw.deleted_at)
            r = -ENOENT;
        if (r == -ENOENT) {
            char f[40];
            snprintf(f, sizeof(f), "networks[%zu].id", i);
            return ctl_error_set(e, CTL_E_UNKNOWN_REF, f, NULL, "unknown network: %.100s",
                                 cr->networks[i]);
        }
        if (r < 0)
            return ctl_error_internal(e, "read network", r);
        bool dup = false;
        for (size_t k = 0; k < n_nets && !dup; k++)
            dup = strcmp(nets[k].id, nw.id) == 0;
        if (!dup)
            nets[n_nets++] = nw;
    }
    *ret_n = n_nets;
    return 0;
}

/* The sandbox's env vars: a template's ENV (docs/templates.md: every exec sees it, as in a
 * container) under the request's own, which win. An array in *ret with the keys it copied in
 * *ret_keys (NULL-terminated; free both with envs_free), or NULL for cr's own. */
static void envs_free(struct store_env *v, char **keys)
{
    for (size_t i = 0; keys && keys[i]; i++)
        free(keys[i]);
    free(keys);
    free(v);
}

static int create_envs(const struct ctl_create_req *cr, const struct ctl_tpl_image *t,
                       struct store_env **ret, char ***ret_keys, size_t *ret_n)
{
    *ret = NULL;
    *ret_keys = NULL;
    *ret_n = cr->n_envs;
    size_t nt = 0;
    while (t && t->env && t->env[nt])
        nt++;
    if (nt == 0)
        return 0;
    struct store_env *v = calloc(nt + cr->n_envs, sizeof(*v));
    char **keys = calloc(nt + 1, sizeof(*keys));
    if (!v || !keys) {
        envs_free(v, keys);
        return -ENOMEM;
    }
    size_t n = 0;
    for (size_t i = 0; i < nt; i++) {
        const char *eq = strchr(t->env[i], '=');
        size_t kl = (size_t)(eq - t->env[i]);
        bool mine = false;
        for (size_t k = 0; k < cr->n_envs && !mine; k++)
            mine = strlen(cr->envs[k].key) == kl && strncmp(cr->envs[k].key, t->env[i], kl) == 0;
        for (size_t k = 0; k < n && !mine; k++) /* a repeated key: the later ENV wins */
            if (strlen(v[k].key) == kl && strncmp(v[k].key, t->env[i], kl) == 0) {
                v[k].value = eq + 1;
                v[k].value_len = strlen(eq + 1);
                mine = true;
            }
        if (mine)
            continue;
        if (!(keys[n] = strndup(t->env[i], kl))) {
            envs_free(v, keys);
            return -ENOMEM;
        }
        v[n] = (struct store_env){ .key = keys[n], .value = eq + 1,
                                   .value_len = strlen(eq + 1) };
        n++;
    }
    for (size_t k = 0; k < cr->n_envs; k++)
        v[n++] = cr->envs[k];
    *ret = v;
    *ret_keys = keys;
    *ret_n = n;
    return 0;
}

/* Inserts the creating row (an address first), generating a name when none was asked. */
static int create_row(struct ctl *ctx, const struct ctl_caller *who,
                      const struct ctl_create_req *cr, const struct ctl_tpl_image *tpl,
                      const char *pool_id, const char *pool_ip, struct store_sandbox *sb,
                      struct ctl_error *e)
{
    /* a pooled VM's id (never given to anyone before) and address become the sandbox's */
    int r = pool_id ? 0 : ids_new_sandbox(sb->id);
    if (pool_id)
        snprintf(sb->id, sizeof(sb->id), "%s", pool_id);
    if (r < 0)
        return ctl_error_internal(e, "insert sandbox", r);
    snprintf(sb->user_id, sizeof(sb->user_id), "%s", who->user_id);
    sb->status = STORE_CREATING;
    sb->target_state = STORE_RUNNING; /* durable intent: reconcile fails it if we die */
    sb->intent_started_at = timefmt_now_ms();
    snprintf(sb->shape, sizeof(sb->shape), "%s", cr->shape->id);
    sb->vcpu = cr->shape->vcpu;
    sb->mem_mib = cr->shape->mem_mib;
    sb->disk_mib = cr->disk_mib ? cr->disk_mib : cr->shape->default_disk_mib;
    snprintf(sb->rootfs, sizeof(sb->rootfs), "%s", tpl ? tpl->id : cr->rootfs->name);
    snprintf(sb->region, sizeof(sb->region), "%s", ctx->set.region);
    sb->created_at = timefmt_now_ms();
    sb->ingress_enabled = cr->ingress_enabled;
    snprintf(sb->created_by, sizeof(sb->created_by), "%s", who->key_id ? who->key_id : "");
    sb->auto_pause_after_seconds = cr->auto_pause_after_seconds;
    sb->bw_quota_bytes = ctx->set.bandwidth_quota_bytes;
    if (pool_ip && pool_ip[0])
        snprintf(sb->ip, sizeof(sb->ip), "%s", pool_ip);
    else
        r = ctx->net ? ctl_net_alloc_ip(ctx, sb->ip) : 0;
    if (r == -EADDRNOTAVAIL)
        return ctl_error_set(e, CTL_E_NO_CAPACITY, NULL, NULL, "no free sandbox address");
    if (r < 0)
        return ctl_error_internal(e, "insert sandbox", r);
    sb->egress.v = cr->egress; /* borrowed for the insert; detached below */
    sb->egress.n = cr->n_egress;
    sb->ssh_pubkeys.v = cr->ssh;
    sb->ssh_pubkeys.n = cr->n_ssh;
    struct store_env *envs = NULL;
    char **keys = NULL;
    size_t n_envs = 0;
    r = create_envs(cr, tpl, &envs, &keys, &n_envs);
    if (r == 0)
        r = ctl_row_insert(ctx, sb, cr->name, envs ? envs : cr->envs, n_envs);
    envs_free(envs, keys);
    sb->egress = (struct store_strv){ 0 };
    sb->ssh_pubkeys = (struct store_strv){ 0 };
    if (r == -EEXIST)
        return ctl_error_set(e, CTL_E_NAME_TAKEN, "name", NULL, "name already in use: %s",
                             sb->name);
    if (r < 0)
        return ctl_error_internal(e, "insert sandbox", r);
    return 0;
}

/* Joins the new row to nets before its VM starts, so its first network config has every
 * address. On failure the row turns failed. */
static int create_join(struct ctl *ctx, const struct ctl_caller *who, const char *id,
                       const struct store_network *nets, size_t n, struct ctl_error *e)
{
    for (size_t i = 0; i < n; i++) {
        int r = ctl_net_join(ctx, nets[i].id, nets[i].subnet, id);
        if (r == 0 || r == -EEXIST)
            continue;
        struct store_transition t = { .from = STORE_CREATING, .to = STORE_FAILED,
                                      .intent = STORE_STATE_NONE, .now_ms = timefmt_now_ms() };
        if (store_sandbox_transition(ctx->store, id, &t, NULL) < 0)
            log_warn(who->req_id, "cannot record failed", "{s:s}", "sandbox",
                     id); /* reconcile fails it at the next start */
        if (r == -EADDRNOTAVAIL)
            return ctl_error_set(e, CTL_E_NO_CAPACITY, NULL, NULL, "a network has no free address");
        return ctl_error_internal(e, "join network", r);
    }
    return 0;
}

/* Stores the mounts of disks[] (resolved by ctl_disk_mounts_prepare) with the new row, pending
 * until the guest runs. On failure the row turns failed. */
static int create_mounts(struct ctl *ctx, const struct ctl_caller *who, const char *id,
                         struct store_mount *m, size_t n, struct ctl_error *e)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        snprintf(m[i].sandbox_id, sizeof(m[i].sandbox_id), "%s", id);
    int r = store_mount_add_many(ctx->store, m, n);
    if (r == 0)
        return 0;
    struct store_transition t = { .from = STORE_CREATING, .to = STORE_FAILED,
                                  .intent = STORE_STATE_NONE, .now_ms = timefmt_now_ms() };
    if (store_sandbox_transition(ctx->store, id, &t, NULL) < 0)
        log_warn(who->req_id, "cannot record failed", "{s:s}", "sandbox", id);
    return ctl_error_internal(e, "add mounts", r);
}

/* The boot's plan: hostname and keys as stored, the image, whether the guest grows its file
 * system, and a golden snapshot when there is one. */
static void create_plan(struct create_op *w, const struct ctl_create_req *cr,
                        const struct store_sandbox *sb)
{
    struct ctl *ctx = w->ctx;
    /* the store derived the hostname from the name; read it back */
    struct store_sandbox row;
    store_sandbox_init(&row);
    if (store_sandbox_get(ctx->store, NULL, sb->id, &row) == 0) {
        snprintf(w->hostname, sizeof(w->hostname), "%s", row.hostname);
        for (size_t i = 0; i < row.ssh_pubkeys.n && i < cr->n_ssh; i++)
            if ((w->keys.v[i] = strdup(row.ssh_pubkeys.v[i])))
                w->keys.n++;
    }
    store_sandbox_release(&row);
    if (!w->hostname[0])
        snprintf(w->hostname, sizeof(w->hostname), "%s", sb->name);
    struct stat ist;
    if (w->tpl) {
        /* a qcow2 layer: its file system's size, not the file's, says whether to grow */
        snprintf(w->image, sizeof(w->image), "%s", w->tpl->image);
        w->grow = (uint64_t)sb->disk_mib > w->tpl->fs_mib;
    } else {
        ctl_rootfs_image(ctx, cr->rootfs, (uint64_t)sb->disk_mib, w->image, sizeof(w->image));
        /* a stat of a local file: the image's size decides whether the guest must grow */
        w->grow = stat(w->image, &ist) == 0 &&
                  (uint64_t)sb->disk_mib << 20 > (uint64_t)ist.st_size;
    }
    /* the agent sets the hostname from the kernel command line at boot (src/agent/init.c);
     * hostnames are [a-z0-9-] (common/sbname.c), safe there as one token */
    snprintf(w->append, sizeof(w->append), "hearth.hostname=%s", w->hostname);
    w->vcpus = (unsigned)sb->vcpu;
    w->mem_mib = (unsigned)sb->mem_mib;
    w->disk_mib = (uint64_t)sb->disk_mib;
    w->cpu_quota_pct = (uint32_t)cr->shape->cpu_quota_pct;
    bool found = w->tpl ? ctl_tpl_golden_find(ctx, w->tpl, w->vcpus, w->mem_mib, w->disk_mib,
                                              w->golden)
                        : ctl_golden_find(ctx, w->image, w->vcpus, w->mem_mib, w->disk_mib,
                                          w->golden);
    if (found)
        w->grow = false; /* the golden VM's file system fills its disk already */
    else
        w->golden[0] = '\0';
}

/* The warm pool key of a create (pool.h): a catalog image only. false: no pool can serve it. */
static bool create_pool_key(struct ctl *ctx, const struct ctl_create_req *cr,
                            const struct ctl_tpl_image *tpl, struct ctl_pool_key *k, char *image)
{
    if (!ctx->pool || tpl || !cr->rootfs)
        return false;
    uint64_t disk = (uint64_t)(cr->disk_mib ? cr->disk_mib : cr->shape->default_disk_mib);
    ctl_rootfs_image(ctx, cr->rootfs, disk, image, PATH_MAX);
    *k = (struct ctl_pool_key){ .image = image, .vcpus = (unsigned)cr->shape->vcpu,
                                .mem_mib = (unsigned)cr->shape->mem_mib, .disk_mib = disk,
                                .cpu_quota_pct = (uint32_t)cr->shape->cpu_quota_pct };
    return true;
}

/* A template named as rootfs (docs/api.md §3.2.1): resolved, its disk floor checked. */
static int create_template(struct ctl *ctx, const struct ctl_caller *who,
                           const struct ctl_create_req *cr, struct ctl_tpl_image **ret,
                           struct ctl_error *e)
{
    struct ctl_tpl_image *t = calloc(1, sizeof(*t));
    if (!t)
        return ctl_error_internal(e, "create", -ENOMEM);
    int r = ctl_template_resolve(ctx, who->user_id, cr->template_ref, t, e);
    if (r < 0) {
        free(t);
        return r;
    }
    uint64_t disk = (uint64_t)(cr->disk_mib ? cr->disk_mib : cr->shape->default_disk_mib);
    if (disk < t->fs_mib) {
        r = ctl_error_set(e, CTL_E_INVALID, "disk_mib", NULL,
                          "must be at least %llu for this template",
                          (unsigned long long)t->fs_mib);
        ctl_tpl_image_release(t);
        free(t);
        return r;
    }
    *ret = t;
    return 0;
}

static int create_body(struct ctl *ctx, const struct ctl_caller *who,
                       const struct ctl_create_req *cr, struct ctl_tpl_image *tpl,
                       struct timeline *tl, ctl_sandbox_done_fn done, void *ud,
                       struct ctl_error *e);

int ctl_sandbox_create(struct ctl *ctx, const struct ctl_caller *who,
                       const struct ctl_create_req *cr, ctl_sandbox_done_fn done, void *ud,
                       struct ctl_error *e)
{
    struct timeline tl;
    timeline_start_at(&tl, who->start_us ? who->start_us : mono_now_us());
    int r = create_check(ctx, cr, e);
    if (r < 0)
        return r;
    struct ctl_tpl_image *tpl = NULL;
    if (!cr->rootfs && (r = create_template(ctx, who, cr, &tpl, e)) < 0)
        return r;
    r = create_body(ctx, who, cr, tpl, &tl, done, ud, e);
    if (r < 0 && tpl) {
        ctl_tpl_image_release(tpl);
        free(tpl);
    }
    return r;
}

/* The create after its rootfs is known; on success w owns tpl. */
static int create_body(struct ctl *ctx, const struct ctl_caller *who,
                       const struct ctl_create_req *cr, struct ctl_tpl_image *tpl,
                       struct timeline *tl, ctl_sandbox_done_fn done, void *ud,
                       struct ctl_error *e)
{
    int r;
    /* §1.11: every 503/403 check runs before anything is stored */
    r = ctl_row_vm_layer(ctx, e);
    if (r == 0 && ctx->hosts) /* docs/scale-out.md "Placement" */
        r = ctl_hosts_place(ctx, &cr->selector, cr->host_id, cr->shape->mem_mib,
                            cr->shape->vcpu, NULL, e);
    if (r < 0)
        return r;
    r = ctl_quota_sandboxes(ctx, who->user_id, e);
    /* a create a ready pooled VM serves adds no VM; any other at the host's limit first
     * evicts a pooled one (pools yield to sandboxes) */
    struct ctl_pool_key key;
    char key_image[PATH_MAX];
    bool poolable = create_pool_key(ctx, cr, tpl, &key, key_image);
    if (r == 0 && !(poolable && ctl_pool_ready(ctx, &key))) {
        r = ctl_quota_host_vm(ctx, e);
        if (r < 0 && e->code == CTL_E_NO_CAPACITY && ctl_pool_evict(ctx))
            r = ctl_quota_host_vm(ctx, e);
    }
    /* the RAM file is sparse but fills as the guest touches memory (and at pause): room for
     * the shape's RAM on top of the threshold; the thin disk is not reserved (docs/operations.md
     * "Limits") */
    if (r == 0)
        r = ctl_space_check(ctx, who->req_id, "create", (uint64_t)cr->shape->mem_mib << 20, e);
    if (r < 0)
        return r;
    timeline_mark(tl, "checks");
    struct store_network nets[CTL_MAX_NETWORKS];
    size_t n_nets = 0;
    r = create_networks(ctx, who, cr, nets, &n_nets, e);
    if (r < 0)
        return r;
    if (n_nets && !ctx->net)
        return ctl_error_set(e, CTL_E_UNAVAILABLE, NULL, NULL, "networking is not available");
    /* disks[]: resolved and checked before anything is stored */
    struct store_mount *mounts = cr->n_disks ? calloc(cr->n_disks, sizeof(*mounts)) : NULL;
    if (cr->n_disks && !mounts)
        return ctl_error_internal(e, "create", -ENOMEM);
    r = ctl_disk_mounts_prepare_refs(ctx, who->user_id, cr->disks, cr->n_disks, mounts, e);
    if (r < 0) {
        free(mounts);
        return r;
    }
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    char pool_id[STORE_ID_SIZE], pool_golden[PATH_MAX], pool_ip[STORE_IP_SIZE];
    int took = poolable ? ctl_pool_take(ctx, &key, pool_id, pool_golden, pool_ip) : -1;
    bool pooled = took == 1;
    if (pooled)
        timeline_mark(tl, "pool_take");
    r = create_row(ctx, who, cr, tpl, pooled ? pool_id : NULL, pooled ? pool_ip : NULL, &sb, e);
    if (r == 0 && pooled)
        ctl_pool_taken(ctx, pool_id);
    if (r == 0)
        r = create_join(ctx, who, sb.id, nets, n_nets, e);
    if (r == 0)
        r = create_mounts(ctx, who, sb.id, mounts, cr->n_disks, e);
    free(mounts);
    struct create_op *w = r == 0 ? calloc(1, sizeof(*w)) : NULL;
    if (w && cr->n_ssh && !(w->keys.v = calloc(cr->n_ssh, sizeof(char *)))) {
        free(w);
        w = NULL;
    }
    if (r == 0 && !w) /* the row is left creating with its intent: reconcile turns it failed */
        r = ctl_error_internal(e, "create", -ENOMEM);
    if (r < 0) {
        if (pooled) /* taken for nothing: a VM that saw a row of no use goes */
            ctl_pool_drop(ctx, pool_id);
        if (took >= 0)
            ctl_pool_create_ended(ctx);
        store_sandbox_release(&sb);
        return r;
    }
    w->ctx = ctx;
    w->done = done;
    w->ud = ud;
    w->tl = *tl;
    timeline_mark(&w->tl, "intent"); /* row, networks and mounts stored */
    snprintf(w->req_id, sizeof(w->req_id), "%s", who->req_id ? who->req_id : "");
    memcpy(w->id, sb.id, sizeof(w->id));
    w->tpl = tpl;
    create_plan(w, cr, &sb);
    w->pool_counted = took >= 0;
    if (pooled) {
        w->pooled = true;
        w->grow = false; /* restored from the golden snapshot: its file system fills the disk */
        snprintf(w->golden, sizeof(w->golden), "%s", pool_golden);
    }
    log_info(who->req_id, "sandbox create", "{s:s,s:s,s:s,s:b,s:b}", "sandbox", sb.id, "shape",
             sb.shape, "rootfs", sb.rootfs, "golden", w->golden[0] != '\0', "pooled", w->pooled);
    store_sandbox_release(&sb);
    create_boot(w);
    return 0;
}
