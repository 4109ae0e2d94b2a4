/* SPDX-License-Identifier: MIT */
/* server.c: the http_server object: limits, listeners, the list of connections, and graceful
 * shutdown. Accepting creates a connection (conn.c); everything per-request lives there. */
#include "daemon/http/http_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/mono.h"

void http_limits_default(struct http_limits *l)
{
    *l = (struct http_limits){
        .max_header_bytes = 64 * 1024,
        .max_headers = 128,
        .max_json_body = 8 * 1024 * 1024,
        .header_timeout_ms = 30 * 1000,
        .idle_timeout_ms = 75 * 1000,
        .body_timeout_ms = 60 * 1000,
        .write_timeout_ms = 120 * 1000,
        .linger_ms = 1000,
        .max_connections = 4096,
        .read_high_water = 256 * 1024,
        .write_low_water = 64 * 1024,
    };
}

static void on_done_ev(evutil_socket_t fd, short what, void *ud)
{
    struct http_server *srv = ud;
    if (srv->shutdown_timer)
        evtimer_del(srv->shutdown_timer);
    if (srv->on_shutdown) {
        http_shutdown_fn fn = srv->on_shutdown;
        srv->on_shutdown = NULL;
        fn(srv, srv->shutdown_ud);
    }
}

static void abort_all(struct http_server *srv)
{
    struct http_conn *c = srv->conns;
    while (c) {
        struct http_conn *next = c->next;
        http_conn_abort(c);
        c = next;
    }
}

static void on_shutdown_deadline(evutil_socket_t fd, short what, void *ud)
{
    abort_all(ud);
}

static void on_accept_resume(evutil_socket_t fd, short what, void *ud)
{
    struct http_server *srv = ud;
    srv->accept_paused = false;
    if (srv->draining)
        return; /* shutdown disabled them for good */
    for (unsigned i = 0; i < srv->nlisteners; i++)
        evconnlistener_enable(srv->listeners[i]);
}

/* libevent calls this for an accept() error it cannot retry at once (EAGAIN, EINTR and
 * ECONNABORTED it swallows). Without it, it only warns, and with EMFILE the listening socket
 * stays readable: the loop spins at 100% CPU until some fd closes. */
static void on_accept_error(struct evconnlistener *l, void *ud)
{
    struct http_server *srv = ud;
    int err = EVUTIL_SOCKET_ERROR();
    srv->accept_errors++;
    if (!srv->accept_paused) {
        srv->accept_paused = true;
        for (unsigned i = 0; i < srv->nlisteners; i++)
            evconnlistener_disable(srv->listeners[i]);
        struct timeval tv = { 0, HTTP_ACCEPT_PAUSE_MS * 1000 };
        evtimer_add(srv->accept_timer, &tv);
    }
    int64_t now = mono_now_us();
    if (srv->accept_reported_us && now - srv->accept_reported_us < HTTP_ACCEPT_REPORT_MS * 1000LL)
        return;
    srv->accept_reported_us = now;
    unsigned long n = srv->accept_errors;
    srv->accept_errors = 0;
    if (srv->on_accept_error)
        srv->on_accept_error(err > 0 ? -err : -EIO, n, srv->accept_error_ud);
}

void http_server_set_accept_error(struct http_server *srv, http_accept_error_fn fn, void *ud)
{
    srv->on_accept_error = fn;
    srv->accept_error_ud = ud;
}

struct http_server *http_server_new(struct event_base *base, const struct http_limits *limits,
                                    http_handler_fn handler, void *ud)
{
    struct http_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return NULL;
    srv->base = base;
    if (limits)
        srv->limits = *limits;
    else
        http_limits_default(&srv->limits);
    srv->handler = handler;
    srv->ud = ud;
    srv->shutdown_timer = evtimer_new(base, on_shutdown_deadline, srv);
    srv->done_ev = event_new(base, -1, 0, on_done_ev, srv);
    srv->accept_timer = evtimer_new(base, on_accept_resume, srv);
    if (!srv->shutdown_timer || !srv->done_ev || !srv->accept_timer) {
        http_server_free(srv);
        return NULL;
    }
    return srv;
}

void http_server_set_error_body(struct http_server *srv, http_error_body_fn fn)
{
    srv->error_body = fn;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *ud)
{
    struct http_server *srv = ud;
    if (srv->draining || srv->nconns >= srv->limits.max_connections) {
        close(fd);
        return;
    }
    SSL_CTX *tls = NULL;
    for (unsigned i = 0; i < srv->nlisteners; i++)
        if (srv->listeners[i] == l)
            tls = srv->tls[i];
    /* (void): on failure the fd is closed inside; the client sees a reset and retries */
    (void)http_conn_new(srv, fd, sa, socklen > 0 ? (socklen_t)socklen : 0, tls);
}

/* ALPN: we speak HTTP/1.1 only. A client offering h2 alone gets no ALPN answer and decides
 * itself (curl falls back to HTTP/1.1); one that offers http/1.1 gets it confirmed. */
