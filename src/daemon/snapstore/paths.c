/* SPDX-License-Identifier: MIT */
/* paths.c: local paths and object identities (paths.h). */
#include "daemon/snapstore/paths.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/snapstore/manifest.h"

const char *snap_paths_rel(const char *path, const char *root)
{
    size_t n = strlen(root);
    if (!n || strncmp(path, root, n) != 0 || path[n] != '/' || !path[n + 1])
        return "";
    return path + n + 1;
}

int snap_paths_join(const char *root, const char *rel, char *out, size_t size)
{
    int n = snprintf(out, size, "%s/%s", root, rel);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int snap_paths_image_rel(const struct snap_paths *p, const char *path, char *out, size_t size)
{
    const char *rel = snap_paths_rel(path, p->images_dir);
    if (rel[0] && snap_rel_ok(rel)) {
        if ((size_t)snprintf(out, size, "%s", rel) >= size)
            return -ENAMETOOLONG;
        return 0;
    }
    char want[PATH_MAX];
    if (!realpath(path, want))
        return -ENOENT;
    DIR *d = opendir(p->images_dir);
    if (!d)
        return -ENOENT;
    int r = -ENOENT;
    struct dirent *e;
    while (r == -ENOENT && (e = readdir(d))) {
        char cand[PATH_MAX], real[PATH_MAX];
        if (e->d_name[0] == '.' || !snap_rel_ok(e->d_name) ||
            snap_paths_join(p->images_dir, e->d_name, cand, sizeof(cand)) < 0 ||
            !realpath(cand, real) || strcmp(real, want) != 0)
            continue;
        r = (size_t)snprintf(out, size, "%s", e->d_name) >= size ? -ENAMETOOLONG : 0;
    }
    closedir(d);
    return r;
}

int snap_paths_mkdirs(const char *dir)
{
    char p[PATH_MAX];
    if ((size_t)snprintf(p, sizeof(p), "%s", dir) >= sizeof(p))
        return -ENAMETOOLONG;
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0700) < 0 && errno != EEXIST)
            return -errno;
        *s = '/';
    }
    if (mkdir(p, 0700) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}
