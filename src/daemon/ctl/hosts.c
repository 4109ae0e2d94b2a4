/* SPDX-License-Identifier: MIT */
/* hosts.c: this host's reports and heartbeat, derived host statuses, drain, the dead-host
 * sweep and the placement check of new sandboxes (hosts.h). */
#include "daemon/ctl/hosts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/rand.h>

#include "common/timefmt.h"
#include "daemon/ctl/catalog.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/events.h"
#include "daemon/ctl/placement.h"
#include "daemon/ctl/quota.h"
#include "daemon/log.h"
#include "hearth/hearth.h"

/* Committed vCPUs may reach this many per host CPU (docs/scale-out.md "Placement"): idle
 * sandboxes are the common case, and memory is what really runs out. */
#define CPU_OVERCOMMIT 4.0

struct ctl_hosts {
    struct event *timer;
    int64_t started_at;
    bool reports;                  /* this hearthd is a host of the registry (not a control) */
};

const char *ctl_host_status_name(enum ctl_host_status s)
{
    switch (s) {
    case CTL_HOST_ACTIVE: return "active";
    case CTL_HOST_DRAINING: return "draining";
    case CTL_HOST_DEAD: return "dead";
    }
    return "dead";
}

enum ctl_host_status ctl_host_status_of(const struct store_host *h, int64_t now_ms,
                                        int64_t dead_after_ms)
{
    if (now_ms - h->heartbeat_at > dead_after_ms)
        return CTL_HOST_DEAD;
    return h->drain ? CTL_HOST_DRAINING : CTL_HOST_ACTIVE;
}

static int64_t dead_after_ms(const struct ctl *c)
{
    return (int64_t)c->set.host_dead_after_s * 1000;
}

/* A live VM's states: what counts against a host's CPUs. */
static bool holds_vm(enum store_state s)
{
    return s == STORE_RUNNING || s == STORE_CREATING || s == STORE_RESUMING ||
           s == STORE_FORKING || s == STORE_PAUSING;
}

/* The host's memory now: MemTotal and MemAvailable in MiB. */
static void own_memory(struct store_host *h)
{
    uint64_t kib = 0;
    if (ctl_meminfo_kib("/proc/meminfo", "MemTotal", &kib) == 0)
        h->mem_mib = (int64_t)(kib / 1024);
    kib = 0;
    if (ctl_meminfo_kib("/proc/meminfo", "MemAvailable", &kib) == 0)
        h->free_mib = (int64_t)(kib / 1024);
}

/* This host's row as it would be reported now. */
static void own_report(struct ctl *c, struct store_host *h)
{
    memset(h, 0, sizeof(*h));
    snprintf(h->id, sizeof(h->id), "%s", c->set.host_id);
    snprintf(h->region, sizeof(h->region), "%s", c->set.region);
    snprintf(h->labels, sizeof(h->labels), "%s", c->set.host_labels);
    snprintf(h->address, sizeof(h->address), "%s", c->set.host_address);
    snprintf(h->version, sizeof(h->version), "%s", HEARTH_VERSION);
    own_memory(h);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    h->vcpus = cpus > 0 ? cpus : 1;
    h->vm_count = ctl_vm_count(c);
    struct store_sandbox *rows = NULL;
    size_t n = 0;
    if (store_sandbox_list_unsettled(c->store, c->set.host_id, &rows, &n) == 0) {
        for (size_t i = 0; i < n; i++)
            if (holds_vm(rows[i].status))
                h->committed_vcpus += rows[i].vcpu;
        store_sandbox_array_free(rows, n);
    }
    size_t n_images, used = 0;
    const struct ctl_rootfs *images = ctl_rootfs_all(&n_images);
    for (size_t i = 0; i < n_images; i++) {
        if (!ctl_image_present(c, images[i].file))
            continue;
        int w = snprintf(h->rootfses + used, sizeof(h->rootfses) - used, "%s%s",
                         used ? "," : "", images[i].name);
        if (w < 0 || (size_t)w >= sizeof(h->rootfses) - used) {
            h->rootfses[used] = '\0';
            break;
        }
        used += (size_t)w;
    }
    int64_t now = timefmt_now_ms();
    h->started_at = c->hosts ? c->hosts->started_at : now;
    h->heartbeat_at = now;
}

int ctl_hosts_report(struct ctl *c)
{
    struct store_host h;
    own_report(c, &h);
    int r = store_host_report(c->store, &h);
    if (r < 0)
        log_error(NULL, "cannot report this host", "{s:s,s:s,s:s}", "host", h.id, "err",
                  strerror(-r), "detail", store_errmsg(c->store));
    return r;
}

