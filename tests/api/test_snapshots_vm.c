/* SPDX-License-Identifier: MIT */
/* test_snapshots_vm.c: snapshot-native sandboxes through real HTTP against `hearthd serve` with
 * real microVMs (docs/api.md §2.14, §3.3.1–§3.3.3): a process and files survive 100 pause/resume
 * cycles; forks of forks of forks, each paused and resumed, isolated from each other and with
 * their own hostname and entropy; creates from the golden snapshot; the guest clock after a 10 s
 * pause; pause, kill -9 of hearthd, restart, resume; a corrupted snapshot turns only its own
 * sandbox to `error`; the state machine's 200/202/409 answers and hostile fork bodies; snapshot
 * files removed once nothing depends on them. */
#include "apitest.h"
#include "vmfx.h"

#include <dirent.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define SMALL "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"minimal\"}"
#define COUNTER                                                                                  \
    "{\"cmd\":\"sh\",\"args\":[\"-c\",\"setsid sh -c 'i=0; while :; do i=$((i+1)); echo $i > "  \
    "/tmp/cnt; sleep 0.1; done' </dev/null >/dev/null 2>&1 & echo from-a > /root/mark; sync\"]}"

static long counter(struct vfx *f, const char *id)
{
    char out[64];
    return exec_sh_trim(f, id, "cat /tmp/cnt", out, sizeof(out)) ? strtol(out, NULL, 10) : -1;
}

/* Polls GET until status is want (≤ 30 s). */
static bool wait_status(struct vfx *f, const char *id, const char *want)
{
    return wait_status_ms(f, id, want, 30000);
}

/* POST /v1/sandboxes/{id}/<op> with body; want the status; the view's status in st. */
static bool op(struct vfx *f, const char *id, const char *what, const char *body, int want,
               char st[32])
{
    char t[160];
    struct hresp r;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/%s", id, what);
    REQUIRE(call(f, "POST", t, body, want, &r));
    if (st)
        snprintf(st, 32, "%s", jstr(r.json, "data.status") ? jstr(r.json, "data.status") : "");
    char poll[16];
    if (want == 202 && !hresp_header(&r, "X-Poll-After", poll, sizeof(poll)))
        harness_fail(__FILE__, __LINE__, "202 without X-Poll-After");
    hresp_free(&r);
    return true;
}

static bool pause_sb(struct vfx *f, const char *id)
{
    REQUIRE(op(f, id, "pause", NULL, 202, NULL));
    return wait_status(f, id, "paused");
}

static bool resume_sb(struct vfx *f, const char *id)
{
    REQUIRE(op(f, id, "resume", NULL, 202, NULL));
    return wait_status(f, id, "running");
}

/* POST …/fork with body; the child's id and status. */
static bool fork_sb(struct vfx *f, const char *src, const char *body, int want, char child[64],
                    char st[32])
{
    char t[160];
    struct hresp r;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/fork", src);
    REQUIRE(call(f, "POST", t, body, want, &r));
    if (child)
        snprintf(child, 64, "%s", jstr(r.json, "data.id") ? jstr(r.json, "data.id") : "");
    if (st)
        snprintf(st, 32, "%s", jstr(r.json, "data.status") ? jstr(r.json, "data.status") : "");
    if (want == 200 && (!jstr(r.json, "data.forked_from") ||
                        strcmp(jstr(r.json, "data.forked_from"), src) != 0))
        harness_fail(__FILE__, __LINE__, "forked_from is not %s", src);
    hresp_free(&r);
    return true;
}

/* POST …/exec of `echo tok` on id with a delegated token (docs/api.md §3.13): the status, and
 * the command's stdout in out when 200. */
static int token_exec(struct vfx *f, const char *tok, const char *id, char *out, size_t len)
{
    char t[160], h[160];
    struct hresp r;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/exec", id);
    snprintf(h, sizeof(h), "X-Access-Token: %s\r\n", tok);
    if (http_do(f->s.port, "POST", t, h, "{\"cmd\":\"echo\",\"args\":[\"tok\"]}", &r) != 0)
        return -1;
    const char *s = jstr(r.json, "data.result.stdout");
    snprintf(out, len, "%s", s && r.status == 200 ? s : "");
    int st = r.status;
    hresp_free(&r);
    return st;
}

