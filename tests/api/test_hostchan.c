/* SPDX-License-Identifier: MIT */
/* test_hostchan.c: the host channel between two real hearthds (host-a, host-b) on one store,
 * without VMs (fake images; the VM flow is test_hostchan_vm.c). Certificates come from
 * `hearthd ca init` / `hearthd cert issue`. A request to A for a sandbox whose row names host-b
 * is served by B (X-Hearth-Host) with the caller's identity; the channel refuses a client
 * without a certificate or with one of another CA at the handshake, and malformed, repeated,
 * unknown or oversized forwarded headers with 400; forged forwarded headers on the public port
 * do nothing; a peer whose valid certificate is for another host than the row's is refused by
 * the forwarder (503); a sandbox on an unregistered host is 503 except its plain read; kill -9
 * of B → A answers 503 at once, and after B is marked dead, still 503 with the reason. And
 * against a fake peer (a TLS server in the test holding host-f's certificate): a chunked
 * request body goes up re-chunked, a chunked NDJSON answer comes down as it is written, the
 * caller's credential and forged identity headers never reach the peer, and an Upgrade becomes
 * a pipe (the peer's early bytes, the client's, half-close both ways). */
#include "hcfx.h"

#include <signal.h>
#include <sys/wait.h>

#include "common/mono.h"
#include "common/timefmt.h"
#include "daemon/store/apikey.h"
#include "daemon/store/ids.h"
#include "daemon/store/store.h"

/* A GET over the channel as alice's key key_id with extra header lines. */
static int chan_get(const struct hcfx_pki *p, uint16_t port, const char *cert,
                    const char *target, const char *headers, char *out, size_t size)
{
    char req[8192];
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n%s\r\n",
             target, headers);
    return hcfx_tls_request(p, port, cert, req, out, size);
}

