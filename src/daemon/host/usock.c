/* SPDX-License-Identifier: MIT */
/* usock.c: connect to a Unix socket that may not exist yet, waiting on inotify and the
 * creating process's pidfd instead of sleeping. Knows nothing of what runs over the socket. */
#include "daemon/host/usock.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/herr.h"
#include "common/mono.h"

int usock_connect(const char *path, int *ret_fd)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    /* connect on a non-blocking Unix socket either succeeds, fails, or (backlog full) says
     * EAGAIN; treat the latter like a refused connect and retry. */
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int r = errno == EAGAIN ? -ECONNREFUSED : -errno;
        close(fd);
        return r;
    }
    *ret_fd = fd;
    return 0;
}

/* Watches path's directory for new entries; -1 when inotify is unavailable. */
static int watch_dir(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    if (n == 0)
        n = slash ? 1 : 0;
    if (n == 0 || n >= sizeof(dir)) {
        dir[0] = '.';
        dir[1] = 0;
    } else {
        memcpy(dir, path, n);
        dir[n] = 0;
    }
    int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (in < 0)
        return -1;
    if (inotify_add_watch(in, dir, IN_CREATE | IN_MOVED_TO | IN_ATTRIB) < 0) {
        close(in);
        return -1;
    }
    return in;
}

int usock_connect_wait(const char *path, int pidfd, int64_t deadline_us, int *ret_fd,
                       struct herr *e)
{
    /* Fast path: the socket usually listens already (an agent reconnect, a restore). Closing an
     * inotify instance waits for an SRCU grace period (measured: ~8 ms here), so arm the watch
     * only when the first attempt fails. */
    int r = usock_connect(path, ret_fd);
    if (r == 0)
        return 0;
    int in = watch_dir(path);
    for (;;) {
        /* Attempt after arming the watch, so a socket created in between is not missed. */
        r = usock_connect(path, ret_fd);
        if (r == 0)
            goto out;
        if (r != -ENOENT && r != -ECONNREFUSED) {
            herr_set(e, r, "cannot connect to '%s': %s", path, strerror(-r));
            goto out;
        }
        struct pollfd pfd[2] = {
            { .fd = in, .events = POLLIN },
            { .fd = pidfd, .events = POLLIN },
        };
        int wait_ms = mono_poll_ms(deadline_us);
        /* Refused means it exists but does not listen yet: no event will announce listen(). */
        if (r == -ECONNREFUSED || in < 0)
            wait_ms = wait_ms < 0 || wait_ms > 10 ? 10 : wait_ms;
        if (mono_poll_ms(deadline_us) == 0) {
            r = herr_set(e, -ETIMEDOUT, "socket '%s' did not accept connections in time", path);
            goto out;
        }
        int n = poll(pfd, 2, wait_ms);
        if (n < 0 && errno != EINTR) {
            r = herr_set(e, -errno, "poll: %s", strerror(errno));
            goto out;
        }
        if (pidfd >= 0 && (pfd[1].revents & POLLIN)) {
            r = herr_set(e, -ESRCH, "process exited before '%s' accepted connections", path);
            goto out;
        }
        if (in >= 0 && (pfd[0].revents & POLLIN)) {
            char evbuf[4096];
            while (read(in, evbuf, sizeof(evbuf)) > 0) {
            }
        }
    }
out:
    if (in >= 0)
        close(in);
    return r;
}
