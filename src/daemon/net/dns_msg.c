/* SPDX-License-Identifier: MIT */
/* dns_msg.c: DNS messages for the DNS server: queries and upstream answers parsed with ldns,
 * the server's own replies built with ldns. Owns no state; knows nothing of sockets, sandboxes
 * or pending queries (dns_server.c, dns_forward.c). */
#include "daemon/net/dns_msg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/net/dns.h"

/* The lowercased presentation form of a name, without the trailing dot. NULL: out of memory. */
static char *name_to_str(const ldns_rdf *dname)
{
    ldns_rdf *lower = ldns_rdf_clone(dname);
    if (!lower)
        return NULL;
    ldns_dname2canonical(lower);
    char *s = ldns_rdf2str(lower);
    ldns_rdf_deep_free(lower);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    /* "." is the root; every other name ends in an unescaped dot ldns adds */
    if (n > 0 && s[n - 1] == '.')
        s[n - 1] = '\0';
    return s;
}

static const ldns_rr *question_of(const ldns_pkt *p)
{
    if (ldns_pkt_qdcount(p) != 1 || ldns_rr_list_rr_count(ldns_pkt_question(p)) != 1)
        return NULL;
    return ldns_rr_list_rr(ldns_pkt_question(p), 0);
}

int dns_query_parse(const uint8_t *msg, size_t len, struct dns_query *q)
{
    memset(q, 0, sizeof(*q));
    if (len < DNS_HEADER_LEN || LDNS_QR_WIRE(msg))
        return -EINVAL;
    q->id = dns_msg_id(msg);
    q->opcode = (uint8_t)LDNS_OPCODE_WIRE(msg);
    q->rd = LDNS_RD_WIRE(msg) != 0;
    q->udp_size = DNS_UDP_MIN;
    if (q->opcode != LDNS_PACKET_QUERY)
        return -EOPNOTSUPP;
    /* cheap checks first, so junk never reaches the full parse */
    if (len > DNS_QUERY_MAX || LDNS_QDCOUNT(msg) != 1)
        return -EBADMSG;
    ldns_pkt *p = NULL;
    if (ldns_wire2pkt(&p, msg, len) != LDNS_STATUS_OK)
        return -EBADMSG;
    const ldns_rr *qrr = question_of(p);
    if (!qrr) {
        ldns_pkt_free(p);
        return -EBADMSG;
    }
    q->name = name_to_str(ldns_rr_owner(qrr));
    if (!q->name) {
        ldns_pkt_free(p);
        return -EBADMSG; /* out of memory: FORMERR is wrong but harmless, and never happens */
    }
    q->pkt = p;
    q->qtype = (uint16_t)ldns_rr_get_type(qrr);
    q->qclass = (uint16_t)ldns_rr_get_class(qrr);
    if (ldns_pkt_edns(p)) {
        q->edns = true;
        uint16_t sz = ldns_pkt_edns_udp_size(p);
        q->udp_size = sz < DNS_UDP_MIN ? DNS_UDP_MIN : sz > DNS_UDP_MAX ? DNS_UDP_MAX : sz;
    }
    return 0;
}

void dns_query_release(struct dns_query *q)
{
    if (q->pkt)
        ldns_pkt_free(q->pkt);
    free(q->name);
    q->pkt = NULL;
    q->name = NULL;
}

static bool same_question(const ldns_rr *a, const ldns_rr *b)
{
    return ldns_rr_get_type(a) == ldns_rr_get_type(b) &&
           ldns_rr_get_class(a) == ldns_rr_get_class(b) &&
           ldns_dname_compare(ldns_rr_owner(a), ldns_rr_owner(b)) == 0;
}

static bool rr_owned_by(const ldns_rr *rr, const ldns_rdf *name, ldns_rr_type type)
{
    return ldns_rr_get_type(rr) == type && ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN &&
           ldns_rr_rd_count(rr) == 1 && ldns_dname_compare(ldns_rr_owner(rr), name) == 0;
}

/* Follows the CNAME chain from name through the answer section and collects the A records at
 * its end. The hop cap stops CNAME loops. */
