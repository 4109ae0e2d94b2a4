/* SPDX-License-Identifier: MIT */
/* apiclient.c: the daemon and HTTP client the API benchmarks share (apiclient.h). */
#include "apiclient.h"
#include "stats.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/mono.h"



int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the daemon ---- */

const char *images_dir(void)
{
    const char *d = getenv("HEARTH_IMAGES");
    return d && *d ? d : "build/images";
}

bool daemon_prepare(struct daemon *d)
{
    return daemon_prepare_conf(d, NULL);
}

bool daemon_prepare_conf(struct daemon *d, const char *extra_conf)
{
    memset(d, 0, sizeof(*d));
    d->pid = -1;
    snprintf(d->dir, sizeof(d->dir), "/tmp/hearth-bench-api-XXXXXX");
    if (!mkdtemp(d->dir))
        return false;
    snprintf(d->data, sizeof(d->data), "%s/data", d->dir);
    snprintf(d->conf, sizeof(d->conf), "%s/hearthd.conf", d->dir);
    snprintf(d->log, sizeof(d->log), "%s/log", d->dir);
    if (mkdir(d->data, 0700) < 0)
        return false;
    char img[PATH_MAX];
    if (!realpath(images_dir(), img))
        snprintf(img, sizeof(img), "%s/images", d->dir);
    FILE *f = fopen(d->conf, "w");
    if (!f)
        return false;
    fprintf(f, "listen = 127.0.0.1:0\nmetrics_listen = off\ningress_http_listen = 127.0.0.1:0\n"
               "data_dir = %s\nimages_dir = %s\naccel = %s\n"
               "region = local\nhost_id = bench-host\n%s%s", d->data, img, bench_accel(),
            /* quiet, unless the benchmark reads hearthd's info lines */
            extra_conf && strstr(extra_conf, "log_level") ? "" : "log_level = warn\n",
            extra_conf ? extra_conf : "");
    fclose(f);
    return true;
}

bool daemon_start(struct daemon *d)
{
    char bin[PATH_MAX];
    const char *b = getenv("HEARTH_BIN");
    snprintf(bin, sizeof(bin), "%s/hearthd", b && *b ? b : "build/bin");
    d->pid = fork();
    if (d->pid < 0)
        return false;
    if (d->pid == 0) {
        int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(bin, "hearthd", "serve", "--config", d->conf, (char *)NULL);
        _exit(127);
    }
    char p[200];
    snprintf(p, sizeof(p), "%s/hearthd.port", d->data);
    for (int i = 0; i < 1000; i++) {
        FILE *f = fopen(p, "r");
        unsigned v = 0;
        if (f) {
            bool ok = fscanf(f, "%u", &v) == 1;
            fclose(f);
            if (ok && v > 0 && v < 65536) {
                d->port = (uint16_t)v;
                return true;
            }
        }
        if (waitpid(d->pid, NULL, WNOHANG) == d->pid) {
            fprintf(stderr, "bench: hearthd exited early (%s: see %s)\n", bin, d->log);
            d->pid = -1;
            return false;
        }
        usleep(10000);
    }
    return false;
}

void daemon_stop(struct daemon *d)
{
    if (d->pid > 0) {
        kill(d->pid, SIGTERM);
        int st;
        for (int i = 0; i < 1500 && waitpid(d->pid, &st, WNOHANG) != d->pid; i++)
            usleep(10000);
        if (kill(d->pid, 0) == 0) {
            kill(d->pid, SIGKILL);
            waitpid(d->pid, &st, 0);
        }
        d->pid = -1;
    }
    if (d->dir[0] && !getenv("HEARTH_KEEP_TEST_DIRS")) {
        pid_t pid = fork();
        if (pid == 0) {
            execl("/bin/rm", "rm", "-rf", d->dir, (char *)NULL);
            _exit(127);
        }
        if (pid > 0)
            waitpid(pid, NULL, 0);
    }
}

/* VmRSS of pid in KiB, or -1. */
long vm_rss_kib(pid_t pid)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    long kib = -1;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

/* ---- a keep-alive HTTP/1.1 client ---- */

int conn_open(struct conn *c, uint16_t port)
{
    c->have = 0;
    c->port = port;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -errno;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int r = -errno;
        close(c->fd);
        c->fd = -1;
        return r;
    }
    return 0;
}

void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

int fill(struct conn *c)
{
    if (c->have == sizeof(c->buf))
        return -ENOBUFS;
    ssize_t n;
    do
        n = recv(c->fd, c->buf + c->have, sizeof(c->buf) - c->have, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if (n == 0)
        return -ECONNRESET;
    c->have += (size_t)n;
    return 0;
}

void consume(struct conn *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->have - n);
    c->have -= n;
}

