/* SPDX-License-Identifier: MIT */
/* fuzz_migsplit.c: libFuzzer driver for the migration stream splitter (src/daemon/host/
 * migsplit.c), which parses what QEMU sends when a restored VM is saved. Each input is pushed
 * in chunks whose sizes come from its first byte, so chunk boundaries get fuzzed too. RAM
 * callbacks outside the block or not page-sized are a splitter bug: abort.
 * Run: make fuzz FUZZ_TARGETS=migsplit (docs/testing.md "Fuzzing"). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/herr.h"
#include "daemon/host/migsplit.h"

#define RAM_SIZE (256ull << 20) /* as the seeds: a 256 MiB guest */

static int on_state(void *ud, const void *buf, size_t len)
{
    (void)ud;
    (void)buf;
    (void)len;
    return 0;
}

static int on_ram(void *ud, uint64_t off, const void *buf, size_t len)
{
    (void)ud;
    (void)buf;
    if (len != MIGSPLIT_PAGE_SIZE || off % MIGSPLIT_PAGE_SIZE || off > RAM_SIZE - len)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct migsplit_ops ops = { on_state, on_ram };
    if (size == 0)
        return 0;
    size_t chunk = (size_t)data[0] * 37 + 1;
    data++;
    size--;
    struct migsplit *s = NULL;
    if (migsplit_new("mem", RAM_SIZE, &ops, NULL, &s) < 0)
        return 0;
    struct herr e = { 0 };
    int r = 0;
    for (size_t off = 0; off < size && r == 0; off += chunk)
        r = migsplit_push(s, data + off, size - off < chunk ? size - off : chunk, &e);
    if (r == 0)
        (void)migsplit_finish(s, &e); /* any outcome is fine; only crashes matter */
    migsplit_free(s);
    return 0;
}
