/* SPDX-License-Identifier: MIT */
/* dns_forward.c: forwarding for the DNS server. Owns the pending queries (one per forwarded
 * client query, found by a fresh random upstream id) and the upstream sockets: one connected
 * UDP socket per upstream in hearthd's own namespace, so only that upstream's datagrams arrive,
 * and a TCP connection per query when a TCP client's answer came back truncated. A reply counts
 * only when its id and question match; anything else is ignored, as a spoof would be. */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/mono.h"
#include "daemon/net/dns_internal.h"

#define UPSTREAM_BATCH 64   /* datagrams read per wakeup */
#define ID_DRAWS 64
#define UPSTREAM_SOCKBUF (1 << 20)         /* random ids tried before giving up (at most half are taken) */

struct dns_pending {
    struct dns_server *s;
    uint16_t id;                        /* ours, on the upstream query */
    struct dns_client client;
    LIST_ENTRY(dns_pending) conn_link;  /* on client.conn's list when the client is TCP */
    char sandbox[DNS_SANDBOX_ID_MAX];
    struct dns_query q;                 /* owned; q.id is the client's id */
    uint8_t *query;                     /* owned: the client's query with our id */
    size_t query_len;
    unsigned tries;                     /* tries started on the current transport */
    size_t upstream;                    /* index of the upstream of the current try */
    bool tcp;                           /* the current transport is TCP */
    struct event *timer;                /* owned: the current try's deadline */
    struct bufferevent *bev;            /* owned: the TCP connection of the current try */
    int64_t start_us;                   /* monotonic: when the sandbox's query came */
};

static void pending_free(struct dns_pending *p)
{
    if (p->bev)
        bufferevent_free(p->bev);
    if (p->timer)
        event_free(p->timer);
    dns_query_release(&p->q);
    free(p->query);
    free(p);
}

static unsigned client_bucket(const struct sockaddr_in *a)
{
    return (unsigned)((ntohl(a->sin_addr.s_addr) * 2654435761u) >> 22) % DNS_CLIENT_BUCKETS;
}

/* Takes p off every list: no reply can reach it and its connection no longer counts it. */
static void pending_unlink(struct dns_pending *p)
{
    struct dns_server *s = p->s;
    s->by_id[p->id] = NULL;
    s->n_pending--;
    s->per_client[client_bucket(&p->client.addr)]--;
    if (p->client.conn) {
        LIST_REMOVE(p, conn_link);
        dns_tcp_detach(p->client.conn);
    }
}

void dns_forward_cancel(struct dns_pending *p)
{
    p->s->by_id[p->id] = NULL;
    p->s->n_pending--;
    p->s->per_client[client_bucket(&p->client.addr)]--;
    if (p->client.conn)
        LIST_REMOVE(p, conn_link); /* no detach: the connection is going away */
    pending_free(p);
}

/* p is done (answered, or failed after its last try): its duration goes to the histogram. */
static void observe(struct dns_pending *p, bool failed)
{
    static const unsigned bounds[] = DNS_FWD_BOUNDS_MS;
    struct dns_fwd_latency *l = &p->s->fwd;
    int64_t us = mono_now_us() - p->start_us;
    size_t i = 0;
    while (i < sizeof(bounds) / sizeof(bounds[0]) && us > (int64_t)bounds[i] * 1000)
        i++;
    l->count[i]++;
    l->failed += failed;
    l->sum_s += (double)us / 1e6;
}

void dns_server_fwd_latency(const struct dns_server *s, struct dns_fwd_latency *ret)
{
    *ret = s->fwd;
}

static void fail(struct dns_pending *p)
{
    struct dns_client c = p->client;
    observe(p, true);
    pending_unlink(p);
    dns_server_send_error(p->s, &c, &p->q, DNS_SERVFAIL);
    pending_free(p);
}

/* msg (in the server's scratch buffer) answers p: give it back to the client with its id. */
static void complete(struct dns_pending *p, uint8_t *msg, size_t len, const struct dns_answer *a)
{
    struct dns_server *s = p->s;
    struct dns_client c = p->client;
    observe(p, false);
    dns_msg_set_id(msg, p->q.id);
    bool whole = c.conn || len <= p->q.udp_size;
    /* before sending, so the egress sets hold the addresses when the sandbox connects */
    if (whole && a->rcode == DNS_NOERROR && a->n_addrs > 0 && s->hooks.answered)
        s->hooks.answered(s->ud, p->sandbox, p->q.name, a->addrs, a->n_addrs, a->ttl);
    pending_unlink(p);
    (void)dns_server_send(s, &c, p->q.udp_size, msg, len);
    pending_free(p);
}

