/* SPDX-License-Identifier: MIT */
/* dns_tcp.c: the DNS server's TCP clients (RFC 7766 basics): 2-byte length framing, several
 * queries per connection answered in any order, an idle timeout, caps on connections (in all
 * and per client address), on queries in flight per connection and on unread answers. Owns the connections; their pending
 * queries belong to dns_forward.c and are cancelled when a connection closes. */
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/net/dns_internal.h"

struct dns_tcp_conn {
    struct dns_server *s;
    struct bufferevent *bev;            /* owned; owns the socket */
    struct sockaddr_in peer;
    LIST_ENTRY(dns_tcp_conn) link;      /* on s->conns */
    struct dns_pending_list pending;    /* forwarded queries waiting for an answer */
    size_t inflight;                    /* how many are on that list */
    bool eof;                           /* the client is done sending: close once answered */
    bool in_read;                       /* inside on_read: closing waits until it returns */
    bool dead;                          /* close when on_read returns */
};

static void conn_free(struct dns_tcp_conn *c)
{
    struct dns_pending *p;
    while ((p = LIST_FIRST(&c->pending)))
        dns_forward_cancel(p);
    LIST_REMOVE(c, link);
    c->s->n_conns--;
    bufferevent_free(c->bev);
    free(c);
}

/* Frees c now, or when on_read (which is still using it) returns. */
static void conn_close(struct dns_tcp_conn *c)
{
    if (c->in_read)
        c->dead = true;
    else
        conn_free(c);
}

/* Whether the input holds a whole query on_read has not taken yet (it stopped at the cap). */
static bool query_waiting(struct dns_tcp_conn *c)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    uint8_t hdr[2];
    if (evbuffer_copyout(in, hdr, 2) < 2)
        return false;
    return evbuffer_get_length(in) >= 2 + ((size_t)hdr[0] << 8 | hdr[1]);
}

/* A client that sent EOF is closed once every query it sent is answered and written. */
static void maybe_finish(struct dns_tcp_conn *c)
{
    if (c->eof && c->inflight == 0 && !query_waiting(c) &&
        evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
        conn_close(c);
}

struct dns_pending_list *dns_tcp_pending(struct dns_tcp_conn *c)
{
    return &c->pending;
}

void dns_tcp_attach(struct dns_tcp_conn *c)
{
    c->inflight++;
}

void dns_tcp_detach(struct dns_tcp_conn *c)
{
    c->inflight--;
    if (c->dead)
        return;
    /* Deferred, so the caller finishes its own reply first: on_read takes the queries that
     * wait in the input buffer (reading paused at the cap), and at EOF checks for closing. */
    if (c->eof || c->inflight == DNS_TCP_MAX_INFLIGHT - 1) {
        if (!c->eof)
            bufferevent_enable(c->bev, EV_READ);
        bufferevent_trigger(c->bev, EV_READ,
                            BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
    }
}

void dns_tcp_send(struct dns_tcp_conn *c, const uint8_t *msg, size_t len)
{
    if (c->dead)
        return;
    struct evbuffer *out = bufferevent_get_output(c->bev);
    uint8_t hdr[2] = { (uint8_t)(len >> 8), (uint8_t)len };
    /* a client that stops reading must not make us buffer without bound */
    if (len > DNS_MSG_MAX || evbuffer_get_length(out) + 2 + len > DNS_TCP_OUT_MAX ||
        evbuffer_add(out, hdr, 2) < 0 || evbuffer_add(out, msg, len) < 0)
        conn_close(c);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct dns_tcp_conn *c = arg;
    struct dns_server *s = c->s;
    struct evbuffer *in = bufferevent_get_input(bev);
    c->in_read = true;
    while (!c->dead && c->inflight < DNS_TCP_MAX_INFLIGHT) {
        uint8_t hdr[2];
        if (evbuffer_copyout(in, hdr, 2) < 2)
            break;
        size_t len = (size_t)hdr[0] << 8 | hdr[1];
        if (len > DNS_QUERY_MAX || len < DNS_HEADER_LEN) {
            c->dead = true; /* no query is that long, and one that short has no header */
            break;
        }
        if (evbuffer_get_length(in) < 2 + len)
            break;
        evbuffer_drain(in, 2);
        if (evbuffer_remove(in, s->rx, len) != (int)len) {
            c->dead = true;
            break;
        }
        struct dns_client client = { .conn = c, .addr = c->peer };
        dns_server_handle(s, &client, s->rx, len);
    }
    c->in_read = false;
    if (c->dead) {
        conn_free(c);
        return;
    }
    if (c->inflight >= DNS_TCP_MAX_INFLIGHT)
        bufferevent_disable(bev, EV_READ); /* dns_tcp_detach() resumes */
    else
        maybe_finish(c);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    maybe_finish(arg);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct dns_tcp_conn *c = arg;
    if (what & BEV_EVENT_EOF) {
        c->eof = true;
        bufferevent_disable(bev, EV_READ);
        maybe_finish(c);
    } else if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_READING) && c->inflight > 0) {
        bufferevent_enable(bev, EV_READ); /* waiting for upstream is not idling */
    } else {
        conn_free(c); /* errors, idle, or a client that does not read its answers */
    }
}

static size_t conns_from(struct dns_server *s, const struct sockaddr_in *peer)
{
    size_t n = 0;
    struct dns_tcp_conn *c;
    LIST_FOREACH(c, &s->conns, link)
        n += c->peer.sin_addr.s_addr == peer->sin_addr.s_addr;
    return n;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    struct dns_server *s = arg;
    if (s->n_conns >= DNS_TCP_MAX_CONNS || sa->sa_family != AF_INET ||
        (size_t)salen < sizeof(struct sockaddr_in) ||
        conns_from(s, (const struct sockaddr_in *)sa) >= DNS_TCP_MAX_PER_CLIENT) {
        close(fd);
        return;
    }
    struct dns_tcp_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return;
    }
    c->s = s;
    memcpy(&c->peer, sa, sizeof(c->peer));
    LIST_INIT(&c->pending);
    c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!c->bev) {
        close(fd);
        free(c);
        return;
    }
    LIST_INSERT_HEAD(&s->conns, c, link);
    s->n_conns++;
    const struct timeval idle = { DNS_TCP_IDLE_S, 0 };
    bufferevent_setcb(c->bev, on_read, on_write, on_event, c);
    /* stop reading with one largest query buffered; on_read consumes whole ones */
    bufferevent_setwatermark(c->bev, EV_READ, 0, 2 + DNS_QUERY_MAX);
    bufferevent_set_timeouts(c->bev, &idle, &idle);
    if (bufferevent_enable(c->bev, EV_READ) < 0)
        conn_free(c);
}

int dns_tcp_init(struct dns_server *s, int listen_fd)
{
    if (listen_fd < 0)
        return 0;
    /* backlog 0: the socket is listening already (net_gateway_socket()) */
    s->listener = evconnlistener_new(s->base, on_accept, s, LEV_OPT_CLOSE_ON_EXEC, 0, listen_fd);
    return s->listener ? 0 : -ENOMEM;
}

void dns_tcp_release(struct dns_server *s)
{
    if (s->listener)
        evconnlistener_free(s->listener);
    s->listener = NULL;
    struct dns_tcp_conn *c;
    while ((c = LIST_FIRST(&s->conns)))
        conn_free(c);
}
