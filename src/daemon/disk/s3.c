/* SPDX-License-Identifier: MIT */
/* s3.c: the S3 requests of s3.h on libcurl. libcurl signs (CURLOPT_AWS_SIGV4, service s3); we
 * add x-amz-content-sha256 (S3 wants it on signed requests and libcurl does not send it),
 * pin the connection to the address the caller checked (CURLOPT_RESOLVE, so a second DNS
 * answer cannot send the request elsewhere), refuse redirects and every protocol but
 * http/https, and ignore proxy variables. Reasons come from curl's error code and the HTTP
 * status only: never from curl's error text, which may hold the URL. */
#include "daemon/disk/s3.h"

#include <curl/curl.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_TIMEOUT_MS 10000

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int disk_s3_connect_host(const struct disk_s3 *s, char *out, size_t size)
{
    if (s->path_style) {
        if (snprintf(out, size, "%s", s->ep->host) >= (int)size)
            return -ENAMETOOLONG;
        return 0;
    }
    if (s->ep->host_is_ip)
        return -EINVAL; /* bucket.<address> names nothing */
    if (snprintf(out, size, "%s.%s", s->bucket, s->ep->host) >= (int)size)
        return -ENAMETOOLONG;
    return 0;
}

/* Appends key percent-encoded (unreserved characters and '/' kept) to buf at *pos. */
static bool append_key(char *buf, size_t size, size_t *pos, const char *key)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *k = (const unsigned char *)key; *k; k++) {
        bool plain = (*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
                     (*k >= '0' && *k <= '9') || strchr("-._~/", *k);
        if (*pos + 4 >= size)
            return false;
        if (plain) {
            buf[(*pos)++] = (char)*k;
        } else {
            buf[(*pos)++] = '%';
            buf[(*pos)++] = hex[*k >> 4];
            buf[(*pos)++] = hex[*k & 15];
        }
    }
    buf[*pos] = '\0';
    return true;
}

/* The request URL: scheme://host[:port][path][/bucket][/key][?query]. */
static int make_url(const struct disk_s3 *s, const char *key, const char *query, char *url,
                    size_t size)
{
    char host[DISK_HOST_SIZE + 64];
    int r = disk_s3_connect_host(s, host, sizeof(host));
    if (r < 0)
        return r;
    /* the default port stays out of the URL, as the signed Host header has it */
    char port[8] = "";
    if (s->ep->port != (s->ep->https ? 443 : 80))
        snprintf(port, sizeof(port), ":%u", s->ep->port);
    int n = snprintf(url, size, "%s://%s%s%s%s%s%s%s", s->ep->https ? "https" : "http",
                     s->ep->host_is_v6 ? "[" : "", host, s->ep->host_is_v6 ? "]" : "", port,
                     s->ep->path, s->path_style ? "/" : "", s->path_style ? s->bucket : "");
    if (n < 0 || (size_t)n >= size)
        return -ENAMETOOLONG;
    size_t pos = (size_t)n;
    if (key) {
        if (pos + 1 >= size)
            return -ENAMETOOLONG;
        url[pos++] = '/';
        url[pos] = '\0';
        if (!append_key(url, size, &pos, key))
            return -ENAMETOOLONG;
    } else if (!s->path_style) {
        if (pos + 1 >= size)
            return -ENAMETOOLONG;
        url[pos++] = '/';
        url[pos] = '\0';
    }
    if (query && snprintf(url + pos, size - pos, "?%s", query) >= (int)(size - pos))
        return -ENAMETOOLONG;
    return 0;
}

struct sink {
    uint8_t *buf;
    size_t len, cap;
    bool over;
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
    struct sink *k = ud;
    size_t n = size * nmemb;
    if (!k->buf)
        return n; /* not wanted: discard */
    if (n > k->cap - k->len) {
        k->over = true;
        return 0; /* aborts the transfer */
    }
    memcpy(k->buf + k->len, p, n);
    k->len += n;
    return n;
}

struct source {
    const uint8_t *p;
    size_t len, off;
};

static size_t on_read(char *out, size_t size, size_t nmemb, void *ud)
{
    struct source *s = ud;
    size_t n = size * nmemb, left = s->len - s->off;
    if (n > left)
        n = left;
    memcpy(out, s->p + s->off, n);
    s->off += n;
    return n;
}