TEST_SLOW(channel_forwards_and_refuses, 180)
{
    struct hcfx_pki p = { { 0 } };
    CHECK(hcfx_pki_make(&p));
    uint16_t pa = hcfx_free_port(), pb = hcfx_free_port();
    CHECK(pa && pb && pa != pb);
    char conf[2048];
    struct hd_server a, b;
    CHECK(hd_prepare(&a, NULL, true));
    hcfx_conf(&p, "host-a", pa, conf, sizeof(conf));
    CHECK(hd_reconfigure(&a, "host-a", NULL, conf));
    CHECK(hd_start(&a));
    CHECK(hd_prepare(&b, NULL, true));
    hcfx_conf(&p, "host-b", pb, conf, sizeof(conf));
    CHECK(hd_reconfigure(&b, "host-b", a.store, conf));
    CHECK(hd_start(&b));

    char err[256];
    struct store *st = NULL;
    CHECK(store_open(a.store, &st, err, sizeof(err)) == 0);
    struct store_key ka, kb;
    char sa[APIKEY_LEN + 1], sbk[APIKEY_LEN + 1];
    CHECK(store_key_create(st, "alice", "t", false, timefmt_now_ms(), &ka, sa) == 0);
    CHECK(store_key_create(st, "bob", "t", false, timefmt_now_ms(), &kb, sbk) == 0);
    char alice[128], bob[128];
    snprintf(alice, sizeof(alice), "X-Api-Key: %s\r\n", sa);
    snprintf(bob, sizeof(bob), "X-Api-Key: %s\r\n", sbk);
    char on_b[STORE_ID_SIZE], on_y[STORE_ID_SIZE], on_z[STORE_ID_SIZE];
    CHECK(hd_add_row_on_host(st, ka.id, "host-b", STORE_RUNNING, on_b));
    CHECK(hd_add_row_on_host(st, ka.id, "host-y", STORE_RUNNING, on_y));
    CHECK(hd_add_row_on_host(st, ka.id, "host-z", STORE_RUNNING, on_z));
    char t[256], hv[64];
    struct hresp r;

    /* a row on host-b, asked of A: B answers, as alice */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", on_b);
    CHECK(http_do(a.port, "GET", t, alice, NULL, &r) == 0);
    CHECK_EQ(r.status, 200);
    CHECK_STR(jstr(r.json, "data.id"), on_b);
    CHECK(hresp_header(&r, "X-Hearth-Host", hv, sizeof(hv)));
    CHECK_STR(hv, "host-b");
    hresp_free(&r);
    /* a route with a path below the sandbox, forwarded too */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/events", on_b);
    CHECK(http_do(a.port, "GET", t, alice, NULL, &r) == 0);
    CHECK_EQ(r.status, 200);
    CHECK(hresp_header(&r, "X-Hearth-Host", hv, sizeof(hv)));
    hresp_free(&r);
    /* bob does not own it: 404, wherever it runs */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", on_b);
    CHECK_EQ(http_status(a.port, "GET", t, bob, NULL), 404);

    /* forged forwarded headers on the public port do nothing */
    const char *forged = "X-Hearth-Forwarded-User: admin\r\nX-Hearth-Forwarded-Admin: 1\r\n"
                         "X-Hearth-Forwarded-Key-Id: key_01HZZZZZZZZZZZZZZZZZZZZZZZ\r\n";
    CHECK_EQ(http_status(a.port, "GET", "/v1/sandboxes", forged, NULL), 401);
    char both[512];
    snprintf(both, sizeof(both), "%s%s", bob, forged);
    CHECK_EQ(http_status(a.port, "GET", "/v1/hosts", both, NULL), 403);
    CHECK_EQ(http_status(a.port, "GET", t, both, NULL), 404); /* still bob */

    /* the channel itself */
    char out[16384], h[1024];
    snprintf(h, sizeof(h), "X-Hearth-Forwarded-User: alice\r\nX-Hearth-Forwarded-Key-Id: %s\r\n"
             "X-Hearth-Forwarded-Admin: 0\r\n", ka.id);
    CHECK_EQ(chan_get(&p, pb, "host-a", t, h, out, sizeof(out)), 200);
    CHECK(strstr(out, on_b));
    CHECK_EQ(chan_get(&p, pb, NULL, t, h, out, sizeof(out)), -1);     /* no client cert */
    CHECK_EQ(chan_get(&p, pb, "evil-a", t, h, out, sizeof(out)), -1); /* another CA */
    CHECK_EQ(chan_get(&p, pb, "host-a", t, "", out, sizeof(out)), 400);
    CHECK_EQ(chan_get(&p, pb, "host-a", t, "X-Hearth-Forwarded-User: Alice!\r\n", out,
                      sizeof(out)), 400);
    char big[1024];
    memset(big, 'a', 300);
    big[300] = '\0';
    char hb[1200];
    snprintf(hb, sizeof(hb), "X-Hearth-Forwarded-User: %s\r\nX-Hearth-Forwarded-Key-Id: %s\r\n",
             big, ka.id);
    CHECK_EQ(chan_get(&p, pb, "host-a", t, hb, out, sizeof(out)), 400);
    snprintf(hb, sizeof(hb), "%sX-Hearth-Forwarded-User: bob\r\n", h);
    CHECK_EQ(chan_get(&p, pb, "host-a", t, hb, out, sizeof(out)), 400); /* repeated */
    snprintf(hb, sizeof(hb), "%sX-Hearth-Forwarded-Role: root\r\n", h);
    CHECK_EQ(chan_get(&p, pb, "host-a", t, hb, out, sizeof(out)), 400); /* unknown */
    snprintf(hb, sizeof(hb), "X-Hearth-Forwarded-User: alice\r\nX-Hearth-Forwarded-Key-Id: %s\r\n"
             "X-Hearth-Forwarded-Admin: yes\r\n", ka.id);
    CHECK_EQ(chan_get(&p, pb, "host-a", t, hb, out, sizeof(out)), 400);
    /* a token's identity opens its sandbox only */
    snprintf(hb, sizeof(hb), "X-Hearth-Forwarded-User: alice\r\n"
             "X-Hearth-Forwarded-Sandbox: %s\r\n", on_b);
    CHECK_EQ(chan_get(&p, pb, "host-a", t, hb, out, sizeof(out)), 200);
    CHECK_EQ(chan_get(&p, pb, "host-a", "/v1/sandboxes", hb, out, sizeof(out)), 403);
    /* the channel never forwards again: a sandbox of another host is 421 there */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/events", on_y);
    CHECK_EQ(chan_get(&p, pb, "host-a", t, h, out, sizeof(out)), 421);

    /* host-y is registered at B's address: B's valid certificate is for host-b → refused */
    struct store_host hy;
    memset(&hy, 0, sizeof(hy));
    snprintf(hy.id, sizeof(hy.id), "host-y");
    snprintf(hy.region, sizeof(hy.region), "local");
    snprintf(hy.address, sizeof(hy.address), "127.0.0.1:%u", pb);
    snprintf(hy.version, sizeof(hy.version), "test");
    hy.mem_mib = hy.free_mib = 1024;
    hy.vcpus = 2;
    hy.started_at = hy.heartbeat_at = timefmt_now_ms();
    CHECK(store_host_report(st, &hy) == 0);
    CHECK(http_do(a.port, "GET", t, alice, NULL, &r) == 0);
    CHECK_EQ(r.status, 503);
    CHECK(strstr(r.body, "certificate is for host host-b"));
    CHECK(hresp_header(&r, "Retry-After", hv, sizeof(hv)));
    hresp_free(&r);

    /* an unregistered host: 503 with the reason; the plain read is the row */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/processes", on_z);
    CHECK(http_do(a.port, "GET", t, alice, NULL, &r) == 0);
    CHECK_EQ(r.status, 503);
    CHECK(strstr(r.body, "not registered"));
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", on_z);
    CHECK_EQ(http_status(a.port, "GET", t, alice, NULL), 200);

    /* B dies: A answers 503 at once (refused), then with the registry's reason */
    kill(b.pid, SIGKILL);
    waitpid(b.pid, NULL, 0);
    b.pid = -1;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/processes", on_b);
    uint64_t t0 = mono_now_us();
    CHECK(http_do(a.port, "GET", t, alice, NULL, &r) == 0);
    CHECK_EQ(r.status, 503);
    CHECK(strstr(r.body, "cannot be reached"));
    hresp_free(&r);
    CHECK(mono_now_us() - t0 < 6 * 1000000ull);
    bool dead = false;
    for (int i = 0; i < 100 && !dead; i++) {
        usleep(100 * 1000);
        CHECK(http_do(a.port, "GET", t, alice, NULL, &r) == 0);
        dead = r.status == 503 && strstr(r.body, "stopped reporting");
        hresp_free(&r);
    }
    CHECK(dead);
    store_close(st);
    hd_cleanup(&b);
    hd_cleanup(&a);
    hcfx_pki_free(&p);
}

