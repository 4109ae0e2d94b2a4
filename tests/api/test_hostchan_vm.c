/* SPDX-License-Identifier: MIT */
/* test_hostchan_vm.c: a real microVM on host-b, used entirely through host-a's public API over
 * the host channel (two hearthds on one store, certificates from `hearthd ca init` / `hearthd
 * cert issue`): exec buffered and streamed (NDJSON), a 4 MiB file up and down, a managed
 * process and its output, a TCP tunnel over HTTP Upgrade with early bytes and half-close, pause
 * and resume, delete. Skips without $HEARTH_IMAGES. */
#include "hcfx.h"
#include "vmfx.h"

#include <errno.h>

static bool start_b(struct vfx *b, const struct hcfx_pki *p, uint16_t port)
{
    memset(b, 0, sizeof(*b));
    const char *img = getenv("HEARTH_IMAGES");
    char k[512], conf[2048];
    snprintf(k, sizeof(k), "%s/vmlinux", img ? img : "/nonexistent");
    if (!img || access(k, R_OK) != 0)
        harness_skip("HEARTH_IMAGES with vmlinux is needed");
    REQUIRE(hd_prepare(&b->s, "lifecycle_hold_ms = 0\n", false));
    REQUIRE(link_image(img, b->s.images, "vmlinux"));
    REQUIRE(link_image(img, b->s.images, "minimal.ext4"));
    REQUIRE(link_image(img, b->s.images, "debian-12.ext4"));
    snprintf(k, sizeof(k), "%s/minimal.10240.ext4", img);
    if (access(k, R_OK) == 0)
        REQUIRE(link_image(img, b->s.images, "minimal.10240.ext4"));
    hcfx_conf(p, "host-b", port, conf, sizeof(conf));
    REQUIRE(hd_reconfigure(&b->s, "host-b", NULL, conf));
    REQUIRE(hd_start(&b->s));
    snprintf(b->hdr, sizeof(b->hdr), "X-Api-Key: %s\r\n", b->s.admin_key);
    return true;
}

/* A control-side hearthd (fake images: it runs no VM here) on b's store. */
static bool start_a(struct vfx *a, const struct vfx *b, const struct hcfx_pki *p, uint16_t port)
{
    memset(a, 0, sizeof(*a));
    char conf[2048];
    REQUIRE(hd_prepare(&a->s, NULL, true));
    hcfx_conf(p, "host-a", port, conf, sizeof(conf));
    REQUIRE(hd_reconfigure(&a->s, "host-a", b->s.store, conf));
    REQUIRE(hd_start(&a->s));
    snprintf(a->hdr, sizeof(a->hdr), "%s", b->hdr); /* b's admin key is in the shared store */
    return true;
}

static ssize_t read_all(int fd, char *buf, size_t max)
{
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, max - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0 || (got += (size_t)n) == max)
            return (ssize_t)got;
    }
}

/* A tunnel to the guest's port 7000 through a's public API: early bytes, more, half-close, the
 * echo, then EOF. */
