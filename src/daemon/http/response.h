/* SPDX-License-Identifier: MIT */
/* response.h: how a handler answers. Three shapes:
 *   - whole responses: http_response_send() for bytes, jsend.h for JSON envelopes;
 *   - streamed responses: http_response_start() with a Content-Length (raw bytes) or -1
 *     (chunked: each http_response_write() becomes one chunk and is sent at once, which is what
 *     NDJSON needs), then writes, then http_response_end();
 *   - upgrades: http_response_upgrade() answers 101 and hands over the connection.
 * Every response carries X-Request-Id; Connection: close is added when the connection will
 * close. HEAD requests get the head only. All calls are on the loop and never block; writes
 * queue in memory, so producers use http_response_pending() and on_drain for backpressure.
 * Calls on a detached request (see request.h) return -EPIPE and do nothing. Write errors
 * need no handling beyond stopping: a dead connection also fires the abort callback. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_request;
struct bufferevent;

/* Adds a header line to the response head (copied). Before the response starts only; name and
 * value must not contain CR, LF or NUL. Returns 0, -EALREADY, -EINVAL, -ENOMEM or -EPIPE. */
int http_response_add_header(struct http_request *req, const char *name, const char *value);
/* Retry-After: secs clamped to 1..60 (docs/api.md §1.12). Same returns as add_header. */
int http_response_retry_after(struct http_request *req, unsigned secs);

/* Writes the status line and headers. content_type may be NULL (no header). content_length
 * ≥ 0 sends exactly that many bytes; -1 means chunked. Returns 0, -EALREADY, -EPIPE. */
int http_response_start(struct http_request *req, int status, const char *content_type,
                        int64_t content_length);
/* Starts a 200-style NDJSON stream: application/x-ndjson, chunked, Cache-Control: no-store,
 * X-Accel-Buffering: no. */
int http_response_start_ndjson(struct http_request *req, int status);
/* Queues body bytes (one chunk when chunked; len 0 does nothing). Returns 0, -EPIPE (peer gone
 * or detached), -EINVAL (not started, already ended, or more than Content-Length). */
int http_response_write(struct http_request *req, const void *p, size_t len);
/* Ends the response (the terminating chunk when chunked). With a Content-Length, ending early
 * closes the connection. Returns 0, -EPIPE or -EINVAL. */
int http_response_end(struct http_request *req);
/* Whole response in one call: head with Content-Length, body, end. */
int http_response_send(struct http_request *req, int status, const char *content_type,
                       const void *body, size_t len);
/* Bytes queued on the socket and not yet written (0 when detached). */
size_t http_response_pending(const struct http_request *req);
/* Called from the loop each time queued output has drained to ≤ limits.write_low_water while
 * the response is streaming. fn NULL clears. A producer writes until pending() passes its own
 * high mark, then waits for this. */
typedef void (*http_drain_fn)(struct http_request *req, void *ud);
void http_response_on_drain(struct http_request *req, http_drain_fn fn, void *ud);
/* True once the response head was written. */
bool http_response_started(const struct http_request *req);

/* Answers "101 Switching Protocols" (Connection: Upgrade, Upgrade: protocol, X-Request-Id) and
 * hands the connection over: *ret_bev is the connection's bufferevent, whose input already
 * holds any bytes the client sent after its head. The caller owns it from now on (free it with
 * bufferevent_free(), which closes the socket) and must set its own callbacks; the request is
 * finished (no abort callback will run). Only for requests without a body and before any
 * response started. Returns 0, -EALREADY, -EINVAL (request has a body) or -EPIPE.
 * Over a TLS listener (server.h) *ret_bev is libevent's OpenSSL bufferevent: reads and writes
 * are plaintext as usual, but the socket under it carries TLS records, so never half-close it
 * with a raw shutdown(bufferevent_getfd(bev), SHUT_WR) (the peer would see a TLS stream cut
 * without close_notify); use http_bev_shutdown_write() below, which works for both kinds. */
__attribute__((warn_unused_result))
int http_response_upgrade(struct http_request *req, const char *protocol,
                          struct bufferevent **ret_bev);
/* Half-closes a connection's write side once its output evbuffer has drained (check
 * evbuffer_get_length(bufferevent_get_output(bev)) == 0 first: queued bytes would be lost): a
 * TLS close_notify first when bev speaks TLS, then shutdown(SHUT_WR). Input keeps arriving. */
void http_bev_shutdown_write(struct bufferevent *bev);
