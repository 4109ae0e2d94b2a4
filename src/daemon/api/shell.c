/* SPDX-License-Identifier: MIT */
/* shell.c: POST /v1/sandboxes/{id}/shell (docs/api.md §3.12.1). Checks the request as ordinary
 * JSend, has the control layer start the default login shell on a terminal
 * (ctl/sandbox_stream.h: its environment, the active count), answers 101 and then parses the
 * client's frames (shell_frames.c) into terminal input and resizes, and sends the terminal's
 * output back raw. Flow control as for tunnels (tunnel.c): the socket is not read while the
 * shell's stdin has no room, the agent's credit is held while the socket is backed up. */
#include "daemon/api/routes.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/wire.h"
#include "daemon/api/api.h"
#include "daemon/api/reply.h"
#include "daemon/api/shell_internal.h"
#include "daemon/api/stream_credit.h"
#include "daemon/api/upgrade_check.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/ctl/sandbox_stream.h"
#include "daemon/host/host.h"
#include "daemon/http/request.h"
#include "daemon/http/response.h"
#include "daemon/http/route.h"
#include "daemon/log.h"
#include "daemon/store/ids.h"
#include "daemon/store/store.h"

#define SHELL_OUT_HIGH (256u * 1024u) /* hold the agent's credit past this much unsent */
#define SHELL_KILL_SECS 5             /* SIGHUP, then SIGKILL this much later (§3.12.1) */

static void shell_free(struct shell *t)
{
    if (!t->upgraded)
        api_call_unhold(&t->call);
    if (t->bev)
        bufferevent_free(t->bev);
    if (t->kill_timer)
        event_free(t->kill_timer);
    ctl_exec_free(t->exec);
    shell_ws_free(t->ws);
    free(t);
}

void shell_enter(struct shell *t)
{
    t->depth++;
}

void shell_leave(struct shell *t)
{
    if (--t->depth == 0 && t->dead)
        shell_free(t);
}

static void on_kill_timer(evutil_socket_t fd, short what, void *ud)
{
    struct shell *t = ud;
    shell_enter(t);
    if (t->open) /* the group ignored SIGHUP: SIGKILL; on_end runs inside */
        (void)host_vm_exec_cancel(t->ctx->ctl->host, t->id, t->stream);
    shell_leave(t);
}

/* The client went away or broke the protocol: the shell's group gets SIGHUP, SIGKILL 5 s
 * later (§3.12.1). close_now drops the connection at once (else output still goes out). */
void shell_hang_up(struct shell *t, bool close_now)
{
    if (close_now && t->bev) {
        bufferevent_free(t->bev);
        t->bev = NULL;
    } else if (t->bev) {
        bufferevent_disable(t->bev, EV_READ);
    }
    if (t->hung_up)
        return;
    t->hung_up = true;
    if (!t->open) {
        t->dead = !t->bev;
        return;
    }
    (void)host_vm_exec_signal(t->ctx->ctl->host, t->id, t->stream, SIGHUP);
    struct timeval tv = { .tv_sec = SHELL_KILL_SECS };
    if (t->kill_timer)
        event_add(t->kill_timer, &tv);
}

size_t shell_feed(struct shell *t, const uint8_t *p, size_t len)
{
    size_t done = 0;
    while (t->open && !t->hung_up && done < len) {
        struct shell_event ev;
        size_t used = shell_parse(&t->parser, p + done, len - done, &ev);
        if (ev.kind == SHELL_EV_ERROR) {
            log_info(NULL, "shell: closing a client that broke the frame protocol",
                     "{s:s,s:s}", "sandbox", t->id, "why", ev.error);
            if (t->ws)
                shell_ws_close(t, 1002);
            shell_hang_up(t, !t->ws);
            return done;
        }
        if (ev.kind == SHELL_EV_RESIZE)
            (void)host_stream_resize(t->ctx->ctl->host, t->id, t->stream, ev.rows, ev.cols);
        size_t refused = 0;
        if (ev.kind == SHELL_EV_INPUT) {
            ssize_t n = host_stream_write(t->ctx->ctl->host, t->id, t->stream, ev.data, ev.len);
            if (t->dead || !t->open || !t->bev)
                return done + used;
            if (n < 0) {
                shell_hang_up(t, true);
                return done + used;
            }
            refused = ev.len - (size_t)n;
            shell_parser_unread(&t->parser, refused);
        }
        done += used - refused;
        if (refused) {
            t->read_blocked = true;
            return done;
        }
    }
    return done;
}

/* Feeds the client's frames to the shell while its stdin takes bytes. */
static void pump_client(struct shell *t)
{
    if (t->ws) {
        shell_ws_on_read(t);
        return;
    }
    struct evbuffer *in = bufferevent_get_input(t->bev);
    t->read_blocked = false;
    while (t->open && !t->hung_up && t->bev && evbuffer_get_length(in) > 0) {
        size_t len = evbuffer_get_contiguous_space(in);
        const uint8_t *p = evbuffer_pullup(in, (ssize_t)len);
        size_t n = shell_feed(t, p, len);
        if (!t->bev)
            return;
        evbuffer_drain(in, n);
        if (t->read_blocked || n < len)
            break;
    }
    if (!t->bev || t->hung_up)
        return;
    if (t->read_blocked)
        bufferevent_disable(t->bev, EV_READ);
    else
        bufferevent_enable(t->bev, EV_READ);
}

