/* SPDX-License-Identifier: MIT */
/* forward.c: one request forwarded to the host that runs its sandbox (hostchan.h). A fresh
 * mutual-TLS connection per request (no pool: a forwarded request is as long as the work it
 * asks for, exec or a file, and a connection's cost is one TLS 1.3 handshake), the request
 * head rewritten (hop-by-hop and credential headers dropped, the caller's identity added,
 * Connection: close), the body streamed as it comes (sized, or re-chunked), the answer parsed
 * with http_parser and streamed back with the same status, headers and framing; a 101 hands
 * both connections to pipe.c. Backpressure both ways: the client's body pauses while the peer
 * has HC_HIGH bytes queued, the peer is not read while the client has.
 *
 * Never a hang: connecting and the handshake have connect_timeout_ms, the answer's first byte
 * first_byte_timeout_ms; after that TCP keepalive finds a peer that vanished. Every failure
 * before the answer began is a 503 unavailable with Retry-After; after, the client's
 * connection is cut (a body must not look whole when it is not). */
#include "daemon/hostchan/hostchan_internal.h"

#include <errno.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>
#include <openssl/err.h>

#include "common/buf.h"
#include "daemon/hostchan/ident.h"
#include "daemon/http/parser.h"
#include "daemon/http/request.h"
#include "daemon/http/response.h"
#include "daemon/log.h"

#define HC_HIGH (256u * 1024u)          /* queued bytes past which a producer waits */
#define HC_HEAD_MAX (64u * 1024u)       /* the peer's response head */
#define HC_HEADERS_MAX 128u
#define HC_RETRY_S 5

enum fwd_phase { FWD_CONNECTING, FWD_WAITING, FWD_STREAMING, FWD_DONE };

struct fwd {
    struct hostchan *hc;
    struct fwd *prev, *next;
    struct http_request *req;      /* a reference */
    struct bufferevent *up;        /* the peer; NULL once handed to a pipe or closed */
    struct event *timer;
    enum fwd_phase phase;
    char host_id[HOSTCHAN_ID_MAX + 1];
    char ident[1024];              /* the identity header lines */
    bool upgrade;                  /* the client asked for an Upgrade */
    bool chunked_up;               /* the request body goes up re-chunked */
    bool body_active;              /* body callbacks may still run: free after on_end */
    bool finished;                 /* the exchange is over; free when body_active clears */
    unsigned busy;                 /* inside http_parser_execute: free after it returns */
    /* the answer */
    http_parser parser;
    struct buf hdrs;               /* "name\0value\0" pairs */
    struct buf cur_name, cur_value;
    bool in_value;
    unsigned nheaders;
    size_t head_bytes;
    bool headers_done;
    bool message_done;
};

static const http_parser_settings *settings(void);

static void fwd_unlink_free(struct fwd *f)
{
    if (f->prev)
        f->prev->next = f->next;
    else
        f->hc->fwds = f->next;
    if (f->next)
        f->next->prev = f->prev;
    f->hc->nfwds--;
    if (f->timer)
        event_free(f->timer);
    if (f->up)
        bufferevent_free(f->up);
    http_request_on_abort(f->req, NULL, NULL);
    http_response_on_drain(f->req, NULL, NULL);
    http_request_unref(f->req);
    buf_release(&f->hdrs);
    buf_release(&f->cur_name);
    buf_release(&f->cur_value);
    free(f);
}

/* The exchange is over (answered, aborted or handed to a pipe): the peer closes now; f goes
 * once no body callback can run any more. */
static void fwd_finish(struct fwd *f)
{
    f->phase = FWD_DONE;
    f->finished = true;
    if (f->up) {
        bufferevent_free(f->up);
        f->up = NULL;
    }
    if (f->timer)
        evtimer_del(f->timer);
    if (!f->body_active && !f->busy)
        fwd_unlink_free(f);
}

