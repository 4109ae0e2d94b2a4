/* SPDX-License-Identifier: MIT */
/* conn.c: one client connection: reads bytes, runs the request parser one message at a time,
 * gives each request to the handler, moves body bytes per the handler's chosen mode, and closes
 * (gracefully: flush, shut the write side, discard input for linger_ms) when the protocol says
 * so. Owns its bufferevent, timers and the current request's connection reference. Every
 * callback into the handler comes from here or from the drain/abort paths, never inline from an
 * API call; a connection is freed only when the outermost of its callbacks returns. */
#include "daemon/http/http_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>

#include "common/ulid.h"

static const char h2_preface[] = "PRI * HTTP/2.0";
static const char h2_reply_msg[] = "HTTP/2 is not supported; use HTTP/1.1";

static void conn_free(struct http_conn *c)
{
    struct http_server *srv = c->srv;
    if (c->req) {
        c->req->conn = NULL;
        http_request_unref(c->req);
        c->req = NULL;
    }
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->nconns--;
    http_reqparser_release(&c->parser);
    if (c->timer)
        event_free(c->timer);
    if (c->kick)
        event_free(c->kick);
    if (c->bev)
        bufferevent_free(c->bev);
    free(c);
    if (srv->draining && srv->nconns == 0 && srv->done_ev)
        event_active(srv->done_ev, EV_TIMEOUT, 0);
}

/* Marks the connection for freeing; frees now unless one of its callbacks is on the stack. */
static void conn_close_now(struct http_conn *c)
{
    c->dead = true;
    if (c->busy == 0)
        conn_free(c);
}

static void conn_enter(struct http_conn *c)
{
    c->busy++;
}

static void conn_leave(struct http_conn *c)
{
    if (--c->busy == 0 && c->dead)
        conn_free(c);
}

void http_conn_kick(struct http_conn *c)
{
    if (!c->dead)
        event_active(c->kick, EV_TIMEOUT, 0);
}

static void timer_arm(struct http_conn *c, enum http_timer_kind kind, unsigned ms)
{
    struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
    c->tkind = kind;
    evtimer_add(c->timer, &tv);
}

static void timer_disarm(struct http_conn *c)
{
    c->tkind = HTTP_TIMER_NONE;
    evtimer_del(c->timer);
}

/* Fires the body callback of the request once. */
static void body_finish(struct http_request *req, int err)
{
    if (req->body_cb_fired)
        return;
    req->body_cb_fired = true;
    if (req->body_mode == HTTP_BODY_BUFFER && req->on_done)
        req->on_done(req, err, req->body_ud);
    else if (req->body_mode == HTTP_BODY_STREAM && req->on_end)
        req->on_end(req, err, req->body_ud);
}

void http_conn_abort(struct http_conn *c)
{
    struct http_request *req = c->req;
    c->req = NULL;
    if (req) {
        req->conn = NULL;
        if (!req->resp_done) {
            req->body_cb_fired = true; /* abort replaces every other callback */
            if (req->on_abort)
                req->on_abort(req, req->abort_ud);
        } else {
            body_finish(req, -ECONNRESET);
        }
        http_request_unref(req);
    }
    conn_close_now(c);
}

bool http_conn_prepare_close(struct http_conn *c, struct http_request *req)
{
    if (!req->head->keep_alive || !req->body_complete || c->srv->draining)
        c->close_after = true;
    return c->close_after;
}

struct bufferevent *http_conn_detach(struct http_conn *c)
{
    struct bufferevent *bev = c->bev;
    bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
    bufferevent_set_timeouts(bev, NULL, NULL);
    bufferevent_setwatermark(bev, EV_READ | EV_WRITE, 0, 0);
    bufferevent_disable(bev, EV_READ);
    c->bev = NULL;
    if (c->req) {
        c->req->conn = NULL;
        http_request_unref(c->req);
        c->req = NULL;
    }
    conn_close_now(c);
    return bev;
}

