/* SPDX-License-Identifier: MIT */
/* test_processes_vm.c: managed processes through real HTTP against `hearthd serve` with real
 * microVMs (docs/api.md §3.11): every bad input of the ten routes (400/404/409/413, never a
 * 5xx); then, on one VM, a job re-attached with after= replaying exactly the missed bytes, a
 * PTY resize seen by `stty size`, Ctrl-C through signal and through input, wait leader/tree,
 * DELETE with grace, the 409s of a process's state, a gap past a small ring and heartbeats,
 * the 64-process limit, a flood with a slow client that neither grows hearthd nor stalls it,
 * pause/resume, a hearthd restart and a fork whose child has running copies. */
#include "apitest.h"
#include "vmfx.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "common/b64.h"
#include "common/buf.h"

#define SMALL "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"minimal\"}"
/* buf_append() wants its result used; a test that runs out of memory fails anyway */
#define APPEND(b, p, n)                                                                          \
    do {                                                                                         \
        if (buf_append((b), (p), (n)) < 0)                                                       \
            harness_fail(__FILE__, __LINE__, "out of memory");                                   \
    } while (0)
#define NOPID "proc_01ARZ3NDEKTSV4RRFFQ69G5FAV"

/* method on /v1/sandboxes/{id}/processes<suffix>; want the status. */
static bool pcall(struct vfx *f, const char *id, const char *method, const char *suffix,
                  const char *body, int want, struct hresp *r)
{
    char t[512];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/processes%s", id, suffix);
    return call(f, method, t, body, want, r);
}

/* The same, checking a 400 that names field. */
static void bad(struct vfx *f, const char *id, const char *method, const char *suffix,
                const char *body, const char *field)
{
    struct hresp r;
    if (!pcall(f, id, method, suffix, body, 400, &r))
        return;
    if (field && !json_object_get(jpath(r.json, "data"), field))
        harness_fail(__FILE__, __LINE__, "%s %s %s: 400 without %s: %s", method, suffix,
                     body ? body : "", field, r.body);
    hresp_free(&r);
}

/* Starts body; the process id in pid. */
static bool start(struct vfx *f, const char *id, const char *body, char pid[64])
{
    struct hresp r;
    REQUIRE(pcall(f, id, "POST", "", body, 200, &r));
    snprintf(pid, 64, "%s", jstr(r.json, "data.process_id") ? jstr(r.json, "data.process_id")
                                                              : "");
    hresp_free(&r);
    REQUIRE(strncmp(pid, "proc_", 5) == 0);
    return true;
}

/* GET …/wait; the record in *ret (caller decrefs). */
static json_t *wait_proc(struct vfx *f, const char *id, const char *pid, const char *query)
{
    char s[256];
    struct hresp r;
    snprintf(s, sizeof(s), "/%s/wait?%s", pid, query);
    if (!pcall(f, id, "GET", s, NULL, 200, &r))
        return NULL;
    json_t *d = json_incref(jpath(r.json, "data"));
    hresp_free(&r);
    return d;
}

static bool input(struct vfx *f, const char *id, const char *pid, const char *bytes, int want)
{
    char b64[512], body[600], s[128];
    b64_encode((const uint8_t *)bytes, strlen(bytes), b64);
    snprintf(body, sizeof(body), "{\"data_base64\":\"%s\"}", b64);
    snprintf(s, sizeof(s), "/%s/input", pid);
    struct hresp r;
    REQUIRE(pcall(f, id, "POST", s, body, want, &r));
    hresp_free(&r);
    return true;
}

/* ---- a connect client: chunked NDJSON read line by line ---- */

struct conn {
    int fd;
    struct buf in;      /* raw bytes not yet parsed */
    struct buf body;    /* de-chunked bytes not yet returned as lines */
    bool head_done, ended;
    int status;
};

static bool conn_open(struct vfx *f, struct conn *c, const char *target, int rcvbuf)
{
    memset(c, 0, sizeof(*c));
    buf_init(&c->in, 64 << 20);
    buf_init(&c->body, 64 << 20);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(c->fd >= 0);
    if (rcvbuf)
        setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(f->s.port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    char head[1024];
    int n = snprintf(head, sizeof(head), "GET %s HTTP/1.1\r\nHost: x\r\n%sConnection: close\r\n\r\n",
                     target, f->hdr);
    REQUIRE(write(c->fd, head, (size_t)n) == n);
    return true;
}

static void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    buf_release(&c->in);
    buf_release(&c->body);
}

