/* SPDX-License-Identifier: MIT */
/* exchange.c: one request through the ingress proxy (docs/ingress-ssh.md "Ingress proxy"):
 * wake the sandbox, take a pooled guest connection or open one, write the rewritten head,
 * stream the body in under the stream's credit (the client's socket is not read while the
 * guest is behind), parse the guest's answer under limits and stream it out (the guest's credit
 * is held while the client's socket is behind), then put the connection back in the pool when
 * both sides allow. A pooled connection the guest closed meanwhile gets one retry on a fresh
 * one when nothing of the request could have reached the application (no body, no answer). */
#include "daemon/ingress/ingress_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>

#include "common/buf.h"
#include "common/mono.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/sandbox_wake.h"
#include "daemon/http/request.h"
#include "daemon/http/response.h"
#include "daemon/ingress/fwd_head.h"

struct exchange {
    struct ingress *ing;
    struct http_request *req;      /* referenced */
    struct ctl_ingress_target t;
    uint16_t port;
    bool https;
    char client_ip[64];
    int64_t t0_us;                 /* when the request's head came (mono_now_us()) */
    struct ctl_wake *wake;         /* a resume under way */
    struct upstream *up;           /* the guest connection in use */
    bool reused, retried;          /* up came from the pool; the one retry was spent */
    struct upresp rp;
    bool rp_init;
    bool upgrade;                  /* the client asked to upgrade (no body) */
    struct bufferevent *up_bev;    /* the client's connection after our 101 */
    bool has_body, chunked, body_started, body_pending, body_done;
    bool got_bytes;                /* the guest sent something for this request */
    size_t held;                   /* guest credit held while the client's output drains */
    struct event *timer;           /* no response head in time: 504 */
    bool finished;
    int depth;
};

static void x_free(struct exchange *x)
{
    if (x->rp_init)
        upresp_release(&x->rp);
    if (x->timer)
        event_free(x->timer);
    http_request_unref(x->req);
    free(x);
}

static void enter(struct exchange *x)
{
    x->depth++;
}

/* Freed once over, off the stack, and the HTTP layer owes no more body callbacks. */
static void leave(struct exchange *x)
{
    if (--x->depth == 0 && x->finished && !x->body_pending)
        x_free(x);
}

/* The exchange is over: no more callbacks into it except a body end still owed. */
static void finish(struct exchange *x, bool reusable)
{
    if (x->finished)
        return;
    x->finished = true;
    http_request_on_abort(x->req, NULL, NULL);
    http_response_on_drain(x->req, NULL, NULL);
    if (x->wake) {
        ctl_wake_cancel(x->ing->ctl, x->wake);
        x->wake = NULL;
    }
    if (x->timer)
        event_del(x->timer);
    struct upstream *u = x->up;
    x->up = NULL;
    if (u && x->held)
        upstream_consumed(u, x->held); /* a pooled connection needs its whole window */
    x->held = 0;
    if (u)
        upstream_release(u, reusable);
}

static void fail(struct exchange *x, int status, const char *what)
{
    if (http_response_started(x->req))
        (void)http_response_abort(x->req); /* mid-body: only a cut tells the client */
    else
        ingress_error(x->ing, x->req, x->t0_us, status, what);
    finish(x, false);
}

static void arm_timer(struct exchange *x)
{
    unsigned ms = x->ing->set.upstream_timeout_ms;
    struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
    (void)event_add(x->timer, &tv);
}

/* ---- the guest's answer ---- */

static bool resp_hop_by_hop(const struct upresp_head *h, const struct http_header *f)
{
    static const char *const drop[] = { "Connection", "Keep-Alive", "TE", "Trailer",
                                        "Transfer-Encoding", "Upgrade", "Content-Length",
                                        "X-Request-Id", "Proxy-Connection" };
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
        if (strcasecmp(f->name, drop[i]) == 0)
            return true;
    for (unsigned i = 0; i < h->nheaders; i++) {
        const struct http_header *c = &h->headers[i];
        if (strcasecmp(c->name, "Connection") != 0)
            continue;
        /* a header the guest's Connection names is about its connection only */
        const char *p = c->value;
        while (*p) {
            p += strspn(p, " \t,");
            size_t n = strcspn(p, ",");
            size_t e = n;
            while (e > 0 && (p[e - 1] == ' ' || p[e - 1] == '\t'))
                e--;
            if (e == f->name_len && e > 0 && strncasecmp(p, f->name, e) == 0)
                return true;
            p += n;
        }
    }
    return false;
}

