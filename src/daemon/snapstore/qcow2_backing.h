/* SPDX-License-Identifier: MIT */
/* qcow2_backing.h: the backing file name recorded in a qcow2 header (big-endian fields:
 * magic "QFI\xfb" at 0, backing_file_offset u64 at 8, backing_file_size u32 at 16), which is
 * what a snapshot's disk layer stands on. Reading it ourselves (rather than `qemu-img info`)
 * keeps the upload thread free of child processes and lets a fetched layer be checked before
 * QEMU opens it. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define SNAP_QCOW2_HEAD 65536            /* bytes read: the name must lie within them */

/* Parses head[0..len) (the file's first bytes): 0 with the name in out ("" when the layer
 * has no backing file), -EBADMSG (not qcow2, or the name lies outside head, is empty or holds a
 * NUL), -ENAMETOOLONG (longer than size - 1). Pure. */
int snap_qcow2_backing_parse(const uint8_t *head, size_t len, char *out, size_t size);
/* Reads the first SNAP_QCOW2_HEAD bytes of fd (pread: the offset is untouched) and parses
 * them. 0 or -errno as above. */
int snap_qcow2_backing_fd(int fd, char *out, size_t size);
