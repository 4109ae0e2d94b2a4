/* SPDX-License-Identifier: MIT */
/* fuzz_shell_frames.c: libFuzzer target for the shell's client frame parser
 * (src/daemon/api/shell_frames.c): arbitrary bytes, fed in pieces whose sizes come from the
 * input, with part of each input event handed back (shell_parser_unread) as a stream with no
 * room would. Checks the invariants: consumed bytes within the piece, input events inside it
 * and ending the consumed range, sizes in 1..1000, an error that stays. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api/shell_frames.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t knobs = data[0];
    data++, size--;
    struct shell_parser sp;
    shell_parser_init(&sp);
    size_t off = 0, piece = (size_t)(knobs & 0x1f) + 1;
    bool errored = false;
    for (int guard = 0; off < size && guard < 1 << 20; guard++) {
        size_t len = size - off < piece ? size - off : piece;
        struct shell_event ev;
        size_t used = shell_parse(&sp, data + off, len, &ev);
        if (used > len)
            abort();
        if (errored && ev.kind != SHELL_EV_ERROR)
            abort();
        if (ev.kind == SHELL_EV_ERROR) {
            errored = true;
            if (used != 0 || !ev.error)
                abort();
            break;
        }
        if (ev.kind == SHELL_EV_RESIZE &&
            (ev.rows < 1 || ev.rows > SHELL_SIZE_MAX || ev.cols < 1 || ev.cols > SHELL_SIZE_MAX))
            abort();
        size_t back = 0;
        if (ev.kind == SHELL_EV_INPUT) {
            if (ev.data < data + off || ev.data + ev.len != data + off + used || ev.len == 0)
                abort();
            if (knobs & 0x20)
                back = ev.len / 2; /* the stream took half */
            shell_parser_unread(&sp, back);
        }
        if (used - back == 0 && ev.kind == SHELL_EV_NONE)
            break; /* nothing consumed, nothing to say: cannot happen with len > 0 */
        off += used - back;
    }
    return 0;
}
