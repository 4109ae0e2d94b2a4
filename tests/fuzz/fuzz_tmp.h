/* SPDX-License-Identifier: MIT */
/* fuzz_tmp.h: a temp dir for the drivers whose parser reads files (snapshot_meta) or checks
 * that files exist (validate's catalog): on tmpfs when there is one, since every input may be
 * a file write, and removed with what is in it when the fuzzer exits. */
#pragma once

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char fuzz_tmp[64];

static void fuzz_tmp_remove(void)
{
    DIR *d = opendir(fuzz_tmp);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char p[sizeof(fuzz_tmp) + 256];
        if (de->d_name[0] != '.' &&
            (size_t)snprintf(p, sizeof(p), "%s/%s", fuzz_tmp, de->d_name) < sizeof(p))
            (void)unlink(p); /* best effort: a temp dir */
    }
    if (d)
        closedir(d);
    (void)rmdir(fuzz_tmp);
}

/* Makes hearth-fuzz-<what>-XXXXXX under /dev/shm (else /tmp) and returns its path; aborts when
 * neither works. Once per process. */
static const char *fuzz_tmp_dir(const char *what)
{
    snprintf(fuzz_tmp, sizeof(fuzz_tmp), "/dev/shm/hearth-fuzz-%.16s-XXXXXX", what);
    if (!mkdtemp(fuzz_tmp)) {
        snprintf(fuzz_tmp, sizeof(fuzz_tmp), "/tmp/hearth-fuzz-%.16s-XXXXXX", what);
        if (!mkdtemp(fuzz_tmp))
            abort();
    }
    atexit(fuzz_tmp_remove);
    return fuzz_tmp;
}
