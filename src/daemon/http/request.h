/* SPDX-License-Identifier: MIT */
/* request.h: what a handler can read from a request and how it takes the body.
 *
 * Ownership: a request is reference-counted. The connection holds one reference from the head
 * until the response has ended (or the connection died); handlers that keep the pointer beyond
 * the current callback take their own with http_request_ref() and drop it with
 * http_request_unref(). All strings returned here are borrowed from the request and live as
 * long as it does. Once the connection is gone the request is "detached": accessors still work,
 * body and response calls are harmless no-ops returning -EPIPE.
 *
 * Body: after the head, the handler picks one mode (or none, and answers without reading; the
 * connection then closes after the response if a body was announced):
 *   - buffered: http_request_read_body() collects up to max bytes, then calls done;
 *   - streamed: http_request_stream_body() hands each piece to a callback, with pause/resume
 *     for backpressure.
 * Either call sends "100 Continue" first when the client asked for it. Neither ever calls back
 * from inside itself; callbacks run later from the loop. */
#pragma once

#include <http_parser.h> /* enum http_method: HTTP_GET, HTTP_POST, … */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "daemon/http/route.h"

struct http_request;
struct http_header;
struct sockaddr;

struct http_request *http_request_ref(struct http_request *req);
/* Drops a reference; the last one frees the request. NULL is fine. */
void http_request_unref(struct http_request *req);

/* Method as enum http_method (http_parser.h: HTTP_GET, HTTP_POST, …) and as text ("GET"). */
int http_request_method(const struct http_request *req);
const char *http_request_method_name(const struct http_request *req);
/* The request-target as received ("/v1/x?y=1"), NUL-terminated. */
const char *http_request_target(const struct http_request *req);
/* Decoded path segments and query (route.h); parsed before the handler runs, so a malformed
 * escape never reaches it (the server answers 400 itself). */
const struct http_path *http_request_path(const struct http_request *req);
const struct http_query *http_request_query(const struct http_request *req);
/* The first header called name (case-insensitive), value NUL-terminated and trimmed; NULL when
 * absent. *ret_len (optional) gets the value length. */
const char *http_request_header(const struct http_request *req, const char *name,
                                size_t *ret_len);
/* Header i (0 ≤ i < count) in arrival order, for logging or proxying. */
unsigned http_request_header_count(const struct http_request *req);
const struct http_header *http_request_header_at(const struct http_request *req, unsigned i);
/* The X-Request-Id echoed on every response: the client's if it was 1–128 characters of
 * [A-Za-z0-9._:-], else a fresh req_<ULID>. */
const char *http_request_id(const struct http_request *req);
/* Announced Content-Length, or -1 (chunked or no body header). */
int64_t http_request_content_length(const struct http_request *req);
/* True when a body follows the head (Content-Length > 0 or chunked). */
bool http_request_has_body(const struct http_request *req);
/* HTTP minor version (0 or 1). */
int http_request_http_minor(const struct http_request *req);
/* The client's address as accept() gave it (AF_INET or AF_INET6; its sa_family says which
 * struct it is), kept after the connection is gone; NULL when unknown. For per-address limits
 * and X-Forwarded-For. */
const struct sockaddr *http_request_peer(const struct http_request *req);
/* True when the request arrived on a TLS listener (server.h http_server_listen_tls). */
bool http_request_tls(const struct http_request *req);
/* The server name the client sent in its TLS handshake (SNI), NUL-terminated, as sent (the
 * caller checks it; it may differ from Host); NULL without TLS or without the extension. */
const char *http_request_sni(const struct http_request *req);
/* The subject CN of the client certificate the TLS handshake verified (a listener whose
 * context requires one: the host channel), NUL-terminated; NULL without one. */
const char *http_request_peer_cn(const struct http_request *req);
/* True while the client connection is open and the request not yet answered in full. */
bool http_request_is_live(const struct http_request *req);

/* Called at most once if the connection dies (peer gone, write error or timeout, server freed)
 * before the response has ended. After it, every body/response call on req returns -EPIPE and
 * no other callback of this request runs. Replaces a previous registration; fn NULL clears. */
typedef void (*http_abort_fn)(struct http_request *req, void *ud);
void http_request_on_abort(struct http_request *req, http_abort_fn fn, void *ud);

/* Buffered body. err is 0 with the whole body available from http_request_body(); -EMSGSIZE
 * when it exceeded max (the server has answered 413 payload_too_large and will close), or
 * -EBADMSG when the body framing was malformed (the server has answered 400 and will close);
 * on errors just release your state. */
typedef void (*http_body_done_fn)(struct http_request *req, int err, void *ud);
/* Starts reading the body into memory, at most max bytes (0 = limits.max_json_body). A
 * Content-Length above max is refused at once with 413, without reading. Returns 0, -EALREADY
 * when a body mode was already chosen or the response started, -EPIPE when detached. done runs
 * later from the loop (also for an empty body). */
__attribute__((warn_unused_result))
int http_request_read_body(struct http_request *req, size_t max, http_body_done_fn done,
                           void *ud);
/* The buffered body: borrowed, valid as long as req; NUL-terminated for convenience.
 * Returns NULL (and 0) before done ran or for an empty body. */
const uint8_t *http_request_body(const struct http_request *req, size_t *ret_len);

/* Streamed body. on_data gets each piece in order (borrowed for the call); return 0 to go on,
 * or a negative errno to stop reading (the handler then answers; the connection closes after
 * the response). The handler may call http_request_pause_body() from on_data or anywhere.
 * on_end runs once: err 0 at the end of the body, -EMSGSIZE past max (413 sent), -EBADMSG for
 * bad framing (400 sent), -ETIMEDOUT when the client stalled (408 sent). */
typedef int (*http_body_data_fn)(struct http_request *req, const uint8_t *p, size_t len,
                                 void *ud);
typedef void (*http_body_end_fn)(struct http_request *req, int err, void *ud);
__attribute__((warn_unused_result))
int http_request_stream_body(struct http_request *req, uint64_t max, http_body_data_fn on_data,
                             http_body_end_fn on_end, void *ud);
/* Stops delivering body bytes (unread bytes stay in the kernel: TCP backpressure) until
 * resume. No-ops outside a streamed body. The body timeout does not run while paused. */
void http_request_pause_body(struct http_request *req);
void http_request_resume_body(struct http_request *req);
/* Body bytes received so far (buffered or streamed). */
uint64_t http_request_body_received(const struct http_request *req);