/* The one-line reason of a failed transfer. */
static int curl_reason(CURLcode c, char why[DISK_S3_WHY_SIZE])
{
    switch (c) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        snprintf(why, DISK_S3_WHY_SIZE, "cannot resolve host");
        return -EHOSTUNREACH;
    case CURLE_COULDNT_CONNECT:
        snprintf(why, DISK_S3_WHY_SIZE, "cannot connect");
        return -ECONNREFUSED;
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(why, DISK_S3_WHY_SIZE, "timed out");
        return -ETIMEDOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
        snprintf(why, DISK_S3_WHY_SIZE, "tls: %s", curl_easy_strerror(c));
        return -EPROTO;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        snprintf(why, DISK_S3_WHY_SIZE, "connection closed by the server");
        return -ECONNRESET;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL:
        snprintf(why, DISK_S3_WHY_SIZE, "not an HTTP server");
        return -EPROTO;
    default:
        snprintf(why, DISK_S3_WHY_SIZE, "request failed: %s", curl_easy_strerror(c));
        return -EIO;
    }
}

/* The reason of an HTTP status outside 2xx; bucket: whether a 404 is about the bucket. */
static int status_reason(long st, bool bucket, char why[DISK_S3_WHY_SIZE])
{
    if (st == 403) {
        snprintf(why, DISK_S3_WHY_SIZE, "access denied (403)");
        return -EACCES;
    }
    if (st == 404) {
        snprintf(why, DISK_S3_WHY_SIZE, bucket ? "no such bucket (404)" : "no such key (404)");
        return -ENOENT;
    }
    if (st == 301 || st == 302 || st == 307 || st == 308) {
        snprintf(why, DISK_S3_WHY_SIZE, "redirect (%ld): wrong region or endpoint", st);
        return -EREMCHG;
    }
    snprintf(why, DISK_S3_WHY_SIZE, "unexpected status %ld", st);
    return -EPROTO;
}

/* Hex SHA-256 of len bytes of p (65 bytes out). */
static bool sha256_hex(const void *p, size_t len, char out[65])
{
    uint8_t md[32];
    unsigned mdlen = 0;
    if (EVP_Digest(p, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return false;
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return true;
}

struct req {
    const char *method;         /* HEAD, GET, PUT, DELETE */
    const char *key;            /* NULL: the bucket */
    const char *query;
    const void *body;           /* PUT */
    size_t body_len;
    struct sink *sink;          /* NULL: the body is discarded */
};

static int perform(const struct disk_s3 *s, const struct req *q, long *ret_status,
                   char why[DISK_S3_WHY_SIZE])
{
    snprintf(why, DISK_S3_WHY_SIZE, "internal error");
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return -EIO;
    if (!s || !s->ep || !s->bucket || !s->access_key || !s->secret_key || !s->connect_ip)
        return -EINVAL;
    char url[2048], host[DISK_HOST_SIZE + 64], resolve[DISK_HOST_SIZE + 128];
    char sigv4[128], hash_hdr[128];
    int r = make_url(s, q->key, q->query, url, sizeof(url));
    if (r == -EINVAL)
        snprintf(why, DISK_S3_WHY_SIZE, "virtual-hosted addressing needs a host name");
    if (r == 0)
        r = disk_s3_connect_host(s, host, sizeof(host));
    if (r < 0)
        return r;
    bool v6 = strchr(s->connect_ip, ':') != NULL;
    snprintf(resolve, sizeof(resolve), "%s:%u:%s%s%s", host, s->ep->port, v6 ? "[" : "",
             s->connect_ip, v6 ? "]" : "");
    snprintf(sigv4, sizeof(sigv4), "aws:amz:%s:s3",
             s->region && *s->region ? s->region : "us-east-1");
    char hex[65] = "UNSIGNED-PAYLOAD";
    if (q->body && !sha256_hex(q->body, q->body_len, hex))
        return -EIO;
    snprintf(hash_hdr, sizeof(hash_hdr), "x-amz-content-sha256: %s", hex);

    CURL *h = curl_easy_init();
    struct curl_slist *pin = curl_slist_append(NULL, resolve);
    struct curl_slist *hdrs = curl_slist_append(NULL, hash_hdr);
    if (hdrs && q->body)
        hdrs = curl_slist_append(hdrs, "Expect:"); /* no 100-continue round trip */
    if (!h || !pin || !hdrs) {
        curl_easy_cleanup(h);
        curl_slist_free_all(pin);
        curl_slist_free_all(hdrs);
        return -ENOMEM;
    }
    struct source src = { .p = q->body, .len = q->body_len };
    struct sink discard = { 0 };
    struct sink *sink = q->sink ? q->sink : &discard;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_RESOLVE, pin);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, s->timeout_ms > 0 ? s->timeout_ms
                                                              : (long)DEFAULT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4);
    curl_easy_setopt(h, CURLOPT_USERNAME, s->access_key);
    curl_easy_setopt(h, CURLOPT_PASSWORD, s->secret_key);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "hearthd");
    if (strcmp(q->method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(q->method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, &src);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->body_len);
    } else if (strcmp(q->method, "DELETE") == 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
    }
    CURLcode c = curl_easy_perform(h);
    long st = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
    curl_easy_cleanup(h);
    curl_slist_free_all(pin);
    curl_slist_free_all(hdrs);
    if (c == CURLE_WRITE_ERROR && sink->over) {
        snprintf(why, DISK_S3_WHY_SIZE, "answer larger than %zu bytes", sink->cap);
        return -EFBIG;
    }
    if (c != CURLE_OK)
        return curl_reason(c, why);
    *ret_status = st;
    if (st < 200 || st > 299)
        return status_reason(st, q->key == NULL, why);
    why[0] = '\0';
    return 0;
}

