/* SPDX-License-Identifier: MIT */
/* spawn.c: starts user commands for EXEC streams and managed processes: parses what to run,
 * merges the environment, and forks a child in a new session on pipes or on a new
 * pseudo-terminal (its controlling terminal). A CLOEXEC pipe reports why a start failed, so
 * "could not start" is an answer, not a late event. Knows nothing of streams or records. */
#include "agent/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "agent/etcenv.h"
#include "agent/usercg.h"

const char *spawn_etcenv_path = "/etc/environment";

static const char *const base_env[] = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME=/root",
    "TERM=xterm",
    "LANG=C.UTF-8",
};
#define BASE_ENV_N (sizeof(base_env) / sizeof(base_env[0]))
#define EXTRA_ENV_N 1 /* TERM=xterm-256color with a pty replaces one base entry */

/* The login shells a pty starts without argv, first present wins. */
static char *bash_login[] = { "/bin/bash", "-l", NULL };
static char *sh_login[] = { "/bin/sh", "-l", NULL };

/* What the child reports through the error pipe when it cannot start the command. */
struct spawn_failure {
    int stage; /* 0: chdir, 1: exec, 2: terminal setup */
    int err;
};

void spawn_close(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

void spawn_req_release(struct spawn_req *q)
{
    if (q->argv != bash_login && q->argv != sh_login)
        free(q->argv);
    for (size_t i = 0; q->envp && i < q->nenv; i++)
        free(q->envp[i]);
    free(q->envp);
    *q = (struct spawn_req){ 0 };
}

/* Sets or replaces NAME=value in q->envp (room was allocated for every key). */
static int env_set(struct spawn_req *q, const char *key, const char *val)
{
    size_t klen = strlen(key);
    size_t len = klen + 1 + strlen(val) + 1;
    char *e = malloc(len);
    if (!e)
        return -ENOMEM;
    memcpy(e, key, klen);
    e[klen] = '=';
    memcpy(e + klen + 1, val, len - klen - 1);
    for (size_t i = 0; i < q->nenv; i++) {
        if (strncmp(q->envp[i], e, klen + 1) == 0) {
            free(q->envp[i]);
            q->envp[i] = e;
            return 0;
        }
    }
    q->envp[q->nenv++] = e;
    return 0;
}

int spawn_pty_size(json_t *o, uint16_t *ret_rows, uint16_t *ret_cols)
{
    json_t *r = json_object_get(o, "rows"), *c = json_object_get(o, "cols");
    if (!json_is_object(o) || !json_is_integer(r) || !json_is_integer(c))
        return -EINVAL;
    json_int_t rows = json_integer_value(r), cols = json_integer_value(c);
    if (rows < 1 || rows > SPAWN_PTY_MAX || cols < 1 || cols > SPAWN_PTY_MAX)
        return -EINVAL;
    *ret_rows = (uint16_t)rows;
    *ret_cols = (uint16_t)cols;
    return 0;
}

static int parse_argv(json_t *argv, struct spawn_req *q, char *msg, size_t msg_size)
{
    if (!argv && q->pty) {
        q->argv = access("/bin/bash", X_OK) == 0 ? bash_login : sh_login;
        return 0;
    }
    if (!json_is_array(argv) || json_array_size(argv) == 0 ||
        json_array_size(argv) > SPAWN_MAX_ARGV) {
        snprintf(msg, msg_size, "'argv' must be a non-empty array of at most %d strings",
                 SPAWN_MAX_ARGV);
        return EINVAL;
    }
    q->argv = calloc(json_array_size(argv) + 1, sizeof(*q->argv));
    if (!q->argv)
        return ENOMEM;
    for (size_t i = 0; i < json_array_size(argv); i++) {
        json_t *a = json_array_get(argv, i);
        if (!json_is_string(a)) {
            snprintf(msg, msg_size, "'argv' must be a non-empty array of strings");
            return EINVAL;
        }
        q->argv[i] = (char *)json_string_value(a);
    }
    if (q->argv[0][0] == 0) {
        snprintf(msg, msg_size, "'argv[0]' is empty");
        return ENOENT;
    }
    return 0;
}

static int parse_env(json_t *env, struct spawn_req *q, char *msg, size_t msg_size)
{
    size_t nkeys = json_is_object(env) ? json_object_size(env) : 0;
    struct etcenv etc;
    if (etcenv_load(spawn_etcenv_path, &etc) < 0)
        return ENOMEM;
    q->envp = calloc(BASE_ENV_N + EXTRA_ENV_N + etc.n + nkeys + 1, sizeof(*q->envp));
    if (!q->envp) {
        etcenv_release(&etc);
        return ENOMEM;
    }
    for (size_t i = 0; i < BASE_ENV_N; i++) {
        q->envp[i] = strdup(base_env[i]);
        if (!q->envp[i]) {
            etcenv_release(&etc);
            return ENOMEM;
        }
        q->nenv++;
    }
    /* /etc/environment over the base (a template's ENV, PATH included), the request over both */
    int r = 0;
    for (size_t i = 0; i < etc.n && r == 0; i++) {
        char *eq = strchr(etc.v[i], '=');
        *eq = 0;
        r = env_set(q, etc.v[i], eq + 1);
    }
    etcenv_release(&etc);
    if (r < 0 || (q->pty && env_set(q, "TERM", "xterm-256color") < 0))
        return ENOMEM;
    const char *key;
    json_t *val;
    json_object_foreach(json_is_object(env) ? env : NULL, key, val) {
        if (!json_is_string(val) || key[0] == 0 || strchr(key, '=')) {
            snprintf(msg, msg_size, "'env' entries must be NAME: \"string\" without '='");
            return EINVAL;
        }
        if (env_set(q, key, json_string_value(val)) < 0)
            return ENOMEM;
    }
    return 0;
}

int spawn_req_parse(json_t *root, struct spawn_req *q, const char *def_cwd, char *msg,
                    size_t msg_size)
{
    *q = (struct spawn_req){ 0 };
    json_t *env = json_object_get(root, "env");
    json_t *cwd = json_object_get(root, "cwd");
    json_t *pty = json_object_get(root, "pty");
    if ((env && !json_is_object(env) && !json_is_null(env)) ||
        (cwd && !json_is_string(cwd) && !json_is_null(cwd))) {
        snprintf(msg, msg_size, "wrong type for 'env' or 'cwd'");
        return EINVAL;
    }
    if (pty && !json_is_null(pty)) {
        if (spawn_pty_size(pty, &q->rows, &q->cols) < 0) {
            snprintf(msg, msg_size, "'pty' must be {\"rows\":1..%d,\"cols\":1..%d}", SPAWN_PTY_MAX,
                     SPAWN_PTY_MAX);
            return EINVAL;
        }
        q->pty = true;
    }
    json_t *argv = json_object_get(root, "argv");
    int r = parse_argv(json_is_null(argv) ? NULL : argv, q, msg, msg_size);
    if (r == 0)
        r = parse_env(env, q, msg, msg_size);
    if (r)
        return r;
    q->cwd = json_is_string(cwd) ? json_string_value(cwd) : def_cwd;
    if (q->cwd[0] != '/') {
        snprintf(msg, msg_size, "'cwd' must be an absolute path");
        return EINVAL;
    }
    return 0;
}

int spawn_pty_resize(int master, uint16_t rows, uint16_t cols)
{
    struct winsize ws = { .ws_row = rows, .ws_col = cols };
    return ioctl(master, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

/* In the child after fork: only async-signal-safe calls until exec. fds[0..2] become the
 * child's stdin, stdout and stderr; tty >= 0 is a terminal slave to make controlling. */
static __attribute__((noreturn)) void child_run(const struct spawn_req *q, const int fds[3],
                                                int tty, int report, int cg)
{
    /* into the user cgroup first (usercg.h): its limits hold for all the command forks */
    if (cg >= 0)
        (void)!write(cg, "0", 1); /* no cgroup: the command runs without limits */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* Ignored dispositions survive exec: the agent ignores SIGPIPE, and a test agent started in
     * the background of a shell ignores SIGINT (found when Ctrl-C on a terminal did nothing).
     * Commands start with every signal at its default. */
    for (int sig = 1; sig < NSIG; sig++)
        (void)signal(sig, SIG_DFL); /* SIGKILL, SIGSTOP and the libc's own refuse: fine */
    setsid();
    struct spawn_failure f = { 2, 0 };
    /* A session leader without a terminal takes the slave as its controlling terminal. */
    if (tty >= 0 && ioctl(tty, TIOCSCTTY, 0) < 0) {
        f.err = errno;
        goto report;
    }
    /* dup2 clears CLOEXEC on the copies; the originals close on exec. */
    if (dup2(fds[0], 0) < 0 || dup2(fds[1], 1) < 0 || dup2(fds[2], 2) < 0)
        goto fail_exec;
    f.stage = 0;
    if (chdir(q->cwd) < 0) {
        f.err = errno;
        goto report;
    }
    extern char **environ;
    environ = q->envp;
    execvp(q->argv[0], q->argv);
fail_exec:
    f.stage = 1;
    f.err = errno;
report:
    (void)!write(report, &f, sizeof(f));
    _exit(127);
}

/* A new terminal: the master in *ret_master, the slave (sized) in *ret_slave. */
static int open_pty(const struct spawn_req *q, int *ret_master, int *ret_slave)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0)
        return errno;
    char name[64];
    int r = 0;
    if (grantpt(m) < 0 || unlockpt(m) < 0 || (r = ptsname_r(m, name, sizeof(name))) != 0) {
        r = r ? r : errno;
        close(m);
        return r;
    }
    int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) {
        r = errno;
        close(m);
        return r;
    }
    (void)spawn_pty_resize(m, q->rows, q->cols); /* cannot fail on a fresh master */
    *ret_master = m;
    *ret_slave = s;
    return 0;
}