/* Appends exactly n body bytes to r. */
int take(struct conn *c, struct resp *r, size_t n)
{
    char *nb = realloc(r->body, r->len + n + 1);
    if (!nb)
        return -ENOMEM;
    r->body = nb;
    while (n) {
        if (!c->have) {
            int e = fill(c);
            if (e)
                return e;
        }
        size_t k = c->have < n ? c->have : n;
        memcpy(r->body + r->len, c->buf, k);
        r->len += k;
        consume(c, k);
        n -= k;
    }
    r->body[r->len] = '\0';
    return 0;
}

/* Reads one CRLF-terminated line (without the CRLF) into out. */
int line(struct conn *c, char *out, size_t max)
{
    for (;;) {
        char *e = memmem(c->buf, c->have, "\r\n", 2);
        if (e) {
            size_t n = (size_t)(e - c->buf);
            snprintf(out, max, "%.*s", (int)(n < max ? n : max - 1), c->buf);
            consume(c, n + 2);
            return 0;
        }
        int r = fill(c);
        if (r)
            return r;
    }
}

/* One request on the connection (reopened if the server closed it); body may be NULL. */
int request(struct conn *c, const char *method, const char *target, const char *key,
                   const char *body, struct resp *r)
{
    memset(r, 0, sizeof(*r));
    char head[1024];
    size_t bl = body ? strlen(body) : 0;
    int hn = snprintf(head, sizeof(head),
                      "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-Key: %s\r\n"
                      "Content-Length: %zu\r\n%s\r\n",
                      method, target, key, bl, body ? "Content-Type: application/json\r\n" : "");
    for (int attempt = 0; attempt < 2; attempt++) {
        if (c->fd < 0 && conn_open(c, c->port) < 0)
            return -ECONNREFUSED;
        if (send(c->fd, head, (size_t)hn, MSG_NOSIGNAL) == hn &&
            (!bl || send(c->fd, body, bl, MSG_NOSIGNAL) == (ssize_t)bl))
            break;
        conn_close(c);
    }
    char l[8192];
    int e = line(c, l, sizeof(l));
    if (e || sscanf(l, "HTTP/1.%*d %d", &r->status) != 1) {
        conn_close(c);
        return e ? e : -EBADMSG;
    }
    long long clen = -1;
    bool chunked = false, close_after = false;
    for (;;) {
        if ((e = line(c, l, sizeof(l))))
            return e;
        if (!l[0])
            break;
        if (strncasecmp(l, "Content-Length:", 15) == 0)
            clen = atoll(l + 15);
        else if (strncasecmp(l, "Transfer-Encoding:", 18) == 0 && strcasestr(l, "chunked"))
            chunked = true;
        else if (strncasecmp(l, "Connection:", 11) == 0 && strcasestr(l, "close"))
            close_after = true;
    }
    if (chunked) {
        for (;;) {
            if ((e = line(c, l, sizeof(l))))
                return e;
            size_t n = strtoul(l, NULL, 16);
            if (n == 0) {
                while (!(e = line(c, l, sizeof(l))) && l[0])
                    ;
                break;
            }
            if ((e = take(c, r, n)) || (e = line(c, l, sizeof(l))))
                return e;
        }
    } else if (clen > 0 && (e = take(c, r, (size_t)clen))) {
        return e;
    }
    if (!r->body && !(r->body = calloc(1, 1)))
        return -ENOMEM;
    if (close_after)
        conn_close(c);
    return 0;
}

void resp_free(struct resp *r)
{
    free(r->body);
    r->body = NULL;
}

/* The string value of "field":"…" first found in a JSON body (ids, codes: no escapes). */
/* Copies the string member `field` of the JSend envelope's data object into out. */
bool json_field(const char *body, const char *field, char *out, size_t max)
{
    json_t *root = body ? json_loads(body, 0, NULL) : NULL;
    json_t *v = json_object_get(json_object_get(root, "data"), field);
    bool ok = json_is_string(v);
    if (ok)
        snprintf(out, max, "%s", json_string_value(v));
    json_decref(root);
    return ok;
}

/* Creates one sandbox; returns 0 with its id and the wall time, or the HTTP status (or -errno)
 * with the body's machine code in why. */
int create_one(uint16_t port, const char *key, const char *body, char id[STORE_ID_SIZE],
               double *ms, char *why, size_t why_len)
{
    struct conn c = { .fd = -1, .port = port };
    struct resp r;
    int64_t t0 = mono_now_us();
    int e = request(&c, "POST", "/v1/sandboxes", key, body, &r);
    *ms = (double)(mono_now_us() - t0) / 1000.0;
    conn_close(&c);
    if (e) {
        snprintf(why, why_len, "request failed: %s", strerror(-e));
        return e;
    }
    int status = r.status;
    char code[64] = "", st[32] = "";
    if (status == 200 && json_field(r.body, "id", id, STORE_ID_SIZE) &&
        json_field(r.body, "status", st, sizeof(st)) && strcmp(st, "running") == 0) {
        resp_free(&r);
        return 0;
    }
    json_field(r.body, "code", code, sizeof(code));
    snprintf(why, why_len, "POST /v1/sandboxes answers %d %s", status, code);
    resp_free(&r);
    return status ? status : -EBADMSG;
}

