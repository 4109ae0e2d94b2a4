/* SPDX-License-Identifier: MIT */
/* test_livefork_vm.c: fork of a running sandbox (a live fork: docs/api.md §3.3.3,
 * docs/snapshots.md "Live fork") through real HTTP against `hearthd serve` with real microVMs:
 * three children from one request; a process writing a counter (to /tmp and to /dev/shm)
 * continues in the source and in every child from the same count; files written after the
 * fork diverge both ways; a 64 MiB pattern written to /dev/shm after the fork by the source is
 * never seen by a child, nor a child's by the source or its siblings; the source keeps its
 * processes and an exec in flight during the fork answers; bad counts and sources are 4xx; a
 * kill -9 of hearthd while the source is stopped leaves it running after the restart, with no
 * child, no snapshot and no QEMU left over. */
#include "apitest.h"
#include "vmfx.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SMALL "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"minimal\"}"
/* a counter appended to /dev/shm/log (memory) and written to /tmp/cnt every 50 ms */
#define COUNTER                                                                                  \
    "mkdir -p /dev/shm && (mountpoint -q /dev/shm || mount -t tmpfs shm /dev/shm); "            \
    "setsid sh -c 'i=0; while :; do i=$((i+1)); echo $i >> /dev/shm/log; echo $i > /tmp/cnt; " \
    "sleep 0.05; done' </dev/null >/dev/null 2>&1 & echo before > /root/f; sync"
/* 64 MiB of one letter into /dev/shm/big, then its checksum */
#define FILL(c) "yes " c " | head -c 67108864 > /dev/shm/big && md5sum < /dev/shm/big"
/* the log's lines must be 1, 2, 3, ... with no gap or repeat: prints ok and the last */
#define LOG_OK "awk 'NR != $1 { bad = 1 } END { print (bad ? \"bad\" : \"ok\"), NR }' /dev/shm/log"

/* The counter's log in id is whole ("ok N"): N in *n. */
static bool log_whole(struct vfx *f, const char *id, long *n)
{
    char out[128];
    REQUIRE(exec_sh_trim(f, id, LOG_OK, out, sizeof(out)));
    if (strncmp(out, "ok ", 3) != 0) {
        harness_fail(__FILE__, __LINE__, "%s: the counter's log is not 1..N: %s", id, out);
        return false;
    }
    *n = strtol(out + 3, NULL, 10);
    return true;
}

/* Snapshot directories under data/snapshots/<id>/. */
static int snapshots_of(struct vfx *f, const char *id)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/snapshots/%s", f->s.data, id);
    DIR *d = opendir(p);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static int fork_status(struct vfx *f, const char *src, const char *body)
{
    char t[160];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/fork", src);
    return http_status(f->s.port, "POST", t, f->hdr, body);
}

