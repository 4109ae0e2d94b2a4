/* SPDX-License-Identifier: MIT */
/* apitest.c: see apitest.h. Talks only to 127.0.0.1. */
#include "apitest.h"
#include "pgtest.h"
#include "common/timefmt.h"
#include "daemon/store/ids.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
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

const char *hd_bin(void)
{
    static char path[512];
    const char *b = getenv("HEARTH_BIN");
    snprintf(path, sizeof(path), "%s/hearthd", b && *b ? b : "build/bin");
    return path;
}

static bool touch(const char *dir, const char *name)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

bool hd_prepare(struct hd_server *s, const char *extra_conf, bool images)
{
    memset(s, 0, sizeof(*s));
    s->pid = -1;
    snprintf(s->dir, sizeof(s->dir), "/tmp/hearth-api-XXXXXX");
    REQUIRE(mkdtemp(s->dir));
    snprintf(s->data, sizeof(s->data), "%s/data", s->dir);
    snprintf(s->images, sizeof(s->images), "%s/images", s->dir);
    snprintf(s->conf, sizeof(s->conf), "%s/hearthd.conf", s->dir);
    snprintf(s->log, sizeof(s->log), "%s/log", s->dir);
    REQUIRE(mkdir(s->images, 0755) == 0);
    if (images) {
        REQUIRE(touch(s->images, "vmlinux"));
        REQUIRE(touch(s->images, "debian-12.ext4"));
        REQUIRE(touch(s->images, "minimal.ext4"));
    }
    char store_line[300] = "";
    if (pgtest_uri()) {
        REQUIRE(pgtest_db_create(s->store, sizeof(s->store)) == 0);
        s->pg = true;
        snprintf(store_line, sizeof(store_line), "store = %s\n", s->store);
    } else {
        snprintf(s->store, sizeof(s->store), "%s/hearth.db", s->data);
    }
    FILE *f = fopen(s->conf, "w");
    REQUIRE(f);
    fprintf(f, "# test config\nlisten = 127.0.0.1:0\nmetrics_listen = 127.0.0.1:0\n"
               "ingress_http_listen = 127.0.0.1:0\n"
               "data_dir = %s\nimages_dir = %s\nregion = local\nhost_id = test-host\n%s",
            s->data, s->images, extra_conf ? extra_conf : "");
    /* last, so the extra lines keep their numbers in config errors a test checks */
    if (store_line[0])
        fprintf(f, "%s%s", extra_conf && *extra_conf && extra_conf[strlen(extra_conf) - 1] != '\n'
                               ? "\n" : "", store_line);
    fclose(f);
    return true;
}

const char *hd_store(const struct hd_server *s)
{
    return s->store;
}

static bool read_port(const char *data, const char *name, uint16_t *port)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", data, name);
    FILE *f = fopen(p, "r");
    if (!f)
        return false;
    unsigned v = 0;
    bool ok = fscanf(f, "%u", &v) == 1 && v > 0 && v < 65536;
    fclose(f);
    if (ok)
        *port = (uint16_t)v;
    return ok;
}

bool hd_start(struct hd_server *s)
{
    char bin[PATH_MAX]; /* absolute: the child may chdir (s->cwd) before exec */
    if (!realpath(hd_bin(), bin))
        snprintf(bin, sizeof(bin), "%s", hd_bin());
    s->pid = fork();
    REQUIRE(s->pid >= 0);
    if (s->pid == 0) {
        int fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, 2);
            dup2(fd, 1);
        }
        if (s->cwd && chdir(s->cwd) < 0)
            _exit(126);
        if (s->images_arg)
            execl(bin, "hearthd", "serve", "--config", s->conf, "--images", s->images_arg,
                  (char *)NULL);
        else
            execl(bin, "hearthd", "serve", "--config", s->conf, (char *)NULL);
        _exit(127);
    }
    /* up to 30 s: start-up reconcile (adopting VMs) runs before the listeners open */
    for (int i = 0; i < 3000; i++) {
        if (read_port(s->data, "hearthd.port", &s->port) &&
            read_port(s->data, "metrics.port", &s->metrics_port))
            break;
        int st;
        if (waitpid(s->pid, &st, WNOHANG) == s->pid) {
            s->pid = -1;
            harness_fail(__FILE__, __LINE__, "hearthd exited early (status %d)", st);
            return false;
        }
        usleep(10000);
    }
    REQUIRE(s->port);
    if (!read_port(s->data, "ingress-http.port", &s->ingress_port))
        s->ingress_port = 0; /* the config turned the ingress listener off */
    char p[256];
    snprintf(p, sizeof(p), "%s/admin.key", s->data);
    FILE *f = fopen(p, "r");
    if (f) {
        if (!fgets(s->admin_key, sizeof(s->admin_key), f))
            s->admin_key[0] = '\0';
        s->admin_key[strcspn(s->admin_key, "\n")] = '\0';
        fclose(f);
    }
    return true;
}

