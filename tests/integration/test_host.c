/* SPDX-License-Identifier: MIT */
/* test_host.c: the host interface (host.h) on a libevent loop with real microVMs: concurrent
 * creates while a timer keeps ticking, streamed and concurrent execs, a 64 MB upload and
 * download with backpressure, destroy, a QEMU killed from outside, start failures, adopting
 * VMs after a simulated hearthd crash, and orphan run dirs. */
#include <errno.h>
#include <event2/event.h>
#include <limits.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/ulid.h"
#include "common/wire.h"
#include "daemon/host/host.h"
#include "common/mono.h"
#include "harness.h"
#include "hostfx.h"
#include "vmtest.h"

/* --- fixture: a loop, a host on a fresh run root --- */

static bool fx_init(struct hostfx *f)
{
    return hostfx_init(f, "host");
}

static bool dir_exists(const char *root, const char *id)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", root, id);
    struct stat st;
    return stat(p, &st) == 0;
}

/* --- completion recorder --- */

struct done_rec {
    int n;
    struct host_result res;
};

static void on_done(void *ud, const char *id, const struct host_result *res)
{
    struct done_rec *d = ud;
    d->n++;
    d->res = *res;
}

static bool create_vm(struct hostfx *f, const char *id, struct done_rec *d)
{
    char img[PATH_MAX];
    struct host_vm_spec s = { .id = id, .rootfs = hostfx_image(f, "minimal", img), .vcpus = 1,
                              .memory_mib = 256 };
    host_vm_create(f->h, &s, on_done, d);
    REQUIRE(hostfx_run_until(f, &d->n, 1, 120));
    if (d->res.err != HOST_OK)
        harness_fail(__FILE__, __LINE__, "create '%s': %s: %s", id,
                     host_err_to_string(d->res.err), d->res.msg);
    return d->res.err == HOST_OK;
}

static bool destroy_vm(struct hostfx *f, const char *id)
{
    struct done_rec d = { 0 };
    host_vm_destroy(f->h, id, on_done, &d);
    REQUIRE(hostfx_run_until(f, &d.n, 1, 60));
    if (d.res.err != HOST_OK)
        harness_fail(__FILE__, __LINE__, "destroy '%s': %s", id, d.res.msg);
    REQUIRE(d.res.err == HOST_OK);
    REQUIRE(!dir_exists(f->run_root, id));
    return true;
}

/* --- exec recorder --- */

struct exec_rec {
    struct buf out, err;
    int *ended;            /* shared counter */
    struct agent_end end;
    int chunks;
};

static int exec_on_data(void *ud, uint16_t type, const uint8_t *p, size_t len, bool eof)
{
    struct exec_rec *x = ud;
    x->chunks++;
    return buf_append(type == WIRE_STDERR ? &x->err : &x->out, p, len) < 0 ? -ENOBUFS : 0;
}

static void exec_on_end(void *ud, const struct agent_end *end)
{
    struct exec_rec *x = ud;
    x->end = *end;
    (*x->ended)++;
}

static const struct agent_stream_ops exec_ops = { .on_data = exec_on_data,
                                                  .on_end = exec_on_end };

static void exec_rec_init(struct exec_rec *x, int *ended)
{
    *x = (struct exec_rec){ .ended = ended };
    buf_init(&x->out, 1 << 20);
    buf_init(&x->err, 1 << 20);
}

static void exec_rec_release(struct exec_rec *x)
{
    buf_release(&x->out);
    buf_release(&x->err);
}

static bool out_is(struct buf *b, const char *want)
{
    return b->len == strlen(want) && memcmp(b->data, want, b->len) == 0;
}

/* --- tests --- */

struct ticker {
    struct event *ev;
    int ticks;
};

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    ((struct ticker *)arg)->ticks++;
}

