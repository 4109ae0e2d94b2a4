/* SPDX-License-Identifier: MIT */
/* template_attempt.h: one build attempt as the builder's files share it: the queue and the
 * ends of an attempt (template_build.c), the steps and their VMs (template_run.c). Loop
 * thread only. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "daemon/ctl/template.h"
#include "daemon/ctl/template_step.h"
#include "daemon/store/store.h"
#include "daemon/tpl/dockerfile.h"

struct event;
struct ctl_tpl_log;
struct tpl_oci_job;

#define TPL_FS_MIB 10240                /* every template's file system (docs/templates.md) */

/* An asynchronous host operation of a build; when the build goes first, op->b is NULL and the
 * callback only cleans up. */
struct tpl_op {
    struct ctl *c;
    struct tpl_build *b;
    char vm[STORE_ID_SIZE];
    char dir[PATH_MAX];                 /* a pause's .tmp dir */
};

struct tpl_build {
    struct tpl_build *next;
    struct ctl *c;
    char id[STORE_ID_SIZE];
    char user_id[STORE_USER_SIZE];
    char base[STORE_TPL_BASE_SIZE];
    char ctx[PATH_MAX];                 /* the context tar, or "" */
    int32_t attempt;
    bool no_cache;
    char *options;
    struct tpl_dockerfile df;
    size_t step;                        /* next index into df.steps */
    bool final_done;
    /* the build state (docs/templates.md "How a build runs") */
    struct tpl_vars env, args;
    char workdir[1024], user[256];
    char **shell, **cmd, **entrypoint;
    /* layers */
    char base_image[PATH_MAX];          /* what the first layer boots from */
    char parent[PATH_MAX + 64];         /* the parent key, or the base identity */
    bool on_base;                       /* no layer yet: boot base_image */
    json_t *chain;                      /* keys, bottom first */
    json_t *made;                       /* keys this attempt wrote */
    char snap[65];                      /* the layer whose snapshot (RAM) this attempt made */
    char key[65];                       /* the step being run */
    char text[STORE_TPL_LINE_MAX];      /* its instruction */
    unsigned line;
    int64_t used_bytes;
    /* the VM */
    char vm[STORE_ID_SIZE];             /* "" when none runs */
    struct tpl_op *op;                  /* the host operation in flight */
    struct tpl_step_run *run;
    struct tpl_step_req req;
    char **argv, **envv;
    struct ctl_tpl_log *log;
    struct event *timeout, *retry;
    struct ctl_tpl_image img;           /* for the golden snapshot */
    struct tpl_oci_job *oci;            /* an OCI base being imported */
    bool golden_wait;
};

/* Runs the steps from b->step until one needs a VM; at the end the golden snapshot and
 * `ready` (template_run.c). */
void tpl_attempt_advance(struct tpl_build *b);
/* Stops b's VM and what runs in it, without waiting (now: host_vm_discard). */
void tpl_attempt_vm_drop(struct tpl_build *b, bool now);

/* The ends of an attempt (template_build.c); each frees b. */
void tpl_attempt_failed(struct tpl_build *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void tpl_attempt_lost(struct tpl_build *b, const char *why);
/* The layers are done: the golden snapshot, then ready. */
void tpl_attempt_finish(struct tpl_build *b);
