/* SPDX-License-Identifier: MIT */
/* snapshots.c: pause, resume and fork (spec/API.md §3.3.1–§3.3.3), golden snapshots for
 * create, auto-pause, and when snapshot directories may go (snapshots.h, docs/snapshots.md).
 *
 * Where snapshots live: <snapshots_dir>/<sandbox id>/<ulid>/ for every pause, each with a
 * `parent` file naming the snapshot its disk layer is a qcow2 child of (absent: the rootfs
 * image); <golden_dir>/<key>/ for golden snapshots. A row names the snapshot it resumes from
 * (snapshot_dir) and the one its disk chain (and a restored VM's RAM) depends on (base_dir). */
#include "daemon/api/snapshots.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "common/timefmt.h"
#include "daemon/api/api.h"
#include "daemon/api/guest.h"
#include "daemon/api/netplane.h"
#include "daemon/api/reply.h"
#include "daemon/api/sandbox_view.h"
#include "daemon/api/sandboxes.h"
#include "daemon/api/validate.h"
#include "daemon/host/host.h"
#include "common/mono.h"
#include "daemon/host/snapshot.h"
#include "daemon/http/request.h"
#include "daemon/http/response.h"
#include "daemon/http/route.h"
#include "daemon/api/jsend.h"
#include "daemon/log.h"
#include "daemon/store/ids.h"
#include "daemon/store/store.h"

/* §2.14.4: up to 3 restore attempts in total before `error`. */
#define RESUME_ATTEMPTS 3
#define RESUME_BOOT_MS 30000
/* a fork of a pausing source waits for the pause (§2.14.3 note 3), polling this often */
#define FORK_WAIT_POLL_MS 20
#define FORK_WAIT_MAX_MS 30000
#define IDENTITY_MS 6000

/* ---- small helpers ---- */

/* 202 with the view and X-Poll-After: 1 (§1.12). */
static void reply_accepted(const struct api_call *call, const struct store_sandbox *sb)
{
    (void)http_response_add_header(call->req, "X-Poll-After", "1");
    (void)jsend_reply_success_status(call->req, 202, api_sandbox_view(&call->ctx->set, sb));
    api_reply_done(call, 202);
}

/* Replies with the current view: 200, or 202 while the row is in a transition. */
static void reply_current(const struct api_call *call, const char *id)
{
    struct store_sandbox sb;
    if (!api_sandbox_load(call, id, &sb))
        return;
    bool moving = sb.status == STORE_PAUSING || sb.status == STORE_RESUMING ||
                  sb.status == STORE_FORKING;
    if (moving)
        reply_accepted(call, &sb);
    else
        api_reply_ok(call, api_sandbox_view(&call->ctx->set, &sb));
    store_sandbox_release(&sb);
}

static void settle(struct api_ctx *ctx, const char *id, enum store_state from,
                   enum store_state to, enum store_state intent, const char *req_id)
{
    struct store_transition t = { .from = from, .to = to, .intent = intent,
                                  .now_ms = timefmt_now_ms() };
    int r = store_sandbox_transition(ctx->store, id, &t, NULL);
    if (r < 0 && r != -ESTALE)
        log_error(req_id, "cannot record sandbox state", "{s:s,s:s,s:s,s:s}", "sandbox", id,
                  "from", store_state_to_string(from), "to", store_state_to_string(to), "err",
                  strerror(-r));
}

/* ---- snapshot directories ---- */

static bool under(const char *dir, const char *root)
{
    size_t n = strlen(root);
    return root[0] && strncmp(dir, root, n) == 0 && dir[n] == '/';
}

/* The snapshot dir's disk parent (its `parent` file) into out; "" when none. */
static void parent_read(const char *dir, char out[PATH_MAX])
{
    out[0] = '\0';
    char p[PATH_MAX];
    if ((size_t)snprintf(p, sizeof(p), "%s/parent", dir) >= sizeof(p))
        return;
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, out, PATH_MAX - 1);
    close(fd);
    out[n > 0 ? n : 0] = '\0';
    if (n > 0 && out[n - 1] == '\n')
        out[n - 1] = '\0';
}

static int parent_write(const char *dir, const char *parent)
{
    if (!parent || !*parent)
        return 0;
    char p[PATH_MAX];
    if ((size_t)snprintf(p, sizeof(p), "%s/parent", dir) >= sizeof(p))
        return -ENAMETOOLONG;
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    size_t n = strlen(parent);
    int r = write(fd, parent, n) == (ssize_t)n && fsync(fd) == 0 ? 0 : -EIO;
    close(fd);
    return r;
}

/* True when some snapshot under snapshots_dir names dir as its parent. */
static bool has_children(struct api_ctx *ctx, const char *dir)
{
    DIR *top = opendir(ctx->set.snapshots_dir);
    if (!top)
        return false;
    bool found = false;
    struct dirent *a;
    while (!found && (a = readdir(top))) {
        if (a->d_name[0] == '.')
            continue;
        char sub[PATH_MAX];
        if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", ctx->set.snapshots_dir, a->d_name) >=
            sizeof(sub))
            continue;
        DIR *d = opendir(sub);
        if (!d)
            continue;
        struct dirent *b;
        while (!found && (b = readdir(d))) {
            if (b->d_name[0] == '.')
                continue;
            char snap[PATH_MAX], parent[PATH_MAX];
            if ((size_t)snprintf(snap, sizeof(snap), "%s/%s", sub, b->d_name) >= sizeof(snap))
                continue;
            parent_read(snap, parent);
            found = strcmp(parent, dir) == 0;
        }
        closedir(d);
    }
    closedir(top);
    return found;
}

void api_snapshot_release(struct api_ctx *ctx, const char *dir)
{
    char cur[PATH_MAX];
    if (!dir || !*dir || (size_t)snprintf(cur, sizeof(cur), "%s", dir) >= sizeof(cur))
        return;
    /* walk up the chain while each link is unneeded (bounded: chains are short) */
    for (int depth = 0; depth < 256 && cur[0]; depth++) {
        if (!under(cur, ctx->set.snapshots_dir))
            return; /* golden snapshots stay; anything else is not ours */
        uint64_t refs = 0;
        if (store_snapshot_refs(ctx->store, cur, &refs) < 0 || refs > 0 ||
            has_children(ctx, cur))
            return;
        char parent[PATH_MAX];
        parent_read(cur, parent);
        int r = snapshot_remove(cur);
        if (r < 0) {
            log_warn(NULL, "cannot remove snapshot", "{s:s,s:s}", "dir", cur, "err",
                     strerror(-r));
            return;
        }
        log_info(NULL, "snapshot removed", "{s:s}", "dir", cur);
        char *slash = strrchr(cur, '/');
        if (slash) {
            *slash = '\0';
            (void)rmdir(cur); /* the sandbox's folder, once empty */
        }
        snprintf(cur, sizeof(cur), "%s", parent);
    }
}

