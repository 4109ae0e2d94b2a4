/* SPDX-License-Identifier: MIT */
/* test_s3.c: the S3 client (disk/s3.h) and the threaded bucket probe (disk/probe.h) against a
 * real s3rver on 127.0.0.1, a listener that never answers (timeout) and a closed port (cannot
 * connect): object round trips, path-style and virtual-hosted addressing, every failure
 * reason, the address policy applied before connecting, and the concurrency bound. */
#include "daemon/disk/probe.h"
#include "daemon/disk/s3.h"
#include "s3/s3fx.h"

#include <event2/event.h>

#define BUCKET "hearth-test"

static struct disk_cidr loopback_allow = { .family = AF_INET, .addr = { 127, 0, 0, 1 },
                                           .prefix = 32 };

static bool parse(const char *url, struct disk_endpoint *ep)
{
    const char *why;
    if (disk_endpoint_parse(url, ep, &why) == 0)
        return true;
    harness_fail(__FILE__, __LINE__, "parse %s: %s", url, why);
    return false;
}

static void client_checks(struct s3fx *f)
{
    struct disk_endpoint ep;
    if (!parse(f->endpoint, &ep))
        return;
    struct disk_s3 s = { .ep = &ep, .bucket = BUCKET, .path_style = true, .access_key = "S3RVER",
                         .secret_key = "S3RVER", .connect_ip = "127.0.0.1",
                         .timeout_ms = 5000 };
    char why[DISK_S3_WHY_SIZE];
    CHECK_EQ(disk_s3_head_bucket(&s, why), 0);
    const char body[] = "hello, bucket";
    CHECK_EQ(disk_s3_put(&s, "dir/a b+c.txt", body, sizeof(body) - 1, why), 0);
    uint8_t *got = NULL;
    size_t n = 0;
    CHECK_EQ(disk_s3_get(&s, "dir/a b+c.txt", 1024, &got, &n, why), 0);
    CHECK(n == sizeof(body) - 1 && memcmp(got, body, n) == 0);
    free(got);
    CHECK_EQ(disk_s3_get(&s, "dir/a b+c.txt", 4, &got, &n, why), -EFBIG);
    char *xml = NULL;
    CHECK_EQ(disk_s3_list(&s, "dir/", 65536, &xml, why), 0);
    CHECK(strstr(xml, "a b+c.txt") != NULL);
    free(xml);
    CHECK_EQ(disk_s3_get(&s, "missing", 1024, &got, &n, why), -ENOENT);
    CHECK_STR(why, "no such key (404)");
    CHECK_EQ(disk_s3_delete(&s, "dir/a b+c.txt", why), 0);
    CHECK_EQ(disk_s3_get(&s, "dir/a b+c.txt", 1024, &got, &n, why), -ENOENT);

    /* virtual-hosted: bucket.<host>, pinned to s3rver (it reads the bucket from Host) */
    struct disk_endpoint vh;
    char url[96];
    snprintf(url, sizeof(url), "http://s3.amazonaws.com:%u", f->port);
    if (!parse(url, &vh))
        return;
    struct disk_s3 v = s;
    v.ep = &vh;
    v.path_style = false;
    char host[300];
    CHECK_EQ(disk_s3_connect_host(&v, host, sizeof(host)), 0);
    CHECK_STR(host, BUCKET ".s3.amazonaws.com");
    CHECK_EQ(disk_s3_head_bucket(&v, why), 0);
    CHECK_EQ(disk_s3_put(&v, "vh.txt", "x", 1, why), 0);
    CHECK_EQ(disk_s3_get(&s, "vh.txt", 16, &got, &n, why), 0); /* seen path-style too */
    free(got);
    v.ep = &ep; /* an IP literal cannot be virtual-hosted */
    CHECK_EQ(disk_s3_connect_host(&v, host, sizeof(host)), -EINVAL);

    /* failures, each with its one-line reason and no credential in it */
    struct disk_s3 bad = s;
    bad.access_key = "WRONGKEY";
    bad.secret_key = "SECRET-DO-NOT-LEAK";
    CHECK_EQ(disk_s3_head_bucket(&bad, why), -EACCES);
    CHECK_STR(why, "access denied (403)");
    bad = s;
    bad.bucket = "no-such-bucket";
    CHECK_EQ(disk_s3_head_bucket(&bad, why), -ENOENT);
    CHECK_STR(why, "no such bucket (404)");
    unsigned closed = s3fx_free_port();
    char curl[64];
    snprintf(curl, sizeof(curl), "http://127.0.0.1:%u", closed);
    struct disk_endpoint cep;
    if (!parse(curl, &cep))
        return;
    bad = s;
    bad.ep = &cep;
    CHECK_EQ(disk_s3_head_bucket(&bad, why), -ECONNREFUSED);
    CHECK_STR(why, "cannot connect");
    unsigned bh_port;
    int bh = s3fx_blackhole(&bh_port);
    CHECK(bh >= 0);
    snprintf(curl, sizeof(curl), "http://127.0.0.1:%u", bh_port);
    struct disk_endpoint bep;
    if (!parse(curl, &bep))
        return;
    bad.ep = &bep;
    bad.timeout_ms = 400;
    CHECK_EQ(disk_s3_head_bucket(&bad, why), -ETIMEDOUT);
    CHECK_STR(why, "timed out");
    /* https to a plain-HTTP server: a TLS failure */
    snprintf(curl, sizeof(curl), "https://127.0.0.1:%u", f->port);
    struct disk_endpoint tep;
    if (!parse(curl, &tep))
        return;
    bad = s;
    bad.ep = &tep;
    CHECK(disk_s3_head_bucket(&bad, why) < 0);
    CHECK(strncmp(why, "tls: ", 5) == 0);
    close(bh);
}

