/* SPDX-License-Identifier: MIT */
/* sandbox_logs.c: a sandbox's event log and console log (hearth extensions, docs/api.md §5.6
 * and §5.7). Events are a store read of the caller's sandbox. The console log is the file QEMU
 * appends to (ctl/sandbox_console.h), sent as plain text: the newest LOGS_BODY_MAX bytes at
 * most, or its last tail lines, then with follow=true what is appended, in chunks, until the
 * client goes or the sandbox stops. A follower reads at most LOGS_READ_CHUNK per
 * LOGS_POLL_MS and nothing while the client has LOGS_PENDING_HIGH unread, so a guest flooding
 * its console costs hearthd bounded memory per follower. */
#include "daemon/api/routes.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/timefmt.h"
#include "daemon/api/api.h"
#include "daemon/api/reply.h"
#include "daemon/api/sandboxes.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/sandbox_console.h"
#include "daemon/http/request.h"
#include "daemon/http/response.h"
#include "daemon/http/route.h"
#include "daemon/store/store.h"

#define EVENTS_LIMIT_DEFAULT 100
#define LOGS_BODY_MAX (1u << 20)
#define LOGS_TAIL_MAX 100000
#define LOGS_POLL_MS 250
#define LOGS_READ_CHUNK (64u << 10)
#define LOGS_PENDING_HIGH (256u << 10)

/* ---- events ---- */

/* The stored "step=ms ... total=ms" (timeline_format) as [{"step", "ms"}, ...]: the total
 * is the sum, a "(truncated)" note is dropped. NULL when out of memory. */
static json_t *timeline_json(const char *text)
{
    json_t *arr = json_array();
    const char *p = text;
    while (arr && *p) {
        size_t n = strcspn(p, " ");
        const char *eq = memchr(p, '=', n);
        if (eq && !(eq - p == 5 && strncmp(p, "total", 5) == 0) &&
            json_array_append_new(arr, json_pack("{s:s%,s:f}", "step", p, (size_t)(eq - p),
                                                 "ms", strtod(eq + 1, NULL))) < 0) {
            json_decref(arr);
            arr = NULL;
        }
        p += n + (p[n] == ' ');
    }
    return arr;
}

