/* SPDX-License-Identifier: MIT */
/* ingress.h: the ingress proxy of hearthd (docs/ingress-ssh.md "Ingress proxy"). Requests to
 * `<port>-<sandbox id or name>.<ingress_domain>` on its own listeners (an HTTP server instance
 * apart from the API's, with its own limits, so an ingress flood never slows the API) are
 * routed to that port inside the sandbox over an agent TCP stream: the sandbox woken first if
 * paused, the head rewritten, bodies streamed both ways under backpressure, WebSocket and other
 * upgrades piped through. cmd_serve.c owns it. Everything runs on the loop thread. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct buf;
struct event_base;
struct ctl;
struct ingress;
struct http_server;

struct ingress_settings {
    const char *domain;            /* ingress_domain (copied) */
    bool private_mode;             /* ingress_private: a credential on every request */
    unsigned header_timeout_ms;    /* client head (slowloris): 408 */
    unsigned idle_timeout_ms;      /* client keep-alive idle */
    unsigned stall_timeout_ms;     /* no body byte / no output progress */
    unsigned upstream_timeout_ms;  /* request sent, no response head from the guest: 504 */
    unsigned max_connections;      /* client connections at once */
};

/* A proxy on base using c (both borrowed, must outlive it). NULL when out of memory. */
struct ingress *ingress_new(struct event_base *base, struct ctl *c,
                            const struct ingress_settings *s);
/* The plain-HTTP server (created on first call; requests on it get X-Forwarded-Proto http):
 * the caller listens with http_server_listen(). NULL when out of memory. */
struct http_server *ingress_http_server(struct ingress *ing);
/* The HTTPS server (requests on it get X-Forwarded-Proto https, and their TLS server name must
 * agree with their Host): the caller listens with http_server_listen_tls(). NULL when out of
 * memory. */
struct http_server *ingress_https_server(struct ingress *ing);
/* Starts the graceful shutdown of every server; done runs once when all have drained. */
void ingress_shutdown(struct ingress *ing, unsigned timeout_ms, void (*done)(void *ud),
                      void *ud);
/* Appends the hearth_ingress_* families (ingress_stats.h; docs/operations.md "Metrics"). 0 or
 * -ENOBUFS. */
__attribute__((warn_unused_result))
int ingress_metrics_render(struct ingress *ing, struct buf *out);
/* Closes everything (upstream streams cancelled, counters flushed) and frees. NULL is fine. */
void ingress_free(struct ingress *ing);
