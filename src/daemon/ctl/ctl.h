/* SPDX-License-Identifier: MIT */
/* ctl.h: the sandbox control layer of hearthd. Typed operations on sandboxes (create,
 * destroy, pause, resume, fork, egress, bandwidth, networks: sandbox_ops.h), the golden pool,
 * the auto-pauser, the network plane and the reconciler live under src/daemon/ctl/; they use
 * store.h, host.h and net/ and never HTTP. The API (api/) parses a request into a typed value,
 * calls one operation and writes the reply; cmd_serve.c owns the struct ctl. Everything runs
 * on the loop thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct host;
struct event_base;
struct ctl_golden;
struct ctl_pool;
struct ctl_idle;
struct ctl_net;
struct ctl_events;
struct ctl_status_waits;
struct ctl_self;
struct ctl_wakes;
struct ctl_disks;
struct ctl_mounts;
struct ctl_templates;
struct tpl_oci_config;
struct ctl_snapstore;

/* A rootfs alias of the operator's (rootfs_aliases; catalog.h ctl_rootfs_resolve). */
struct ctl_rootfs_alias {
    char alias[128];                /* "nodeops/sandbox:debian" */
    char target[64];                /* a catalog name: "devbox:1" */
};

/* Operator settings the control layer needs (copied from the daemon config by cmd_serve.c). */
struct ctl_settings {
    char region[64];                /* answers in SandboxView.region; create's region must match */
    char host_id[64];               /* this host's id (/v1/hosts) */
    char images_dir[1024];          /* catalog images: vmlinux, debian-12.ext4, minimal.ext4 */
    char ingress_domain[254];       /* "" = no ingress_url_template */
    char ingress_scheme[8];         /* https | http */
    uint16_t ingress_port;          /* shown in ingress_url_template; 0 = the scheme's default */
    int64_t max_disk_mib;           /* create's disk_mib ceiling */
    int64_t bandwidth_quota_bytes;  /* default quota, -1 unmetered */
    char snapshots_dir[1024];       /* <data_dir>/snapshots: <sandbox id>/<ulid>/ per pause */
    char golden_dir[1024];          /* <data_dir>/golden: one booted VM per (image, shape) */
    bool golden;                    /* create by restoring golden snapshots (default on) */
    /* resource safety (docs/operations.md "Limits"; space.h, quota.h) */
    char data_dir[1024];            /* its filesystem is the one the free-space guard watches */
    uint32_t max_sandboxes;         /* per user, non-terminal; 0 = unlimited */
    uint32_t max_networks;          /* per user, live networks; 0 = unlimited */
    uint32_t max_disks;             /* per user, live S3 disks; 0 = unlimited (disk.h) */
    uint32_t host_max_vms;          /* VMs this host runs at once (quota.h); 0 = unlimited */
    uint32_t min_free_disk_mib;     /* guarded operations keep this much free … */
    uint32_t min_free_disk_pct;     /* … and this percent of the filesystem (the larger) */
    /* managed processes (issue 12; process.h) */
    uint32_t process_output_bytes;  /* each process's output ring in the guest */
    /* S3 disk mounts (issue 15; disk_mount.h) */
    uint32_t disk_mount_check_s;    /* the round: retry error mounts, check mounted ones */
    /* templates (issue 14; template.h, docs/templates.md) */
    char templates_dir[1024];       /* <data_dir>/templates: layers/, contexts/, bases/, … */
    uint32_t max_templates;         /* per user, live templates; 0 = unlimited */
    uint32_t lifecycle_hold_ms;     /* pause/resume hold their answer (api/long_poll.h) */
    uint32_t max_concurrent_builds; /* builds running at once on this host; others queue */
    uint32_t template_build_timeout_s;  /* one attempt's limit (1800) */
    uint32_t template_build_mem_mib;    /* a build VM's memory */
    uint32_t template_build_vcpus;      /* a build VM's vCPUs */
    uint64_t template_context_max_bytes; /* a build context tar's size limit */
    /* catalog aliases (issue 14; catalog.h ctl_rootfs_resolve) */
    struct ctl_rootfs_alias rootfs_aliases[16];
    size_t n_rootfs_aliases;
    /* the host registry (hosts.h, docs/scale-out.md "Hosts") */
    char host_labels[1024];         /* canonical "k=v,k2=v2" (placement.h) */
    char host_address[128];         /* where other hosts reach this one; "" = none */
    uint32_t host_heartbeat_s;      /* how often this host reports (5) */
    uint32_t host_dead_after_s;     /* a host silent this long is dead (30) */
    bool control_only;              /* role = control: no VMs here; readiness is the
                                       registry's (catalog.c) */
};

/* Free and total bytes of the filesystem holding path (space.h); 0 or -errno. */
typedef int (*ctl_fs_space_fn)(const char *path, uint64_t *ret_avail, uint64_t *ret_total);

