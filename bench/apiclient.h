/* SPDX-License-Identifier: MIT */
/* apiclient.h: what the API benchmarks share: a real `hearthd serve` started on 127.0.0.1 (an
 * ephemeral port, a temp data dir, images from $HEARTH_IMAGES, the binary from $HEARTH_BIN or
 * build/bin), a keep-alive HTTP/1.1 client, and create/destroy of one sandbox. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "daemon/store/store.h"

struct daemon {
    pid_t pid;
    char dir[64], data[128], conf[160], log[160];
    uint16_t port;
};

int64_t wall_ms(void);
const char *images_dir(void);
/* A temp dir with a config (extra_conf appended, may be NULL). */
bool daemon_prepare(struct daemon *d);
bool daemon_prepare_conf(struct daemon *d, const char *extra_conf);
bool daemon_start(struct daemon *d);
/* For a VM benchmark named name: false (after printing why it is skipped) when there are no
 * images; else prepares and starts hearthd with extra_conf and reads its admin key into key
 * (keylen >= 128). On a start failure prints it, stops what started and sets *failed. */
bool daemon_start_vm_bench(struct daemon *d, const char *name, const char *extra_conf,
                           char *key, size_t keylen, bool *failed);
/* Waits (at most 60 s) until d's data dir holds want golden snapshots (golden/<x>/meta.json,
 * which the first cold boot of a spec makes); false when it does not. */
bool daemon_golden_ready(const struct daemon *d, int want);
/* SIGTERM (SIGKILL after 15 s), then removes the temp dir unless HEARTH_KEEP_TEST_DIRS. */
void daemon_stop(struct daemon *d);
/* VmRSS of pid in KiB, or -1. */
long vm_rss_kib(pid_t pid);

struct conn {
    int fd;
    uint16_t port;
    char buf[1 << 16];
    size_t have;            /* bytes in buf not yet consumed */
};

struct resp {
    int status;
    char *body;             /* malloc'd, NUL-terminated */
    size_t len;
};

int conn_open(struct conn *c, uint16_t port);
void conn_close(struct conn *c);
/* One request on the connection (reopened if the server closed it); body may be NULL. */
int request(struct conn *c, const char *method, const char *target, const char *key,
            const char *body, struct resp *r);
void resp_free(struct resp *r);
/* Copies the string member `field` of the JSend envelope's data object into out. */
bool json_field(const char *body, const char *field, char *out, size_t max);
/* POST /v1/sandboxes with body: 0 with the id and the wall time, or the HTTP status (or
 * -errno) with the reason in why. */
int create_one(uint16_t port, const char *key, const char *body, char id[STORE_ID_SIZE],
               double *ms, char *why, size_t why_len);
/* POST /v1/sandboxes/{id}/<what> with body (may be NULL): the HTTP status (or -errno), and the
 * view's id and status when ret_id (STORE_ID_SIZE) and ret_status (32) are not NULL. */
int post_op(uint16_t port, const char *key, const char *id, const char *what, const char *body,
            char *ret_id, char *ret_status);
/* POST /v1/sandboxes/{id}/<route> as an upgrade ("shell", "tunnel/7000"; its head read byte by
 * byte so nothing after it is consumed, TCP_NODELAY on): the socket, or -1 unless 101. */
int upgrade_open(uint16_t port, const char *key, const char *id, const char *route);
/* DELETE, then waits (bounded) for destroyed. */
void destroy_one(uint16_t port, const char *key, const char *id);
/* POST …/exec of `sh -c script` in sandbox id on a connection of its own: 0 and *r (resp_free()
 * it), or the request's error. */
int exec_sh(uint16_t port, const char *key, const char *id, const char *script, struct resp *r);
/* exec_sh() answered 200 with exit code 0. */
bool exec_sh_ok(uint16_t port, const char *key, const char *id, const char *script);