/* Files under data/<sub> (recursive count of regular entries two levels deep). */
static int count_entries(struct vfx *f, const char *pattern)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", f->s.data, pattern);
    glob_t g;
    int n = glob(p, 0, NULL, &g) == 0 ? (int)g.gl_pathc : 0;
    globfree(&g);
    return n;
}

/* --- a process and files through 100 pause/resume cycles --- */

static void hundred_cycles_body(struct vfx *f)
{
    char a[64], st[32], out[4096];
    if (!create(f, SMALL, a))
        return;
    /* renamed into place: a read never sees the file truncated and empty */
    CHECK(exec_sh_trim(f, a, "setsid sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/cnt.t; "
                   "mv /tmp/cnt.t /tmp/cnt; sleep 0.1; done' </dev/null >/dev/null 2>&1 & true",
             out, sizeof(out)));
    CHECK(op(f, a, "resume", NULL, 200, st)); /* resume of a running sandbox: 200 */
    CHECK_STR(st, "running");
    long last = counter(f, a);
    for (int i = 1; i <= 100; i++) {
        char script[128];
        snprintf(script, sizeof(script), "echo %d >> /root/log", i);
        CHECK(exec_sh_trim(f, a, script, out, sizeof(out)));
        CHECK(op(f, a, "pause", NULL, 202, st));
        CHECK(strcmp(st, "pausing") == 0 || strcmp(st, "paused") == 0);
        if (!wait_status(f, a, "paused"))
            return;
        if (i == 1) {
            struct hresp r;
            CHECK(op(f, a, "pause", NULL, 200, st)); /* already paused: 200 */
            CHECK_STR(st, "paused");
            CHECK(exec_json(f, a, "{\"cmd\":\"true\"}", 409, &r));
            CHECK_STR(jstr(r.json, "data.code"), "invalid_state");
            hresp_free(&r);
        }
        if (!resume_sb(f, a))
            return;
        long now = counter(f, a);
        if (now < last) {
            harness_fail(__FILE__, __LINE__, "cycle %d: counter went back from %ld to %ld", i,
                         last, now);
            return;
        }
        last = now;
    }
    CHECK(exec_sh_trim(f, a, "wc -l < /root/log; sed -n '1p;100p' /root/log", out, sizeof(out)));
    CHECK_STR(out, "100\n1\n100");
    long before = counter(f, a);
    usleep(500 * 1000);
    CHECK(counter(f, a) > before); /* the process still runs */
    CHECK(destroy(f, a));
    CHECK_EQ(count_entries(f, "snapshots/*/*"), 0);
}

TEST_SLOW(pause_resume_100_cycles, 600)
{
    struct vfx f;
    if (!vfx_start(&f))
        return;
    hundred_cycles_body(&f);
    vfx_end(&f);
}

/* --- forks: generations, isolation, identity, golden creates --- */

static bool golden_ready(struct vfx *f)
{
    for (int i = 0; i < 300; i++) {
        if (count_entries(f, "golden/*/meta.json") > 0)
            return true;
        usleep(100 * 1000);
    }
    harness_fail(__FILE__, __LINE__, "no golden snapshot was built");
    return false;
}

/* Waits (≤ 30 s) until the paused sandbox id's snapshot has no parent any more, and checks
 * its disk's backing chain is the image alone. */
