/* SPDX-License-Identifier: MIT */
/* usage.h: usage metrics (docs/api.md §3.14): a sandbox's CPU, memory, disk and network use,
 * a user's totals, and a user's time series, kept by a sampler on the loop. Every 10 s it reads
 * the host's running VMs (host_vm_usage: their cgroups) and the store's byte counters; every
 * minute it folds that into a point of a bounded in-memory ring per user (24 h). Nothing is
 * persisted: after a restart the series starts empty. Also renders the host-wide gauges and
 * counters of the Prometheus listener (docs/api.md §5.2). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "daemon/store/store.h"

struct buf;
struct ctl;
struct timeline;
struct ctl_caller;
struct ctl_error;
struct ctl_usage;

#define CTL_USAGE_TICK_S 10         /* CPU sampling period: cpu_pct is over this */
#define CTL_USAGE_POINT_S 60        /* one point per user per minute */
#define CTL_USAGE_RING_POINTS 1440  /* 24 h of minutes per user */
#define CTL_USAGE_MAX_USERS 4096    /* users with a ring (56 KiB each); more share none */

/* Starts the sampler on c->base (after the host and the store are set). 0 or -ENOMEM. */
int ctl_usage_new(struct ctl *c, struct ctl_usage **ret);
void ctl_usage_free(struct ctl_usage *u);
/* One sampling step now (the timer calls it every CTL_USAGE_TICK_S). */
void ctl_usage_sample(struct ctl_usage *u);
/* The same at a given wall-clock (ms) and monotonic (us) time: tests step through minutes. */
void ctl_usage_sample_at(struct ctl_usage *u, int64_t now_ms, int64_t now_us);

struct ctl_sandbox_metrics {
    char id[STORE_ID_SIZE];
    int64_t ts_ms;
    enum store_state status;
    int32_t vcpu;
    int64_t mem_mib, disk_mib;
    /* while running (has_*: known) */
    bool has_cpu_pct, has_mem_used, has_disk_used, has_pids;
    double cpu_pct;                 /* percent of one CPU over the last sampling period */
    int64_t mem_used_mib;           /* charged to the VM's cgroup (its QEMU), MiB */
    int64_t disk_used_mib;          /* host bytes of its disk layer, MiB */
    uint64_t pids;                  /* QEMU's tasks */
    int64_t egress_bytes, ingress_bytes;
};

/* The caller's sandbox id: CTL_E_NOT_FOUND for a foreign or unknown one. 0 or -1 with e. */
int ctl_sandbox_metrics(struct ctl_usage *u, const struct ctl_caller *who, const char *id,
                        struct ctl_sandbox_metrics *out, struct ctl_error *e);

struct ctl_user_metrics {
    uint64_t running, paused, other, total;     /* rows the store holds (retention_hours) */
    int64_t vcpu_running, mem_mib_running, disk_mib_allocated;
    int64_t egress_bytes, ingress_bytes;        /* over every row the store holds */
    int64_t running_seconds;                    /* sampled since hearthd started */
};

int ctl_user_metrics(struct ctl_usage *u, const struct ctl_caller *who,
                     struct ctl_user_metrics *out, struct ctl_error *e);

struct ctl_usage_point {
    int64_t ts_ms;                  /* start of [ts, ts + step) */
    double running, paused, vcpu_running, mem_mib_running;     /* step averages */
    uint64_t egress_bytes, ingress_bytes;                      /* step totals */
};

/* Points from from_ms (inclusive) every step_s to to_ms (exclusive), zeros where nothing was
 * sampled. The caller checked the range (docs/api.md §3.14). *ret is malloc'd (free it).
 * 0, or -1 with CTL_E_INTERNAL in e. */
int ctl_user_timeseries(struct ctl_usage *u, const struct ctl_caller *who, int64_t from_ms,
                        int64_t to_ms, int64_t step_s, struct ctl_usage_point **ret,
                        size_t *ret_n, struct ctl_error *e);

/* Timed operations. The lifecycle ones (up to CTL_USAGE_OP_DESTROY) render as
 * hearth_lifecycle_duration_seconds{op} and hearth_lifecycle_failures_total{op}; the
 * networking ones (synchronous API calls) as hearth_network_op_duration_seconds{op} and
 * hearth_network_op_failures_total{op}. */
enum ctl_usage_op {
    CTL_USAGE_OP_CREATE,
    CTL_USAGE_OP_PAUSE,
    CTL_USAGE_OP_RESUME,
    CTL_USAGE_OP_FORK,
    CTL_USAGE_OP_DESTROY,
    CTL_USAGE_OP_NET_ATTACH,        /* op="attach": a sandbox joins a network */
    CTL_USAGE_OP_NET_DETACH,        /* "detach" */
    CTL_USAGE_OP_NET_CREATE,        /* "network_create" */
    CTL_USAGE_OP_NET_DELETE,        /* "network_delete" */
    CTL_USAGE_OP_EGRESS_SET,        /* "egress_set": rules stored and applied */
    CTL_USAGE_OP__COUNT
};
#define CTL_USAGE_LIFECYCLE_OPS (CTL_USAGE_OP_DESTROY + 1)
#define CTL_USAGE_MAX_WATCHES 1024
#define CTL_USAGE_WATCH_EXPIRE_S 60 /* how often watches are checked for CTL_USAGE_WATCH_MAX_S */
#define CTL_USAGE_WATCH_MAX_S 900   /* a transition not settled by then is dropped unmeasured */

/* One finished operation of a known duration (create and fork: the request held until the
 * sandbox ran). ok false counts a failure. */
void ctl_usage_op_done(struct ctl_usage *u, enum ctl_usage_op op, double seconds, bool ok);
/* An operation accepted at start_ms (wall clock) whose row moves on asynchronously (pause,
 * resume, destroy): when sandbox id is still in op's transitional state, the control layer's
 * report of its settle (events.h) ends the watch: the duration is the settle's time minus
 * start_ms, a failure when it settles anywhere but op's target state. One that settled before
 * the request finished is measured at once from the row (its updated_at). */
void ctl_usage_watch(struct ctl_usage *u, enum ctl_usage_op op, const char *id,
                     int64_t start_ms);
/* Adds the steps of a succeeded operation's timeline (create, pause, resume or fork; others
 * are ignored) to hearth_lifecycle_step_duration_seconds{op,step}; a step name not in
 * timeline.h's list counts as step="other". */
void ctl_usage_steps(struct ctl_usage *u, enum ctl_usage_op op, const struct timeline *tl);
/* Counts an exec (hearth_exec_total{mode}). */
void ctl_usage_exec(struct ctl_usage *u, bool stream);

/* Appends hearth_sandboxes{state}, hearth_network_bytes_total{direction},
 * hearth_vm_memory_bytes, the two operation histograms and their failure counters (above), the
 * step histograms (ctl_usage_steps) and
 * hearth_exec_total{mode} (Prometheus text). 0 or -errno. */
int ctl_usage_render(const struct ctl_usage *u, struct buf *out);