/* Moves what is complete in c->in to c->body. */
static void conn_parse(struct conn *c)
{
    for (;;) {
        char *d = (char *)c->in.data;
        size_t n = c->in.len;
        if (!c->head_done) {
            char *e = memmem(d, n, "\r\n\r\n", 4);
            if (!e)
                return;
            c->status = atoi(d + 9);
            c->head_done = true;
            size_t used = (size_t)(e + 4 - d);
            memmove(d, d + used, n - used);
            c->in.len -= used;
            continue;
        }
        char *crlf = memmem(d, n, "\r\n", 2);
        if (!crlf)
            return;
        size_t sz = strtoul(d, NULL, 16), hl = (size_t)(crlf + 2 - d);
        if (n < hl + sz + 2)
            return;
        if (sz == 0)
            c->ended = true;
        APPEND(&c->body, d + hl, sz);
        memmove(d, d + hl + sz + 2, n - hl - sz - 2);
        c->in.len -= hl + sz + 2;
        if (c->ended)
            return;
    }
}

/* The next NDJSON event (caller decrefs), or NULL at the end or after timeout_ms. */
static json_t *conn_next(struct conn *c, int timeout_ms)
{
    int64_t until = (int64_t)time(NULL) * 1000 + timeout_ms;
    for (;;) {
        char *nl = c->body.len ? memchr(c->body.data, '\n', c->body.len) : NULL;
        if (nl) {
            size_t ll = (size_t)(nl - (char *)c->body.data);
            json_t *j = json_loadb((const char *)c->body.data, ll, 0, NULL);
            memmove(c->body.data, nl + 1, c->body.len - ll - 1);
            c->body.len -= ll + 1;
            return j;
        }
        if (c->ended || (int64_t)time(NULL) * 1000 > until)
            return NULL;
        struct pollfd p = { .fd = c->fd, .events = POLLIN };
        if (poll(&p, 1, 200) <= 0)
            continue;
        char tmp[65536];
        ssize_t r = read(c->fd, tmp, sizeof(tmp));
        if (r <= 0) {
            c->ended = true;
            continue;
        }
        APPEND(&c->in, tmp, (size_t)r);
        conn_parse(c);
    }
}

/* Reads events until exit or end: the decoded data (appended to out), the last seq, and the
 * exit event (caller decrefs; NULL when none). */
static json_t *conn_drain(struct conn *c, struct buf *out, long long *last_seq, int timeout_ms)
{
    json_t *ev;
    while ((ev = conn_next(c, timeout_ms))) {
        const char *type = jstr(ev, "type");
        if (type && strcmp(type, "data") == 0) {
            const char *b = jstr(ev, "data_base64");
            uint8_t tmp[70000];
            ssize_t n = b64_decode(b, strlen(b), tmp);
            if (n >= 0)
                APPEND(out, tmp, (size_t)n);
            *last_seq = jint(ev, "seq");
        } else if (type && strcmp(type, "exit") == 0) {
            return ev;
        }
        json_decref(ev);
    }
    return NULL;
}

static long vm_rss_kb(pid_t pid)
{
    char p[64], line[256];
    snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
    FILE *fp = fopen(p, "r");
    long kb = -1;
    while (fp && fgets(line, sizeof(line), fp))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (fp)
        fclose(fp);
    return kb;
}

/* ---- bad input: answered before the agent is asked ---- */

