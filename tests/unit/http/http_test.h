/* SPDX-License-Identifier: MIT */
/* http_test.h: helpers for the HTTP server tests, included by each test file: a raw-socket
 * client that reads responses (Content-Length, chunked or until close), and a way to run a
 * server with a test handler in a forked child that reports events on a pipe and exits cleanly
 * (so LeakSanitizer checks it) on SIGTERM. A connection can speak TLS (tc_tls_start), and the
 * server can listen with TLS (tsrv_tls). */
#pragma once

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "daemon/api/jsend.h"
#include "daemon/http/server.h"
#include "harness.h"

/* ---- client ---- */

struct tconn {
    int fd;
    SSL *ssl;          /* after tc_tls_start(): bytes go through TLS */
    char buf[1 << 16]; /* bytes read and not yet consumed */
    size_t len;
};

struct tresp {
    int status;
    char head[16384];  /* raw head, NUL-terminated */
    char *body;        /* malloc'd, NUL-terminated */
    size_t body_len;
    bool chunked;
    unsigned nchunks;  /* chunks seen in a chunked body */
};

/* rcvbuf > 0 shrinks the receive buffer (before connect, or the window stalls). */
static inline int tc_connect_rcvbuf(struct tconn *c, uint16_t port, int rcvbuf)
{
    c->len = 0;
    c->ssl = NULL;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -errno;
    struct timeval tv = { .tv_sec = 10 }; /* a broken server fails the test, never hangs it */
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (rcvbuf > 0)
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int r = -errno;
        close(c->fd);
        return r;
    }
    return 0;
}

static inline int tc_connect(struct tconn *c, uint16_t port)
{
    return tc_connect_rcvbuf(c, port, 0);
}

