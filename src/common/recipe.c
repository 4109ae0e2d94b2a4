/* SPDX-License-Identifier: MIT */
/* recipe.c: computes image recipe cache keys (recipe.h) with OpenSSL's SHA-256. Reads the input
 * files; writes nothing. */
#include "common/recipe.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int by_name(const void *a, const void *b)
{
    const struct recipe_input *const *x = a, *const *y = b;
    return strcmp((*x)->name, (*y)->name);
}

static int hash_file(EVP_MD_CTX *md, const char *name, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    off_t size = lseek(fd, 0, SEEK_END);
    if (size < 0 || lseek(fd, 0, SEEK_SET) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    char head[64];
    int n = snprintf(head, sizeof(head), "%lld", (long long)size);
    EVP_DigestUpdate(md, name, strlen(name) + 1);
    EVP_DigestUpdate(md, head, (size_t)n + 1);
    uint8_t chunk[64 * 1024];
    off_t done = 0;
    for (;;) {
        ssize_t got = read(fd, chunk, sizeof(chunk));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int r = -errno;
            close(fd);
            return r;
        }
        if (got == 0)
            break;
        EVP_DigestUpdate(md, chunk, (size_t)got);
        done += got;
    }
    close(fd);
    /* a file that changed size while we read it would give a key for bytes no one saw */
    return done == size ? 0 : -EAGAIN;
}

int recipe_key(const struct recipe_input *in, size_t n, char ret_hex[RECIPE_KEY_HEX],
               const char **reterr_name)
{
    if (n == 0 || n > RECIPE_MAX_INPUTS)
        return -EINVAL;
    const struct recipe_input *sorted[RECIPE_MAX_INPUTS];
    for (size_t i = 0; i < n; i++) {
        if (!in[i].name || !*in[i].name || !in[i].path == !in[i].data)
            return -EINVAL;
        sorted[i] = &in[i];
    }
    qsort(sorted, n, sizeof(sorted[0]), by_name);
    for (size_t i = 1; i < n; i++)
        if (strcmp(sorted[i - 1]->name, sorted[i]->name) == 0) {
            if (reterr_name)
                *reterr_name = sorted[i]->name;
            return -EINVAL;
        }

    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md)
        return -ENOMEM;
    int r = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 ? 0 : -EIO;
    for (size_t i = 0; r == 0 && i < n; i++) {
        const struct recipe_input *x = sorted[i];
        if (x->path) {
            r = hash_file(md, x->name, x->path);
            if (r < 0 && reterr_name)
                *reterr_name = x->name;
            continue;
        }
        char head[32];
        int hn = snprintf(head, sizeof(head), "%zu", x->len);
        EVP_DigestUpdate(md, x->name, strlen(x->name) + 1);
        EVP_DigestUpdate(md, head, (size_t)hn + 1);
        EVP_DigestUpdate(md, x->data, x->len);
    }
    uint8_t digest[32];
    unsigned dlen = 0;
    if (r == 0 && EVP_DigestFinal_ex(md, digest, &dlen) != 1)
        r = -EIO;
    EVP_MD_CTX_free(md);
    if (r < 0)
        return r;
    for (unsigned i = 0; i < dlen; i++)
        snprintf(ret_hex + 2 * i, 3, "%02x", digest[i]);
    return 0;
}