TEST_SLOW(two_vms_boot_concurrently_and_exec, 300)
{
    struct hostfx f = { 0 };
    if (!fx_init(&f))
        return;
    struct ticker tk = { 0 };
    tk.ev = event_new(f.base, -1, EV_PERSIST, on_tick, &tk);
    struct timeval tv = { .tv_usec = 50000 };
    event_add(tk.ev, &tv);
    char a[32], b[32];
    hostfx_new_id(a);
    hostfx_new_id(b);
    struct done_rec da = { 0 }, db = { 0 };
    char img[PATH_MAX];
    struct host_vm_spec sa = { .id = a, .rootfs = hostfx_image(&f, "minimal", img) };
    struct host_vm_spec sb = { .id = b, .rootfs = img };
    host_vm_create(f.h, &sa, on_done, &da);
    host_vm_create(f.h, &sb, on_done, &db);
    /* neither completion runs inside the call */
    CHECK_EQ(da.n + db.n, 0);
    struct event *t = evtimer_new(f.base, hostfx_on_timeout, &f);
    struct timeval tmo = { .tv_sec = 120 };
    evtimer_add(t, &tmo);
    while ((da.n == 0 || db.n == 0) && !f.timed_out)
        event_base_loop(f.base, EVLOOP_ONCE);
    event_free(t);
    CHECK_EQ(da.res.err, HOST_OK);
    CHECK_EQ(db.res.err, HOST_OK);
    /* the loop kept turning while two VMs booted (each boot takes about a second) */
    CHECK(tk.ticks >= 5);
    event_free(tk.ev);
    CHECK(host_vm_running(f.h, a));
    CHECK(host_vm_running(f.h, b));
    /* streamed output through callbacks */
    int ended = 0;
    struct exec_rec x;
    exec_rec_init(&x, &ended);
    const char *argv[] = { "sh", "-c", "for i in 1 2 3; do echo line$i; done; echo oops >&2; "
                                       "exit 3", NULL };
    struct agent_exec_req req = { .argv = argv };
    uint32_t sid = 0;
    CHECK_EQ(host_vm_exec(f.h, a, &req, &exec_ops, &x, &sid), 0);
    CHECK(sid > 0);
    CHECK(hostfx_run_until(&f, &ended, 1, 30));
    CHECK_EQ(x.end.kind, AGENT_END_EXIT);
    CHECK_EQ(x.end.exit_code, 3);
    CHECK(out_is(&x.out, "line1\nline2\nline3\n"));
    CHECK(out_is(&x.err, "oops\n"));
    exec_rec_release(&x);
    /* 16 concurrent execs across the two VMs */
    struct exec_rec xs[16];
    const char *argvs[16][4];
    char scripts[16][64];
    struct agent_exec_req reqs[16];
    ended = 0;
    for (int i = 0; i < 16; i++) {
        exec_rec_init(&xs[i], &ended);
        snprintf(scripts[i], sizeof(scripts[i]), "sleep 0.$((%d %% 3)); echo job%d", i, i);
        argvs[i][0] = "sh";
        argvs[i][1] = "-c";
        argvs[i][2] = scripts[i];
        argvs[i][3] = NULL;
        reqs[i] = (struct agent_exec_req){ .argv = argvs[i] };
        CHECK_EQ(host_vm_exec(f.h, i % 2 ? b : a, &reqs[i], &exec_ops, &xs[i], NULL), 0);
    }
    CHECK(hostfx_run_until(&f, &ended, 16, 60));
    for (int i = 0; i < 16; i++) {
        char want[32];
        snprintf(want, sizeof(want), "job%d\n", i);
        CHECK_EQ(xs[i].end.kind, AGENT_END_EXIT);
        CHECK_EQ(xs[i].end.exit_code, 0);
        CHECK(out_is(&xs[i].out, want));
        exec_rec_release(&xs[i]);
    }
    /* cancel: on_end runs at once, the VM keeps working */
    const char *sl[] = { "sleep", "60", NULL };
    struct agent_exec_req sreq = { .argv = sl };
    ended = 0;
    exec_rec_init(&x, &ended);
    CHECK_EQ(host_vm_exec(f.h, b, &sreq, &exec_ops, &x, &sid), 0);
    CHECK_EQ(host_vm_exec_cancel(f.h, b, sid), 0);
    CHECK_EQ(ended, 1);
    CHECK_EQ(x.end.kind, AGENT_END_LOST);
    CHECK_EQ(host_vm_exec_cancel(f.h, b, sid), -ESRCH);
    exec_rec_release(&x);
    /* unknown VM */
    CHECK_EQ(host_vm_exec(f.h, "sb-00000000000000000000000000", &req, &exec_ops, &x, NULL),
             -ENOENT);
    pid_t pa = host_vm_pid(f.h, a);
    CHECK(pa > 0);
    if (!destroy_vm(&f, a) || !destroy_vm(&f, b))
        return;
    CHECK(kill(pa, 0) < 0);
    hostfx_release(&f);
}

/* --- 64 MB up and down with backpressure --- */

struct put_ctx {
    struct hostfx *f;
    const char *id;
    uint32_t stream;
    uint64_t sent, total;
    uint64_t seed;
    EVP_MD_CTX *md;
    int ended;
    struct agent_end end;
    int credits;      /* on_credit calls: backpressure happened */
    bool finished;
};

static void fill(uint64_t *seed, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = (uint8_t)(*seed >> 56);
    }
}

/* Pushes until the host refuses bytes; on_credit calls it again. Bytes are generated only
 * once accepted, so a refused chunk is pushed again as is. */
static void put_push(struct put_ctx *c)
{
    static uint8_t chunk[256 * 1024];
    static size_t have, off;
    while (c->sent < c->total) {
        if (off == have) {
            size_t n = c->total - c->sent < sizeof(chunk) ? (size_t)(c->total - c->sent)
                                                          : sizeof(chunk);
            fill(&c->seed, chunk, n);
            EVP_DigestUpdate(c->md, chunk, n);
            have = n;
            off = 0;
        }
        ssize_t n = host_stream_write(c->f->h, c->id, c->stream, chunk + off, have - off);
        if (n < 0) {
            harness_fail(__FILE__, __LINE__, "host_stream_write: %zd", n);
            return;
        }
        off += (size_t)n;
        c->sent += (size_t)n;
        if (off < have)
            return; /* wait for on_credit */
    }
    if (!c->finished) {
        c->finished = true;
        if (host_stream_finish(c->f->h, c->id, c->stream) < 0)
            harness_fail(__FILE__, __LINE__, "host_stream_finish failed");
    }
}

