/* SPDX-License-Identifier: MIT */
/* oci_tree.c: writes into an untrusted image tree without leaving it (oci_tree.h). The parent
 * directory of every write is opened with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), so
 * ".." and absolute symlinks stop at the tree's root, and the file itself is created with
 * O_EXCL | O_NOFOLLOW after the old entry is unlinked. */
#include "daemon/tpl/oci_tree.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/fdio.h"

static int open_in(int rootfd, const char *rel, int flags)
{
    struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC),
                            .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
    long fd = syscall(SYS_openat2, rootfd, rel[0] ? rel : ".", &how, sizeof(how));
    return fd < 0 ? -errno : (int)fd;
}

int oci_tree_open(const char *root)
{
    int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

/* Splits rel into its parent (in dir) and last component (returned); -ENAMETOOLONG. */
static const char *split(const char *rel, char *dir, size_t dirlen)
{
    const char *slash = strrchr(rel, '/');
    if (!slash) {
        dir[0] = '\0';
        return rel;
    }
    size_t n = (size_t)(slash - rel);
    if (n >= dirlen)
        return NULL;
    memcpy(dir, rel, n);
    dir[n] = '\0';
    return slash + 1;
}

int oci_tree_mkdirs(int rootfd, const char *rel, mode_t mode)
{
    char path[PATH_MAX];
    size_t n = strlen(rel);
    if (n >= sizeof(path))
        return -ENAMETOOLONG;
    memcpy(path, rel, n + 1);
    for (size_t i = 0; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char keep = path[i];
        path[i] = '\0';
        char dir[PATH_MAX];
        const char *name = split(path, dir, sizeof(dir));
        if (!name)
            return -ENAMETOOLONG;
        int pfd = open_in(rootfd, dir, O_PATH | O_DIRECTORY);
        if (pfd < 0)
            return pfd;
        int r = mkdirat(pfd, name, keep ? 0755 : mode) < 0 ? -errno : 0;
        close(pfd);
        if (r < 0 && r != -EEXIST)
            return r;
        int dfd = open_in(rootfd, path, O_PATH | O_DIRECTORY);
        if (dfd < 0)
            return dfd; /* -ENOTDIR: a file where a directory must be */
        close(dfd);
        path[i] = keep;
    }
    return 0;
}

int oci_tree_chmod_dir(int rootfd, const char *rel, mode_t mode)
{
    int fd = open_in(rootfd, rel, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return fd;
    int r = fchmod(fd, mode) < 0 ? -errno : 0;
    close(fd);
    return r;
}

/* Creates rel afresh (whatever was there unlinked first) and returns a writable fd. */
static int create_in(int rootfd, const char *rel, mode_t mode)
{
    char dir[PATH_MAX];
    const char *name = split(rel, dir, sizeof(dir));
    if (!name || !name[0])
        return -EINVAL;
    int pfd = open_in(rootfd, dir, O_PATH | O_DIRECTORY);
    if (pfd < 0)
        return pfd;
    if (unlinkat(pfd, name, 0) < 0 && errno == EISDIR)
        (void)unlinkat(pfd, name, AT_REMOVEDIR); /* an empty directory in the way; else the
                                                     create below fails with EEXIST */
    int fd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    int r = fd < 0 ? -errno : fd;
    close(pfd);
    if (fd >= 0 && fchmod(fd, mode) < 0) { /* the umask is not ours to apply */
        r = -errno;
        close(fd);
    }
    return r;
}

int oci_tree_write(int rootfd, const char *rel, const void *data, size_t len, mode_t mode)
{
    int fd = create_in(rootfd, rel, mode);
    if (fd < 0)
        return fd;
    int r = fd_write_all(fd, data, len);
    if (close(fd) < 0 && r >= 0)
        r = -errno;
    return r < 0 ? r : 0;
}

int oci_tree_copy(int rootfd, const char *rel, const char *src, mode_t mode)
{
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return -errno;
    int fd = create_in(rootfd, rel, mode);
    if (fd < 0) {
        close(in);
        return fd;
    }
    int r = 0;
    char buf[65536];
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r = n < 0 ? -errno : 0;
            break;
        }
        r = fd_write_all(fd, buf, (size_t)n);
        if (r < 0)
            break;
    }
    close(in);
    if (close(fd) < 0 && r >= 0)
        r = -errno;
    return r < 0 ? r : 0;
}

bool oci_tree_exists(int rootfd, const char *rel)
{
    int fd = open_in(rootfd, rel, O_PATH);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/* nftw has no user pointer: the walks run on the import's thread, one at a time per thread */
static _Thread_local uint64_t walk_bytes;

static int on_size(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    walk_bytes += (uint64_t)st->st_blocks * 512;
    return 0;
}

int oci_tree_size(const char *path, uint64_t *ret_bytes)
{
    walk_bytes = 0;
    if (nftw(path, on_size, 32, FTW_PHYS | FTW_MOUNT) < 0)
        return -errno;
    *ret_bytes = walk_bytes;
    return 0;
}

static int on_remove(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    /* a directory without write or search permission still goes: we are root, or the
     * chmod makes it so for the owner */
    if (flag == FTW_DP || flag == FTW_D)
        return rmdir(p) < 0 && errno != ENOENT ? -1 : 0;
    return unlink(p) < 0 && errno != ENOENT ? -1 : 0;
}

int oci_tree_remove(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -errno;
    if (nftw(path, on_remove, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) < 0)
        return -errno;
    return 0;
}