/* Writes a complete server-generated response and moves to closing. */
static void conn_send_simple(struct http_conn *c, int status, const char *body,
                             const char *ctype)
{
    char id[ULID_LEN + 1];
    if (ulid_generate(id) < 0)
        snprintf(id, sizeof(id), "%s", "00000000000000000000000000");
    struct evbuffer *out = bufferevent_get_output(c->bev);
    /* (void): a failed append leaves a truncated reply; the close that follows ends it */
    (void)evbuffer_add_printf(out,
                              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                              "Content-Length: %zu\r\nConnection: close\r\n"
                              "X-Request-Id: req_%s\r\n\r\n%s",
                              status, http_status_reason(status), ctype, strlen(body), id, body);
    c->close_after = true;
    c->state = HTTP_CONN_CLOSING;
}

static const char *status_code_name(int status)
{
    switch (status) {
    case 408: return "request_timeout";
    case 413: return "payload_too_large";
    case 431: return "headers_too_large";
    default: return "invalid_request";
    }
}

/* A body for a protocol error in the application's format (http_server_set_error_body), or
 * the message as plain text when it set none. *ret_ctype is the body's Content-Type. */
static char *error_body(const struct http_server *srv, int status, const char *code,
                        const char *msg, const char **ret_ctype)
{
    if (srv && srv->error_body) {
        *ret_ctype = "application/json";
        return srv->error_body(status, code, msg);
    }
    *ret_ctype = "text/plain; charset=utf-8";
    char *text = NULL;
    return asprintf(&text, "%s\n", msg) < 0 ? NULL : text;
}

/* Answers a protocol error on a connection that has no request to answer through. */
static void conn_send_error(struct http_conn *c, int status, const char *code, const char *msg)
{
    const char *ctype;
    char *body = error_body(c->srv, status, code, msg, &ctype);
    conn_send_simple(c, status, body ? body : "bad request\n",
                     body ? ctype : "text/plain; charset=utf-8");
    free(body);
}

static int reply_protocol_error(struct http_request *req, int status, const char *code,
                                const char *msg)
{
    const char *ctype;
    char *body = error_body(req->conn ? req->conn->srv : NULL, status, code, msg, &ctype);
    if (!body)
        return http_response_send(req, status, "text/plain; charset=utf-8", "error\n", 6);
    int r = http_response_send(req, status, ctype, body, strlen(body));
    free(body);
    return r;
}

/* Answers a protocol error: through the request when one is current and unanswered (so the
 * client's X-Request-Id is kept), else with a bare response. Either way the connection closes. */
static void conn_fail(struct http_conn *c, int status, const char *msg)
{
    timer_disarm(c);
    struct http_request *req = c->req;
    c->close_after = true;
    const char *code = status >= 500 ? "http_version" : status_code_name(status);
    if (req && !req->resp_started) {
        /* (void): on failure the connection still closes after whatever was written */
        (void)reply_protocol_error(req, status, code, msg);
        return;
    }
    if (req) {
        http_conn_abort(c); /* a response was already under way: nothing sane to add */
        return;
    }
    conn_send_error(c, status, code, msg);
}

/* Stops the body with an error: the server answers (if the handler has not), the handler's
 * body callback gets err, and the connection closes after the response. */
static void body_fail(struct http_conn *c, struct http_request *req, int err, int status,
                      const char *msg)
{
    req->body_stopped = true;
    c->close_after = true;
    if (!req->resp_started) {
        /* (void): the connection closes after the response anyway */
        (void)reply_protocol_error(req, status, status_code_name(status), msg);
    }
    body_finish(req, err);
}

/* Feeds buffered input to the parser until it wants more or reports an event. */
static int conn_feed(struct http_conn *c, struct http_parse_err *err)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    for (;;) {
        /* an empty feed still reports a message that needs no more bytes (no body) */
        struct evbuffer_iovec v = { 0 };
        if (evbuffer_get_length(in) > 0 && evbuffer_peek(in, -1, NULL, &v, 1) < 1)
            return -EAGAIN;
        size_t used = 0;
        int r = http_reqparser_feed(&c->parser, v.iov_base, v.iov_len, &used, err);
        evbuffer_drain(in, used);
        if (r != -EAGAIN || c->dead || !c->bev || v.iov_len == 0)
            return r;
    }
}

