/* SPDX-License-Identifier: MIT */
/* test_sandboxes_vm.c: sandboxes made real, through real HTTP against `hearthd serve` with the
 * real images ($HEARTH_IMAGES): create (minimal and devbox:1), get, exec buffered and streamed
 * (heartbeat, client disconnect kills the command), files (64 MB round trip, parent dirs, 404,
 * 400, 413), SSH keys at create, destroy, parallel creates and execs, and kill -9 of hearthd
 * during a create and during an exec followed by a restart (rows truthful, VMs re-adopted, no
 * orphan QEMU or run dir). Every test destroys what it made and kills any QEMU left behind. */
#include "apitest.h"
#include "vmfx.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <sys/wait.h>
#include <unistd.h>















/* Sends a request and returns the connected socket without reading (for disconnects). */
/* These tests count VMs and run dirs and time cold boots: no golden snapshot builds in the
 * background (test_snapshots_vm.c covers golden creates). */
#define COLD "golden_snapshots = off\n"

static bool wait_no_process(struct vfx *f, const char *id, const char *needle)
{
    char out[65536];
    for (int i = 0; i < 100; i++) {
        REQUIRE(exec_stdout(f, id, "{\"cmd\":\"ps\"}", out, sizeof(out)));
        if (!strstr(out, needle))
            return true;
        usleep(100 * 1000);
    }
    harness_fail(__FILE__, __LINE__, "'%s' still runs in the guest", needle);
    return false;
}

