/* SPDX-License-Identifier: MIT */
/* vmfx.c: the real-VM API test fixture (vmfx.h). */
#include "vmfx.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon/config.h"

bool link_image(const char *src_dir, const char *dst_dir, const char *name)
{
    char a[512], b[512];
    snprintf(a, sizeof(a), "%s/%s", src_dir, name);
    snprintf(b, sizeof(b), "%s/%s", dst_dir, name);
    REQUIRE(symlink(a, b) == 0);
    return true;
}

bool vfx_start_conf(struct vfx *f, const char *extra_conf)
{
    memset(f, 0, sizeof(*f));
    const char *img = getenv("HEARTH_IMAGES");
    char k[512];
    snprintf(k, sizeof(k), "%s/vmlinux", img ? img : "/nonexistent");
    if (!img || access(k, R_OK) != 0)
        harness_skip("HEARTH_IMAGES with vmlinux is needed");
    /* pause and resume answer 202 at once, as the tests written for it expect: the hold of
     * docs/api.md §5.10 is tested on its own (test_snapshots_vm.c, which sets it again) */
    char conf[4096];
    snprintf(conf, sizeof(conf), "%s%s",
             extra_conf && strstr(extra_conf, "lifecycle_hold_ms") ? "" : "lifecycle_hold_ms = 0\n",
             extra_conf ? extra_conf : "");
    REQUIRE(hd_prepare(&f->s, conf, false));
    REQUIRE(link_image(img, f->s.images, "vmlinux"));
    REQUIRE(link_image(img, f->s.images, "minimal.ext4"));
    REQUIRE(link_image(img, f->s.images, "debian-12.ext4"));
    /* the default-disk variants (images/build.sh), as a real catalog has them, and the
     * catalog's other images (node, debian-12 = debian-base.ext4) when they are built */
    const char *more[] = { "minimal.10240.ext4", "debian-12.10240.ext4", "node.ext4",
                           "node.10240.ext4", "debian-base.ext4", "debian-base.10240.ext4" };
    for (size_t i = 0; i < sizeof(more) / sizeof(more[0]); i++) {
        snprintf(k, sizeof(k), "%s/%s", img, more[i]);
        if (access(k, R_OK) == 0)
            REQUIRE(link_image(img, f->s.images, more[i]));
    }
    REQUIRE(hd_start(&f->s));
    snprintf(f->hdr, sizeof(f->hdr), "X-Api-Key: %s\r\n", f->s.admin_key);
    return true;
}

bool vfx_start(struct vfx *f)
{
    return vfx_start_conf(f, NULL);
}

/* QEMU processes whose command line names our temp dir. With kill, SIGKILLs them. */
int qemu_left(const struct vfx *f, bool kill_them)
{
    int n = 0;
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        char p[300], cmd[8192];
        snprintf(p, sizeof(p), "/proc/%s/cmdline", e->d_name);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t len = read(fd, cmd, sizeof(cmd) - 1);
        close(fd);
        if (len <= 0)
            continue;
        for (ssize_t i = 0; i < len; i++)
            if (cmd[i] == 0)
                cmd[i] = ' ';
        cmd[len] = 0;
        if (strstr(cmd, "qemu") && strstr(cmd, f->s.dir)) {
            n++;
            if (kill_them)
                kill(atoi(e->d_name), SIGKILL);
        }
    }
    closedir(d);
    return n;
}

