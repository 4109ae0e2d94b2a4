/* SPDX-License-Identifier: MIT */
/* test_hostchan.c: the host channel between two real hearthds (host-a, host-b) on one store,
 * without VMs (fake images; the VM flow is test_hostchan_vm.c). Certificates come from
 * `hearthd ca init` / `hearthd cert issue`. A request to A for a sandbox whose row names host-b
 * is served by B (X-Hearth-Host) with the caller's identity; the channel refuses a client
 * without a certificate or with one of another CA at the handshake, and malformed, repeated,
 * unknown or oversized forwarded headers with 400; forged forwarded headers on the public port
 * do nothing; a peer whose valid certificate is for another host than the row's is refused by
 * the forwarder (503); a sandbox on an unregistered host is 503 except its plain read; kill -9
 * of B → A answers 503 at once, and after B is marked dead, still 503 with the reason. */
#include "hcfx.h"

#include <signal.h>
#include <sys/wait.h>

#include "common/mono.h"
#include "common/timefmt.h"
#include "daemon/store/apikey.h"
#include "daemon/store/ids.h"
#include "daemon/store/store.h"

static bool add_row(struct store *st, const char *key_id, const char *host_id, char *ret_id)
{
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    REQUIRE(ids_new_sandbox(sb.id) == 0);
    snprintf(sb.user_id, sizeof(sb.user_id), "alice");
    snprintf(sb.name, sizeof(sb.name), "on-%s", host_id);
    sb.status = STORE_RUNNING;
    snprintf(sb.shape, sizeof(sb.shape), "s-1vcpu-256mb");
    sb.vcpu = 1;
    sb.mem_mib = 256;
    sb.disk_mib = 10240;
    snprintf(sb.rootfs, sizeof(sb.rootfs), "devbox:1");
    snprintf(sb.region, sizeof(sb.region), "local");
    snprintf(sb.host_id, sizeof(sb.host_id), "%s", host_id);
    sb.created_at = sb.running_at = timefmt_now_ms();
    snprintf(sb.created_by, sizeof(sb.created_by), "%s", key_id);
    int r = store_sandbox_insert(st, &sb, NULL, 0);
    store_sandbox_release(&sb);
    REQUIRE(r == 0);
    memcpy(ret_id, sb.id, STORE_ID_SIZE);
    return true;
}

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
    CHECK(hcfx_reconfigure(&a, "host-a", NULL, conf));
    CHECK(hd_start(&a));
    CHECK(hd_prepare(&b, NULL, true));
    hcfx_conf(&p, "host-b", pb, conf, sizeof(conf));
    CHECK(hcfx_reconfigure(&b, "host-b", a.store, conf));
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
    CHECK(add_row(st, ka.id, "host-b", on_b));
    CHECK(add_row(st, ka.id, "host-y", on_y));
    CHECK(add_row(st, ka.id, "host-z", on_z));
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
