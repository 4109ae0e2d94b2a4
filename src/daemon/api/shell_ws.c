/* SPDX-License-Identifier: MIT */
/* shell_ws.c: GET /v1/sandboxes/{id}/shell-ws (docs/api.md §3.12.3): the RFC 6455 handshake
 * (Sec-WebSocket-Accept from OpenSSL's SHA-1 and base64), then the shell of shell.c over
 * WebSocket framing done by wslay: client binary messages are the §3.12.1 frame stream (frames
 * may span messages), text messages input bytes; terminal output goes out as binary messages;
 * a ping every 30 s; close 1000 when the shell exits, 1002 on a protocol violation (wslay's or
 * the frame stream's). Decoded client bytes wait in a small buffer while the shell's stdin is
 * full, and the socket is not read meanwhile. */
#include "daemon/api/routes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <wslay/wslay.h>

#include "common/buf.h"
#include "daemon/api/api.h"
#include "daemon/api/shell_internal.h"
#include "daemon/api/upgrade_check.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/ctl/sandbox_stream.h"
#include "daemon/http/request.h"
#include "daemon/http/response.h"
#include "daemon/http/route.h"
#include "daemon/store/ids.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_PING_SECS 30
#define WS_IN_MAX (64u * 1024u)   /* decoded client bytes waiting for the shell's stdin */
#define WS_READ_CHUNK 4096u       /* socket bytes handed to wslay per read */

struct shell_ws {
    wslay_event_context_ptr ctx;
    struct shell *t;               /* set once serving */
    struct event *ping;
    struct buf in;                 /* decoded frame-stream bytes not yet fed */
    uint8_t op;                    /* opcode of the message being received */
    bool close_queued;
};

void shell_ws_free(struct shell_ws *ws)
{
    if (!ws)
        return;
    if (ws->ctx)
        wslay_event_context_free(ws->ctx);
    if (ws->ping)
        event_free(ws->ping);
    buf_release(&ws->in);
    free(ws);
}

