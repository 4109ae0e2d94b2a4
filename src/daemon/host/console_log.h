/* SPDX-License-Identifier: MIT */
/* console_log.h: the cap on each VM's console log (docs/operations.md "Limits"). QEMU appends
 * the guest's serial console to <run dir>/console.log (O_APPEND); the host checks every
 * CONSOLE_LOG_CHECK_MS and, past the cap, copies the newest cap bytes to console.log.1 and
 * truncates console.log, so a guest flooding its console holds at most about twice the cap
 * (plus what it writes in one period) on the host's disk, and hearthd's work is one fstat per
 * VM per period plus one bounded copy per rotation: it never reads the stream itself. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define CONSOLE_LOG_CHECK_MS 250
#define CONSOLE_LOG_DEFAULT_MAX (4u << 20)

struct host;

/* Caps the log at path (a regular file, not followed if a symlink): when it is larger than
 * max bytes, its last max bytes replace "<path>.1" (written aside, then renamed) and path is
 * truncated to 0. Returns 1 when it rotated, 0 when the file is within the cap or missing,
 * -errno otherwise (-ELOOP for a symlink, -EINVAL for a non-regular file, -EMLINK for a file
 * with another hard link: the run dir's writer must not make hearthd truncate other files). Bytes QEMU appends
 * between the copy and the truncation are lost: a log, not a record. */
__attribute__((warn_unused_result))
int console_log_cap(const char *path, uint64_t max);

/* Starts h's periodic check of every VM's console log (max 0: CONSOLE_LOG_DEFAULT_MAX).
 * 0 or -ENOMEM. */
__attribute__((warn_unused_result))
int console_log_start(struct host *h, uint64_t max);
/* Stops it; safe when never started. */
void console_log_stop(struct host *h);