int disk_s3_head_bucket(const struct disk_s3 *s, char why[DISK_S3_WHY_SIZE])
{
    long st;
    struct req q = { .method = "HEAD" };
    return perform(s, &q, &st, why);
}

int disk_s3_head_object(const struct disk_s3 *s, const char *key, char why[DISK_S3_WHY_SIZE])
{
    long st;
    if (!key || !*key)
        return -EINVAL;
    struct req q = { .method = "HEAD", .key = key };
    return perform(s, &q, &st, why);
}

int disk_s3_put(const struct disk_s3 *s, const char *key, const void *data, size_t len,
                char why[DISK_S3_WHY_SIZE])
{
    long st;
    if (!key || !*key || (!data && len))
        return -EINVAL;
    static const uint8_t empty[1];
    struct req q = { .method = "PUT", .key = key, .body = data ? data : empty, .body_len = len };
    return perform(s, &q, &st, why);
}

int disk_s3_get(const struct disk_s3 *s, const char *key, size_t cap, uint8_t **ret,
                size_t *ret_len, char why[DISK_S3_WHY_SIZE])
{
    long st;
    if (!key || !*key || !ret || !ret_len)
        return -EINVAL;
    struct sink k = { .buf = malloc(cap ? cap : 1), .cap = cap };
    if (!k.buf)
        return -ENOMEM;
    struct req q = { .method = "GET", .key = key, .sink = &k };
    int r = perform(s, &q, &st, why);
    if (r < 0) {
        free(k.buf);
        return r;
    }
    *ret = k.buf;
    *ret_len = k.len;
    return 0;
}

int disk_s3_delete(const struct disk_s3 *s, const char *key, char why[DISK_S3_WHY_SIZE])
{
    long st;
    if (!key || !*key)
        return -EINVAL;
    struct req q = { .method = "DELETE", .key = key };
    return perform(s, &q, &st, why);
}

int disk_s3_list(const struct disk_s3 *s, const char *prefix, size_t cap, char **ret,
                 char why[DISK_S3_WHY_SIZE])
{
    long st;
    if (!ret || cap == 0)
        return -EINVAL;
    char query[1200] = "list-type=2";
    if (prefix && *prefix) {
        size_t pos = strlen(query);
        memcpy(query + pos, "&prefix=", 9);
        pos += 8;
        /* '/' is escaped too in a query value */
        for (const unsigned char *p = (const unsigned char *)prefix; *p; p++) {
            if (pos + 4 >= sizeof(query))
                return -ENAMETOOLONG;
            bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                         (*p >= '0' && *p <= '9') || strchr("-._~", *p);
            pos += (size_t)(plain ? snprintf(query + pos, 2, "%c", *p)
                                  : snprintf(query + pos, 4, "%%%02X", *p));
        }
    }
    struct sink k = { .buf = malloc(cap + 1), .cap = cap };
    if (!k.buf)
        return -ENOMEM;
    struct req q = { .method = "GET", .query = query, .sink = &k };
    int r = perform(s, &q, &st, why);
    if (r < 0) {
        free(k.buf);
        return r;
    }
    k.buf[k.len] = '\0';
    *ret = (char *)k.buf;
    return 0;
}
