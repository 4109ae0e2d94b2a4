/* SPDX-License-Identifier: MIT */
/* dns_internal.h: what the DNS server's files share (dns_server.c: lifecycle, UDP and query
 * dispatch; dns_forward.c: pending queries and upstreams; dns_tcp.c: client TCP connections).
 * Not for use outside src/daemon/net/dns_*.c. */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/time.h>

#include "daemon/net/dns.h"
#include "daemon/net/dns_msg.h"

#define DNS_TCP_MAX_CONNS 256       /* client connections; more are closed at accept */
#define DNS_TCP_MAX_PER_CLIENT 32 /* so one sandbox cannot take every connection */
#define DNS_TCP_IDLE_S 10           /* a connection with nothing in flight closes after this */
#define DNS_TCP_MAX_INFLIGHT 16     /* forwarded queries per connection; reading pauses */
#define DNS_TCP_OUT_MAX (256u << 10) /* unread answers a client may leave before we close */
#define DNS_MSG_MAX 65535           /* the largest DNS message (TCP length prefix) */

struct event;
struct event_base;
struct evconnlistener;
struct dns_pending;
struct dns_tcp_conn;

#define DNS_CLIENT_BUCKETS 1024
#define DNS_PENDING_PER_CLIENT 256

LIST_HEAD(dns_pending_list, dns_pending);
LIST_HEAD(dns_tcp_list, dns_tcp_conn);

/* Where a reply goes: a TCP connection, or a UDP client address. */
struct dns_client {
    struct dns_tcp_conn *conn;      /* borrowed; NULL: UDP */
    struct sockaddr_in addr;        /* the client's address (TCP: its peer) */
    char sandbox[DNS_SANDBOX_ID_MAX]; /* who it is, once the client hook said ("": unknown);
                                     * the bytes of replies are metered to it */
};

/* dns_meter.c: per-sandbox counters and rate limit */
struct dns_meter;
int dns_meter_new(uint32_t rate_qps, uint32_t burst, struct dns_meter **ret);
void dns_meter_free(struct dns_meter *m);
/* Counts a query of bytes from sandbox id; false when its bucket is empty (rate limited). */
bool dns_meter_query(struct dns_meter *m, const char *id, size_t bytes);
/* Counts a query refused by policy. */
void dns_meter_refused(struct dns_meter *m, const char *id);
/* Counts a reply of bytes sent to sandbox id ("" : only the total). */
void dns_meter_sent(struct dns_meter *m, const char *id, size_t bytes);

struct dns_upstream {
    struct sockaddr_in addr;
    int fd;                         /* connected UDP socket in hearthd's namespace; owned */
    struct event *ev;               /* its read event; owned */
    bool connected;                 /* connect() done; retried at each send until it is */
};

struct dns_server {
    struct event_base *base;        /* borrowed */
    int udp_fd;                     /* borrowed (the caller's) */
    struct event *udp_ev;           /* owned */
    struct evconnlistener *listener; /* owned; NULL without TCP; does not own its fd */
    struct dns_hooks hooks;
    void *ud;
    struct dns_upstream up[DNS_MAX_UPSTREAMS];
    size_t n_up;
    struct timeval timeout;         /* per try */
    const struct timeval *timeout_q; /* libevent's common-timeout queue for it */
    unsigned tries;
    size_t max_pending;
    size_t n_pending;
    struct dns_pending **by_id;     /* owned; 65536 slots: pending queries by upstream id */
    /* forwarded queries in flight per client address bucket (dns_forward.c): one sandbox
     * cannot take every pending slot and starve the others' lookups */
    uint16_t per_client[DNS_CLIENT_BUCKETS];
    struct dns_tcp_list conns;      /* owned */
    size_t n_conns;
    uint8_t *rx;                    /* owned; DNS_MSG_MAX + 1 bytes of scratch for receiving */
    struct dns_meter *meter;        /* owned */
    struct dns_fwd_latency fwd;     /* forwarded queries' durations (dns_forward.c) */
};

/* dns_server.c */
/* Handles one message from a client: answers it, or hands it to forwarding. */
void dns_server_handle(struct dns_server *s, const struct dns_client *c, const uint8_t *msg,
                       size_t len);
/* Sends a reply to a client, cut to header+question with TC when it exceeds the client's UDP
 * size (udp_size; ignored for TCP). Returns whether the client got it whole. */
bool dns_server_send(struct dns_server *s, const struct dns_client *c, uint16_t udp_size,
                     const uint8_t *msg, size_t len);
/* Sends an error reply for a parsed (or header-only) query. */
void dns_server_send_error(struct dns_server *s, const struct dns_client *c,
                           const struct dns_query *q, enum dns_rcode rcode);

/* dns_forward.c */
int dns_forward_init(struct dns_server *s, const struct dns_config *cfg);
/* Frees every pending query (no replies) and the upstream sockets. */
void dns_forward_release(struct dns_server *s);
/* Forwards a parsed query: takes ownership of q's contents; replies SERVFAIL itself when it
 * cannot. msg is the client's query (copied). */
void dns_forward(struct dns_server *s, const struct dns_client *c, const char *sandbox,
                 struct dns_query *q, const uint8_t *msg, size_t len);
/* Drops a pending query without replying (its TCP connection is closing). */
void dns_forward_cancel(struct dns_pending *p);

/* dns_tcp.c */
int dns_tcp_init(struct dns_server *s, int listen_fd);
void dns_tcp_release(struct dns_server *s);
/* Queues a framed reply; may close the connection (a client that does not read). */
void dns_tcp_send(struct dns_tcp_conn *c, const uint8_t *msg, size_t len);
/* The pending queries of a connection: dns_forward.c links them (its LIST_ENTRY) and counts
 * them with attach/detach, which pause and resume reading at DNS_TCP_MAX_INFLIGHT. A connection
 * that closes cancels what is on its list. */
struct dns_pending_list *dns_tcp_pending(struct dns_tcp_conn *c);
void dns_tcp_attach(struct dns_tcp_conn *c);
void dns_tcp_detach(struct dns_tcp_conn *c);
