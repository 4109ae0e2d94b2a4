/* SPDX-License-Identifier: MIT */
/* sshgw_conn.c: one SSH connection of the gateway (docs/ingress-ssh.md "SSH gateway"). libssh
 * runs non-blocking with this connection's socket in its own ssh_event: libevent tells us when
 * the socket is readable, and, while libssh holds unsent output (ssh_get_poll_flags()
 * SSH_WRITE_PENDING), when it is writable; either way ssh_event_dopoll(ev, 0) lets libssh read
 * or flush without waiting. Every other path that writes (agent output, timers) calls
 * sshgw_conn_sync() to arm the write event. Here: the key exchange, the login (keys, password,
 * the attempt cap, the grace timer, the brute-force table), the wake of the sandbox, channel
 * opens, keepalives. Channels are sshgw_chan.c's. */
#include "daemon/sshgw/sshgw_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/util.h>

#include "daemon/ctl/auth_limit.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/sandbox_wake.h"
#include "daemon/log.h"

static void conn_free(struct sshgw_conn *c)
{
    struct sshgw *gw = c->gw;
    c->depth = 1; /* cancelled streams' on_end enter and leave: never free twice */
    if (c->prev)
        c->prev->next = c->next;
    else
        gw->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    gw->n_conns--;
    if (c->counted_unauth)
        gw->n_unauth--;
    ctl_wake_cancel(gw->ctl, c->wake);
    c->wake = NULL;
    sshgw_chan_reap(c, true);
    if (c->rd)
        event_free(c->rd);
    if (c->wr)
        event_free(c->wr);
    if (c->timer)
        event_free(c->timer);
    if (c->kick)
        event_free(c->kick);
    if (c->ev) {
        (void)ssh_event_remove_session(c->ev, c->s);
        ssh_event_free(c->ev);
    }
    if (c->s) {
        if (c->fd < 0 && ssh_is_connected(c->s))
            ssh_disconnect(c->s); /* a DISCONNECT and the socket closed; never waits */
        ssh_free(c->s);            /* closes the socket once it owns it (fd -1 here) */
    }
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

void sshgw_conn_enter(struct sshgw_conn *c)
{
    c->depth++;
}

void sshgw_conn_leave(struct sshgw_conn *c)
{
    if (--c->depth > 0)
        return;
    if (c->closing) {
        conn_free(c);
        return;
    }
    sshgw_chan_reap(c, false);
    sshgw_conn_sync(c);
}

void sshgw_conn_close(struct sshgw_conn *c)
{
    c->closing = true;
}

void sshgw_conn_sync(struct sshgw_conn *c)
{
    if (c->closing || !c->s)
        return;
    if (ssh_get_poll_flags(c->s) & SSH_WRITE_PENDING)
        event_add(c->wr, NULL);
    else
        event_del(c->wr);
}

static void logged_in(struct sshgw_conn *c)
{
    if (c->counted_unauth) {
        c->counted_unauth = false;
        c->gw->n_unauth--;
    }
    struct timeval tv = { .tv_sec = SSHGW_KEEPALIVE_S };
    event_add(c->timer, &tv); /* from here the timer sends keepalives */
}

/* Every channel waiting for the sandbox starts (or hears why it cannot). */
static void start_waiting(struct sshgw_conn *c)
{
    for (struct sshgw_chan *k = c->chans; k; k = k->next)
        sshgw_chan_maybe_start(k);
}

static void on_kick(evutil_socket_t fd, short what, void *ud)
{
    struct sshgw_conn *c = ud;
    sshgw_conn_enter(c);
    start_waiting(c);
    sshgw_conn_leave(c);
}

void sshgw_conn_kick(struct sshgw_conn *c)
{
    event_active(c->kick, EV_TIMEOUT, 0);
}

static void on_woken(void *ud, const struct ctl_error *e)
{
    struct sshgw_conn *c = ud;
    sshgw_conn_enter(c);
    c->wake = NULL;
    if (e->code == CTL_OK) {
        c->state = SSHGW_READY;
    } else {
        c->state = SSHGW_FAILED;
        snprintf(c->fail_msg, sizeof(c->fail_msg), "the sandbox could not be resumed: %.400s",
                 e->msg[0] ? e->msg : "unavailable");
    }
    start_waiting(c);
    sshgw_conn_leave(c);
}

/* The login succeeded: the sandbox is woken before any channel starts (they wait). */
static void begin_wake(struct sshgw_conn *c)
{
    logged_in(c);
    log_info(NULL, "ssh login", "{s:s,s:s,s:s}", "sandbox", c->sandbox_id, "user", c->user_id,
             "peer", c->peer_text);
    struct ctl_error e;
    int r = ctl_sandbox_wake(c->gw->ctl, c->user_id, c->sandbox_id, CTL_ACTOR_SSH, on_woken, c,
                             &c->wake, &e);
    if (r == 0) {
        c->state = SSHGW_READY;
    } else if (r == 1) {
        c->state = SSHGW_WAKING;
    } else {
        c->state = SSHGW_FAILED;
        snprintf(c->fail_msg, sizeof(c->fail_msg), "%s", e.msg[0] ? e.msg : "sandbox unavailable");
    }
}

/* A refused attempt: counted per connection (the cap) and, for passwords and once per
 * connection for keys, in the brute-force table. */
static void auth_refused(struct sshgw_conn *c, bool password)
{
    c->gw->stats.logins[password ? SSHGW_M_PASSWORD : SSHGW_M_PUBLICKEY][SSHGW_R_REFUSED]++;
    c->auth_fails++;
    if (password || !c->reported_key_fail) {
        c->reported_key_fail = c->reported_key_fail || !password;
        ctl_auth_failed(c->gw->ctl, CTL_AUTH_SSH, (const struct sockaddr *)&c->peer);
    }
    if (c->auth_fails >= SSHGW_MAX_AUTH_TRIES) {
        log_info(NULL, "ssh: too many failed logins on one connection, closing", "{s:s}",
                 "peer", c->peer_text);
        sshgw_conn_close(c);
    }
}

static int on_auth_pubkey(ssh_session s, const char *user, struct ssh_key_struct *key,
                          char signature_state, void *ud)
{
    struct sshgw_conn *c = ud;
    if (c->state != SSHGW_AUTH || c->closing)
        return SSH_AUTH_DENIED;
    if (ctl_auth_limited(c->gw->ctl, CTL_AUTH_SSH, (const struct sockaddr *)&c->peer)) {
        c->gw->stats.logins[SSHGW_M_PUBLICKEY][SSHGW_R_LIMITED]++;
        sshgw_conn_close(c);
        return SSH_AUTH_DENIED;
    }
    if (signature_state == SSH_PUBLICKEY_STATE_WRONG || sshgw_auth_key(c, user, key) < 0) {
        auth_refused(c, false);
        return SSH_AUTH_DENIED;
    }
    if (signature_state == SSH_PUBLICKEY_STATE_NONE)
        return SSH_AUTH_SUCCESS; /* "this key would do": the client signs next */
    if (signature_state != SSH_PUBLICKEY_STATE_VALID)
        return SSH_AUTH_DENIED;
    c->gw->stats.logins[SSHGW_M_PUBLICKEY][SSHGW_R_OK]++;
    begin_wake(c);
    return SSH_AUTH_SUCCESS;
}

static int on_auth_password(ssh_session s, const char *user, const char *password, void *ud)
{
    struct sshgw_conn *c = ud;
    if (c->state != SSHGW_AUTH || c->closing || !c->gw->cfg.password_auth)
        return SSH_AUTH_DENIED;
    if (ctl_auth_limited(c->gw->ctl, CTL_AUTH_SSH, (const struct sockaddr *)&c->peer)) {
        c->gw->stats.logins[SSHGW_M_PASSWORD][SSHGW_R_LIMITED]++;
        sshgw_conn_close(c);
        return SSH_AUTH_DENIED;
    }
    if (sshgw_auth_password(c, user, password) < 0) {
        auth_refused(c, true);
        return SSH_AUTH_DENIED;
    }
    c->gw->stats.logins[SSHGW_M_PASSWORD][SSHGW_R_OK]++;
    begin_wake(c);
    return SSH_AUTH_SUCCESS;
}

static ssh_channel on_session_open(ssh_session s, void *ud)
{
    struct sshgw_conn *c = ud;
    if (c->closing || c->state < SSHGW_WAKING || c->n_sessions >= c->gw->cfg.max_sessions) {
        c->gw->stats.channels_total[SSHGW_CS_REFUSED]++;
        return NULL;
    }
    ssh_channel ch = ssh_channel_new(s);
    if (!ch)
        return NULL;
    struct sshgw_chan *k = sshgw_chan_new(c, ch, SSHGW_CHAN_SESSION);
    if (!k) {
        ssh_channel_free(ch);
        return NULL;
    }
    c->n_sessions++;
    sshgw_session_setup(k);
    return ch;
}

/* What the server callbacks do not cover: direct-tcpip opens; everything else (tcpip-forward,
 * X11, agent forwarding, unknown requests) gets libssh's refusal. */
static int on_message(ssh_session s, ssh_message msg, void *ud)
{
    struct sshgw_conn *c = ud;
    if (ssh_message_type(msg) == SSH_REQUEST_CHANNEL_OPEN &&
        ssh_message_subtype(msg) == SSH_CHANNEL_DIRECT_TCPIP && c->state >= SSHGW_WAKING &&
        !c->closing)
        return sshgw_forward_open(c, msg);
    return 1;
}

static void pump(struct sshgw_conn *c)
{
    if (c->state == SSHGW_KEX) {
        int r = ssh_handle_key_exchange(c->s);
        if (r == SSH_ERROR) {
            log_debug(NULL, "ssh: key exchange failed", "{s:s,s:s}", "peer", c->peer_text,
                      "why", ssh_get_error(c->s));
            sshgw_conn_close(c);
            return;
        }
        if (r != SSH_OK)
            return;
        c->state = SSHGW_AUTH;
        if (ssh_event_add_session(c->ev, c->s) != SSH_OK) {
            sshgw_conn_close(c);
            return;
        }
    }
    /* a few rounds: each reads at most one buffer's worth; libevent calls again if more */
    for (int i = 0; i < 16 && !c->closing; i++) {
        int r = ssh_event_dopoll(c->ev, 0);
        if (r == SSH_ERROR)
            break;
        if (r == SSH_AGAIN)
            break;
    }
    if (!ssh_is_connected(c->s)) {
        sshgw_conn_close(c);
        return;
    }
    /* window adjusts may have come: output waiting for them goes now */
    for (struct sshgw_chan *k = c->chans; k && !c->closing; k = k->next)
        sshgw_chan_flush(k);
}

static void on_io(evutil_socket_t fd, short what, void *ud)
{
    struct sshgw_conn *c = ud;
    sshgw_conn_enter(c);
    pump(c);
    sshgw_conn_leave(c);
}

static void on_timer(evutil_socket_t fd, short what, void *ud)
{
    struct sshgw_conn *c = ud;
    sshgw_conn_enter(c);
    if (c->state <= SSHGW_AUTH) {
        log_info(NULL, "ssh: login grace time over, closing", "{s:s}", "peer", c->peer_text);
        sshgw_conn_close(c);
    } else {
        (void)ssh_send_keepalive(c->s); /* a dead peer then shows as a socket error */
        struct timeval tv = { .tv_sec = SSHGW_KEEPALIVE_S };
        event_add(c->timer, &tv);
    }
    sshgw_conn_leave(c);
}

static void peer_text(struct sshgw_conn *c)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (c->peer.ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&c->peer;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        port = ntohs(in->sin_port);
    } else if (c->peer.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&c->peer;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        port = ntohs(in6->sin6_port);
    }
    snprintf(c->peer_text, sizeof(c->peer_text), "%s:%u", host, port);
}