TEST_SLOW(s3_client_against_s3rver, 120)
{
    struct s3fx f;
    if (!s3fx_start(&f, BUCKET)) {
        s3fx_stop(&f);
        return;
    }
    client_checks(&f);
    s3fx_stop(&f);
}

struct outcome {
    int n;
    enum disk_probe_outcome o[16];
    char why[16][DISK_S3_WHY_SIZE];
    struct event_base *base;
    int want;
};

static void on_done(void *ud, enum disk_probe_outcome o, const char *why)
{
    struct outcome *out = ud;
    if (out->n < 16) {
        out->o[out->n] = o;
        snprintf(out->why[out->n], DISK_S3_WHY_SIZE, "%s", why);
    }
    if (++out->n >= out->want)
        event_base_loopbreak(out->base);
}

/* Runs one probe through the loop; returns its outcome with why. */
static enum disk_probe_outcome probe_loop(struct event_base *base, const struct disk_probe_req *rq,
                                          char why[DISK_S3_WHY_SIZE])
{
    struct outcome out = { .base = base, .want = 1 };
    if (disk_probe_start(base, rq, on_done, &out, NULL) != 0) {
        snprintf(why, DISK_S3_WHY_SIZE, "start failed");
        return (enum disk_probe_outcome)-1;
    }
    event_base_dispatch(base);
    /* the thread's pipe may still be pending when a timer answered first */
    while (disk_probe_running())
        event_base_loop(base, EVLOOP_ONCE);
    snprintf(why, DISK_S3_WHY_SIZE, "%s", out.why[0]);
    return out.o[0];
}