static void vm_create_exec_stream_destroy_body(struct vfx *f)
{
    char id[64], t[256], out[65536];
    struct hresp r;
    CHECK(create(f, "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"minimal\",\"name\":\"box-one\","
                     "\"envs\":{\"FOO\":\"bar\",\"X\":\"1\"},\"ssh_pubkeys\":[\"" ED25519
                     " me@host\"]}",
                 id));
    /* get: running, spawn_ms, its address (docs/networking.md), also by address */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", id);
    CHECK(call(f, "GET", t, NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.status"), "running");
    CHECK(jpath(r.json, "data.spawn_ms") != NULL);
    char ip[64] = "";
    snprintf(ip, sizeof(ip), "%s", jstr(r.json, "data.ip") ? jstr(r.json, "data.ip") : "");
    CHECK(strncmp(ip, "10.88.", 6) == 0);
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/by-ip/%s", ip);
    CHECK(call(f, "GET", t, NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.id"), id);
    hresp_free(&r);
    /* identity: hostname from the name, ssh key installed */
    CHECK(exec_stdout(f, id, "{\"cmd\":\"sh\",\"args\":[\"-c\",\"hostname; cat /etc/hostname; "
                              "cat /root/.ssh/authorized_keys\"]}", out, sizeof(out)));
    CHECK(strncmp(out, "box-one\nbox-one\nssh-ed25519 ", 28) == 0);
    /* buffered: stdout, stderr, exit code, env (override), cwd default, stdin, bad UTF-8 */
    CHECK(exec_json(f, id, "{\"cmd\":\"sh\",\"args\":[\"-c\",\"echo $FOO $X; pwd; cat; "
                            "echo err >&2; printf '\\\\377\\\\n'; exit 3\"],"
                            "\"stdin\":\"in put\\n\",\"env\":{\"X\":\"2\"}}", 200, &r));
    CHECK_STR(jstr(r.json, "data.result.stdout"), "bar 2\n/root\nin put\n\xEF\xBF\xBD\n");
    CHECK_STR(jstr(r.json, "data.result.stderr"), "err\n");
    CHECK_EQ(jint(r.json, "data.result.exit_code"), 3);
    CHECK(jpath(r.json, "data.result.error") == NULL);
    CHECK(json_is_number(jpath(r.json, "data.exec_ms")));
    hresp_free(&r);
    CHECK(exec_stdout(f, id, "{\"cmd\":\"pwd\",\"cwd\":\"/tmp\"}", out, sizeof(out)));
    CHECK_STR(out, "/tmp\n");
    CHECK(exec_json(f, id, "{\"cmd\":\"sleep\",\"args\":[\"30\"],\"timeout_ms\":300}", 200,
                    &r));
    CHECK_EQ(jint(r.json, "data.result.exit_code"), 137);
    hresp_free(&r);
    CHECK(exec_json(f, id, "{\"cmd\":\"nosuch\"}", 200, &r));
    CHECK_EQ(jint(r.json, "data.result.exit_code"), -1);
    CHECK(strstr(jstr(r.json, "data.result.error"), "not found") != NULL);
    hresp_free(&r);
    /* validation */
    CHECK(exec_json(f, id, "{\"cmd\":\"\"}", 400, &r));
    CHECK(jpath(r.json, "data.cmd") != NULL);
    hresp_free(&r);
    CHECK(exec_json(f, id, "{\"cmd\":\"ls\",\"env\":{\"NOPE\":\"1\"}}", 400, &r));
    CHECK_STR(json_string_value(json_object_get(jpath(r.json, "data"), "env.NOPE")),
              "not declared at create");
    hresp_free(&r);
    CHECK(exec_json(f, id, "{\"cmd\":\"ls\",\"args\":[1]}", 400, &r));
    hresp_free(&r);
    /* streamed, with a heartbeat: the command is silent for more than 5 s */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/exec?stream=true", id);
    CHECK(call(f, "POST", t, "{\"cmd\":\"sh\",\"args\":[\"-c\",\"echo a; sleep 6; echo b >&2; "
                              "exit 4\"]}", 200, &r));
    char ct[100];
    CHECK(hresp_header(&r, "Content-Type", ct, sizeof(ct)));
    CHECK(strstr(ct, "application/x-ndjson") != NULL);
    char *a = strstr(r.body, "{\"stdout\":\"a\\n\"}\n");
    char *hb = strstr(r.body, "{\"hb\":true}\n");
    char *b = strstr(r.body, "{\"stderr\":\"b\\n\"}\n");
    char *ex = strstr(r.body, "{\"exit_code\":4}\n");
    CHECK(a && hb && b && ex && a < hb && hb < b && b < ex);
    hresp_free(&r);
    /* client disconnect mid-stream kills the command (buffered and streamed) */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/exec?stream=true", id);
    int fd = send_only(f, "POST", t, "{\"cmd\":\"sleep\",\"args\":[\"777\"]}");
    CHECK(fd >= 0);
    char buf[256];
    CHECK(read(fd, buf, sizeof(buf)) > 0); /* the head arrived: the command runs */
    close(fd);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/exec", id);
    fd = send_only(f, "POST", t, "{\"cmd\":\"sleep\",\"args\":[\"778\"]}");
    CHECK(fd >= 0);
    usleep(500 * 1000);
    close(fd);
    CHECK(wait_no_process(f, id, "sleep 777"));
    CHECK(wait_no_process(f, id, "sleep 778"));
    /* ssh-pubkeys: de-duplicated on type + key data, installed live; bad keys 400 */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/ssh-pubkeys", id);
    CHECK(call(f, "POST", t, "{\"keys\":[\"" ED25519 " other@host\"]}", 200, &r));
    CHECK_EQ(jint(r.json, "data.count"), 1);
    hresp_free(&r);
    CHECK(call(f, "POST", t, "{\"keys\":[\"ssh-ed25519 nope\"]}", 400, &r));
    CHECK(json_object_get(jpath(r.json, "data"), "keys[0]") != NULL);
    hresp_free(&r);
    CHECK(call(f, "POST", t, "{\"keys\":[]}", 400, &r));
    hresp_free(&r);
    CHECK(exec_stdout(f, id, "{\"cmd\":\"wc\",\"args\":[\"-l\",\"/root/.ssh/authorized_keys\"]}",
                      out, sizeof(out)));
    CHECK(strncmp(out, "1 ", 2) == 0);
    /* destroy: destroyed, readable, exec 409, run dir gone */
    CHECK(destroy(f, id));
    CHECK(exec_json(f, id, "{\"cmd\":\"ls\"}", 409, &r));
    CHECK_STR(jstr(r.json, "data.code"), "invalid_state");
    CHECK_STR(jstr(r.json, "data.state"), "destroyed");
    hresp_free(&r);
    CHECK_EQ(run_dirs(f), 0);
    CHECK_EQ(qemu_left(f, false), 0);
}

TEST_SLOW(vm_create_exec_stream_destroy, 240)
{
    struct vfx f;
    if (vfx_start_conf(&f, COLD))
        vm_create_exec_stream_destroy_body(&f);
    vfx_end(&f); /* also after a failed check: no QEMU may outlive the test */
}

static void sha256_hex(const void *p, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(p, len, md, &n, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void vm_files_body(struct vfx *f)
{
    char id[64], t[256];
    struct hresp r;
    CHECK(create(f, "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"minimal\"}", id));
    size_t len = 64u << 20;
    uint8_t *data = malloc(len + 1024);
    CHECK(data != NULL);
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t)((i * 2654435761u) >> 13);
    char want[65], got[65];
    sha256_hex(data, len, want);
    /* upload with a Content-Length into missing parent dirs */
    char head[1024];
    int hl = snprintf(head, sizeof(head),
                      "PUT /v1/sandboxes/%s/files?path=/data/a/b/big.bin HTTP/1.1\r\nHost: x\r\n"
                      "Connection: close\r\n%sContent-Length: %zu\r\n\r\n", id, f->hdr, len);
    uint8_t *req = malloc(len + (size_t)hl);
    CHECK(req != NULL);
    memcpy(req, head, (size_t)hl);
    memcpy(req + hl, data, len);
    CHECK(http_raw(f->s.port, req, len + (size_t)hl, &r, false) == 0);
    free(req);
    CHECK_EQ(r.status, 200);
    CHECK_STR(jstr(r.json, "data.path"), "/data/a/b/big.bin");
    CHECK_EQ(jint(r.json, "data.bytes"), (long long)len);
    hresp_free(&r);
    /* download: Content-Length and the same bytes */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/files?path=/data/a/b/big.bin", id);
    CHECK(call(f, "GET", t, NULL, 200, &r));
    CHECK_EQ(r.body_len, len);
    sha256_hex(r.body, r.body_len, got);
    CHECK_STR(got, want);
    hresp_free(&r);
    free(data);
    /* the guest agrees */
    char out[4096];
    CHECK(exec_stdout(f, id, "{\"cmd\":\"sha256sum\",\"args\":[\"/data/a/b/big.bin\"]}", out,
                      sizeof(out)));
    CHECK(strncmp(out, want, 64) == 0);
    /* errors: missing file 404 (JSend), relative path 400, directory 400, 413 by length */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/files?path=/no/such", id);
    CHECK(call(f, "GET", t, NULL, 404, &r));
    CHECK_STR(jstr(r.json, "data"), "file not found");
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/files?path=rel/x", id);
    CHECK(call(f, "GET", t, NULL, 400, &r));
    CHECK_STR(jstr(r.json, "data.path"), "must be an absolute path");
    hresp_free(&r);
    CHECK(call(f, "PUT", t, "x", 400, &r));
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/files", id);
    CHECK(call(f, "GET", t, NULL, 400, &r));
    hresp_free(&r);
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/files?path=/etc", id);
    CHECK(call(f, "GET", t, NULL, 400, &r));
    CHECK_STR(jstr(r.json, "data.path"), "not a regular file");
    hresp_free(&r);
    hl = snprintf(head, sizeof(head),
                  "PUT /v1/sandboxes/%s/files?path=/huge HTTP/1.1\r\nHost: x\r\n"
                  "Connection: close\r\n%sContent-Length: 2147483649\r\n\r\n", id, f->hdr);
    CHECK(http_raw(f->s.port, head, (size_t)hl, &r, false) == 0);
    CHECK_EQ(r.status, 413);
    CHECK_STR(jstr(r.json, "data.code"), "payload_too_large");
    hresp_free(&r);
    /* a small file, replaced atomically */
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/files?path=/root/note.txt", id);
    CHECK(call(f, "PUT", t, "first", 200, &r));
    hresp_free(&r);
    CHECK(call(f, "PUT", t, "second", 200, &r));
    CHECK_EQ(jint(r.json, "data.bytes"), 6);
    hresp_free(&r);
    CHECK(call(f, "GET", t, NULL, 200, &r));
    CHECK_STR(r.body, "second");
    hresp_free(&r);
    CHECK(destroy(f, id));
    CHECK(call(f, "GET", t, NULL, 409, &r));
    hresp_free(&r);
}

TEST_SLOW(vm_files, 240)
{
    struct vfx f;
    if (vfx_start_conf(&f, COLD))
        vm_files_body(&f);
    vfx_end(&f); /* also after a failed check: no QEMU may outlive the test */
}

static void vm_debian_body(struct vfx *f)
{
    char id[64], out[8192], t[128];
    struct hresp r;
    /* through the default alias (rootfs_aliases): the sandbox records the catalog name */
    CHECK(create(f, "{\"shape\":\"s-1vcpu-1gb\",\"rootfs\":\"nodeops/sandbox:debian\","
                    "\"name\":\"deb\"}", id));
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", id);
    CHECK(call(f, "GET", t, NULL, 200, &r));
    CHECK_STR(jstr(r.json, "data.rootfs"), "devbox:1");
    hresp_free(&r);
    CHECK(exec_stdout(f, id, "{\"cmd\":\"bash\",\"args\":[\"-c\",\"hostname; grep -c debian "
                              "/etc/os-release; nproc\"]}", out, sizeof(out)));
    CHECK(strncmp(out, "deb\n", 4) == 0);
    CHECK(strstr(out, "\n1\n") != NULL);
    /* what the catalog promises for devbox:1 (docs/images.md), in one guest command: the
     * tools, a C program built and run, a venv; sshd installed but not running (no init
     * system starts it) and no host keys baked into the image */
    CHECK(exec_stdout(f, id, "{\"cmd\":\"bash\",\"args\":[\"-c\",\"for c in python3 pip3 curl "
                              "wget tar git timeout gcc make jq unzip xz file sudo ssh less ps; "
                              "do command -v $c >/dev/null || echo missing-$c; done; "
                              "[ -x /usr/sbin/sshd ] || echo missing-sshd; "
                              "[ -x /usr/lib/openssh/sftp-server ] || echo missing-sftp-server; "
                              "[ -s /etc/ssl/certs/ca-certificates.crt ] || echo missing-ca; "
                              "echo 'int main(void){return 7;}' | gcc -x c -o /tmp/c7 - && "
                              "{ /tmp/c7; [ $? = 7 ] || echo bad-gcc; } || echo no-gcc; "
                              "python3 -c 'import ensurepip' || echo no-ensurepip; "
                              "python3 -m venv --without-pip /tmp/v && /tmp/v/bin/python -c 1 || "
                              "echo no-venv; "
                              "ls /etc/ssh/ssh_host_* 2>/dev/null && echo baked-keys; "
                              "pgrep -x sshd >/dev/null && echo sshd-running; echo end\"]}", out,
                      sizeof(out)));
    CHECK_STR(out, "end\n");
    CHECK(destroy(f, id));
}

/* Runs script detached in the guest (its own session, so the exec's end does not kill it)
 * and polls for its output file to end in "end": for a command that may outlast the test
 * client's 60 s read timeout on a loaded host under TCG (npm --version: 17 s at load 7). */
static bool run_detached(struct vfx *f, const char *id, const char *script, char *out,
                         size_t len, int timeout_s)
{
    json_t *b = json_pack("{s:s,s:[s,s,s,s,s]}", "cmd", "setsid", "args", "-f", "sh", "-c",
                          script, "sh");
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    char ignored[256];
    bool ok = body && exec_stdout(f, id, body, ignored, sizeof(ignored));
    free(body);
    REQUIRE(ok);
    for (int i = 0; i < timeout_s; i++) {
        REQUIRE(exec_sh(f, id, "cat /tmp/detached.out 2>/dev/null", out, len));
        size_t n = strlen(out);
        if (n >= 4 && strcmp(out + n - 4, "end\n") == 0)
            return true;
        sleep(1);
    }
    harness_fail(__FILE__, __LINE__, "detached '%s' did not end in %d s: '%s'", script,
                 timeout_s, out);
    return false;
}

/* The catalog's node and debian-12 (debian-base.ext4) images boot and have what they promise
 * (docs/images.md): one sandbox each. */
static void vm_catalog_body(struct vfx *f)
{
    char id[64], out[8192];
    CHECK(create(f, "{\"shape\":\"s-1vcpu-1gb\",\"rootfs\":\"node\"}", id));
    CHECK(run_detached(f, id, "{ node -e 'console.log(1+1)' && npm --version; } "
                              ">/tmp/detached.out 2>&1 </dev/null; echo end >>/tmp/detached.out",
                       out, sizeof(out), 300));
    CHECK(strncmp(out, "2\n", 2) == 0 && out[2] >= '1' && out[2] <= '9');
    CHECK(destroy(f, id));
    CHECK(create(f, "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"debian-12\"}", id));
    CHECK(exec_stdout(f, id, "{\"cmd\":\"bash\",\"args\":[\"-c\",\"command -v resize2fs; "
                              "grep -c ^VERSION_CODENAME=bookworm /etc/os-release\"]}",
                      out, sizeof(out)));
    CHECK(strstr(out, "resize2fs\n") != NULL);
    CHECK(strstr(out, "\n1\n") != NULL);
    CHECK(destroy(f, id));
}

TEST_SLOW(vm_debian, 480)
{
    struct vfx f;
    if (vfx_start_conf(&f, COLD)) {
        vm_debian_body(&f);
        char k[512];
        snprintf(k, sizeof(k), "%s/node.ext4", f.s.images);
        if (access(k, R_OK) == 0)
            vm_catalog_body(&f);
        else
            harness_fail(__FILE__, __LINE__, "node.ext4 missing: run make images");
    }
    vfx_end(&f); /* also after a failed check: no QEMU may outlive the test */
}

struct par {
    struct vfx *f;
    const char *body;
    char id[64];
    int status;
    char out[256];
};

static void *par_create(void *arg)
{
    struct par *p = arg;
    struct hresp r;
    if (http_do(p->f->s.port, "POST", "/v1/sandboxes", p->f->hdr, p->body, &r) == 0) {
        p->status = r.status;
        if (jstr(r.json, "data.id"))
            snprintf(p->id, sizeof(p->id), "%s", jstr(r.json, "data.id"));
    }
    hresp_free(&r);
    return NULL;
}

static void *par_exec(void *arg)
{
    struct par *p = arg;
    struct hresp r;
    char t[128];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/exec", p->id);
    if (http_do(p->f->s.port, "POST", t, p->f->hdr, p->body, &r) == 0) {
        p->status = r.status;
        if (jstr(r.json, "data.result.stdout"))
            snprintf(p->out, sizeof(p->out), "%s", jstr(r.json, "data.result.stdout"));
    }
    hresp_free(&r);
    return NULL;
}

static void vm_parallel_body(struct vfx *f)
{
    enum { N = 20, E = 8 }; /* the issue asks for 20 parallel creates */
    struct par p[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        p[i] = (struct par){ .f = f,
                             .body = "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"minimal\"}" };
        CHECK(pthread_create(&th[i], NULL, par_create, &p[i]) == 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    int ok = 0;
    for (int i = 0; i < N; i++)
        ok += p[i].status == 200;
    CHECK_EQ(ok, N);
    /* parallel execs in one sandbox */
    struct par e[E];
    char bodies[E][128];
    for (int i = 0; i < E; i++) {
        snprintf(bodies[i], sizeof(bodies[i]),
                 "{\"cmd\":\"sh\",\"args\":[\"-c\",\"sleep 0.3; echo n%d\"]}", i);
        e[i] = (struct par){ .f = f, .body = bodies[i] };
        snprintf(e[i].id, sizeof(e[i].id), "%s", p[0].id);
        CHECK(pthread_create(&th[i], NULL, par_exec, &e[i]) == 0);
    }
    for (int i = 0; i < E; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < E; i++) {
        char w[16];
        snprintf(w, sizeof(w), "n%d\n", i);
        CHECK_EQ(e[i].status, 200);
        CHECK_STR(e[i].out, w);
    }
    for (int i = 0; i < N; i++)
        if (p[i].id[0])
            CHECK(destroy(f, p[i].id));
    CHECK_EQ(run_dirs(f), 0);
}

TEST_SLOW(vm_parallel, 300)
{
    struct vfx f;
    if (vfx_start_conf(&f, COLD))
        vm_parallel_body(&f);
    vfx_end(&f); /* also after a failed check: no QEMU may outlive the test */
}


static void vm_kill9_restart_body(struct vfx *f)
{
    char a[64], st[32], out[4096];
    struct hresp r;
    CHECK(create(f, "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"minimal\",\"name\":\"keep\"}", a));
    CHECK(exec_stdout(f, a, "{\"cmd\":\"sh\",\"args\":[\"-c\",\"echo kept > /root/mark\"]}",
                      out, sizeof(out)));
    /* kill -9 during a create: the new row ends failed (or running), never creating */
    int fd = send_only(f, "POST", "/v1/sandboxes",
                       "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"minimal\",\"name\":\"cut\"}");
    CHECK(fd >= 0);
    usleep(400 * 1000);
    CHECK(crash_restart(f));
    close(fd);
    CHECK(call(f, "GET", "/v1/sandboxes?status=creating", NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 0);
    hresp_free(&r);
    CHECK_STR(status_of(f, a, st), "running");
    CHECK(exec_stdout(f, a, "{\"cmd\":\"cat\",\"args\":[\"/root/mark\"]}", out, sizeof(out)));
    CHECK_STR(out, "kept\n");
    /* kill -9 during an exec: the VM is re-adopted and usable, the command is gone */
    char t[128];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/exec?stream=true", a);
    fd = send_only(f, "POST", t, "{\"cmd\":\"sleep\",\"args\":[\"779\"]}");
    CHECK(fd >= 0);
    char buf[256];
    CHECK(read(fd, buf, sizeof(buf)) > 0);
    CHECK(crash_restart(f));
    close(fd);
    CHECK_STR(status_of(f, a, st), "running");
    CHECK(wait_no_process(f, a, "sleep 779"));
    /* only sandbox a has a VM and a run dir */
    CHECK_EQ(run_dirs(f), 1);
    CHECK_EQ(qemu_left(f, false), 1);
    /* a VM killed from outside turns its sandbox failed */
    char b[64];
    CHECK(create(f, "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"minimal\"}", b));
    char pidf[300];
    snprintf(pidf, sizeof(pidf), "%s/vms/%s/qemu.pid", f->s.data, b);
    FILE *pf = fopen(pidf, "r");
    int qpid = 0;
    if (pf) {
        if (fscanf(pf, "%d", &qpid) != 1)
            qpid = 0;
        fclose(pf);
    }
    if (qpid > 0) {
        kill(qpid, SIGKILL);
        for (int i = 0; i < 100 && strcmp(status_of(f, b, st), "failed") != 0; i++)
            usleep(100 * 1000);
        CHECK_STR(st, "failed");
    }
    CHECK(destroy(f, a));
    CHECK(destroy(f, b));
    for (int i = 0; i < 50 && run_dirs(f); i++)
        usleep(100 * 1000);
    CHECK_EQ(run_dirs(f), 0);
    CHECK_EQ(qemu_left(f, false), 0);
}

TEST_SLOW(vm_kill9_restart, 300)
{
    struct vfx f;
    if (vfx_start_conf(&f, COLD))
        vm_kill9_restart_body(&f);
    vfx_end(&f); /* also after a failed check: no QEMU may outlive the test */
}

/* The root file system's size in MiB as `df` shows it in the guest (busybox and GNU). */
static long long df_root_mib(struct vfx *f, const char *id)
{
    char out[4096];
    if (!exec_stdout(f, id, "{\"cmd\":\"sh\",\"args\":[\"-c\",\"df -k / | tail -n 1\"]}", out,
                     sizeof(out)))
        return -1;
    char dev[256];
    long long kib = -1;
    if (sscanf(out, "%255s %lld", dev, &kib) != 2)
        return -1;
    return kib / 1024;
}

/* df counts the whole file system minus ext4's own metadata: within 5 % below the disk. */
static bool near_mib(long long got, long long disk)
{
    if (got > disk || got < disk - disk / 20)
        harness_fail(__FILE__, __LINE__, "df shows %lld MiB for a %lld MiB disk", got, disk);
    return got <= disk && got >= disk - disk / 20;
}

static bool resize_to(struct vfx *f, const char *id, const char *body, int want,
                      struct hresp *r)
{
    char t[128];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/resize", id);
    return call(f, "POST", t, body, want, r);
}

static void vm_disk_sizes_body(struct vfx *f)
{
    char a[64], b[64], c[64], t[128];
    struct hresp r;
    /* the default disk (10240 MiB) on devbox:1: the 1 GiB image grew at create */
    CHECK(create(f, "{\"shape\":\"s-1vcpu-512mb\",\"rootfs\":\"devbox:1\"}", a));
    CHECK(near_mib(df_root_mib(f, a), 10240));
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", a);
    CHECK(call(f, "GET", t, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.disk_mib"), 10240);
    hresp_free(&r);
    CHECK(destroy(f, a));
    /* the smallest disk on both images: no growth needed, df ≈ 1 GiB */
    CHECK(create(f, "{\"shape\":\"s-1vcpu-512mb\",\"rootfs\":\"devbox:1\",\"disk_mib\":1024}",
                 b));
    CHECK(near_mib(df_root_mib(f, b), 1024));
    CHECK(create(f, "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"minimal\",\"disk_mib\":1024}",
                 c));
    CHECK(near_mib(df_root_mib(f, c), 1024));
    /* resize: 400 when not larger or above the maximum or not an integer, then grow online */
    CHECK(resize_to(f, c, "{\"disk_mib\":1024}", 400, &r));
    CHECK_STR(jstr(r.json, "data.disk_mib"), "must be larger than 1024");
    hresp_free(&r);
    CHECK(resize_to(f, c, "{\"disk_mib\":512}", 400, &r));
    hresp_free(&r);
    CHECK(resize_to(f, c, "{\"disk_mib\":262145}", 400, &r));
    hresp_free(&r);
    CHECK(resize_to(f, c, "{\"disk_mib\":\"2048\"}", 400, &r));
    hresp_free(&r);
    CHECK(resize_to(f, c, "{}", 400, &r));
    hresp_free(&r);
    CHECK(resize_to(f, c, "{\"disk_mib\":3000}", 200, &r));
    CHECK_STR(jstr(r.json, "data.id"), c);
    CHECK_EQ(jint(r.json, "data.disk_mib"), 3000);
    hresp_free(&r);
    CHECK(near_mib(df_root_mib(f, c), 3000));
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", c);
    CHECK(call(f, "GET", t, NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.disk_mib"), 3000);
    hresp_free(&r);
    CHECK(resize_to(f, c, "{\"disk_mib\":3000}", 400, &r));
    CHECK_STR(jstr(r.json, "data.disk_mib"), "must be larger than 3000");
    hresp_free(&r);
    /* devbox:1 grows online too (GNU df) */
    CHECK(resize_to(f, b, "{\"disk_mib\":20480}", 200, &r));
    hresp_free(&r);
    CHECK(near_mib(df_root_mib(f, b), 20480));
    /* the files written before survive the growth */
    char out[256];
    CHECK(exec_stdout(f, c, "{\"cmd\":\"sh\",\"args\":[\"-c\",\"echo x > /root/f; sync; "
                             "cat /root/f\"]}", out, sizeof(out)));
    CHECK_STR(out, "x\n");
    /* a destroyed sandbox: 409 */
    CHECK(destroy(f, c));
    CHECK(resize_to(f, c, "{\"disk_mib\":4096}", 409, &r));
    CHECK_STR(jstr(r.json, "data.code"), "invalid_state");
    hresp_free(&r);
    CHECK(destroy(f, b));
    /* only a golden snapshot being built may still run, and it ends by itself */
    for (int i = 0; i < 200 && qemu_left(f, false); i++)
        usleep(100 * 1000);
    CHECK_EQ(qemu_left(f, false), 0);
}

TEST_SLOW(vm_disk_sizes, 300)
{
    struct vfx f;
    if (vfx_start_conf(&f, COLD))
        vm_disk_sizes_body(&f);
    vfx_end(&f); /* also after a failed check: no QEMU may outlive the test */
}

/* A cgroup v2 mount this test may make a root under: the unified /sys/fs/cgroup, or the v2
 * part of a hybrid layout. false when there is none (the check is then skipped). */
static bool cgroup2_base(char *out, size_t len)
{
    static const char *const bases[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };
    for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
        struct statfs sf;
        if (statfs(bases[i], &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC &&
            access(bases[i], W_OK) == 0) {
            snprintf(out, len, "%s", bases[i]);
            return true;
        }
    }
    return false;
}

static bool read_file(const char *path, char *out, size_t len)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return false;
    size_t n = fread(out, 1, len - 1, fp);
    out[n] = 0;
    fclose(fp);
    return true;
}

static int qemu_pid_of(struct vfx *f, const char *id)
{
    char p[300], buf[32];
    snprintf(p, sizeof(p), "%s/vms/%s/qemu.pid", f->s.data, id);
    return read_file(p, buf, sizeof(buf)) ? atoi(buf) : 0;
}

/* Removes the test's cgroup root and whatever cgroups it still holds (empty ones only). */
static int cgroup_prune_test_root(const char *root)
{
    DIR *d = opendir(root);
    if (d) {
        for (struct dirent *e; (e = readdir(d));)
            if (e->d_name[0] != '.' && e->d_type == DT_DIR)
                (void)unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR); /* busy: left, reported */
        closedir(d);
    }
    return rmdir(root);
}

static void vm_cgroup_body(struct vfx *f, const char *root)
{
    char id[64], p[600], buf[4096];
    CHECK(create(f, "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"minimal\"}", id));
    int pid = qemu_pid_of(f, id);
    CHECK(pid > 0);
    /* QEMU runs in <root>/<id>: listed in cgroup.procs and seen so from /proc */
    snprintf(p, sizeof(p), "%s/%s/cgroup.procs", root, id);
    CHECK(read_file(p, buf, sizeof(buf)));
    char want[96];
    snprintf(want, sizeof(want), "%d\n", pid);
    CHECK(strncmp(buf, want, strlen(want)) == 0 || strstr(buf, want) != NULL);
    snprintf(p, sizeof(p), "/proc/%d/cgroup", pid);
    CHECK(read_file(p, buf, sizeof(buf)));
    char *v2 = strstr(buf, "0::");
    CHECK(v2 != NULL);
    snprintf(want, sizeof(want), "/%s\n", id);
    CHECK(strstr(v2, want) != NULL);
    /* limits where the hierarchy has the controllers: 256 MiB guest + 256 MiB allowance,
     * the CPU cap the host derives from the shape (built-in shapes name none) */
    snprintf(p, sizeof(p), "%s/%s/memory.max", root, id);
    if (read_file(p, buf, sizeof(buf)))
        CHECK_STR(buf, "536870912\n");
    snprintf(p, sizeof(p), "%s/%s/cpu.max", root, id);
    if (read_file(p, buf, sizeof(buf)))
        CHECK_STR(buf, "150000 100000\n"); /* 1 vCPU + 50 % for QEMU itself */
    /* destroy removes the cgroup */
    CHECK(destroy(f, id));
    snprintf(p, sizeof(p), "%s/%s", root, id);
    for (int i = 0; i < 50 && access(p, F_OK) == 0; i++)
        usleep(100 * 1000);
    CHECK(access(p, F_OK) != 0);
    /* a stale cgroup (a crash between QEMU's exit and the cleanup) goes at the next start */
    snprintf(p, sizeof(p), "%s/sb-01STALE0000000000000000000", root);
    CHECK(mkdir(p, 0755) == 0);
    CHECK(crash_restart(f));
    CHECK(access(p, F_OK) != 0);
    CHECK_EQ(qemu_left(f, false), 0);
}

TEST_SLOW(vm_cgroup, 180)
{
    char base[64], root[128], conf[200];
    if (!cgroup2_base(base, sizeof(base)))
        harness_skip("no writable cgroup v2 mount");
    snprintf(root, sizeof(root), "%s/hearth-test-%d", base, (int)getpid());
    snprintf(conf, sizeof(conf), "cgroup_root = %s\n" COLD, root);
    struct vfx f;
    if (vfx_start_conf(&f, conf))
        vm_cgroup_body(&f, root);
    vfx_end(&f); /* also after a failed check: no QEMU may outlive the test */
    (void)cgroup_prune_test_root(root);
}

/* Runs argv (PATH lookup), waiting; true on exit status 0. */
static bool run_ok(const char *const *argv)
{
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    return pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* A guest that cannot grow its file system fails the create truthfully: 500 boot_failed with
 * the reason, the row failed, no VM left. The image is a sparse copy of minimal without
 * /sbin/resize2fs (debugfs edits it without mounting). */
static void vm_grow_fails_body(struct vfx *f)
{
    char src[512], dst[300];
    snprintf(src, sizeof(src), "%s/minimal.ext4", getenv("HEARTH_IMAGES"));
    snprintf(dst, sizeof(dst), "%s/minimal.ext4", f->s.images);
    CHECK(unlink(dst) == 0);
    char variant[300];
    snprintf(variant, sizeof(variant), "%s/minimal.10240.ext4", f->s.images);
    (void)unlink(variant); /* the grown variant would need no resize2fs */
    const char *cp[] = { "cp", "--sparse=always", src, dst, NULL };
    const char *rm[] = { "debugfs", "-w", "-R", "rm /sbin/resize2fs", dst, NULL };
    CHECK(run_ok(cp));
    if (!run_ok(rm)) {
        harness_skip("debugfs (e2fsprogs) is needed");
        return;
    }
    struct hresp r;
    CHECK(call(f, "POST", "/v1/sandboxes", "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"minimal\"}",
               500, &r));
    CHECK_STR(jstr(r.json, "data.code"), "boot_failed");
    CHECK(strstr(jstr(r.json, "message"), "cannot grow the guest's root file system") != NULL);
    hresp_free(&r);
    CHECK(call(f, "GET", "/v1/sandboxes?status=failed", NULL, 200, &r));
    CHECK_EQ(jint(r.json, "data.pagination.total"), 1);
    hresp_free(&r);
    /* the smallest disk needs no growth and boots */
    char id[64];
    CHECK(create(f, "{\"shape\":\"s-1vcpu-256mb\",\"rootfs\":\"minimal\",\"disk_mib\":1024}",
                 id));
    CHECK(destroy(f, id));
    for (int i = 0; i < 50 && (run_dirs(f) || qemu_left(f, false)); i++)
        usleep(100 * 1000);
    CHECK_EQ(run_dirs(f), 0);
    CHECK_EQ(qemu_left(f, false), 0);
}

TEST_SLOW(vm_grow_fails, 120)
{
    struct vfx f;
    if (vfx_start_conf(&f, COLD))
        vm_grow_fails_body(&f);
    vfx_end(&f); /* also after a failed check: no QEMU may outlive the test */
}
