/* SPDX-License-Identifier: MIT */
/* agent.c: helpers every agent module uses to talk to the host and the console: the bounded
 * output queue, JSON and ERROR frames, READY, and the one-line console log. Owns no state of
 * its own beyond what struct agent holds. */
#include "agent/agent.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/json_text.h"
#include "common/mono.h"

uint64_t agent_now_ms(void)
{
    return (uint64_t)mono_now_us() / 1000u;
}

int agent_timeout_min(int next, uint64_t at_ms, uint64_t now_ms)
{
    uint64_t left = at_ms > now_ms ? at_ms - now_ms : 0;
    if (left > 60000)
        left = 60000;
    return next < 0 || (int)left < next ? (int)left : next;
}

void agent_log(const char *fmt, ...)
{
    char line[512];
    int n = snprintf(line, sizeof(line), "hearth-agent: ");
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    /* One write so lines from the agent never interleave; a console that fails is ignored
     * because there is nowhere else to report it. */
    (void)!write(STDERR_FILENO, line, len);
}

const char *agent_errno_name(int err)
{
    const char *name = strerrorname_np(err);
    return name ? name : "EIO";
}

bool agent_out_room(const struct agent *ag)
{
    return ag->out.len < AGENT_OUT_HIGH;
}

int agent_send(struct agent *ag, uint16_t type, uint16_t flags, uint32_t stream, const void *p,
               size_t len)
{
    /* While nobody listens the bytes would go nowhere (or block): drop them. */
    if (!ag->ch.connected)
        return -ENOTCONN;
    int r = wire_append(&ag->out, type, flags, stream, p, len);
    if (r < 0)
        agent_log("cannot queue '%s' frame for stream %u: %s, dropping it",
                  wire_type_to_string(type), stream, strerror(-r));
    return r;
}

int agent_send_json(struct agent *ag, uint16_t type, uint32_t stream, json_t *obj)
{
    char *text = json_text_take(obj);
    if (!text)
        return -ENOMEM;
    int r = agent_send(ag, type, 0, stream, text, strlen(text));
    free(text);
    return r;
}

void agent_send_error(struct agent *ag, uint32_t stream, int err, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* The message may quote host input: json_string rejects bad UTF-8, so fall back. */
    json_t *m = json_string(msg);
    if (!m)
        m = json_string("(message not valid UTF-8)");
    (void)agent_send_json(ag, WIRE_ERROR, stream,
                          json_pack("{s:s, s:o*}", "error", agent_errno_name(err), "message", m));
}

void agent_send_ready(struct agent *ag, bool answer)
{
    struct timespec ts;
    clock_gettime(CLOCK_BOOTTIME, &ts);
    json_int_t uptime = (json_int_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    json_t *j = json_pack("{s:i, s:s, s:s, s:I, s:I}", "version", WIRE_VERSION, "agent",
                          AGENT_VERSION, "boot_id", ag->boot_id, "uptime_ms", uptime, "pid",
                          (json_int_t)getpid());
    if (j && answer && ag->session[0])
        json_object_set_new(j, "session", json_string(ag->session));
    (void)agent_send_json(ag, WIRE_READY, 0, j);
}

void agent_send_window(struct agent *ag, uint32_t stream, uint32_t credit)
{
    if (!ag->ch.connected)
        return;
    int r = wire_append_window(&ag->out, stream, credit);
    if (r < 0)
        agent_log("cannot queue 'window' frame for stream %u: %s, dropping it", stream,
                  strerror(-r));
}

void agent_out_written(struct agent *ag, size_t n)
{
    size_t left = n;
    while (left) {
        if (ag->out_partial) {
            size_t k = left < ag->out_partial ? left : ag->out_partial;
            ag->out_partial -= k;
            left -= k;
            buf_consume(&ag->out, k);
            continue;
        }
        /* our own queue holds whole, well-formed frames */
        struct wire_frame f;
        size_t skip;
        int whole = wire_parse(ag->out.data, ag->out.len, &f, &skip);
        if (whole <= 0) {
            buf_consume(&ag->out, left); /* cannot happen; keep going rather than stall */
            return;
        }
        ag->out_partial = (size_t)whole;
    }
}

void agent_out_drop_unsent(struct agent *ag)
{
    ag->out.len = ag->out_partial;
}

json_t *agent_parse_json(struct agent *ag, const struct wire_frame *f)
{
    json_error_t err;
    json_t *root = json_loadb((const char *)f->payload, f->len, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        agent_send_error(ag, f->stream, EINVAL, "bad JSON in '%s' frame: %s",
                         wire_type_to_string(f->type), err.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        agent_send_error(ag, f->stream, EINVAL, "'%s' payload must be a JSON object",
                         wire_type_to_string(f->type));
        json_decref(root);
        return NULL;
    }
    return root;
}

bool agent_feed_fd(struct agent *ag, struct stream *s, struct buf *in, int fd)
{
    size_t done = 0;
    bool ok = fd >= 0;
    while (ok && done < in->len) {
        ssize_t n = write(fd, in->data + done, in->len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            break;
        if (n < 0)
            ok = false; /* EPIPE (SIGPIPE is ignored), ECONNRESET, ... */
        else
            done += (size_t)n;
    }
    if (!ok)
        done = in->len;
    buf_consume(in, done);
    if (done) {
        s->recv_credit += done;
        agent_send_window(ag, s->id, (uint32_t)done);
    }
    return ok;
}
