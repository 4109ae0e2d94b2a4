/* SPDX-License-Identifier: MIT */
/* usage.c: the usage sampler and its queries (usage.h). State is a few arrays searched
 * linearly: one entry per live sandbox of this host and one ring per user that had one, which
 * stays small for one host. Store or host errors skip a sample; they never fail a request that
 * can be answered from the row alone. */
#include "daemon/ctl/usage.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "common/buf.h"
#include "common/mono.h"
#include "common/timefmt.h"
#include "common/timeline.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/events.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/ctl/sandbox_row.h"
#include "daemon/host/host.h"
#include "daemon/log.h"

/* One live sandbox of this host: its last two CPU readings and byte counters. */
struct tracked {
    char id[STORE_ID_SIZE];
    uint64_t cpu[2];            /* [0] older, [1] newer */
    int64_t at_us[2];
    unsigned n_cpu;             /* readings held, 0..2 */
    int64_t eg_last, in_last;   /* the row's counters at the last tick */
    bool seen;
};

struct point {
    int64_t ts_ms;
    float running, paused, vcpu, mem_mib;
    uint64_t eg, in;
};

struct user_series {
    char user[STORE_USER_SIZE];
    struct point *ring;         /* CTL_USAGE_RING_POINTS, oldest at head when full */
    size_t head, n;
    double acc_running, acc_paused, acc_vcpu, acc_mem;  /* sums over this minute's ticks */
    uint64_t acc_eg, acc_in;
    int64_t running_seconds;
};

#define LIFE_BUCKETS 11
static const double life_bounds[LIFE_BUCKETS] = { 0.05, 0.1, 0.25, 0.5, 1,  2.5,
                                                  5,    10,  30,   60,  300 };
static const char *const op_names[CTL_USAGE_OP__COUNT] = {
    "create", "pause", "resume", "fork", "destroy",
    "attach", "detach", "network_create", "network_delete", "egress_set",
};

/* The step histograms' buckets: most steps take milliseconds (docs/performance.md "Where the
 * time goes"), the whole operations' 0.05 s and up. */
#define STEP_BUCKETS 13
static const double step_bounds[STEP_BUCKETS] = { 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                  0.25,  0.5,    1,     2.5,  5,     10 };
#define MAX_BUCKETS (STEP_BUCKETS > LIFE_BUCKETS ? STEP_BUCKETS : LIFE_BUCKETS)

struct life_hist {
    uint64_t bucket[MAX_BUCKETS];   /* per bucket; cumulated when rendered */
    uint64_t count, failures;
    double sum;
};

/* The operations with step timelines (create, pause, resume, fork): the first ones of enum
 * ctl_usage_op. */
#define STEP_OPS (CTL_USAGE_OP_FORK + 1)

/* A transition being timed (ctl_usage_watch). */
struct watch {
    char id[STORE_ID_SIZE];
    enum ctl_usage_op op;
    int64_t start_ms;
};

struct ctl_usage {
    struct ctl *c;
    struct event *timer;
    struct event *watch_timer;      /* pending while watches exist */
    struct watch *w;
    size_t nw, capw;
    struct life_hist life[CTL_USAGE_OP__COUNT];
    struct life_hist steps[STEP_OPS][TIMELINE_STEP__COUNT];   /* ctl_usage_steps() */
    uint64_t exec_buffered, exec_stream;
    struct tracked *t;
    size_t nt, capt;
    struct user_series *users;
    size_t nu, capu;
    int64_t minute_ms;          /* start of the minute being accumulated; 0 before the first */
    unsigned ticks;             /* ticks in it */
    uint64_t states[STORE_STATE__COUNT];    /* this host's live rows at the last tick */
    uint64_t net_eg, net_in;    /* bytes seen moving since start (counters) */
    uint64_t vm_mem_bytes;      /* memory of this host's VMs at the last tick */
};

static void *grow(void *v, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return v;
    size_t nc = *cap ? *cap * 2 : 16;
    void *q = realloc(v, nc * elem);
    if (q)
        *cap = nc;
    return q;
}