/* ---- a fake peer host: a TLS server in this process holding host-f's certificate ---- */

#include <pthread.h>

struct fake_peer {
    const struct hcfx_pki *p;
    int lfd;
    uint16_t port;
    char head[8192];   /* the last request head it got */
    char body[8192];   /* … and its body, de-chunked */
    size_t body_len;
};

static size_t ssl_read_until(SSL *ssl, char *buf, size_t max, const char *end)
{
    size_t got = 0;
    while (got + 1 < max) {
        int n = SSL_read(ssl, buf + got, 1);
        if (n <= 0)
            break;
        got++;
        buf[got] = '\0';
        if (strstr(buf, end))
            break;
    }
    buf[got] = '\0';
    return got;
}

/* A chunked body into fp->body. */
static void read_chunked(SSL *ssl, struct fake_peer *fp)
{
    for (;;) {
        char line[64];
        ssl_read_until(ssl, line, sizeof(line), "\r\n");
        size_t n = strtoul(line, NULL, 16);
        if (n == 0) {
            ssl_read_until(ssl, line, sizeof(line), "\r\n");
            return;
        }
        for (size_t i = 0; i < n; i++) {
            char c;
            if (SSL_read(ssl, &c, 1) != 1)
                return;
            if (fp->body_len + 1 < sizeof(fp->body))
                fp->body[fp->body_len++] = c;
        }
        ssl_read_until(ssl, line, sizeof(line), "\r\n");
    }
}

