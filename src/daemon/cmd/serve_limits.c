/* SPDX-License-Identifier: MIT */
/* serve_limits.c: `hearthd serve`'s resource-safety set-up (serve_limits.h). Edge code: it
 * logs what it chose, so an operator sees the effective limits in the start-up lines. */
#include "daemon/cmd/serve_limits.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>

#include <jansson.h>

#include "daemon/config.h"
#include "daemon/ctl/ctl.h"
#include "daemon/ctl/quota.h"
#include "daemon/http/server.h"
#include "daemon/log.h"

#define SERVE_FD_RESERVE 64       /* the store, the loop, listeners, DNS, netlink, logs */
#define SERVE_FD_PER_VM 16        /* QMP, agent, pidfds, a tap copy, streams: generous */
#define SERVE_MIN_CONNECTIONS 16

void serve_limits_nofile(const struct hd_config *cfg)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) {
        log_warn(NULL, "cannot read RLIMIT_NOFILE, ignoring", "{s:s}", "err", strerror(errno));
        return;
    }
    rlim_t want = cfg->max_open_files ? (rlim_t)cfg->max_open_files : rl.rlim_max;
    if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max)
        want = rl.rlim_max; /* raising the hard limit needs CAP_SYS_RESOURCE: not ours */
    rlim_t was = rl.rlim_cur;
    rl.rlim_cur = want;
    if (want != was && setrlimit(RLIMIT_NOFILE, &rl) < 0) {
        log_warn(NULL, "cannot set RLIMIT_NOFILE, ignoring", "{s:I,s:I,s:s}", "soft",
                 (json_int_t)was, "want", (json_int_t)want, "err", strerror(errno));
        return;
    }
    log_info(NULL, "open file limit", "{s:I,s:I,s:I}", "soft", (json_int_t)want, "was",
             (json_int_t)was, "hard", (json_int_t)rl.rlim_max);
}

void serve_limits_settings(const struct hd_config *cfg, struct ctl_settings *s)
{
    snprintf(s->data_dir, sizeof(s->data_dir), "%s", cfg->data_dir);
    s->max_sandboxes = cfg->max_sandboxes;
    s->max_networks = cfg->max_networks;
    s->max_disks = cfg->max_disks;
    s->min_free_disk_mib = cfg->min_free_disk_mib;
    s->min_free_disk_pct = cfg->min_free_disk_pct;
    s->host_max_vms = cfg->host_max_vms;
    s->process_output_bytes = cfg->process_output_bytes; /* issue 12 */
    s->disk_mount_check_s = cfg->disk_mount_check_seconds; /* issue 15 */
    /* templates (issue 14) */
    snprintf(s->templates_dir, sizeof(s->templates_dir), "%.1000s/templates", cfg->data_dir);
    s->max_templates = cfg->max_templates;
    s->lifecycle_hold_ms = cfg->lifecycle_hold_ms;
    s->max_concurrent_builds = cfg->max_concurrent_builds;
    s->template_build_timeout_s = cfg->template_build_timeout_s;
    s->template_build_mem_mib = cfg->template_build_mem_mib;
    s->template_build_vcpus = cfg->template_build_vcpus;
    s->template_context_max_bytes = (uint64_t)cfg->template_context_max_mib << 20;
    uint64_t mem_mib = 0;
    if (!s->host_max_vms) {
        int r = ctl_quota_meminfo_mib("/proc/meminfo", &mem_mib);
        if (r < 0) {
            /* no meminfo (an odd container): unlimited rather than a guess, and say so */
            log_warn(NULL, "cannot read MemTotal: host_max_vms unlimited; set it in the config",
                     "{s:s}", "err", strerror(-r));
            return;
        }
        s->host_max_vms = ctl_quota_host_vms_from_memory(mem_mib, cfg->host_mem_reserve_mib);
    }
    log_info(NULL, "limits", "{s:i,s:i,s:i,s:i,s:s,s:I,s:i,s:i}", "max_sandboxes",
             (int)s->max_sandboxes, "max_networks", (int)s->max_networks, "max_disks",
             (int)s->max_disks, "host_max_vms",
             (int)s->host_max_vms, "host_max_vms_from", cfg->host_max_vms ? "config" : "memory",
             "mem_total_mib", (json_int_t)mem_mib, "min_free_disk_mib",
             (int)s->min_free_disk_mib, "min_free_disk_pct", (int)s->min_free_disk_pct);
}

void serve_limits_http(const struct hd_config *cfg, uint32_t host_max_vms,
                       struct http_limits *l)
{
    http_limits_default(l);
    l->body_timeout_ms = cfg->http_stall_timeout_s * 1000;
    l->write_timeout_ms = cfg->http_stall_timeout_s * 1000;
    /* Clients must never take the fds the rest of hearthd needs: libnftables (the bandwidth
     * meter, egress) exit()s when it cannot open a netlink socket, and a VM start needs its
     * sockets. Keep 64 fds for the daemon and 16 per VM it may run; connections past the cap
     * are closed at accept. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
        return;
    uint64_t reserve = SERVE_FD_RESERVE + SERVE_FD_PER_VM * (uint64_t)host_max_vms;
    uint64_t room = rl.rlim_cur > reserve ? rl.rlim_cur - reserve : 0;
    if (room < SERVE_MIN_CONNECTIONS) {
        log_warn(NULL, "open file limit is low for host_max_vms; raise it or lower host_max_vms",
                 "{s:I,s:i,s:i}", "soft", (json_int_t)rl.rlim_cur, "host_max_vms",
                 (int)host_max_vms, "connections", SERVE_MIN_CONNECTIONS);
        room = SERVE_MIN_CONNECTIONS;
    }
    if (room < l->max_connections)
        l->max_connections = (unsigned)room;
}

static void on_accept_error(int err, unsigned long count, void *ud)
{
    log_error(NULL, "cannot accept connections; pausing the listener", "{s:s,s:s,s:I,s:i}",
              "listener", (const char *)ud, "err", strerror(-err), "failures",
              (json_int_t)count, "pause_ms", HTTP_ACCEPT_PAUSE_MS);
}

void serve_limits_watch_accept(struct http_server *srv, const char *what)
{
    http_server_set_accept_error(srv, on_accept_error, (void *)what);
}
