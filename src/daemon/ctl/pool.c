/* SPDX-License-Identifier: MIT */
/* pool.c: warm pools (pool.h): the pooled VMs of each configured pool, the background refill
 * (one golden restore at a time, from a timer of the loop), the takes, the evictions (a create
 * at the host's VM limit, the memory floor) and their metrics. */
#include "daemon/ctl/pool.h"

#include <errno.h>
#include <event2/event.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/mono.h"
#include "daemon/ctl/catalog.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/golden.h"
#include "daemon/ctl/netplane.h"
#include "daemon/ctl/quota.h"
#include "daemon/host/host.h"
#include "daemon/log.h"
#include "daemon/pool_spec.h"
#include "daemon/store/ids.h"
#include "daemon/store/store.h"

/* A golden restore under TCG on a busy host takes seconds; the pool is in no hurry */
#define POOL_RESTORE_MS 60000
/* the refill's pace: soon after a take, a while after a failure or a full host, and a slow
 * round that heals what nothing kicked (a golden snapshot finished, memory came back) */
#define POOL_KICK_MS 20
#define POOL_RETRY_MS 2000
#define POOL_IDLE_MS 5000
/* low priority: no restore starts while a create of a pooled image is in flight, nor until
 * such creates have been quiet this long (back-to-back creates of a client), so a burst's takes
 * and golden restores do not share the CPU with the refill (it catches up between bursts) */
#define POOL_QUIET_MS 50

struct pool_vm {
    char id[STORE_ID_SIZE];
    char ip[STORE_IP_SIZE];     /* its address, held for it by netplane.c ("": no network) */
    size_t pool;                /* index into ctl_pool.spec */
    bool ready;                 /* restored and READY; false: warming */
    int64_t born_us;            /* monotonic: newest first when evicting */
};

struct pool_def {
    struct pool_spec spec;
    char image[PATH_MAX];
    unsigned vcpus, mem_mib;
    uint64_t disk_mib;
    uint32_t cpu_quota_pct;
    bool grow;                  /* the image is smaller than the disk (golden build) */
    char golden[PATH_MAX];      /* what the warming VM of this pool restores */
    uint64_t hits, misses;
};

struct ctl_pool {
    struct ctl *ctx;
    struct pool_def *defs;
    size_t n_defs;
    struct pool_vm *vms;
    size_t n_vms, cap_vms;
    uint32_t min_free_mib;
    struct event *tick;
    bool warming;               /* a restore is under way (one at a time) */
    int64_t last_create_us;     /* monotonic: the last create that matched a pool ended */
    unsigned creating;          /* creates that matched a pool and have not ended */
};

static void schedule(struct ctl_pool *p, int ms)
{
    struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
    if (p->tick)
        event_add(p->tick, &tv);
}

static struct pool_vm *vm_find(struct ctl_pool *p, const char *id)
{
    for (size_t i = 0; i < p->n_vms; i++)
        if (strcmp(p->vms[i].id, id) == 0)
            return &p->vms[i];
    return NULL;
}

static void vm_forget(struct ctl_pool *p, struct pool_vm *v)
{
    if (!v->ready)
        p->warming = false;
    size_t i = (size_t)(v - p->vms);
    memmove(&p->vms[i], &p->vms[i + 1], (p->n_vms - i - 1) * sizeof(*p->vms));
    p->n_vms--;
}

static void destroyed(void *ud, const char *id, const struct host_result *res)
{
    (void)ud;
    if (res->err != HOST_OK && res->err != HOST_E_NOT_FOUND)
        log_warn(NULL, "pool: cannot remove a pooled vm", "{s:s,s:s}", "vm", id, "err", res->msg);
}

/* Kills pooled VM v now (host_vm_discard: no callback of it runs later) and lets its tap go. */
static void vm_kill(struct ctl_pool *p, struct pool_vm *v, const char *why)
{
    char id[STORE_ID_SIZE];
    snprintf(id, sizeof(id), "%s", v->id);
    log_info(NULL, "pool: vm discarded", "{s:s,s:s,s:s}", "pool", p->defs[v->pool].spec.label,
             "vm", id, "why", why);
    vm_forget(p, v);
    host_vm_discard(p->ctx->host, id);
    ctl_net_pool_done(p->ctx, id);
}

