/* SPDX-License-Identifier: MIT */
/* test_templates_vm.c: template builds through real HTTP with real build VMs
 * (docs/templates.md "How a build runs", "Layers and the cache", "Failures, cancel and
 * restart"), on the minimal image: a three-step Dockerfile builds to ready with "Step i/n"
 * lines and a sandbox created from it has the files and the ENV; the same Dockerfile under
 * another name is all cache hits; a changed ENV rebuilds from there on; a failing RUN fails
 * with its exit status; COPY from an uploaded context; a delete mid-build cancels and leaves no
 * files; a hearthd killed mid-build finishes the build on attempt 2; an attempt past
 * template_build_timeout_s fails; a build FROM an OCI image on a loopback registry. */
#include "apitest.h"
#include "vmfx.h"

#include <glob.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONF "template_build_mem_mib = 512\n"

static bool submit(struct vfx *f, const char *name, const char *dockerfile, const char *ctx)
{
    json_t *b = json_pack("{s:s,s:s}", "name", name, "dockerfile", dockerfile);
    if (ctx)
        json_object_set_new(b, "context", json_string(ctx));
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    struct hresp r;
    bool ok = call(f, "POST", "/v1/templates", body, 200, &r);
    free(body);
    if (ok)
        ok = jstr(r.json, "data.status") && strcmp(jstr(r.json, "data.status"), "pending") == 0;
    hresp_free(&r);
    return ok;
}

/* Polls the template until its status is not pending/building; the status in out. */
static const char *wait_built(struct vfx *f, const char *name, int timeout_s, char out[32])
{
    char target[128];
    snprintf(target, sizeof(target), "/v1/templates/%s", name);
    snprintf(out, 32, "timeout");
    for (int i = 0; i < timeout_s * 4; i++) {
        struct hresp r;
        if (!call(f, "GET", target, NULL, 200, &r))
            return out;
        const char *s = jstr(r.json, "data.status");
        snprintf(out, 32, "%s", s ? s : "?");
        hresp_free(&r);
        if (strcmp(out, "pending") != 0 && strcmp(out, "building") != 0)
            return out;
        usleep(250000);
    }
    return out;
}

/* The plain log in out (NUL-terminated). */
static bool logs(struct vfx *f, const char *name, char *out, size_t len)
{
    char target[128];
    snprintf(target, sizeof(target), "/v1/templates/%s/logs", name);
    struct hresp r;
    REQUIRE(call(f, "GET", target, NULL, 200, &r));
    snprintf(out, len, "%s", r.body ? r.body : "");
    hresp_free(&r);
    return true;
}

static int count_of(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static bool built(struct vfx *f, const char *name, char *log, size_t len)
{
    char st[32];
    wait_built(f, name, 900, st);
    REQUIRE(logs(f, name, log, len));
    if (strcmp(st, "ready") != 0)
        harness_fail(__FILE__, __LINE__, "%s: %s\n%s", name, st, log);
    return strcmp(st, "ready") == 0;
}

/* Waits until name's log has line (a step is running). */
static bool wait_log(struct vfx *f, const char *name, const char *line, char *log, size_t len)
{
    for (int i = 0; i < 2400; i++) {
        REQUIRE(logs(f, name, log, len));
        if (strstr(log, line))
            return true;
        usleep(250000);
    }
    harness_fail(__FILE__, __LINE__, "%s: no '%s' in\n%s", name, line, log);
    return false;
}

/* Uploads a context holding app.txt ("hello") and inner.tar (holding deep/file.txt); its id
 * in id. */
static bool upload_ctx(struct vfx *f, char id[80])
{
    char dir[160], cmd[1400], tarp[160];
    snprintf(dir, sizeof(dir), "%s/ctx", f->s.dir);
    snprintf(tarp, sizeof(tarp), "%s/ctx.tar", f->s.dir);
    REQUIRE((size_t)snprintf(cmd, sizeof(cmd),
                             "set -e; mkdir -p %s/in/deep && printf hello > %s/app.txt && "
                             "printf x > %s/in/deep/file.txt && tar -cf %s/inner.tar -C %s/in "
                             "deep && rm -r %s/in && tar -cf %s -C %s .",
                             dir, dir, dir, dir, dir, dir, tarp, dir) < sizeof(cmd));
    REQUIRE(system(cmd) == 0);
    FILE *fp = fopen(tarp, "rb");
    REQUIRE(fp);
    static char body[65536];
    size_t n = fread(body, 1, sizeof(body), fp);
    fclose(fp);
    char head[512];
    int hn = snprintf(head, sizeof(head),
                      "POST /v1/template-contexts HTTP/1.1\r\nHost: x\r\n%sContent-Length: %zu"
                      "\r\nConnection: close\r\n\r\n", f->hdr, n);
    static char all[70000];
    memcpy(all, head, (size_t)hn);
    memcpy(all + hn, body, n);
    struct hresp r;
    REQUIRE(http_raw(f->s.port, all, (size_t)hn + n, &r, false) == 0);
    bool ok = r.status == 200 && jstr(r.json, "data.id");
    if (ok)
        snprintf(id, 80, "%s", jstr(r.json, "data.id"));
    else
        harness_fail(__FILE__, __LINE__, "upload: %d %s", r.status, r.body);
    hresp_free(&r);
    return ok;
}

/* Files under data/templates matching pattern. */
static size_t files(struct vfx *f, const char *pattern)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/templates/%s", f->s.data, pattern);
    glob_t g;
    size_t n = glob(p, 0, NULL, &g) == 0 ? g.gl_pathc : 0;
    globfree(&g);
    return n;
}