static void livefork_body(struct vfx *f)
{
    char a[64], out[4096], sum_a[128], t[160];
    if (!create(f, SMALL, a))
        return;
    CHECK(exec_sh_trim(f, a, COUNTER, out, sizeof(out)));
    CHECK(exec_sh_trim(f, a, FILL("A"), sum_a, sizeof(sum_a)));
    /* an exec in flight across the fork: its answer comes on the same agent connection */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/exec", a);
    int inflight = send_only(f, "POST", t,
                             "{\"cmd\":\"sh\",\"args\":[\"-c\",\"sleep 3; cat /root/f\"]}");
    CHECK(inflight >= 0);
    usleep(500 * 1000);

    /* bad input first: nothing is made */
    CHECK_EQ(fork_status(f, a, "{\"count\":0}"), 400);
    CHECK_EQ(fork_status(f, a, "{\"count\":17}"), 400);
    CHECK_EQ(fork_status(f, a, "{\"count\":\"3\"}"), 400);
    CHECK_EQ(fork_status(f, a, "{\"count\":2,\"name\":\"one\"}"), 400);
    CHECK_EQ(snapshots_of(f, a), 0);

    /* three children from one request */
    struct hresp r;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/fork", a);
    CHECK(call(f, "POST", t, "{\"count\":3}", 200, &r));
    char kids[3][64] = { "", "", "" };
    json_t *ids = jpath(r.json, "data.children");
    CHECK(json_array_size(ids) == 3);
    for (size_t i = 0; i < 3 && i < json_array_size(ids); i++)
        snprintf(kids[i], 64, "%s", json_string_value(json_array_get(ids, i)));
    CHECK_STR(jstr(r.json, "data.id"), kids[0]);
    CHECK_STR(jstr(r.json, "data.forked_from"), a);
    hresp_free(&r);
    char st[32];
    CHECK_STR(status_of(f, a, st), "running");
    for (int i = 0; i < 3; i++)
        CHECK(wait_status_ms(f, kids[i], "running", 60000));
    CHECK_EQ(snapshots_of(f, a), 1); /* the fork point, kept for the children */

    /* the exec in flight answered, and saw the file as it was */
    char buf[8192];
    CHECK_EQ(http_collect(inflight, buf, sizeof(buf)), 200);
    CHECK(strstr(buf, "before") != NULL);

    /* the counter runs on everywhere, each from the fork point: its log stays 1..N */
    long n0[4], n1[4];
    const char *all[4] = { a, kids[0], kids[1], kids[2] };
    for (int i = 0; i < 4; i++)
        CHECK(log_whole(f, all[i], &n0[i]));
    usleep(1500 * 1000);
    for (int i = 0; i < 4; i++) {
        CHECK(log_whole(f, all[i], &n1[i]));
        CHECK(n1[i] > n0[i]);
        CHECK(exec_sh_trim(f, all[i], "cat /tmp/cnt", out, sizeof(out)));
        CHECK(strtol(out, NULL, 10) >= n1[i]);
    }

    /* files diverge both ways */
    CHECK(exec_sh_trim(f, a, "echo src-after > /root/f; cat /root/f", out, sizeof(out)));
    CHECK_STR(out, "src-after");
    for (int i = 0; i < 3; i++) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "cat /root/f; echo kid-%d > /root/f; cat /root/f", i);
        CHECK(exec_sh_trim(f, kids[i], cmd, out, sizeof(out)));
        char want[64];
        snprintf(want, sizeof(want), "before\nkid-%d", i);
        CHECK_STR(out, want);
    }
    CHECK(exec_sh_trim(f, a, "cat /root/f", out, sizeof(out)));
    CHECK_STR(out, "src-after");

    /* pages: the source's 64 MiB written after the fork reach no child; a child's reach
     * neither the source nor a sibling */
    char sum_b[128], sum_c[128];
    CHECK(exec_sh_trim(f, a, FILL("B"), sum_b, sizeof(sum_b)));
    CHECK(strcmp(sum_b, sum_a) != 0);
    for (int i = 0; i < 3; i++) {
        CHECK(exec_sh_trim(f, kids[i], "md5sum < /dev/shm/big", out, sizeof(out)));
        CHECK_STR(out, sum_a);
    }
    CHECK(exec_sh_trim(f, kids[0], FILL("C"), sum_c, sizeof(sum_c)));
    CHECK(exec_sh_trim(f, a, "md5sum < /dev/shm/big", out, sizeof(out)));
    CHECK_STR(out, sum_b);
    CHECK(exec_sh_trim(f, kids[1], "md5sum < /dev/shm/big", out, sizeof(out)));
    CHECK_STR(out, sum_a);

    /* each child has its own identity */
    char h0[128], h1[128];
    CHECK(exec_sh_trim(f, kids[0], "hostname", h0, sizeof(h0)));
    CHECK(exec_sh_trim(f, kids[1], "hostname", h1, sizeof(h1)));
    CHECK(strcmp(h0, h1) != 0);

    /* a fork of a child (a live fork of a live fork) works too */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/fork", kids[2]);
    CHECK(call(f, "POST", t, "{}", 200, &r));
    char g[64];
    snprintf(g, sizeof(g), "%s", jstr(r.json, "data.id") ? jstr(r.json, "data.id") : "");
    hresp_free(&r);
    CHECK(wait_status_ms(f, g, "running", 60000));
    CHECK(exec_sh_trim(f, g, "cat /root/f", out, sizeof(out)));
    CHECK_STR(out, "kid-2");

    /* the source goes first: its fork point stays while the children need it */
    CHECK(destroy(f, a));
    CHECK(exec_sh_trim(f, kids[1], "cat /root/f", out, sizeof(out)));
    CHECK_STR(out, "kid-1");
    int gone = fork_status(f, a, "{}"); /* a destroyed source */
    CHECK(gone == 404 || gone == 409);
    CHECK(destroy(f, g));
    for (int i = 0; i < 3; i++)
        CHECK(destroy(f, kids[i]));
    CHECK_EQ(snapshots_of(f, a), 0);
    CHECK_EQ(snapshots_of(f, kids[2]), 0);
}

TEST_SLOW(live_fork_three_children_isolated, 600)
{
    struct vfx f;
    if (vfx_start(&f))
        livefork_body(&f);
    vfx_end(&f);
}

/* Restarts hearthd armed to die at step, sends a live fork of a with body and waits for the
 * SIGKILL, then starts it again unarmed. */
static bool crash_at(struct vfx *f, const char *step, const char *a, const char *body)
{
    char t[160];
    REQUIRE(vfx_start_armed(f, step));
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/fork", a);
    return vfx_died_and_restarted(f, step, send_only(f, "POST", t, body));
}

/* hearthd is killed at step of a live fork of a running sandbox. */
static void crash_body(struct vfx *f, const char *step)
{
    char a[64], out[256], st[32], t[160];
    if (!create(f, SMALL, a))
        return;
    CHECK(exec_sh_trim(f, a, COUNTER, out, sizeof(out)));
    if (!crash_at(f, step, a, "{\"count\":2}"))
        return;
    /* the source runs on (continued if the crash left it stopped), nothing else is left */
    CHECK_STR(status_of(f, a, st), "running");
    long n0, n1;
    CHECK(log_whole(f, a, &n0));
    usleep(500 * 1000);
    CHECK(log_whole(f, a, &n1));
    CHECK(n1 > n0);
    struct hresp r;
    CHECK(call(f, "GET", "/v1/sandboxes", NULL, 200, &r));
    CHECK_EQ(json_array_size(jpath(r.json, "data.data")), 1);
    hresp_free(&r);
    CHECK_EQ(snapshots_of(f, a), 0);
    CHECK_EQ(qemu_left(f, false), 1);
    /* and it forks live again */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/fork", a);
    CHECK(call(f, "POST", t, "{}", 200, &r));
    char c[64];
    snprintf(c, sizeof(c), "%s", jstr(r.json, "data.id") ? jstr(r.json, "data.id") : "");
    hresp_free(&r);
    CHECK(wait_status_ms(f, c, "running", 60000));
    CHECK(destroy(f, c));
    CHECK(destroy(f, a));
}

TEST_SLOW(live_fork_crash_while_stopped_leaves_source_running, 400)
{
    struct vfx f;
    if (vfx_start(&f))
        crash_body(&f, "livefork-stopped");
    vfx_end(&f);
}

TEST_SLOW(live_fork_crash_before_children_leaves_no_snapshot, 400)
{
    struct vfx f;
    if (vfx_start(&f))
        crash_body(&f, "livefork-before-children");
    vfx_end(&f);
}
