/* SPDX-License-Identifier: MIT */
/* fdio.h: whole writes to a file descriptor, retrying short writes and EINTR. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Writes all len bytes of buf to fd. 0, or -errno (EAGAIN included: for blocking fds). */
int fd_write_all(int fd, const void *buf, size_t len);
/* pwrite()s all len bytes of buf at off. 0 or -errno. */
int fd_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);