static void bad_input_body(struct vfx *f)
{
    char id[64], s[256];
    struct hresp r;
    CHECK(create(f, SMALL, id));
    /* POST bodies */
    bad(f, id, "POST", "", "[1]", "body");
    bad(f, id, "POST", "", "{}", "cmd");
    bad(f, id, "POST", "", "{\"cmd\":\"\"}", "cmd");
    bad(f, id, "POST", "", "{\"cmd\":7}", "cmd");
    bad(f, id, "POST", "", "{\"cmd\":\"ls\",\"args\":\"-l\"}", "args");
    bad(f, id, "POST", "", "{\"cmd\":\"ls\",\"args\":[1]}", "args[0]");
    bad(f, id, "POST", "", "{\"pty\":{},\"args\":[\"x\"]}", "args");
    bad(f, id, "POST", "", "{\"cmd\":\"ls\",\"cwd\":\"tmp\"}", "cwd");
    bad(f, id, "POST", "", "{\"cmd\":\"ls\",\"env\":[]}", "env");
    bad(f, id, "POST", "", "{\"cmd\":\"ls\",\"env\":{\"1X\":\"a\"}}", "env.1X");
    bad(f, id, "POST", "", "{\"cmd\":\"ls\",\"env\":{\"X\":1}}", "env.X");
    bad(f, id, "POST", "", "{\"cmd\":\"ls\",\"env\":{\"X\":\"a\\u0000b\"}}", "env.X");
    bad(f, id, "POST", "", "{\"cmd\":\"ls\",\"pty\":true}", "pty");
    bad(f, id, "POST", "", "{\"pty\":{\"rows\":0}}", "pty.rows");
    bad(f, id, "POST", "", "{\"pty\":{\"rows\":-3}}", "pty.rows");
    bad(f, id, "POST", "", "{\"pty\":{\"cols\":1001}}", "pty.cols");
    bad(f, id, "POST", "", "{\"pty\":{\"cols\":\"80\"}}", "pty.cols");
    bad(f, id, "POST", "", "{\"pty\":{\"rows\":1e3}}", "pty.rows");
    {
        /* 65 env entries; one value over 4096 bytes */
        json_t *env = json_object();
        for (int i = 0; i < 65; i++) {
            char k[16];
            snprintf(k, sizeof(k), "K%d", i);
            json_object_set_new(env, k, json_string("v"));
        }
        char *b = json_dumps(json_pack("{s:s,s:o}", "cmd", "ls", "env", env), JSON_COMPACT);
        bad(f, id, "POST", "", b, "env");
        free(b);
        char *big = malloc(5000);
        memset(big, 'v', 4999);
        big[4999] = '\0';
        b = json_dumps(json_pack("{s:s,s:{s:s}}", "cmd", "ls", "env", "BIG", big), JSON_COMPACT);
        bad(f, id, "POST", "", b, "env.BIG");
        free(b);
        free(big);
    }
    /* malformed process ids: 404 before anything else */
    CHECK(pcall(f, id, "GET", "/nope", NULL, 404, &r));
    CHECK_STR(jstr(r.json, "data"), "process not found");
    hresp_free(&r);
    CHECK(pcall(f, id, "GET", "/proc_../connect", NULL, 404, &r));
    hresp_free(&r);
    CHECK(pcall(f, id, "DELETE", "/proc_1", NULL, 404, &r));
    hresp_free(&r);
    /* bodies and queries of the other routes */
    snprintf(s, sizeof(s), "/%s/signal", NOPID);
    bad(f, id, "POST", s, "{\"signal\":\"SIGSTOP\"}", "signal");
    bad(f, id, "POST", s, "{\"signal\":\"TERM\"}", "signal");
    bad(f, id, "POST", s, "{\"signal\":9}", "signal");
    bad(f, id, "POST", s, "{}", "signal");
    snprintf(s, sizeof(s), "/%s/resize", NOPID);
    bad(f, id, "POST", s, "{\"rows\":24}", "cols");
    bad(f, id, "POST", s, "{\"rows\":0,\"cols\":80}", "rows");
    bad(f, id, "POST", s, "{\"rows\":24,\"cols\":-1}", "cols");
    bad(f, id, "POST", s, "{\"rows\":24,\"cols\":1001}", "cols");
    snprintf(s, sizeof(s), "/%s/input", NOPID);
    bad(f, id, "POST", s, "{}", "data_base64");
    bad(f, id, "POST", s, "{\"data_base64\":\"abc\"}", "data_base64");
    bad(f, id, "POST", s, "{\"data_base64\":\"ab c\"}", "data_base64");
    bad(f, id, "POST", s, "{\"data_base64\":\"a===\"}", "data_base64");
    bad(f, id, "POST", s, "{\"data_base64\":\"QQ=A\"}", "data_base64");
    bad(f, id, "POST", s, "{\"data_base64\":\"QR==\"}", "data_base64"); /* bits under pad */
    {
        /* 1 MiB + 3 bytes decoded */
        size_t n = B64_ENC_LEN((1u << 20) + 3);
        char *b = malloc(n + 32);
        memcpy(b, "{\"data_base64\":\"", 16);
        memset(b + 16, 'A', n);
        memcpy(b + 16 + n, "\"}", 3);
        bad(f, id, "POST", s, b, "data_base64");
        free(b);
    }
    snprintf(s, sizeof(s), "/%s/wait?scope=all", NOPID);
    bad(f, id, "GET", s, NULL, "scope");
    snprintf(s, sizeof(s), "/%s/wait?timeout_ms=-1", NOPID);
    bad(f, id, "GET", s, NULL, "timeout_ms");
    snprintf(s, sizeof(s), "/%s/wait?timeout_ms=300001", NOPID);
    bad(f, id, "GET", s, NULL, "timeout_ms");
    snprintf(s, sizeof(s), "/%s?grace_ms=60001", NOPID);
    bad(f, id, "DELETE", s, NULL, "grace_ms");
    snprintf(s, sizeof(s), "/%s?grace_ms=x", NOPID);
    bad(f, id, "DELETE", s, NULL, "grace_ms");
    snprintf(s, sizeof(s), "/%s/connect?after=-1", NOPID);
    bad(f, id, "GET", s, NULL, "after");
    snprintf(s, sizeof(s), "/%s/connect?follow=maybe", NOPID);
    bad(f, id, "GET", s, NULL, "follow");
    /* an oversized body: 413 from the HTTP layer */
    {
        size_t n = 9u << 20;
        char *b = malloc(n + 1);
        memset(b, ' ', n);
        b[n] = '\0';
        b[0] = '{';
        b[n - 1] = '}';
        CHECK(pcall(f, id, "POST", "", b, 413, &r));
        hresp_free(&r);
        free(b);
    }
    /* another sandbox's routes: unknown 404; a paused one 409 */
    CHECK(call(f, "GET", "/v1/sandboxes/sb-01ARZ3NDEKTSV4RRFFQ69G5FAV/processes", NULL, 404, &r));
    hresp_free(&r);
    snprintf(s, sizeof(s), "/v1/sandboxes/%s/pause", id);
    CHECK(call(f, "POST", s, NULL, 202, &r));
    hresp_free(&r);
    char st[32];
    for (int i = 0; i < 3000 && strcmp(status_of(f, id, st), "paused") != 0; i++)
        usleep(10 * 1000);
    CHECK(pcall(f, id, "GET", "", NULL, 409, &r));
    CHECK_STR(jstr(r.json, "data.code"), "invalid_state");
    CHECK_STR(jstr(r.json, "data.state"), "paused");
    hresp_free(&r);
    CHECK(pcall(f, id, "POST", "", "{\"cmd\":\"ls\"}", 409, &r));
    hresp_free(&r);
    CHECK(destroy(f, id));
}

