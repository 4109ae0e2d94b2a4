/* SPDX-License-Identifier: MIT */
/* ingress_target.h: the control layer's side of the ingress proxy (docs/ingress-ssh.md
 * "Ingress proxy"): which sandbox a Host header names, whether it may be reached, and the bytes
 * the proxy carried into it. Every reason a sandbox cannot be reached (unknown, another user's
 * under private ingress, destroyed, ingress off, a state without a VM) is the same
 * CTL_E_NOT_FOUND with the same message, so an answer never tells whether a sandbox exists. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "daemon/store/store.h"

struct ctl;
struct ctl_error;
struct ctl_credential;

struct ctl_ingress_target {
    char id[STORE_ID_SIZE];        /* canonical sandbox id */
    char user_id[STORE_USER_SIZE]; /* its owner (for ctl_sandbox_wake) */
};

/* Resolves ref (lower case, from host_route.h: a sandbox id, or a hostname that exactly one
 * live sandbox with ingress on carries) to a sandbox whose ingress is on and whose state has or
 * can get a VM (running, pausing, paused, resuming, forking). With cred (private ingress) the
 * sandbox must be the credential's: its owner's key, or a token for that very sandbox. 0 with
 * *ret, or CTL_E_NOT_FOUND (always "no such sandbox") or CTL_E_INTERNAL. */
__attribute__((warn_unused_result))
int ctl_ingress_resolve(struct ctl *c, const char *ref, const struct ctl_credential *cred,
                        struct ctl_ingress_target *ret, struct ctl_error *e);

/* True while sandbox id still takes ingress traffic now (ingress on, running): the proxy's
 * periodic check of its open connections. */
bool ctl_ingress_open_ok(struct ctl *c, const char *id);

/* Adds bytes the proxy moved into sandbox id to its ingress counter (SandboxView
 * bandwidth_ingress_bytes, the usage metrics' ingress_bytes): one store write, so the proxy
 * batches. A store error is logged; the bytes are dropped. */
void ctl_ingress_count(struct ctl *c, const char *id, uint64_t bytes);

/* A request through the proxy used sandbox id of user_id: the idle clock restarts. */
void ctl_ingress_touch(struct ctl *c, const char *user_id, const char *id);