static void put_on_credit(void *ud, size_t room)
{
    struct put_ctx *c = ud;
    c->credits++;
    put_push(c);
}

static void put_on_end(void *ud, const struct agent_end *end)
{
    struct put_ctx *c = ud;
    c->end = *end;
    c->ended++;
}

static const struct agent_stream_ops put_ops = { .on_credit = put_on_credit,
                                                 .on_end = put_on_end };

struct get_ctx {
    struct hostfx *f;
    const char *id;
    uint32_t stream;
    EVP_MD_CTX *md;
    uint64_t got, info_size;
    size_t held;
    struct event *release; /* hands held credit back from a later loop turn */
    int holds;
    int ended;
    struct agent_end end;
};

static int get_on_data(void *ud, uint16_t type, const uint8_t *p, size_t len, bool eof)
{
    struct get_ctx *c = ud;
    EVP_DigestUpdate(c->md, p, len);
    c->got += len;
    /* a slow consumer: hold the credit and return it from the loop later */
    c->held += len;
    c->holds++;
    event_active(c->release, EV_TIMEOUT, 0);
    return AGENT_DATA_HOLD;
}

static void get_on_info(void *ud, uint64_t size, uint32_t mode)
{
    ((struct get_ctx *)ud)->info_size = size;
}

static void get_on_end(void *ud, const struct agent_end *end)
{
    struct get_ctx *c = ud;
    c->end = *end;
    c->ended++;
}

static void get_release(evutil_socket_t fd, short what, void *arg)
{
    struct get_ctx *c = arg;
    if (c->held && c->ended == 0)
        (void)host_stream_consumed(c->f->h, c->id, c->stream, c->held);
    c->held = 0;
}

static const struct agent_stream_ops get_ops = { .on_data = get_on_data,
                                                 .on_info = get_on_info,
                                                 .on_end = get_on_end };

TEST_SLOW(file_put_get_64mb_with_backpressure, 400)
{
    struct hostfx f = { 0 };
    if (!fx_init(&f))
        return;
    char id[32];
    hostfx_new_id(id);
    struct done_rec d = { 0 };
    if (!create_vm(&f, id, &d))
        return;
    struct put_ctx pc = { .f = &f, .id = id, .total = 64ull << 20, .seed = 42,
                          .md = EVP_MD_CTX_new() };
    EVP_DigestInit_ex(pc.md, EVP_sha256(), NULL);
    CHECK_EQ(host_vm_file_put_start(f.h, id, "/tmp/big", 0600, &put_ops, &pc, &pc.stream), 0);
    put_push(&pc);
    CHECK(hostfx_run_until(&f, &pc.ended, 1, 300));
    CHECK_EQ(pc.end.kind, AGENT_END_DONE);
    CHECK_EQ(pc.end.size, 64ull << 20);
    CHECK(pc.credits > 0); /* the producer was told to wait at least once */
    uint8_t want[32], got[32];
    unsigned wl = 0, gl = 0;
    EVP_DigestFinal_ex(pc.md, want, &wl);
    EVP_MD_CTX_free(pc.md);
    struct get_ctx gc = { .f = &f, .id = id, .md = EVP_MD_CTX_new() };
    gc.release = event_new(f.base, -1, 0, get_release, &gc);
    EVP_DigestInit_ex(gc.md, EVP_sha256(), NULL);
    CHECK_EQ(host_vm_file_get(f.h, id, "/tmp/big", &get_ops, &gc, &gc.stream), 0);
    CHECK(hostfx_run_until(&f, &gc.ended, 1, 300));
    CHECK_EQ(gc.end.kind, AGENT_END_DONE);
    CHECK_EQ(gc.got, 64ull << 20);
    CHECK_EQ(gc.info_size, 64ull << 20);
    CHECK(gc.holds > 1);
    EVP_DigestFinal_ex(gc.md, got, &gl);
    EVP_MD_CTX_free(gc.md);
    event_free(gc.release);
    CHECK_EQ(wl, 32);
    CHECK(memcmp(want, got, 32) == 0);
    /* a missing file ends with the agent's error */
    gc = (struct get_ctx){ .f = &f, .id = id, .md = EVP_MD_CTX_new() };
    gc.release = event_new(f.base, -1, 0, get_release, &gc);
    CHECK_EQ(host_vm_file_get(f.h, id, "/no/such/file", &get_ops, &gc, &gc.stream), 0);
    CHECK(hostfx_run_until(&f, &gc.ended, 1, 30));
    CHECK_EQ(gc.end.kind, AGENT_END_ERROR);
    CHECK_EQ(gc.end.err, -ENOENT);
    EVP_MD_CTX_free(gc.md);
    event_free(gc.release);
    if (!destroy_vm(&f, id))
        return;
    hostfx_release(&f);
}