/* Fails what a dead host was running: its VMs cannot be reached from here, so a client must
 * not keep seeing `running`. Paused sandboxes stay paused (their snapshots do not need the
 * host once they are durable; docs/scale-out.md). */
static void fail_sandboxes_of(struct ctl *c, const char *host_id)
{
    struct store_sandbox *rows = NULL;
    size_t n = 0;
    if (store_sandbox_list_unsettled(c->store, host_id, &rows, &n) < 0)
        return;
    char reason[160];
    snprintf(reason, sizeof(reason), "host %s stopped reporting", host_id);
    for (size_t i = 0; i < n; i++) {
        enum store_state from = rows[i].status;
        if (!holds_vm(from) && from != STORE_DESTROYING)
            continue;
        enum store_state to = from == STORE_CREATING ? STORE_FAILED : STORE_ERROR;
        struct store_transition t = { .from = from, .to = to, .intent = STORE_STATE_NONE,
                                      .now_ms = timefmt_now_ms() };
        ctl_event_cause(c, rows[i].id, CTL_ACTOR_HEARTHD, reason);
        if (store_sandbox_transition(c->store, rows[i].id, &t, NULL) == 0) {
            ctl_event_settled(c, rows[i].id, from, to, t.now_ms, reason);
            log_warn(NULL, "sandbox of a dead host", "{s:s,s:s,s:s}", "sandbox", rows[i].id,
                     "host", host_id, "to", store_state_to_string(to));
        } else {
            ctl_event_cause(c, rows[i].id, NULL, NULL);
        }
    }
    store_sandbox_array_free(rows, n);
    /* and whoever waits for its jobs hears now rather than at their timeout */
    char body[320];
    snprintf(body, sizeof(body),
             "{\"status\":\"error\",\"message\":\"host %s stopped reporting\",\"code\":"
             "\"unavailable\"}", host_id);
    uint64_t failed = 0;
    if (store_job_fail_host(c->store, host_id, false, 503, body, timefmt_now_ms(), &failed) ==
            0 && failed)
        log_warn(NULL, "jobs of a dead host failed", "{s:s,s:I}", "host", host_id, "jobs",
                 (json_int_t)failed);
}

static void sweep_dead(struct ctl *c)
{
    struct store_host *hosts = NULL;
    size_t n = 0;
    if (store_host_list(c->store, &hosts, &n) < 0)
        return;
    int64_t now = timefmt_now_ms();
    for (size_t i = 0; i < n; i++)
        if (strcmp(hosts[i].id, c->set.host_id) != 0 &&
            ctl_host_status_of(&hosts[i], now, dead_after_ms(c)) == CTL_HOST_DEAD)
            fail_sandboxes_of(c, hosts[i].id);
    free(hosts);
}

static void arm(struct ctl *c)
{
    struct timeval tv = { (time_t)c->set.host_heartbeat_s, 0 };
    event_add(c->hosts->timer, &tv);
}

static void on_heartbeat(evutil_socket_t fd, short what, void *arg)
{
    struct ctl *c = arg;
    if (c->hosts->reports)
        (void)ctl_hosts_report(c);
    sweep_dead(c);
    arm(c);
}

static int start(struct ctl *c, bool reports)
{
    struct ctl_hosts *H = calloc(1, sizeof(*H));
    if (!H)
        return -ENOMEM;
    H->started_at = timefmt_now_ms();
    H->reports = reports;
    H->timer = evtimer_new(c->base, on_heartbeat, c);
    if (!H->timer) {
        free(H);
        return -ENOMEM;
    }
    c->hosts = H;
    int r = reports ? ctl_hosts_report(c) : 0;
    if (r < 0)
        return r;
    sweep_dead(c);
    arm(c);
    return 0;
}

int ctl_hosts_start(struct ctl *c)
{
    return start(c, true);
}

int ctl_hosts_watch_start(struct ctl *c)
{
    return start(c, false);
}

void ctl_hosts_release(struct ctl *c)
{
    if (!c->hosts)
        return;
    event_free(c->hosts->timer);
    free(c->hosts);
    c->hosts = NULL;
}

bool ctl_hosts_any_active(struct ctl *c)
{
    struct store_host *hosts = NULL;
    size_t n = 0;
    if (store_host_list(c->store, &hosts, &n) < 0)
        return false;
    bool any = false;
    int64_t now = timefmt_now_ms();
    for (size_t i = 0; i < n && !any; i++)
        any = ctl_host_status_of(&hosts[i], now, dead_after_ms(c)) == CTL_HOST_ACTIVE;
    free(hosts);
    return any;
}