static struct tracked *tracked_find(struct ctl_usage *u, const char *id, bool add)
{
    for (size_t i = 0; i < u->nt; i++)
        if (strcmp(u->t[i].id, id) == 0)
            return &u->t[i];
    if (!add)
        return NULL;
    struct tracked *v = grow(u->t, &u->capt, u->nt, sizeof(*v));
    if (!v)
        return NULL;
    u->t = v;
    struct tracked *t = &u->t[u->nt++];
    memset(t, 0, sizeof(*t));
    snprintf(t->id, sizeof(t->id), "%s", id);
    t->eg_last = t->in_last = -1;
    return t;
}

static struct user_series *user_find(struct ctl_usage *u, const char *user, bool add)
{
    for (size_t i = 0; i < u->nu; i++)
        if (strcmp(u->users[i].user, user) == 0)
            return &u->users[i];
    if (!add || u->nu >= CTL_USAGE_MAX_USERS)
        return NULL;
    struct user_series *v = grow(u->users, &u->capu, u->nu, sizeof(*v));
    if (!v)
        return NULL;
    u->users = v;
    struct point *ring = calloc(CTL_USAGE_RING_POINTS, sizeof(*ring));
    if (!ring)
        return NULL;
    struct user_series *s = &u->users[u->nu++];
    memset(s, 0, sizeof(*s));
    snprintf(s->user, sizeof(s->user), "%s", user);
    s->ring = ring;
    return s;
}

static void cpu_reading(struct tracked *t, uint64_t cpu_usec, int64_t now_us)
{
    if (t->n_cpu == 2 || (t->n_cpu == 1 && now_us - t->at_us[1] >= 1000000)) {
        t->cpu[0] = t->cpu[1];
        t->at_us[0] = t->at_us[1];
        t->n_cpu = 2;
    } else if (t->n_cpu == 0) {
        t->n_cpu = 1;
    }
    t->cpu[1] = cpu_usec;
    t->at_us[1] = now_us;
}

/* Closes the minute being accumulated: one point per user with anything in it. */
static void flush_minute(struct ctl_usage *u)
{
    if (!u->minute_ms || !u->ticks)
        return;
    for (size_t i = 0; i < u->nu; i++) {
        struct user_series *s = &u->users[i];
        struct point p = {
            .ts_ms = u->minute_ms,
            .running = (float)(s->acc_running / u->ticks),
            .paused = (float)(s->acc_paused / u->ticks),
            .vcpu = (float)(s->acc_vcpu / u->ticks),
            .mem_mib = (float)(s->acc_mem / u->ticks),
            .eg = s->acc_eg,
            .in = s->acc_in,
        };
        s->acc_running = s->acc_paused = s->acc_vcpu = s->acc_mem = 0;
        s->acc_eg = s->acc_in = 0;
        if (p.running == 0 && p.paused == 0 && p.eg == 0 && p.in == 0)
            continue; /* a missing point reads as zeros anyway */
        size_t at = (s->head + s->n) % CTL_USAGE_RING_POINTS;
        s->ring[at] = p;
        if (s->n < CTL_USAGE_RING_POINTS)
            s->n++;
        else
            s->head = (s->head + 1) % CTL_USAGE_RING_POINTS;
    }
    u->ticks = 0;
}

