/* SPDX-License-Identifier: MIT */
/* template.h: templates, custom images built from a Dockerfile in microVMs (docs/api.md §3.10,
 * docs/templates.md): what the API asks (submit, read, list, delete, logs, build contexts) and
 * what a create needs (ctl_template_resolve). The builder behind it (template_build*.c) queues
 * builds, runs each step in a build VM, keeps every step's disk changes as a cached layer and
 * ends with the golden snapshot a create restores. Loop thread only. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/ctl/ctl.h"
#include "daemon/store/store.h"

struct ctl_caller;
struct buf;

/* The ready check after a template's start command (docs/templates.md "Start command"): the
 * golden snapshot is taken once it passes. */
enum ctl_tpl_ready_kind {
    CTL_TPL_READY_NONE,                 /* no check: snapshot right after the start */
    CTL_TPL_READY_PORT,                 /* a TCP port in the guest accepts connections */
    CTL_TPL_READY_FILE,                 /* a path exists in the guest */
    CTL_TPL_READY_COMMAND,              /* a shell command exits 0 (retried) */
    CTL_TPL_READY_DELAY,                /* a fixed delay */
};
#define CTL_TPL_READY_TIMEOUT_DEFAULT_S 60
#define CTL_TPL_READY_TIMEOUT_MAX_S 600
#define CTL_TPL_START_MAX 4096          /* start_cmd and ready command, bytes */
#define CTL_TPL_MAX_LAYERS 24           /* a template's chain of layers, its base's included */

struct ctl_tpl_ready {
    enum ctl_tpl_ready_kind kind;
    uint16_t port;                      /* PORT: 1..65535 */
    char *arg;                          /* FILE: absolute path; COMMAND: the command; owned */
    uint32_t delay_ms;                  /* DELAY: 1..600000 */
    uint32_t timeout_s;                 /* 1..CTL_TPL_READY_TIMEOUT_MAX_S */
};

/* POST /v1/templates, parsed by the API (strings borrowed for the call). */
struct ctl_tpl_submit {
    const char *name;
    const char *dockerfile;
    size_t dockerfile_len;
    const char *base;                   /* NULL: taken from FROM; else must name the same image */
    const char *context;                /* "ctx_<64 hex>" from ctl_template_context_put, or NULL */
    const char *start_cmd;              /* NULL: none; run with /bin/sh -c, detached */
    struct ctl_tpl_ready ready;         /* borrowed arg */
    bool no_cache;
};

/* Validates (name, Dockerfile §3.10.1 with line numbers, base resolution, context, options,
 * quota max_templates), stores the template pending and queues its build. 0 and *ret (release
 * it), or CTL_E_BAD_DOCKERFILE (field "dockerfile", "line N: …"), CTL_E_INVALID (field
 * "base", "name", "context", "start_cmd", "ready"), CTL_E_NAME_TAKEN, CTL_E_QUOTA,
 * CTL_E_UNAVAILABLE (no VM layer), CTL_E_INTERNAL. */
__attribute__((warn_unused_result))
int ctl_template_submit(struct ctl *c, const struct ctl_caller *who,
                        const struct ctl_tpl_submit *req, struct store_template *ret,
                        struct ctl_error *e);
/* The caller's template by id or name; with_dockerfile reads the source too. CTL_E_NOT_FOUND
 * ("template not found"). */
__attribute__((warn_unused_result))
int ctl_template_get(struct ctl *c, const struct ctl_caller *who, const char *ref,
                     bool with_dockerfile, struct store_template *ret, struct ctl_error *e);
/* A page of the caller's live templates (store_template_list). */
__attribute__((warn_unused_result))
int ctl_template_list(struct ctl *c, const struct ctl_caller *who, size_t limit, size_t offset,
                      struct store_template **ret, size_t *ret_n, uint64_t *ret_total,
                      struct ctl_error *e);
/* Soft delete (§3.10.5): a pending or building template is cancelled (its build VM torn down,
 * its followers get the final frame "cancelled", its unfinished files removed); the name is
 * free at once; layers no live template and no sandbox needs are collected. Repeat by id:
 * 0 again. CTL_E_NOT_FOUND. */
__attribute__((warn_unused_result))
int ctl_template_delete(struct ctl *c, const struct ctl_caller *who, const char *ref,
                        struct ctl_error *e);

/* ---- logs (§3.10.6) ---- */

