/* SPDX-License-Identifier: MIT */
/* herr.h: an error code plus a one-line detail, for host operations whose callers need to tell
 * a user what went wrong (missing kernel, QEMU died, guest never ready). Like curl's error
 * buffer: the code is -errno, the text names the subject and the cause. */
#pragma once

#include <stddef.h>

struct herr {
    int code;       /* negative errno; 0 while nothing failed */
    char msg[512];  /* lowercase, no full stop, subject in quotes */
};

/* Records code and the formatted detail in e (which may be NULL) unless e already holds an
 * error, so the first, most specific failure wins. Returns code, so callers can
 * `return herr_set(e, -ENOENT, "...")`. */
__attribute__((format(printf, 3, 4)))
int herr_set(struct herr *e, int code, const char *fmt, ...);
/* Clears e (NULL is fine). */
void herr_clear(struct herr *e);
