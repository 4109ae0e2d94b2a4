/* SPDX-License-Identifier: MIT */
/* context_tar.h: a template build context (docs/templates.md "Build contexts"): the tar a client
 * uploads for COPY and ADD. Checked once at upload: every entry stays inside the context (no
 * absolute names, no "..", no symlink or hard link whose target leaves it, no devices or
 * FIFOs), the total and the entry count stay under the limits. Pure: reads bytes, writes
 * nothing. Untrusted input (a libFuzzer target drives it). Formats: ustar, GNU (long names
 * ././@LongLink) and pax (path, linkpath, size records). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tpl_ctx_limits {
    uint64_t max_bytes;                 /* the tar file's size */
    uint64_t max_entries;
};

struct tpl_ctx_info {
    uint64_t entries;                   /* files, directories and links */
    uint64_t file_bytes;                /* the regular files' contents */
};

/* Reads the tar of len bytes through read_at (pread-like: fills buf with n bytes at off,
 * returns the count, 0 at the end, -errno on failure) and checks it as above. 0 and *info,
 * -EINVAL with err (one line, "entry 3 ('../x'): leaves the context") for a refused entry or a
 * malformed archive, -EFBIG when over a limit (err says which), or the reader's -errno. */
typedef long (*tpl_ctx_read_fn)(void *ud, void *buf, size_t n, uint64_t off);
int tpl_ctx_check(tpl_ctx_read_fn read_at, void *ud, uint64_t len,
                  const struct tpl_ctx_limits *lim, struct tpl_ctx_info *info, char *err,
                  size_t errlen);

/* Whether name (a COPY/ADD source or an entry name) is a relative path that stays inside the
 * context after normalisation ("./a/../b" yes, "../b" and "/b" no). */
bool tpl_ctx_path_inside(const char *name);