/* A fresh <snapshots_dir>/<id>/<ulid> (not created; the host creates it). */
static int snapshot_new_dir(struct api_ctx *ctx, const char *id, char out[PATH_MAX])
{
    char ulid[IDS_ULID_LEN + 1], sub[PATH_MAX];
    int r = ids_ulid_new(timefmt_now_ms(), ulid);
    if (r < 0)
        return r;
    if (mkdir(ctx->set.snapshots_dir, 0700) < 0 && errno != EEXIST)
        return -errno;
    if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", ctx->set.snapshots_dir, id) >= sizeof(sub) ||
        (size_t)snprintf(out, PATH_MAX, "%s/%s", sub, ulid) >= PATH_MAX)
        return -ENAMETOOLONG;
    if (mkdir(sub, 0700) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* ---- flattening long disk chains ---- */

/* A snapshot whose disk sits on this many ancestor snapshots gets flattened (each fork
 * generation and each resume from a shared snapshot adds one qcow2 layer to the chain, and
 * every read that misses walks it). */
#define FLATTEN_DEPTH 3

struct flatten_op {
    struct api_ctx *ctx;
    char id[STORE_ID_SIZE];
    char parent[PATH_MAX];          /* the snapshot's parent before */
    char dir[PATH_MAX];             /* the snapshot (the callback's id is cut at 64 bytes) */
};

static void on_flattened(void *ud, const char *unused, const struct host_result *res)
{
    struct flatten_op *fo = ud;
    struct api_ctx *ctx = fo->ctx;
    const char *dir = fo->dir;
    if (res->err != HOST_OK) {
        if (res->err != HOST_E_CANCELED)
            log_warn(NULL, "snapshot flatten failed; the chain stays", "{s:s,s:s}", "dir", dir,
                     "err", res->msg);
        free(fo);
        return;
    }
    /* the disk no longer needs its parents (VMs that opened the old file keep its chain
     * open; their rows still name the parent as base where they do) */
    char p[PATH_MAX + 16];
    snprintf(p, sizeof(p), "%s/parent", dir);
    (void)unlink(p);
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    if (store_sandbox_get(ctx->store, NULL, fo->id, &sb) == 0 && sb.status == STORE_PAUSED &&
        sb.snapshot_dir && strcmp(sb.snapshot_dir, dir) == 0 && sb.base_dir &&
        strcmp(sb.base_dir, fo->parent) == 0) {
        struct store_sandbox_patch pt = { .fields = STORE_PATCH_SNAPSHOT,
                                          .allowed_states = STORE_STATE_BIT(STORE_PAUSED),
                                          .snapshot_dir = dir, .base_dir = NULL,
                                          .now_ms = timefmt_now_ms() };
        if (store_sandbox_update(ctx->store, NULL, fo->id, &pt) < 0)
            log_warn(NULL, "cannot record the flattened snapshot's base", "{s:s}", "sandbox",
                     fo->id);
    }
    store_sandbox_release(&sb);
    log_info(NULL, "snapshot flattened", "{s:s,s:s}", "dir", dir, "was_on", fo->parent);
    api_snapshot_release(ctx, fo->parent);
    free(fo);
}

static void flatten_if_deep(struct api_ctx *ctx, const char *id, const char *dir)
{
    char cur[PATH_MAX], parent[PATH_MAX], first[PATH_MAX] = "";
    snprintf(cur, sizeof(cur), "%s", dir);
    int depth = 0;
    for (; depth < 64; depth++) {
        parent_read(cur, parent);
        if (!parent[0] || !under(parent, ctx->set.snapshots_dir))
            break;
        if (!first[0])
            snprintf(first, sizeof(first), "%s", parent);
        snprintf(cur, sizeof(cur), "%s", parent);
    }
    if (depth < FLATTEN_DEPTH || !ctx->host)
        return;
    struct flatten_op *fo = calloc(1, sizeof(*fo));
    if (!fo)
        return;
    fo->ctx = ctx;
    snprintf(fo->id, sizeof(fo->id), "%s", id);
    snprintf(fo->parent, sizeof(fo->parent), "%s", first);
    snprintf(fo->dir, sizeof(fo->dir), "%s", dir);
    log_info(NULL, "snapshot flatten", "{s:s,s:i}", "dir", dir, "depth", depth);
    host_snapshot_flatten(ctx->host, dir, on_flattened, fo);
}

/* ---- pause ---- */

/* Sets the row's snapshot_dir (NULL clears it), keeping its base_dir, while it is in state. */
static void set_snapshot_dir(struct api_ctx *ctx, const char *id, enum store_state state,
                             const char *dir, const char *req_id)
{
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    int r = store_sandbox_get(ctx->store, NULL, id, &sb);
    struct store_sandbox_patch p = { .fields = STORE_PATCH_SNAPSHOT,
                                     .allowed_states = STORE_STATE_BIT(state),
                                     .snapshot_dir = dir, .base_dir = sb.base_dir,
                                     .now_ms = timefmt_now_ms() };
    if (r == 0)
        r = store_sandbox_update(ctx->store, NULL, id, &p);
    if (r < 0)
        log_warn(req_id, "cannot record the snapshot dir", "{s:s,s:s}", "sandbox", id, "err",
                 strerror(-r));
    store_sandbox_release(&sb);
}

struct pause_op {
    struct api_ctx *ctx;
    char id[STORE_ID_SIZE];
    char dir[PATH_MAX];
    char req_id[160];
};

static void on_paused(void *ud, const char *id, const struct host_result *res)
{
    struct pause_op *op = ud;
    struct api_ctx *ctx = op->ctx;
    if (res->err == HOST_E_CANCELED) {
        /* deleted while pausing: the destroy owns the row and the files */
        free(op);
        return;
    }
    if (res->err == HOST_E_GONE) {
        log_error(op->req_id, "sandbox failed: its vm exited during the pause", "{s:s,s:s}",
                  "sandbox", id, "err", res->msg);
        settle(ctx, id, STORE_PAUSING, STORE_FAILED, STORE_STATE_NONE, op->req_id);
        api_sandbox_destroy_vm(ctx, id, op->req_id);
        free(op);
        return;
    }
    if (res->err != HOST_OK) {
        /* §2.14.2, hearth chooses: nothing was lost, the VM keeps running */
        log_error(op->req_id, "sandbox pause failed; it keeps running", "{s:s,s:s}", "sandbox",
                  id, "err", res->msg);
        set_snapshot_dir(ctx, id, STORE_PAUSING, NULL, op->req_id);
        settle(ctx, id, STORE_PAUSING, STORE_RUNNING, STORE_STATE_NONE, op->req_id);
        free(op);
        return;
    }
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    int r = store_sandbox_get(ctx->store, NULL, id, &sb);
    const char *base = r == 0 && sb.base_dir ? sb.base_dir : "";
    if (r == 0)
        r = parent_write(op->dir, base);
    struct store_sandbox_patch p = { .fields = STORE_PATCH_SNAPSHOT | STORE_PATCH_HOST,
                                     .allowed_states = STORE_STATE_BIT(STORE_PAUSING),
                                     .snapshot_dir = op->dir, .base_dir = base,
                                     .host_id = ctx->set.host_id, .now_ms = timefmt_now_ms() };
    if (r == 0)
        r = store_sandbox_update(ctx->store, NULL, id, &p);
    store_sandbox_release(&sb);
    if (r == -ESTALE || r == -ENOENT) {
        /* deleted meanwhile: the snapshot is nobody's */
        api_snapshot_release(ctx, op->dir);
        free(op);
        return;
    }
    if (r < 0) {
        log_error(op->req_id, "cannot record the snapshot; the sandbox is lost", "{s:s,s:s}",
                  "sandbox", id, "err", strerror(-r));
        settle(ctx, id, STORE_PAUSING, STORE_FAILED, STORE_STATE_NONE, op->req_id);
        free(op);
        return;
    }
    settle(ctx, id, STORE_PAUSING, STORE_PAUSED, STORE_STATE_NONE, op->req_id);
    api_net_vm_stopped(ctx, id, true); /* the address and the tap stay for the resume */
    log_info(op->req_id, "sandbox paused", "{s:s,s:s}", "sandbox", id, "snapshot", op->dir);
    flatten_if_deep(ctx, id, op->dir);
    free(op);
}

/* running → pausing, then the host's pause. 0; -ESTALE (not running any more); -errno. */
static int pause_start(struct api_ctx *ctx, const char *id, const char *req_id)
{
    struct pause_op *op = calloc(1, sizeof(*op));
    if (!op)
        return -ENOMEM;
    op->ctx = ctx;
    snprintf(op->id, sizeof(op->id), "%s", id);
    snprintf(op->req_id, sizeof(op->req_id), "%s", req_id ? req_id : "");
    int r = snapshot_new_dir(ctx, id, op->dir);
    if (r < 0) {
        free(op);
        return r;
    }
    struct store_transition t = { .from = STORE_RUNNING, .to = STORE_PAUSING,
                                  .intent = STORE_PAUSED, .flags = STORE_TR_NO_PENDING,
                                  .now_ms = timefmt_now_ms() };
    r = store_sandbox_transition(ctx->store, id, &t, NULL);
    if (r < 0) {
        free(op);
        return r == -EBUSY ? -ESTALE : r;
    }
    /* recorded first, so a restart after a crash mid-pause finds the snapshot (reconcile) */
    set_snapshot_dir(ctx, id, STORE_PAUSING, op->dir, req_id);
    log_info(req_id, "sandbox pause", "{s:s}", "sandbox", id);
    host_vm_pause(ctx->host, id, op->dir, on_paused, op);
    return 0;
}

void api_sandbox_pause(struct api_call *call)
{
    struct api_ctx *ctx = call->ctx;
    char id[STORE_ID_SIZE];
    struct store_sandbox sb;
    if (!api_sandbox_path_id(call, 2, id) || !api_sandbox_load(call, id, &sb))
        return;
    enum store_state s = sb.status;
    if (s == STORE_PAUSED) {
        api_reply_ok(call, api_sandbox_view(&ctx->set, &sb));
    } else if (s == STORE_PAUSING) {
        reply_accepted(call, &sb);
    } else if (s != STORE_RUNNING) {
        api_reply_invalid_state(call, store_state_to_string(s),
                                "only a running sandbox can be paused");
    } else if (!ctx->host) {
        api_reply_error(call, 503, "the vm layer is not available; retry later", "unavailable");
    } else {
        int r = pause_start(ctx, id, http_request_id(call->req));
        if (r == -ESTALE)
            reply_current(call, id); /* raced with another transition: report where it is */
        else if (r < 0)
            api_reply_internal(call, "pause", r);
        else
            reply_current(call, id);
    }
    store_sandbox_release(&sb);
}

/* ---- restore (resume and fork) ---- */

/* What a finished restore should tell a waiting HTTP request (a fork holds its request). */
struct restore_op {
    struct api_ctx *ctx;
    char id[STORE_ID_SIZE];
    char snap[PATH_MAX];            /* restored from */
    bool consume;
    int attempt;
    char req_id[160];
    struct http_request *req;       /* a fork waiting for its child, referenced; or NULL */
    struct api_call call;
    bool client_gone;
    char **keys;                    /* SSH keys to install after the restore (fork override) */
    size_t n_keys;
    int64_t start_us;
};

static void restore_op_free(struct restore_op *op)
{
    if (op->req) {
        http_request_on_abort(op->req, NULL, NULL);
        http_request_unref(op->req);
    }
    for (size_t i = 0; i < op->n_keys; i++)
        free(op->keys[i]);
    free(op->keys);
    free(op);
}

static void on_restore_abort(struct http_request *req, void *ud)
{
    struct restore_op *op = ud;
    op->client_gone = true; /* the fork still completes */
}

/* Decides whether sandbox id may take snapshot dir over (docs/snapshots.md "Lifetime"). */
static bool may_consume(struct api_ctx *ctx, const char *id, const char *dir)
{
    char own[PATH_MAX];
    if ((size_t)snprintf(own, sizeof(own), "%s/%s", ctx->set.snapshots_dir, id) >= sizeof(own) ||
        !under(dir, own))
        return false;
    uint64_t refs = 0;
    return store_snapshot_refs(ctx->store, dir, &refs) == 0 && refs == 1 &&
           !has_children(ctx, dir);
}

static void restore_begin(struct restore_op *op);

static void restore_reply(struct restore_op *op, int status, const char *msg)
{
    if (!op->req || op->client_gone)
        return;
    if (status == 200) {
        struct store_sandbox sb;
        store_sandbox_init(&sb);
        if (store_sandbox_get(op->ctx->store, NULL, op->id, &sb) == 0)
            api_reply_ok(&op->call, api_sandbox_view(&op->ctx->set, &sb));
        else
            api_reply_internal(&op->call, "read sandbox", -EIO);
        store_sandbox_release(&sb);
    } else if (status == 409) {
        api_reply_invalid_state(&op->call, "destroying", msg);
    } else {
        api_reply_error(&op->call, 500, msg, "internal");
    }
}

static void on_keys_done(void *ud, int err, int status, const char *msg)
{
    struct restore_op *op = ud;
    if (err < 0 || status != 0)
        log_warn(op->req_id, "cannot install the fork's ssh keys, ignoring", "{s:s,s:s}",
                 "sandbox", op->id, "err", msg);
    restore_reply(op, 200, NULL);
    restore_op_free(op);
}

static void on_restored(void *ud, const char *id, const struct host_result *res)
{
    struct restore_op *op = ud;
    struct api_ctx *ctx = op->ctx;
    if (res->err == HOST_E_CANCELED) {
        restore_reply(op, 409, "sandbox was deleted while resuming");
        restore_op_free(op);
        return;
    }
    if (res->err != HOST_OK) {
        log_error(op->req_id, "sandbox restore failed", "{s:s,s:i,s:s}", "sandbox", id,
                  "attempt", op->attempt, "err", res->msg);
        bool broken = res->err == HOST_E_INVALID || res->err == HOST_E_NOT_FOUND;
        if (!broken && op->attempt < RESUME_ATTEMPTS) {
            op->attempt++;
            restore_begin(op);
            return;
        }
        /* §2.14.2: resuming → error (the snapshot is kept; resume may be retried) */
        settle(ctx, id, STORE_RESUMING, STORE_ERROR, STORE_STATE_NONE, op->req_id);
        char msg[600];
        snprintf(msg, sizeof(msg), "cannot restore the sandbox: %s", res->msg);
        restore_reply(op, 500, msg);
        restore_op_free(op);
        return;
    }
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    int r = store_sandbox_get(ctx->store, NULL, id, &sb);
    char run_dir[PATH_MAX];
    if (host_vm_run_dir(ctx->host, id, run_dir, sizeof(run_dir)) < 0)
        run_dir[0] = '\0';
    /* consumed: the row keeps its base; restored from a shared one: that is now the base */
    char base[PATH_MAX];
    snprintf(base, sizeof(base), "%s", op->consume ? (sb.base_dir ? sb.base_dir : "") : op->snap);
    store_sandbox_release(&sb);
    struct store_sandbox_patch p = { .fields = STORE_PATCH_SNAPSHOT | STORE_PATCH_HOST,
                                     .allowed_states = STORE_STATE_BIT(STORE_RESUMING),
                                     .snapshot_dir = NULL, .base_dir = base,
                                     .host_id = ctx->set.host_id,
                                     .run_dir = run_dir[0] ? run_dir : NULL,
                                     .qemu_pid = (int32_t)host_vm_pid(ctx->host, id),
                                     .now_ms = timefmt_now_ms() };
    if (r == 0)
        r = store_sandbox_update(ctx->store, NULL, id, &p);
    if (r == 0) {
        struct store_transition t = { .from = STORE_RESUMING, .to = STORE_RUNNING,
                                      .intent = STORE_STATE_NONE, .now_ms = timefmt_now_ms() };
        r = store_sandbox_transition(ctx->store, id, &t, NULL);
    }
    if (r < 0) {
        /* deleted meanwhile (the delete tears the VM down) or the store failed */
        if (r != -ESTALE && r != -ENOENT) {
            log_error(op->req_id, "cannot record the resumed sandbox", "{s:s,s:s}", "sandbox",
                      id, "err", strerror(-r));
            settle(ctx, id, STORE_RESUMING, STORE_FAILED, STORE_STATE_NONE, op->req_id);
            api_sandbox_destroy_vm(ctx, id, op->req_id);
        }
        restore_reply(op, 409, "sandbox was deleted while resuming");
        restore_op_free(op);
        return;
    }
    api_idle_touch(ctx, id);
    log_info(op->req_id, "sandbox running", "{s:s,s:s,s:b,s:f}", "sandbox", id, "snapshot",
             op->snap, "consumed", op->consume, "restore_ms",
             (double)(mono_now_us() - op->start_us) / 1000.0);
    if (op->n_keys) {
        struct store_sandbox row;
        store_sandbox_init(&row);
        const char **argv = NULL;
        if (store_sandbox_get(ctx->store, NULL, id, &row) == 0)
            argv = guest_identity_argv(row.hostname, (const char *const *)op->keys, op->n_keys);
        int k = argv ? guest_run(ctx->host, ctx->base, id, argv, IDENTITY_MS, on_keys_done, op)
                     : -ENOMEM;
        free(argv);
        store_sandbox_release(&row);
        if (k == 0)
            return;
    }
    restore_reply(op, 200, NULL);
    restore_op_free(op);
}

static void on_no_snapshot(evutil_socket_t fd, short what, void *arg)
{
    struct restore_op *op = arg;
    struct host_result res = { .err = HOST_E_NOT_FOUND };
    snprintf(res.msg, sizeof(res.msg), "sandbox '%s' has no snapshot to resume from", op->id);
    on_restored(op, op->id, &res);
}

static void on_no_network(evutil_socket_t fd, short what, void *arg)
{
    struct restore_op *op = arg;
    struct host_result res = { .err = HOST_E_SYSTEM };
    snprintf(res.msg, sizeof(res.msg), "cannot set up the network of sandbox '%s'", op->id);
    on_restored(op, op->id, &res);
}

static void restore_begin(struct restore_op *op)
{
    struct api_ctx *ctx = op->ctx;
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    if (store_sandbox_get(ctx->store, NULL, op->id, &sb) < 0 || sb.status != STORE_RESUMING) {
        store_sandbox_release(&sb);
        restore_reply(op, 409, "sandbox was deleted while resuming");
        restore_op_free(op);
        return;
    }
    snprintf(op->snap, sizeof(op->snap), "%s", sb.snapshot_dir ? sb.snapshot_dir : "");
    op->consume = op->snap[0] && may_consume(ctx, op->id, op->snap);
    struct host_vm_spec spec = { .id = op->id, .vcpus = (unsigned)sb.vcpu,
                                 .memory_mib = (unsigned)sb.mem_mib, .snapshot = op->snap,
                                 .snapshot_consume = op->consume, .hostname = sb.hostname,
                                 .boot_timeout_ms = RESUME_BOOT_MS };
    if (!op->snap[0]) {
        /* reported from the loop, like any host failure: the caller answers 202 first */
        store_sandbox_release(&sb);
        op->attempt = RESUME_ATTEMPTS;
        struct timeval now = { 0, 0 };
        if (event_base_once(ctx->base, -1, EV_TIMEOUT, on_no_snapshot, op, &now) < 0)
            on_no_snapshot(-1, 0, op);
        return;
    }
    struct api_net_vm nv;
    if (api_net_vm_prepare(ctx, op->id, &nv) < 0) {
        store_sandbox_release(&sb);
        op->attempt = RESUME_ATTEMPTS;
        struct timeval now = { 0, 0 };
        if (event_base_once(ctx->base, -1, EV_TIMEOUT, on_no_network, op, &now) < 0)
            on_no_network(-1, 0, op);
        return;
    }
    api_net_vm_spec(&nv, &spec);
    host_vm_create(ctx->host, &spec, on_restored, op);
    api_net_vm_release(&nv);
    store_sandbox_release(&sb);
}

/* from (paused, error or forking) → resuming with intent running, then the restore. */
static int resume_start(struct api_ctx *ctx, const char *id, enum store_state from,
                        const char *req_id, struct restore_op **ret_op)
{
    struct restore_op *op = calloc(1, sizeof(*op));
    if (!op)
        return -ENOMEM;
    op->ctx = ctx;
    op->attempt = 1;
    op->start_us = mono_now_us();
    snprintf(op->id, sizeof(op->id), "%s", id);
    snprintf(op->req_id, sizeof(op->req_id), "%s", req_id ? req_id : "");
    struct store_transition t = { .from = from, .to = STORE_RESUMING, .intent = STORE_RUNNING,
                                  .now_ms = timefmt_now_ms() };
    int r = store_sandbox_transition(ctx->store, id, &t, NULL);
    if (r < 0) {
        free(op);
        return r;
    }
    log_info(req_id, "sandbox resume", "{s:s,s:s}", "sandbox", id, "from",
             store_state_to_string(from));
    if (ret_op) {
        *ret_op = op; /* the caller attaches its request, then calls restore_begin() */
        return 0;
    }
    restore_begin(op);
    return 0;
}

void api_sandbox_resume(struct api_call *call)
{
    struct api_ctx *ctx = call->ctx;
    char id[STORE_ID_SIZE];
    struct store_sandbox sb;
    if (!api_sandbox_path_id(call, 2, id) || !api_sandbox_load(call, id, &sb))
        return;
    enum store_state s = sb.status;
    if (s == STORE_RUNNING) {
        api_reply_ok(call, api_sandbox_view(&ctx->set, &sb));
    } else if (s == STORE_RESUMING) {
        reply_accepted(call, &sb);
    } else if (s == STORE_FORKING) {
        /* §2.14.3 note 2: the child runs as soon as its copy ends */
        struct store_sandbox_patch p = { .fields = STORE_PATCH_START_PAUSED,
                                         .allowed_states = STORE_STATE_BIT(STORE_FORKING),
                                         .start_paused = false, .now_ms = timefmt_now_ms() };
        if (store_sandbox_update(ctx->store, NULL, id, &p) < 0)
            log_warn(http_request_id(call->req), "cannot clear start_paused", "{s:s}",
                     "sandbox", id);
        reply_current(call, id);
    } else if (s != STORE_PAUSED && s != STORE_ERROR) {
        api_reply_invalid_state(call, store_state_to_string(s),
                                "only a paused (or error) sandbox can be resumed");
    } else if (!ctx->host) {
        api_reply_error(call, 503, "the vm layer is not available; retry later", "unavailable");
    } else {
        int r = resume_start(ctx, id, s, http_request_id(call->req), NULL);
        if (r < 0 && r != -ESTALE)
            api_reply_internal(call, "resume", r);
        else
            reply_current(call, id);
    }
    store_sandbox_release(&sb);
}

/* ---- fork ---- */

struct fork_wait {
    struct api_call call;           /* req referenced */
    json_t *body;                   /* referenced: fr borrows its strings */
    struct api_fork_req fr;         /* validated once, before the source is looked at */
    char src[STORE_ID_SIZE];
    struct event *timer;
    int64_t deadline_us;
    bool client_gone;
};

static void fork_wait_free(struct fork_wait *w)
{
    if (w->timer)
        event_free(w->timer);
    api_fork_req_release(&w->fr);
    json_decref(w->body);
    http_request_on_abort(w->call.req, NULL, NULL);
    http_request_unref(w->call.req);
    free(w);
}

static void on_fork_wait_abort(struct http_request *req, void *ud)
{
    ((struct fork_wait *)ud)->client_gone = true;
}

/* Copies the inherited or overridden lists into the child row. */
static int fork_fill(struct api_ctx *ctx, const struct store_sandbox *src,
                     const struct api_fork_req *fr, struct store_sandbox *child,
                     struct store_env **ret_envs, size_t *ret_n)
{
    *ret_envs = NULL;
    *ret_n = 0;
    if (fr->set_envs) {
        *ret_envs = fr->c.envs;
        *ret_n = fr->c.n_envs;
    } else {
        int r = store_sandbox_envs_get(ctx->store, src->id, ret_envs, ret_n);
        if (r < 0)
            return r;
    }
    child->egress.v = fr->set_egress ? fr->c.egress : src->egress.v;
    child->egress.n = fr->set_egress ? fr->c.n_egress : src->egress.n;
    child->ssh_pubkeys.v = fr->set_ssh ? fr->c.ssh : src->ssh_pubkeys.v;
    child->ssh_pubkeys.n = fr->set_ssh ? fr->c.n_ssh : src->ssh_pubkeys.n;
    return 0;
}

/* The child joins every network of its source, each with an address of its own. */
static int fork_join_networks(struct api_ctx *ctx, const char *src_id, const char *child_id)
{
    struct store_member *m = NULL;
    size_t n = 0;
    int r = ctx->net ? store_member_list(ctx->store, NULL, src_id, &m, &n) : 0;
    for (size_t i = 0; r == 0 && i < n; i++)
        r = api_net_join(ctx, m[i].network_id, m[i].subnet, child_id);
    free(m);
    return r;
}

static void fork_now(struct fork_wait *w, const struct store_sandbox *src)
{
    struct api_call *call = &w->call;
    struct api_ctx *ctx = call->ctx;
    const struct api_fork_req *fr = &w->fr;
    struct store_sandbox child;
    store_sandbox_init(&child);
    struct store_env *envs = NULL;
    size_t n_envs = 0;
    int r = ids_new_sandbox(child.id);
    if (r == 0)
        r = fork_fill(ctx, src, fr, &child, &envs, &n_envs);
    if (r < 0) {
        api_reply_internal(call, "fork", r);
        goto out;
    }
    snprintf(child.user_id, sizeof(child.user_id), "%s", call->auth.user_id);
    child.status = STORE_FORKING;
    child.target_state = fr->start_paused ? STORE_PAUSED : STORE_RUNNING;
    child.intent_started_at = timefmt_now_ms();
    snprintf(child.shape, sizeof(child.shape), "%s", src->shape);
    child.vcpu = src->vcpu;
    child.mem_mib = src->mem_mib;
    child.disk_mib = src->disk_mib;
    snprintf(child.rootfs, sizeof(child.rootfs), "%s", src->rootfs);
    snprintf(child.region, sizeof(child.region), "%s", src->region);
    child.created_at = timefmt_now_ms();
    child.ingress_enabled = fr->set_ingress ? fr->c.ingress_enabled : src->ingress_enabled;
    snprintf(child.created_by, sizeof(child.created_by), "%s", call->auth.key_id);
    snprintf(child.forked_from, sizeof(child.forked_from), "%s", src->id);
    child.auto_pause_after_seconds = fr->c.auto_pause_after_seconds;
    child.start_paused = fr->start_paused;
    child.bw_quota_bytes = fr->bandwidth_quota_bytes;
    /* O(1): the child's snapshot is the source's, shared (never consumed by either) */
    child.snapshot_dir = src->snapshot_dir;
    child.base_dir = src->snapshot_dir;
    /* §2.14.6 + issue 5: a fork gets its own address (and MAC, from its id) */
    r = ctx->net ? api_net_alloc_ip(ctx, child.ip) : 0;
    if (r == -EADDRNOTAVAIL) {
        api_reply_error(call, 503, "no free sandbox address", "no_capacity");
        goto out;
    }
    if (r == 0) /* a generated name that collides is drawn again, with a suffix */
        for (int attempt = 0; attempt < 8; attempt++) {
            if (fr->c.name)
                snprintf(child.name, sizeof(child.name), "%s", fr->c.name);
            else
                api_name_generate(attempt > 0, child.name);
            r = store_sandbox_insert(ctx->store, &child, envs, n_envs);
            if (r != -EEXIST || fr->c.name)
                break;
        }
    if (r == 0)
        r = fork_join_networks(ctx, src->id, child.id);
    child.snapshot_dir = child.base_dir = NULL; /* borrowed */
    child.egress = (struct store_strv){ 0 };
    child.ssh_pubkeys = (struct store_strv){ 0 };
    if (r == -EEXIST) {
        char msg[120];
        snprintf(msg, sizeof(msg), "name already in use: %s", child.name);
        api_reply_fail(call, 400, json_pack("{s:s,s:s}", "name", msg, "code", "name_taken"));
        goto out;
    }
    if (r < 0) {
        api_reply_internal(call, "insert fork", r);
        goto out;
    }
    log_info(http_request_id(call->req), "sandbox fork", "{s:s,s:s,s:b}", "sandbox", child.id,
             "source", src->id, "start_paused", fr->start_paused);
    if (fr->start_paused) {
        struct store_transition t = { .from = STORE_FORKING, .to = STORE_PAUSED,
                                      .intent = STORE_STATE_NONE, .now_ms = timefmt_now_ms() };
        r = store_sandbox_transition(ctx->store, child.id, &t, NULL);
        if (r < 0 && r != -ESTALE)
            api_reply_internal(call, "fork", r);
        else
            reply_current(call, child.id);
        goto out;
    }
    struct restore_op *op = NULL;
    r = resume_start(ctx, child.id, STORE_FORKING, http_request_id(call->req), &op);
    if (r < 0) {
        api_reply_internal(call, "fork", r);
        goto out;
    }
    op->call = *call;
    op->req = http_request_ref(call->req);
    http_request_on_abort(call->req, on_restore_abort, op);
    if (fr->set_ssh && fr->c.n_ssh && (op->keys = calloc(fr->c.n_ssh, sizeof(char *)))) {
        for (size_t i = 0; i < fr->c.n_ssh; i++)
            if ((op->keys[op->n_keys] = strdup(fr->c.ssh[i])))
                op->n_keys++;
    }
    restore_begin(op);
out:
    if (!fr->set_envs)
        store_envs_free(envs, n_envs);
    store_sandbox_release(&child);
}

/* Checks the source and forks, or waits for its pause to finish. true when w is done. */
static bool fork_try(struct fork_wait *w)
{
    struct api_call *call = &w->call;
    struct store_sandbox src;
    if (w->client_gone)
        return true;
    if (!api_sandbox_load(call, w->src, &src))
        return true;
    bool done = true;
    if (src.status == STORE_PAUSED && src.snapshot_dir) {
        fork_now(w, &src);
    } else if (src.status == STORE_PAUSED) {
        api_reply_invalid_state(call, "paused", "the source has no snapshot to fork (resume "
                                                "it to see why)");
    } else if (src.status == STORE_PAUSING && mono_now_us() < w->deadline_us) {
        done = false; /* §2.14.3 note 3: wait for the pause */
    } else {
        api_reply_invalid_state(call, store_state_to_string(src.status),
                                "the source must be paused: pause it first (live fork is not "
                                "supported)");
    }
    store_sandbox_release(&src);
    return done;
}

static void on_fork_timer(evutil_socket_t fd, short what, void *arg)
{
    struct fork_wait *w = arg;
    if (fork_try(w)) {
        fork_wait_free(w);
        return;
    }
    struct timeval tv = { 0, FORK_WAIT_POLL_MS * 1000 };
    event_add(w->timer, &tv);
}

static void on_fork_body(struct api_call *call, json_t *body)
{
    struct api_ctx *ctx = call->ctx;
    char id[STORE_ID_SIZE];
    if (!api_sandbox_path_id(call, 2, id))
        return;
    if (!ctx->host) {
        api_reply_error(call, 503, "the vm layer is not available; retry later", "unavailable");
        return;
    }
    /* bad fields are 400 whatever the source's state (nothing is looked up for them) */
    struct api_fork_req fr;
    json_t *fail = NULL;
    int st = api_validate_fork(ctx, body, &fr, &fail);
    if (st) {
        api_reply_fail(call, st, fail);
        return;
    }
    struct fork_wait *w = calloc(1, sizeof(*w));
    if (!w) {
        api_fork_req_release(&fr);
        api_reply_internal(call, "fork", -ENOMEM);
        return;
    }
    w->call = *call;
    w->body = json_incref(body);
    w->fr = fr;
    snprintf(w->src, sizeof(w->src), "%s", id);
    w->deadline_us = mono_now_us() + (int64_t)FORK_WAIT_MAX_MS * 1000;
    http_request_ref(call->req);
    if (fork_try(w)) {
        fork_wait_free(w);
        return;
    }
    w->timer = evtimer_new(ctx->base, on_fork_timer, w);
    if (!w->timer) {
        api_reply_internal(call, "fork", -ENOMEM);
        fork_wait_free(w);
        return;
    }
    http_request_on_abort(call->req, on_fork_wait_abort, w);
    struct timeval tv = { 0, FORK_WAIT_POLL_MS * 1000 };
    event_add(w->timer, &tv);
}

void api_sandbox_fork(struct api_call *call)
{
    api_read_json(call, on_fork_body);
}

/* ---- golden snapshots ---- */

struct api_golden {
    struct api_golden *next;
    struct api_ctx *ctx;
    char id[STORE_ID_SIZE];         /* the builder VM (no store row) */
    char dir[PATH_MAX];             /* <golden_dir>/<key> */
    char tmp[PATH_MAX];             /* <dir>.tmp while being written */
    bool grow;                      /* the disk is larger than the image's file system */
};

static int golden_key_dir(struct api_ctx *ctx, const char *image, unsigned vcpus,
                          unsigned mem_mib, uint64_t disk_mib, char *out)
{
    char kernel[PATH_MAX], kabs[PATH_MAX], iabs[PATH_MAX];
    struct stat ks, is;
    if ((size_t)snprintf(kernel, sizeof(kernel), "%s/vmlinux", ctx->set.images_dir) >=
            sizeof(kernel) ||
        !realpath(kernel, kabs) || !realpath(image, iabs) || stat(kabs, &ks) < 0 ||
        stat(iabs, &is) < 0)
        return -ENOENT;
    /* a snapshot restores only under the QEMU that took it: an upgraded QEMU binary makes
     * new keys (and the old goldens unused, not broken) */
    struct stat qs = { 0 };
    const char *qemu_dirs[] = { "/usr/bin", "/usr/local/bin", "/bin" };
    for (size_t i = 0; i < sizeof(qemu_dirs) / sizeof(qemu_dirs[0]); i++) {
        char q[PATH_MAX];
        snprintf(q, sizeof(q), "%s/qemu-system-x86_64", qemu_dirs[i]);
        if (stat(q, &qs) == 0)
            break;
    }
    /* the recipe of a booted VM: kernel and image (paths carry their recipe keys; size and
     * mtime catch a rebuilt file), QEMU, shape and disk; "nic1": the VM has the virtio-net
     * NIC (goldens from before have none, and their clones would have no network) */
    char recipe[3 * PATH_MAX];
    int n = snprintf(recipe, sizeof(recipe),
                     "golden-1|nic1|%s|%lld|%lld|%s|%lld|%lld|%lld|%lld|%u|%u|%llu", kabs,
                     (long long)ks.st_size, (long long)ks.st_mtime, iabs, (long long)is.st_size,
                     (long long)is.st_mtime, (long long)qs.st_size, (long long)qs.st_mtime,
                     vcpus, mem_mib, (unsigned long long)disk_mib);
    if (n < 0 || (size_t)n >= sizeof(recipe))
        return -ENAMETOOLONG;
    unsigned char md[32];
    unsigned mdlen = 0;
    if (EVP_Digest(recipe, (size_t)n, md, &mdlen, EVP_sha256(), NULL) != 1)
        return -EIO;
    char hex[33];
    for (int i = 0; i < 16; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    if ((size_t)snprintf(out, PATH_MAX, "%s/%s", ctx->set.golden_dir, hex) >= PATH_MAX)
        return -ENAMETOOLONG;
    return 0;
}

bool api_golden_find(struct api_ctx *ctx, const char *image, unsigned vcpus, unsigned mem_mib,
                     uint64_t disk_mib, char *out)
{
    if (!ctx->set.golden || !ctx->set.golden_dir[0] ||
        golden_key_dir(ctx, image, vcpus, mem_mib, disk_mib, out) < 0)
        return false;
    return snapshot_is_complete(out);
}

void api_golden_discard(struct api_ctx *ctx, const char *dir)
{
    if (!under(dir, ctx->set.golden_dir))
        return;
    /* Sandboxes created from it have disk layers whose qcow2 backing names its disk.qcow2 by
     * path, so the directory stays where it is; without meta.json it is no longer restored
     * (and not rebuilt under the same key: delete it once no sandbox uses it) */
    char meta[PATH_MAX + 16];
    snprintf(meta, sizeof(meta), "%s/meta.json", dir);
    if (unlink(meta) == 0)
        log_warn(NULL, "golden snapshot discarded; creates of its kind boot cold", "{s:s}",
                 "dir", dir);
}

static void golden_free(struct api_golden *g)
{
    struct api_ctx *ctx = g->ctx;
    for (struct api_golden **pp = &ctx->goldens; *pp; pp = &(*pp)->next)
        if (*pp == g) {
            *pp = g->next;
            break;
        }
    free(g);
}

static void on_golden_paused(void *ud, const char *id, const struct host_result *res)
{
    struct api_golden *g = ud;
    if (res->err == HOST_OK && rename(g->tmp, g->dir) == 0) {
        log_info(NULL, "golden snapshot ready", "{s:s}", "dir", g->dir);
    } else {
        log_warn(NULL, "golden snapshot failed; creates keep booting", "{s:s,s:s}", "dir",
                 g->dir, "err", res->err == HOST_OK ? strerror(errno) : res->msg);
        (void)snapshot_remove(g->tmp);
        if (res->err != HOST_OK && res->err != HOST_E_CANCELED)
            host_vm_destroy(g->ctx->host, id, NULL, NULL);
    }
    golden_free(g);
}

static void on_golden_grown(void *ud, int err, int status, const char *msg)
{
    struct api_golden *g = ud;
    if (err < 0 || status != 0) {
        log_warn(NULL, "golden snapshot: cannot grow the file system", "{s:s,s:s}", "dir",
                 g->dir, "err", msg);
        host_vm_destroy(g->ctx->host, g->id, NULL, NULL);
        golden_free(g);
        return;
    }
    host_vm_pause(g->ctx->host, g->id, g->tmp, on_golden_paused, g);
}

static void on_golden_booted(void *ud, const char *id, const struct host_result *res)
{
    struct api_golden *g = ud;
    if (res->err != HOST_OK) {
        log_warn(NULL, "golden snapshot: boot failed", "{s:s,s:s}", "dir", g->dir, "err",
                 res->msg);
        golden_free(g);
        return;
    }
    /* the snapshot carries a file system that fills its disk, as a cold create's does */
    if (g->grow && guest_run(g->ctx->host, g->ctx->base, id, guest_grow_root_argv(), 60000,
                             on_golden_grown, g) == 0)
        return;
    host_vm_pause(g->ctx->host, id, g->tmp, on_golden_paused, g);
}

void api_golden_build(struct api_ctx *ctx, const char *image, unsigned vcpus, unsigned mem_mib,
                      uint64_t disk_mib, uint32_t cpu_quota_pct, bool grow)
{
    if (!ctx->set.golden || !ctx->host || !ctx->set.golden_dir[0])
        return;
    struct api_golden *g = calloc(1, sizeof(*g));
    if (!g)
        return;
    g->ctx = ctx;
    g->grow = grow;
    if (golden_key_dir(ctx, image, vcpus, mem_mib, disk_mib, g->dir) < 0 ||
        (size_t)snprintf(g->tmp, sizeof(g->tmp), "%s.tmp", g->dir) >= sizeof(g->tmp) ||
        ids_new_sandbox(g->id) < 0) {
        free(g);
        return;
    }
    for (struct api_golden *o = ctx->goldens; o; o = o->next)
        if (strcmp(o->dir, g->dir) == 0) {
            free(g); /* being built */
            return;
        }
    /* a golden dir without meta.json was discarded and may still back clones' disks: it is
     * left alone (docs/snapshots.md) */
    if (access(g->dir, F_OK) == 0 || (mkdir(ctx->set.golden_dir, 0700) < 0 && errno != EEXIST)) {
        free(g);
        return;
    }
    (void)snapshot_remove(g->tmp); /* a crashed build's leftovers */
    g->next = ctx->goldens;
    ctx->goldens = g;
    log_info(NULL, "golden snapshot: building", "{s:s,s:s,s:i,s:i}", "dir", g->dir, "image",
             image, "vcpus", (int)vcpus, "mem_mib", (int)mem_mib);
    struct host_vm_spec spec = { .id = g->id, .rootfs = image, .vcpus = vcpus,
                                 .memory_mib = mem_mib, .disk_mib = disk_mib,
                                 .cpu_quota_pct = cpu_quota_pct,
                                 .extra_append = "hearth.hostname=sandbox" };
    /* a tap without routes or rules: the guest negotiates the tap's offloads (checksum, TSO)
     * at boot and its clones keep them; on a hub port they would run without */
    int tap = api_net_tap_only(ctx, g->id);
    spec.tap_fd = tap;
    host_vm_create(ctx->host, &spec, on_golden_booted, g);
    if (tap >= 0)
        close(tap);
}

/* ---- auto-pause (§2.14.8) ---- */

#define IDLE_CHECK_MS 2000

struct idle_entry {
    char id[STORE_ID_SIZE];
    int64_t last_ms;          /* last activity */
    unsigned streams;         /* open exec streams */
};

struct api_idle {
    struct idle_entry *v;
    size_t n, cap;
    struct event *timer;
};

static struct idle_entry *idle_get(struct api_ctx *ctx, const char *id, bool add)
{
    struct api_idle *I = ctx->idle;
    if (!I)
        return NULL;
    for (size_t i = 0; i < I->n; i++)
        if (strcmp(I->v[i].id, id) == 0)
            return &I->v[i];
    if (!add)
        return NULL;
    if (I->n == I->cap) {
        size_t cap = I->cap ? I->cap * 2 : 16;
        struct idle_entry *v = realloc(I->v, cap * sizeof(*v));
        if (!v)
            return NULL;
        I->v = v;
        I->cap = cap;
    }
    struct idle_entry *e = &I->v[I->n++];
    *e = (struct idle_entry){ .last_ms = timefmt_now_ms() };
    snprintf(e->id, sizeof(e->id), "%s", id);
    return e;
}

void api_idle_touch(struct api_ctx *ctx, const char *id)
{
    struct idle_entry *e = idle_get(ctx, id, true);
    if (e)
        e->last_ms = timefmt_now_ms();
}

void api_idle_stream(struct api_ctx *ctx, const char *id, bool open)
{
    struct idle_entry *e = idle_get(ctx, id, true);
    if (!e)
        return;
    if (open)
        e->streams++;
    else if (e->streams)
        e->streams--;
    e->last_ms = timefmt_now_ms();
}

static void on_idle_timer(evutil_socket_t fd, short what, void *arg)
{
    struct api_ctx *ctx = arg;
    struct api_idle *I = ctx->idle;
    int64_t now = timefmt_now_ms();
    for (size_t i = 0; i < I->n;) {
        struct idle_entry *e = &I->v[i];
        struct store_sandbox sb;
        store_sandbox_init(&sb);
        int r = store_sandbox_get(ctx->store, NULL, e->id, &sb);
        bool drop = r < 0 || sb.status != STORE_RUNNING || sb.auto_pause_after_seconds <= 0;
        if (!drop && sb.auto_pause_after_seconds > 0 && e->streams == 0 &&
            now - e->last_ms >= sb.auto_pause_after_seconds * 1000 && ctx->host &&
            !ctx->draining) {
            log_info(NULL, "sandbox idle: auto-pause", "{s:s,s:I}", "sandbox", e->id,
                     "idle_s", (json_int_t)((now - e->last_ms) / 1000));
            (void)pause_start(ctx, e->id, NULL);
            drop = true;
        }
        store_sandbox_release(&sb);
        if (drop && e->streams == 0) {
            I->v[i] = I->v[--I->n];
            continue;
        }
        i++;
    }
    struct timeval tv = { IDLE_CHECK_MS / 1000, (IDLE_CHECK_MS % 1000) * 1000 };
    event_add(I->timer, &tv);
}

int api_idle_start(struct api_ctx *ctx)
{
    struct api_idle *I = calloc(1, sizeof(*I));
    if (!I)
        return -ENOMEM;
    I->timer = evtimer_new(ctx->base, on_idle_timer, ctx);
    if (!I->timer) {
        free(I);
        return -ENOMEM;
    }
    ctx->idle = I;
    /* running sandboxes with auto-pause are picked up as they are touched; after a restart
     * each gets a fresh idle period from its first touch (the timer restarts at resume) */
    struct timeval tv = { IDLE_CHECK_MS / 1000, (IDLE_CHECK_MS % 1000) * 1000 };
    event_add(I->timer, &tv);
    return 0;
}

void api_snapshots_stop(struct api_ctx *ctx)
{
    /* a golden build is only a cache: its VM must not outlive hearthd (the next create
     * starts it again) */
    while (ctx->goldens) {
        struct api_golden *g = ctx->goldens;
        ctx->goldens = g->next;
        if (ctx->host)
            host_vm_discard(ctx->host, g->id);
        (void)snapshot_remove(g->tmp);
        free(g);
    }
}

void api_snapshots_release(struct api_ctx *ctx)
{
    while (ctx->goldens) {
        struct api_golden *g = ctx->goldens;
        ctx->goldens = g->next;
        free(g);
    }
    if (ctx->idle) {
        if (ctx->idle->timer)
            event_free(ctx->idle->timer);
        free(ctx->idle->v);
        free(ctx->idle);
        ctx->idle = NULL;
    }
}
