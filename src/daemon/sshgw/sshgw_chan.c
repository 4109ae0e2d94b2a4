/* SPDX-License-Identifier: MIT */
/* sshgw_chan.c: the bytes of one gateway channel (docs/ingress-ssh.md "Flow control"): guest
 * output goes into the SSH channel only as far as the client's window allows; the rest waits
 * here with the agent's credit held, so a slow client stalls the guest, not hearthd's memory.
 * Client bytes go to the agent stream as far as it takes them; the rest stays in libssh, whose
 * window stops growing while it holds them, and is read back when the stream has room. Then
 * exit-status / exit-signal, EOF and close. The request handling is sshgw_session.c's and
 * sshgw_forward.c's. */
#include "daemon/sshgw/sshgw_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "common/wire.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/ctl/sandbox_stream.h"
#include "daemon/host/host.h"
#include "daemon/log.h"

#define WRITE_MAX (32u * 1024u) /* one ssh_channel_write(); libssh splits into packets */

static struct host *host_of(const struct sshgw_chan *k)
{
    return k->conn->gw->ctl->host;
}

static size_t pending_out(const struct sshgw_chan *k)
{
    return evbuffer_get_length(k->out[0]) + evbuffer_get_length(k->out[1]);
}

/* Ends the agent stream (on_end runs inside). */
static void cancel_stream(struct sshgw_chan *k)
{
    if (k->stream_open)
        (void)host_vm_exec_cancel(host_of(k), k->conn->sandbox_id, k->stream);
}

/* The stream ended and its output is out: status, EOF, close (RFC 4254 §6.10). */
static void finish_channel(struct sshgw_chan *k)
{
    if (k->kind == SSHGW_CHAN_SESSION) {
        if (k->end_msg[0]) {
            char line[300];
            int n = snprintf(line, sizeof(line), "hearth: %.280s\r\n", k->end_msg);
            (void)ssh_channel_write_stderr(k->ch, line, (uint32_t)(n < 0 ? 0 : n));
        }
        const char *sig = k->exit_signal > 0 ? sshgw_signal_name(k->exit_signal) : NULL;
        if (sig)
            (void)ssh_channel_request_send_exit_signal(k->ch, sig, 0, "", "");
        else
            (void)ssh_channel_request_send_exit_status(k->ch, k->exit_code >= 0 ? k->exit_code
                                                                                 : 255);
    }
    if (!k->eof_sent)
        (void)ssh_channel_send_eof(k->ch);
    k->eof_sent = true;
    (void)ssh_channel_close(k->ch);
    k->closed = true;
}

void sshgw_chan_flush(struct sshgw_chan *k)
{
    if (!k->ch || k->closed)
        return;
    for (int i = 0; i < 2; i++) {
        struct evbuffer *b = k->out[i];
        while (evbuffer_get_length(b) > 0) {
            uint32_t win = ssh_channel_window_size(k->ch);
            if (win == 0)
                break;
            size_t len = evbuffer_get_contiguous_space(b);
            if (len > win)
                len = win;
            if (len > WRITE_MAX)
                len = WRITE_MAX;
            const void *p = evbuffer_pullup(b, (ssize_t)len);
            int w = i ? ssh_channel_write_stderr(k->ch, p, (uint32_t)len)
                      : ssh_channel_write(k->ch, p, (uint32_t)len);
            if (w == SSH_ERROR) {
                k->closed = true; /* the connection is failing: the stream is cancelled below */
                cancel_stream(k);
                return;
            }
            if (w <= 0)
                break;
            k->conn->gw->stats.bytes_out += (uint64_t)w;
            evbuffer_drain(b, (size_t)w);
        }
    }
    if (pending_out(k) > 0)
        return;
    if (k->held && k->stream_open) {
        size_t n = k->held;
        k->held = 0;
        (void)host_stream_consumed(host_of(k), k->conn->sandbox_id, k->stream, n);
    }
    if (k->guest_eof && !k->eof_sent) {
        k->eof_sent = true;
        (void)ssh_channel_send_eof(k->ch); /* a tunnel's half-close (docs/api.md §3.12.2) */
    }
    if (k->ended && !k->closed)
        finish_channel(k);
}

