/* SPDX-License-Identifier: MIT */
/* sandbox_stream.h: byte streams into a running sandbox (a command's stdio, a file upload or
 * download) through the control layer (docs/api.md §3.4, §3.5): the state and VM-layer checks,
 * a command's environment (PATH and HOME, then the sandbox's envs with the call's overrides),
 * the sandbox counted active while a command runs (§2.14.8), and the host's start errors as
 * typed errors. The caller then moves the bytes with host.h's stream calls (write, finish,
 * consumed, cancel): bytes, not decisions. Everything runs on the loop thread. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "daemon/host/agent_client.h"

struct ctl;
struct ctl_caller;
struct ctl_error;

/* The checks before any stream into sandbox id of who->user_id: 0, or CTL_E_NOT_FOUND,
 * CTL_E_INVALID_STATE ("sandbox is not running", with the state), CTL_E_UNAVAILABLE (no VM
 * layer), CTL_E_INTERNAL. */
__attribute__((warn_unused_result))
int ctl_sandbox_stream_check(struct ctl *c, const struct ctl_caller *who, const char *id,
                             struct ctl_error *e);

/* A command's environment in *ret ("K=V" strings, NULL-terminated; free with
 * ctl_sandbox_env_free(), also after an error): PATH and HOME, TERM=term unless term is NULL,
 * then sandbox id's envs with the call's n_env keys/values over them, then the call's keys the
 * sandbox does not declare.
 * 0, -ENOMEM or a store error. */
__attribute__((warn_unused_result))
int ctl_sandbox_env(struct ctl *c, const char *id, const char *term, const char *const *keys,
                    const char *const *values, size_t n_env, char ***ret);
void ctl_sandbox_env_free(char **env);

/* A command for ctl_sandbox_exec_start(). argv, cwd and stdin_data are borrowed until
 * ctl_exec_free() (the host reads them while the command runs); the env overrides only for the
 * call. */
struct ctl_exec_req {
    const char *const *argv;          /* NULL-terminated; argv[0] is the program */
    const char *const *env_keys;      /* the call's overrides, of envs declared at create */
    const char *const *env_values;
    size_t n_env;
    const char *cwd;                  /* NULL: /root */
    const char *stdin_data;           /* NULL: no stdin pipe */
    size_t stdin_len;
    uint32_t timeout_ms;              /* 0: none */
    /* stdin pushed with host_stream_write() and ended with host_stream_finish() instead of
     * stdin_data (the SSH gateway's exec and sftp channels; docs/ingress-ssh.md) */
    bool stdin_push;
    /* a terminal (docs/api.md §3.12.1): argv NULL starts the default login shell, stdin is
     * pushed with host_stream_write(), the output comes as WIRE_STDOUT; term (e.g.
     * "xterm-256color") is set as TERM after the defaults, before the sandbox's envs */
    bool pty;
    uint16_t rows, cols;
    const char *term;
};

/* A started command: owns the agent request until the stream has ended. */
struct ctl_exec;

/* Starts req in running sandbox id (the caller ran ctl_sandbox_stream_check()): builds its
 * environment from the store, starts host_vm_exec() with ops and ud (borrowed until on_end,
 * which may run before this returns) and counts the sandbox active. 0 with *ret (free it with
 * ctl_exec_free() once the stream has ended) and *ret_stream; or CTL_E_UNAVAILABLE (the VM is
 * not reachable), CTL_E_INTERNAL, with nothing left running. */
__attribute__((warn_unused_result))
int ctl_sandbox_exec_start(struct ctl *c, const char *id, const struct ctl_exec_req *req,
                           const struct agent_stream_ops *ops, void *ud, struct ctl_exec **ret,
                           uint32_t *ret_stream, struct ctl_error *e);
/* Ends the active count and frees x. NULL is fine. */
void ctl_exec_free(struct ctl_exec *x);

/* Starts an upload of path (mode) / a download of path in running sandbox id (the caller ran
 * ctl_sandbox_stream_check()); ops and ud as host_vm_file_put_start() / host_vm_file_get().
 * 0 with *ret_stream; or CTL_E_UNAVAILABLE (the VM is not reachable), CTL_E_NO_SPACE (an
 * upload under the free-space threshold, space.h), CTL_E_INTERNAL. */
__attribute__((warn_unused_result))
int ctl_sandbox_file_put_start(struct ctl *c, const char *id, const char *path, uint32_t mode,
                               const struct agent_stream_ops *ops, void *ud,
                               uint32_t *ret_stream, struct ctl_error *e);
__attribute__((warn_unused_result))
int ctl_sandbox_file_get_start(struct ctl *c, const char *id, const char *path,
                               const struct agent_stream_ops *ops, void *ud,
                               uint32_t *ret_stream, struct ctl_error *e);

/* --- tunnels (docs/api.md §3.12.2) --- */

/* Opens a TCP connection to 127.0.0.1:port inside running sandbox id (the caller ran
 * ctl_sandbox_stream_check()); ops and ud as host_vm_tcp_open(). On 0 the sandbox counts as
 * active (§2.14.8) until ctl_sandbox_tunnel_closed(), which the caller owes once the stream
 * has ended; or CTL_E_UNAVAILABLE (the VM is not reachable), CTL_E_INTERNAL, nothing open. */
__attribute__((warn_unused_result))
int ctl_sandbox_tunnel_open(struct ctl *c, const char *id, uint16_t port,
                            const struct agent_stream_ops *ops, void *ud, uint32_t *ret_stream,
                            struct ctl_error *e);
/* Ends the active count of one ctl_sandbox_tunnel_open(). */
void ctl_sandbox_tunnel_closed(struct ctl *c, const char *id);