static void tunnel_echo(struct vfx *a, const char *id)
{
    int fd = connect_local(a->s.port);
    CHECK(fd >= 0);
    char req[1024];
    int n = snprintf(req, sizeof(req),
                     "POST /v1/sandboxes/%s/tunnel/7000 HTTP/1.1\r\nHost: x\r\n%s"
                     "Connection: Upgrade\r\nUpgrade: tcp-tunnel\r\nContent-Length: 0\r\n\r\n"
                     "early|", id, a->hdr);
    CHECK_EQ(write(fd, req, (size_t)n), n);
    char head[4096];
    size_t hl = 0;
    while (hl + 1 < sizeof(head)) {
        char c;
        if (read(fd, &c, 1) != 1)
            break;
        head[hl++] = c;
        if (hl >= 4 && memcmp(head + hl - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    head[hl] = 0;
    CHECK(strncmp(head, "HTTP/1.1 101", 12) == 0);
    CHECK(strcasestr(head, "Upgrade: tcp-tunnel") != NULL);
    CHECK_EQ(write(fd, "late", 4), 4);
    CHECK_EQ(shutdown(fd, SHUT_WR), 0);
    char buf[256];
    ssize_t got = read_all(fd, buf, sizeof(buf) - 1);
    CHECK_EQ(got, 10);
    buf[got < 0 ? 0 : got] = 0;
    CHECK_STR(buf, "early|late");
    close(fd);
}

static void files_roundtrip(struct vfx *a, const char *id)
{
    size_t len = 4u << 20;
    char head[1024], t[256];
    uint8_t *data = malloc(len + sizeof(head));
    CHECK(data != NULL);
    if (!data)
        return;
    int hl = snprintf(head, sizeof(head),
                      "PUT /v1/sandboxes/%s/files?path=/tmp/hc/big.bin HTTP/1.1\r\nHost: x\r\n"
                      "Connection: close\r\n%sContent-Length: %zu\r\n\r\n", id, a->hdr, len);
    memcpy(data, head, (size_t)hl);
    for (size_t i = 0; i < len; i++)
        data[hl + i] = (uint8_t)((i * 2654435761u) >> 13);
    struct hresp r;
    CHECK(http_raw(a->s.port, data, len + (size_t)hl, &r, false) == 0);
    CHECK_EQ(r.status, 200);
    CHECK_EQ(jint(r.json, "data.bytes"), (long long)len);
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/files?path=/tmp/hc/big.bin", id);
    CHECK(call(a, "GET", t, NULL, 200, &r));
    CHECK_EQ(r.body_len, len);
    CHECK(r.body_len == len && memcmp(r.body, data + hl, len) == 0);
    hresp_free(&r);
    free(data);
}

TEST_SLOW(vm_through_another_host, 600)
{
    apitest_io_timeout_s = 120;
    struct hcfx_pki p = { { 0 } };
    struct vfx a, b;
    uint16_t pa = hcfx_free_port(), pb = hcfx_free_port();
    const char *img = getenv("HEARTH_IMAGES");
    char k[512];
    snprintf(k, sizeof(k), "%s/vmlinux", img ? img : "/nonexistent");
    if (!img || access(k, R_OK) != 0)
        harness_skip("HEARTH_IMAGES with vmlinux is needed");
    CHECK(hcfx_pki_make(&p));
    CHECK(start_b(&b, &p, pb));
    CHECK(start_a(&a, &b, &p, pa));
    char id[64], t[256], out[4096], hv[64];
    struct hresp r;
    /* pinned to host-b: a has fake images, and placement may pick any active host */
    CHECK(create(&b, "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"minimal\",\"host_id\":\"host-b\"}",
                 id));

    /* buffered exec through a: served by b */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/exec", id);
    CHECK(call(&a, "POST", t, "{\"cmd\":\"echo\",\"args\":[\"hi\"]}", 200, &r));
    CHECK_STR(jstr(r.json, "data.result.stdout"), "hi\n");
    CHECK(hresp_header(&r, "X-Hearth-Host", hv, sizeof(hv)));
    CHECK_STR(hv, "host-b");
    hresp_free(&r);
    /* streamed exec: NDJSON chunks in order */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/exec?stream=true", id);
    CHECK(call(&a, "POST", t, "{\"cmd\":\"sh\",\"args\":[\"-c\",\"echo a; sleep 1; echo b >&2; "
                              "exit 3\"]}", 200, &r));
    char ct[100];
    CHECK(hresp_header(&r, "Content-Type", ct, sizeof(ct)));
    CHECK(strstr(ct, "application/x-ndjson") != NULL);
    char *sa = strstr(r.body, "{\"stdout\":\"a\\n\"}\n");
    char *sb = strstr(r.body, "{\"stderr\":\"b\\n\"}\n");
    char *ex = strstr(r.body, "{\"exit_code\":3}\n");
    CHECK(sa && sb && ex && sa < sb && sb < ex);
    hresp_free(&r);

    files_roundtrip(&a, id);

    /* a managed process and its output */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/processes", id);
    CHECK(call(&a, "POST", t, "{\"cmd\":\"sh\",\"args\":[\"-c\",\"echo p1; echo p2\"]}", 200,
               &r));
    char pid[64];
    snprintf(pid, sizeof(pid), "%s", jstr(r.json, "data.process_id") ? jstr(r.json,
             "data.process_id") : "");
    hresp_free(&r);
    CHECK(strncmp(pid, "proc_", 5) == 0);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/processes/%s/wait?timeout_ms=30000", id, pid);
    CHECK(call(&a, "GET", t, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.exit_code"), 0);
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/processes/%s/connect?follow=false", id, pid);
    CHECK(call(&a, "GET", t, NULL, 200, &r));
    CHECK(strstr(r.body, "cDEKcDIK") || strstr(r.body, "cDEK")); /* base64 of "p1\np2\n" */
    hresp_free(&r);

    /* a tunnel over Upgrade to an echo server in the guest */
    CHECK(exec_sh(&a, id, "setsid nc -ll -p 7000 -e cat </dev/null >/dev/null 2>&1 & "
                          "sleep 0.5; netstat -ltn", out, sizeof(out)));
    CHECK(strstr(out, ":7000") != NULL);
    tunnel_echo(&a, id);

    /* pause and resume through a, then the guest still answers */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/pause", id);
    CHECK(call(&a, "POST", t, NULL, 202, &r));
    hresp_free(&r);
    CHECK(wait_status_ms(&a, id, "paused", 120000));
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/resume", id);
    CHECK(call(&a, "POST", t, NULL, 202, &r));
    hresp_free(&r);
    CHECK(wait_status_ms(&a, id, "running", 120000));
    CHECK(exec_sh_trim(&a, id, "cat /tmp/hc/big.bin | wc -c", out, sizeof(out)));
    CHECK_STR(out, "4194304");

    CHECK(destroy(&a, id));
    hd_cleanup(&a.s);
    vfx_end(&b);
    hcfx_pki_free(&p);
}