/* Fails the exchange: a 503 while nothing was answered, else the client's connection cut. */
static void fwd_fail(struct fwd *f, const char *why)
{
    log_warn(NULL, "host channel: forwarding failed", "{s:s,s:s,s:s}", "host", f->host_id,
             "why", why, "target", http_request_target(f->req));
    if (!http_response_started(f->req)) {
        char msg[512];
        snprintf(msg, sizeof(msg), "the host running this sandbox (%s) cannot be reached: %s; "
                 "retry later", f->host_id, why);
        (void)http_response_retry_after(f->req, HC_RETRY_S); /* (void): the 503 goes anyway */
        if (f->hc->reply_error)
            (void)f->hc->reply_error(f->req, 503, msg, "unavailable");
        else
            (void)http_response_send(f->req, 503, "text/plain", msg, strlen(msg));
        /* a body the client is still sending will not be read: http closes after the 503 */
    } else {
        (void)http_response_abort(f->req); /* (void): gone already is fine */
    }
    fwd_finish(f);
}

static void arm(struct fwd *f, unsigned ms)
{
    struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
    evtimer_add(f->timer, &tv);
}

static void on_timeout(evutil_socket_t fd, short what, void *ud)
{
    struct fwd *f = ud;
    fwd_fail(f, f->phase == FWD_CONNECTING ? "connect or TLS handshake timed out"
                                           : "no answer in time");
}

static void on_client_abort(struct http_request *req, void *ud)
{
    struct fwd *f = ud;
    f->body_active = false; /* the abort replaces every other callback */
    fwd_finish(f);
}

/* ---- request: head and body up ---- */

static bool hop_header(const char *n, size_t len)
{
    static const char *const drop[] = {
        "Host", "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization", "TE",
        "Trailer", "Transfer-Encoding", "Content-Length", "Upgrade", "Expect", "X-Request-Id",
        "X-Auth-Token", "X-Access-Token", "X-Api-Key", "Authorization",
    };
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
        if (strlen(drop[i]) == len && strncasecmp(drop[i], n, len) == 0)
            return true;
    return hostchan_ident_header(n, len);
}

/* The target without its api_key query parameter (the WebSocket shell's credential, §5.4):
 * the caller is forwarded as an identity, its credential never leaves this host. */
static void strip_api_key(const char *target, char *out, size_t size)
{
    const char *q = strchr(target, '?');
    size_t n = q ? (size_t)(q - target) : strlen(target);
    if (n >= size)
        n = size - 1;
    memcpy(out, target, n);
    out[n] = '\0';
    if (!q)
        return;
    char sep = '?';
    for (const char *p = q + 1; *p;) {
        size_t len = strcspn(p, "&");
        bool key = len >= 8 && strncmp(p, "api_key=", 8) == 0;
        if (!key && len > 0 && n + 1 + len < size) {
            out[n++] = sep;
            memcpy(out + n, p, len);
            n += len;
            out[n] = '\0';
            sep = '&';
        }
        p += len;
        if (*p == '&')
            p++;
    }
}

static int write_head(struct fwd *f)
{
    struct http_request *req = f->req;
    struct evbuffer *out = bufferevent_get_output(f->up);
    size_t tsize = strlen(http_request_target(req)) + 1;
    char *target = malloc(tsize);
    if (!target)
        return -ENOMEM;
    strip_api_key(http_request_target(req), target, tsize);
    /* the same request id on both hosts: one line to grep in both logs */
    int r = evbuffer_add_printf(out, "%s %s HTTP/1.1\r\nHost: %s\r\nX-Request-Id: %s\r\n",
                                http_request_method_name(req), target, f->host_id,
                                http_request_id(req));
    free(target);
    unsigned n = http_request_header_count(req);
    for (unsigned i = 0; r >= 0 && i < n; i++) {
        const struct http_header *h = http_request_header_at(req, i);
        if (!hop_header(h->name, h->name_len))
            r = evbuffer_add_printf(out, "%s: %s\r\n", h->name, h->value);
    }
    if (r >= 0 && f->upgrade)
        r = evbuffer_add_printf(out, "Connection: Upgrade\r\nUpgrade: %s\r\n",
                                http_request_header(req, "Upgrade", NULL));
    else if (r >= 0)
        r = evbuffer_add_printf(out, "Connection: close\r\n");
    int64_t cl = http_request_content_length(req);
    if (r >= 0 && cl >= 0)
        r = evbuffer_add_printf(out, "Content-Length: %lld\r\n", (long long)cl);
    else if (r >= 0 && f->chunked_up)
        r = evbuffer_add_printf(out, "Transfer-Encoding: chunked\r\n");
    if (r >= 0)
        r = evbuffer_add_printf(out, "%s\r\n", f->ident);
    return r < 0 ? -ENOMEM : 0;
}

