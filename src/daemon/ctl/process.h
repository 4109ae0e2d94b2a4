/* SPDX-License-Identifier: MIT */
/* process.h: managed processes of a running sandbox (docs/api.md §3.11) through the control
 * layer: ids made here (proc_<ULID>), the environment (sandbox_stream.h's, any key allowed),
 * the output ring size from the config, the agent's records turned into ManagedProcess views
 * and its errors into typed ones, and the sandbox counted active while a connect or a wait is
 * open (§2.14.8). Bytes move through host.h; nothing here knows HTTP. Loop thread only. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctl;
struct ctl_error;

/* A new process (docs/api.md §3.11.1). Everything borrowed for the call. */
struct ctl_proc_start_req {
    const char *const *argv;          /* NULL-terminated; NULL with pty: the default shell */
    const char *const *env_keys;      /* the call's env, over the sandbox's envs */
    const char *const *env_values;
    size_t n_env;
    const char *cwd;                  /* NULL: /root */
    bool pty;
    uint16_t rows, cols;              /* pty only, 1..1000 */
};

/* The end of a request: e NULL on success with view (a ManagedProcess, {"processes":[…]} or
 * {"input_seq":n}; borrowed for the call), else e set and view NULL. Runs exactly once, never
 * before the starting call returned 0. */
typedef void (*ctl_proc_done_fn)(void *ud, const struct ctl_error *e, json_t *view);

/* The ops of ctl_process_control(). */
enum ctl_proc_op {
    CTL_PROC_CLOSE_STDIN,   /* §3.11.6 */
    CTL_PROC_RESIZE,        /* §3.11.7: a = rows, b = cols */
    CTL_PROC_SIGNAL,        /* §3.11.8: a = signal number */
    CTL_PROC_REMOVE,        /* §3.11.10: a = grace_ms */
};

/* Each starts one agent request for process pid (NULL for start and list) of running sandbox
 * id (the caller ran ctl_sandbox_stream_check()). 0: done runs later; else CTL_E_UNAVAILABLE
 * (the VM is not reachable), CTL_E_INTERNAL in e, and done never runs. done's errors:
 * CTL_E_NOT_FOUND ("process not found"), CTL_E_SPAWN_FAILED (field "cmd"), CTL_E_LIMIT_REACHED
 * (64 live), CTL_E_INVALID_STATE (with the process's state: input to an exited process or a
 * closed stdin, a terminal op on pipes, close_stdin on a pty, a signal after the tree
 * exited), CTL_E_UNAVAILABLE (the agent went away), CTL_E_FAILED (the agent failed). */
__attribute__((warn_unused_result))
int ctl_process_start(struct ctl *c, const char *id, const struct ctl_proc_start_req *req,
                      ctl_proc_done_fn done, void *ud, struct ctl_error *e);
__attribute__((warn_unused_result))
int ctl_process_list(struct ctl *c, const char *id, ctl_proc_done_fn done, void *ud,
                     struct ctl_error *e);
__attribute__((warn_unused_result))
int ctl_process_get(struct ctl *c, const char *id, const char *pid, ctl_proc_done_fn done,
                    void *ud, struct ctl_error *e);
__attribute__((warn_unused_result))
int ctl_process_control(struct ctl *c, const char *id, const char *pid, enum ctl_proc_op op,
                        uint32_t a, uint32_t b, ctl_proc_done_fn done, void *ud,
                        struct ctl_error *e);
/* Long poll (§3.11.9); the sandbox counts as active meanwhile. */
__attribute__((warn_unused_result))
int ctl_process_wait(struct ctl *c, const char *id, const char *pid, bool tree,
                     uint32_t timeout_ms, ctl_proc_done_fn done, void *ud, struct ctl_error *e);
/* Writes len bytes (copied; at most 1 MiB) to the process's stdin or terminal (§3.11.5);
 * done gets {"input_seq":n}. */
__attribute__((warn_unused_result))
int ctl_process_input(struct ctl *c, const char *id, const char *pid, const void *data,
                      size_t len, ctl_proc_done_fn done, void *ud, struct ctl_error *e);

/* ---- connect (§3.11.4) ---- */

struct ctl_proc_attach;

struct ctl_proc_attach_ops {
    /* One output event; p borrowed. Return 0, or AGENT_DATA_HOLD to keep its credit until
     * ctl_process_attach_consumed(). */
    int (*on_output)(void *ud, uint64_t seq, const char *stream, const uint8_t *p, size_t len);
    /* Output before oldest was evicted. */
    void (*on_gap)(void *ud, uint64_t oldest);
    /* The end: view is the final ManagedProcess (e NULL), or e says why it broke. Runs once,
     * never inside ctl_process_attach(); the caller then frees a with
     * ctl_process_attach_free(). */
    void (*on_end)(void *ud, const struct ctl_error *e, json_t *view);
};

/* Attaches to process pid's output after seq after, following it live when follow. 0 with *ret;
 * or CTL_E_UNAVAILABLE, CTL_E_INTERNAL. The sandbox counts as active until it is freed. */
__attribute__((warn_unused_result))
int ctl_process_attach(struct ctl *c, const char *id, const char *pid, uint64_t after,
                       bool follow, const struct ctl_proc_attach_ops *ops, void *ud,
                       struct ctl_proc_attach **ret, struct ctl_error *e);
/* Gives every held byte of credit back (the consumer drained). */
void ctl_process_attach_consumed(struct ctl_proc_attach *a);
/* Detaches (the process goes on) and frees a; on_end does not run afterwards. NULL is fine. */
void ctl_process_attach_free(struct ctl_proc_attach *a);
