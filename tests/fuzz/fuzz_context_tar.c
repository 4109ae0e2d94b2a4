/* SPDX-License-Identifier: MIT */
/* fuzz_context_tar.c: libFuzzer driver for the build context checks
 * (src/daemon/tpl/context_tar.c). The input is a tar, read through a pread-like callback that
 * hands out at most 512 bytes at a time: an accepted archive stays under the entry limit and
 * reports no more file bytes than it holds; a refusal says which entry ("entry N…") or which
 * limit. The input as a string also goes through tpl_ctx_path_inside.
 * Run: make fuzz FUZZ_TARGETS=context_tar (docs/testing.md "Fuzzing"). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/tpl/context_tar.h"
#include "../memread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct memread m = { data, size, 512 };
    struct tpl_ctx_limits lim = { .max_bytes = 1 << 20, .max_entries = 64 };
    struct tpl_ctx_info info;
    char err[256];
    int r = tpl_ctx_check(memread_at, &m, size, &lim, &info, err, sizeof(err));
    if (r == 0) {
        if (info.entries > lim.max_entries || info.file_bytes > size)
            abort();
    } else if (r == -EINVAL || r == -EFBIG) {
        if (strncmp(err, "entry ", 6) != 0 && strncmp(err, "the context is ", 15) != 0)
            abort();
    } else if (r != -ENOMEM)
        abort();
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    (void)tpl_ctx_path_inside(s);
    free(s);
    return 0;
}
