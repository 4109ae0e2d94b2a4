/* SPDX-License-Identifier: MIT */
/* sandbox_host.h: the seam between the API and whatever runs VMs. The API layer (sandboxes.c)
 * decides, validates and records; these callbacks do the VM work. serve.c fills a struct
 * sandbox_host_ops from the asynchronous host layer; until it does (ops NULL), routes that need
 * a VM answer 503 `unavailable` with Retry-After and change nothing.
 *
 * Every callback runs on the loop and must not block. A callback that returns 0 has accepted the
 * work and calls its done function exactly once, later, from the loop (never from inside the
 * call). A negative return means nothing was started and done will not run. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store_sandbox;
struct store_env;

/* What a finished create reports; strings borrowed for the done call only. */
struct sandbox_host_result {
    const char *ip;                 /* address now held by the sandbox ("" = none) */
    const char *host_id;            /* host that runs it */
    const char *run_dir;            /* VM run directory, or NULL */
    int32_t qemu_pid;
    uint64_t qemu_start_time;       /* /proc/<pid>/stat starttime */
};

/* err 0 on success (res filled for create), else -errno with msg (borrowed, one line). */
typedef void (*sandbox_host_done_fn)(void *done_ud, int err, const struct sandbox_host_result *res,
                                     const char *msg);

struct sandbox_host_create {
    const struct store_sandbox *sb;  /* the row as inserted (status creating); borrowed */
    const struct store_env *envs;    /* values for the guest; never logged */
    size_t n_envs;
    const char *image_path;          /* resolved root filesystem image */
    const char *req_id;              /* for log lines */
};

/* Requests of later tiers; defined with their routes. */
struct sandbox_host_exec;
struct sandbox_host_files;

struct sandbox_host_ops {
    /* Boots the sandbox described by c (borrowed for the call; copy what you keep). */
    int (*create)(void *ud, const struct sandbox_host_create *c, sandbox_host_done_fn done,
                  void *done_ud);
    /* Tears down everything live of sandbox id (VM, run dir, taps); idempotent. */
    int (*destroy)(void *ud, const char *id, const char *req_id, sandbox_host_done_fn done,
                   void *done_ud);
    /* Runs a command in a running sandbox (exec routes; tier 1, wired later). */
    int (*exec)(void *ud, const struct sandbox_host_exec *x, sandbox_host_done_fn done,
                void *done_ud);
    /* File upload/download (files routes; wired later). */
    int (*files)(void *ud, const struct sandbox_host_files *f, sandbox_host_done_fn done,
                 void *done_ud);
    /* VMs currently running on this host (for /v1/hosts); may be NULL. */
    unsigned (*vm_count)(void *ud);
};