static int on_body_data(struct http_request *req, const uint8_t *p, size_t len, void *ud)
{
    struct fwd *f = ud;
    if (!f->up)
        return -ECANCELED;
    struct evbuffer *out = bufferevent_get_output(f->up);
    int r = 0;
    if (f->chunked_up)
        r = evbuffer_add_printf(out, "%zx\r\n", len);
    if (r >= 0)
        r = evbuffer_add(out, p, len);
    if (r >= 0 && f->chunked_up)
        r = evbuffer_add(out, "\r\n", 2);
    if (r < 0)
        return -ENOMEM;
    if (evbuffer_get_length(out) >= HC_HIGH)
        http_request_pause_body(req);
    return 0;
}

static void on_body_end(struct http_request *req, int err, void *ud)
{
    struct fwd *f = ud;
    f->body_active = false;
    if (f->finished) {
        fwd_unlink_free(f);
        return;
    }
    if (err < 0) {
        /* the HTTP layer answered the client itself (413, 400, 408) or the body was given up */
        if (!http_response_started(req))
            fwd_fail(f, "the request body could not be read");
        else
            fwd_finish(f);
        return;
    }
    if (f->chunked_up && f->up &&
        evbuffer_add(bufferevent_get_output(f->up), "0\r\n\r\n", 5) < 0)
        fwd_fail(f, "out of memory");
}

/* ---- answer: head and body down ---- */

static int hdr_commit(struct fwd *f)
{
    if (!f->cur_name.len)
        return 0;
    if (++f->nheaders > HC_HEADERS_MAX)
        return -1;
    int r = buf_append(&f->hdrs, f->cur_name.data, f->cur_name.len);
    if (r == 0)
        r = buf_append(&f->hdrs, "", 1);
    if (r == 0)
        r = buf_append(&f->hdrs, f->cur_value.data ? (const void *)f->cur_value.data : "",
                       f->cur_value.len);
    if (r == 0)
        r = buf_append(&f->hdrs, "", 1);
    f->cur_name.len = 0;
    f->cur_value.len = 0;
    return r < 0 ? -1 : 0;
}

static int on_hfield(http_parser *p, const char *at, size_t len)
{
    struct fwd *f = p->data;
    if (f->in_value && hdr_commit(f) < 0)
        return -1;
    f->in_value = false;
    f->head_bytes += len;
    return f->head_bytes > HC_HEAD_MAX || buf_append(&f->cur_name, at, len) < 0 ? -1 : 0;
}

static int on_hvalue(http_parser *p, const char *at, size_t len)
{
    struct fwd *f = p->data;
    f->in_value = true;
    f->head_bytes += len;
    return f->head_bytes > HC_HEAD_MAX || buf_append(&f->cur_value, at, len) < 0 ? -1 : 0;
}

/* Headers of the answer that describe the peer's connection, not the resource. */
static bool hop_response_header(const char *n)
{
    static const char *const drop[] = { "Connection", "Keep-Alive", "Transfer-Encoding",
                                        "Content-Length", "Content-Type", "Upgrade", "TE",
                                        "Trailer", "X-Request-Id", "Proxy-Connection" };
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
        if (strcasecmp(drop[i], n) == 0)
            return true;
    return false;
}

/* The peer's header name (NULL when absent). */
static const char *hdr_find(struct fwd *f, const char *name)
{
    size_t off = 0;
    while (off < f->hdrs.len) {
        const char *n = (const char *)f->hdrs.data + off;
        const char *v = n + strlen(n) + 1;
        if (strcasecmp(n, name) == 0)
            return v;
        off = (size_t)(v + strlen(v) + 1 - (const char *)f->hdrs.data);
    }
    return NULL;
}