static void sample_row(struct ctl_usage *u, const struct store_sandbox *sb, int64_t now_us)
{
    u->states[sb->status]++;
    struct tracked *t = tracked_find(u, sb->id, true);
    struct user_series *s = user_find(u, sb->user_id, true);
    if (!t)
        return;
    t->seen = true;
    int64_t deg = t->eg_last >= 0 && sb->bw_used_bytes > t->eg_last ? sb->bw_used_bytes - t->eg_last
                                                                      : 0;
    int64_t din = t->in_last >= 0 && sb->bw_ingress_bytes > t->in_last
                      ? sb->bw_ingress_bytes - t->in_last
                      : 0;
    t->eg_last = sb->bw_used_bytes;
    t->in_last = sb->bw_ingress_bytes;
    u->net_eg += (uint64_t)deg;
    u->net_in += (uint64_t)din;
    if (s) {
        s->acc_eg += (uint64_t)deg;
        s->acc_in += (uint64_t)din;
    }
    if (sb->status == STORE_PAUSED && s)
        s->acc_paused += 1;
    if (sb->status != STORE_RUNNING)
        return;
    if (s) {
        s->acc_running += 1;
        s->acc_vcpu += sb->vcpu;
        s->acc_mem += (double)sb->mem_mib;
        s->running_seconds += CTL_USAGE_TICK_S;
    }
    struct host_vm_usage hu;
    if (u->c->host && host_vm_usage(u->c->host, sb->id, &hu) == 0) {
        if (hu.has_cpu)
            cpu_reading(t, hu.cpu_usec, now_us);
        u->vm_mem_bytes += hu.has_memory ? hu.memory_bytes : 0;
    }
}

void ctl_usage_sample(struct ctl_usage *u)
{
    ctl_usage_sample_at(u, timefmt_now_ms(), mono_now_us());
}

void ctl_usage_sample_at(struct ctl_usage *u, int64_t now_ms, int64_t now_us)
{
    int64_t minute = now_ms - now_ms % (CTL_USAGE_POINT_S * 1000);
    if (minute != u->minute_ms) {
        flush_minute(u);
        u->minute_ms = minute;
    }
    struct store_sandbox *rows = NULL;
    size_t n = 0;
    if (store_sandbox_list_unsettled(u->c->store, u->c->set.host_id, &rows, &n) < 0)
        return; /* a store hiccup costs one sample */
    memset(u->states, 0, sizeof(u->states));
    u->vm_mem_bytes = 0;
    for (size_t i = 0; i < u->nt; i++)
        u->t[i].seen = false;
    for (size_t i = 0; i < n; i++)
        if (rows[i].status >= 0 && rows[i].status < STORE_STATE__COUNT)
            sample_row(u, &rows[i], now_us);
    store_sandbox_array_free(rows, n);
    size_t k = 0; /* sandboxes gone from the list are no longer tracked */
    for (size_t i = 0; i < u->nt; i++)
        if (u->t[i].seen)
            u->t[k++] = u->t[i];
    u->nt = k;
    u->ticks++;
}

static void on_tick(evutil_socket_t fd, short what, void *ud)
{
    ctl_usage_sample(ud);
}

/* One observation into h, whose buckets end at bounds[0..nb). */
static void hist_add(struct life_hist *h, const double *bounds, size_t nb, double seconds)
{
    if (seconds < 0)
        seconds = 0;
    for (size_t b = 0; b < nb; b++) {
        if (seconds <= bounds[b]) {
            h->bucket[b]++;
            break;
        }
    }
    h->count++;
    h->sum += seconds;
}

void ctl_usage_op_done(struct ctl_usage *u, enum ctl_usage_op op, double seconds, bool ok)
{
    if (!u || op < 0 || op >= CTL_USAGE_OP__COUNT)
        return;
    struct life_hist *h = &u->life[op];
    if (!ok) {
        h->failures++;
        return;
    }
    hist_add(h, life_bounds, LIFE_BUCKETS, seconds);
}

void ctl_usage_steps(struct ctl_usage *u, enum ctl_usage_op op, const struct timeline *tl)
{
    if (!u || op < 0 || op >= STEP_OPS)
        return;
    for (unsigned i = 0; i < tl->n; i++)
        hist_add(&u->steps[op][timeline_step_id(tl->steps[i].name)], step_bounds, STEP_BUCKETS,
                 (double)timeline_step_us(tl, i) / 1e6);
}

void ctl_usage_exec(struct ctl_usage *u, bool stream)
{
    if (u)
        (*(stream ? &u->exec_stream : &u->exec_buffered))++;
}

static enum store_state moving_state(enum ctl_usage_op op)
{
    return op == CTL_USAGE_OP_PAUSE    ? STORE_PAUSING
           : op == CTL_USAGE_OP_RESUME ? STORE_RESUMING
           : op == CTL_USAGE_OP_DESTROY ? STORE_DESTROYING
                                        : STORE_STATE_NONE;
}