static const char DF1[] = "FROM minimal\n"
                          "RUN echo one > /one\n"
                          "ENV GREETING=hello\n"
                          "RUN test \"$(cat /one)\" = one && echo \"$GREETING world\" > /two\n";

TEST_SLOW(templates_build_cache_fail_context_cancel_restart, 2400)
{
    struct vfx f;
    if (!vfx_start_conf(&f, CONF)) {
        vfx_end(&f);
        return;
    }
    static char log[1 << 20];
    char st[32];
    /* three steps to ready, then a sandbox made of it */
    CHECK(submit(&f, "t1", DF1, NULL));
    CHECK(built(&f, "t1", log, sizeof(log)));
    CHECK(strstr(log, "Step 1/4 : FROM minimal\nStep 2/4 : RUN echo one > /one\n") != NULL);
    CHECK(strstr(log, "Step 3/4 : ENV GREETING=hello\n") != NULL);
    CHECK_EQ(count_of(log, " ---> Using cache"), 0);
    char id[64], out[256];
    if (create(&f, "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"t1\"}", id)) {
        CHECK(exec_sh(&f, id, "cat /two; grep GREETING /etc/environment", out, sizeof(out)));
        CHECK_STR(out, "hello world\nGREETING=hello\n");
        CHECK(destroy(&f, id));
    }
    /* the same Dockerfile again: every layer a cache hit */
    CHECK(submit(&f, "t2", DF1, NULL));
    CHECK(built(&f, "t2", log, sizeof(log)));
    CHECK_EQ(count_of(log, " ---> Using cache"), 3);
    /* step 3 changed: step 2 is a hit, step 4 and the final layer run */
    char df3[sizeof(DF1) + 8];
    snprintf(df3, sizeof(df3), "%s", DF1);
    memcpy(strstr(df3, "hello"), "bye  ", 5);
    CHECK(submit(&f, "t3", df3, NULL));
    CHECK(built(&f, "t3", log, sizeof(log)));
    CHECK_EQ(count_of(log, " ---> Using cache"), 1);
    /* a failing RUN */
    CHECK(submit(&f, "bad", "FROM minimal\nRUN echo out; exit 3\n", NULL));
    CHECK_STR(wait_built(&f, "bad", 900, st), "failed");
    CHECK(logs(&f, "bad", log, sizeof(log)));
    CHECK(strstr(log, "out\nstep 2 (line 2: RUN echo out; exit 3) exited with status 3\n"));
    struct hresp r;
    CHECK(call(&f, "GET", "/v1/templates/bad", NULL, 200, &r));
    CHECK(strstr(jstr(r.json, "data.error") ? jstr(r.json, "data.error") : "", "status 3"));
    hresp_free(&r);
    /* COPY from an uploaded context */
    char ctx[80];
    CHECK(upload_ctx(&f, ctx));
    CHECK(submit(&f, "copy", "FROM minimal\nWORKDIR /app\nCOPY app.txt .\n"
                             "ADD inner.tar /x/\nCOPY --chown=nobody app.txt /y/\n"
                             "RUN test \"$(cat /app/app.txt)\" = hello && test -f /x/deep/file.txt "
                             "&& ls -l /y/app.txt | grep -q nobody\n", ctx));
    CHECK(built(&f, "copy", log, sizeof(log)));
    /* delete mid-build: cancelled, no .tmp or scratch left */
    CHECK(submit(&f, "slow", "FROM minimal\nRUN echo started; sleep 100000\n", NULL));
    CHECK(wait_log(&f, "slow", "started\n", log, sizeof(log)));
    CHECK(call(&f, "DELETE", "/v1/templates/slow", NULL, 200, &r));
    hresp_free(&r);
    usleep(2000000);
    CHECK_EQ(files(&f, "layers/*.tmp"), 0);
    CHECK_EQ(files(&f, "work/*"), 0);
    /* hearthd killed mid-build: attempt 1 is lost, attempt 2 builds it */
    CHECK(submit(&f, "restart", "FROM minimal\nRUN echo begun; sleep 5; echo done > /d\n", NULL));
    CHECK(wait_log(&f, "restart", "begun\n", log, sizeof(log)));
    CHECK(crash_restart(&f));
    CHECK(built(&f, "restart", log, sizeof(log)));
    CHECK(strstr(log, "--- attempt 2 ---\n") != NULL);
    CHECK(strstr(log, "attempt 1 lost") != NULL);
    vfx_end(&f);
}

