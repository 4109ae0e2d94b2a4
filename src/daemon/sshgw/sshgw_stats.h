/* SPDX-License-Identifier: MIT */
/* sshgw_stats.h: the SSH gateway's operator metrics (docs/operations.md "Metrics"): counters
 * kept in the gateway's own struct, rendered in the Prometheus text format by the metrics
 * listener. Labels come from fixed sets (a login method and result, a channel kind, a
 * direction), never a sandbox or a user. */
#pragma once

#include <stdint.h>

struct buf;

enum sshgw_method { SSHGW_M_PUBLICKEY, SSHGW_M_PASSWORD, SSHGW_M_N };
enum sshgw_result { SSHGW_R_OK, SSHGW_R_REFUSED, SSHGW_R_LIMITED, SSHGW_R_N };
/* a channel by what it became, or refused (a session over the cap, a subsystem other than
 * sftp, a -L destination the gateway does not allow) */
enum sshgw_chan_stat {
    SSHGW_CS_SHELL, SSHGW_CS_EXEC, SSHGW_CS_SFTP, SSHGW_CS_DIRECT_TCPIP, SSHGW_CS_REFUSED,
    SSHGW_CS_N
};

struct sshgw_stats {
    uint64_t logins[SSHGW_M_N][SSHGW_R_N];
    uint64_t channels_total[SSHGW_CS_N];
    uint64_t bytes_in, bytes_out;      /* to the guests, from the guests to clients */
    unsigned channels;                 /* open now */
    unsigned connections;              /* open now (sshgw_metrics_render() fills it) */
};

/* Appends every hearth_ssh_* family. 0 or -ENOBUFS. */
__attribute__((warn_unused_result))
int sshgw_stats_render(const struct sshgw_stats *st, struct buf *out);
