/* SPDX-License-Identifier: MIT */
/* upgrade.c: the upgrade routes (docs/api.md §3.12): a connection of its own per call (libcurl
 * with CONNECT_ONLY, so TLS works the same), the request head written by hand, the 101 read
 * byte-exact (bytes after it are kept for the first receive), then raw bytes both ways. A
 * refusal is decoded like any JSend error. */
#include "lib_internal.h"

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "jsend_read.h"

#define UPGRADE_HEAD_MAX (16u * 1024u)
#define UPGRADE_BODY_MAX (64u * 1024u)

struct hearth_conn {
    CURL *h;
    int fd;
    char *early;          /* bytes that came after the 101's head; owned */
    size_t early_len, early_off;
};

/* Waits up to ms for fd to be readable (in) or writable. */
static int wait_fd(int fd, bool in, int ms)
{
    struct pollfd p = { .fd = fd, .events = in ? POLLIN : POLLOUT };
    int r = poll(&p, 1, ms);
    return r > 0 ? 0 : r == 0 ? -ETIMEDOUT : -errno;
}

static int send_all(CURL *h, int fd, const char *p, size_t n)
{
    while (n > 0) {
        size_t sent = 0;
        CURLcode rc = curl_easy_send(h, p, n, &sent);
        if (rc == CURLE_AGAIN) {
            if (wait_fd(fd, false, 30000) < 0)
                return -ETIMEDOUT;
            continue;
        }
        if (rc != CURLE_OK)
            return -EIO;
        p += sent;
        n -= sent;
    }
    return 0;
}

/* Reads into b (at most max) until the head's end is in it or the peer closes; the bytes read
 * (head and whatever followed), or -errno. */
static ssize_t recv_head(CURL *h, int fd, char *b, size_t max, long timeout_ms)
{
    size_t got = 0;
    while (got < max) {
        size_t n = 0;
        CURLcode rc = curl_easy_recv(h, b + got, max - got, &n);
        if (rc == CURLE_AGAIN) {
            if (wait_fd(fd, true, (int)timeout_ms) < 0)
                return -ETIMEDOUT;
            continue;
        }
        if (rc != CURLE_OK)
            return -EIO;
        if (n == 0)
            break;
        got += n;
        if (memmem(b, got, "\r\n\r\n", 4))
            break;
    }
    return (ssize_t)got;
}

/* The value of header name in head (NUL-terminated), copied to out; false when absent. */
static bool head_value(const char *head, const char *name, char *out, size_t max)
{
    size_t nl = strlen(name);
    for (const char *l = strstr(head, "\r\n"); l && l[2] != '\r'; l = strstr(l + 2, "\r\n")) {
        const char *s = l + 2;
        if (strncasecmp(s, name, nl) == 0 && s[nl] == ':') {
            s += nl + 1;
            s += strspn(s, " \t");
            size_t len = strcspn(s, "\r\n");
            snprintf(out, max, "%.*s", (int)len, s);
            return true;
        }
    }
    return false;
}

/* The non-101 answer: its body (after what came with the head) into reterr. */
static int refused(CURL *h, int fd, int status, char *buf, size_t got, size_t head_len,
                   struct hearth_error *reterr)
{
    char cl[32] = "", rid[132] = "";
    buf[head_len - 1] = 0; /* head_value stops at the blank line */
    head_value(buf, "Content-Length", cl, sizeof(cl));
    head_value(buf, "X-Request-Id", rid, sizeof(rid));
    size_t want = cl[0] ? strtoul(cl, NULL, 10) : UPGRADE_BODY_MAX;
    if (want > UPGRADE_BODY_MAX)
        want = UPGRADE_BODY_MAX;
    char *body = malloc(want + 1);
    size_t have = got - head_len < want ? got - head_len : want;
    if (body) {
        memcpy(body, buf + head_len, have);
        while (have < want) {
            size_t n = 0;
            CURLcode rc = curl_easy_recv(h, body + have, want - have, &n);
            if (rc == CURLE_AGAIN && wait_fd(fd, true, 10000) == 0)
                continue;
            if (rc != CURLE_OK || n == 0)
                break;
            have += n;
        }
    }
    int r = jsend_decode_error(status, body ? body : "", body ? have : 0, rid, reterr);
    free(body);
    return r;
}