static enum store_state target_state(enum ctl_usage_op op)
{
    return op == CTL_USAGE_OP_PAUSE    ? STORE_PAUSED
           : op == CTL_USAGE_OP_RESUME ? STORE_RUNNING
                                       : STORE_DESTROYED;
}

static void watch_arm(struct ctl_usage *u)
{
    struct timeval tv = { .tv_sec = CTL_USAGE_WATCH_EXPIRE_S };
    if (u->nw && u->watch_timer && !evtimer_pending(u->watch_timer, NULL))
        (void)evtimer_add(u->watch_timer, &tv);
}

/* A timed operation settled (events.h): its timeline logged at debug level, a success's steps
 * into the histograms (a failure's would skew them). */
static void settle_steps(struct ctl_usage *u, const char *id, enum store_state to, int op,
                         const struct timeline *tl)
{
    char text[1024];
    timeline_format(tl, text, sizeof(text));
    log_debug(NULL, "timeline", "{s:s,s:s,s:s,s:s}", "op",
              op >= 0 && op < STEP_OPS ? op_names[op] : "other", "sandbox", id, "to",
              store_state_to_string(to), "steps", text);
    if (op >= 0 && op < STEP_OPS && to == (op == CTL_USAGE_OP_PAUSE ? STORE_PAUSED : STORE_RUNNING))
        ctl_usage_steps(u, (enum ctl_usage_op)op, tl);
}

/* The control layer's report of a settle (events.h): the watch of id's operation ends here,
 * at the settle's own time, a success when the row reached the operation's target. A row that
 * moved on to something else first (a resume cut short by a destroy) failed. */
static void on_settle(void *ud, const char *id, enum store_state from, enum store_state to,
                      int64_t at_ms)
{
    struct ctl_usage *u = ud;
    int tl_op;
    const struct timeline *tl = ctl_event_settling_timeline(u->c, &tl_op);
    if (tl)
        settle_steps(u, id, to, tl_op, tl);
    size_t k = 0;
    for (size_t i = 0; i < u->nw; i++) {
        struct watch *w = &u->w[i];
        if (from == moving_state(w->op) && strcmp(w->id, id) == 0) {
            int64_t end = at_ms > w->start_ms ? at_ms : w->start_ms;
            ctl_usage_op_done(u, w->op, (double)(end - w->start_ms) / 1000.0,
                              to == target_state(w->op));
            continue;
        }
        u->w[k++] = *w;
    }
    u->nw = k;
}

/* Only a watch whose settle never came (a crash of the operation's own bookkeeping) is left
 * here: dropped unmeasured after CTL_USAGE_WATCH_MAX_S. */
static void on_watch_tick(evutil_socket_t fd, short what, void *ud)
{
    struct ctl_usage *u = ud;
    int64_t now = timefmt_now_ms();
    size_t k = 0;
    for (size_t i = 0; i < u->nw; i++)
        if (now - u->w[i].start_ms <= CTL_USAGE_WATCH_MAX_S * 1000LL)
            u->w[k++] = u->w[i];
    u->nw = k;
    watch_arm(u);
}

void ctl_usage_watch(struct ctl_usage *u, enum ctl_usage_op op, const char *id,
                     int64_t start_ms)
{
    if (!u || moving_state(op) == STORE_STATE_NONE || u->nw >= CTL_USAGE_MAX_WATCHES)
        return;
    struct watch w = { .op = op, .start_ms = start_ms };
    snprintf(w.id, sizeof(w.id), "%s", id);
    /* an operation that already settled (a resume that was quick) is measured at once; one
     * that never started (already paused) is not an operation */
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    int r = store_sandbox_get(u->c->store, NULL, id, &sb);
    enum store_state s = sb.status;
    int64_t updated = sb.updated_at;
    store_sandbox_release(&sb);
    if (r < 0)
        return;
    if (s != moving_state(op)) {
        /* settled since the request started (it changed the row): measured now; a row not
         * touched since (a pause of a paused sandbox) was no operation */
        if (updated >= start_ms)
            ctl_usage_op_done(u, op, (double)(updated - start_ms) / 1000.0,
                              s == target_state(op));
        return;
    }
    struct watch *v = grow(u->w, &u->capw, u->nw, sizeof(*v));
    if (!v)
        return;
    u->w = v;
    u->w[u->nw++] = w;
    watch_arm(u);
}

