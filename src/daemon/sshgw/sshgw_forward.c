/* SPDX-License-Identifier: MIT */
/* sshgw_forward.c: `ssh -L` (a direct-tcpip channel, RFC 4254 §7.2) as an agent tunnel to
 * 127.0.0.1:port in the guest (docs/ingress-ssh.md "What works"). Only destinations that mean
 * the sandbox itself are accepted (sshgw_dest_allowed()); the rest, like -R, X11 and agent
 * forwarding, are refused "administratively prohibited". The channel is accepted at once; a
 * closed guest port closes it again. */
#include "daemon/sshgw/sshgw_internal.h"

#include <errno.h>
#include <stdio.h>

#include "daemon/ctl/ctl.h"
#include "daemon/ctl/sandbox_stream.h"
#include "daemon/log.h"

int sshgw_forward_open(struct sshgw_conn *c, ssh_message msg)
{
    const char *host = ssh_message_channel_request_open_destination(msg);
    int port = ssh_message_channel_request_open_destination_port(msg);
    if (c->n_forwards >= SSHGW_MAX_FORWARDS || port < 1 || port > 65535 ||
        !sshgw_dest_allowed(host, c->sandbox_name, c->sandbox_id, c->sandbox_hostname)) {
        log_info(NULL, "ssh: -L destination refused", "{s:s,s:i}", "sandbox", c->sandbox_id,
                 "port", port);
        c->gw->stats.channels_total[SSHGW_CS_REFUSED]++;
        return 1; /* libssh's default: OPEN_FAILURE, administratively prohibited */
    }
    ssh_channel ch = ssh_message_channel_request_open_reply_accept(msg);
    if (!ch)
        return 0; /* the reply could not be sent: the connection is failing */
    struct sshgw_chan *k = sshgw_chan_new(c, ch, SSHGW_CHAN_FORWARD);
    if (!k) {
        ssh_channel_close(ch);
        ssh_channel_free(ch);
        return 0;
    }
    c->n_forwards++;
    c->gw->stats.channels_total[SSHGW_CS_DIRECT_TCPIP]++;
    k->port = (uint16_t)port;
    sshgw_chan_init_io(k);
    sshgw_conn_kick(c);
    return 0;
}

int sshgw_forward_start(struct sshgw_chan *k, struct ctl_error *e)
{
    struct sshgw_conn *c = k->conn;
    /* set first: on_end may run inside the open and owes ctl_sandbox_tunnel_closed() */
    k->tunnel_counted = true;
    int r = ctl_sandbox_tunnel_open(c->gw->ctl, c->sandbox_id, k->port, &k->ops, k, &k->stream,
                                    e);
    if (r < 0)
        k->tunnel_counted = false;
    return r;
}