/* Parser body callback: routes body bytes per the request's mode. 1 stops feeding. */
static int on_body_bytes(void *ud, const uint8_t *p, size_t len)
{
    struct http_conn *c = ud;
    struct http_request *req = c->req;
    if (!req || req->body_stopped)
        return 1;
    if (len > req->body_max - req->body_received) {
        req->body_err = -EMSGSIZE;
        req->body_stopped = true;
        return 1;
    }
    req->body_received += len;
    if (req->body_mode == HTTP_BODY_BUFFER) {
        if (buf_append(&req->body, p, len) < 0) {
            req->body_err = -EMSGSIZE;
            req->body_stopped = true;
            return 1;
        }
        return 0;
    }
    if (req->body_mode == HTTP_BODY_STREAM) {
        if (req->on_data(req, p, len, req->body_ud) < 0) {
            req->body_stopped = true;
            req->body_cb_fired = true; /* the handler stopped it; it needs no end callback */
            c->close_after = true;
            return 1;
        }
        return req->body_paused || c->dead || !c->req ? 1 : 0;
    }
    return 1;
}

/* Head state: wait for bytes, catch the HTTP/2 preface, parse, dispatch. */
static int step_head(struct http_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    size_t avail = evbuffer_get_length(in);
    const struct http_limits *l = &c->srv->limits;
    if (avail == 0) {
        if (c->idle && c->tkind != HTTP_TIMER_IDLE)
            timer_arm(c, HTTP_TIMER_IDLE, l->idle_timeout_ms);
        return 0;
    }
    if (c->idle) {
        c->idle = false;
        timer_arm(c, HTTP_TIMER_HEAD, l->header_timeout_ms);
    }
    if (c->parser.head_bytes == 0) {
        size_t n = avail < sizeof(h2_preface) - 1 ? avail : sizeof(h2_preface) - 1;
        const unsigned char *b = evbuffer_pullup(in, (ssize_t)n);
        if (b && memcmp(b, h2_preface, n) == 0) {
            if (n < sizeof(h2_preface) - 1)
                return 0; /* could still be the preface: the request line is not complete */
            timer_disarm(c);
            conn_send_error(c, 505, "http_version", h2_reply_msg);
            return 1;
        }
    }
    struct http_parse_err err;
    int r = conn_feed(c, &err);
    if (r == -EAGAIN)
        return 0;
    if (r == -EBADMSG) {
        conn_fail(c, err.status, err.msg);
        return 1;
    }
    timer_disarm(c);
    struct http_head *head = http_reqparser_take_head(&c->parser);
    struct http_request *req = head ? http_request_new(c, head) : NULL;
    if (!req) {
        http_conn_abort(c); /* out of memory: drop the connection */
        return 0;
    }
    c->req = req;
    c->state = HTTP_CONN_REQ;
    if (!http_head_has_body(head) && conn_feed(c, &err) == HTTP_PARSE_DONE)
        req->body_complete = true;
    if (req->target_err) {
        (void)reply_protocol_error(req, 400, "invalid_request",
                                   req->target_err == -E2BIG
                                       ? "request target has too many segments or parameters"
                                       : "malformed percent-encoding in request target");
        return 1;
    }
    http_request_ref(req); /* the handler may finish and unref it before returning */
    c->srv->handler(req, c->srv->ud);
    http_request_unref(req);
    return 1;
}

/* Request state: move body bytes, fire body callbacks, and finish the request once the
 * response has ended. */
