/* SPDX-License-Identifier: MIT */
/* dns_msg.h: DNS messages for the DNS server (dns.h): parsing queries from sandboxes and
 * answers from upstreams, building the replies the server writes itself. Wire parsing is ldns's
 * (it rejects compression loops, labels > 63 and names > 255); this layer adds the checks a
 * server needs and never reads past len. No sockets, no state: the fuzz target drives it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HEADER_LEN 12
#define DNS_QUERY_MAX 4096          /* the largest query accepted, UDP or TCP */
#define DNS_UDP_MIN 512             /* UDP size of a client without EDNS0 */
#define DNS_UDP_MAX 4096            /* the most a client's EDNS0 size is taken at */
#define DNS_ANSWER_MAX_ADDRS 64     /* A records reported per answer; more are ignored */
#define DNS_CNAME_MAX_HOPS 16       /* CNAME chain followed inside one answer */

#define DNS_TYPE_A 1
#define DNS_TYPE_AAAA 28
#define DNS_CLASS_IN 1

enum dns_rcode {
    DNS_NOERROR = 0,
    DNS_FORMERR = 1,
    DNS_SERVFAIL = 2,
    DNS_NXDOMAIN = 3,
    DNS_NOTIMP = 4,
    DNS_REFUSED = 5,
};

struct ldns_struct_pkt;

/* A query from a client. Header fields are set whenever a header was readable. */
struct dns_query {
    uint16_t id;
    uint8_t opcode;
    bool rd;
    struct ldns_struct_pkt *pkt;    /* owned; NULL unless dns_query_parse() returned 0 */
    char *name;                     /* owned; lowercased, no trailing dot; NULL unless parsed */
    uint16_t qtype;
    uint16_t qclass;
    bool edns;                      /* the query carried an OPT record */
    uint16_t udp_size;              /* DNS_UDP_MIN, or its EDNS0 size clamped to DNS_UDP_MAX */
};

/* Parses a query. Returns 0 (q owns a packet and a name: dns_query_release()), -EINVAL when
 * not even a header is readable or the message is a response (drop it: answering responses
 * lets two servers loop), -EOPNOTSUPP for an opcode other than QUERY (answer NOTIMP), -EBADMSG
 * when malformed or larger than DNS_QUERY_MAX (answer FORMERR). On errors but -EINVAL the header
 * fields are set. */
__attribute__((warn_unused_result))
int dns_query_parse(const uint8_t *msg, size_t len, struct dns_query *q);
/* Frees what a parse left in q; q may be zeroed or half-filled. */
void dns_query_release(struct dns_query *q);

/* An upstream answer checked against the question it answers. */
struct dns_answer {
    uint8_t rcode;
    bool tc;
    uint32_t addrs[DNS_ANSWER_MAX_ADDRS];   /* host byte order: the A records answering the
                                             * question's name, through CNAMEs (NOERROR only) */
    size_t n_addrs;
    uint32_t ttl;                           /* smallest TTL on that chain; 0 when n_addrs 0 */
};

/* Parses msg as the answer to q (a parsed query): a response carrying exactly q's question
 * (names compared case-insensitively, same type and class). The id is not checked here.
 * Returns 0, or -EBADMSG for anything else (the caller ignores it). */
__attribute__((warn_unused_result))
int dns_answer_parse(const uint8_t *msg, size_t len, const struct dns_query *q,
                     struct dns_answer *a);

/* Builders. Each returns 0 with a malloc'd message in *ret (the caller frees it) and its length,
 * or -ENOMEM. Replies copy the query's id, opcode and RD, set RA, echo the question when the
 * query parsed and add an OPT record when it had one. */

/* An error reply: header only when q did not parse. */
__attribute__((warn_unused_result))
int dns_reply_error(const struct dns_query *q, enum dns_rcode rcode, uint8_t **ret,
                    size_t *ret_len);
/* An authoritative (AA) reply to a parsed query: rcode with n A records of ttl for the
 * question's name (n may be 0: NODATA, or NXDOMAIN with rcode). */
__attribute__((warn_unused_result))
int dns_reply_local(const struct dns_query *q, enum dns_rcode rcode, const uint32_t *addrs,
                    size_t n, uint32_t ttl, uint8_t **ret, size_t *ret_len);
/* msg (a reply that parses, e.g. one dns_answer_parse() accepted) cut to its header and
 * question with TC set, so the client retries over TCP. -EBADMSG if msg does not parse. */
__attribute__((warn_unused_result))
int dns_reply_truncate(const uint8_t *msg, size_t len, uint8_t **ret, size_t *ret_len);

static inline uint16_t dns_msg_id(const uint8_t *msg)
{
    return (uint16_t)(msg[0] << 8 | msg[1]);
}

static inline void dns_msg_set_id(uint8_t *msg, uint16_t id)
{
    msg[0] = (uint8_t)(id >> 8);
    msg[1] = (uint8_t)id;
}

/* Whether name (as in struct dns_query) is DNS_INTERNAL_ZONE or under it. */
bool dns_name_is_internal(const char *name);
