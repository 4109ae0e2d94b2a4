/* SPDX-License-Identifier: MIT */
/* unix_addr.h: the one way hearth opens a Unix stream socket for a path, to bind or connect:
 * the address checked to fit, the socket non-blocking and close-on-exec. Used by the agent's
 * listening channel and by the host's connecting side. */
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

/* Fills *ret_sa with path and opens a non-blocking, close-on-exec AF_UNIX stream socket for it.
 * Returns the fd, -ENAMETOOLONG when path does not fit sun_path, or -errno. */
int unix_stream_socket(const char *path, struct sockaddr_un *ret_sa);