TEST_SLOW(process_bad_input, 300)
{
    struct vfx f;
    if (!vfx_start(&f))
        return;
    bad_input_body(&f);
    vfx_end(&f);
}

/* ---- one VM, end to end (needs the agent's managed processes) ---- */

/* A job re-attached with after= replays exactly the bytes missed while no client was there. */
static void replay_body(struct vfx *f, const char *id)
{
    char pid[64], t[256];
    CHECK(start(f, id, "{\"cmd\":\"sh\",\"args\":[\"-c\",\"i=0; while [ $i -lt 300 ]; do "
                       "i=$((i+1)); echo line$i; sleep 0.01; done\"]}", pid));
    struct conn c;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/processes/%s/connect", id, pid);
    CHECK(conn_open(f, &c, t, 0));
    struct buf first, rest;
    buf_init(&first, 1 << 20);
    buf_init(&rest, 1 << 20);
    long long seq = 0;
    json_t *ev = NULL;
    while (first.len < 40 && (ev = conn_next(&c, 30000))) {
        if (jstr(ev, "type") && strcmp(jstr(ev, "type"), "data") == 0) {
            uint8_t tmp[70000];
            const char *b = jstr(ev, "data_base64");
            ssize_t n = b64_decode(b, strlen(b), tmp);
            if (n > 0)
                APPEND(&first, tmp, (size_t)n);
            seq = jint(ev, "seq");
        }
        json_decref(ev);
    }
    conn_close(&c); /* the client goes away; the job goes on */
    json_decref(wait_proc(f, id, pid, "timeout_ms=60000"));
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/processes/%s/connect?after=%lld", id, pid, seq);
    CHECK(conn_open(f, &c, t, 0));
    long long last = 0;
    ev = conn_drain(&c, &rest, &last, 30000);
    CHECK(ev != NULL);
    CHECK_EQ(jint(ev, "exit_code"), 0);
    json_decref(ev);
    conn_close(&c);
    /* first + rest is every line exactly once */
    struct buf all;
    buf_init(&all, 1 << 20);
    APPEND(&all, first.data, first.len);
    APPEND(&all, rest.data, rest.len);
    struct buf want;
    buf_init(&want, 1 << 20);
    for (int i = 1; i <= 300; i++) {
        char l[32];
        int n = snprintf(l, sizeof(l), "line%d\n", i);
        APPEND(&want, l, (size_t)n);
    }
    CHECK_EQ(all.len, want.len);
    CHECK(memcmp(all.data, want.data, want.len) == 0);
    buf_release(&first);
    buf_release(&rest);
    buf_release(&all);
    buf_release(&want);
}