static void on_client_read(struct bufferevent *bev, void *ud)
{
    struct shell *t = ud;
    shell_enter(t);
    pump_client(t);
    shell_leave(t);
}

static void on_client_write(struct bufferevent *bev, void *ud)
{
    struct shell *t = ud;
    shell_enter(t);
    size_t pending = evbuffer_get_length(bufferevent_get_output(bev));
    if (pending <= SHELL_OUT_HIGH / 2)
        api_stream_credit_return(t->ctx->ctl->host, t->id, t->stream, t->open, &t->held);
    if (pending == 0 && !t->open && (!t->ws || shell_ws_finished(t)))
        t->dead = true; /* the shell exited and its output is out: close (§3.12.1) */
    else if (pending == 0 && t->ws && t->hung_up && shell_ws_finished(t)) {
        bufferevent_free(t->bev); /* the close handshake is done; the shell still ends */
        t->bev = NULL;
    }
    shell_leave(t);
}

static void on_client_event(struct bufferevent *bev, short what, void *ud)
{
    struct shell *t = ud;
    shell_enter(t);
    /* EOF: output may still go out until the shell ends; an error: nothing can */
    shell_hang_up(t, (what & BEV_EVENT_ERROR) || !t->open);
    shell_leave(t);
}

static void on_credit(void *ud, size_t room)
{
    struct shell *t = ud;
    if (!t->bev)
        return;
    shell_enter(t);
    pump_client(t);
    shell_leave(t);
}

static int on_data(void *ud, uint16_t type, const uint8_t *p, size_t len, bool eof)
{
    struct shell *t = ud;
    if (!t->bev || len == 0)
        return 0; /* nobody to show it to: dropped, its credit returned */
    struct evbuffer *out = bufferevent_get_output(t->bev);
    if (t->ws ? shell_ws_output(t, p, len) < 0 : evbuffer_add(out, p, len) < 0)
        return -ENOMEM;
    if (evbuffer_get_length(out) > SHELL_OUT_HIGH) {
        t->held += len;
        return AGENT_DATA_HOLD;
    }
    return 0;
}

static void on_end(void *ud, const struct agent_end *end)
{
    struct shell *t = ud;
    shell_enter(t);
    t->open = false;
    if (t->kill_timer)
        event_del(t->kill_timer);
    if (t->upgraded && t->ws && t->bev)
        shell_ws_close(t, 1000); /* §3.12.3: the shell exited */
    if (!t->upgraded) {
        t->dead = true; /* ended inside the start: the starter answers */
    } else if (t->bev && evbuffer_get_length(bufferevent_get_output(t->bev)) > 0) {
        bufferevent_disable(t->bev, EV_READ); /* flush, then close in on_client_write */
    } else {
        t->dead = true;
    }
    shell_leave(t);
}

void api_sandbox_shell(struct api_call *call)
{
    char id[STORE_ID_SIZE];
    if (!api_upgrade_sandbox(call, "tcp-tunnel", id))
        return;
    shell_serve(call, id, "tcp-tunnel", NULL);
}

void shell_serve(const struct api_call *call, const char *id, const char *protocol,
                 struct shell_ws *ws)
{
    struct api_ctx *ctx = call->ctx;
    struct ctl_error e;
    struct shell *t = api_call_hold(call, sizeof(*t), "shell");
    if (!t) {
        shell_ws_free(ws);
        return;
    }
    t->ctx = ctx;
    t->ws = ws;
    snprintf(t->id, sizeof(t->id), "%s", id);
    shell_parser_init(&t->parser);
    t->ops = (struct agent_stream_ops){ .on_data = on_data, .on_credit = on_credit,
                                        .on_end = on_end };
    t->depth = 1; /* on_end may run inside the start: the struct lives until shell_leave() */
    t->kill_timer = evtimer_new(ctx->ctl->base, on_kill_timer, t);
    if (!t->kill_timer) {
        api_reply_internal(call, "shell", -ENOMEM);
        t->dead = true;
        shell_leave(t);
        return;
    }
    struct ctl_exec_req req = { .argv = NULL, .cwd = "/root", .pty = true, .rows = 24,
                                .cols = 80, .term = "xterm-256color" };
    t->open = true;
    int r = ctl_sandbox_exec_start(ctx->ctl, id, &req, &t->ops, t, &t->exec, &t->stream, &e);
    if (r < 0) {
        t->open = false;
        api_reply_ctl(call, &e);
        t->dead = true;
    } else if (!t->open) {
        api_reply_error(call, 503, "the sandbox's vm is not reachable; retry later",
                        "unavailable");
        t->dead = true;
    } else {
        struct bufferevent *bev = NULL;
        if (http_response_upgrade(call->req, protocol, &bev) < 0) {
            (void)host_vm_exec_cancel(ctx->ctl->host, id, t->stream); /* on_end: dead */
        } else {
            api_reply_done(&t->call, 101);
            api_call_unhold(&t->call);
            t->upgraded = true;
            t->bev = bev;
            bufferevent_setcb(bev, on_client_read, on_client_write, on_client_event, t);
            bufferevent_setwatermark(bev, EV_WRITE, SHELL_OUT_HIGH / 2, 0);
            bufferevent_enable(bev, EV_READ | EV_WRITE);
            if (t->ws)
                shell_ws_started(t);
            pump_client(t); /* what the client sent right after its head (§1.13) */
        }
    }
    shell_leave(t);
}
