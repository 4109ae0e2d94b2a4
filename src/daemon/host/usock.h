/* SPDX-License-Identifier: MIT */
/* usock.h: connecting to a Unix socket that a child process (QEMU) is about to create. */
#pragma once

#include <stddef.h>

struct buf;

/* One connect attempt to the Unix stream socket at path: 0 and a non-blocking, CLOEXEC fd in
 * *ret_fd (caller closes), or -errno: -ENOENT (not made yet) and -ECONNREFUSED (between its
 * bind() and listen()) mean "retry later", as the host does on a timer; -ENAMETOOLONG. */
int usock_connect(const char *path, int *ret_fd);

/* Sends what out holds on non-blocking fd until the socket is full (0, the rest stays) or out
 * is empty (0); -ECONNRESET when the peer is gone, or -errno. */
int usock_send_queued(int fd, struct buf *out);
/* The object of a client that takes over connected socket fd: size zeroed bytes (free()), fd
 * made non-blocking (its reads and writes then never block an event loop). NULL when out of
 * memory, with fd closed (the client owned it). */
void *usock_client_alloc(int fd, size_t size);