/* Opens path (already escaped) with Upgrade: proto and extra header lines. */
static int upgrade_open(hearth_client *c, const char *method, const char *path,
                        const char *proto, hearth_conn **ret, struct hearth_error *reterr)
{
    err_clear(reterr);
    *ret = NULL;
    CURL *h = curl_easy_init();
    if (!h)
        return err_set(reterr, HEARTH_ERR_NOMEM, 0, "out of memory");
    size_t ulen = strlen(c->base_url) + strlen(path) + 1;
    char *url = malloc(ulen), *host = NULL, *port = NULL, *upath = NULL;
    CURLU *u = curl_url();
    int r = HEARTH_ERR_NOMEM;
    char *buf = malloc(UPGRADE_HEAD_MAX + 1), *req = NULL;
    if (!url || !u || !buf)
        goto out;
    snprintf(url, ulen, "%s%s", c->base_url, path);
    if (curl_url_set(u, CURLUPART_URL, url, 0) || curl_url_get(u, CURLUPART_HOST, &host, 0) ||
        curl_url_get(u, CURLUPART_PATH, &upath, 0)) {
        r = err_set(reterr, HEARTH_ERR_INVALID, 0, "malformed URL %s", url);
        goto out;
    }
    (void)curl_url_get(u, CURLUPART_PORT, &port, 0); /* absent: the scheme's default */
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        r = err_set(reterr, HEARTH_ERR_CONNECT, 0, "cannot connect to %s: %s", c->base_url,
                    curl_easy_strerror(rc));
        goto out;
    }
    curl_socket_t sock = CURL_SOCKET_BAD;
    curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &sock);
    int fd = (int)sock;
    char key[600] = "";
    if (c->api_key)
        snprintf(key, sizeof(key), "X-Api-Key: %s\r\n", c->api_key);
    const char *q = strchr(path, '?');
    if (asprintf(&req,
                 "%s %s%s HTTP/1.1\r\nHost: %s%s%s\r\nUser-Agent: %s\r\n%sConnection: "
                 "Upgrade\r\nUpgrade: %s\r\nContent-Length: 0\r\n\r\n",
                 method, upath, q ? q : "", host, port ? ":" : "", port ? port : "",
                 c->user_agent, key, proto) < 0) {
        req = NULL;
        goto out;
    }
    if (send_all(h, fd, req, strlen(req)) < 0) {
        r = err_set(reterr, HEARTH_ERR_CONNECT, 0, "cannot send the request to %s",
                    c->base_url);
        goto out;
    }
    /* the guest connect may take its 5 s, a VM under load longer */
    ssize_t got = recv_head(h, fd, buf, UPGRADE_HEAD_MAX, c->timeout_ms > 0 ? c->timeout_ms
                                                                            : 60000);
    char *end = got > 0 ? memmem(buf, (size_t)got, "\r\n\r\n", 4) : NULL;
    if (!end || got < 12 || strncmp(buf, "HTTP/1.1 ", 9) != 0) {
        r = err_set(reterr, got == -ETIMEDOUT ? HEARTH_ERR_TIMEOUT : HEARTH_ERR_PROTOCOL, 0,
                    "no valid answer to the upgrade from %s", c->base_url);
        goto out;
    }
    size_t head_len = (size_t)(end - buf) + 4;
    int status = atoi(buf + 9);
    if (c->log_fn) {
        char line[600], rid[132] = "-";
        buf[head_len - 1] = 0;
        head_value(buf, "X-Request-Id", rid, sizeof(rid));
        buf[head_len - 1] = '\n';
        snprintf(line, sizeof(line), "%s %.400s %d %s", method, path, status, rid);
        c->log_fn(c->log_ud, line);
    }
    if (status != 101) {
        r = refused(h, fd, status, buf, (size_t)got, head_len, reterr);
        goto out;
    }
    hearth_conn *k = calloc(1, sizeof(*k));
    if (!k)
        goto out;
    k->h = h;
    k->fd = fd;
    k->early_len = (size_t)got - head_len;
    if (k->early_len && (k->early = malloc(k->early_len)))
        memcpy(k->early, buf + head_len, k->early_len);
    else
        k->early_len = 0;
    h = NULL;
    *ret = k;
    r = HEARTH_OK;