static void counts(const struct ctl_pool *p, size_t def, unsigned *ready, unsigned *warming)
{
    *ready = *warming = 0;
    for (size_t i = 0; i < p->n_vms; i++)
        if (p->vms[i].pool == def)
            (*(p->vms[i].ready ? ready : warming))++;
}

static bool under_floor(const struct ctl_pool *p)
{
    uint64_t kib;
    return p->min_free_mib && ctl_meminfo_kib("/proc/meminfo", "MemAvailable", &kib) == 0 &&
           kib / 1024 < p->min_free_mib;
}

static struct pool_vm *newest(struct ctl_pool *p)
{
    struct pool_vm *best = NULL;
    for (size_t i = 0; i < p->n_vms; i++)
        if (!best || p->vms[i].born_us > best->born_us)
            best = &p->vms[i];
    return best;
}

static void on_warmed(void *ud, const char *id, const struct host_result *res)
{
    struct ctl_pool *p = ud;
    struct pool_vm *v = vm_find(p, id);
    p->warming = false;
    if (!v) /* evicted while warming: discarded already */
        return;
    struct pool_def *d = &p->defs[v->pool];
    if (res->err != HOST_OK) {
        log_warn(NULL, "pool: restore failed", "{s:s,s:s,s:s}", "pool", d->spec.label, "vm", id,
                 "err", res->msg);
        /* one this host can never restore is not tried again (create does the same) */
        if (res->err == HOST_E_INVALID)
            ctl_golden_discard(p->ctx, d->golden);
        vm_forget(p, v);
        ctl_net_pool_done(p->ctx, id);
        schedule(p, POOL_RETRY_MS);
        return;
    }
    v->ready = true;
    log_info(NULL, "pool: vm ready", "{s:s,s:s,s:f}", "pool", d->spec.label, "vm", id,
             "restore_ms", (double)(mono_now_us() - v->born_us) / 1e3);
    schedule(p, POOL_KICK_MS);
}

/* Starts restoring one VM into pool d. */
static void warm(struct ctl_pool *p, size_t def)
{
    struct ctl *ctx = p->ctx;
    struct pool_def *d = &p->defs[def];
    if (p->n_vms == p->cap_vms) {
        size_t cap = p->cap_vms ? 2 * p->cap_vms : 8;
        struct pool_vm *nv = realloc(p->vms, cap * sizeof(*nv));
        if (!nv) {
            schedule(p, POOL_RETRY_MS);
            return;
        }
        p->vms = nv;
        p->cap_vms = cap;
    }
    struct pool_vm *v = &p->vms[p->n_vms];
    memset(v, 0, sizeof(*v));
    if (ids_new_sandbox(v->id) < 0) {
        schedule(p, POOL_RETRY_MS);
        return;
    }
    v->pool = def;
    v->born_us = mono_now_us();
    p->n_vms++;
    p->warming = true;
    /* the golden snapshot was taken on a tap, so the restore needs one: the VM's own, which the
     * take wires as the sandbox's (netplane.h ctl_net_pool_prepare), with the address the
     * sandbox will have, so the guest's network is up before the take (its MAC is the id's,
     * like the sandbox's). The default data plane until the take applies the sandbox's. No
     * hostname: the guest keeps the golden's until the take sets the sandbox's. */
    struct ctl_net_vm nv;
    if (ctl_net_pool_prepare(ctx, v->id, &nv, v->ip) < 0) {
        p->n_vms--;
        p->warming = false;
        schedule(p, POOL_RETRY_MS);
        return;
    }
    struct host_vm_spec spec = { .id = v->id, .rootfs = d->image, .vcpus = d->vcpus,
                                 .memory_mib = d->mem_mib, .disk_mib = d->disk_mib,
                                 .cpu_quota_pct = d->cpu_quota_pct,
                                 .boot_timeout_ms = POOL_RESTORE_MS, .snapshot = d->golden,
                                 .snapshot_consume = false };
    ctl_net_vm_spec(&nv, &spec);
    log_info(NULL, "pool: warming", "{s:s,s:s}", "pool", d->spec.label, "vm", v->id);
    host_vm_create(ctx->host, &spec, on_warmed, p);
    ctl_net_vm_release(&nv);
}

