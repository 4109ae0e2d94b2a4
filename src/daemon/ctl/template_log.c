/* SPDX-License-Identifier: MIT */
/* template_log.c: build logs (template.h, docs/api.md §3.10.6): the writer a build attempt
 * uses (lines batched into one store append every 250 ms or 64 lines), the plain log, and
 * followers, who read the store after their last line whenever the writer stored more, so a
 * replay and live lines never overlap or leave a gap. */
#include "daemon/ctl/template.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/buf.h"
#include "common/timefmt.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/ctl/template_log.h"
#include "daemon/ctl/template_state.h"
#include "daemon/ctl/template_logbuf.h"
#include "daemon/log.h"

#define FLUSH_MS 250
#define FLUSH_LINES 64

struct ctl_tpl_log {
    struct ctl *c;
    char id[STORE_ID_SIZE];
    int32_t attempt;
    int64_t next_seq;
    struct tpl_logbuf b;
    struct event *timer;
};

int64_t ctl_tpl_log_next_seq(struct ctl *c, const char *id, int32_t attempt)
{
    struct store_tpl_log *l = NULL;
    size_t n = 0;
    if (store_template_log_read(c->store, id, attempt, 0, -1, 0, &l, &n) < 0)
        return 0;
    int64_t next = n ? l[n - 1].seq + 1 : 0;
    store_tpl_log_free(l, n);
    return next;
}

static void on_flush_timer(evutil_socket_t fd, short what, void *ud)
{
    (void)fd;
    (void)what;
    ctl_tpl_log_flush(ud);
}

struct ctl_tpl_log *ctl_tpl_log_open(struct ctl *c, const char *id, int32_t attempt,
                                     int64_t next_seq)
{
    struct ctl_tpl_log *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->c = c;
    snprintf(l->id, sizeof(l->id), "%s", id);
    l->attempt = attempt;
    l->next_seq = next_seq;
    tpl_logbuf_init(&l->b, CTL_TPL_LOG_MAX_LINES, STORE_TPL_LINE_MAX);
    l->timer = c->base ? evtimer_new(c->base, on_flush_timer, l) : NULL;
    return l;
}

static void arm(struct ctl_tpl_log *l)
{
    if (l->b.n >= FLUSH_LINES) {
        ctl_tpl_log_flush(l);
        return;
    }
    if (l->timer && l->b.n && !evtimer_pending(l->timer, NULL)) {
        struct timeval tv = { 0, FLUSH_MS * 1000 };
        evtimer_add(l->timer, &tv);
    }
}

void ctl_tpl_log_line(struct ctl_tpl_log *l, bool error, const char *fmt, ...)
{
    if (!l)
        return;
    char line[STORE_TPL_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    (void)tpl_logbuf_end_partial(&l->b, timefmt_now_ms());
    (void)tpl_logbuf_line(&l->b, error, timefmt_now_ms(), line, len);
    arm(l);
}

void ctl_tpl_log_output(struct ctl_tpl_log *l, const char *p, size_t n)
{
    if (!l)
        return;
    (void)tpl_logbuf_bytes(&l->b, timefmt_now_ms(), p, n);
    arm(l);
}

void ctl_tpl_log_flush(struct ctl_tpl_log *l)
{
    if (!l)
        return;
    if (l->timer)
        evtimer_del(l->timer);
    struct tpl_logline *v = NULL;
    size_t n = 0;
    tpl_logbuf_take(&l->b, &v, &n);
    if (!n)
        return;
    struct store_tpl_log *rows = calloc(n, sizeof(*rows));
    if (rows) {
        for (size_t i = 0; i < n; i++)
            rows[i] = (struct store_tpl_log){ .attempt = l->attempt, .seq = l->next_seq + (int64_t)i,
                                              .ts = v[i].ts, .error = v[i].error,
                                              .line = v[i].line };
        int rc = store_template_log_append(l->c->store, l->id, rows, n);
        if (rc < 0)
            log_warn(NULL, "template log: cannot store lines", "{s:s,s:i}", "template", l->id,
                     "err", rc);
        else
            l->next_seq += (int64_t)n;
        free(rows);
    }
    tpl_logbuf_lines_free(v, n);
    ctl_tpl_follow_notify(l->c, l->id);
}

void ctl_tpl_log_close(struct ctl_tpl_log *l)
{
    if (!l)
        return;
    (void)tpl_logbuf_end_partial(&l->b, timefmt_now_ms());
    ctl_tpl_log_flush(l);
    if (l->timer)
        event_free(l->timer);
    tpl_logbuf_release(&l->b);
    free(l);
}

/* ---- reading ---- */

static int tpl_find(struct ctl *c, const char *user_id, const char *ref,
                    struct store_template *t, struct ctl_error *e)
{
    struct ctl_caller who = { .user_id = user_id };
    return ctl_template_get(c, &who, ref, false, t, e);
}

int ctl_template_logs(struct ctl *c, const struct ctl_caller *who, const char *ref,
                      int32_t attempt, struct buf *out, struct ctl_error *e)
{
    struct store_template t;
    store_template_init(&t);
    int rc = tpl_find(c, who->user_id, ref, &t, e);
    if (rc < 0)
        return rc;
    if (attempt < 0 || attempt > t.attempt) {
        store_template_release(&t);
        return ctl_error_set(e, CTL_E_INVALID, "attempt", NULL,
                             "the template has no attempt %d", (int)attempt);
    }
    struct store_tpl_log *l = NULL;
    size_t n = 0;
    rc = store_template_log_read(c->store, t.id, attempt, 0, -1, 0, &l, &n);
    bool heads = attempt == 0 && t.attempt > 1;
    store_template_release(&t);
    if (rc < 0)
        return ctl_error_internal(e, "read template log", rc);
    int32_t cur = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (heads && l[i].attempt != cur) {
            cur = l[i].attempt;
            rc = buf_appendf(out, "--- attempt %d ---\n", (int)cur);
        }
        if (rc == 0)
            rc = buf_appendf(out, "%s\n", l[i].line);
    }
    store_tpl_log_free(l, n);
    return rc < 0 ? ctl_error_internal(e, "format template log", rc) : 0;
}