TEST_SLOW(templates_build_timeout, 900)
{
    struct vfx f;
    if (!vfx_start_conf(&f, CONF "template_build_timeout_s = 20\n")) {
        vfx_end(&f);
        return;
    }
    static char log[1 << 16];
    char st[32];
    CHECK(submit(&f, "forever", "FROM minimal\nRUN sleep 100000\n", NULL));
    CHECK_STR(wait_built(&f, "forever", 600, st), "failed");
    CHECK(logs(&f, "forever", log, sizeof(log)));
    CHECK(strstr(log, "build timed out after 20 s") != NULL);
    usleep(2000000);
    vfx_end(&f);
}

/* An OCI base: Debian's docker-registry on loopback with tests/oci/registry.sh's busybox image
 * (marker file, Env HEARTH_OCI_TEST=1, WorkingDir /work): the import runs off the loop, the
 * image config is the build's starting state, the build ends ready. */
TEST_SLOW(templates_build_from_an_oci_base, 900)
{
    if (access("/usr/bin/docker-registry", X_OK) < 0 || access("/usr/bin/skopeo", X_OK) < 0 ||
        access("/usr/bin/umoci", X_OK) < 0 || access("build/bin/hearth-agent", X_OK) < 0)
        harness_skip("docker-registry, skopeo, umoci or build/bin/hearth-agent missing");
    int port = 20000 + (int)(getpid() % 20000);
    char conf[160];
    snprintf(conf, sizeof(conf), CONF "oci_registries = \"127.0.0.1:%d insecure\"\n", port);
    struct vfx f;
    if (!vfx_start_conf(&f, conf)) {
        vfx_end(&f);
        return;
    }
    char cmd[1024], agent[PATH_MAX + 32], ref[128];
    snprintf(agent, sizeof(agent), "%s/hearth-agent", f.s.images);
    CHECK(realpath("build/bin/hearth-agent", cmd) && symlink(cmd, agent) == 0);
    snprintf(cmd, sizeof(cmd), "tests/oci/registry.sh run -d %s/registry -a 127.0.0.1 -p %d",
             f.s.dir, port);
    FILE *p = popen(cmd, "r");
    int registry = 0;
    CHECK(p && fscanf(p, "%d", &registry) == 1 && registry > 0);
    pclose(p);
    snprintf(ref, sizeof(ref), "127.0.0.1:%d/test/busybox:1", port);
    snprintf(cmd, sizeof(cmd), "tests/oci/registry.sh build-image -d %s/img -r %s >/dev/null",
             f.s.dir, ref);
    if (system(cmd) == 0) {
        static char log[1 << 16];
        char df[512];
        snprintf(df, sizeof(df), "FROM %s\nRUN test -f /etc/hearth-oci-test && "
                 "test \"$HEARTH_OCI_TEST\" = 1 && test \"$(pwd)\" = /work && echo oci-ok\n", ref);
        CHECK(submit(&f, "fromoci", df, NULL));
        CHECK(built(&f, "fromoci", log, sizeof(log)));
        CHECK(strstr(log, "oci-ok\n") != NULL);
    } else {
        harness_fail(__FILE__, __LINE__, "registry.sh build-image failed");
    }
    /* registry.sh's pid is timeout(1)'s, which passes SIGTERM on to the registry */
    kill(registry, SIGTERM);
    usleep(1000000);
    vfx_end(&f);
}
