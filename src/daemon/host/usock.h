/* SPDX-License-Identifier: MIT */
/* usock.h: connecting to a Unix socket that a child process (QEMU) is about to create. */
#pragma once

/* One connect attempt to the Unix stream socket at path: 0 and a non-blocking, CLOEXEC fd in
 * *ret_fd (caller closes), or -errno: -ENOENT (not made yet) and -ECONNREFUSED (between its
 * bind() and listen()) mean "retry later", as the host does on a timer; -ENAMETOOLONG. */
int usock_connect(const char *path, int *ret_fd);
