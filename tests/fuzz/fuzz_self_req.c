/* SPDX-License-Identifier: MIT */
/* fuzz_self_req.c: libFuzzer driver for the in-guest self endpoint's parsers
 * (src/agent/self_req.c), which read what any guest process sends to 127.0.0.1:1029 or writes to
 * /run/self. Every prefix of the input is parsed as a request head (as the agent does while
 * bytes arrive); a complete parse must give a known status, an action exactly with 202, and a
 * reason that is valid UTF-8 of at most 128 characters. Each line also goes through the FIFO
 * parser. Run: make fuzz FUZZ_TARGETS=self_req (docs/testing.md "Fuzzing"). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agent/self_req.h"

static void check_reason(const char *r)
{
    size_t chars = 0;
    const uint8_t *p = (const uint8_t *)r;
    while (*p) {
        size_t n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3
                 : (*p & 0xf8) == 0xf0 ? 4 : 0;
        if (!n)
            abort();
        for (size_t i = 1; i < n; i++)
            if ((p[i] & 0xc0) != 0x80)
                abort();
        p += n;
        chars++;
    }
    if (chars > SELF_REASON_CHARS)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct self_req q;
    size_t step = size > 64 ? size / 16 : 1;
    for (size_t len = 0; len <= size; len += step) {
        int r = self_req_parse((const char *)data, len, &q);
        if (r == 0)
            continue;
        if (r != 1)
            abort();
        if (q.status == 202) {
            if (q.action == SELF_ACTION_NONE || !self_action_name(q.action))
                abort();
            check_reason(q.reason);
        } else if (q.status != 400 && q.status != 404 && q.status != 405 && q.status != 431) {
            abort();
        }
        break;
    }
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        (void)self_fifo_line(p, n);
        p += n + 1;
    }
    return 0;
}