static void serve_one(struct fake_peer *fp, SSL *ssl)
{
    ssl_read_until(ssl, fp->head, sizeof(fp->head), "\r\n\r\n");
    fp->body_len = 0;
    if (strcasestr(fp->head, "Transfer-Encoding: chunked"))
        read_chunked(ssl, fp);
    fp->body[fp->body_len] = '\0';
    if (strstr(fp->head, "/tunnel/")) {
        const char *up = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                         "Upgrade: tcp-tunnel\r\nX-Peer: f\r\n\r\nhello|";
        SSL_write(ssl, up, (int)strlen(up));
        char buf[256];
        int n;
        while ((n = SSL_read(ssl, buf, sizeof(buf))) > 0) /* echo until the client's EOF */
            SSL_write(ssl, buf, n);
        return;
    }
    /* a chunked NDJSON answer in three writes, the body's length in the last line */
    char last[128];
    snprintf(last, sizeof(last), "{\"got\":%zu}\n", fp->body_len);
    char msg[512];
    snprintf(msg, sizeof(msg), "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
             "Transfer-Encoding: chunked\r\nX-Peer: f\r\n\r\n"
             "a\r\n{\"one\":1}\n\r\na\r\n{\"two\":2}\n\r\n%zx\r\n%s\r\n0\r\n\r\n",
             strlen(last), last);
    SSL_write(ssl, msg, (int)strlen(msg));
}

static void *fake_peer_run(void *ud)
{
    struct fake_peer *fp = ud;
    char ca[160], crt[160], key[160];
    snprintf(ca, sizeof(ca), "%s/ca/ca.crt", fp->p->dir);
    snprintf(crt, sizeof(crt), "%s/host-f/host.crt", fp->p->dir);
    snprintf(key, sizeof(key), "%s/host-f/host.key", fp->p->dir);
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate_file(ctx, crt, SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM);
    SSL_CTX_load_verify_locations(ctx, ca, NULL);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    for (int i = 0; i < 2; i++) { /* the two exchanges of the test, then done */
        int fd = accept(fp->lfd, NULL, NULL);
        if (fd < 0)
            break;
        struct timeval tv = { .tv_sec = 20 };
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        SSL *ssl = SSL_new(ctx);
        SSL_set_fd(ssl, fd);
        if (SSL_accept(ssl) == 1)
            serve_one(fp, ssl);
        SSL_shutdown(ssl);
        SSL_free(ssl);
        close(fd);
    }
    SSL_CTX_free(ctx);
    return NULL;
}

