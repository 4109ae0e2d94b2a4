/* SPDX-License-Identifier: MIT */
/* space.h: the free-space guard of the data dir's filesystem (docs/operations.md "Limits"). The
 * operations that make files there (create, fork, pause, file upload) ask it first; under the
 * threshold they are refused with CTL_E_NO_SPACE before anything is stored (docs/api.md §1.11).
 * The filesystem is read through ctl->fs_space (statvfs(3) unless a test injects one). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct ctl;
struct ctl_error;

/* The threshold for a filesystem of total bytes: the larger of min_free_disk_mib and
 * min_free_disk_pct percent of total (0 when both are 0). */
uint64_t ctl_space_threshold(uint64_t min_free_mib, uint32_t min_free_pct, uint64_t total);

/* Whether an operation that will write about need bytes may start with avail bytes free:
 * avail - need must stay at or above threshold. */
bool ctl_space_fits(uint64_t avail, uint64_t need, uint64_t threshold);

/* The guard: 0 when op (a verb for the message: "create", "fork", "pause", "upload") may
 * write need bytes into the data dir; -ENOSPC with CTL_E_NO_SPACE (and a warning logged with
 * the numbers) when it would leave less than the threshold. A filesystem that cannot be read
 * lets the operation through (the warning says so): the guard protects, it never invents a
 * failure. */
__attribute__((warn_unused_result))
int ctl_space_check(struct ctl *c, const char *req_id, const char *op, uint64_t need,
                    struct ctl_error *e);

/* statvfs(3) of path: what unprivileged users may still write (f_bavail) and the size. */
__attribute__((warn_unused_result))
int ctl_space_statvfs(const char *path, uint64_t *ret_avail, uint64_t *ret_total);