static bool flattened(struct vfx *f, const char *id)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/snapshots/%s/*/disk.qcow2", f->s.data, id);
    for (int i = 0; i < 300; i++) {
        glob_t g;
        char dir[512] = "";
        if (glob(p, 0, NULL, &g) == 0 && g.gl_pathc == 1)
            snprintf(dir, sizeof(dir), "%.*s", (int)(strlen(g.gl_pathv[0]) - 11),
                     g.gl_pathv[0]);
        globfree(&g);
        char parent[600];
        snprintf(parent, sizeof(parent), "%s/parent", dir);
        if (dir[0] && access(parent, F_OK) != 0) {
            char cmd[700], line[1024];
            snprintf(cmd, sizeof(cmd), "qemu-img info -U --backing-chain %s/disk.qcow2", dir);
            FILE *fp = popen(cmd, "r");
            int images = 0;
            while (fp && fgets(line, sizeof(line), fp))
                images += strncmp(line, "image:", 6) == 0;
            if (fp)
                pclose(fp);
            if (images != 2)
                harness_fail(__FILE__, __LINE__, "chain of %s has %d images, want 2", dir,
                             images);
            return images == 2;
        }
        usleep(100 * 1000);
    }
    harness_fail(__FILE__, __LINE__, "%s's snapshot was not flattened", id);
    return false;
}

static void forks_body(struct vfx *f)
{
    char a[64], b[64], c[64], d[64], e[64], st[32], out[4096], o2[4096];
    if (!create(f, SMALL, a))
        return;
    /* the first create booted cold and built the golden snapshot: the next ones restore it */
    if (!golden_ready(f))
        return;
    struct hresp r;
    CHECK(call(f, "POST", "/v1/sandboxes",
               "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"minimal\",\"name\":\"gold-one\"}", 200,
               &r));
    char g1[64];
    snprintf(g1, sizeof(g1), "%s", jstr(r.json, "data.id"));
    hresp_free(&r);
    CHECK(exec_sh_trim(f, g1, "hostname; cat /proc/uptime", out, sizeof(out)));
    CHECK(strncmp(out, "gold-one\n", 9) == 0);
    CHECK(destroy(f, g1));

    CHECK(exec_stdout(f, a, COUNTER, out, sizeof(out)));
    /* a delegated token of a: exec works on a (as the owner) */
    char tok[64] = "", ta[160];
    snprintf(ta, sizeof(ta), "/v1/sandboxes/%s/access-token", a);
    CHECK(call(f, "POST", ta, NULL, 200, &r));
    snprintf(tok, sizeof(tok), "%s", jstr(r.json, "data.token") ? jstr(r.json, "data.token") : "");
    hresp_free(&r);
    CHECK_EQ(token_exec(f, tok, a, out, sizeof(out)), 200);
    CHECK_STR(out, "tok\n");
    /* a fork of a running source (a live fork) is test_livefork_vm.c's */
    CHECK(pause_sb(f, a));
    /* hostile bodies: 400 naming the field, nothing created */
    CHECK(fork_sb(f, a, "{\"start_paused\":\"yes\"}", 400, NULL, NULL));
    CHECK(fork_sb(f, a, "{\"name\":\"bad name!\"}", 400, NULL, NULL));
    CHECK(fork_sb(f, a, "{\"bandwidth_quota_bytes\":0}", 400, NULL, NULL));
    CHECK(fork_sb(f, a, "{\"envs\":{\"1BAD\":\"x\"}}", 400, NULL, NULL));
    CHECK(fork_sb(f, a, "[1,2]", 400, NULL, NULL));
    CHECK(fork_sb(f, a, "{\"ssh_pubkeys\":[\"not a key\"]}", 400, NULL, NULL));
    CHECK(fork_sb(f, "sb-01J0000000000000000000000Z", "{}", 404, NULL, NULL));
    /* a running child and a paused one */
    CHECK(fork_sb(f, a, "{\"name\":\"gen-b\"}", 200, b, st));
    CHECK_STR(st, "running");
    CHECK(fork_sb(f, a, "{\"name\":\"gen-c\",\"start_paused\":true}", 200, c, st));
    CHECK_STR(st, "paused");
    /* a fork has no token, and a's does not open it */
    snprintf(ta, sizeof(ta), "/v1/sandboxes/%s/access-token", b);
    CHECK(call(f, "GET", ta, NULL, 200, &r));
    CHECK(json_is_false(jpath(r.json, "data.enabled")));
    hresp_free(&r);
    CHECK_EQ(token_exec(f, tok, b, out, sizeof(out)), 404);
    CHECK_STR(status_of(f, a, st), "paused"); /* the source is untouched */
    /* the child has the source's memory (a live process) and files */
    CHECK(exec_sh_trim(f, b, "cat /root/mark; hostname", out, sizeof(out)));
    CHECK_STR(out, "from-a\ngen-b");
    long b1 = counter(f, b);
    usleep(400 * 1000);
    CHECK(counter(f, b) > b1);
    CHECK(exec_sh_trim(f, b, "echo from-b > /root/mark; echo b > /root/only-b; sync", out, sizeof(out)));
    CHECK(resume_sb(f, c));
    CHECK(exec_sh_trim(f, c, "cat /root/mark; ls /root/only-b 2>&1 >/dev/null | wc -l; hostname", out,
             sizeof(out)));
    CHECK_STR(out, "from-a\n1\ngen-c");
    /* entropy: clones of one snapshot read different random bytes */
    CHECK(exec_sh_trim(f, b, "head -c 16 /dev/urandom | od -An -tx1", out, sizeof(out)));
    CHECK(exec_sh_trim(f, c, "head -c 16 /dev/urandom | od -An -tx1", o2, sizeof(o2)));
    CHECK(strlen(out) > 16 && strcmp(out, o2) != 0);
    /* processes are isolated: killing the counter in c leaves b's */
    CHECK(exec_sh_trim(f, c, "pkill -f 'echo \\$i' ; pkill sleep; sleep 0.3; a=$(cat /tmp/cnt); sleep 0.3; "
                   "b=$(cat /tmp/cnt); [ \"$a\" = \"$b\" ] && echo stopped",
             out, sizeof(out)));
    b1 = counter(f, b);
    usleep(400 * 1000);
    CHECK(counter(f, b) > b1);
    /* a fork of a fork of a fork, every generation paused and resumed */
    CHECK(pause_sb(f, b));
    CHECK(fork_sb(f, b, "{\"name\":\"gen-d\"}", 200, d, st));
    CHECK(exec_sh_trim(f, d, "cat /root/mark /root/only-b", out, sizeof(out)));
    CHECK_STR(out, "from-b\nb");
    CHECK(pause_sb(f, d));
    CHECK(fork_sb(f, d, "{\"name\":\"gen-e\"}", 200, e, st));
    CHECK(exec_sh_trim(f, e, "echo e >> /root/only-b; cat /root/only-b", out, sizeof(out)));
    CHECK_STR(out, "b\ne");
    CHECK(pause_sb(f, e));
    /* e's disk sat on d's, b's and a's snapshots: it is flattened in the background onto the
     * image alone, and e's content is unchanged */
    CHECK(flattened(f, e));
    CHECK(resume_sb(f, e));
    CHECK(resume_sb(f, d));
    CHECK(resume_sb(f, b));
    CHECK(exec_sh_trim(f, d, "cat /root/only-b", out, sizeof(out)));
    CHECK_STR(out, "b"); /* e's write stayed e's */
    long e1 = counter(f, e);
    usleep(400 * 1000);
    CHECK(counter(f, e) > e1); /* a's process, three generations down */
    CHECK(resume_sb(f, a));
    CHECK(exec_sh_trim(f, a, "cat /root/mark", out, sizeof(out)));
    CHECK_STR(out, "from-a");
    /* a running source's resume: 200; destroying everything removes every snapshot */
    CHECK(op(f, a, "resume", NULL, 200, NULL));
    CHECK_EQ(token_exec(f, tok, a, out, sizeof(out)), 200);
    const char *all[] = { a, b, c, d, e };
    for (int i = 0; i < 5; i++)
        CHECK(destroy(f, all[i]));
    /* the destroyed sandbox's token died with it */
    CHECK_EQ(token_exec(f, tok, a, out, sizeof(out)), 401);
    CHECK_EQ(count_entries(f, "snapshots/*/*"), 0);
}

