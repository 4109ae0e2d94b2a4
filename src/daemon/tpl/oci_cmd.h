/* SPDX-License-Identifier: MIT */
/* oci_cmd.h: runs one tool of the OCI import (skopeo, umoci, mkfs.ext4, ldd) from an argv
 * array (never a shell), in a process group of its own, bounded by a deadline; its output goes
 * line by line to a log callback and its tail is kept for the error line. Blocking: for the
 * import's thread. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct oci_cmd {
    char *const *argv;                  /* argv[0] searched in PATH; borrowed */
    unsigned timeout_s;                 /* killed (the whole group) past it */
    void (*log)(void *ud, const char *line); /* each output line; NULL: none */
    void *ud;
    /* Called about twice a second while the tool runs; a negative return kills it and is
     * returned (its detail in the caller's hands). NULL: none. */
    int (*watch)(void *wud);
    void *wud;
    /* When set, stdout is collected here (NUL-terminated, at most out_cap - 1 bytes; more
     * fails the run with -E2BIG) instead of being logged. */
    char *out;
    size_t out_cap;
};

/* Runs c. 0 when the tool exited with status 0; otherwise -errno (-ETIMEDOUT, -ENOENT for a
 * missing tool, -EIO for a non-zero exit) and a line in err: what failed and the tool's last
 * output line ("skopeo: exited with status 1: manifest unknown"). */
int oci_cmd_run(const struct oci_cmd *c, char *err, size_t errlen);
