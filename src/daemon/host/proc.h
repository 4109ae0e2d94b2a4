/* SPDX-License-Identifier: MIT */
/* proc.h: child processes for the host layer (QEMU, qemu-img): fork/exec with output to a log
 * file, tracked through a pidfd so death is an fd event, never a sleep. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct proc {
    pid_t pid;      /* 0 when none */
    int pidfd;      /* owned; readable once the child exited; -1 when none */
    bool reaped;    /* waitid() collected the status */
    int status;     /* wait status (as from waitpid) once reaped */
};

/* Starts argv[0] (searched in PATH) with stdin on /dev/null and stdout+stderr appended to
 * log_path (created 0644), in a new process group, with every other fd closed. argv is
 * borrowed. Returns 0 and fills *ret, or -ENOENT/-EACCES/... when the program cannot be
 * executed (the child reports the exec errno through a CLOEXEC pipe), or -errno. */
__attribute__((warn_unused_result))
int proc_spawn(char *const argv[], const char *log_path, struct proc *ret);
/* The fd number a kept fd gets in the child of proc_spawn_keep(). */
#define PROC_KEEP_FD 3

/* proc_spawn(), but keep_fd (>= 3, borrowed; the caller still owns and closes its copy) is
 * inherited by the child as fd PROC_KEEP_FD with CLOEXEC cleared: how QEMU gets a tap that
 * only a privileged process could open. keep_fd < 0: exactly proc_spawn(). */
__attribute__((warn_unused_result))
int proc_spawn_keep(char *const argv[], const char *log_path, int keep_fd, struct proc *ret);
/* How a child is set up beyond proc_spawn(). */
struct proc_opts {
    int keep_fd;                 /* as proc_spawn_keep()'s; < 0: none */
    /* Runs in the child after stdio and the process group are set, before the other fds are
     * closed and exec: only async-signal-safe work. A negative return (-errno) fails the
     * spawn with that error. NULL: none. */
    int (*pre_exec)(void *ud);
    void *ud;
};

/* proc_spawn() with o (NULL: no options). */
__attribute__((warn_unused_result))
int proc_spawn_opts(char *const argv[], const char *log_path, const struct proc_opts *o,
                    struct proc *ret);
/* Collects the exit status if the child has exited. Returns 0 (reaped; p->status valid),
 * -EAGAIN while it runs, or -errno. */
int proc_try_reap(struct proc *p);
/* Waits for the child until deadline_us (monotonic µs; < 0 waits forever). Returns 0 once
 * reaped, -ETIMEDOUT, or -errno. */
int proc_wait(struct proc *p, int64_t deadline_us);
/* Sends sig to the child's process group (not after it was reaped). */
void proc_kill(struct proc *p, int sig);
/* Closes the pidfd. Does not kill or reap. Accepts a zeroed or released proc. */
void proc_release(struct proc *p);
/* Describes a wait status: "exited with status 1", "killed by signal 9 (Killed)". */
void proc_status_describe(int status, char *out, size_t len);
