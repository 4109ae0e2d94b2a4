/* SPDX-License-Identifier: MIT */
/* server.h: the HTTP/1.1 server of hearthd on a libevent event_base. It accepts connections,
 * parses requests (strictly in order per connection) and hands each one to a single handler
 * callback; the handler answers through request.h and response.h. It knows nothing about
 * sandboxes or routes. Everything runs on the loop thread; no call blocks.
 *
 * Connection behaviour (docs/api.md §1.1): keep-alive by default, HTTP/1.0 closes after the
 * response; pipelined bytes wait for the next request; idle connections close after
 * idle_timeout_ms; a head not complete within header_timeout_ms gets 408; a head over
 * max_header_bytes or with over max_headers fields gets 431; an HTTP/2 preface gets the 505 of
 * §1.1 item 2; malformed input gets a 400 JSend fail and the connection closes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct http_server;
struct ssl_ctx_st; /* OpenSSL's SSL_CTX */
struct http_request;

struct http_limits {
    size_t max_header_bytes;     /* request line + headers; default 64 KiB (→ 431) */
    unsigned max_headers;        /* header fields per request; default 128 (→ 431) */
    size_t max_json_body;        /* what http_request_read_body(req, 0, …) means; 8 MiB */
    unsigned header_timeout_ms;  /* first byte (or accept) to end of head; 30 s (→ 408) */
    unsigned idle_timeout_ms;    /* keep-alive idle; 75 s (silent close) */
    unsigned body_timeout_ms;    /* no body byte while we want one; 60 s (→ 408 or abort) */
    unsigned write_timeout_ms;   /* no write progress while output is queued; 120 s (abort) */
    unsigned linger_ms;          /* after a closing response: discard input this long; 1 s */
    unsigned max_connections;    /* further connections are closed at once; 4096 */
    size_t read_high_water;      /* stop reading from a socket past this much unparsed input */
    size_t write_low_water;      /* drain callbacks fire once queued output is ≤ this */
};

/* Fills l with the defaults of docs/api.md §1.14. */
void http_limits_default(struct http_limits *l);

/* Called once per request when its head is complete (the body, if any, not yet read). The
 * request is borrowed: valid until the response ends or the connection dies; take a reference
 * (http_request_ref) to keep it longer. The handler must eventually answer (response.h) or
 * upgrade, now or later from another callback on the loop. */
typedef void (*http_handler_fn)(struct http_request *req, void *ud);

/* Creates a server on base (borrowed; must outlive the server). limits is copied; NULL means
 * the defaults. handler and ud are kept. Listens on nothing yet. Returns NULL when out of
 * memory. Free with http_server_free(). */
struct http_server *http_server_new(struct event_base *base, const struct http_limits *limits,
                                    http_handler_fn handler, void *ud);
/* Formats the body of a protocol error the server answers by itself (malformed request, 408,
 * 413, 431, HTTP/2 preface, ...): status, a stable snake_case code and a one-line message in,
 * a malloc'd application/json body out (NULL when out of memory). The HTTP layer knows no
 * envelope format; the API sets its own (api/jsend.h). */
typedef char *(*http_error_body_fn)(int status, const char *code, const char *msg);
/* Sets the formatter; without one, protocol errors are answered in plain text. */
void http_server_set_error_body(struct http_server *srv, http_error_body_fn fn);

/* Called from the loop when accept() fails for want of a resource (EMFILE, ENFILE, ENOBUFS,
 * ENOMEM: err is its -errno), at most once per HTTP_ACCEPT_REPORT_MS, with how many failures
 * there were since the last call (this one included). Whatever the callback does, every
 * listener stops accepting for HTTP_ACCEPT_PAUSE_MS after such a failure, so a process out of
 * file descriptors waits for connections to close instead of spinning on a listening socket
 * that stays readable; pending clients wait in the kernel's backlog. */
#define HTTP_ACCEPT_PAUSE_MS 250
#define HTTP_ACCEPT_REPORT_MS 10000
typedef void (*http_accept_error_fn)(int err, unsigned long count, void *ud);
/* Sets the report callback (NULL: none; the pause happens anyway). */
void http_server_set_accept_error(struct http_server *srv, http_accept_error_fn fn, void *ud);

/* Binds and listens on host:port (numeric IPv4/IPv6 address; NULL means 127.0.0.1; port 0 picks
 * an ephemeral port, see http_server_port). Returns 0 or -errno (-EADDRINUSE, -EINVAL …). */
__attribute__((warn_unused_result))
int http_server_listen(struct http_server *srv, const char *host, uint16_t port);
/* Like http_server_listen, but every connection accepted there starts with a TLS handshake
 * (server side, libevent's OpenSSL bufferevent) under ctx, and the rest is unchanged: parser,
 * limits, timeouts, bodies and the upgrade hand-over (response.h) run over the decrypted
 * bytes. The handshake counts against header_timeout_ms (a client that never finishes it is
 * dropped like a slow one, without an answer). The server takes its own reference on ctx (the
 * caller may free its own) and sets its floor on it: TLS 1.2 minimum, no compression, no
 * client-initiated renegotiation, ALPN http/1.1 only. Certificates changed in ctx later (e.g.
 * SSL_CTX_use_cert_and_key) apply to new connections. Returns 0 or -errno (-EINVAL: ctx NULL
 * or refused). */
__attribute__((warn_unused_result))
int http_server_listen_tls(struct http_server *srv, const char *host, uint16_t port,
                           struct ssl_ctx_st *ctx);
/* Listens on an already bound and listening socket; takes ownership of fd (closed by the
 * server). Returns 0 or -errno (fd is closed on failure too). */
__attribute__((warn_unused_result)) int http_server_listen_fd(struct http_server *srv, int fd);
/* The local port of the first listener, or 0. */
uint16_t http_server_port(const struct http_server *srv);
/* Number of open connections (for tests and metrics). */
unsigned http_server_connections(const struct http_server *srv);

/* Called once every connection has closed after http_server_shutdown(). */
typedef void (*http_shutdown_fn)(struct http_server *srv, void *ud);
/* Graceful shutdown: stops accepting, closes idle connections, lets in-flight requests finish
 * (their responses carry Connection: close), and after timeout_ms aborts whatever is left.
 * done (may be NULL) runs from the loop when no connection remains. The server must still be
 * freed with http_server_free(). */
void http_server_shutdown(struct http_server *srv, unsigned timeout_ms, http_shutdown_fn done,
                          void *ud);
/* Closes the listeners and every connection at once (in-flight requests get their abort
 * callback), then frees the server. NULL is fine. Requests still referenced by handlers stay
 * valid (detached) until their last unref. */
void http_server_free(struct http_server *srv);