static int on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned inlen, void *arg)
{
    static const unsigned char h1[] = { 8, 'h', 't', 't', 'p', '/', '1', '.', '1' };
    unsigned char *sel = NULL;
    if (SSL_select_next_proto(&sel, outlen, h1, sizeof(h1), in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

/* The floor every TLS listener gets (docs/security.md): TLS 1.2 or newer, no TLS compression
 * (CRIME), no renegotiation started by the client (a cheap CPU burner), the server's cipher
 * order, and only HTTP/1.1 in ALPN. Idle connections give their record buffers back (about
 * 34 KiB each), which matters with thousands of keep-alive clients. */
static int tls_ctx_harden(SSL_CTX *ctx)
{
    /* a floor only: a context that asks for more (the host channel: TLS 1.3) keeps it */
    long min = SSL_CTX_get_min_proto_version(ctx);
    if ((min == 0 || min < TLS1_2_VERSION) &&
        SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
        return -EINVAL;
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                 SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_alpn_select_cb(ctx, on_alpn, NULL);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    return 0;
}

static int add_listener(struct http_server *srv, struct evconnlistener *l, SSL_CTX *tls)
{
    if (!l)
        return errno ? -errno : -EIO;
    if (srv->nlisteners == HTTP_MAX_LISTENERS) {
        evconnlistener_free(l);
        return -ENOSPC;
    }
    if (tls && (tls_ctx_harden(tls) < 0 || SSL_CTX_up_ref(tls) != 1)) {
        evconnlistener_free(l);
        return -EINVAL;
    }
    evconnlistener_set_error_cb(l, on_accept_error);
    if (srv->accept_paused)
        evconnlistener_disable(l);
    srv->tls[srv->nlisteners] = tls;
    srv->listeners[srv->nlisteners++] = l;
    return 0;
}

static int listen_on(struct http_server *srv, const char *host, uint16_t port, SSL_CTX *tls)
{
    struct sockaddr_storage ss = { 0 };
    socklen_t len;
    if (!host)
        host = "127.0.0.1";
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        len = sizeof(*s4);
    } else if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        len = sizeof(*s6);
    } else {
        return -EINVAL;
    }
    errno = 0;
    struct evconnlistener *l = evconnlistener_new_bind(
        srv->base, on_accept, srv,
        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 511,
        (struct sockaddr *)&ss, (int)len);
    return add_listener(srv, l, tls);
}

int http_server_listen(struct http_server *srv, const char *host, uint16_t port)
{
    return listen_on(srv, host, port, NULL);
}

int http_server_listen_tls(struct http_server *srv, const char *host, uint16_t port,
                           struct ssl_ctx_st *ctx)
{
    return ctx ? listen_on(srv, host, port, ctx) : -EINVAL;
}

int http_server_listen_fd(struct http_server *srv, int fd)
{
    errno = 0;
    if (evutil_make_socket_nonblocking(fd) < 0 || evutil_make_socket_closeonexec(fd) < 0) {
        int r = errno ? -errno : -EIO;
        close(fd);
        return r;
    }
    struct evconnlistener *l = evconnlistener_new(
        srv->base, on_accept, srv, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
    if (!l)
        close(fd);
    return add_listener(srv, l, NULL);
}

uint16_t http_server_port(const struct http_server *srv)
{
    if (srv->nlisteners == 0)
        return 0;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(evconnlistener_get_fd(srv->listeners[0]), (struct sockaddr *)&ss, &len) < 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return 0;
}

unsigned http_server_connections(const struct http_server *srv)
{
    return srv->nconns;
}

void http_server_shutdown(struct http_server *srv, unsigned timeout_ms, http_shutdown_fn done,
                          void *ud)
{
    srv->draining = true;
    srv->on_shutdown = done;
    srv->shutdown_ud = ud;
    for (unsigned i = 0; i < srv->nlisteners; i++)
        evconnlistener_disable(srv->listeners[i]);
    struct http_conn *c = srv->conns;
    while (c) {
        struct http_conn *next = c->next;
        c->close_after = true;
        if (c->state == HTTP_CONN_HEAD && c->idle)
            http_conn_abort(c); /* idle keep-alive: nothing in flight */
        else
            http_conn_kick(c);
        c = next;
    }
    struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
    evtimer_add(srv->shutdown_timer, &tv);
    if (srv->nconns == 0)
        event_active(srv->done_ev, EV_TIMEOUT, 0);
}

void http_server_free(struct http_server *srv)
{
    if (!srv)
        return;
    for (unsigned i = 0; i < srv->nlisteners; i++) {
        evconnlistener_free(srv->listeners[i]);
        SSL_CTX_free(srv->tls[i]); /* NULL is fine */
    }
    srv->nlisteners = 0;
    srv->on_shutdown = NULL;
    abort_all(srv);
    if (srv->shutdown_timer)
        event_free(srv->shutdown_timer);
    if (srv->done_ev)
        event_free(srv->done_ev);
    if (srv->accept_timer)
        event_free(srv->accept_timer);
    free(srv);
}
