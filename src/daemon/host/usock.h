/* SPDX-License-Identifier: MIT */
/* usock.h: connecting to a Unix socket that a child process (QEMU) is about to create. */
#pragma once

#include <stdint.h>

struct herr;

/* Connects to the Unix stream socket at path, waiting until it exists and listens. The wait
 * is event-driven: inotify on path's directory wakes it when the socket appears, and pidfd
 * (>= 0, optional) ends it as soon as the process that should create it exits. Between a
 * bind() and its listen() a connect is refused, which is retried every 10 ms. Returns 0 and a
 * non-blocking, CLOEXEC fd in *ret_fd (caller closes), -ETIMEDOUT past deadline_us (monotonic
 * µs), -ESRCH when the process exited first, -ENAMETOOLONG, or -errno; e gets the detail. */
__attribute__((warn_unused_result))
int usock_connect_wait(const char *path, int pidfd, int64_t deadline_us, int *ret_fd,
                       struct herr *e);
/* One connect attempt: 0 and *ret_fd, or -errno (-ENOENT, -ECONNREFUSED, ...). */
int usock_connect(const char *path, int *ret_fd);