int ctl_usage_new(struct ctl *c, struct ctl_usage **ret)
{
    struct ctl_usage *u = calloc(1, sizeof(*u));
    if (!u)
        return -ENOMEM;
    u->c = c;
    if (ctl_events_listen(c, on_settle, u) < 0) {
        free(u);
        return -ENOMEM;
    }
    if (c->base) {
        u->watch_timer = event_new(c->base, -1, 0, on_watch_tick, u);
        u->timer = event_new(c->base, -1, EV_PERSIST, on_tick, u);
        struct timeval tv = { .tv_sec = CTL_USAGE_TICK_S };
        if (!u->timer || !u->watch_timer || event_add(u->timer, &tv) < 0) {
            ctl_usage_free(u);
            return -ENOMEM;
        }
    }
    *ret = u;
    return 0;
}

void ctl_usage_free(struct ctl_usage *u)
{
    if (!u)
        return;
    ctl_events_unlisten(u->c, u);
    if (u->timer)
        event_free(u->timer);
    if (u->watch_timer)
        event_free(u->watch_timer);
    free(u->w);
    for (size_t i = 0; i < u->nu; i++)
        free(u->users[i].ring);
    free(u->users);
    free(u->t);
    free(u);
}

int ctl_sandbox_metrics(struct ctl_usage *u, const struct ctl_caller *who, const char *id,
                        struct ctl_sandbox_metrics *out, struct ctl_error *e)
{
    struct store_sandbox sb;
    memset(out, 0, sizeof(*out));
    if (ctl_row_load(u->c, who->user_id, id, &sb, e) < 0) {
        store_sandbox_release(&sb);
        return -1;
    }
    snprintf(out->id, sizeof(out->id), "%s", sb.id);
    out->ts_ms = timefmt_now_ms();
    out->status = sb.status;
    out->vcpu = sb.vcpu;
    out->mem_mib = sb.mem_mib;
    out->disk_mib = sb.disk_mib;
    out->egress_bytes = sb.bw_used_bytes;
    out->ingress_bytes = sb.bw_ingress_bytes;
    struct host_vm_usage hu;
    if (sb.status == STORE_RUNNING && u->c->host && host_vm_usage(u->c->host, id, &hu) == 0) {
        out->has_mem_used = hu.has_memory;
        out->mem_used_mib = (int64_t)(hu.memory_bytes >> 20);
        out->has_disk_used = hu.has_disk;
        out->disk_used_mib = (int64_t)(hu.disk_bytes >> 20);
        out->has_pids = hu.has_pids;
        out->pids = hu.pids;
        /* the last sampling period; without two readings yet, this request's reading
         * against the one before it (a first request only records one) */
        struct tracked *t = tracked_find(u, id, true);
        if (t && hu.has_cpu) {
            if (t->n_cpu < 2)
                cpu_reading(t, hu.cpu_usec, mono_now_us());
            if (t->n_cpu == 2 && t->at_us[1] > t->at_us[0] && t->cpu[1] >= t->cpu[0]) {
                out->has_cpu_pct = true;
                out->cpu_pct = 100.0 * (double)(t->cpu[1] - t->cpu[0]) /
                               (double)(t->at_us[1] - t->at_us[0]);
            }
            t->seen = true;
        }
    }
    store_sandbox_release(&sb);
    return 0;
}

