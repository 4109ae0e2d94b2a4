/* SPDX-License-Identifier: MIT */
/* probe.c: the bucket check of probe.h. The blocking part (getaddrinfo, the policy, the signed
 * HEAD) runs on its own pthread with private copies of everything it reads; it ends by writing
 * one byte to a pipe that the loop watches, so the loop never blocks and no libevent call
 * crosses threads. A loop timer reports "timed out" at the deadline even when the resolver
 * hangs; the probe's memory lives until its thread is joined. */
#include "daemon/disk/probe.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/mono.h"

#define MAX_POLICY 64      /* own pools and allow entries copied per probe */
#define KEY_MAX 512

struct disk_probe {
    struct event_base *base;
    struct event *ev_pipe, *ev_timer;
    int pipe_r, pipe_w;
    pthread_t th;
    bool reported, cancelled;
    disk_probe_done_fn done;
    void *ud;
    struct disk_probe *next;             /* the live list */
    /* the thread's copies */
    char endpoint[DISK_ENDPOINT_MAX + 1];
    char bucket[64];
    char region[64];
    bool path_style;
    char access_key[KEY_MAX], secret_key[KEY_MAX];
    struct disk_cidr own[MAX_POLICY], allow[MAX_POLICY];
    struct disk_addr_policy policy;
    long timeout_ms;
    /* the thread's answer, read after the pipe byte */
    enum disk_probe_outcome outcome;
    char why[DISK_S3_WHY_SIZE];
};

static struct disk_probe *live;          /* loop thread only */
static size_t n_live;

static long remaining_ms(int64_t start_us, long budget)
{
    int64_t spent = (mono_now_us() - start_us) / 1000;
    return spent >= budget ? 0 : budget - (long)spent;
}

enum disk_probe_outcome disk_probe_run(const struct disk_probe_req *req,
                                       char why[DISK_S3_WHY_SIZE])
{
    int64_t start = mono_now_us();
    long budget = req->timeout_ms > 0 ? req->timeout_ms : 3000;
    struct disk_endpoint ep;
    const char *w;
    if (disk_endpoint_parse(req->endpoint, &ep, &w) < 0) {
        snprintf(why, DISK_S3_WHY_SIZE, "%s", w);
        return DISK_PROBE_REFUSED;
    }
    struct disk_s3 s = { .ep = &ep, .bucket = req->bucket, .region = req->region,
                         .path_style = req->path_style, .access_key = req->access_key,
                         .secret_key = req->secret_key };
    char host[DISK_HOST_SIZE + 64];
    if (disk_s3_connect_host(&s, host, sizeof(host)) < 0) {
        snprintf(why, DISK_S3_WHY_SIZE, "virtual-hosted addressing needs a host name: use "
                                        "path style for an IP address");
        return DISK_PROBE_REFUSED;
    }
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res = NULL;
    int g = getaddrinfo(host, NULL, &hints, &res);
    if (g != 0 || !res) {
        snprintf(why, DISK_S3_WHY_SIZE, "cannot resolve host");
        return DISK_PROBE_FAILED;
    }
    /* every address must pass: a name that also points inward is refused as a whole */
    char ip[INET6_ADDRSTRLEN] = "";
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        if (a->ai_family != AF_INET && a->ai_family != AF_INET6)
            continue;
        char one[INET6_ADDRSTRLEN];
        const void *src = a->ai_family == AF_INET
            ? (const void *)&((struct sockaddr_in *)(void *)a->ai_addr)->sin_addr
            : (const void *)&((struct sockaddr_in6 *)(void *)a->ai_addr)->sin6_addr;
        if (!inet_ntop(a->ai_family, src, one, sizeof(one)))
            continue;
        if (disk_addr_judge(req->policy, a->ai_addr, &w) < 0) {
            snprintf(why, DISK_S3_WHY_SIZE, "address %s is refused: %s", one, w);
            freeaddrinfo(res);
            return DISK_PROBE_REFUSED;
        }
        if (!ip[0])
            snprintf(ip, sizeof(ip), "%s", one);
    }
    freeaddrinfo(res);
    if (!ip[0]) {
        snprintf(why, DISK_S3_WHY_SIZE, "cannot resolve host");
        return DISK_PROBE_FAILED;
    }
    s.connect_ip = ip;
    s.timeout_ms = remaining_ms(start, budget);
    if (s.timeout_ms <= 0) {
        snprintf(why, DISK_S3_WHY_SIZE, "timed out");
        return DISK_PROBE_FAILED;
    }
    if (disk_s3_head_bucket(&s, why) < 0)
        return DISK_PROBE_FAILED;
    why[0] = '\0';
    return DISK_PROBE_OK;
}