/* The parent's ends and the child's ends of its stdin, stdout and stderr. */
static int open_fds(const struct spawn_req *q, int mine[3], int child[3], char *msg,
                    size_t msg_size)
{
    if (q->pty) {
        int r = open_pty(q, &mine[1], &child[0]);
        if (r) {
            snprintf(msg, msg_size, "cannot open a pseudo-terminal: %s", strerror(r));
            return r;
        }
        child[1] = child[2] = child[0];
        mine[0] = fcntl(mine[1], F_DUPFD_CLOEXEC, 3);
        if (mine[0] < 0) {
            snprintf(msg, msg_size, "cannot open a pseudo-terminal: %s", strerror(errno));
            return errno;
        }
        return 0;
    }
    int p[3][2];
    for (int i = 0; i < 3; i++) {
        if (pipe2(p[i], O_CLOEXEC) < 0) {
            int r = errno;
            snprintf(msg, msg_size, "cannot create pipes: %s", strerror(r));
            return r;
        }
        /* stdin: the child reads p[0][0]; output: the child writes p[i][1] */
        mine[i] = i == 0 ? p[i][1] : p[i][0];
        child[i] = i == 0 ? p[i][0] : p[i][1];
    }
    return 0;
}

static void close_all(int fds[3])
{
    for (int i = 0; i < 3; i++)
        spawn_close(&fds[i]);
}