/* stty size after a resize; Ctrl-C through input and through signal. */
static void pty_body(struct vfx *f, const char *id)
{
    char pid[64], s[160], t[256];
    struct hresp r;
    CHECK(start(f, id, "{\"pty\":{\"rows\":24,\"cols\":80},\"cmd\":\"sh\"}", pid));
    snprintf(s, sizeof(s), "/%s/resize", pid);
    CHECK(pcall(f, id, "POST", s, "{\"rows\":33,\"cols\":111}", 200, &r));
    hresp_free(&r);
    CHECK(input(f, id, pid, "stty size; exit 3\n", 200));
    json_t *d = wait_proc(f, id, pid, "timeout_ms=30000");
    CHECK(d && json_is_true(json_object_get(d, "leader_exited")));
    CHECK_EQ(jint(d, "exit_code"), 3);
    CHECK_STR(jstr(d, "kind"), "pty");
    json_decref(d);
    struct conn c;
    struct buf out;
    buf_init(&out, 1 << 20);
    long long last = 0;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/processes/%s/connect?follow=false", id, pid);
    CHECK(conn_open(f, &c, t, 0));
    json_decref(conn_drain(&c, &out, &last, 30000));
    conn_close(&c);
    CHECK(out.len && memmem(out.data, out.len, "33 111", 6) != NULL);
    buf_release(&out);
    /* the pty's own 409s: close_stdin on a pty, then input after the exit */
    snprintf(s, sizeof(s), "/%s/stdin/close", pid);
    CHECK(pcall(f, id, "POST", s, NULL, 409, &r));
    hresp_free(&r);
    CHECK(input(f, id, pid, "x", 409));
    /* Ctrl-C as a byte on the terminal */
    CHECK(start(f, id, "{\"pty\":{},\"cmd\":\"sleep\",\"args\":[\"1000\"]}", pid));
    usleep(300 * 1000);
    CHECK(input(f, id, pid, "\x03", 200));
    d = wait_proc(f, id, pid, "timeout_ms=30000");
    CHECK(d && json_is_true(json_object_get(d, "leader_exited")));
    CHECK_STR(jstr(d, "signal"), "SIGINT");
    CHECK_EQ(jint(d, "exit_code"), 130);
    json_decref(d);
    /* SIGINT through signal, on pipes; a resize of pipes is 409 */
    CHECK(start(f, id, "{\"cmd\":\"sleep\",\"args\":[\"1000\"]}", pid));
    snprintf(s, sizeof(s), "/%s/resize", pid);
    CHECK(pcall(f, id, "POST", s, "{\"rows\":10,\"cols\":10}", 409, &r));
    CHECK_STR(jstr(r.json, "data.code"), "invalid_state");
    hresp_free(&r);
    snprintf(s, sizeof(s), "/%s/signal", pid);
    CHECK(pcall(f, id, "POST", s, "{\"signal\":\"SIGINT\"}", 200, &r));
    hresp_free(&r);
    d = wait_proc(f, id, pid, "scope=tree&timeout_ms=30000");
    CHECK(d && json_is_true(json_object_get(d, "tree_exited")));
    CHECK_STR(jstr(d, "signal"), "SIGINT");
    CHECK_STR(jstr(d, "state"), "exited");
    json_decref(d);
    CHECK(pcall(f, id, "POST", s, "{\"signal\":\"SIGTERM\"}", 409, &r)); /* tree gone */
    hresp_free(&r);
}

