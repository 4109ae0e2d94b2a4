/* SPDX-License-Identifier: MIT */
/* sshgw_stats.c: the text rendering of the SSH gateway's metrics (sshgw_stats.h); the
 * counting happens where the events are (sshgw_conn.c, sshgw_chan.c, sshgw_session.c,
 * sshgw_forward.c). */
#include "daemon/sshgw/sshgw_stats.h"

#include "common/buf.h"

int sshgw_stats_render(const struct sshgw_stats *st, struct buf *out)
{
    static const char *const methods[SSHGW_M_N] = { "publickey", "password" };
    static const char *const results[SSHGW_R_N] = { "ok", "refused", "limited" };
    static const char *const kinds[SSHGW_CS_N] = { "shell", "exec", "sftp", "direct_tcpip",
                                                   "refused" };
    int r = buf_appendf(out, "# HELP hearth_ssh_connections Open SSH gateway connections.\n"
                             "# TYPE hearth_ssh_connections gauge\n"
                             "hearth_ssh_connections %u\n"
                             "# HELP hearth_ssh_logins_total SSH login attempts, by method and "
                             "result.\n"
                             "# TYPE hearth_ssh_logins_total counter\n",
                        st->connections);
    for (int m = 0; r == 0 && m < SSHGW_M_N; m++)
        for (int k = 0; r == 0 && k < SSHGW_R_N; k++)
            r = buf_appendf(out, "hearth_ssh_logins_total{method=\"%s\",result=\"%s\"} %llu\n",
                            methods[m], results[k], (unsigned long long)st->logins[m][k]);
    if (r == 0)
        r = buf_appendf(out, "# HELP hearth_ssh_channels_total SSH channels, by what they "
                             "became.\n"
                             "# TYPE hearth_ssh_channels_total counter\n");
    for (int k = 0; r == 0 && k < SSHGW_CS_N; k++)
        r = buf_appendf(out, "hearth_ssh_channels_total{kind=\"%s\"} %llu\n", kinds[k],
                        (unsigned long long)st->channels_total[k]);
    if (r == 0)
        r = buf_appendf(out, "# HELP hearth_ssh_channels Open SSH channels.\n"
                             "# TYPE hearth_ssh_channels gauge\n"
                             "hearth_ssh_channels %u\n"
                             "# HELP hearth_ssh_bytes_total SSH channel bytes: in to the guests, "
                             "out to clients.\n"
                             "# TYPE hearth_ssh_bytes_total counter\n"
                             "hearth_ssh_bytes_total{direction=\"in\"} %llu\n"
                             "hearth_ssh_bytes_total{direction=\"out\"} %llu\n",
                        st->channels, (unsigned long long)st->bytes_in,
                        (unsigned long long)st->bytes_out);
    return r;
}
