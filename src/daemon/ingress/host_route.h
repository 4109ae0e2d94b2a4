/* SPDX-License-Identifier: MIT */
/* host_route.h: which sandbox port an ingress request is for (docs/ingress-ssh.md "Ingress
 * proxy"). The Host header (and, over TLS, the SNI name) reads `<port>-<ref>.<domain>[:port]`,
 * the form of SandboxView.ingress_url_template (docs/api.md §2.1): ref is a sandbox id in any
 * case or a sandbox's hostname (common/sbname.h). Pure parsing: no I/O, no allocation. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INGRESS_REF_MAX 63 /* one DNS label after "<port>-" */

struct ingress_host {
    uint16_t port;                 /* the guest port, 1..65535 */
    char ref[INGRESS_REF_MAX + 1]; /* lower case: "sb-01h…" or a hostname */
};

/* Parses host[0..len) (a Host header value or an SNI name) against domain (the configured
 * ingress_domain, compared case-insensitively; a trailing dot on host is allowed). Returns 0
 * with *ret; -EINVAL when the value is malformed or the port is outside 1–65535 (answer 400);
 * -EDOM when it is well formed but not one label under domain (answer 400 too, a different
 * message). */
__attribute__((warn_unused_result))
int ingress_host_parse(const char *host, size_t len, const char *domain,
                       struct ingress_host *ret);

/* True when a TLS SNI name and a Host header name the same host: equal ignoring case, a
 * trailing dot and the Host's port. */
bool ingress_host_same(const char *sni, const char *host, size_t host_len);