static int step_req(struct http_conn *c)
{
    struct http_request *req = c->req;
    const struct http_limits *l = &c->srv->limits;
    struct http_parse_err err;
    if (req->body_mode != HTTP_BODY_NONE && !req->body_cb_fired) {
        if (req->body_err) {
            body_fail(c, req, req->body_err, req->body_err == -EMSGSIZE ? 413 : 400,
                      req->body_err == -EMSGSIZE ? "request body too large" : "bad body");
            return 1;
        }
        if (req->body_complete) {
            if (req->body_mode == HTTP_BODY_BUFFER && buf_append(&req->body, "", 1) == 0)
                req->body.len--; /* NUL-terminated for text use, not counted */
            body_finish(req, 0);
            return 1;
        }
        if (req->resp_done) {
            c->close_after = true;
            body_finish(req, -ECANCELED);
            return 1;
        }
        if (!req->body_paused && !req->body_stopped) {
            int r = conn_feed(c, &err);
            if (c->dead || c->req != req)
                return 0;
            if (r == -EAGAIN) {
                timer_arm(c, HTTP_TIMER_BODY, l->body_timeout_ms);
                return 0;
            }
            timer_disarm(c);
            if (r == -EBADMSG) {
                body_fail(c, req, -EBADMSG, err.status, err.msg);
                return 1;
            }
            if (r == HTTP_PARSE_DONE)
                req->body_complete = true;
            return 1;
        }
        timer_disarm(c);
    } else if (!req->body_complete) {
        if (!http_head_has_body(req->head)) {
            if (conn_feed(c, &err) == HTTP_PARSE_DONE)
                req->body_complete = true;
        } else if (req->resp_started || req->body_stopped) {
            c->close_after = true; /* the body will never be read */
        }
    }
    if (!req->resp_done)
        return 0;
    /* the request is over: hand the connection to the next one */
    timer_disarm(c);
    c->req = NULL;
    req->conn = NULL;
    http_request_unref(req);
    if (!c->parser.msg_done || c->srv->draining)
        c->close_after = true;
    if (c->close_after) {
        c->state = HTTP_CONN_CLOSING;
        return 1;
    }
    if (http_reqparser_reset(&c->parser) < 0) {
        c->state = HTTP_CONN_CLOSING;
        return 1;
    }
    c->state = HTTP_CONN_HEAD;
    c->idle = true;
    return 1;
}

void http_bev_shutdown_write(struct bufferevent *bev)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    /* (void)s: the peer may be gone already; the caller's EOF or deadline ends the connection.
     * One SSL_shutdown() only queues our close_notify (it writes straight to the socket, the
     * output evbuffer being empty); the peer's answer arrives through the read side as EOF. */
    if (ssl && SSL_is_init_finished(ssl))
        (void)SSL_shutdown(ssl);
    (void)shutdown(bufferevent_getfd(bev), SHUT_WR);
}

static int step_closing(struct http_conn *c)
{
    if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
        return 0; /* the write callback runs us again */
    http_bev_shutdown_write(c->bev);
    c->state = HTTP_CONN_LINGER;
    timer_arm(c, HTTP_TIMER_LINGER, c->srv->limits.linger_ms);
    return 1;
}

static void conn_process(struct http_conn *c)
{
    for (;;) {
        if (c->dead || !c->bev)
            return;
        int r = 0;
        switch (c->state) {
        case HTTP_CONN_HEAD:
            r = step_head(c);
            break;
        case HTTP_CONN_REQ:
            r = step_req(c);
            break;
        case HTTP_CONN_CLOSING:
            r = step_closing(c);
            break;
        case HTTP_CONN_LINGER: {
            struct evbuffer *in = bufferevent_get_input(c->bev);
            evbuffer_drain(in, evbuffer_get_length(in));
            return;
        }
        }
        if (r <= 0)
            return;
    }
}

static void on_read(struct bufferevent *bev, void *ud)
{
    struct http_conn *c = ud;
    conn_enter(c);
    conn_process(c);
    conn_leave(c);
}

static void on_write(struct bufferevent *bev, void *ud)
{
    struct http_conn *c = ud;
    conn_enter(c);
    struct http_request *req = c->req;
    if (req && req->resp_started && !req->resp_done && req->on_drain)
        req->on_drain(req, req->drain_ud);
    conn_process(c);
    conn_leave(c);
}

static void on_event(struct bufferevent *bev, short what, void *ud)
{
    struct http_conn *c = ud;
    if (what == BEV_EVENT_CONNECTED)
        return; /* the TLS handshake is done; the head timer keeps running */
    conn_enter(c);
    if (what & BEV_EVENT_EOF && c->state == HTTP_CONN_LINGER)
        conn_close_now(c);
    else
        http_conn_abort(c); /* EOF, error or write timeout: the client is gone */
    conn_leave(c);
}

