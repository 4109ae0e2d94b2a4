/* SPDX-License-Identifier: MIT */
/* sshgw.c: the SSH gateway's listener (sshgw.h): host keys into one ssh_bind (used only to
 * configure accepted sessions; libevent accepts), the cap on connections not logged in yet,
 * the brute-force gate before any byte is read, and the list of open connections. Knows no
 * channel; sshgw_conn.c runs each connection. */
#include "daemon/sshgw/sshgw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "daemon/ctl/auth_limit.h"
#include "daemon/log.h"
#include "daemon/sshgw/sshgw_hostkey.h"
#include "daemon/sshgw/sshgw_internal.h"

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *ud)
{
    struct sshgw *gw = ud;
    if (gw->n_conns >= SSHGW_MAX_CONNS) {
        log_warn(NULL, "ssh: too many connections, closing a new one", "{s:i}", "max",
                 SSHGW_MAX_CONNS);
        evutil_closesocket(fd);
        return;
    }
    if (gw->n_unauth >= gw->cfg.max_unauth) {
        /* as sshd's MaxStartups: a flood of idle connections cannot starve real logins for
         * long (each is closed at its grace time), and costs no key exchange here */
        log_debug(NULL, "ssh: too many connections not logged in, closing a new one", NULL);
        evutil_closesocket(fd);
        return;
    }
    if (ctl_auth_limited(gw->ctl, CTL_AUTH_SSH, sa)) {
        log_info(NULL, "ssh: refusing a connection from an address with too many failed logins",
                 NULL);
        evutil_closesocket(fd);
        return;
    }
    sshgw_conn_accept(gw, fd, sa, salen);
}

static int bind_keys(struct sshgw *gw, const char **why)
{
    ssh_key keys[SSHGW_N_HOSTKEYS];
    char *fp[SSHGW_N_HOSTKEYS];
    const char *names[SSHGW_N_HOSTKEYS];
    int r = sshgw_hostkeys_load(gw->key_dir, keys, fp, names, why);
    if (r < 0)
        return r;
    gw->bind = ssh_bind_new();
    bool process_config = false;
    if (!gw->bind ||
        ssh_bind_options_set(gw->bind, SSH_BIND_OPTIONS_PROCESS_CONFIG, &process_config) < 0 ||
        ssh_bind_options_set(gw->bind, SSH_BIND_OPTIONS_BANNER, "hearth") < 0)
        r = -ENOMEM;
    for (size_t i = 0; i < SSHGW_N_HOSTKEYS; i++) {
        if (r == 0) {
            log_info(NULL, "ssh host key", "{s:s,s:s}", "file", names[i], "fingerprint", fp[i]);
            if (sshgw_hostkey_line(keys[i], gw->host_keys[i], sizeof(gw->host_keys[i])) < 0)
                r = -ENOMEM;
            /* the bind owns the key from here on */
            if (ssh_bind_options_set(gw->bind, SSH_BIND_OPTIONS_IMPORT_KEY, keys[i]) < 0) {
                ssh_key_free(keys[i]);
                r = -EINVAL;
            }
        } else {
            ssh_key_free(keys[i]);
        }
        free(fp[i]);
    }
    if (r < 0)
        *why = "cannot set up libssh's server with the host keys";
    return r;
}

int sshgw_start(struct event_base *base, struct ctl *ctl, const struct sshgw_config *cfg,
                struct sshgw **ret, const char **why)
{
    struct sshgw *gw = calloc(1, sizeof(*gw));
    if (!gw) {
        *why = "out of memory";
        return -ENOMEM;
    }
    gw->base = base;
    gw->ctl = ctl;
    gw->cfg = *cfg;
    snprintf(gw->host, sizeof(gw->host), "%s", cfg->host);
    snprintf(gw->key_dir, sizeof(gw->key_dir), "%s", cfg->key_dir);
    gw->cfg.host = gw->host;
    gw->cfg.key_dir = gw->key_dir;
    int r = bind_keys(gw, why);
    if (r < 0)
        goto out_free;
    /* numeric only (config_parse_hostport()); port 0 asks for any free port, which
     * evutil_parse_sockaddr_port() would refuse */
    struct sockaddr_storage ss = { 0 };
    int sslen = 0;
    struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, gw->host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(cfg->port);
        sslen = (int)sizeof(*in4);
    } else if (inet_pton(AF_INET6, gw->host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(cfg->port);
        sslen = (int)sizeof(*in6);
    } else {
        *why = "bad listen address";
        r = -EINVAL;
        goto out_free;
    }
    gw->listener = evconnlistener_new_bind(base, on_accept, gw,
                                           LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
                                               LEV_OPT_CLOSE_ON_EXEC,
                                           128, (struct sockaddr *)&ss, sslen);
    if (!gw->listener) {
        *why = "cannot listen";
        r = errno ? -errno : -EADDRINUSE;
        goto out_free;
    }
    struct sockaddr_storage bound;
    socklen_t blen = sizeof(bound);
    if (getsockname(evconnlistener_get_fd(gw->listener), (struct sockaddr *)&bound, &blen) == 0)
        gw->port = ntohs(bound.ss_family == AF_INET6
                             ? ((struct sockaddr_in6 *)&bound)->sin6_port
                             : ((struct sockaddr_in *)&bound)->sin_port);
    *ret = gw;
    return 0;
out_free:
    sshgw_free(gw);
    return r;
}

const char *sshgw_host_key(const struct sshgw *gw, unsigned i)
{
    return i < SSHGW_N_HOSTKEYS && gw->host_keys[i][0] ? gw->host_keys[i] : NULL;
}

uint16_t sshgw_port(const struct sshgw *gw)
{
    return gw->port;
}

unsigned sshgw_connections(const struct sshgw *gw)
{
    return gw->n_conns;
}

int sshgw_metrics_render(struct sshgw *gw, struct buf *out)
{
    gw->stats.connections = gw->n_conns;
    return sshgw_stats_render(&gw->stats, out);
}

void sshgw_free(struct sshgw *gw)
{
    if (!gw)
        return;
    if (gw->listener)
        evconnlistener_free(gw->listener);
    gw->listener = NULL;
    while (gw->conns) {
        struct sshgw_conn *c = gw->conns;
        sshgw_conn_enter(c);
        sshgw_conn_close(c);
        sshgw_conn_leave(c); /* unlinks and frees it */
    }
    if (gw->bind)
        ssh_bind_free(gw->bind);
    free(gw);
}
