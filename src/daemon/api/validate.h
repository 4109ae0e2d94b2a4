/* SPDX-License-Identifier: MIT */
/* validate.h: JSON bodies of the sandbox routes (docs/api.md §3.2.1, §3.2.5, §3.3.3, §3.3.4,
 * §3.4.1, §3.6.2) into the control layer's typed requests (ctl/sandbox_check.h), or a JSend fail
 * object keyed by the offending fields (`envs.KEY`, `egress[2]`, …) with a machine `code`. The
 * rules for each value are ctl/sandbox_check.h's and ctl/catalog.h's; this file knows the JSON
 * shapes. Pure: no store, no I/O besides the catalog's image lookup. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/ctl/sandbox_check.h"

struct ctl;
struct api_auth;

/* Validates a create body. Returns 0 with *ret filled (release it), or a status (400, 403) with
 * *ret_fail set to the fail data object (caller owns) and nothing in *ret to release. */
__attribute__((warn_unused_result))
int api_validate_create(const struct ctl *ctl, const struct api_auth *auth, json_t *body,
                        struct ctl_create_req *ret, json_t **ret_fail);

/* Validates a fork body (§3.3.3). Returns 0 with *ret (release it), or 400 with *ret_fail. */
__attribute__((warn_unused_result))
int api_validate_fork(const struct ctl *ctl, json_t *body, struct ctl_fork_req *ret,
                      json_t **ret_fail);

/* Validates a PATCH body (§3.2.5). Returns 0 or 400 with *ret_fail set. */
__attribute__((warn_unused_result))
int api_validate_patch(json_t *body, struct ctl_patch_req *ret, json_t **ret_fail);

/* Validates a resize body (§3.3.4) for a sandbox whose disk is current_mib, against the
 * operator's max_mib. Returns 0 with *ret_mib (current_mib < value <= max_mib), or 400 with
 * *ret_fail set: not an object, disk_mib missing or not an integer, not larger than current
 * (`{"disk_mib":"must be larger than N"}`), above max_mib. Pure. */
int api_validate_resize(json_t *body, int64_t current_mib, int64_t max_mib, int64_t *ret_mib,
                        json_t **ret_fail);

/* The body of PUT …/egress (§3.6.2): {"egress":[…]} with null, [] or a missing field meaning
 * allow all. Returns 0 with the stored form in *ret and *ret_n (owned strings and array; empty =
 * allow all), or 400 with *ret_fail keyed egress[i]. */
__attribute__((warn_unused_result))
int api_validate_egress(json_t *body, char ***ret, size_t *ret_n, json_t **ret_fail);

/* The body of POST …/exec (docs/api.md §3.4.1): cmd, args, stdin, env (each key one of the
 * sandbox's declared env keys, declared/n_declared), stream, cwd and timeout_ms. */
struct api_exec_req {
    char **argv;                 /* cmd then args, NULL-terminated; owned */
    char *cwd;                   /* owned; NULL: the default */
    char *stdin_data;            /* owned; NULL: no stdin */
    size_t stdin_len;
    uint32_t timeout_ms;         /* 0: none */
    bool streaming;              /* "stream": true */
    const char **env_keys;       /* owned array of n_env strings borrowed from the body */
    const char **env_values;
    size_t n_env;
};

/* Validates an exec body. Returns 0 with *ret (release it with api_exec_req_release(); the env
 * strings are good while body is), or 400 with *ret_fail naming the first bad field and
 * nothing in *ret to release. */
__attribute__((warn_unused_result))
int api_validate_exec(json_t *body, const char *const *declared, size_t n_declared,
                      struct api_exec_req *ret, json_t **ret_fail);
/* Frees what api_validate_exec() gave; a zeroed request is fine. */
void api_exec_req_release(struct api_exec_req *r);
