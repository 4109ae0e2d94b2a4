/* SPDX-License-Identifier: MIT */
/* ingress_internal.h: what the files of the ingress proxy share (ingress.c: servers, routing,
 * the periodic tick; upstream.c: guest connections and their pool; exchange.c: one proxied
 * request; ws_pipe.c: an upgraded connection; error_page.c: the proxy's own answers). Nothing
 * outside src/daemon/ingress includes it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/ctl/ingress_target.h"
#include "daemon/host/agent_client.h"
#include "daemon/ingress/ingress.h"
#include "daemon/ingress/ingress_stats.h"
#include "daemon/ingress/upstream_resp.h"

struct evbuffer;
struct event;
struct http_request;
struct http_server;

#define INGRESS_HIGH (256u * 1024u)     /* queued bytes past which a producer waits */
#define INGRESS_POOL_MAX 64             /* idle guest connections kept, all sandboxes */
#define INGRESS_POOL_PER_PORT 16        /* … per (sandbox, port) */
#define INGRESS_POOL_IDLE_MS 15000      /* an idle guest connection is closed after this */
#define INGRESS_HEAD_MAX (64u * 1024u)  /* a guest's response head */
#define INGRESS_HEADERS_MAX 128u        /* … and its header fields */
#define INGRESS_METER_SLOTS 64          /* sandboxes with uncounted bytes between ticks */
/* the one 404 text, whatever the reason (docs/ingress-ssh.md "Errors") */
#define INGRESS_404_TEXT                                                                         \
    "There is no sandbox at this address, or it does not take ingress traffic."

/* Whoever uses a guest connection now: an exchange (one request) or a pipe (after a 101). */
struct upstream_owner_ops {
    /* Guest bytes; return 0 or AGENT_DATA_HOLD (credit held until upstream_consumed()). */
    int (*on_data)(void *owner, const uint8_t *p, size_t len, bool eof);
    /* The connection is up (a fresh one only). */
    void (*on_open)(void *owner);
    /* Queued bytes for the guest went out: room again. */
    void (*on_room)(void *owner);
    /* The stream ended; the upstream is gone after this returns. */
    void (*on_end)(void *owner, const struct agent_end *end);
};

/* One agent TCP stream to (sandbox, port). */
struct upstream {
    struct ingress *ing;
    char id[STORE_ID_SIZE];
    uint16_t port;
    uint32_t stream;
    struct agent_stream_ops ops;
    bool open;                 /* the agent stream has not ended */
    bool connected;            /* TCP_CONNECTED came */
    bool counted;              /* counted active (ctl_sandbox_tunnel_open) */
    bool guest_eof;            /* the guest shut its side */
    bool finish_queued;        /* host_stream_finish once tx is empty */
    bool finished;
    struct evbuffer *tx;       /* bytes for the guest waiting for stream credit */
    const struct upstream_owner_ops *oops;
    void *owner;               /* NULL while pooled */
    int64_t idle_since_us;     /* pooled: when it was put back */
    struct upstream *prev, *next; /* ing->ups: every upstream */
    bool pooled;
    int depth;
    bool dead;
};

/* Uncounted bytes into one sandbox. */
struct meter_slot {
    char id[STORE_ID_SIZE];
    uint64_t bytes;
};

/* One listener's server: requests on it came in over TLS or not. */
struct ingress_srv {
    struct ingress *ing;
    struct http_server *srv;       /* owned; NULL until asked for */
    bool https;
};

struct ingress {
    struct event_base *base;
    struct ctl *ctl;
    char domain[254];
    struct ingress_settings set;
    struct ingress_srv srvs[2];    /* [0] plain HTTP, [1] HTTPS */
    struct upstream *ups;          /* every live upstream (pooled ones included) */
    unsigned npooled;
    struct meter_slot meter[INGRESS_METER_SLOTS];
    struct event *tick;            /* once a second: counters, pool expiry, ingress-off check */
    struct ingress_stats stats;    /* the operator metrics (ingress_stats.h) */
    unsigned shutdowns_pending;
    void (*shutdown_done)(void *ud);
    void *shutdown_ud;
};

/* upstream.c */
/* A pooled idle connection to (id, port), now owned by owner; NULL when none. */
struct upstream *upstream_take(struct ingress *ing, const char *id, uint16_t port,
                               const struct upstream_owner_ops *oops, void *owner);
/* Opens a new connection (owner's on_open or on_end follows, maybe inside). 0 or the ctl
 * error in e with nothing open. */
int upstream_open(struct ingress *ing, const char *id, uint16_t port,
                  const struct upstream_owner_ops *oops, void *owner, struct upstream **ret,
                  struct ctl_error *e);
/* Queues bytes for the guest (counted as ingress bytes once taken). 0 or -ENOMEM. */
int upstream_send(struct upstream *u, const void *p, size_t len);
/* Bytes queued and not yet taken by the stream. */
size_t upstream_queued(const struct upstream *u);
/* The guest may have len held bytes of credit back. */
void upstream_consumed(struct upstream *u, size_t len);
/* EOF to the guest after what is queued. */
void upstream_finish(struct upstream *u);
/* The owner is done: back to the pool when reusable, else closed. */
void upstream_release(struct upstream *u, bool reusable);
/* Closes at once: the owner (if any) gets on_end inside. */
void upstream_kill(struct upstream *u);
/* Once a second: idle pool entries expire, and every connection of a sandbox whose ingress
 * was switched off (or which stopped running) is closed. */
void upstream_tick(struct ingress *ing);
void upstream_close_all(struct ingress *ing);

/* ingress.c */
void ingress_meter_add(struct ingress *ing, const char *id, uint64_t bytes);

/* exchange.c: proxies req (referenced by the exchange) to port of the resolved sandbox;
 * https says how the client came in; t0_us (mono_now_us()) when its head came. Answers every
 * error itself. */
void exchange_start(struct ingress *ing, struct http_request *req,
                    const struct ctl_ingress_target *t, uint16_t port, bool https,
                    const char *client_ip, int64_t t0_us);

/* ws_pipe.c: after the guest's 101, bytes both ways between the client's connection (bev,
 * owned from now on) and u (owned from now on); rest is what the guest sent after its head. */
struct bufferevent;
void ws_pipe_start(struct ingress *ing, struct bufferevent *bev, struct upstream *u,
                   const uint8_t *rest, size_t rest_len);

/* error_page.c: the proxy's own answer (docs/ingress-ssh.md "Errors"): a small page, HTML when
 * the client accepts it, else plain text, never cached; counted in ing's metrics with the time
 * since t0_us (mono_now_us() when the request's head came). */
void ingress_error(struct ingress *ing, struct http_request *req, int64_t t0_us, int status,
                   const char *what);
