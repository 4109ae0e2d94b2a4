/* SPDX-License-Identifier: MIT */
/* ingress.c: the ingress proxy's servers and routing (ingress.h): each request's Host names a
 * port and a sandbox (host_route.h), private ingress checks the credential first (before any
 * sandbox lookup, so a 401 says nothing about existence), the control layer resolves the
 * sandbox (one 404 for every miss), and exchange.c carries the request. A one-second tick
 * writes the batched ingress byte counters and closes what ingress-off sandboxes still hold. */
#include "daemon/ingress/ingress_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>

#include "common/buf.h"
#include "common/mono.h"
#include "daemon/ctl/auth_limit.h"
#include "daemon/ctl/credential.h"
#include "daemon/ctl/ctl.h"
#include "daemon/http/request.h"
#include "daemon/http/response.h"
#include "daemon/http/server.h"
#include "daemon/ingress/fwd_head.h"
#include "daemon/ingress/host_route.h"

void ingress_meter_add(struct ingress *ing, const char *id, uint64_t bytes)
{
    struct meter_slot *free_slot = NULL;
    for (size_t i = 0; i < INGRESS_METER_SLOTS; i++) {
        struct meter_slot *m = &ing->meter[i];
        if (m->bytes && strcmp(m->id, id) == 0) {
            m->bytes += bytes;
            return;
        }
        if (!m->bytes && !free_slot)
            free_slot = m;
    }
    if (!free_slot) { /* more sandboxes than slots within a second: write one out now */
        free_slot = &ing->meter[0];
        ctl_ingress_count(ing->ctl, free_slot->id, free_slot->bytes);
    }
    snprintf(free_slot->id, sizeof(free_slot->id), "%s", id);
    free_slot->bytes = bytes;
}

static void meter_flush(struct ingress *ing)
{
    for (size_t i = 0; i < INGRESS_METER_SLOTS; i++) {
        struct meter_slot *m = &ing->meter[i];
        if (m->bytes)
            ctl_ingress_count(ing->ctl, m->id, m->bytes);
        m->bytes = 0;
    }
}

static void on_tick(evutil_socket_t fd, short what, void *ud)
{
    struct ingress *ing = ud;
    (void)fd, (void)what;
    meter_flush(ing);
    upstream_tick(ing);
}

/* The peer's address as text for X-Forwarded-For. */
static void peer_text(const struct sockaddr *sa, char ip[64])
{
    snprintf(ip, 64, "unknown");
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, ip, 64);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, ip, 64);
}

/* Private ingress (docs/ingress-ssh.md "Private ingress"): X-Hearth-Token or the hearth_token
 * cookie. True with *cred filled; false when answered (401, 429, 503). */
static bool check_credential(struct ingress *ing, struct http_request *req, int64_t t0,
                             const struct sockaddr *peer, struct ctl_credential *cred)
{
    if (ctl_auth_limited(ing->ctl, CTL_AUTH_INGRESS, peer)) {
        ingress_error(ing, req, t0, 429, "too many failed credentials from this address; wait a little");
        return false;
    }
    size_t len = 0;
    const char *v = http_request_header(req, INGRESS_TOKEN_HEADER, &len);
    if (!v) {
        const char *cookie = http_request_header(req, "Cookie", NULL);
        v = cookie ? fwd_cookie_find(cookie, INGRESS_TOKEN_COOKIE, &len) : NULL;
    }
    if (!v || len == 0) {
        ingress_error(ing, req, t0, 401,
                      "this ingress is private: send an API key or the sandbox's access token "
                      "in the X-Hearth-Token header or the hearth_token cookie");
        return false;
    }
    int r = ctl_credential_check(ing->ctl, v, len, cred);
    if (r == -EACCES) {
        ctl_auth_failed(ing->ctl, CTL_AUTH_INGRESS, peer);
        ingress_error(ing, req, t0, 401, "the credential is not valid");
        return false;
    }
    if (r < 0) {
        ingress_error(ing, req, t0, 503, "cannot check the credential now; try again shortly");
        return false;
    }
    return true;
}

