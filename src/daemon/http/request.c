/* SPDX-License-Identifier: MIT */
/* request.c: the request object handed to handlers: accessors over the parsed head, the
 * X-Request-Id choice, reference counting, and the two body modes (buffered, streamed). It
 * never calls the handler itself: choosing a mode only records it and kicks the connection. */
#include "daemon/http/http_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "common/ulid.h"

static bool id_acceptable(const char *v, size_t len)
{
    if (len < 1 || len > HTTP_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = v[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == ':' || ch == '-'))
            return false;
    }
    return true;
}

static void pick_id(struct http_request *req)
{
    const struct http_header *h = http_head_find(req->head, "x-request-id");
    if (h && id_acceptable(h->value, h->value_len)) {
        memcpy(req->id, h->value, h->value_len);
        req->id[h->value_len] = '\0';
        return;
    }
    char u[ULID_LEN + 1];
    if (ulid_generate(u) < 0) {
        /* getrandom() cannot fail once the pool is ready; keep ids unique regardless */
        static uint64_t counter;
        uint8_t rnd[10] = { 0 };
        uint64_t n = ++counter;
        memcpy(rnd, &n, sizeof(n));
        ulid_encode(0, rnd, u);
    }
    snprintf(req->id, sizeof(req->id), "req_%s", u);
}

struct http_request *http_request_new(struct http_conn *c, struct http_head *head)
{
    struct http_request *req = calloc(1, sizeof(*req));
    if (!req) {
        http_head_free(head);
        return NULL;
    }
    req->refs = 1;
    req->conn = c;
    req->head = head;
    req->resp_remaining = -1;
    buf_init(&req->resp_headers, 16 * 1024);
    buf_init(&req->body, 0);
    pick_id(req);
    req->peer = c->peer;
    if (c->ssl) {
        req->tls = true;
        /* OpenSSL refuses names over 255 bytes (TLSEXT_MAXLEN_host_name) */
        const char *sni = SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name);
        if (sni)
            snprintf(req->sni, sizeof(req->sni), "%s", sni);
        /* only a listener that verifies client certificates gets one (the host channel) */
        X509 *x = SSL_get0_peer_certificate(c->ssl);
        if (x && SSL_get_verify_result(c->ssl) == X509_V_OK) {
            char cn[sizeof(req->peer_cn)];
            int n = X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn,
                                              sizeof(cn));
            if (n > 0 && (size_t)n == strlen(cn))
                memcpy(req->peer_cn, cn, (size_t)n + 1);
        }
    }
    const char *t = head->target;
    size_t plen = strcspn(t, "?#");
    int r = http_path_parse(t, plen, &req->path);
    if (r == 0 && t[plen] == '?') {
        size_t qlen = strcspn(t + plen + 1, "#");
        r = http_query_parse(t + plen + 1, qlen, &req->query);
        if (r < 0)
            http_path_release(&req->path);
    }
    if (r == -ENOMEM) {
        http_request_unref(req);
        return NULL;
    }
    req->target_err = r;
    return req;
}

struct http_request *http_request_ref(struct http_request *req)
{
    req->refs++;
    return req;
}

void http_request_unref(struct http_request *req)
{
    if (!req || --req->refs > 0)
        return;
    http_head_free(req->head);
    http_path_release(&req->path);
    http_query_release(&req->query);
    buf_release(&req->body);
    buf_release(&req->resp_headers);
    free(req);
}

int http_request_method(const struct http_request *req)
{
    return req->head->method;
}

const char *http_request_method_name(const struct http_request *req)
{
    return http_method_str((enum http_method)req->head->method);
}

const char *http_request_target(const struct http_request *req)
{
    return req->head->target;
}

const struct http_path *http_request_path(const struct http_request *req)
{
    return &req->path;
}

const struct http_query *http_request_query(const struct http_request *req)
{
    return &req->query;
}

const char *http_request_header(const struct http_request *req, const char *name,
                                size_t *ret_len)
{
    const struct http_header *h = http_head_find(req->head, name);
    if (!h)
        return NULL;
    if (ret_len)
        *ret_len = h->value_len;
    return h->value;
}

