/* SPDX-License-Identifier: MIT */
/* api.h: the REST API of hearthd (docs/api.md) on top of the HTTP layer: one handler
 * (api_handle) routes every request (router.c), authenticates it (auth.c) and calls the
 * resource files (catalog_routes.c, sandboxes.c, …), which parse the request, call one
 * operation of the control layer (ctl/) and write the reply. The context is owned by
 * cmd_serve.c; the API keeps nothing global. Everything runs on the loop thread. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "daemon/api/metrics.h"

struct ctl;
struct ctl_usage;
struct event_base;
struct http_request;
struct hostchan;

/* What GET /v1/ssh-gateway tells clients (docs/api.md §5.8), filled by cmd_serve.c once the
 * gateway listens; enabled false without one. */
#define API_SSH_HOST_KEYS 4
struct api_ssh_gateway {
    bool enabled;
    uint16_t port;
    bool password_auth;
    char host_keys[API_SSH_HOST_KEYS][1024]; /* "ssh-ed25519 AAAA…"; "" = none */
};

struct api_ctx {
    struct ctl *ctl;                        /* borrowed; the control layer, owned by
                                               cmd_serve.c (store, settings, host, loop) */
    struct api_metrics metrics;             /* request counters for /metrics */
    struct ctl_usage *usage;                /* borrowed; the usage sampler (ctl/usage.h), owned
                                               by cmd_serve.c; NULL: metrics routes 503 */
    int64_t started_ms;
    struct api_ssh_gateway ssh;             /* the SSH gateway, for its clients' known_hosts */
    bool console;                           /* serve the web console at / and /console/…
                                               (config console; api_ctx_init: true) */
    struct hostchan *chan;                  /* borrowed; the host channel (hostchan.h): requests
                                               for a sandbox another host runs are forwarded
                                               there; NULL: not configured (they answer 503) */
    bool channel;                           /* this context serves the host channel listener:
                                               callers are peer hosts (mutual TLS) and the
                                               identity comes in X-Hearth-Forwarded-* */
};

/* Prepares ctx (zeroes it, console on; the caller then sets ctl). */
void api_ctx_init(struct api_ctx *ctx);
/* Frees what the requests accumulated (metrics). */
void api_ctx_release(struct api_ctx *ctx);

/* The route table (router.c), for the OpenAPI check (tests/unit/api/test_openapi.c). */
struct api_route;
const struct api_route *api_routes(size_t *ret_n);

/* The http_handler_fn of the API listener; ud is the struct api_ctx. */
void api_handle(struct http_request *req, void *ud);
