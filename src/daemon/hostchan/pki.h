/* SPDX-License-Identifier: MIT */
/* pki.h: the host channel's certificates (docs/scale-out.md "Host channel"). One CA per fleet
 * (`hearthd ca init DIR`: ca.key, ca.crt, ECDSA P-256, self-signed) signs one certificate per
 * host (`hearthd cert issue`: host.key, host.crt) whose subject CN and SAN (DNS and URI
 * hearth-host:ID) carry the host id; it is both a TLS server and client certificate. At start a
 * host checks its files (hostchan_pki_check) so a mistake is a clear error, not a failed
 * handshake later. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/herr.h"

struct x509_st;

#define HOSTCHAN_CA_KEY "ca.key"
#define HOSTCHAN_CA_CERT "ca.crt"
#define HOSTCHAN_HOST_KEY "host.key"
#define HOSTCHAN_HOST_CERT "host.crt"
#define HOSTCHAN_ID_MAX 63
#define HOSTCHAN_MAX_NAMES 16

/* True when id is a valid host id: 1-63 of [A-Za-z0-9._-], starting alphanumeric (the
 * config's host_id rule). */
bool hostchan_id_ok(const char *id);

/* Writes DIR/ca.key (0600) and DIR/ca.crt (a CA valid `days` days). DIR is created (0700) when
 * missing; existing files are an error unless force. 0 or -errno with e set. */
int hostchan_ca_init(const char *dir, unsigned days, bool force, struct herr *e);

struct hostchan_issue {
    const char *ca_dir;           /* holds ca.key and ca.crt */
    const char *host_id;
    const char *out_dir;          /* gets host.key (0600), host.crt and a copy of ca.crt */
    const char *ips[HOSTCHAN_MAX_NAMES];   /* extra IP SANs */
    size_t n_ips;
    const char *dns[HOSTCHAN_MAX_NAMES];   /* extra DNS SANs */
    size_t n_dns;
    unsigned days;
    bool force;
};
/* Issues a host certificate. 0 or -errno with e set. */
int hostchan_cert_issue(const struct hostchan_issue *in, struct herr *e);

/* The host id a certificate names (its subject CN, which must also be a SAN), into out; 0, or
 * -EINVAL when it names none or they disagree. */
int hostchan_cert_host_id(struct x509_st *x, char *out, size_t out_size);

/* Checks a host's channel files: all readable PEM, the key matches the certificate, the
 * certificate is signed by the CA and valid now, and it names host_id (NULL: any). 0 or
 * -errno with e set (the message names the file and the problem). */
int hostchan_pki_check(const char *ca_file, const char *cert_file, const char *key_file,
                       const char *host_id, struct herr *e);
