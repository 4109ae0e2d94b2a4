/* SPDX-License-Identifier: MIT */
/* sshgw_session.c: an SSH "session" channel (RFC 4254 §6) as an agent exec stream
 * (docs/ingress-ssh.md "What works"): pty-req and window-change, shell (the default login
 * shell on a terminal), exec (`/bin/sh -c COMMAND`, on a terminal or on pipes with stderr as
 * extended data), a safe subset of env, signal, and the sftp subsystem (the guest's
 * /usr/lib/openssh/sftp-server on pipes). No sshd in the guest. Requests are answered at once;
 * the command starts once the sandbox runs (sshgw_chan_maybe_start()). */
#include "daemon/sshgw/sshgw_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/ctl/ctl.h"
#include "daemon/ctl/sandbox_stream.h"
#include "daemon/host/host.h"

#define SFTP_SERVER "/usr/lib/openssh/sftp-server"
/* The subsystem's program: a clear line on stderr (which the client shows) when the image has
 * none, instead of a protocol error the sftp client cannot explain. */
#define SFTP_SCRIPT                                                                              \
    "test -x " SFTP_SERVER " || { echo 'hearth: this sandbox has no sftp server ("            \
    SFTP_SERVER "); use the debian-12 image or install openssh-sftp-server' >&2; exit 127; }; " \
    "exec " SFTP_SERVER

static uint16_t clamp_size(int v, uint16_t dflt)
{
    return v <= 0 ? dflt : v > 1000 ? 1000 : (uint16_t)v;
}

static int on_pty(ssh_session s, ssh_channel ch, const char *term, int cols, int rows, int px,
                  int py, void *ud)
{
    struct sshgw_chan *k = ud;
    if (k->want != SSHGW_START_NONE)
        return -1;
    k->pty = true;
    k->rows = clamp_size(rows, 24);
    k->cols = clamp_size(cols, 80);
    bool ok = term && term[0] && strlen(term) < sizeof(k->term);
    for (const char *p = term; ok && *p; p++)
        ok = *p > 0x20 && *p < 0x7f;
    snprintf(k->term, sizeof(k->term), "%s", ok ? term : "xterm");
    return 0;
}

static int want(struct sshgw_chan *k, enum sshgw_start what)
{
    if (k->want != SSHGW_START_NONE)
        return 1; /* one program per channel */
    k->want = what;
    k->conn->gw->stats.channels_total[what == SSHGW_START_SHELL  ? SSHGW_CS_SHELL
                                      : what == SSHGW_START_EXEC ? SSHGW_CS_EXEC
                                                                 : SSHGW_CS_SFTP]++;
    sshgw_conn_kick(k->conn);
    return 0;
}

static int on_shell(ssh_session s, ssh_channel ch, void *ud)
{
    return want(ud, SSHGW_START_SHELL);
}

static int on_exec(ssh_session s, ssh_channel ch, const char *command, void *ud)
{
    struct sshgw_chan *k = ud;
    if (k->want != SSHGW_START_NONE || !command || !(k->command = strdup(command)))
        return 1;
    return want(k, SSHGW_START_EXEC);
}

static int on_subsystem(ssh_session s, ssh_channel ch, const char *name, void *ud)
{
    if (!name || strcmp(name, "sftp") != 0) {
        ((struct sshgw_chan *)ud)->conn->gw->stats.channels_total[SSHGW_CS_REFUSED]++;
        return 1;
    }
    return want(ud, SSHGW_START_SFTP);
}

static int on_env(ssh_session s, ssh_channel ch, const char *name, const char *value, void *ud)
{
    struct sshgw_chan *k = ud;
    if (k->want != SSHGW_START_NONE || k->n_env >= SSHGW_MAX_ENV ||
        !sshgw_env_allowed(name, value))
        return 1;
    for (size_t i = 0; i < k->n_env; i++)
        if (strcmp(k->env_keys[i], name) == 0)
            return 1; /* once each */
    char *key = strdup(name), *val = strdup(value);
    if (!key || !val) {
        free(key);
        free(val);
        return 1;
    }
    k->env_keys[k->n_env] = key;
    k->env_values[k->n_env] = val;
    k->n_env++;
    return 0;
}

static int on_window_change(ssh_session s, ssh_channel ch, int cols, int rows, int px, int py,
                            void *ud)
{
    struct sshgw_chan *k = ud;
    k->rows = clamp_size(rows, k->rows);
    k->cols = clamp_size(cols, k->cols);
    if (k->pty && k->stream_open)
        (void)host_stream_resize(k->conn->gw->ctl->host, k->conn->sandbox_id, k->stream,
                                 k->rows, k->cols);
    return 0;
}

static void on_signal(ssh_session s, ssh_channel ch, const char *name, void *ud)
{
    struct sshgw_chan *k = ud;
    int sig = sshgw_signal_number(name);
    if (sig > 0 && k->stream_open)
        (void)host_vm_exec_signal(k->conn->gw->ctl->host, k->conn->sandbox_id, k->stream, sig);
}

void sshgw_session_setup(struct sshgw_chan *k)
{
    k->rows = 24;
    k->cols = 80;
    k->cb.channel_pty_request_function = on_pty;
    k->cb.channel_shell_request_function = on_shell;
    k->cb.channel_exec_request_function = on_exec;
    k->cb.channel_subsystem_request_function = on_subsystem;
    k->cb.channel_env_request_function = on_env;
    k->cb.channel_pty_window_change_function = on_window_change;
    k->cb.channel_signal_function = on_signal;
    /* x11-req and auth-agent-req have no callback: libssh refuses them */
    sshgw_chan_init_io(k);
}

int sshgw_session_start(struct sshgw_chan *k, struct ctl_error *e)
{
    struct sshgw_conn *c = k->conn;
    switch (k->want) {
    case SSHGW_START_SHELL:
        if (k->pty) {
            k->argv[0] = NULL; /* the default login shell (docs/api.md §3.12.1) */
        } else {
            k->argv[0] = "/bin/sh";
            k->argv[1] = "-l";
            k->argv[2] = NULL;
        }
        break;
    case SSHGW_START_EXEC:
        k->argv[0] = "/bin/sh";
        k->argv[1] = "-c";
        k->argv[2] = k->command;
        k->argv[3] = NULL;
        break;
    case SSHGW_START_SFTP:
        k->pty = false; /* a binary protocol: never through a terminal */
        k->argv[0] = "/bin/sh";
        k->argv[1] = "-c";
        k->argv[2] = SFTP_SCRIPT;
        k->argv[3] = NULL;
        break;
    default:
        return -EINVAL;
    }
    struct ctl_exec_req req = {
        .argv = k->argv[0] ? k->argv : NULL,
        .env_keys = (const char *const *)k->env_keys,
        .env_values = (const char *const *)k->env_values,
        .n_env = k->n_env,
        .cwd = "/root",
        .stdin_push = !k->pty,
        .pty = k->pty,
        .rows = k->rows,
        .cols = k->cols,
        .term = k->pty ? k->term : NULL,
    };
    return ctl_sandbox_exec_start(c->gw->ctl, c->sandbox_id, &req, &k->ops, k, &k->exec,
                                  &k->stream, e);
}
