/* SPDX-License-Identifier: MIT */
/* fuzz_ingress_host.c: libFuzzer target for the ingress Host parser
 * (src/daemon/ingress/host_route.c): arbitrary bytes as a Host header against a fixed domain
 * and against a domain taken from the input. Checks the invariants: an accepted host gives a
 * port in 1..65535 and a non-empty lower-case ref of [a-z0-9-] that does not start or end
 * with '-', and a name agrees with itself as SNI and Host. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/ingress/host_route.h"

static void check(const struct ingress_host *h)
{
    size_t n = strlen(h->ref);
    if (h->port == 0 || n == 0 || n > INGRESS_REF_MAX || h->ref[0] == '-' || h->ref[n - 1] == '-')
        abort();
    for (size_t i = 0; i < n; i++) {
        char c = h->ref[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ingress_host h;
    if (ingress_host_parse((const char *)data, size, "localhost", &h) == 0)
        check(&h);
    /* the first byte splits the rest into a domain and a host */
    if (size > 1) {
        size_t cut = 1 + data[0] % (size - 1);
        char domain[300];
        size_t dl = cut - 1 < sizeof(domain) - 1 ? cut - 1 : sizeof(domain) - 1;
        memcpy(domain, data + 1, dl);
        domain[dl] = '\0';
        if (ingress_host_parse((const char *)data + cut, size - cut, domain, &h) == 0)
            check(&h);
        char sni[300];
        size_t sl = size - cut < sizeof(sni) - 1 ? size - cut : sizeof(sni) - 1;
        memcpy(sni, data + cut, sl);
        sni[sl] = '\0';
        sl = strlen(sni);
        /* a name always agrees with itself, unless a ':' cuts the Host side */
        if (sl > 0 && !memchr(sni, ':', sl) && strcmp(sni, ".") && !ingress_host_same(sni, sni, sl))
            abort();
    }
    return 0;
}
