/* SPDX-License-Identifier: MIT */
/* timeline.h: the per-step timeline of one operation (create, resume, fork, pause, a pool
 * take), docs/performance.md "Where the time goes". A fixed-size value (no allocation), so
 * it can sit in a host_result and travel across the host seam as plain data. Steps are
 * marked in order as they end; a step's duration is the time since the previous mark (the
 * first: since timeline_start). Names are static strings from the list in
 * docs/performance.md ("spawn", "qmp", "incoming", "state", "cont", "hello", "ready", ...). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TIMELINE_MAX_STEPS 24

struct timeline_step {
    const char *name;           /* static; never freed */
    int64_t at_us;              /* monotonic time the step ended */
};

struct timeline {
    int64_t start_us;           /* 0: not started (marks are then ignored) */
    unsigned n;
    bool truncated;             /* more than TIMELINE_MAX_STEPS marks came */
    struct timeline_step steps[TIMELINE_MAX_STEPS];
};

/* Starts (or restarts) t now. */
void timeline_start(struct timeline *t);
/* Starts t at a given monotonic time (a request's arrival). */
void timeline_start_at(struct timeline *t, int64_t start_us);
/* Marks the end of step name (static string) now; ignored when t was never started. */
void timeline_mark(struct timeline *t, const char *name);
/* Appends the steps of part (a host operation's own timeline) to t, keeping their times. */
void timeline_append(struct timeline *t, const struct timeline *part);
/* Duration of step i in microseconds (since the previous mark or the start). */
int64_t timeline_step_us(const struct timeline *t, unsigned i);
/* Total: last mark minus start; 0 when empty. */
int64_t timeline_total_us(const struct timeline *t);
/* "spawn=12.3 qmp=4.1 ... total=180.2" (milliseconds, one decimal) into out; returns the
 * length snprintf would write. */
int timeline_format(const struct timeline *t, char *out, size_t len);

/* The documented step names (docs/performance.md "Where the time goes"), in the order an
 * operation usually passes them, and "other" last: the bounded label set of the step
 * histograms. A name not in the list (a step added without a doc entry) maps to "other". */
#define TIMELINE_STEPS(X)                                                                      \
    X(CHECKS, "checks")               /* ctl: quota, host capacity and free-space checks */      \
    X(INTENT, "intent")               /* ctl: the row and its intent written (store) */          \
    X(NET, "net")                     /* ctl: network prepared (tap, nftables) */                \
    X(RUNDIR, "rundir")               /* host: run dir made, spec checked */                     \
    X(VERIFY, "verify")               /* host restore: snapshot checked, state file read */      \
    X(LAYER, "layer")                 /* host restore: RAM and disk layer laid out (links) */    \
    X(DISK, "disk")                   /* host: qemu-img made the disk layer */                   \
    X(SPAWN, "spawn")                 /* host: QEMU forked and exec'd (cgroup, jail) */          \
    X(QMP_CONNECT, "qmp_connect")     /* host: QMP socket connected */                           \
    X(QMP_CAPS, "qmp_caps")           /* host: greeting and qmp_capabilities answered */         \
    X(INCOMING, "incoming")           /* host restore: version, caps, migrate-incoming */        \
    X(STATE, "state")                 /* host: device state loaded (restore) or saved (pause) */ \
    X(CONT, "cont")                   /* host restore: cont answered: the guest runs */          \
    X(AGENT_CONNECT, "agent_connect") /* host: agent socket connected */                         \
    X(READY, "ready")                 /* host: the agent answered HELLO with READY */            \
    X(PING, "ping")                   /* host pause: the agent's PONG (reader idle) */           \
    X(STOP, "stop")                   /* host pause: vCPUs stopped */                            \
    X(SEAL, "seal")                   /* host pause: files linked, meta.json written */          \
    X(QUIT, "quit")                   /* host pause: QEMU exited */                              \
    X(DISK_FREEZE, "disk_freeze")     /* host live snapshot: disk layer copied, VM stopped */   \
    X(RAM_COPY, "ram_copy")           /* host live snapshot: RAM file copied, VM stopped */     \
    X(RECORD, "record")               /* ctl: the VM or snapshot recorded in the row */          \
    X(IDENTITY, "identity")           /* ctl: network, identity, keys, grow applied in the guest */ \
    X(SETTLE, "settle")               /* ctl: the settled state written, the event appended */   \
    X(POOL_TAKE, "pool_take")         /* ctl: create took a warm pool's VM (ctl/pool.h) */       \
    X(NET_APPLY, "net_apply")         /* ctl: the taken VM's tap wired as the sandbox's */       \
    X(OTHER, "other")                 /* any name not listed */

#define TIMELINE_STEP_ENUM_(id, str) TIMELINE_STEP_##id,
enum timeline_step_id { TIMELINE_STEPS(TIMELINE_STEP_ENUM_) TIMELINE_STEP__COUNT };
#undef TIMELINE_STEP_ENUM_

/* The index of name in the list; TIMELINE_STEP_OTHER for NULL or an unlisted name. */
enum timeline_step_id timeline_step_id(const char *name);
/* The name of id ("other" for an out-of-range one). */
const char *timeline_step_name(enum timeline_step_id id);