TEST_SLOW(fork_generations_isolated, 600)
{
    struct vfx f;
    if (!vfx_start(&f))
        return;
    forks_body(&f);
    vfx_end(&f);
}

/* --- the guest clock after a 10 s pause --- */

static void clock_body(struct vfx *f)
{
    char a[64], out[256];
    if (!create(f, SMALL, a))
        return;
    CHECK(pause_sb(f, a));
    sleep(10);
    CHECK(resume_sb(f, a));
    CHECK(exec_sh_trim(f, a, "date +%s", out, sizeof(out)));
    struct timeval tv;
    gettimeofday(&tv, NULL);
    long guest = strtol(out, NULL, 10);
    double host = (double)tv.tv_sec + tv.tv_usec / 1e6;
    if (!(guest >= (long)host - 1 && guest <= (long)host + 1))
        harness_fail(__FILE__, __LINE__, "guest clock %ld, host %.3f", guest, host);
    CHECK(destroy(f, a));
}

TEST_SLOW(clock_after_10s_pause, 180)
{
    struct vfx f;
    if (!vfx_start(&f))
        return;
    clock_body(&f);
    vfx_end(&f);
}

/* --- pause, kill -9 hearthd, restart, resume; a corrupt snapshot turns only its sandbox to
 * error --- */