static void on_tcp_read(struct bufferevent *bev, void *arg);
static void on_tcp_event(struct bufferevent *bev, short what, void *arg);

/* Opens the TCP connection of a try. On failure the try's timer moves on to the next one. */
static void tcp_start(struct dns_pending *p)
{
    struct dns_server *s = p->s;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    p->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!p->bev) {
        close(fd);
        return;
    }
    uint8_t len[2] = { (uint8_t)(p->query_len >> 8), (uint8_t)p->query_len };
    bufferevent_setcb(p->bev, on_tcp_read, NULL, on_tcp_event, p);
    bufferevent_setwatermark(p->bev, EV_READ, 0, 2 + DNS_MSG_MAX);
    const struct sockaddr_in *to = &s->up[p->upstream].addr;
    if (bufferevent_write(p->bev, len, 2) < 0 ||
        bufferevent_write(p->bev, p->query, p->query_len) < 0 ||
        bufferevent_enable(p->bev, EV_READ | EV_WRITE) < 0 ||
        bufferevent_socket_connect(p->bev, (const struct sockaddr *)to, sizeof(*to)) < 0) {
        bufferevent_free(p->bev);
        p->bev = NULL;
    }
}

/* Starts a try on p->upstream over the current transport. Never frees p: a try that cannot
 * start simply times out. */
/* Sends a query to u. A socket not connected yet (no route to the upstream when hearthd
 * started) is connected now; a datagram that cannot go is lost like a dropped one and the
 * timer retries. */
