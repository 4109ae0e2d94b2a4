/* SPDX-License-Identifier: MIT */
/* template_context.c: build contexts (template.h, docs/api.md §3.10.7): an uploaded tar is
 * checked (tpl/context_tar.h), hashed and kept once as contexts/<sha256>.tar, shared by every
 * template that names it. The collector (template_gc.c) removes unreferenced ones. */
#include "daemon/ctl/template.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "daemon/ctl/template_files.h"
#include "daemon/tpl/context_tar.h"

#define CTX_MAX_ENTRIES 100000

static long ctx_read_at(void *ud, void *buf, size_t n, uint64_t off)
{
    ssize_t r = pread(*(int *)ud, buf, n, (off_t)off);
    return r < 0 ? -errno : (long)r;
}

static int mkdir_p1(const char *path)
{
    return mkdir(path, 0700) == 0 || errno == EEXIST ? 0 : -errno;
}

int ctl_template_upload_dir(struct ctl *c, char *out)
{
    int rc = ctl_tpl_dir(c, "uploads", out);
    if (rc < 0)
        return rc;
    if ((rc = mkdir_p1(c->set.templates_dir)) < 0)
        return rc;
    return mkdir_p1(out);
}

/* SHA-256 of the file's bytes as 64 hex digits. */
static int file_sha256(int fd, char hex[65])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(md);
        return -ENOMEM;
    }
    unsigned char buf[65536];
    off_t off = 0;
    int rc = 0;
    for (;;) {
        ssize_t r = pread(fd, buf, sizeof(buf), off);
        if (r < 0) {
            rc = -errno;
            break;
        }
        if (r == 0)
            break;
        EVP_DigestUpdate(md, buf, (size_t)r);
        off += r;
    }
    unsigned char d[32];
    unsigned dl = 0;
    if (rc == 0 && EVP_DigestFinal_ex(md, d, &dl) != 1)
        rc = -EIO;
    EVP_MD_CTX_free(md);
    for (unsigned i = 0; rc == 0 && i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return rc;
}

int ctl_template_context_put(struct ctl *c, const struct ctl_caller *who, const char *path,
                             char *out, uint64_t *ret_size, struct ctl_error *e)
{
    (void)who;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        int rc = -errno;
        unlink(path);
        return ctl_error_internal(e, "open uploaded context", rc);
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        unlink(path);
        return ctl_error_internal(e, "stat uploaded context", -EINVAL);
    }
    struct tpl_ctx_limits lim = { .max_bytes = c->set.template_context_max_bytes,
                                  .max_entries = CTX_MAX_ENTRIES };
    if (!lim.max_bytes)
        lim.max_bytes = 256ull << 20;
    struct tpl_ctx_info info = { 0 };
    char why[300] = "";
    int rc = (uint64_t)st.st_size > lim.max_bytes
        ? -EFBIG
        : tpl_ctx_check(ctx_read_at, &fd, (uint64_t)st.st_size, &lim, &info, why, sizeof(why));
    char hex[65];
    if (rc == 0)
        rc = file_sha256(fd, hex);
    close(fd);
    if (rc == -EINVAL || rc == -EFBIG) {
        unlink(path);
        if (!why[0])
            snprintf(why, sizeof(why), "the context is over %llu bytes",
                     (unsigned long long)lim.max_bytes);
        return ctl_error_set(e, CTL_E_INVALID, "context", NULL, "%s", why);
    }
    if (rc < 0) {
        unlink(path);
        return ctl_error_internal(e, "check context", rc);
    }
    char id[72], dst[PATH_MAX], dir[PATH_MAX];
    snprintf(id, sizeof(id), "ctx_%s", hex);
    if ((rc = ctl_tpl_context_path(c, id, dst)) < 0 || (rc = ctl_tpl_dir(c, "contexts", dir)) < 0 ||
        (rc = mkdir_p1(dir)) < 0 || (rename(path, dst) < 0 && (rc = -errno) < 0)) {
        unlink(path);
        return rc == -ENOSPC ? ctl_error_set(e, CTL_E_NO_SPACE, NULL, NULL, "no space left")
                             : ctl_error_internal(e, "keep context", rc);
    }
    /* the same bytes uploaded again: the rename replaced an identical file; its mtime is
     * now, so the collector keeps it another day */
    snprintf(out, 72, "%s", id);
    *ret_size = (uint64_t)st.st_size;
    return 0;
}
