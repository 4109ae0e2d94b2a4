/* SPDX-License-Identifier: MIT */
/* serve_limits.h: what `hearthd serve` sets up for resource safety (docs/operations.md
 * "Limits"), kept out of cmd_serve.c: the file-descriptor limit, the control layer's limits
 * (with host_max_vms derived from the host's memory), the HTTP stall timeouts and the log line
 * for a listener out of file descriptors. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct hd_config;
struct ctl_settings;
struct http_limits;
struct http_server;

/* Raises RLIMIT_NOFILE's soft limit to max_open_files, or to the hard limit when it is 0
 * (lowering is allowed: tests run hearthd short of fds). Logs the result; a failure is logged
 * and ignored (hearthd then runs with what it has). */
void serve_limits_nofile(const struct hd_config *cfg);

/* Copies the limit keys into s; host_max_vms 0 becomes its default from /proc/meminfo (logged). */
void serve_limits_settings(const struct hd_config *cfg, struct ctl_settings *s);

/* The HTTP limits with the configured stall timeout (body and write), and at most as many
 * connections as the open file limit leaves once the daemon and host_max_vms VMs have theirs
 * (at least 16; a warning when the limit is that low). Call after serve_limits_nofile(). */
void serve_limits_http(const struct hd_config *cfg, uint32_t host_max_vms,
                       struct http_limits *l);

/* Logs accept() failures of srv's listeners (at most one line per 10 s; server.h). what names
 * the listener ("api", "metrics"; static). */
void serve_limits_watch_accept(struct http_server *srv, const char *what);