static void upstream_send(struct dns_upstream *u, const uint8_t *q, size_t len)
{
    if (!u->connected)
        u->connected = connect(u->fd, (const struct sockaddr *)&u->addr, sizeof(u->addr)) == 0;
    if (u->connected)
        (void)send(u->fd, q, len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void try_start(struct dns_pending *p)
{
    struct dns_server *s = p->s;
    p->tries++;
    if (p->tcp)
        tcp_start(p);
    else
        upstream_send(&s->up[p->upstream], p->query, p->query_len);
    event_add(p->timer, s->timeout_q);
}

static void next_try(struct dns_pending *p)
{
    struct dns_server *s = p->s;
    event_del(p->timer);
    if (p->bev) {
        bufferevent_free(p->bev);
        p->bev = NULL;
    }
    if (p->tries >= s->tries) {
        fail(p);
        return;
    }
    p->upstream = (p->upstream + 1) % s->n_up;
    try_start(p);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    next_try(arg);
}

static void on_tcp_read(struct bufferevent *bev, void *arg)
{
    struct dns_pending *p = arg;
    struct dns_server *s = p->s;
    struct evbuffer *in = bufferevent_get_input(bev);
    uint8_t hdr[2];
    if (evbuffer_copyout(in, hdr, 2) < 2)
        return;
    size_t len = (size_t)hdr[0] << 8 | hdr[1];
    if (evbuffer_get_length(in) < 2 + len)
        return;
    evbuffer_drain(in, 2);
    struct dns_answer a;
    if (evbuffer_remove(in, s->rx, len) != (int)len || len < DNS_HEADER_LEN ||
        dns_msg_id(s->rx) != p->id || dns_answer_parse(s->rx, len, &p->q, &a) < 0) {
        next_try(p); /* a TCP stream carries only our query's answer: anything else fails it */
        return;
    }
    complete(p, s->rx, len, &a);
}

static void on_tcp_event(struct bufferevent *bev, short what, void *arg)
{
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        next_try(arg);
}

static void on_upstream_readable(evutil_socket_t fd, short what, void *arg)
{
    struct dns_server *s = arg;
    for (int i = 0; i < UPSTREAM_BATCH; i++) {
        ssize_t n = recv(fd, s->rx, DNS_MSG_MAX + 1, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            continue; /* ECONNREFUSED from an earlier ICMP error: the timer retries */
        }
        if (n < DNS_HEADER_LEN || n > DNS_MSG_MAX)
            continue;
        struct dns_pending *p = s->by_id[dns_msg_id(s->rx)];
        struct dns_answer a;
        if (!p || p->tcp || dns_answer_parse(s->rx, (size_t)n, &p->q, &a) < 0)
            continue;
        if (a.tc && p->client.conn) {
            /* a TCP client can take the whole answer: ask the same upstream over TCP */
            event_del(p->timer);
            p->tcp = true;
            p->tries = 0;
            for (size_t u = 0; u < s->n_up; u++)
                if (s->up[u].fd == fd)
                    p->upstream = u;
            try_start(p);
            continue;
        }
        complete(p, s->rx, (size_t)n, &a);
    }
}

static bool pick_id(struct dns_server *s, uint16_t *ret)
{
    for (int i = 0; i < ID_DRAWS; i++) {
        uint16_t id = (uint16_t)arc4random_uniform(65536);
        if (!s->by_id[id]) {
            *ret = id;
            return true;
        }
    }
    return false;
}

void dns_forward(struct dns_server *s, const struct dns_client *c, const char *sandbox,
                 struct dns_query *q, const uint8_t *msg, size_t len)
{
    uint16_t id;
    unsigned bucket = client_bucket(&c->addr);
    if (s->n_up == 0 || s->n_pending >= s->max_pending ||
        s->per_client[bucket] >= DNS_PENDING_PER_CLIENT || !pick_id(s, &id)) {
        dns_server_send_error(s, c, q, DNS_SERVFAIL);
        return;
    }
    struct dns_pending *p = calloc(1, sizeof(*p));
    if (!p) {
        dns_server_send_error(s, c, q, DNS_SERVFAIL);
        return;
    }
    p->s = s;
    p->id = id;
    p->client = *c;
    p->start_us = mono_now_us();
    snprintf(p->sandbox, sizeof(p->sandbox), "%s", sandbox);
    p->query = malloc(len);
    p->timer = evtimer_new(s->base, on_timeout, p);
    if (!p->query || !p->timer) {
        dns_server_send_error(s, c, q, DNS_SERVFAIL);
        p->client.conn = NULL;
        pending_free(p);
        return;
    }
    memcpy(p->query, msg, len);
    p->query_len = len;
    dns_msg_set_id(p->query, id);
    p->q = *q;
    memset(q, 0, sizeof(*q)); /* p owns the packet and name now */
    s->by_id[id] = p;
    s->n_pending++;
    s->per_client[bucket]++;
    if (c->conn) {
        LIST_INSERT_HEAD(dns_tcp_pending(c->conn), p, conn_link);
        dns_tcp_attach(c->conn);
    }
    try_start(p);
}

int dns_forward_init(struct dns_server *s, const struct dns_config *cfg)
{
    int ms = cfg->timeout_ms ? cfg->timeout_ms : 2000;
    s->timeout.tv_sec = ms / 1000;
    s->timeout.tv_usec = (ms % 1000) * 1000;
    /* every try has the same deadline: libevent keeps those in one queue, O(1) per timer */
    s->timeout_q = event_base_init_common_timeout(s->base, &s->timeout);
    if (!s->timeout_q)
        return -ENOMEM;
    s->tries = cfg->tries ? (unsigned)cfg->tries : 2;
    s->max_pending = cfg->max_pending ? cfg->max_pending : 4096;
    s->by_id = calloc(65536, sizeof(*s->by_id));
    if (!s->by_id)
        return -ENOMEM;
    for (size_t i = 0; i < cfg->n_upstreams; i++) {
        struct dns_upstream *u = &s->up[i];
        u->addr = cfg->upstreams[i];
        u->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (u->fd < 0)
            return -errno;
        s->n_up = i + 1; /* from here dns_forward_release() closes it */
        /* connected so only its answers arrive; without a route yet, at the first send */
        u->connected = connect(u->fd, (const struct sockaddr *)&u->addr, sizeof(u->addr)) == 0;
        u->ev = event_new(s->base, u->fd, EV_READ | EV_PERSIST, on_upstream_readable, s);
        if (!u->ev || event_add(u->ev, NULL) < 0)
            return -ENOMEM;
    }
    return 0;
}

void dns_forward_release(struct dns_server *s)
{
    if (s->by_id) {
        for (size_t i = 0; i < 65536; i++)
            if (s->by_id[i])
                dns_forward_cancel(s->by_id[i]);
        free(s->by_id);
        s->by_id = NULL;
    }
    for (size_t i = 0; i < s->n_up; i++) {
        if (s->up[i].ev)
            event_free(s->up[i].ev);
        if (s->up[i].fd >= 0)
            close(s->up[i].fd);
    }
    s->n_up = 0;
}