int post_op(uint16_t port, const char *key, const char *id, const char *what, const char *body,
            char *ret_id, char *ret_status)
{
    struct conn c = { .fd = -1, .port = port };
    char t[160];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/%s", id, what);
    struct resp r;
    int e = request(&c, "POST", t, key, body, &r);
    conn_close(&c);
    if (e)
        return e;
    if (ret_id)
        json_field(r.body, "id", ret_id, STORE_ID_SIZE);
    if (ret_status)
        json_field(r.body, "status", ret_status, 32);
    int status = r.status;
    resp_free(&r);
    return status;
}

void destroy_one(uint16_t port, const char *key, const char *id)
{
    struct conn c = { .fd = -1, .port = port };
    char target[128];
    snprintf(target, sizeof(target), "/v1/sandboxes/%s", id);
    struct resp r;
    if (request(&c, "DELETE", target, key, NULL, &r) == 0)
        resp_free(&r);
    /* DELETE answers `destroying`; wait for `destroyed` (bounded) so that stopping hearthd
     * afterwards leaves no VM behind */
    for (int i = 0; i < 600; i++) {
        char st[32] = "";
        bool got = request(&c, "GET", target, key, NULL, &r) == 0;
        if (got) {
            json_field(r.body, "status", st, sizeof(st));
            resp_free(&r);
        }
        if (!got || strcmp(st, "destroyed") == 0)
            break;
        usleep(50000);
    }
    conn_close(&c);
}


bool daemon_start_vm_bench(struct daemon *d, const char *name, const char *extra_conf,
                           char *key, size_t keylen, bool *failed)
{
    char kpath[512];
    *failed = false;
    d->pid = -1;
    snprintf(kpath, sizeof(kpath), "%s/vmlinux", images_dir());
    if (access(kpath, R_OK) != 0) {
        printf("%s: skipped: no %s (make images)\n", name, kpath);
        return false;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!daemon_prepare_conf(d, extra_conf) || !daemon_start(d)) {
        printf("%s: hearthd did not start\n", name);
        daemon_stop(d);
        *failed = true;
        return false;
    }
    char p[256];
    snprintf(p, sizeof(p), "%s/admin.key", d->data);
    FILE *f = fopen(p, "r");
    char fmt[16];
    snprintf(fmt, sizeof(fmt), "%%%zus", keylen - 1);
    bool ok = f && fscanf(f, fmt, key) == 1;
    if (f)
        fclose(f);
    if (!ok) {
        printf("%s: no admin key in %s\n", name, p);
        daemon_stop(d);
        *failed = true;
    }
    return ok;
}

int upgrade_open(uint16_t port, const char *key, const char *id, const char *route)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        goto fail;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    char req[512];
    int n = snprintf(req, sizeof(req),
                     "POST /v1/sandboxes/%s/%s HTTP/1.1\r\nHost: b\r\nX-Api-Key: %s\r\n"
                     "Connection: Upgrade\r\nUpgrade: tcp-tunnel\r\nContent-Length: 0\r\n\r\n",
                     id, route, key);
    if (write(fd, req, (size_t)n) != n)
        goto fail;
    char head[2048];
    size_t hl = 0;
    while (hl + 1 < sizeof(head) && read(fd, head + hl, 1) == 1) {
        hl++;
        if (hl >= 4 && memcmp(head + hl - 4, "\r\n\r\n", 4) == 0)
            break;
    }
    head[hl] = 0;
    if (strncmp(head, "HTTP/1.1 101 ", 13) == 0)
        return fd;
fail:
    if (fd >= 0)
        close(fd);
    return -1;
}

bool daemon_golden_ready(const struct daemon *d, int want)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/golden/*/meta.json", d->data);
    for (int i = 0; i < 1200; i++) {
        glob_t g;
        int n = glob(p, 0, NULL, &g) == 0 ? (int)g.gl_pathc : 0;
        globfree(&g);
        if (n >= want)
            return true;
        usleep(50000);
    }
    return false;
}

int exec_sh(uint16_t port, const char *key, const char *id, const char *script, struct resp *r)
{
    json_t *b = json_pack("{s:s,s:[s,s]}", "cmd", "sh", "args", "-c", script);
    char *body = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    struct conn c = { .fd = -1, .port = port };
    char t[128];
    snprintf(t, sizeof(t), "/v1/sandboxes/%s/exec", id);
    int e = body ? request(&c, "POST", t, key, body, r) : -ENOMEM;
    conn_close(&c);
    free(body);
    return e;
}

bool exec_sh_ok(uint16_t port, const char *key, const char *id, const char *script)
{
    struct resp r;
    int e = exec_sh(port, key, id, script, &r);
    bool ok = e == 0 && r.status == 200 && strstr(r.body, "\"exit_code\":0");
    if (e == 0)
        resp_free(&r);
    return ok;
}