int ctl_hosts_list(struct ctl *c, struct store_host **ret_hosts,
                   enum ctl_host_status **ret_statuses, size_t *ret_n, struct ctl_error *e)
{
    struct store_host *hosts = NULL;
    size_t n = 0;
    int r = store_host_list(c->store, &hosts, &n);
    if (r < 0)
        return ctl_error_internal(e, "list hosts", r);
    enum ctl_host_status *st = calloc(n ? n : 1, sizeof(*st));
    if (!st) {
        free(hosts);
        return ctl_error_internal(e, "list hosts", -ENOMEM);
    }
    int64_t now = timefmt_now_ms();
    for (size_t i = 0; i < n; i++)
        st[i] = ctl_host_status_of(&hosts[i], now, dead_after_ms(c));
    *ret_hosts = hosts;
    *ret_statuses = st;
    *ret_n = n;
    return 0;
}

int ctl_host_drain(struct ctl *c, const char *id, bool on, struct store_host *ret,
                   struct ctl_error *e)
{
    int r = store_host_set_drain(c->store, id, on);
    if (r == -ENOENT)
        return ctl_error_set(e, CTL_E_NOT_FOUND, NULL, NULL, "host not found");
    if (r == 0)
        r = store_host_get(c->store, id, ret);
    if (r < 0)
        return ctl_error_internal(e, "drain host", r);
    log_info(NULL, on ? "host drained" : "host undrained", "{s:s}", "host", id);
    return 0;
}

static uint64_t rand_below(void *ud, uint64_t bound)
{
    uint64_t v = 0;
    if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
        v = (uint64_t)timefmt_now_ms();
    return bound ? v % bound : 0;
}

int ctl_hosts_place(struct ctl *c, const struct ctl_selector *selector, const char *host_id,
                    int64_t mem_mib, int64_t vcpus, char ret_host[STORE_HOST_SIZE],
                    struct ctl_error *e)
{
    struct store_host *hosts = NULL;
    size_t n = 0;
    int r = store_host_list(c->store, &hosts, &n);
    if (r < 0)
        return ctl_error_internal(e, "list hosts", r);
    bool *usable = calloc(n ? n : 1, sizeof(*usable));
    if (!usable) {
        free(hosts);
        return ctl_error_internal(e, "place", -ENOMEM);
    }
    int64_t now = timefmt_now_ms();
    bool pinned_known = false;
    for (size_t i = 0; i < n; i++) {
        struct store_host *h = &hosts[i];
        bool self = strcmp(h->id, c->set.host_id) == 0;
        if (self) {
            /* this host's memory and VM count are read live; the rest is its last report's
               (committed vCPUs lag by at most one heartbeat) */
            own_memory(h);
            h->vm_count = ctl_vm_count(c);
            h->heartbeat_at = now;
        }
        if (host_id && strcmp(h->id, host_id) == 0)
            pinned_known = true;
        /* this host when it runs VMs; another one only when the caller can hand it the work
         * (ret_host: the work queue, jobs.h) */
        usable[i] = (self ? c->host != NULL : ret_host != NULL) &&
                    ctl_host_status_of(h, now, dead_after_ms(c)) != CTL_HOST_DEAD &&
                    (!host_id || strcmp(h->id, host_id) == 0);
    }
    r = 0;
    if (host_id && !pinned_known) {
        r = ctl_error_set(e, CTL_E_INVALID, "host_id", NULL, "unknown host");
    } else {
        struct ctl_place_req req = { .region = c->set.region, .selector = selector,
                                     .mem_mib = mem_mib, .vcpus = vcpus,
                                     .cpu_overcommit = CPU_OVERCOMMIT };
        enum ctl_place_miss miss;
        int at = ctl_place_pick(hosts, usable, n, &req, CTL_PLACE_K, rand_below, NULL, &miss);
        if (at >= 0 && ret_host)
            snprintf(ret_host, STORE_HOST_SIZE, "%s", hosts[at].id);
        if (at < 0) {
            if (miss == CTL_PLACE_NO_MATCH && selector && selector->n)
                r = ctl_error_set(e, CTL_E_UNKNOWN_REF, "node_selector", NULL,
                                  "no host matches");
            else if (host_id && miss != CTL_PLACE_NO_ROOM)
                r = ctl_error_set(e, CTL_E_INVALID, "host_id", NULL, "host is not active");
            else if (!c->host && !c->set.control_only && !host_id)
                r = ctl_error_set(e, CTL_E_UNAVAILABLE, NULL, NULL,
                                  "the VM layer is not running");
            else if (miss == CTL_PLACE_NO_ROOM)
                r = ctl_error_set(e, CTL_E_NO_CAPACITY, NULL, NULL, "no host has room");
            else
                r = ctl_error_set(e, CTL_E_NO_CAPACITY, NULL, NULL, "no active host");
        }
    }
    free(usable);
    free(hosts);
    return r;
}
