/* SPDX-License-Identifier: MIT */
/* test_template_create_vm.c: creates from a template through real HTTP with real microVMs
 * (docs/templates.md "Ready templates are snapshots", "Start command and ready check"). The
 * template is made by hand, as a build would leave it: a row in the store (written while
 * hearthd runs, as the store allows) and a top layer (a qcow2 over debian-12's 10 GiB image)
 * with its layer.json. Its start command serves HTTP behind a port check: a cold create
 * answers at once, builds the golden snapshot, the next create restores it and answers at
 * once too; another shape boots cold; the template's ENV is in exec's environment; a disk
 * below the template's file system is refused; pending → 409, deleted by id → 404, and a
 * paused sandbox of a deleted template still resumes. */
#include "apitest.h"
#include "vmfx.h"

#include <glob.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/timefmt.h"
#include "daemon/store/ids.h"
#include "daemon/store/store.h"

#define KEY "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed"
/* busybox httpd, not python3 -m http.server: Python's start under TCG (imports, getfqdn's
 * lookups) took from 10 s to over 90 s on the CI machine, which tests Python, not hearth */
#define OPTIONS                                                                                  \
    "{\"start_cmd\":\"printf 'hi from %s' \\\"$HELLO_TPL\\\" > index.html && exec busybox httpd " \
    "-f -p 8080 -h .\",\"ready\":{\"port\":8080,\"timeout_seconds\":90}}"
#define LAYER_JSON                                                                               \
    "{\"key\":\"" KEY "\",\"parent\":null,\"user_id\":\"admin\",\"text\":\"ENV\","              \
    "\"env\":[\"HELLO_TPL=tpl-env\",\"PATH=/opt/tpl/bin:/usr/local/bin:/usr/bin:/bin\"],"       \
    "\"workdir\":\"/srv\",\"user\":\"\",\"cmd\":[],\"fs_mib\":10240}"

#define KEY_MIN "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define LAYER_MIN_JSON "{\"env\":[],\"workdir\":\"/\",\"fs_mib\":10240}"
#define OPTIONS_MIN                                                                              \
    "{\"start_cmd\":\"mkdir -p /www && echo min > /www/index.html && exec httpd -f -p 8081 -h " \
    "/www\",\"ready\":{\"port\":8081}}"
#define OPTIONS_BROKEN                                                                           \
    "{\"start_cmd\":\"nodee --serve\",\"ready\":{\"port\":8081,\"timeout_seconds\":120}}"

static int run(const char *cmd)
{
    int r = system(cmd);
    if (r != 0)
        harness_fail(__FILE__, __LINE__, "'%s' exited %d", cmd, r);
    return r;
}

/* A layer as a build leaves it: layers/<key>/{disk.qcow2 over the image base, layer.json}. */
static bool make_layer(struct vfx *f, const char *key, const char *base_file, const char *json)
{
    const char *img = getenv("HEARTH_IMAGES");
    char base[512], real[PATH_MAX], cmd[PATH_MAX + 2048];
    snprintf(base, sizeof(base), "%s/%s", img, base_file);
    if (!realpath(base, real))
        harness_skip("no %s", base);
    snprintf(cmd, sizeof(cmd),
             "set -e; d='%s/templates/layers/%s'; mkdir -p \"$d\"; "
             "qemu-img create -q -f qcow2 -F raw -b '%s' \"$d/disk.qcow2\"; "
             "printf '%%s' '%s' > \"$d/layer.json\"",
             f->s.data, key, real, json);
    return run(cmd) == 0;
}

static bool add_template(struct store *st, const char *name, enum store_tpl_status status,
                         const char *key, const char *options, char id[STORE_ID_SIZE])
{
    struct store_template t;
    store_template_init(&t);
    REQUIRE(ids_new_template(t.id) == 0);
    snprintf(t.user_id, sizeof(t.user_id), "admin");
    snprintf(t.name, sizeof(t.name), "%s", name);
    snprintf(t.base, sizeof(t.base), "devbox:1");
    snprintf(t.options, sizeof(t.options), "%s", options);
    t.status = status;
    t.attempt = 1;
    if (status == STORE_TPL_READY)
        snprintf(t.top_layer, sizeof(t.top_layer), "%s", key);
    t.ext4_size_bytes = 10240ll << 20;
    t.created_at = timefmt_now_ms();
    t.dockerfile = (char *)"FROM devbox:1\nENV HELLO_TPL=tpl-env\n";
    snprintf(t.context, sizeof(t.context), "%s", "");
    REQUIRE(store_template_insert(st, &t) == 0);
    memcpy(id, t.id, STORE_ID_SIZE);
    return true;
}

