/* SPDX-License-Identifier: MIT */
/* dns.h: hearthd's DNS server for sandboxes. It listens on the gateway address inside the hearth
 * namespace (the caller hands it bound sockets), answers the names hearth owns itself, forwards
 * everything else to upstream resolvers from hearthd's own namespace, and reports the A records
 * of forwarded answers so egress rules for host names can allow exactly those addresses.
 *
 * Everything runs on the caller's libevent loop: no threads, no blocking calls. The process
 * must ignore SIGPIPE (hearthd does): a TCP client may be gone when its answer is written. Hostile input
 * (any bytes from a sandbox or an upstream) is answered with FORMERR or dropped; every resource
 * is capped (pending queries, TCP connections, buffers). */
#pragma once

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct dns_server;

#define DNS_SANDBOX_ID_MAX 64       /* the client hook's id buffer, NUL included */
#define DNS_LOCAL_MAX_ADDRS 16      /* capacity the local hook gets in *n */
#define DNS_MAX_UPSTREAMS 8
#define DNS_INTERNAL_ZONE "hearth.internal"

/* Called on the loop, synchronously while a query is handled; they must not block and must not
 * free the server. Names are lowercased presentation format without the trailing dot ("" for the
 * root); a label holding odd bytes arrives escaped (\DDD), as ldns prints it. */
struct dns_hooks {
    /* Which sandbox sent from src (IPv4, host byte order). false: answer REFUSED. On true, id
     * holds the sandbox id ("sb-…", NUL-terminated). Required. */
    bool (*client)(void *ud, uint32_t src, char id[DNS_SANDBOX_ID_MAX]);
    /* Names hearth answers itself. Return 1 with up to *n A records (host byte order) in addrs
     * (capacity DNS_LOCAL_MAX_ADDRS passed in *n) and a TTL; 0: not ours, forward; -1: NXDOMAIN
     * (ours but unknown). Names in DNS_INTERNAL_ZONE are never forwarded: 0 for one of them is
     * answered NXDOMAIN too. Optional (NULL: nothing is local). */
    int (*local)(void *ud, const char *id, const char *qname, uint32_t *addrs, size_t *n,
                 uint32_t *ttl);
    /* A forwarded answer is about to reach sandbox id (called before it is sent, so the egress
     * sets can be filled before the sandbox connects): the A records that answer qname
     * (following the CNAME chain from qname inside the answer), with the smallest TTL on that
     * chain. Called only for NOERROR answers with at least one such A record that the client
     * receives whole (not truncated). addrs is borrowed for the call. Optional. */
    void (*answered)(void *ud, const char *id, const char *qname, const uint32_t *addrs,
                     size_t n, uint32_t ttl);
    /* Whether sandbox id may have qname forwarded upstream (its egress allowlist: the names a
     * host or *.host rule matches; everything when its egress is open). false: answered
     * REFUSED and never sent upstream, so a deny-by-default sandbox cannot tunnel data
     * through queries (TXT or any type) to a domain it may not reach. Asked after the local
     * hook, for names hearth does not answer itself. Optional (NULL: everything). */
    bool (*allowed)(void *ud, const char *id, const char *qname);
};

/* What the server counted for one sandbox (or all of them) since it started or since
 * dns_server_forget(). Bytes are DNS message bytes (TCP without the length prefix). */
struct dns_stats {
    uint64_t queries;               /* every query received, parseable or not */
    uint64_t refused;               /* refused by the allowed hook (policy) */
    uint64_t limited;               /* refused by the rate limit */
    uint64_t bytes_in;              /* queries */
    uint64_t bytes_out;             /* replies sent */
};

struct dns_config {
    const struct sockaddr_in *upstreams;    /* copied; at most DNS_MAX_UPSTREAMS; 0: every
                                             * forwarded query gets SERVFAIL */
    size_t n_upstreams;
    int timeout_ms;                         /* per try; 0: 2000 */
    int tries;                              /* tries per query, each on the next upstream;
                                             * 0: 2 */
    size_t max_pending;                     /* forwarded queries in flight; 0: 4096; beyond
                                             * it a query gets SERVFAIL. At most 32768 */
    uint32_t rate_qps;                      /* per sandbox: a token bucket refilled at this
                                             * many queries a second (0: no limit); a query
                                             * without a token gets REFUSED */
    uint32_t rate_burst;                    /* the bucket's size; 0: rate_qps */
};

/* Starts serving on udp_fd (a bound SOCK_DGRAM) and tcp_listen_fd (a bound SOCK_STREAM, -1:
 * none), both non-blocking. The fds stay the caller's: close them after dns_server_free().
 * Upstream sockets are created here, in the calling thread's network namespace. hooks is copied;
 * ud is passed to every hook. Returns 0 and *ret, -EINVAL for a bad config, or -errno. */
__attribute__((warn_unused_result))
int dns_server_new(struct event_base *base, int udp_fd, int tcp_listen_fd,
                   const struct dns_config *c, const struct dns_hooks *hooks, void *ud,
                   struct dns_server **ret);
/* Stops serving: drops pending queries (no answer is sent), closes TCP connections and upstream
 * sockets. NULL does nothing. Not from inside a hook. */
void dns_server_free(struct dns_server *s);

/* The counters of sandbox id (NULL: the totals of every sandbox). false (and zeros) when the
 * server has no entry for id. */
bool dns_server_stats(const struct dns_server *s, const char *id, struct dns_stats *ret);
/* Calls fn for every sandbox with counters (not from inside a hook). */
void dns_server_stats_each(const struct dns_server *s,
                           void (*fn)(void *ud, const char *id, const struct dns_stats *st),
                           void *ud);
/* How long forwarded queries took, from the sandbox's query to the upstream's answer or the
 * SERVFAIL after the last try: a histogram with the upper bounds DNS_FWD_BOUNDS_MS (the last
 * bucket is everything slower). */
#define DNS_FWD_BUCKETS 10
#define DNS_FWD_BOUNDS_MS { 1, 5, 10, 25, 50, 100, 250, 500, 1000 }
struct dns_fwd_latency {
    uint64_t count[DNS_FWD_BUCKETS]; /* per bucket, not cumulative */
    uint64_t failed;                 /* of those, ended in SERVFAIL (no upstream answered) */
    double sum_s;
};
void dns_server_fwd_latency(const struct dns_server *s, struct dns_fwd_latency *ret);
/* Drops sandbox id's counters and bucket (it was destroyed). */
void dns_server_forget(struct dns_server *s, const char *id);

/* Parses /etc/resolv.conf-style text for "nameserver <IPv4>" lines (IPv6 and junk are
 * skipped; port 53), in file order, keeping the first cap. Returns 0 with *n (possibly 0),
 * -EFBIG for a file over 64 KiB, or -errno from reading it. */
__attribute__((warn_unused_result))
int dns_upstreams_from_resolv_conf(const char *path, struct sockaddr_in *out, size_t cap,
                                   size_t *n);