/* wait leader vs tree; stdin and its 409; DELETE with grace; spawn_failed; unknown ids. */
static void control_body(struct vfx *f, const char *id)
{
    char pid[64], s[160];
    struct hresp r;
    CHECK(start(f, id, "{\"cmd\":\"sh\",\"args\":[\"-c\",\"sleep 3 & exit 0\"]}", pid));
    json_t *d = wait_proc(f, id, pid, "scope=leader&timeout_ms=30000");
    CHECK(d && json_is_true(json_object_get(d, "leader_exited")));
    CHECK(!json_is_true(json_object_get(d, "tree_exited")));
    json_decref(d);
    d = wait_proc(f, id, pid, "scope=tree&timeout_ms=30000");
    CHECK(d && json_is_true(json_object_get(d, "tree_exited")));
    json_decref(d);
    /* cat echoes its input; close-stdin ends it; input afterwards is 409 */
    CHECK(start(f, id, "{\"cmd\":\"cat\"}", pid));
    CHECK(input(f, id, pid, "hello\n", 200));
    snprintf(s, sizeof(s), "/%s/stdin/close", pid);
    CHECK(pcall(f, id, "POST", s, NULL, 200, &r));
    hresp_free(&r);
    CHECK(pcall(f, id, "POST", s, NULL, 200, &r)); /* idempotent */
    hresp_free(&r);
    snprintf(s, sizeof(s), "/%s/input", pid);
    CHECK(pcall(f, id, "POST", s, "{\"data_base64\":\"eA==\"}", 409, &r));
    CHECK_STR(jstr(r.json, "data.code"), "invalid_state");
    hresp_free(&r);
    d = wait_proc(f, id, pid, "timeout_ms=30000");
    CHECK(d && jint(d, "exit_code") == 0 && jint(d, "output.bytes") == 6);
    json_decref(d);
    /* DELETE: a tree that ignores SIGTERM is killed after the grace */
    CHECK(start(f, id, "{\"cmd\":\"sh\",\"args\":[\"-c\",\"trap '' TERM; sleep 1000\"]}", pid));
    usleep(300 * 1000);
    snprintf(s, sizeof(s), "/%s?grace_ms=500", pid);
    CHECK(pcall(f, id, "DELETE", s, NULL, 200, &r));
    CHECK(json_is_true(jpath(r.json, "data.tree_exited")));
    hresp_free(&r);
    snprintf(s, sizeof(s), "/%s", pid);
    CHECK(pcall(f, id, "GET", s, NULL, 404, &r));
    CHECK_STR(jstr(r.json, "data"), "process not found");
    hresp_free(&r);
    /* commands that cannot start */
    CHECK(pcall(f, id, "POST", "", "{\"cmd\":\"/no/such/program\"}", 400, &r));
    CHECK_STR(jstr(r.json, "data.code"), "spawn_failed");
    CHECK(jstr(r.json, "data.cmd") != NULL);
    hresp_free(&r);
    CHECK(pcall(f, id, "POST", "", "{\"cmd\":\"ls\",\"cwd\":\"/no/such/dir\"}", 400, &r));
    CHECK_STR(jstr(r.json, "data.code"), "spawn_failed");
    hresp_free(&r);
    /* well-formed but unknown ids: 404 on every route */
    static const char *const routes[][3] = {
        { "GET", "", NULL }, { "DELETE", "", NULL }, { "GET", "/connect", NULL },
        { "GET", "/wait?timeout_ms=0", NULL }, { "POST", "/stdin/close", NULL },
        { "POST", "/input", "{\"data_base64\":\"\"}" },
        { "POST", "/resize", "{\"rows\":5,\"cols\":5}" },
        { "POST", "/signal", "{\"signal\":\"SIGTERM\"}" },
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        snprintf(s, sizeof(s), "/%s%s", NOPID, routes[i][1]);
        CHECK(pcall(f, id, routes[i][0], s, routes[i][2], 404, &r));
        hresp_free(&r);
    }
}