static void on_request(struct http_request *req, void *ud)
{
    struct ingress_srv *s = ud;
    struct ingress *ing = s->ing;
    int64_t t0 = mono_now_us();
    size_t hlen = 0;
    const char *host = http_request_header(req, "Host", &hlen);
    struct ingress_host h;
    int r = host ? ingress_host_parse(host, hlen, ing->domain, &h) : -EINVAL;
    if (r == -EDOM) {
        ingress_error(ing, req, t0, 400, "this address is not a sandbox address of this host");
        return;
    }
    if (r < 0) {
        ingress_error(ing, req, t0, 400,
                      "the Host must read <port>-<sandbox id or name>.<domain> with a port "
                      "from 1 to 65535");
        return;
    }
    /* over TLS the certificate was chosen for the SNI name: a Host naming another sandbox on
     * the same connection would be routed under a name the client did not verify */
    const char *sni = s->https ? http_request_sni(req) : NULL;
    if (sni && !ingress_host_same(sni, host, hlen)) {
        ingress_error(ing, req, t0, 421, "the Host does not match the TLS server name");
        return;
    }
    const struct sockaddr *peer = http_request_peer(req);
    char ip[64];
    peer_text(peer, ip);
    struct ctl_credential cred;
    if (ing->set.private_mode && !check_credential(ing, req, t0, peer, &cred))
        return;
    struct ctl_ingress_target t;
    struct ctl_error e;
    r = ctl_ingress_resolve(ing->ctl, h.ref, ing->set.private_mode ? &cred : NULL, &t, &e);
    if (r < 0) {
        if (e.code == CTL_E_NOT_FOUND)
            ingress_error(ing, req, t0, 404, INGRESS_404_TEXT);
        else
            ingress_error(ing, req, t0, 503, "the proxy cannot look the sandbox up now");
        return;
    }
    exchange_start(ing, req, &t, h.port, s->https, ip, t0);
}

struct ingress *ingress_new(struct event_base *base, struct ctl *c,
                            const struct ingress_settings *s)
{
    struct ingress *ing = calloc(1, sizeof(*ing));
    if (!ing)
        return NULL;
    ing->base = base;
    ing->ctl = c;
    ing->set = *s;
    snprintf(ing->domain, sizeof(ing->domain), "%s", s->domain ? s->domain : "");
    ing->set.domain = ing->domain;
    for (int i = 0; i < 2; i++) {
        ing->srvs[i].ing = ing;
        ing->srvs[i].https = i == 1;
    }
    ing->tick = event_new(base, -1, EV_PERSIST, on_tick, ing);
    struct timeval tv = { 1, 0 };
    if (!ing->tick || event_add(ing->tick, &tv) < 0) {
        ingress_free(ing);
        return NULL;
    }
    return ing;
}

/* Its own limits: a slow or flooding ingress client never holds the API's budget. */
static struct http_server *server_for(struct ingress *ing, int i)
{
    struct ingress_srv *s = &ing->srvs[i];
    if (s->srv)
        return s->srv;
    struct http_limits l;
    http_limits_default(&l);
    l.header_timeout_ms = ing->set.header_timeout_ms;
    l.idle_timeout_ms = ing->set.idle_timeout_ms;
    l.body_timeout_ms = ing->set.stall_timeout_ms;
    l.write_timeout_ms = ing->set.stall_timeout_ms;
    if (ing->set.max_connections)
        l.max_connections = ing->set.max_connections;
    s->srv = http_server_new(ing->base, &l, on_request, s);
    return s->srv;
}

struct http_server *ingress_http_server(struct ingress *ing)
{
    return server_for(ing, 0);
}

struct http_server *ingress_https_server(struct ingress *ing)
{
    return server_for(ing, 1);
}

static void on_drained(struct http_server *srv, void *ud)
{
    struct ingress *ing = ud;
    (void)srv;
    if (ing->shutdowns_pending > 0 && --ing->shutdowns_pending == 0 && ing->shutdown_done)
        ing->shutdown_done(ing->shutdown_ud);
}

void ingress_shutdown(struct ingress *ing, unsigned timeout_ms, void (*done)(void *ud),
                      void *ud)
{
    ing->shutdown_done = done;
    ing->shutdown_ud = ud;
    ing->shutdowns_pending = 1; /* held until every server was asked */
    for (int i = 0; i < 2; i++) {
        if (!ing->srvs[i].srv)
            continue;
        ing->shutdowns_pending++;
        http_server_shutdown(ing->srvs[i].srv, timeout_ms, on_drained, ing);
    }
    on_drained(NULL, ing);
}

int ingress_metrics_render(struct ingress *ing, struct buf *out)
{
    ing->stats.connections = 0;
    for (int i = 0; i < 2; i++)
        if (ing->srvs[i].srv)
            ing->stats.connections += http_server_connections(ing->srvs[i].srv);
    ing->stats.pooled = ing->npooled;
    return ingress_stats_render(&ing->stats, out);
}

void ingress_free(struct ingress *ing)
{
    if (!ing)
        return;
    for (int i = 0; i < 2; i++)
        http_server_free(ing->srvs[i].srv); /* in-flight exchanges get their abort */
    upstream_close_all(ing);
    meter_flush(ing);
    if (ing->tick)
        event_free(ing->tick);
    free(ing);
}
