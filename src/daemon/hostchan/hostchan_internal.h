/* SPDX-License-Identifier: MIT */
/* hostchan_internal.h: what the files of the host channel share (tls.c: the object and its
 * TLS contexts; forward.c: one forwarded exchange; pipe.c: an upgraded connection). */
#pragma once

#include <openssl/ssl.h>

#include "daemon/hostchan/hostchan.h"
#include "daemon/hostchan/pki.h"

struct fwd;
struct bufferevent;

struct hostchan {
    struct event_base *base;
    SSL_CTX *server_ctx;
    SSL_CTX *client_ctx;
    char host_id[HOSTCHAN_ID_MAX + 1];
    unsigned connect_timeout_ms;
    unsigned first_byte_timeout_ms;
    int (*reply_error)(struct http_request *req, int status, const char *msg, const char *code);
    struct fwd *fwds;           /* exchanges in flight */
    unsigned nfwds;
    struct hc_pipe *pipes;      /* upgraded connections */
};

/* forward.c */
void fwd_close_all(struct hostchan *hc);

/* pipe.c: bytes both ways between the client's connection a and the peer's b, both owned from
 * now on; freed when either side ends and what it sent was written to the other. */
struct hc_pipe;
int hc_pipe_start(struct hostchan *hc, struct bufferevent *a, struct bufferevent *b);
void hc_pipe_close_all(struct hostchan *hc);