static ssize_t ws_recv(wslay_event_context_ptr ctx, uint8_t *p, size_t len, int flags,
                       void *ud)
{
    struct shell_ws *ws = ud;
    struct shell *t = ws->t;
    /* nothing new while decoded bytes still wait for the shell: backpressure */
    size_t n = 0;
    if (t && t->bev && ws->in.len == 0) {
        if (len > WS_READ_CHUNK)
            len = WS_READ_CHUNK;
        int r = evbuffer_remove(bufferevent_get_input(t->bev), p, len);
        n = r > 0 ? (size_t)r : 0;
    }
    if (n == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    return (ssize_t)n;
}

static ssize_t ws_send(wslay_event_context_ptr ctx, const uint8_t *p, size_t len, int flags,
                       void *ud)
{
    struct shell_ws *ws = ud;
    if (!ws->t || !ws->t->bev || evbuffer_add(bufferevent_get_output(ws->t->bev), p, len) < 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
        return -1;
    }
    return (ssize_t)len;
}

static void ws_frame_start(wslay_event_context_ptr ctx,
                           const struct wslay_event_on_frame_recv_start_arg *arg, void *ud)
{
    struct shell_ws *ws = ud;
    if (arg->opcode != WSLAY_CONTINUATION_FRAME && !(arg->opcode & 0x8))
        ws->op = arg->opcode; /* a data message starts; control frames may interleave */
}

/* Data bytes as they are decoded: binary ones are the frame stream; a text message's bytes
 * become input frames of their own. */
static void ws_frame_chunk(wslay_event_context_ptr ctx,
                           const struct wslay_event_on_frame_recv_chunk_arg *arg, void *ud)
{
    struct shell_ws *ws = ud;
    int r = 0;
    if (ws->op == WSLAY_BINARY_FRAME) {
        r = buf_append(&ws->in, arg->data, arg->data_length);
    } else if (ws->op == WSLAY_TEXT_FRAME && arg->data_length > 0) {
        uint8_t head[5] = { 0, (uint8_t)(arg->data_length >> 24),
                            (uint8_t)(arg->data_length >> 16), (uint8_t)(arg->data_length >> 8),
                            (uint8_t)arg->data_length };
        r = buf_append(&ws->in, head, sizeof(head));
        if (r == 0)
            r = buf_append(&ws->in, arg->data, arg->data_length);
    }
    if (r < 0) /* cannot happen: one read's worth at a time, and the buffer is far larger */
        wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
}

static void ws_flush(struct shell *t)
{
    if (t->ws && t->bev)
        (void)wslay_event_send(t->ws->ctx); /* into the socket's output buffer */
}

void shell_ws_close(struct shell *t, uint16_t code)
{
    struct shell_ws *ws = t->ws;
    if (!ws || ws->close_queued)
        return;
    ws->close_queued = true;
    (void)wslay_event_queue_close(ws->ctx, code, NULL, 0);
    ws_flush(t);
}

bool shell_ws_finished(const struct shell *t)
{
    return !t->ws || !wslay_event_get_write_enabled(t->ws->ctx) ||
           (t->ws->close_queued && !wslay_event_want_write(t->ws->ctx));
}

int shell_ws_output(struct shell *t, const uint8_t *p, size_t len)
{
    struct wslay_event_msg m = { .opcode = WSLAY_BINARY_FRAME, .msg = p, .msg_length = len };
    if (wslay_event_queue_msg(t->ws->ctx, &m) == WSLAY_ERR_NOMEM)
        return -ENOMEM;
    ws_flush(t); /* other failures: closing already, the bytes go nowhere */
    return 0;
}

void shell_ws_on_read(struct shell *t)
{
    struct shell_ws *ws = t->ws;
    for (int rounds = 0; rounds < 64 && t->bev && !t->dead; rounds++) {
        if (ws->in.len > 0) {
            size_t n = t->hung_up ? ws->in.len : shell_feed(t, ws->in.data, ws->in.len);
            buf_consume(&ws->in, n);
            if (t->dead || !t->bev)
                return;
            if (ws->in.len > 0) /* the shell's stdin is full: wait for on_credit */
                break;
        }
        if (!wslay_event_get_read_enabled(ws->ctx))
            break;
        size_t before = evbuffer_get_length(bufferevent_get_input(t->bev));
        if (wslay_event_recv(ws->ctx) < 0 || !wslay_event_get_read_enabled(ws->ctx)) {
            /* a close from the client, or a violation (wslay queued 1002): the shell is left */
            ws_flush(t);
            shell_hang_up(t, false);
            return;
        }
        ws_flush(t); /* pongs */
        if (ws->in.len == 0 && evbuffer_get_length(bufferevent_get_input(t->bev)) == before)
            break;
    }
    if (!t->bev || t->hung_up)
        return;
    if (ws->in.len > 0)
        bufferevent_disable(t->bev, EV_READ);
    else
        bufferevent_enable(t->bev, EV_READ);
}

static void on_ping(evutil_socket_t fd, short what, void *ud)
{
    struct shell *t = ud;
    shell_enter(t);
    struct wslay_event_msg m = { .opcode = WSLAY_PING, .msg = (const uint8_t *)"hearth",
                                 .msg_length = 6 };
    if (t->bev && wslay_event_queue_msg(t->ws->ctx, &m) == 0)
        ws_flush(t);
    struct timeval tv = { .tv_sec = WS_PING_SECS };
    event_add(t->ws->ping, &tv);
    shell_leave(t);
}

void shell_ws_started(struct shell *t)
{
    t->ws->t = t;
    t->ws->ping = evtimer_new(t->ctx->ctl->base, on_ping, t);
    struct timeval tv = { .tv_sec = WS_PING_SECS };
    if (t->ws->ping)
        event_add(t->ws->ping, &tv);
}

/* Sec-WebSocket-Accept for key (RFC 6455 §4.2.2); false when key is not 16 bytes in base64. */
static bool accept_value(const char *key, char out[64])
{
    uint8_t raw[64];
    size_t kl = strlen(key);
    if (kl != 24)
        return false;
    int n = EVP_DecodeBlock(raw, (const unsigned char *)key, (int)kl);
    if (n != 18 || key[22] != '=' || key[23] != '=') /* 16 bytes, padded */
        return false;
    char cat[24 + sizeof(WS_GUID)];
    memcpy(cat, key, 24);
    memcpy(cat + 24, WS_GUID, sizeof(WS_GUID));
    uint8_t md[SHA_DIGEST_LENGTH];
    SHA1((const unsigned char *)cat, strlen(cat), md);
    EVP_EncodeBlock((unsigned char *)out, md, SHA_DIGEST_LENGTH);
    return true;
}

static struct shell_ws *ws_new(void)
{
    struct shell_ws *ws = calloc(1, sizeof(*ws));
    if (!ws)
        return NULL;
    buf_init(&ws->in, WS_IN_MAX);
    struct wslay_event_callbacks cb = { .recv_callback = ws_recv,
                                        .send_callback = ws_send,
                                        .on_frame_recv_start_callback = ws_frame_start,
                                        .on_frame_recv_chunk_callback = ws_frame_chunk };
    if (wslay_event_context_server_init(&ws->ctx, &cb, ws) != 0) {
        free(ws);
        return NULL;
    }
    /* frames are handed over as they come: no whole-message buffering, so no message limit */
    wslay_event_config_set_no_buffering(ws->ctx, 1);
    return ws;
}

void api_sandbox_shell_ws(struct api_call *call)
{
    char id[STORE_ID_SIZE];
    if (!api_upgrade_sandbox(call, "websocket", id))
        return;
    const char *ver = http_request_header(call->req, "Sec-WebSocket-Version", NULL);
    if (!ver || strcmp(ver, "13") != 0) {
        (void)http_response_add_header(call->req, "Sec-WebSocket-Version", "13");
        api_reply_fail_code(call, 426, "upgrade_required",
                            "this route requires Sec-WebSocket-Version: 13");
        return;
    }
    const char *key = http_request_header(call->req, "Sec-WebSocket-Key", NULL);
    char acc[64];
    if (!key || !accept_value(key, acc)) {
        api_reply_field(call, "Sec-WebSocket-Key", "must be 16 bytes in base64",
                        "invalid_request");
        return;
    }
    struct shell_ws *ws = ws_new();
    if (!ws || http_response_add_header(call->req, "Sec-WebSocket-Accept", acc) < 0) {
        shell_ws_free(ws);
        api_reply_internal(call, "websocket", -ENOMEM);
        return;
    }
    shell_serve(call, id, "websocket", ws);
}