/* ---- followers ---- */

struct ctl_tpl_follow {
    struct ctl_tpl_follow *next;
    struct ctl *c;
    char id[STORE_ID_SIZE];
    int32_t attempt;                    /* 0: all */
    const struct ctl_tpl_follow_ops *ops;
    void *ud;
    int32_t after_attempt;              /* the last line delivered */
    int64_t after_seq;
    struct event *replay;
    bool busy, gone;
};

static void follow_free(struct ctl_tpl_follow *f)
{
    struct ctl_templates *s = f->c->templates;
    for (struct ctl_tpl_follow **pp = s ? &s->follows : NULL; pp && *pp; pp = &(*pp)->next)
        if (*pp == f) {
            *pp = f->next;
            break;
        }
    if (f->replay)
        event_free(f->replay);
    free(f);
}

/* Delivers the stored lines after f's position. false when f went away meanwhile. */
static bool follow_pump(struct ctl_tpl_follow *f)
{
    f->busy = true;
    for (;;) {
        struct store_tpl_log *l = NULL;
        size_t n = 0;
        if (store_template_log_read(f->c->store, f->id, f->attempt, f->after_attempt,
                                    f->after_seq, 512, &l, &n) < 0 || n == 0) {
            store_tpl_log_free(l, n);
            break;
        }
        for (size_t i = 0; i < n && !f->gone; i++) {
            f->after_attempt = l[i].attempt;
            f->after_seq = l[i].seq;
            f->ops->on_line(f->ud, &l[i]);
        }
        store_tpl_log_free(l, n);
        if (f->gone || n < 512)
            break;
    }
    f->busy = false;
    if (f->gone) {
        follow_free(f);
        return false;
    }
    return true;
}

static void follow_end(struct ctl_tpl_follow *f, const char *status)
{
    if (!follow_pump(f))
        return;
    f->ops->on_final(f->ud, status);
    follow_free(f);
}

/* The outcome of f's attempt filter when it is known: NULL while it runs. */
static const char *follow_outcome(const struct store_template *t, int32_t attempt)
{
    bool done = t->status == STORE_TPL_READY || t->status == STORE_TPL_FAILED ||
                t->status == STORE_TPL_CANCELLED;
    if (attempt > 0 && attempt < t->attempt)
        return "failed"; /* retried: that attempt was lost */
    return done ? store_tpl_status_name(t->status) : NULL;
}

static void on_replay(evutil_socket_t fd, short what, void *ud)
{
    (void)fd;
    (void)what;
    struct ctl_tpl_follow *f = ud;
    struct store_template t;
    store_template_init(&t);
    if (store_template_get(f->c->store, NULL, f->id, false, &t) < 0) {
        store_template_release(&t);
        follow_end(f, "failed");
        return;
    }
    const char *fin = follow_outcome(&t, f->attempt);
    store_template_release(&t);
    if (fin)
        follow_end(f, fin);
    else
        (void)follow_pump(f);
}

