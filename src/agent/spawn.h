/* SPDX-License-Identifier: MIT */
/* spawn.h: starting a user command, shared by EXEC streams (agent_exec.c) and managed processes
 * (procs.c): the request's argv, env and cwd read from JSON once, then a child in a new session
 * with either three pipes or a new pseudo-terminal as its stdin, stdout and stderr, in the user
 * cgroup (usercg.h). Runs on the loop; the fork waits only for the child's exec. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SPAWN_MAX_ARGV 4096 /* a frame is at most 256 KiB anyway; this bounds the array */
#define SPAWN_PTY_MAX 1000  /* rows and cols of a terminal: 1..SPAWN_PTY_MAX */

/* What to run. spawn_req_parse() fills it from a request; spawn_req_release() frees it. */
struct spawn_req {
    char **argv;       /* NULL-terminated; strings borrowed from the JSON or static */
    char **envp;       /* NULL-terminated; entries owned */
    size_t nenv;
    const char *cwd;   /* borrowed from the JSON, or the default given to the parser */
    bool pty;          /* run on a new pseudo-terminal of rows x cols */
    uint16_t rows, cols;
    bool stdin_open;   /* pipes: keep the stdin pipe open (else the child reads EOF at once) */
};

/* The child's fds, all O_NONBLOCK and O_CLOEXEC in the agent, -1 when absent. With a pty,
 * out_fd is the master (read: the terminal's output) and in_fd a second descriptor of it
 * (write: input), so closing input never hangs up the terminal; err_fd is -1. */
struct spawn_child {
    pid_t pid;         /* session and process group leader */
    int in_fd;
    int out_fd;
    int err_fd;
};

/* Reads "argv", "env", "cwd" and "pty" from a request object (root borrowed until the release).
 * argv may be absent only with a pty: the default login shell (/bin/bash -l, else /bin/sh -l).
 * env is merged over the guest's /etc/environment (etcenv.h) merged over the agent's base
 * environment (PATH, HOME=/root, TERM=xterm, LANG=C.UTF-8; TERM=xterm-256color with a pty). cwd defaults to def_cwd. 0, or a positive errno (EINVAL for
 * a wrong shape, ENOENT for an empty argv[0], ENOMEM) with a message in msg. */
int spawn_req_parse(json_t *root, struct spawn_req *q, const char *def_cwd, char *msg,
                    size_t msg_size);
void spawn_req_release(struct spawn_req *q);
/* The environment file spawn_req_parse reads ("/etc/environment"; agent tests point it
 * elsewhere). */
extern const char *spawn_etcenv_path;
/* Reads a {"rows","cols"} object (1..SPAWN_PTY_MAX each). 0 or -EINVAL. */
int spawn_pty_size(json_t *o, uint16_t *ret_rows, uint16_t *ret_cols);

/* Forks and execs the command. 0 with *ret filled, or a positive errno with a message (the
 * command could not start: ENOENT, EACCES, a missing cwd...; nothing is left running). */
int spawn_start(const struct spawn_req *q, struct spawn_child *ret, char *msg, size_t msg_size);
/* Sets a terminal's size (TIOCSWINSZ on the master; the kernel sends SIGWINCH to the
 * foreground group). 0 or -errno. */
int spawn_pty_resize(int master, uint16_t rows, uint16_t cols);
/* Closes *fd when >= 0 and sets it to -1. */
void spawn_close(int *fd);