static void probe_checks(struct s3fx *f)
{
    struct event_base *base = event_base_new();
    CHECK(base != NULL);
    struct disk_addr_policy allow = { .allow = &loopback_allow, .n_allow = 1 };
    struct disk_probe_req rq = { .endpoint = f->endpoint, .bucket = BUCKET, .path_style = true,
                                 .access_key = "S3RVER", .secret_key = "S3RVER",
                                 .policy = &allow, .timeout_ms = 3000 };
    char why[DISK_S3_WHY_SIZE];
    CHECK_EQ(probe_loop(base, &rq, why), DISK_PROBE_OK);
    CHECK_STR(why, "");
    /* without the allow list, loopback is refused before any connection */
    struct disk_addr_policy none = { 0 };
    rq.policy = &none;
    CHECK_EQ(probe_loop(base, &rq, why), DISK_PROBE_REFUSED);
    CHECK(strstr(why, "127.0.0.1") && strstr(why, "loopback"));
    rq.endpoint = "http://169.254.169.254";
    CHECK_EQ(probe_loop(base, &rq, why), DISK_PROBE_REFUSED);
    CHECK(strstr(why, "link-local") != NULL);
    rq.endpoint = "http://[::1]:9000";
    CHECK_EQ(probe_loop(base, &rq, why), DISK_PROBE_REFUSED);
    rq.endpoint = "http://localhost:9000"; /* a name that resolves inward */
    CHECK_EQ(probe_loop(base, &rq, why), DISK_PROBE_REFUSED);
    rq.endpoint = "http://no-such-host.invalid";
    CHECK_EQ(probe_loop(base, &rq, why), DISK_PROBE_FAILED);
    CHECK_STR(why, "cannot resolve host");
    rq.endpoint = "http://10.0.0.1:9000"; /* virtual-hosted on an IP */
    rq.path_style = false;
    CHECK_EQ(probe_loop(base, &rq, why), DISK_PROBE_REFUSED);
    rq.path_style = true;
    rq.policy = &allow;
    rq.endpoint = f->endpoint;
    rq.access_key = "NOPE";
    CHECK_EQ(probe_loop(base, &rq, why), DISK_PROBE_FAILED);
    CHECK_STR(why, "access denied (403)");
    rq.access_key = "S3RVER";
    rq.bucket = "absent-bucket";
    CHECK_EQ(probe_loop(base, &rq, why), DISK_PROBE_FAILED);
    CHECK_STR(why, "no such bucket (404)");
    rq.bucket = BUCKET;
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", s3fx_free_port());
    rq.endpoint = url;
    CHECK_EQ(probe_loop(base, &rq, why), DISK_PROBE_FAILED);
    CHECK_STR(why, "cannot connect");
    unsigned rport;
    pid_t rs = s3fx_redirector(&rport);
    CHECK(rs > 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", rport);
    CHECK_EQ(probe_loop(base, &rq, why), DISK_PROBE_FAILED);
    CHECK_STR(why, "redirect (301): wrong region or endpoint");
    kill(rs, SIGKILL);
    waitpid(rs, NULL, 0);

    /* a peer that never answers: every probe times out; at most DISK_PROBE_MAX at once */
    unsigned bport;
    int bh = s3fx_blackhole(&bport);
    CHECK(bh >= 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u", bport);
    rq.timeout_ms = 600;
    struct outcome out = { .base = base, .want = DISK_PROBE_MAX };
    uint64_t t0 = harness_now_us();
    for (int i = 0; i < DISK_PROBE_MAX; i++)
        CHECK_EQ(disk_probe_start(base, &rq, on_done, &out, NULL), 0);
    CHECK_EQ(disk_probe_start(base, &rq, on_done, &out, NULL), -EBUSY);
    event_base_dispatch(base);
    while (disk_probe_running())
        event_base_loop(base, EVLOOP_ONCE);
    CHECK_EQ(out.n, DISK_PROBE_MAX);
    for (int i = 0; i < DISK_PROBE_MAX; i++)
        CHECK_STR(out.why[i], "timed out");
    /* loose: a hang would take forever, not 10 s */
    CHECK(harness_now_us() - t0 < 10 * 1000 * 1000);
    /* a cancelled probe never reports; drain joins its thread */
    struct disk_probe *p = NULL;
    struct outcome none_out = { .base = base, .want = 1 };
    CHECK_EQ(disk_probe_start(base, &rq, on_done, &none_out, &p), 0);
    disk_probe_cancel(p);
    disk_probe_drain();
    CHECK_EQ(none_out.n, 0);
    CHECK_EQ(disk_probe_running(), 0);
    close(bh);
    event_base_free(base);
}

TEST_SLOW(probe_against_s3rver, 120)
{
    struct s3fx f;
    if (!s3fx_start(&f, BUCKET)) {
        s3fx_stop(&f);
        return;
    }
    probe_checks(&f);
    s3fx_stop(&f);
}