/* --- exits and failures --- */

struct exit_rec {
    int n;
    char id[64];
    struct host_exit ex;
};

static void on_exit_cb(void *ud, const char *id, const struct host_exit *ex)
{
    struct exit_rec *r = ud;
    r->n++;
    snprintf(r->id, sizeof(r->id), "%s", id);
    r->ex = *ex;
}

TEST_SLOW(killed_qemu_fires_on_exit, 200)
{
    struct hostfx f = { 0 };
    if (!fx_init(&f))
        return;
    struct exit_rec er = { 0 };
    host_set_on_exit(f.h, on_exit_cb, &er);
    char id[32];
    hostfx_new_id(id);
    struct done_rec d = { 0 };
    if (!create_vm(&f, id, &d))
        return;
    /* a long exec is running when QEMU dies: it ends with LOST */
    int ended = 0;
    struct exec_rec x;
    exec_rec_init(&x, &ended);
    const char *sl[] = { "sleep", "60", NULL };
    struct agent_exec_req req = { .argv = sl };
    CHECK_EQ(host_vm_exec(f.h, id, &req, &exec_ops, &x, NULL), 0);
    pid_t pid = host_vm_pid(f.h, id);
    CHECK(pid > 0);
    CHECK_EQ(kill(pid, SIGKILL), 0);
    CHECK(hostfx_run_until(&f, &er.n, 1, 30));
    CHECK_STR(er.id, id);
    CHECK(er.ex.status_known);
    CHECK(WIFSIGNALED(er.ex.status));
    CHECK_EQ(WTERMSIG(er.ex.status), SIGKILL);
    CHECK(strstr(er.ex.reason, "signal 9") != NULL);
    CHECK_EQ(ended, 1);
    CHECK_EQ(x.end.kind, AGENT_END_LOST);
    exec_rec_release(&x);
    CHECK(!host_vm_running(f.h, id));
    CHECK_EQ(host_vm_exec(f.h, id, &req, &exec_ops, &x, NULL), -EBUSY);
    CHECK(dir_exists(f.run_root, id)); /* logs kept until destroy */
    if (!destroy_vm(&f, id))
        return;
    CHECK_EQ(er.n, 1); /* destroy of an exited VM fires nothing more */
    hostfx_release(&f);
}

static bool create_expect(struct hostfx *f, struct host_vm_spec *s, enum host_err want,
                          const char *msg_part)
{
    struct done_rec d = { 0 };
    host_vm_create(f->h, s, on_done, &d);
    REQUIRE(d.n == 0);
    REQUIRE(hostfx_run_until(f, &d.n, 1, 60));
    if (d.res.err != want || (msg_part && !strstr(d.res.msg, msg_part))) {
        harness_fail(__FILE__, __LINE__, "want %s '%s', got %s: %s", host_err_to_string(want),
                     msg_part ? msg_part : "", host_err_to_string(d.res.err), d.res.msg);
        return false;
    }
    /* nothing left behind */
    REQUIRE(!dir_exists(f->run_root, s->id));
    return true;
}