/* The guest's head went to the client (docs/operations.md "Metrics"). */
static void head_sent(struct exchange *x, int status)
{
    ingress_stats_response(&x->ing->stats, status, false,
                           (double)(mono_now_us() - x->t0_us) / 1e6);
}

static int on_resp_head(void *ud, const struct upresp_head *h)
{
    struct exchange *x = ud;
    if (x->timer)
        event_del(x->timer);
    const char *upgrade = NULL;
    for (unsigned i = 0; i < h->nheaders; i++) {
        const struct http_header *f = &h->headers[i];
        if (strcasecmp(f->name, "Upgrade") == 0)
            upgrade = f->value;
        if (resp_hop_by_hop(h, f))
            continue;
        if (http_response_add_header(x->req, f->name, f->value) < 0)
            return -EPROTO;
    }
    if (h->status == 101) {
        if (!x->upgrade || !upgrade || !*upgrade)
            return -EPROTO; /* an upgrade the client never asked for */
        if (http_response_upgrade(x->req, upgrade, &x->up_bev) < 0)
            return -EPIPE;
        head_sent(x, 101);
        return 0;
    }
    int64_t cl = h->content_length;
    if (cl < 0 && (h->status == 204 || h->status == 304))
        cl = 0;
    if (http_response_start(x->req, h->status, NULL, cl) < 0)
        return -EPIPE;
    head_sent(x, h->status);
    return 0;
}

static int on_resp_body(void *ud, const uint8_t *p, size_t len)
{
    struct exchange *x = ud;
    int r = http_response_write(x->req, p, len);
    return r == -EINVAL ? -EPROTO : 0; /* more than its Content-Length: http-parser prevents */
}

static void on_resp_done(void *ud)
{
    (void)ud; /* handled where the feed returns UPRESP_DONE */
}

static const struct upresp_ops resp_ops = {
    .on_head = on_resp_head, .on_body = on_resp_body, .on_done = on_resp_done,
};

static void connect_guest(struct exchange *x);

/* The guest closed (or the stream ended) before the answer was whole. */
static void guest_gone(struct exchange *x, const char *what)
{
    if (!upresp_head_seen(&x->rp) && x->reused && !x->retried && !x->has_body &&
        !x->got_bytes && !x->upgrade) {
        /* a pooled connection the guest had closed meanwhile: one fresh try */
        x->retried = true;
        struct upstream *u = x->up;
        x->up = NULL;
        if (u)
            upstream_release(u, false);
        upresp_reset(&x->rp, http_request_method(x->req) == HTTP_HEAD);
        connect_guest(x);
        return;
    }
    if (upresp_head_seen(&x->rp) && upresp_eof(&x->rp) == UPRESP_DONE) {
        (void)http_response_end(x->req); /* a body that ends with the connection */
        finish(x, false);
        return;
    }
    fail(x, 502, what);
}

static void on_drain(struct http_request *req, void *ud)
{
    struct exchange *x = ud;
    (void)req;
    if (x->held && x->up) {
        upstream_consumed(x->up, x->held);
        x->held = 0;
    }
}

static int x_on_data(void *owner, const uint8_t *p, size_t len, bool eof)
{
    struct exchange *x = owner;
    if (x->finished)
        return -ECANCELED;
    enter(x);
    int ret = 0;
    x->got_bytes |= len > 0;
    size_t used = 0;
    int r = len ? upresp_feed(&x->rp, p, len, &used) : UPRESP_MORE;
    if (r == UPRESP_UPGRADE && x->up_bev) {
        struct upstream *u = x->up;
        x->up = NULL;
        finish(x, false);
        ws_pipe_start(x->ing, x->up_bev, u, p + used, len - used);
    } else if (r == UPRESP_DONE) {
        bool reusable = x->rp.hp.http_major == 1 && used == len && !eof && x->body_done &&
                        http_should_keep_alive(&x->rp.hp);
        (void)http_response_end(x->req);
        finish(x, reusable);
    } else if (r < 0) {
        fail(x, 502, "the sandbox's server sent a response the proxy cannot read");
    } else if (eof) {
        guest_gone(x, "the sandbox's server closed the connection without a whole answer");
    } else if (len && http_response_pending(x->req) > INGRESS_HIGH) {
        x->held += len;
        ret = AGENT_DATA_HOLD;
    }
    leave(x);
    return ret;
}

