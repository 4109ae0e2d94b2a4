/* SPDX-License-Identifier: MIT */
/* console_log.c: the console log cap (console_log.h). Why a periodic check of a file QEMU
 * appends to, rather than a pipe hearthd drains: the file keeps working while hearthd restarts
 * (VMs outlive it and are re-adopted), keeps every byte of an early boot panic for the boot
 * error, and costs hearthd nothing per byte however fast a guest writes. Runs on the host's
 * loop; one fstat per VM per period, one copy of at most the cap per rotation. */
#include "daemon/host/console_log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "daemon/host/host_internal.h"

/* Copies len bytes of in from off to out (kernel-side where the filesystem can). */
static int copy_tail(int in, int out, uint64_t off, uint64_t len)
{
    loff_t ioff = (loff_t)off;
    while (len > 0) {
        ssize_t n = copy_file_range(in, &ioff, out, NULL, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EOPNOTSUPP ||
                      errno == EINVAL))
            break; /* fall back to read/write below */
        if (n < 0)
            return -errno;
        if (n == 0)
            return 0; /* shorter than fstat said: truncated meanwhile */
        len -= (uint64_t)n;
    }
    char buf[65536];
    while (len > 0) {
        ssize_t n = pread(in, buf, len < sizeof(buf) ? len : sizeof(buf), ioff);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return 0;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(out, buf + done, (size_t)(n - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return -errno;
            done += w;
        }
        ioff += n;
        len -= (uint64_t)n;
    }
    return 0;
}

int console_log_cap(const char *path, uint64_t max)
{
    /* O_NOFOLLOW: the run dir may be writable by QEMU's own user (a jailed QEMU), which must
     * not make hearthd truncate or copy a file it points a symlink at */
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    struct stat st;
    int r = 0;
    if (fstat(fd, &st) < 0) {
        r = -errno;
        goto out_close;
    }
    if (!S_ISREG(st.st_mode)) {
        r = -EINVAL;
        goto out_close;
    }
    if (st.st_nlink != 1) {
        r = -EMLINK; /* a hard link to some other file: never truncate that */
        goto out_close;
    }
    if ((uint64_t)st.st_size <= max)
        goto out_close;
    char old[PATH_MAX], tmp[PATH_MAX];
    if ((size_t)snprintf(old, sizeof(old), "%s.1", path) >= sizeof(old) ||
        (size_t)snprintf(tmp, sizeof(tmp), "%s.1.tmp", path) >= sizeof(tmp)) {
        r = -ENAMETOOLONG;
        goto out_close;
    }
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (out < 0) {
        r = -errno;
        goto out_close;
    }
    r = copy_tail(fd, out, (uint64_t)st.st_size - max, max);
    if (close(out) < 0 && r == 0)
        r = -errno;
    if (r == 0 && rename(tmp, old) < 0)
        r = -errno;
    if (r < 0) {
        (void)unlink(tmp); /* best effort: the next rotation writes it again */
        /* still truncate: a full disk must not stop the cap */
    }
    if (ftruncate(fd, 0) < 0) {
        r = -errno;
        goto out_close;
    }
    r = 1;
out_close:
    close(fd);
    return r;
}

static void on_console_tick(evutil_socket_t fd, short what, void *ud)
{
    struct host *h = ud;
    char path[PATH_MAX];
    for (struct host_vm *vm = h->vms; vm; vm = vm->next) {
        if (!vm->run_dir[0] || !vm->qemu_alive)
            continue;
        if ((size_t)snprintf(path, sizeof(path), "%s/console.log", vm->run_dir) >= sizeof(path))
            continue;
        if (console_log_cap(path, h->console_max) < 0)
            continue; /* retried next period; the host layer has no one to tell */
    }
}

int console_log_start(struct host *h, uint64_t max)
{
    h->console_max = max ? max : CONSOLE_LOG_DEFAULT_MAX;
    h->ev_console = event_new(h->base, -1, EV_PERSIST, on_console_tick, h);
    if (!h->ev_console)
        return -ENOMEM;
    struct timeval tv = { 0, CONSOLE_LOG_CHECK_MS * 1000 };
    return event_add(h->ev_console, &tv) < 0 ? -ENOMEM : 0;
}

void console_log_stop(struct host *h)
{
    if (h->ev_console)
        event_free(h->ev_console);
    h->ev_console = NULL;
}