TEST_SLOW(create_failures_reported_through_callback, 200)
{
    struct hostfx f = { 0 };
    if (!fx_init(&f))
        return;
    char id[32];
    hostfx_new_id(id);
    char img[PATH_MAX];
    struct host_vm_spec s = { .id = id, .rootfs = hostfx_image(&f, "no-such-image", img) };
    CHECK(create_expect(&f, &s, HOST_E_NOT_FOUND, "no-such-image"));
    s.rootfs = "../../etc/passwd";
    CHECK(create_expect(&f, &s, HOST_E_INVALID, NULL));
    s.rootfs = hostfx_image(&f, "minimal", img);
    s.id = "sb-../../etc";
    CHECK(create_expect(&f, &s, HOST_E_INVALID, NULL));
    s.id = id;
    /* the guest kernel panics (no init): a guest error with the console, not a timeout */
    s.extra_append = "init=/sbin/no-such-init";
    CHECK(create_expect(&f, &s, HOST_E_GUEST, "Kernel panic"));
    /* an init that never answers: a timeout */
    s.extra_append = "init=/bin/cat";
    s.boot_timeout_ms = 4000;
    CHECK(create_expect(&f, &s, HOST_E_TIMEOUT, "not ready"));
    s.extra_append = NULL;
    s.boot_timeout_ms = 0;
    /* QEMU exits at once: its log tail, not a timeout */
    char fake[] = "/tmp/test-fake-qemu.XXXXXX";
    int fd = mkstemp(fake);
    CHECK(fd >= 0);
    const char script[] = "#!/bin/sh\necho 'qemu: could not frobnicate' >&2\nexit 1\n";
    CHECK_EQ(write(fd, script, sizeof(script) - 1), (ssize_t)sizeof(script) - 1);
    fchmod(fd, 0755);
    close(fd);
    struct host *h2;
    struct host_config c = { .images_dir = f.images, .run_root = f.run_root, .qemu_bin = fake };
    CHECK_EQ(host_new(f.base, &c, &h2), 0);
    struct host *h1 = f.h;
    f.h = h2;
    CHECK(create_expect(&f, &s, HOST_E_QEMU, "could not frobnicate"));
    c.qemu_bin = "/nonexistent/qemu";
    host_free(h2);
    CHECK_EQ(host_new(f.base, &c, &h2), 0);
    f.h = h2;
    CHECK(create_expect(&f, &s, HOST_E_NOT_FOUND, "/nonexistent/qemu"));
    host_free(h2);
    f.h = h1;
    unlink(fake);
    /* a duplicate id while the first create runs */
    struct done_rec d1 = { 0 }, d2 = { 0 };
    host_vm_create(f.h, &s, on_done, &d1);
    host_vm_create(f.h, &s, on_done, &d2);
    CHECK(hostfx_run_until(&f, &d2.n, 1, 10));
    CHECK_EQ(d2.res.err, HOST_E_EXISTS);
    /* destroyed while starting: the create is cancelled, nothing is left */
    struct done_rec dd = { 0 };
    host_vm_destroy(f.h, id, on_done, &dd);
    CHECK(hostfx_run_until(&f, &dd.n, 1, 30));
    CHECK_EQ(d1.n, 1);
    CHECK_EQ(d1.res.err, HOST_E_CANCELED);
    CHECK_EQ(dd.res.err, HOST_OK);
    CHECK(!dir_exists(f.run_root, id));
    /* destroy of nothing */
    dd = (struct done_rec){ 0 };
    host_vm_destroy(f.h, id, on_done, &dd);
    CHECK(hostfx_run_until(&f, &dd.n, 1, 10));
    CHECK_EQ(dd.res.err, HOST_E_NOT_FOUND);
    hostfx_release(&f);
}

/* --- adopt after a crash, orphans --- */

TEST_SLOW(adopt_after_crash_and_orphans, 300)
{
    struct hostfx f = { 0 };
    if (!fx_init(&f))
        return;
    char a[32], b[32];
    hostfx_new_id(a);
    hostfx_new_id(b);
    struct done_rec da = { 0 }, db = { 0 };
    if (!create_vm(&f, a, &da) || !create_vm(&f, b, &db))
        return;
    pid_t pa = host_vm_pid(f.h, a), pb = host_vm_pid(f.h, b);
    /* leave an exec half-read on a's connection, then "crash" */
    int ended = 0;
    struct exec_rec x;
    exec_rec_init(&x, &ended);
    const char *yes[] = { "sh", "-c", "yes hearth | head -c 4000000", NULL };
    struct agent_exec_req yreq = { .argv = yes };
    CHECK_EQ(host_vm_exec(f.h, a, &yreq, &exec_ops, &x, NULL), 0);
    int zero = 0;
    (void)hostfx_run_until(&f, &zero, 1, 1); /* let some output arrive */
    host_free_keep_vms(f.h);
    exec_rec_release(&x);
    CHECK_EQ(kill(pa, 0), 0);
    CHECK_EQ(kill(pb, 0), 0);
    /* a new host: both are orphans until adopted */
    struct host_config c = { .images_dir = f.images, .run_root = f.run_root };
    CHECK_EQ(host_new(f.base, &c, &f.h), 0);
    char junk[PATH_MAX];
    snprintf(junk, sizeof(junk), "%s/junk", f.run_root);
    CHECK_EQ(mkdir(junk, 0700), 0);
    struct host_orphan *o = NULL;
    size_t n = 0;
    CHECK_EQ(host_vm_list_orphans(f.h, &o, &n), 0);
    CHECK_EQ(n, 3);
    int alive = 0, invalid = 0;
    for (size_t i = 0; i < n; i++) {
        alive += o[i].alive;
        invalid += !o[i].valid;
        if (strcmp(o[i].id, a) == 0)
            CHECK_EQ(o[i].pid, pa);
    }
    free(o);
    CHECK_EQ(alive, 2);
    CHECK_EQ(invalid, 1);
    struct done_rec ad = { 0 };
    host_vm_adopt(f.h, a, on_done, &ad);
    CHECK(hostfx_run_until(&f, &ad.n, 1, 60));
    if (ad.res.err != HOST_OK)
        harness_fail(__FILE__, __LINE__, "adopt: %s", ad.res.msg);
    CHECK_EQ(ad.res.err, HOST_OK);
    CHECK(host_vm_running(f.h, a));
    CHECK_EQ(host_vm_pid(f.h, a), pa);
    /* adopting twice is refused; adopting a missing one says so */
    struct done_rec ad2 = { 0 };
    host_vm_adopt(f.h, a, on_done, &ad2);
    char none[32];
    hostfx_new_id(none);
    struct done_rec ad3 = { 0 };
    host_vm_adopt(f.h, none, on_done, &ad3);
    CHECK(hostfx_run_until(&f, &ad3.n, 1, 10));
    CHECK_EQ(ad2.res.err, HOST_E_EXISTS);
    CHECK_EQ(ad3.res.err, HOST_E_NOT_FOUND);
    /* exec works on the adopted VM */
    exec_rec_init(&x, &ended);
    ended = 0;
    const char *argv[] = { "sh", "-c", "echo adopted", NULL };
    struct agent_exec_req req = { .argv = argv };
    CHECK_EQ(host_vm_exec(f.h, a, &req, &exec_ops, &x, NULL), 0);
    CHECK(hostfx_run_until(&f, &ended, 1, 30));
    CHECK_EQ(x.end.kind, AGENT_END_EXIT);
    CHECK(out_is(&x.out, "adopted\n"));
    exec_rec_release(&x);
    /* b is still an orphan: destroy kills it by its pid file and removes its run dir */
    CHECK_EQ(host_vm_list_orphans(f.h, &o, &n), 0);
    CHECK_EQ(n, 2);
    free(o);
    if (!destroy_vm(&f, b))
        return;
    /* not our child any more in a real restart; here it is, so reap it */
    (void)waitpid(pb, NULL, 0);
    CHECK(kill(pb, 0) < 0);
    struct done_rec dj = { 0 };
    host_vm_destroy(f.h, "junk", on_done, &dj);
    CHECK(hostfx_run_until(&f, &dj.n, 1, 10));
    CHECK_EQ(dj.res.err, HOST_E_INVALID);
    rmdir(junk);
    if (!destroy_vm(&f, a))
        return;
    (void)waitpid(pa, NULL, WNOHANG);
    CHECK_EQ(host_vm_list_orphans(f.h, &o, &n), 0);
    CHECK_EQ(n, 0);
    free(o);
    hostfx_release(&f);
}