/* Client bytes into the stream while it takes them: first what we hold, then libssh's. */
static void feed(struct sshgw_chan *k)
{
    if (!k->stream_open || !k->opened || k->draining || k->finish_sent)
        return;
    struct sshgw_conn *c = k->conn;
    k->draining = true; /* our own reads below must not re-enter through the data callback */
    for (;;) {
        while (evbuffer_get_length(k->in) > 0) {
            size_t len = evbuffer_get_contiguous_space(k->in);
            const void *p = evbuffer_pullup(k->in, (ssize_t)len);
            ssize_t n = host_stream_write(host_of(k), c->sandbox_id, k->stream, p, len);
            if (!k->stream_open || n < 0) {
                if (n < 0)
                    cancel_stream(k);
                k->draining = false;
                return;
            }
            evbuffer_drain(k->in, (size_t)n);
            c->gw->stats.bytes_in += (uint64_t)n;
            if ((size_t)n < len) {
                k->draining = false;
                return; /* on_credit calls again */
            }
        }
        if (k->lib_left == 0 || !k->ch)
            break;
        uint8_t tmp[16384];
        uint32_t want = k->lib_left < sizeof(tmp) ? k->lib_left : (uint32_t)sizeof(tmp);
        int n = ssh_channel_read_nonblocking(k->ch, tmp, want, 0);
        if (n <= 0) {
            k->lib_left = 0;
            break;
        }
        k->lib_left -= (uint32_t)n;
        if (evbuffer_add(k->in, tmp, (size_t)n) < 0) {
            cancel_stream(k);
            break;
        }
    }
    k->draining = false;
    if (k->client_eof && k->stream_open && k->lib_left == 0 &&
        evbuffer_get_length(k->in) == 0 && !k->finish_sent) {
        k->finish_sent = true;
        if (host_stream_finish(host_of(k), c->sandbox_id, k->stream) < 0)
            cancel_stream(k);
    }
}

/* ---- libssh's channel callbacks (inside ssh_event_dopoll) ---- */

static int on_chan_data(ssh_session s, ssh_channel ch, void *data, uint32_t len, int is_stderr,
                        void *ud)
{
    struct sshgw_chan *k = ud;
    if (is_stderr || k->closed || k->finish_sent || (k->ended && !k->stream_open))
        return (int)len; /* nobody reads it: dropped, the window keeps moving */
    if (k->draining || !k->stream_open || !k->opened) {
        k->lib_left = len; /* libssh keeps it (its window stops growing); read back later */
        return 0;
    }
    size_t room = SSHGW_IN_CAP - evbuffer_get_length(k->in);
    size_t take = len < room ? len : room;
    if (take && evbuffer_add(k->in, data, take) < 0)
        take = 0;
    k->lib_left = len - (uint32_t)take;
    feed(k);
    return (int)take;
}

static void on_chan_eof(ssh_session s, ssh_channel ch, void *ud)
{
    struct sshgw_chan *k = ud;
    k->client_eof = true;
    feed(k);
}

static void on_chan_close(ssh_session s, ssh_channel ch, void *ud)
{
    struct sshgw_chan *k = ud;
    k->closed = true; /* no more writes; the channel is freed at depth 0 */
    cancel_stream(k);
}

static int on_chan_writable(ssh_session s, ssh_channel ch, uint32_t bytes, void *ud)
{
    sshgw_chan_flush(ud);
    return 0;
}

/* ---- the agent stream's callbacks ---- */

static int on_data(void *ud, uint16_t type, const uint8_t *p, size_t len, bool eof)
{
    struct sshgw_chan *k = ud;
    if (k->closed || !k->ch)
        return 0; /* nobody to show it to: dropped, its credit returned */
    struct sshgw_conn *c = k->conn;
    sshgw_conn_enter(c);
    if (len > 0 && evbuffer_add(k->out[type == WIRE_STDERR ? 1 : 0], p, len) < 0) {
        sshgw_conn_leave(c);
        return -ENOMEM;
    }
    if (eof)
        k->guest_eof = true;
    sshgw_chan_flush(k);
    int ret = 0;
    if (len > 0 && pending_out(k) > 0) {
        k->held += len;
        ret = AGENT_DATA_HOLD;
    }
    sshgw_conn_leave(c); /* k stays: reaping waits for the stream's end */
    return ret;
}

static void on_credit(void *ud, size_t room)
{
    struct sshgw_chan *k = ud;
    struct sshgw_conn *c = k->conn;
    sshgw_conn_enter(c);
    feed(k);
    sshgw_conn_leave(c);
}

static void on_open(void *ud)
{
    struct sshgw_chan *k = ud;
    struct sshgw_conn *c = k->conn;
    sshgw_conn_enter(c);
    k->opened = true;
    feed(k);
    sshgw_conn_leave(c);
}

static void on_end(void *ud, const struct agent_end *end)
{
    struct sshgw_chan *k = ud;
    struct sshgw_conn *c = k->conn;
    sshgw_conn_enter(c);
    k->stream_open = false;
    k->ended = true;
    if (k->tunnel_counted) {
        k->tunnel_counted = false;
        ctl_sandbox_tunnel_closed(c->gw->ctl, c->sandbox_id);
    }
    ctl_exec_free(k->exec);
    k->exec = NULL;
    k->held = 0;
    if (end->kind == AGENT_END_EXIT) {
        k->exit_code = end->exit_code;
        k->exit_signal = end->signal;
    } else if (k->kind == SSHGW_CHAN_SESSION) {
        k->exit_code = 255;
        snprintf(k->end_msg, sizeof(k->end_msg), "%s",
                 end->kind == AGENT_END_LOST
                     ? "the sandbox stopped (paused, destroyed or unreachable)"
                     : end->message[0] ? end->message : "the command could not run");
    }
    if (k->kind == SSHGW_CHAN_FORWARD && end->kind != AGENT_END_DONE && !k->opened)
        log_info(NULL, "ssh: -L port unreachable in the sandbox", "{s:s,s:i,s:s}", "sandbox",
                 c->sandbox_id, "port", (int)k->port, "why", end->error);
    sshgw_chan_flush(k);
    sshgw_conn_leave(c);
}

