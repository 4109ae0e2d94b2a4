/* SPDX-License-Identifier: MIT */
/* dns_server.c: the DNS server's lifecycle, its UDP socket and the decision every query goes
 * through: unknown client (REFUSED), over its rate (REFUSED), malformed (FORMERR), hearth's own
 * names (answered here through the local hook), names its egress does not allow (REFUSED),
 * everything else to dns_forward.c. Owns the server struct; the listening fds stay the
 * caller's. */
#include "daemon/net/dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/net/dns_internal.h"

#define UDP_BATCH 64 /* datagrams read per wakeup, so TCP and upstreams get their turn */

bool dns_server_send(struct dns_server *s, const struct dns_client *c, uint16_t udp_size,
                     const uint8_t *msg, size_t len)
{
    if (c->conn) {
        dns_meter_sent(s->meter, c->sandbox, len);
        dns_tcp_send(c->conn, msg, len);
        return true;
    }
    uint8_t *cut = NULL;
    size_t cut_len = 0;
    bool whole = len <= udp_size;
    if (!whole) {
        if (dns_reply_truncate(msg, len, &cut, &cut_len) < 0)
            return false; /* cannot happen for a reply we accepted; the client retries */
        msg = cut;
        len = cut_len;
    }
    /* UDP is best effort: a full socket buffer or a vanished client loses this reply and the
     * client retries, as it would for a lost datagram */
    if (sendto(s->udp_fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL,
               (const struct sockaddr *)&c->addr, sizeof(c->addr)) > 0)
        dns_meter_sent(s->meter, c->sandbox, len);
    free(cut);
    return whole;
}

void dns_server_send_error(struct dns_server *s, const struct dns_client *c,
                           const struct dns_query *q, enum dns_rcode rcode)
{
    uint8_t *msg = NULL;
    size_t len = 0;
    if (dns_reply_error(q, rcode, &msg, &len) < 0)
        return; /* out of memory: no reply, the client times out */
    (void)dns_server_send(s, c, q->udp_size, msg, len);
    free(msg);
}

static void answer_local(struct dns_server *s, const struct dns_client *c,
                         const struct dns_query *q, enum dns_rcode rcode, const uint32_t *addrs,
                         size_t n, uint32_t ttl)
{
    uint8_t *msg = NULL;
    size_t len = 0;
    if (dns_reply_local(q, rcode, addrs, n, ttl, &msg, &len) < 0)
        return; /* out of memory: no reply, the client times out */
    (void)dns_server_send(s, c, q->udp_size, msg, len);
    free(msg);
}

void dns_server_handle(struct dns_server *s, const struct dns_client *from, const uint8_t *msg,
                       size_t len)
{
    struct dns_query q;
    int r = dns_query_parse(msg, len, &q);
    if (r == -EINVAL)
        return; /* no header, or a response: never answer those */
    struct dns_client cl = *from, *c = &cl;
    char *id = cl.sandbox;
    id[0] = '\0';
    if (!s->hooks.client(s->ud, ntohl(c->addr.sin_addr.s_addr), id)) {
        id[0] = '\0';
        dns_server_send_error(s, c, &q, DNS_REFUSED);
        goto out;
    }
    id[DNS_SANDBOX_ID_MAX - 1] = '\0'; /* the hook's bug must not become our overread */
    if (!dns_meter_query(s->meter, id, len)) {
        dns_server_send_error(s, c, &q, DNS_REFUSED);
        goto out;
    }
    if (r < 0) {
        dns_server_send_error(s, c, &q, r == -EOPNOTSUPP ? DNS_NOTIMP : DNS_FORMERR);
        goto out;
    }

    uint32_t addrs[DNS_LOCAL_MAX_ADDRS];
    size_t n = DNS_LOCAL_MAX_ADDRS;
    uint32_t ttl = 0;
    int local = s->hooks.local ? s->hooks.local(s->ud, id, q.name, addrs, &n, &ttl) : 0;
    /* hearth's zone never leaks to upstream resolvers, whatever the hook says */
    if (local == 0 && dns_name_is_internal(q.name))
        local = -1;
    if (local > 0) {
        if (n > DNS_LOCAL_MAX_ADDRS)
            n = DNS_LOCAL_MAX_ADDRS;
        bool a = q.qtype == DNS_TYPE_A && q.qclass == DNS_CLASS_IN;
        answer_local(s, c, &q, DNS_NOERROR, addrs, a ? n : 0, ttl); /* else NODATA */
    } else if (local < 0) {
        answer_local(s, c, &q, DNS_NXDOMAIN, NULL, 0, 0);
    } else if (s->hooks.allowed && !s->hooks.allowed(s->ud, id, q.name)) {
        dns_meter_refused(s->meter, id);
        dns_server_send_error(s, c, &q, DNS_REFUSED);
    } else {
        dns_forward(s, c, id, &q, msg, len); /* takes q's contents */
    }
out:
    dns_query_release(&q);
}

static void on_udp_readable(evutil_socket_t fd, short what, void *arg)
{
    struct dns_server *s = arg;
    for (int i = 0; i < UDP_BATCH; i++) {
        struct dns_client c = { 0 };
        socklen_t alen = sizeof(c.addr);
        /* rx holds DNS_MSG_MAX + 1 bytes, so a datagram over the limit is seen as one */
        ssize_t n = recvfrom(fd, s->rx, DNS_MSG_MAX + 1, MSG_DONTWAIT,
                             (struct sockaddr *)&c.addr, &alen);
        if (n < 0)
            return; /* EAGAIN, or a transient error: wait for the next wakeup */
        if (alen != sizeof(c.addr) || c.addr.sin_family != AF_INET)
            continue;
        dns_server_handle(s, &c, s->rx, (size_t)n);
    }
}

int dns_server_new(struct event_base *base, int udp_fd, int tcp_listen_fd,
                   const struct dns_config *c, const struct dns_hooks *hooks, void *ud,
                   struct dns_server **ret)
{
    if (!base || udp_fd < 0 || !c || !hooks || !hooks->client ||
        c->n_upstreams > DNS_MAX_UPSTREAMS || (c->n_upstreams && !c->upstreams) ||
        c->timeout_ms < 0 || c->tries < 0 || c->max_pending > 32768)
        return -EINVAL;
    struct dns_server *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->base = base;
    s->udp_fd = udp_fd;
    s->hooks = *hooks;
    s->ud = ud;
    LIST_INIT(&s->conns);
    for (size_t i = 0; i < DNS_MAX_UPSTREAMS; i++)
        s->up[i].fd = -1;
    int r = -ENOMEM;
    s->rx = malloc(DNS_MSG_MAX + 1);
    if (!s->rx || dns_meter_new(c->rate_qps, c->rate_burst, &s->meter) < 0)
        goto out_free;
    r = dns_forward_init(s, c);
    if (r < 0)
        goto out_free;
    r = dns_tcp_init(s, tcp_listen_fd);
    if (r < 0)
        goto out_free;
    r = -ENOMEM;
    s->udp_ev = event_new(base, udp_fd, EV_READ | EV_PERSIST, on_udp_readable, s);
    if (!s->udp_ev || event_add(s->udp_ev, NULL) < 0)
        goto out_free;
    *ret = s;
    return 0;
out_free:
    dns_server_free(s);
    return r;
}

void dns_server_free(struct dns_server *s)
{
    if (!s)
        return;
    if (s->udp_ev)
        event_free(s->udp_ev);
    dns_tcp_release(s); /* cancels the connections' pending queries */
    dns_forward_release(s);
    free(s->rx);
    dns_meter_free(s->meter);
    free(s);
}
