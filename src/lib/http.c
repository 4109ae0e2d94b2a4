/* SPDX-License-Identifier: MIT */
/* http.c: libhearth's one HTTP entry point on libcurl: headers, timeouts, the retry policy of
 * docs/api.md §1.11 / docs/cli.md §3, 2xx bodies to memory or a sink, error bodies to memory, and
 * the debug summary line. The only file that includes curl. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/lib_internal.h"
#include "common/mono.h"

#define RESP_MAX ((size_t)256 << 20)    /* buffered bodies: 2 × 16 MiB of exec output, escaped */
#define ERR_BODY_MAX ((size_t)1 << 20)
#define RETRY_AFTER_MAX_S 60

struct attempt {
    struct hearth_client *c;
    const struct hreq *r;
    struct hresp *resp;
    long retry_after_s;             /* from Retry-After, -1 when absent */
    uint64_t sunk;                  /* bytes handed to the sink */
    uint64_t last_progress_us;
    bool aborted;                   /* the progress callback said stop */
    bool read_failed;
};

static uint64_t now_us(void)
{
    return (uint64_t)mono_now_us();
}

void hresp_release(struct hresp *resp)
{
    buf_release(&resp->body);
}

/* A header value of whole seconds ("3"): the number, capped at 100000, or -1 when it is empty
 * or holds anything but digits (an HTTP date in Retry-After is not understood). */
static long header_seconds(const char *v, size_t vlen)
{
    long s = 0;
    size_t i = 0;
    for (; i < vlen && v[i] >= '0' && v[i] <= '9'; i++)
        if (s < 100000)
            s = s * 10 + (v[i] - '0');
    return i > 0 && i == vlen ? s : -1;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    struct attempt *a = ud;
    size_t len = size * n;
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {     /* a new response (after 100 Continue) */
        a->resp->request_id[0] = '\0';
        a->resp->poll_after_s = -1;
        a->resp->wait_timed_out = -1;
        a->retry_after_s = -1;
        return len;
    }
    const char *colon = memchr(p, ':', len);
    if (!colon)
        return len;
    size_t klen = (size_t)(colon - p);
    const char *v = colon + 1;
    size_t vlen = len - klen - 1;
    while (vlen && (*v == ' ' || *v == '\t'))
        v++, vlen--;
    while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
        vlen--;
    if (klen == 12 && strncasecmp(p, "X-Request-Id", 12) == 0) {
        size_t m = vlen < sizeof(a->resp->request_id) - 1 ? vlen : sizeof(a->resp->request_id) - 1;
        for (size_t i = 0; i < m; i++) /* keep it printable: it goes to the terminal */
            a->resp->request_id[i] = (v[i] > 0x20 && v[i] < 0x7f) ? v[i] : '?';
        a->resp->request_id[m] = '\0';
    } else if (klen == 11 && strncasecmp(p, "Retry-After", 11) == 0) {
        long s = header_seconds(v, vlen);
        if (s >= 0)
            a->retry_after_s = s > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : s;
    } else if (klen == 12 && strncasecmp(p, "X-Poll-After", 12) == 0) {
        a->resp->poll_after_s = header_seconds(v, vlen);
    } else if (klen == 16 && strncasecmp(p, "X-Wait-Timed-Out", 16) == 0) {
        long s = header_seconds(v, vlen);
        a->resp->wait_timed_out = s < 0 ? -1 : s > 0;
    }
    return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    struct attempt *a = ud;
    size_t len = size * n;
    if (a->resp->status == 0) {
        long code = 0;
        curl_easy_getinfo(a->c->curl, CURLINFO_RESPONSE_CODE, &code);
        a->resp->status = (int)code;
    }
    bool ok = a->resp->status >= 200 && a->resp->status < 300;
    if (ok && a->r->sink) {
        if (!a->r->sink(a->r->sink_ud, p, len)) {
            a->resp->sink_failed = true;
            return 0; /* CURLE_WRITE_ERROR */
        }
        a->sunk += len;
        return len;
    }
    if (!ok && a->resp->body.len + len > ERR_BODY_MAX) /* keep the head of a huge error body */
        return len;
    return buf_append(&a->resp->body, p, len) < 0 ? 0 : len;
}