static json_t *event_json(const struct store_event *e)
{
    char t[TIMEFMT_RFC3339_LEN + 1];
    json_t *at = timefmt_rfc3339_ms(e->at, t) == 0 ? json_string(t) : json_null();
    json_t *o = json_pack("{s:I,s:o,s:s,s:s,s:s,s:s}", "seq", (json_int_t)e->seq, "at", at,
                          "kind", e->kind, "actor", e->actor, "reason", e->reason, "detail",
                          e->detail);
    /* hearth extension (docs/api.md §5.6): the steps of the operation this event settled */
    if (o && e->timeline[0] && json_object_set_new(o, "timeline", timeline_json(e->timeline)) < 0) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

void api_sandbox_events(struct api_call *call)
{
    char id[STORE_ID_SIZE];
    if (!api_sandbox_owned(call, id))
        return;
    const struct http_query *q = http_request_query(call->req);
    int64_t after = 0, limit = EVENTS_LIMIT_DEFAULT;
    if (http_query_get_int(q, "after", 0, &after) < 0 || after < 0) {
        api_reply_field(call, "after", "must be an event sequence number (an integer >= 0)",
                        "invalid_request");
        return;
    }
    if (!api_query_int_in(call, "limit", 1, STORE_EVENTS_KEEP, EVENTS_LIMIT_DEFAULT, &limit))
        return;
    struct store_event *v;
    size_t n;
    int r = store_event_list(call->ctx->ctl->store, id, after, (size_t)limit, &v, &n);
    if (r < 0) {
        api_reply_internal(call, "list events", r);
        return;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        if (json_array_append_new(arr, event_json(&v[i])) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    int64_t next = n ? v[n - 1].seq : after;
    free(v);
    if (!arr) {
        api_reply_internal(call, "list events", -ENOMEM);
        return;
    }
    api_reply_ok(call, json_pack("{s:s,s:o,s:I}", "id", id, "events", arr, "next_after",
                                 (json_int_t)next));
}

void api_sandbox_view_pause_cause(const struct api_call *call, const struct store_sandbox *sb,
                                  json_t *view)
{
    struct store_event e;
    if (!view || sb->status != STORE_PAUSED ||
        store_event_last(call->ctx->ctl->store, sb->id, "paused", &e) < 0)
        return;
    if (e.actor[0])
        (void)json_object_set_new(view, "paused_by", json_string(e.actor));
    if (e.reason[0])
        (void)json_object_set_new(view, "pause_reason", json_string(e.reason));
}

/* ---- console log ---- */

struct logs_follow {
    struct api_call call;           /* first: api_call_hold() */
    char id[STORE_ID_SIZE];
    char path[PATH_MAX];
    int fd;                         /* -1 until the file exists */
    off_t off;                      /* bytes of the file already sent */
    struct event *timer;
};

/* The start of the last `tail` lines of p[0..len) (a last line without a newline counts). */
static size_t tail_start(const char *p, size_t len, int64_t tail)
{
    size_t i = len;
    if (i && p[i - 1] == '\n')
        i--;
    for (int64_t lines = 0; i > 0; i--) {
        if (p[i - 1] == '\n' && ++lines == tail)
            return i;
    }
    return 0;
}

/* Reads the file's newest bytes (at most LOGS_BODY_MAX) into a new buffer; *end is the size
 * read up to. A missing file is empty. 0 or -errno. */
static int read_end(int fd, char **ret, size_t *ret_len, off_t *end)
{
    *ret = NULL;
    *ret_len = 0;
    *end = 0;
    struct stat st;
    if (fd < 0)
        return 0;
    if (fstat(fd, &st) < 0)
        return -errno;
    off_t start = st.st_size > (off_t)LOGS_BODY_MAX ? st.st_size - LOGS_BODY_MAX : 0;
    size_t want = (size_t)(st.st_size - start);
    char *b = malloc(want ? want : 1);
    if (!b)
        return -ENOMEM;
    ssize_t n = want ? pread(fd, b, want, start) : 0;
    if (n < 0) {
        free(b);
        return -errno;
    }
    *ret = b;
    *ret_len = (size_t)n;
    *end = start + n;
    return 0;
}

static void follow_free(struct logs_follow *f)
{
    if (f->timer)
        event_free(f->timer);
    if (f->fd >= 0)
        close(f->fd);
    api_call_unhold(&f->call);
    free(f);
}

static void on_abort(struct http_request *req, void *ud)
{
    struct logs_follow *f = ud;
    api_reply_done(&f->call, 499);
    follow_free(f);
}

static void arm(struct logs_follow *f)
{
    struct timeval tv = { .tv_usec = LOGS_POLL_MS * 1000 };
    (void)evtimer_add(f->timer, &tv);
}

/* Sends what was appended since the last turn; ends once the sandbox stopped and the file has
 * nothing more. */
static void on_tick(evutil_socket_t fd_unused, short what, void *ud)
{
    struct logs_follow *f = ud;
    bool live = ctl_sandbox_console_live(f->call.ctx->ctl, f->id);
    if (f->fd < 0 && f->path[0])
        f->fd = open(f->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    bool more = false;
    if (f->fd >= 0 && http_response_pending(f->call.req) < LOGS_PENDING_HIGH) {
        struct stat st;
        if (fstat(f->fd, &st) == 0) {
            if (st.st_size < f->off)
                f->off = 0; /* the host's cap truncated it: start over */
            char b[LOGS_READ_CHUNK];
            ssize_t n = st.st_size > f->off ? pread(f->fd, b, sizeof(b), f->off) : 0;
            if (n > 0) {
                f->off += n;
                more = f->off < st.st_size;
                if (http_response_write(f->call.req, b, (size_t)n) < 0) {
                    on_abort(f->call.req, f);
                    return;
                }
            }
        }
    }
    if (!live && !more) {
        http_request_on_abort(f->call.req, NULL, NULL);
        (void)http_response_end(f->call.req);
        api_reply_done(&f->call, 200);
        follow_free(f);
        return;
    }
    arm(f);
}

void api_sandbox_logs(struct api_call *call)
{
    char id[STORE_ID_SIZE];
    if (!api_sandbox_path_id(call, 2, id))
        return;
    const struct http_query *q = http_request_query(call->req);
    bool follow = false;
    int64_t tail = -1;
    if (http_query_get_bool(q, "follow", false, &follow) < 0) {
        api_reply_field(call, "follow", "must be true or false", "invalid_request");
        return;
    }
    if (!api_query_int_in(call, "tail", 0, LOGS_TAIL_MAX, -1, &tail))
        return;
    struct ctl_caller who = api_caller(call);
    struct ctl_error e;
    char path[PATH_MAX];
    bool live;
    if (ctl_sandbox_console(call->ctx->ctl, &who, id, path, sizeof(path), &live, &e) < 0) {
        api_reply_ctl(call, &e);
        return;
    }
    int fd = path[0] ? open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) : -1;
    if (fd < 0 && path[0] && errno != ENOENT && errno != ENOTDIR) {
        api_reply_internal(call, "open console log", -errno); /* missing is empty, not this */
        return;
    }
    char *b;
    size_t len;
    off_t end;
    int r = read_end(fd, &b, &len, &end);
    if (r < 0) {
        if (fd >= 0)
            close(fd);
        api_reply_internal(call, "read console log", r);
        return;
    }
    size_t from = tail >= 0 ? (tail == 0 ? len : tail_start(b, len, tail)) : 0;
    if (!follow) {
        if (fd >= 0)
            close(fd);
        (void)http_response_send(call->req, 200, "text/plain; charset=utf-8", b + from,
                                 len - from);
        free(b);
        api_reply_done(call, 200);
        return;
    }
    struct logs_follow *f = api_call_hold(call, sizeof(*f), "console log");
    if (!f) {
        free(b);
        if (fd >= 0)
            close(fd);
        return;
    }
    snprintf(f->id, sizeof(f->id), "%s", id);
    snprintf(f->path, sizeof(f->path), "%s", path);
    f->fd = fd;
    f->off = end;
    f->timer = evtimer_new(call->ctx->ctl->base, on_tick, f);
    if (!f->timer || http_response_add_header(call->req, "Cache-Control", "no-store") < 0 ||
        http_response_start(call->req, 200, "text/plain; charset=utf-8", -1) < 0 ||
        http_response_write(call->req, b + from, len - from) < 0) {
        free(b);
        api_reply_done(&f->call, 500);
        follow_free(f);
        return;
    }
    free(b);
    http_request_on_abort(call->req, on_abort, f);
    arm(f);
}
