/* SPDX-License-Identifier: MIT */
/* test_template_build.c: the template builder's pure pieces (layer keys, layer.json, the log
 * buffer) and its control-layer operations on a real store and a host that cannot boot (a
 * fake kernel): submit's checks, reads, deletes, contexts, and a build whose VM never comes
 * up, which is retried to 3 attempts and then fails (docs/templates.md "Failures, cancel and
 * restart"). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "ctlfx.h"
#include "daemon/ctl/sandbox_ops.h"
#include "daemon/ctl/template.h"
#include "daemon/ctl/template_layer.h"
#include "daemon/ctl/template_logbuf.h"
#include "harness.h"

/* ---- layer keys ---- */

TEST(layer_key_is_stable_and_depends_on_every_field)
{
    char a[65], b[65];
    tpl_layer_key("alice", "p", "RUN x", "in", a);
    tpl_layer_key("alice", "p", "RUN x", "in", b);
    CHECK_STR(a, b);
    CHECK_EQ(strlen(a), 64);
    const char *v[][4] = { { "bob", "p", "RUN x", "in" },
                           { "alice", "q", "RUN x", "in" },
                           { "alice", "p", "RUN y", "in" },
                           { "alice", "p", "RUN x", "in2" } };
    for (size_t i = 0; i < 4; i++) {
        tpl_layer_key(v[i][0], v[i][1], v[i][2], v[i][3], b);
        CHECK(strcmp(a, b) != 0);
    }
    /* fields are length-prefixed: moving bytes between fields changes the key */
    tpl_layer_key("ab", "c", "", "", a);
    tpl_layer_key("a", "bc", "", "", b);
    CHECK(strcmp(a, b) != 0);
}

