/* SPDX-License-Identifier: MIT */
/* tls.c: the host channel object and its two TLS contexts (hostchan.h). Both load the same
 * certificate and key and trust only the fleet's CA (not the system's roots): TLS 1.3 only,
 * verify depth 1 (host certificate → CA), no renegotiation, no session tickets. The server
 * context requires a client certificate (purpose TLS client); the client context requires the
 * server's (purpose TLS server), whose host id forward.c then compares to the expected one. */
#include "daemon/hostchan/hostchan_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

static SSL_CTX *make_ctx(const struct hostchan_config *cfg, bool server, struct herr *e)
{
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!ctx) {
        herr_set(e, -ENOMEM, "out of memory");
        return NULL;
    }
    int mode = SSL_VERIFY_PEER | (server ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
    bool ok = SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) == 1 &&
              SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) == 1 &&
              SSL_CTX_use_PrivateKey_file(ctx, cfg->key_file, SSL_FILETYPE_PEM) == 1 &&
              SSL_CTX_check_private_key(ctx) == 1 &&
              SSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL) == 1 &&
              SSL_CTX_set_purpose(ctx, server ? X509_PURPOSE_SSL_CLIENT
                                              : X509_PURPOSE_SSL_SERVER) == 1;
    if (ok && server) {
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(cfg->ca_file);
        ok = names != NULL;
        if (ok)
            SSL_CTX_set_client_CA_list(ctx, names);
    }
    if (!ok) {
        unsigned long err = ERR_get_error();
        char buf[256];
        ERR_error_string_n(err, buf, sizeof(buf));
        ERR_clear_error();
        SSL_CTX_free(ctx);
        herr_set(e, -EINVAL, "cannot set up the host channel's TLS: %s", buf);
        return NULL;
    }
    SSL_CTX_set_verify(ctx, mode, NULL);
    SSL_CTX_set_verify_depth(ctx, 1);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    return ctx;
}

int hostchan_new(struct event_base *base, const struct hostchan_config *cfg,
                 struct hostchan **ret, struct herr *e)
{
    *ret = NULL;
    if (!cfg->ca_file || !cfg->ca_file[0] || !cfg->cert_file || !cfg->cert_file[0] ||
        !cfg->key_file || !cfg->key_file[0])
        return herr_set(e, -EINVAL, "host_tls_ca, host_tls_cert and host_tls_key are all "
                        "required for the host channel (make them with 'hearthd ca init' and "
                        "'hearthd cert issue')");
    int r = hostchan_pki_check(cfg->ca_file, cfg->cert_file, cfg->key_file, cfg->host_id, e);
    if (r < 0)
        return r;
    struct hostchan *hc = calloc(1, sizeof(*hc));
    if (!hc)
        return herr_set(e, -ENOMEM, "out of memory");
    hc->base = base;
    snprintf(hc->host_id, sizeof(hc->host_id), "%s", cfg->host_id ? cfg->host_id : "");
    hc->connect_timeout_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : 5000;
    hc->first_byte_timeout_ms = cfg->first_byte_timeout_ms ? cfg->first_byte_timeout_ms
                                                           : 330000;
    hc->reply_error = cfg->reply_error;
    hc->server_ctx = make_ctx(cfg, true, e);
    hc->client_ctx = hc->server_ctx ? make_ctx(cfg, false, e) : NULL;
    if (!hc->client_ctx) {
        hostchan_free(hc);
        return e && e->code ? e->code : -EINVAL;
    }
    *ret = hc;
    return 0;
}

struct ssl_ctx_st *hostchan_server_ctx(struct hostchan *hc)
{
    return hc->server_ctx;
}

unsigned hostchan_inflight(const struct hostchan *hc)
{
    return hc ? hc->nfwds : 0;
}

void hostchan_free(struct hostchan *hc)
{
    if (!hc)
        return;
    fwd_close_all(hc);
    hc_pipe_close_all(hc);
    SSL_CTX_free(hc->server_ctx);
    SSL_CTX_free(hc->client_ctx);
    free(hc);
}