int ctl_user_metrics(struct ctl_usage *u, const struct ctl_caller *who,
                     struct ctl_user_metrics *out, struct ctl_error *e)
{
    memset(out, 0, sizeof(*out));
    for (size_t offset = 0;;) {
        struct store_list_query q = { .user_id = who->user_id, .limit = 500, .offset = offset };
        struct store_sandbox_page pg;
        int r = store_sandbox_list(u->c->store, &q, &pg);
        if (r < 0)
            return ctl_error_internal(e, "list sandboxes", r), -1;
        for (size_t i = 0; i < pg.count; i++) {
            const struct store_sandbox *sb = &pg.items[i];
            out->egress_bytes += sb->bw_used_bytes;
            out->ingress_bytes += sb->bw_ingress_bytes;
            if (store_state_is_terminal(sb->status))
                continue;
            out->total++;
            out->disk_mib_allocated += sb->disk_mib;
            if (sb->status == STORE_RUNNING) {
                out->running++;
                out->vcpu_running += sb->vcpu;
                out->mem_mib_running += sb->mem_mib;
            } else if (sb->status == STORE_PAUSED) {
                out->paused++;
            }
        }
        size_t got = pg.count;
        store_sandbox_page_release(&pg);
        offset += got;
        if (got < q.limit)
            break;
    }
    out->other = out->total - out->running - out->paused;
    const struct user_series *s = user_find(u, who->user_id, false);
    out->running_seconds = s ? s->running_seconds : 0;
    return 0;
}

int ctl_user_timeseries(struct ctl_usage *u, const struct ctl_caller *who, int64_t from_ms,
                        int64_t to_ms, int64_t step_s, struct ctl_usage_point **ret,
                        size_t *ret_n, struct ctl_error *e)
{
    int64_t step_ms = step_s * 1000;
    size_t n = (size_t)((to_ms - from_ms + step_ms - 1) / step_ms);
    struct ctl_usage_point *v = calloc(n ? n : 1, sizeof(*v));
    if (!v)
        return ctl_error_internal(e, "time series", -ENOMEM), -1;
    for (size_t i = 0; i < n; i++)
        v[i].ts_ms = from_ms + (int64_t)i * step_ms;
    const struct user_series *s = user_find(u, who->user_id, false);
    double minutes = (double)step_s / CTL_USAGE_POINT_S; /* a step's averages divide by this */
    for (size_t k = 0; s && k < s->n; k++) {
        const struct point *p = &s->ring[(s->head + k) % CTL_USAGE_RING_POINTS];
        if (p->ts_ms < from_ms || p->ts_ms >= to_ms)
            continue;
        struct ctl_usage_point *o = &v[(p->ts_ms - from_ms) / step_ms];
        o->running += p->running / minutes;
        o->paused += p->paused / minutes;
        o->vcpu_running += p->vcpu / minutes;
        o->mem_mib_running += p->mem_mib / minutes;
        o->egress_bytes += p->eg;
        o->ingress_bytes += p->in;
    }
    *ret = v;
    *ret_n = n;
    return 0;
}

/* The series of one histogram h of metric name (…_duration_seconds) with labels (`op="x"`
 * or `op="x",step="y"`) and buckets bounds[0..nb). */
static int render_hist(struct buf *out, const char *name, const char *labels,
                       const struct life_hist *h, const double *bounds, size_t nb)
{
    int r = 0;
    uint64_t cum = 0;
    for (size_t b = 0; r == 0 && b < nb; b++) {
        cum += h->bucket[b];
        r = buf_appendf(out, "%s_bucket{%s,le=\"%g\"} %llu\n", name, labels, bounds[b],
                        (unsigned long long)cum);
    }
    if (r == 0)
        r = buf_appendf(out,
                        "%s_bucket{%s,le=\"+Inf\"} %llu\n"
                        "%s_sum{%s} %.6f\n"
                        "%s_count{%s} %llu\n",
                        name, labels, (unsigned long long)h->count, name, labels, h->sum, name,
                        labels, (unsigned long long)h->count);
    return r;
}