static void collect_addrs(const ldns_pkt *p, const ldns_rdf *name, struct dns_answer *a)
{
    const ldns_rr_list *an = ldns_pkt_answer(p);
    size_t count = ldns_rr_list_rr_count(an);
    uint32_t ttl = UINT32_MAX;
    for (int hop = 0; hop <= DNS_CNAME_MAX_HOPS; hop++) {
        const ldns_rdf *next = NULL;
        uint32_t next_ttl = 0;
        for (size_t i = 0; i < count; i++) {
            const ldns_rr *rr = ldns_rr_list_rr(an, i);
            if (rr_owned_by(rr, name, LDNS_RR_TYPE_A)) {
                const ldns_rdf *rd = ldns_rr_rdf(rr, 0);
                if (ldns_rdf_size(rd) != 4 || a->n_addrs == DNS_ANSWER_MAX_ADDRS)
                    continue;
                uint32_t be;
                memcpy(&be, ldns_rdf_data(rd), 4);
                a->addrs[a->n_addrs++] = ntohl(be);
                if (ldns_rr_ttl(rr) < ttl)
                    ttl = ldns_rr_ttl(rr);
            } else if (!next && rr_owned_by(rr, name, LDNS_RR_TYPE_CNAME) &&
                       ldns_rdf_get_type(ldns_rr_rdf(rr, 0)) == LDNS_RDF_TYPE_DNAME) {
                next = ldns_rr_rdf(rr, 0);
                next_ttl = ldns_rr_ttl(rr);
            }
        }
        if (a->n_addrs > 0 || !next)
            break;
        /* a CNAME's TTL bounds how long the addresses at the end of it answer the name */
        if (next_ttl < ttl)
            ttl = next_ttl;
        name = next;
    }
    a->ttl = a->n_addrs > 0 ? ttl : 0;
}

int dns_answer_parse(const uint8_t *msg, size_t len, const struct dns_query *q,
                     struct dns_answer *a)
{
    memset(a, 0, sizeof(*a));
    if (len < DNS_HEADER_LEN || !LDNS_QR_WIRE(msg) || LDNS_QDCOUNT(msg) != 1 || !q->pkt)
        return -EBADMSG;
    ldns_pkt *p = NULL;
    if (ldns_wire2pkt(&p, msg, len) != LDNS_STATUS_OK)
        return -EBADMSG;
    const ldns_rr *mine = question_of(q->pkt);
    const ldns_rr *theirs = question_of(p);
    if (!mine || !theirs || !same_question(mine, theirs)) {
        ldns_pkt_free(p);
        return -EBADMSG;
    }
    a->rcode = (uint8_t)ldns_pkt_get_rcode(p);
    a->tc = ldns_pkt_tc(p);
    if (a->rcode == DNS_NOERROR)
        collect_addrs(p, ldns_rr_owner(theirs), a);
    ldns_pkt_free(p);
    return 0;
}

/* A reply header for q (or for the header bytes alone when q did not parse). */
static ldns_pkt *reply_new(const struct dns_query *q, enum dns_rcode rcode)
{
    ldns_pkt *p = ldns_pkt_new();
    if (!p)
        return NULL;
    ldns_pkt_set_id(p, q->id);
    ldns_pkt_set_qr(p, true);
    ldns_pkt_set_opcode(p, (ldns_pkt_opcode)q->opcode);
    ldns_pkt_set_rd(p, q->rd);
    ldns_pkt_set_ra(p, true);
    ldns_pkt_set_rcode(p, (uint8_t)rcode);
    if (q->pkt) {
        ldns_rr *qrr = ldns_rr_clone(question_of(q->pkt));
        if (!qrr || !ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, qrr)) {
            ldns_rr_free(qrr);
            ldns_pkt_free(p);
            return NULL;
        }
    }
    if (q->edns)
        ldns_pkt_set_edns_udp_size(p, DNS_UDP_MAX);
    return p;
}

static int reply_wire(ldns_pkt *p, uint8_t **ret, size_t *ret_len)
{
    uint8_t *wire = NULL;
    size_t len = 0;
    ldns_status st = ldns_pkt2wire(&wire, p, &len);
    ldns_pkt_free(p);
    if (st != LDNS_STATUS_OK) {
        free(wire);
        return -ENOMEM;
    }
    *ret = wire;
    *ret_len = len;
    return 0;
}