/* curl inside the guest: the page the start command serves. The port is open once the create
 * answers; the first answer of a Python server under TCG can still take seconds while another
 * VM of the test (a golden build) competes for the CPU, so curl gets time and retries
 * (within the test client's 60 s). */
static bool serves(struct vfx *f, const char *id)
{
    char out[256] = "";
    bool ok = exec_sh(f, id,
                      "for i in 1 2 3; do curl -sf --max-time 12 "
                      "http://127.0.0.1:8080/index.html && break; sleep 1; done",
                      out, sizeof(out));
    if (!ok || strcmp(out, "hi from tpl-env") != 0)
        harness_fail(__FILE__, __LINE__, "sandbox %s serves '%s'", id, out);
    return ok && strcmp(out, "hi from tpl-env") == 0;
}

/* Whether n complete golden snapshots of the template exist (golden/<tag>/<key>/meta.json). */
static bool goldens_ready(struct vfx *f, size_t n)
{
    char pat[512];
    snprintf(pat, sizeof(pat), "%s/templates/golden/*/*/meta.json", f->s.data);
    glob_t g;
    bool found = glob(pat, 0, NULL, &g) == 0 && g.gl_pathc >= n;
    globfree(&g);
    return found;
}

static bool wait_goldens(struct vfx *f, size_t n)
{
    for (int i = 0; i < 1200 && !goldens_ready(f, n); i++)
        usleep(100000);
    return goldens_ready(f, n);
}

static bool create_status(struct vfx *f, const char *body, int want, const char *code,
                          const char *field)
{
    struct hresp r;
    REQUIRE(call(f, "POST", "/v1/sandboxes", body, want, &r));
    if (code && (!jstr(r.json, "data.code") || strcmp(jstr(r.json, "data.code"), code) != 0))
        harness_fail(__FILE__, __LINE__, "code %s, want %s: %s", jstr(r.json, "data.code"),
                     code, r.body);
    if (field && !jpath(r.json, field))
        harness_fail(__FILE__, __LINE__, "no %s in %s", field, r.body);
    hresp_free(&r);
    return true;
}

static void body_for(char *out, size_t len, const char *shape, const char *rootfs)
{
    snprintf(out, len, "{\"shape\":\"%s\",\"rootfs\":\"%s\"}", shape, rootfs);
}

