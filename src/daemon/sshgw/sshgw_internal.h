/* SPDX-License-Identifier: MIT */
/* sshgw_internal.h: what the gateway's modules share (docs/ingress-ssh.md "SSH gateway"):
 * the gateway (sshgw.c), one connection (sshgw_conn.c: libssh driven from libevent, login,
 * wake), its channels (sshgw_chan.c: bytes and flow control between an SSH channel and an
 * agent stream; sshgw_session.c: shell, exec, sftp requests; sshgw_forward.c: -L), and the
 * login decision (sshgw_auth.c). Everything runs on the loop thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <libssh/callbacks.h>
#include <libssh/libssh.h>
#include <libssh/server.h>

#include "daemon/host/agent_client.h"
#include "daemon/sshgw/sshgw.h"
#include "daemon/sshgw/sshgw_hostkey.h"
#include "daemon/sshgw/sshgw_policy.h"
#include "daemon/sshgw/sshgw_stats.h"
#include "daemon/store/store.h"

struct event;
struct evbuffer;
struct evconnlistener;
struct ctl_exec;
struct ctl_wake;
struct ctl_error;

#define SSHGW_MAX_CONNS 1024        /* open connections, logged in or not (file descriptors) */
#define SSHGW_MAX_FORWARDS 64       /* direct-tcpip channels per connection */
#define SSHGW_MAX_AUTH_TRIES 6      /* refused attempts before the disconnect (as sshd) */
/* the keepalive timer; libssh's ssh_send_keepalive() on a non-blocking session sends a
 * keepalive@openssh.com on every other call (the call after the client's answer only clears
 * that answer), so one goes out about every 30 s */
#define SSHGW_KEEPALIVE_S 15
#define SSHGW_MAX_ENV 16            /* accepted env requests per channel */
#define SSHGW_IN_CAP (256u * 1024u) /* client bytes taken from libssh ahead of the stream */

struct sshgw {
    struct event_base *base;
    struct ctl *ctl;
    struct sshgw_config cfg;        /* strings point into the copies below */
    char host[64];
    char key_dir[4096];
    ssh_bind bind;                  /* holds the host keys; accepts nothing itself */
    char host_keys[SSHGW_N_HOSTKEYS][1024]; /* their public halves ("ssh-ed25519 AAAA…") */
    struct evconnlistener *listener;
    uint16_t port;
    struct sshgw_conn *conns;       /* every open connection */
    unsigned n_conns, n_unauth;
    struct sshgw_stats stats;       /* the operator metrics (sshgw_stats.h) */
};

enum sshgw_conn_state {
    SSHGW_KEX,     /* banner and key exchange */
    SSHGW_AUTH,    /* waiting for a login */
    SSHGW_WAKING,  /* logged in; the sandbox is being resumed */
    SSHGW_READY,   /* channels start at once */
    SSHGW_FAILED,  /* logged in, but the sandbox cannot run: channels report why */
};

struct sshgw_conn {
    struct sshgw *gw;
    struct sshgw_conn *next, *prev;
    int fd;                          /* owned via the session once accepted */
    struct sockaddr_storage peer;
    socklen_t peer_len;
    char peer_text[64];              /* for the log */
    ssh_session s;
    ssh_event ev;                    /* polls only this session, timeout 0 */
    struct event *rd, *wr, *timer;   /* readable, writable (armed while output is pending),
                                        grace then keepalive */
    struct event *kick;              /* starts waiting channels after libssh has replied */
    enum sshgw_conn_state state;
    bool counted_unauth;
    char user_id[STORE_USER_SIZE];   /* the sandbox's owner, after the login */
    char sandbox_id[STORE_ID_SIZE];
    char sandbox_name[STORE_NAME_SIZE];
    char sandbox_hostname[STORE_NAME_SIZE];
    char fail_msg[640];              /* SSHGW_FAILED: what channels say */
    unsigned auth_fails;
    bool reported_key_fail;          /* one ctl_auth_failed() per connection for keys */
    struct ctl_wake *wake;
    struct sshgw_chan *chans;
    unsigned n_sessions, n_forwards;
    int depth;                       /* our frames on the stack (libssh or agent callbacks) */
    bool closing;                    /* free once depth is 0 */
    struct ssh_server_callbacks_struct scb;
};

