/* SPDX-License-Identifier: MIT */
/* apitest.h: helpers for the API tests: start a real `hearthd serve` on 127.0.0.1 with an
 * ephemeral port and a temp data dir, a tiny HTTP/1.1 client over sockets (one request per
 * connection), and running hearthd subcommands with their output captured. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/store/store.h"
#include "harness.h"

struct hd_server {
    pid_t pid;
    char dir[64];           /* temp root: conf, images/, data/, log */
    char data[128];         /* data dir */
    char images[128];
    char conf[128];
    char log[128];          /* hearthd's stderr */
    uint16_t port;
    uint16_t metrics_port;
    uint16_t ingress_port;  /* the plain-HTTP ingress listener, 0 when off */
    char admin_key[64];
    const char *cwd;        /* optional: hd_start runs hearthd in this directory */
    const char *images_arg; /* optional: hd_start passes --images with this value */
    char store[256];        /* the store: <data>/hearth.db, or a fresh PostgreSQL database's URI
                               when HEARTH_TEST_PG is set (tests/pgtest.h) */
    bool pg;
};

/* Where s's hearthd keeps its store, for store_open() in a test: the SQLite file or the
 * PostgreSQL URI. */
const char *hd_store(const struct hd_server *s);

/* The hearthd binary: $HEARTH_BIN/hearthd or build/bin/hearthd. */
const char *hd_bin(void);

/* Prepares a temp dir with a config (extra_conf appended; may be NULL) and, with images, fake
 * vmlinux / debian-12.ext4 / minimal.ext4 files. Under HEARTH_TEST_PG the config names a fresh
 * PostgreSQL database as the store (hd_cleanup drops it). Does not start anything. */
bool hd_prepare(struct hd_server *s, const char *extra_conf, bool images);
/* Starts `hearthd serve` on the prepared dir and waits for its port file. */
bool hd_start(struct hd_server *s);
/* SIGTERM, wait; returns the exit status (or -1). */
int hd_stop(struct hd_server *s);
/* Rewrites s's config for another host on a shared store (multi-host tests): host_id becomes
 * id, the store becomes store (NULL: keep; a path is written as sqlite:PATH), extra appended. */
bool hd_reconfigure(struct hd_server *s, const char *id, const char *store, const char *extra);
/* Inserts, through the store st, a sandbox row of user alice (created by key_id) in state on
 * host host_id, as another host would have made it (multi-host tests); its id into ret_id. */
bool hd_add_row_on_host(struct store *st, const char *key_id, const char *host_id,
                        enum store_state state, char ret_id[STORE_ID_SIZE]);
/* Removes the temp dir. */
void hd_cleanup(struct hd_server *s);

/* Runs hearthd with argv (NULL-terminated, without argv[0]); captures stdout and stderr (NUL-
 * terminated, truncated to their sizes). Returns the exit status, or -1. */
int hd_run(const char *const *argv, char *out, size_t out_len, char *err, size_t err_len);

struct hresp {
    int status;
    char head[16384];
    char *body;         /* malloc'd, NUL-terminated */
    size_t body_len;
    json_t *json;       /* parsed body or NULL */
};

/* One request: method, target, extra header lines ("Name: value\r\n"…, may be NULL) and a body
 * (may be NULL: no Content-Length). Returns 0 or -errno. */
int http_do(uint16_t port, const char *method, const char *target, const char *headers,
            const char *body, struct hresp *r);
/* http_do() for its status alone: the status, or -1 when the request failed. */
int http_status(uint16_t port, const char *method, const char *target, const char *headers,
                const char *body);
/* A TCP connection to 127.0.0.1:port with apitest_io_timeout_s send and receive timeouts; the fd
 * or -errno. */
int connect_local(uint16_t port);
/* Seconds a request may wait for its answer (default 60); a test whose creates run a start
 * command and a ready check under TCG raises it. */
extern int apitest_io_timeout_s;
/* Sends GET target with the header lines headers and Connection: close on a new connection and
 * leaves it waiting (a long poll): the fd, or -1. http_collect() reads the answer later. */
int http_park(uint16_t port, const char *target, const char *headers);
/* Reads fd's whole answer (until the server closes) into buf, NUL-terminated, and closes fd;
 * the HTTP status or -1. */
int http_collect(int fd, char *buf, size_t max);
/* Sends raw bytes and reads whatever comes until the server closes. */
int http_raw(uint16_t port, const void *bytes, size_t len, struct hresp *r, bool head_only);
bool hresp_header(const struct hresp *r, const char *name, char *out, size_t max);
void hresp_free(struct hresp *r);

/* True for a 400 whose data names field with code and a message containing part (NULL: any);
 * else fails the running test, showing the response. */
bool hresp_field_is(const struct hresp *r, const char *field, const char *code,
                    const char *part);

/* JSON helpers over a response: the value at a path like "data.pagination.total". */
json_t *jpath(json_t *root, const char *path);
const char *jstr(json_t *root, const char *path);
long long jint(json_t *root, const char *path);