static inline void tc_close(struct tconn *c)
{
    SSL_free(c->ssl);
    c->ssl = NULL;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static inline int tc_send(struct tconn *c, const void *p, size_t len)
{
    const char *s = p;
    while (len) {
        if (c->ssl) {
            int w = SSL_write(c->ssl, s, len > INT32_MAX ? INT32_MAX : (int)len);
            if (w <= 0)
                return -EPIPE;
            s += w;
            len -= (size_t)w;
            continue;
        }
        ssize_t n = send(c->fd, s, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        s += n;
        len -= (size_t)n;
    }
    return 0;
}

static inline int tc_sends(struct tconn *c, const char *s)
{
    return tc_send(c, s, strlen(s));
}

/* Reads more bytes into the buffer: >0 read, 0 EOF, <0 error/timeout. */
static inline ssize_t tc_fill(struct tconn *c)
{
    if (c->len == sizeof(c->buf))
        return -ENOBUFS;
    if (c->ssl) {
        int n = SSL_read(c->ssl, c->buf + c->len, (int)(sizeof(c->buf) - c->len));
        if (n > 0) {
            c->len += (size_t)n;
            return n;
        }
        int e = SSL_get_error(c->ssl, n);
        if (e == SSL_ERROR_ZERO_RETURN)
            return 0;
        /* a TCP close without close_notify is an EOF too; a receive timeout an error */
        if (e == SSL_ERROR_SYSCALL && (errno == 0 || errno == ECONNRESET))
            return errno ? -ECONNRESET : 0;
        if (e == SSL_ERROR_SSL)
            return 0; /* OpenSSL 3 reports an unexpected EOF this way */
        return -EIO;
    }
    for (;;) {
        ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        c->len += (size_t)n;
        return n;
    }
}

static inline void tc_consume(struct tconn *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

/* The client context of the TLS tests: no verification (the server's certificate is a
 * throwaway), TLS 1.2 or newer as the server demands. */
static inline SSL_CTX *tc_tls_ctx(void)
{
    static SSL_CTX *ctx;
    if (!ctx) {
        ctx = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    return ctx;
}

/* Runs the TLS handshake on a connected tconn; sni NULL sends no server name. 0 or -EPROTO. */
static inline int tc_tls_start(struct tconn *c, const char *sni)
{
    c->ssl = SSL_new(tc_tls_ctx());
    if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1)
        return -ENOMEM;
    if (sni && SSL_set_tlsext_host_name(c->ssl, sni) != 1)
        return -EINVAL;
    return SSL_connect(c->ssl) == 1 ? 0 : -EPROTO;
}

/* Reads one line ending in CRLF (without it) into out. 0 or <0. */
static inline int tc_line(struct tconn *c, char *out, size_t max)
{
    for (;;) {
        char *e = memmem(c->buf, c->len, "\r\n", 2);
        if (e) {
            size_t n = (size_t)(e - c->buf);
            if (n >= max)
                return -ENOBUFS;
            memcpy(out, c->buf, n);
            out[n] = '\0';
            tc_consume(c, n + 2);
            return 0;
        }
        ssize_t r = tc_fill(c);
        if (r <= 0)
            return r == 0 ? -EPIPE : (int)r;
    }
}

static inline int tc_read_exact(struct tconn *c, char *out, size_t n)
{
    while (c->len < n) {
        size_t take = c->len;
        memcpy(out, c->buf, take);
        out += take;
        n -= take;
        c->len = 0;
        ssize_t r = tc_fill(c);
        if (r <= 0)
            return r == 0 ? -EPIPE : (int)r;
    }
    memcpy(out, c->buf, n);
    tc_consume(c, n);
    return 0;
}

/* The value of header name in a raw head, copied into out; false when absent. */
static inline bool tr_header(const struct tresp *r, const char *name, char *out, size_t max)
{
    const char *p = r->head;
    size_t nl = strlen(name);
    while ((p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            size_t n = strcspn(v, "\r");
            if (n >= max)
                n = max - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return true;
        }
    }
    return false;
}

static inline void tr_free(struct tresp *r)
{
    free(r->body);
    r->body = NULL;
}

/* Reads one response (skipping nothing: a 100 Continue is returned as a response of its own).
 * head_only: for HEAD requests. Returns 0 or <0. */
static inline int tc_response_ex(struct tconn *c, struct tresp *r, bool head_only)
{
    memset(r, 0, sizeof(*r));
    size_t hl = 0;
    for (;;) {
        char line[8192];
        int e = tc_line(c, line, sizeof(line));
        if (e < 0)
            return e;
        size_t n = strlen(line);
        if (hl + n + 3 >= sizeof(r->head))
            return -ENOBUFS;
        memcpy(r->head + hl, line, n);
        memcpy(r->head + hl + n, "\r\n", 3);
        hl += n + 2;
        if (n == 0)
            break;
    }
    if (sscanf(r->head, "HTTP/1.%*d %d", &r->status) != 1)
        return -EBADMSG;
    char v[64];
    if (head_only || r->status / 100 == 1 || r->status == 204 || r->status == 304) {
        r->body = calloc(1, 1);
        return 0;
    }
    if (tr_header(r, "Transfer-Encoding", v, sizeof(v)) && strcasecmp(v, "chunked") == 0) {
        r->chunked = true;
        size_t cap = 1024;
        r->body = malloc(cap);
        for (;;) {
            char line[256];
            int e = tc_line(c, line, sizeof(line));
            if (e < 0)
                return e;
            size_t n = strtoul(line, NULL, 16);
            if (n == 0)
                break;
            r->nchunks++;
            while (r->body_len + n + 1 > cap)
                cap *= 2;
            r->body = realloc(r->body, cap);
            if ((e = tc_read_exact(c, r->body + r->body_len, n)) < 0)
                return e;
            r->body_len += n;
            if ((e = tc_line(c, line, sizeof(line))) < 0)
                return e;
        }
        char trailer[256];
        int e = tc_line(c, trailer, sizeof(trailer)); /* the empty line after "0" */
        if (e < 0)
            return e;
        r->body[r->body_len] = '\0';
        return 0;
    }
    if (tr_header(r, "Content-Length", v, sizeof(v))) {
        size_t n = strtoull(v, NULL, 10);
        r->body = malloc(n + 1);
        int e = tc_read_exact(c, r->body, n);
        if (e < 0)
            return e;
        r->body_len = n;
        r->body[n] = '\0';
        return 0;
    }
    /* until close */
    for (;;) {
        ssize_t n = tc_fill(c);
        if (n == 0)
            break;
        if (n < 0)
            return (int)n;
    }
    r->body = malloc(c->len + 1);
    memcpy(r->body, c->buf, c->len);
    r->body_len = c->len;
    r->body[c->len] = '\0';
    c->len = 0;
    return 0;
}

static inline int tc_response(struct tconn *c, struct tresp *r)
{
    return tc_response_ex(c, r, false);
}

/* True when the server closes the connection (EOF, or a reset) with no further bytes. */
static inline bool tc_closed(struct tconn *c)
{
    if (c->len)
        return false;
    ssize_t n = tc_fill(c);
    return n == 0 || n == -ECONNRESET;
}

/* ---- server in a child ---- */

struct tserver {
    pid_t pid;
    uint16_t port;
    int events; /* read end: one line per event the handler reports */
};

static int tsrv_notify_fd = -1;
static struct event_base *tsrv_base; /* in the child: the server's loop */
static bool tsrv_use_fd; /* listen through http_server_listen_fd() instead */
static http_accept_error_fn tsrv_accept_error; /* set before tsrv_start(): the server's report */
static unsigned tsrv_nofile; /* set before tsrv_start(): the child's RLIMIT_NOFILE; 0 = as is */
static SSL_CTX *tsrv_tls; /* set before tsrv_start(): listen with TLS under this context */

/* For handlers: report an event line to the test. */
static inline void tsrv_event(const char *line)
{
    if (tsrv_notify_fd >= 0) {
        ssize_t n = write(tsrv_notify_fd, line, strlen(line));
        (void)n;
    }
}

struct tsrv_child {
    struct event_base *base;
    struct http_server *srv;
};

static void tsrv_on_shutdown(struct http_server *srv, void *ud)
{
    event_base_loopbreak(ud);
}

static void tsrv_on_term(evutil_socket_t sig, short what, void *ud)
{
    struct tsrv_child *ch = ud;
    http_server_shutdown(ch->srv, 2000, tsrv_on_shutdown, ch->base);
}

/* Starts a server running handler in a child; limits may be NULL. */
static inline bool tsrv_start(struct tserver *ts, const struct http_limits *limits,
                              http_handler_fn handler, void *ud)
{
    int portp[2], evp[2];
    REQUIRE(pipe2(portp, O_CLOEXEC) == 0);
    REQUIRE(pipe2(evp, O_CLOEXEC) == 0);
    signal(SIGPIPE, SIG_IGN);
    ts->pid = fork();
    REQUIRE(ts->pid >= 0);
    if (ts->pid == 0) {
        close(portp[0]);
        close(evp[0]);
        tsrv_notify_fd = evp[1];
        struct tsrv_child ch = { .base = event_base_new() };
        tsrv_base = ch.base;
        ch.srv = http_server_new(ch.base, limits, handler, ud);
        if (!ch.srv)
            _exit(3);
        http_server_set_error_body(ch.srv, jsend_protocol_error_body);
        if (tsrv_accept_error)
            http_server_set_accept_error(ch.srv, tsrv_accept_error, NULL);
        if (tsrv_nofile) {
            struct rlimit rl;
            if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                _exit(5);
            rl.rlim_cur = tsrv_nofile;
            if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                _exit(5);
        }
        if (tsrv_use_fd) {
            int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            struct sockaddr_in sa = { .sin_family = AF_INET };
            sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0 ||
                http_server_listen_fd(ch.srv, fd) < 0)
                _exit(3);
        } else if (tsrv_tls) {
            if (http_server_listen_tls(ch.srv, "127.0.0.1", 0, tsrv_tls) < 0)
                _exit(3);
            SSL_CTX_free(tsrv_tls); /* the server holds its own reference */
            tsrv_tls = NULL;
        } else if (http_server_listen(ch.srv, "127.0.0.1", 0) < 0) {
            _exit(3);
        }
        uint16_t port = http_server_port(ch.srv);
        if (write(portp[1], &port, sizeof(port)) != sizeof(port))
            _exit(4);
        close(portp[1]);
        struct event *term = evsignal_new(ch.base, SIGTERM, tsrv_on_term, &ch);
        event_add(term, NULL);
        event_base_dispatch(ch.base);
        http_server_free(ch.srv);
        event_free(term);
        event_base_free(ch.base);
        libevent_global_shutdown();
        close(evp[1]);
        exit(0); /* exit, not _exit: LeakSanitizer runs at exit */
    }
    close(portp[1]);
    close(evp[1]);
    ts->events = evp[0];
    REQUIRE(read(portp[0], &ts->port, sizeof(ts->port)) == sizeof(ts->port));
    close(portp[0]);
    return true;
}

/* Waits (up to timeout_ms) for an event line starting with prefix; copies the line. */
static inline bool tsrv_wait_event(struct tserver *ts, const char *prefix, char *out,
                                   size_t max, int timeout_ms)
{
    static char pend[4096];
    static size_t plen;
    uint64_t deadline = harness_now_us() + (uint64_t)timeout_ms * 1000;
    for (;;) {
        char *nl;
        while ((nl = memchr(pend, '\n', plen)) != NULL) {
            size_t n = (size_t)(nl - pend);
            bool match = strncmp(pend, prefix, strlen(prefix)) == 0;
            if (match && out) {
                size_t k = n < max - 1 ? n : max - 1;
                memcpy(out, pend, k);
                out[k] = '\0';
            }
            memmove(pend, nl + 1, plen - n - 1);
            plen -= n + 1;
            if (match)
                return true;
        }
        uint64_t now = harness_now_us();
        if (now >= deadline)
            return false;
        struct pollfd pfd = { .fd = ts->events, .events = POLLIN };
        if (poll(&pfd, 1, (int)((deadline - now) / 1000) + 1) <= 0)
            continue;
        ssize_t n = read(ts->events, pend + plen, sizeof(pend) - plen);
        if (n <= 0)
            return false;
        plen += (size_t)n;
    }
}

/* Stops the server gracefully; true when it exited 0 (no leak, no crash). */
static inline bool tsrv_stop(struct tserver *ts)
{
    kill(ts->pid, SIGTERM);
    int st = 0;
    REQUIRE(waitpid(ts->pid, &st, 0) == ts->pid);
    close(ts->events);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        harness_fail(__FILE__, __LINE__, "server child ended with status 0x%x", st);
        return false;
    }
    return true;
}
