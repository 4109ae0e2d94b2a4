/* SPDX-License-Identifier: MIT */
/* http_internal.h: structures shared by the files of the HTTP layer (server.c, conn.c, request.c,
 * response.c, jsend.c). Nothing outside src/daemon/http includes this. */
#pragma once

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include "common/buf.h"
#include "daemon/http/parser.h"
#include "daemon/http/request.h"
#include "daemon/http/response.h"
#include "daemon/http/route.h"
#include "daemon/http/server.h"

#define HTTP_MAX_LISTENERS 4
#define HTTP_ID_MAX 128

enum http_body_mode {
    HTTP_BODY_NONE,   /* the handler has not asked for the body */
    HTTP_BODY_BUFFER, /* collect into req->body, then on_done */
    HTTP_BODY_STREAM, /* hand pieces to on_data, then on_end */
};

struct http_request {
    unsigned refs;
    struct http_conn *conn;      /* borrowed back-pointer; NULL once detached */
    struct http_head *head;      /* owned */
    struct http_path path;       /* owned */
    struct http_query query;     /* owned */
    int target_err;              /* 0, or why path/query decoding failed */
    char id[HTTP_ID_MAX + 1];    /* X-Request-Id */
    struct sockaddr_storage peer; /* the client's address (copied: outlives the connection) */
    bool tls;                    /* the request came over TLS */
    char sni[256];               /* the TLS server name the client sent; "" when none */
    char peer_cn[65];            /* a verified client certificate's subject CN; "" when none */
    /* body */
    enum http_body_mode body_mode;
    bool body_complete;          /* the parser saw the end of the message */
    bool body_paused;            /* streamed body paused by the handler */
    bool body_stopped;           /* no more body will be read for this request */
    bool body_cb_fired;          /* on_done / on_end ran (or must not run any more) */
    bool continue_sent;          /* "100 Continue" written */
    int body_err;                /* error to report when stopped: -EMSGSIZE, -EBADMSG … */
    uint64_t body_max;
    uint64_t body_received;
    struct buf body;             /* buffered mode */
    http_body_done_fn on_done;
    http_body_data_fn on_data;
    http_body_end_fn on_end;
    void *body_ud;
    /* response */
    struct buf resp_headers;     /* extra header lines added by the handler */
    bool resp_started, resp_done;
    bool resp_chunked;           /* chunked transfer coding */
    bool resp_no_body;           /* HEAD request or 1xx/204/304: body bytes are dropped */
    int64_t resp_remaining;      /* bytes still owed with a Content-Length; -1 otherwise */
    int status;
    http_drain_fn on_drain;
    void *drain_ud;
    http_abort_fn on_abort;
    void *abort_ud;
};

enum http_conn_state {
    HTTP_CONN_HEAD,    /* waiting for or parsing a request head */
    HTTP_CONN_REQ,     /* a request is with the handler (body and/or response in progress) */
    HTTP_CONN_CLOSING, /* flushing the last response before shutting the write side */
    HTTP_CONN_LINGER,  /* write side shut; discarding input until EOF or the linger deadline */
};

enum http_timer_kind { HTTP_TIMER_NONE, HTTP_TIMER_IDLE, HTTP_TIMER_HEAD, HTTP_TIMER_BODY,
                       HTTP_TIMER_LINGER, HTTP_TIMER_SHUTDOWN };

struct http_conn {
    struct http_server *srv;     /* borrowed; outlives the connection */
    struct bufferevent *bev;     /* owned (closes the socket); NULL after an upgrade */
    struct event *timer;         /* owned: idle, head, body or linger deadline */
    struct event *kick;          /* owned: deferred processing */
    struct http_reqparser parser;
    struct sockaddr_storage peer; /* the client's address from accept(); AF_UNSPEC if unknown */
    SSL *ssl;                    /* borrowed from bev when the connection speaks TLS, else NULL */
    struct http_request *req;    /* current request; the connection holds one reference */
    enum http_conn_state state;
    enum http_timer_kind tkind;
    bool idle;                   /* no byte of the next request yet */
    bool close_after;            /* close once the current response is written */
    bool dead;                   /* free when the outermost callback returns */
    unsigned busy;               /* nesting depth of our callbacks on the stack */
    struct http_conn *prev, *next; /* server's list */
};

struct http_server {
    struct event_base *base;     /* borrowed */
    struct http_limits limits;
    http_handler_fn handler;
    void *ud;
    http_error_body_fn error_body; /* protocol errors' body format; NULL: plain text */
    struct evconnlistener *listeners[HTTP_MAX_LISTENERS]; /* owned */
    SSL_CTX *tls[HTTP_MAX_LISTENERS]; /* a reference per TLS listener, else NULL */
    unsigned nlisteners;
    struct http_conn *conns;     /* owned list */
    unsigned nconns;
    bool draining;               /* shutdown started */
    struct event *shutdown_timer; /* owned */
    struct event *done_ev;       /* owned: runs the shutdown callback */
    http_shutdown_fn on_shutdown;
    void *shutdown_ud;
    /* accept() failing for want of fds or memory (server.c) */
    struct event *accept_timer;  /* owned: ends the pause of every listener */
    bool accept_paused;
    http_accept_error_fn on_accept_error;
    void *accept_error_ud;
    unsigned long accept_errors; /* since the last report */
    int64_t accept_reported_us;  /* monotonic time of the last report; 0 = never */
};

/* conn.c */
/* peer (may be NULL) is the address accept() gave, copied. tls non-NULL: the connection
 * starts with a TLS handshake (server side) under that context. */
int http_conn_new(struct http_server *srv, int fd, const struct sockaddr *peer,
                  socklen_t peer_len, SSL_CTX *tls);
/* Schedules processing from the loop (never runs it inline). */
void http_conn_kick(struct http_conn *c);
/* Fires the current request's abort callback and closes the connection. */
void http_conn_abort(struct http_conn *c);
/* Decides whether the connection closes after this response; true → send Connection: close. */
bool http_conn_prepare_close(struct http_conn *c, struct http_request *req);
/* Hands the bufferevent over (upgrade) and retires the connection. */
struct bufferevent *http_conn_detach(struct http_conn *c);

/* request.c */
struct http_request *http_request_new(struct http_conn *c, struct http_head *head);

/* response.c */
const char *http_status_reason(int status);