static void on_timer(evutil_socket_t fd, short what, void *ud)
{
    struct http_conn *c = ud;
    enum http_timer_kind kind = c->tkind;
    c->tkind = HTTP_TIMER_NONE;
    conn_enter(c);
    switch (kind) {
    case HTTP_TIMER_IDLE:
    case HTTP_TIMER_LINGER:
        conn_close_now(c);
        break;
    case HTTP_TIMER_HEAD:
        if (c->ssl && !SSL_is_init_finished(c->ssl))
            http_conn_abort(c); /* a stalled TLS handshake: nothing to answer over */
        else
            conn_fail(c, 408, "request headers not received in time");
        break;
    case HTTP_TIMER_BODY:
        if (c->req && !c->req->resp_started)
            body_fail(c, c->req, -ETIMEDOUT, 408, "request body not received in time");
        else
            http_conn_abort(c);
        break;
    default:
        break;
    }
    conn_process(c);
    conn_leave(c);
}

static void on_kick(evutil_socket_t fd, short what, void *ud)
{
    struct http_conn *c = ud;
    conn_enter(c);
    conn_process(c);
    conn_leave(c);
}

/* The connection's bufferevent: a plain socket one, or libevent's OpenSSL one in the accepting
 * state, so the handshake runs inside it and everything above (parser, timers, bodies, the
 * upgrade hand-over) sees plaintext either way. Closes fd on failure. */
static struct bufferevent *conn_bev_new(struct http_conn *c, int fd, SSL_CTX *tls)
{
    struct event_base *base = c->srv->base;
    if (!tls)
        return bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    SSL *ssl = SSL_new(tls);
    if (!ssl)
        return NULL;
    /* with BEV_OPT_CLOSE_ON_FREE the bufferevent frees ssl and closes fd. When it fails (out
     * of memory only) libevent 2.1 may or may not have freed ssl already: leaking it then is
     * safer than a double free. */
    struct bufferevent *bev = bufferevent_openssl_socket_new(base, fd, ssl,
                                                             BUFFEREVENT_SSL_ACCEPTING,
                                                             BEV_OPT_CLOSE_ON_FREE);
    if (!bev)
        return NULL;
    /* a client that closes TCP without close_notify is an EOF like any other: nothing we
     * send depends on the client's truncation protection */
    bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    c->ssl = ssl;
    return bev;
}

int http_conn_new(struct http_server *srv, int fd, const struct sockaddr *peer,
                  socklen_t peer_len, SSL_CTX *tls)
{
    const struct http_limits *l = &srv->limits;
    struct http_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return -ENOMEM;
    }
    int one = 1;
    /* (void): Nagle only delays small NDJSON frames; failing to disable it is harmless */
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->srv = srv;
    if (peer && peer_len > 0 && peer_len <= sizeof(c->peer))
        memcpy(&c->peer, peer, peer_len);
    c->bev = conn_bev_new(c, fd, tls);
    if (!c->bev) {
        close(fd);
        free(c);
        return -ENOMEM;
    }
    /* linked first so conn_free() can unlink a half-built connection */
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    c->timer = evtimer_new(srv->base, on_timer, c);
    c->kick = event_new(srv->base, -1, 0, on_kick, c);
    if (!c->timer || !c->kick ||
        http_reqparser_init(&c->parser, l->max_header_bytes, l->max_headers, on_body_bytes, c) <
            0) {
        conn_free(c);
        return -ENOMEM;
    }
    size_t high = l->read_high_water;
    if (high <= l->max_header_bytes)
        high = l->max_header_bytes + 1;
    bufferevent_setwatermark(c->bev, EV_READ, 0, high);
    bufferevent_setwatermark(c->bev, EV_WRITE, l->write_low_water, 0);
    struct timeval wtv = { .tv_sec = l->write_timeout_ms / 1000,
                           .tv_usec = (l->write_timeout_ms % 1000) * 1000 };
    bufferevent_set_timeouts(c->bev, NULL, &wtv);
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) < 0) {
        conn_free(c);
        return -EIO;
    }
    c->state = HTTP_CONN_HEAD;
    /* a silent new client is a slow one; over TLS the handshake runs under this timer too */
    timer_arm(c, HTTP_TIMER_HEAD, l->header_timeout_ms);
    return 0;
}

