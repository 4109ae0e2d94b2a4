/* SPDX-License-Identifier: MIT */
/* hcfx.h: the fixture of the host channel's API tests (test_hostchan.c, test_hostchan_vm.c):
 * certificates made with `hearthd ca init` / `hearthd cert issue` in a temp dir (the fleet's CA
 * with host-a and host-b, and a foreign CA with its own host-a), the config lines that give a
 * hearthd its channel (host_listen on a free loopback port, host_address pointing at it, its
 * host_tls_* files), and a small blocking TLS client that speaks to a channel with a chosen
 * client certificate (or none). Header-only: static helpers for the two tests. */
#pragma once

#include "apitest.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

struct hcfx_pki {
    char dir[64];       /* ca/, ca2/, host-a/, host-b/, evil-a/ */
};

static bool hcfx_run(const char *const *argv)
{
    char out[1024], err[1024];
    int rc = hd_run(argv, out, sizeof(out), err, sizeof(err));
    if (rc != 0)
        harness_fail(__FILE__, __LINE__, "hearthd %s %s: exit %d: %s", argv[0], argv[1], rc, err);
    return rc == 0;
}

static bool hcfx_issue(struct hcfx_pki *p, const char *ca, const char *host, const char *out)
{
    char cad[128], outd[128];
    snprintf(cad, sizeof(cad), "%s/%s", p->dir, ca);
    snprintf(outd, sizeof(outd), "%s/%s", p->dir, out);
    const char *argv[] = { "cert", "issue", "--ca", cad, "--host", host, "--out", outd,
                           "--ip", "127.0.0.1", NULL };
    return hcfx_run(argv);
}

static bool hcfx_pki_make(struct hcfx_pki *p)
{
    snprintf(p->dir, sizeof(p->dir), "/tmp/hearth-hc-XXXXXX");
    REQUIRE(mkdtemp(p->dir));
    char d[128];
    snprintf(d, sizeof(d), "%s/ca", p->dir);
    const char *a1[] = { "ca", "init", d, NULL };
    REQUIRE(hcfx_run(a1));
    snprintf(d, sizeof(d), "%s/ca2", p->dir);
    const char *a2[] = { "ca", "init", d, NULL };
    REQUIRE(hcfx_run(a2));
    REQUIRE(hcfx_issue(p, "ca", "host-a", "host-a"));
    REQUIRE(hcfx_issue(p, "ca", "host-b", "host-b"));
    REQUIRE(hcfx_issue(p, "ca2", "host-a", "evil-a")); /* the right name, the wrong CA */
    return true;
}

static void hcfx_pki_free(struct hcfx_pki *p)
{
    char cmd[128];
    if (!p->dir[0])
        return;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", p->dir);
}

/* A loopback port free now (bound to 0, read back, closed). */
static uint16_t hcfx_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    uint16_t port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* The channel's config lines for host id listening on port with the files of dir name. */
static void hcfx_conf(const struct hcfx_pki *p, const char *name, uint16_t port, char *out,
                      size_t size)
{
    snprintf(out, size,
             "host_listen = 127.0.0.1:%u\nhost_address = 127.0.0.1:%u\n"
             "host_tls_ca = %s/%s/ca.crt\nhost_tls_cert = %s/%s/host.crt\n"
             "host_tls_key = %s/%s/host.key\nhost_heartbeat_s = 1\nhost_dead_after_s = 4\n",
             port, port, p->dir, name, p->dir, name, p->dir, name);
}

/* One request over TLS to 127.0.0.1:port, presenting the client certificate of dir name (NULL:
 * none), trusting the fleet's CA. The answer (until the server closes) in out. Returns the
 * HTTP status, or -1 when the handshake or the exchange was refused (no answer). */
__attribute__((unused)) static int hcfx_tls_request(const struct hcfx_pki *p, uint16_t port, const char *name,
                            const char *request, char *out, size_t size)
{
    char ca[160], crt[160], key[160];
    snprintf(ca, sizeof(ca), "%s/ca/ca.crt", p->dir);
    snprintf(crt, sizeof(crt), "%s/%s/host.crt", p->dir, name ? name : "");
    snprintf(key, sizeof(key), "%s/%s/host.key", p->dir, name ? name : "");
    out[0] = '\0';
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx)
        return -1;
    SSL_CTX_load_verify_locations(ctx, ca, NULL);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (name && (SSL_CTX_use_certificate_file(ctx, crt, SSL_FILETYPE_PEM) != 1 ||
                 SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)) {
        SSL_CTX_free(ctx);
        return -1;
    }
    int fd = connect_local(port);
    SSL *ssl = fd >= 0 ? SSL_new(ctx) : NULL;
    int status = -1;
    size_t got = 0;
    if (ssl && SSL_set_fd(ssl, fd) == 1 && SSL_connect(ssl) == 1 &&
        SSL_write(ssl, request, (int)strlen(request)) > 0) {
        int n;
        while (got + 1 < size && (n = SSL_read(ssl, out + got, (int)(size - 1 - got))) > 0)
            got += (size_t)n;
        out[got] = '\0';
        if (got > 12 && strncmp(out, "HTTP/1.1 ", 9) == 0)
            status = atoi(out + 9);
    }
    ERR_clear_error();
    if (ssl)
        SSL_free(ssl);
    if (fd >= 0)
        close(fd);
    SSL_CTX_free(ctx);
    return status;
}
