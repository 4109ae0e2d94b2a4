/* SPDX-License-Identifier: MIT */
/* fdio.c: whole writes, kernel-file values and atomic file replacement (fdio.h). */
#include "common/fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <stdbool.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* Writes all len bytes of buf with write(), or with pwrite() at off when at is set. */
static int write_all(int fd, const void *buf, size_t len, bool at, uint64_t off)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t w = at ? pwrite(fd, p, len, (off_t)off) : write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        p += w;
        len -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

ssize_t fd_read_full(int fd, void *buf, size_t len)
{
    uint8_t *p = buf;
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, p + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

int fd_write_all(int fd, const void *buf, size_t len)
{
    return write_all(fd, buf, len, false, 0);
}

int fd_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
    return write_all(fd, buf, len, true, off);
}

int file_write_value(const char *path, const char *value)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    size_t len = strlen(value);
    ssize_t w = write(fd, value, len);
    int r = w < 0 ? -errno : (size_t)w == len ? 0 : -EIO;
    close(fd);
    return r;
}

int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    char tmp[PATH_MAX], dir[PATH_MAX];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= sizeof(tmp))
        return -ENAMETOOLONG;
    mode_t old = umask(077);
    int fd = mkostemp(tmp, O_CLOEXEC);
    umask(old);
    if (fd < 0)
        return -errno;
    int r = fchmod(fd, mode) < 0 ? -errno : 0;
    if (r == 0)
        r = fd_write_all(fd, data, len);
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    close(fd);
    if (r == 0 && rename(tmp, path) < 0)
        r = -errno;
    if (r < 0) {
        (void)unlink(tmp);
        return r;
    }
    snprintf(dir, sizeof(dir), "%s", path);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd); /* the rename is durable once its directory is */
        close(dfd);
    }
    return 0;
}
