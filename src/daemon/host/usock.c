/* SPDX-License-Identifier: MIT */
/* usock.c: one non-blocking connect attempt to a Unix socket that a child (QEMU) makes; the
 * caller's event loop retries on a timer. Knows nothing of what runs over the socket. */
#include "daemon/host/usock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/unix_addr.h"

int usock_connect(const char *path, int *ret_fd)
{
    struct sockaddr_un sa;
    int fd = unix_stream_socket(path, &sa);
    if (fd < 0)
        return fd;
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

int usock_send_queued(int fd, struct buf *out)
{
    while (out->len > 0) {
        ssize_t n = send(fd, out->data, out->len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n < 0)
            return errno == EPIPE ? -ECONNRESET : -errno;
        buf_consume(out, (size_t)n);
    }
    return 0;
}

void *usock_client_alloc(int fd, size_t size)
{
    void *p = calloc(1, size);
    if (!p) {
        close(fd);
        return NULL;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl | O_NONBLOCK); /* fails only for a bad fd: reads show it */
    return p;
}