static bool snapshot_state_path(struct vfx *f, const char *id, char *out, size_t len)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/snapshots/%s/*/state", f->s.data, id);
    glob_t g;
    bool ok = glob(p, 0, NULL, &g) == 0 && g.gl_pathc == 1;
    if (ok)
        snprintf(out, len, "%s", g.gl_pathv[0]);
    globfree(&g);
    return ok;
}

static void restart_and_corrupt_body(struct vfx *f)
{
    char x[64], y[64], st[32], out[256], state[512];
    if (!create(f, SMALL, x) || !create(f, SMALL, y))
        return;
    CHECK(exec_stdout(f, x, COUNTER, out, sizeof(out)));
    CHECK(exec_stdout(f, y, COUNTER, out, sizeof(out)));
    CHECK(pause_sb(f, x));
    CHECK(pause_sb(f, y));
    if (!crash_restart(f))
        return;
    CHECK_STR(status_of(f, x, st), "paused");
    CHECK_STR(status_of(f, y, st), "paused");
    CHECK_EQ(qemu_left(f, false), 0); /* a paused sandbox holds no QEMU */
    CHECK(resume_sb(f, x));
    CHECK(exec_sh_trim(f, x, "cat /root/mark", out, sizeof(out)));
    CHECK_STR(out, "from-a");
    long c1 = counter(f, x);
    usleep(300 * 1000);
    CHECK(counter(f, x) > c1);
    /* y's snapshot is damaged on disk: its resume ends in error, x runs on */
    CHECK(snapshot_state_path(f, y, state, sizeof(state)));
    FILE *fp = fopen(state, "r+");
    CHECK(fp != NULL);
    fseek(fp, 64, SEEK_SET);
    fputc(0xA5, fp);
    fclose(fp);
    CHECK(op(f, y, "resume", NULL, 202, NULL));
    CHECK(wait_status(f, y, "error"));
    CHECK(exec_sh_trim(f, x, "echo alive", out, sizeof(out)));
    CHECK_STR(out, "alive");
    /* error: resume may be tried again (202), and the sandbox can be destroyed */
    CHECK(op(f, y, "resume", NULL, 202, NULL));
    CHECK(wait_status(f, y, "error"));
    struct hresp r;
    char t[128];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/pause", y);
    CHECK(call(f, "POST", t, NULL, 409, &r));
    CHECK_STR(jstr(r.json, "data.state"), "error");
    hresp_free(&r);
    CHECK(destroy(f, y));
    CHECK(destroy(f, x));
    CHECK_EQ(count_entries(f, "snapshots/*/*"), 0);
}

TEST_SLOW(restart_resume_and_corrupt_snapshot, 400)
{
    struct vfx f;
    if (!vfx_start(&f))
        return;
    restart_and_corrupt_body(&f);
    vfx_end(&f);
}

/* --- auto-pause (§2.14.8): idle sandboxes pause themselves, active ones do not --- */