int spawn_start(const struct spawn_req *q, struct spawn_child *ret, char *msg, size_t msg_size)
{
    int mine[3] = { -1, -1, -1 }, child[3] = { -1, -1, -1 }, rep[2] = { -1, -1 };
    int r = open_fds(q, mine, child, msg, msg_size);
    if (r)
        goto out_close;
    if (pipe2(rep, O_CLOEXEC) < 0) {
        r = errno;
        snprintf(msg, msg_size, "cannot create pipes: %s", strerror(r));
        goto out_close;
    }
    int cg = usercg_procs_open();
    pid_t pid = fork();
    if (pid < 0) {
        r = errno;
        if (cg >= 0)
            close(cg);
        snprintf(msg, msg_size, "cannot fork: %s", strerror(r));
        goto out_close;
    }
    if (pid == 0)
        child_run(q, child, q->pty ? child[0] : -1, rep[1], cg);
    if (cg >= 0)
        close(cg);
    if (q->pty)
        child[1] = child[2] = -1; /* the same fd as child[0] */
    close_all(child);
    spawn_close(&rep[1]);
    /* Blocks only until the child execs or fails, which takes no longer than a chdir and an
     * exec: waiting here keeps "could not start" a plain error instead of a late event. */
    struct spawn_failure f;
    ssize_t n;
    do
        n = read(rep[0], &f, sizeof(f));
    while (n < 0 && errno == EINTR);
    spawn_close(&rep[0]);
    if (n == (ssize_t)sizeof(f)) {
        /* The child exits 127 and is reaped as an orphan: it never joined a stream. */
        r = f.err ? f.err : EIO;
        if (f.stage == 0)
            snprintf(msg, msg_size, "cannot change to directory '%.200s': %s", q->cwd,
                     strerror(r));
        else if (f.stage == 1)
            snprintf(msg, msg_size, "cannot execute '%.200s': %s", q->argv[0], strerror(r));
        else
            snprintf(msg, msg_size, "cannot set up the terminal: %s", strerror(r));
        goto out_close;
    }
    for (int i = 0; i < 3; i++)
        if (mine[i] >= 0)
            (void)fcntl(mine[i], F_SETFL, O_NONBLOCK);
    if (!q->pty && !q->stdin_open)
        spawn_close(&mine[0]); /* the command reads end of file at once, like /dev/null */
    *ret = (struct spawn_child){ .pid = pid, .in_fd = mine[0], .out_fd = mine[1],
                                 .err_fd = q->pty ? -1 : mine[2] };
    return 0;
out_close:
    if (q->pty)
        child[1] = child[2] = -1;
    close_all(mine);
    close_all(child);
    spawn_close(&rep[0]);
    spawn_close(&rep[1]);
    return r;
}
