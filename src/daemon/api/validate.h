/* SPDX-License-Identifier: MIT */
/* validate.h: request validation for sandbox routes (spec/API.md §3.2.1, §3.2.5, §3.3.5, §3.6.3):
 * turns a JSON body into a checked request or a JSend fail object keyed by the offending fields
 * (`envs.KEY`, `egress[2]`, …) with a machine `code`. Pure: no store, no I/O besides the
 * catalog's image lookup. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/store/store.h"

struct api_ctx;
struct api_auth;
struct api_shape;
struct api_rootfs;

#define API_MAX_ENVS 64
#define API_MAX_ENV_VALUE 4096
#define API_MAX_ENV_TOTAL 65536
#define API_MAX_EGRESS 256
#define API_MAX_EGRESS_RULE 260
#define API_MAX_NETWORKS 8
#define API_MAX_DISKS 16
#define API_AUTO_PAUSE_MIN 60
#define API_AUTO_PAUSE_MAX 86400
#define API_MIN_DISK_MIB 1024

/* A validated create request. Strings in envs and name are borrowed from the JSON body; the
 * ssh and egress lists are owned (canonical forms). */
struct api_create_req {
    const struct api_shape *shape;
    const struct api_rootfs *rootfs;
    const char *name;                  /* NULL: generate one */
    int64_t disk_mib;
    struct store_env *envs;            /* owned array, borrowed strings */
    size_t n_envs;
    char **ssh;                        /* owned */
    size_t n_ssh;
    char **egress;                     /* owned; empty = allow all */
    size_t n_egress;
    bool ingress_enabled;
    int64_t auto_pause_after_seconds;  /* 0 = off */
    const char *networks[API_MAX_NETWORKS]; /* network refs (id or name), borrowed; resolved
                                               against the store by the caller */
    size_t n_networks;
};

void api_create_req_release(struct api_create_req *r);

/* Validates a create body. Returns 0 with *ret filled (release it), or a status (400, 403) with
 * *ret_fail set to the fail data object (caller owns) and nothing in *ret to release. */
__attribute__((warn_unused_result))
int api_validate_create(const struct api_ctx *ctx, const struct api_auth *auth, json_t *body,
                        struct api_create_req *ret, json_t **ret_fail);

/* A validated fork body (§3.3.3). Fields of c apply only where the set_ flag says the body
 * named them (name: when non-NULL; auto_pause: 0 = off, never inherited). */
struct api_fork_req {
    struct api_create_req c;           /* name, envs, ssh, egress, ingress, auto-pause */
    bool start_paused;
    bool set_envs, set_ssh, set_egress, set_ingress, set_quota;
    int64_t bandwidth_quota_bytes;     /* the body's, or the operator default */
};
void api_fork_req_release(struct api_fork_req *r);
/* Returns 0 with *ret (release it), or 400 with *ret_fail set. */
__attribute__((warn_unused_result))
int api_validate_fork(const struct api_ctx *ctx, json_t *body, struct api_fork_req *ret,
                      json_t **ret_fail);

/* A validated PATCH (§3.2.5). */
struct api_patch_req {
    bool set_ingress;
    bool ingress_enabled;
    bool set_auto_pause;
    int64_t auto_pause_after_seconds;  /* 0 with set_auto_pause: disable */
};
/* Returns 0 or 400 with *ret_fail set. */
__attribute__((warn_unused_result))
int api_validate_patch(json_t *body, struct api_patch_req *ret, json_t **ret_fail);

/* Validates a resize body (§3.3.4) for a sandbox whose disk is current_mib, against the
 * operator's max_mib. Returns 0 with *ret_mib (current_mib < value <= max_mib), or 400 with
 * *ret_fail set: not an object, disk_mib missing or not an integer, not larger than current
 * (`{"disk_mib":"must be larger than N"}`), above max_mib. Pure. */
int api_validate_resize(json_t *body, int64_t current_mib, int64_t max_mib, int64_t *ret_mib,
                        json_t **ret_fail);

/* One egress rule (§3.6.3) into its stored form (lowercased host, no trailing dot, CIDR host
 * bits cleared) in out. Returns 0, 1 for "*" (allow all), or -EINVAL with *why. */
__attribute__((warn_unused_result))
int api_egress_rule(const char *rule, size_t len, char out[API_MAX_EGRESS_RULE + 1],
                    const char **why);

/* The body of PUT …/egress (§3.6.2): {"egress":[…]} with null, [] or a missing field meaning
 * allow all. Returns 0 with the stored form in *ret and *ret_n (owned strings and array; empty =
 * allow all), or 400 with *ret_fail keyed egress[i]. */
__attribute__((warn_unused_result))
int api_validate_egress(json_t *body, char ***ret, size_t *ret_n, json_t **ret_fail);

/* One OpenSSH public key (§3.3.5) into `<type> <base64>[ <comment>]` (malloc'd, caller frees).
 * Returns 0 or -EINVAL with *why. */
__attribute__((warn_unused_result))
int api_ssh_key(const char *key, size_t len, char **ret, const char **why);

/* Writes a generated `<adjective>-<animal>` name (with `-<4 hex>` when suffix) into out. */
void api_name_generate(bool suffix, char out[STORE_NAME_SIZE]);
