/* SPDX-License-Identifier: MIT */
/* fuzz_template_logbuf.c: libFuzzer driver for a build log's line buffer
 * (src/daemon/ctl/template_logbuf.c), which takes a build step's output: any bytes from a
 * hostile guest. The input is fed in pieces cut at its own bytes, with whole lines between
 * them; every line that comes out must be valid UTF-8 without NUL or '\n', at most line_max - 1
 * bytes, and no more than max_lines + 1 lines in all. Run: make fuzz
 * FUZZ_TARGETS=template_logbuf (docs/testing.md "Fuzzing"). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/utf8.h"
#include "daemon/ctl/template_logbuf.h"

#define LINE_MAX_T 64
#define MAX_LINES 50

static void check(struct tpl_logbuf *b, size_t *total)
{
    struct tpl_logline *v;
    size_t n;
    tpl_logbuf_take(b, &v, &n);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(v[i].line);
        if (len >= LINE_MAX_T || strchr(v[i].line, '\n'))
            abort();
        struct buf out;
        buf_init(&out, 4 * LINE_MAX_T);
        if (utf8_sanitize((const uint8_t *)v[i].line, len, true, &out) != (ssize_t)len ||
            out.len != len || (len && memcmp(out.data, v[i].line, len) != 0))
            abort(); /* not valid UTF-8: sanitizing changed it */
        buf_release(&out);
    }
    *total += n;
    if (*total > MAX_LINES + 1)
        abort();
    tpl_logbuf_lines_free(v, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tpl_logbuf b;
    tpl_logbuf_init(&b, MAX_LINES, LINE_MAX_T);
    size_t total = 0, off = 0;
    while (off < size) {
        size_t piece = 1 + data[off] % 97;
        if (piece > size - off)
            piece = size - off;
        if (data[off] % 5 == 0)
            (void)tpl_logbuf_line(&b, data[off] & 1, 0, (const char *)data + off, piece);
        else
            (void)tpl_logbuf_bytes(&b, 0, (const char *)data + off, piece);
        off += piece;
        check(&b, &total);
    }
    (void)tpl_logbuf_end_partial(&b, 0);
    check(&b, &total);
    tpl_logbuf_release(&b);
    return 0;
}