static size_t on_read(char *p, size_t size, size_t n, void *ud)
{
    struct attempt *a = ud;
    for (;;) {
        ssize_t got = read(a->r->upload_fd, p, size * n);
        if (got >= 0)
            return (size_t)got;
        if (errno != EINTR) {
            a->read_failed = true;
            return CURL_READFUNC_ABORT;
        }
    }
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    struct attempt *a = ud;
    if (!a->c->progress_fn)
        return 0;
    uint64_t t = now_us();
    if (t - a->last_progress_us < 100000)
        return 0;
    a->last_progress_us = t;
    if (!a->c->progress_fn(a->c->progress_ud)) {
        a->aborted = true;
        return 1;
    }
    return 0;
}

static bool idempotent(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "DELETE") == 0 ||
           strcmp(m, "HEAD") == 0;
}

static bool retryable_status(const char *method, int s)
{
    if (s == 429 || s == 503)
        return true;
    return idempotent(method) && (s == 408 || s == 500 || s == 502 || s == 504);
}

static bool connection_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
        return true;
    default:
        return false;
    }
}

static int curl_to_err(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return HEARTH_ERR_TIMEOUT;
    case CURLE_ABORTED_BY_CALLBACK:
        return HEARTH_ERR_ABORTED;
    case CURLE_OUT_OF_MEMORY:
        return HEARTH_ERR_NOMEM;
    case CURLE_READ_ERROR:
        return HEARTH_ERR_IO;
    case CURLE_PARTIAL_FILE:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
        return HEARTH_ERR_PROTOCOL;
    default:
        return HEARTH_ERR_CONNECT;
    }
}

/* Redacts api_key=… query values in a path for the debug line. */
static void redact(char *dst, size_t n, const char *path)
{
    size_t o = 0;
    for (const char *p = path; *p && o + 1 < n;) {
        if ((p == path || p[-1] == '?' || p[-1] == '&') && strncmp(p, "api_key=", 8) == 0) {
            const char *rep = "api_key=REDACTED";
            while (*rep && o + 1 < n)
                dst[o++] = *rep++;
            while (*p && *p != '&')
                p++;
            continue;
        }
        dst[o++] = *p++;
    }
    dst[o] = '\0';
}

static void log_exchange(struct hearth_client *c, const struct hreq *r, int status, CURLcode rc,
                         const char *rid, uint64_t us)
{
    if (!c->log_fn)
        return;
    char path[512], line[800];
    redact(path, sizeof(path), r->path);
    if (status)
        snprintf(line, sizeof(line), "%s %s %d %s %llums", r->method, path, status,
                 rid[0] ? rid : "-", (unsigned long long)(us / 1000));
    else
        snprintf(line, sizeof(line), "%s %s failed: %s %llums", r->method, path,
                 curl_easy_strerror(rc), (unsigned long long)(us / 1000));
    c->log_fn(c->log_ud, line);
}

static void backoff(int attempt, long retry_after_s)
{
    long ms;
    if (retry_after_s >= 0) {
        ms = retry_after_s * 1000;
    } else {
        long base = 250L << attempt;                 /* 250 ms, 500 ms */
        ms = base / 2 + (long)(random() % (base + 1)); /* ±50 % jitter */
    }
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static CURLcode setup(struct attempt *a, struct curl_slist **ret_headers)
{
    struct hearth_client *c = a->c;
    const struct hreq *r = a->r;
    CURL *h = c->curl;
    curl_easy_reset(h);

    size_t ulen = strlen(c->base_url) + strlen(r->path) + 1;
    char *url = malloc(ulen);
    if (!url)
        return CURLE_OUT_OF_MEMORY;
    snprintf(url, ulen, "%s%s", c->base_url, r->path);
    CURLcode rc = curl_easy_setopt(h, CURLOPT_URL, url);
    free(url); /* curl copies it */
    if (rc)
        return rc;

    struct curl_slist *hs = NULL, *t;
    char kh[600];
#define ADD(s)                                                                                   \
    do {                                                                                         \
        t = curl_slist_append(hs, (s));                                                          \
        if (!t)                                                                                  \
            goto nomem;                                                                          \
        hs = t;                                                                                  \
    } while (0)
    ADD("Accept: application/json");
    ADD("Expect:"); /* JSON bodies are small: no 100-continue round trip */
    if (c->api_key) {
        snprintf(kh, sizeof(kh), "X-Api-Key: %s", c->api_key);
        ADD(kh);
        explicit_bzero(kh, sizeof(kh));
    }
    if (r->body)
        ADD("Content-Type: application/json");
    if (r->upload_fd >= 0 && r->upload_type) {
        snprintf(kh, sizeof(kh), "Content-Type: %s", r->upload_type);
        ADD(kh);
    } else if (r->upload_fd >= 0) {
        ADD("Content-Type: application/octet-stream");
    }
#undef ADD
    *ret_headers = hs;

    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hs);
    curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, r->stream ? 0L : r->timeout_ms);
    if (r->stream) { /* nothing at all for 60 s (heartbeats come every 5 s): the peer is gone */
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
    }
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, a);

    if (r->upload_fd >= 0) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, a);
        if (r->upload_size >= 0)
            curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->upload_size);
        if (strcmp(r->method, "PUT") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    } else if (r->body || strcmp(r->method, "POST") == 0 || strcmp(r->method, "PATCH") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(r->body ? r->body_len : 0));
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body ? r->body : "");
        if (strcmp(r->method, "POST") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    } else if (strcmp(r->method, "GET") != 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
    }
    return CURLE_OK;
