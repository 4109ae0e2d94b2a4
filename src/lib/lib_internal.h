/* SPDX-License-Identifier: MIT */
/* lib_internal.h: libhearth's private types, shared by its files only: the client handle, result
 * objects and the one HTTP request entry point (http.c). Nothing here is exported. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "hearth/hearth.h"

struct hearth_client {
    char *base_url;                 /* without trailing '/' */
    char *api_key;                  /* NULL when none */
    char *user_agent;
    long timeout_ms;
    long create_timeout_ms;
    long connect_timeout_ms;
    int retries;
    hearth_log_fn log_fn;
    void *log_ud;
    hearth_progress_fn progress_fn;
    void *progress_ud;
    void *curl;                     /* CURL *, reused for keep-alive */
};

struct hearth_obj {
    json_t *root;                   /* owned reference */
    char *text;                     /* compact JSON of root */
};

struct hearth_list {
    json_t *items;                  /* JSON array, owned */
    struct hearth_obj *objs;        /* one per item, borrowing references held by items */
    size_t n;
    int64_t total;
};

struct hearth_body {
    json_t *root;                   /* JSON object */
};

/* Wraps root (takes the reference) in a new object. NULL on out of memory (root released). */
struct hearth_obj *obj_wrap(json_t *root);
/* Builds a list from a JSON array (takes the reference). NULL on out of memory. */
struct hearth_list *list_wrap(json_t *items, int64_t total);

/* Fills reterr (when not NULL) with a local error and returns code. */
int err_set(struct hearth_error *reterr, int code, int http_status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void err_clear(struct hearth_error *reterr);

/* Sink for a 2xx body: returns false to stop the transfer (*aborted decided by the caller). */
typedef bool (*hreq_sink_fn)(void *ud, const char *p, size_t n);

struct hreq {
    const char *method;             /* "GET", "POST", … */
    const char *path;               /* "/v1/…" already escaped, may carry a query */
    const char *body;               /* JSON body or NULL */
    size_t body_len;
    int upload_fd;                  /* >= 0: PUT the fd's bytes as the body */
    int64_t upload_size;            /* < 0: chunked */
    const char *upload_type;        /* the upload's Content-Type; NULL: application/octet-stream */
    hreq_sink_fn sink;              /* NULL: keep the 2xx body in memory */
    void *sink_ud;
    long timeout_ms;                /* 0: none */
    bool stream;                    /* never retried; low-speed guard instead of a timeout */
    bool no_retry;                  /* also never retried (non-idempotent with side effects) */
};

struct hresp {
    int status;                     /* 0 when no response */
    struct buf body;                /* the body when not sunk, or the error body */
    char request_id[132];
    long poll_after_s;              /* X-Poll-After in seconds, -1 when absent or malformed */
    int wait_timed_out;             /* X-Wait-Timed-Out: 0 or 1, -1 when absent (a server that
                                       does not know wait_for) */
    bool sink_failed;               /* the sink returned false */
};

/* Runs one request with the client's retry policy. Returns HEARTH_OK when a response arrived
 * (any status), else a transport error with reterr filled. resp is initialised here and must be
 * released with hresp_release() in both cases. */
int hreq_perform(struct hearth_client *c, const struct hreq *r, struct hresp *resp,
                 struct hearth_error *reterr);
void hresp_release(struct hresp *resp);

/* api.c's request helpers for the other call files (proc_calls.c): prefix + escaped id +
 * suffix (NULL for an empty id or no memory), and one JSend call whose data becomes *ret
 * (ret may be NULL); lib_call() the same with the data as JSON, or none when ret_data is NULL
 * (a streamed body goes to r->sink). */
char *lib_id_path(const char *prefix, const char *id, const char *suffix);
/* GET /v1/sandboxes/{id}?wait_for=<wait_for>&timeout_ms=<timeout_ms> (docs/api.md §5.10): the
 * view once the status is one of wait_for's (or a dead end), or at the timeout. *ret_timed_out
 * is 1 at the timeout, 0 when the wait ended, -1 when the server ignored wait_for (an older
 * hearthd: it answered at once, so the caller polls). */
int lib_sandbox_wait_get(hearth_client *c, const char *id, const char *wait_for, long timeout_ms,
                         hearth_obj **ret, int *ret_timed_out, struct hearth_error *reterr);
int lib_call_obj(struct hearth_client *c, const struct hreq *r, struct hearth_obj **ret,
                 struct hearth_error *reterr);
int lib_call(struct hearth_client *c, const struct hreq *r, json_t **ret_data,
             struct hearth_error *reterr);
/* One page of the paginated list at base ("/v1/disks"), page may be NULL (its status is sent
 * when set). */
int lib_call_list(struct hearth_client *c, const char *base, const struct hearth_page *page,
                  struct hearth_list **ret, struct hearth_error *reterr);
/* GET path (a plain-text body: a console or build log) with its 2xx bytes written to fd as they
 * arrive (logs.c); stream: no overall timeout, never retried. A JSend error body is decoded. */
int lib_get_to_fd(struct hearth_client *c, const char *path, bool stream, int fd,
                  struct hearth_error *reterr);