int dns_reply_error(const struct dns_query *q, enum dns_rcode rcode, uint8_t **ret,
                    size_t *ret_len)
{
    ldns_pkt *p = reply_new(q, rcode);
    if (!p)
        return -ENOMEM;
    return reply_wire(p, ret, ret_len);
}

static ldns_rr *a_record(const ldns_rdf *owner, uint32_t addr, uint32_t ttl)
{
    uint32_t be = htonl(addr);
    ldns_rr *rr = ldns_rr_new();
    ldns_rdf *own = ldns_rdf_clone(owner);
    ldns_rdf *rd = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, 4, &be);
    if (!rr || !own || !rd || !ldns_rr_push_rdf(rr, rd)) {
        ldns_rdf_deep_free(own);
        ldns_rdf_deep_free(rd);
        ldns_rr_free(rr);
        return NULL;
    }
    ldns_rr_set_owner(rr, own);
    ldns_rr_set_type(rr, LDNS_RR_TYPE_A);
    ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
    ldns_rr_set_ttl(rr, ttl);
    return rr;
}

int dns_reply_local(const struct dns_query *q, enum dns_rcode rcode, const uint32_t *addrs,
                    size_t n, uint32_t ttl, uint8_t **ret, size_t *ret_len)
{
    if (!q->pkt)
        return -EINVAL;
    ldns_pkt *p = reply_new(q, rcode);
    if (!p)
        return -ENOMEM;
    ldns_pkt_set_aa(p, true);
    /* owner as the client wrote it, so a 0x20-randomised query gets its own case back */
    const ldns_rdf *owner = ldns_rr_owner(question_of(q->pkt));
    for (size_t i = 0; i < n; i++) {
        ldns_rr *rr = a_record(owner, addrs[i], ttl);
        if (!rr || !ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr)) {
            ldns_rr_free(rr);
            ldns_pkt_free(p);
            return -ENOMEM;
        }
    }
    return reply_wire(p, ret, ret_len);
}

int dns_reply_truncate(const uint8_t *msg, size_t len, uint8_t **ret, size_t *ret_len)
{
    ldns_pkt *in = NULL;
    if (len < DNS_HEADER_LEN || ldns_wire2pkt(&in, msg, len) != LDNS_STATUS_OK)
        return -EBADMSG;
    const ldns_rr *qrr = question_of(in);
    ldns_pkt *p = ldns_pkt_new();
    ldns_rr *qcopy = qrr ? ldns_rr_clone(qrr) : NULL;
    if (!p || (qrr && !qcopy)) {
        ldns_rr_free(qcopy);
        ldns_pkt_free(p);
        ldns_pkt_free(in);
        return -ENOMEM;
    }
    ldns_pkt_set_id(p, ldns_pkt_id(in));
    ldns_pkt_set_qr(p, true);
    ldns_pkt_set_opcode(p, ldns_pkt_get_opcode(in));
    ldns_pkt_set_aa(p, ldns_pkt_aa(in));
    ldns_pkt_set_rd(p, ldns_pkt_rd(in));
    ldns_pkt_set_ra(p, ldns_pkt_ra(in));
    ldns_pkt_set_ad(p, ldns_pkt_ad(in));
    ldns_pkt_set_cd(p, ldns_pkt_cd(in));
    ldns_pkt_set_rcode(p, ldns_pkt_get_rcode(in));
    ldns_pkt_set_tc(p, true);
    ldns_pkt_free(in);
    if (qcopy && !ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, qcopy)) {
        ldns_rr_free(qcopy);
        ldns_pkt_free(p);
        return -ENOMEM;
    }
    return reply_wire(p, ret, ret_len);
}

bool dns_name_is_internal(const char *name)
{
    static const char zone[] = DNS_INTERNAL_ZONE;
    size_t n = strlen(name), z = sizeof(zone) - 1;
    if (n < z || strcmp(name + n - z, zone) != 0)
        return false;
    return n == z || name[n - z - 1] == '.';
}
