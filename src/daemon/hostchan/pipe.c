/* SPDX-License-Identifier: MIT */
/* pipe.c: an upgraded forwarded connection (a shell WebSocket, a tunnel): bytes both ways
 * between the client's connection and the peer host's, with backpressure (a side stops being
 * read while the other has HC_PIPE_HIGH bytes queued) and half-close (EOF from one side becomes
 * a write shutdown, TLS close_notify first, on the other once its queue drained). Freed when
 * both sides ended, or at once on an error. Dead peers are found by TCP keepalive
 * (forward.c sets it on the peer's socket). */
#include "daemon/hostchan/hostchan_internal.h"

#include <errno.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "daemon/http/response.h"

#define HC_PIPE_HIGH (256u * 1024u)

struct hc_pipe {
    struct hostchan *hc;
    struct bufferevent *bev[2];
    bool eof[2];       /* side i sent EOF */
    bool shut[2];      /* side i's write side was shut */
    struct hc_pipe *prev, *next;
};

static void pipe_free(struct hc_pipe *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        p->hc->pipes = p->next;
    if (p->next)
        p->next->prev = p->prev;
    for (int i = 0; i < 2; i++)
        bufferevent_free(p->bev[i]);
    free(p);
}

static int side_of(struct hc_pipe *p, struct bufferevent *bev)
{
    return p->bev[0] == bev ? 0 : 1;
}

/* After side i's EOF: shut the other's write side once its queue is empty; free when both
 * directions are done. Returns true when p was freed. */
static bool settle(struct hc_pipe *p)
{
    for (int i = 0; i < 2; i++) {
        int o = 1 - i;
        if (p->eof[i] && !p->shut[o] &&
            evbuffer_get_length(bufferevent_get_output(p->bev[o])) == 0) {
            http_bev_shutdown_write(p->bev[o]);
            p->shut[o] = true;
        }
    }
    if (p->shut[0] && p->shut[1]) {
        pipe_free(p);
        return true;
    }
    return false;
}

/* Moves what side bev read to the other side. False when p was freed (out of memory). */
static bool move(struct hc_pipe *p, struct bufferevent *bev)
{
    int i = side_of(p, bev), o = 1 - i;
    struct evbuffer *out = bufferevent_get_output(p->bev[o]);
    if (evbuffer_add_buffer(out, bufferevent_get_input(bev)) < 0) {
        pipe_free(p);
        return false;
    }
    if (evbuffer_get_length(out) >= HC_PIPE_HIGH)
        bufferevent_disable(bev, EV_READ);
    return true;
}

static void on_read(struct bufferevent *bev, void *ud)
{
    (void)move(ud, bev); /* (void): p may be gone; nothing follows */
}

static void on_write(struct bufferevent *bev, void *ud)
{
    struct hc_pipe *p = ud;
    int i = side_of(p, bev), o = 1 - i;
    if (!p->eof[o])
        bufferevent_enable(p->bev[o], EV_READ);
    (void)settle(p); /* (void): p may be gone; nothing follows */
}

static void on_event(struct bufferevent *bev, short what, void *ud)
{
    struct hc_pipe *p = ud;
    if (what & BEV_EVENT_ERROR) {
        pipe_free(p);
        return;
    }
    if (what & BEV_EVENT_EOF) {
        int i = side_of(p, bev);
        /* what was read before the EOF goes across first */
        if (evbuffer_get_length(bufferevent_get_input(bev)) > 0 && !move(p, bev))
            return;
        p->eof[i] = true;
        bufferevent_disable(bev, EV_READ);
        (void)settle(p);
    }
}

int hc_pipe_start(struct hostchan *hc, struct bufferevent *a, struct bufferevent *b)
{
    struct hc_pipe *p = calloc(1, sizeof(*p));
    if (!p) {
        bufferevent_free(a);
        bufferevent_free(b);
        return -ENOMEM;
    }
    p->hc = hc;
    p->bev[0] = a;
    p->bev[1] = b;
    p->next = hc->pipes;
    if (hc->pipes)
        hc->pipes->prev = p;
    hc->pipes = p;
    for (int i = 0; i < 2; i++) {
        bufferevent_setcb(p->bev[i], on_read, on_write, on_event, p);
        bufferevent_setwatermark(p->bev[i], EV_WRITE, HC_PIPE_HIGH / 4, 0);
        bufferevent_set_timeouts(p->bev[i], NULL, NULL);
        bufferevent_enable(p->bev[i], EV_READ | EV_WRITE);
    }
    /* bytes already read on either side (after the heads) go across now */
    for (int i = 0; i < 2; i++)
        if (evbuffer_get_length(bufferevent_get_input(p->bev[i])) > 0 && !move(p, p->bev[i]))
            return -ENOMEM;
    return 0;
}

void hc_pipe_close_all(struct hostchan *hc)
{
    while (hc->pipes)
        pipe_free(hc->pipes);
}