/* host_vm_disk_resize(): grow, the same size again (a retry: OK, nothing done), smaller
 * refused (shrinking would cut the file system), unknown VM, bad size; and a create whose disk
 * is smaller than its image is refused up front. */
static void disk_resize_body(struct hostfx *f)
{
    char id[32], other[32];
    hostfx_new_id(id);
    hostfx_new_id(other);
    struct done_rec d = { 0 };
    char img[PATH_MAX];
    struct host_vm_spec s = { .id = id, .rootfs = hostfx_image(f, "minimal", img), .vcpus = 1,
                              .memory_mib = 256, .disk_mib = 1024 };
    host_vm_create(f->h, &s, on_done, &d);
    CHECK(hostfx_run_until(f, &d.n, 1, 120));
    CHECK_EQ(d.res.err, HOST_OK);
    static const struct { uint64_t mib; enum host_err want; } steps[] = {
        { 2048, HOST_OK }, { 2048, HOST_OK }, { 1500, HOST_E_INVALID }, { 0, HOST_E_INVALID },
        { (1ull << 24) + 1, HOST_E_INVALID }, { 4096, HOST_OK },
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        d = (struct done_rec){ 0 };
        host_vm_disk_resize(f->h, id, steps[i].mib, on_done, &d);
        CHECK_EQ(d.n, 0); /* never from inside the call */
        CHECK(hostfx_run_until(f, &d.n, 1, 30));
        if (d.res.err != steps[i].want)
            harness_fail(__FILE__, __LINE__, "step %zu: %s: %s", i,
                         host_err_to_string(d.res.err), d.res.msg);
        CHECK_EQ(d.res.err, steps[i].want);
    }
    /* a second resize while one is in flight: busy */
    struct done_rec d1 = { 0 }, d2 = { 0 };
    host_vm_disk_resize(f->h, id, 5000, on_done, &d1);
    host_vm_disk_resize(f->h, id, 6000, on_done, &d2);
    CHECK(hostfx_run_until(f, &d2.n, 1, 30));
    CHECK_EQ(d2.res.err, HOST_E_BUSY);
    CHECK(hostfx_run_until(f, &d1.n, 1, 30));
    CHECK_EQ(d1.res.err, HOST_OK);
    d = (struct done_rec){ 0 };
    host_vm_disk_resize(f->h, other, 2048, on_done, &d);
    CHECK(hostfx_run_until(f, &d.n, 1, 10));
    CHECK_EQ(d.res.err, HOST_E_NOT_FOUND);
    /* the image is 1 GiB: a 512 MiB disk would cut its file system */
    d = (struct done_rec){ 0 };
    s = (struct host_vm_spec){ .id = other, .rootfs = img, .disk_mib = 512 };
    host_vm_create(f->h, &s, on_done, &d);
    CHECK(hostfx_run_until(f, &d.n, 1, 10));
    CHECK_EQ(d.res.err, HOST_E_INVALID);
    CHECK(strstr(d.res.msg, "smaller than the image") != NULL);
    CHECK(!dir_exists(f->run_root, other));
    CHECK(destroy_vm(f, id));
}

TEST_SLOW(disk_resize, 180)
{
    struct hostfx f = { 0 };
    if (fx_init(&f))
        disk_resize_body(&f);
    hostfx_release(&f);
}

