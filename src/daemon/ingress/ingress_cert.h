/* SPDX-License-Identifier: MIT */
/* ingress_cert.h: the ingress proxy's TLS certificate (docs/ingress-ssh.md "Certificates"): an
 * OpenSSL server context built from the operator's PEM chain and key (ingress_tls_cert,
 * ingress_tls_key), or, when none is given, from a self-signed wildcard for the ingress domain
 * made once and kept under <data_dir>/ingress/. The context pointer stays the same for the
 * object's life; a reload swaps the certificate inside it, so a listener keeps using it. */
#pragma once

#include <stdbool.h>

struct event_base;
struct herr;
struct ssl_ctx_st; /* OpenSSL's SSL_CTX */
struct ingress_cert;

struct ingress_cert_cfg {
    const char *cert_file; /* PEM chain, leaf first; NULL or "" → the self-signed wildcard */
    const char *key_file;  /* PEM private key of the leaf; required with cert_file */
    const char *data_dir;  /* the self-signed pair lives in <data_dir>/ingress/ */
    const char *domain;    /* ingress_domain: the wildcard covers *.<domain> and <domain> */
};

/* Self-signed certificates: ECDSA P-256, this many days, made again at start (or by the
 * watch) once fewer than INGRESS_CERT_RENEW_DAYS remain. */
#define INGRESS_CERT_DAYS 397
#define INGRESS_CERT_RENEW_DAYS 30
#define INGRESS_CERT_DIR "ingress"
#define INGRESS_CERT_FILE "tls-cert.pem"
#define INGRESS_KEY_FILE "tls-key.pem"

/* Builds the context. With cert_file: loads the chain and key and checks that they belong
 * together (the error names the file at fault). Without: loads <data_dir>/ingress/tls-*.pem,
 * or generates and writes them (key 0600, each file written atomically) when they are missing,
 * unreadable, for another domain or about to expire. Returns 0 or -errno with err filled
 * (a line for the operator). cfg's strings are copied. */
__attribute__((warn_unused_result))
int ingress_cert_open(const struct ingress_cert_cfg *cfg, struct ingress_cert **ret,
                      struct herr *err);
/* The server context, for http_server_listen_tls(); owned by ic, valid until its free. */
struct ssl_ctx_st *ingress_cert_ctx(const struct ingress_cert *ic);
/* True when the certificate is hearth's self-signed one. */
bool ingress_cert_self_signed(const struct ingress_cert *ic);
/* Checks the files: the operator's pair when one of them changed (mtime, size or inode) since
 * the last load, or the self-signed pair when it is due for renewal. A new pair is loaded
 * and checked in full before it replaces the old one inside the context (new connections get
 * it; open ones keep theirs). Returns 1 when it replaced, 0 when nothing changed, or -errno
 * with err filled and the old certificate still in use. */
int ingress_cert_reload(struct ingress_cert *ic, struct herr *err);
/* Calls ingress_cert_reload() every interval_s seconds on base and logs what it did (how an
 * ACME client's renewal gets picked up without a restart). 0 or -ENOMEM. */
#define INGRESS_CERT_WATCH_S 60
int ingress_cert_watch(struct ingress_cert *ic, struct event_base *base, unsigned interval_s);
/* Frees ic (and stops its watch); listeners keep their own reference on the context. NULL ok. */
void ingress_cert_free(struct ingress_cert *ic);
