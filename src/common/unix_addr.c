/* SPDX-License-Identifier: MIT */
/* unix_addr.c: Unix socket address and socket (unix_addr.h). */
#include "common/unix_addr.h"

#include <errno.h>
#include <string.h>

int unix_stream_socket(const char *path, struct sockaddr_un *ret_sa)
{
    size_t len = strlen(path);
    *ret_sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
    if (len >= sizeof(ret_sa->sun_path))
        return -ENAMETOOLONG;
    memcpy(ret_sa->sun_path, path, len + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    return fd < 0 ? -errno : fd;
}