TEST_SLOW(template_create_golden_cold_env_errors_resume, 900)
{
    struct vfx f;
    if (!vfx_start(&f))
        return;
    char db[256], err[256], body[256], a[64] = "", b[64] = "", c[64] = "", out[512];
    snprintf(db, sizeof(db), "%s", hd_store(&f.s));
    struct store *st = NULL;
    char ready[STORE_ID_SIZE], pending[STORE_ID_SIZE];
    if (store_open(db, &st, err, sizeof(err)) != 0 ||
        !make_layer(&f, KEY, "debian-12.10240.ext4", LAYER_JSON) ||
        !add_template(st, "web", STORE_TPL_READY, KEY, OPTIONS, ready) ||
        !add_template(st, "slow", STORE_TPL_PENDING, KEY, OPTIONS, pending)) {
        harness_fail(__FILE__, __LINE__, "fixture: %s", err);
        goto out;
    }
    /* a cold create (no golden yet) runs the start command and waits for the port: under TCG
     * with an ASan hearthd and a second VM that can take over a minute */
    apitest_io_timeout_s = 240;
    body_for(body, sizeof(body), "s-1vcpu-256mb", "web");
    if (!create(&f, body, a))
        goto out;
    /* that create makes the golden snapshot for its shape in the background: wait for it, so
     * the checks below do not share the two CPUs with a booting VM */
    CHECK(wait_goldens(&f, 1));
    CHECK(serves(&f, a));
    struct hresp r;
    snprintf(out, sizeof(out), "/v1/sandboxes/%s", a);
    CHECK(call(&f, "GET", out, NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.rootfs"), ready); /* the id, though the request named it */
    hresp_free(&r);
    /* the template's ENV reaches exec; its WORKDIR is where the start command ran */
    CHECK(exec_sh(&f, a, "env | grep -E '^(HELLO_TPL|PATH)=' | sort", out, sizeof(out)));
    CHECK_STR(out, "HELLO_TPL=tpl-env\nPATH=/opt/tpl/bin:/usr/local/bin:/usr/bin:/bin\n");
    CHECK(exec_sh(&f, a, "test -s /srv/index.html && echo yes", out, sizeof(out)));
    CHECK_STR(out, "yes\n");
    /* by id too; restored from the golden: the server is up the moment it is running */
    body_for(body, sizeof(body), "s-1vcpu-256mb", ready);
    if (create(&f, body, b))
        CHECK(serves(&f, b));
    /* another shape: no golden for it, a cold boot that still serves */
    body_for(body, sizeof(body), "s-1vcpu-512mb", "web");
    if (create(&f, body, c)) {
        /* it makes the golden for its shape too: the template's second */
        CHECK(wait_goldens(&f, 2));
        CHECK(serves(&f, c));
        CHECK(destroy(&f, c));
    }
    /* a busybox image (no bash: the port check reads /proc/net/tcp), and a start command
     * that fails at once: the create fails with what it said, not after the timeout */
    char mini[STORE_ID_SIZE], broken[STORE_ID_SIZE], d[64] = "";
    if (make_layer(&f, KEY_MIN, "minimal.10240.ext4", LAYER_MIN_JSON) &&
        add_template(st, "mini", STORE_TPL_READY, KEY_MIN, OPTIONS_MIN, mini) &&
        add_template(st, "broken", STORE_TPL_READY, KEY_MIN, OPTIONS_BROKEN, broken)) {
        if (create(&f, "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"mini\"}", d)) {
            CHECK(exec_sh(&f, d, "wget -qO- http://127.0.0.1:8081/index.html", out,
                          sizeof(out)));
            CHECK_STR(out, "min\n");
            CHECK(destroy(&f, d));
        }
        int64_t t0 = (int64_t)harness_now_us();
        CHECK(call(&f, "POST", "/v1/sandboxes",
                   "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"broken\"}", 500, &r));
        CHECK(r.body && strstr(r.body, "start command exited 127") != NULL);
        hresp_free(&r);
        CHECK((int64_t)harness_now_us() - t0 < 50 * 1000000ll); /* its timeout is 120 s */
        CHECK(wait_goldens(&f, 3));
    }
    /* a disk below the template's file system */
    CHECK(create_status(&f, "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"web\",\"disk_mib\":2048}",
                        400, NULL, "data.disk_mib"));
    CHECK(create_status(&f, "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"slow\"}", 409,
                        "template_not_ready", NULL));
    CHECK(create_status(&f, "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"no-such-thing\"}", 400,
                        NULL, "data.rootfs"));
    /* pause b, delete the template: new creates by id 404, by name unknown; b still resumes */
    if (b[0]) {
        snprintf(out, sizeof(out), "/v1/sandboxes/%s/pause", b);
        CHECK(call(&f, "POST", out, NULL, 202, &r));
        hresp_free(&r);
        CHECK(wait_status_ms(&f, b, "paused", 60000));
    }
    enum store_tpl_status was;
    CHECK_EQ(store_template_delete(st, "admin", ready, timefmt_now_ms(), &was), 0);
    body_for(body, sizeof(body), "s-1vcpu-256mb", ready);
    CHECK(create_status(&f, body, 404, NULL, NULL));
    CHECK(create_status(&f, "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"web\"}", 400, NULL,
                        "data.rootfs"));
    if (b[0]) {
        snprintf(out, sizeof(out), "/v1/sandboxes/%s/resume", b);
        CHECK(call(&f, "POST", out, NULL, 202, &r));
        hresp_free(&r);
        CHECK(wait_status_ms(&f, b, "running", 60000));
        CHECK(serves(&f, b));
        CHECK(destroy(&f, b));
    }
    CHECK(destroy(&f, a));
out:
    if (getenv("TPL_DEBUG")) { /* hearthd's view of the run, before its dir goes */
        snprintf(out, sizeof(out), "grep -E 'error|warn|template|golden' '%s' | tail -40 >&2",
                 f.s.log);
        (void)system(out);
    }
    if (st)
        store_close(st);
    vfx_end(&f);
}