int hd_stop(struct hd_server *s)
{
    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    int st = 0;
    for (int i = 0; i < 1000; i++) {
        pid_t r = waitpid(s->pid, &st, WNOHANG);
        if (r == s->pid) {
            s->pid = -1;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        usleep(10000);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &st, 0);
    s->pid = -1;
    return -1;
}

void hd_cleanup(struct hd_server *s)
{
    if (s->pid > 0) {
        int rc = hd_stop(s);
        if (rc != 0)
            harness_fail(__FILE__, __LINE__, "hearthd exited %d after SIGTERM", rc);
    }
    if (!s->dir[0])
        return;
    /* a sanitizer report in hearthd's stderr fails the test */
    FILE *f = fopen(s->log, "r");
    if (f) {
        char line[4096];
        while (fgets(line, sizeof(line), f))
            if (strstr(line, "Sanitizer") || strstr(line, "runtime error:"))
                harness_fail(__FILE__, __LINE__, "hearthd: %s", line);
        fclose(f);
    }
    if (getenv("HEARTH_KEEP_TEST_DIRS"))
        return;
    if (s->pg)
        pgtest_db_drop(s->store);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/rm", "rm", "-rf", s->dir, (char *)NULL);
        _exit(127);
    }
    if (pid > 0)
        waitpid(pid, NULL, 0);
}

static void drain(int fd, char *out, size_t len)
{
    size_t n = 0;
    for (;;) {
        char tmp[4096];
        ssize_t r = read(fd, tmp, sizeof(tmp));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        size_t take = (size_t)r;
        if (n + take >= len)
            take = len > n + 1 ? len - n - 1 : 0;
        memcpy(out + n, tmp, take);
        n += take;
    }
    if (len)
        out[n] = '\0';
}

