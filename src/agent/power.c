/* SPDX-License-Identifier: MIT */
/* power.c: shutting the guest down. Runs off the loop on purpose: once a shutdown starts,
 * nothing else is served. Every process is asked to stop, then killed; filesystems are synced
 * and unmounted (root remounted read-only) before the reboot that ends the VM. */
#include "agent/power.h"

#include <errno.h>
#include <mntent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent.h"

#define POWER_GRACE_MS 2000 /* how long processes get to exit after SIGTERM */

void power_open(struct agent *ag, const struct wire_frame *f)
{
    json_t *root = agent_parse_json(ag, f);
    if (!root)
        return;
    const char *action = json_string_value(json_object_get(root, "action"));
    enum agent_power p = AGENT_POWER_NONE;
    if (action && strcmp(action, "poweroff") == 0)
        p = AGENT_POWER_OFF;
    else if (action && strcmp(action, "reboot") == 0)
        p = AGENT_POWER_REBOOT;
    json_decref(root);
    if (p == AGENT_POWER_NONE) {
        agent_send_error(ag, f->stream, EINVAL, "'action' must be \"poweroff\" or \"reboot\"");
        return;
    }
    (void)agent_send_json(ag, WIRE_DONE, f->stream, json_object());
    ag->power = p;
}

void power_flush(struct agent *ag, int timeout_ms)
{
    uint64_t end = agent_now_ms() + (uint64_t)timeout_ms;
    while (ag->ch.connected && ag->ch.fd >= 0 && ag->out.len) {
        uint64_t now = agent_now_ms();
        if (now >= end)
            break;
        struct pollfd p = { .fd = ag->ch.fd, .events = POLLOUT };
        if (poll(&p, 1, (int)(end - now)) <= 0)
            break;
        ssize_t n = write(ag->ch.fd, ag->out.data, ag->out.len);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0)
            break;
        agent_out_written(ag, (size_t)n);
    }
}

/* Reaps children until none is left or timeout_ms passed; SIGCHLD is blocked, so wait for it
 * with sigtimedwait instead of sleeping. */
static void reap_for(int timeout_ms)
{
    uint64_t end = agent_now_ms() + (uint64_t)timeout_ms;
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    for (;;) {
        pid_t p;
        do
            p = waitpid(-1, NULL, WNOHANG);
        while (p > 0);
        if (p < 0 && errno == ECHILD)
            return;
        uint64_t now = agent_now_ms();
        if (now >= end)
            return;
        uint64_t left = end - now;
        struct timespec ts = { .tv_sec = (time_t)(left / 1000),
                               .tv_nsec = (long)(left % 1000) * 1000000 };
        (void)sigtimedwait(&chld, NULL, &ts); /* a timeout or EINTR just loops */
    }
}

/* Unmounts everything but the root, innermost first, then remounts the root read-only. */
static void unmount_all(void)
{
    char *targets[256];
    size_t n = 0;
    FILE *f = setmntent("/proc/mounts", "re");
    if (f) {
        struct mntent *m;
        for (m = getmntent(f); m && n < 256; m = getmntent(f)) {
            if (strcmp(m->mnt_dir, "/") == 0)
                continue;
            targets[n] = strdup(m->mnt_dir);
            if (targets[n])
                n++;
        }
        endmntent(f);
    }
    while (n-- > 0) {
        /* Busy or already gone (a parent went first): the reboot follows anyway. */
        (void)umount2(targets[n], 0);
        free(targets[n]);
    }
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0)
        agent_log("cannot remount '/' read-only: %s, ignoring", strerror(errno));
}

void power_shutdown(struct agent *ag)
{
    agent_log("%s", ag->power == AGENT_POWER_REBOOT ? "rebooting" : "powering off");
    (void)kill(-1, SIGTERM); /* every process but us; none left is fine */
    reap_for(POWER_GRACE_MS);
    (void)kill(-1, SIGKILL);
    reap_for(500);
    sync();
    unmount_all();
    sync();
    /* reboot=t plus -no-reboot: a reset ends QEMU, for poweroff and reboot alike. */
    reboot(RB_AUTOBOOT);
    agent_log("reboot failed: %s", strerror(errno));
    for (;;)
        pause();
}
