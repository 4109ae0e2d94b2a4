/* SPDX-License-Identifier: MIT */
/* response.c: writing responses onto the connection's output buffer: status line and headers
 * (X-Request-Id always, Connection: close when the connection will close), Content-Length or
 * chunked bodies, HEAD suppression, drain notifications, and the 101 hand-over. Writes only
 * queue bytes and kick the connection; they never call back into the handler. */
#include "daemon/http/http_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

const char *http_status_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Entity";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 507: return "Insufficient Storage";
    default: return "Unknown";
    }
}

static bool header_text_ok(const char *s)
{
    for (; *s; s++)
        if (*s == '\r' || *s == '\n')
            return false;
    return true;
}

int http_response_add_header(struct http_request *req, const char *name, const char *value)
{
    if (!req->conn)
        return -EPIPE;
    if (req->resp_started)
        return -EALREADY;
    if (!*name || !header_text_ok(name) || !header_text_ok(value) || strchr(name, ':'))
        return -EINVAL;
    int r = buf_appendf(&req->resp_headers, "%s: %s\r\n", name, value);
    return r == -EMSGSIZE ? -ENOMEM : r;
}

int http_response_retry_after(struct http_request *req, unsigned secs)
{
    char v[8];
    snprintf(v, sizeof(v), "%u", secs < 1 ? 1 : secs > 60 ? 60 : secs);
    return http_response_add_header(req, "Retry-After", v);
}

int http_response_start(struct http_request *req, int status, const char *content_type,
                        int64_t content_length)
{
    struct http_conn *c = req->conn;
    if (!c)
        return -EPIPE;
    if (req->resp_started)
        return -EALREADY;
    if (status < 100 || status > 999 || (content_type && !header_text_ok(content_type)))
        return -EINVAL;
    req->resp_no_body = req->head->method == HTTP_HEAD || status == 204 || status == 304;
    /* a 1xx or 204 carries no framing header at all (RFC 9110 §8.6, §6.4.1) */
    bool unframed = status < 200 || status == 204;
    if (unframed)
        content_length = 0;
    req->resp_chunked = content_length < 0 && req->head->minor == 1;
    if (content_length < 0 && !req->resp_chunked)
        c->close_after = true; /* HTTP/1.0: the body ends when the connection does */
    bool close = http_conn_prepare_close(c, req);
    struct evbuffer *out = bufferevent_get_output(c->bev);
    int r = evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nX-Request-Id: %s\r\n", status,
                                http_status_reason(status), req->id);
    if (r >= 0 && content_type)
        r = evbuffer_add_printf(out, "Content-Type: %s\r\n", content_type);
    if (r >= 0 && content_length >= 0 && !unframed)
        r = evbuffer_add_printf(out, "Content-Length: %" PRId64 "\r\n", content_length);
    else if (r >= 0 && req->resp_chunked)
        r = evbuffer_add_printf(out, "Transfer-Encoding: chunked\r\n");
    if (r >= 0 && close)
        r = evbuffer_add_printf(out, "Connection: close\r\n");
    if (r >= 0 && req->resp_headers.len)
        r = evbuffer_add(out, req->resp_headers.data, req->resp_headers.len);
    if (r >= 0)
        r = evbuffer_add(out, "\r\n", 2);
    req->resp_started = true;
    req->status = status;
    req->resp_remaining = content_length;
    if (r < 0) {
        http_conn_abort(c); /* half a head on the wire: nothing else is possible */
        return -ENOMEM;
    }
    return 0;
}

int http_response_start_ndjson(struct http_request *req, int status)
{
    int r = http_response_add_header(req, "Cache-Control", "no-store");
    if (r == 0)
        r = http_response_add_header(req, "X-Accel-Buffering", "no");
    if (r < 0)
        return r;
    return http_response_start(req, status, "application/x-ndjson", -1);
}

int http_response_write(struct http_request *req, const void *p, size_t len)
{
    struct http_conn *c = req->conn;
    if (!c)
        return -EPIPE;
    if (!req->resp_started || req->resp_done)
        return -EINVAL;
    if (req->resp_remaining >= 0) {
        if ((uint64_t)len > (uint64_t)req->resp_remaining)
            return -EINVAL;
        req->resp_remaining -= (int64_t)len;
    }
    if (len == 0 || req->resp_no_body)
        return 0;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    int r = 0;
    if (req->resp_chunked)
        r = evbuffer_add_printf(out, "%zx\r\n", len);
    if (r >= 0)
        r = evbuffer_add(out, p, len);
    if (r >= 0 && req->resp_chunked)
        r = evbuffer_add(out, "\r\n", 2);
    if (r < 0) {
        http_conn_abort(c);
        return -EPIPE;
    }
    return 0;
}

int http_response_end(struct http_request *req)
{
    struct http_conn *c = req->conn;
    if (!c)
        return -EPIPE;
    if (!req->resp_started || req->resp_done)
        return -EINVAL;
    if (req->resp_chunked && !req->resp_no_body &&
        evbuffer_add(bufferevent_get_output(c->bev), "0\r\n\r\n", 5) < 0) {
        http_conn_abort(c);
        return -EPIPE;
    }
    if (req->resp_remaining > 0)
        c->close_after = true; /* short body: only a close tells the client */
    req->resp_done = true;
    http_conn_kick(c);
    return 0;
}

int http_response_abort(struct http_request *req)
{
    struct http_conn *c = req->conn;
    if (!c)
        return -EPIPE;
    req->on_abort = NULL;
    http_conn_abort(c);
    return 0;
}

int http_response_send(struct http_request *req, int status, const char *content_type,
                       const void *body, size_t len)
{
    int r = http_response_start(req, status, content_type, (int64_t)len);
    if (r == 0)
        r = http_response_write(req, body, len);
    if (r == 0)
        r = http_response_end(req);
    return r;
}

size_t http_response_pending(const struct http_request *req)
{
    if (!req->conn || !req->conn->bev)
        return 0;
    return evbuffer_get_length(bufferevent_get_output(req->conn->bev));
}

void http_response_on_drain(struct http_request *req, http_drain_fn fn, void *ud)
{
    req->on_drain = fn;
    req->drain_ud = ud;
}

bool http_response_started(const struct http_request *req)
{
    return req->resp_started;
}

int http_response_upgrade(struct http_request *req, const char *protocol,
                          struct bufferevent **ret_bev)
{
    struct http_conn *c = req->conn;
    if (!c)
        return -EPIPE;
    if (req->resp_started || req->body_mode != HTTP_BODY_NONE)
        return -EALREADY;
    if (http_head_has_body(req->head) || !req->body_complete || !header_text_ok(protocol))
        return -EINVAL;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    int r = evbuffer_add_printf(out,
                                "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                                "Upgrade: %s\r\nX-Request-Id: %s\r\n",
                                protocol, req->id);
    if (r >= 0 && req->resp_headers.len)
        r = evbuffer_add(out, req->resp_headers.data, req->resp_headers.len);
    if (r >= 0)
        r = evbuffer_add(out, "\r\n", 2);
    if (r < 0)
        return -ENOMEM;
    req->resp_started = req->resp_done = true;
    req->status = 101;
    *ret_bev = http_conn_detach(c);
    return 0;
}
