/* SPDX-License-Identifier: MIT */
/* fuzz_wire.c: libFuzzer driver for the agent channel reader (src/common/wire.c). The first
 * byte picks how the input is fed (1 to 256 bytes at a time), so frames are also split at odd
 * places; every frame handed out must lie inside the reader's buffer and be re-encodable.
 * Run: make fuzz FUZZ_TARGETS=wire (docs/testing.md "Fuzzing"). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t step = (size_t)data[0] + 1;
    data++;
    size--;
    struct wire_reader rd;
    wire_reader_init(&rd);
    struct buf out;
    buf_init(&out, WIRE_HEADER_SIZE + WIRE_MAX_PAYLOAD);
    for (size_t off = 0; off < size; off += step) {
        size_t n = size - off < step ? size - off : step;
        uint8_t *p = wire_reader_space(&rd, n);
        if (!p)
            break;
        memcpy(p, data + off, n);
        wire_reader_commit(&rd, n);
        struct wire_frame f;
        while (wire_reader_next(&rd, &f) == 1) {
            if (f.len > WIRE_MAX_PAYLOAD || f.type == 0)
                __builtin_trap();
            out.len = 0;
            if (wire_append(&out, f.type, f.flags, f.stream, f.payload, f.len) != 0)
                __builtin_trap();
            struct wire_frame g;
            size_t skip;
            if (wire_parse(out.data, out.len, &g, &skip) != (int)out.len || g.len != f.len ||
                memcmp(g.payload, f.payload, f.len) != 0)
                __builtin_trap();
            uint32_t credit;
            (void)wire_window_credit(&f, &credit);
        }
    }
    buf_release(&out);
    wire_reader_release(&rd);
    return 0;
}
