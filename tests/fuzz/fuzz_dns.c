/* SPDX-License-Identifier: MIT */
/* fuzz_dns.c: libFuzzer driver for the DNS server's message layer (src/daemon/net/dns_msg.c),
 * which parses whatever sandboxes and upstreams send. Each input is parsed as a query; then the
 * same bytes with QR set as the answer to that query (so the question matches and the CNAME
 * walk runs), and the replies built from it must parse back. A reply of ours that does not
 * parse, or an answer over the address cap, is a bug: abort.
 * Run: make fuzz FUZZ_TARGETS=dns (docs/testing.md "Fuzzing"). */
#include <errno.h>
#include <ldns/ldns.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/net/dns_msg.h"

/* msg must be a reply of ours: it parses, with want_id, as a response. */
static void check_reply(const uint8_t *msg, size_t len, uint16_t want_id, int want_tc)
{
    ldns_pkt *p = NULL;
    if (len < DNS_HEADER_LEN || ldns_wire2pkt(&p, msg, len) != LDNS_STATUS_OK)
        abort();
    if (ldns_pkt_id(p) != want_id || !ldns_pkt_qr(p) || (want_tc && !ldns_pkt_tc(p)))
        abort();
    ldns_pkt_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t addrs[3] = { 0x0a000001, 0x0a000002, 0xffffffff };
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    if (size > 2)
        buf[2] &= 0x7f; /* a query, also when the seed is an answer */
    struct dns_query q;
    int r = dns_query_parse(buf, size, &q);
    uint8_t *out = NULL;
    size_t out_len = 0;
    if (r != -EINVAL && dns_reply_error(&q, DNS_FORMERR, &out, &out_len) == 0) {
        check_reply(out, out_len, q.id, 0);
        free(out);
    }
    if (r == 0) {
        if (!q.name || !q.pkt || q.udp_size < DNS_UDP_MIN || q.udp_size > DNS_UDP_MAX)
            abort();
        (void)dns_name_is_internal(q.name);
        if (dns_reply_local(&q, DNS_NOERROR, addrs, 3, 60, &out, &out_len) == 0) {
            check_reply(out, out_len, q.id, 0);
            free(out);
        }
        /* the input itself as an answer to the query it carries */
        buf[2] |= 0x80;
        struct dns_answer a;
        if (dns_answer_parse(buf, size, &q, &a) == 0) {
            if (a.n_addrs > DNS_ANSWER_MAX_ADDRS || (a.n_addrs == 0 && a.ttl != 0))
                abort();
            if (dns_reply_truncate(buf, size, &out, &out_len) == 0) {
                check_reply(out, out_len, q.id, 1);
                free(out);
            } else {
                abort(); /* an accepted answer must truncate */
            }
        }
    }
    /* the raw bytes as an answer, and truncated, whatever they are */
    if (dns_reply_truncate(data, size, &out, &out_len) == 0)
        free(out);
    dns_query_release(&q);
    free(buf);
    return 0;
}