int run_dirs(const struct vfx *f)
{
    char p[300];
    snprintf(p, sizeof(p), "%s/vms", f->s.data);
    DIR *d = opendir(p);
    int n = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

void vfx_end(struct vfx *f)
{
    if (!f->s.dir[0])
        return;
    /* stop hearthd first: it kills what is only its cache (a golden snapshot being built);
     * sandboxes' VMs outlive it by design, so any QEMU left now is a sandbox the test leaked */
    if (f->s.pid > 0) {
        int rc = hd_stop(&f->s);
        if (rc != 0)
            harness_fail(__FILE__, __LINE__, "hearthd exited %d after SIGTERM", rc);
    }
    if (qemu_left(f, true))
        harness_fail(__FILE__, __LINE__, "a qemu process was left running");
    hd_cleanup(&f->s);
}

bool call(struct vfx *f, const char *method, const char *target, const char *body,
                 int want, struct hresp *r)
{
    REQUIRE(http_do(f->s.port, method, target, f->hdr, body, r) == 0);
    if (r->status != want)
        harness_fail(__FILE__, __LINE__, "%s %s: status %d, want %d; body %.400s", method,
                     target, r->status, want, r->body);
    REQUIRE(r->status == want);
    return true;
}

bool create(struct vfx *f, const char *body, char id[64])
{
    struct hresp r;
    REQUIRE(call(f, "POST", "/v1/sandboxes", body, 200, &r));
    REQUIRE(jstr(r.json, "data.status") && strcmp(jstr(r.json, "data.status"), "running") == 0);
    snprintf(id, 64, "%s", jstr(r.json, "data.id"));
    hresp_free(&r);
    return true;
}

const char *status_of(struct vfx *f, const char *id, char out[32])
{
    char t[128];
    struct hresp r;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", id);
    out[0] = 0;
    if (http_do(f->s.port, "GET", t, f->hdr, NULL, &r) == 0 && jstr(r.json, "data.status"))
        snprintf(out, 32, "%s", jstr(r.json, "data.status"));
    hresp_free(&r);
    return out;
}

/* DELETE, then wait (≤ 30 s) for destroyed. */
bool destroy(struct vfx *f, const char *id)
{
    char t[128], st[32];
    struct hresp r;
    snprintf(t, sizeof(t), "/v1/sandboxes/%s", id);
    REQUIRE(call(f, "DELETE", t, NULL, 200, &r));
    hresp_free(&r);
    for (int i = 0; i < 300 && strcmp(status_of(f, id, st), "destroyed") != 0; i++)
        usleep(100 * 1000);
    if (strcmp(st, "destroyed") != 0)
        harness_fail(__FILE__, __LINE__, "%s stays %s", id, st);
    REQUIRE(strcmp(st, "destroyed") == 0);
    return true;
}

/* Buffered exec of a JSON body; the parsed response in r. */
bool exec_json(struct vfx *f, const char *id, const char *body, int want, struct hresp *r)
{
    char t[128];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/exec", id);
    return call(f, "POST", t, body, want, r);
}

bool exec_stdout(struct vfx *f, const char *id, const char *body, char *out, size_t len)
{
    struct hresp r;
    REQUIRE(exec_json(f, id, body, 200, &r));
    const char *s = jstr(r.json, "data.result.stdout");
    snprintf(out, len, "%s", s ? s : "");
    hresp_free(&r);
    return true;
}

bool exec_sh(struct vfx *f, const char *id, const char *script, char *out, size_t len)
{
    json_t *b = json_pack("{s:s,s:[s,s]}", "cmd", "sh", "args", "-c", script);
    char *body = b ? json_dumps(b, JSON_COMPACT) : NULL;
    json_decref(b);
    REQUIRE(body);
    bool ok = exec_stdout(f, id, body, out, len);
    free(body);
    return ok;
}

bool exec_sh_trim(struct vfx *f, const char *id, const char *script, char *out, size_t len)
{
    bool ok = exec_sh(f, id, script, out, len);
    size_t n = strlen(out);
    while (n && out[n - 1] == '\n')
        out[--n] = '\0';
    return ok;
}

bool wait_status_ms(struct vfx *f, const char *id, const char *want, int timeout_ms)
{
    char st[32];
    for (int waited = 0; waited <= timeout_ms; waited += 10) {
        if (strcmp(status_of(f, id, st), want) == 0)
            return true;
        usleep(10 * 1000);
    }
    harness_fail(__FILE__, __LINE__, "%s is %s, want %s", id, st, want);
    return false;
}

/* kill -9 hearthd, then start it again on the same data dir. */
bool crash_restart(struct vfx *f)
{
    kill(f->s.pid, SIGKILL);
    waitpid(f->s.pid, NULL, 0);
    return vfx_restart(f);
}

/* Starts hearthd with HEARTH_CRASH_AT=step (after a clean stop that leaves VMs running). */
bool vfx_start_armed(struct vfx *f, const char *step)
{
    REQUIRE(hd_stop(&f->s) == 0);
    setenv("HEARTH_CRASH_AT", step, 1);
    bool ok = hd_start(&f->s);
    unsetenv("HEARTH_CRASH_AT");
    REQUIRE(ok);
    return true;
}

/* Waits (<= 120 s) for hearthd to die by SIGKILL at the step, then starts it again unarmed. */
bool vfx_died_and_restarted(struct vfx *f, const char *step, int fd)
{
    int st = 0;
    pid_t got = 0;
    for (int i = 0; i < 1200 && got == 0; i++) {
        got = waitpid(f->s.pid, &st, WNOHANG);
        if (got == 0)
            usleep(100 * 1000);
    }
    if (fd >= 0)
        close(fd);
    if (got != f->s.pid || !WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL) {
        harness_fail(__FILE__, __LINE__, "step %s: hearthd did not die by SIGKILL (wait %d, "
                                         "status %d)", step, (int)got, st);
        if (got == 0)
            kill(f->s.pid, SIGKILL), waitpid(f->s.pid, NULL, 0);
    }
    REQUIRE(vfx_restart(f));
    return true;
}

bool vfx_restart(struct vfx *f)
{
    f->s.pid = -1;
    char p[300];
    snprintf(p, sizeof(p), "%s/hearthd.port", f->s.data);
    unlink(p);
    snprintf(p, sizeof(p), "%s/metrics.port", f->s.data);
    unlink(p);
    snprintf(p, sizeof(p), "%s/ingress-http.port", f->s.data);
    unlink(p);
    f->s.port = 0;
    REQUIRE(hd_start(&f->s));
    return true;
}

int send_only(struct vfx *f, const char *method, const char *target, const char *body)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(f->s.port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char head[1024];
    int n = snprintf(head, sizeof(head),
                     "%s %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %zu\r\n\r\n%s", method,
                     target, f->hdr, strlen(body), body);
    if (n < 0 || (size_t)n >= sizeof(head) || write(fd, head, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    return fd;
}

int vfx_taps(const struct vfx *f)
{
    struct hd_config cfg;
    config_defaults(&cfg);
    snprintf(cfg.data_dir, sizeof(cfg.data_dir), "%s", f->s.data);
    char ns[CONFIG_NAME_SIZE], uplink[16], cmd[512], out[64] = "";
    config_net_names(&cfg, ns, uplink);
    snprintf(cmd, sizeof(cmd), "ip -n %s -o link show 2>/dev/null | grep -c ': hs'", ns);
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    if (!fgets(out, sizeof(out), p))
        out[0] = '\0';
    pclose(p);
    return atoi(out);
}