/* A ring of 256 KiB (process_output_bytes): 1 MB of output leaves a gap, reported first;
 * a silent process gets heartbeats. */
static void gap_heartbeat_body(struct vfx *f, const char *id)
{
    char pid[64], t[256], s[160];
    struct hresp r;
    CHECK(start(f, id, "{\"cmd\":\"sh\",\"args\":[\"-c\",\"head -c 1000000 /dev/zero\"]}",
                pid));
    json_decref(wait_proc(f, id, pid, "timeout_ms=60000"));
    snprintf(s, sizeof(s), "/%s", pid);
    CHECK(pcall(f, id, "GET", s, NULL, 200, &r));
    CHECK(jint(r.json, "data.output.bytes") <= 262144);
    CHECK(jint(r.json, "data.output.oldest_seq") > 1);
    hresp_free(&r);
    struct conn c;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/processes/%s/connect?follow=false", id, pid);
    CHECK(conn_open(f, &c, t, 0));
    json_t *ev = conn_next(&c, 30000);
    CHECK(ev && jstr(ev, "type") && strcmp(jstr(ev, "type"), "error") == 0);
    CHECK(jint(ev, "oldest_available_seq") > 1);
    CHECK(strstr(jstr(ev, "error"), "was discarded") != NULL);
    json_decref(ev);
    struct buf out;
    buf_init(&out, 1 << 20);
    long long last = 0;
    ev = conn_drain(&c, &out, &last, 30000);
    CHECK(ev != NULL); /* the exit event ends a replay of an exited process */
    json_decref(ev);
    CHECK(out.len > 0 && out.len <= 262144);
    buf_release(&out);
    conn_close(&c);
    /* silence: a heartbeat within 5 s (and some slack) */
    CHECK(start(f, id, "{\"cmd\":\"sleep\",\"args\":[\"1000\"]}", pid));
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/processes/%s/connect", id, pid);
    CHECK(conn_open(f, &c, t, 0));
    ev = conn_next(&c, 15000);
    CHECK(ev && jstr(ev, "type") && strcmp(jstr(ev, "type"), "heartbeat") == 0);
    json_decref(ev);
    conn_close(&c);
    snprintf(s, sizeof(s), "/%s?grace_ms=0", pid);
    CHECK(pcall(f, id, "DELETE", s, NULL, 200, &r));
    hresp_free(&r);
}

/* 64 live processes, then 409 limit_reached; all stopped again. */
static void limit_body(struct vfx *f, const char *id)
{
    static char pids[64][64];
    struct hresp r;
    char s[160];
    for (int i = 0; i < 64; i++)
        CHECK(start(f, id, "{\"cmd\":\"sleep\",\"args\":[\"1000\"]}", pids[i]));
    CHECK(pcall(f, id, "POST", "", "{\"cmd\":\"sleep\",\"args\":[\"1000\"]}", 409, &r));
    CHECK_STR(jstr(r.json, "data.code"), "limit_reached");
    hresp_free(&r);
    CHECK(pcall(f, id, "GET", "", NULL, 200, &r));
    CHECK(json_array_size(jpath(r.json, "data.processes")) >= 64);
    /* newest first */
    CHECK_STR(jstr(r.json, "data.processes.0.process_id"), pids[63]);
    hresp_free(&r);
    for (int i = 0; i < 64; i++) {
        snprintf(s, sizeof(s), "/%s?grace_ms=0", pids[i]);
        CHECK(pcall(f, id, "DELETE", s, NULL, 200, &r));
        hresp_free(&r);
    }
}

/* `yes` with a client that does not read: hearthd's memory stays put and it keeps answering. */
static void flood_body(struct vfx *f, const char *id)
{
    char pid[64], t[256];
    struct hresp r;
    CHECK(start(f, id, "{\"cmd\":\"yes\"}", pid));
    long before = vm_rss_kb(f->s.pid);
    struct conn c;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/processes/%s/connect", id, pid);
    CHECK(conn_open(f, &c, t, 4096));
    for (int i = 0; i < 10; i++) {
        snprintf(t, sizeof(t), "/v1/sandboxes/%s", id);
        CHECK(call(f, "GET", t, NULL, 200, &r)); /* the loop answers meanwhile */
        hresp_free(&r);
        sleep(1);
    }
    long after = vm_rss_kb(f->s.pid);
    fprintf(stderr, "hearthd VmRSS %ld kB before, %ld kB after 10 s of a stalled flood\n",
            before, after);
    CHECK(before > 0 && after - before < 64 * 1024);
    /* the client reads a little: the stream still moves */
    json_t *ev = conn_next(&c, 30000);
    CHECK(ev && jstr(ev, "type"));
    json_decref(ev);
    conn_close(&c);
    snprintf(t, sizeof(t), "/%s?grace_ms=0", pid);
    CHECK(pcall(f, id, "DELETE", t, NULL, 200, &r));
    hresp_free(&r);
}