int hd_run(const char *const *argv, char *out, size_t out_len, char *err, size_t err_len)
{
    char eout[] = "/tmp/hearth-api-out-XXXXXX", eerr[] = "/tmp/hearth-api-err-XXXXXX";
    int fo = mkstemp(eout), fe = mkstemp(eerr);
    if (fo < 0 || fe < 0)
        return -1;
    unlink(eout);
    unlink(eerr);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        dup2(fo, 1);
        dup2(fe, 2);
        const char *args[32] = { "hearthd" };
        size_t i;
        for (i = 0; argv[i] && i < 30; i++)
            args[i + 1] = argv[i];
        args[i + 1] = NULL;
        execv(hd_bin(), (char *const *)args);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    lseek(fo, 0, SEEK_SET);
    lseek(fe, 0, SEEK_SET);
    drain(fo, out, out_len);
    drain(fe, err, err_len);
    close(fo);
    close(fe);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- HTTP client ---- */

int apitest_io_timeout_s = 60;

int connect_local(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /* creates under TCG and ASan can be slow */
    struct timeval tv = { .tv_sec = apitest_io_timeout_s };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int http_park(uint16_t port, const char *target, const char *headers)
{
    int fd = connect_local(port);
    if (fd < 0)
        return -1;
    char rq[1024];
    int n = snprintf(rq, sizeof(rq), "GET %s HTTP/1.1\r\nHost: t\r\n%sConnection: close\r\n\r\n",
                     target, headers ? headers : "");
    if (n < 0 || (size_t)n >= sizeof(rq) || send_all(fd, rq, (size_t)n) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int http_collect(int fd, char *buf, size_t max)
{
    size_t n = 0;
    for (;;) {
        ssize_t k = recv(fd, buf + n, max - n - 1, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    close(fd);
    buf[n] = '\0';
    int st = -1;
    return sscanf(buf, "HTTP/1.%*d %d", &st) == 1 ? st : -1;
}

int http_raw(uint16_t port, const void *bytes, size_t len, struct hresp *r, bool head_only)
{
    memset(r, 0, sizeof(*r));
    int fd = connect_local(port);
    if (fd < 0)
        return fd;
    /* a server that answers early (413, 431) may reset the rest of a big send: ignore */
    (void)send_all(fd, bytes, len);
    size_t cap = 65536, n = 0;
    char *all = malloc(cap);
    for (;;) {
        if (n + 4096 > cap) {
            cap *= 2;
            all = realloc(all, cap);
        }
        ssize_t k = recv(fd, all + n, cap - n - 1, 0);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        n += (size_t)k;
    }
    close(fd);
    all[n] = '\0';
    char *e = strstr(all, "\r\n\r\n");
    if (!e || sscanf(all, "HTTP/1.%*d %d", &r->status) != 1) {
        free(all);
        return -EBADMSG;
    }
    size_t hl = (size_t)(e - all) + 4;
    if (hl >= sizeof(r->head))
        hl = sizeof(r->head) - 1;
    memcpy(r->head, all, hl);
    r->head[hl] = '\0';
    size_t bl = head_only ? 0 : n - ((size_t)(e - all) + 4);
    r->body = malloc(bl + 1);
    memcpy(r->body, e + 4, bl);
    r->body[bl] = '\0';
    r->body_len = bl;
    free(all);
    if (bl)
        r->json = json_loadb(r->body, bl, 0, NULL);
    return 0;
}

int http_do(uint16_t port, const char *method, const char *target, const char *headers,
            const char *body, struct hresp *r)
{
    size_t bl = body ? strlen(body) : 0;
    size_t cap = bl + strlen(target) + (headers ? strlen(headers) : 0) + 256;
    char *req = malloc(cap);
    int n = snprintf(req, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s",
                     method, target, headers ? headers : "");
    if (body)
        n += snprintf(req + n, cap - (size_t)n, "Content-Length: %zu\r\n", bl);
    n += snprintf(req + n, cap - (size_t)n, "\r\n");
    if (body) {
        memcpy(req + n, body, bl);
        n += (int)bl;
    }
    int e = http_raw(port, req, (size_t)n, r, strcmp(method, "HEAD") == 0);
    free(req);
    return e;
}

int http_status(uint16_t port, const char *method, const char *target, const char *headers,
                const char *body)
{
    struct hresp r;
    if (http_do(port, method, target, headers, body, &r) != 0)
        return -1;
    int st = r.status;
    hresp_free(&r);
    return st;
}

bool hresp_header(const struct hresp *r, const char *name, char *out, size_t max)
{
    const char *p = r->head;
    size_t nl = strlen(name);
    while ((p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *v = p + nl + 1;
            while (*v == ' ')
                v++;
            size_t n = strcspn(v, "\r");
            if (n >= max)
                n = max - 1;
            memcpy(out, v, n);
            out[n] = '\0';
            return true;
        }
    }
    return false;
}

void hresp_free(struct hresp *r)
{
    free(r->body);
    json_decref(r->json);
    r->body = NULL;
    r->json = NULL;
}

json_t *jpath(json_t *root, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *cur = root;
    for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok && cur;
         tok = strtok_r(NULL, ".", &save)) {
        if (json_is_array(cur)) {
            char *end;
            long i = strtol(tok, &end, 10);
            cur = *end ? NULL : json_array_get(cur, (size_t)i);
        } else {
            cur = json_object_get(cur, tok);
        }
    }
    return cur;
}

const char *jstr(json_t *root, const char *path)
{
    json_t *v = jpath(root, path);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

long long jint(json_t *root, const char *path)
{
    json_t *v = jpath(root, path);
    return json_is_integer(v) ? (long long)json_integer_value(v) : -999999;
}

bool hresp_field_is(const struct hresp *r, const char *field, const char *code,
                    const char *part)
{
    json_t *data = jpath(r->json, "data");
    const char *msg = json_string_value(data ? json_object_get(data, field) : NULL);
    const char *c = jstr(r->json, "data.code");
    bool ok = r->status == 400 && msg && c && strcmp(c, code) == 0 &&
              (!part || strstr(msg, part));
    if (!ok)
        harness_fail(__FILE__, __LINE__, "want 400 %s %s '%s': %d %s", field, code,
                     part ? part : "", r->status, r->body);
    return ok;
}

/* Rewrites s's config: host_id becomes id, the store becomes store (NULL: keep), extra appended. */
bool hd_reconfigure(struct hd_server *s, const char *id, const char *store, const char *extra)
{
    FILE *f = fopen(s->conf, "r");
    REQUIRE(f);
    char text[8192];
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    f = fopen(s->conf, "w");
    REQUIRE(f);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "host_id", 7) == 0 || (store && strncmp(line, "store", 5) == 0))
            continue;
        fprintf(f, "%s\n", line);
    }
    fprintf(f, "host_id = %s\n", id);
    if (store) /* a SQLite store is named sqlite:PATH in the config */
        fprintf(f, "store = %s%s\n", store[0] == '/' ? "sqlite:" : "", store);
    fprintf(f, "%s", extra);
    fclose(f);
    if (store)
        snprintf(s->store, sizeof(s->store), "%s", store);
    return true;
}

bool hd_add_row_on_host(struct store *st, const char *key_id, const char *host_id,
                        enum store_state state, char ret_id[STORE_ID_SIZE])
{
    struct store_sandbox sb;
    store_sandbox_init(&sb);
    REQUIRE(ids_new_sandbox(sb.id) == 0);
    snprintf(sb.user_id, sizeof(sb.user_id), "alice");
    snprintf(sb.name, sizeof(sb.name), "on-%s-%s", host_id, store_state_to_string(state));
    sb.status = state;
    snprintf(sb.shape, sizeof(sb.shape), "s-1vcpu-256mb");
    sb.vcpu = 1;
    sb.mem_mib = 256;
    sb.disk_mib = 10240;
    snprintf(sb.rootfs, sizeof(sb.rootfs), "devbox:1");
    snprintf(sb.region, sizeof(sb.region), "local");
    snprintf(sb.host_id, sizeof(sb.host_id), "%s", host_id);
    sb.created_at = sb.running_at = timefmt_now_ms();
    snprintf(sb.created_by, sizeof(sb.created_by), "%s", key_id);
    int r = store_sandbox_insert(st, &sb, NULL, 0);
    store_sandbox_release(&sb);
    REQUIRE(r == 0);
    memcpy(ret_id, sb.id, STORE_ID_SIZE);
    return true;
}