static void x_on_end(void *owner, const struct agent_end *end)
{
    struct exchange *x = owner;
    enter(x);
    bool connected = x->up && x->up->connected;
    x->up = NULL; /* gone after this */
    if (x->finished) {
        /* nothing */
    } else if (!connected && end->kind == AGENT_END_LOST) {
        fail(x, 503, "the sandbox's VM is not reachable; try again shortly");
    } else if (!connected) {
        char msg[160];
        snprintf(msg, sizeof(msg), "nothing answers on port %u in the sandbox (%s)", x->port,
                 end->error[0] ? end->error : "closed");
        fail(x, 502, msg);
    } else {
        guest_gone(x, "the connection to the sandbox's server broke");
    }
    leave(x);
}

/* ---- the request going in ---- */

static int on_body_data(struct http_request *req, const uint8_t *p, size_t len, void *ud)
{
    struct exchange *x = ud;
    if (x->finished || !x->up)
        return -ECANCELED;
    int r = 0;
    if (x->chunked) {
        char line[24];
        int n = snprintf(line, sizeof(line), "%zx\r\n", len);
        r = upstream_send(x->up, line, (size_t)n);
        if (r == 0 && x->up)
            r = upstream_send(x->up, p, len);
        if (r == 0 && x->up)
            r = upstream_send(x->up, "\r\n", 2);
    } else {
        r = upstream_send(x->up, p, len);
    }
    if (r < 0 || !x->up)
        return -ECANCELED;
    if (upstream_queued(x->up) > INGRESS_HIGH)
        http_request_pause_body(req); /* x_on_room resumes */
    return 0;
}

static void on_body_end(struct http_request *req, int err, void *ud)
{
    struct exchange *x = ud;
    (void)req;
    enter(x);
    x->body_pending = false;
    if (!x->finished) {
        if (err < 0) {
            /* the HTTP layer answered (400, 408, 413) or the client left: drop the guest side */
            finish(x, false);
        } else {
            x->body_done = true;
            if (x->chunked && x->up)
                (void)upstream_send(x->up, "0\r\n\r\n", 5);
            if (!upresp_head_seen(&x->rp))
                arm_timer(x); /* the answer is due from the end of the body on */
        }
    }
    leave(x);
}

static void x_on_room(void *owner)
{
    struct exchange *x = owner;
    if (x->body_started && !x->body_done)
        http_request_resume_body(x->req);
}

static void send_head(struct exchange *x)
{
    struct http_request *req = x->req;
    struct http_header hs[256];
    unsigned n = http_request_header_count(req);
    if (n > sizeof(hs) / sizeof(hs[0]))
        n = sizeof(hs) / sizeof(hs[0]);
    for (unsigned i = 0; i < n; i++)
        hs[i] = *http_request_header_at(req, i);
    struct fwd_req f = {
        .method = http_request_method_name(req), .target = http_request_target(req),
        .headers = hs, .nheaders = n, .client_ip = x->client_ip, .https = x->https,
        .content_length = x->has_body ? http_request_content_length(req)
                          : (http_request_method(req) == HTTP_POST ||
                             http_request_method(req) == HTTP_PUT ||
                             http_request_method(req) == HTTP_PATCH)
                              ? 0 : -1,
        .chunked = x->chunked, .upgrade = x->upgrade,
    };
    struct buf b;
    buf_init(&b, 256 * 1024);
    int r = fwd_head_build(&f, &b);
    if (r == 0)
        r = upstream_send(x->up, b.data, b.len);
    buf_release(&b);
    if (r < 0 || !x->up) {
        if (!x->finished)
            fail(x, 502, "cannot forward the request to the sandbox");
        return;
    }
    if (x->has_body && !x->body_started) {
        x->body_started = true;
        if (http_request_stream_body(req, UINT64_MAX, on_body_data, on_body_end, x) == 0)
            x->body_pending = true;
        else
            fail(x, 502, "cannot read the request body");
    } else if (!x->has_body) {
        x->body_done = true;
    }
}

static void x_on_open(void *owner)
{
    struct exchange *x = owner;
    enter(x);
    if (!x->finished)
        send_head(x);
    leave(x);
}