/* Polls until sandbox id is want (<= 120 s). */
static bool wait_sb(struct vfx *f, const char *id, const char *want)
{
    char st[32];
    for (int i = 0; i < 12000 && strcmp(status_of(f, id, st), want) != 0; i++)
        usleep(10 * 1000);
    if (strcmp(st, want) != 0)
        harness_fail(__FILE__, __LINE__, "%s is %s, want %s", id, st, want);
    return strcmp(st, want) == 0;
}

/* GET the process in sandbox id: running, and newest_seq past *seq (updated). */
static bool still_running(struct vfx *f, const char *id, const char *pid, long long *seq)
{
    char s[160];
    struct hresp r;
    snprintf(s, sizeof(s), "/%s", pid);
    REQUIRE(pcall(f, id, "GET", s, NULL, 200, &r));
    bool ok = jstr(r.json, "data.state") && strcmp(jstr(r.json, "data.state"), "running") == 0 &&
              jint(r.json, "data.output.newest_seq") > *seq;
    if (!ok)
        harness_fail(__FILE__, __LINE__, "%s in %s: %.300s (seq was %lld)", pid, id, r.body,
                     *seq);
    *seq = jint(r.json, "data.output.newest_seq");
    hresp_free(&r);
    return ok;
}

/* A hearthd restart, pause/resume and a fork: the process and its output are still there, and
 * the fork's child has a running copy (docs/api.md §3.11). */
static void survive_body(struct vfx *f, const char *id)
{
    char pid[64], s[256], child[64];
    struct hresp r;
    long long seq = 0;
    CHECK(start(f, id, "{\"cmd\":\"sh\",\"args\":[\"-c\",\"while :; do echo tick; sleep 0.2; "
                       "done\"]}", pid));
    usleep(600 * 1000);
    CHECK(still_running(f, id, pid, &seq));
    CHECK(crash_restart(f));
    usleep(600 * 1000);
    CHECK(still_running(f, id, pid, &seq));
    snprintf(s, sizeof(s), "/v1/sandboxes/%s/pause", id);
    CHECK(call(f, "POST", s, NULL, 202, &r));
    hresp_free(&r);
    CHECK(wait_sb(f, id, "paused"));
    snprintf(s, sizeof(s), "/v1/sandboxes/%s/fork", id);
    CHECK(http_do(f->s.port, "POST", s, f->hdr, "{}", &r) == 0);
    CHECK(r.status == 200 || r.status == 202);
    snprintf(child, sizeof(child), "%s", jstr(r.json, "data.id") ? jstr(r.json, "data.id") : "");
    hresp_free(&r);
    snprintf(s, sizeof(s), "/v1/sandboxes/%s/resume", id);
    CHECK(call(f, "POST", s, NULL, 202, &r));
    hresp_free(&r);
    CHECK(wait_sb(f, id, "running"));
    usleep(600 * 1000);
    CHECK(still_running(f, id, pid, &seq));
    CHECK(wait_sb(f, child, "running"));
    usleep(600 * 1000);
    long long cseq = 0;
    CHECK(still_running(f, child, pid, &cseq));
    CHECK(destroy(f, child));
}

static void e2e_body(struct vfx *f)
{
    char id[64];
    CHECK(create(f, SMALL, id));
    replay_body(f, id);
    pty_body(f, id);
    control_body(f, id);
    gap_heartbeat_body(f, id);
    limit_body(f, id);
    flood_body(f, id);
    survive_body(f, id);
    CHECK(destroy(f, id));
}

TEST_SLOW(process_end_to_end, 900)
{
    struct vfx f;
    if (!vfx_start_conf(&f, "process_output_bytes = 262144\n"))
        return;
    e2e_body(&f);
    vfx_end(&f);
}
