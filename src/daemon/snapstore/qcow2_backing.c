/* SPDX-License-Identifier: MIT */
/* qcow2_backing.c: the backing file name of a qcow2 header (qcow2_backing.h). */
#include "daemon/snapstore/qcow2_backing.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int snap_qcow2_backing_parse(const uint8_t *head, size_t len, char *out, size_t size)
{
    if (len < 20 || memcmp(head, "QFI\xfb", 4) != 0)
        return -EBADMSG;
    uint64_t off = be64(head + 8);
    uint32_t n = be32(head + 16);
    if (off == 0) {
        out[0] = '\0';
        return 0;
    }
    if (n == 0 || off > len || n > len - off || memchr(head + off, 0, n))
        return -EBADMSG;
    if (n >= size)
        return -ENAMETOOLONG;
    memcpy(out, head + off, n);
    out[n] = '\0';
    return 0;
}

int snap_qcow2_backing_fd(int fd, char *out, size_t size)
{
    uint8_t *head = malloc(SNAP_QCOW2_HEAD);
    if (!head)
        return -ENOMEM;
    ssize_t got = pread(fd, head, SNAP_QCOW2_HEAD, 0);
    int r = got < 0 ? -errno : snap_qcow2_backing_parse(head, (size_t)got, out, size);
    free(head);
    return r;
}