void sshgw_conn_accept(struct sshgw *gw, int fd, const struct sockaddr *sa, int salen)
{
    struct sshgw_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return;
    }
    c->gw = gw;
    c->fd = fd;
    if (salen > 0 && (size_t)salen <= sizeof(c->peer)) {
        memcpy(&c->peer, sa, (size_t)salen);
        c->peer_len = (socklen_t)salen;
    }
    peer_text(c);
    c->next = gw->conns;
    if (gw->conns)
        gw->conns->prev = c;
    gw->conns = c;
    gw->n_conns++;
    gw->n_unauth++;
    c->counted_unauth = true;
    c->depth = 1;
    c->s = ssh_new();
    c->ev = ssh_event_new();
    c->rd = event_new(gw->base, fd, EV_READ | EV_PERSIST, on_io, c);
    c->wr = event_new(gw->base, fd, EV_WRITE | EV_PERSIST, on_io, c);
    c->timer = evtimer_new(gw->base, on_timer, c);
    c->kick = event_new(gw->base, -1, 0, on_kick, c);
    int ar = c->s && c->ev && c->rd && c->wr && c->timer && c->kick
                 ? ssh_bind_accept_fd(gw->bind, c->s, fd)
                 : SSH_ERROR;
    if (c->s && ssh_get_fd(c->s) == fd)
        c->fd = -1; /* the session owns the socket now */
    if (ar != SSH_OK) {
        sshgw_conn_close(c);
        sshgw_conn_leave(c);
        return;
    }
    ssh_set_blocking(c->s, 0);
    int methods = SSH_AUTH_METHOD_PUBLICKEY;
    if (gw->cfg.password_auth)
        methods |= SSH_AUTH_METHOD_PASSWORD;
    ssh_set_auth_methods(c->s, methods);
    c->scb = (struct ssh_server_callbacks_struct){
        .userdata = c,
        .auth_pubkey_function = on_auth_pubkey,
        .auth_password_function = on_auth_password,
        .channel_open_request_session_function = on_session_open,
    };
    ssh_callbacks_init(&c->scb);
    ssh_set_server_callbacks(c->s, &c->scb);
    ssh_set_message_callback(c->s, on_message, c);
    struct timeval grace = { .tv_sec = gw->cfg.login_grace_s };
    event_add(c->timer, &grace);
    event_add(c->rd, NULL);
    c->state = SSHGW_KEX;
    pump(c); /* sends our banner */
    sshgw_conn_leave(c);
}