static void on_tick(evutil_socket_t fd, short what, void *ud)
{
    (void)fd;
    (void)what;
    struct ctl_pool *p = ud;
    struct ctl *ctx = p->ctx;
    /* under the memory floor: newest first, until above it or empty; no refill */
    if (under_floor(p)) {
        struct pool_vm *v;
        while (under_floor(p) && (v = newest(p)))
            vm_kill(p, v, "memory floor");
        schedule(p, POOL_RETRY_MS);
        return;
    }
    if (p->warming || ctx->draining || p->creating)
        return; /* its end schedules the next */
    int64_t quiet_us = mono_now_us() - p->last_create_us;
    if (quiet_us < POOL_QUIET_MS * 1000) {
        schedule(p, (int)(POOL_QUIET_MS - quiet_us / 1000) + 1);
        return;
    }
    if (ctx->set.host_max_vms && ctl_vm_count(ctx) >= ctx->set.host_max_vms) {
        schedule(p, POOL_IDLE_MS); /* sandboxes first */
        return;
    }
    for (size_t i = 0; i < p->n_defs; i++) {
        struct pool_def *d = &p->defs[i];
        unsigned ready, warming;
        counts(p, i, &ready, &warming);
        if (ready + warming >= d->spec.count)
            continue;
        if (!ctl_golden_find(ctx, d->image, d->vcpus, d->mem_mib, d->disk_mib, d->golden)) {
            /* the pool restores that combination's golden snapshot: make it (a no-op while
             * one is being built) and come back */
            ctl_golden_build(ctx, d->image, d->vcpus, d->mem_mib, d->disk_mib, d->cpu_quota_pct,
                             d->grow);
            continue;
        }
        warm(p, i);
        return;
    }
    schedule(p, POOL_IDLE_MS);
}

/* ---- start and stop ---- */

static int def_resolve(struct ctl *ctx, struct pool_def *d, char *err, size_t len)
{
    const struct ctl_shape *sh = ctl_shape_find(d->spec.shape);
    const struct ctl_rootfs *rf = ctl_rootfs_find(ctx, d->spec.rootfs);
    if (!sh) {
        snprintf(err, len, "warm_pool entry \"%s\": unknown shape %s", d->spec.label,
                 d->spec.shape);
        return -EINVAL;
    }
    if (!rf) {
        snprintf(err, len, "warm_pool entry \"%s\": no catalog image %s in the images dir",
                 d->spec.label, d->spec.rootfs);
        return -EINVAL;
    }
    d->vcpus = (unsigned)sh->vcpu;
    d->mem_mib = (unsigned)sh->mem_mib;
    d->disk_mib = d->spec.disk_mib ? d->spec.disk_mib : (uint64_t)sh->default_disk_mib;
    d->cpu_quota_pct = (uint32_t)sh->cpu_quota_pct;
    if ((int64_t)d->disk_mib > ctx->set.max_disk_mib) {
        snprintf(err, len, "warm_pool entry \"%s\": disk over max_disk_mib", d->spec.label);
        return -EINVAL;
    }
    ctl_rootfs_image(ctx, rf, d->disk_mib, d->image, sizeof(d->image));
    struct stat st;
    if (stat(d->image, &st) < 0) {
        snprintf(err, len, "warm_pool entry \"%s\": cannot read %s", d->spec.label, d->image);
        return -EINVAL;
    }
    if ((uint64_t)st.st_size > d->disk_mib << 20) {
        snprintf(err, len, "warm_pool entry \"%s\": the disk is smaller than the image",
                 d->spec.label);
        return -EINVAL;
    }
    d->grow = d->disk_mib << 20 > (uint64_t)st.st_size;
    return 0;
}

