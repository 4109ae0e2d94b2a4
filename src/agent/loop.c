/* SPDX-License-Identifier: MIT */
/* loop.c: the event loop. Owns struct agent: reads frames from the channel and hands them to
 * proto.c, writes the output queue, reaps every child (PID 1 inherits all orphans), and turns
 * host connects and hang-ups into READY and stream cancellation. Single-threaded. */
#include "agent/loop.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/agent_exec.h"
#include "agent/agent_files.h"
#include "agent/agent_tunnel.h"
#include "agent/power.h"
#include "agent/procs.h"
#include "agent/procs_req.h"
#include "agent/proto.h"
#include "agent/self.h"

#define READ_CHUNK (64u * 1024u)
/* While no host is connected the virtio port reports POLLHUP without pause, so it cannot be
 * polled; instead it is checked this often for the hang-up to clear (after a restore the new
 * host connects within a few ms: this bounds how late the agent notices). */
#define PORT_RECHECK_MS 2

static void read_boot_id(struct agent *ag)
{
    int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, ag->boot_id, sizeof(ag->boot_id) - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0) {
        snprintf(ag->boot_id, sizeof(ag->boot_id), "unknown-%ld", (long)getpid());
        return;
    }
    ag->boot_id[n] = 0;
    ag->boot_id[strcspn(ag->boot_id, "\n")] = 0;
}

static void on_connect(struct agent *ag)
{
    ag->ch.connected = true;
    wire_reader_reset(&ag->rd);
    agent_out_drop_unsent(ag);
    agent_send_ready(ag, false);
}

/* The host went away: a stream lives no longer than its connection. */
static void on_disconnect(struct agent *ag)
{
    channel_disconnect(&ag->ch);
    wire_reader_reset(&ag->rd);
    agent_out_drop_unsent(ag);
    proto_abort_all(ag);
    if (ag->ch.kind == CHANNEL_FD && !ag->pid1)
        ag->quit = true;
}

static void flush_out(struct agent *ag)
{
    while (ag->ch.connected && ag->out.len) {
        ssize_t n = write(ag->ch.fd, ag->out.data, ag->out.len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            on_disconnect(ag);
            return;
        }
        agent_out_written(ag, (size_t)n);
    }
}

static void on_channel(struct agent *ag, short revents)
{
    uint8_t *p = wire_reader_space(&ag->rd, READ_CHUNK);
    if (!p)
        return; /* out of memory: retry on the next turn */
    ssize_t n = read(ag->ch.fd, p, READ_CHUNK);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        if (revents & (POLLHUP | POLLERR))
            on_disconnect(ag);
        return;
    }
    if (n <= 0) {
        on_disconnect(ag);
        return;
    }
    wire_reader_commit(&ag->rd, (size_t)n);
    struct wire_frame f;
    /* Frames read in one go are all handled: the reader holds at most ~512 KiB, so the replies
     * they cause fit under AGENT_OUT_MAX even when the host stopped reading. */
    while (ag->ch.connected && wire_reader_next(&ag->rd, &f) == 1)
        proto_on_frame(ag, &f);
}

static void reap(struct agent *ag)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            return;
        /* Else an orphan PID 1 inherited, or a command whose exec failed. */
        if (!exec_on_reaped(ag, pid, status))
            (void)procs_on_reaped(ag, pid, status);
    }
}

static void on_signal(struct agent *ag)
{
    struct signalfd_siginfo si;
    while (read(ag->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        int sig = (int)si.ssi_signo;
        if (sig == SIGCHLD)
            continue; /* reaped below, once for every SIGCHLD that coalesced */
        if (!ag->pid1) {
            if (sig == SIGTERM || sig == SIGINT)
                ag->quit = true;
            continue;
        }
        /* busybox: poweroff SIGUSR2, halt SIGUSR1, reboot SIGTERM; ctrl-alt-del SIGINT. */
        ag->power = sig == SIGTERM || sig == SIGINT ? AGENT_POWER_REBOOT : AGENT_POWER_OFF;
    }
    reap(ag);
}

static int setup_signals(struct agent *ag)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGUSR1);
    sigaddset(&mask, SIGUSR2);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
        return -errno;
    /* A host that hangs up must show as a write error, not kill the agent. */
    signal(SIGPIPE, SIG_IGN);
    ag->sig_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    return ag->sig_fd < 0 ? -errno : 0;
}

/* Waits up to ms milliseconds while still reaping children. */
static void wait_reaping(struct agent *ag, int ms)
{
    struct pollfd p = { .fd = ag->sig_fd, .events = POLLIN };
    if (poll(&p, 1, ms) > 0)
        on_signal(ag);
}

static int open_channel(struct agent *ag, const char *spec)
{
    bool logged = false;
    for (;;) {
        int r = channel_open(&ag->ch, spec);
        if (r == 0)
            return 0;
        if (!ag->pid1 && r != -ENOENT) {
            agent_log("cannot open channel '%s': %s", spec ? spec : CHANNEL_PORT_NAME, strerror(-r));
            return r;
        }
        if (!logged)
            agent_log("cannot open channel '%s': %s; retrying", spec ? spec : CHANNEL_PORT_NAME,
                      strerror(-r));
        logged = true;
        wait_reaping(ag, 100);
        if (ag->quit)
            return -EINTR;
    }
}

