/* SPDX-License-Identifier: MIT */
/* template_logs.c: GET /v1/templates/{ref}/logs (docs/api.md §3.10.6). Plain mode sends the
 * stored log as text; follow mode replays it as NDJSON lines {ts,level,line,attempt}, streams
 * new lines as the builder writes them and ends with {"final":true,"status":…}. While no line
 * was written for TPL_KEEPALIVE_S an empty line keeps proxies from closing the stream; a reader
 * that stops reading is dropped past TPL_PENDING_MAX. Errors come before the body and are
 * JSend. */
#include "daemon/api/routes.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/buf.h"
#include "common/timefmt.h"
#include "common/utf8.h"
#include "daemon/api/api.h"
#include "daemon/api/reply.h"
#include "daemon/api/template_view.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/template.h"
#include "daemon/http/request.h"
#include "daemon/http/response.h"
#include "daemon/http/route.h"
#include "daemon/store/store.h"

#define TPL_KEEPALIVE_S 15
#define TPL_LOG_PLAIN_MAX (64u << 20) /* the plain log's ceiling; the builder caps far lower */
/* A follower that lets this much pile up unread is dropped (its connection closed without the
 * final frame; clients follow again): a build can log 20000 lines of 4 KiB per attempt, which a
 * stalled reader would otherwise make hearthd hold. */
#define TPL_PENDING_MAX (32u << 20)

struct tpl_follow_run {
    struct api_call call;           /* first: api_call_hold() */
    struct ctl_tpl_follow *f;       /* NULL once on_final ran (the control layer freed it) */
    struct event *keepalive;        /* also runs the drop of a stalled reader, off the callback */
    bool stalled;                   /* over TPL_PENDING_MAX: lines are ignored until the drop */
};

static void run_free(struct tpl_follow_run *x)
{
    if (x->keepalive)
        event_free(x->keepalive);
    api_call_unhold(&x->call);
    free(x);
}

static void keepalive_arm(struct tpl_follow_run *x)
{
    struct timeval tv = { .tv_sec = TPL_KEEPALIVE_S };
    (void)evtimer_add(x->keepalive, &tv);
}

static void on_keepalive(evutil_socket_t fd_unused, short what, void *ud)
{
    struct tpl_follow_run *x = ud;
    if (x->stalled) {
        /* not from inside a control-layer callback: unfollowing there could upset its walk */
        ctl_template_unfollow(x->f);
        http_request_on_abort(x->call.req, NULL, NULL);
        (void)http_response_abort(x->call.req);
        api_reply_done(&x->call, 499);
        run_free(x);
        return;
    }
    (void)http_response_write(x->call.req, "\n", 1); /* a dead peer fires on_abort */
    keepalive_arm(x);
}

/* Writes one NDJSON line (o stolen); the keep-alive restarts. */
static void write_line(struct tpl_follow_run *x, json_t *o)
{
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!s)
        return; /* out of memory: the line is lost, the stream goes on */
    size_t n = strlen(s);
    s[n] = '\n'; /* json_dumps' NUL becomes the line end; the length is kept apart */
    (void)http_response_write(x->call.req, s, n + 1);
    free(s);
    if (http_response_pending(x->call.req) > TPL_PENDING_MAX) {
        x->stalled = true;
        struct timeval now = { 0, 0 };
        (void)evtimer_add(x->keepalive, &now);
        return;
    }
    keepalive_arm(x);
}

/* The line as a JSON string: a guest's output may be any bytes, JSON wants UTF-8 (§1.8). */
static json_t *line_string(const char *line)
{
    size_t len = strlen(line);
    struct buf b;
    buf_init(&b, 3 * len + 16);
    json_t *s = NULL;
    if (utf8_sanitize((const uint8_t *)line, len, true, &b) >= 0)
        s = json_stringn(b.data ? (const char *)b.data : "", b.len);
    buf_release(&b);
    return s;
}

static void on_line(void *ud, const struct store_tpl_log *l)
{
    struct tpl_follow_run *x = ud;
    if (x->stalled)
        return;
    char t[TIMEFMT_RFC3339_LEN + 1];
    if (timefmt_rfc3339_ms(l->ts, t) < 0)
        t[0] = '\0';
    json_t *s = line_string(l->line);
    if (!s)
        return;
    write_line(x, json_pack("{s:s,s:s,s:o,s:i}", "ts", t, "level", l->error ? "error" : "info",
                            "line", s, "attempt", (int)l->attempt));
}

static void on_final(void *ud, const char *status)
{
    struct tpl_follow_run *x = ud;
    x->f = NULL; /* the control layer frees it after this call */
    if (x->stalled) { /* the drop is due anyway: the final frame would only pile up more */
        http_request_on_abort(x->call.req, NULL, NULL);
        (void)http_response_abort(x->call.req);
        api_reply_done(&x->call, 499);
        run_free(x);
        return;
    }
    write_line(x, json_pack("{s:b,s:s}", "final", 1, "status", status ? status : "failed"));
    http_request_on_abort(x->call.req, NULL, NULL);
    (void)http_response_end(x->call.req);
    api_reply_done(&x->call, 200);
    run_free(x);
}

static void on_abort(struct http_request *req, void *ud)
{
    struct tpl_follow_run *x = ud;
    ctl_template_unfollow(x->f);
    api_reply_done(&x->call, 499);
    run_free(x);
}

static void follow(struct api_call *call, const char *ref, int32_t attempt)
{
    struct tpl_follow_run *x = api_call_hold(call, sizeof(*x), "template logs");
    if (!x)
        return;
    x->keepalive = evtimer_new(call->ctx->ctl->base, on_keepalive, x);
    if (!x->keepalive) {
        api_reply_internal(call, "template logs", -ENOMEM);
        run_free(x);
        return;
    }
    static const struct ctl_tpl_follow_ops ops = { .on_line = on_line, .on_final = on_final };
    struct ctl_caller who = api_caller(call);
    struct ctl_error e;
    if (ctl_template_follow(call->ctx->ctl, &who, ref, attempt, &ops, x, &x->f, &e) < 0) {
        api_reply_ctl(call, &e);
        run_free(x);
        return;
    }
    /* the replay comes from the loop, after this returns: the head goes first */
    if (http_response_start_ndjson(call->req, 200) < 0) {
        ctl_template_unfollow(x->f);
        api_reply_done(&x->call, 499);
        run_free(x);
        return;
    }
    http_request_on_abort(call->req, on_abort, x);
    keepalive_arm(x);
}

void api_template_logs(struct api_call *call)
{
    char ref[API_TEMPLATE_REF_SIZE];
    if (!api_template_ref(call, ref))
        return;
    bool follow_on = false;
    int64_t attempt = 0;
    if (http_query_get_bool(http_request_query(call->req), "follow", false, &follow_on) < 0) {
        api_reply_field(call, "follow", "must be true or false", "invalid_request");
        return;
    }
    if (!api_query_int_in(call, "attempt", 1, INT32_MAX, 0, &attempt))
        return;
    if (follow_on) {
        follow(call, ref, (int32_t)attempt);
        return;
    }
    struct ctl_caller who = api_caller(call);
    struct ctl_error e;
    struct buf out;
    buf_init(&out, TPL_LOG_PLAIN_MAX);
    if (ctl_template_logs(call->ctx->ctl, &who, ref, (int32_t)attempt, &out, &e) < 0) {
        api_reply_ctl(call, &e);
    } else {
        (void)http_response_send(call->req, 200, "text/plain; charset=utf-8", out.data,
                                 out.len);
        api_reply_done(call, 200);
    }
    buf_release(&out);
}