unsigned http_request_header_count(const struct http_request *req)
{
    return req->head->nheaders;
}

const struct http_header *http_request_header_at(const struct http_request *req, unsigned i)
{
    return i < req->head->nheaders ? &req->head->headers[i] : NULL;
}

const char *http_request_id(const struct http_request *req)
{
    return req->id;
}

int64_t http_request_content_length(const struct http_request *req)
{
    return req->head->chunked ? -1 : req->head->content_length;
}

bool http_request_has_body(const struct http_request *req)
{
    return http_head_has_body(req->head);
}

int http_request_http_minor(const struct http_request *req)
{
    return req->head->minor;
}

bool http_request_is_live(const struct http_request *req)
{
    return req->conn && !req->resp_done;
}

void http_request_on_abort(struct http_request *req, http_abort_fn fn, void *ud)
{
    req->on_abort = fn;
    req->abort_ud = ud;
}

/* Common part of both body modes: checks, 100 Continue, early 413. */
static int body_begin(struct http_request *req, enum http_body_mode mode, uint64_t max)
{
    struct http_conn *c = req->conn;
    if (!c)
        return -EPIPE;
    if (req->body_mode != HTTP_BODY_NONE || req->resp_started)
        return -EALREADY;
    req->body_mode = mode;
    req->body_max = max;
    int64_t cl = req->head->content_length;
    if (!req->head->chunked && cl > 0 && (uint64_t)cl > max) {
        req->body_err = -EMSGSIZE; /* refused before reading; no 100 Continue */
        req->body_stopped = true;
    } else if (req->head->expect_continue && http_head_has_body(req->head) &&
               !req->continue_sent && !req->body_complete) {
        req->continue_sent = true;
        /* (void): if this fails the client sends the body after its own timeout anyway */
        (void)evbuffer_add(bufferevent_get_output(c->bev), "HTTP/1.1 100 Continue\r\n\r\n", 25);
    }
    http_conn_kick(c);
    return 0;
}

int http_request_read_body(struct http_request *req, size_t max, http_body_done_fn done,
                           void *ud)
{
    if (req->conn && max == 0)
        max = req->conn->srv->limits.max_json_body;
    if (req->conn && req->body_mode == HTTP_BODY_NONE && !req->resp_started) {
        buf_release(&req->body);
        buf_init(&req->body, max + 1); /* + the NUL added at the end */
        req->on_done = done;
        req->body_ud = ud;
    }
    return body_begin(req, HTTP_BODY_BUFFER, max);
}

const uint8_t *http_request_body(const struct http_request *req, size_t *ret_len)
{
    if (ret_len)
        *ret_len = req->body.len;
    return req->body.len ? req->body.data : NULL;
}

int http_request_stream_body(struct http_request *req, uint64_t max, http_body_data_fn on_data,
                             http_body_end_fn on_end, void *ud)
{
    if (req->conn && req->body_mode == HTTP_BODY_NONE && !req->resp_started) {
        req->on_data = on_data;
        req->on_end = on_end;
        req->body_ud = ud;
    }
    return body_begin(req, HTTP_BODY_STREAM, max);
}

void http_request_pause_body(struct http_request *req)
{
    if (req->body_mode == HTTP_BODY_STREAM)
        req->body_paused = true;
}

void http_request_resume_body(struct http_request *req)
{
    if (req->body_mode != HTTP_BODY_STREAM || !req->body_paused)
        return;
    req->body_paused = false;
    if (req->conn)
        http_conn_kick(req->conn);
}

uint64_t http_request_body_received(const struct http_request *req)
{
    return req->body_received;
}

const struct sockaddr *http_request_peer(const struct http_request *req)
{
    return req->peer.ss_family == AF_UNSPEC ? NULL : (const struct sockaddr *)&req->peer;
}

bool http_request_tls(const struct http_request *req)
{
    return req->tls;
}

const char *http_request_sni(const struct http_request *req)
{
    return req->sni[0] ? req->sni : NULL;
}

const char *http_request_peer_cn(const struct http_request *req)
{
    return req->peer_cn[0] ? req->peer_cn : NULL;
}