int ctl_template_follow(struct ctl *c, const struct ctl_caller *who, const char *ref,
                        int32_t attempt, const struct ctl_tpl_follow_ops *ops, void *ud,
                        struct ctl_tpl_follow **ret, struct ctl_error *e)
{
    struct store_template t;
    store_template_init(&t);
    int rc = tpl_find(c, who->user_id, ref, &t, e);
    if (rc < 0)
        return rc;
    bool running = t.status == STORE_TPL_PENDING || t.status == STORE_TPL_BUILDING;
    /* a running build's next attempt may still come: only attempts beyond it are unknown */
    if (attempt < 0 || (attempt > t.attempt && !(running && attempt <= CTL_TPL_MAX_ATTEMPTS))) {
        store_template_release(&t);
        return ctl_error_set(e, CTL_E_INVALID, "attempt", NULL,
                             "the template has no attempt %d", (int)attempt);
    }
    struct ctl_templates *s = ctl_tpl_state(c);
    struct ctl_tpl_follow *f = s ? calloc(1, sizeof(*f)) : NULL;
    if (!f) {
        store_template_release(&t);
        return ctl_error_internal(e, "follow template log", -ENOMEM);
    }
    f->c = c;
    snprintf(f->id, sizeof(f->id), "%s", t.id);
    store_template_release(&t);
    f->attempt = attempt;
    f->ops = ops;
    f->ud = ud;
    f->after_seq = -1;
    f->replay = evtimer_new(c->base, on_replay, f);
    if (!f->replay) {
        free(f);
        return ctl_error_internal(e, "follow template log", -ENOMEM);
    }
    struct timeval tv = { 0, 0 };
    evtimer_add(f->replay, &tv);
    f->next = s->follows;
    s->follows = f;
    *ret = f;
    return 0;
}

void ctl_template_unfollow(struct ctl_tpl_follow *f)
{
    if (!f)
        return;
    if (f->busy) {
        f->gone = true;
        return;
    }
    follow_free(f);
}

/* Runs fn on every follower of id; followers may go away inside. */
static void each_follow(struct ctl *c, const char *id, int32_t attempt, const char *status,
                        bool attempt_only)
{
    struct ctl_templates *s = c->templates;
    if (!s)
        return;
    for (;;) {
        struct ctl_tpl_follow *hit = NULL;
        for (struct ctl_tpl_follow *f = s->follows; f; f = f->next)
            if (strcmp(f->id, id) == 0 && !f->busy && !f->gone &&
                (!attempt_only || f->attempt == attempt) &&
                (!status || f->attempt == 0 || f->attempt <= attempt) &&
                !evtimer_pending(f->replay, NULL)) {
                hit = f;
                break;
            }
        if (!hit)
            return;
        /* a follower of an earlier attempt learns its outcome: failed (it was retried) */
        follow_end(hit, hit->attempt > 0 && hit->attempt < attempt ? "failed" : status);
    }
}

void ctl_tpl_follow_notify(struct ctl *c, const char *id)
{
    struct ctl_templates *s = c->templates;
    if (!s)
        return;
    /* pump each follower once: collect first, since a pump may unlink */
    size_t n = 0;
    for (struct ctl_tpl_follow *f = s->follows; f; f = f->next)
        if (strcmp(f->id, id) == 0 && !evtimer_pending(f->replay, NULL))
            n++;
    struct ctl_tpl_follow **v = n ? calloc(n, sizeof(*v)) : NULL;
    if (!v)
        return;
    size_t k = 0;
    for (struct ctl_tpl_follow *f = s->follows; f && k < n; f = f->next)
        if (strcmp(f->id, id) == 0 && !evtimer_pending(f->replay, NULL))
            v[k++] = f;
    for (size_t i = 0; i < k; i++) {
        bool alive = false;
        for (struct ctl_tpl_follow *f = s->follows; f; f = f->next)
            alive = alive || f == v[i];
        if (alive && !v[i]->busy)
            (void)follow_pump(v[i]);
    }
    free(v);
}

void ctl_tpl_follow_final(struct ctl *c, const char *id, int32_t attempt, const char *status)
{
    each_follow(c, id, attempt, status, false);
}

void ctl_tpl_follow_attempt_end(struct ctl *c, const char *id, int32_t attempt)
{
    each_follow(c, id, attempt, "failed", true);
}

void ctl_tpl_follow_drop_all(struct ctl *c)
{
    struct ctl_templates *s = c->templates;
    while (s && s->follows)
        follow_free(s->follows);
}