TEST(layer_meta_round_trips_and_refuses_garbage)
{
    char *env[] = { "A=1", "B=two words", NULL };
    char *sh[] = { "/bin/bash", "-c", NULL };
    struct tpl_layer_meta m = { .created_at = 5, .fs_mib = 10240, .used_bytes = 123,
                                .text = "RUN echo hi", .env = env, .shell = sh };
    snprintf(m.key, sizeof(m.key), "%064d", 0);
    snprintf(m.workdir, sizeof(m.workdir), "/app");
    snprintf(m.user, sizeof(m.user), "node");
    char *s = tpl_layer_meta_json(&m);
    CHECK(s != NULL);
    struct tpl_layer_meta r;
    CHECK(tpl_layer_meta_parse(s, &r) == 0);
    free(s);
    CHECK_STR(r.workdir, "/app");
    CHECK_STR(r.user, "node");
    CHECK_STR(r.text, "RUN echo hi");
    CHECK_EQ(r.used_bytes, 123);
    CHECK_EQ(r.fs_mib, 10240);
    CHECK(r.env && r.env[1] && !r.env[2]);
    CHECK_STR(r.env[1], "B=two words");
    CHECK(r.cmd == NULL);
    tpl_layer_meta_release(&r);
    const char *bad[] = { "", "[]", "{\"env\":3}", "{\"env\":[1]}", "{\"shell\":{}}", "nul" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_EQ(tpl_layer_meta_parse(bad[i], &r), -EINVAL);
}

/* ---- the log buffer ---- */

TEST(logbuf_splits_lines_and_keeps_the_partial_one)
{
    struct tpl_logbuf b;
    tpl_logbuf_init(&b, 100, 4096);
    CHECK_EQ(tpl_logbuf_bytes(&b, 1, "one\r\ntw", 7), 0);
    CHECK_EQ(tpl_logbuf_bytes(&b, 2, "o\nthree", 7), 0);
    CHECK_EQ(b.n, 2);
    CHECK_EQ(tpl_logbuf_end_partial(&b, 3), 0);
    struct tpl_logline *v;
    size_t n;
    tpl_logbuf_take(&b, &v, &n);
    CHECK(n == 3);
    CHECK_STR(v[0].line, "one");
    CHECK_STR(v[1].line, "two");
    CHECK_STR(v[2].line, "three");
    tpl_logbuf_lines_free(v, n);
    tpl_logbuf_release(&b);
}

TEST(logbuf_bounds_hostile_output)
{
    struct tpl_logbuf b;
    tpl_logbuf_init(&b, 5, 16);
    /* a line over the limit is cut; invalid UTF-8 becomes U+FFFD; NUL becomes a space */
    char big[100];
    memset(big, 'x', sizeof(big));
    big[99] = '\n';
    CHECK_EQ(tpl_logbuf_bytes(&b, 1, big, sizeof(big)), 0);
    CHECK_EQ(tpl_logbuf_bytes(&b, 1, "a\xff" "b\n", 4), 0);
    CHECK_EQ(tpl_logbuf_bytes(&b, 1, "c\0d\n", 4), 0);
    /* past max_lines: one "log truncated" line, then nothing */
    for (int i = 0; i < 10; i++)
        CHECK_EQ(tpl_logbuf_line(&b, false, 1, "more", 4), 0);
    struct tpl_logline *v;
    size_t n;
    tpl_logbuf_take(&b, &v, &n);
    CHECK(n == 6);
    CHECK(strlen(v[0].line) < 16);
    CHECK_STR(v[1].line, "a\xef\xbf\xbd" "b");
    CHECK_STR(v[2].line, "c d");
    CHECK_STR(v[5].line, "log truncated");
    tpl_logbuf_lines_free(v, n);
    tpl_logbuf_release(&b);
}

/* ---- operations ---- */

static bool tfx_open(struct cfx *c)
{
    REQUIRE(cfx_open(c));
    REQUIRE(cfx_host(c));
    snprintf(c->ctl.set.templates_dir, sizeof(c->ctl.set.templates_dir), "%s/templates",
             c->root);
    c->ctl.set.max_templates = 3;
    c->ctl.set.max_concurrent_builds = 2;
    c->ctl.set.template_build_timeout_s = 60;
    c->ctl.set.template_context_max_bytes = 1 << 20;
    return true;
}

static const struct ctl_caller alice = { .user_id = "alice" };

static int submit(struct cfx *c, const char *name, const char *df, const char *base,
                  struct ctl_error *e)
{
    struct ctl_tpl_submit req = { .name = name, .dockerfile = df, .dockerfile_len = strlen(df),
                                  .base = base };
    struct store_template t;
    store_template_init(&t);
    int rc = ctl_template_submit(&c->ctl, &alice, &req, &t, e);
    store_template_release(&t);
    return rc;
}

TEST(submit_checks_name_dockerfile_base_and_quota)
{
    struct cfx c;
    CHECK(tfx_open(&c));
    struct ctl_error e = { 0 };
    CHECK(submit(&c, "Bad_Name", "FROM devbox:1\n", NULL, &e) < 0);
    CHECK_EQ(e.code, CTL_E_INVALID);
    CHECK_STR(e.field, "name");
    memset(&e, 0, sizeof(e));
    CHECK(submit(&c, "a", "FROM devbox:1\nONBUILD RUN x\n", NULL, &e) < 0);
    CHECK_EQ(e.code, CTL_E_BAD_DOCKERFILE);
    CHECK(strstr(e.msg, "line 2") != NULL);
    memset(&e, 0, sizeof(e));
    CHECK(submit(&c, "a", "FROM nosuch:9\n", NULL, &e) < 0);
    CHECK_EQ(e.code, CTL_E_BAD_DOCKERFILE);
    CHECK(strstr(e.msg, "line 1") != NULL);
    memset(&e, 0, sizeof(e));
    CHECK(submit(&c, "a", "FROM devbox:1\n", "nosuch:9", &e) < 0);
    CHECK_EQ(e.code, CTL_E_INVALID);
    CHECK_STR(e.field, "base");
    memset(&e, 0, sizeof(e));
    struct ctl_tpl_submit req = { .name = "a", .dockerfile = "FROM devbox:1\n",
                                  .dockerfile_len = 14, .context = "ctx_nothex" };
    struct store_template t;
    store_template_init(&t);
    CHECK(ctl_template_submit(&c.ctl, &alice, &req, &t, &e) < 0);
    CHECK_STR(e.field, "context");
    req.context = NULL;
    req.ready.kind = CTL_TPL_READY_PORT; /* port 0 */
    CHECK(ctl_template_submit(&c.ctl, &alice, &req, &t, &e) < 0);
    CHECK_STR(e.field, "ready");
    /* 24 RUNs and the final layer: a chain over the limit */
    char deep[2048] = "FROM devbox:1\n";
    for (int i = 0; i < 24; i++)
        strcat(deep, "RUN true\n");
    memset(&e, 0, sizeof(e));
    CHECK(submit(&c, "deep", deep, NULL, &e) < 0);
    CHECK_EQ(e.code, CTL_E_BAD_DOCKERFILE);
    CHECK(strstr(e.msg, "line 25: the build would make a chain of 25 layers") != NULL);
    /* the quota counts live templates; a name is unique among them */
    CHECK_EQ(submit(&c, "t1", "FROM devbox:1\n", "devbox:1", &e), 0);
    CHECK(submit(&c, "t1", "FROM devbox:1\n", NULL, &e) < 0);
    CHECK_EQ(e.code, CTL_E_NAME_TAKEN);
    CHECK_EQ(submit(&c, "t2", "FROM devbox:1\n", NULL, &e), 0);
    CHECK_EQ(submit(&c, "t3", "FROM devbox:1\n", NULL, &e), 0);
    CHECK(submit(&c, "t4", "FROM devbox:1\n", NULL, &e) < 0);
    CHECK_EQ(e.code, CTL_E_QUOTA);
    /* a template that is not ready is no base */
    CHECK_EQ(ctl_template_delete(&c.ctl, &alice, "t3", &e), 0);
    CHECK(submit(&c, "t5", "FROM t1\n", NULL, &e) < 0);
    CHECK_EQ(e.code, CTL_E_BAD_DOCKERFILE);
    CHECK(strstr(e.msg, "not ready") != NULL);
    ctl_templates_release(&c.ctl);
    cfx_close(&c);
}

/* Runs the loop until template ref ends or ms pass. */
static enum store_tpl_status wait_end(struct cfx *c, const char *ref, int ms)
{
    uint64_t until = harness_now_us() + (uint64_t)ms * 1000;
    enum store_tpl_status s = STORE_TPL_PENDING;
    while (harness_now_us() < until) {
        struct timeval tv = { 0, 50000 };
        event_base_loopexit(c->base, &tv);
        event_base_dispatch(c->base);
        struct store_template t;
        store_template_init(&t);
        struct ctl_error e = { 0 };
        if (ctl_template_get(&c->ctl, &alice, ref, false, &t, &e) == 0)
            s = t.status;
        store_template_release(&t);
        if (s != STORE_TPL_PENDING && s != STORE_TPL_BUILDING)
            break;
    }
    return s;
}

TEST(a_build_whose_vm_never_starts_is_retried_then_fails)
{
    struct cfx c;
    CHECK(tfx_open(&c));
    ctl_templates_start(&c.ctl);
    struct ctl_error e = { 0 };
    CHECK(submit(&c, "boom", "FROM devbox:1\nENV A=1\nRUN true\n", NULL, &e) == 0);
    CHECK_EQ(wait_end(&c, "boom", 20000), STORE_TPL_FAILED);
    struct store_template t;
    store_template_init(&t);
    CHECK(ctl_template_get(&c.ctl, &alice, "boom", false, &t, &e) == 0);
    CHECK_EQ(t.attempt, 3);
    CHECK(strstr(t.error, "attempt 3") != NULL);
    store_template_release(&t);
    struct buf out;
    buf_init(&out, 1 << 20);
    CHECK(ctl_template_logs(&c.ctl, &alice, "boom", 0, &out, &e) == 0);
    CHECK(buf_append(&out, "", 1) == 0);
    const char *log = (const char *)out.data;
    CHECK(strstr(log, "--- attempt 1 ---\nStep 1/3 : FROM devbox:1\nStep 2/3 : ENV A=1\n"
                      "Step 3/3 : RUN true\n") != NULL);
    CHECK(strstr(log, "--- attempt 3 ---") != NULL);
    CHECK(strstr(log, "retrying") != NULL);
    buf_release(&out);
    /* attempt 4 never was */
    buf_init(&out, 1 << 20);
    CHECK(ctl_template_logs(&c.ctl, &alice, "boom", 4, &out, &e) < 0);
    CHECK_STR(e.field, "attempt");
    buf_release(&out);
    ctl_templates_stop(&c.ctl);
    ctl_templates_release(&c.ctl);
    cfx_close(&c);
}

struct fol {
    int lines;
    char final[16];
};

static void f_line(void *ud, const struct store_tpl_log *l)
{
    ((struct fol *)ud)->lines++;
}

static void f_final(void *ud, const char *status)
{
    snprintf(((struct fol *)ud)->final, 16, "%s", status);
}

TEST(delete_while_pending_cancels_and_followers_hear_it)
{
    struct cfx c;
    CHECK(tfx_open(&c));
    struct ctl_error e = { 0 };
    /* the queue is not started: the template stays pending */
    CHECK(submit(&c, "p", "FROM devbox:1\nRUN true\n", NULL, &e) == 0);
    static const struct ctl_tpl_follow_ops ops = { f_line, f_final };
    struct fol f = { 0 };
    struct ctl_tpl_follow *h = NULL;
    CHECK(ctl_template_follow(&c.ctl, &alice, "p", 0, &ops, &f, &h, &e) == 0);
    cfx_settle(&c);
    CHECK_STR(f.final, "");
    struct store_template t;
    store_template_init(&t);
    CHECK(ctl_template_get(&c.ctl, &alice, "p", false, &t, &e) == 0);
    char id[STORE_ID_SIZE];
    snprintf(id, sizeof(id), "%s", t.id);
    store_template_release(&t);
    CHECK(ctl_template_delete(&c.ctl, &alice, "p", &e) == 0);
    CHECK_STR(f.final, "cancelled");
    /* a repeat by id answers the same; by name it is gone */
    CHECK_EQ(ctl_template_delete(&c.ctl, &alice, id, &e), 0);
    CHECK(ctl_template_delete(&c.ctl, &alice, "p", &e) < 0);
    CHECK_EQ(e.code, CTL_E_NOT_FOUND);
    CHECK(ctl_template_get(&c.ctl, &alice, id, false, &t, &e) == 0);
    CHECK_EQ(t.status, STORE_TPL_CANCELLED);
    store_template_release(&t);
    ctl_templates_release(&c.ctl);
    cfx_close(&c);
}

/* Writes a one-file ustar with name into path. */
static void write_tar(const char *path, const char *name, const char *data)
{
    unsigned char h[512] = { 0 };
    snprintf((char *)h, 100, "%s", name);
    memcpy(h + 100, "0000644", 8);
    memcpy(h + 108, "0000000", 8);
    memcpy(h + 116, "0000000", 8);
    snprintf((char *)h + 124, 12, "%011o", (unsigned)strlen(data));
    memcpy(h + 136, "00000000000", 12);
    h[156] = '0';
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    fwrite(h, 1, 512, f);
    unsigned char blk[512] = { 0 };
    memcpy(blk, data, strlen(data));
    fwrite(blk, 1, 512, f);
    memset(blk, 0, sizeof(blk));
    fwrite(blk, 1, 512, f);
    fwrite(blk, 1, 512, f);
    fclose(f);
}

TEST(contexts_are_checked_hashed_and_shared)
{
    struct cfx c;
    CHECK(tfx_open(&c));
    char dir[4096], p[4200], id[80], id2[80];
    CHECK(ctl_template_upload_dir(&c.ctl, dir) == 0);
    snprintf(p, sizeof(p), "%s/up1", dir);
    write_tar(p, "app.txt", "hello\n");
    uint64_t size = 0;
    struct ctl_error e = { 0 };
    CHECK(ctl_template_context_put(&c.ctl, &alice, p, id, &size, &e) == 0);
    CHECK_EQ(strncmp(id, "ctx_", 4), 0);
    CHECK_EQ(strlen(id), 68);
    CHECK_EQ(size, 2048);
    CHECK(access(p, F_OK) < 0);
    /* the same bytes again: the same id */
    write_tar(p, "app.txt", "hello\n");
    CHECK(ctl_template_context_put(&c.ctl, &alice, p, id2, &size, &e) == 0);
    CHECK_STR(id, id2);
    /* an entry leaving the context: refused, the upload removed */
    write_tar(p, "../evil", "x");
    CHECK(ctl_template_context_put(&c.ctl, &alice, p, id2, &size, &e) < 0);
    CHECK_EQ(e.code, CTL_E_INVALID);
    CHECK_STR(e.field, "context");
    CHECK(access(p, F_OK) < 0);
    /* garbage */
    FILE *f = fopen(p, "wb");
    CHECK(f != NULL);
    fputs("not a tar at all", f);
    fclose(f);
    CHECK(ctl_template_context_put(&c.ctl, &alice, p, id2, &size, &e) < 0);
    CHECK_EQ(e.code, CTL_E_INVALID);
    /* a submit naming it; COPY needs one */
    CHECK(submit(&c, "nc", "FROM devbox:1\nCOPY app.txt /app/\n", NULL, &e) < 0);
    CHECK_EQ(e.code, CTL_E_BAD_DOCKERFILE);
    struct ctl_tpl_submit req = { .name = "wc", .dockerfile = "FROM devbox:1\nCOPY app.txt /a/\n",
                                  .dockerfile_len = 31, .context = id };
    struct store_template t;
    store_template_init(&t);
    CHECK_EQ(ctl_template_submit(&c.ctl, &alice, &req, &t, &e), 0);
    CHECK_STR(t.context, id);
    store_template_release(&t);
    ctl_templates_release(&c.ctl);
    cfx_close(&c);
}

/* ---- real build VMs (skipped without $HEARTH_IMAGES) ---- */

/* The fixture on the real kernel and minimal image, with a host that boots VMs. */
static bool tvm_open(struct cfx *c, uint32_t timeout_s)
{
    const char *img = getenv("HEARTH_IMAGES");
    char k[1200];
    snprintf(k, sizeof(k), "%s/vmlinux", img ? img : "/nonexistent");
    if (!img || access(k, R_OK) != 0)
        harness_skip("HEARTH_IMAGES with vmlinux is needed");
    REQUIRE(tfx_open(c));
    const char *files[] = { "vmlinux", "minimal.ext4", "minimal.10240.ext4" };
    for (size_t i = 0; i < 3; i++) {
        char src[1200], dst[1200];
        snprintf(src, sizeof(src), "%s/%s", img, files[i]);
        snprintf(dst, sizeof(dst), "%s/%s", c->ctl.set.images_dir, files[i]);
        (void)unlink(dst);
        if (access(src, R_OK) == 0)
            REQUIRE(symlink(src, dst) == 0);
    }
    c->ctl.set.template_build_timeout_s = timeout_s;
    c->ctl.set.max_templates = 0;
    c->ctl.set.template_build_mem_mib = 256;
    c->ctl.set.template_build_vcpus = 1;
    ctl_templates_start(&c->ctl);
    return true;
}

static bool log_of(struct cfx *c, const char *ref, char *out, size_t len)
{
    struct buf b;
    buf_init(&b, 1 << 20);
    struct ctl_error e = { 0 };
    REQUIRE(ctl_template_logs(&c->ctl, &alice, ref, 0, &b, &e) == 0);
    REQUIRE(buf_append(&b, "", 1) == 0);
    snprintf(out, len, "%s", (const char *)b.data);
    buf_release(&b);
    return true;
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

TEST_SLOW(vm_build_timeout_fails_the_build, 600)
{
    struct cfx c;
    CHECK(tvm_open(&c, 15));
    struct ctl_error e = { 0 };
    static char log[1 << 16];
    CHECK(submit(&c, "forever", "FROM minimal\nRUN sleep 100000\n", NULL, &e) == 0);
    CHECK_EQ(wait_end(&c, "forever", 300000), STORE_TPL_FAILED);
    CHECK(log_of(&c, "forever", log, sizeof(log)));
    CHECK(strstr(log, "build timed out after 15 s") != NULL);
    cfx_settle(&c);
    ctl_templates_stop(&c.ctl);
    ctl_templates_release(&c.ctl);
    cfx_close(&c);
}

TEST_SLOW(vm_builds_layers_cache_and_failures, 900)
{
    struct cfx c;
    CHECK(tvm_open(&c, 600));
    struct ctl_error e = { 0 };
    static char log[1 << 20];
    /* the second RUN checks the first's file and the ENV */
    const char *df = "FROM minimal\n"
                     "RUN echo one > /one\n"
                     "ENV GREETING=hello\n"
                     "RUN test \"$(cat /one)\" = one && echo \"$GREETING world\" > /two\n";
    CHECK(submit(&c, "t1", df, NULL, &e) == 0);
    enum store_tpl_status s = wait_end(&c, "t1", 600000);
    CHECK(log_of(&c, "t1", log, sizeof(log)));
    if (s != STORE_TPL_READY)
        fprintf(stderr, "%s", log);
    CHECK_EQ(s, STORE_TPL_READY);
    CHECK(strstr(log, "Step 2/4 : RUN echo one > /one\n") != NULL);
    CHECK(strstr(log, "Step 3/4 : ENV GREETING=hello\n") != NULL);
    CHECK_EQ(count_of(log, " ---> Using cache"), 0);
    /* the same Dockerfile under another name: every layer is a cache hit */
    CHECK(submit(&c, "t2", df, NULL, &e) == 0);
    CHECK_EQ(wait_end(&c, "t2", 120000), STORE_TPL_READY);
    CHECK(log_of(&c, "t2", log, sizeof(log)));
    CHECK_EQ(count_of(log, " ---> Using cache"), 3);
    /* a changed ENV: the first RUN is a hit, the second and the final layer run again */
    const char *df3 = "FROM minimal\n"
                      "RUN echo one > /one\n"
                      "ENV GREETING=bye\n"
                      "RUN test \"$(cat /one)\" = one && echo \"$GREETING world\" > /two\n";
    CHECK(submit(&c, "t3", df3, NULL, &e) == 0);
    CHECK_EQ(wait_end(&c, "t3", 600000), STORE_TPL_READY);
    CHECK(log_of(&c, "t3", log, sizeof(log)));
    CHECK_EQ(count_of(log, " ---> Using cache"), 1);
    /* a failing RUN: failed, its status in the log and the error */
    CHECK(submit(&c, "bad", "FROM minimal\nRUN echo out; exit 3\n", NULL, &e) == 0);
    CHECK_EQ(wait_end(&c, "bad", 600000), STORE_TPL_FAILED);
    CHECK(log_of(&c, "bad", log, sizeof(log)));
    CHECK(strstr(log, "out\n") != NULL);
    CHECK(strstr(log, "step 2 (line 2: RUN echo out; exit 3) exited with status 3") != NULL);
    /* COPY from an uploaded context, WORKDIR and USER applied to RUN */
    char dir[4096], p[4200], ctx[80];
    uint64_t size = 0;
    CHECK(ctl_template_upload_dir(&c.ctl, dir) == 0);
    snprintf(p, sizeof(p), "%s/up", dir);
    write_tar(p, "app.txt", "hello\n");
    CHECK(ctl_template_context_put(&c.ctl, &alice, p, ctx, &size, &e) == 0);
    const char *dfc = "FROM minimal\n"
                      "WORKDIR /srv/app\n"
                      "COPY app.txt ./\n"
                      "RUN test \"$(cat /srv/app/app.txt)\" = hello && test \"$(pwd)\" = /srv/app\n"
                      "USER nobody\n"
                      "RUN test \"$(id -u)\" != 0\n";
    struct ctl_tpl_submit rq = { .name = "withctx", .dockerfile = dfc,
                                 .dockerfile_len = strlen(dfc), .context = ctx };
    struct store_template t;
    store_template_init(&t);
    CHECK(ctl_template_submit(&c.ctl, &alice, &rq, &t, &e) == 0);
    store_template_release(&t);
    s = wait_end(&c, "withctx", 600000);
    CHECK(log_of(&c, "withctx", log, sizeof(log)));
    if (s != STORE_TPL_READY)
        fprintf(stderr, "%s", log);
    CHECK_EQ(s, STORE_TPL_READY);
    /* a delete mid-build: cancelled, nothing of it left on disk */
    CHECK(submit(&c, "slow", "FROM minimal\nRUN echo started; sleep 1000\n", NULL, &e) == 0);
    uint64_t until = harness_now_us() + 300000000ull;
    while (harness_now_us() < until) {
        struct timeval tv = { 0, 100000 };
        event_base_loopexit(c.base, &tv);
        event_base_dispatch(c.base);
        CHECK(log_of(&c, "slow", log, sizeof(log)));
        if (strstr(log, "started\n"))
            break;
    }
    CHECK(strstr(log, "started\n") != NULL);
    CHECK_EQ(ctl_template_delete(&c.ctl, &alice, "slow", &e), 0);
    cfx_settle(&c);
    char tmpl[1300];
    snprintf(tmpl, sizeof(tmpl), "ls -d %s/templates/layers/*.tmp %s/templates/work/* "
             "%s/vms/* 2>/dev/null | wc -l", c.root, c.root, c.root);
    FILE *f = popen(tmpl, "r");
    CHECK(f != NULL);
    int left = -1;
    CHECK(fscanf(f, "%d", &left) == 1);
    pclose(f);
    CHECK_EQ(left, 0);
    ctl_templates_stop(&c.ctl);
    ctl_templates_release(&c.ctl);
    cfx_close(&c);
}
