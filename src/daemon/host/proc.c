/* SPDX-License-Identifier: MIT */
/* proc.c: fork/exec of helper programs and QEMU for the host layer, tracked by pidfd. Owns
 * nothing beyond the struct proc it fills; never installs signal handlers. */
#include "daemon/host/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/mono.h"

/* Runs in the child between fork and exec: async-signal-safe calls only. */
static void child_exec(char *const argv[], const char *log_path, int err_fd,
                       const struct proc_opts *o)
{
    int e;
    int keep_fd = o->keep_fd;
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (null < 0 || log < 0)
        goto fail;
    if (dup2(null, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0)
        goto fail;
    if (setpgid(0, 0) < 0)
        goto fail;
    if (o->pre_exec) {
        int r = o->pre_exec(o->ud);
        if (r < 0) {
            errno = -r;
            goto fail;
        }
    }
    /* fds below first_free survive: 0-2 and, when asked, the kept fd */
    unsigned first_free = 3;
    if (keep_fd >= 0) {
        /* err_fd must not sit where the kept fd goes */
        if (err_fd == PROC_KEEP_FD) {
            int moved = fcntl(err_fd, F_DUPFD_CLOEXEC, PROC_KEEP_FD + 1);
            if (moved < 0)
                goto fail;
            err_fd = moved;
        }
        if (keep_fd == PROC_KEEP_FD) {
            if (fcntl(keep_fd, F_SETFD, 0) < 0)
                goto fail;
        } else if (dup2(keep_fd, PROC_KEEP_FD) < 0) { /* dup2 clears CLOEXEC */
            goto fail;
        }
        first_free = PROC_KEEP_FD + 1;
    }
    /* Our fds are CLOEXEC already; this also covers any a library opened without it, except
     * err_fd, which must survive until exec to report a failure. */
    if ((unsigned)err_fd > first_free)
        (void)close_range(first_free, (unsigned)err_fd - 1, 0);
    (void)close_range((unsigned)err_fd + 1, ~0u, 0);
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    execvp(argv[0], argv);
fail:
    e = errno;
    (void)!write(err_fd, &e, sizeof(e));
    _exit(127);
}

int proc_spawn(char *const argv[], const char *log_path, struct proc *ret)
{
    return proc_spawn_keep(argv, log_path, -1, ret);
}

int proc_spawn_keep(char *const argv[], const char *log_path, int keep_fd, struct proc *ret)
{
    struct proc_opts o = { .keep_fd = keep_fd };
    return proc_spawn_opts(argv, log_path, &o, ret);
}

int proc_spawn_opts(char *const argv[], const char *log_path, const struct proc_opts *o,
                    struct proc *ret)
{
    static const struct proc_opts none = { .keep_fd = -1 };
    if (!o)
        o = &none;
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return -errno;
    pid_t pid = fork();
    if (pid < 0) {
        int r = -errno;
        close(pipefd[0]);
        close(pipefd[1]);
        return r;
    }
    if (pid == 0) {
        close(pipefd[0]);
        child_exec(argv, log_path, pipefd[1], o);
    }
    close(pipefd[1]);
    /* Also set from the parent so a kill(-pid) right after fork cannot miss the group. */
    (void)setpgid(pid, pid);
    int child_errno = 0;
    ssize_t n;
    do {
        n = read(pipefd[0], &child_errno, sizeof(child_errno));
    } while (n < 0 && errno == EINTR);
    close(pipefd[0]);
    if (n == (ssize_t)sizeof(child_errno)) {
        (void)waitpid(pid, NULL, 0); /* it exits at once with 127 */
        return child_errno > 0 ? -child_errno : -ECHILD;
    }
    int pidfd = pidfd_open(pid, 0);
    if (pidfd < 0) {
        int r = -errno;
        kill(-pid, SIGKILL);
        (void)waitpid(pid, NULL, 0);
        return r;
    }
    *ret = (struct proc){ .pid = pid, .pidfd = pidfd };
    return 0;
}

int proc_try_reap(struct proc *p)
{
    if (p->reaped)
        return 0;
    if (p->pidfd < 0)
        return -EBADF;
    siginfo_t si = { 0 };
    if (waitid(P_PIDFD, (id_t)p->pidfd, &si, WEXITED | WNOHANG) < 0)
        return -errno;
    if (si.si_pid == 0)
        return -EAGAIN;
    p->reaped = true;
    if (si.si_code == CLD_EXITED)
        p->status = (si.si_status & 0xff) << 8;
    else
        p->status = si.si_status & 0x7f;
    return 0;
}

int proc_wait(struct proc *p, int64_t deadline_us)
{
    for (;;) {
        int r = proc_try_reap(p);
        if (r != -EAGAIN)
            return r;
        struct pollfd pfd = { .fd = p->pidfd, .events = POLLIN };
        int n = poll(&pfd, 1, mono_poll_ms(deadline_us));
        if (n < 0 && errno != EINTR)
            return -errno;
        if (n == 0)
            return -ETIMEDOUT;
    }
}

void proc_kill(struct proc *p, int sig)
{
    if (p->pid <= 0 || p->reaped)
        return;
    /* The pidfd targets exactly our child even if the pid were reused; the group kill also
     * reaches anything it forked. */
    if (p->pidfd >= 0)
        (void)pidfd_send_signal(p->pidfd, sig, NULL, 0);
    (void)kill(-p->pid, sig);
}

void proc_release(struct proc *p)
{
    if (p->pidfd >= 0 && p->pid > 0)
        close(p->pidfd);
    p->pidfd = -1;
    p->pid = 0;
}

void proc_status_describe(int status, char *out, size_t len)
{
    if (WIFEXITED(status))
        snprintf(out, len, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, len, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(out, len, "ended with wait status 0x%x", (unsigned)status);
}