/* The sooner of two poll timeouts (-1: none). */
static int min_timeout(int a, int b)
{
    return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

/* One turn: produce, poll, dispatch. */
static void turn(struct agent *ag)
{
    uint64_t now = agent_now_ms();
    int timeout = exec_check_deadlines(ag, now);
    timeout = min_timeout(timeout, tunnel_check_deadlines(ag, now));
    if (files_pump(ag))
        timeout = 0;
    timeout = min_timeout(timeout, procs_tick(ag, now));
    timeout = min_timeout(timeout, procreq_pump(ag, now));
    flush_out(ag);
    /* after the flush: a READY answering a HELLO is out before its network config runs */
    agent_apply_pending_net(ag);

    struct agent_pollset *ps = &ag->ps;
    ps->n = 0;
    agent_poll_add(ps, ag->sig_fd, POLLIN, 0, ROLE_SIGNAL);
    self_poll_add(ag, ps, &timeout); /* first: it may queue a SELF the channel must poll for */
    if (ag->ch.connected) {
        /* POLLHUP is reported even for events 0, so a hang-up is seen while throttled. */
        short ev = (short)((agent_out_room(ag) ? POLLIN : 0) | (ag->out.len ? POLLOUT : 0));
        agent_poll_add(ps, ag->ch.fd, ev, 0, ROLE_CHANNEL);
    } else if (ag->ch.kind == CHANNEL_LISTEN) {
        agent_poll_add(ps, ag->ch.listen_fd, POLLIN, 0, ROLE_LISTEN);
    } else if (ag->ch.kind == CHANNEL_PORT) {
        if (timeout < 0 || timeout > PORT_RECHECK_MS)
            timeout = PORT_RECHECK_MS;
    }
    for (size_t i = 0; i < ag->streams.n; i++)
        if (ag->streams.s[i]->kind == STREAM_EXEC)
            exec_poll_add(ag, ag->streams.s[i], ps);
        else if (ag->streams.s[i]->kind == STREAM_TCP)
            tunnel_poll_add(ag, ag->streams.s[i], ps);
    procs_poll_add(ag, ps);

    int n = poll(ps->fds, ps->n, timeout);
    if (n < 0 && errno != EINTR) {
        agent_log("poll failed: %s", strerror(errno));
        wait_reaping(ag, 100);
    }
    for (size_t i = 0; n > 0 && i < ps->n; i++) {
        short re = ps->fds[i].revents;
        if (!re)
            continue;
        switch (ps->roles[i]) {
        case ROLE_SIGNAL:
            on_signal(ag);
            break;
        case ROLE_CHANNEL:
            if (!ag->ch.connected || ag->ch.fd != ps->fds[i].fd)
                break;
            if (re & POLLOUT)
                flush_out(ag);
            if (ag->ch.connected && (re & (POLLIN | POLLHUP | POLLERR)))
                on_channel(ag, re);
            break;
        case ROLE_LISTEN:
            if (channel_accept(&ag->ch) == 0)
                on_connect(ag);
            break;
        case ROLE_SELF:
            self_on_poll(ag, ps->ids[i], re);
            break;
        case ROLE_PROC_IN:
        case ROLE_PROC_OUT:
        case ROLE_PROC_ERR:
            procs_on_poll(ag, ps->ids[i], ps->roles[i], re);
            break;
        default: {
            /* The stream may have ended earlier in this turn: look it up again. */
            struct stream *s = stream_find(&ag->streams, ps->ids[i]);
            if (s && s->kind == STREAM_EXEC)
                exec_on_poll(ag, s, ps->roles[i], re);
            else if (s && s->kind == STREAM_TCP)
                tunnel_on_poll(ag, s, re);
            break;
        }
        }
    }
    if (ag->ch.kind == CHANNEL_PORT && !ag->ch.connected && channel_port_connected(&ag->ch))
        on_connect(ag);
}

int agent_run(const char *spec, bool pid1)
{
    struct agent *ag = calloc(1, sizeof(*ag));
    if (!ag) {
        agent_log("out of memory");
        return 1;
    }
    ag->pid1 = pid1;
    /* Not PID 1 (tests, debugging): orphans of our commands come back to us as they would to
     * init, so a managed process's tree is seen to exit when it does, not when some far-away
     * init gets round to reaping it. */
    if (!pid1)
        (void)prctl(PR_SET_CHILD_SUBREAPER, 1); /* without it only tree_exited comes late */
    ag->ch.fd = ag->ch.listen_fd = ag->sig_fd = -1;
    wire_reader_init(&ag->rd);
    buf_init(&ag->out, AGENT_OUT_MAX);
    read_boot_id(ag);
    int ret = 1;
    int r = setup_signals(ag);
    if (r < 0) {
        agent_log("cannot set up signals: %s", strerror(-r));
        goto out_free;
    }
    self_init(ag);
    if (open_channel(ag, spec) < 0)
        goto out_free;
    if (ag->ch.connected)
        on_connect(ag);
    while (!ag->quit) {
        turn(ag);
        if (ag->power == AGENT_POWER_NONE)
            continue;
        power_flush(ag, 500);
        if (ag->pid1) {
            proto_abort_all(ag);
            power_shutdown(ag);
        }
        ag->quit = true;
    }
    ret = 0;
out_free:
    self_free(ag);
    proto_abort_all(ag);
    procs_release(ag); /* a test agent leaving: its managed processes go with it */
    reap(ag);
    channel_close(&ag->ch);
    if (ag->sig_fd >= 0)
        close(ag->sig_fd);
    wire_reader_release(&ag->rd);
    buf_release(&ag->out);
    free(ag);
    return ret;
}