/* --- snapshots: pause, restore (shared base and consumed), refusal of a corrupt one --- */

/* Runs sh -c script in VM id and copies its stdout (trailing newline cut) into out. */
static bool sh_out(struct hostfx *f, const char *id, const char *script, char *out, size_t len)
{
    int ended = 0;
    struct exec_rec x;
    exec_rec_init(&x, &ended);
    const char *argv[] = { "sh", "-c", script, NULL };
    struct agent_exec_req req = { .argv = argv };
    if (host_vm_exec(f->h, id, &req, &exec_ops, &x, NULL) < 0 ||
        !hostfx_run_until(f, &ended, 1, 30) || x.end.kind != AGENT_END_EXIT ||
        x.end.exit_code != 0) {
        exec_rec_release(&x);
        return false;
    }
    size_t n = x.out.len < len - 1 ? x.out.len : len - 1;
    if (n)
        memcpy(out, x.out.data, n);
    while (n && out[n - 1] == '\n')
        n--;
    out[n] = '\0';
    exec_rec_release(&x);
    return true;
}

static long sh_long_async(struct hostfx *f, const char *id, const char *script)
{
    char out[64];
    return sh_out(f, id, script, out, sizeof(out)) ? strtol(out, NULL, 10) : -1;
}

static enum host_err pause_vm(struct hostfx *f, const char *id, const char *dir, double *ms)
{
    struct done_rec d = { 0 };
    int64_t t0 = mono_now_us();
    host_vm_pause(f->h, id, dir, on_done, &d);
    if (!hostfx_run_until(f, &d.n, 1, 60))
        return HOST_E_TIMEOUT;
    if (ms)
        *ms = (double)(mono_now_us() - t0) / 1000.0;
    if (d.res.err != HOST_OK)
        fprintf(stderr, "pause '%s': %s\n", id, d.res.msg);
    return d.res.err;
}

static enum host_err restore_vm(struct hostfx *f, const char *id, const char *snap, bool consume,
                                double *ms)
{
    struct done_rec d = { 0 };
    struct host_vm_spec s = { .id = id, .vcpus = 1, .memory_mib = 256, .snapshot = snap,
                              .snapshot_consume = consume, .hostname = "restored" };
    int64_t t0 = mono_now_us();
    host_vm_create(f->h, &s, on_done, &d);
    if (!hostfx_run_until(f, &d.n, 1, 60))
        return HOST_E_TIMEOUT;
    if (ms)
        *ms = (double)(mono_now_us() - t0) / 1000.0;
    if (d.res.err != HOST_OK)
        fprintf(stderr, "restore '%s' from '%s': %s\n", id, snap, d.res.msg);
    return d.res.err;
}

#define COUNTER_SH                                                                               \
    "setsid sh -c 'i=0; while :; do i=$((i+1)); echo $i > /tmp/cnt.t; mv /tmp/cnt.t /tmp/cnt; " \
    "sleep 0.2; done' "                                                                          \
    "</dev/null >/dev/null 2>&1 & echo before > /root/marker; sync"

/* The counter file is replaced by a rename, never truncated in place: a read never sees it
 * empty (a truncate-then-write loop read as 0 under load). */
static bool counter_advances(struct hostfx *f, const char *id)
{
    long a = sh_long_async(f, id, "cat /tmp/cnt");
    usleep(700000);
    long b = sh_long_async(f, id, "cat /tmp/cnt");
    if (!(a > 0 && b > a))
        harness_fail(__FILE__, __LINE__, "counter in '%s' did not advance: %ld then %ld", id, a,
                     b);
    return a > 0 && b > a;
}