/* ---- life ---- */

struct sshgw_chan *sshgw_chan_new(struct sshgw_conn *c, ssh_channel ch,
                                  enum sshgw_chan_kind kind)
{
    struct sshgw_chan *k = calloc(1, sizeof(*k));
    if (!k)
        return NULL;
    k->out[0] = evbuffer_new();
    k->out[1] = evbuffer_new();
    k->in = evbuffer_new();
    if (!k->out[0] || !k->out[1] || !k->in) {
        for (int i = 0; i < 2; i++)
            if (k->out[i])
                evbuffer_free(k->out[i]);
        if (k->in)
            evbuffer_free(k->in);
        free(k);
        return NULL;
    }
    k->conn = c;
    c->gw->stats.channels++; /* chan_free() takes it back */
    k->ch = ch;
    k->kind = kind;
    k->exit_code = -1;
    k->ops = (struct agent_stream_ops){ .on_data = on_data, .on_credit = on_credit,
                                        .on_open = on_open, .on_end = on_end };
    k->cb.userdata = k;
    k->cb.channel_data_function = on_chan_data;
    k->cb.channel_eof_function = on_chan_eof;
    k->cb.channel_close_function = on_chan_close;
    k->cb.channel_write_wontblock_function = on_chan_writable;
    k->next = c->chans;
    if (c->chans)
        c->chans->prev = k;
    c->chans = k;
    return k;
}

void sshgw_chan_init_io(struct sshgw_chan *k)
{
    ssh_callbacks_init(&k->cb);
    (void)ssh_set_channel_callbacks(k->ch, &k->cb);
}

void sshgw_chan_maybe_start(struct sshgw_chan *k)
{
    struct sshgw_conn *c = k->conn;
    if (k->started || k->closed || c->closing)
        return;
    if (k->kind == SSHGW_CHAN_SESSION && k->want == SSHGW_START_NONE)
        return;
    if (c->state == SSHGW_WAKING || c->state < SSHGW_WAKING)
        return; /* requests wait for the sandbox */
    k->started = true;
    struct ctl_error e = { 0 };
    int r = -1;
    if (c->state == SSHGW_READY) {
        struct ctl_caller who = { .user_id = c->user_id, .actor = "ssh" };
        r = ctl_sandbox_stream_check(c->gw->ctl, &who, c->sandbox_id, &e);
        if (r == 0) {
            k->stream_open = true;
            r = k->kind == SSHGW_CHAN_SESSION ? sshgw_session_start(k, &e)
                                              : sshgw_forward_start(k, &e);
            if (r < 0)
                k->stream_open = false;
        }
    } else {
        snprintf(e.msg, sizeof(e.msg), "%.500s", c->fail_msg);
    }
    if (r < 0) {
        k->ended = true;
        k->exit_code = 255;
        snprintf(k->end_msg, sizeof(k->end_msg), "%s", e.msg[0] ? e.msg : "cannot start");
        sshgw_chan_flush(k);
        return;
    }
    if (k->kind == SSHGW_CHAN_SESSION)
        k->opened = true;
    feed(k); /* what the client sent while the sandbox was woken */
}

static void chan_free(struct sshgw_conn *c, struct sshgw_chan *k)
{
    c->gw->stats.channels--;
    if (k->prev)
        k->prev->next = k->next;
    else
        c->chans = k->next;
    if (k->next)
        k->next->prev = k->prev;
    if (k->kind == SSHGW_CHAN_SESSION)
        c->n_sessions--;
    else
        c->n_forwards--;
    if (k->ch) {
        ssh_remove_channel_callbacks(k->ch, &k->cb);
        ssh_channel_free(k->ch); /* libssh sends what close is still owed */
    }
    for (int i = 0; i < 2; i++)
        evbuffer_free(k->out[i]);
    evbuffer_free(k->in);
    for (size_t i = 0; i < k->n_env; i++) {
        free(k->env_keys[i]);
        free(k->env_values[i]);
    }
    free(k->command);
    free(k);
}

void sshgw_chan_reap(struct sshgw_conn *c, bool all)
{
    struct sshgw_chan *k = c->chans;
    while (k) {
        struct sshgw_chan *next = k->next;
        if (all) {
            k->closed = true;
            cancel_stream(k); /* on_end runs inside */
        }
        if (k->closed && !k->stream_open)
            chan_free(c, k);
        k = next;
    }
}
