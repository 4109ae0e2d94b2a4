/* SPDX-License-Identifier: MIT */
/* usock.c: one non-blocking connect attempt to a Unix socket that a child (QEMU) makes; the
 * caller's event loop retries on a timer. Knows nothing of what runs over the socket. */
#include "daemon/host/usock.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>


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