out:
    if (h)
        curl_easy_cleanup(h);
    curl_free(host);
    curl_free(port);
    curl_free(upath);
    curl_url_cleanup(u);
    free(url);
    free(buf);
    free(req);
    return r;
}

int hearth_tunnel_open(hearth_client *c, const char *id, unsigned port, hearth_conn **ret,
                       struct hearth_error *reterr)
{
    if (!c || !id || !ret || port < 1 || port > 65535)
        return err_set(reterr, HEARTH_ERR_INVALID, 0, "port must be 1-65535");
    char *eid = curl_easy_escape(NULL, id, 0);
    if (!eid)
        return err_set(reterr, HEARTH_ERR_NOMEM, 0, "out of memory");
    char path[512];
    snprintf(path, sizeof(path), "/v1/sandboxes/%s/tunnel/%u", eid, port);
    curl_free(eid);
    return upgrade_open(c, "POST", path, "tcp-tunnel", ret, reterr);
}

int hearth_shell_open(hearth_client *c, const char *id, hearth_conn **ret,
                      struct hearth_error *reterr)
{
    if (!c || !id || !ret)
        return err_set(reterr, HEARTH_ERR_INVALID, 0, "missing argument");
    char *eid = curl_easy_escape(NULL, id, 0);
    if (!eid)
        return err_set(reterr, HEARTH_ERR_NOMEM, 0, "out of memory");
    char path[512];
    snprintf(path, sizeof(path), "/v1/sandboxes/%s/shell", eid);
    curl_free(eid);
    return upgrade_open(c, "POST", path, "tcp-tunnel", ret, reterr);
}

int hearth_conn_fd(const hearth_conn *k)
{
    return k ? k->fd : -1;
}

bool hearth_conn_buffered(const hearth_conn *k)
{
    return k && k->early_off < k->early_len;
}

long hearth_conn_recv(hearth_conn *k, void *p, size_t n)
{
    if (k->early_off < k->early_len) {
        size_t m = k->early_len - k->early_off < n ? k->early_len - k->early_off : n;
        memcpy(p, k->early + k->early_off, m);
        k->early_off += m;
        return (long)m;
    }
    size_t got = 0;
    CURLcode rc = curl_easy_recv(k->h, p, n, &got);
    if (rc == CURLE_AGAIN)
        return -EAGAIN;
    if (rc != CURLE_OK)
        return -ECONNRESET;
    return (long)got;
}

long hearth_conn_send(hearth_conn *k, const void *p, size_t n)
{
    size_t sent = 0;
    CURLcode rc = curl_easy_send(k->h, p, n, &sent);
    if (rc == CURLE_AGAIN)
        return -EAGAIN;
    if (rc != CURLE_OK)
        return -EPIPE;
    return (long)sent;
}

int hearth_conn_send_all(hearth_conn *k, const void *p, size_t n)
{
    return send_all(k->h, k->fd, p, n);
}

int hearth_conn_shutdown_write(hearth_conn *k)
{
    return shutdown(k->fd, SHUT_WR) < 0 ? -errno : 0;
}

void hearth_conn_close(hearth_conn *k)
{
    if (!k)
        return;
    curl_easy_cleanup(k->h); /* closes the socket */
    free(k->early);
    free(k);
}

size_t hearth_shell_frame_head(uint8_t head[5], uint8_t type, uint32_t len)
{
    head[0] = type;
    head[1] = (uint8_t)(len >> 24);
    head[2] = (uint8_t)(len >> 16);
    head[3] = (uint8_t)(len >> 8);
    head[4] = (uint8_t)len;
    return 5;
}