struct ctl {
    struct store *store;            /* borrowed; owned by cmd_serve.c */
    struct ctl_settings set;
    struct host *host;              /* borrowed; NULL: no VM layer (operations that need a VM
                                       fail with CTL_E_UNAVAILABLE) */
    struct event_base *base;        /* borrowed; the loop (timers) */
    bool draining;                  /* shutting down: readyz 503, hosts draining */
    struct ctl_golden *goldens;     /* golden snapshots being built (golden.c) */
    struct ctl_pool *pool;          /* warm pools (pool.h); NULL: none configured */
    struct ctl_idle *idle;          /* auto-pause bookkeeping (idle.c) */
    struct ctl_net *net;            /* networking (netplane.c); NULL: not started */
    struct ctl_events *events;      /* event-log causes and settle listeners (events.c) */
    struct ctl_self *self;          /* guests' own requests waiting, counters (sandbox_self.c) */
    struct ctl_wakes *wakes;        /* traffic waiting for sandboxes to resume (sandbox_wake.c) */
    struct ctl_status_waits *status_waits; /* requests waiting for a status (status_wait.c) */
    struct ctl_mounts *mounts;      /* disk mounts under way in guests, the 30 s round
                                       (disk_mount_run.c); NULL until the first */
    struct ctl_auth_limit *auth_limit; /* failed credentials per source (auth_limit.c); NULL
                                          until the first failure */
    ctl_fs_space_fn fs_space;       /* NULL: statvfs(3); tests inject a full disk */
    struct ctl_disks *disks;        /* S3 disks' key ring and policy (disk.c); NULL: disks are
                                       not configured (503 disks_not_configured) */
    struct ctl_templates *templates; /* the build queue, running builds, log followers
                                        (template_build.c); NULL until ctl_templates_start */
    struct tpl_oci_config *oci;     /* OCI bases (tpl/oci.h); NULL or n_reg 0: off */
    struct ctl_hosts *hosts;        /* this host's heartbeat (hosts.h); NULL until started */
    struct ctl_jobs *jobs;          /* the work queue's claimer and waiters (jobs.h) */
    struct ctl_snapstore *snapstore; /* snapshots on S3 (snapstore.h); NULL: off */
};

/* Prepares c (zeroes it; the caller then sets store, set, host, base). Stopping and freeing
 * what the running layer keeps is service.h's. */
void ctl_init(struct ctl *c);

/* How many VMs the host layer runs (0 without one). */
unsigned ctl_vm_count(const struct ctl *c);

/* ---- typed errors ---- */

/* Why an operation failed. Values are only ever appended; each has a stable name
 * (ctl_code_to_string). The API maps them to statuses and JSend bodies (api/reply.c). */
enum ctl_code {
    CTL_OK = 0,
    CTL_E_INVALID,          /* a field is wrong: field + msg */
    CTL_E_FORBIDDEN,        /* the caller may not do this: msg */
    CTL_E_NOT_FOUND,        /* no such sandbox (or network) of this user: msg */
    CTL_E_INVALID_STATE,    /* not in a state that allows it: state + msg */
    CTL_E_QUOTA,            /* a per-user quota is reached: msg */
    CTL_E_NAME_TAKEN,       /* field ("name") + msg */
    CTL_E_UNKNOWN_REF,      /* a reference names nothing: field + msg */
    CTL_E_LIMIT_REACHED,    /* a per-sandbox limit: msg */
    CTL_E_IN_USE,           /* still referenced: msg */
    CTL_E_UNAVAILABLE,      /* a layer (VMs, networking) is not running: msg */
    CTL_E_NO_CAPACITY,      /* no free address: msg */
    CTL_E_BOOT_FAILED,      /* the VM did not come up: msg */
    CTL_E_FAILED,           /* an operation failed and msg says how (shown to the caller) */
    CTL_E_INTERNAL,         /* our own failure: what + err are logged, not shown */
    CTL_E_NO_SPACE,         /* the host's disk is under its free-space threshold: msg */
    CTL_E_SPAWN_FAILED,     /* a managed process could not be started: field ("cmd") + msg */
    CTL_E_EXISTS,           /* the one thing there may be of it exists already: msg */
    CTL_E_NOT_CONFIGURED,   /* the operator has not set this feature up (disks: no key): msg */
    CTL_E_PROBE_FAILED,     /* a disk's bucket check failed: field ("config") + msg */
    CTL_E_BAD_DOCKERFILE,   /* a template's Dockerfile breaks a rule: field ("dockerfile") +
                               msg "line N: …" (template.h) */
    CTL_E_TEMPLATE_NOT_READY, /* the template named as rootfs is pending or building: msg */
    CTL_E_LAST_ADMIN_KEY,   /* revoking it would leave no active admin key: msg (keys.h) */
    CTL_CODE__COUNT
};

struct ctl_error {
    enum ctl_code code;
    int err;                /* -errno behind CTL_E_INTERNAL (0 otherwise) */
    const char *what;       /* CTL_E_INTERNAL: static text of what failed ("insert sandbox") */
    char field[64];         /* CTL_E_INVALID, CTL_E_NAME_TAKEN, CTL_E_UNKNOWN_REF */
    char state[16];         /* CTL_E_INVALID_STATE: the sandbox's state */
    char msg[600];
};

/* "invalid", "invalid_state", … ; "?" for an unknown value. */
const char *ctl_code_to_string(enum ctl_code code);

/* Fills e (field and state may be NULL) and returns the code's -errno (-EINVAL, -ENOENT,
 * -EBUSY, …), so that one line reports and fails. */
__attribute__((format(printf, 5, 6)))
int ctl_error_set(struct ctl_error *e, enum ctl_code code, const char *field, const char *state,
                  const char *fmt, ...);
/* CTL_E_INTERNAL with what (static) and err (-errno); returns err (-EIO when err is 0). */
int ctl_error_internal(struct ctl_error *e, const char *what, int err);
