/* SPDX-License-Identifier: MIT */
/* sshgw.h: the SSH gateway (docs/ingress-ssh.md "SSH gateway"): OpenSSH clients log in as
 * `<sandbox id or name>@host` with the sandbox's registered public keys (or, when configured,
 * an API key or the sandbox's access token as password) and get a shell, exec, sftp and -L
 * forwards, all as streams of the agent in the guest (no sshd there). libssh's server side on
 * hearthd's libevent loop; nothing here blocks the loop. cmd_serve.c owns it. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct buf;
struct ctl;
struct event_base;
struct sshgw;

struct sshgw_config {
    const char *host;          /* listen address (numeric) */
    uint16_t port;             /* 0: any free port (sshgw_port() tells) */
    const char *key_dir;       /* <data_dir>/ssh: host keys, made at first start */
    bool password_auth;        /* API key / access token as password */
    uint32_t login_grace_s;    /* kex and login within this */
    uint32_t max_unauth;       /* connections not logged in yet, at once */
    uint32_t max_sessions;     /* session channels per connection */
};

/* Loads (or makes, 0600, atomically) the host keys, logs their fingerprints and listens. 0
 * with *ret, or -errno with why (a static string) for the log: the keys could not be made or
 * read, or the address could not be bound. cfg's strings are copied; ctl and base borrowed
 * until sshgw_free(). */
__attribute__((warn_unused_result))
int sshgw_start(struct event_base *base, struct ctl *ctl, const struct sshgw_config *cfg,
                struct sshgw **ret, const char **why);
/* The public half of host key i ("ssh-ed25519 AAAA…"), i from 0; NULL past the last. What the
 * API's GET /v1/ssh-gateway hands to clients for their known_hosts. */
const char *sshgw_host_key(const struct sshgw *gw, unsigned i);
/* The port listened on. */
uint16_t sshgw_port(const struct sshgw *gw);
/* Connections open now (tests, metrics). */
unsigned sshgw_connections(const struct sshgw *gw);
/* Appends the hearth_ssh_* families (sshgw_stats.h; docs/operations.md "Metrics"). 0 or
 * -ENOBUFS. */
__attribute__((warn_unused_result))
int sshgw_metrics_render(struct sshgw *gw, struct buf *out);
/* Stops accepting and closes every connection (their streams are cancelled). NULL is fine. */
void sshgw_free(struct sshgw *gw);
