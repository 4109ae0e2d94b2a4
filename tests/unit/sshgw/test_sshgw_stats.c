/* SPDX-License-Identifier: MIT */
/* test_sshgw_stats.c: the SSH gateway's metrics (sshgw_stats.h): a known counter state renders
 * exactly these lines, every label of the fixed sets present even at 0. */
#include "daemon/sshgw/sshgw_stats.h"
#include "harness.h"

#include <stdlib.h>

#include "common/buf.h"

TEST(sshgw_stats_render_exact)
{
    struct sshgw_stats st = { 0 };
    st.connections = 2;
    st.logins[SSHGW_M_PUBLICKEY][SSHGW_R_OK] = 7;
    st.logins[SSHGW_M_PUBLICKEY][SSHGW_R_REFUSED] = 1;
    st.logins[SSHGW_M_PASSWORD][SSHGW_R_LIMITED] = 4;
    st.channels_total[SSHGW_CS_EXEC] = 5;
    st.channels_total[SSHGW_CS_DIRECT_TCPIP] = 1;
    st.channels_total[SSHGW_CS_REFUSED] = 2;
    st.channels = 3;
    st.bytes_in = 100;
    st.bytes_out = 123456789012ull;
    struct buf b;
    buf_init(&b, 1u << 20);
    CHECK_EQ(sshgw_stats_render(&st, &b), 0);
    size_t len;
    char *s = (char *)buf_take(&b, &len);
    CHECK(s != NULL);
    if (!s)
        return;
    CHECK_STR(s, "# HELP hearth_ssh_connections Open SSH gateway connections.\n"
                 "# TYPE hearth_ssh_connections gauge\n"
                 "hearth_ssh_connections 2\n"
                 "# HELP hearth_ssh_logins_total SSH login attempts, by method and result.\n"
                 "# TYPE hearth_ssh_logins_total counter\n"
                 "hearth_ssh_logins_total{method=\"publickey\",result=\"ok\"} 7\n"
                 "hearth_ssh_logins_total{method=\"publickey\",result=\"refused\"} 1\n"
                 "hearth_ssh_logins_total{method=\"publickey\",result=\"limited\"} 0\n"
                 "hearth_ssh_logins_total{method=\"password\",result=\"ok\"} 0\n"
                 "hearth_ssh_logins_total{method=\"password\",result=\"refused\"} 0\n"
                 "hearth_ssh_logins_total{method=\"password\",result=\"limited\"} 4\n"
                 "# HELP hearth_ssh_channels_total SSH channels, by what they became.\n"
                 "# TYPE hearth_ssh_channels_total counter\n"
                 "hearth_ssh_channels_total{kind=\"shell\"} 0\n"
                 "hearth_ssh_channels_total{kind=\"exec\"} 5\n"
                 "hearth_ssh_channels_total{kind=\"sftp\"} 0\n"
                 "hearth_ssh_channels_total{kind=\"direct_tcpip\"} 1\n"
                 "hearth_ssh_channels_total{kind=\"refused\"} 2\n"
                 "# HELP hearth_ssh_channels Open SSH channels.\n"
                 "# TYPE hearth_ssh_channels gauge\n"
                 "hearth_ssh_channels 3\n"
                 "# HELP hearth_ssh_bytes_total SSH channel bytes: in to the guests, out to "
                 "clients.\n"
                 "# TYPE hearth_ssh_bytes_total counter\n"
                 "hearth_ssh_bytes_total{direction=\"in\"} 100\n"
                 "hearth_ssh_bytes_total{direction=\"out\"} 123456789012\n");
    free(s);
}

TEST(sshgw_stats_render_full_buffer)
{
    struct sshgw_stats st = { 0 };
    struct buf b;
    buf_init(&b, 100);
    CHECK(sshgw_stats_render(&st, &b) < 0);
    buf_release(&b);
}