TEST_SLOW(channel_streams_bodies_and_upgrades, 120)
{
    struct hcfx_pki p = { { 0 } };
    CHECK(hcfx_pki_make(&p));
    CHECK(hcfx_issue(&p, "ca", "host-f", "host-f"));
    struct fake_peer fp = { .p = &p };
    fp.lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof(sa);
    CHECK(bind(fp.lfd, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(fp.lfd, 4) == 0 &&
          getsockname(fp.lfd, (struct sockaddr *)&sa, &sl) == 0);
    fp.port = ntohs(sa.sin_port);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, fake_peer_run, &fp) == 0);

    uint16_t pa = hcfx_free_port();
    char conf[2048];
    struct hd_server a;
    CHECK(hd_prepare(&a, NULL, true));
    hcfx_conf(&p, "host-a", pa, conf, sizeof(conf));
    CHECK(hd_reconfigure(&a, "host-a", NULL, conf));
    CHECK(hd_start(&a));
    char err[256];
    struct store *st = NULL;
    CHECK(store_open(a.store, &st, err, sizeof(err)) == 0);
    struct store_key ka;
    char sa_key[APIKEY_LEN + 1];
    CHECK(store_key_create(st, "alice", "t", false, timefmt_now_ms(), &ka, sa_key) == 0);
    char id[STORE_ID_SIZE];
    CHECK(hd_add_row_on_host(st, ka.id, "host-f", STORE_RUNNING, id));
    struct store_host hf;
    memset(&hf, 0, sizeof(hf));
    snprintf(hf.id, sizeof(hf.id), "host-f");
    snprintf(hf.region, sizeof(hf.region), "local");
    snprintf(hf.address, sizeof(hf.address), "127.0.0.1:%u", fp.port);
    snprintf(hf.version, sizeof(hf.version), "test");
    hf.mem_mib = hf.free_mib = 1024;
    hf.vcpus = 2;
    hf.started_at = hf.heartbeat_at = timefmt_now_ms();
    CHECK(store_host_report(st, &hf) == 0);

    /* a chunked request body up, a chunked NDJSON answer down; credentials and forged
     * identities never reach the peer */
    char req[2048];
    int n = snprintf(req, sizeof(req),
                     "POST /v1/sandboxes/%s/exec?api_key=secret&stream=true HTTP/1.1\r\n"
                     "Host: x\r\n"
                     "X-Api-Key: %s\r\nX-Hearth-Forwarded-User: mallory\r\n"
                     "X-Hearth-Forwarded-Admin: 1\r\nConnection: close\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
                     id, sa_key);
    struct hresp r;
    CHECK(http_raw(a.port, req, (size_t)n, &r, false) == 0);
    CHECK_EQ(r.status, 200);
    /* (http_raw leaves the chunk framing in the body) */
    char *c1 = strstr(r.body, "{\"one\":1}\n"), *c2 = strstr(r.body, "{\"two\":2}\n");
    char *c3 = strstr(r.body, "{\"got\":11}\n");
    CHECK(c1 && c2 && c3 && c1 < c2 && c2 < c3);
    CHECK(strcasestr(r.head, "Transfer-Encoding: chunked") != NULL);
    CHECK(strcasestr(r.head, "Content-Type: application/x-ndjson") != NULL);
    char hv[64];
    CHECK(hresp_header(&r, "X-Peer", hv, sizeof(hv)));
    CHECK(hresp_header(&r, "X-Hearth-Host", hv, sizeof(hv)));
    CHECK_STR(hv, "host-f");
    hresp_free(&r);
    CHECK_STR(fp.body, "hello world");
    CHECK(strstr(fp.head, "X-Hearth-Forwarded-User: alice\r\n") != NULL);
    CHECK(strstr(fp.head, "X-Hearth-Forwarded-Admin: 0\r\n") != NULL);
    CHECK(strstr(fp.head, "mallory") == NULL);
    CHECK(strcasestr(fp.head, "X-Api-Key") == NULL);
    CHECK(strstr(fp.head, sa_key) == NULL);
    /* the query's credential stays here too; the rest of the query goes */
    CHECK(strstr(fp.head, "/exec?stream=true HTTP/1.1\r\n") != NULL);
    CHECK(strstr(fp.head, "secret") == NULL);

    /* an Upgrade: the peer's 101 and early bytes, then an echo, half-close both ways */
    int fd = connect_local(a.port);
    CHECK(fd >= 0);
    n = snprintf(req, sizeof(req),
                 "POST /v1/sandboxes/%s/tunnel/7000 HTTP/1.1\r\nHost: x\r\nX-Api-Key: %s\r\n"
                 "Connection: Upgrade\r\nUpgrade: tcp-tunnel\r\nContent-Length: 0\r\n\r\nearly|",
                 id, sa_key);
    CHECK_EQ(write(fd, req, (size_t)n), n);
    char buf[4096];
    size_t got = 0;
    ssize_t k;
    /* the head first (a client's EOF before the 101 is a client gone) */
    while (got + 1 < sizeof(buf) && read(fd, buf + got, 1) == 1) {
        got++;
        buf[got] = '\0';
        if (strstr(buf, "\r\n\r\n"))
            break;
    }
    buf[got] = '\0';
    CHECK(strncmp(buf, "HTTP/1.1 101", 12) == 0);
    CHECK(strcasestr(buf, "Upgrade: tcp-tunnel") != NULL);
    CHECK(strstr(buf, "X-Peer: f") != NULL);
    CHECK_EQ(write(fd, "late", 4), 4);
    CHECK_EQ(shutdown(fd, SHUT_WR), 0);
    got = 0;
    while (got + 1 < sizeof(buf) && (k = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
        got += (size_t)k;
    buf[got] = '\0';
    close(fd);
    CHECK_STR(buf, "hello|early|late");

    /* a peer that takes the TCP connection but never speaks TLS: 503 after the connect
     * timeout (5 s), not a hang */
    int mute = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in ma = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t ml = sizeof(ma);
    CHECK(bind(mute, (struct sockaddr *)&ma, sizeof(ma)) == 0 && listen(mute, 4) == 0 &&
          getsockname(mute, (struct sockaddr *)&ma, &ml) == 0);
    snprintf(hf.id, sizeof(hf.id), "host-g");
    snprintf(hf.address, sizeof(hf.address), "127.0.0.1:%u", ntohs(ma.sin_port));
    hf.heartbeat_at = timefmt_now_ms();
    CHECK(store_host_report(st, &hf) == 0);
    char gid[STORE_ID_SIZE], t[256];
    CHECK(hd_add_row_on_host(st, ka.id, "host-g", STORE_RUNNING, gid));
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/processes", gid);
    char hk[128];
    snprintf(hk, sizeof(hk), "X-Api-Key: %s\r\n", sa_key);
    uint64_t t0 = mono_now_us();
    CHECK(http_do(a.port, "GET", t, hk, NULL, &r) == 0);
    uint64_t took = mono_now_us() - t0;
    CHECK_EQ(r.status, 503);
    CHECK(strstr(r.body, "timed out") != NULL);
    hresp_free(&r);
    CHECK(took >= 4 * 1000000ull && took < 10 * 1000000ull);
    close(mute);

    shutdown(fp.lfd, SHUT_RDWR); /* wakes its accept() if a check failed early */
    pthread_join(th, NULL);
    close(fp.lfd);
    store_close(st);
    hd_cleanup(&a);
    hcfx_pki_free(&p);
}

/* A host whose channel files are wrong does not start, and says why. */
TEST_SLOW(channel_files_checked_at_start, 120)
{
    struct hcfx_pki p = { { 0 } };
    CHECK(hcfx_pki_make(&p));
    struct {
        const char *ca, *cert, *key; /* under the pki dir; NULL: "" */
        const char *why;
    } cases[] = {
        { "ca/ca.crt", "evil-a/host.crt", "evil-a/host.key", "does not verify" },
        { "ca/ca.crt", "host-b/host.crt", "host-b/host.key", "is for host 'host-b'" },
        { "ca/ca.crt", "host-a/host.crt", "host-b/host.key", "is not the key of" },
        { "ca/ca.crt", "nope.crt", "host-a/host.key", "cannot read" },
        { NULL, "host-a/host.crt", "host-a/host.key", "are all required" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct hd_server s;
        CHECK(hd_prepare(&s, NULL, true));
        char conf[2048];
        uint16_t port = hcfx_free_port();
        snprintf(conf, sizeof(conf),
                 "host_listen = 127.0.0.1:%u\nhost_address = 127.0.0.1:%u\n"
                 "host_tls_ca = %s%s%s\nhost_tls_cert = %s/%s\nhost_tls_key = %s/%s\n", port, port,
                 cases[i].ca ? p.dir : "", cases[i].ca ? "/" : "", cases[i].ca ? cases[i].ca : "",
                 p.dir, cases[i].cert, p.dir, cases[i].key);
        CHECK(hd_reconfigure(&s, "host-a", NULL, conf));
        const char *argv[] = { "serve", "--config", s.conf, NULL };
        char out[4096], err[16384];
        int rc = hd_run(argv, out, sizeof(out), err, sizeof(err));
        CHECK(rc != 0);
        if (!strstr(err, cases[i].why))
            fprintf(stderr, "case %zu: %s\n", i, err);
        CHECK(strstr(err, "host channel unusable") != NULL);
        CHECK(strstr(err, cases[i].why) != NULL);
        hd_cleanup(&s);
    }
    hcfx_pki_free(&p);
}