int ctl_pool_start(struct ctl *ctx, const char *text, uint32_t min_free_mib, char *err,
                   size_t len)
{
    struct pool_spec specs[POOL_SPEC_MAX];
    size_t n = 0;
    int r = pool_spec_parse(text ? text : "", specs, &n, err, len);
    if (r < 0 || n == 0)
        return r;
    if (!ctx->host || !ctx->set.golden) {
        snprintf(err, len, "warm_pool needs the VM layer and golden_snapshots = on");
        return -EINVAL;
    }
    struct ctl_pool *p = calloc(1, sizeof(*p));
    if (!p || !(p->defs = calloc(n, sizeof(*p->defs)))) {
        free(p);
        return -ENOMEM;
    }
    p->ctx = ctx;
    p->n_defs = n;
    p->min_free_mib = min_free_mib;
    for (size_t i = 0; i < n && r == 0; i++) {
        p->defs[i].spec = specs[i];
        r = def_resolve(ctx, &p->defs[i], err, len);
        for (size_t k = 0; k < i && r == 0; k++) /* two names of one image */
            if (strcmp(p->defs[k].image, p->defs[i].image) == 0 &&
                p->defs[k].vcpus == p->defs[i].vcpus && p->defs[k].mem_mib == p->defs[i].mem_mib &&
                p->defs[k].disk_mib == p->defs[i].disk_mib) {
                snprintf(err, len, "warm_pool entries \"%s\" and \"%s\" are one pool",
                         p->defs[k].spec.label, p->defs[i].spec.label);
                r = -EINVAL;
            }
    }
    if (r == 0 && !(p->tick = evtimer_new(ctx->base, on_tick, p)))
        r = -ENOMEM;
    if (r < 0) {
        free(p->defs);
        free(p);
        return r;
    }
    ctx->pool = p;
    for (size_t i = 0; i < n; i++)
        log_info(NULL, "pool: configured", "{s:s,s:i,s:s}", "pool", p->defs[i].spec.label,
                 "count", (int)p->defs[i].spec.count, "image", p->defs[i].image);
    schedule(p, 0);
    return 0;
}

void ctl_pool_stop(struct ctl *ctx)
{
    struct ctl_pool *p = ctx->pool;
    if (!p)
        return;
    if (p->tick)
        event_del(p->tick);
    while (p->n_vms)
        vm_kill(p, &p->vms[p->n_vms - 1], "hearthd stops");
}

void ctl_pool_release(struct ctl *ctx)
{
    struct ctl_pool *p = ctx->pool;
    if (!p)
        return;
    if (p->tick)
        event_free(p->tick);
    free(p->vms);
    free(p->defs);
    free(p);
    ctx->pool = NULL;
}

/* ---- takes ---- */

static struct pool_def *def_of(struct ctl_pool *p, const struct ctl_pool_key *k)
{
    for (size_t i = 0; p && i < p->n_defs; i++) {
        struct pool_def *d = &p->defs[i];
        if (strcmp(d->image, k->image) == 0 && d->vcpus == k->vcpus && d->mem_mib == k->mem_mib &&
            d->disk_mib == k->disk_mib && d->cpu_quota_pct == k->cpu_quota_pct)
            return d;
    }
    return NULL;
}

static struct pool_vm *ready_vm(struct ctl_pool *p, const struct pool_def *d)
{
    size_t def = (size_t)(d - p->defs);
    for (size_t i = 0; i < p->n_vms; i++) {
        struct pool_vm *v = &p->vms[i];
        if (v->pool != def || !v->ready)
            continue;
        /* a QEMU that died before the host reported it: never handed out */
        if (!host_vm_running(p->ctx->host, v->id)) {
            vm_kill(p, v, "not running");
            return ready_vm(p, d);
        }
        return v;
    }
    return NULL;
}

bool ctl_pool_ready(struct ctl *ctx, const struct ctl_pool_key *k)
{
    struct pool_def *d = def_of(ctx->pool, k);
    return d && ready_vm(ctx->pool, d);
}