/* <family>_duration_seconds (histogram) and <family>_failures_total of ops [first, end). */
static int render_ops(const struct ctl_usage *u, struct buf *out, const char *family,
                      const char *what, int first, int end)
{
    int r = buf_appendf(out, "# HELP %s_duration_seconds %s.\n"
                             "# TYPE %s_duration_seconds histogram\n", family, what, family);
    char name[64], labels[64];
    snprintf(name, sizeof(name), "%s_duration_seconds", family);
    for (int op = first; r == 0 && op < end; op++) {
        snprintf(labels, sizeof(labels), "op=\"%s\"", op_names[op]);
        r = render_hist(out, name, labels, &u->life[op], life_bounds, LIFE_BUCKETS);
    }
    if (r == 0)
        r = buf_appendf(out, "# HELP %s_failures_total %s that failed.\n"
                             "# TYPE %s_failures_total counter\n", family, what, family);
    for (int op = first; r == 0 && op < end; op++)
        r = buf_appendf(out, "%s_failures_total{op=\"%s\"} %llu\n", family, op_names[op],
                        (unsigned long long)u->life[op].failures);
    return r;
}

int ctl_usage_render(const struct ctl_usage *u, struct buf *out)
{
    int r = buf_appendf(out, "# HELP hearth_sandboxes Live sandboxes of this host by state.\n"
                             "# TYPE hearth_sandboxes gauge\n");
    for (int s = 0; r == 0 && s < STORE_STATE__COUNT; s++)
        if (!store_state_is_terminal((enum store_state)s))
            r = buf_appendf(out, "hearth_sandboxes{state=\"%s\"} %llu\n",
                            store_state_to_string((enum store_state)s),
                            (unsigned long long)u->states[s]);
    if (r == 0)
        r = buf_appendf(out,
                        "# HELP hearth_network_bytes_total Sandbox bytes moved since start.\n"
                        "# TYPE hearth_network_bytes_total counter\n"
                        "hearth_network_bytes_total{direction=\"egress\"} %llu\n"
                        "hearth_network_bytes_total{direction=\"ingress\"} %llu\n"
                        "# HELP hearth_vm_memory_bytes Memory charged to this host's VMs.\n"
                        "# TYPE hearth_vm_memory_bytes gauge\n"
                        "hearth_vm_memory_bytes %llu\n",
                        (unsigned long long)u->net_eg, (unsigned long long)u->net_in,
                        (unsigned long long)u->vm_mem_bytes);
    if (r == 0)
        r = render_ops(u, out, "hearth_lifecycle", "Sandbox operations, from request to settled "
                       "state", 0, CTL_USAGE_LIFECYCLE_OPS);
    /* the label set is fixed (timeline.h's list) but not every op has every step: a series
     * appears with its first observation, as labelled children of client libraries do */
    if (r == 0)
        r = buf_appendf(out, "# HELP hearth_lifecycle_step_duration_seconds Steps of sandbox "
                             "operations, from their timelines (docs/performance.md).\n"
                             "# TYPE hearth_lifecycle_step_duration_seconds histogram\n");
    for (int op = 0; r == 0 && op < STEP_OPS; op++) {
        for (int s = 0; r == 0 && s < TIMELINE_STEP__COUNT; s++) {
            if (!u->steps[op][s].count)
                continue;
            char labels[80];
            snprintf(labels, sizeof(labels), "op=\"%s\",step=\"%s\"", op_names[op],
                     timeline_step_name((enum timeline_step_id)s));
            r = render_hist(out, "hearth_lifecycle_step_duration_seconds", labels,
                            &u->steps[op][s], step_bounds, STEP_BUCKETS);
        }
    }
    if (r == 0)
        r = render_ops(u, out, "hearth_network_op", "Network and egress API operations",
                       CTL_USAGE_LIFECYCLE_OPS, CTL_USAGE_OP__COUNT);
    if (r == 0)
        r = buf_appendf(out, "# HELP hearth_exec_total Commands run through the API.\n"
                             "# TYPE hearth_exec_total counter\n"
                             "hearth_exec_total{mode=\"buffered\"} %llu\n"
                             "hearth_exec_total{mode=\"stream\"} %llu\n",
                        (unsigned long long)u->exec_buffered,
                        (unsigned long long)u->exec_stream);
    return r;
}