static const struct upstream_owner_ops owner_ops = {
    .on_data = x_on_data, .on_open = x_on_open, .on_room = x_on_room, .on_end = x_on_end,
};

static void connect_guest(struct exchange *x)
{
    arm_timer(x);
    struct upstream *u = x->retried ? NULL
                                    : upstream_take(x->ing, x->t.id, x->port, &owner_ops, x);
    if (u) {
        x->up = u;
        x->reused = true;
        send_head(x);
        return;
    }
    x->reused = false;
    struct ctl_error e;
    int r = upstream_open(x->ing, x->t.id, x->port, &owner_ops, x, &u, &e);
    if (r < 0) {
        fail(x, e.code == CTL_E_UNAVAILABLE ? 503 : 502,
             e.code == CTL_E_UNAVAILABLE ? "the sandbox's VM is not reachable; try again shortly"
                                         : "cannot connect to the sandbox");
        return;
    }
    if (!x->finished)
        x->up = u; /* on_open sends the head */
}

static void on_woken(void *ud, const struct ctl_error *e)
{
    struct exchange *x = ud;
    enter(x);
    x->wake = NULL;
    if (e->code == CTL_OK)
        x->ing->stats.wakes_ok++;
    else
        x->ing->stats.wakes_failed++;
    if (e->code == CTL_OK) {
        ctl_ingress_touch(x->ing->ctl, x->t.user_id, x->t.id);
        connect_guest(x);
    } else if (e->code == CTL_E_NOT_FOUND) {
        fail(x, 404, INGRESS_404_TEXT);
    } else {
        fail(x, 503, "the sandbox cannot be woken up now; try again shortly");
    }
    leave(x);
}

static void on_timer(evutil_socket_t fd, short what, void *ud)
{
    struct exchange *x = ud;
    (void)fd, (void)what;
    enter(x);
    if (!x->finished && !upresp_head_seen(&x->rp))
        fail(x, 504, "the sandbox's server did not answer in time");
    leave(x);
}

static void on_abort(struct http_request *req, void *ud)
{
    struct exchange *x = ud;
    (void)req;
    enter(x);
    x->body_pending = false; /* abort replaces every other callback of the request */
    finish(x, false);
    leave(x);
}

void exchange_start(struct ingress *ing, struct http_request *req,
                    const struct ctl_ingress_target *t, uint16_t port, bool https,
                    const char *client_ip, int64_t t0_us)
{
    struct exchange *x = calloc(1, sizeof(*x));
    if (!x) {
        ingress_error(ing, req, t0_us, 503, "the proxy is out of memory");
        return;
    }
    x->ing = ing;
    x->req = http_request_ref(req);
    x->t = *t;
    x->port = port;
    x->https = https;
    x->t0_us = t0_us;
    snprintf(x->client_ip, sizeof(x->client_ip), "%s", client_ip);
    x->has_body = http_request_has_body(req);
    x->chunked = x->has_body && http_request_content_length(req) < 0;
    x->upgrade = !x->has_body && http_request_header(req, "Upgrade", NULL) != NULL;
    x->depth = 1;
    x->timer = evtimer_new(ing->base, on_timer, x);
    if (!x->timer ||
        upresp_init(&x->rp, http_request_method(req) == HTTP_HEAD, INGRESS_HEAD_MAX,
                    INGRESS_HEADERS_MAX, &resp_ops, x) < 0) {
        ingress_error(ing, req, t0_us, 503, "the proxy is out of memory");
        x->finished = true;
        leave(x);
        return;
    }
    x->rp_init = true;
    http_request_on_abort(req, on_abort, x);
    http_response_on_drain(req, on_drain, x);
    struct ctl_error e;
    int r = ctl_sandbox_wake(ing->ctl, t->user_id, t->id, CTL_ACTOR_INGRESS, on_woken, x,
                             &x->wake, &e);
    if (r == 0) {
        ctl_ingress_touch(ing->ctl, t->user_id, t->id);
        connect_guest(x);
    } else if (r < 0) {
        x->wake = NULL;
        if (e.code == CTL_E_NOT_FOUND)
            fail(x, 404, INGRESS_404_TEXT);
        else
            fail(x, 503, "the sandbox cannot be woken up now; try again shortly");
    }
    leave(x);
}
