/* SPDX-License-Identifier: MIT */
/* test_self_vm.c: the in-guest self endpoint, the event log and the console log through real
 * HTTP against `hearthd serve` with a real microVM (docs/api.md §3.15, §5.6, §5.7): a plain
 * HTTP client inside the guest (busybox wget) pauses its own sandbox with a reason, which the
 * events and the sandbox view show, and has its 202 in hand once resumed; `echo park >
 * /run/self` pauses too, and so does a request to a VM a restarted hearthd re-adopted; the
 * endpoint listens on the guest's loopback only; a guest flooding both leaves hearthd
 * answering and its sandbox paused once; the events route's bad input (bad after/limit 400,
 * unknown or foreign id 404); the logs route's text, tail and a follow that ends when the
 * sandbox is destroyed by its own `self/delete`. One VM for all of it. */
#include "apitest.h"
#include "vmfx.h"

#include "common/mono.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SMALL "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"minimal\"}"

/* Runs script in the guest detached (after a second, so the exec that started it is over). */
static bool sh_later(struct vfx *f, const char *id, const char *script)
{
    char cmd[2048], out[256];
    snprintf(cmd, sizeof(cmd), "setsid sh -c 'sleep 1; %s' </dev/null >/dev/null 2>&1 &", script);
    return exec_sh(f, id, cmd, out, sizeof(out));
}

static bool wait_status(struct vfx *f, const char *id, const char *want)
{
    return wait_status_ms(f, id, want, 60000);
}

static bool resume_sb(struct vfx *f, const char *id)
{
    char t[160];
    struct hresp r;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/resume", id);
    REQUIRE(call(f, "POST", t, NULL, 202, &r));
    hresp_free(&r);
    return wait_status(f, id, "running");
}

/* How many events of kind (with actor and reason when not NULL) the log holds. */
static int count_events(struct vfx *f, const char *id, const char *kind, const char *actor,
                        const char *reason)
{
    char t[160];
    struct hresp r;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/events?limit=256", id);
    if (!call(f, "GET", t, NULL, 200, &r))
        return -1;
    json_t *ev = jpath(r.json, "data.events");
    int n = 0;
    for (size_t i = 0; i < json_array_size(ev); i++) {
        json_t *e = json_array_get(ev, i);
        const char *k = json_string_value(json_object_get(e, "kind"));
        const char *a = json_string_value(json_object_get(e, "actor"));
        const char *why = json_string_value(json_object_get(e, "reason"));
        if (k && strcmp(k, kind) == 0 && (!actor || (a && strcmp(a, actor) == 0)) &&
            (!reason || (why && strcmp(why, reason) == 0)))
            n++;
    }
    hresp_free(&r);
    return n;
}

static void events_bad_input(struct vfx *f, const char *id)
{
    char t[200];
    struct hresp r;
    const char *bad[] = { "after=-1", "after=abc", "limit=0", "limit=257", "limit=", "after=1e3" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(t, sizeof(t), "/v1/sandboxes/%s/events?%s", id, bad[i]);
        if (call(f, "GET", t, NULL, 400, &r))
            CHECK_STR(jstr(r.json, "data.code"), "invalid_request");
        hresp_free(&r);
    }
    CHECK(call(f, "GET", "/v1/sandboxes/sb-01JZZZZZZZZZZZZZZZZZZZZZZZ/events", NULL, 404, &r));
    hresp_free(&r);
    CHECK(call(f, "GET", "/v1/sandboxes/nope/logs", NULL, 404, &r));
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/logs?tail=-1", id);
    CHECK(call(f, "GET", t, NULL, 400, &r));
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/logs?follow=maybe", id);
    CHECK(call(f, "GET", t, NULL, 400, &r));
    hresp_free(&r);
    /* another user's sandbox is a missing one */
    char key[128] = "", err[2048], hdr[200];
    const char *kc[] = { "keys", "--config", f->s.conf, "create", "--user", "mallory", NULL };
    CHECK(hd_run(kc, key, sizeof(key), err, sizeof(err)) == 0);
    key[strcspn(key, "\n")] = '\0';
    snprintf(hdr, sizeof(hdr), "X-Api-Key: %s\r\n", key);
    const char *routes[] = { "events", "logs" };
    for (int i = 0; i < 2; i++) {
        snprintf(t, sizeof(t), "/v1/sandboxes/%s/%s", id, routes[i]);
        CHECK(http_do(f->s.port, "GET", t, hdr, NULL, &r) == 0 && r.status == 404);
        hresp_free(&r);
    }
}

