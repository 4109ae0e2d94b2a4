/* SPDX-License-Identifier: MIT */
/* hostchan.h: the authenticated host-to-host channel (docs/scale-out.md "Host channel"). Each
 * host may listen (host_listen) for mutual-TLS connections from other hosts and serve them the
 * API router with the caller's identity forwarded in headers (ident.h); each host forwards a
 * request for a sandbox another host runs to that host's channel (forward.c) and streams the
 * answer back, Upgrade included. Both sides use one certificate (pki.h) from the fleet's CA:
 * TLS 1.3 only, a peer certificate required and chained to the CA, the server's host id
 * checked against the host the store says runs the sandbox. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/herr.h"

struct event_base;
struct http_request;
struct ssl_ctx_st;
struct hostchan_ident;

struct hostchan_config {
    const char *ca_file, *cert_file, *key_file;
    const char *host_id;                /* this host: its certificate must name it */
    unsigned connect_timeout_ms;        /* TCP + TLS handshake to a peer (0: 5 s) */
    unsigned first_byte_timeout_ms;     /* request sent → response head begins (0: 330 s) */
    /* how the forwarder answers its own errors (the API's envelope: jsend_reply_error) */
    int (*reply_error)(struct http_request *req, int status, const char *msg, const char *code);
};

struct hostchan;

/* Checks the files (pki.h hostchan_pki_check) and builds the server and client TLS contexts.
 * 0 with *ret, or -errno with e set. */
int hostchan_new(struct event_base *base, const struct hostchan_config *cfg,
                 struct hostchan **ret, struct herr *e);
/* The context for http_server_listen_tls of the channel listener (borrowed). */
struct ssl_ctx_st *hostchan_server_ctx(struct hostchan *hc);
/* Closes every forwarded exchange still open (their clients' connections close) and frees. */
void hostchan_free(struct hostchan *hc);

/* Forwards req (the public API's request; the forwarder takes its own reference) as caller who
 * to the channel of host_id at address (HOST:PORT), and streams the answer back to req's
 * client: status, headers, body (sized or chunked), or after a 101 bytes both ways. A peer that
 * cannot be reached, fails the handshake, presents a certificate of another host, or does not
 * begin to answer in time gets the client a 503 unavailable with Retry-After. */
void hostchan_forward(struct hostchan *hc, struct http_request *req,
                      const struct hostchan_ident *who, const char *host_id,
                      const char *address);
/* Forwarded exchanges in flight (tests, metrics). */
unsigned hostchan_inflight(const struct hostchan *hc);