int ctl_pool_take(struct ctl *ctx, const struct ctl_pool_key *k, char *id, char *golden,
                  char *ip)
{
    struct ctl_pool *p = ctx->pool;
    struct pool_def *d = def_of(p, k);
    if (!d)
        return -1;
    p->creating++;
    struct pool_vm *v = ready_vm(p, d);
    if (!v) {
        d->misses++;
        return 0;
    }
    d->hits++;
    snprintf(id, STORE_ID_SIZE, "%s", v->id);
    snprintf(golden, PATH_MAX, "%s", d->golden);
    snprintf(ip, STORE_IP_SIZE, "%s", v->ip);
    log_info(NULL, "pool: vm taken", "{s:s,s:s}", "pool", d->spec.label, "vm", id);
    vm_forget(p, v);
    return 1;
}

void ctl_pool_drop(struct ctl *ctx, const char *id)
{
    host_vm_destroy(ctx->host, id, destroyed, NULL);
    ctl_net_pool_done(ctx, id);
}

void ctl_pool_taken(struct ctl *ctx, const char *id)
{
    ctl_net_pool_taken(ctx, id);
}

bool ctl_pool_evict(struct ctl *ctx)
{
    struct ctl_pool *p = ctx->pool;
    struct pool_vm *v = p ? newest(p) : NULL;
    if (!v)
        return false;
    vm_kill(p, v, "host_max_vms: a create needs the room");
    return true;
}

bool ctl_pool_vm_exited(struct ctl *ctx, const char *id)
{
    struct ctl_pool *p = ctx->pool;
    struct pool_vm *v = p ? vm_find(p, id) : NULL;
    if (!v)
        return false;
    log_warn(NULL, "pool: pooled vm exited; discarded", "{s:s,s:s}", "pool",
             p->defs[v->pool].spec.label, "vm", id);
    vm_forget(p, v);
    ctl_pool_drop(ctx, id);
    schedule(p, POOL_RETRY_MS);
    return true;
}

void ctl_pool_create_ended(struct ctl *ctx)
{
    struct ctl_pool *p = ctx->pool;
    if (!p)
        return;
    if (p->creating)
        p->creating--;
    p->last_create_us = mono_now_us();
    schedule(p, POOL_QUIET_MS);
}

size_t ctl_pool_count(struct ctl *ctx)
{
    return ctx->pool ? ctx->pool->n_defs : 0;
}

void ctl_pool_stat(struct ctl *ctx, size_t i, struct ctl_pool_stat *out)
{
    struct pool_def *d = &ctx->pool->defs[i];
    *out = (struct ctl_pool_stat){ .label = d->spec.label, .target = d->spec.count,
                                   .hits = d->hits, .misses = d->misses };
    counts(ctx->pool, i, &out->ready, &out->warming);
}

int ctl_pool_render(struct ctl *ctx, struct buf *b)
{
    struct ctl_pool *p = ctx->pool;
    if (!p)
        return 0;
    int r = buf_appendf(b, "# HELP hearth_pool_vms Pooled VMs (docs/performance.md \"Warm "
                           "pools\").\n# TYPE hearth_pool_vms gauge\n");
    for (size_t i = 0; i < p->n_defs && r == 0; i++) {
        unsigned ready, warming;
        counts(p, i, &ready, &warming);
        r = buf_appendf(b,
                        "hearth_pool_vms{pool=\"%s\",state=\"ready\"} %u\n"
                        "hearth_pool_vms{pool=\"%s\",state=\"warming\"} %u\n",
                        p->defs[i].spec.label, ready, p->defs[i].spec.label, warming);
    }
    if (r == 0)
        r = buf_appendf(b, "# HELP hearth_pool_takes_total Creates that matched a warm pool.\n"
                           "# TYPE hearth_pool_takes_total counter\n");
    for (size_t i = 0; i < p->n_defs && r == 0; i++)
        r = buf_appendf(b,
                        "hearth_pool_takes_total{pool=\"%s\",result=\"hit\"} %llu\n"
                        "hearth_pool_takes_total{pool=\"%s\",result=\"miss\"} %llu\n",
                        p->defs[i].spec.label, (unsigned long long)p->defs[i].hits,
                        p->defs[i].spec.label, (unsigned long long)p->defs[i].misses);
    return r < 0 ? -ENOMEM : 0;
}
