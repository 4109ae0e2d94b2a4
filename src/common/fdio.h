/* SPDX-License-Identifier: MIT */
/* fdio.h: whole reads and writes on a file descriptor, retrying short ones and EINTR; the
 * one-write setting of a procfs, sysfs or cgroupfs file; and the atomic replacement of a file. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Reads from fd until len bytes or end of file, retrying short reads and EINTR. The count read,
 * or -errno. */
ssize_t fd_read_full(int fd, void *buf, size_t len);
/* Writes all len bytes of buf to fd. 0, or -errno (EAGAIN included: for blocking fds). */
int fd_write_all(int fd, const void *buf, size_t len);
/* pwrite()s all len bytes of buf at off. 0 or -errno. */
int fd_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);
/* Writes value into the existing file path in a single write(), as kernel files (procfs, sysfs,
 * cgroupfs) want one value per write. 0, -errno, or -EIO when the write was short. */
int file_write_value(const char *path, const char *value);
/* Replaces path with len bytes of data so that a crash leaves the old file or the new one,
 * never a part: a temporary file of mode in the same directory (created 0600 under a umask of
 * 077, then set to mode), fsync'd, renamed over path, then the directory fsync'd (best effort).
 * 0 or -errno; nothing is left behind on failure. */
int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode);