static void snapshot_body(struct hostfx *fx, const char *snaps)
{
    struct hostfx f = *fx;
    char s1[PATH_MAX], s2[PATH_MAX], s3[PATH_MAX];
    snprintf(s1, sizeof(s1), "%s/one", snaps);
    snprintf(s2, sizeof(s2), "%s/two", snaps);
    snprintf(s3, sizeof(s3), "%s/three", snaps);
    char a[32], b1[32], b2[32];
    hostfx_new_id(a);
    hostfx_new_id(b1);
    hostfx_new_id(b2);
    struct done_rec d = { 0 };
    if (!create_vm(&f, a, &d))
        return;
    char out[256];
    CHECK(sh_out(&f, a, COUNTER_SH, out, sizeof(out)));
    CHECK(counter_advances(&f, a));
    double ms = 0;
    CHECK_EQ(pause_vm(&f, a, s1, &ms), HOST_OK);
    fprintf(stderr, "pause of a booted VM: %.1f ms\n", ms);
    CHECK(!host_vm_running(f.h, a));
    CHECK(!dir_exists(f.run_root, a));
    char meta[PATH_MAX + 16];
    snprintf(meta, sizeof(meta), "%s/meta.json", s1);
    CHECK(access(meta, F_OK) == 0);
    /* two clones of one snapshot run at once, each with its own memory and disk */
    CHECK_EQ(restore_vm(&f, b1, s1, false, &ms), HOST_OK);
    fprintf(stderr, "restore (shared base): %.1f ms\n", ms);
    CHECK_EQ(restore_vm(&f, b2, s1, false, NULL), HOST_OK);
    CHECK(counter_advances(&f, b1));
    CHECK(counter_advances(&f, b2));
    CHECK(sh_out(&f, b1, "cat /root/marker", out, sizeof(out)));
    CHECK_STR(out, "before");
    CHECK(sh_out(&f, b1, "echo one > /root/who; sync", out, sizeof(out)));
    CHECK(sh_out(&f, b2, "cat /root/who 2>/dev/null || echo none", out, sizeof(out)));
    CHECK_STR(out, "none");
    /* the shared snapshot is untouched by its clones */
    CHECK(access(meta, F_OK) == 0);
    /* a clone (RAM mapped private) pauses too: its pages come out of the migration stream */
    char s4[PATH_MAX];
    snprintf(s4, sizeof(s4), "%s/four", snaps);
    CHECK(sh_out(&f, b1, "head -c 8000000 /dev/urandom > /tmp/blob; md5sum /tmp/blob", out,
                 sizeof(out)));
    char sum[64];
    snprintf(sum, sizeof(sum), "%.32s", out);
    CHECK_EQ(pause_vm(&f, b1, s4, &ms), HOST_OK);
    fprintf(stderr, "pause of a clone (RAM split out of the stream): %.1f ms\n", ms);
    CHECK_EQ(restore_vm(&f, b1, s4, true, NULL), HOST_OK);
    CHECK(counter_advances(&f, b1));
    CHECK(sh_out(&f, b1, "cat /root/who; md5sum /tmp/blob", out, sizeof(out)));
    CHECK(strncmp(out, "one\n", 4) == 0 && strstr(out, sum) != NULL);
    CHECK(sh_out(&f, b1, "hostname", out, sizeof(out)));
    CHECK_STR(out, "restored");
    destroy_vm(&f, b1);
    destroy_vm(&f, b2);
    /* consumed: the VM takes the snapshot's files over, the directory goes */
    CHECK_EQ(restore_vm(&f, a, s1, true, &ms), HOST_OK);
    fprintf(stderr, "restore (consumed): %.1f ms\n", ms);
    CHECK(access(s1, F_OK) < 0);
    CHECK(counter_advances(&f, a));
    CHECK(sh_out(&f, a, "echo after > /root/marker2; sync", out, sizeof(out)));
    /* and pauses again cheaply (its RAM file is its own) */
    CHECK_EQ(pause_vm(&f, a, s2, &ms), HOST_OK);
    fprintf(stderr, "pause of a resumed VM: %.1f ms\n", ms);
    CHECK_EQ(restore_vm(&f, a, s2, true, NULL), HOST_OK);
    CHECK(counter_advances(&f, a));
    CHECK(sh_out(&f, a, "cat /root/marker /root/marker2", out, sizeof(out)));
    CHECK_STR(out, "before\nafter");
    /* a corrupted state file is refused, naming the checksum */
    CHECK_EQ(pause_vm(&f, a, s3, NULL), HOST_OK);
    char state[PATH_MAX + 16];
    snprintf(state, sizeof(state), "%s/state", s3);
    FILE *fp = fopen(state, "r+");
    CHECK(fp != NULL);
    if (fp) {
        fseek(fp, 100, SEEK_SET);
        fputc(0x5a, fp);
        fclose(fp);
    }
    struct done_rec dc = { 0 };
    struct host_vm_spec sc = { .id = a, .vcpus = 1, .memory_mib = 256, .snapshot = s3,
                               .snapshot_consume = true };
    host_vm_create(f.h, &sc, on_done, &dc);
    CHECK(hostfx_run_until(&f, &dc.n, 1, 30));
    CHECK_EQ(dc.res.err, HOST_E_INVALID);
    CHECK(strstr(dc.res.msg, "checksum") != NULL);
    CHECK(!dir_exists(f.run_root, a));
    /* a shape mismatch too */
    struct done_rec dm = { 0 };
    struct host_vm_spec sm = { .id = a, .vcpus = 2, .memory_mib = 256, .snapshot = s3 };
    host_vm_create(f.h, &sm, on_done, &dm);
    CHECK(hostfx_run_until(&f, &dm.n, 1, 30));
    CHECK_EQ(dm.res.err, HOST_E_INVALID);
    CHECK(strstr(dm.res.msg, "vCPUs") != NULL);
}

TEST_SLOW(pause_restore_fork_and_consume, 400)
{
    struct hostfx f = { 0 };
    if (!fx_init(&f))
        return;
    char snaps[64];
    snprintf(snaps, sizeof(snaps), "/tmp/hearth-snaps.XXXXXX");
    CHECK(mkdtemp(snaps) != NULL);
    snapshot_body(&f, snaps);
    char cmd[PATH_MAX];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", snaps);
    CHECK(system(cmd) == 0);
    hostfx_release(&f);
}
