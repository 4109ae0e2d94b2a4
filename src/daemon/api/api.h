/* SPDX-License-Identifier: MIT */
/* api.h: the REST API of hearthd (spec/API.md) on top of the HTTP layer: one handler
 * (api_handle) routes every request (router.c), authenticates it (auth.c) and calls the
 * resource files (catalog.c, sandboxes.c). The context is owned by serve.c; the API keeps
 * nothing global. Everything runs on the loop thread. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "daemon/api/metrics.h"

struct store;
struct host;
struct host_exit;
struct event_base;
struct http_request;
struct api_golden;
struct api_idle;
struct api_net;

/* Operator settings the API needs (copied from the daemon config by serve.c). */
struct api_settings {
    char region[64];                /* answers in SandboxView.region; create's region must match */
    char host_id[64];               /* this host's id (/v1/hosts) */
    char images_dir[1024];          /* catalog images: vmlinux, debian-12.ext4, minimal.ext4 */
    char ingress_domain[254];       /* "" = no ingress_url_template */
    char ingress_scheme[8];         /* https | http */
    int64_t max_disk_mib;           /* create's disk_mib ceiling */
    int64_t bandwidth_quota_bytes;  /* default quota, -1 unmetered */
    uint32_t max_sandboxes;         /* per user, non-terminal; 0 = unlimited */
    char snapshots_dir[1024];       /* <data_dir>/snapshots: <sandbox id>/<ulid>/ per pause */
    char golden_dir[1024];          /* <data_dir>/golden: one booted VM per (image, shape) */
    bool golden;                    /* create by restoring golden snapshots (default on) */
};

struct api_ctx {
    struct store *store;                    /* borrowed; owned by serve.c */
    struct api_settings set;
    struct host *host;                      /* borrowed; NULL: no VM layer (routes that
                                               need a VM answer 503 unavailable) */
    struct event_base *base;                /* borrowed; the loop (timers) */
    struct api_metrics metrics;             /* request counters for /metrics */
    bool draining;                          /* shutting down: readyz 503, hosts draining */
    struct api_golden *goldens;             /* golden snapshots being built (snapshots.c) */
    struct api_idle *idle;                  /* auto-pause bookkeeping (snapshots.c) */
    int64_t started_ms;
    struct api_net *net;                    /* networking (netplane.c); NULL: not started */
};

/* Prepares ctx (zeroes it; the caller then sets store, set, host). */
void api_ctx_init(struct api_ctx *ctx);
/* Frees what api_ctx_init and the requests accumulated (metrics). */
void api_ctx_release(struct api_ctx *ctx);

/* The http_handler_fn of the API listener; ud is the struct api_ctx. */
void api_handle(struct http_request *req, void *ud);

/* host_exit_fn for host_set_on_exit() (ud: the struct api_ctx): a VM that died unasked turns
 * its running (or creating) sandbox `failed` and its run dir is removed (lifecycle.c). */
void api_on_vm_exit(void *ud, const char *id, const struct host_exit *ex);