/* The plain log (attempt 0: all, each attempt headed by "--- attempt N ---" when there are
 * several) appended to out. CTL_E_NOT_FOUND; CTL_E_INVALID (field "attempt") for an attempt
 * the template never had. */
__attribute__((warn_unused_result))
int ctl_template_logs(struct ctl *c, const struct ctl_caller *who, const char *ref,
                      int32_t attempt, struct buf *out, struct ctl_error *e);

/* A follower of a build log. on_line runs for every stored line (the replay, from the loop,
 * never inside ctl_template_follow) and then for every new line; on_final exactly once, last,
 * with "ready", "failed" or "cancelled" (for an attempt filter: that attempt's outcome); after
 * on_final the follower is freed by the control layer (do not unfollow it). Lines are
 * borrowed for the call. */
struct ctl_tpl_follow;
struct ctl_tpl_follow_ops {
    void (*on_line)(void *ud, const struct store_tpl_log *line);
    void (*on_final)(void *ud, const char *status);
};
__attribute__((warn_unused_result))
int ctl_template_follow(struct ctl *c, const struct ctl_caller *who, const char *ref,
                        int32_t attempt, const struct ctl_tpl_follow_ops *ops, void *ud,
                        struct ctl_tpl_follow **ret, struct ctl_error *e);
/* The client went away: no callback runs after this. NULL is fine. */
void ctl_template_unfollow(struct ctl_tpl_follow *f);

/* ---- build contexts (a hearth extension: docs/api.md §3.10.7) ---- */

/* Takes the uploaded tar at path (a file the API wrote under ctl_template_upload_dir(); moved or
 * removed by this call): checks it (context_tar.h; limit template_context_max_mib) and keeps it
 * as ctx_<sha256 of its bytes>, shared by the user's templates. 0 with out (at least 72 bytes)
 * and *ret_size, or CTL_E_INVALID (field "context": the entry and why), CTL_E_NO_SPACE,
 * CTL_E_INTERNAL. */
__attribute__((warn_unused_result))
int ctl_template_context_put(struct ctl *c, const struct ctl_caller *who, const char *path,
                             char *out, uint64_t *ret_size, struct ctl_error *e);
/* Where the API writes uploads before ctl_template_context_put (made on demand), in out
 * (PATH_MAX). 0 or -errno. */
int ctl_template_upload_dir(struct ctl *c, char *out);

/* ---- what a create needs (sandbox_create.c) ---- */

struct ctl_tpl_image {
    char id[STORE_ID_SIZE];             /* tpl_<ULID>: the sandbox row's rootfs */
    char image[PATH_MAX];               /* the top layer (qcow2) to boot or clone */
    uint64_t fs_mib;                    /* its file system's size: disks below it are refused */
    char *start_cmd;                    /* owned; NULL when none */
    struct ctl_tpl_ready ready;         /* owned arg */
    char golden_tag[65];                /* hex key of (top layer, start_cmd, ready): the
                                           template's golden snapshots are keyed by it */
    /* the build's final runtime settings (the top layer's layer.json): what the start command
     * runs with */
    char **env;                         /* "KEY=value", NULL-terminated, owned; NULL: none */
    char workdir[1024];                 /* "" = / */
    char user[256];                     /* "" = root */
};
void ctl_tpl_image_release(struct ctl_tpl_image *t);
/* The user's template ref for a create (§3.2.1 rootfs): 0 and *ret when ready; CTL_E_UNKNOWN_REF
 * (field "rootfs") when no template has that name or id; CTL_E_NOT_FOUND ("template not
 * found") for a deleted one named by id; CTL_E_TEMPLATE_NOT_READY while pending/building; CTL_E_INVALID (field "rootfs") when failed or cancelled. */
__attribute__((warn_unused_result))
int ctl_template_resolve(struct ctl *c, const char *user_id, const char *ref,
                         struct ctl_tpl_image *ret, struct ctl_error *e);

/* ---- the builder's life (service.c) ---- */

/* Start-up, after reconcile: builds left building by a stopped hearthd count as an attempt lost
 * to the infrastructure (retried up to 3 attempts, else failed with the reason); their leftover
 * files go; the queue starts; the collector runs once. Errors are logged. */
void ctl_templates_start(struct ctl *c);
/* Shutdown: running builds are abandoned (their VMs killed, rows left building for the next
 * start to retry); followers get no final frame (their connections close). */
void ctl_templates_stop(struct ctl *c);
void ctl_templates_release(struct ctl *c);