static int copy_headers(struct fwd *f)
{
    size_t off = 0;
    while (off < f->hdrs.len) {
        const char *n = (const char *)f->hdrs.data + off;
        const char *v = n + strlen(n) + 1;
        if (!hop_response_header(n) && http_response_add_header(f->req, n, v) < 0)
            return -1;
        off = (size_t)(v + strlen(v) + 1 - (const char *)f->hdrs.data);
    }
    return 0;
}

static int on_headers_done(http_parser *p)
{
    struct fwd *f = p->data;
    if (f->in_value && hdr_commit(f) < 0)
        return -1;
    f->headers_done = true;
    int status = (int)p->status_code;
    if (status == 101)
        return f->upgrade ? 0 : -1; /* the pipe takes over after execute returns */
    if (status < 200)
        return -1; /* 1xx interim answers: the peer sends none we asked for */
    /* which host answered: for operators and tests (docs/scale-out.md "Host channel") */
    if (copy_headers(f) < 0 || http_response_add_header(f->req, "X-Hearth-Host", f->host_id) < 0)
        return -1;
    int64_t len = -1;
    bool no_body = status == 204 || status == 304 ||
                   http_request_method(f->req) == HTTP_HEAD;
    if (no_body)
        len = 0;
    else if ((p->flags & F_CONTENTLENGTH) && !(p->flags & F_CHUNKED))
        len = (int64_t)p->content_length;
    if (http_response_start(f->req, status, hdr_find(f, "Content-Type"), len) < 0)
        return -1;
    f->phase = FWD_STREAMING;
    return no_body ? 1 : 0;
}

static int on_resp_body(http_parser *p, const char *at, size_t len)
{
    struct fwd *f = p->data;
    if (http_response_write(f->req, at, len) < 0)
        return -1;
    if (f->up && http_response_pending(f->req) >= HC_HIGH)
        bufferevent_disable(f->up, EV_READ);
    return 0;
}

static int on_resp_done(http_parser *p)
{
    struct fwd *f = p->data;
    f->message_done = true;
    return 0;
}

static const http_parser_settings *settings(void)
{
    static const http_parser_settings s = {
        .on_header_field = on_hfield,
        .on_header_value = on_hvalue,
        .on_headers_complete = on_headers_done,
        .on_body = on_resp_body,
        .on_message_complete = on_resp_done,
    };
    return &s;
}

static void on_client_drain(struct http_request *req, void *ud)
{
    struct fwd *f = ud;
    if (f->up && f->phase == FWD_STREAMING)
        bufferevent_enable(f->up, EV_READ);
}

/* The peer answered 101: the client gets its 101 with the peer's headers, then both
 * connections go to a pipe; bytes the peer sent after its head stay in its input. */
static void do_upgrade(struct fwd *f)
{
    const char *proto = hdr_find(f, "Upgrade");
    struct bufferevent *cbev = NULL;
    if (!proto || copy_headers(f) < 0 || http_response_upgrade(f->req, proto, &cbev) < 0) {
        fwd_fail(f, "the upgrade could not be handed over");
        return;
    }
    struct bufferevent *up = f->up;
    struct hostchan *hc = f->hc;
    f->up = NULL;
    f->body_active = false; /* an upgrade request has no body */
    fwd_finish(f);
    if (hc_pipe_start(hc, cbev, up) < 0)
        log_warn(NULL, "host channel: out of memory for an upgraded connection", NULL);
}

static void on_up_read(struct bufferevent *bev, void *ud)
{
    struct fwd *f = ud;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (f->phase == FWD_WAITING) {
        evtimer_del(f->timer); /* the first byte came */
        f->phase = FWD_STREAMING;
    }
    size_t len = evbuffer_get_length(in);
    const char *data = (const char *)evbuffer_pullup(in, -1);
    /* a write to the client can fail inside (out of memory) and abort the exchange: f stays
     * until execute returns */
    f->busy++;
    size_t n = http_parser_execute(&f->parser, settings(), data, len);
    f->busy--;
    if (f->finished) {
        if (!f->body_active)
            fwd_unlink_free(f);
        return;
    }
    if (f->parser.upgrade && f->headers_done && f->parser.status_code == 101) {
        evbuffer_drain(in, n);
        do_upgrade(f);
        return;
    }
    evbuffer_drain(in, n);
    if (HTTP_PARSER_ERRNO(&f->parser) != HPE_OK) {
        fwd_fail(f, http_errno_description(HTTP_PARSER_ERRNO(&f->parser)));
        return;
    }
    if (f->message_done) {
        (void)http_response_end(f->req); /* (void): a client gone meanwhile needs nothing */
        fwd_finish(f);
    }
}