enum sshgw_chan_kind { SSHGW_CHAN_SESSION, SSHGW_CHAN_FORWARD };
enum sshgw_start { SSHGW_START_NONE, SSHGW_START_SHELL, SSHGW_START_EXEC, SSHGW_START_SFTP };

struct sshgw_chan {
    struct sshgw_conn *conn;
    struct sshgw_chan *next, *prev;
    enum sshgw_chan_kind kind;
    ssh_channel ch;                  /* NULL once handed back to libssh */
    struct ssh_channel_callbacks_struct cb;
    /* a session's requests */
    bool pty;
    char term[64];
    uint16_t rows, cols;
    char *env_keys[SSHGW_MAX_ENV], *env_values[SSHGW_MAX_ENV];
    size_t n_env;
    enum sshgw_start want;           /* requested; started once the sandbox runs */
    char *command;                   /* exec's command line */
    /* a forward's destination */
    uint16_t port;
    /* the agent stream */
    struct agent_stream_ops ops;
    const char *argv[4];             /* borrowed by the exec until its stream ends */
    bool started, opened, stream_open, tunnel_counted;
    uint32_t stream;
    struct ctl_exec *exec;
    /* guest -> client: bytes the client's window did not take yet, and the credit held */
    struct evbuffer *out[2];         /* [0] data, [1] extended data (stderr) */
    size_t held;
    bool guest_eof;                  /* a tunnel's guest side shut its writing half */
    bool ended;                      /* the stream ended: exit status and close after out */
    int exit_code, exit_signal;      /* -1 when unknown */
    char end_msg[640];               /* said on stderr before exit-status 255 */
    /* client -> guest */
    struct evbuffer *in;             /* taken from libssh, not yet by the stream */
    uint32_t lib_left;               /* bytes libssh still buffers for us */
    bool client_eof, finish_sent, draining;
    bool eof_sent;                   /* our EOF to the client */
    bool closed;                     /* closed (by us or the client): free at depth 0 */
};

/* sshgw_conn.c */
void sshgw_conn_accept(struct sshgw *gw, int fd, const struct sockaddr *sa, int salen);
void sshgw_conn_enter(struct sshgw_conn *c);
void sshgw_conn_leave(struct sshgw_conn *c);
/* Re-arms the write event when libssh holds output (after any write outside a poll). */
void sshgw_conn_sync(struct sshgw_conn *c);
void sshgw_conn_close(struct sshgw_conn *c);
/* Starts the channels that wait, from the loop (never inside a libssh callback, whose reply
 * must go out first). */
void sshgw_conn_kick(struct sshgw_conn *c);

/* sshgw_auth.c: the login decisions. 0 with the sandbox's id, name, hostname and owner in c;
 * -EACCES when the login is refused (nothing said why, on purpose), another -errno when the
 * store failed. */
int sshgw_auth_key(struct sshgw_conn *c, const char *user, ssh_key key);
int sshgw_auth_password(struct sshgw_conn *c, const char *user, const char *password);

/* sshgw_chan.c */
struct sshgw_chan *sshgw_chan_new(struct sshgw_conn *c, ssh_channel ch,
                                  enum sshgw_chan_kind kind);
/* Starts what the channel asked for, if the sandbox runs (READY) or says why not (FAILED).
 * Only from sshgw_conn_kick()'s event or the wake's end. */
void sshgw_chan_maybe_start(struct sshgw_chan *k);
/* Writes what the client's window takes; returns the credit held when it drained. */
void sshgw_chan_flush(struct sshgw_chan *k);
/* Frees what is closed (depth 0 only). */
void sshgw_chan_reap(struct sshgw_conn *c, bool all);
/* The stream's callbacks and the libssh channel callbacks every kind shares. */
void sshgw_chan_init_io(struct sshgw_chan *k);

/* sshgw_session.c: a session channel's callbacks (pty, shell, exec, env, subsystem, …) and
 * its start. */
void sshgw_session_setup(struct sshgw_chan *k);
int sshgw_session_start(struct sshgw_chan *k, struct ctl_error *e);

/* sshgw_forward.c: a direct-tcpip open (the message callback) and a tunnel's start. */
int sshgw_forward_open(struct sshgw_conn *c, ssh_message msg);
int sshgw_forward_start(struct sshgw_chan *k, struct ctl_error *e);