static void auto_pause_body(struct vfx *f)
{
    char idle[64], busy[64], off[64], st[32], out[256];
    if (!create(f, "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"minimal\","
                   "\"auto_pause_after_seconds\":60}",
                idle) ||
        !create(f, "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"minimal\","
                   "\"auto_pause_after_seconds\":60}",
                busy) ||
        !create(f, SMALL, off))
        return;
    CHECK(exec_stdout(f, idle, COUNTER, out, sizeof(out)));
    /* busy: an exec stream open for the whole idle period keeps it active */
    char t[160];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/exec?stream=true", busy);
    struct hresp r;
    int64_t t0 = (int64_t)time(NULL);
    CHECK(call(f, "POST", t, "{\"cmd\":\"sleep\",\"args\":[\"68\"]}", 200, &r));
    hresp_free(&r);
    /* the stream ended just now (after 68 s): idle was paused meanwhile, busy was not */
    CHECK(time(NULL) - t0 >= 67);
    CHECK_STR(status_of(f, idle, st), "paused");
    CHECK_STR(status_of(f, busy, st), "running");
    CHECK_STR(status_of(f, off, st), "running"); /* no auto-pause asked */
    /* the view and the event log say who paused it (docs/api.md §2.1, §5.6) */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", idle);
    if (call(f, "GET", t, NULL, 200, &r))
        CHECK_STR(jstr(r.json, "data.paused_by"), "auto_pause");
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/events", idle);
    if (call(f, "GET", t, NULL, 200, &r))
        CHECK(r.body && strstr(r.body, "\"kind\":\"paused\",\"actor\":\"auto_pause\""));
    hresp_free(&r);
    /* a paused-by-idleness sandbox resumes like any other, its process alive */
    CHECK(resume_sb(f, idle));
    long c1 = counter(f, idle);
    usleep(300 * 1000);
    CHECK(counter(f, idle) > c1);
    CHECK(destroy(f, idle));
    CHECK(destroy(f, busy));
    CHECK(destroy(f, off));
}

TEST_SLOW(auto_pause_when_idle, 240)
{
    struct vfx f;
    if (!vfx_start(&f))
        return;
    auto_pause_body(&f);
    vfx_end(&f);
}

/* --- waiting for a status (docs/api.md §5.10) --- */

/* A long poll parked before op (pause or resume) is answered with the settled view once the VM
 * got there; the op itself answers 200 (settled within the hold) or 202 (still moving). */
static bool op_wakes_waiter(struct vfx *f, const char *id, const char *what, const char *want)
{
    char t[200], buf[16384], st[32];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s?wait_for=%s&timeout_ms=60000", id, want);
    int fd = http_park(f->s.port, t, f->hdr);
    REQUIRE(fd >= 0);
    usleep(100 * 1000);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/%s", id, what);
    struct hresp r;
    REQUIRE(http_do(f->s.port, "POST", t, f->hdr, NULL, &r) == 0);
    snprintf(st, sizeof(st), "%s", jstr(r.json, "data.status") ? jstr(r.json, "data.status") : "");
    bool answered = (r.status == 200 && strcmp(st, want) == 0) ||
                    (r.status == 202 && (!strcmp(st, "pausing") || !strcmp(st, "resuming")));
    hresp_free(&r);
    if (!answered)
        harness_fail(__FILE__, __LINE__, "%s: %d %s", what, r.status, st);
    int code = http_collect(fd, buf, sizeof(buf));
    char body_status[64];
    snprintf(body_status, sizeof(body_status), "\"status\":\"%s\"", want);
    bool woke = code == 200 && strstr(buf, "X-Wait-Timed-Out: 0\r\n") && strstr(buf, body_status);
    if (!woke)
        harness_fail(__FILE__, __LINE__, "the waiter for %s got %d: %.300s", want, code, buf);
    return answered && woke;
}

static void wait_for_body(struct vfx *f)
{
    char id[64];
    if (!create(f, SMALL, id))
        return;
    CHECK(op_wakes_waiter(f, id, "pause", "paused"));
    CHECK(op_wakes_waiter(f, id, "resume", "running"));
    char out[64];
    CHECK(exec_sh_trim(f, id, "echo back", out, sizeof(out)) && strcmp(out, "back") == 0);
    CHECK(destroy(f, id));
}

TEST_SLOW(wait_for_wakes_on_pause_and_resume, 240)
{
    struct vfx f;
    if (!vfx_start_conf(&f, "lifecycle_hold_ms = 250\n"))
        return;
    wait_for_body(&f);
    vfx_end(&f);
}