static void *thread_main(void *arg)
{
    struct disk_probe *p = arg;
    struct disk_probe_req req = { .endpoint = p->endpoint, .bucket = p->bucket,
                                  .region = p->region, .path_style = p->path_style,
                                  .access_key = p->access_key, .secret_key = p->secret_key,
                                  .policy = &p->policy, .timeout_ms = p->timeout_ms };
    p->outcome = disk_probe_run(&req, p->why);
    OPENSSL_cleanse(p->access_key, sizeof(p->access_key));
    OPENSSL_cleanse(p->secret_key, sizeof(p->secret_key));
    char b = 1;
    while (write(p->pipe_w, &b, 1) < 0 && errno == EINTR)
        ;
    return NULL;
}

static void unlink_live(struct disk_probe *p)
{
    for (struct disk_probe **pp = &live; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            n_live--;
            return;
        }
}

/* After the thread is joined: frees everything. */
static void destroy(struct disk_probe *p)
{
    if (p->ev_pipe)
        event_free(p->ev_pipe);
    if (p->ev_timer)
        event_free(p->ev_timer);
    if (p->pipe_r >= 0)
        close(p->pipe_r);
    if (p->pipe_w >= 0)
        close(p->pipe_w);
    OPENSSL_cleanse(p, sizeof(*p));
    free(p);
}

static void report(struct disk_probe *p, enum disk_probe_outcome o, const char *why)
{
    if (p->reported || p->cancelled)
        return;
    p->reported = true;
    p->done(p->ud, o, why);
}

static void on_pipe(evutil_socket_t fd, short what, void *arg)
{
    struct disk_probe *p = arg;
    pthread_join(p->th, NULL);
    unlink_live(p);
    if (p->ev_timer)
        event_del(p->ev_timer);
    /* the callback may start another probe: p is off the list and its slot is free */
    report(p, p->outcome, p->why);
    destroy(p);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    report(arg, DISK_PROBE_FAILED, "timed out");
}

int disk_probe_start(struct event_base *base, const struct disk_probe_req *req,
                     disk_probe_done_fn done, void *ud, struct disk_probe **ret)
{
    if (!base || !req || !done || !req->endpoint || !req->bucket || !req->access_key ||
        !req->secret_key)
        return -EINVAL;
    if (n_live >= DISK_PROBE_MAX)
        return -EBUSY;
    if (strlen(req->endpoint) >= sizeof(((struct disk_probe *)0)->endpoint) ||
        strlen(req->bucket) >= 64 || (req->region && strlen(req->region) >= 64) ||
        strlen(req->access_key) >= KEY_MAX || strlen(req->secret_key) >= KEY_MAX)
        return -EINVAL;
    struct disk_probe *p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->pipe_r = p->pipe_w = -1;
    p->base = base;
    p->done = done;
    p->ud = ud;
    snprintf(p->endpoint, sizeof(p->endpoint), "%s", req->endpoint);
    snprintf(p->bucket, sizeof(p->bucket), "%s", req->bucket);
    snprintf(p->region, sizeof(p->region), "%s", req->region ? req->region : "");
    p->path_style = req->path_style;
    snprintf(p->access_key, sizeof(p->access_key), "%s", req->access_key);
    snprintf(p->secret_key, sizeof(p->secret_key), "%s", req->secret_key);
    p->timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : 3000;
    if (req->policy) {
        size_t no = req->policy->n_own < MAX_POLICY ? req->policy->n_own : MAX_POLICY;
        size_t na = req->policy->n_allow < MAX_POLICY ? req->policy->n_allow : MAX_POLICY;
        if (no)
            memcpy(p->own, req->policy->own, no * sizeof(p->own[0]));
        if (na)
            memcpy(p->allow, req->policy->allow, na * sizeof(p->allow[0]));
        p->policy = (struct disk_addr_policy){ p->own, no, p->allow, na };
    }
    int fds[2];
    int r = pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0 ? -errno : 0;
    if (r == 0) {
        p->pipe_r = fds[0];
        p->pipe_w = fds[1];
        p->ev_pipe = event_new(base, p->pipe_r, EV_READ, on_pipe, p);
        p->ev_timer = evtimer_new(base, on_timer, p);
        if (!p->ev_pipe || !p->ev_timer)
            r = -ENOMEM;
    }
    /* the loop's deadline: a little after the thread's own, which normally answers first */
    struct timeval tv = { .tv_sec = (p->timeout_ms + 250) / 1000,
                          .tv_usec = ((p->timeout_ms + 250) % 1000) * 1000 };
    if (r == 0 && (event_add(p->ev_pipe, NULL) < 0 || event_add(p->ev_timer, &tv) < 0))
        r = -ENOMEM;
    if (r == 0 && pthread_create(&p->th, NULL, thread_main, p) != 0)
        r = -EAGAIN;
    if (r < 0) {
        destroy(p);
        return r;
    }
    p->next = live;
    live = p;
    n_live++;
    if (ret)
        *ret = p;
    return 0;
}

void disk_probe_cancel(struct disk_probe *p)
{
    if (p)
        p->cancelled = true;
}

size_t disk_probe_running(void)
{
    return n_live;
}

void disk_probe_drain(void)
{
    while (live) {
        struct disk_probe *p = live;
        live = p->next;
        n_live--;
        p->cancelled = true;
        pthread_join(p->th, NULL);
        destroy(p);
    }
}