nomem:
    curl_slist_free_all(hs);
    return CURLE_OUT_OF_MEMORY;
}

int hreq_perform(struct hearth_client *c, const struct hreq *r, struct hresp *resp,
                 struct hearth_error *reterr)
{
    memset(resp, 0, sizeof(*resp));
    buf_init(&resp->body, RESP_MAX);
    err_clear(reterr);

    off_t upload_start = -1;
    bool replayable = !r->stream && !r->no_retry;
    if (r->upload_fd >= 0) {
        struct stat st;
        if (fstat(r->upload_fd, &st) == 0 && S_ISREG(st.st_mode))
            upload_start = lseek(r->upload_fd, 0, SEEK_CUR);
        if (upload_start < 0)
            replayable = false; /* a pipe or stdin: the bytes are gone once sent */
    }

    for (int attempt = 0;; attempt++) {
        struct attempt a = { .c = c, .r = r, .resp = resp, .retry_after_s = -1 };
        resp->status = 0;
        resp->request_id[0] = '\0';
        resp->poll_after_s = -1;
        resp->wait_timed_out = -1;
        resp->sink_failed = false;
        resp->body.len = 0;
        if (attempt > 0 && upload_start >= 0 && lseek(r->upload_fd, upload_start, SEEK_SET) < 0)
            return err_set(reterr, HEARTH_ERR_IO, 0, "cannot rewind the upload: %s",
                           strerror(errno));

        struct curl_slist *headers = NULL;
        uint64_t t0 = now_us();
        CURLcode rc = setup(&a, &headers);
        if (rc == CURLE_OK)
            rc = curl_easy_perform(c->curl);
        curl_slist_free_all(headers);
        if (rc == CURLE_OK || resp->status == 0) {
            long code = 0;
            curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);
            if (rc == CURLE_OK || code >= 200)
                resp->status = (int)code;
        }
        log_exchange(c, r, rc == CURLE_OK ? resp->status : 0, rc, resp->request_id,
                     now_us() - t0);

        bool may_retry = replayable && attempt < c->retries && a.sunk == 0 && !a.aborted;
        if (rc != CURLE_OK) {
            if (may_retry && idempotent(r->method) && connection_error(rc)) {
                backoff(attempt, -1);
                continue;
            }
            if (resp->sink_failed)
                return err_set(reterr, HEARTH_ERR_ABORTED, resp->status, "stopped by the caller");
            if (a.aborted)
                return err_set(reterr, HEARTH_ERR_ABORTED, 0, "interrupted");
            if (a.read_failed)
                return err_set(reterr, HEARTH_ERR_IO, 0, "cannot read the upload");
            int code = curl_to_err(rc);
            if (rc == CURLE_PARTIAL_FILE)
                return err_set(reterr, code, resp->status, "the response ended early");
            return err_set(reterr, code, resp->status, "%s: %s", c->base_url,
                           curl_easy_strerror(rc));
        }
        if (may_retry && retryable_status(r->method, resp->status)) {
            backoff(attempt, a.retry_after_s);
            continue;
        }
        return HEARTH_OK;
    }
}