static void logs_text(struct vfx *f, const char *id)
{
    char t[200], ct[64];
    struct hresp r;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/logs", id);
    CHECK(http_do(f->s.port, "GET", t, f->hdr, NULL, &r) == 0 && r.status == 200);
    CHECK(hresp_header(&r, "Content-Type", ct, sizeof(ct)) && strncmp(ct, "text/plain", 10) == 0);
    size_t full = r.body_len;
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/logs?tail=2", id);
    CHECK(http_do(f->s.port, "GET", t, f->hdr, NULL, &r) == 0 && r.status == 200);
    size_t nl = 0;
    for (size_t i = 0; r.body && i < r.body_len; i++)
        nl += r.body[i] == '\n';
    CHECK(nl <= 2);
    CHECK(r.body_len <= full + 4096);
    hresp_free(&r);
}

static void self_body(struct vfx *f)
{
    char id[64], out[4096], t[200];
    struct hresp r;
    if (!create(f, SMALL, id))
        return;
    CHECK_EQ(count_events(f, id, "created", NULL, NULL), 1);
    events_bad_input(f, id);
    logs_text(f, id);

    /* loopback only: a listener on 127.0.0.1:1029 (0100007F:0405), none on any address */
    CHECK(exec_sh(f, id, "grep -c ' 0100007F:0405 00000000:0000 0A' /proc/net/tcp; "
                     "grep -c ' 00000000:0405 ' /proc/net/tcp", out, sizeof(out)));
    CHECK_STR(out, "1\n0\n");

    /* a plain HTTP client pauses its own sandbox; the reply reached it before the freeze */
    CHECK(sh_later(f, id, "wget -q -O- --post-data= "
                           "\"http://127.0.0.1:1029/self/pause?reason=nightly%20build%20done\" "
                           "> /tmp/self.out 2>&1"));
    if (wait_status(f, id, "paused")) {
        CHECK_EQ(count_events(f, id, "self_request", "self", "nightly build done"), 1);
        CHECK_EQ(count_events(f, id, "paused", "self", "nightly build done"), 1);
        snprintf(t, sizeof(t), "/v1/sandboxes/%s", id);
        if (call(f, "GET", t, NULL, 200, &r)) {
            CHECK_STR(jstr(r.json, "data.paused_by"), "self");
            CHECK_STR(jstr(r.json, "data.pause_reason"), "nightly build done");
        }
        hresp_free(&r);
        CHECK(resume_sb(f, id));
        CHECK(exec_sh(f, id, "cat /tmp/self.out", out, sizeof(out)));
        CHECK(strstr(out, "{\"status\":\"success\",\"data\":{\"accepted\":true,"
                          "\"action\":\"pause\"}}") != NULL);
        CHECK_EQ(count_events(f, id, "resumed", "api", NULL), 1);
    }

    /* the FIFO for images without an HTTP client */
    CHECK(sh_later(f, id, "echo park > /run/self"));
    if (wait_status(f, id, "paused")) {
        CHECK_EQ(count_events(f, id, "paused", "self", ""), 1);
        CHECK(resume_sb(f, id));
    }

    /* the console log holds what the guest writes to its console (since this VM run started:
     * the resume made a new one) */
    CHECK(exec_sh(f, id, "echo console-marker-1 > /dev/console", out, sizeof(out)));
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/logs", id);
    bool seen = false;
    for (int i = 0; i < 50 && !seen; i++) {
        CHECK(http_do(f->s.port, "GET", t, f->hdr, NULL, &r) == 0 && r.status == 200);
        seen = r.body && strstr(r.body, "console-marker-1\r\n"); /* the tty's CR LF */
        hresp_free(&r);
        if (!seen)
            usleep(100 * 1000);
    }
    CHECK(seen);

    /* a VM re-adopted by a restarted hearthd still has its requests heard */
    if (crash_restart(f)) {
        CHECK(wait_status(f, id, "running"));
        CHECK(sh_later(f, id, "wget -q -O- --post-data= "
                               "http://127.0.0.1:1029/self/pause?reason=after+restart"));
        if (wait_status(f, id, "paused")) {
            CHECK_EQ(count_events(f, id, "paused", "self", "after restart"), 1);
            CHECK(resume_sb(f, id));
        }
    }

    /* a flood of both: hearthd keeps answering, the sandbox is paused once */
    int paused_before = count_events(f, id, "paused", NULL, NULL);
    CHECK(sh_later(f, id, "seq 3000 | sed s/.*/park/ > /tmp/flood; i=0; "
                           "while [ $i -lt 100 ]; do wget -q -O- --post-data= "
                           "http://127.0.0.1:1029/nope >/dev/null 2>&1 & i=$((i+1)); done; "
                           "wait; cat /tmp/flood > /run/self"));
    for (int i = 0; i < 20; i++) {
        int64_t t0 = mono_now_us();
        CHECK(http_do(f->s.port, "GET", "/healthz", NULL, NULL, &r) == 0 && r.status == 200);
        hresp_free(&r);
        CHECK(mono_now_us() - t0 < 5000 * 1000LL);
        usleep(100 * 1000);
    }
    if (wait_status(f, id, "paused")) {
        sleep(2);
        CHECK_EQ(count_events(f, id, "paused", NULL, NULL), paused_before + 1);
        /* what the flood still had queued pauses it again after each resume, at most once a
         * second (the host's limit): resume until it stays running */
        char st[32];
        for (int round = 0; round < 30; round++) {
            if (strcmp(status_of(f, id, st), "paused") == 0) {
                snprintf(t, sizeof(t), "/v1/sandboxes/%s/resume", id);
                CHECK(http_do(f->s.port, "POST", t, f->hdr, NULL, &r) == 0);
                hresp_free(&r);
            }
            for (int i = 0; i < 600 && (strcmp(status_of(f, id, st), "resuming") == 0 ||
                                        strcmp(st, "pausing") == 0); i++)
                usleep(50 * 1000);
            bool stayed = true;
            for (int i = 0; i < 30 && stayed; i++) {
                usleep(100 * 1000);
                stayed = strcmp(status_of(f, id, st), "running") == 0;
            }
            if (stayed)
                break;
        }
        CHECK(exec_sh(f, id, "echo ok", out, sizeof(out)));
        /* the host's limit shows on /metrics, as do the requests acted on */
        CHECK(http_do(f->s.metrics_port, "GET", "/metrics", NULL, NULL, &r) == 0);
        const char *rl = r.body ? strstr(r.body, "hearth_self_requests_total{result=\"rate_"
                                                 "limited\"} ") : NULL;
        const char *ac = r.body ? strstr(r.body, "hearth_self_requests_total{result=\"acted"
                                                 "\"} ") : NULL;
        CHECK(rl && strtoull(strchr(rl, '}') + 2, NULL, 10) > 0);
        CHECK(ac && strtoull(strchr(ac, '}') + 2, NULL, 10) >= 2);
        hresp_free(&r);
    }

    /* a follower of the console log, then the guest deletes itself: the follow ends */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/logs?follow=true", id);
    int fd = send_only(f, "GET", t, "");
    CHECK(fd >= 0);
    CHECK(sh_later(f, id, "wget -q -O- --post-data= "
                           "http://127.0.0.1:1029/self/delete?reason=bye > /dev/null"));
    CHECK(wait_status(f, id, "destroyed"));
    CHECK_EQ(count_events(f, id, "destroyed", "self", "bye"), 1);
    if (fd >= 0) {
        /* read to the end, keeping the status line and the last bytes (the final chunk) */
        char first[16] = "", last[16] = "", b[65536];
        size_t got = 0;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        while (poll(&p, 1, 30000) > 0) {
            ssize_t k = read(fd, b, sizeof(b));
            if (k <= 0)
                break;
            if (got < sizeof(first) - 1)
                memcpy(first + got, b, (size_t)k < sizeof(first) - 1 - got
                                           ? (size_t)k : sizeof(first) - 1 - got);
            got += (size_t)k;
            size_t keep = (size_t)k < 7 ? (size_t)k : 7, had = strlen(last);
            if (had + keep > 7) {
                memmove(last, last + (had + keep - 7), 7 - keep);
                had = 7 - keep;
            }
            memcpy(last + had, b + k - keep, keep);
            last[had + keep] = 0;
            if (strcmp(last, "\r\n0\r\n\r\n") == 0)
                break;
        }
        CHECK(strncmp(first, "HTTP/1.1 200", 12) == 0);
        CHECK_STR(last, "\r\n0\r\n\r\n");
        close(fd);
    }
}

TEST_SLOW(self_pause_fifo_flood_delete, 900)
{
    struct vfx f;
    if (!vfx_start(&f))
        return;
    self_body(&f);
    vfx_end(&f);
}