static void on_up_write(struct bufferevent *bev, void *ud)
{
    struct fwd *f = ud;
    if (f->body_active)
        http_request_resume_body(f->req);
}

/* The server's certificate must name the host the store says runs the sandbox: a valid
 * certificate of another host is refused (an address taken over, a stale registry row). */
static bool peer_ok(struct fwd *f, char *why, size_t size)
{
    SSL *ssl = bufferevent_openssl_get_ssl(f->up);
    X509 *x = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
    char id[HOSTCHAN_ID_MAX + 1];
    if (!x || SSL_get_verify_result(ssl) != X509_V_OK) {
        snprintf(why, size, "its certificate did not verify");
        return false;
    }
    if (hostchan_cert_host_id(x, id, sizeof(id)) < 0) {
        snprintf(why, size, "its certificate names no host");
        return false;
    }
    if (strcmp(id, f->host_id) != 0) {
        snprintf(why, size, "the peer's certificate is for host %s", id);
        return false;
    }
    return true;
}

static void keepalive(struct bufferevent *bev)
{
    int fd = (int)bufferevent_getfd(bev);
    int on = 1, idle = 15, intvl = 5, cnt = 3;
    /* (void)s: without keepalive a vanished peer is found by the client's own timeouts */
    (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

static void on_connected(struct fwd *f)
{
    char why[256];
    if (!peer_ok(f, why, sizeof(why))) {
        fwd_fail(f, why);
        return;
    }
    keepalive(f->up);
    if (write_head(f) < 0) {
        fwd_fail(f, "out of memory");
        return;
    }
    if (!f->upgrade && http_request_has_body(f->req)) {
        if (http_request_stream_body(f->req, UINT64_MAX / 2, on_body_data, on_body_end, f) < 0) {
            fwd_fail(f, "the request body could not be read");
            return;
        }
        f->body_active = true;
    }
    f->phase = FWD_WAITING;
    evtimer_del(f->timer);
    arm(f, f->hc->first_byte_timeout_ms);
}

static void on_up_event(struct bufferevent *bev, short what, void *ud)
{
    struct fwd *f = ud;
    if (what & BEV_EVENT_CONNECTED) {
        on_connected(f);
        return;
    }
    if (what & BEV_EVENT_ERROR) {
        char why[300];
        unsigned long se = bufferevent_get_openssl_error(bev);
        int err = EVUTIL_SOCKET_ERROR();
        if (se) {
            char b[200];
            ERR_error_string_n(se, b, sizeof(b));
            snprintf(why, sizeof(why), "TLS: %s", b);
        } else {
            snprintf(why, sizeof(why), "%s", err ? evutil_socket_error_to_string(err)
                                                 : "connection error");
        }
        fwd_fail(f, why);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_TIMEOUT)) {
        if (f->phase == FWD_STREAMING && !f->message_done) {
            /* an answer without framing ends at EOF */
            (void)http_parser_execute(&f->parser, settings(), NULL, 0);
            if (f->message_done) {
                (void)http_response_end(f->req);
                fwd_finish(f);
                return;
            }
        }
        fwd_fail(f, f->phase == FWD_STREAMING ? "the peer closed mid-answer"
                                              : "the peer closed the connection");
    }
}

static int connect_peer(struct fwd *f, const char *address)
{
    struct sockaddr_storage ss;
    int sslen = sizeof(ss);
    bool numeric = evutil_parse_sockaddr_port(address, (struct sockaddr *)&ss, &sslen) == 0;
    /* a numeric address: our own socket, so TCP_NODELAY holds from the handshake's first
     * flight on (Nagle would hold the client's certificate flight for a delayed ACK) */
    evutil_socket_t fd = -1;
    if (numeric) {
        fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -EIO;
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* best effort */
    }
    SSL *ssl = SSL_new(f->hc->client_ctx);
    if (!ssl) {
        if (fd >= 0)
            evutil_closesocket(fd);
        return -ENOMEM;
    }
    f->up = bufferevent_openssl_socket_new(f->hc->base, fd, ssl, BUFFEREVENT_SSL_CONNECTING,
                                           BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
    if (!f->up) {
        SSL_free(ssl);
        if (fd >= 0)
            evutil_closesocket(fd);
        return -ENOMEM;
    }
    bufferevent_openssl_set_allow_dirty_shutdown(f->up, 1);
    bufferevent_setcb(f->up, on_up_read, on_up_write, on_up_event, f);
    bufferevent_setwatermark(f->up, EV_WRITE, HC_HIGH / 4, 0);
    bufferevent_enable(f->up, EV_READ | EV_WRITE);
    if (numeric)
        return bufferevent_socket_connect(f->up, (struct sockaddr *)&ss, sslen) < 0 ? -EIO : 0;
    /* a name: resolved by getaddrinfo (blocking; docs advise addresses) */
    char host[256];
    const char *colon = strrchr(address, ':');
    if (!colon || (size_t)(colon - address) >= sizeof(host))
        return -EINVAL;
    memcpy(host, address, (size_t)(colon - address));
    host[colon - address] = '\0';
    int port = atoi(colon + 1);
    return bufferevent_socket_connect_hostname(f->up, NULL, AF_UNSPEC, host, port) < 0 ? -EIO
                                                                                      : 0;
}

static bool wants_upgrade(struct http_request *req)
{
    const char *conn = http_request_header(req, "Connection", NULL);
    const char *up = http_request_header(req, "Upgrade", NULL);
    return up && up[0] && conn && strcasestr(conn, "upgrade") && !http_request_has_body(req);
}

void hostchan_forward(struct hostchan *hc, struct http_request *req,
                      const struct hostchan_ident *who, const char *host_id,
                      const char *address)
{
    struct fwd *f = calloc(1, sizeof(*f));
    if (!f) {
        (void)http_response_send(req, 503, "text/plain", "out of memory", 13);
        return;
    }
    f->hc = hc;
    f->req = http_request_ref(req);
    snprintf(f->host_id, sizeof(f->host_id), "%s", host_id);
    f->upgrade = wants_upgrade(req);
    f->chunked_up = http_request_has_body(req) && http_request_content_length(req) < 0;
    buf_init(&f->hdrs, HC_HEAD_MAX * 2);
    buf_init(&f->cur_name, HC_HEAD_MAX);
    buf_init(&f->cur_value, HC_HEAD_MAX);
    http_parser_init(&f->parser, HTTP_RESPONSE);
    f->parser.data = f;
    f->next = hc->fwds;
    if (hc->fwds)
        hc->fwds->prev = f;
    hc->fwds = f;
    hc->nfwds++;
    http_request_on_abort(req, on_client_abort, f);
    http_response_on_drain(req, on_client_drain, f);
    f->timer = evtimer_new(hc->base, on_timeout, f);
    if (!f->timer) {
        fwd_fail(f, "out of memory");
        return;
    }
    if (hostchan_ident_format(who, f->ident, sizeof(f->ident)) < 0) {
        fwd_fail(f, "the caller's identity cannot be forwarded");
        return;
    }
    f->phase = FWD_CONNECTING;
    arm(f, hc->connect_timeout_ms);
    int r = connect_peer(f, address);
    if (r < 0)
        fwd_fail(f, r == -EINVAL ? "its address is malformed" : "cannot connect");
}

void fwd_close_all(struct hostchan *hc)
{
    while (hc->fwds) {
        struct fwd *f = hc->fwds;
        (void)http_response_abort(f->req); /* (void): detached is fine */
        f->body_active = false;
        fwd_finish(f);
    }
}
